// #[mackerel_trace::main] on the shapes of main it supports (only compiled here; the runtime
// behaviour is pinned by tests/main_attr.rs).

mod plain {
    #[mackerel_trace::main(service_name = "shop", service_version = "1.2.3", environment = "test")]
    pub fn main() {}
}

mod returns_result {
    #[mackerel_trace::main]
    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

mod tokio_below {
    #[mackerel_trace::main]
    #[tokio::main]
    pub async fn main() {}
}

mod tokio_above {
    #[tokio::main(flavor = "current_thread")]
    #[mackerel_trace::main(crate = mackerel_trace)]
    pub async fn main() -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    let _ = (plain::main, returns_result::main, tokio_below::main, tokio_above::main);
}
