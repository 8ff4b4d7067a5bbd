use mackerel_trace::traced;

#[traced(record(idd, email, %nme))]
fn insert_user(id: u64, email: &str, name: &str) -> usize {
    email.len() + name.len() + id as usize
}

#[traced(record(user))]
fn no_arguments() {}

fn main() {}
