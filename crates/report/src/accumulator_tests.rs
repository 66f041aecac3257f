//! Tests of [`MetricAccumulator`]: against the previous column-based implementation, exactness
//! of the kept tail, the histogram's error bound, order independence, the weighted estimators
//! and the memory model.

use super::*;
use crate::legacy::legacy_metric_stats;
use crate::stats::{DEFAULT_LEVELS, metric_stats};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `n` random likelihood-ratio weights between 0.01 and 100 (log-uniform).
pub(crate) fn random_weights(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| 10f64.powf(rng.random::<f64>() * 4.0 - 2.0))
        .collect()
}

/// `values` and `weights` in chunks of `chunk`, each with its first path id.
pub(crate) fn chunked<'a>(
    values: &'a [f64],
    weights: &'a [f64],
    chunk: usize,
) -> Vec<(u64, &'a [f64], &'a [f64])> {
    values
        .chunks(chunk)
        .zip(weights.chunks(chunk))
        .enumerate()
        .map(|(i, (v, w))| ((i * chunk) as u64, v, w))
        .collect()
}

const LEVELS: [f64; 6] = [0.5, 0.9, 0.95, 0.99, 0.995, 0.999];
/// Relative width of a log-linear bucket.
const BUCKET: f64 = 1.0 / 128.0;

fn exponential(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f64> {
    (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect()
}

/// Slashing-like: atoms at 0 and 0.0265, small gains, a continuous tail.
fn mixture(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            if u < 0.6 {
                0.0
            } else if u < 0.7 {
                0.0265
            } else if u < 0.8 {
                -0.03 * v
            } else {
                0.01 - (1.0 - v).ln() * 0.02
            }
        })
        .collect()
}

/// Many ties and negative values.
fn lattice(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (rng.random::<f64>() * 20.0 - 5.0).round() / 4.0)
        .collect()
}

type Gen = fn(&mut Xoshiro256PlusPlus, usize) -> Vec<f64>;
const DATA: [(&str, Gen); 3] = [
    ("exponential", exponential),
    ("mixture", mixture),
    ("lattice", lattice),
];

/// Chunks of 1024 paths, in path order.
fn feed(values: &[f64], weights: Option<&[f64]>, capacity: usize) -> MetricAccumulator {
    let mut acc = MetricAccumulator::new(capacity, weights.is_some());
    for (i, chunk) in values.chunks(1024).enumerate() {
        acc.add_chunk(
            (i * 1024) as u64,
            chunk,
            weights.map(|w| &w[i * 1024..i * 1024 + chunk.len()]),
        );
    }
    acc
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn assert_matches_legacy(new: &MetricStats, old: &MetricStats, values: &[f64], what: &str) {
    let n = values.len();
    let mean_abs = values.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
    let mut exact = crate::exact::SuperAcc::default();
    for &x in values {
        exact.add(x);
    }
    assert_eq!(
        new.mean,
        exact.to_f64() / n as f64,
        "{what}: the exact mean"
    );
    assert_eq!(new.min.to_bits(), old.min.to_bits(), "{what}: min");
    assert_eq!(new.max.to_bits(), old.max.to_bits(), "{what}: max");
    assert_eq!(new.prob_loss.to_bits(), old.prob_loss.to_bits(), "{what}");
    // The old mean summed in index order, with an error up to n·ε·mean|L|; the new one is the
    // exact sum, rounded.
    assert!(
        (new.mean - old.mean).abs() <= n as f64 * f64::EPSILON * mean_abs,
        "{what}: {} vs {}",
        new.mean,
        old.mean
    );
    assert!(
        close(new.std_error, old.std_error, 1e-10),
        "{what}: {} vs {}",
        new.std_error,
        old.std_error
    );
    assert_eq!(new.levels.len(), old.levels.len());
    for (n, o) in new.levels.iter().zip(&old.levels) {
        let at = format!("{what}, α = {}", o.level);
        assert!(n.exact, "{at}");
        assert_eq!(
            (n.var.to_bits(), n.var_lo.to_bits(), n.var_hi.to_bits()),
            (o.var.to_bits(), o.var_lo.to_bits(), o.var_hi.to_bits()),
            "{at}: {n:?} vs {o:?}"
        );
        assert_eq!(n.above_paths, o.above_paths, "{at}: paths above VaR");
        let scale = o.es.abs().max(o.es_hi.abs()).max(o.es_lo.abs());
        for (x, y) in [(n.es, o.es), (n.es_lo, o.es_lo), (n.es_hi, o.es_hi)] {
            assert!((x - y).abs() <= 1e-12 * scale, "{at}: {x} vs {y}");
        }
    }
}

#[test]
fn keep_all_matches_the_previous_implementation() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(101);
    for n in [1, 2, 3, 10, 99, 1000, 20_000, 100_000] {
        for (name, data) in DATA {
            let v = data(&mut rng, n);
            let old = legacy_metric_stats(name, &v, &LEVELS);
            let what = format!("{name}, n = {n}");
            let new = feed(&v, None, usize::MAX).stats(name, &LEVELS);
            assert_matches_legacy(&new, &old, &v, &what);
            assert_matches_legacy(&metric_stats(name, &v, &LEVELS), &old, &v, &what);
            // Bounded, but fewer than 2m paths: still every value.
            let m = n / 2 + 1;
            assert_matches_legacy(&feed(&v, None, m).stats(name, &LEVELS), &old, &v, &what);
        }
    }
}

#[test]
fn bounded_tail_is_exact_where_it_fits_and_within_a_bucket_elsewhere() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(102);
    let n = 100_000;
    for (name, data) in DATA {
        let v = data(&mut rng, n);
        let all = feed(&v, None, usize::MAX).stats(name, &LEVELS);
        for m in [1, 60, 700, 2000, 6000, 40_000] {
            let s = feed(&v, None, m).stats(name, &LEVELS);
            let what = format!("{name}, m = {m}");
            // Everything but the tail levels is the same.
            assert_eq!(
                (s.mean, s.std_error, s.prob_loss, s.min, s.max),
                (all.mean, all.std_error, all.prob_loss, all.min, all.max),
                "{what}"
            );
            for (l, e) in s.levels.iter().zip(&all.levels) {
                let at = format!("{what}, α = {}", e.level);
                let (lo_rank, _) = var_ci_ranks(n, e.level, CI_CONFIDENCE);
                let fits = n - lo_rank < m;
                assert_eq!(l.exact, fits, "{at}");
                if fits {
                    assert_eq!(l, e, "{at}");
                    continue;
                }
                for (x, y) in [(l.var, e.var), (l.var_lo, e.var_lo), (l.var_hi, e.var_hi)] {
                    assert!((x - y).abs() <= BUCKET * y.abs(), "{at}: {x} vs {y}");
                }
                // The interval's ends stand for their whole buckets: it holds the exact one.
                assert!(
                    l.var_lo <= e.var_lo && e.var_hi <= l.var_hi,
                    "{at}: {l:?} vs {e:?}"
                );
                assert!(l.var_lo <= l.var && l.var <= l.var_hi, "{at}");
                let scale = e.var.abs().max(all.max.abs());
                assert!(
                    (l.es - e.es).abs() <= BUCKET * scale,
                    "{at}: {} vs {}",
                    l.es,
                    e.es
                );
                assert!(l.es >= l.var, "{at}");
                // The ES interval is of the right width (an approximation).
                let (w, we) = (l.es_hi - l.es_lo, e.es_hi - e.es_lo);
                assert!(
                    (w - we).abs() <= 0.1 * we + 1e-12,
                    "{at}: width {w} vs {we}"
                );
            }
        }
    }
}

#[test]
fn atoms_stay_exact_in_the_histogram() {
    // 70 % zeros, 10 % at 0.0265, 20 % from 0.05 up: VaR 0.5 is 0 and VaR 0.75 the atom at
    // 0.0265, even when they are read from the histogram.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(103);
    let v: Vec<f64> = (0..50_000)
        .map(|_| match rng.random::<f64>() {
            u if u < 0.7 => 0.0,
            u if u < 0.8 => 0.0265,
            u => 0.05 / (1.0 - u),
        })
        .collect();
    let s = feed(&v, None, 100).stats("m", &[0.5, 0.75]);
    assert!(s.levels.iter().all(|l| !l.exact));
    assert_eq!(s.levels[0].var, 0.0);
    assert_eq!(s.levels[1].var, 0.0265);
    assert_eq!(
        (s.levels[1].var_lo, s.levels[1].var_hi),
        (0.0265, 0.0265),
        "the interval lies inside the atom"
    );
}

#[test]
fn unit_weights_give_the_unweighted_var_and_es() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(104);
    for (name, data) in DATA {
        let v = data(&mut rng, 30_000);
        let ones = vec![1.0; v.len()];
        for m in [50, 1000, usize::MAX] {
            let plain = feed(&v, None, m).stats(name, &LEVELS);
            let weighted = feed(&v, Some(&ones), m).stats(name, &LEVELS);
            let what = format!("{name}, m = {m}");
            assert_eq!(
                (plain.mean, plain.prob_loss, plain.min, plain.max),
                (
                    weighted.mean,
                    weighted.prob_loss,
                    weighted.min,
                    weighted.max
                ),
                "{what}"
            );
            for (p, w) in plain.levels.iter().zip(&weighted.levels) {
                assert_eq!(
                    (p.var.to_bits(), p.es.to_bits()),
                    (w.var.to_bits(), w.es.to_bits()),
                    "{what}, α = {}",
                    p.level
                );
                // The intervals differ (binomial ranks against Woodruff) but agree roughly.
                let tol = 0.5 * (p.var_hi - p.var_lo) + 1e-12;
                assert!((p.var_lo - w.var_lo).abs() <= tol, "{what}: {p:?} {w:?}");
                assert!((p.var_hi - w.var_hi).abs() <= tol, "{what}: {p:?} {w:?}");
            }
        }
    }
}

/// Losses L ~ Exp(1) estimated from samples of Exp(θ), θ < 1 (a heavier tail), with the
/// likelihood ratio w = e^{−L} / (θ e^{−θL}).
fn tilted(rng: &mut Xoshiro256PlusPlus, n: usize, theta: f64) -> (Vec<f64>, Vec<f64>) {
    let l: Vec<f64> = (0..n)
        .map(|_| -(1.0 - rng.random::<f64>()).ln() / theta)
        .collect();
    let w = l
        .iter()
        .map(|&x| (-(1.0 - theta) * x).exp() / theta)
        .collect();
    (l, w)
}

#[test]
fn weighted_estimators_are_unbiased_on_a_tilted_exponential() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(105);
    let n = 400_000;
    let (l, w) = tilted(&mut rng, n, 0.3);
    let levels = [0.9, 0.99, 0.999, 0.9999];
    let z = ci_z();
    // Half of the sampled paths lie above VaR 0.9 (e^{−0.3 ln 10}) and a quarter above VaR 0.99
    // (e^{−0.3 ln 100}): 250,000 entries hold every level's tail, 130,000 all but 0.9's.
    for (m, exact) in [
        (usize::MAX, [true; 4]),
        (250_000, [true; 4]),
        (130_000, [false, true, true, true]),
    ] {
        let acc = feed(&l, Some(&w), m);
        let s = acc.stats("exp", &levels);
        assert!(
            (s.mean - 1.0).abs() <= 4.0 * s.std_error,
            "mean {} ± {}",
            s.mean,
            s.std_error
        );
        let ws = acc.weight_summary().unwrap();
        assert!(
            (ws.mean_weight - 1.0).abs() <= 4.0 * ws.mean_weight_se,
            "{ws:?}"
        );
        assert!(ws.effective_sample_size < n as f64 && ws.effective_sample_size > 0.1 * n as f64);
        // Every path is a loss: Σw·1{L > 0}/Σw is 1, whatever the mean weight.
        assert_eq!(s.prob_loss, 1.0);
        for (lv, exact) in s.levels.iter().zip(exact) {
            let q = -(1.0 - lv.level).ln();
            let se_var = (lv.var_hi - lv.var_lo) / (2.0 * z);
            assert!(se_var > 0.0);
            assert_eq!(lv.exact, exact, "m = {m}, α = {}", lv.level);
            // Read from the histogram: one bucket more.
            let bucket = if exact { 0.0 } else { BUCKET * q };
            assert!(
                (lv.var - q).abs() <= 4.0 * se_var + bucket,
                "α = {}: VaR {} vs {q} (se {se_var})",
                lv.level,
                lv.var
            );
            let se_es = (lv.es_hi - lv.es_lo) / (2.0 * z);
            assert!(
                (lv.es - (q + 1.0)).abs() <= 4.0 * se_es + bucket,
                "α = {}: ES {} vs {} (se {se_es})",
                lv.level,
                lv.es,
                q + 1.0
            );
        }
        // Importance sampling pays: at 0.9999 the interval is far narrower than plain Monte
        // Carlo's, whose quantile standard error is √(α(1−α)/n)/f(q) = √(α(1−α)/n)/(1−α).
        let l4 = &s.levels[3];
        let plain_se = (0.9999f64 * 0.0001 / n as f64).sqrt() / 0.0001;
        assert!((l4.var_hi - l4.var_lo) / (2.0 * z) < 0.5 * plain_se);
    }
}

#[test]
fn woodruff_interval_covers() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(106);
    let (reps, n, alpha) = (300, 20_000, 0.999);
    let q = -(1.0f64 - alpha).ln();
    let covered = (0..reps)
        .filter(|_| {
            let (l, w) = tilted(&mut rng, n, 0.3);
            let lv = feed(&l, Some(&w), 5000).stats("e", &[alpha]).levels[0].clone();
            assert!(lv.exact);
            lv.var_lo <= q && q <= lv.var_hi
        })
        .count();
    let share = covered as f64 / reps as f64;
    eprintln!("Woodruff VaR_0.999 coverage: {share}");
    // 95 % nominal; 300 reps give a standard error of 1.3 %.
    assert!((0.90..=0.99).contains(&share), "coverage {share}");
}

#[test]
fn weighted_histogram_levels_are_within_a_bucket() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(107);
    let (l, w) = tilted(&mut rng, 100_000, 0.5);
    let all = feed(&l, Some(&w), usize::MAX).stats("e", &LEVELS);
    let s = feed(&l, Some(&w), 5000).stats("e", &LEVELS);
    for (a, e) in s.levels.iter().zip(&all.levels) {
        assert!(e.exact);
        if a.exact {
            assert_eq!(a, e);
            continue;
        }
        assert!((a.var - e.var).abs() <= BUCKET * e.var, "{a:?} vs {e:?}");
        assert!((a.es - e.es).abs() <= BUCKET * e.es, "{a:?} vs {e:?}");
        for (x, y) in [(a.var_lo, e.var_lo), (a.var_hi, e.var_hi)] {
            // The Woodruff ends move with the approximate standard error too.
            assert!((x - y).abs() <= 0.05 * y, "{a:?} vs {e:?}");
        }
    }
    assert!(!s.levels[0].exact && s.levels[5].exact);
}

/// Merges the accumulators in a random tree.
fn merge_randomly(
    mut parts: Vec<MetricAccumulator>,
    rng: &mut Xoshiro256PlusPlus,
) -> MetricAccumulator {
    while parts.len() > 1 {
        let i = rng.random_range(0..parts.len());
        let b = parts.swap_remove(i);
        let j = rng.random_range(0..parts.len());
        parts[j].merge(&b);
    }
    parts.pop().unwrap()
}

fn fingerprint(acc: &MetricAccumulator) -> String {
    format!(
        "{:?}\n{:?}\n{:?}",
        acc.stats("x", &LEVELS),
        acc.histogram(17),
        acc.weight_summary()
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_121),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any chunk order and any merge tree give the same bits, weighted or not, with a tail that
    /// fits or not.
    #[test]
    fn chunk_order_and_merge_tree_do_not_matter(
        values in prop::collection::vec(
            prop_oneof![
                Just(0.0), Just(1.5), Just(-2.0),
                -1e3f64..1e3, 0.0f64..1e-3, (-20i32..20).prop_map(|e| 2f64.powi(e))
            ],
            1..3000,
        ),
        weights_seed in any::<u64>(),
        chunk in 1usize..400,
        capacity in prop_oneof![Just(1usize), 2usize..200, Just(5000), Just(usize::MAX)],
        weighted in any::<bool>(),
        order_seed in any::<u64>(),
    ) {
        let weights = random_weights(values.len(), weights_seed);
        let chunks = chunked(&values, &weights, chunk);
        let add = |acc: &mut MetricAccumulator, (first, v, w): (u64, &[f64], &[f64])| {
            acc.add_chunk(first, v, weighted.then_some(w));
        };
        let mut reference = MetricAccumulator::new(capacity, weighted);
        for &c in &chunks {
            add(&mut reference, c);
        }
        let expected = fingerprint(&reference);

        let mut rng = Xoshiro256PlusPlus::seed_from_u64(order_seed);
        for _ in 0..3 {
            let mut order = chunks.clone();
            order.shuffle(&mut rng);
            let parts_n = rng.random_range(1..=6);
            let mut parts: Vec<MetricAccumulator> =
                (0..parts_n).map(|_| MetricAccumulator::new(capacity, weighted)).collect();
            for c in order {
                let i = rng.random_range(0..parts_n);
                add(&mut parts[i], c);
            }
            let merged = merge_randomly(parts, &mut rng);
            prop_assert_eq!(merged.paths(), values.len() as u64);
            prop_assert_eq!(fingerprint(&merged), expected.clone());
        }
    }
}

/// Whether the accumulator's tail is still dense (holds every value as keys and id runs).
fn is_dense(acc: &MetricAccumulator) -> bool {
    match &acc.tail {
        Tail::Plain(t) => t.dense.is_some(),
        Tail::Weighted(t) => t.dense.is_some(),
    }
}

fn bytes_of(acc: &MetricAccumulator) -> Vec<u8> {
    let mut out = Vec::new();
    acc.write_to(&mut out).unwrap();
    out
}

fn read_back(acc: &MetricAccumulator) -> MetricAccumulator {
    let bytes = bytes_of(acc);
    let back = MetricAccumulator::read_from(&mut bytes.as_slice()).unwrap();
    assert!(!is_dense(&back), "read_from gives entries");
    back
}

/// Dense accumulators (every value kept, fewer than 2m) merged into compacted ones and the
/// other way round, dense ones merged past 2m, and read-back (entry) states mixed with dense
/// ones: all give the bits and bytes of one accumulator that took every chunk.
#[test]
fn dense_and_compacted_states_merge_alike() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(120);
    let n = 6000;
    // Ties everywhere (the lattice), so path ids decide which tied values are kept.
    let values = lattice(&mut rng, n);
    let weights: Vec<f64> = (0..n).map(|_| 0.25 + rng.random::<f64>()).collect();
    // Chunks of uneven sizes, then shuffled.
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < n {
        let len = rng.random_range(1..700).min(n - at);
        chunks.push(at..at + len);
        at += len;
    }
    for weighted in [false, true] {
        for m in [1, 7, 100, 1000, 2999, 3000, 5000, usize::MAX] {
            let add = |acc: &mut MetricAccumulator, r: &std::ops::Range<usize>| {
                acc.add_chunk(
                    r.start as u64,
                    &values[r.clone()],
                    weighted.then(|| &weights[r.clone()]),
                );
            };
            let mut reference = MetricAccumulator::new(m, weighted);
            for r in &chunks {
                add(&mut reference, r);
            }
            let expected = (fingerprint(&reference), bytes_of(&reference));
            let what = format!("m = {m}, weighted {weighted}");
            // Dense while fewer than 2m values: n < 2m.
            assert_eq!(is_dense(&reference), m > n / 2, "{what}");
            // The histogram is built only once the tail stops holding every value.
            assert_eq!(reference.hist.is_none(), is_dense(&reference), "{what}");
            // The tail above a floor, by path, is the one by value in path order.
            for floor in [-2.0, 0.0, 1.25, 3.0, 10.0] {
                let (mut by_value, complete) = reference.tail_at_least(floor);
                by_value.sort_unstable_by_key(|t| t.path);
                assert_eq!(
                    (by_value, complete),
                    reference.tail_at_least_by_path(floor),
                    "{what}, floor {floor}"
                );
            }

            let mut order = chunks.clone();
            order.shuffle(&mut rng);
            for split in [1, order.len() / 10, order.len() / 2, order.len() - 1] {
                let (small, large) = order.split_at(split);
                let mut a = MetricAccumulator::new(m, weighted);
                let mut b = MetricAccumulator::new(m, weighted);
                for r in small {
                    add(&mut a, r);
                }
                for r in large {
                    add(&mut b, r);
                }
                let check = |acc: &MetricAccumulator, how: &str| {
                    assert_eq!(
                        (fingerprint(acc), bytes_of(acc)),
                        expected,
                        "{what}, split {split}: {how}"
                    );
                };
                for (x, y, how) in [(&a, &b, "a ← b"), (&b, &a, "b ← a")] {
                    let mut merged = x.clone();
                    merged.merge(y);
                    check(&merged, how);
                    let mut merged = read_back(x);
                    merged.merge(y);
                    check(&merged, &format!("read {how}"));
                    let mut merged = x.clone();
                    merged.merge(&read_back(y));
                    check(&merged, &format!("{how}, read"));
                }
                // An empty dense accumulator merged either way changes nothing.
                let mut merged = MetricAccumulator::new(m, weighted);
                merged.merge(&reference);
                check(&merged, "empty ← reference");
                let mut merged = reference.clone();
                merged.merge(&MetricAccumulator::new(m, weighted));
                check(&merged, "reference ← empty");
            }
            // Chunk by chunk into separate accumulators, merged one by one into the first.
            let parts: Vec<MetricAccumulator> = order
                .iter()
                .map(|r| {
                    let mut p = MetricAccumulator::new(m, weighted);
                    add(&mut p, r);
                    p
                })
                .collect();
            let merged = merge_randomly(parts, &mut rng);
            assert_eq!(
                (fingerprint(&merged), bytes_of(&merged)),
                expected,
                "{what}: merged chunk by chunk"
            );
        }
    }
}

#[test]
fn memory_for_a_hundred_million_paths_and_forty_metrics() {
    let budget = DEFAULT_MEMORY_BUDGET_BYTES;
    for weighted in [false, true] {
        let m = tail_capacity(100_000_000, &DEFAULT_LEVELS, 40, weighted, budget);
        // Value key and path id, and the weight's bits.
        let entry = if weighted { 24 } else { 16 };
        eprintln!("weighted {weighted}: m = {m}");
        // The levels from 0.995 up fit (with their intervals' lower ends), 0.9 to 0.99 do not.
        let need = |alpha: f64| {
            let (l, _) = var_ci_ranks(100_000_000, alpha, CI_CONFIDENCE);
            100_000_000 - l + 1
        };
        if weighted {
            assert!(m >= need(0.99) / 2 && m < need(0.99), "m = {m}");
        } else {
            assert!(m >= need(0.995) && m < need(0.99), "m = {m}");
        }
        assert_eq!(
            m as u64,
            (budget / 40 - PER_METRIC_OVERHEAD_BYTES) / (2 * entry)
        );

        // One accumulator at its largest: 2m − 1 values, every one passing the threshold (an
        // increasing sequence), spread over 60 binary orders of magnitude on both signs; still
        // dense (keys, and weight bits), until one more value makes the buffer compact.
        let mut acc = MetricAccumulator::new(m, weighted);
        let total = 2 * m - 1;
        let values: Vec<f64> = (0..total)
            .map(|i| {
                let t = i as f64 / total as f64;
                if t < 0.5 {
                    -(2f64.powf(30.0 * (1.0 - 2.0 * t)))
                } else {
                    2f64.powf(60.0 * t - 45.0)
                }
            })
            .collect();
        let weights = vec![0.75; 1024];
        for (i, c) in values.chunks(1024).enumerate() {
            acc.add_chunk((i * 1024) as u64, c, weighted.then(|| &weights[..c.len()]));
        }
        let dense = acc.memory_bytes();
        let key_bytes = if weighted { 16 } else { 8 };
        eprintln!(
            "  one full dense accumulator: {dense} bytes; 40 of them: {} MiB",
            (40 * dense) >> 20
        );
        assert!(dense as u64 >= total as u64 * key_bytes);
        assert!((dense as u64) < 2 * m as u64 * entry);
        // One more: converted to entries and compacted, at the buffer's largest capacity.
        acc.add_chunk(total as u64, &[1e6], weighted.then_some(&[0.75][..]));
        let bytes = acc.memory_bytes();
        eprintln!(
            "  one full accumulator: {bytes} bytes; 40 of them: {} MiB",
            (40 * bytes) >> 20
        );
        assert!(bytes as u64 >= 2 * m as u64 * entry);
        assert!(40 * bytes as u64 <= budget, "{bytes} × 40 > {budget}");
        let s = acc.stats("x", &DEFAULT_LEVELS);
        assert_eq!(s.max, 1e6);
        assert_eq!(s.worst_paths[0].path, total as u64);
    }
    // Small runs keep everything.
    assert_eq!(
        tail_capacity(200_000, &DEFAULT_LEVELS, 26, false, budget),
        200_000
    );
    assert_eq!(tail_capacity(0, &DEFAULT_LEVELS, 26, false, budget), 1);
    // Without a budget worth the name, still at least one entry.
    assert_eq!(tail_capacity(1_000_000, &DEFAULT_LEVELS, 26, false, 0), 1);
    // Thread count is not an input; a larger budget never lowers m.
    let m1 = tail_capacity(10_000_000, &DEFAULT_LEVELS, 20, false, budget);
    let m2 = tail_capacity(10_000_000, &DEFAULT_LEVELS, 20, false, 4 * budget);
    assert!(m1 <= m2 && m2 <= 10_000_000);
    // The levels' need, when the budget allows it: 10⁷·0.1 + 6σ + 16.
    let need = tail_capacity(10_000_000, &DEFAULT_LEVELS, 1, false, 40 << 20);
    assert_eq!(
        need,
        (1e6 + 6.0 * (1e7f64 * 0.9 * 0.1).sqrt() + 16.0).ceil() as usize
    );
    let need_w = (4.0 * (1e6 + 6.0 * (1e7f64 * 0.9 * 0.1).sqrt() + 16.0)).ceil() as usize;
    assert_eq!(
        tail_capacity(10_000_000, &DEFAULT_LEVELS, 1, true, 200 << 20),
        need_w
    );
}

#[test]
fn weight_summary_and_weighted_moments() {
    let mut acc = MetricAccumulator::new(10, true);
    acc.add_chunk(0, &[1.0, -2.0, 0.0, 4.0], Some(&[1.0, 1.0, 2.0, 2.0]));
    let ws = acc.weight_summary().unwrap();
    assert_eq!(ws.effective_sample_size, 36.0 / 10.0);
    assert_eq!(ws.mean_weight, 1.5);
    assert!((ws.mean_weight_se - (1.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
    assert_eq!(ws.max_weight, 2.0);
    let s = acc.stats("x", &[]);
    // Self-normalized: Σ w·L = 1 − 2 + 0 + 8 = 7 over Σw = 6.
    let mean = 7.0 / 6.0;
    assert_eq!(s.mean, mean);
    // Delta method: √(Σ w²(L − mean)²) / Σw.
    let spread: f64 = [(1.0, 1.0), (-2.0, 1.0), (0.0, 2.0), (4.0, 2.0)]
        .iter()
        .map(|&(l, w): &(f64, f64)| w * w * (l - mean) * (l - mean))
        .sum();
    assert!(
        (s.std_error - spread.sqrt() / 6.0).abs() < 1e-15,
        "{}",
        s.std_error
    );
    // Σ w·1{L > 0} = 1 + 2 over Σw = 6.
    assert_eq!(s.prob_loss, 0.5);
    assert_eq!((s.min, s.max), (-2.0, 4.0));
    assert!(MetricAccumulator::new(10, false).weight_summary().is_none());
}

#[test]
fn weighted_histograms() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(108);
    let v = mixture(&mut rng, 20_000);
    let ones = vec![1.0; v.len()];
    // Unit weights give the unweighted histogram, kept or from the buckets.
    for m in [usize::MAX, 100] {
        assert_eq!(
            feed(&v, Some(&ones), m).histogram(30),
            feed(&v, None, m).histogram(30),
            "m = {m}"
        );
    }
    let (l, w) = tilted(&mut rng, 20_000, 0.5);
    for m in [usize::MAX, 100] {
        let h = feed(&l, Some(&w), m).histogram(40);
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 20_000);
        // Self-normalized: the last cdf is 1, whatever Σw/n.
        let last = h.last().unwrap();
        assert!((last.cdf - 1.0).abs() < 1e-12, "{}", last.cdf);
        assert_eq!(last.exceedance, 0.0);
        // The weighted density is that of Exp(1), not of the sampling Exp(0.5): a third of
        // the sampled paths but two thirds of the weight lie in the first bins, below ln 3.
        let below: f64 = h
            .iter()
            .take_while(|b| b.hi <= 3f64.ln())
            .map(|b| b.pdf * (b.hi - b.lo))
            .sum();
        let upto = h
            .iter()
            .take_while(|b| b.hi <= 3f64.ln())
            .last()
            .unwrap()
            .hi;
        assert!(
            (below - (1.0 - (-upto).exp())).abs() < 0.03,
            "{below} at {upto}"
        );
    }
}

#[test]
fn degenerate_inputs() {
    let empty = MetricAccumulator::new(100, false);
    let s = empty.stats("e", &[0.9]);
    assert!(s.mean.is_nan() && s.levels[0].var.is_nan());
    assert!(empty.histogram(10).is_empty());
    assert_eq!(empty.paths(), 0);

    let mut one = MetricAccumulator::new(1, true);
    one.add_chunk(0, &[3.0], Some(&[2.0]));
    let s = one.stats("o", &[0.9, 0.999]);
    // Self-normalized: the weight cancels.
    assert_eq!((s.mean, s.std_error, s.min, s.max), (3.0, 0.0, 3.0, 3.0));
    for l in &s.levels {
        assert_eq!((l.var, l.var_lo, l.var_hi, l.es), (3.0, 3.0, 3.0, 3.0));
        assert!(l.exact);
    }

    // A constant metric has no spread; NaN only in the sums and the tail's order.
    let s = feed(&[0.1; 5000], None, 10).stats("c", &LEVELS);
    assert_eq!(s.std_error, 0.0);
    assert!(s.levels.iter().all(|l| l.var == 0.1 && l.es == 0.1));
    let mut nan = MetricAccumulator::new(10, false);
    nan.add_chunk(0, &[1.0, f64::NAN, 2.0], None);
    let s = nan.stats("n", &[0.5]);
    assert!(s.mean.is_nan());
    assert_eq!((s.min, s.max), (1.0, 2.0));
    assert_eq!(nan.histogram(2).iter().map(|b| b.count).sum::<u64>(), 2);
}

#[test]
#[should_panic(expected = "needs the chunk's weights")]
fn weighted_without_weights_panics() {
    MetricAccumulator::new(10, true).add_chunk(0, &[1.0], None);
}

#[test]
#[should_panic(expected = "weights given to an unweighted")]
fn weights_for_unweighted_panic() {
    MetricAccumulator::new(10, false).add_chunk(0, &[1.0], Some(&[1.0]));
}

#[test]
#[should_panic(expected = "not positive and finite")]
fn zero_weight_panics() {
    MetricAccumulator::new(10, true).add_chunk(0, &[1.0], Some(&[0.0]));
}

#[test]
#[should_panic(expected = "different tail capacity")]
fn merging_different_capacities_panics() {
    MetricAccumulator::new(10, false).merge(&MetricAccumulator::new(11, false));
}

/// Best of 7 timings of feeding 10⁷ values, in 256 chunks of 1024 fed over and over (so the
/// chunk is in cache, as it is in the simulator, and other processes' noise is filtered out).
fn best_ns_per_value(chunks: &[Vec<f64>], weights: Option<&[f64]>, capacity: usize) -> f64 {
    let rounds = 40;
    (0..7)
        .map(|_| {
            let mut acc = MetricAccumulator::new(capacity, weights.is_some());
            let t = std::time::Instant::now();
            let mut first = 0;
            for _ in 0..rounds {
                for c in chunks {
                    acc.add_chunk(first, c, weights.map(|w| &w[..c.len()]));
                    first += c.len() as u64;
                }
            }
            let ns = t.elapsed().as_nanos() as f64 / (rounds * chunks.len() * 1024) as f64;
            assert!(acc.paths() > 0);
            ns
        })
        .fold(f64::INFINITY, f64::min)
}

/// Rough timing of `add_chunk` once the threshold filters (run with
/// `cargo test -p lrtsim-report --release -- --ignored timing --nocapture --test-threads=1`).
#[test]
#[ignore]
fn timing_add_chunk() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(112);
    let w: Vec<f64> = (0..1024).map(|_| 0.5 + rng.random::<f64>()).collect();
    for (name, data) in DATA {
        let chunks: Vec<Vec<f64>> = (0..256).map(|_| data(&mut rng, 1024)).collect();
        let plain = best_ns_per_value(&chunks, None, 10_000);
        let weighted = best_ns_per_value(&chunks, Some(&w), 10_000);
        let keep_all = best_ns_per_value(&chunks[..8], None, usize::MAX);
        eprintln!(
            "{name:12} add_chunk: {plain:5.2} ns/value, weighted {weighted:5.2} ns/value (keep-all {keep_all:5.2})"
        );
    }
}

/// Rough timing of a run-sized accumulator: 10⁷ paths into the m of a 10⁸-path, 40-metric run
/// (the buffer fills and compacts), then `stats` and `histogram`.
#[test]
#[ignore]
fn timing_run_sized() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(113);
    let n = 10_000_000;
    let v = exponential(&mut rng, n);
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.random::<f64>()).collect();
    for weighted in [false, true] {
        let m = tail_capacity(
            100_000_000,
            &DEFAULT_LEVELS,
            40,
            weighted,
            DEFAULT_MEMORY_BUDGET_BYTES,
        );
        let t = std::time::Instant::now();
        let acc = feed(&v, weighted.then_some(&w[..]), m);
        let add = t.elapsed().as_nanos() as f64 / n as f64;
        let t = std::time::Instant::now();
        let s = acc.stats("x", &DEFAULT_LEVELS);
        let stats = t.elapsed();
        let t = std::time::Instant::now();
        let h = acc.histogram(100);
        eprintln!(
            "weighted {weighted}: m {m}, add_chunk {add:.2} ns/value, stats {stats:?}, histogram {:?}, \
             {} kB, exact {:?}, {} bins",
            t.elapsed(),
            acc.memory_bytes() >> 10,
            s.levels.iter().map(|l| l.exact).collect::<Vec<_>>(),
            h.len()
        );
    }
}

/// Rough timing of the common case of a CLI run that keeps every value (m = the path count):
/// 10⁶ paths added in chunks of 1,024, then `stats`, the worst paths and `histogram` (run with
/// `cargo test -p lrtsim-report --release -- --ignored timing_keep_every --nocapture`).
#[test]
#[ignore]
fn timing_keep_every_value() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(114);
    let n = 1_000_000;
    let v = mixture(&mut rng, n);
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.random::<f64>()).collect();
    for weighted in [false, true] {
        let best = |f: &dyn Fn()| {
            (0..5)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed()
                })
                .min()
                .unwrap()
        };
        let add = best(&|| {
            let acc = feed(&v, weighted.then_some(&w[..]), n);
            assert_eq!(acc.paths(), n as u64);
        });
        let acc = feed(&v, weighted.then_some(&w[..]), n);
        let stats = best(&|| drop(acc.stats("x", &DEFAULT_LEVELS)));
        let worst = best(&|| drop(acc.worst_paths()));
        let hist = best(&|| drop(acc.histogram(100)));
        eprintln!(
            "weighted {weighted}: add_chunk {add:?}, stats {stats:?} (worst paths {worst:?}), \
             histogram {hist:?}, {} kB",
            acc.memory_bytes() >> 10
        );
    }
}

/// Issue 17: with weights far from 1 on average, the likelihood-ratio forms Σw·1{L > 0}/n and
/// Σw·L/n gave a loss probability above 1 and a mean above the maximum; the self-normalized
/// ones stay a probability and a mean within [min, max].
#[test]
fn self_normalized_estimators_stay_in_range() {
    let (values, weights) = ([0.5, 1.0, 0.0, 2.0], [3.0, 5.0, 1.0, 4.0]);
    for m in [usize::MAX, 1] {
        let mut acc = MetricAccumulator::new(m, true);
        acc.add_chunk(0, &values, Some(&weights));
        let s = acc.stats("x", &LEVELS);
        // Σw = 13 over 4 paths: the old forms gave 12/4 = 3 and 14.5/4 = 3.625 > max.
        assert_eq!(s.prob_loss, 12.0 / 13.0);
        assert_eq!(s.mean, 14.5 / 13.0);
        assert!(s.min <= s.mean && s.mean <= s.max);
        for l in &s.levels {
            assert!(s.min <= l.var && l.var <= l.es && l.es <= s.max, "{l:?}");
        }
        let h = acc.histogram(4);
        assert!(h.iter().all(|b| (0.0..=1.0).contains(&b.cdf)));
        assert_eq!(h.last().unwrap().cdf, 1.0);
    }
}

/// Zero-heavy values: +0 with probability `zero_share`, else −0, a negative value or a positive
/// one on a lattice (ties), so that zeros, ties and the sign of zero all matter.
fn zero_heavy(rng: &mut Xoshiro256PlusPlus, n: usize, zero_share: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            if u < zero_share {
                0.0
            } else {
                match rng.random_range(0..10) {
                    0 => -0.0,
                    1 => -(rng.random_range(1..4) as f64),
                    _ => rng.random_range(1..30) as f64 / 8.0,
                }
            }
        })
        .collect()
}

/// Everything an accumulator reports: statistics (worst paths included), the loss
/// distribution, the shard bytes and the tail paths above several floors.
fn everything(acc: &MetricAccumulator) -> String {
    let floors = [-1.0, -0.0, 0.0, 0.125, 2.0];
    format!(
        "{}\n{:?}\n{:?}",
        fingerprint(acc),
        bytes_of(acc),
        floors.map(|f| {
            let (mut by_value, complete) = acc.tail_at_least(f);
            by_value.sort_unstable_by_key(|t| t.path);
            // The same entries, in path order.
            assert_eq!((by_value.clone(), complete), acc.tail_at_least_by_path(f));
            (by_value, complete)
        })
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_206),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Zeros held implicitly (a count and the runs of ids) give every result of the same
    /// values held as entries, bit for bit — whatever the share of zeros, the capacity (tails
    /// that hold everything, that would have compacted, that must leave the implicit form),
    /// the chunk order and the merge tree, and after a round trip through the shard bytes.
    #[test]
    fn implicit_zeros_give_the_results_of_explicit_ones(
        n in 1usize..4000,
        zero_share in prop_oneof![Just(1.0), Just(0.999), 0.5f64..1.0, 0.0f64..0.5],
        seed in any::<u64>(),
        chunk in 1usize..600,
        capacity in prop_oneof![Just(1usize), 2usize..300, 300usize..3000, Just(usize::MAX)],
    ) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let values = zero_heavy(&mut rng, n, zero_share);
        let chunks: Vec<(u64, &[f64])> = values
            .chunks(chunk)
            .enumerate()
            .map(|(i, v)| ((i * chunk) as u64, v))
            .collect();
        let mut explicit = MetricAccumulator::new_explicit(capacity);
        let mut implicit = MetricAccumulator::new(capacity, false);
        for &(first, v) in &chunks {
            explicit.add_chunk(first, v, None);
            implicit.add_chunk(first, v, None);
        }
        let expected = everything(&explicit);
        prop_assert_eq!(&everything(&implicit), &expected);

        // Any order, any merge tree, parts of either form or read back from their bytes.
        for _ in 0..3 {
            let mut order = chunks.clone();
            order.shuffle(&mut rng);
            let parts_n = rng.random_range(1..=5);
            let mut parts: Vec<MetricAccumulator> = (0..parts_n)
                .map(|i| {
                    if i % 3 == 2 {
                        MetricAccumulator::new_explicit(capacity)
                    } else {
                        MetricAccumulator::new(capacity, false)
                    }
                })
                .collect();
            for &(first, v) in &order {
                let i = rng.random_range(0..parts_n);
                parts[i].add_chunk(first, v, None);
            }
            if parts_n > 1 {
                parts[0] = read_back(&parts[0]);
            }
            let merged = merge_randomly(parts, &mut rng);
            prop_assert_eq!(&everything(&merged), &expected);
        }
    }
}
