//! `lrtsim replay`: re-simulate single paths and write their traces.

use anyhow::Result;

use crate::cli::ReplayArgs;

/// `lrtsim replay`.
pub fn replay(_args: &ReplayArgs) -> Result<()> {
    anyhow::bail!("replay: not yet implemented")
}
