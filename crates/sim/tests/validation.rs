//! The engine against laws with known answers (`shared/domain/VALIDATION.md`): Vasicek and
//! Student-t factor copulas (exact finite-N laws), Marshall–Olkin common shocks, CreditRisk+
//! Poisson bands, closed forms for shocks and rewards. Every case is written as an ordinary
//! scenario file. Tolerances come from the Monte Carlo standard error (4–4.5 standard
//! errors; quantiles from the binomial law of the order statistics), plus, where the engine
//! approximates the reference law on purpose, a stated bound.

mod support;

use std::path::Path;

use lrtsim_report::metric_stats;
use lrtsim_scenario::{Method, Model, load_str};
use lrtsim_sim::{RunOptions, SimResults, run};
use support::exact::*;

/// A shipped validation scenario (`scenarios/validation/NAME.toml`) with overrides.
fn shipped(name: &str, overrides: &[&str]) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/validation")
        .join(format!("{name}.toml"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    lrtsim_scenario::load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

fn load(text: &str) -> Model {
    load_str(text, Path::new("validation.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(model: &Model) -> SimResults {
    run(model, &RunOptions::default(), &|_| {}).unwrap()
}

/// `n` operators of 1 ETH each, fully allocated to the one AVS `x`, plus `extra` TOML; one
/// step.
fn homogeneous(n: usize, paths: u64, horizon_days: u32, avs_extra: &str, extra: &str) -> String {
    let days = f64::from(horizon_days);
    homogeneous_steps(n, paths, days, days, avs_extra, extra)
}

/// [`homogeneous`] over `horizon_days` in steps of `step_days`.
fn homogeneous_steps(
    n: usize,
    paths: u64,
    horizon_days: f64,
    step_days: f64,
    avs_extra: &str,
    extra: &str,
) -> String {
    let mut s = format!(
        "[simulation]\npaths = {paths}\nhorizon_days = {horizon_days:?}\nstep_days = {step_days:?}\nseed = 11\n\
         [pool]\ncollateral_eth = {n}\n[[avs]]\nname = \"x\"\n{avs_extra}\n"
    );
    for i in 0..n {
        s.push_str(&format!(
            "[[operators]]\nname = \"o{i}\"\nstake_eth = 1\nallocations = {{ x = 1.0 }}\n"
        ));
    }
    s.push_str(extra);
    s
}

/// Empirical pmf of `round(values · scale)`.
fn empirical_pmf(values: &[f64], scale: f64, len: usize) -> Vec<f64> {
    let mut counts = vec![0u64; len];
    for v in values {
        let k = (v * scale).round() as usize;
        assert!(
            (v * scale - k as f64).abs() < 1e-6,
            "value {v} is not a multiple of 1/{scale}"
        );
        counts[k.min(len - 1)] += 1;
    }
    counts
        .iter()
        .map(|c| *c as f64 / values.len() as f64)
        .collect()
}

/// Every probability of at least `min_p` agrees within `z` standard errors, plus `bias`
/// (a bound on the difference between the engine's exact law and the reference).
fn assert_pmf_close(empirical: &[f64], exact: &[f64], n: usize, z: f64, bias: f64, min_p: f64) {
    for (k, (e, x)) in empirical.iter().zip(exact).enumerate() {
        if *x < min_p && *e < min_p {
            continue;
        }
        let se = (x * (1.0 - x) / n as f64).sqrt();
        assert!(
            (e - x).abs() <= z * se + bias,
            "P(K={k}): engine {e:.6}, exact {x:.6}, tolerance {:.6}",
            z * se + bias
        );
    }
}

/// The engine's VaR at `alpha` lies between the exact quantiles at alpha ± 4 binomial standard
/// errors of the empirical CDF; its ES within 4 standard errors of the exact ES.
fn assert_tail_close(values: &[f64], pmf: &[f64], unit: f64, alpha: f64) {
    let n = values.len() as f64;
    let stats = metric_stats("loss", values, &[alpha]);
    let level = &stats.levels[0];
    let d = 4.0 * (alpha * (1.0 - alpha) / n).sqrt();
    let lo = discrete_quantile(pmf, alpha - d) as f64 * unit;
    let hi = discrete_quantile(pmf, (alpha + d).min(1.0 - 1e-12)) as f64 * unit;
    assert!(
        level.var >= lo - 1e-12 && level.var <= hi + 1e-12,
        "VaR {alpha}: engine {}, exact band [{lo}, {hi}]",
        level.var
    );
    let exact_es = discrete_es(pmf, unit, alpha);
    let sigma = (level.es_hi - level.es_lo) / (2.0 * 1.959963984540054);
    assert!(
        (level.es - exact_es).abs() <= 4.0 * sigma,
        "ES {alpha}: engine {}, exact {exact_es}, 4σ = {}",
        level.es,
        4.0 * sigma
    );
}

fn force_method(model: &mut Model, method: Method) {
    let c = model.copulas.remove(0);
    model.copulas.insert(0, c.with_method(method));
}

/// `n` operators of 1 ETH fully allocated to one AVS, one day (one step, one factor period),
/// Gaussian copula p = 0.01, ρ = 0.12, severity 1 (the shipped vasicek.toml has n = 40).
fn vasicek_text(n: usize, paths: u64) -> String {
    homogeneous(
        n,
        paths,
        1,
        "",
        "[[copulas]]\nname = \"c\"\nfault_prob_per_day = 0.01\nglobal_correlation = 0.12\nseverity = 1.0\n",
    )
}

/// The number of pairs faulted (N pairs, severity 1) follows `exact`: every probability
/// of at least 1e-4 within 4.5 standard errors, and VaR/ES at each of `levels`.
fn check_fault_count_law(mut model: Model, method: Option<Method>, exact: &[f64], levels: &[f64]) {
    let n = model.pairs.len();
    if let Some(m) = method {
        force_method(&mut model, m);
    }
    let results = simulate(&model);
    let loss = results.column("slashed_fraction").unwrap();
    assert_pmf_close(
        &empirical_pmf(loss, n as f64, n + 1),
        exact,
        loss.len(),
        4.5,
        0.0,
        1e-4,
    );
    for &alpha in levels {
        assert_tail_close(loss, exact, 1.0 / n as f64, alpha);
    }
}

/// Vasicek's case (p = 0.01, ρ = 0.12) for the model's number of pairs.
fn check_vasicek(model: Model, method: Option<Method>) {
    let exact = vasicek_finite_pmf(model.pairs.len(), 0.01, 0.12);
    check_fault_count_law(model, method, &exact, &[0.99, 0.999]);
}

#[test]
fn vasicek_union_sampler_matches_exact_finite_n_law() {
    // n·p = 0.4: the union (Karp–Luby) sampler, forced (exchangeable pairs get the table).
    let model = shipped("vasicek", &[]);
    assert_eq!(model.copulas[0].method(), Method::Table);
    assert_eq!(model.pairs.len(), 40);
    check_vasicek(model, Some(Method::Union));
}

#[test]
fn vasicek_table_sampler_matches_exact_finite_n_law() {
    // The default for exchangeable pairs: 40 pairs (n·p = 0.4) and 1,000 (n·p = 10).
    check_vasicek(shipped("vasicek", &[]), None);
    let model = load(&vasicek_text(1000, 200_000));
    assert_eq!(model.copulas[0].method(), Method::Table);
    check_vasicek(model, None);
}

#[test]
fn vasicek_direct_sampler_matches_exact_finite_n_law() {
    check_vasicek(shipped("vasicek", &[]), Some(Method::Direct));
    // n·p = 10 (generated: 1,000 operators).
    check_vasicek(load(&vasicek_text(1000, 200_000)), Some(Method::Direct));
}

#[test]
fn vasicek_large_portfolio_approaches_the_limit_law() {
    // For N = 1000 the exact finite-N quantiles are within one loss unit of the Vasicek limit
    // (VALIDATION.md: VaR99 0.052527, ES99 0.068709), and the engine reproduces them.
    let n = 1000;
    let exact = vasicek_finite_pmf(n, 0.01, 0.12);
    let var99 = discrete_quantile(&exact, 0.99) as f64 / n as f64;
    assert!((var99 - 0.052527).abs() < 0.002, "finite-N VaR99 {var99}");
    let model = load(&homogeneous(
        n,
        200_000,
        1,
        "",
        "[[copulas]]\nname = \"c\"\nfault_prob_per_day = 0.01\nglobal_correlation = 0.12\nseverity = 1.0\n",
    ));
    let results = simulate(&model);
    let stats = metric_stats("l", results.column("slashed_fraction").unwrap(), &[0.99]);
    let l = &stats.levels[0];
    assert!(
        (l.var - vasicek_large_n_quantile(0.01, 0.12, 0.99)).abs() < 0.003,
        "VaR99 {}",
        l.var
    );
    assert!(
        (l.es - vasicek_large_n_es(0.01, 0.12, 0.99)).abs()
            < 0.003 + 4.0 * (l.es_hi - l.es_lo) / 3.92,
        "ES99 {}",
        l.es
    );
}

#[test]
fn student_t_copula_matches_exact_finite_n_law_with_both_samplers() {
    let (n, p, rho, nu) = (50, 0.01, 0.12, 4.0);
    let exact = t_copula_finite_pmf(n, p, rho, nu);
    for method in [Method::Union, Method::Direct] {
        let model = shipped("student-t", &[]);
        assert_eq!(model.pairs.len(), n);
        check_fault_count_law(model, Some(method), &exact, &[0.99]);
    }
}

#[test]
fn group_factors_give_the_documented_pairwise_correlation() {
    // 4 groups × 5 pairs, each pair on its own AVS so per-AVS columns show each pair's fault.
    // Same group: asset correlation ρ_global + ρ_group; different groups: ρ_global.
    let (p, rg, rk) = (0.02, 0.1, 0.3);
    let c = norm_inv(p);
    let same = bivariate_normal_cdf(c, c, rg + rk);
    let cross = bivariate_normal_cdf(c, c, rg);
    for method in [Method::Union, Method::Direct] {
        let mut model = shipped("group-factors", &[]);
        force_method(&mut model, method);
        let r = simulate(&model);
        let hit = |i: usize| r.column(&format!("slashed_eth.avs.a{i}")).unwrap();
        let n = r.paths() as f64;
        let freq = |i: usize, j: usize| {
            hit(i)
                .iter()
                .zip(hit(j))
                .filter(|(a, b)| **a > 0.0 && **b > 0.0)
                .count() as f64
                / n
        };
        // Pool the 10 same-group pairs of group 0 and 25 cross pairs (groups 0 and 1): their
        // average has at most the standard error of a single pair.
        let same_emp = (0..5)
            .flat_map(|i| (i + 1..5).map(move |j| (i, j)))
            .map(|(i, j)| freq(i, j))
            .sum::<f64>()
            / 10.0;
        let cross_emp = (0..5)
            .flat_map(|i| (5..10).map(move |j| (i, j)))
            .map(|(i, j)| freq(i, j))
            .sum::<f64>()
            / 25.0;
        let marginal = (0..20)
            .map(|i| hit(i).iter().filter(|v| **v > 0.0).count() as f64 / n)
            .sum::<f64>()
            / 20.0;
        let tol = |q: f64| 4.0 * (q * (1.0 - q) / n).sqrt();
        assert!(
            (same_emp - same).abs() < tol(same),
            "{method:?}: same-group joint {same_emp} vs {same}"
        );
        assert!(
            (cross_emp - cross).abs() < tol(cross),
            "{method:?}: cross-group joint {cross_emp} vs {cross}"
        );
        assert!(
            (marginal - p).abs() < tol(p),
            "{method:?}: marginal {marginal} vs {p}"
        );
    }
}

/// The loss columns (ETH and fractions slashed, in total, by kind, per AVS and per source)
/// of `paths` paths of the scenario `file` with `simulation.step_days` overridden.
fn loss_columns(file: &Path, paths: u64, step_days: f64) -> Vec<(String, Vec<f64>)> {
    let sets = vec![
        format!("simulation.paths={paths}"),
        format!("simulation.step_days={step_days}"),
    ];
    let model = lrtsim_scenario::load_file(file, &sets).unwrap_or_else(|e| panic!("{e}"));
    let r = simulate(&model);
    r.layout
        .names()
        .iter()
        .filter(|c| {
            c.contains("slashed") || c.starts_with("beacon_") || c.as_str() == "inactivity_leak_eth"
        })
        .map(|c| (c.to_string(), r.column(c).unwrap().to_vec()))
        .collect()
}

#[test]
fn losses_do_not_depend_on_the_step() {
    // Without [withdrawals] or [market] nothing random is drawn per step: every event —
    // copula faults at the end of their factor period included — is drawn from the path's
    // stream without reference to the steps and applied in time order. So the same seed gives
    // every path the same losses at step_days 1, 0.5 and 0.25 (rewards, which accrue per step,
    // differ): baseline (a Student-t copula with group factors, shocks, a beacon incident,
    // AVS faults) and the shipped copula validation cases.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    for (file, paths) in [
        (root.join("baseline.toml"), 20_000),
        (root.join("validation/vasicek.toml"), 20_000),
        (root.join("validation/student-t.toml"), 20_000),
        (root.join("validation/group-factors.toml"), 20_000),
    ] {
        let daily = loss_columns(&file, paths, 1.0);
        assert!(
            daily
                .iter()
                .any(|(c, v)| c == "slashed_eth" && v.iter().any(|x| *x > 0.0))
        );
        for step in [0.5, 0.25] {
            let finer = loss_columns(&file, paths, step);
            assert_eq!(finer.len(), daily.len());
            for ((name, a), (_, b)) in daily.iter().zip(&finer) {
                assert!(
                    a == b,
                    "{}: {name} differs between step_days 1 and {step}",
                    file.display()
                );
            }
        }
    }
}

/// Checks the law of K, the number of pairs faulted at least once (severity 1, `n` pairs),
/// against `exact`: the mean within 4 standard errors (from the exact variance), P(K ≥ k)
/// for each k in `tails` within 4 binomial standard errors, and every probability ≥ 1e-4
/// within 4.5 standard errors.
fn check_fault_count(model: &Model, exact: &[f64], tails: &[usize], what: &str) {
    let n = model.pairs.len();
    let r = simulate(model);
    let loss = r.column("slashed_fraction").unwrap();
    let paths = loss.len() as f64;
    let k: Vec<f64> = loss.iter().map(|l| (l * n as f64).round()).collect();
    let mean = k.iter().sum::<f64>() / paths;
    let exact_mean = pmf_mean(exact, 1.0);
    let exact_var: f64 = exact
        .iter()
        .enumerate()
        .map(|(j, q)| q * (j as f64 - exact_mean).powi(2))
        .sum();
    let se = (exact_var / paths).sqrt();
    assert!(
        (mean - exact_mean).abs() < 4.0 * se,
        "{what}: E[K] {mean} vs exact {exact_mean} ± {se}"
    );
    for &t in tails {
        let q: f64 = exact[t..].iter().sum();
        let got = k.iter().filter(|&&x| x >= t as f64).count() as f64 / paths;
        let se = (q * (1.0 - q) / paths).sqrt();
        assert!(
            (got - q).abs() < 4.0 * se,
            "{what}: P(K ≥ {t}) {got} vs exact {q} ± {se}"
        );
    }
    assert_pmf_close(
        &empirical_pmf(loss, n as f64, n + 1),
        exact,
        loss.len(),
        4.5,
        0.0,
        1e-4,
    );
}

/// A Gaussian copula over every pair: ρ = 0.12, severity 1, and `fields` (its probability
/// and period).
fn gaussian_copula(fields: &str) -> String {
    format!("[[copulas]]\nname = \"c\"\n{fields}\nglobal_correlation = 0.12\nseverity = 1.0\n")
}

#[test]
fn the_copula_law_matches_its_periods_at_every_step() {
    // 40 pairs over 3 days with the default one-day factor period and p = 0.01 per day: three
    // factor draws whatever the step, so K follows the three-period law (support::exact::
    // vasicek_periods_pmf) at step_days 1, 0.5 and 0.25, with every sampler. (Before factor
    // periods, step_days 0.25 drew twelve factors.)
    let exact = vasicek_periods_pmf(40, &[0.01; 3], 0.12);
    let copula = gaussian_copula("fault_prob_per_day = 0.01");
    for step in [1.0, 0.5, 0.25] {
        for method in [Method::Union, Method::Direct, Method::Table] {
            let mut model = load(&homogeneous_steps(40, 200_000, 3.0, step, "", &copula));
            assert_eq!(model.copulas[0].periods.n_periods, 3);
            assert_eq!(model.copulas[0].p_period, 0.01);
            force_method(&mut model, method);
            let what = format!("step_days {step}, {method:?}");
            check_fault_count(&model, &exact, &[1, 2, 3, 5, 8, 12], &what);
        }
    }
}

#[test]
fn a_two_day_factor_period_draws_once_per_period() {
    // factor_period_days = 2 with p per day: the period's probability is 1 − (1 − p)², here
    // 0.01, and the factors are drawn once per period.
    let p_day = 1.0 - 0.99f64.sqrt();
    let copula = gaussian_copula(&format!(
        "factor_period_days = 2\nfault_prob_per_day = {p_day:?}"
    ));
    // Over 2 days, one period: the Vasicek law with p = 0.01, at any step.
    for step in [2.0, 1.0, 0.5] {
        let model = load(&homogeneous_steps(40, 400_000, 2.0, step, "", &copula));
        let c = &model.copulas[0];
        assert_eq!((c.periods.n_periods, c.periods.period_days), (1, 2.0));
        assert!((c.p_period - 0.01).abs() < 1e-15, "{}", c.p_period);
        check_vasicek(model, None);
    }
    // Over 6 days, three draws of the factors (not six, as daily factors with the same
    // marginal would give: that law is far outside the tolerance, so the check has power).
    let three = vasicek_periods_pmf(40, &[0.01; 3], 0.12);
    let six = vasicek_periods_pmf(40, &[p_day; 6], 0.12);
    let paths = 200_000;
    let separation = three
        .iter()
        .zip(&six)
        .map(|(a, b)| (a - b).abs() / (a * (1.0 - a) / paths as f64).sqrt())
        .fold(0.0, f64::max);
    assert!(
        separation > 20.0,
        "three vs six draws: {separation} SE apart"
    );
    let model = load(&homogeneous_steps(40, paths, 6.0, 1.0, "", &copula));
    assert_eq!(model.copulas[0].periods.n_periods, 3);
    check_fault_count(
        &model,
        &three,
        &[1, 2, 3, 5, 8, 12],
        "6 days, 2-day periods",
    );
    // Over 5 days: periods of 2, 2 and 1 days; the last, shortened one has probability
    // 1 − (1 − 0.01)^(1/2) = 1 − (1 − p)^1 = p.
    let model = load(&homogeneous_steps(40, paths, 5.0, 0.5, "", &copula));
    let c = &model.copulas[0];
    assert_eq!(c.periods.n_periods, 3);
    assert_eq!(c.periods.last_days, 1.0);
    assert!(
        (c.p_last_period - p_day).abs() < 1e-16,
        "{}",
        c.p_last_period
    );
    let exact = vasicek_periods_pmf(40, &[0.01, 0.01, p_day], 0.12);
    check_fault_count(
        &model,
        &exact,
        &[1, 2, 3, 5, 8, 12],
        "5 days, 2-day periods",
    );
}

#[test]
fn the_table_sampler_draws_fault_periods_by_their_number() {
    // Small per-period fault probabilities over many periods: the table sampler draws how many
    // of the 30 full periods (and of the shortened last one) have a fault, from the binomial
    // law, then which ones. The number of pairs faulted at least once (severity 1) follows the
    // 31-period law.
    let p_day = 0.002;
    let copula = gaussian_copula(&format!("fault_prob_per_day = {p_day:?}"));
    let model = load(&homogeneous_steps(40, 200_000, 30.5, 0.5, "", &copula));
    let c = &model.copulas[0];
    assert_eq!(c.method(), Method::Table);
    assert_eq!((c.periods.n_periods, c.periods.last_days), (31, 0.5));
    assert!(
        c.days_table().is_some(),
        "the fault periods are drawn by their number"
    );
    let mut p = vec![p_day; 30];
    p.push(c.p_last_period);
    let exact = vasicek_periods_pmf(40, &p, 0.12);
    check_fault_count(
        &model,
        &exact,
        &[1, 2, 3, 5, 8],
        "31 periods, table sampler",
    );
}

fn norm_inv(q: f64) -> f64 {
    std_normal_inv_cdf(q)
}

#[test]
fn marshall_olkin_exchangeable_case() {
    // n = 10 names, own shocks at λ_I = 0.02 (the AVS's independent faults), a global shock
    // at λ_G = 0.005 hitting all, t = 1 year, loss given default 1.
    let r = simulate(&shipped("marshall-olkin", &[]));
    let loss = r.column("slashed_fraction").unwrap();
    let exact = marshall_olkin_pmf(10, 0.02, 0.005, 1.0);
    assert!((exact[0] - 0.8146473164).abs() < 1e-9 && (exact[10] - 0.0049875208).abs() < 1e-9);
    assert_pmf_close(
        &empirical_pmf(loss, 10.0, 11),
        &exact,
        loss.len(),
        4.5,
        0.0,
        0.0,
    );
    let k: Vec<f64> = loss.iter().map(|v| v * 10.0).collect();
    let stats = metric_stats("k", &k, &[]);
    assert!(
        (stats.mean - 0.2469008797).abs() < 4.0 * stats.std_error,
        "E[K] = {} ± {}",
        stats.mean,
        stats.std_error
    );
}

#[test]
fn creditrisk_plus_poisson_bands() {
    // Bands (ν, μ) = (1, 2.0), (2, 1.0), (5, 0.5): M operators of 8 ETH, each allocating
    // 1, 2 and 5 ETH to the AVSs b1, b2, b5, whose independent fault rates are μ/M per pair.
    // A band's default count is Binomial(M, 1 − e^(−μ/M)); Le Cam's inequality bounds its
    // distance to Poisson(μ) by M·(μ/M)², so the engine's law is within Σμ²/M = 5.25/M of
    // CreditRisk+ in total variation.
    let m = 20_000usize;
    let mut text = format!(
        "[simulation]\npaths = 400000\nhorizon_days = 365\nstep_days = 365\nseed = 3\n[pool]\ncollateral_eth = {}\n",
        8 * m
    );
    for (name, mu) in [("b1", 2.0), ("b2", 1.0), ("b5", 0.5)] {
        text.push_str(&format!(
            "[[avs]]\nname = \"{name}\"\nfault_rate_per_year = {}\nfault_severity = 1.0\n",
            mu / m as f64
        ));
    }
    for i in 0..m {
        text.push_str(&format!("[[operators]]\nname = \"o{i}\"\nstake_eth = 8\nallocations = {{ b1 = 0.125, b2 = 0.25, b5 = 0.625 }}\n"));
    }
    let r = simulate(&load(&text));
    let loss = r.column("slashed_eth").unwrap();
    let exact = creditrisk_plus_pmf(&[(1, 2.0), (2, 1.0), (5, 0.5)], 80);
    let published = [
        0.03019738, 0.06039477, 0.09059215, 0.10065794, 0.09562505, 0.09361189, 0.08824346,
    ];
    for (k, v) in published.iter().enumerate() {
        assert!((exact[k] - v).abs() < 1e-8);
    }
    let bias = 5.25 / m as f64;
    assert_pmf_close(
        &empirical_pmf(loss, 1.0, 81),
        &exact,
        loss.len(),
        4.5,
        bias,
        0.0,
    );
    let stats = metric_stats("l", loss, &[0.99, 0.999]);
    assert!(
        (stats.mean - 6.5).abs() < 4.0 * stats.std_error + 6.5 * bias,
        "mean {}",
        stats.mean
    );
    assert_tail_close(loss, &exact, 1.0, 0.99);
    assert_tail_close(loss, &exact, 1.0, 0.999);
    assert_eq!(discrete_quantile(&exact, 0.99), 19);
    assert_eq!(discrete_quantile(&exact, 0.999), 25);
}

#[test]
fn common_shock_means_match_closed_form_for_every_severity_law() {
    // N ~ Poisson(λT) events, each slashing S_i of what is left: E[loss fraction] =
    // 1 − E[(1 − μ_S)^N] = 1 − exp(−λ T q μ_S) per hit unit, q the hit probability.
    let severities = [
        ("0.2", 0.2),
        ("{ dist = \"uniform\", min = 0.1, max = 0.5 }", 0.3),
        ("{ dist = \"beta\", mean = 0.15, sd = 0.1 }", 0.15),
        (
            "{ dist = \"empirical\", values = [0.1, 0.5, 1.0], weights = [6, 3, 1] }",
            0.31,
        ),
    ];
    for (sev, mu) in severities.map(|(s, m): (&str, f64)| (s, m)) {
        for (hit_per, q, draw) in [
            ("event", 1.0, "per_event"),
            ("operator", 0.4, "per_target"),
            ("allocation", 0.7, "per_event"),
        ] {
            let shock = format!(
                "[[shocks]]\nname = \"s\"\nrate_per_year = 0.8\nhit_per = \"{hit_per}\"\nhit_probability = {q}\nseverity = {sev}\nseverity_draw = \"{draw}\"\n"
            );
            let r = simulate(&load(&homogeneous(8, 100_000, 365, "", &shock)));
            let stats = metric_stats("l", r.column("slashed_fraction").unwrap(), &[]);
            let exact = 1.0 - (-0.8 * q * mu).exp();
            assert!(
                (stats.mean - exact).abs() < 4.0 * stats.std_error,
                "{sev} {hit_per}: mean {} vs {exact} ± {}",
                stats.mean,
                stats.std_error
            );
        }
    }
}

#[test]
fn rewards_accrue_in_closed_form_without_risk() {
    // 40% of stake allocated to an AVS paying 2%; base 3% + MEV 1% on all stake; 10%
    // commission and 10% protocol fee; 365 daily steps. NAV return is exactly
    // (0.04 + 0.4·0.02)·0.9·0.9 on every path, and nothing is slashed.
    let r = simulate(&shipped("zero-risk", &[]));
    let expected = (0.04 + 0.4 * 0.02) * 0.81;
    for (i, v) in r.column("nav_return").unwrap().iter().enumerate() {
        assert!((v - expected).abs() < 1e-12, "path {i}: {v}");
    }
    assert!(r.column("slashed_eth").unwrap().iter().all(|v| *v == 0.0));
    let fees = r.column("fees_eth").unwrap()[0];
    assert!(
        (fees - 1000.0 * 0.048 * (1.0 - 0.81)).abs() < 1e-9,
        "fees {fees}"
    );
}

#[test]
fn hits_per_event_hits_exactly_that_many_units() {
    // 8 operators, each on its own AVS (so per-AVS columns are per operator); severity 1 and
    // 3 operators per event: a path's loss is 0 or at least 3/8, in eighths, exactly 3/8
    // when there is one event; each operator is hit at least once with probability
    // 1 − exp(−λ·3/8).
    let mut text =
        "[simulation]\npaths = 50000\nhorizon_days = 365\nseed = 8\n[pool]\ncollateral_eth = 8\n"
            .to_string();
    for i in 0..8 {
        text.push_str(&format!("[[operators]]\nname = \"o{i}\"\nstake_eth = 1\nallocations = {{ a{i} = 1.0 }}\n[[avs]]\nname = \"a{i}\"\n"));
    }
    text.push_str("[[shocks]]\nname = \"s\"\nrate_per_year = 0.5\nhit_per = \"operator\"\nhits_per_event = 3\nseverity = 1.0\n");
    let r = simulate(&load(&text));
    let n = r.paths() as f64;
    let pmf = empirical_pmf(r.column("slashed_fraction").unwrap(), 8.0, 9);
    assert_eq!(pmf[1] + pmf[2], 0.0, "fewer than 3 operators hit");
    let one = 0.5 * (-0.5f64).exp();
    assert!(
        (pmf[3] - one).abs() < 4.5 * (one * (1.0 - one) / n).sqrt(),
        "P(loss = 3/8) = {}",
        pmf[3]
    );
    let q = 1.0 - (-0.5 * 3.0 / 8.0f64).exp();
    for i in 0..8 {
        let f = r
            .column(&format!("slashed_eth.avs.a{i}"))
            .unwrap()
            .iter()
            .filter(|v| **v > 0.0)
            .count() as f64
            / n;
        assert!(
            (f - q).abs() < 4.5 * (q * (1.0 - q) / n).sqrt(),
            "operator {i} hit with frequency {f}, expected {q}"
        );
    }
}
