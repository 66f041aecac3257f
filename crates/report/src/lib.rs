//! Tail metrics, loss distributions and output files for lrtsim.
//!
//! The simulator produces, for every metric, one loss per simulated path (larger = worse). This
//! crate turns those columns into what a risk report needs:
//!
//! * [`metric_stats`] / [`all_metric_stats`] compute a [`MetricStats`] per metric: mean with its
//!   standard error, the probability of a loss, extremes, and one [`LevelStats`] per tail level
//!   (by default [`DEFAULT_LEVELS`]) with VaR and expected shortfall, each with a
//!   [`CI_CONFIDENCE`] confidence interval. [`all_metric_stats`] runs metrics in parallel and
//!   gives the same bits for any number of threads.
//! * [`histogram`] bins a column into equal-width [`Bin`]s with density, CDF and exceedance.
//! * A [`Summary`] pairs the [`RunInfo`] (scenario, seed, paths, …) with the metric statistics;
//!   it serializes to the `summary.json` layout and [`render_table`] prints its headline metrics.
//! * The writers ([`write_summary_json`], [`write_tail_metrics_csv`],
//!   [`write_loss_distribution_csv`], [`write_redemption_wait_csv`], [`write_price_paths_csv`]
//!   (percentile bands of price / NAV over time, from [`PriceRow`]s), [`write_paths_csv`]) all
//!   go through [`write_atomic`], so an interrupted run never leaves a half-written file;
//!   [`append_summary_csv`] adds one line per run to a CSV shared by a parameter sweep.
//!
//! Every failure is a [`ReportError`] naming the file concerned.
//!
//! # Example
//!
//! ```
//! use lrtsim_report::*;
//!
//! # fn main() -> Result<(), ReportError> {
//! // One loss per path: here 1000 evenly spread values in (0, 1].
//! let losses: Vec<f64> = (1..=1000).map(|i| i as f64 / 1000.0).collect();
//! let metrics = all_metric_stats(&[("slashed_fraction", &losses)], &DEFAULT_LEVELS);
//!
//! let summary = Summary {
//!     info: RunInfo {
//!         scenario: "baseline".into(),
//!         scenario_hash: "0123abcd".into(),
//!         seed: 42,
//!         paths: losses.len() as u64,
//!         engine_version: "0.1.0".into(),
//!         horizon_days: 365.0,
//!         step_days: 1.0,
//!     },
//!     metrics,
//! };
//! let m = summary.metric("slashed_fraction").unwrap();
//! let at_99 = m.level(0.99).unwrap();
//! assert_eq!(at_99.var, 0.99); // the 990th smallest of 1000
//! assert!(at_99.var_lo <= at_99.var && at_99.var <= at_99.var_hi);
//!
//! let dir = std::env::temp_dir().join(format!("lrtsim-report-doc-{}", std::process::id()));
//! write_summary_json(&dir.join("summary.json"), &summary)?;
//! write_tail_metrics_csv(&dir.join("tail_metrics.csv"), &summary)?;
//! write_loss_distribution_csv(&dir.join("loss_distribution.csv"), &[("slashed_fraction", &losses)], 50)?;
//! print!("{}", render_table(&summary, &["slashed_fraction"]));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod error;
mod histogram;
mod stats;
mod summary;
mod write;

pub use error::ReportError;
pub use histogram::{Bin, histogram};
pub use stats::{
    CI_CONFIDENCE, DEFAULT_LEVELS, LevelStats, MetricStats, all_metric_stats, metric_stats,
    validate_levels,
};
pub use summary::{RunInfo, Summary, render_table};
pub use write::{
    PriceRow, SummaryCsvTarget, WaitColumn, append_summary_csv, check_summary_csv, write_atomic,
    write_loss_distribution_csv, write_paths_csv, write_price_paths_csv, write_redemption_wait_csv,
    write_summary_json, write_tail_metrics_csv,
};
