//! The scenario file format: serde types that mirror the TOML one to one.
//!
//! Every struct denies unknown fields, so a misspelt key is an error rather than a silently
//! ignored setting. Defaults are documented on each field and in `docs/scenario.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::beacon::Fork;
use crate::severity::Severity;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name, used for the output folder and in reports. Default: the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text for humans; ignored by the engine.
    #[serde(default)]
    pub description: Option<String>,
    /// Paths, horizon, step length and seed.
    pub simulation: Simulation,
    /// The pooled collateral and the LRT supply.
    pub pool: Pool,
    /// Reward rates, commission.
    #[serde(default)]
    pub rewards: Rewards,
    /// Node operators holding the pool's stake.
    pub operators: Vec<Operator>,
    /// AVSs (EigenLayer operator sets) the operators allocate to.
    #[serde(default)]
    pub avs: Vec<Avs>,
    /// Common (Marshall–Olkin) shocks.
    #[serde(default)]
    pub shocks: Vec<CommonShock>,
    /// Factor copulas over allocation pairs.
    #[serde(default)]
    pub copulas: Vec<Copula>,
    /// The beacon chain the pool's validators run on.
    #[serde(default)]
    pub beacon: Beacon,
    /// Beacon-chain incidents: double signing (slashing) and inactivity leaks.
    #[serde(default)]
    pub beacon_incidents: Vec<BeaconIncident>,
}

/// `[beacon]`: the network the pool's validators are part of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// Slashing rules: `electra` (May 2025 on) or `bellatrix` (before, for back-tests).
    #[serde(default)]
    pub fork: Fork,
    /// Total active balance T of the network, ETH. Default 34,200,000.
    #[serde(default = "default_total_active_balance")]
    pub total_active_balance_eth: f64,
    /// Effective balance of the pool's validators, ETH (32, or up to 2048 for compounding
    /// validators). Default 32; operators may override it.
    #[serde(default = "default_validator_balance")]
    pub validator_balance_eth: f64,
    /// ETH slashed network-wide, outside the scenario's incidents, in any 36.4-day window
    /// (the background level of S). Default 0.
    #[serde(default)]
    pub background_slashed_eth: f64,
}

impl Default for Beacon {
    fn default() -> Self {
        Beacon {
            fork: Fork::default(),
            total_active_balance_eth: default_total_active_balance(),
            validator_balance_eth: default_validator_balance(),
            background_slashed_eth: 0.0,
        }
    }
}

/// What a beacon-chain incident does to the validators it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Slashable double signing (a key-management or client fault): the hit validators are
    /// slashed (initial penalty at once, correlation penalty 18.2 days later) and exited.
    DoubleSign,
    /// A client bug that stops finality: the hit validators are offline through an inactivity
    /// leak of `duration_days`.
    InactivityLeak,
}

/// `[[beacon_incidents]]`: Poisson events hitting operators' validators on the beacon chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconIncident {
    /// Unique name among shocks, copulas and incidents; the loss source it is reported under.
    pub name: String,
    /// `double_sign` or `inactivity_leak`.
    pub kind: IncidentKind,
    /// Poisson event rate, events per year (≥ 0).
    pub rate_per_year: f64,
    /// Which operators an event can hit (`operators`, `attributes`; no `avs`). Default: all.
    #[serde(default)]
    pub select: Selector,
    /// Probability that each selected operator is hit by an event. Default 1.
    #[serde(default)]
    pub hit_probability: Option<f64>,
    /// Instead of `hit_probability`: exactly this many operators are hit by each event.
    #[serde(default)]
    pub hits_per_event: Option<u32>,
    /// Share of a hit operator's active validators affected, in [0, 1]. Default 1.
    #[serde(default = "one")]
    pub validator_share: f64,
    /// `double_sign` only: share of the network's total active balance slashed outside the
    /// pool in the same incident (e.g. client share × share of its validators affected).
    /// Default 0.
    #[serde(default)]
    pub network_slashed_share: f64,
    /// `inactivity_leak` only (required): how long finality stalls, days; a number or a
    /// distribution (`{ dist = "uniform", min = 3, max = 14 }`).
    #[serde(default)]
    pub duration_days: Option<Severity>,
}

/// `[simulation]`: how many paths, over what horizon, in what steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulation {
    /// Number of Monte Carlo paths (≥ 1).
    pub paths: u64,
    /// Horizon in days (> 0).
    pub horizon_days: f64,
    /// Step length in days (> 0, divides the horizon; may equal it). Default 1.
    #[serde(default = "one")]
    pub step_days: f64,
    /// Seed of every random stream of the run.
    pub seed: u64,
}

/// `[pool]`: the one pile of collateral every promise is backed by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// ETH backing the LRT at t = 0 (> 0); equals the operators' stakes summed.
    pub collateral_eth: f64,
    /// LRT tokens outstanding. Give this or `exchange_rate`, not both.
    #[serde(default)]
    pub lrt_supply: Option<f64>,
    /// ETH per LRT at t = 0 (NAV per token). Default 1 when `lrt_supply` is absent.
    #[serde(default)]
    pub exchange_rate: Option<f64>,
    /// Protocol fee, a fraction of rewards net of operator commission, in [0, 1]. Default 0.10.
    #[serde(default = "default_protocol_fee")]
    pub protocol_fee: f64,
}

/// `[rewards]`: gross yield sources and the operators' cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewards {
    /// Consensus-layer staking APR on all staked ETH (fraction per year). Default 0.
    #[serde(default)]
    pub base_apr: f64,
    /// Execution-layer (MEV and tips) APR on all staked ETH. Default 0.
    #[serde(default)]
    pub mev_apr: f64,
    /// Operator commission on all gross rewards, in [0, 1]. Default 0.10 (EigenLayer's default).
    #[serde(default = "default_commission")]
    pub operator_commission: f64,
}

impl Default for Rewards {
    fn default() -> Self {
        Rewards {
            base_apr: 0.0,
            mev_apr: 0.0,
            operator_commission: default_commission(),
        }
    }
}

/// `[[operators]]`: one node operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// Unique name (letters, digits, `-`, `_`).
    pub name: String,
    /// Stake in ETH. Give this or `share`.
    #[serde(default)]
    pub stake_eth: Option<f64>,
    /// Stake as a fraction of `pool.collateral_eth`. Give this or `stake_eth`.
    #[serde(default)]
    pub share: Option<f64>,
    /// Commission overriding `rewards.operator_commission` for this operator.
    #[serde(default)]
    pub commission: Option<f64>,
    /// Free-form attributes (client, cloud, region, key manager, …) that selectors match on.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// EigenLayer magnitudes: AVS name → fraction of this operator's stake allocated to it.
    /// They sum to at most 1; the rest is not slashable by AVSs.
    #[serde(default)]
    pub allocations: BTreeMap<String, f64>,
    /// Effective balance of this operator's validators, ETH; overrides
    /// `beacon.validator_balance_eth`.
    #[serde(default)]
    pub validator_balance_eth: Option<f64>,
}

/// `[[avs]]`: one AVS (an EigenLayer operator set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Avs {
    /// Unique name (letters, digits, `-`, `_`).
    pub name: String,
    /// Reward APR paid on ETH allocated to this AVS (fraction per year). Default 0.
    #[serde(default)]
    pub reward_apr: f64,
    /// Independent faults per allocation pair (operator × this AVS), Poisson events per year.
    /// Default 0.
    #[serde(default)]
    pub fault_rate_per_year: f64,
    /// Fraction of the pair's current allocation slashed by one independent fault.
    /// Required when `fault_rate_per_year` > 0.
    #[serde(default)]
    pub fault_severity: Option<Severity>,
}

/// Which allocation pairs a shock or copula acts on. Every given filter must match (AND);
/// an empty selector selects every allocation pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Only these operators (by name).
    #[serde(default)]
    pub operators: Vec<String>,
    /// Only allocations to these AVSs (by name).
    #[serde(default)]
    pub avs: Vec<String>,
    /// Only operators whose attribute `key` equals one of the given values.
    #[serde(default)]
    pub attributes: BTreeMap<String, OneOrMany>,
}

/// A string or a list of strings (`client = "prysm"` or `client = ["prysm", "lighthouse"]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Any of several values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The accepted values as a slice-like list.
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(v) => vec![v.as_str()],
            OneOrMany::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// The unit a common shock's `hit_probability` applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitUnit {
    /// Each selected operator is hit (all its selected allocations) independently.
    #[default]
    Operator,
    /// Each selected AVS is hit (all its selected allocations) independently.
    Avs,
    /// Each selected allocation pair is hit independently.
    Allocation,
    /// The whole selection is hit or spared together.
    Event,
}

/// Whether one severity is drawn per shock event or per hit unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityDraw {
    /// One severity for every target hit by the event (one bug, one magnitude).
    #[default]
    PerEvent,
    /// An independent severity for each hit unit.
    PerTarget,
}

/// `[[shocks]]`: a common shock (Marshall–Olkin): Poisson events, each hitting a selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonShock {
    /// Unique name among shocks and copulas; the loss source it is reported under.
    pub name: String,
    /// Poisson event rate, events per year (≥ 0).
    pub rate_per_year: f64,
    /// What an event can hit. Default: everything.
    #[serde(default)]
    pub select: Selector,
    /// Probability that each hit unit is hit by an event, in [0, 1]. Default 1 (unless
    /// `hits_per_event` is given).
    #[serde(default)]
    pub hit_probability: Option<f64>,
    /// Instead of `hit_probability`: exactly this many units, chosen uniformly without
    /// replacement, are hit by each event (e.g. 1 for "one operator's keys leak").
    #[serde(default)]
    pub hits_per_event: Option<u32>,
    /// The unit `hit_probability` applies to. Default `operator`.
    #[serde(default)]
    pub hit_per: HitUnit,
    /// Fraction of each hit allocation's current amount that is slashed.
    pub severity: Severity,
    /// One severity per event or per hit unit. Default `per_event`.
    #[serde(default)]
    pub severity_draw: SeverityDraw,
}

/// Copula family of a factor copula.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopulaFamily {
    /// Gaussian factor copula (no tail dependence).
    #[default]
    Gaussian,
    /// Student-t factor copula with `dof` degrees of freedom (tail dependence).
    StudentT,
}

/// `[[copulas]]`: a factor copula over allocation pairs, evaluated once per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Copula {
    /// Unique name among shocks and copulas; the loss source it is reported under.
    pub name: String,
    /// `gaussian` or `student_t`. Default `gaussian`.
    #[serde(default)]
    pub family: CopulaFamily,
    /// Degrees of freedom of the Student-t copula (> 0). Required for `student_t`.
    #[serde(default)]
    pub dof: Option<f64>,
    /// Which pairs take part. Default: every allocation pair.
    #[serde(default)]
    pub select: Selector,
    /// Marginal probability that a pair faults in one step. Give this or
    /// `fault_prob_per_year`.
    #[serde(default)]
    pub fault_prob_per_step: Option<f64>,
    /// Marginal probability that a pair faults within a year; converted to a per-step
    /// probability as 1 − (1 − p)^(step_days / 365).
    #[serde(default)]
    pub fault_prob_per_year: Option<f64>,
    /// Asset correlation with the global factor (loading²), in [0, 1]. Default 0.
    #[serde(default)]
    pub global_correlation: f64,
    /// Group factors: an operator attribute name, or `avs` or `operator`. Pairs with the
    /// same value share a group factor.
    #[serde(default)]
    pub group_by: Option<String>,
    /// Asset correlation with the pair's group factor (loading²), in [0, 1];
    /// `global_correlation + group_correlation` ≤ 1. Default 0.
    #[serde(default)]
    pub group_correlation: f64,
    /// Fraction of the pair's current allocation slashed by a fault.
    pub severity: Severity,
}

fn one() -> f64 {
    1.0
}
fn default_total_active_balance() -> f64 {
    34_200_000.0
}
fn default_validator_balance() -> f64 {
    32.0
}
fn default_protocol_fee() -> f64 {
    0.10
}
fn default_commission() -> f64 {
    0.10
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<OneOrMany, A::Error> {
                Vec::<String>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        deserializer.deserialize_any(V)
    }
}
