//! Running a scenario text in a test: load it (panicking with the error's message), run it on
//! two threads, read a column.

use std::path::Path;

use lrtsim_scenario::{Model, load_str};
use lrtsim_sim::{RunOptions, SimResults, run};

/// `text` compiled as if read from `file`, with `--set` style `overrides`.
pub fn load(text: &str, file: &str, overrides: &[String]) -> Model {
    load_str(text, Path::new(file), overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// Every path of `model`, on two threads.
pub fn simulate(model: &Model) -> SimResults {
    run(
        model,
        &RunOptions {
            threads: 2,
            chunks: None,
        },
        &|_| {},
    )
    .unwrap()
}

/// Column `name` of `r` (panics naming it when absent).
pub fn col<'a>(r: &'a SimResults, name: &str) -> &'a [f64] {
    r.column(name).unwrap_or_else(|| panic!("no column {name}"))
}
