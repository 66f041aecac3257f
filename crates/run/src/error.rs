//! The one error type of the crate: bad input (exit status 2 in the CLI) or a failure while
//! running (exit status 1), with the context it happened in.

use lrtsim_report::ReportError;
use lrtsim_scenario::ScenarioError;

/// What went wrong. Its [`Display`](std::fmt::Display) is the outermost message; the causes
/// follow through [`source`](std::error::Error::source), as `anyhow`'s `{:#}` prints them
/// ("context: cause: …").
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input (a scenario, an argument, an output directory in use): the message says what
    /// and what is allowed.
    #[error("{0}")]
    Input(String),
    /// A scenario that does not load or validate.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Computing or writing a report.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The simulation.
    #[error(transparent)]
    Sim(#[from] lrtsim_sim::SimError),
    /// Replaying a path.
    #[error(transparent)]
    Replay(#[from] lrtsim_sim::ReplayError),
    /// Starting worker threads.
    #[error(transparent)]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// Reading or writing a file.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Encoding or decoding JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A failure that is not the input's fault (a bug, a resource).
    #[error("{0}")]
    Failed(String),
    /// `source` happened while doing `context`.
    #[error("{context}")]
    Context {
        /// What was being done.
        context: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// A bad-input error with `message`.
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }

    /// The input error for asking a build without the `parquet` feature for Parquet (`asked`:
    /// the option; `instead`: what to use instead).
    pub fn parquet_unavailable(asked: &str, instead: &str) -> Self {
        Error::input(format!(
            "{asked}: this lrtsim was built without Parquet support; build it with `cargo build --release --features parquet` (or use {instead})"
        ))
    }

    /// Whether the input is at fault (a scenario, an argument; a summary CSV that another
    /// command left torn): the CLI's exit status 2, else 1.
    pub fn is_input(&self) -> bool {
        match self {
            Error::Input(_) | Error::Scenario(_) => true,
            Error::Report(ReportError::TornCsv { .. }) => true,
            Error::Context { source, .. } => source.is_input(),
            _ => false,
        }
    }
}

/// The crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to an error, as `anyhow::Context` does.
pub trait ResultExt<T> {
    /// Wraps the error in [`Error::Context`] with `context`.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// Wraps the error in [`Error::Context`] with the context `f` makes (only on error).
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.into(),
            source: Box::new(e.into()),
        })
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f().into(),
            source: Box::new(e.into()),
        })
    }
}

/// Returns early with an error: `bail!("format", args…)` is a [`Error::Failed`], `bail!(e)`
/// any value convertible into [`Error`].
macro_rules! bail {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {
        return Err($crate::error::Error::Failed(format!($fmt $(, $arg)*)))
    };
    ($e:expr) => {
        return Err($crate::error::Error::from($e))
    };
}
pub(crate) use bail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_are_found_through_their_context() {
        let e: Result<()> = Err(Error::input("bad")).context("loading");
        let e = e.unwrap_err();
        assert!(e.is_input());
        assert_eq!(e.to_string(), "loading");
        assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "bad");
        let io: Result<()> = Err(std::io::Error::other("disk")).context("writing");
        assert!(!io.unwrap_err().is_input());
    }
}
