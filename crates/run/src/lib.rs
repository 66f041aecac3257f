//! Runs lrtsim scenarios end to end: what the `lrtsim` command line and the Python module
//! both call, so that neither holds logic of its own beyond its interface.
//!
//! * [`run`]: a scenario's paths streamed into its report ([`run::simulate`] into a
//!   [`run::ReportSink`]), then the tail metrics, risk contributions and every output file
//!   ([`run::report`]), into a locked output directory ([`outset::OutputSet`]) written
//!   atomically, with its manifest last.
//! * [`contrib`]: risk contributions (Euler allocation of ES and VaR among loss sources, AVSs,
//!   operators and attribute values), from the tail paths re-simulated.
//! * [`shard`]: a run split over machines (`--shard I/N`) and its partial results merged into
//!   the bits of the whole run.
//! * [`paths_parquet`]: every path's values streamed to `paths.parquet` as the run goes
//!   (cargo feature `parquet`).
//! * [`tables`]: the report's tables as CSV, Parquet or both (`--table-format`).
//! * [`sweep`]: parameter sweeps over grids and zipped axes with common random numbers, one
//!   row per point, points already done skipped.
//!
//! Errors are an [`Error`]: bad input ([`Error::is_input`]) or a failure, with context.
//! Progress and messages go to a [`Monitor`]; [`Silent`] discards them.
#![deny(missing_docs)]

pub mod contrib;
pub mod error;
pub mod monitor;
pub mod outset;
#[cfg(feature = "parquet")]
pub mod paths_parquet;
#[cfg(not(feature = "parquet"))]
#[path = "paths_parquet_off.rs"]
pub mod paths_parquet;
pub mod run;
pub mod shard;
pub mod sweep;
pub mod tables;

pub use error::{Error, Result, ResultExt};
pub use monitor::{Monitor, Silent};
