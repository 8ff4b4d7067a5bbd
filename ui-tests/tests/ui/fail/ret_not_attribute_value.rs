use mackerel_trace::traced;

struct User;

#[traced(ret)]
fn f() -> Result<User, std::io::Error> {
    Ok(User)
}

fn main() {}
