//! Importance sampling against closed forms: tilted Poisson rates and a shifted copula factor
//! leave every weighted estimate unbiased (checked against exact laws within 4 standard
//! errors) while shrinking the error of rare-event estimates; the cross-entropy tilt is
//! reproducible and independent of the thread count.

mod support;

use std::path::Path;

use lrtsim_scenario::{Model, load_str};
use lrtsim_sim::{RunOptions, SimResults, run};
use support::exact::{vasicek_finite_pmf, vasicek_periods_pmf};

fn load(text: &str) -> Model {
    load_str(text, Path::new("importance.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(model: &Model, threads: usize) -> SimResults {
    let options = RunOptions {
        threads,
        ..RunOptions::default()
    };
    run(model, &options, &|_| {}).unwrap()
}

/// Weighted mean of `f(value)` and its standard error: (1/n) Σ w·f(L), sd(w·f(L))/√n.
fn weighted_mean(values: &[f64], weights: &[f64], f: impl Fn(f64) -> f64) -> (f64, f64) {
    let n = values.len() as f64;
    let terms: Vec<f64> = values
        .iter()
        .zip(weights)
        .map(|(&v, &w)| w * f(v))
        .collect();
    let mean = terms.iter().sum::<f64>() / n;
    let var = terms.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// One operator fully allocated to one AVS; a shock slashing 20% of it at 0.05 a year,
/// sampled at `multiplier` times its rate.
fn one_shock(paths: u64, multiplier: f64) -> Model {
    load(&format!(
        "[simulation]\npaths = {paths}\nhorizon_days = 365\nstep_days = 365\nseed = 5\n\
         [pool]\ncollateral_eth = 100\n\
         [[operators]]\nname = \"a\"\nshare = 1\nallocations = {{ x = 1.0 }}\n\
         [[avs]]\nname = \"x\"\n\
         [[shocks]]\nname = \"bug\"\nrate_per_year = 0.05\nseverity = 0.2\n\
         [importance]\nrate_multipliers = {{ bug = {multiplier} }}\n"
    ))
}

#[test]
fn tilted_rates_leave_the_weighted_estimates_unbiased() {
    let paths = 200_000;
    let model = one_shock(paths, 20.0);
    let r = simulate(&model, 0);
    let loss = r.column("slashed_fraction").unwrap();
    let w = r.weights.as_deref().expect("weighted run");
    // Under the tilt N ~ Poisson(1), so P(N ≥ 1) ≈ 0.63 instead of 0.049.
    let hit = loss.iter().filter(|&&l| l > 0.0).count() as f64 / paths as f64;
    assert!(
        (hit - (1.0 - (-1.0f64).exp())).abs() < 0.01,
        "share hit {hit}"
    );
    // E[W] = 1.
    let (mw, se) = weighted_mean(loss, w, |_| 1.0);
    assert!((mw - 1.0).abs() < 4.0 * se, "mean weight {mw} ± {se}");
    // E[1 − 0.8^N] = 1 − e^(−0.05·0.2).
    let (mean, se) = weighted_mean(loss, w, |l| l);
    let exact = 1.0 - (-0.01f64).exp();
    assert!(
        (mean - exact).abs() < 4.0 * se,
        "mean {mean} ± {se}, exact {exact}"
    );
    // P(N ≥ 3) = 1 − e^(−μ)(1 + μ + μ²/2), μ = 0.05: about 2e-5, rare for plain sampling.
    let mu: f64 = 0.05;
    let p3 = 1.0 - (-mu).exp() * (1.0 + mu + mu * mu / 2.0);
    let three = 1.0 - 0.8f64.powi(3) - 1e-12;
    let (est, se) = weighted_mean(loss, w, |l| f64::from(u8::from(l >= three)));
    assert!(
        (est - p3).abs() < 4.0 * se,
        "P(N ≥ 3) {est} ± {se}, exact {p3}"
    );
    // Plain sampling's standard error for it would be √(p(1 − p)/n).
    let plain_se = (p3 * (1.0 - p3) / paths as f64).sqrt();
    assert!(se * 10.0 < plain_se, "IS {se} vs plain {plain_se}");
}

#[test]
fn an_untilted_importance_section_changes_nothing_but_adds_unit_weights() {
    let tilted = simulate(&one_shock(5_000, 1.0), 0);
    let mut plain = one_shock(5_000, 1.0);
    plain.importance = None;
    let plain = simulate(&plain, 0);
    assert_eq!(tilted.columns, plain.columns);
    assert!(tilted.weights.unwrap().iter().all(|&w| w == 1.0));
    assert!(plain.weights.is_none());
}

/// 40 pairs, one day (one step, one factor period), Gaussian copula p = 0.01, ρ = 0.12
/// (Vasicek), factor shifted by `shift` standard deviations.
fn vasicek(paths: u64, shift: f64) -> Model {
    load(&copula_text(
        paths,
        1.0,
        1.0,
        "fault_prob_per_day = 0.01",
        &format!("[importance]\nfactor_shifts = {{ c = {shift} }}\n"),
    ))
}

/// 40 pairs of 1 ETH over `horizon_days` in steps of `step_days`, a Gaussian copula `c`
/// with ρ = 0.12, severity 1 and `fields` (probability, period), then `extra`.
fn copula_text(paths: u64, horizon_days: f64, step_days: f64, fields: &str, extra: &str) -> String {
    let mut s = format!(
        "[simulation]\npaths = {paths}\nhorizon_days = {horizon_days:?}\nstep_days = {step_days:?}\nseed = 7\n\
         [pool]\ncollateral_eth = 40\n[[avs]]\nname = \"x\"\n"
    );
    for i in 0..40 {
        s.push_str(&format!(
            "[[operators]]\nname = \"o{i}\"\nstake_eth = 1\nallocations = {{ x = 1.0 }}\n"
        ));
    }
    s.push_str(&format!(
        "[[copulas]]\nname = \"c\"\n{fields}\nglobal_correlation = 0.12\nseverity = 1.0\n{extra}"
    ));
    s
}

/// Faulted pairs per path of the 40-pair Vasicek scenarios (each fault slashes 1/40).
fn fault_counts(r: &SimResults) -> Vec<f64> {
    r.column("slashed_fraction")
        .unwrap()
        .iter()
        .map(|l| (l * 40.0).round())
        .collect()
}

#[test]
fn a_shifted_factor_reproduces_the_vasicek_law_with_smaller_errors_in_the_tail() {
    let paths = 100_000;
    let r = simulate(&vasicek(paths, 2.0), 0);
    let faults = fault_counts(&r);
    let w = r.weights.as_deref().unwrap();
    let exact = vasicek_finite_pmf(40, 0.01, 0.12);
    let (mw, se) = weighted_mean(&faults, w, |_| 1.0);
    assert!((mw - 1.0).abs() < 4.0 * se, "mean weight {mw} ± {se}");
    for k in [1usize, 3, 6, 10] {
        let tail: f64 = exact[k..].iter().sum();
        let (est, se) = weighted_mean(&faults, w, |f| f64::from(u8::from(f >= k as f64)));
        assert!(
            (est - tail).abs() < 4.0 * se,
            "P(K ≥ {k}): {est} ± {se}, exact {tail}"
        );
        if k >= 6 {
            let plain_se = (tail * (1.0 - tail) / paths as f64).sqrt();
            assert!(
                se * 3.0 < plain_se,
                "P(K ≥ {k}): IS {se} vs plain {plain_se}"
            );
        }
    }
}

#[test]
fn a_shifted_factor_is_drawn_and_weighted_once_per_period() {
    // 5 days in factor periods of 2, 2 and 1 days (p = 0.005 per day), half-day steps, the
    // global factor of each period shifted by 1: the likelihood ratio has one factor per
    // period, exp(s·ΣₖZₖ + 3·s²/2) — with one per step (10) the mean weight would be
    // e^(7/2) ≈ 33 — and the weighted law of K, the pairs faulted, is the three-period law.
    let paths = 100_000;
    let model = load(&copula_text(
        paths,
        5.0,
        0.5,
        "factor_period_days = 2\nfault_prob_per_day = 0.005",
        "[importance]\nfactor_shifts = { c = 1.0 }\n",
    ));
    assert_eq!(
        model.importance.as_ref().unwrap().mean_events.copulas,
        vec![3.0]
    );
    let c = &model.copulas[0];
    let exact = vasicek_periods_pmf(40, &[c.p_period, c.p_period, c.p_last_period], 0.12);
    assert!((c.p_last_period - 0.005).abs() < 1e-16);
    let r = simulate(&model, 0);
    let faults = fault_counts(&r);
    let w = r.weights.as_deref().unwrap();
    let (mw, se) = weighted_mean(&faults, w, |_| 1.0);
    assert!((mw - 1.0).abs() < 4.0 * se, "mean weight {mw} ± {se}");
    let exact_mean: f64 = exact.iter().enumerate().map(|(k, q)| k as f64 * q).sum();
    let (mean, se) = weighted_mean(&faults, w, |f| f);
    assert!(
        (mean - exact_mean).abs() < 4.0 * se,
        "E[K] {mean} ± {se}, exact {exact_mean}"
    );
    for k in [1usize, 3, 6, 10] {
        let tail: f64 = exact[k..].iter().sum();
        let (est, se) = weighted_mean(&faults, w, |f| f64::from(u8::from(f >= k as f64)));
        assert!(
            (est - tail).abs() < 4.0 * se,
            "P(K ≥ {k}): {est} ± {se}, exact {tail}"
        );
    }
}

#[test]
fn the_cross_entropy_tilt_does_not_depend_on_the_step() {
    // A copula with a 2-day factor period over 4 days: the pilots draw the same factors and
    // faults at any step length, and the shift is their mean Σₖ(−Zₖ) over the n_periods = 2
    // periods, so the chosen tilt and the run are the same at step_days 4, 1 and 0.25.
    let at = |step: f64| {
        let model = load(&copula_text(
            4_000,
            4.0,
            step,
            "factor_period_days = 2\nfault_prob_per_day = 0.002",
            "[importance]\nmethod = \"auto\"\ntarget_level = 0.99\npilot_paths = 5000\n",
        ));
        simulate(&model, 0)
    };
    let coarse = at(4.0);
    let tilt = coarse.tilt.clone().unwrap();
    assert!(tilt.tilt.copulas[0] > 0.5, "{tilt:?}");
    for step in [1.0, 0.25] {
        let fine = at(step);
        assert_eq!(
            fine.tilt.as_ref().unwrap().tilt,
            tilt.tilt,
            "step_days {step}"
        );
        assert_eq!(fine.weights, coarse.weights, "step_days {step}");
        assert_eq!(
            fine.column("slashed_fraction"),
            coarse.column("slashed_fraction"),
            "step_days {step}"
        );
    }
}

/// The shipped rare-tail scenario with `paths` paths and a smaller pilot.
fn rare_tail(paths: u64) -> Model {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/rare-tail.toml");
    let set = vec![
        format!("simulation.paths={paths}"),
        "importance.pilot_paths=5000".to_string(),
    ];
    lrtsim_scenario::load_file(&file, &set).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_cross_entropy_tilt_is_reproducible_for_any_thread_count() {
    let model = rare_tail(3_000);
    let one = simulate(&model, 1);
    let two = simulate(&model, 2);
    assert_eq!(one.tilt, two.tilt);
    assert_eq!(one.columns, two.columns);
    assert_eq!(one.weights, two.weights);
    let tilt = one.tilt.unwrap();
    assert!(tilt.method.starts_with("auto"), "{}", tilt.method);
    assert!(tilt.iterations.last().unwrap().reached_level, "{tilt:?}");
    // The once-in-1000-years shock drives the 99.9% tail: it is tilted the most.
    let entries = tilt.tilt.entries(&model.scenario);
    let top = entries.iter().max_by(|a, b| a.2.total_cmp(&b.2)).unwrap();
    assert_eq!(top.0, "shared-dependency", "{entries:?}");
    assert!(top.2 > 100.0, "{entries:?}");
}

/// ES at 99.9% of `slashed_fraction` with its interval, by the report's estimator.
fn es_999(r: &SimResults) -> (f64, f64, f64) {
    let loss = r.column("slashed_fraction").unwrap();
    let mut acc = lrtsim_report::MetricAccumulator::new(usize::MAX, r.weights.is_some());
    acc.add_chunk(r.first_path, loss, r.weights.as_deref());
    let stats = acc.stats("slashed_fraction", &[0.999]);
    let l = stats.level(0.999).unwrap();
    (l.es, l.es_lo, l.es_hi)
}

#[test]
fn es_999_reaches_plain_monte_carlo_precision_with_ten_times_fewer_paths() {
    // scenarios/rare-tail.toml: the 99.9% tail is set by shocks of a few times a millennium.
    let mut plain = rare_tail(200_000);
    plain.importance = None;
    let (es_plain, lo_plain, hi_plain) = es_999(&simulate(&plain, 0));
    let (es_is, lo_is, hi_is) = es_999(&simulate(&rare_tail(20_000), 0));
    let (width_plain, width_is) = (hi_plain - lo_plain, hi_is - lo_is);
    assert!(
        width_is <= width_plain,
        "ES99.9 interval: {width_is} with 20,000 tilted paths, {width_plain} with 200,000 plain ones"
    );
    // Both estimate the same ES: the difference is within 4 standard errors of it.
    let se = |w: f64| w / (2.0 * 1.959963984540054);
    let tolerance = 4.0 * (se(width_plain).powi(2) + se(width_is).powi(2)).sqrt();
    assert!(
        (es_is - es_plain).abs() <= tolerance,
        "ES99.9: {es_is} (tilted) vs {es_plain} (plain), tolerance {tolerance}"
    );
}

/// A tilt far too strong for its source (a rate of one event a year sampled a thousand
/// times as often: weights about e^−5,900) makes the weights underflow: the run fails with
/// an error naming the tilts and the first such path — the same whatever the thread count —
/// instead of panicking in the report's accumulators.
#[test]
fn weights_beyond_the_floats_are_an_error() {
    let text = "[simulation]\npaths = 3000\nhorizon_days = 365\nstep_days = 365\nseed = 5\n\
         [pool]\ncollateral_eth = 100\n\
         [[operators]]\nname = \"a\"\nshare = 1\nallocations = { x = 1.0 }\n\
         [[avs]]\nname = \"x\"\n\
         [[shocks]]\nname = \"bug\"\nrate_per_year = 1\nseverity = 0.2\n\
         [importance]\nrate_multipliers = { bug = 1000 }\n";
    let model = load(text);
    let errors: Vec<String> = [1, 3]
        .into_iter()
        .map(|threads| {
            let options = RunOptions {
                threads,
                ..RunOptions::default()
            };
            match run(&model, &options, &|_| {}) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("weights of e^-5900 were accepted"),
            }
        })
        .collect();
    assert!(
        errors[0].contains("importance sampling: the likelihood-ratio weight of path 0 is e^-")
            && errors[0].contains("importance.rate_multipliers"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0], errors[1]);
}
