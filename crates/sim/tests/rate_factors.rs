//! Uncertain rates and rate factors against CreditRisk+ (Credit Suisse First Boston,
//! *CreditRisk+: A Credit Risk Management Framework*, 1997, §A7–A10: gamma sector variables)
//! and against the negative binomial law of a gamma-mixed Poisson count.
//!
//! The exact laws are computed here: the CreditRisk+ loss with one gamma sector is a compound
//! negative binomial, whose pmf the Panjer recursion gives exactly (Panjer, "Recursive
//! evaluation of a family of compound distributions", ASTIN Bulletin 12, 1981); the
//! recursion is cross-checked against the mixture of the fixed-rate compound Poisson law over
//! the gamma density, integrated numerically. Tolerances come from the Monte Carlo standard
//! errors (fixed seeds) plus a stated bound on the engine's one deliberate difference from
//! Poisson counts: a pair slashed in full is not slashed again (Le Cam's inequality bounds
//! that by Σ E[(μ_b S)²] / M in total variation).

use std::path::Path;

use lrtsim_report::metric_stats;
use lrtsim_scenario::{Model, load_str};
use lrtsim_sim::{RunOptions, SimResults, run};

fn load(text: &str) -> Model {
    load_str(text, Path::new("rate_factors.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(model: &Model) -> SimResults {
    run(model, &RunOptions::default(), &|_| {}).unwrap()
}

/// P(L = 0..=max) of the CreditRisk+ loss L = Σ_b ν_b N_b with N_b | S ~ Poisson(μ_b S) and
/// one sector S ~ Gamma(mean 1, variance σ²), by the Panjer recursion. Given S the total
/// count is Poisson(μS), so unconditionally it is negative binomial with r = 1/σ² and
/// p = σ²μ / (1 + σ²μ): the (a, b, 0) class with a = p, b = (r − 1)p, P(N = 0) = (1 − p)^r;
/// each event's loss is ν_b with probability μ_b / μ (f_0 = 0). Then
/// g_0 = (1 − p)^r, g_n = Σ_{j=1..n} (a + b j / n) f_j g_{n−j}.
fn panjer_negative_binomial(bands: &[(usize, f64)], variance: f64, max: usize) -> Vec<f64> {
    let mu: f64 = bands.iter().map(|b| b.1).sum();
    let r = 1.0 / variance;
    let p = variance * mu / (1.0 + variance * mu);
    let (a, b) = (p, (r - 1.0) * p);
    let mut f = vec![0.0; max + 1];
    for &(nu, m) in bands {
        f[nu] += m / mu;
    }
    let mut g = vec![0.0; max + 1];
    g[0] = (1.0 - p).powf(r);
    for n in 1..=max {
        g[n] = (1..=n)
            .map(|j| (a + b * j as f64 / n as f64) * f[j] * g[n - j])
            .sum();
    }
    g
}

/// The fixed-rate CreditRisk+ law (compound Poisson, Panjer with a = 0, b = μ).
fn compound_poisson(bands: &[(usize, f64)], scale: f64, max: usize) -> Vec<f64> {
    let mu: f64 = bands.iter().map(|b| b.1).sum::<f64>() * scale;
    let mut g = vec![0.0; max + 1];
    g[0] = (-mu).exp();
    for n in 1..=max {
        g[n] = bands
            .iter()
            .filter(|b| b.0 <= n)
            .map(|&(nu, m)| m * scale * nu as f64 * g[n - nu])
            .sum::<f64>()
            / n as f64;
    }
    g
}

/// ln Γ(x) (Lanczos, g = 7, n = 9; relative error below 1e-13 for x > 0).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

fn empirical_pmf(values: &[f64], len: usize) -> Vec<f64> {
    let mut counts = vec![0u64; len];
    for v in values {
        let k = v.round() as usize;
        assert!((v - k as f64).abs() < 1e-6, "value {v} is not whole");
        counts[k.min(len - 1)] += 1;
    }
    counts
        .iter()
        .map(|c| *c as f64 / values.len() as f64)
        .collect()
}

/// Every probability agrees within `z` binomial standard errors plus `bias`.
fn assert_pmf_close(empirical: &[f64], exact: &[f64], n: usize, z: f64, bias: f64) {
    for (k, (e, x)) in empirical.iter().zip(exact).enumerate() {
        let se = (x * (1.0 - x) / n as f64).sqrt();
        assert!(
            (e - x).abs() <= z * se + bias,
            "P(L={k}): engine {e:.6}, exact {x:.6}, tolerance {:.6}",
            z * se + bias
        );
    }
}

/// Smallest k with CDF(k) ≥ α.
fn quantile(pmf: &[f64], alpha: f64) -> usize {
    let mut acc = 0.0;
    for (k, p) in pmf.iter().enumerate() {
        acc += p;
        if acc >= alpha - 1e-12 {
            return k;
        }
    }
    panic!("pmf does not reach {alpha}")
}

/// The engine's α-quantile lies between the exact quantiles at α ∓ (4 binomial standard
/// errors of the empirical CDF + `bias`).
fn assert_quantile_close(values: &[f64], pmf: &[f64], alpha: f64, bias: f64) {
    let n = values.len() as f64;
    let stats = metric_stats("loss", values, &[alpha]);
    let d = 4.0 * (alpha * (1.0 - alpha) / n).sqrt() + bias;
    let lo = quantile(pmf, alpha - d) as f64;
    let hi = quantile(pmf, (alpha + d).min(1.0 - 1e-12)) as f64;
    let var = stats.levels[0].var;
    assert!(
        var >= lo && var <= hi,
        "VaR {alpha}: engine {var}, exact band [{lo}, {hi}]"
    );
}

#[test]
fn panjer_recursion_matches_the_gamma_mixture_of_the_fixed_rate_law() {
    // The recursion against ∫ P(L = n | S = s) gamma(s) ds, the integrand being the
    // fixed-rate CreditRisk+ law at rates μ_b s (Simpson's rule on [0, 60], where the
    // Gamma(1, 1) density e^(−s) leaves less than e^(−60)).
    let bands = [(1, 2.0), (2, 1.0), (5, 0.5)];
    let max = 60;
    let exact = panjer_negative_binomial(&bands, 1.0, max);
    let (a, b, m) = (0.0, 60.0, 24_000);
    let h = (b - a) / m as f64;
    let mut mix = vec![0.0; max + 1];
    for i in 0..=m {
        let s = a + i as f64 * h;
        let w = if i == 0 || i == m {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let g = compound_poisson(&bands, s, max);
        for (x, y) in mix.iter_mut().zip(&g) {
            *x += w * h / 3.0 * y * (-s).exp();
        }
    }
    for (n, (x, y)) in exact.iter().zip(&mix).enumerate() {
        assert!((x - y).abs() < 1e-10, "P(L={n}): Panjer {x}, mixture {y}");
    }
    // The fixed-rate law reproduces the published CreditRisk+ values.
    let fixed = compound_poisson(&bands, 1.0, 6);
    let published = [
        0.03019738, 0.06039477, 0.09059215, 0.10065794, 0.09562505, 0.09361189, 0.08824346,
    ];
    for (x, y) in fixed.iter().zip(published) {
        assert!((x - y).abs() < 1e-8);
    }
}

#[test]
fn creditrisk_plus_one_gamma_factor_bands() {
    // Bands (ν, μ) = (1, 2.0), (2, 1.0), (5, 0.5), all loading on one rate factor with
    // σ/μ = 1 (variance 1): M operators of 8 ETH allocate 1, 2 and 5 ETH to the AVSs b1, b2,
    // b5, whose per-pair fault rates are μ_b / M; the three AVSs' fault rates load on the
    // factor `sector`. Given the factor S a band's count is Binomial(M, 1 − e^(−μ_b S / M)),
    // within Σ_b μ_b² E[S²] / M = 2 · 5.25 / M of Poisson(μ_b S) in total variation.
    let m = 20_000usize;
    let paths = 300_000u64;
    let mut text = format!(
        "[simulation]\npaths = {paths}\nhorizon_days = 365\nstep_days = 365\nseed = 19\n\
         [pool]\ncollateral_eth = {}\n[[rate_factors]]\nname = \"sector\"\nvariance = 1.0\n",
        8 * m
    );
    for (name, mu) in [("b1", 2.0), ("b2", 1.0), ("b5", 0.5)] {
        text.push_str(&format!(
            "[[avs]]\nname = \"{name}\"\nfault_rate_per_year = {}\nfault_rate_factor = \"sector\"\nfault_severity = 1.0\n",
            mu / m as f64
        ));
    }
    for i in 0..m {
        text.push_str(&format!("[[operators]]\nname = \"o{i}\"\nstake_eth = 8\nallocations = {{ b1 = 0.125, b2 = 0.25, b5 = 0.625 }}\n"));
    }
    let r = simulate(&load(&text));
    let loss = r.column("slashed_eth").unwrap();
    let bands = [(1, 2.0), (2, 1.0), (5, 0.5)];
    let len = 400;
    let exact = panjer_negative_binomial(&bands, 1.0, len - 1);
    assert!(exact.iter().sum::<f64>() > 1.0 - 1e-12);
    let bias = 2.0 * 5.25 / m as f64;
    assert_pmf_close(&empirical_pmf(loss, len), &exact, loss.len(), 4.5, bias);
    // Mean 6.5 (the factor has mean 1); variance Σ μ_b ν_b² + σ² (Σ μ_b ν_b)² = 18.5 + 42.25.
    let stats = metric_stats("l", loss, &[]);
    assert!(
        (stats.mean - 6.5).abs() < 4.0 * stats.std_error + 6.5 * bias,
        "mean {} ± {}",
        stats.mean,
        stats.std_error
    );
    // The sample variance's standard error is √((m₄ − s⁴) / n).
    let n = loss.len() as f64;
    let var: f64 = loss.iter().map(|l| (l - stats.mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4: f64 = loss.iter().map(|l| (l - stats.mean).powi(4)).sum::<f64>() / n;
    let var_se = ((m4 - var * var) / n).sqrt();
    assert!(
        (var - 60.75).abs() < 4.0 * var_se + 60.75 * 4.0 * bias,
        "variance {var} ± {var_se}, exact 60.75"
    );
    // The uncertain rate fattens the tail: the fixed-rate quantiles are 19 and 25.
    let (q99, q999) = (quantile(&exact, 0.99), quantile(&exact, 0.999));
    assert!(q99 > 19 && q999 > 25, "{q99} {q999}");
    assert_quantile_close(loss, &exact, 0.99, bias);
    assert_quantile_close(loss, &exact, 0.999, bias);
}

/// `m` operators of 1 ETH, each fully on AVS `x` whose per-pair fault rate is `rate`, slashing
/// in full; one year in one step. The loss in ETH counts the pairs hit.
fn single_source(m: usize, paths: u64, seed: u64, rate: &str) -> Model {
    let mut text = format!(
        "[simulation]\npaths = {paths}\nhorizon_days = 365\nstep_days = 365\nseed = {seed}\n\
         [pool]\ncollateral_eth = {m}\n[[avs]]\nname = \"x\"\nfault_rate_per_year = {rate}\nfault_severity = 1.0\n"
    );
    for i in 0..m {
        text.push_str(&format!(
            "[[operators]]\nname = \"o{i}\"\nstake_eth = 1\nallocations = {{ x = 1.0 }}\n"
        ));
    }
    load(&text)
}

#[test]
fn a_gamma_mixed_source_is_negative_binomial() {
    // Λ ~ Gamma(mean μ, cv c) per pair × M pairs: the count is negative binomial with
    // r = 1/c² and mean μ·M = 2: P(N = k) = Γ(k + r) / (k! Γ(r)) (r/(r + 2))^r (2/(r + 2))^k.
    let m = 5_000;
    let paths = 200_000;
    let (total, cv) = (2.0f64, 0.5f64);
    let model = single_source(
        m,
        paths,
        23,
        &format!(
            "{{ dist = \"gamma\", mean = {}, cv = {cv} }}",
            total / m as f64
        ),
    );
    let r = simulate(&model);
    let loss = r.column("slashed_eth").unwrap();
    let rr = 1.0 / (cv * cv);
    let len = 60;
    let exact: Vec<f64> = (0..len)
        .map(|k| {
            let k = k as f64;
            (ln_gamma(k + rr) - ln_gamma(k + 1.0) - ln_gamma(rr)
                + rr * (rr / (rr + total)).ln()
                + k * (total / (rr + total)).ln())
            .exp()
        })
        .collect();
    // Same law by the Panjer recursion with one band of ν = 1.
    let panjer = panjer_negative_binomial(&[(1, total)], cv * cv, len - 1);
    for (a, b) in exact.iter().zip(&panjer) {
        assert!((a - b).abs() < 1e-12, "{a} {b}");
    }
    // Le Cam: E[(Λ M)²] / M = total² (1 + cv²) / M.
    let bias = total * total * (1.0 + cv * cv) / m as f64;
    assert_pmf_close(&empirical_pmf(loss, len), &exact, loss.len(), 4.5, bias);
    let stats = metric_stats("l", loss, &[]);
    assert!(
        (stats.mean - total).abs() < 4.0 * stats.std_error + total * bias,
        "mean {}",
        stats.mean
    );
}

#[test]
fn a_discrete_rate_is_a_mixture_of_poisson_laws() {
    // Rate 0.5 a year with weight 0.7, 5 with weight 0.3 (per pair × M pairs): the count is
    // 0.7 Poisson(0.5) + 0.3 Poisson(5).
    let m = 10_000;
    let model = single_source(
        m,
        200_000,
        29,
        &format!(
            "{{ dist = \"discrete\", values = [{}, {}], weights = [0.7, 0.3] }}",
            0.5 / m as f64,
            5.0 / m as f64
        ),
    );
    let r = simulate(&model);
    let loss = r.column("slashed_eth").unwrap();
    let len = 40;
    let poisson = |mu: f64, k: usize| (-mu + k as f64 * mu.ln() - ln_gamma(k as f64 + 1.0)).exp();
    let exact: Vec<f64> = (0..len)
        .map(|k| 0.7 * poisson(0.5, k) + 0.3 * poisson(5.0, k))
        .collect();
    let bias = (0.7 * 0.25 + 0.3 * 25.0) / m as f64;
    assert_pmf_close(&empirical_pmf(loss, len), &exact, loss.len(), 4.5, bias);
}

#[test]
fn a_lognormal_rate_has_the_mixed_poisson_moments() {
    // Λ lognormal with mean μ = 1 and cv 2 (over M pairs): E[N] = μ, Var N = μ + μ² cv² = 5.
    let m = 10_000;
    let model = single_source(
        m,
        200_000,
        31,
        &format!(
            "{{ dist = \"lognormal\", mean = {}, cv = 2 }}",
            1.0 / m as f64
        ),
    );
    let r = simulate(&model);
    let loss = r.column("slashed_eth").unwrap();
    let stats = metric_stats("l", loss, &[]);
    assert!(
        (stats.mean - 1.0).abs() < 4.0 * stats.std_error + 5.0 / m as f64,
        "mean {} ± {}",
        stats.mean,
        stats.std_error
    );
    // P(N = 0) = E[e^(−Λ)], integrated over the lognormal density (σ² = ln 5, μ = −σ²/2)
    // by Simpson's rule on z ∈ [−12, 12].
    let s2 = 5f64.ln();
    let (s, mu_ln) = (s2.sqrt(), -s2 / 2.0);
    let steps = 48_000;
    let h = 24.0 / steps as f64;
    let mut p0 = 0.0;
    for i in 0..=steps {
        let z = -12.0 + i as f64 * h;
        let w = if i == 0 || i == steps {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let phi = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        p0 += w * h / 3.0 * phi * (-(mu_ln + s * z).exp()).exp();
    }
    let zero = loss.iter().filter(|l| **l == 0.0).count() as f64 / loss.len() as f64;
    let se = (p0 * (1.0 - p0) / loss.len() as f64).sqrt();
    assert!(
        (zero - p0).abs() < 4.5 * se + 5.0 / m as f64,
        "P(N=0) {zero}, exact {p0}"
    );
}

#[test]
fn manual_importance_tilts_an_uncertain_rate_consistently() {
    // The gamma-mixed source above (mean 2 over the horizon, cv 0.5) with its rate sampled at
    // 3 times the drawn value: the weighted mean count stays 2, the weighted P(N ≥ 10) the
    // negative binomial tail, and the weights average 1.
    let m = 5_000;
    let mut text = format!(
        "[simulation]\npaths = 200000\nhorizon_days = 365\nstep_days = 365\nseed = 37\n\
         [pool]\ncollateral_eth = {m}\n[[avs]]\nname = \"x\"\n\
         fault_rate_per_year = {{ dist = \"gamma\", mean = {}, cv = 0.5 }}\nfault_severity = 1.0\n\
         [importance]\nrate_multipliers = {{ avs_faults = 3.0 }}\n",
        2.0 / m as f64
    );
    for i in 0..m {
        text.push_str(&format!(
            "[[operators]]\nname = \"o{i}\"\nstake_eth = 1\nallocations = {{ x = 1.0 }}\n"
        ));
    }
    let r = simulate(&load(&text));
    let loss = r.column("slashed_eth").unwrap();
    let w = r.weights.as_deref().expect("weighted run");
    let n = loss.len() as f64;
    let mean_se = |f: &dyn Fn(f64) -> f64| {
        let t: Vec<f64> = loss.iter().zip(w).map(|(&l, &w)| w * f(l)).collect();
        let mean = t.iter().sum::<f64>() / n;
        let var = t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    };
    let (mw, se) = mean_se(&|_| 1.0);
    assert!((mw - 1.0).abs() < 4.0 * se, "mean weight {mw} ± {se}");
    let (ml, se) = mean_se(&|l| l);
    let bias = 4.0 * 1.25 / m as f64;
    assert!((ml - 2.0).abs() < 4.0 * se + 2.0 * bias, "mean {ml} ± {se}");
    let tail = panjer_negative_binomial(&[(1, 2.0)], 0.25, 9);
    let p10 = 1.0 - tail.iter().sum::<f64>();
    let (pt, se) = mean_se(&|l| f64::from(u8::from(l >= 10.0)));
    assert!(
        (pt - p10).abs() < 4.0 * se + bias,
        "P(N ≥ 10) {pt} ± {se}, exact {p10}"
    );
}

/// A small scenario using every kind of uncertain rate: a factor on AVS faults and a shock,
/// a lognormal exploit, a discrete beacon incident, manual importance on the shock.
fn mixed(paths: u64, importance: bool) -> Model {
    let mut text = format!(
        "[simulation]\npaths = {paths}\nhorizon_days = 364\nstep_days = 7\nseed = 41\n\
         [pool]\ncollateral_eth = 640\n[rewards]\nbase_apr = 0.03\n\
         [[rate_factors]]\nname = \"bugs\"\nvariance = 2.0\n\
         [[avs]]\nname = \"a\"\nfault_rate_per_year = {{ dist = \"gamma\", mean = 0.2, cv = 1.5 }}\nfault_rate_factor = \"bugs\"\nfault_severity = 0.3\n\
         [[avs]]\nname = \"b\"\nfault_rate_per_year = 0.1\nfault_rate_factor = \"bugs\"\nfault_severity = 0.2\n\
         [[shocks]]\nname = \"s\"\nrate_per_year = 0.5\nrate_factor = \"bugs\"\nseverity = {{ dist = \"uniform\", min = 0.05, max = 0.3 }}\n\
         [[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nrate_per_year = {{ dist = \"discrete\", values = [0.05, 1.0], weights = [0.8, 0.2] }}\nhit_probability = 0.3\n\
         [[exploits]]\nname = \"x\"\nrate_per_year = {{ dist = \"lognormal\", mean = 0.1, cv = 2 }}\nsize = 0.05\n"
    );
    for i in 0..20 {
        text.push_str(&format!(
            "[[operators]]\nname = \"o{i}\"\nstake_eth = 32\nallocations = {{ a = 0.5, b = 0.3 }}\n"
        ));
    }
    if importance {
        text.push_str("[importance]\nrate_multipliers = { s = 4, avs_faults = 2 }\n");
    }
    load(&text)
}

#[test]
fn uncertain_rates_reproduce_for_any_thread_count_and_in_replays() {
    for importance in [false, true] {
        let model = mixed(5_000, importance);
        let runs: Vec<SimResults> = [1, 2, 3]
            .iter()
            .map(|&threads| {
                let options = RunOptions {
                    threads,
                    ..RunOptions::default()
                };
                run(&model, &options, &|_| {}).unwrap()
            })
            .collect();
        for r in &runs[1..] {
            for name in runs[0].layout.names() {
                let (a, b) = (runs[0].column(name).unwrap(), r.column(name).unwrap());
                assert!(
                    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{name} differs across thread counts"
                );
            }
            assert_eq!(runs[0].weights, r.weights);
        }
        // Single paths re-simulated alone (`lrtsim replay`, risk contributions) give the
        // run's rows bit for bit.
        let r = &runs[0];
        let tilt = lrtsim_sim::resolve(&model);
        let mut replayer = lrtsim_sim::Replayer::with_tilt(&model, tilt.clone());
        let mut components = lrtsim_sim::ComponentReplayer::new(&model, tilt.as_ref());
        let loss = r.column("slashed_eth").unwrap();
        let mut paths: Vec<usize> = (0..loss.len()).collect();
        paths.sort_by(|&a, &b| loss[b].total_cmp(&loss[a]));
        for &p in paths.iter().take(20).chain([0usize, 1, 4_999].iter()) {
            let rep = replayer.replay(p as u64).unwrap();
            for name in r.layout.names() {
                let v = rep.value(name).unwrap();
                assert_eq!(
                    v.to_bits(),
                    r.column(name).unwrap()[p].to_bits(),
                    "{name} path {p}"
                );
            }
            let c = components.run(p as u64).unwrap();
            assert_eq!(
                c.row[r.layout.index("slashed_eth").unwrap()].to_bits(),
                loss[p].to_bits()
            );
            if let Some(w) = &r.weights {
                assert_eq!(c.weight.to_bits(), w[p].to_bits());
            }
        }
        // The uncertain sources fire: some path has losses from each.
        for src in ["s", "ds", "avs_faults"] {
            let col = r.column(&format!("slashed_eth.source.{src}")).unwrap();
            assert!(col.iter().any(|v| *v > 0.0), "{src} never fires");
        }
    }
}
