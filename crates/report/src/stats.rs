//! Tail statistics of loss columns: mean, standard error, VaR and expected shortfall at several
//! levels, each with a confidence interval.
//!
//! Only the upper tail matters for VaR/ES, so instead of sorting a whole column (up to millions of
//! values) the values are partitioned once with `select_nth_unstable_by` at the lowest order
//! statistic any level needs, and only the part above it is sorted.

use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::ReportError;

/// Tail levels reported when the user does not choose any.
pub const DEFAULT_LEVELS: [f64; 5] = [0.9, 0.95, 0.99, 0.995, 0.999];

/// Confidence of the VaR and ES intervals (two-sided, so 2.5 % is left on each side).
pub const CI_CONFIDENCE: f64 = 0.95;

/// VaR and expected shortfall of one metric at one level, with confidence intervals.
///
/// See [`metric_stats`] for the exact definitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelStats {
    /// The level α, strictly between 0 and 1 (e.g. 0.99).
    pub level: f64,
    /// Value at risk: the empirical α-quantile of the losses.
    pub var: f64,
    /// Lower end of the distribution-free [`CI_CONFIDENCE`] interval of `var`.
    pub var_lo: f64,
    /// Upper end of the distribution-free [`CI_CONFIDENCE`] interval of `var`.
    pub var_hi: f64,
    /// Expected shortfall (Acerbi–Tasche): the average loss in the worst (1 − α) share of paths.
    pub es: f64,
    /// Lower end of the asymptotic-normal [`CI_CONFIDENCE`] interval of `es`.
    pub es_lo: f64,
    /// Upper end of the asymptotic-normal [`CI_CONFIDENCE`] interval of `es`.
    pub es_hi: f64,
}

/// Summary statistics of one loss metric over all simulated paths.
///
/// See [`metric_stats`] for the exact definitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricStats {
    /// The metric's name, e.g. `slashed_fraction`.
    pub name: String,
    /// Arithmetic mean of the losses.
    pub mean: f64,
    /// Standard error of `mean`: sample standard deviation (n − 1) divided by √n.
    pub std_error: f64,
    /// Share of paths with a strictly positive loss.
    pub prob_loss: f64,
    /// Smallest loss.
    pub min: f64,
    /// Largest loss.
    pub max: f64,
    /// One entry per requested level, in the order the levels were given.
    pub levels: Vec<LevelStats>,
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
/// [`metric_stats`] panics on a level outside (0, 1), so user-supplied levels should be checked
/// here first; duplicates would produce duplicate keys in `summary.json`.
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
fn n_alpha(n: usize, alpha: f64) -> f64 {
    let x = n as f64 * alpha;
    let r = x.round();
    if (x - r).abs() <= 8.0 * f64::EPSILON * x.max(1.0) {
        r
    } else {
        x
    }
}

/// The 1-based rank k = ⌈n·α⌉ (clamped to [1, n]) of the VaR order statistic.
fn var_rank(n: usize, alpha: f64) -> usize {
    (n_alpha(n, alpha).ceil() as usize).clamp(1, n)
}

/// 1-based ranks (l, u) of the order statistics bounding the distribution-free confidence
/// interval of the α-quantile; see [`metric_stats`].
///
/// The Binomial(n, α) CDF is computed exactly (up to rounding) rather than through the
/// regularized incomplete beta function, whose continued fraction in `statrs` stops after a fixed
/// number of iterations and loses accuracy for large n: the pmf is built from the mode outwards
/// with the ratio recurrence pmf(m+1)/pmf(m) = (n−m)/(m+1) · α/(1−α), relative to the mode (so
/// nothing under- or overflows), dropping terms below 1e-20 of the mode, and normalised by its
/// own sum. That takes O(σ) steps with σ = √(nα(1−α)) — a few thousand for n = 10⁷ — and is
/// accurate to ~1e-12 for any n.
fn var_ci_ranks(n: usize, alpha: f64, confidence: f64) -> (usize, usize) {
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
fn ci_z() -> f64 {
    Normal::standard().inverse_cdf(0.5 + CI_CONFIDENCE / 2.0)
}

/// Computes mean, standard error, loss probability, extremes and, for every level, VaR and
/// expected shortfall with confidence intervals.
///
/// `losses` holds one value per simulated path (larger = worse); `levels` may be in any order and
/// the result keeps it. Computation is sequential and sums run in a fixed order, so the result
/// depends only on the input values and their order.
///
/// # Definitions
///
/// With n values L₁ … Lₙ (index order) and the same values sorted ascending
/// L₍₁₎ ≤ … ≤ L₍ₙ₎ (by [`f64::total_cmp`]):
///
/// * `mean` = (Σᵢ Lᵢ)/n, summed in index order.
/// * `std_error` = s/√n with s² = Σᵢ (Lᵢ − mean)²/(n − 1); 0 when n < 2.
/// * `prob_loss` = #{i : Lᵢ > 0}/n; `min`, `max` as usual.
/// * `var` (VaR_α) = L₍ₖ₎ with k = ⌈n·α⌉ clamped to [1, n]: the empirical quantile
///   inf{x : Fₙ(x) ≥ α}. n·α is snapped to the nearest integer when it is within a few ulps of
///   one, so that e.g. n = 1000, α = 0.9 gives k = 900 despite 0.9 not being representable.
/// * `es` (ES_α, Acerbi–Tasche, coherent for discrete samples) =
///   (Σ_{i=k+1..n} L₍ᵢ₎ + (k − n·α)·L₍ₖ₎) / (n·(1 − α)). When n·α is an integer this is the
///   mean of the n − k largest values. It is evaluated in the equivalent form
///   VaR_α + Σ_{i=k+1..n} (L₍ᵢ₎ − VaR_α) / (n − n·α), the excesses summed in ascending order and
///   n·α snapped as for k: the weights then sum exactly to the denominator, ES is never below
///   VaR, and a flat tail gives exactly its value.
/// * `var_lo`, `var_hi`: distribution-free interval from order statistics. With
///   B ~ Binomial(n, α) and p = (1 − [`CI_CONFIDENCE`])/2 = 0.025: `var_lo` = L₍ₗ₎ where l is the
///   largest j ≥ 1 with P(B ≥ j) ≥ 1 − p, and `var_hi` = L₍ᵤ₎ where u is the smallest j ≤ n with
///   P(B ≤ j − 1) ≥ 1 − p; both clamped to [1, n] (so for tiny n, or α so close to 1 that the
///   interval would reach past the sample, an end falls back to the extreme value and the
///   interval covers less than its nominal confidence). The binomial CDF is computed exactly by
///   summing the pmf (built with its ratio recurrence around the mode), for any n — no normal
///   approximation.
/// * `es_lo`, `es_hi` = ES_α ∓ z·σ with z = Φ⁻¹(0.975) and
///   σ = sd((Lᵢ − VaR_α)⁺) / ((1 − α)·√n), the sample standard deviation (n − 1) being taken over
///   all n values; only values above VaR_α are non-zero, so it is computed from the sorted tail
///   alone. This is the asymptotic normal interval, Var(ES) ≈ Var((L − q)⁺)/(n(1 − α)²).
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
/// O(n) for the moments and the partition, plus O(m log m) to sort the m values above the lowest
/// rank any level needs (about n·(1 − α_min) plus a few standard deviations of the CI): some
/// 20–25 ms for 10⁶ values with the default levels on one core.
pub fn metric_stats(name: &str, losses: &[f64], levels: &[f64]) -> MetricStats {
    for &level in levels {
        assert!(
            level > 0.0 && level < 1.0,
            "tail level {level} is not strictly between 0 and 1"
        );
    }
    let n = losses.len();
    if n == 0 {
        let nan = f64::NAN;
        return MetricStats {
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
                })
                .collect(),
        };
    }

    let nf = n as f64;
    let mut sum = 0.0;
    let mut positive = 0usize;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in losses {
        sum += x;
        positive += usize::from(x > 0.0);
        min = min.min(x);
        max = max.max(x);
    }
    let mean = sum / nf;
    // Two passes rather than Σx² − n·mean², which cancels badly when the spread is small.
    let sd = sample_sd(losses.iter().map(|&x| x - mean), n);

    // Ranks each level needs: VaR rank k and CI ranks (l, u), l ≤ k ≤ u.
    let plans: Vec<(f64, usize, usize, usize)> = levels
        .iter()
        .map(|&alpha| {
            let (l, u) = var_ci_ranks(n, alpha, CI_CONFIDENCE);
            (alpha, var_rank(n, alpha), l, u)
        })
        .collect();
    let level_stats = match plans.iter().map(|&(_, k, l, u)| k.min(l).min(u)).min() {
        None => Vec::new(),
        Some(lowest_rank) => {
            // Sorted values of ranks lowest_rank..=n, i.e. tail[j] = L_(start + j + 1).
            let start = lowest_rank - 1;
            let mut values = losses.to_vec();
            if start > 0 {
                values.select_nth_unstable_by(start, f64::total_cmp);
            }
            let tail = &mut values[start..];
            tail.sort_unstable_by(f64::total_cmp);
            let order = |rank: usize| tail[rank - 1 - start];
            let z = ci_z();
            plans
                .iter()
                .map(|&(alpha, k, l, u)| {
                    let var = order(k);
                    let na = n_alpha(n, alpha);
                    let above = &tail[k - start..]; // L_(k+1) ..= L_(n), ascending
                    // Σ (L_(i) − VaR) over i > k, ascending; (L − VaR)⁺ is zero at or below k.
                    let excess: f64 = above.iter().map(|&x| x - var).sum();
                    let tail_weight = nf - na;
                    // Σ_{i>k} L_(i) + (k − nα)·L_(k) = (n − nα)·VaR + Σ_{i>k} (L_(i) − VaR), so
                    // ES = VaR + excess/(n − nα): the same value, but never below VaR and exact
                    // when the tail is flat.
                    let es = if tail_weight > 0.0 {
                        var + excess / tail_weight
                    } else {
                        // Only reachable for α within a few ulps of 1: the tail is the maximum.
                        order(n)
                    };
                    // The k zeros' share of the mean and of the squared deviations is added in
                    // closed form.
                    let excess_mean = excess / nf;
                    let sd_excess = if n < 2 {
                        0.0
                    } else {
                        let ss: f64 = above.iter().map(|&x| (x - var - excess_mean).powi(2)).sum();
                        ((ss + k as f64 * excess_mean * excess_mean) / (nf - 1.0)).sqrt()
                    };
                    let half = z * sd_excess / ((1.0 - alpha) * nf.sqrt());
                    LevelStats {
                        level: alpha,
                        var,
                        var_lo: order(l),
                        var_hi: order(u),
                        es,
                        es_lo: es - half,
                        es_hi: es + half,
                    }
                })
                .collect()
        }
    };

    MetricStats {
        name: name.to_owned(),
        mean,
        std_error: sd / nf.sqrt(),
        prob_loss: positive as f64 / nf,
        min,
        max,
        levels: level_stats,
    }
}

/// Sample standard deviation (n − 1) of `n` deviations from the mean; 0 when n < 2.
fn sample_sd(deviations: impl Iterator<Item = f64>, n: usize) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let ss: f64 = deviations.map(|d| d * d).sum();
    (ss / (n as f64 - 1.0)).sqrt()
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
