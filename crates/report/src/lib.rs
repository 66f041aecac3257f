//! Tail metrics, loss distributions and output files for lrtsim.
//!
//! The simulator produces, for every metric, one loss per simulated path (larger = worse). This
//! crate turns those columns into what a risk report needs:
//!
//! * A [`MetricAccumulator`] takes one metric's values chunk by chunk, each chunk with the id
//!   of its first path (value i is path `first_path + i`) and optionally likelihood-ratio
//!   weights from importance sampling, in memory that does not grow with the number of paths
//!   ([`tail_capacity`] sizes it for a run and a [`DEFAULT_MEMORY_BUDGET_BYTES`] budget), and
//!   merges exactly, so its results are bit-identical whatever the order of the chunks and the
//!   grouping of merges. Its [`stats`](MetricAccumulator::stats) are a [`MetricStats`]: mean
//!   with its standard error, the probability of a loss, extremes, one [`LevelStats`] per tail
//!   level (by default [`DEFAULT_LEVELS`]) with VaR and expected shortfall, each with a
//!   [`CI_CONFIDENCE`] confidence interval, flagged [`exact`](LevelStats::exact) or read from
//!   its histogram, and the [`WORST_PATHS`] worst paths ([`WorstPath`]: path id and loss), from
//!   the path ids its kept tail entries carry.
//! * Sharded runs: [`MetricAccumulator::write_to`] / [`MetricAccumulator::read_from`] (and the
//!   same for [`WaitAccumulator`]) serialize an accumulator exactly, in a compact checksummed
//!   binary format, so each machine writes its partial accumulators and merging them, read back
//!   in any order, gives the bits of the single-machine run. A damaged stream is a
//!   [`ReportError::Corrupt`], never a panic.
//! * [`metric_stats`] / [`all_metric_stats`] do the same for whole columns in memory (keeping
//!   every value, so exact; the path id is the index in the column); [`all_metric_stats`] runs
//!   metrics in parallel and gives the same bits for any number of threads.
//! * [`histogram`] bins a column into equal-width [`Bin`]s with density, CDF and exceedance;
//!   [`MetricAccumulator::histogram`] does it from an accumulator. A [`WaitAccumulator`] counts
//!   a tagged holder's time to redeem.
//! * Risk contributions: an [`EulerEstimator`] splits a metric's ES (and VaR) among the
//!   components of a [`Decomposition`] (loss sources, AVSs, operators, …) from the tail paths
//!   [`MetricAccumulator::tail_at_least`] names ([`TailPath`]: path id, value, weight), given
//!   their components in ascending path id — Euler contributions that add up to the ES, with
//!   the ties at VaR shared evenly, intervals, VaR contributions
//!   ([`DecompositionContributions`], [`ComponentContribution`]).
//! * A [`Summary`] pairs the [`RunInfo`] (scenario, seed, paths, importance sampling, …) with the
//!   metric statistics and the risk contributions; it serializes to the `summary.json` layout
//!   and [`render_table`] prints its headline metrics and the largest contributors to ES 99 %.
//! * The writers ([`write_summary_json`], [`write_tail_metrics_csv`],
//!   [`write_contributions_csv`], [`write_exceedance_csv`] (the loss exceedance curve,
//!   [`exceedance_rows`]),
//!   [`write_loss_distribution_csv`], [`write_redemption_wait_csv`], [`write_price_paths_csv`]
//!   (percentile bands of price / NAV over time, from [`PriceRow`]s), [`write_paths_csv`]) all
//!   go through [`write_atomic`], so an interrupted run never leaves a half-written file
//!   (its temporaries are registered for [`remove_cleanup_files_and_exit`] on an interrupt);
//!   [`append_summary_csv`] adds one line per run to a CSV shared by a parameter sweep, all
//!   or nothing, in the one schema of [`summary_csv_header`] and [`summary_csv_row`] that
//!   `sweep.csv` shares; [`fnv1a64_file`] is the checksum of an output set's manifest.
//!
//! Every failure is a [`ReportError`] naming the file (or the accumulator stream) concerned.
//!
//! # Example
//!
//! ```
//! use lrtsim_report::*;
//!
//! # fn main() -> Result<(), ReportError> {
//! // One loss per path: here 1000 evenly spread values in (0, 1], in chunks of 100 paths.
//! let losses: Vec<f64> = (1..=1000).map(|i| i as f64 / 1000.0).collect();
//! let m = tail_capacity(1000, &DEFAULT_LEVELS, 1, false, DEFAULT_MEMORY_BUDGET_BYTES);
//! let mut acc = MetricAccumulator::new(m, false);
//! for (c, chunk) in losses.chunks(100).enumerate() {
//!     // Paths 100·c … 100·c + 99.
//!     acc.add_chunk(100 * c as u64, chunk, None);
//! }
//! let metrics = vec![acc.stats("slashed_fraction", &DEFAULT_LEVELS)];
//! // The same numbers from the whole column at once.
//! assert_eq!(metrics, all_metric_stats(&[("slashed_fraction", &losses)], &DEFAULT_LEVELS));
//! // The worst path is the last one, with a loss of 1.
//! assert_eq!(metrics[0].worst_paths[0], WorstPath { path: 999, value: 1.0 });
//! assert_eq!(metrics[0].worst_paths.len(), WORST_PATHS);
//!
//! // A shard's partial result, written and read back: it merges to the same bits.
//! let mut bytes = Vec::new();
//! acc.write_to(&mut bytes).expect("writing to memory");
//! let shard = MetricAccumulator::read_from(&mut bytes.as_slice())?;
//! assert_eq!(shard.stats("slashed_fraction", &DEFAULT_LEVELS), metrics[0]);
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
//!         max_price_move_per_substep: None,
//!         max_demand_per_substep: None,
//!         importance: None,
//!     },
//!     metrics,
//!     contributions: Vec::new(),
//! };
//! let m = summary.metric("slashed_fraction").unwrap();
//! let at_99 = m.level(0.99).unwrap();
//! assert_eq!(at_99.var, 0.99); // the 990th smallest of 1000
//! assert!(at_99.var_lo <= at_99.var && at_99.var <= at_99.var_hi);
//! assert!(at_99.exact);
//!
//! let dir = std::env::temp_dir().join(format!("lrtsim-report-doc-{}", std::process::id()));
//! write_summary_json(&dir.join("summary.json"), &summary)?;
//! write_tail_metrics_csv(&dir.join("tail_metrics.csv"), &summary)?;
//! write_loss_distribution_csv(&dir.join("loss_distribution.csv"), &[("slashed_fraction", &acc)], 50)?;
//! print!("{}", render_table(&summary, &["slashed_fraction"]));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod accumulator;
mod buckets;
mod codec;
mod contributions;
mod error;
mod exact;
mod exceedance;
mod histogram;
#[cfg(test)]
mod legacy;
#[cfg(test)]
mod shard_tests;
mod stats;
mod summary;
mod wait;
mod write;

pub use accumulator::{
    DEFAULT_MEMORY_BUDGET_BYTES, MetricAccumulator, OwnTail, PER_METRIC_OVERHEAD_BYTES, TailPath,
    WeightSummary, own_tail_capacity, tail_capacity,
};
pub use contributions::{
    ComponentContribution, Decomposition, DecompositionContributions, EulerEstimator, tail_es,
};
pub use error::ReportError;
pub use exceedance::{
    EXCEEDANCE_CSV_HEADER, ExceedanceRow, MIN_TAIL_PATHS, exceedance_probs, exceedance_rows,
    report_levels, write_exceedance_csv,
};
pub use histogram::{Bin, histogram};
pub use stats::{
    CI_CONFIDENCE, DEFAULT_LEVELS, LevelStats, MetricStats, WORST_PATHS, WorstPath,
    all_metric_stats, metric_stats, validate_levels,
};
pub use summary::{ImportanceInfo, RunInfo, Summary, Tilt, render_table};
pub use wait::WaitAccumulator;
pub use write::{
    CONTRIBUTIONS_CSV_HEADER, Fnv1a64, PriceRow, SUMMARY_CSV_LEVELS, SummaryCsvTarget,
    append_summary_csv, capture_writes, check_summary_csv, fnv1a64_file, register_cleanup,
    remove_cleanup_files_and_exit, summary_csv_header, summary_csv_row, unregister_cleanup,
    write_atomic, write_contributions_csv, write_csv, write_loss_distribution_csv, write_paths_csv,
    write_price_paths_csv, write_redemption_wait_csv, write_summary_json, write_tail_metrics_csv,
};
