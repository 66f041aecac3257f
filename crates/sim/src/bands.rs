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
//!
//! # Other quantities: the queue and the utilization
//!
//! [`Bands`] (of which [`PriceBands`] is the price grid's name) records any quantity on one of
//! the fixed grids of [`Grid`], with the same time points, counts, merges and quantiles:
//!
//! - [`Grid::Queue`], the withdrawal queue as a share `x` of the LRT supply at t = 0 (below
//!   [`QUEUE_ZERO`] recorded as 0): an exact zero bin `{0}` (values ≤ 0 and NaN), `(0, 10⁻⁸)`, then 100 log-spaced bins per decade from
//!   10⁻⁸ to 10 (edge `i` of a decade `10ᵈ` is `10ᵈ · c^i`, `c` = 10^0.01, each bin 2.33 % wide
//!   relative to its lower edge), and an overflow bin `[10, ∞)`: [`QUEUE_BINS`] = 903 bins.
//! - [`Grid::Utilization`], a fraction in [0, 1]: an exact zero bin `{0}`, 1,000 bins of width
//!   0.001 (`(0, 0.001)`, `[0.001, 0.002)`, …, `[0.999, 1)`) and an exact one bin `{1}` (values
//!   ≥ 1): [`UTILIZATION_BINS`] = 1,002 bins.
//!
//! A quantile falling in an exact bin (zero, one) is that value; in the overflow bin its lower
//! edge; elsewhere it is interpolated within its bin as for the price.

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

/// A queue below this share of the t = 0 supply is recorded as empty (the rounding residue
/// of a drained queue, the front door's own tolerance).
pub const QUEUE_ZERO: f64 = 1e-12;

/// Bins of [`Grid::Queue`]: zero, below 10⁻⁸, 900 log-spaced bins up to 10, overflow.
pub const QUEUE_BINS: usize = 903;
/// Log-spaced bins per decade of [`Grid::Queue`].
const QUEUE_PER_DECADE: usize = 100;
/// The decades of [`Grid::Queue`]: 10⁻⁸ … 10⁰ (the last ends at 10).
const QUEUE_DECADES: [f64; 9] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0];
/// 10^0.01, the ratio of two log-spaced queue edges.
const QUEUE_STEP: f64 = 1.023292992280754;

const fn build_queue_edges() -> [f64; QUEUE_BINS + 1] {
    let mut edges = [0.0; QUEUE_BINS + 1];
    // edges[0] = edges[1] = 0: bin 0 is the exact zero, bin 1 is (0, 1e-8).
    let mut d = 0;
    while d < QUEUE_DECADES.len() {
        let mut r = 1.0;
        let mut k = 0;
        while k < QUEUE_PER_DECADE {
            edges[2 + d * QUEUE_PER_DECADE + k] = QUEUE_DECADES[d] * r;
            r *= QUEUE_STEP;
            k += 1;
        }
        d += 1;
    }
    edges[QUEUE_BINS - 1] = 10.0;
    edges[QUEUE_BINS] = f64::INFINITY;
    edges
}

/// Edges of [`Grid::Queue`]: bin `i` is `[QUEUE_EDGES[i], QUEUE_EDGES[i + 1])`, but bin 0 is
/// the exact zero `{0}` (its two edges are 0).
pub static QUEUE_EDGES: [f64; QUEUE_BINS + 1] = build_queue_edges();

/// The queue bin of `x` (a share of the t = 0 supply).
fn queue_bin_of(x: f64) -> usize {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x < QUEUE_EDGES[2] {
        return 1;
    }
    if x >= QUEUE_EDGES[QUEUE_BINS - 1] {
        return QUEUE_BINS - 1;
    }
    // A guess from the logarithm, made exact against the stored edges.
    let last = QUEUE_BINS - 2;
    let guess = ((x.log10() + 8.0) * QUEUE_PER_DECADE as f64).max(0.0) as usize + 2;
    let mut j = guess.clamp(2, last);
    while j > 2 && x < QUEUE_EDGES[j] {
        j -= 1;
    }
    while j < last && x >= QUEUE_EDGES[j + 1] {
        j += 1;
    }
    j
}

/// Bins of [`Grid::Utilization`]: zero, 1,000 of width 0.001, one.
pub const UTILIZATION_BINS: usize = 1002;

const fn build_utilization_edges() -> [f64; UTILIZATION_BINS + 1] {
    let mut edges = [0.0; UTILIZATION_BINS + 1];
    let mut k = 1;
    while k <= 1000 {
        edges[k + 1] = k as f64 / 1000.0;
        k += 1;
    }
    edges[UTILIZATION_BINS] = 1.0;
    edges
}

/// Edges of [`Grid::Utilization`]: bin 0 is the exact zero `{0}`, bin `k` (1 ≤ k ≤ 1000) is
/// `[(k − 1)/1000, k/1000)` (without 0), bin 1001 is the exact one `{1}`.
pub static UTILIZATION_EDGES: [f64; UTILIZATION_BINS + 1] = build_utilization_edges();

/// The utilization bin of `u`.
fn utilization_bin_of(u: f64) -> usize {
    if u.is_nan() || u <= 0.0 {
        return 0;
    }
    if u >= 1.0 {
        return UTILIZATION_BINS - 1;
    }
    let mut j = ((u * 1000.0) as usize + 1).clamp(1, 1000);
    while j > 1 && u < UTILIZATION_EDGES[j] {
        j -= 1;
    }
    while j < 1000 && u >= UTILIZATION_EDGES[j + 1] {
        j += 1;
    }
    j
}

/// The fixed bin grids of [`Bands`] (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grid {
    /// Price / NAV ratio: [`BIN_EDGES`].
    Price,
    /// Withdrawal queue as a share of the t = 0 supply: [`QUEUE_EDGES`].
    Queue,
    /// Utilization in [0, 1]: [`UTILIZATION_EDGES`].
    Utilization,
}

impl Grid {
    /// The edges: bin `i` spans `edges[i]` to `edges[i + 1]`; equal edges make an exact bin.
    pub fn edges(self) -> &'static [f64] {
        match self {
            Grid::Price => &BIN_EDGES,
            Grid::Queue => &QUEUE_EDGES,
            Grid::Utilization => &UTILIZATION_EDGES,
        }
    }

    /// Number of bins.
    pub fn bins(self) -> usize {
        self.edges().len() - 1
    }

    /// The bin of `x`.
    #[inline]
    pub fn bin_of(self, x: f64) -> usize {
        match self {
            Grid::Price => bin_of(x),
            Grid::Queue => queue_bin_of(x),
            Grid::Utilization => utilization_bin_of(x),
        }
    }
}

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

/// Histograms of a quantity (by default the price / NAV ratio) at up to [`MAX_POINTS`] time
/// points, accumulated over paths (see the [module docs](self) for the points and the bin
/// grids).
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    grid: Grid,
    n_steps: u32,
    step_days: f64,
    every: u32,
    points: usize,
    /// `points × bins` counts, point-major.
    counts: Vec<u64>,
}

/// Bands of the price / NAV ratio ([`Grid::Price`]): what [`Bands::new`] makes.
pub type PriceBands = Bands;

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

impl Bands {
    /// Empty price / NAV bands ([`Grid::Price`]) for a run of `n_steps` steps of `step_days`
    /// days each.
    pub fn new(n_steps: u32, step_days: f64) -> Self {
        Self::on(Grid::Price, n_steps, step_days)
    }

    /// Empty bands on `grid` for a run of `n_steps` steps of `step_days` days each.
    pub fn on(grid: Grid, n_steps: u32, step_days: f64) -> Self {
        let every = n_steps.div_ceil(MAX_POINTS as u32).max(1);
        let points = n_steps.div_ceil(every) as usize;
        Bands {
            grid,
            n_steps,
            step_days,
            every,
            points,
            counts: vec![0; points * grid.bins()],
        }
    }

    /// The grid.
    pub fn grid(&self) -> Grid {
        self.grid
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

    /// Records the value `ratio` of one path at the end of step `step` (0-based). Does nothing
    /// unless the step is recorded. A negative or NaN ratio is a bug (debug builds panic);
    /// release builds count it in the first bin.
    #[inline]
    pub fn record(&mut self, step: u32, ratio: f64) {
        debug_assert!(step < self.n_steps, "step {step} of {}", self.n_steps);
        let end = step + 1;
        if !end.is_multiple_of(self.every) && end != self.n_steps {
            return;
        }
        debug_assert!(ratio >= 0.0, "{:?} value {ratio} at step {step}", self.grid);
        let point = (end.div_ceil(self.every) - 1) as usize;
        self.counts[point * self.grid.bins() + self.grid.bin_of(ratio)] += 1;
    }

    /// Adds the counts of `other`, which must have the same steps and step length.
    ///
    /// # Panics
    ///
    /// If the shapes differ.
    pub fn merge(&mut self, other: &Bands) {
        assert!(
            self.grid == other.grid
                && self.n_steps == other.n_steps
                && self.step_days.to_bits() == other.step_days.to_bits(),
            "merging price bands of {} steps of {} days with {} steps of {} days (or {:?} with {:?} bands)",
            self.n_steps,
            self.step_days,
            other.n_steps,
            other.step_days,
            self.grid,
            other.grid
        );
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// Every count, point-major (`points() × bins`): with [`from_counts`](Self::from_counts),
    /// how a sharded run's partial result stores the bands.
    pub fn all_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Bands of `n_steps` steps of `step_days` days with the given counts (as returned by
    /// [`all_counts`](Self::all_counts)); None if their number does not fit that shape.
    pub fn from_counts(n_steps: u32, step_days: f64, counts: Vec<u64>) -> Option<Self> {
        Self::from_counts_on(Grid::Price, n_steps, step_days, counts)
    }

    /// [`from_counts`](Self::from_counts) on `grid`.
    pub fn from_counts_on(
        grid: Grid,
        n_steps: u32,
        step_days: f64,
        counts: Vec<u64>,
    ) -> Option<Self> {
        let mut bands = Bands::on(grid, n_steps, step_days);
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

    /// The counts of `point`, one per bin of the grid ([`BIN_EDGES`] for price bands).
    pub fn counts_at(&self, point: usize) -> &[u64] {
        assert!(point < self.points, "point {point} of {}", self.points);
        let bins = self.grid.bins();
        &self.counts[point * bins..(point + 1) * bins]
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
        let edges = self.grid.edges();
        let mut below = 0u64;
        for (i, &c) in counts.iter().enumerate() {
            let through = below + c;
            if c > 0 && through as f64 >= target {
                let (lo, hi) = (edges[i], edges[i + 1]);
                // The overflow bin has no width; an exact bin is its value.
                if hi == f64::INFINITY || lo == hi {
                    return lo;
                }
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
    ///
    /// For price bands only: on another grid, NaN.
    pub fn share_below(&self, point: usize, ratio: f64) -> f64 {
        let counts = self.counts_at(point);
        let n: u64 = counts.iter().sum();
        if n == 0 || ratio.is_nan() || self.grid != Grid::Price {
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

/// The LRT supply at t = 0 of `model`, in t = 0 ETH (the collateral plus any buffer): the
/// unit of [`Grid::Queue`]'s values (a queue band's value × this = ETH).
pub fn queue_unit_eth(model: &lrtsim_scenario::Model) -> f64 {
    model.collateral_eth
        + model
            .withdrawals
            .as_ref()
            .map_or(0.0, |w| w.buffer_initial_eth)
}

/// The unit the beacon chain's exit queue is recorded in on [`Grid::Queue`]: 10⁷ ETH, so its
/// 100 log-spaced bins per decade span 0.1 ETH to 10⁸ ETH (more than all ETH staked), a queue
/// below 10⁻⁵ ETH counts as empty and one from 10⁸ ETH up lands in the overflow bin.
pub const EXIT_QUEUE_UNIT_ETH: f64 = 1e7;

/// The bands a run records: price / NAV with `[market]`, the withdrawal queue and the beacon
/// chain's exit queue with `[withdrawals]` (a sector's exit queue with its LRTs' front doors),
/// the lending market's utilization with `[lending.rates]` (or a sector's `[sector.lending]`),
/// and each sector LRT's price / NAV with its market.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BandSet {
    /// Price / NAV ([`Grid::Price`]).
    pub price: Option<Bands>,
    /// LRT in the protocol's withdrawal queue ÷ the LRT supply at t = 0 ([`Grid::Queue`]).
    pub queue: Option<Bands>,
    /// The lending market's ETH utilization ([`Grid::Utilization`]).
    pub utilization: Option<Bands>,
    /// ETH in the beacon chain's exit queue ÷ [`EXIT_QUEUE_UNIT_ETH`] ([`Grid::Queue`]): the
    /// pool's network queue, or the one a sector's LRTs share.
    pub exit_queue: Option<Bands>,
    /// A sector's price / NAV of each LRT with a market (`lrts[].market`), in `[[lrts]]`
    /// order ([`Grid::Price`]); empty for a pool.
    pub lrt_price: Vec<Bands>,
}

impl BandSet {
    /// Empty bands for the sections `model` has.
    pub fn for_model(model: &lrtsim_scenario::Model) -> Self {
        let (n, d) = (model.n_steps, model.step_days);
        BandSet {
            price: model.market.as_ref().map(|_| Bands::on(Grid::Price, n, d)),
            queue: model
                .withdrawals
                .as_ref()
                .map(|_| Bands::on(Grid::Queue, n, d)),
            // The pool's lending market, or a sector's one reserve.
            utilization: (model.lending.as_ref().and_then(|l| l.rates.as_ref()))
                .or(model.reserve.as_ref())
                .map(|_| Bands::on(Grid::Utilization, n, d)),
            exit_queue: (model.withdrawals.is_some()
                || model.lrts.iter().any(|l| l.withdrawals.is_some()))
            .then(|| Bands::on(Grid::Queue, n, d)),
            lrt_price: (model.lrts.iter())
                .filter(|l| l.market.is_some())
                .map(|_| Bands::on(Grid::Price, n, d))
                .collect(),
        }
    }

    /// Adds the counts of `other` (bands present in only one are kept as they are).
    pub fn merge(mut self, other: BandSet) -> BandSet {
        fn one(a: &mut Option<Bands>, b: Option<Bands>) {
            match (a.as_mut(), b) {
                (Some(x), Some(y)) => x.merge(&y),
                (None, y) => *a = y,
                (Some(_), None) => {}
            }
        }
        one(&mut self.price, other.price);
        one(&mut self.queue, other.queue);
        one(&mut self.utilization, other.utilization);
        one(&mut self.exit_queue, other.exit_queue);
        if self.lrt_price.is_empty() {
            self.lrt_price = other.lrt_price;
        } else {
            for (a, b) in self.lrt_price.iter_mut().zip(&other.lrt_price) {
                a.merge(b);
            }
        }
        self
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

    /// Reference lookup on any grid: the last bin whose lower edge is ≤ x (bin 0 for x ≤ 0).
    fn grid_bin_by_search(grid: Grid, x: f64) -> usize {
        let e = grid.edges();
        if x <= 0.0 {
            return 0;
        }
        let i = e.partition_point(|&v| v <= x).saturating_sub(1);
        i.min(grid.bins() - 1)
    }

    #[test]
    fn queue_and_utilization_grids() {
        let q = &QUEUE_EDGES;
        assert_eq!((q[0], q[1], q[2]), (0.0, 0.0, 1e-8));
        assert_eq!(q[QUEUE_BINS - 1], 10.0);
        assert!(q[1..].windows(2).all(|w| w[0] < w[1]));
        // Each decade starts at its exact literal, the log bins are 2.33 % wide.
        for (d, &dec) in QUEUE_DECADES.iter().enumerate() {
            assert_eq!(q[2 + 100 * d], dec);
        }
        for w in q[2..QUEUE_BINS].windows(2) {
            let r = w[1] / w[0];
            assert!((r - QUEUE_STEP).abs() < 1e-12, "{w:?}");
        }
        let u = &UTILIZATION_EDGES;
        assert_eq!(
            (u[0], u[1], u[2], u[1001], u[1002]),
            (0.0, 0.0, 0.001, 1.0, 1.0)
        );
        assert_eq!(u[501], 0.5);
        for grid in [Grid::Queue, Grid::Utilization] {
            assert_eq!(grid.bin_of(0.0), 0);
            assert_eq!(grid.bin_of(-1.0), 0);
            assert_eq!(grid.bin_of(f64::NAN), 0);
            for &e in &grid.edges()[2..grid.bins()] {
                for x in [e, e.next_up(), e.next_down()] {
                    assert_eq!(grid.bin_of(x), grid_bin_by_search(grid, x), "{grid:?} {x}");
                }
            }
            for k in 1..200_000u32 {
                let x = f64::from(k) * 1.3e-5 * f64::from(k % 7 + 1).powi(3) * 1e-3;
                assert_eq!(grid.bin_of(x), grid_bin_by_search(grid, x), "{grid:?} {x}");
            }
        }
        assert_eq!(Grid::Queue.bin_of(5e-9), 1);
        assert_eq!(Grid::Queue.bin_of(1e6), QUEUE_BINS - 1);
        assert_eq!(Grid::Utilization.bin_of(1.0), UTILIZATION_BINS - 1);
        assert_eq!(Grid::Utilization.bin_of(1.5), UTILIZATION_BINS - 1);
        assert_eq!(Grid::Utilization.bin_of(0.0005), 1);
        assert_eq!(Grid::Utilization.bin_of(0.001), 2);
    }

    #[test]
    fn exact_bins_give_exact_quantiles() {
        let mut b = Bands::on(Grid::Utilization, 2, 1.0);
        for u in [0.0, 0.0, 0.4321, 1.0, 1.0, 1.0] {
            b.record(0, u);
            b.record(1, 1.0);
        }
        assert_eq!(b.quantile(0, 0.01), 0.0);
        assert_eq!(b.quantile(0, 1.0 / 3.0), 0.0);
        let mid = b.quantile(0, 0.45);
        assert!((0.432..0.433).contains(&mid), "{mid}");
        assert_eq!(b.quantile(0, 0.99), 1.0);
        assert_eq!(b.quantile(1, 0.01), 1.0);
        assert!(b.share_below(0, 0.5).is_nan());
        let mut q = Bands::on(Grid::Queue, 1, 1.0);
        for x in [0.0, 0.02, 0.02, 50.0] {
            q.record(0, x);
        }
        assert_eq!(q.quantile(0, 0.2), 0.0);
        let m = q.quantile(0, 0.5);
        assert!((0.02 / QUEUE_STEP..=0.02 * QUEUE_STEP).contains(&m), "{m}");
        assert_eq!(q.quantile(0, 0.99), 10.0);
        // Merging bands of another grid is refused; counts round-trip.
        let back = Bands::from_counts_on(Grid::Queue, 1, 1.0, q.all_counts().to_vec()).unwrap();
        assert_eq!(back, q);
        assert!(
            Bands::from_counts_on(Grid::Utilization, 1, 1.0, q.all_counts().to_vec()).is_none()
        );
    }

    #[test]
    #[should_panic(expected = "merging price bands")]
    fn merge_rejects_another_grid() {
        let mut a = Bands::on(Grid::Queue, 100, 1.0);
        a.merge(&Bands::on(Grid::Utilization, 100, 1.0));
    }
}
