//! The column-based `metric_stats` as it was before the streaming accumulators (f64 sums in
//! index order, full partial sort of the column), kept verbatim as the reference the
//! accumulators are tested against.
#![allow(dead_code)]

use crate::stats::{CI_CONFIDENCE, LevelStats, MetricStats, ci_z, n_alpha, var_ci_ranks, var_rank};

pub(crate) fn legacy_metric_stats(name: &str, losses: &[f64], levels: &[f64]) -> MetricStats {
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
                    exact: true,
                    above_paths: None,
                })
                .collect(),
            worst_paths: Vec::new(),
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
                        exact: true,
                        above_paths: Some(
                            above.iter().filter(|x| x.total_cmp(&var).is_gt()).count() as f64,
                        ),
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
        // Not computed by the previous implementation.
        worst_paths: Vec::new(),
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
