//! Streaming counts of a tagged holder's time to redeem, for `redemption_wait.csv`.

use std::io::{self, Read, Write};

use crate::codec::{BLOCK, Decoder, Encoder, le_u64, le_u128};
use crate::error::ReportError;
use crate::exact::to_fixed;

/// Tag and format version of [`WaitAccumulator::write_to`]'s stream.
const WAIT_TAG: [u8; 4] = *b"LRWA";
const WAIT_FORMAT: u16 = 1;

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

    /// Writes the accumulator to `w` exactly, for [`read_from`](Self::read_from) (a shard's
    /// partial result). A little-endian binary stream: the tag `LRWA`, the format version
    /// (`u16`, 1), a flags byte (1: weighted), the bits of `bin_days` and `horizon_days`, the
    /// number of wait bins and of paths (`u64`), the count of every slot (`u64`) and, weighted,
    /// its fixed-point Σw (`u128`), then a checksum (FNV-1a, 64 bits) of everything before it.
    ///
    /// # Errors
    ///
    /// Those of `w`.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut e = Encoder::new(w, WAIT_TAG, WAIT_FORMAT);
        e.u8(u8::from(self.weights.is_some()))?;
        e.u64(self.bin_days.to_bits())?;
        e.u64(self.horizon_days.to_bits())?;
        e.u64(self.bins as u64)?;
        e.u64(self.paths)?;
        for &c in &self.counts {
            e.u64(c)?;
        }
        for &w in self.weights.iter().flatten() {
            e.u128(w)?;
        }
        e.finish()
    }

    /// Reads an accumulator written by [`write_to`](Self::write_to), consuming exactly its
    /// bytes; it equals (`==`) the one written.
    ///
    /// # Errors
    ///
    /// [`ReportError::Corrupt`] if the stream ends early, is not a `WaitAccumulator` stream of
    /// this format version, fails its checksum, or is inconsistent (bins that
    /// [`new`](Self::new) would not make, counts that do not add up to the paths);
    /// [`ReportError::Read`] (path `<stream>`) if reading fails otherwise. Memory is allocated
    /// only as the data arrives.
    pub fn read_from<R: Read>(r: &mut R) -> Result<Self, ReportError> {
        let mut d = Decoder::new(r, "WaitAccumulator", WAIT_TAG, WAIT_FORMAT)?;
        let flags = d.u8("the flags")?;
        if flags > 1 {
            return Err(d.corrupt(format!("unknown flags {flags:#04x}")));
        }
        let weighted = flags == 1;
        let bin_days = f64::from_bits(d.u64("the bin width")?);
        let horizon_days = f64::from_bits(d.u64("the horizon")?);
        let bins = d.u64("the number of bins")?;
        if !(bin_days > 0.0 && bin_days.is_finite() && horizon_days.is_finite())
            || bins != ((horizon_days / bin_days).ceil() as usize).max(1) as u64
            || bins > u64::MAX / 2
        {
            return Err(d.corrupt(format!(
                "{bins} bins of {bin_days} days up to {horizon_days} days"
            )));
        }
        let paths = d.u64("the number of paths")?;
        let slots = bins + 2;
        let counts: Vec<u64> = read_blocks(&mut d, slots, 8, "the counts", |b| le_u64(b, 0))?;
        let total = counts
            .iter()
            .try_fold(0u64, |t, &c| t.checked_add(c))
            .filter(|&t| t == paths);
        if total.is_none() {
            return Err(d.corrupt(format!("the slots' counts do not add up to {paths} paths")));
        }
        let weights = if weighted {
            let w = read_blocks(&mut d, slots, 16, "the weights", |b| le_u128(b, 0))?;
            if counts.iter().zip(&w).any(|(&c, &w)| c == 0 && w != 0) {
                return Err(d.corrupt("weight in a slot without paths"));
            }
            Some(w)
        } else {
            None
        };
        d.finish()?;
        Ok(WaitAccumulator {
            bin_days,
            horizon_days,
            bins: bins as usize,
            paths,
            counts,
            weights,
        })
    }

    /// The rows of `redemption_wait.csv` for this holder, in file order.
    pub(crate) fn rows(&self) -> Vec<WaitRow> {
        let n = self.paths.max(1) as f64;
        let mut below_count = 0u64;
        let mut below_weight = 0u128;
        // Weighted shares are self-normalized by Σw: they sum to 1 whatever Σw/n.
        let total_weight = self.weights.as_ref().map_or(1.0, |w| {
            crate::exact::from_fixed(w.iter().fold(0u128, |a, &x| a.saturating_add(x)))
                .max(f64::MIN_POSITIVE)
        });
        (0..self.bins + 2)
            .map(|slot| {
                let count = self.counts[slot];
                below_count += count;
                let (share, cdf) = match &self.weights {
                    None => (count as f64 / n, below_count as f64 / n),
                    Some(w) => {
                        below_weight = below_weight.saturating_add(w[slot]);
                        (
                            crate::exact::from_fixed(w[slot]) / total_weight,
                            crate::exact::from_fixed(below_weight) / total_weight,
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

/// Reads `n` fixed-size items block by block, so that memory grows only with the data read.
fn read_blocks<R: Read + ?Sized, T>(
    d: &mut Decoder<'_, R>,
    n: u64,
    size: usize,
    field: &str,
    item: impl Fn(&[u8]) -> T,
) -> Result<Vec<T>, ReportError> {
    let mut out = Vec::with_capacity(n.min(BLOCK as u64) as usize);
    let mut bytes = vec![0u8; BLOCK * size];
    let mut left = n;
    while left > 0 {
        let k = left.min(BLOCK as u64) as usize;
        let b = &mut bytes[..k * size];
        d.fill(b, field)?;
        out.extend(b.chunks_exact(size).map(&item));
        left -= k as u64;
    }
    Ok(out)
}
