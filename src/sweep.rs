//! `lrtsim sweep`: a scenario over a grid of parameter values.

use anyhow::Result;

use crate::cli::SweepArgs;

/// `lrtsim sweep`.
pub fn sweep(_args: &SweepArgs) -> Result<()> {
    anyhow::bail!("sweep: not yet implemented")
}
