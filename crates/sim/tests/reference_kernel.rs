//! Keep it honest (issue 7): a slow, obviously correct reference kernel, written here from the
//! documented model (`docs/model.md` §1, §3–6) and not from the engine's code, must agree IN
//! DISTRIBUTION with the fast event-driven kernel on small scenarios.
//!
//! The reference walks every step and every allocation pair: state is the ETH of each pair;
//! in each step of Δ = `step_days` days
//!
//! - each common shock has N ~ Poisson(λ·Δ/365) events (a Poisson count per step is exact:
//!   a Poisson process's counts on disjoint steps are independent Poisson variables); each
//!   event draws one severity (`severity_draw = "per_event"`, the default) and hits each
//!   selected operator (`hit_per = "operator"`) with probability `hit_probability`, slashing
//!   that severity of the current amount of each of the operator's selected allocations;
//! - each pair on an AVS with `fault_rate_per_year` λ_j faults N ~ Poisson(λ_j·Δ/365) times —
//!   one uniform draw per pair per step — each fault slashing a fresh severity of the pair's
//!   current amount;
//! - a one-factor Gaussian copula draws Z ~ N(0, 1) once per factor period — one day, the
//!   default `factor_period_days`, which is also the step here — and ε_i ~ N(0, 1) per pair:
//!   the pair faults when √ρ·Z + √(1 − ρ)·ε_i < Φ⁻¹(p), p = `fault_prob_per_day`.
//!
//! Per path it reports `slashed_fraction` = ETH slashed / collateral, and the ETH slashed per
//! AVS and per loss source (the engine's `slashed_eth.avs.*` and `slashed_eth.source.*`
//! columns). Both kernels run 20,000 paths from different seeds, and each column is compared
//! by
//!
//! - a two-sample Kolmogorov–Smirnov test at α = 0.001: reject when
//!   D > c(α)·√((n + m)/(n·m)), c(0.001) = √(−½·ln(α/2)) = 1.9495 (the asymptotic Kolmogorov
//!   distribution). The laws have atoms (zero loss, fixed severities), for which the test is
//!   conservative: the rejection probability under agreement is at most α. Values within
//!   [`TIE`] of each other are treated as tied, because the two kernels sum the same losses in
//!   different orders and so differ in the last bits;
//! - the means, within 4 combined standard errors √(s_f²/n + s_r²/m);
//! - the probability of zero loss, within 4 binomial standard errors (pooled).
//!
//! The reference itself is checked against the closed-form mean: a pair's remaining fraction
//! has expectation `Π_sources exp(−λ·q·μ·T) · (1 − p·μ_c)^n` (the Poisson probability
//! generating function; the copula's faults are independent across days with marginal p).
//!
//! Negative controls show the comparison has power: references with a deliberate error
//! (severity applied to the t = 0 amount, not the current one; rates 25% or 10% too high)
//! must fail the KS test against the same engine output. Its resolution has limits: with
//! 20,000 paths a reference that drops the copula's factor in (c) (ρ = 0, same marginals) is
//! NOT rejected (D ≈ 0.011 against 0.0195) — at p = 0.002 per day the dependence barely
//! changes the 120-day loss law; `validation.rs` checks the copula's per-period law, where
//! it does. Likewise not compounding (b)'s rare, mostly single faults is below resolution.
//!
//! Seeds are fixed, so every outcome is deterministic; across the 21 non-trivial columns
//! compared the family-wise false-alarm probability of the KS tests would be about 2% for
//! arbitrary seeds.

mod support;

use std::path::Path;

use lrtsim_scenario::{Method, Model, load_str};
use lrtsim_sim::{RunOptions, SimResults, run};
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use statrs::distribution::{ContinuousCDF, Normal};

/// Paths of each kernel.
const PATHS: usize = 20_000;
/// Seed of the engine's runs (in the scenario file).
const ENGINE_SEED: u64 = 20_240_607;
/// Seed of the reference's runs (a different stream family altogether).
const REFERENCE_SEED: u64 = 0x5EED_0F7E_F0CE;
use support::two_sample::{KS_C_ALPHA_0_001, ks_critical};
/// Standard errors allowed for the means and the probability of zero loss.
const Z: f64 = 4.0;
/// Values closer than this are tied in the KS statistic (floating-point summation order; the
/// columns are fractions ≤ 1 or ETH amounts ≤ 100).
const TIE: f64 = 1e-9;
/// Days in a year for every `_per_year` quantity (`docs/model.md` §2).
const DAYS_PER_YEAR: f64 = 365.0;

// ---------------------------------------------------------------------------
// Scenario description, shared by the scenario file and the reference
// ---------------------------------------------------------------------------

/// A severity: the fraction of a hit allocation's current amount slashed (`docs/model.md` §6).
#[derive(Debug, Clone, Copy)]
enum Sev {
    Fixed(f64),
    Uniform(f64, f64),
    /// Beta by its mean and standard deviation.
    Beta(f64, f64),
}

impl Sev {
    fn toml(self) -> String {
        match self {
            Sev::Fixed(v) => format!("{v:?}"),
            Sev::Uniform(lo, hi) => format!("{{ dist = \"uniform\", min = {lo:?}, max = {hi:?} }}"),
            Sev::Beta(mean, sd) => format!("{{ dist = \"beta\", mean = {mean:?}, sd = {sd:?} }}"),
        }
    }

    fn mean(self) -> f64 {
        match self {
            Sev::Fixed(v) => v,
            Sev::Uniform(lo, hi) => 0.5 * (lo + hi),
            Sev::Beta(mean, _) => mean,
        }
    }

    /// The sampler. Beta by the method of moments: α + β = μ(1 − μ)/σ² − 1, α = μ(α + β),
    /// β = (1 − μ)(α + β).
    fn sampler(self) -> SevSampler {
        match self {
            Sev::Fixed(v) => SevSampler::Fixed(v),
            Sev::Uniform(lo, hi) => SevSampler::Uniform(lo, hi),
            Sev::Beta(mean, sd) => {
                let total = mean * (1.0 - mean) / (sd * sd) - 1.0;
                let beta = Beta::new(mean * total, (1.0 - mean) * total).expect("valid beta");
                SevSampler::Beta(beta)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum SevSampler {
    Fixed(f64),
    Uniform(f64, f64),
    Beta(Beta<f64>),
}

impl SevSampler {
    fn sample(&self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        match *self {
            SevSampler::Fixed(v) => v,
            SevSampler::Uniform(lo, hi) => lo + (hi - lo) * rng.random::<f64>(),
            SevSampler::Beta(b) => b.sample(rng),
        }
    }
}

struct Operator {
    name: &'static str,
    stake_eth: f64,
    /// (AVS, magnitude).
    allocations: &'static [(&'static str, f64)],
}

struct Avs {
    name: &'static str,
    fault_rate_per_year: f64,
    fault_severity: Option<Sev>,
}

/// A common shock hitting each selected operator (`hit_per = "operator"`) with
/// `hit_probability`; an empty filter selects everything.
struct Shock {
    name: &'static str,
    rate_per_year: f64,
    operators: &'static [&'static str],
    avs: &'static [&'static str],
    hit_probability: f64,
    severity: Sev,
}

/// A one-factor Gaussian copula over every pair.
struct Copula {
    name: &'static str,
    global_correlation: f64,
    fault_prob_per_day: f64,
    severity: Sev,
}

/// A small scenario: daily steps, no rewards that matter, nothing but slashing.
struct Spec {
    horizon_days: u32,
    operators: Vec<Operator>,
    avs: Vec<Avs>,
    shocks: Vec<Shock>,
    copula: Option<Copula>,
}

/// One day: also the copula's factor period (the default `factor_period_days`), so the
/// reference draws the copula's factor once per step.
const STEP_DAYS: f64 = 1.0;

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Spec {
    fn collateral_eth(&self) -> f64 {
        self.operators.iter().map(|o| o.stake_eth).sum()
    }

    /// The scenario file the engine reads.
    fn toml(&self) -> String {
        let mut s = format!(
            "name = \"reference-kernel\"\n[simulation]\npaths = {PATHS}\nhorizon_days = {}\n\
             step_days = {STEP_DAYS:?}\nseed = {ENGINE_SEED}\n[pool]\ncollateral_eth = {:?}\n",
            self.horizon_days,
            self.collateral_eth()
        );
        for a in &self.avs {
            s.push_str(&format!(
                "[[avs]]\nname = \"{}\"\nfault_rate_per_year = {:?}\n",
                a.name, a.fault_rate_per_year
            ));
            if let Some(sev) = a.fault_severity {
                s.push_str(&format!("fault_severity = {}\n", sev.toml()));
            }
        }
        for o in &self.operators {
            let allocs: Vec<String> = o
                .allocations
                .iter()
                .map(|(a, m)| format!("{a} = {m:?}"))
                .collect();
            s.push_str(&format!(
                "[[operators]]\nname = \"{}\"\nstake_eth = {:?}\nallocations = {{ {} }}\n",
                o.name,
                o.stake_eth,
                allocs.join(", ")
            ));
        }
        for sh in &self.shocks {
            s.push_str(&format!(
                "[[shocks]]\nname = \"{}\"\nrate_per_year = {:?}\n\
                 select = {{ operators = {}, avs = {} }}\nhit_per = \"operator\"\n\
                 hit_probability = {:?}\nseverity = {}\nseverity_draw = \"per_event\"\n",
                sh.name,
                sh.rate_per_year,
                list(sh.operators),
                list(sh.avs),
                sh.hit_probability,
                sh.severity.toml()
            ));
        }
        if let Some(c) = &self.copula {
            s.push_str(&format!(
                "[[copulas]]\nname = \"{}\"\nfamily = \"gaussian\"\nfault_prob_per_day = {:?}\n\
                 global_correlation = {:?}\nseverity = {}\n",
                c.name,
                c.fault_prob_per_day,
                c.global_correlation,
                c.severity.toml()
            ));
        }
        s
    }

    fn model(&self) -> Model {
        load_str(&self.toml(), Path::new("reference_kernel.toml"), &[])
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

// ---------------------------------------------------------------------------
// The reference kernel
// ---------------------------------------------------------------------------

/// A deliberate error, for the negative controls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flaw {
    None,
    /// A hit slashes severity × the pair's t = 0 amount (capped at what is left), not
    /// severity × its current amount: repeated hits no longer compound.
    InitialAmount,
    /// Every Poisson rate multiplied by this factor.
    RateScale(f64),
}

struct RefShock {
    source: usize,
    /// Poisson mean of the events in one step.
    mean_per_step: f64,
    /// Per selected operator: its selected pairs.
    units: Vec<Vec<usize>>,
    hit_probability: f64,
    severity: SevSampler,
}

struct RefCopula {
    source: usize,
    /// √ρ and √(1 − ρ).
    a: f64,
    e: f64,
    /// Φ⁻¹(p).
    threshold: f64,
    severity: SevSampler,
}

struct Reference {
    n_steps: u32,
    collateral_eth: f64,
    /// ETH of every allocation pair at t = 0, and its AVS.
    pair_eth: Vec<f64>,
    pair_avs: Vec<usize>,
    /// Poisson mean of one pair's independent faults in one step.
    pair_fault_mean: Vec<f64>,
    /// Fault severity of each AVS (None without faults).
    avs_severity: Vec<Option<SevSampler>>,
    shocks: Vec<RefShock>,
    copula: Option<RefCopula>,
    /// Column names, as the engine names them.
    names: Vec<String>,
    /// Loss sources: shocks, the copula, then the AVS faults.
    n_sources: usize,
    avs_faults_source: usize,
    flaw: Flaw,
}

/// Poisson(mean) by inverting its CDF with one uniform draw: P(N = 0) = e^(−mean),
/// P(N = k) = P(N = k − 1)·mean/k. Exact up to rounding for any mean.
fn poisson(rng: &mut Xoshiro256PlusPlus, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let u: f64 = rng.random();
    let mut k = 0u32;
    let mut p = (-mean).exp();
    let mut cdf = p;
    while u >= cdf && p > 0.0 {
        k += 1;
        p *= mean / f64::from(k);
        cdf += p;
    }
    k
}

impl Reference {
    fn new(spec: &Spec, flaw: Flaw) -> Self {
        let rate_scale = match flaw {
            Flaw::RateScale(k) => k,
            _ => 1.0,
        };
        let step_years = STEP_DAYS / DAYS_PER_YEAR;
        let avs_index = |name: &str| {
            spec.avs
                .iter()
                .position(|a| a.name == name)
                .expect("known AVS")
        };
        // Every (operator, AVS) with a positive magnitude is a pair of m·stake ETH.
        let mut pair_eth = Vec::new();
        let mut pair_avs = Vec::new();
        let mut pair_op = Vec::new();
        for (oi, o) in spec.operators.iter().enumerate() {
            for &(avs, m) in o.allocations {
                if m > 0.0 {
                    pair_eth.push(m * o.stake_eth);
                    pair_avs.push(avs_index(avs));
                    pair_op.push(oi);
                }
            }
        }
        let pair_fault_mean = pair_avs
            .iter()
            .map(|&a| rate_scale * spec.avs[a].fault_rate_per_year * step_years)
            .collect();
        let shocks = spec
            .shocks
            .iter()
            .enumerate()
            .map(|(s, sh)| {
                let units = spec
                    .operators
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| sh.operators.is_empty() || sh.operators.contains(&o.name))
                    .map(|(oi, _)| {
                        (0..pair_eth.len())
                            .filter(|&p| pair_op[p] == oi)
                            .filter(|&p| {
                                sh.avs.is_empty() || sh.avs.contains(&spec.avs[pair_avs[p]].name)
                            })
                            .collect()
                    })
                    .collect();
                RefShock {
                    source: s,
                    mean_per_step: rate_scale * sh.rate_per_year * step_years,
                    units,
                    hit_probability: sh.hit_probability,
                    severity: sh.severity.sampler(),
                }
            })
            .collect();
        let copula = spec.copula.as_ref().map(|c| {
            let threshold = Normal::standard().inverse_cdf(c.fault_prob_per_day);
            let rho = c.global_correlation;
            RefCopula {
                source: spec.shocks.len(),
                a: rho.sqrt(),
                e: (1.0 - rho).sqrt(),
                threshold,
                severity: c.severity.sampler(),
            }
        });
        let mut names = vec!["slashed_fraction".to_string()];
        names.extend(
            spec.avs
                .iter()
                .map(|a| format!("slashed_eth.avs.{}", a.name)),
        );
        let mut sources: Vec<&str> = spec.shocks.iter().map(|s| s.name).collect();
        sources.extend(spec.copula.iter().map(|c| c.name));
        sources.push("avs_faults");
        names.extend(sources.iter().map(|s| format!("slashed_eth.source.{s}")));
        Reference {
            n_steps: (f64::from(spec.horizon_days) / STEP_DAYS).round() as u32,
            collateral_eth: spec.collateral_eth(),
            pair_eth,
            pair_avs,
            pair_fault_mean,
            avs_severity: spec
                .avs
                .iter()
                .map(|a| a.fault_severity.map(Sev::sampler))
                .collect(),
            shocks,
            copula,
            names,
            n_sources: sources.len(),
            avs_faults_source: sources.len() - 1,
            flaw,
        }
    }

    /// Slashes `severity` of pair `p` (of its current amount, unless flawed); returns the loss.
    fn slash(&self, alloc: &mut [f64], p: usize, severity: f64) -> f64 {
        let loss = match self.flaw {
            Flaw::InitialAmount => (severity * self.pair_eth[p]).min(alloc[p]),
            _ => severity * alloc[p],
        };
        alloc[p] -= loss;
        loss
    }

    /// One path; returns its losses by source.
    fn path(&self, rng: &mut Xoshiro256PlusPlus, alloc: &mut [f64], by_source: &mut [f64]) {
        alloc.copy_from_slice(&self.pair_eth);
        by_source.fill(0.0);
        for _step in 0..self.n_steps {
            for sh in &self.shocks {
                for _event in 0..poisson(rng, sh.mean_per_step) {
                    let severity = sh.severity.sample(rng);
                    for unit in &sh.units {
                        if rng.random::<f64>() < sh.hit_probability {
                            for &p in unit {
                                by_source[sh.source] += self.slash(alloc, p, severity);
                            }
                        }
                    }
                }
            }
            for p in 0..alloc.len() {
                let mean = self.pair_fault_mean[p];
                if mean > 0.0 {
                    for _fault in 0..poisson(rng, mean) {
                        let severity = self.avs_severity[self.pair_avs[p]]
                            .as_ref()
                            .expect("a fault rate comes with a severity")
                            .sample(rng);
                        by_source[self.avs_faults_source] += self.slash(alloc, p, severity);
                    }
                }
            }
            if let Some(c) = &self.copula {
                let z: f64 = StandardNormal.sample(rng);
                for p in 0..alloc.len() {
                    let eps: f64 = StandardNormal.sample(rng);
                    if c.a * z + c.e * eps < c.threshold {
                        let severity = c.severity.sample(rng);
                        by_source[c.source] += self.slash(alloc, p, severity);
                    }
                }
            }
        }
    }

    /// `PATHS` paths; columns named as the engine's.
    fn run(&self, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let n_avs = self.avs_severity.len();
        let mut columns = vec![Vec::with_capacity(PATHS); self.names.len()];
        let mut alloc = vec![0.0; self.pair_eth.len()];
        let mut by_source = vec![0.0; self.n_sources];
        let mut by_avs = vec![0.0; n_avs];
        for _ in 0..PATHS {
            self.path(&mut rng, &mut alloc, &mut by_source);
            by_avs.fill(0.0);
            let mut slashed = 0.0;
            for p in 0..alloc.len() {
                let lost = self.pair_eth[p] - alloc[p];
                by_avs[self.pair_avs[p]] += lost;
                slashed += lost;
            }
            let by_source_total: f64 = by_source.iter().sum();
            assert!((by_source_total - slashed).abs() <= 1e-9 * self.collateral_eth);
            let row = std::iter::once(slashed / self.collateral_eth)
                .chain(by_avs.iter().copied())
                .chain(by_source.iter().copied());
            for (col, v) in columns.iter_mut().zip(row) {
                col.push(v);
            }
        }
        columns
    }
}

/// E[slashed_fraction] in closed form: each pair keeps `exp(−λ·q·μ·T)` per shock hitting it,
/// `exp(−λ_j·μ_j·T)` for its AVS's faults and `(1 − p·μ_c)^n` for the copula, in expectation.
fn closed_form_mean(spec: &Spec) -> f64 {
    let years = f64::from(spec.horizon_days) / DAYS_PER_YEAR;
    let n_steps = (f64::from(spec.horizon_days) / STEP_DAYS).round();
    let mut lost = 0.0;
    for o in &spec.operators {
        for &(avs, m) in o.allocations {
            let a = spec.avs.iter().find(|a| a.name == avs).expect("known AVS");
            let mut intensity = a.fault_rate_per_year * a.fault_severity.map_or(0.0, Sev::mean);
            for sh in &spec.shocks {
                let selected = (sh.operators.is_empty() || sh.operators.contains(&o.name))
                    && (sh.avs.is_empty() || sh.avs.contains(&avs));
                if selected {
                    intensity += sh.rate_per_year * sh.hit_probability * sh.severity.mean();
                }
            }
            let mut keep = (-intensity * years).exp();
            if let Some(c) = &spec.copula {
                keep *= (1.0 - c.fault_prob_per_day * c.severity.mean()).powf(n_steps);
            }
            lost += m * o.stake_eth * (1.0 - keep);
        }
    }
    lost / spec.collateral_eth()
}

// ---------------------------------------------------------------------------
// Two-sample statistics
// ---------------------------------------------------------------------------

/// The two-sample Kolmogorov–Smirnov statistic with values within [`TIE`] tied.
fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    support::two_sample::ks_statistic(a, b, TIE)
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

fn zero_share(x: &[f64]) -> f64 {
    x.iter().filter(|v| **v == 0.0).count() as f64 / x.len() as f64
}

/// One column of the engine against the same column of the reference.
#[derive(Debug)]
struct Comparison {
    d: f64,
    critical: f64,
    mean_engine: f64,
    mean_reference: f64,
    mean_tolerance: f64,
    zero_engine: f64,
    zero_reference: f64,
    zero_tolerance: f64,
}

impl Comparison {
    fn new(engine: &[f64], reference: &[f64]) -> Self {
        let (n, m) = (engine.len(), reference.len());
        let (mean_engine, var_engine) = mean_var(engine);
        let (mean_reference, var_reference) = mean_var(reference);
        let (zero_engine, zero_reference) = (zero_share(engine), zero_share(reference));
        let pooled = (zero_engine * n as f64 + zero_reference * m as f64) / (n + m) as f64;
        Comparison {
            d: ks_statistic(engine, reference),
            critical: ks_critical(n, m),
            mean_engine,
            mean_reference,
            mean_tolerance: Z * (var_engine / n as f64 + var_reference / m as f64).sqrt(),
            zero_engine,
            zero_reference,
            zero_tolerance: Z
                * (pooled * (1.0 - pooled) * (1.0 / n as f64 + 1.0 / m as f64)).sqrt(),
        }
    }

    fn ks_passes(&self) -> bool {
        self.d <= self.critical
    }

    fn mean_passes(&self) -> bool {
        (self.mean_engine - self.mean_reference).abs() <= self.mean_tolerance
    }

    fn zero_passes(&self) -> bool {
        (self.zero_engine - self.zero_reference).abs() <= self.zero_tolerance
    }

    fn summary(&self, what: &str) -> String {
        format!(
            "{what}: KS D = {:.5} (critical {:.5}); mean engine {:.6e} reference {:.6e} \
             (|diff| {:.2e}, tolerance {:.2e}); P(0) engine {:.4} reference {:.4} \
             (tolerance {:.4})",
            self.d,
            self.critical,
            self.mean_engine,
            self.mean_reference,
            (self.mean_engine - self.mean_reference).abs(),
            self.mean_tolerance,
            self.zero_engine,
            self.zero_reference,
            self.zero_tolerance
        )
    }
}

fn engine_run(model: &Model) -> SimResults {
    let results = run(model, &RunOptions::default(), &|_| {}).expect("run");
    assert_eq!(results.paths(), PATHS);
    results
}

/// The engine's book is the reference's: same pairs, same ETH.
fn check_same_book(model: &Model, reference: &Reference) {
    let mut engine: Vec<f64> = model.pairs.iter().map(|p| p.eth).collect();
    let mut mine = reference.pair_eth.clone();
    engine.sort_by(f64::total_cmp);
    mine.sort_by(f64::total_cmp);
    assert_eq!(engine, mine, "allocation pairs differ");
    assert_eq!(model.collateral_eth, reference.collateral_eth);
    assert_eq!(model.n_steps, reference.n_steps);
}

/// Every column of the reference agrees with the engine's; the reference's mean matches the
/// closed form. Returns the slashed_fraction comparison.
fn check_agreement(label: &str, spec: &Spec, engine: &SimResults) -> Comparison {
    let reference = Reference::new(spec, Flaw::None);
    let columns = reference.run(REFERENCE_SEED);

    let exact = closed_form_mean(spec);
    let (mean, var) = mean_var(&columns[0]);
    let se = (var / PATHS as f64).sqrt();
    println!(
        "{label}: reference mean {mean:.6e}, closed form {exact:.6e}, 4 SE {:.2e}",
        Z * se
    );
    assert!(
        (mean - exact).abs() <= Z * se,
        "{label}: reference mean {mean} vs closed form {exact} (4 SE = {})",
        Z * se
    );
    // Most paths lose something: the comparisons are about the shape of the loss.
    assert!(zero_share(&columns[0]) < 0.5, "{label}: too few losses");

    let mut failures = Vec::new();
    let mut headline = None;
    for (name, col) in reference.names.iter().zip(&columns) {
        let engine_col = engine
            .column(name)
            .unwrap_or_else(|| panic!("engine has no column {name}"));
        let c = Comparison::new(engine_col, col);
        let line = c.summary(&format!("{label} {name}"));
        println!("{line}");
        if !(c.ks_passes() && c.mean_passes() && c.zero_passes()) {
            failures.push(line);
        }
        if name == "slashed_fraction" {
            headline = Some(c);
        }
    }
    assert!(
        failures.is_empty(),
        "disagreement:\n{}",
        failures.join("\n")
    );
    headline.expect("slashed_fraction compared")
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// (a) Common shocks only: two shocks with different selections, fixed and uniform severities.
fn common_shocks() -> Spec {
    Spec {
        horizon_days: 365,
        operators: vec![
            Operator {
                name: "o0",
                stake_eth: 40.0,
                allocations: &[("x", 0.5), ("y", 0.3)],
            },
            Operator {
                name: "o1",
                stake_eth: 35.0,
                allocations: &[("x", 0.4), ("z", 0.6)],
            },
            Operator {
                name: "o2",
                stake_eth: 25.0,
                allocations: &[("y", 0.7), ("z", 0.2)],
            },
        ],
        avs: ["x", "y", "z"]
            .into_iter()
            .map(|name| Avs {
                name,
                fault_rate_per_year: 0.0,
                fault_severity: None,
            })
            .collect(),
        shocks: vec![
            // Hits o0 (x and y), o1 (x only) and o2 (y only).
            Shock {
                name: "infra",
                rate_per_year: 1.2,
                operators: &[],
                avs: &["x", "y"],
                hit_probability: 0.5,
                severity: Sev::Fixed(0.3),
            },
            // Hits o1 (x and z) and o2 (y and z).
            Shock {
                name: "bridge",
                rate_per_year: 0.8,
                operators: &["o1", "o2"],
                avs: &[],
                hit_probability: 0.6,
                severity: Sev::Uniform(0.1, 0.6),
            },
        ],
        copula: None,
    }
}

/// (b) AVS independent faults only: a rate per AVS, fixed, uniform and beta severities.
fn avs_faults() -> Spec {
    Spec {
        horizon_days: 365,
        operators: vec![
            Operator {
                name: "o0",
                stake_eth: 25.0,
                allocations: &[("x", 0.5), ("y", 0.4)],
            },
            Operator {
                name: "o1",
                stake_eth: 25.0,
                allocations: &[("x", 0.7), ("z", 0.3)],
            },
            Operator {
                name: "o2",
                stake_eth: 30.0,
                allocations: &[("y", 0.6), ("z", 0.3)],
            },
            Operator {
                name: "o3",
                stake_eth: 20.0,
                allocations: &[("x", 0.2), ("y", 0.2), ("z", 0.2)],
            },
        ],
        avs: vec![
            Avs {
                name: "x",
                fault_rate_per_year: 0.2,
                fault_severity: Some(Sev::Beta(0.3, 0.15)),
            },
            Avs {
                name: "y",
                fault_rate_per_year: 0.3,
                fault_severity: Some(Sev::Fixed(0.15)),
            },
            Avs {
                name: "z",
                fault_rate_per_year: 0.1,
                fault_severity: Some(Sev::Uniform(0.2, 0.8)),
            },
        ],
        shocks: vec![],
        copula: None,
    }
}

/// (c) A one-factor Gaussian copula (ρ = 0.3, p = 0.002 per day, fixed severity) plus one
/// shock, over 120 days.
fn copula_and_shock() -> Spec {
    Spec {
        horizon_days: 120,
        operators: vec![
            Operator {
                name: "o0",
                stake_eth: 40.0,
                allocations: &[("a", 0.6), ("b", 0.3)],
            },
            Operator {
                name: "o1",
                stake_eth: 30.0,
                allocations: &[("a", 0.5), ("b", 0.5)],
            },
            Operator {
                name: "o2",
                stake_eth: 30.0,
                allocations: &[("a", 0.8)],
            },
        ],
        avs: ["a", "b"]
            .into_iter()
            .map(|name| Avs {
                name,
                fault_rate_per_year: 0.0,
                fault_severity: None,
            })
            .collect(),
        shocks: vec![Shock {
            name: "outage",
            rate_per_year: 1.5,
            operators: &[],
            avs: &["b"],
            hit_probability: 0.5,
            severity: Sev::Fixed(0.1),
        }],
        copula: Some(Copula {
            name: "correlated",
            global_correlation: 0.3,
            fault_prob_per_day: 0.002,
            severity: Sev::Fixed(0.25),
        }),
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn reference_pieces_are_right() {
    // Φ⁻¹(0.002) (Wichura AS241, Python's statistics.NormalDist).
    let c = Normal::standard().inverse_cdf(0.002);
    assert!(
        (c - -2.878_161_739_095_482_6).abs() < 1e-12,
        "Φ⁻¹(0.002) = {c}"
    );
    // c(0.001) = √(−½ ln(α/2)).
    assert!((KS_C_ALPHA_0_001 - (-0.5 * (0.0005f64).ln()).sqrt()).abs() < 1e-4);
    // The per-step Poisson sampler: mean and P(N = 0) at a mean far above the scenarios'.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let (n, mu) = (200_000, 0.7);
    let draws: Vec<f64> = (0..n).map(|_| f64::from(poisson(&mut rng, mu))).collect();
    let (mean, _) = mean_var(&draws);
    assert!(
        (mean - mu).abs() < Z * (mu / n as f64).sqrt(),
        "mean {mean}"
    );
    let p0 = (-mu).exp();
    let z0 = zero_share(&draws);
    assert!((z0 - p0).abs() < Z * (p0 * (1.0 - p0) / n as f64).sqrt());
    // KS statistic: identical samples give 0, disjoint ones 1, ties are grouped.
    assert_eq!(ks_statistic(&[0.0, 1.0, 2.0], &[2.0, 1.0, 0.0]), 0.0);
    assert_eq!(ks_statistic(&[0.0, 0.0], &[1.0, 1.0]), 1.0);
    assert_eq!(
        ks_statistic(&[0.5, 0.5, 1.0], &[0.5 + 1e-15, 1.0, 1.0]),
        1.0 / 3.0
    );
}

/// The engine's model of `spec`, checked to hold the same book as the reference's.
fn same_book_model(spec: &Spec) -> Model {
    let model = spec.model();
    check_same_book(&model, &Reference::new(spec, Flaw::None));
    model
}

#[test]
fn common_shocks_agree_in_distribution() {
    let spec = common_shocks();
    let engine = engine_run(&same_book_model(&spec));
    check_agreement("(a) common shocks", &spec, &engine);
}

#[test]
fn avs_faults_agree_in_distribution() {
    let spec = avs_faults();
    let engine = engine_run(&same_book_model(&spec));
    check_agreement("(b) AVS faults", &spec, &engine);
}

#[test]
fn copula_and_shock_agree_in_distribution_with_every_sampler() {
    let spec = copula_and_shock();
    let model = same_book_model(&spec);
    // Five exchangeable pairs: the engine tabulates their fault count (the table sampler);
    // the union (Karp–Luby, n·p = 5 × 0.002 ≤ 0.5) and direct samplers are forced.
    assert_eq!(model.copulas[0].method(), Method::Table);
    let engine = engine_run(&model);
    check_agreement("(c) copula + shock, table sampler", &spec, &engine);
    for method in [Method::Union, Method::Direct] {
        let mut forced = model.clone();
        let c = forced.copulas.remove(0);
        forced.copulas.insert(0, c.with_method(method));
        let engine = engine_run(&forced);
        check_agreement(
            &format!("(c) copula + shock, {method:?} sampler"),
            &spec,
            &engine,
        );
    }
}

/// The comparison has power: references with a deliberate error fail the KS test against
/// the same engine output that the correct reference passes.
#[test]
fn a_wrong_reference_fails_the_ks_test() {
    // Observed with these seeds: D = 0.0656, 0.1060 and 0.0460 against the critical 0.0195.
    let cases = [
        (
            "(a) severity on the t = 0 amount",
            common_shocks(),
            Flaw::InitialAmount,
        ),
        ("(a) rates × 1.25", common_shocks(), Flaw::RateScale(1.25)),
        ("(b) rates × 1.1", avs_faults(), Flaw::RateScale(1.1)),
    ];
    for (label, spec, flaw) in cases {
        let engine = engine_run(&spec.model());
        let engine_col = engine.column("slashed_fraction").expect("column");
        let wrong = Reference::new(&spec, flaw).run(REFERENCE_SEED);
        let c = Comparison::new(engine_col, &wrong[0]);
        println!("negative control {}", c.summary(label));
        assert!(
            !c.ks_passes(),
            "{label}: the flawed reference passed the KS test (D = {}, critical {})",
            c.d,
            c.critical
        );
    }
}
