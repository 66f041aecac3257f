//! Self-contained HTML reports of lrtsim runs.
//!
//! `lrtsim report` turns a run's output directory (docs/outputs.md) into one HTML file for a
//! risk committee or a governance post: inline SVG charts and CSS, no script, font or image
//! fetched from anywhere, so it reads offline, attaches to an email and prints (charts never
//! break across pages). Three kinds of page:
//!
//! * [`run_report`]: one run — the scenario in brief, the headline table, the loss
//!   distribution and its exceedance curve, what drives the tail (ES contributions), and where
//!   the run has the data the market, redemptions, lending, reserves and exploits, and the
//!   worst paths' stories (given by the caller, who can re-simulate them: [`Stories`]);
//! * [`comparison_report`]: two runs side by side, each headline metric for both and their
//!   difference with its interval (paired on common random numbers when both runs kept
//!   `paths.csv` with the same seed and paths, unpaired otherwise), overlaid exceedance curves;
//! * [`sweep_report`]: a sweep's headline metrics against each swept parameter with their
//!   bands, and heat maps for two-axis grids.
//!
//! Every number is formatted deterministically ([`fmt`]), so a page is the same bytes on every
//! machine for the same inputs; every chart has its data in a table behind it (a collapsible
//! `<details>`), and the numbers of the tables carry `data-*` attributes with the exact values
//! so that a checker can compare them with `summary.json`. Anything malformed in the inputs
//! is an [`Error`] naming the file and line (and column for JSON), never a panic.

#![deny(missing_docs)]

pub mod compare;
pub mod fmt;
pub mod page;
pub mod read;
pub mod single;
pub mod svg;
pub mod sweep;

use std::path::{Path, PathBuf};

pub use compare::comparison_report;
pub use single::run_report;
pub use sweep::sweep_report;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A JSON file is malformed or lacks a key.
    #[error("{}:{line}:{column}: {reason}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file's content is not what the report expects.
    #[error("{}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line, when known (1-based).
        line: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// The directory is none of a run's, a sweep's.
    #[error("{}: {reason}", path.display())]
    NotAnOutput {
        /// The directory.
        path: PathBuf,
        /// What it lacks.
        reason: String,
    },
}

/// What kind of output directory a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind {
    /// A run's (or merge's, or sweep point's): `summary.json` and `manifest.json`.
    Run,
    /// A sweep's: `sweep.csv`.
    Sweep,
}

/// Tells a run directory (`summary.json` and `manifest.json`) from a sweep directory
/// (`sweep.csv`); anything else is an [`Error::NotAnOutput`] saying what is missing.
pub fn dir_kind(dir: &Path) -> Result<DirKind, Error> {
    if !dir.is_dir() {
        return Err(Error::NotAnOutput {
            path: dir.to_path_buf(),
            reason: "not a directory (give a run's output directory, a sweep's directory, or two run directories)".into(),
        });
    }
    let summary = dir.join("summary.json").is_file();
    let manifest = dir.join("manifest.json").is_file();
    if summary && manifest {
        Ok(DirKind::Run)
    } else if dir.join("sweep.csv").is_file() {
        Ok(DirKind::Sweep)
    } else if summary {
        Err(Error::NotAnOutput {
            path: dir.to_path_buf(),
            reason: "has summary.json but no manifest.json: not one run's complete output set (an interrupted or running run?); rerun it".into(),
        })
    } else {
        Err(Error::NotAnOutput {
            path: dir.to_path_buf(),
            reason: "neither a run's output directory (summary.json and manifest.json) nor a sweep's (sweep.csv)".into(),
        })
    }
}

/// One worst path's story, one line: "path 4849: bridge-x-bug on day 10, 35,623 ETH slashed, …".
#[derive(Debug, Clone)]
pub struct Story {
    /// Path id.
    pub path: u64,
    /// Its value of the metric the worst paths are ranked by.
    pub value: f64,
    /// The line (without the `path N:` prefix).
    pub line: String,
}

/// The worst paths' stories, as the caller could make them.
#[derive(Debug, Clone)]
pub enum Stories {
    /// No stories, and why (shown on the page).
    Unavailable(String),
    /// Stories of the worst paths of `metric`.
    Lines {
        /// The metric ranking the paths.
        metric: String,
        /// One per path, worst first.
        stories: Vec<Story>,
    },
}
