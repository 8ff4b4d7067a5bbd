#![deny(unused_variables)]

use mackerel_trace::traced;

#[traced]
fn sync_unused(unused: u8) {}

#[traced]
async fn async_unused(unused: u8) {}

fn main() {
    sync_unused(1);
    let _ = async_unused(1);
}
