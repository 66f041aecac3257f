//! Random streams: one Xoshiro256++ generator per path, keyed by (seed, path index).
//!
//! The 256-bit state is filled by SplitMix64 from a key that mixes the seed and the index, so
//! streams do not depend on which thread runs a path, any shard of chunks reproduces exactly
//! the paths of a full run, one path can be replayed alone, and two runs of different
//! scenarios with the same seed give each path the same random numbers (common random
//! numbers for parameter sweeps).

use rand::{Rng, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// Paths per chunk. Part of the reproducibility contract: changing it changes every output.
pub const CHUNK_PATHS: u64 = 1024;

/// The generator of path `path` of a run seeded with `seed`: every path has its own stream.
pub fn path_rng(seed: u64, path: u64) -> Xoshiro256PlusPlus {
    keyed_rng(seed, path)
}

/// A generator keyed by `(seed, chunk)`, for tests and benches that need one stream for many
/// paths (the runner gives each path its own, [`path_rng`]).
pub fn chunk_rng(seed: u64, chunk: u64) -> Xoshiro256PlusPlus {
    keyed_rng(seed, chunk)
}

#[inline]
fn keyed_rng(seed: u64, index: u64) -> Xoshiro256PlusPlus {
    // Two SplitMix64 rounds decorrelate nearby (seed, index) keys before seeding.
    let mut key = SplitMix64::seed_from_u64(seed);
    let k = key.next_u64() ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut mix = SplitMix64::seed_from_u64(k);
    let mut state = [0u8; 32];
    for word in state.chunks_exact_mut(8) {
        word.copy_from_slice(&mix.next_u64().to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the first draws of the stream: a change here changes every published result.
    #[test]
    fn value_stability() {
        let mut r = chunk_rng(42, 0);
        let first = [r.next_u64(), r.next_u64()];
        let mut r = chunk_rng(42, 1);
        let other = r.next_u64();
        assert_ne!(first[0], other);
        assert_eq!(chunk_rng(42, 0).next_u64(), first[0]);
        assert_eq!(first, [PINNED_0, PINNED_1]);
    }
    const PINNED_0: u64 = 12343323003495711280;
    const PINNED_1: u64 = 1641377365623878930;
}
