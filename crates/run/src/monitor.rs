//! Where a run's progress and messages go: a progress bar and stderr in the CLI, a notebook's
//! progress bar in Python, nowhere in tests.

/// Receives a run's progress and messages. Every method has a default that does nothing.
/// `advanced` is called from worker threads.
pub trait Monitor: Sync {
    /// A simulation of `paths` paths of the scenario `name` starts.
    fn started(&self, _name: &str, _paths: u64) {}
    /// `paths` more paths are done.
    fn advanced(&self, _paths: u64) {}
    /// The simulation started last is done.
    fn finished(&self) {}
    /// An informational line (what ran, where it went, how long it took).
    fn info(&self, _line: &str) {}
    /// A warning (a result to read with care).
    fn warn(&self, _line: &str) {}
    /// Whether the run should stop (an interrupt): polled before each chunk of paths; once
    /// true, the simulation stops and fails ([`lrtsim_sim::SimError::Stopped`]) with nothing
    /// written. Called from worker threads.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A [`Monitor`] that discards everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Monitor for Silent {}
