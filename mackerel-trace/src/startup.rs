//! What `#[mackerel_trace::main]` expands to call: start the pipeline, never fail the program.

use crate::{Config, Guard};

/// The `#[main]` options, with the annotated crate's Cargo name and version as defaults.
#[derive(Clone, Copy, Debug)]
pub struct MainOptions {
    /// `CARGO_PKG_NAME` of the annotated crate.
    pub crate_name: &'static str,
    /// `CARGO_PKG_VERSION` of the annotated crate.
    pub crate_version: &'static str,
    /// `service_name = "..."`.
    pub service_name: Option<&'static str>,
    /// `service_version = "..."`.
    pub service_version: Option<&'static str>,
    /// `environment = "..."`.
    pub environment: Option<&'static str>,
}

/// Starts the pipeline for `main`. A bad configuration is one line on stderr, and the program
/// runs with tracing off.
pub fn start_main(options: MainOptions) -> Guard {
    let mut config = Config::new()
        .default_service_name(options.crate_name)
        .service_version(options.service_version.unwrap_or(options.crate_version));
    if let Some(name) = options.service_name {
        config = config.service_name(name);
    }
    if let Some(environment) = options.environment {
        config = config.environment(environment);
    }
    match config.init() {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("mackerel-trace: {err}; tracing is off");
            Guard::inert()
        }
    }
}
