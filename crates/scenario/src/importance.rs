//! Importance sampling: which event sources can be tilted, by how much, and how the tilts
//! are chosen (`[importance]`; `docs/model.md` §18).
//!
//! Two kinds of tilt, each with an exact likelihood ratio carried per path:
//! - **rate multipliers** θ for Poisson loss sources (common shocks, beacon incidents and
//!   exploits with a `rate_per_year.mean()`, the AVSs' independent faults): the count over the
//!   horizon is drawn from Poisson(θμ) instead of Poisson(μ) — the exponential tilt of the
//!   count — and event times stay uniform, so the ratio is θ^(−N)·e^((θ−1)μ);
//! - **factor shifts** s for copulas with a global factor: the global factor of every factor
//!   period is drawn from N(−s, 1) instead of N(0, 1) (Glasserman & Li 2005), so the ratio
//!   is ∏ₖ e^(s·Zₖ + s²/2) over the copula's `n_periods` periods.

use crate::copula::CopulaModel;
use crate::model::{AVS_FAULTS_SOURCE, DAYS_PER_YEAR};
use crate::spec::{ImportanceMethod, Scenario};

/// One value per tiltable source, by kind.
#[derive(Debug, Clone, PartialEq)]
pub struct PerSource<T> {
    /// Per common shock (`model.shocks` order).
    pub shocks: Vec<T>,
    /// Per beacon incident (`model.incidents` order).
    pub incidents: Vec<T>,
    /// Per exploit (`model.exploits` order).
    pub exploits: Vec<T>,
    /// The AVSs' independent faults.
    pub avs_faults: T,
    /// Per copula (`model.copulas` order).
    pub copulas: Vec<T>,
}

impl<T: Copy> PerSource<T> {
    /// Every value of a model's sources set to `v`.
    pub fn filled(s: &Scenario, v: T) -> Self {
        PerSource {
            shocks: vec![v; s.shocks.len()],
            incidents: vec![v; s.beacon_incidents.len()],
            exploits: vec![v; s.exploits.len()],
            avs_faults: v,
            copulas: vec![v; s.copulas.len()],
        }
    }

    /// Rate-based values in a fixed order (shocks, incidents, exploits, AVS faults), then
    /// the copulas'.
    pub fn flat(&self) -> (Vec<T>, Vec<T>) {
        let mut rates = self.shocks.clone();
        rates.extend_from_slice(&self.incidents);
        rates.extend_from_slice(&self.exploits);
        rates.push(self.avs_faults);
        (rates, self.copulas.clone())
    }

    /// The inverse of [`PerSource::flat`].
    pub fn from_flat(&self, rates: &[T], copulas: &[T]) -> Self {
        let (a, b, c) = (self.shocks.len(), self.incidents.len(), self.exploits.len());
        PerSource {
            shocks: rates[..a].to_vec(),
            incidents: rates[a..a + b].to_vec(),
            exploits: rates[a + b..a + b + c].to_vec(),
            avs_faults: rates[a + b + c],
            copulas: copulas.to_vec(),
        }
    }
}

/// Tilts: rate multipliers (1 = none) for the rate-based sources, factor shifts in standard
/// deviations toward faults (0 = none) for the copulas.
pub type Tilt = PerSource<f64>;

impl Tilt {
    /// No tilt at all.
    pub fn identity(s: &Scenario) -> Self {
        let mut t = PerSource::filled(s, 1.0);
        t.copulas.fill(0.0);
        t
    }

    /// Whether nothing is tilted.
    pub fn is_identity(&self) -> bool {
        let (rates, shifts) = self.flat();
        rates.iter().all(|&r| r == 1.0) && shifts.iter().all(|&s| s == 0.0)
    }

    /// The tilts that do something, as (source name, `rate_multiplier` or `factor_shift`,
    /// value), in source order.
    pub fn entries(&self, s: &Scenario) -> Vec<(String, &'static str, f64)> {
        let mut out = Vec::new();
        let rate = "rate_multiplier";
        for (sh, &v) in s.shocks.iter().zip(&self.shocks) {
            (v != 1.0).then(|| out.push((sh.name.clone(), rate, v)));
        }
        for (inc, &v) in s.beacon_incidents.iter().zip(&self.incidents) {
            (v != 1.0).then(|| out.push((inc.name.clone(), rate, v)));
        }
        for (e, &v) in s.exploits.iter().zip(&self.exploits) {
            (v != 1.0).then(|| out.push((e.name.clone(), rate, v)));
        }
        if self.avs_faults != 1.0 {
            out.push((AVS_FAULTS_SOURCE.to_string(), rate, self.avs_faults));
        }
        for (cp, &v) in s.copulas.iter().zip(&self.copulas) {
            (v != 0.0).then(|| out.push((cp.name.clone(), "factor_shift", v)));
        }
        out
    }
}

/// Largest rate multiplier the automatic method may choose.
pub const MAX_AUTO_MULTIPLIER: f64 = 1000.0;
/// Largest factor shift the automatic method may choose, standard deviations.
pub const MAX_AUTO_SHIFT: f64 = 6.0;
/// Largest factor shift a scenario may give, standard deviations.
pub const MAX_FACTOR_SHIFT: f64 = 10.0;

/// The automatic choice of tilts (`method = "auto"`).
#[derive(Debug, Clone, PartialEq)]
pub struct AutoTilt {
    /// Metric aimed at (`nav_loss` or an output column).
    pub metric: String,
    /// Tail level aimed at.
    pub level: f64,
    /// Paths per pilot iteration.
    pub pilot_paths: u64,
    /// Most iterations.
    pub iterations: u32,
    /// Which sources the method may tilt.
    pub eligible: PerSource<bool>,
}

/// The compiled `[importance]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportanceModel {
    /// Manual tilts (the identity with `auto`).
    pub tilt: Tilt,
    /// The automatic method, if chosen.
    pub auto: Option<AutoTilt>,
    /// Expected events over the horizon of each rate-based source without tilt (copulas:
    /// the number of factor periods, i.e. of factor draws).
    pub mean_events: PerSource<f64>,
}

/// Whether each source can be tilted: rate-based sources with a positive rate (not
/// scheduled), copulas with a global factor and a positive fault probability.
pub fn tiltable(s: &Scenario, has_avs_faults: bool) -> PerSource<bool> {
    PerSource {
        shocks: s
            .shocks
            .iter()
            .map(|x| x.at_days.is_none() && x.rate_per_year.mean() > 0.0)
            .collect(),
        incidents: s
            .beacon_incidents
            .iter()
            .map(|x| x.at_days.is_none() && x.rate_per_year.mean() > 0.0)
            .collect(),
        exploits: s
            .exploits
            .iter()
            .map(|x| x.at_days.is_none() && x.rate_per_year.mean() > 0.0)
            .collect(),
        avs_faults: has_avs_faults,
        copulas: s
            .copulas
            .iter()
            .map(|c| {
                c.global_correlation > 0.0
                    && c.fault_prob_per_day
                        .or(c.fault_prob_per_year)
                        .unwrap_or(0.0)
                        > 0.0
            })
            .collect(),
    }
}

/// Compiles a validated scenario's `[importance]` (None without one). `avs_faults_mean` is
/// the expected number of independent AVS faults over the horizon (0 without any);
/// `copulas` are the compiled copulas (their factor periods).
pub fn compile(
    s: &Scenario,
    avs_faults_mean: f64,
    copulas: &[CopulaModel],
) -> Option<ImportanceModel> {
    let imp = s.importance.as_ref()?;
    let years = s.simulation.horizon_days / DAYS_PER_YEAR;
    let mean_events = PerSource {
        shocks: s
            .shocks
            .iter()
            .map(|x| x.rate_per_year.mean() * years)
            .collect(),
        incidents: s
            .beacon_incidents
            .iter()
            .map(|x| x.rate_per_year.mean() * years)
            .collect(),
        exploits: s
            .exploits
            .iter()
            .map(|x| x.rate_per_year.mean() * years)
            .collect(),
        avs_faults: avs_faults_mean,
        copulas: copulas
            .iter()
            .map(|c| f64::from(c.periods.n_periods))
            .collect(),
    };
    let mut tilt = Tilt::identity(s);
    let by_name = |name: &str| source_slot(s, name);
    for (name, &v) in &imp.rate_multipliers {
        match by_name(name) {
            Some(Slot::Shock(i)) => tilt.shocks[i] = v,
            Some(Slot::Incident(i)) => tilt.incidents[i] = v,
            Some(Slot::Exploit(i)) => tilt.exploits[i] = v,
            Some(Slot::AvsFaults) => tilt.avs_faults = v,
            _ => unreachable!("validated: `{name}` is a rate-based source"),
        }
    }
    for (name, &v) in &imp.factor_shifts {
        match by_name(name) {
            Some(Slot::Copula(i)) => tilt.copulas[i] = v,
            _ => unreachable!("validated: `{name}` is a copula"),
        }
    }
    let auto = (imp.method == ImportanceMethod::Auto).then(|| {
        let mut eligible = tiltable(s, avs_faults_mean > 0.0);
        if let Some(only) = &imp.sources {
            let mut keep = PerSource::filled(s, false);
            for name in only {
                match by_name(name) {
                    Some(Slot::Shock(i)) => keep.shocks[i] = true,
                    Some(Slot::Incident(i)) => keep.incidents[i] = true,
                    Some(Slot::Exploit(i)) => keep.exploits[i] = true,
                    Some(Slot::AvsFaults) => keep.avs_faults = true,
                    Some(Slot::Copula(i)) => keep.copulas[i] = true,
                    None => unreachable!("validated: `{name}` is a source"),
                }
            }
            let and = |a: &[bool], b: &[bool]| -> Vec<bool> {
                a.iter().zip(b).map(|(x, y)| *x && *y).collect()
            };
            eligible = PerSource {
                shocks: and(&eligible.shocks, &keep.shocks),
                incidents: and(&eligible.incidents, &keep.incidents),
                exploits: and(&eligible.exploits, &keep.exploits),
                avs_faults: eligible.avs_faults && keep.avs_faults,
                copulas: and(&eligible.copulas, &keep.copulas),
            };
        }
        AutoTilt {
            metric: imp.target_metric.clone(),
            level: imp.target_level,
            pilot_paths: imp.pilot_paths,
            iterations: imp.iterations,
            eligible,
        }
    });
    Some(ImportanceModel {
        tilt,
        auto,
        mean_events,
    })
}

/// Where a loss source's name points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `shocks[i]`.
    Shock(usize),
    /// `beacon_incidents[i]`.
    Incident(usize),
    /// `exploits[i]`.
    Exploit(usize),
    /// The AVSs' independent faults.
    AvsFaults,
    /// `copulas[i]`.
    Copula(usize),
}

/// The source called `name` (names are unique across shocks, copulas, incidents, exploits).
pub fn source_slot(s: &Scenario, name: &str) -> Option<Slot> {
    if name == AVS_FAULTS_SOURCE {
        return Some(Slot::AvsFaults);
    }
    let find = |names: Vec<&String>| names.iter().position(|n| *n == name);
    find(s.shocks.iter().map(|x| &x.name).collect())
        .map(Slot::Shock)
        .or_else(|| find(s.beacon_incidents.iter().map(|x| &x.name).collect()).map(Slot::Incident))
        .or_else(|| find(s.exploits.iter().map(|x| &x.name).collect()).map(Slot::Exploit))
        .or_else(|| find(s.copulas.iter().map(|x| &x.name).collect()).map(Slot::Copula))
}
