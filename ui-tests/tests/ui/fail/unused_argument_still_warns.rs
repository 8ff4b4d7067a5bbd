#![deny(unused_variables)]

use mackerel_trace::traced;

#[traced]
fn sync_unused(unused: u8) {}

#[traced]
async fn async_unused(unused: u8) {}

#[traced(record(recorded))]
async fn async_unused_beside_recorded(recorded: u8, unused: u8) {}

fn main() {
    sync_unused(1);
    let _ = async_unused(1);
    let _ = async_unused_beside_recorded(1, 2);
}
