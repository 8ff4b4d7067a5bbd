// Every mistake in #[mackerel_trace::main]'s options shows at once, on its token.
#[mackerel_trace::main(service_nam = "shop", environment = production, service_version = "1", service_version = "2", colour = "red")]
fn main() {}
