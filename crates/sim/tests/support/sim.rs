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

/// Two LRTs, alpha and beta, on operators of their own (500,000 ETH each), without rewards:
/// `simulation` is the `[simulation]` table's lines, `alpha` and `beta` follow each one's
/// `[[lrts]]` line, `extra` comes last.
pub fn two_lrts(simulation: &str, alpha: &str, beta: &str, extra: &str) -> String {
    format!(
        r#"name = "two-lrts"
[simulation]
{simulation}

[pool]
collateral_eth = 1_000_000

[rewards]
base_apr = 0
mev_apr = 0

[[operators]]
name = "a"
share = 0.5
lrts = {{ alpha = 1.0 }}

[[operators]]
name = "b"
share = 0.5
lrts = {{ beta = 1.0 }}

[[lrts]]
name = "alpha"
{alpha}
[[lrts]]
name = "beta"
{beta}
{extra}"#
    )
}
