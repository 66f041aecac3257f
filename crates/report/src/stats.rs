//! Tail statistics of loss columns: mean, standard error, VaR and expected shortfall at several
//! levels, each with a confidence interval.
//!
//! The estimators work on a [`TailView`]: the largest values of a metric, sorted, with their
//! likelihood-ratio weights, and — for levels whose tail reaches below them — the rest of the
//! distribution as histogram segments. [`MetricAccumulator::stats`] builds it; [`metric_stats`]
//! is the keep-everything convenience wrapper.

use std::cell::OnceCell;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::accumulator::MetricAccumulator;
use crate::error::ReportError;
use crate::exact::{CompSum, dd};

/// Tail levels reported when the user does not choose any.
pub const DEFAULT_LEVELS: [f64; 5] = [0.9, 0.95, 0.99, 0.995, 0.999];

/// Confidence of the VaR and ES intervals (two-sided, so 2.5 % is left on each side).
pub const CI_CONFIDENCE: f64 = 0.95;

/// VaR and expected shortfall of one metric at one level, with confidence intervals.
///
/// See [`MetricAccumulator::stats`] for the exact definitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelStats {
    /// The level α, strictly between 0 and 1 (e.g. 0.99).
    pub level: f64,
    /// Value at risk: the empirical α-quantile of the losses (weighted: the tail quantile of the
    /// likelihood-ratio estimator).
    pub var: f64,
    /// Lower end of the [`CI_CONFIDENCE`] interval of `var` (distribution-free binomial order
    /// statistics; Woodruff's interval for weighted runs).
    pub var_lo: f64,
    /// Upper end of the [`CI_CONFIDENCE`] interval of `var`.
    pub var_hi: f64,
    /// Expected shortfall (Acerbi–Tasche): the average loss in the worst (1 − α) share of paths.
    pub es: f64,
    /// Lower end of the asymptotic-normal [`CI_CONFIDENCE`] interval of `es`.
    pub es_lo: f64,
    /// Upper end of the asymptotic-normal [`CI_CONFIDENCE`] interval of `es`.
    pub es_hi: f64,
    /// True when `var`, `var_lo`, `var_hi` and `es` were computed from exact values (the
    /// accumulator's kept tail entries reach down to the interval's lower end); false when they
    /// were read from the log-linear histogram: VaR and ES within one bucket (2⁻⁷ relative) of
    /// the exact values, the interval widened to its ends' buckets. See
    /// [`MetricAccumulator::stats`].
    pub exact: bool,
    /// The paths strictly above `var` when `var` is one of the kept values (so that every
    /// path above it was kept): their number unweighted, their effective number (Σw)²/Σw²
    /// under importance sampling. None otherwise. Not in summary.json; `exceedance.csv`'s
    /// `tail_paths`.
    #[serde(skip)]
    pub above_paths: Option<f64>,
}

/// Summary statistics of one loss metric over all simulated paths.
///
/// See [`MetricAccumulator::stats`] for the exact definitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricStats {
    /// The metric's name, e.g. `slashed_fraction`.
    pub name: String,
    /// Arithmetic mean of the losses (weighted: self-normalized, Σ w·L / Σ w).
    pub mean: f64,
    /// Standard error of `mean`: sample standard deviation (n − 1) of L divided by √n
    /// (weighted: the delta method's √(Σ w²(L − mean)²) / Σ w).
    pub std_error: f64,
    /// Share of paths with a strictly positive loss (weighted: self-normalized,
    /// Σ w·1{L > 0} / Σ w).
    pub prob_loss: f64,
    /// Smallest loss.
    pub min: f64,
    /// Largest loss.
    pub max: f64,
    /// One entry per requested level, in the order the levels were given.
    pub levels: Vec<LevelStats>,
    /// The paths with the largest losses: up to [`WORST_PATHS`] of the values strictly above 0
    /// (NaN excluded), descending by value, ties by ascending path id. From an accumulator, they
    /// come from its kept tail entries (all of them when it keeps fewer than [`WORST_PATHS`]);
    /// from a column ([`metric_stats`]), the path id is the index in the column.
    pub worst_paths: Vec<WorstPath>,
}

/// How many paths [`MetricStats::worst_paths`] lists at most.
pub const WORST_PATHS: usize = 10;

/// One of a metric's worst paths ([`MetricStats::worst_paths`]): which path, and its loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorstPath {
    /// The path id: `first_path + i` for the i-th value of a chunk given to
    /// [`MetricAccumulator::add_chunk`], the index in the column for [`metric_stats`].
    pub path: u64,
    /// The metric's value on that path.
    pub value: f64,
}

impl MetricStats {
    /// The statistics at `level`, if it was computed (levels are matched within 1e-12, so
    /// `0.99` finds a level written as `0.99` anywhere).
    pub fn level(&self, level: f64) -> Option<&LevelStats> {
        self.levels
            .iter()
            .find(|l| (l.level - level).abs() <= 1e-12)
    }
}

/// Checks that every level is strictly between 0 and 1 and that none is given twice.
///
/// [`metric_stats`] and [`MetricAccumulator::stats`] panic on a level outside (0, 1), so
/// user-supplied levels should be checked here first; duplicates would produce duplicate keys in
/// `summary.json`.
pub fn validate_levels(levels: &[f64]) -> Result<(), ReportError> {
    for (i, &level) in levels.iter().enumerate() {
        if !(level > 0.0 && level < 1.0) {
            return Err(ReportError::InvalidLevel {
                level,
                reason: "must be strictly between 0 and 1",
            });
        }
        if levels[..i].contains(&level) {
            return Err(ReportError::InvalidLevel {
                level,
                reason: "is given more than once",
            });
        }
    }
    Ok(())
}

/// n·α, snapped to the nearest integer when it is within a few ulps of one.
///
/// α is rarely exactly representable, so e.g. 100 × 0.07 = 7.000000000000001 would otherwise
/// give k = 8 instead of 7, and a weight (k − nα) of almost 1 instead of 0.
pub(crate) fn n_alpha(n: usize, alpha: f64) -> f64 {
    let x = n as f64 * alpha;
    let r = x.round();
    if (x - r).abs() <= 8.0 * f64::EPSILON * x.max(1.0) {
        r
    } else {
        x
    }
}

/// The 1-based rank k = ⌈n·α⌉ (clamped to [1, n]) of the VaR order statistic.
pub(crate) fn var_rank(n: usize, alpha: f64) -> usize {
    (n_alpha(n, alpha).ceil() as usize).clamp(1, n)
}

/// 1-based ranks (l, u) of the order statistics bounding the distribution-free confidence
/// interval of the α-quantile; see [`MetricAccumulator::stats`].
///
/// The Binomial(n, α) CDF is computed exactly (up to rounding) rather than through the
/// regularized incomplete beta function, whose continued fraction in `statrs` stops after a fixed
/// number of iterations and loses accuracy for large n: the pmf is built from the mode outwards
/// with the ratio recurrence pmf(m+1)/pmf(m) = (n−m)/(m+1) · α/(1−α), relative to the mode (so
/// nothing under- or overflows), dropping terms below 1e-20 of the mode, and normalised by its
/// own sum. That takes O(σ) steps with σ = √(nα(1−α)) — a few thousand for n = 10⁷ — and is
/// accurate to ~1e-12 for any n.
pub(crate) fn var_ci_ranks(n: usize, alpha: f64, confidence: f64) -> (usize, usize) {
    const CUTOFF: f64 = 1e-20;
    let tail_p = (1.0 - confidence) / 2.0;
    let (p, q) = (alpha, 1.0 - alpha);
    let nf = n as f64;
    let mode = ((((n + 1) as f64) * p).floor() as usize).min(n);

    // Weights below the mode, nearest first.
    let mut below = Vec::new();
    let mut lo = mode;
    let mut w = 1.0;
    while lo > 0 {
        let next = w * (lo as f64 / (nf - lo as f64 + 1.0)) * (q / p);
        if next < CUTOFF {
            break;
        }
        w = next;
        below.push(w);
        lo -= 1;
    }
    // Weights from the mode upwards.
    let mut weights: Vec<f64> = below.into_iter().rev().collect();
    weights.push(1.0);
    let mut hi = mode;
    w = 1.0;
    while hi < n {
        let next = w * ((nf - hi as f64) / (hi as f64 + 1.0)) * (p / q);
        if next < CUTOFF {
            break;
        }
        w = next;
        weights.push(w);
        hi += 1;
    }

    let total: f64 = weights.iter().sum();
    // F(lo − 1) ≈ 0 when lo ≥ 1, so j = lo qualifies for the lower rank; j = 0 is not a rank.
    let mut l = lo.max(1);
    let mut u = None;
    let mut cum = 0.0;
    for (i, w) in weights.iter().enumerate() {
        let m = lo + i;
        cum += w;
        // P(B ≥ m+1) = 1 − F(m) ≥ 1 − tail_p  ⇔  F(m) ≤ tail_p.
        if cum <= tail_p * total {
            l = m + 1;
        }
        // P(B ≤ (m+1) − 1) = F(m) ≥ 1 − tail_p.
        if u.is_none() && cum >= (1.0 - tail_p) * total {
            u = Some(m + 1);
        }
    }
    (l.min(n), u.unwrap_or(n).clamp(1, n))
}

/// The two-sided standard-normal quantile z = Φ⁻¹(1 − (1 − [`CI_CONFIDENCE`])/2) ≈ 1.96.
pub(crate) fn ci_z() -> f64 {
    Normal::standard().inverse_cdf(0.5 + CI_CONFIDENCE / 2.0)
}

/// Computes mean, standard error, loss probability, extremes and, for every level, VaR and
/// expected shortfall with confidence intervals, from one value per path.
///
/// A convenience wrapper: the values go as one chunk, with path ids 0, 1, …, into a
/// [`MetricAccumulator`] that keeps them all (`MetricAccumulator::new(usize::MAX, false)`), so
/// every level is exact ([`LevelStats::exact`]); see [`MetricAccumulator::stats`] for the
/// definitions. `losses` holds one value per simulated path (larger = worse); `levels` may be in
/// any order and the result keeps it. The result depends only on the values, not on their order
/// (except the path ids of [`MetricStats::worst_paths`], which are indices).
///
/// With no values every statistic is NaN. Values are expected to be finite; a NaN makes the mean
/// NaN and is ordered by [`f64::total_cmp`] in the tail.
///
/// # Panics
///
/// If a level is not strictly between 0 and 1 (check user input with [`validate_levels`]).
///
/// # Cost
///
/// O(n) to accumulate (a few ns per value) plus O(m log m) to sort the m values above the
/// lowest rank any level needs (about n·(1 − α_min) plus a few standard deviations of the CI);
/// memory: one copy of the values, plus one of the upper tail while it is sorted.
pub fn metric_stats(name: &str, losses: &[f64], levels: &[f64]) -> MetricStats {
    let mut acc = MetricAccumulator::new(usize::MAX, false);
    acc.add_chunk(0, losses, None);
    acc.stats(name, levels)
}

/// [`metric_stats`] for every `(name, losses)` column, in parallel, results in input order.
///
/// Each metric is computed independently and sequentially on one thread, so the results are
/// bit-identical whatever the size of the rayon pool.
pub fn all_metric_stats(columns: &[(&str, &[f64])], levels: &[f64]) -> Vec<MetricStats> {
    columns
        .par_iter()
        .map(|&(name, losses)| metric_stats(name, losses, levels))
        .collect()
}

/// Panics unless every level is strictly between 0 and 1.
pub(crate) fn check_levels(levels: &[f64]) {
    for &level in levels {
        assert!(
            level > 0.0 && level < 1.0,
            "tail level {level} is not strictly between 0 and 1"
        );
    }
}

/// The statistics of a metric without paths: NaN everywhere.
pub(crate) fn empty_stats(name: &str, levels: &[f64]) -> MetricStats {
    let nan = f64::NAN;
    MetricStats {
        name: name.to_owned(),
        mean: nan,
        std_error: nan,
        prob_loss: nan,
        min: nan,
        max: nan,
        levels: levels
            .iter()
            .map(|&level| LevelStats {
                level,
                var: nan,
                var_lo: nan,
                var_hi: nan,
                es: nan,
                es_lo: nan,
                es_hi: nan,
                exact: true,
                above_paths: None,
            })
            .collect(),
        worst_paths: Vec::new(),
    }
}

/// Sample standard deviation (n − 1) from the sum and the sum of squares, both double-double;
/// 0 when n < 2 (and when rounding makes the variance negative).
pub(crate) fn sample_sd(sum: (f64, f64), sum_sq: (f64, f64), nf: f64) -> f64 {
    if nf < 2.0 {
        return 0.0;
    }
    let centred = dd::add(sum_sq, dd::neg(dd::div(dd::mul(sum, sum), nf)));
    (centred.0 / (nf - 1.0)).max(0.0).sqrt()
}

/// Part of a metric's distribution below its kept tail entries, read from the histogram: mass
/// `w` (paths, or their likelihood-ratio weights) spread evenly over the values [lo, hi], the
/// range of values seen in one log-linear bucket (an atom when lo = hi).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segment {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    /// Mass: number of paths, or Σw.
    pub(crate) w: f64,
    /// Σw² (the number of paths when unweighted).
    pub(crate) w2: f64,
}

/// A tail quantile, whether it came from the exact kept entries, and the range of values it
/// may stand for (the value itself when exact, else the range of its histogram bucket).
#[derive(Debug, Clone, Copy)]
struct Located {
    value: f64,
    exact: bool,
    lo: f64,
    hi: f64,
}

impl Located {
    fn exact(value: f64) -> Self {
        Located {
            value,
            exact: true,
            lo: value,
            hi: value,
        }
    }
}

/// A metric's distribution as the tail statistics see it: its largest values exactly, sorted
/// descending, then (only when a level reaches below them) histogram segments.
pub(crate) struct TailView<'a> {
    /// Number of paths.
    pub(crate) n: u64,
    /// The largest values, descending by [`f64::total_cmp`] (ties by weight).
    pub(crate) values: &'a [f64],
    /// Their likelihood-ratio weights (None: all 1).
    pub(crate) weights: Option<&'a [f64]>,
    /// Running sums of `weights` from the top (None when unweighted).
    pub(crate) cum: Option<&'a [f64]>,
    /// `values` holds every path's value.
    pub(crate) covers_all: bool,
    /// The smallest value of the metric.
    pub(crate) min: f64,
    /// The distribution below `values`, descending; built at most once, when needed.
    pub(crate) rest: &'a dyn Fn() -> Vec<Segment>,
    pub(crate) rest_cache: OnceCell<Vec<Segment>>,
}

impl TailView<'_> {
    /// Mass of the entries 0..=j.
    fn cum(&self, j: usize) -> f64 {
        match self.cum {
            Some(c) => c[j],
            None => (j + 1) as f64,
        }
    }

    fn segments(&self) -> &[Segment] {
        self.rest_cache.get_or_init(|| (self.rest)())
    }

    /// The value at tail mass `t` (paths or weight counted from the top): the first kept entry
    /// whose running mass satisfies `reached` (the exact form of "exceeds t"), else the point of
    /// the histogram segment where the running mass reaches t, interpolated linearly.
    fn quantile(&self, reached: impl Fn(f64) -> bool, t: f64) -> Located {
        let len = self.values.len();
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if reached(self.cum(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if lo < len {
            return Located::exact(self.values[lo]);
        }
        if self.covers_all {
            // The mass is never reached (weighted, p ≥ Σw/n): the infimum is the minimum.
            return Located::exact(self.values[len - 1]);
        }
        let mut c = if len == 0 { 0.0 } else { self.cum(len - 1) };
        for s in self.segments() {
            if s.w > 0.0 && c + s.w > t {
                let f = ((t - c) / s.w).clamp(0.0, 1.0);
                let v = s.hi - f * (s.hi - s.lo);
                return Located {
                    // A bucket of NaNs has NaN ends, which `clamp` would panic on.
                    value: if s.lo.is_nan() || s.hi.is_nan() {
                        v
                    } else {
                        v.clamp(s.lo, s.hi)
                    },
                    exact: false,
                    lo: s.lo,
                    hi: s.hi,
                };
            }
            c += s.w;
        }
        Located {
            value: self.min,
            exact: false,
            lo: self.min,
            hi: self.min,
        }
    }

    /// VaR, ES and their intervals at level `alpha`; `z` from [`ci_z`].
    pub(crate) fn level(&self, alpha: f64, z: f64) -> LevelStats {
        let n = self.n;
        let nf = n as f64;
        let na = n_alpha(n as usize, alpha);
        let tail_mass = nf - na;
        // Unweighted this is k = ⌈nα⌉ exactly: the running count c is an integer.
        let var = self.quantile(|c| nf - c < na, tail_mass);
        let v = var.value;

        // Σ w (L − VaR)⁺ and its square over the kept entries above VaR; Σ w and Σ w² of
        // 1{L > VaR} for the Woodruff interval.
        let above = self.values.partition_point(|x| x.total_cmp(&v).is_gt());
        let (mut e1, mut e2) = (CompSum::default(), CompSum::default());
        let (mut s1, mut s2) = (CompSum::default(), CompSum::default());
        match self.weights {
            None => {
                for &x in &self.values[..above] {
                    let d = x - v;
                    e1.add(d);
                    e2.add_square(d);
                }
                s1.add(above as f64);
                s2.add(above as f64);
            }
            Some(w) => {
                for (&x, &w) in self.values[..above].iter().zip(w) {
                    let d = w * (x - v);
                    e1.add(d);
                    e2.add_square(d);
                    s1.add(w);
                    s2.add_square(w);
                }
            }
        }
        let above_paths = var.exact.then(|| match self.weights {
            None => above as f64,
            Some(_) => {
                let (w, w2) = (s1.value(), s2.value());
                if w2 > 0.0 { w * w / w2 } else { 0.0 }
            }
        });
        if !var.exact {
            // The mass of the histogram segments above VaR, spread evenly over each.
            for s in self.segments() {
                if s.w <= 0.0 {
                    continue;
                }
                if s.lo > v {
                    let mid = 0.5 * (s.lo + s.hi);
                    let spread = (s.hi - s.lo) * (s.hi - s.lo) / 12.0;
                    e1.add(s.w * (mid - v));
                    e2.add(s.w2 * ((mid - v) * (mid - v) + spread));
                    s1.add(s.w);
                    s2.add(s.w2);
                } else {
                    if s.hi > v {
                        let f = (s.hi - v) / (s.hi - s.lo);
                        e1.add(s.w * f * (s.hi - v) / 2.0);
                        e2.add(s.w2 * f * (s.hi - v) * (s.hi - v) / 3.0);
                        s1.add(s.w * f);
                        s2.add(s.w2 * f);
                    }
                    break;
                }
            }
        }
        let es = if tail_mass > 0.0 {
            v + e1.value() / tail_mass
        } else {
            // Only reachable for α within a few ulps of 1: the tail is the maximum.
            self.values[0]
        };
        let sd_excess = sample_sd((e1.hi, e1.lo), (e2.hi, e2.lo), nf);
        let half = z * sd_excess / ((1.0 - alpha) * nf.sqrt());

        let (lo, hi) = match self.weights {
            None => {
                // Exact binomial ranks; rank r is the (n − r + 1)-th value from the top.
                let (l, u) = var_ci_ranks(n as usize, alpha, CI_CONFIDENCE);
                let at_rank = |r: usize| {
                    let t = (n as usize - r) as f64 + 0.5;
                    self.quantile(|c| c > t, t)
                };
                (at_rank(l), at_rank(u))
            }
            Some(_) => {
                // Woodruff: the tail probability's standard error moved into quantiles.
                let se = sample_sd((s1.hi, s1.lo), (s2.hi, s2.lo), nf) / nf.sqrt();
                let t_lo = tail_mass + z * se * nf;
                let t_hi = tail_mass - z * se * nf;
                let lo = self.quantile(|c| c > t_lo, t_lo);
                let hi = if t_hi <= 0.0 {
                    Located::exact(self.values[0])
                } else {
                    self.quantile(|c| c > t_hi, t_hi)
                };
                (lo, hi)
            }
        };
        // An interval end read from the histogram stands for its whole bucket: taking the
        // bucket's outer edge keeps the interval around the one exact values would give.
        LevelStats {
            level: alpha,
            var: v,
            var_lo: lo.lo,
            var_hi: hi.hi,
            es,
            es_lo: es - half,
            es_hi: es + half,
            exact: var.exact && lo.exact && hi.exact,
            above_paths,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use statrs::distribution::{Binomial, DiscreteCDF};

    fn exp_samples(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f64> {
        // 1 − U lies in (0, 1], so the logarithm is finite.
        (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect()
    }

    fn uniform_samples(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.random::<f64>()).collect()
    }

    /// Straightforward reference: full sort, formulas as written in the docs.
    fn reference(losses: &[f64], alpha: f64) -> (f64, f64) {
        let mut s = losses.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let k = var_rank(n, alpha);
        let na = n_alpha(n, alpha);
        let mut tail = 0.0;
        for &x in &s[k..] {
            tail += x;
        }
        (
            s[k - 1],
            (tail + (k as f64 - na) * s[k - 1]) / (n as f64 - na),
        )
    }

    fn at(m: &MetricStats, level: f64) -> &LevelStats {
        m.level(level).unwrap()
    }

    #[test]
    fn one_to_ten_at_integer_n_alpha() {
        // Shuffled so that the partition actually has to move things.
        let v = [7.0, 3.0, 10.0, 1.0, 9.0, 2.0, 8.0, 5.0, 4.0, 6.0];
        let m = metric_stats("x", &v, &[0.9, 0.5]);
        assert_eq!(at(&m, 0.9).var, 9.0);
        assert_eq!(at(&m, 0.9).es, 10.0);
        // n·α = 5: VaR = L_(5), ES = mean of the 5 largest.
        assert_eq!(at(&m, 0.5).var, 5.0);
        assert_eq!(at(&m, 0.5).es, 8.0);
    }

    #[test]
    fn alpha_above_last_full_rank_uses_the_maximum() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let m = metric_stats("x", &v, &[0.95]);
        // n·α = 9.5 → k = 10; ES = (0 + 0.5·L_(10)) / 0.5 = L_(10).
        assert_eq!(at(&m, 0.95).var, 10.0);
        assert_eq!(at(&m, 0.95).es, 10.0);
    }

    #[test]
    fn acerbi_tasche_weights_for_fractional_n_alpha() {
        let v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        let m = metric_stats("x", &v, &[0.75, 0.85]);
        // α = 0.75: n·α = 7.5, k = 8; ES = (9 + 10 + 0.5·8)/2.5 = 9.2
        // (= ∫ of the quantile function over (0.75, 1] / 0.25: 0.05·8 + 0.1·9 + 0.1·10).
        assert_eq!(at(&m, 0.75).var, 8.0);
        assert!((at(&m, 0.75).es - 9.2).abs() < 1e-12, "{}", at(&m, 0.75).es);
        // α = 0.85: n·α = 8.5, k = 9; ES = (10 + 0.5·9)/1.5 = 29/3.
        assert_eq!(at(&m, 0.85).var, 9.0);
        assert!(
            (at(&m, 0.85).es - 29.0 / 3.0).abs() < 1e-12,
            "{}",
            at(&m, 0.85).es
        );
    }

    #[test]
    fn rank_guard_against_floating_error() {
        assert_eq!(var_rank(1000, 0.9), 900);
        assert_eq!(var_rank(100, 0.07), 7);
        assert_eq!(var_rank(1, 0.999), 1);
        // Every α = a/1000 against exact integer arithmetic ⌈n·a/1000⌉.
        for n in (1..=300).chain([1000, 2000, 100_000, 1_000_000, 10_000_000]) {
            for a in 1..1000usize {
                let alpha = a as f64 / 1000.0;
                let exact = (n * a).div_ceil(1000).max(1);
                assert_eq!(var_rank(n, alpha), exact, "n = {n}, α = {alpha}");
            }
        }
    }

    #[test]
    fn moments_on_a_small_array() {
        let m = metric_stats("x", &[-1.0, 0.0, 1.0, 2.0], &[]);
        assert_eq!(m.mean, 0.5);
        assert!((m.std_error - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
        assert_eq!(m.prob_loss, 0.5);
        assert_eq!((m.min, m.max), (-1.0, 2.0));
        assert!(m.levels.is_empty());
    }

    #[test]
    fn degenerate_sizes() {
        let empty = metric_stats("e", &[], &[0.9]);
        assert!(
            empty.mean.is_nan() && empty.levels[0].var.is_nan() && empty.levels[0].es_hi.is_nan()
        );
        let one = metric_stats("o", &[3.0], &[0.9, 0.999]);
        assert_eq!(one.std_error, 0.0);
        for l in &one.levels {
            assert_eq!(
                (l.var, l.var_lo, l.var_hi, l.es, l.es_lo, l.es_hi),
                (3.0, 3.0, 3.0, 3.0, 3.0, 3.0)
            );
        }
    }

    #[test]
    fn levels_keep_their_order() {
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let m = metric_stats("x", &v, &[0.99, 0.5, 0.9]);
        let got: Vec<f64> = m.levels.iter().map(|l| l.level).collect();
        assert_eq!(got, [0.99, 0.5, 0.9]);
        assert_eq!(m.levels[1].var, 49.0);
    }

    #[test]
    fn partial_sort_matches_full_sort_reference() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for n in [1, 2, 3, 7, 10, 99, 1000, 20_000] {
            // Ties and negative values too.
            let v: Vec<f64> = (0..n)
                .map(|_| (rng.random::<f64>() * 20.0 - 5.0).round() / 4.0)
                .collect();
            let levels = [0.5, 0.9, 0.95, 0.99, 0.995, 0.999];
            let m = metric_stats("x", &v, &levels);
            for (l, &alpha) in m.levels.iter().zip(&levels) {
                let (var, es) = reference(&v, alpha);
                assert_eq!(l.var, var, "n = {n}, α = {alpha}");
                assert!(
                    (l.es - es).abs() <= 1e-12 * es.abs().max(1.0),
                    "n = {n}, α = {alpha}: {} vs {es}",
                    l.es
                );
                assert!(l.var_lo <= l.var && l.var <= l.var_hi);
                assert!(l.es_lo <= l.es && l.es <= l.es_hi);
                assert!(l.es >= l.var);
            }
        }
    }

    /// Reference CI ranks by binary search on the statrs Binomial CDF (accurate for moderate n).
    fn statrs_ranks(n: usize, alpha: f64) -> (usize, usize) {
        let b = Binomial::new(alpha, n as u64).unwrap();
        let cdf = |j: usize| if j == 0 { 0.0 } else { b.cdf(j as u64 - 1) }; // P(B ≤ j − 1)
        // Largest j ≥ 1 with P(B ≥ j) = 1 − cdf(j) ≥ 0.975: cdf is increasing, so binary search.
        let (mut lo, mut hi) = (1usize, n); // invariant: answer in [lo, hi] if any
        if 1.0 - cdf(1) < 0.975 {
            lo = 1;
        } else {
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                if 1.0 - cdf(mid) >= 0.975 {
                    lo = mid
                } else {
                    hi = mid - 1
                }
            }
        }
        let l = lo;
        // Smallest j ≤ n with cdf(j) ≥ 0.975.
        let (mut a, mut b2) = (1usize, n);
        while a < b2 {
            let mid = (a + b2) / 2;
            if cdf(mid) >= 0.975 {
                b2 = mid
            } else {
                a = mid + 1
            }
        }
        (l, a)
    }

    #[test]
    fn ci_ranks_match_statrs_binomial() {
        for n in [1, 2, 5, 10, 20, 50, 100, 500, 1000, 2000, 5000] {
            for alpha in [0.5, 0.9, 0.95, 0.99, 0.995, 0.999] {
                assert_eq!(
                    var_ci_ranks(n, alpha, CI_CONFIDENCE),
                    statrs_ranks(n, alpha),
                    "n = {n}, α = {alpha}"
                );
            }
        }
    }

    #[test]
    fn ci_ranks_for_large_n_agree_with_normal_approximation() {
        // Exact ranks and the continuity-corrected normal approximation differ by at most one
        // rank once nα(1−α) is large.
        let z = ci_z();
        for (n, alpha) in [(10_000_000usize, 0.99), (1_000_000, 0.9), (10_000_000, 0.5)] {
            let (l, u) = var_ci_ranks(n, alpha, CI_CONFIDENCE);
            let mu = n as f64 * alpha;
            let s = (mu * (1.0 - alpha)).sqrt();
            let l_approx = (mu - z * s + 0.5).floor();
            let u_approx = (mu + z * s + 0.5).ceil();
            assert!(
                (l as f64 - l_approx).abs() <= 1.0,
                "n = {n}: l = {l}, approx {l_approx}"
            );
            assert!(
                (u as f64 - u_approx).abs() <= 1.0,
                "n = {n}: u = {u}, approx {u_approx}"
            );
        }
    }

    #[test]
    fn z_is_the_975_quantile() {
        assert!((ci_z() - 1.959_963_984_540_054).abs() < 1e-12);
    }

    #[test]
    fn exponential_tail_matches_theory() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20240601);
        let n = 200_000;
        let v = exp_samples(&mut rng, n);
        let m = metric_stats("exp", &v, &DEFAULT_LEVELS);
        let l = at(&m, 0.99);
        let q = 100f64.ln();
        assert!(
            l.var_lo <= q && q <= l.var_hi,
            "exact quantile {q} outside [{}, {}]",
            l.var_lo,
            l.var_hi
        );
        // Standard error of the sample quantile: √(α(1−α)/n) / f(q), with f(q) = 1 − α.
        let se_q = (0.99 * 0.01 / n as f64).sqrt() / 0.01;
        assert!((l.var - q).abs() <= 4.0 * se_q, "VaR {} vs {q}", l.var);
        let sigma = (l.es_hi - l.es_lo) / (2.0 * ci_z());
        assert!(sigma > 0.0);
        assert!(
            (l.es - (q + 1.0)).abs() <= 4.0 * sigma,
            "ES {} vs {} (σ {sigma})",
            l.es,
            q + 1.0
        );
        assert!(
            (m.mean - 1.0).abs() <= 4.0 * m.std_error,
            "mean {} ± {}",
            m.mean,
            m.std_error
        );
        assert_eq!(m.prob_loss, 1.0);
    }

    #[test]
    fn var_ci_coverage_on_uniform_samples() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let reps = 400;
        let covered = (0..reps)
            .filter(|_| {
                let l =
                    metric_stats("u", &uniform_samples(&mut rng, 2000), &[0.95]).levels[0].clone();
                l.var_lo <= 0.95 && 0.95 <= l.var_hi
            })
            .count();
        let share = covered as f64 / reps as f64;
        eprintln!("VaR_0.95 CI coverage: {share}");
        assert!(share >= 0.92, "VaR CI coverage {share}");
    }

    #[test]
    fn es_ci_coverage_on_exponential_samples() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let reps = 400;
        let exact = 10f64.ln() + 1.0;
        let covered = (0..reps)
            .filter(|_| {
                let l = metric_stats("e", &exp_samples(&mut rng, 5000), &[0.9]).levels[0].clone();
                l.es_lo <= exact && exact <= l.es_hi
            })
            .count();
        let share = covered as f64 / reps as f64;
        eprintln!("ES_0.9 CI coverage: {share}");
        assert!(share >= 0.90, "ES CI coverage {share}");
        assert!(share <= 0.99, "ES CI suspiciously wide: coverage {share}");
    }

    #[test]
    fn parallel_results_do_not_depend_on_thread_count() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let data: Vec<Vec<f64>> = (0..12)
            .map(|i| exp_samples(&mut rng, 10_000 + 997 * i))
            .collect();
        let names: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        let columns: Vec<(&str, &[f64])> = names
            .iter()
            .map(String::as_str)
            .zip(data.iter().map(Vec::as_slice))
            .collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| all_metric_stats(&columns, &DEFAULT_LEVELS))
        };
        let (one, four) = (run(1), run(4));
        assert_eq!(format!("{one:?}"), format!("{four:?}"));
        for (m, (name, v)) in one.iter().zip(&columns) {
            assert_eq!(*m, metric_stats(name, v, &DEFAULT_LEVELS));
        }
    }

    #[test]
    fn a_million_values() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let v = exp_samples(&mut rng, 1_000_000);
        let t = std::time::Instant::now();
        let m = metric_stats("big", &v, &DEFAULT_LEVELS);
        eprintln!("metric_stats over 1e6 values: {:?}", t.elapsed());
        assert_eq!(m.levels.len(), 5);
        assert!(
            m.levels
                .windows(2)
                .all(|w| w[0].var <= w[1].var && w[0].es <= w[1].es)
        );
    }

    #[test]
    fn level_validation() {
        assert!(validate_levels(&DEFAULT_LEVELS).is_ok());
        for bad in [[0.0, 0.5], [0.5, 1.0], [f64::NAN, 0.5], [0.9, 0.9]] {
            let err = validate_levels(&bad).unwrap_err();
            assert!(matches!(err, ReportError::InvalidLevel { .. }), "{err}");
        }
    }

    #[test]
    #[should_panic(expected = "not strictly between 0 and 1")]
    fn level_one_panics() {
        metric_stats("x", &[1.0], &[1.0]);
    }
}
