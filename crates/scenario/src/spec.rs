//! The scenario file format: serde types that mirror the TOML one to one.
//!
//! Every struct denies unknown fields, so a misspelt key is an error rather than a silently
//! ignored setting. Defaults are documented on each field and in `docs/scenario.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::beacon::Fork;
use crate::rate::{Rate, RateFactor};
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
    /// The LRTs of a sector scenario, which delegate shares of the operators' stake
    /// (`operators[].lrts`). Empty: the scenario is one LRT, the whole pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lrts: Vec<Lrt>,
    /// What a sector scenario reports about its LRTs together (only with `[[lrts]]`; absent:
    /// the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<Sector>,
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
    /// Redemptions: demand, instant buffer, protocol queue, EigenLayer escrow and beacon-chain
    /// exits. Absent: nobody redeems (the book only moves by rewards and losses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawals: Option<Withdrawals>,
    /// The side door: the LRT/ETH liquidity pool, depeg shocks, arbitrage against the front
    /// door, panic sellers. Absent: no secondary market is modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<Market>,
    /// A lending market that takes the LRT as collateral (needs `[market]`: liquidations sell
    /// into its pool). Absent: no leverage is modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lending: Option<Lending>,
    /// Contract and bridge exploits: assets stolen or LRT minted without backing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exploits: Vec<Exploit>,
    /// Loss-absorbing reserves, applied in file order before holders bear a loss.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserves: Vec<Reserve>,
    /// Governance: operators change their AVS allocations mid-horizon (a vote pushing into a
    /// riskier profile, a de-risking), with EigenLayer's allocation and deallocation delays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub governance: Vec<Governance>,
    /// Redelegations: an LRT moves its stake from some operators to others mid-horizon
    /// (a change of its operator set or of its delegations), through EigenLayer's escrow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redelegations: Vec<Redelegation>,
    /// Undelegations: an operator undelegates its stakers mid-horizon (the operator's side of
    /// a change of delegations); each LRT moves its stake there to other operators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undelegations: Vec<Undelegation>,
    /// Rate factors: shared gamma multipliers (mean 1) on the rates of the sources that name
    /// them in `rate_factor` / `fault_rate_factor` (CreditRisk+ sectors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_factors: Vec<RateFactor>,
    /// Importance sampling for rare tails: tilted event rates and shifted copula factors,
    /// with a likelihood-ratio weight per path. Absent: plain Monte Carlo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
}

/// How the tilts of `[importance]` are chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceMethod {
    /// The tilts given in `rate_multipliers` and `factor_shifts`.
    #[default]
    Manual,
    /// Tilts chosen by the cross-entropy method for `target_metric` at `target_level`
    /// (pilot runs before the main run).
    Auto,
}

/// `[importance]`: sample rare losses more often and weight every path by its likelihood
/// ratio, so that tail estimates need fewer paths. See `docs/model.md` §18.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Importance {
    /// `manual` (default) or `auto`.
    #[serde(default)]
    pub method: ImportanceMethod,
    /// Manual: multiplier (> 0) of the Poisson rate of each named loss source — common
    /// shocks, beacon incidents and exploits with a `rate_per_year`, and `avs_faults`.
    /// Unnamed sources keep their rate.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_multipliers: BTreeMap<String, f64>,
    /// Manual: shift of each named copula's global factor toward faults, in standard
    /// deviations, every factor period (≥ 0). Unnamed copulas are not shifted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub factor_shifts: BTreeMap<String, f64>,
    /// Auto: the metric whose upper tail the tilts aim at. Default `slashed_fraction`.
    #[serde(default = "default_target_metric")]
    pub target_metric: String,
    /// Auto: the tail level aimed at, in (0, 1). Default 0.999.
    #[serde(default = "default_target_level")]
    pub target_level: f64,
    /// Auto: paths per cross-entropy pilot iteration (1,000 to 10,000,000). Default 20,000.
    #[serde(default = "default_pilot_paths")]
    pub pilot_paths: u64,
    /// Auto: most pilot iterations (1 to 50). Default 8.
    #[serde(default = "default_pilot_iterations")]
    pub iterations: u32,
    /// Auto: the sources the method may tilt. Default: every rate-based loss source and every
    /// copula with a global factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
}

fn default_target_metric() -> String {
    "slashed_fraction".to_string()
}
fn default_target_level() -> f64 {
    0.999
}
fn default_pilot_paths() -> u64 {
    20_000
}
fn default_pilot_iterations() -> u32 {
    8
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
    /// Unique among shocks, copulas, incidents and exploits; the loss source it is reported
    /// under.
    pub name: String,
    /// `double_sign` or `inactivity_leak`.
    pub kind: IncidentKind,
    /// Poisson event rate, events per year (≥ 0): a number, or a distribution drawn once per
    /// path (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying this rate. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_factor: Option<String>,
    /// Instead of a rate: one event at exactly this day (a scheduled stress), in
    /// [0, horizon_days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
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
    /// The market's resolution in time (needs `[market]`): the largest move of price / NAV,
    /// a fraction of NAV, that one of its sub-steps may integrate at once, in (1e-6, 0.05].
    /// Absent: 0.003 (`market::DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price_move_per_substep: Option<f64>,
    /// The front door's resolution in time (needs `[withdrawals]`): the largest share of the
    /// remaining holders that may ask to redeem within one of its sub-steps, in (1e-6, 0.05].
    /// Absent: 0.002 (`withdrawal::DEFAULT_MAX_DEMAND_PER_SUBSTEP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_demand_per_substep: Option<f64>,
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

/// `[[lrts]]`: one LRT (or LST) of a sector scenario. Its collateral is the stake the
/// operators hold for it (`operators[].lrts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lrt {
    /// Unique name (letters, digits, `-`, `_`).
    pub name: String,
    /// What the token is: `"lrt"`, a liquid *restaking* token, whose operators may secure AVSs
    /// with its stake; or `"lst"`, a liquid *staking* token (stETH-like), whose stake is not
    /// restaked — its operators (every operator with a share for it in `operators[].lrts`)
    /// allocate to no AVS, now or after a vote or a move of stake — so that it loses to the
    /// beacon chain's penalties and its own exploits only. Both have the same front door,
    /// market and lending sections and the same metrics. Default `"lrt"`.
    #[serde(default, skip_serializing_if = "TokenKind::is_lrt")]
    pub kind: TokenKind,
    /// Free text for humans; ignored by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The LRT's front door: redemption demand, buffer, protocol queue and escrow, as
    /// `[withdrawals]` for one LRT, without `network` (the exit queue is the sector's,
    /// `[sector.exit_queue]`). Absent: its holders do not redeem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawals: Option<Withdrawals>,
    /// The LRT's secondary market: its LRT/ETH pool, depeg and confidence shocks, patient
    /// buyers, arbitrageurs (redeeming through its front door) and sellers, as `[market]` for
    /// one LRT. Absent: its holders do not trade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<Market>,
    /// The LRT as collateral in the sector's lending market: its E-mode (LTV, liquidation
    /// threshold and bonus, close factor, version), its oracle, the share of its supply posted
    /// and the positions' health factors, and its representative looper, as `[lending]` for
    /// one LRT, without `rates` (the borrow rate is the one WETH reserve's,
    /// `[sector.lending]`). Needs the LRT's `market` (liquidators sell into its pool).
    /// Absent: the LRT is not collateral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lending: Option<Lending>,
}

/// What a sector member is (`lrts[].kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A liquid restaking token: its operators may secure AVSs with its stake.
    #[default]
    Lrt,
    /// A liquid staking token: its operators secure no AVS.
    Lst,
}

impl TokenKind {
    /// Whether it is the default, an LRT.
    pub fn is_lrt(&self) -> bool {
        *self == TokenKind::Lrt
    }
}

/// `[sector]`: what a sector scenario reports about its LRTs together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sector {
    /// Joint-loss thresholds, basis points of each LRT's collateral: per threshold b the
    /// metric `joint_loss_over_{b}bps` is 1 on a path where every LRT lost more than
    /// b / 10,000 of its collateral to slashing (its mean: the probability that all do).
    /// Default `[100, 500]`.
    #[serde(default = "default_joint_loss_thresholds_bps")]
    pub joint_loss_thresholds_bps: Vec<f64>,
    /// The beacon chain's exit queue every LRT's front door exits through (with
    /// `lrts[].withdrawals`): its ETH at t = 0, the other stakers' inflow, the churn rule and
    /// the sweep, as `[withdrawals.network]`. Default: an empty queue at Electra's churn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_queue: Option<ExitNetwork>,
    /// Contagion of confidence between the LRTs' holders (needs a front door). Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contagion: Option<Contagion>,
    /// One pot of arbitrage capital for every LRT's market (their `arbitrage` sections keep
    /// their required return and premium). Absent: each market's arbitrageurs have their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbitrage: Option<SectorArbitrage>,
    /// The lending market's one WETH reserve, which every LRT's collateral (`lrts[].lending`)
    /// borrows from: its size, its utilization curve, loopers' unwinding and outside
    /// lenders' withdrawals. Absent: debt accrues no interest and nobody unwinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lending: Option<SectorLending>,
}

/// `[sector.lending]`: the one WETH reserve of a sector's lending market (Aave's WETH reserve
/// against its LRT E-modes). U = every collateral's debt / the ETH supplied; the borrow rate
/// is `base + slope1 · U / U*` up to U*, then `base + slope1 + slope2 · (U − U*) / (1 − U*)`,
/// shared by every position. At U = 100 % no ETH is left: lenders cannot withdraw, nobody can
/// borrow, and loopers cannot unwind (their flash loans draw on the reserve). See
/// `docs/model.md` §22.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorLending {
    /// ETH supplied to the reserve at t = 0, > 0; at least the collaterals' debt then.
    pub supply_eth: f64,
    /// Rate at zero utilization, per year (≥ 0). Default 0.
    #[serde(default)]
    pub base_per_year: f64,
    /// Rate added up to the optimal utilization, per year (≥ 0). Default 0.027.
    #[serde(default = "default_slope1")]
    pub slope1_per_year: f64,
    /// Optimal utilization U*, in (0, 1). Default 0.9.
    #[serde(default = "default_optimal_utilization")]
    pub optimal_utilization: f64,
    /// Rate added from U* to full utilization, per year (≥ 0). Default 0.8.
    #[serde(default = "default_slope2")]
    pub slope2_per_year: f64,
    /// Loopers unwind while the borrow rate exceeds the LRTs' yield by more than this, per
    /// year (≥ 0), selling collateral into their LRT's pool. Absent: they never unwind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unwind_spread_per_year: Option<f64>,
    /// Share of positions unwinding per day while they do, in (0, 10]. Default 0.2.
    #[serde(default = "default_unwind_share")]
    pub unwind_share_per_day: f64,
    /// Outside lenders withdrawing ETH from the reserve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supply_shocks: Vec<SupplyShock>,
    /// Holders of the LRTs run when the reserve fills (`[sector.lending.run]`). Absent: the
    /// reserve's state moves nobody's redemptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<UtilizationRun>,
}

impl SectorLending {
    /// Its rate curve, `[base_per_year, slope1_per_year, optimal_utilization,
    /// slope2_per_year]`.
    pub fn curve(&self) -> [f64; 4] {
        [
            self.base_per_year,
            self.slope1_per_year,
            self.optimal_utilization,
            self.slope2_per_year,
        ]
    }
}

/// `[sector.lending.run]`: contagion through the lending market's state. Each time the
/// reserve's utilization reaches `at_utilization` from below (lenders locked in, loopers
/// unable to unwind: the market is full), at least `rearm_days` after the last time it did,
/// the holders of LRT j take it as a loss event: its
/// run trigger (`withdrawals.demand.trigger`) pulses with `loading_j` × its `share_per_day`,
/// decaying over its `decay_days`. See `docs/model.md` §22.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtilizationRun {
    /// The utilization that sets the holders off, in (0, 1]. Default 1 (the reserve full).
    #[serde(default = "one")]
    pub at_utilization: f64,
    /// Every LRT's loading, ≥ 0: the pulse's multiple of its trigger's `share_per_day`. LRTs
    /// without a run trigger do not react. Default 1.
    #[serde(default = "one")]
    pub loading: f64,
    /// LRT name → its loading, replacing `loading` for that LRT.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub loadings: BTreeMap<String, f64>,
    /// Days after a run before the reserve filling again sets off another (the same news
    /// twice within hours is one), ≥ 0. Default 1.
    #[serde(default = "one")]
    pub rearm_days: f64,
}

/// `[sector.arbitrage]`: the arbitrageurs' capital, shared by every LRT's pool, so that it can
/// run dry sector-wide. See `docs/model.md` §22.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorArbitrage {
    /// ETH the arbitrageurs can spend buying below NAV in any of the pools, > 0; what their
    /// redemptions pay comes back into it.
    pub capital_eth: f64,
}

/// `[sector.contagion]`: a loss at one LRT moves the holders of the others. At a loss event
/// the holders of LRT j perceive the loss share s_j = x_j + Σ_{i≠j} L_ij·x_i, where x_i is
/// LRT i's loss in that event over its assets just before; j's run trigger fires when s_j
/// reaches its `min_loss_bps` (its pause rule still looks at x_j alone). See
/// `docs/model.md` §22.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contagion {
    /// The loading L_ij of every pair of different LRTs, ≥ 0. Default 0.
    #[serde(default)]
    pub loading: f64,
    /// LRT i → (LRT j → L_ij): loadings that replace `loading` for those pairs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub loadings: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The default joint-loss thresholds: 1 % and 5 %.
pub fn default_joint_loss_thresholds_bps() -> Vec<f64> {
    vec![100.0, 500.0]
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
    /// Sector scenarios: LRT name → the share of this operator's stake that LRT delegates.
    /// They sum to at most 1; the rest is other stakers' (not an LRT of the scenario). Every
    /// staker delegated to the operator shares its slashing pro rata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lrts: BTreeMap<String, f64>,
    /// Effective balance of this operator's validators, ETH; overrides
    /// `beacon.validator_balance_eth`.
    #[serde(default)]
    pub validator_balance_eth: Option<f64>,
}

impl Operator {
    /// Its stake at t = 0, ETH: `stake_eth`, else `share` × `collateral_eth` (0 with neither).
    pub fn stake_eth_of(&self, collateral_eth: f64) -> f64 {
        self.stake_eth
            .unwrap_or_else(|| self.share.unwrap_or(0.0) * collateral_eth)
    }
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
    /// A number, or a distribution drawn once per path and shared by the AVS's pairs
    /// (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub fault_rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying `fault_rate_per_year`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_rate_factor: Option<String>,
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
    /// Unique among shocks, copulas, incidents and exploits; the loss source it is reported
    /// under.
    pub name: String,
    /// Poisson event rate, events per year (≥ 0): a number, or a distribution drawn once per
    /// path (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying this rate. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_factor: Option<String>,
    /// Instead of a rate: one event at exactly this day (a scheduled stress), in
    /// [0, horizon_days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
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

/// `[[copulas]]`: a factor copula over allocation pairs, evaluated once per factor period
/// (`factor_period_days`, whatever the simulation's step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Copula {
    /// Unique among shocks, copulas, incidents and exploits; the loss source it is reported
    /// under.
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
    /// Length of one factor period in days (> 0, ≤ the horizon): the common factors are
    /// drawn once per period and each pair faults at most once per period. The last period
    /// ends at the horizon and is shorter when the period does not divide it. Default 1.
    #[serde(default = "one")]
    pub factor_period_days: f64,
    /// Marginal probability that a pair faults within one day; a period of d days has
    /// 1 − (1 − p)^d. Give this or `fault_prob_per_year`.
    #[serde(default)]
    pub fault_prob_per_day: Option<f64>,
    /// Marginal probability that a pair faults within a year (365 days); a period of d days
    /// has 1 − (1 − p)^(d / 365).
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

/// `[withdrawals]`: the front door. Holders ask to redeem (`demand`); requests are served
/// from an instant `buffer` if there is one, otherwise wait in the protocol's FIFO `queue`,
/// which the protocol funds by exiting validators (EigenLayer `escrow`, then the
/// `network`-wide beacon-chain exit queue). See `docs/model.md` §12.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdrawals {
    /// Who asks to redeem, and when.
    #[serde(default)]
    pub demand: Demand,
    /// Instant-exit liquidity (ether.fi / Puffer style). Absent: no instant path, no buffer.
    #[serde(default)]
    pub buffer: Option<Buffer>,
    /// The protocol's own withdrawal queue.
    #[serde(default)]
    pub queue: ProtocolQueue,
    /// EigenLayer's withdrawal escrow.
    #[serde(default)]
    pub escrow: Escrow,
    /// The beacon chain's network-wide exit queue and withdrawal sweep.
    #[serde(default)]
    pub network: ExitNetwork,
}

/// `[withdrawals.demand]`: the share of remaining holders asking to redeem, per day:
/// `base + nav_loss_sensitivity × drawdown + wait_sensitivity × max(0, posted wait −
/// wait_free_days) + trigger pulses`, capped at `max_share_per_day`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demand {
    /// Share of remaining holders asking per day in calm times, in (0, 1]. Default 0.0005
    /// (0.05% a day, about 17% a year).
    #[serde(default = "default_base_share")]
    pub base_share_per_day: f64,
    /// Added daily share per unit of NAV drawdown from its running peak (0.1 → a 1% drawdown
    /// adds 0.1% a day for as long as it lasts). Default 0.1.
    #[serde(default = "default_nav_loss_sensitivity")]
    pub nav_loss_sensitivity_per_day: f64,
    /// Added daily share per day of posted wait beyond `wait_free_days`. Default 0.0001.
    #[serde(default = "default_wait_sensitivity")]
    pub wait_sensitivity_per_day: f64,
    /// Posted wait holders accept without reacting, days. Default 7.
    #[serde(default = "default_wait_free_days")]
    pub wait_free_days: f64,
    /// Cap on the daily share, in (0, 1]. Default 0.5.
    #[serde(default = "default_max_share")]
    pub max_share_per_day: f64,
    /// Added daily share per unit of market discount (needs `[market]`; 0.5 → a 4% discount
    /// adds 2% a day). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_sensitivity_per_day: Option<f64>,
    /// Run triggers: losses (and sector rushes marked `triggers_run`) add a decaying pulse.
    /// Absent: no pulses.
    #[serde(default)]
    pub trigger: Option<RunTrigger>,
    /// The stress holder of `redeem_days_stress` is drawn among the LRT asked for within
    /// this many days from the moment the stress starts, days, in (0, 30]. Default 1.
    #[serde(default = "default_stress_window_days")]
    pub stress_window_days: f64,
}

fn default_stress_window_days() -> f64 {
    1.0
}

impl Default for Demand {
    fn default() -> Self {
        Demand {
            base_share_per_day: default_base_share(),
            nav_loss_sensitivity_per_day: default_nav_loss_sensitivity(),
            wait_sensitivity_per_day: default_wait_sensitivity(),
            wait_free_days: default_wait_free_days(),
            max_share_per_day: default_max_share(),
            discount_sensitivity_per_day: None,
            trigger: None,
            stress_window_days: default_stress_window_days(),
        }
    }
}

/// `[withdrawals.demand.trigger]`: a pulse of extra redemptions after a stress event,
/// `share_per_day × exp(−t / decay_days)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTrigger {
    /// A loss event at least this large, in basis points of the pool's NAV, triggers a pulse.
    /// Default 10.
    #[serde(default = "default_trigger_bps")]
    pub min_loss_bps: f64,
    /// Extra share of remaining holders asking per day right after a trigger, in [0, 1].
    pub share_per_day: f64,
    /// E-folding time of the pulse, days (> 0). Default 3.
    #[serde(default = "default_decay_days")]
    pub decay_days: f64,
}

/// `[withdrawals.buffer]`: liquid ETH held outside the restaked book for instant exits, with
/// a token-bucket rate limit and an instant-exit fee. Refilled by rewards and by exits (the
/// protocol exits validators to bring it back to `target_eth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffer {
    /// Liquid ETH at t = 0, on top of `pool.collateral_eth` (≥ 0).
    pub initial_eth: f64,
    /// Level the protocol refills the buffer to by exiting validators, ETH. Default
    /// `initial_eth`.
    #[serde(default)]
    pub target_eth: Option<f64>,
    /// Token-bucket capacity: the most ETH instant exits can take at once. Default: no limit.
    #[serde(default)]
    pub bucket_capacity_eth: Option<f64>,
    /// Token-bucket refill, ETH per day. Default 0 (with a capacity: one bucket for the whole
    /// horizon).
    #[serde(default)]
    pub bucket_refill_eth_per_day: f64,
    /// Fee on instant exits, basis points of the amount redeemed (Puffer: 100). Default 0.
    #[serde(default)]
    pub instant_fee_bps: f64,
    /// Share of requests that take the instant path when it has room, in [0, 1]. Default 1.
    #[serde(default = "one")]
    pub instant_share: f64,
}

/// `[withdrawals.queue]`: the protocol's FIFO withdrawal queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolQueue {
    /// A request is not paid before this many days (Kelp: 8, Renzo: ~7-14). Default 0.
    #[serde(default)]
    pub cooldown_days: f64,
    /// Most ETH the queue pays out per day. Default: no cap.
    #[serde(default)]
    pub daily_cap_eth: Option<f64>,
    /// How often the protocol processes its queue, days: at each processing time it
    /// completes finished EigenLayer withdrawals, collects ETH that arrived, pays eligible
    /// requests first in, first out, and requests validator exits for what the queue still
    /// needs (Lido finalizes with each daily oracle report). In (0, 30]; default 1.
    #[serde(default = "default_processing_interval_days")]
    pub processing_interval_days: f64,
    /// Pause rule (a risk oracle, Renzo style): a loss this large stops the front door —
    /// queue payouts and instant exits — for a while. Absent: never paused.
    #[serde(default)]
    pub pause: Option<PauseRule>,
}

impl Default for ProtocolQueue {
    fn default() -> Self {
        ProtocolQueue {
            cooldown_days: 0.0,
            daily_cap_eth: None,
            processing_interval_days: default_processing_interval_days(),
            pause: None,
        }
    }
}

fn default_processing_interval_days() -> f64 {
    1.0
}

/// `[withdrawals.queue.pause]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRule {
    /// A loss event of at least this many basis points of NAV pauses withdrawals (> 0).
    pub min_loss_bps: f64,
    /// How long a pause lasts from the loss, days (> 0).
    pub days: f64,
}

/// `[withdrawals.escrow]`: EigenLayer's withdrawal delay. The protocol queues the EigenLayer
/// withdrawal when it requests the validators' exit; the queued ETH stays slashable until the
/// escrow ends, and is paid out at the later of the escrow's end and the ETH's arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escrow {
    /// Escrow length, days (mainnet: 100,800 blocks = 14 days). Default 14.
    #[serde(default = "default_escrow_days")]
    pub days: f64,
}

impl Default for Escrow {
    fn default() -> Self {
        Escrow {
            days: default_escrow_days(),
        }
    }
}

/// `[withdrawals.network]`: the beacon chain's exit queue, which the pool shares with every
/// other staker, and the withdrawal sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitNetwork {
    /// ETH already in the network exit queue at t = 0 (≥ 0). Default 0.
    #[serde(default)]
    pub queue_eth: f64,
    /// Other stakers' exits joining the queue, ETH per day (≥ 0). Default 0.
    #[serde(default)]
    pub inflow_eth_per_day: f64,
    /// The exit-churn rule (defaults: Electra's 65536 / 128 / 256).
    #[serde(default)]
    pub churn: crate::beacon::ChurnRule,
    /// Length of one withdrawal-sweep cycle, days: a validator's ETH arrives uniformly within
    /// it after the withdrawability delay. Default 8.7 (~1 M validators at 16 per block).
    #[serde(default = "default_sweep_days")]
    pub sweep_days: f64,
    /// Sector-wide rushes: jumps of the network exit queue.
    #[serde(default)]
    pub rushes: Vec<Rush>,
}

impl Default for ExitNetwork {
    fn default() -> Self {
        ExitNetwork {
            queue_eth: 0.0,
            inflow_eth_per_day: 0.0,
            churn: crate::beacon::ChurnRule::default(),
            sweep_days: default_sweep_days(),
            rushes: Vec::new(),
        }
    }
}

/// `[[withdrawals.network.rushes]]`: other stakers exiting at once (September 2025: one large
/// operator's ~2.5 M ETH), Poisson or scheduled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rush {
    /// Unique name among rushes.
    pub name: String,
    /// Poisson event rate, events per year (≥ 0): a number, or a distribution drawn once per
    /// path (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying this rate. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_factor: Option<String>,
    /// Instead of a rate: one rush at exactly this day, in [0, horizon_days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// ETH joining the exit queue: a number or a distribution (`fixed`, `uniform`,
    /// `empirical`).
    pub size_eth: Severity,
    /// Whether the rush also triggers a redemption pulse among the pool's holders (sector-wide
    /// stress). Default false.
    #[serde(default)]
    pub triggers_run: bool,
}

/// `[market]`: the LRT's secondary market. One LRT/ETH pool with a real invariant takes every
/// trade; depeg shocks and confidence shocks sell into it, liquidity providers leave it in a
/// discount, patient buyers and arbitrageurs (who redeem through the front door) buy from it.
/// See `docs/model.md` §14.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// The LRT/ETH pool.
    pub pool: MarketPool,
    /// Liquidity providers leaving in a discount and coming back at peg. Absent: the pool's
    /// liquidity never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity: Option<Liquidity>,
    /// Exogenous depeg shocks: sell pressure into the pool, Poisson or scheduled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shocks: Vec<DepegShock>,
    /// Confidence shocks: every loss event (slashing, leak) makes holders sell in proportion to
    /// the loss. Absent: losses move the NAV only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// Patient buyers (and, above NAV, sellers) closing the gap to NAV at a half-life. Absent:
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Arbitrageurs who buy below NAV and redeem. Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbitrage: Option<Arbitrage>,
    /// Redeeming holders who sell into the pool instead of queuing (needs `[withdrawals]`).
    /// Absent: every redeeming holder uses the front door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sellers: Option<Sellers>,
    /// Position size and discount thresholds of the per-path market metrics.
    #[serde(default)]
    pub report: MarketReport,
}

/// Invariant of the LRT/ETH pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Curve StableSwap (two coins): `4A(x + y) + D = 4AD + D³ / (4xy)`.
    #[default]
    Stableswap,
    /// Uniswap v2 style `x · y = k`.
    ConstantProduct,
}

/// `[market.pool]`: the LRT/ETH pool at t = 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketPool {
    /// Invariant: `stableswap` (default) or `constant_product`.
    #[serde(default)]
    pub kind: PoolKind,
    /// StableSwap amplification A of the whitepaper (> 0, ≤ 10⁶; a two-coin Curve contract's
    /// `A()` is 2A). Default 100; not allowed with `constant_product`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amplification: Option<f64>,
    /// Value of the pool at t = 0, ETH (both sides, the LRT at NAV; > 0).
    pub depth_eth: f64,
    /// Share of that value held as LRT at t = 0, in (0, 1). Default 0.5 (a balanced pool, at
    /// peg); more LRT than ETH starts below peg.
    #[serde(default = "half")]
    pub lrt_share: f64,
    /// Swap fee, basis points (≥ 0, < 10,000): of the amount out for `stableswap` (Curve
    /// charges it on what the pool pays out; with `offpeg_fee_multiplier` this is the fee at
    /// balance), of the amount in for `constant_product` (Uniswap v2: 30). Default 4.
    #[serde(default = "default_pool_fee_bps")]
    pub fee_bps: f64,
    /// Share of every swap fee that leaves the pool (Curve's admin fee), in [0, 1]; the rest
    /// stays in the pool for its liquidity providers. Default 0.5 for `stableswap`
    /// (stableswap-ng's fixed `admin_fee`), 0 for `constant_product` (a Uniswap v2 pair keeps
    /// the whole fee in its reserves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_fee_share: Option<f64>,
    /// stableswap-ng's `offpeg_fee_multiplier` (≥ 1, `stableswap` only): the fee rises from
    /// `fee_bps` at balance toward `offpeg_fee_multiplier × fee_bps` as one side of the pool
    /// empties. `fee_bps × offpeg_fee_multiplier` ≤ 5,000 (the contract's MAX_FEE). Absent
    /// or 1: a static fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offpeg_fee_multiplier: Option<f64>,
    /// Whether the pool prices the LRT against its exchange rate (a rebasing token such as
    /// stETH, or a Curve-ng / Balancer pool with a rate oracle): a change of NAV moves the
    /// pool's price with it. `false`: a plain pool whose price in ETH only moves with trades.
    /// Default true.
    #[serde(default = "yes")]
    pub rate_oracle: bool,
}

/// `[market.liquidity]`: liquidity providers withdraw (pro rata, both sides) while the LRT
/// trades at a discount and come back at peg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Liquidity {
    /// Share of the remaining liquidity withdrawn per day per unit of discount (2 → at a 5%
    /// discount, 10% of the pool leaves per day). ≥ 0.
    pub flight_per_day: f64,
    /// Liquidity never falls below this share of the t = 0 depth, in [0, 1]. Default 0.1.
    #[serde(default = "default_floor_share")]
    pub floor_share: f64,
    /// At peg, liquidity returns toward its t = 0 depth with this half-life, days (> 0).
    /// Absent: it never returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_half_life_days: Option<f64>,
    /// "At peg" for liquidity providers: a discount at most this many basis points, in
    /// [0, 10,000). Default 10.
    #[serde(default = "default_calm_bps")]
    pub calm_discount_bps: f64,
}

/// `[[market.shocks]]`: an exogenous depeg shock — holders selling a share of the LRT supply
/// into the pool, at once or evenly over `sell_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepegShock {
    /// Unique name among market shocks.
    pub name: String,
    /// Poisson event rate, events per year (≥ 0): a number, or a distribution drawn once per
    /// path (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying this rate. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_factor: Option<String>,
    /// Instead of a rate: one shock at exactly this day, in [0, horizon_days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// Share of the LRT supply outstanding at the shock that is sold: a number or a
    /// distribution (`fixed`, `uniform`, `beta`, `empirical`), in [0, 1].
    pub sell_share: Severity,
    /// The sale is spread evenly over this many days from the shock (≥ 0; 0 = all at once).
    /// Default 0.
    #[serde(default)]
    pub sell_days: f64,
}

/// `[market.confidence]`: a loss event of share `L` of the pool's assets makes holders sell
/// `sell_per_loss × L` of the supply over `sell_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confidence {
    /// Share of supply sold per unit of loss share (≥ 0; 3 → a 1% loss sells 3% of supply).
    pub sell_per_loss: f64,
    /// Spread of the sale, days (≥ 0). Default 1.
    #[serde(default = "one")]
    pub sell_days: f64,
    /// Smallest loss event that moves holders, basis points of assets, in [0, 10,000).
    /// Default 1.
    #[serde(default = "one")]
    pub min_loss_bps: f64,
}

/// `[market.recovery]`: outside buyers with patience: each step they close the gap between the
/// pool price and NAV so that, left alone, the discount halves every `half_life_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// Half-life of the discount, days (> 0).
    pub half_life_days: f64,
}

/// `[market.arbitrage]`: arbitrageurs buy in the pool while the price is below what a
/// redemption pays, net of their required return over the wait and a risk premium. They
/// redeem instantly where the buffer allows (paying its fee), else through the queue (their
/// capital comes back when the queue pays). Without `[withdrawals]` they hold to the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arbitrage {
    /// Arbitrage capital, ETH (> 0). Absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital_eth: Option<f64>,
    /// Return they require on capital, per year (simple; ≥ 0). Default 0.10.
    #[serde(default = "default_required_return")]
    pub required_return_per_year: f64,
    /// Extra discount they require for the risk, basis points, in [0, 10,000). Default 0.
    #[serde(default)]
    pub premium_bps: f64,
    /// Expected wait until redemption when the scenario has no `[withdrawals]` (stETH before
    /// Shanghai), days (≥ 0). Required without `[withdrawals]`, not allowed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_wait_days: Option<f64>,
}

/// `[market.sellers]`: of the holders who decide to redeem in a step, a share compares the
/// pool with the queue and sells while the discount (after price impact) is below their cost
/// of waiting, `wait_cost_per_year × posted wait / 365`. Needs `[withdrawals]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sellers {
    /// Share of new redemption demand that considers the pool, in [0, 1].
    pub share_of_demand: f64,
    /// Their cost of waiting, per year (≥ 0; 2 → a 14-day wait is worth a 7.7% discount).
    pub wait_cost_per_year: f64,
}

/// `[market.report]`: the per-path market metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketReport {
    /// Position of the holder forced to sell at the worst moment (and of the one selling at
    /// the horizon), ETH at t = 0 (> 0). Default 1,000.
    #[serde(default = "default_position_eth")]
    pub position_eth: f64,
    /// Discount thresholds for time below and depeg probability, basis points: 1 to 8 whole
    /// numbers in [1, 9999], strictly increasing. Default [100, 500].
    #[serde(default = "default_thresholds_bps")]
    pub thresholds_bps: Vec<f64>,
}

impl Default for MarketReport {
    fn default() -> Self {
        MarketReport {
            position_eth: default_position_eth(),
            thresholds_bps: default_thresholds_bps(),
        }
    }
}

/// How the lending market prices the LRT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OracleKind {
    /// The protocol's exchange rate (NAV): Aave and Compound. A market depeg liquidates
    /// nobody; a NAV drop (slashing, an exploit) does.
    #[default]
    ExchangeRate,
    /// The pool's price (Morpho / Gearbox markets in April 2024).
    Market,
    /// The pool's price averaged over the last `twap_days`.
    Twap,
}

/// `[lending]`: LRT posted as collateral to borrow ETH (loopers), as a population of
/// positions by health factor. See `docs/model.md` §15.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lending {
    /// How collateral is priced. Default `exchange_rate`.
    #[serde(default)]
    pub oracle: OracleKind,
    /// Averaging window of a `twap` oracle, days (> 0). Only with `oracle = "twap"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twap_days: Option<f64>,
    /// Loan-to-value at which positions were opened, in (0, 1) (Aave LRT E-mode: 0.93).
    pub ltv: f64,
    /// Liquidation threshold, in [ltv, 1) (Aave LRT E-mode: 0.95). A position is liquidated
    /// when collateral value × threshold < debt (health factor below 1).
    pub liquidation_threshold: f64,
    /// Liquidation bonus: liquidators seize repaid × (1 + bonus) of collateral value, in
    /// [0, 0.5] (Aave LRT E-mode: 0.01).
    pub liquidation_bonus: f64,
    /// Share of a position's debt one liquidation may repay, in (0, 1]. Default 0.5.
    #[serde(default = "half")]
    pub close_factor: f64,
    /// At or below this health factor the whole debt may be repaid at once (Aave's
    /// `CLOSE_FACTOR_HF_THRESHOLD`, 0.95), in (0, 1]. Default 0.95.
    #[serde(default = "default_full_close_hf")]
    pub full_close_below_hf: f64,
    /// Aave's liquidation protocol fee (`liquidationProtocolFee`): the share of the
    /// liquidation bonus that goes to the lender's treasury instead of the liquidator, in
    /// [0, 1]. The treasury keeps its LRT; liquidators sell only theirs. Default 0; Aave's
    /// usual value is 0.1 (10 % of the bonus, e.g. weETH and wstETH on Ethereum).
    #[serde(default)]
    pub liquidation_protocol_fee: f64,
    /// The lender's liquidation rules by version: `v3.3` (default) burns the debt left on a
    /// position whose collateral is gone as the reserve's deficit; `v3.2` (and v3.0–v3.1)
    /// leaves it owed on the empty position, where it goes on accruing interest.
    #[serde(default)]
    pub version: LenderVersion,
    /// Share of the LRT supply posted as collateral at t = 0, in (0, 1].
    pub collateral_share: f64,
    /// Positions by health factor at t = 0 (shares of the collateral). Default: one bucket
    /// at health factor 1.05.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<PositionBucket>,
    /// Leverage of the representative looper whose equity loss is reported (≥ 1). Default 10.
    #[serde(default = "default_looper_leverage")]
    pub looper_leverage: f64,
    /// The borrow rate, outside lenders' withdrawals and loopers unwinding. Absent: debt
    /// accrues no interest and nobody unwinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<BorrowRates>,
    /// The lending market's guardian pausing or freezing this collateral, at a day or after
    /// an event. Absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
}

/// `[lending.guardian]` (or `[lrts.lending.guardian]`): the market's guardian acting on this
/// collateral — at `at_days`, or `delay_days` after the first `after` event — for
/// `duration_days`. A **pause** (Aave's `setReservePause`) stops every action on it:
/// liquidations wait (those due happen when it ends), loopers cannot unwind, nobody borrows
/// against it; interest still accrues. A **freeze** (Aave's `setReserveFreeze`, what Aave's
/// guardian did in April 2026) stops new deposits of it only: an attacker minting after it
/// cannot post the minted LRT and borrows nothing, while liquidations and unwinding go on.
/// See `docs/model.md` §15.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardian {
    /// `pause` or `freeze`.
    pub action: GuardianAction,
    /// The day it acts, in [0, horizon). Give this or `after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// The event it reacts to: `exploit` (the first exploit at this LRT) or
    /// `full_utilization` (the reserve first at 100 %; needs the borrow rates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<GuardianTrigger>,
    /// With `after`: days from the event to the action (≥ 0; April 2026: about 7 hours,
    /// 0.29). Default 0.
    #[serde(default)]
    pub delay_days: f64,
    /// How long it lasts, days (> 0). Default: to the horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<f64>,
}

/// What a guardian does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardianAction {
    /// Every action on the collateral stops: liquidations, unwinding, borrowing.
    Pause,
    /// New deposits of the collateral (and so new borrowing against it) stop.
    Freeze,
}

/// The event a guardian reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardianTrigger {
    /// The first exploit at the LRT (any exploit in a one-LRT scenario).
    Exploit,
    /// The first moment the lending reserve is at 100 % utilization.
    FullUtilization,
}

/// `[lending.rates]`: an Aave-style utilization curve. The borrow rate is
/// `base + slope1 · U / U*` up to the optimal utilization U*, then
/// `base + slope1 + slope2 · (U − U*) / (1 − U*)`, U = debt / ETH supplied. Debt accrues it;
/// while it exceeds the LRT's own yield by `unwind_spread_per_year`, loopers unwind: each day a
/// share of every position repays its debt by selling collateral into the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BorrowRates {
    /// Utilization at t = 0, in (0, 1]: sets the ETH supplied (debt / utilization).
    pub utilization: f64,
    /// Rate at zero utilization, per year (≥ 0). Default 0.
    #[serde(default)]
    pub base_per_year: f64,
    /// Rate added up to the optimal utilization, per year (≥ 0). Default 0.027.
    #[serde(default = "default_slope1")]
    pub slope1_per_year: f64,
    /// Optimal utilization U*, in (0, 1). Default 0.9.
    #[serde(default = "default_optimal_utilization")]
    pub optimal_utilization: f64,
    /// Rate added from U* to full utilization, per year (≥ 0). Default 0.8.
    #[serde(default = "default_slope2")]
    pub slope2_per_year: f64,
    /// Loopers unwind while the borrow rate exceeds the LRT's yield by more than this, per
    /// year (≥ 0). Absent: they never unwind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unwind_spread_per_year: Option<f64>,
    /// Share of positions unwinding per day while they do, in (0, 10]. Default 0.2.
    #[serde(default = "default_unwind_share")]
    pub unwind_share_per_day: f64,
    /// How loopers unwind: `sell` (default) sells collateral into the pool for the ETH to
    /// repay; `redeem` repays from their own ETH and queues the freed collateral at the front
    /// door (needs `[withdrawals]`).
    #[serde(default)]
    pub unwind_via: UnwindVia,
    /// Outside lenders withdrawing ETH (July 2025: large withdrawals spiked ETH borrow rates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supply_shocks: Vec<SupplyShock>,
}

impl BorrowRates {
    /// Its rate curve, `[base_per_year, slope1_per_year, optimal_utilization,
    /// slope2_per_year]`.
    pub fn curve(&self) -> [f64; 4] {
        [
            self.base_per_year,
            self.slope1_per_year,
            self.optimal_utilization,
            self.slope2_per_year,
        ]
    }
}

/// Version of the lender's liquidation logic (Aave v3's `LiquidationLogic`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LenderVersion {
    /// Aave v3.0–v3.2: debt left on a position with no collateral stays owed.
    #[serde(rename = "v3.2")]
    V3_2,
    /// Aave v3.3: debt left on a position with no collateral is burned as the reserve's
    /// deficit.
    #[default]
    #[serde(rename = "v3.3")]
    V3_3,
}

/// How loopers unwind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnwindVia {
    /// Sell collateral into the pool for the ETH their debt needs.
    #[default]
    Sell,
    /// Repay with their own ETH and redeem the freed collateral through the front door.
    Redeem,
}

/// `[[lending.rates.supply_shocks]]`: outside lenders withdraw a share of the ETH supplied at
/// once, and it comes back linearly over `recovery_days`. Lenders cannot withdraw ETH that is
/// lent out: utilization stops at 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyShock {
    /// Unique name among supply shocks.
    pub name: String,
    /// Poisson event rate, events per year (≥ 0): a number, or a distribution drawn once per
    /// path (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying this rate. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_factor: Option<String>,
    /// Instead of a rate: one shock at exactly this day, in [0, horizon_days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// Share of the t = 0 supply withdrawn: a number or a distribution, in [0, 1].
    pub share: Severity,
    /// The withdrawn ETH returns linearly over this many days (> 0). Default 30.
    #[serde(default = "default_recovery_days")]
    pub recovery_days: f64,
}

fn default_slope1() -> f64 {
    0.027
}
fn default_optimal_utilization() -> f64 {
    0.9
}
fn default_slope2() -> f64 {
    0.8
}
fn default_unwind_share() -> f64 {
    0.2
}
fn default_recovery_days() -> f64 {
    30.0
}

/// `[[lending.positions]]`: a share of the collateral at one health factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionBucket {
    /// Share of the lending market's collateral, in (0, 1]; the shares sum to 1.
    pub share: f64,
    /// Health factor at t = 0: collateral value × liquidation threshold / debt (≥ 1).
    pub health_factor: f64,
}

/// What an exploit does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExploitKind {
    /// A share of the pool's assets is stolen.
    #[default]
    Stolen,
    /// LRT equal to a share of the supply is minted without backing (a forged bridge
    /// message): every holder's claim is diluted.
    UnbackedMint,
}

/// `[[exploits]]`: a contract or bridge exploit, Poisson or scheduled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exploit {
    /// Unique among shocks, copulas, incidents and exploits (one namespace); exploits are
    /// reported in their own columns (`exploit_loss_eth`, …), not per name.
    pub name: String,
    /// Poisson event rate, events per year (≥ 0): a number, or a distribution drawn once per
    /// path (`{ dist = "gamma", mean = 0.02, cv = 1 }`, `lognormal`, `discrete`). Default 0.
    #[serde(default)]
    pub rate_per_year: Rate,
    /// The rate factor (`[[rate_factors]]`) multiplying this rate. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_factor: Option<String>,
    /// Instead of a rate: one exploit at exactly this day, in [0, horizon_days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// `stolen` (default) or `unbacked_mint`.
    #[serde(default)]
    pub kind: ExploitKind,
    /// Share of the assets stolen, or of the supply minted: a number or a distribution, in
    /// [0, 1].
    pub size: Severity,
    /// Redemptions paused from the exploit for this many days (needs `[withdrawals]`; ≥ 0).
    /// Default 0.
    #[serde(default)]
    pub pause_days: f64,
    /// Share of the stolen assets recovered later, in [0, 1]. Default 0.
    #[serde(default)]
    pub restitution_share: f64,
    /// Days from the exploit to the restitution (> 0 with a restitution). Default 30.
    #[serde(default = "default_restitution_days")]
    pub restitution_days: f64,
    /// Unbacked mint: share of the minted LRT the attacker sells into the pool (needs
    /// `[market]`), in [0, 1]. Default 0.
    #[serde(default)]
    pub attacker_sell_share: f64,
    /// Unbacked mint: share of the minted LRT the attacker posts in the lending market to
    /// borrow ETH at its LTV before the exchange rate reflects the mint (needs `[lending]`),
    /// in [0, 1 − attacker_sell_share]. Default 0.
    #[serde(default)]
    pub attacker_borrow_share: f64,
    /// Sector scenarios: the LRT the exploit hits (required with `[[lrts]]`; an unbacked mint
    /// dilutes that LRT's holders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lrt: Option<String>,
}

/// Which losses a reserve absorbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// AVS slashing and beacon-chain penalties.
    Slashing,
    /// Exploits (stolen assets; an unbacked mint's dilution).
    Exploits,
}

/// `[[reserves]]`: a first-loss reserve (an insurance fund, a treasury), outside the NAV. It
/// pays the losses it covers into the pool, up to what it holds, before holders bear them;
/// reserves apply in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reserve {
    /// Unique name among reserves.
    pub name: String,
    /// ETH held at t = 0 (≥ 0).
    pub initial_eth: f64,
    /// Share of the rewards that reach the pool diverted to the reserve while it is below its
    /// cap, in [0, 1]. Default 0.
    #[serde(default)]
    pub reward_share: f64,
    /// Refills stop at this level, ETH (≥ initial_eth). Default `initial_eth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_eth: Option<f64>,
    /// Losses it absorbs. Default both `slashing` and `exploits`.
    #[serde(default = "default_covers")]
    pub covers: Vec<LossKind>,
}

fn default_full_close_hf() -> f64 {
    0.95
}
fn default_looper_leverage() -> f64 {
    10.0
}
fn default_restitution_days() -> f64 {
    30.0
}
fn default_covers() -> Vec<LossKind> {
    vec![LossKind::Slashing, LossKind::Exploits]
}

fn half() -> f64 {
    0.5
}
fn yes() -> bool {
    true
}
fn default_pool_fee_bps() -> f64 {
    4.0
}
fn default_floor_share() -> f64 {
    0.1
}
fn default_calm_bps() -> f64 {
    10.0
}
fn default_required_return() -> f64 {
    0.10
}
fn default_position_eth() -> f64 {
    1000.0
}
fn default_thresholds_bps() -> Vec<f64> {
    vec![100.0, 500.0]
}

fn default_base_share() -> f64 {
    0.0005
}
fn default_nav_loss_sensitivity() -> f64 {
    0.1
}
fn default_wait_sensitivity() -> f64 {
    0.0001
}
fn default_wait_free_days() -> f64 {
    7.0
}
fn default_max_share() -> f64 {
    0.5
}
fn default_trigger_bps() -> f64 {
    10.0
}
fn default_decay_days() -> f64 {
    3.0
}
fn default_escrow_days() -> f64 {
    14.0
}
fn default_sweep_days() -> f64 {
    8.7
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

/// The EigenLayer deallocation delay on mainnet, days (`DEALLOCATION_DELAY`, 100,800 blocks).
pub const DEALLOCATION_DELAY_DAYS: f64 = 14.0;

fn default_deallocation_delay_days() -> f64 {
    DEALLOCATION_DELAY_DAYS
}

/// `[[governance]]`: the selected operators set new magnitudes on some AVSs
/// (EigenLayer's `modifyAllocations`), at a scheduled day or at a random time. An increase
/// becomes slashable `allocation_delay_days` after the vote and is capped at the magnitude
/// the operator has free then; a decrease stays slashable for `deallocation_delay_days` and
/// shrinks with the allocation if it is slashed meanwhile. See `docs/model.md` §23.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// Unique name among governance entries.
    pub name: String,
    /// The day of the vote, in [0, horizon_days). Give this or `rate_per_year`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// Instead of `at_days`: the vote comes at the first event of a Poisson process of this
    /// rate, events per year (> 0) — at most one vote per path, none if it falls past the
    /// horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_year: Option<f64>,
    /// The operators that change their allocations (its `avs` filter must be empty).
    /// Default: every operator.
    #[serde(default)]
    pub select: Selector,
    /// AVS name → the new magnitude, a fraction of the operator's stake at t = 0 (its max
    /// magnitude before any slashing), in [0, 1]. AVSs not named keep their allocations.
    pub allocations: BTreeMap<String, f64>,
    /// The operators' allocation delay: days from the vote until an increase is slashable
    /// (and earns); ≥ 0. Default 0 (the delay some operators choose).
    #[serde(default)]
    pub allocation_delay_days: f64,
    /// Days a decrease stays slashable after the vote (`DEALLOCATION_DELAY`); ≥ 0.
    /// Default 14.
    #[serde(default = "default_deallocation_delay_days")]
    pub deallocation_delay_days: f64,
}

fn default_one() -> f64 {
    1.0
}

/// `[[undelegations]]`: an operator undelegates every staker delegated to it (EigenLayer's
/// `DelegationManager.undelegate`, which the operator may call for its stakers), at a
/// scheduled day or at a random time. Every LRT with stake there (the pool, in a one-LRT
/// scenario) then moves all of it as a redelegation (`[[redelegations]]`) decided at that
/// moment: queued, slashable at the operator for `escrow_days`, then delegated to `to` — by
/// default, to the LRT's other operators in proportion to its stake with them at t = 0.
/// Other stakers' stake there is not modelled and stays. See `docs/model.md` §23.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Undelegation {
    /// Unique name among undelegations.
    pub name: String,
    /// The operator that undelegates its stakers.
    pub operator: String,
    /// The day of the decision, in [0, horizon_days). Give this or `rate_per_year`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// Instead of `at_days`: the decision comes at the first event of a Poisson process of
    /// this rate, events per year (> 0) — at most one per path, none past the horizon; every
    /// LRT moves at that same moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_year: Option<f64>,
    /// Operator name → its weight in the stake every LRT moves: weights in (0, 1] summing to
    /// 1, without the operator itself. Default: each LRT's own other operators, weighted by
    /// its stake with them at t = 0.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub to: BTreeMap<String, f64>,
    /// Days the undelegated stake stays slashable at the operator before it reaches the new
    /// ones (EigenLayer's withdrawal escrow); ≥ 0. Default 14.
    #[serde(default = "default_escrow_days")]
    pub escrow_days: f64,
}

/// `[[redelegations]]`: an LRT (the pool, in a one-LRT scenario) moves `share` of its stake
/// at the `from` operators to the `to` operators, at a scheduled day or at a random time: the
/// stake is queued for withdrawal at the vote, stays slashable (and in the book) at its old
/// operators for `escrow_days`, and is then delegated to the new ones, split by their
/// weights, where their allocations apply to it. See `docs/model.md` §23.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redelegation {
    /// Unique name among redelegations.
    pub name: String,
    /// The LRT that moves its stake (sector scenarios, required there); absent in a one-LRT
    /// scenario, where the pool moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lrt: Option<String>,
    /// The day of the decision, in [0, horizon_days). Give this or `rate_per_year`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_days: Option<f64>,
    /// Instead of `at_days`: the decision comes at the first event of a Poisson process of
    /// this rate, events per year (> 0) — at most one per path, none past the horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_year: Option<f64>,
    /// The operators the stake leaves (at least one).
    pub from: Vec<String>,
    /// Operator name → its weight in the stake that arrives: weights in (0, 1] summing to 1.
    /// No operator may be both in `from` and in `to`.
    pub to: BTreeMap<String, f64>,
    /// The share of the LRT's stake at each `from` operator that moves, in (0, 1].
    /// Default 1 (it leaves them).
    #[serde(default = "default_one")]
    pub share: f64,
    /// Days the queued stake stays slashable at its old operators before it reaches the new
    /// ones (EigenLayer's withdrawal escrow); ≥ 0. Default 14.
    #[serde(default = "default_escrow_days")]
    pub escrow_days: f64,
}
