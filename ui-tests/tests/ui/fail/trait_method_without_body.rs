use mackerel_trace::traced;

trait T {
    #[traced]
    fn f(&self);
}

fn main() {}
