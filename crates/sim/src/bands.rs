//! Percentile bands of the market price / NAV ratio over time, streamed across paths.
//!
//! [`PriceBands`] keeps, for each recorded time point, a histogram of the ratio
//! `q = price / NAV` at the end of that step over the paths seen so far. Only integer counts are
//! accumulated, so merging the bands of several chunks is exact and commutative: the bands, and
//! every quantile or share read from them, are the same bits for any thread count or order. No
//! per-path trajectory is stored.
//!
//! # Time points
//!
//! At most [`MAX_POINTS`] points are kept. With `every = ceil(n_steps / MAX_POINTS)` (at least 1),
//! step `k` (0-based) is recorded iff `(k + 1) % every == 0` or it is the last step, as point
//! `ceil((k + 1) / every) − 1`, at the step's end: day `(k + 1) · step_days`. There are
//! `ceil(n_steps / every)` points; the last is always the horizon (e.g. 8,760 hourly steps:
//! `every = 9`, 974 points, the last but one at step 8,757, the last at 8,760).
//!
//! # Bin grid
//!
//! The grid is fixed (the same for every run, see [`BIN_EDGES`]); every edge is a whole number of
//! basis points (1 bp = 10⁻⁴), stored as the `f64` nearest to it (`bp as f64 / 10_000.0`):
//!
//! | range of q     | bin width | bins |
//! |----------------|-----------|------|
//! | [0, 0.5)       | 100 bp    | 50   |
//! | [0.5, 0.9)     | 10 bp     | 400  |
//! | [0.9, 1.02)    | 1 bp      | 1200 |
//! | [1.02, 1.2)    | 10 bp     | 180  |
//! | [1.2, ∞)       | overflow  | 1    |
//!
//! [`BINS`] = 1831 bins in all. Bins are closed below and open above: a value exactly at an edge
//! (compared as `f64`, e.g. the literal `0.99`) goes to the upper bin, `[0.99, 0.9901)`. The bin
//! of a value is found in O(1): one comparison chain picks the segment, one multiplication
//! guesses the bin, and comparisons against the stored edges correct the guess.
//!
//! A discount of `d` whole basis points, the ratio `1 − d / 10_000`, is an edge of the grid, so
//! [`PriceBands::share_below`] is exact there, iff
//! - `d ≤ 1000` (ratio in [0.9, 1]: the 1 bp grid; premiums down to `d = −200` too), or
//! - `1000 < d ≤ 5000` and `d` is a multiple of 10 (ratio in [0.5, 0.9): the 10 bp grid), or
//! - `5000 < d ≤ 10_000` and `d` is a multiple of 100 (ratio in [0, 0.5): the 100 bp grid).
//!
//! So 100 bp (0.99), 500 bp (0.95) and 1000 bp (0.9) are exact, as are 2000 bp (0.8) and
//! 1250 bp (0.875), but not 1255 bp. Elsewhere the share is interpolated within the bin.

/// Most time points kept by [`PriceBands`].
pub const MAX_POINTS: usize = 1000;

/// Number of bins of the ratio grid, including the overflow bin `[1.2, ∞)`.
pub const BINS: usize = 1831;

/// Index of the overflow bin `[1.2, ∞)`.
const OVERFLOW: usize = BINS - 1;

/// The finite segments of the grid: (first edge in bp, width in bp, bins, first bin index).
const SEGMENTS: [(u32, u32, usize, usize); 4] = [
    (0, 100, 50, 0),
    (5000, 10, 400, 50),
    (9000, 1, 1200, 450),
    (10_200, 10, 180, 1650),
];

/// Lower edge of the overflow bin, in bp.
const OVERFLOW_BP: u32 = 12_000;

/// A ratio within this distance of a bin edge counts as the edge in
/// [`PriceBands::share_below`] (so `1.0 - d / 10_000.0`, which can miss the nearest `f64` to the
/// decimal by an ulp, still gives the exact share).
const EDGE_SNAP: f64 = 1e-12;

const fn build_edges() -> [f64; BINS + 1] {
    let mut edges = [0.0; BINS + 1];
    let mut s = 0;
    while s < SEGMENTS.len() {
        let (lo, width, n, base) = SEGMENTS[s];
        let mut j = 0;
        while j < n {
            edges[base + j] = (lo + width * j as u32) as f64 / 10_000.0;
            j += 1;
        }
        s += 1;
    }
    edges[OVERFLOW] = OVERFLOW_BP as f64 / 10_000.0;
    edges[BINS] = f64::INFINITY;
    edges
}

/// Edges of the ratio grid: bin `i` is `[BIN_EDGES[i], BIN_EDGES[i + 1])`. The first edge is 0,
/// the last finite one 1.2 (lower edge of the overflow bin) and the final entry `+∞`.
pub static BIN_EDGES: [f64; BINS + 1] = build_edges();

/// The bin of `q`, assumed in `[BIN_EDGES[base], BIN_EDGES[base + n])`, within segment `seg`.
#[inline(always)]
fn locate(q: f64, seg: usize) -> usize {
    let (_, width, n, base) = SEGMENTS[seg];
    let lo = BIN_EDGES[base];
    // 1 / width in ratio units: exact integers (100, 1000, 10_000).
    let inv_width = 10_000.0 / f64::from(width);
    // `as usize` saturates: a tiny negative difference gives 0.
    let mut j = (((q - lo) * inv_width) as usize).min(n - 1);
    // The guess is off by at most one bin; the loops make it exact against the stored edges.
    while j > 0 && q < BIN_EDGES[base + j] {
        j -= 1;
    }
    while j + 1 < n && q >= BIN_EDGES[base + j + 1] {
        j += 1;
    }
    base + j
}

/// The bin of the ratio `q`. Negative values and NaN go to the first bin, `+∞` to the overflow.
#[inline]
pub fn bin_of(q: f64) -> usize {
    if q < BIN_EDGES[SEGMENTS[1].3] {
        if q > 0.0 { locate(q, 0) } else { 0 }
    } else if q < BIN_EDGES[SEGMENTS[2].3] {
        locate(q, 1)
    } else if q < BIN_EDGES[SEGMENTS[3].3] {
        locate(q, 2)
    } else if q < BIN_EDGES[OVERFLOW] {
        locate(q, 3)
    } else if q >= BIN_EDGES[OVERFLOW] {
        OVERFLOW
    } else {
        0 // NaN
    }
}

/// The edge `ratio` stands for, if it is within [`EDGE_SNAP`] of one.
fn snap_to_edge(ratio: f64) -> Option<usize> {
    let i = bin_of(ratio);
    if (ratio - BIN_EDGES[i]).abs() <= EDGE_SNAP {
        Some(i)
    } else if i < BINS && (BIN_EDGES[i + 1] - ratio).abs() <= EDGE_SNAP {
        Some(i + 1)
    } else {
        None
    }
}

/// Histograms of the price / NAV ratio at up to [`MAX_POINTS`] time points, accumulated over
/// paths (see the [module docs](self) for the points and the bin grid).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceBands {
    n_steps: u32,
    step_days: f64,
    every: u32,
    points: usize,
    /// `points × BINS` counts, point-major.
    counts: Vec<u64>,
}

/// One time point of [`PriceBands::rows`].
#[derive(Debug, Clone, PartialEq)]
pub struct BandRow {
    /// Steps completed at the point (1-based: the point is the end of step `step − 1`).
    pub step: u32,
    /// Days from the start: `step · step_days`.
    pub day: f64,
    /// Paths recorded at the point.
    pub paths: u64,
    /// [`PriceBands::quantile`] at each requested probability, in order.
    pub quantiles: Vec<f64>,
    /// [`PriceBands::share_below`] of `1 − d` for each requested discount `d`, in order.
    pub share_below: Vec<f64>,
}

impl PriceBands {
    /// Empty bands for a run of `n_steps` steps of `step_days` days each.
    pub fn new(n_steps: u32, step_days: f64) -> Self {
        let every = n_steps.div_ceil(MAX_POINTS as u32).max(1);
        let points = n_steps.div_ceil(every) as usize;
        PriceBands {
            n_steps,
            step_days,
            every,
            points,
            counts: vec![0; points * BINS],
        }
    }

    /// Steps between two recorded points: `ceil(n_steps / MAX_POINTS)`, at least 1.
    pub fn every_steps(&self) -> u32 {
        self.every
    }

    /// Number of recorded time points: `ceil(n_steps / every_steps())`.
    pub fn points(&self) -> usize {
        self.points
    }

    /// Steps completed at `point` (1-based step count at the point's end).
    pub fn step_at(&self, point: usize) -> u32 {
        assert!(point < self.points, "point {point} of {}", self.points);
        ((point as u32 + 1) * self.every).min(self.n_steps)
    }

    /// Days from the start at `point`: `step_at(point) · step_days`.
    pub fn day_at(&self, point: usize) -> f64 {
        f64::from(self.step_at(point)) * self.step_days
    }

    /// Records the ratio `ratio` of one path at the end of step `step` (0-based). Does nothing
    /// unless the step is recorded. A negative or NaN ratio is a bug (debug builds panic);
    /// release builds count it in the first bin.
    #[inline]
    pub fn record(&mut self, step: u32, ratio: f64) {
        debug_assert!(step < self.n_steps, "step {step} of {}", self.n_steps);
        let end = step + 1;
        if !end.is_multiple_of(self.every) && end != self.n_steps {
            return;
        }
        debug_assert!(ratio >= 0.0, "price / NAV ratio {ratio} at step {step}");
        let point = (end.div_ceil(self.every) - 1) as usize;
        self.counts[point * BINS + bin_of(ratio)] += 1;
    }

    /// Adds the counts of `other`, which must have the same steps and step length.
    ///
    /// # Panics
    ///
    /// If the shapes differ.
    pub fn merge(&mut self, other: &PriceBands) {
        assert!(
            self.n_steps == other.n_steps && self.step_days.to_bits() == other.step_days.to_bits(),
            "merging price bands of {} steps of {} days with {} steps of {} days",
            self.n_steps,
            self.step_days,
            other.n_steps,
            other.step_days
        );
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// Every count, point-major (`points() × BINS`): with [`from_counts`](Self::from_counts),
    /// how a sharded run's partial result stores the bands.
    pub fn all_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Bands of `n_steps` steps of `step_days` days with the given counts (as returned by
    /// [`all_counts`](Self::all_counts)); None if their number does not fit that shape.
    pub fn from_counts(n_steps: u32, step_days: f64, counts: Vec<u64>) -> Option<Self> {
        let mut bands = PriceBands::new(n_steps, step_days);
        if counts.len() != bands.counts.len() {
            return None;
        }
        bands.counts = counts;
        Some(bands)
    }

    /// Sets every count to zero, keeping the shape.
    pub fn clear(&mut self) {
        self.counts.fill(0);
    }

    /// The counts of `point`, one per bin of [`BIN_EDGES`].
    pub fn counts_at(&self, point: usize) -> &[u64] {
        assert!(point < self.points, "point {point} of {}", self.points);
        &self.counts[point * BINS..(point + 1) * BINS]
    }

    /// Number of paths recorded at `point`.
    pub fn paths_at(&self, point: usize) -> u64 {
        self.counts_at(point).iter().sum()
    }

    /// The `p`-quantile of the ratio at `point`, `p` in [0, 1] (clamped; debug builds panic
    /// outside).
    ///
    /// The mass of each bin is taken as spread uniformly over it, so the result is the inverse of
    /// the piecewise-linear CDF through the bin edges: in the first bin whose cumulative count
    /// reaches `p · n` (`n` paths), at the fraction of the bin where it does. It is within one
    /// bin of the empirical quantile: 1 bp near the peg. `p = 0` gives the lower edge of the
    /// lowest non-empty bin, `p = 1` the upper edge of the highest. The overflow bin has no
    /// width: a quantile there is its lower edge, 1.2. With no paths, NaN.
    pub fn quantile(&self, point: usize, p: f64) -> f64 {
        debug_assert!((0.0..=1.0).contains(&p), "probability {p}");
        let counts = self.counts_at(point);
        let n: u64 = counts.iter().sum();
        if n == 0 || p.is_nan() {
            return f64::NAN;
        }
        let target = p.clamp(0.0, 1.0) * n as f64;
        let mut below = 0u64;
        for (i, &c) in counts.iter().enumerate() {
            let through = below + c;
            if c > 0 && through as f64 >= target {
                if i == OVERFLOW {
                    return BIN_EDGES[OVERFLOW];
                }
                let (lo, hi) = (BIN_EDGES[i], BIN_EDGES[i + 1]);
                let frac = ((target - below as f64) / c as f64).clamp(0.0, 1.0);
                return (lo + frac * (hi - lo)).min(hi);
            }
            below = through;
        }
        unreachable!("the cumulative count reaches n in the last non-empty bin")
    }

    /// Share of the paths at `point` whose ratio is below `ratio` (strictly).
    ///
    /// Exact when `ratio` is a bin edge (see the [module docs](self) for which discounts are);
    /// a ratio within 10⁻¹² of an edge counts as the edge, so `1.0 - bps / 10_000.0` is exact
    /// even where it rounds to a neighbour of the edge's `f64`. Otherwise the bin holding
    /// `ratio` contributes in proportion to the part of it below `ratio` (uniform mass, as in
    /// [`quantile`](Self::quantile)). The overflow bin counts as a point mass at 1.2, so any
    /// ratio above 1.2 gives 1. With no paths, or a NaN `ratio`, NaN.
    pub fn share_below(&self, point: usize, ratio: f64) -> f64 {
        let counts = self.counts_at(point);
        let n: u64 = counts.iter().sum();
        if n == 0 || ratio.is_nan() {
            return f64::NAN;
        }
        let below = |i: usize| counts[..i].iter().sum::<u64>();
        if let Some(edge) = snap_to_edge(ratio) {
            return below(edge) as f64 / n as f64;
        }
        if ratio <= 0.0 {
            return 0.0;
        }
        let i = bin_of(ratio);
        if i == OVERFLOW {
            return 1.0;
        }
        let (lo, hi) = (BIN_EDGES[i], BIN_EDGES[i + 1]);
        let frac = ((ratio - lo) / (hi - lo)).clamp(0.0, 1.0);
        (below(i) as f64 + frac * counts[i] as f64) / n as f64
    }

    /// One row per point: its step, day and paths, the [`quantile`](Self::quantile) at each of
    /// `probs` and the [`share_below`](Self::share_below) `1 − d` for each discount `d` of
    /// `thresholds` (fractions: 0.01 for 100 bp).
    pub fn rows(&self, probs: &[f64], thresholds: &[f64]) -> Vec<BandRow> {
        (0..self.points)
            .map(|point| BandRow {
                step: self.step_at(point),
                day: self.day_at(point),
                paths: self.paths_at(point),
                quantiles: probs.iter().map(|&p| self.quantile(point, p)).collect(),
                share_below: thresholds
                    .iter()
                    .map(|&d| self.share_below(point, 1.0 - d))
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference lookup: binary search over the edges.
    fn bin_by_search(q: f64) -> usize {
        BIN_EDGES.partition_point(|&e| e <= q).saturating_sub(1)
    }

    #[test]
    fn grid_shape() {
        assert_eq!(BIN_EDGES[0], 0.0);
        assert_eq!(BIN_EDGES[50], 0.5);
        assert_eq!(BIN_EDGES[450], 0.9);
        assert_eq!(BIN_EDGES[1650], 1.02);
        assert_eq!(BIN_EDGES[OVERFLOW], 1.2);
        assert_eq!(BIN_EDGES[BINS], f64::INFINITY);
        assert!(BIN_EDGES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(BIN_EDGES[1], 0.01);
        assert_eq!(BIN_EDGES[51], 0.501);
        assert_eq!(BIN_EDGES[451], 0.9001);
        assert_eq!(BIN_EDGES[1651], 1.021);
    }

    #[test]
    fn named_edges_land_in_the_upper_bin() {
        for (q, lo, hi) in [
            (0.99, 0.99, 0.9901),
            (0.95, 0.95, 0.9501),
            (0.9, 0.9, 0.9001),
            (0.5, 0.5, 0.501),
            (1.0, 1.0, 1.0001),
            (1.02, 1.02, 1.021),
            (0.8, 0.8, 0.801),
            (0.0, 0.0, 0.01),
        ] {
            let i = bin_of(q);
            assert_eq!((BIN_EDGES[i], BIN_EDGES[i + 1]), (lo, hi), "{q}");
            assert_eq!(bin_of(q.next_down()), i - usize::from(q > 0.0), "{q}");
        }
        assert_eq!(bin_of(1.2), OVERFLOW);
        assert_eq!(bin_of(1.2f64.next_down()), OVERFLOW - 1);
        assert_eq!(bin_of(f64::INFINITY), OVERFLOW);
        assert_eq!(bin_of(-0.3), 0);
        assert_eq!(bin_of(f64::NAN), 0);
    }

    #[test]
    fn lookup_matches_binary_search() {
        for (i, &e) in BIN_EDGES[..BINS].iter().enumerate() {
            assert_eq!(bin_of(e), i, "edge {e}");
            if i > 0 {
                assert_eq!(bin_of(e.next_down()), i - 1, "below edge {e}");
            }
            assert_eq!(bin_of(e.next_up()), i, "above edge {e}");
        }
        // A dense sweep, including values that are not near any edge.
        for k in 0..=1_300_000u32 {
            let q = f64::from(k) * 1e-6 + 1e-9;
            assert_eq!(bin_of(q), bin_by_search(q), "{q}");
        }
    }

    #[test]
    fn every_and_points() {
        for (n_steps, every, points) in [
            (1, 1, 1),
            (999, 1, 999),
            (1000, 1, 1000),
            (1001, 2, 501),
            (8760, 9, 974),
        ] {
            let mut b = PriceBands::new(n_steps, 1.0 / 24.0);
            assert_eq!(b.every_steps(), every, "{n_steps}");
            assert_eq!(b.points(), points, "{n_steps}");
            assert!(b.points() <= MAX_POINTS);
            for step in 0..n_steps {
                b.record(step, 1.0);
            }
            for point in 0..points {
                assert_eq!(b.paths_at(point), 1, "{n_steps} steps, point {point}");
                let step = ((point as u32 + 1) * every).min(n_steps);
                assert_eq!(b.step_at(point), step);
                assert_eq!(b.day_at(point), f64::from(step) * (1.0 / 24.0));
            }
            // The horizon is always the last point.
            assert_eq!(b.step_at(points - 1), n_steps);
        }
    }

    #[test]
    fn record_off_point_is_a_no_op() {
        let mut b = PriceBands::new(8760, 1.0);
        let empty = b.clone();
        for step in [0, 1, 7, 9, 8757, 8758] {
            b.record(step, 0.97);
        }
        assert_eq!(b, empty);
        b.record(8, 0.97); // end of step 9: point 0
        assert_eq!(b.paths_at(0), 1);
        b.record(8756, 0.97); // end of step 8757: the last but one point
        assert_eq!(b.paths_at(972), 1);
        b.record(8759, 0.97); // end of step 8760: the horizon, the last point
        assert_eq!(b.paths_at(973), 1);
        b.clear();
        assert_eq!(b, empty);
    }

    /// A small deterministic generator (splitmix64) for test values.
    fn values(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                // Mostly near the peg, some deep, a few above the overflow edge.
                (z >> 11) as f64 / (1u64 << 53) as f64 * 1.3
            })
            .collect()
    }

    #[test]
    fn merge_equals_recording_into_one() {
        let n_steps = 2500; // every = 3
        let v = values(7, 3 * n_steps as usize);
        let mut whole = PriceBands::new(n_steps, 1.0);
        let mut parts = [
            PriceBands::new(n_steps, 1.0),
            PriceBands::new(n_steps, 1.0),
            PriceBands::new(n_steps, 1.0),
        ];
        for (path, chunk) in v.chunks(n_steps as usize).enumerate() {
            for (step, &q) in chunk.iter().enumerate() {
                whole.record(step as u32, q);
                parts[path].record(step as u32, q);
            }
        }
        let mut merged = PriceBands::new(n_steps, 1.0);
        for p in parts.iter().rev() {
            merged.merge(p);
        }
        assert_eq!(merged, whole);
        assert_eq!(merged.paths_at(0), 3);
        let mut other_order = parts[0].clone();
        other_order.merge(&parts[2]);
        other_order.merge(&parts[1]);
        assert_eq!(other_order, whole);
    }

    #[test]
    #[should_panic(expected = "merging price bands")]
    fn merge_rejects_another_shape() {
        let mut a = PriceBands::new(100, 1.0);
        a.merge(&PriceBands::new(200, 1.0));
    }

    #[test]
    fn quantiles_of_uniform_values_near_peg() {
        let n = 100_000;
        let mut b = PriceBands::new(1, 1.0);
        for i in 0..n {
            b.record(0, 0.95 + 0.1 * (f64::from(i) + 0.5) / f64::from(n));
        }
        for p in [
            0.0, 0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0,
        ] {
            let q = b.quantile(0, p);
            let exact = 0.95 + 0.1 * p;
            assert!((q - exact).abs() <= 1e-4, "p = {p}: {q} vs {exact}");
        }
        assert_eq!(b.quantile(0, 0.0), 0.95);
        assert!((b.quantile(0, 1.0) - 1.05).abs() < 1e-12);
        // Shares at edges are exact counts.
        assert_eq!(b.share_below(0, 0.99), 40_000.0 / 100_000.0);
        assert_eq!(b.share_below(0, 0.95), 0.0);
        assert_eq!(b.share_below(0, 0.5), 0.0);
        assert_eq!(b.share_below(0, 1.2), 1.0);
    }

    #[test]
    fn quantile_and_share_edge_cases() {
        let mut b = PriceBands::new(1, 1.0);
        assert!(b.quantile(0, 0.5).is_nan());
        assert!(b.share_below(0, 0.99).is_nan());
        for q in [0.3, 0.99, 0.99, 5.0] {
            b.record(0, q);
        }
        // 0.3 is in [0.3, 0.31): p = 0.125 is halfway through it.
        assert!((b.quantile(0, 0.125) - 0.305).abs() < 1e-12);
        assert_eq!(b.quantile(0, 0.25), BIN_EDGES[bin_of(0.3) + 1]);
        assert!((b.quantile(0, 0.5) - 0.99005).abs() < 1e-12);
        assert_eq!(b.quantile(0, 0.9), 1.2);
        assert_eq!(b.quantile(0, 1.0), 1.2);
        assert_eq!(b.share_below(0, 0.99), 0.25);
        assert_eq!(b.share_below(0, 0.9901), 0.75);
        assert!((b.share_below(0, 0.99005) - 0.5).abs() < 1e-12);
        assert_eq!(b.share_below(0, 0.0), 0.0);
        assert_eq!(b.share_below(0, -1.0), 0.0);
        assert_eq!(b.share_below(0, 1.2), 0.75);
        assert_eq!(b.share_below(0, 7.0), 1.0);
        assert!(b.share_below(0, f64::NAN).is_nan());
    }

    #[test]
    fn whole_bp_discounts_are_exact_where_documented() {
        // One path per 1 bp bin over [0.5, 1.2) and one per 100 bp bin below: exact shares are
        // counts of values below the threshold.
        let mut b = PriceBands::new(1, 1.0);
        let mut v = Vec::new();
        for k in 0..12_000u32 {
            let q = (f64::from(k) + 0.5) / 10_000.0;
            v.push(q);
            b.record(0, q);
        }
        let n = v.len() as f64;
        for d in 0..=10_000u32 {
            let on_grid = d <= 1000 || (d <= 5000 && d % 10 == 0) || d % 100 == 0;
            if !on_grid {
                continue;
            }
            let ratio = 1.0 - f64::from(d) / 10_000.0;
            let exact = v.iter().filter(|&&q| q < ratio).count() as f64 / n;
            assert_eq!(b.share_below(0, ratio), exact, "{d} bp");
        }
        let rows = b.rows(&[0.5], &[0.01, 0.05, 0.2]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].step, 1);
        assert_eq!(rows[0].day, 1.0);
        assert_eq!(rows[0].paths, 12_000);
        assert_eq!(rows[0].share_below, [9900.0 / n, 9500.0 / n, 8000.0 / n]);
        assert!((rows[0].quantiles[0] - 0.6).abs() < 1e-12);
    }

    #[test]
    fn rows_for_hourly_steps() {
        let mut b = PriceBands::new(8760, 1.0 / 24.0);
        for path in 0..10u32 {
            for step in 0..8760 {
                // Mid-bin values 1.00005, 0.99905, …, 0.99105.
                b.record(step, 1.00005 - f64::from(path) * 0.001);
            }
        }
        let rows = b.rows(&[0.1, 0.9], &[0.005]);
        assert_eq!(rows.len(), 974);
        assert_eq!(rows[972].step, 8757);
        let last = &rows[973];
        assert_eq!(last.step, 8760);
        assert_eq!(last.day, 8760.0 * (1.0 / 24.0));
        assert_eq!(last.paths, 10);
        assert_eq!(last.share_below, [0.4]);
        for r in &rows {
            assert_eq!(
                (&r.quantiles, &r.share_below),
                (&last.quantiles, &last.share_below)
            );
        }
    }
}
