//! Sharded runs: partial results (`run --shard`) and `lrtsim merge`.

use anyhow::Result;

use crate::cli::MergeArgs;

/// `lrtsim merge`.
pub fn merge(_args: &MergeArgs) -> Result<()> {
    anyhow::bail!("merge: not yet implemented")
}
