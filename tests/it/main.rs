//! The integration tests, one binary (one link, one process) with a module per area. `common` holds the helpers
//! they share; `cargo test --test it MODULE::` runs one area, e.g. `cargo test --test it docs::`.

mod common;

/// The invariant checks of the fuzz targets (`fuzz/src/lib.rs`), which `fuzz_regressions` and `properties` run.
#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)] // `init` and `alone` serve the fuzz binaries only
mod checks;

mod cluster;
mod default_lint;
mod diff;
mod docs;
mod fuzz_regressions;
mod generic_chart;
mod gitops;
mod helm_postrender;
mod images;
mod install;
mod layers;
mod leaks;
mod lint;
mod output;
mod postrender;
mod preflight;
mod properties;
mod registry;
mod schemas;
mod secrets;
mod upgrade;
mod values_parity;
mod versions;
