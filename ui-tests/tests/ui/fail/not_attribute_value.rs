use mackerel_trace::traced;

struct Opts {
    verbose: bool,
}

#[traced(record(opts, count = Opts { verbose: true }.verbose, list = vec![Opts { verbose: false }]))]
fn f(opts: &Opts) -> bool {
    opts.verbose
}

fn main() {}
