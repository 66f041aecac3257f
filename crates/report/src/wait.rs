//! Streaming counts of a tagged holder's time to redeem, for `redemption_wait.csv`.

use crate::exact::to_fixed;

/// The distribution of one tagged holder's time to redeem, accumulated chunk by chunk: how many
/// paths (and, with likelihood-ratio weights, how much weight) fall in each slot of
/// [`write_redemption_wait_csv`](crate::write_redemption_wait_csv) — paid at once, paid after a
/// wait in (b·k, b·(k + 1)] days for k = 0 … ⌈horizon / b⌉ − 1, not paid by the horizon.
///
/// Counts are integers and weights fixed-point integers (units of 2⁻⁶⁴, each weight rounded
/// once, saturating at 2⁶⁴ per slot), so chunks may arrive in any order and accumulators merge
/// exactly. Memory: 8 bytes per slot (24 weighted), 122 slots for a 120-day horizon in 1-day
/// bins.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitAccumulator {
    bin_days: f64,
    horizon_days: f64,
    /// Wait bins between the instant and the unpaid slot.
    bins: usize,
    paths: u64,
    /// Slot 0: paid at once; 1 + k: (k·b, (k + 1)·b]; `bins + 1`: not paid by the horizon.
    counts: Vec<u64>,
    /// Fixed-point Σw per slot, when weighted.
    weights: Option<Vec<u128>>,
}

/// One row of `redemption_wait.csv` before formatting.
pub(crate) struct WaitRow {
    /// Paid by the horizon.
    pub(crate) redeemed: bool,
    /// Bounds of the wait in days (None for the unpaid row).
    pub(crate) bounds: Option<(f64, f64)>,
    pub(crate) paths: u64,
    pub(crate) share: f64,
    pub(crate) cdf: f64,
}

impl WaitAccumulator {
    /// An empty accumulator with bins of `bin_days` days up to `horizon_days`, for paths with
    /// likelihood-ratio weights if `weighted`.
    ///
    /// # Panics
    ///
    /// If `bin_days` is not positive and finite or `horizon_days` is not finite.
    pub fn new(bin_days: f64, horizon_days: f64, weighted: bool) -> Self {
        assert!(
            bin_days > 0.0 && bin_days.is_finite() && horizon_days.is_finite(),
            "wait bins need a positive width and a finite horizon, got {bin_days} and {horizon_days}"
        );
        let bins = ((horizon_days / bin_days).ceil() as usize).max(1);
        WaitAccumulator {
            bin_days,
            horizon_days,
            bins,
            paths: 0,
            counts: vec![0; bins + 2],
            weights: weighted.then(|| vec![0; bins + 2]),
        }
    }

    /// Adds one chunk of paths: per path the days from asking to being paid (for a holder not
    /// paid by the horizon, the days it waited until then) and 1 if the holder was not paid by
    /// the horizon, else 0; with the paths' likelihood-ratio weights for a weighted accumulator.
    ///
    /// # Panics
    ///
    /// If the slices differ in length, if `weights` is `Some` for an unweighted accumulator or
    /// `None` for a weighted one, or if a weight is not positive and finite.
    pub fn add_chunk(&mut self, wait_days: &[f64], unredeemed: &[f64], weights: Option<&[f64]>) {
        assert_eq!(
            wait_days.len(),
            unredeemed.len(),
            "a chunk needs one redeemed flag per wait"
        );
        let slot = |wait: f64, unpaid: f64| {
            if unpaid != 0.0 {
                self.bins + 1
            } else if wait <= 0.0 {
                0
            } else {
                1 + ((wait / self.bin_days).ceil() as usize)
                    .saturating_sub(1)
                    .min(self.bins - 1)
            }
        };
        match (&mut self.weights, weights) {
            (None, None) => {
                for (&wait, &unpaid) in wait_days.iter().zip(unredeemed) {
                    let s = slot(wait, unpaid);
                    self.counts[s] += 1;
                }
            }
            (Some(sums), Some(weights)) => {
                assert_eq!(
                    weights.len(),
                    wait_days.len(),
                    "a chunk needs one weight per path"
                );
                for ((&wait, &unpaid), &w) in wait_days.iter().zip(unredeemed).zip(weights) {
                    assert!(
                        w > 0.0 && w < f64::INFINITY,
                        "likelihood-ratio weight {w} is not positive and finite"
                    );
                    let s = slot(wait, unpaid);
                    self.counts[s] += 1;
                    sums[s] = sums[s].saturating_add(to_fixed(w));
                }
            }
            (None, Some(_)) => panic!("weights given to an unweighted WaitAccumulator"),
            (Some(_), None) => panic!("a weighted WaitAccumulator needs the chunk's weights"),
        }
        self.paths += wait_days.len() as u64;
    }

    /// Adds everything `other` accumulated (exact, in any order).
    ///
    /// # Panics
    ///
    /// If the two differ in bins, horizon or weighting.
    pub fn merge(&mut self, other: &WaitAccumulator) {
        assert!(
            self.bin_days.to_bits() == other.bin_days.to_bits()
                && self.horizon_days.to_bits() == other.horizon_days.to_bits()
                && self.weights.is_some() == other.weights.is_some(),
            "merging WaitAccumulators with different bins, horizon or weighting"
        );
        self.paths += other.paths;
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        if let (Some(a), Some(b)) = (&mut self.weights, &other.weights) {
            for (a, b) in a.iter_mut().zip(b) {
                *a = a.saturating_add(*b);
            }
        }
    }

    /// Number of paths added.
    pub fn paths(&self) -> u64 {
        self.paths
    }

    /// The rows of `redemption_wait.csv` for this holder, in file order.
    pub(crate) fn rows(&self) -> Vec<WaitRow> {
        let n = self.paths.max(1) as f64;
        let mut below_count = 0u64;
        let mut below_weight = 0u128;
        (0..self.bins + 2)
            .map(|slot| {
                let count = self.counts[slot];
                below_count += count;
                let (share, cdf) = match &self.weights {
                    None => (count as f64 / n, below_count as f64 / n),
                    Some(w) => {
                        below_weight = below_weight.saturating_add(w[slot]);
                        (
                            crate::exact::from_fixed(w[slot]) / n,
                            crate::exact::from_fixed(below_weight) / n,
                        )
                    }
                };
                let (redeemed, bounds) = match slot {
                    0 => (true, Some((0.0, 0.0))),
                    s if s == self.bins + 1 => (false, None),
                    s => (
                        true,
                        Some((
                            (s - 1) as f64 * self.bin_days,
                            (s as f64 * self.bin_days).min(self.horizon_days),
                        )),
                    ),
                };
                WaitRow {
                    redeemed,
                    bounds,
                    paths: count,
                    share,
                    cdf,
                }
            })
            .collect()
    }
}
