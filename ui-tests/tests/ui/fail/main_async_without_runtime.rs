// An async main needs a runtime attribute below #[mackerel_trace::main].
#[mackerel_trace::main]
async fn main() {}
