//! Euler contributions against known answers: the tie rule worked by hand on a lattice, a
//! brute-force evaluation of the formula, and two independent compound-Poisson sources whose
//! joint law is computed exactly by convolution (plain and importance-sampled).

use proptest::prelude::*;
use rand::{Rng, RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::*;
use crate::MetricAccumulator;

fn dec(name: &str, components: &[&str]) -> Decomposition {
    Decomposition {
        name: name.to_owned(),
        components: components.iter().map(|s| s.to_string()).collect(),
    }
}

/// Runs the estimator over every path (ascending id) of `comps` (one Vec per path).
fn estimate(
    losses: &[f64],
    weights: Option<&[f64]>,
    comps: &[Vec<f64>],
    levels: &[f64],
    names: &[&str],
) -> Vec<DecompositionContributions> {
    let mut acc = MetricAccumulator::new(usize::MAX, weights.is_some());
    acc.add_chunk(0, losses, weights);
    let stats = acc.stats("l", levels);
    let mut e = EulerEstimator::new(
        "l",
        losses.len() as u64,
        &stats.levels,
        vec![dec("d", names)],
        true,
    );
    let floor = e.floor().unwrap();
    let (tail, complete) = acc.tail_at_least(floor);
    assert!(complete);
    let mut tail = tail;
    tail.sort_by_key(|t| t.path);
    for t in tail {
        let x = &comps[t.path as usize];
        e.add(
            t.value,
            t.weight,
            e.needs_components(t.value).then_some(x.as_slice()),
        );
    }
    e.finish(|_, _, _| None)
}

#[test]
fn ties_on_a_lattice_follow_the_rule_worked_by_hand() {
    // n = 10, α = 0.75: T = 2.5; VaR = 2 (the 8th smallest); 2 paths above, 3 tied.
    // C₁ = [3 + 1 + 0.5 · mean(2, 0, 1)] / 2.5 = 1.8; C₂ = [0 + 3 + 0.5 · mean(0, 2, 1)] / 2.5
    // = 1.4; ES = 3.2.
    let mut paths: Vec<(f64, [f64; 2])> = vec![
        (0.0, [0.0, 0.0]),
        (0.0, [0.0, 0.0]),
        (1.0, [1.0, 0.0]),
        (1.0, [0.0, 1.0]),
        (1.0, [0.5, 0.5]),
        (2.0, [2.0, 0.0]),
        (2.0, [0.0, 2.0]),
        (2.0, [1.0, 1.0]),
        (3.0, [3.0, 0.0]),
        (4.0, [1.0, 3.0]),
    ];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    for round in 0..20 {
        if round > 0 {
            // Any path order gives the same result.
            for i in (1..paths.len()).rev() {
                paths.swap(i, rng.random_range(0..=i));
            }
        }
        let losses: Vec<f64> = paths.iter().map(|p| p.0).collect();
        let comps: Vec<Vec<f64>> = paths.iter().map(|p| p.1.to_vec()).collect();
        let r = estimate(&losses, None, &comps, &[0.75], &["a", "b"]);
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!((r.var, r.es, r.tail_paths), (2.0, 3.2, 5));
        assert!(r.exact);
        assert_eq!(r.components[0].es_contribution, 1.8);
        assert_eq!(r.components[1].es_contribution, 1.4);
        assert_eq!(r.components[0].share, 1.8 / 3.2);
    }
}

/// The formula evaluated directly over all paths, in any order, with the VaR and tail mass of
/// the issue: v the ⌈nα⌉-th smallest loss, T = n(1 − α).
fn brute_force(losses: &[f64], comps: &[Vec<f64>], alpha: f64) -> Vec<f64> {
    let n = losses.len();
    let mut sorted = losses.to_vec();
    sorted.sort_by(f64::total_cmp);
    let v = sorted[((n as f64 * alpha).ceil() as usize).clamp(1, n) - 1];
    let t = n as f64 * (1.0 - alpha);
    let k = comps[0].len();
    let above = losses.iter().filter(|&&l| l > v).count() as f64;
    let tied = losses.iter().filter(|&&l| l == v).count() as f64;
    (0..k)
        .map(|i| {
            let sum_above: f64 = (0..n).filter(|&j| losses[j] > v).map(|j| comps[j][i]).sum();
            let sum_tie: f64 = (0..n)
                .filter(|&j| losses[j] == v)
                .map(|j| comps[j][i])
                .sum();
            (sum_above + (t - above) * sum_tie / tied) / t
        })
        .collect()
}

#[test]
fn contributions_add_up_to_es_and_match_the_formula_evaluated_directly() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let n = 5_000;
    let mut losses = Vec::new();
    let mut comps = Vec::new();
    for _ in 0..n {
        // Three components, one of them never losing; a continuous and a lattice part.
        let a: f64 = if rng.random::<f64>() < 0.2 {
            -rng.random::<f64>().ln()
        } else {
            0.0
        };
        let b = f64::from(rng.random_range(0u32..4)) * 0.5;
        let x = vec![a, b, 0.0];
        losses.push(a + b);
        comps.push(x);
    }
    let levels = [0.9, 0.95, 0.99, 0.999];
    let r = estimate(&losses, None, &comps, &levels, &["a", "b", "never"]);
    assert_eq!(r.len(), levels.len());
    for (d, &alpha) in r.iter().zip(&levels) {
        let sum: f64 = d.components.iter().map(|c| c.es_contribution).sum();
        assert!(
            (sum - d.es).abs() <= 1e-12 * d.es.abs(),
            "{sum} vs {}",
            d.es
        );
        let reference = brute_force(&losses, &comps, alpha);
        for (c, r) in d.components.iter().zip(&reference) {
            assert!(
                (c.es_contribution - r).abs() <= 1e-12 * d.es,
                "{c:?} vs {r}"
            );
        }
        // A component that never loses contributes exactly 0, with a zero-width interval.
        let never = &d.components[2];
        assert_eq!(
            (
                never.es_contribution,
                never.ci_lo,
                never.ci_hi,
                never.var_contribution
            ),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert!(d.components[0].ci_lo < d.components[0].es_contribution);
    }
}

/// A Poisson draw by inversion (small means).
fn poisson(rng: &mut impl Rng, mean: f64) -> u32 {
    let u: f64 = rng.random();
    let (mut k, mut p) = (0u32, (-mean).exp());
    let mut cdf = p;
    while u > cdf && k < 1000 {
        k += 1;
        p *= mean / f64::from(k);
        cdf += p;
    }
    k
}

/// A compound-Poisson source: Poisson(mean) events, each of size 1, 2 or 3 with `sizes`
/// probabilities.
#[derive(Clone, Copy)]
struct Source {
    mean: f64,
    sizes: [f64; 3],
}

impl Source {
    /// Its exact pmf on 0..len, by convolution.
    fn pmf(&self, len: usize) -> Vec<f64> {
        let mut out = vec![0.0; len];
        // k-fold convolution of the size law, weighted by the Poisson probabilities.
        let mut conv = vec![0.0; len];
        conv[0] = 1.0;
        let mut pk = (-self.mean).exp();
        for k in 0..60 {
            for (o, c) in out.iter_mut().zip(&conv) {
                *o += pk * c;
            }
            let mut next = vec![0.0; len];
            for (a, &c) in conv.iter().enumerate() {
                for (s, &q) in self.sizes.iter().enumerate() {
                    if a + s + 1 < len {
                        next[a + s + 1] += c * q;
                    }
                }
            }
            conv = next;
            pk *= self.mean / f64::from(k + 1);
        }
        out
    }

    fn size(&self, rng: &mut impl Rng) -> f64 {
        let u: f64 = rng.random();
        if u < self.sizes[0] {
            1.0
        } else if u < self.sizes[0] + self.sizes[1] {
            2.0
        } else {
            3.0
        }
    }
}

/// The exact ES contributions of A and B to L = A + B at level α (tie rule at VaR), and ES.
fn exact_contributions(a: Source, b: Source, alpha: f64) -> ([f64; 2], f64) {
    let len = 80;
    let (pa, pb) = (a.pmf(len), b.pmf(len));
    let mut pl = vec![0.0; 2 * len];
    let mut ea = vec![0.0; 2 * len];
    let mut eb = vec![0.0; 2 * len];
    for (i, &p) in pa.iter().enumerate() {
        for (j, &q) in pb.iter().enumerate() {
            pl[i + j] += p * q;
            ea[i + j] += i as f64 * p * q;
            eb[i + j] += j as f64 * p * q;
        }
    }
    let mut cdf = 0.0;
    let q = pl
        .iter()
        .position(|&p| {
            cdf += p;
            cdf >= alpha
        })
        .unwrap();
    let above: f64 = pl[q + 1..].iter().sum();
    let tail = 1.0 - alpha;
    let part = |e: &[f64]| (e[q + 1..].iter().sum::<f64>() + (tail - above) * e[q] / pl[q]) / tail;
    let es = (pl[q + 1..]
        .iter()
        .enumerate()
        .map(|(k, p)| (q + 1 + k) as f64 * p)
        .sum::<f64>()
        + (tail - above) * q as f64)
        / tail;
    ([part(&ea), part(&eb)], es)
}

/// Samples n paths of (A, B), with the counts of A drawn at θ times its mean (θ = 1: plain
/// Monte Carlo) and the likelihood ratio as weight.
fn sample(
    a: Source,
    b: Source,
    theta: f64,
    n: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut losses, mut weights, mut comps) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let na = poisson(&mut rng, theta * a.mean);
        let nb = poisson(&mut rng, b.mean);
        let xa: f64 = (0..na).map(|_| a.size(&mut rng)).sum();
        let xb: f64 = (0..nb).map(|_| b.size(&mut rng)).sum();
        losses.push(xa + xb);
        weights.push((-(theta.ln()) * f64::from(na) + (theta - 1.0) * a.mean).exp());
        comps.push(vec![xa, xb]);
    }
    (losses, weights, comps)
}

#[test]
fn two_compound_poisson_sources_match_their_exact_contributions_plain_and_importance_sampled() {
    // A: rare and large; B: frequent and small. Independent.
    let a = Source {
        mean: 0.05,
        sizes: [0.2, 0.3, 0.5],
    };
    let b = Source {
        mean: 1.5,
        sizes: [0.7, 0.2, 0.1],
    };
    let n = 100_000;
    let levels = [0.95, 0.99];
    let plain = sample(a, b, 1.0, n, 5);
    let tilted = sample(a, b, 4.0, n, 6);
    let r_plain = estimate(&plain.0, None, &plain.2, &levels, &["a", "b"]);
    let r_is = estimate(&tilted.0, Some(&tilted.1), &tilted.2, &levels, &["a", "b"]);
    for (k, &alpha) in levels.iter().enumerate() {
        let (exact, es) = exact_contributions(a, b, alpha);
        for r in [&r_plain[k], &r_is[k]] {
            assert_eq!(r.level, alpha);
            // The sampled VaR is the population's here (no level sits on a CDF step).
            let sum: f64 = r.components.iter().map(|c| c.es_contribution).sum();
            assert!((sum - r.es).abs() <= 1e-12 * r.es);
            for (c, &x) in r.components.iter().zip(&exact) {
                // Within 4 standard errors (the 95 % interval's half-width is 1.96 of them).
                let se = (c.ci_hi - c.ci_lo) / (2.0 * 1.96);
                assert!(
                    (c.es_contribution - x).abs() <= 4.0 * se,
                    "level {alpha} {}: {} vs exact {x} (se {se}); ES {} vs {es}",
                    c.component,
                    c.es_contribution,
                    r.es
                );
            }
        }
        // Plain and importance-sampled agree within their joint intervals.
        for (p, q) in r_plain[k].components.iter().zip(&r_is[k].components) {
            let sp = (p.ci_hi - p.ci_lo) / (2.0 * 1.96);
            let sq = (q.ci_hi - q.ci_lo) / (2.0 * 1.96);
            assert!(
                (p.es_contribution - q.es_contribution).abs() <= 4.0 * (sp * sp + sq * sq).sqrt()
            );
        }
    }
    // Importance sampling towards A's events narrows A's interval at 99 %.
    let width = |r: &DecompositionContributions| r.components[0].ci_hi - r.components[0].ci_lo;
    assert!(width(&r_is[1]) < width(&r_plain[1]));
}

#[test]
fn exchangeable_components_get_equal_shares_within_their_intervals() {
    // Four identical components under a one-factor Gaussian copula (ρ = 0.3): each loses 1
    // when √ρ·Z + √(1 − ρ)·εᵢ > 1.5.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let normal = |rng: &mut Xoshiro256PlusPlus| {
        let (u, v): (f64, f64) = (rng.random(), rng.random());
        (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let (rho, n) = (0.3f64, 50_000);
    let (mut losses, mut comps) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let z = normal(&mut rng);
        let x: Vec<f64> = (0..4)
            .map(|_| {
                let y = rho.sqrt() * z + (1.0 - rho).sqrt() * normal(&mut rng);
                if y > 1.5 {
                    1.0 + 0.1 * rng.random::<f64>()
                } else {
                    0.0
                }
            })
            .collect();
        losses.push(x.iter().sum());
        comps.push(x);
    }
    let r = estimate(&losses, None, &comps, &[0.95, 0.99], &["a", "b", "c", "d"]);
    for d in &r {
        let mean = d.es / 4.0;
        for c in &d.components {
            assert!(c.ci_lo <= mean && mean <= c.ci_hi, "{c:?} vs {mean}");
        }
    }
}

#[test]
fn incomplete_ties_flag_the_level_and_zero_var_does_not() {
    let levels = LevelStats {
        level: 0.5,
        var: 1.0,
        var_lo: 0.0,
        var_hi: 1.0,
        es: 1.0,
        es_lo: 1.0,
        es_hi: 1.0,
        exact: true,
        above_paths: None,
    };
    let zero = LevelStats {
        var: 0.0,
        level: 0.4,
        ..levels.clone()
    };
    let histogram = LevelStats {
        level: 0.3,
        exact: false,
        ..levels.clone()
    };
    let mut e = EulerEstimator::new(
        "l",
        4,
        &[levels, zero, histogram],
        vec![dec("d", &["a"])],
        true,
    );
    e.ties_incomplete_at(1.0);
    e.ties_incomplete_at(0.0);
    let r = e.finish(|_, _, _| Some(0.5));
    // The histogram level gets none; the flags follow the ties.
    assert_eq!(r.len(), 2);
    assert!(!r[0].exact && r[1].exact);
    assert_eq!(r[0].diversification_benefit, Some(0.5 - 1.0));
}

/// [`estimate`] with a tail capacity: paths tied below the kept values may be missing, which
/// flags the levels concerned.
fn estimate_kept(
    losses: &[f64],
    comps: &[Vec<f64>],
    levels: &[f64],
    capacity: usize,
) -> Vec<DecompositionContributions> {
    let mut acc = MetricAccumulator::new(capacity, false);
    for (c, chunk) in losses.chunks(64).enumerate() {
        acc.add_chunk(64 * c as u64, chunk, None);
    }
    let stats = acc.stats("l", levels);
    let names = ["a", "b", "c"];
    let mut e = EulerEstimator::new(
        "l",
        losses.len() as u64,
        &stats.levels,
        vec![dec("d", &names)],
        true,
    );
    let Some(floor) = e.floor() else {
        return Vec::new();
    };
    let (mut tail, complete) = acc.tail_at_least(floor);
    if !complete {
        e.ties_incomplete_at(tail.last().map_or(floor, |t| t.value));
    }
    tail.sort_by_key(|t| t.path);
    for t in tail {
        let x = &comps[t.path as usize];
        e.add(
            t.value,
            t.weight,
            e.needs_components(t.value).then_some(x.as_slice()),
        );
    }
    e.finish(|_, _, _| None)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_206),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// On lattice losses (many ties at VaR): the contributions add up to ES, equal the formula
    /// evaluated directly, do not depend on path order, and at every level a smaller tail
    /// keeps exact they are the same bits as with every path kept.
    #[test]
    fn lattice_contributions_follow_the_rule_whatever_the_order_and_the_tail_kept(
        parts in prop::collection::vec((0u8..4, 0u8..3, 0u8..2), 1..400),
        capacity in 1usize..200,
        seed in any::<u64>(),
    ) {
        let levels = [0.5, 0.75, 0.9, 0.95, 0.99];
        let comps: Vec<Vec<f64>> = parts
            .iter()
            .map(|&(a, b, c)| vec![f64::from(a), 0.5 * f64::from(b), f64::from(c)])
            .collect();
        let losses: Vec<f64> = comps.iter().map(|x| x.iter().sum()).collect();
        let full = estimate_kept(&losses, &comps, &levels, usize::MAX);
        prop_assert_eq!(full.len(), levels.len());
        for (d, &alpha) in full.iter().zip(&levels) {
            prop_assert!(d.exact);
            let sum: f64 = d.components.iter().map(|c| c.es_contribution).sum();
            prop_assert!((sum - d.es).abs() <= 1e-12 * d.es.max(1.0));
            for (c, r) in d.components.iter().zip(brute_force(&losses, &comps, alpha)) {
                prop_assert!((c.es_contribution - r).abs() <= 1e-12 * d.es.max(1.0));
            }
        }
        // Another path order.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..losses.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let shuffled_losses: Vec<f64> = order.iter().map(|&i| losses[i]).collect();
        let shuffled_comps: Vec<Vec<f64>> = order.iter().map(|&i| comps[i].clone()).collect();
        let shuffled = estimate_kept(&shuffled_losses, &shuffled_comps, &levels, usize::MAX);
        for (d, e) in full.iter().zip(&shuffled) {
            for (c, f) in d.components.iter().zip(&e.components) {
                prop_assert!((c.es_contribution - f.es_contribution).abs() <= 1e-12 * d.es.max(1.0));
            }
        }
        // A smaller tail: only exact levels, and the same bits where every tie was kept.
        let small = estimate_kept(&losses, &comps, &levels, capacity);
        for d in &small {
            let f = full.iter().find(|f| f.level == d.level).unwrap();
            prop_assert_eq!(d.es.to_bits(), f.es.to_bits());
            if d.exact {
                for (c, g) in d.components.iter().zip(&f.components) {
                    prop_assert_eq!(c.es_contribution.to_bits(), g.es_contribution.to_bits());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// `tail_es` from the values at or above a floor gives the accumulator's ES bit for bit
    /// whenever the VaR lies there, and None otherwise.
    #[test]
    fn tail_es_is_the_accumulators_es_from_the_upper_part(
        values in prop::collection::vec(
            prop_oneof![Just(0.0), Just(1.0), Just(2.5), 0.0f64..10.0],
            1..500,
        ),
        weighted in any::<bool>(),
        weights_seed in any::<u64>(),
        floor_at in 0.0f64..1.0,
    ) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(weights_seed);
        let weights: Vec<f64> = values.iter().map(|_| 0.25 + 1.5 * rng.random::<f64>()).collect();
        let mut acc = MetricAccumulator::new(usize::MAX, weighted);
        acc.add_chunk(0, &values, weighted.then_some(&weights[..]));
        let levels = [0.5, 0.9, 0.95, 0.99];
        let stats = acc.stats("x", &levels);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let floor = sorted[((values.len() - 1) as f64 * floor_at) as usize];
        let w = |i: usize| if weighted { weights[i] } else { 1.0 };
        let entries: Vec<(f64, f64)> = (0..values.len())
            .filter(|&i| values[i] > 0.0 && values[i] >= floor)
            .map(|i| (values[i], w(i)))
            .collect();
        for l in &stats.levels {
            let got = tail_es(&mut entries.clone(), values.len() as u64, l.level, floor);
            let known = l.var >= floor && (l.var > 0.0 || floor <= 0.0);
            match got {
                Some(es) => prop_assert_eq!(es.to_bits(), l.es.to_bits(), "level {}", l.level),
                None => prop_assert!(!known, "level {}: VaR {} ≥ floor {}", l.level, l.var, floor),
            }
        }
    }
}

/// The intervals of the ES and VaR contributions — the sums of w²·X that the estimator skips
/// while every weight is 1 and keeps from the first other weight on — against the formulas
/// evaluated directly over every path: Hong & Liu's sd of y = w·(X − m)·1{L ≥ v}, and the
/// window's delta-method error. Unweighted, and weighted with the first half of the paths
/// (the first tail paths added) at weight exactly 1.
#[test]
fn intervals_match_their_formulas_whether_or_not_the_first_weights_are_one() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_261_206);
    let n = 4_000;
    let mut losses = Vec::new();
    let mut comps = Vec::new();
    for _ in 0..n {
        let a: f64 = if rng.random::<f64>() < 0.3 {
            -rng.random::<f64>().ln()
        } else {
            0.0
        };
        let b = f64::from(rng.random_range(0u32..3)) * 0.25;
        losses.push(a + b);
        comps.push(vec![a, b]);
    }
    let half_ones: Vec<f64> = (0..n)
        .map(|j| {
            if j < n / 2 {
                1.0
            } else {
                0.5 + 1.5 * rng.random::<f64>()
            }
        })
        .collect();
    let levels = [0.9, 0.99];
    for weights in [None, Some(half_ones.as_slice())] {
        let mut acc = MetricAccumulator::new(usize::MAX, weights.is_some());
        acc.add_chunk(0, &losses, weights);
        let stats = acc.stats("l", &levels);
        let r = estimate(&losses, weights, &comps, &levels, &["a", "b"]);
        let w = |j: usize| weights.map_or(1.0, |w| w[j]);
        let nf = n as f64;
        for (d, s) in r.iter().zip(&stats.levels) {
            for (i, c) in d.components.iter().enumerate() {
                let window: Vec<usize> = (0..n)
                    .filter(|&j| losses[j] >= s.var_lo && losses[j] <= s.var_hi)
                    .collect();
                let win_w: f64 = window.iter().map(|&j| w(j)).sum();
                let m = window.iter().map(|&j| w(j) * comps[j][i]).sum::<f64>() / win_w;
                let ss: f64 = window
                    .iter()
                    .map(|&j| (w(j) * (comps[j][i] - m)).powi(2))
                    .sum();
                let se = ss.sqrt() / win_w;
                let y: Vec<f64> = (0..n)
                    .map(|j| {
                        if losses[j] >= s.var {
                            w(j) * (comps[j][i] - m)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let sum_y: f64 = y.iter().sum();
                let sum_y2: f64 = y.iter().map(|v| v * v).sum();
                let sd = ((sum_y2 - sum_y * sum_y / nf) / (nf - 1.0)).sqrt();
                let z = crate::stats::ci_z();
                let half = z * sd / ((1.0 - s.level) * nf.sqrt());
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-12);
                assert!(
                    close((c.ci_hi - c.ci_lo) / 2.0, half),
                    "{weights:?} level {} component {i}: {c:?} vs ±{half}",
                    s.level
                );
                assert!(close(c.var_contribution, m), "{c:?} vs {m}");
                assert!(
                    close(
                        (c.var_contribution_hi - c.var_contribution_lo) / 2.0,
                        z * se
                    ),
                    "{c:?} vs ±{}",
                    z * se
                );
            }
        }
    }
}
