#![deny(dead_code)]

use mackerel_trace::traced;

#[traced]
fn never_called() {}

#[traced]
async fn never_awaited() {}

fn main() {}
