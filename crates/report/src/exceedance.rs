//! The loss exceedance curve (`exceedance.csv`): VaR at log-spaced tail probabilities.
//!
//! For a run of n paths the tail probabilities are the 1-2-5 sequence 0.1, 0.05, 0.02, 0.01,
//! 0.005, … down to the smallest p with n·p ≥ 10 ([`exceedance_probs`]): from the deepest
//! level of `tail_metrics.csv` (0.9) into the far tail, so that the curve reads no deeper into
//! the values than the tail statistics (the body is `loss_distribution.csv`'s). At each p the
//! loss is VaR at level 1 − p, with its interval and `exact` flag, from the same
//! [`MetricAccumulator::stats`] call as the levels of `tail_metrics.csv`
//! ([`report_levels`]: one sort of the kept tail serves both; a level that is also one of
//! `tail_metrics.csv`'s is the same computation). `tail_paths` counts the paths above that
//! loss ([`ExceedanceRow::tail_paths`]).

use std::path::Path;

use crate::accumulator::MetricAccumulator;
use crate::error::ReportError;
use crate::stats::DEFAULT_LEVELS;
use crate::stats::MetricStats;
use crate::write::write_atomic;

/// Header of `exceedance.csv` ([`write_exceedance_csv`]).
pub const EXCEEDANCE_CSV_HEADER: [&str; 7] = [
    "metric",
    "tail_prob",
    "loss",
    "ci_lo",
    "ci_hi",
    "exact",
    "tail_paths",
];

/// Fewest expected paths beyond a tail probability for it to be reported: p is listed iff
/// n·p ≥ this.
pub const MIN_TAIL_PATHS: u64 = 10;

/// The tail probabilities of `exceedance.csv` for a run of `paths` paths, as (mantissa,
/// decimal exponent) pairs `(m, d)` with p = m / 10ᵈ: the 1-2-5 sequence 0.1, 0.05, 0.02, …
/// while `paths · p ≥ MIN_TAIL_PATHS` (decided in integers, exactly).
fn probs_exact(paths: u64) -> Vec<(u64, i32)> {
    let mut out = Vec::new();
    for d in 1..=30i32 {
        let mantissas: &[u64] = if d == 1 { &[1] } else { &[5, 2, 1] };
        for &m in mantissas {
            // n · m / 10^d ≥ 10  ⇔  n · m ≥ 10^(d+1).
            if u128::from(paths) * u128::from(m) >= 10u128.pow(d as u32 + 1) {
                out.push((m, d));
            } else {
                return out;
            }
        }
    }
    out
}

/// The tail probabilities of `exceedance.csv` for a run of `paths` paths, descending: 0.1,
/// 0.05, 0.02, 0.01, 0.005, … down to the smallest p with `paths · p ≥ 10`. Each is the `f64`
/// nearest to its decimal (`m as f64 / 10ᵈ as f64`). None for fewer than 100 paths.
pub fn exceedance_probs(paths: u64) -> Vec<f64> {
    probs_exact(paths)
        .into_iter()
        .map(|(m, d)| m as f64 / 10f64.powi(d))
        .collect()
}

/// The VaR level of tail probability `p`: `1 − p`, or the level of [`DEFAULT_LEVELS`] it
/// stands for when within 10⁻¹⁵ of one (so `exceedance.csv` at 0.01 is `tail_metrics.csv` at
/// 0.99, bit for bit).
fn level_of(p: f64) -> f64 {
    let level = 1.0 - p;
    DEFAULT_LEVELS
        .iter()
        .copied()
        .find(|l| (l - level).abs() <= 1e-15)
        .unwrap_or(level)
}

/// One row of `exceedance.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceedanceRow {
    /// The tail probability p.
    pub tail_prob: f64,
    /// VaR at level 1 − p: the loss exceeded with probability about p.
    pub loss: f64,
    /// Lower end of the interval of `loss` (as `var_lo` of `tail_metrics.csv`).
    pub ci_lo: f64,
    /// Upper end of the interval of `loss` (as `var_hi`).
    pub ci_hi: f64,
    /// Read from the exact kept tail (true) or from the histogram (false), as `exact` of
    /// `tail_metrics.csv`.
    pub exact: bool,
    /// Paths with a loss strictly above `loss`. Unweighted: their number. Weighted (importance
    /// sampling): their effective number, Kish's (Σw)² / Σw² over them. Exact whenever the
    /// accumulator kept every such path (always when `exact`); otherwise — only in rows read
    /// from the histogram, of runs that keep part of the tail — unweighted ⌊n·p⌋ (which it
    /// equals unless paths tie at `loss`), weighted the effective number of the kept ones (a
    /// lower bound).
    pub tail_paths: f64,
}

/// The levels at which to compute a metric's statistics once for both `tail_metrics.csv`
/// (`levels`, first, in their order) and `exceedance.csv` (the levels 1 − p of
/// [`exceedance_probs`] not among them). Keep only `levels` for the tail metrics afterwards.
pub fn report_levels(levels: &[f64], paths: u64) -> Vec<f64> {
    let mut out = levels.to_vec();
    for p in exceedance_probs(paths) {
        let l = level_of(p);
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The exceedance curve of one metric: one row per tail probability of [`exceedance_probs`]
/// of its paths (none with fewer than 100), from `stats`, its statistics at (at least) the
/// levels of [`report_levels`] computed by `acc`.
///
/// # Panics
///
/// If `stats` lacks one of those levels.
pub fn exceedance_rows(acc: &MetricAccumulator, stats: &MetricStats) -> Vec<ExceedanceRow> {
    let n = acc.paths();
    probs_exact(n)
        .into_iter()
        .map(|(m, d)| {
            let p = m as f64 / 10f64.powi(d);
            let l = stats
                .levels
                .iter()
                .find(|l| l.level == level_of(p))
                .expect("the statistics were computed at the exceedance levels");
            let loss = l.var;
            let tail_paths = match l.above_paths {
                // VaR is a kept value: every path above it was kept and counted.
                Some(c) => c,
                None if !acc.is_weighted() => {
                    (u128::from(n) * u128::from(m) / 10u128.pow(d as u32)) as f64
                }
                // Read from the histogram, importance-sampled: the effective number of the
                // kept paths above it (a lower bound).
                None => {
                    let (kept, _) = acc.tail_at_least(loss);
                    let (mut s1, mut s2) = (0.0f64, 0.0f64);
                    for t in kept.iter().filter(|t| t.value > loss) {
                        s1 += t.weight;
                        s2 += t.weight * t.weight;
                    }
                    if s2 > 0.0 { s1 * s1 / s2 } else { 0.0 }
                }
            };
            ExceedanceRow {
                tail_prob: p,
                loss,
                ci_lo: l.var_lo,
                ci_hi: l.var_hi,
                exact: l.exact,
                tail_paths,
            }
        })
        .collect()
}

/// Writes `exceedance.csv` atomically: header [`EXCEEDANCE_CSV_HEADER`], then each metric's
/// rows in the order given (metrics in report order, tail probabilities descending). Floats use
/// `{}` formatting (shortest round-trip decimal); `exact` is 1 or 0 as in `tail_metrics.csv`;
/// `tail_paths` is a whole number for an unweighted run.
pub fn write_exceedance_csv(
    path: &Path,
    metrics: &[(&str, Vec<ExceedanceRow>)],
) -> Result<(), ReportError> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(EXCEEDANCE_CSV_HEADER)?;
        for (name, rows) in metrics {
            for r in rows {
                csv.write_record([
                    name.to_string(),
                    r.tail_prob.to_string(),
                    r.loss.to_string(),
                    r.ci_lo.to_string(),
                    r.ci_hi.to_string(),
                    u8::from(r.exact).to_string(),
                    r.tail_paths.to_string(),
                ])?;
            }
        }
        csv.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_follow_the_1_2_5_sequence_down_to_ten_paths() {
        assert!(exceedance_probs(99).is_empty());
        assert_eq!(exceedance_probs(100), [0.1]);
        assert_eq!(exceedance_probs(200), [0.1, 0.05]);
        assert_eq!(
            exceedance_probs(200_000),
            [
                0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001, 0.00005
            ]
        );
        // The levels of one stats call: tail_metrics.csv's, then the others, once each.
        let levels = report_levels(&DEFAULT_LEVELS, 200_000);
        assert_eq!(&levels[..DEFAULT_LEVELS.len()], &DEFAULT_LEVELS);
        assert_eq!(levels.len(), DEFAULT_LEVELS.len() + 6);
        assert_eq!(exceedance_probs(9_999).last(), Some(&0.002));
        assert_eq!(exceedance_probs(10_000).last(), Some(&0.001));
        for p in exceedance_probs(u64::MAX) {
            assert!(p > 0.0 && p < 1.0);
        }
        // The levels of tail_metrics.csv are met exactly.
        for (p, l) in [
            (0.1, 0.9),
            (0.05, 0.95),
            (0.01, 0.99),
            (0.005, 0.995),
            (0.001, 0.999),
        ] {
            assert_eq!(level_of(p), l);
        }
    }

    #[test]
    fn rows_match_tail_metrics_and_count_the_paths_above() {
        // 1000 paths: 900 at 0, then 1..=100.
        let values: Vec<f64> = (0..1000)
            .map(|i| if i < 900 { 0.0 } else { f64::from(i - 899) })
            .collect();
        for capacity in [usize::MAX, 30] {
            let mut acc = MetricAccumulator::new(capacity, false);
            for (c, chunk) in values.chunks(100).enumerate() {
                acc.add_chunk(100 * c as u64, chunk, None);
            }
            let stats = acc.stats("m", &report_levels(&DEFAULT_LEVELS, 1000));
            let rows = exceedance_rows(&acc, &stats);
            let probs: Vec<f64> = rows.iter().map(|r| r.tail_prob).collect();
            assert_eq!(probs, [0.1, 0.05, 0.02, 0.01]);
            let tail = acc.stats("m", &DEFAULT_LEVELS);
            for r in &rows {
                if let Some(l) = tail.levels.iter().find(|l| l.level == 1.0 - r.tail_prob) {
                    assert_eq!(
                        (r.loss, r.ci_lo, r.ci_hi, r.exact),
                        (l.var, l.var_lo, l.var_hi, l.exact)
                    );
                }
                if capacity == usize::MAX {
                    assert!(r.exact);
                    let above = values.iter().filter(|&&v| v > r.loss).count();
                    assert_eq!(r.tail_paths, above as f64, "{r:?}");
                }
            }
            // VaR 0.9 is the atom at 0 (100 paths above it), VaR 0.99 is 90.
            assert_eq!(rows[0].loss, 0.0);
            assert_eq!(rows[3].loss, 90.0);
            assert_eq!(rows[3].tail_paths, 10.0);
            if capacity == usize::MAX {
                assert_eq!(rows[0].tail_paths, 100.0);
            }
        }
        // Unit weights: the effective count is the count.
        let mut w = MetricAccumulator::new(usize::MAX, true);
        w.add_chunk(0, &values, Some(&vec![1.0; values.len()]));
        let stats = w.stats("m", &report_levels(&DEFAULT_LEVELS, 1000));
        let rows = exceedance_rows(&w, &stats);
        assert_eq!(rows[3].tail_paths, 10.0);
        assert_eq!(rows[0].tail_paths, 100.0);
    }
}
