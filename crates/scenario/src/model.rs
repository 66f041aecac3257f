//! The compiled model: a validated scenario turned into flat, indexed arrays and ready-made
//! samplers, so the path kernel does no name lookups and no parameter checks.

use std::collections::BTreeMap;

use rand_distr::Poisson;

use rand::{Rng, RngExt};

use crate::beacon::{EPOCHS_PER_DAY, Fork, GWEI_PER_ETH, LeakPath};
use crate::copula::{CopulaModel, Periods, geometric_skip, invert_cdf};
use crate::exploit::{ExploitModel, LendingModel, ReserveModel};
use crate::importance::ImportanceModel;
use crate::market::MarketModel;
use crate::rate::{RateDraws, RateSlot};
use crate::severity::SeverityDist;
use crate::spec::{Copula, HitUnit, IncidentKind, Scenario, Selector, SeverityDraw};
use crate::withdrawal::WithdrawalModel;

/// Days in a year for every `_per_year` and `_apr` quantity.
pub const DAYS_PER_YEAR: f64 = 365.0;
/// Loss-source name of the AVSs' independent per-allocation faults.
pub const AVS_FAULTS_SOURCE: &str = "avs_faults";

/// A validated, compiled scenario. Immutable; shared by every worker thread.
#[derive(Debug, Clone)]
pub struct Model {
    /// The resolved scenario (overrides applied, name filled in).
    pub scenario: Scenario,
    /// Scenario name.
    pub name: String,
    /// Hash of the resolved scenario (see [`scenario_hash`]).
    pub scenario_hash: String,
    /// `--set` assignments applied, in order.
    pub overrides: Vec<String>,
    /// Number of paths.
    pub paths: u64,
    /// Seed of all random streams.
    pub seed: u64,
    /// Horizon in days.
    pub horizon_days: f64,
    /// Step length in days.
    pub step_days: f64,
    /// Steps per path.
    pub n_steps: u32,
    /// Collateral at t = 0, ETH.
    pub collateral_eth: f64,
    /// LRT supply (constant over the horizon in this model).
    pub lrt_supply: f64,
    /// Operators in file order.
    pub operators: Vec<OperatorModel>,
    /// AVS names in file order.
    pub avs_names: Vec<String>,
    /// Allocation pairs (operator × AVS with magnitude > 0), grouped by operator in file
    /// order, AVSs by name within an operator.
    pub pairs: Vec<PairModel>,
    /// Gross rewards of the t = 0 book, ETH per year.
    pub gross_reward_eth_per_year: f64,
    /// Rewards of the t = 0 book net of commission and protocol fee, ETH per year.
    pub net_reward_eth_per_year: f64,
    /// Loss-source names in report order: shocks, copulas, beacon incidents, then
    /// [`AVS_FAULTS_SOURCE`].
    pub sources: Vec<String>,
    /// The AVSs' independent faults, superposed (None when every rate is 0).
    pub avs_faults: Option<AvsFaults>,
    /// Common shocks.
    pub shocks: Vec<ShockModel>,
    /// The shocks with a Poisson rate, superposed (None when none has one).
    pub shock_mix: Option<ShockMix>,
    /// Factor copulas.
    pub copulas: Vec<CopulaModel>,
    /// Beacon-chain constants.
    pub beacon: BeaconModel,
    /// Beacon-chain incidents.
    pub incidents: Vec<IncidentModel>,
    /// Redemptions and exits (None: `[withdrawals]` absent, nobody redeems).
    pub withdrawals: Option<WithdrawalModel>,
    /// The secondary market (None: `[market]` absent).
    pub market: Option<MarketModel>,
    /// The lending market (None: `[lending]` absent).
    pub lending: Option<LendingModel>,
    /// A sector's one WETH reserve (`[sector.lending]`; each LRT's collateral carries a copy
    /// in its `lending.rates`).
    pub reserve: Option<crate::exploit::RatesModel>,
    /// Exploits.
    pub exploits: Vec<ExploitModel>,
    /// Reserves in waterfall order.
    pub reserves: Vec<ReserveModel>,
    /// Importance sampling (None: plain Monte Carlo, every path weighs 1).
    pub importance: Option<ImportanceModel>,
    /// Uncertain rates and rate factors, drawn once per path before its events (None when
    /// every rate is a fixed number and no rate factor is defined: no draw, no cost).
    pub rate_draws: Option<RateDraws>,
    /// The LRTs of a sector scenario, in file order (empty: one LRT, the whole pool).
    pub lrts: Vec<LrtModel>,
    /// Sector scenarios: the joint-loss thresholds, basis points (empty otherwise).
    pub joint_loss_thresholds_bps: Vec<u32>,
    /// Allocation changes (`[[governance]]`), in file order.
    pub governance: Vec<GovernanceModel>,
    /// Stake moved between operators: `[[redelegations]]` in file order, then the LRTs' moves
    /// of each `[[undelegations]]` entry.
    pub redelegations: Vec<RedelegationModel>,
    /// Sector scenarios with `[sector.contagion]`: the loadings L_ij, row i (the LRT that
    /// loses) by column j (the LRT whose holders react), #LRTs × #LRTs, 0 on the diagonal;
    /// empty without contagion.
    pub contagion: Vec<f64>,
    /// Sector scenarios with `[sector.arbitrage]`: the arbitrageurs' one pot of capital for
    /// every LRT's market, ETH.
    pub arbitrage_pot_eth: Option<f64>,
    /// Sector scenarios with `[sector.lending.run]`: holders run when the reserve fills.
    pub reserve_run: Option<ReserveRun>,
}

/// `[sector.lending.run]`, compiled: each time the reserve's utilization reaches
/// `at_utilization` from below, LRT j's run trigger pulses with `loadings[j]` × its
/// `share_per_day`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReserveRun {
    /// The utilization that sets the holders off, in (0, 1].
    pub at_utilization: f64,
    /// Each LRT's loading, in LRT order.
    pub loadings: Vec<f64>,
    /// Days after a run before the reserve filling again sets off another.
    pub rearm_days: f64,
}

/// One `[[redelegations]]` entry: an LRT moves stake from some operators to others.
#[derive(Debug, Clone)]
pub struct RedelegationModel {
    /// Name.
    pub name: String,
    /// The LRT whose stake moves (0: the pool of a one-LRT scenario).
    pub lrt: u32,
    /// The day of the decision (None: random, see `rate_per_year`).
    pub at_days: Option<f64>,
    /// With no `at_days`: the decision is the first event of a Poisson process of this rate,
    /// per year.
    pub rate_per_year: f64,
    /// The operators the stake leaves, by index, in file order.
    pub from: Vec<u32>,
    /// (operator index, weight) of the operators it moves to, by name order.
    pub to: Vec<(u32, f64)>,
    /// The share of the LRT's stake at each `from` operator that moves.
    pub share: f64,
    /// Days from the decision until the stake reaches the new operators.
    pub escrow_days: f64,
    /// The earlier entry whose decision this one shares (the LRTs' moves of one
    /// `[[undelegations]]` entry, decided at the operator's one moment), if any.
    pub decided_with: Option<u32>,
}

/// One `[[governance]]` entry: a vote that sets new magnitudes on allocation pairs.
#[derive(Debug, Clone)]
pub struct GovernanceModel {
    /// Name.
    pub name: String,
    /// The day of the vote (None: random, see `rate_per_year`).
    pub at_days: Option<f64>,
    /// With no `at_days`: the vote is the first event of a Poisson process of this rate, per
    /// year.
    pub rate_per_year: f64,
    /// Days from the vote until an increase takes effect.
    pub allocation_delay_days: f64,
    /// Days from the vote until a decrease takes effect (slashable until then).
    pub deallocation_delay_days: f64,
    /// (pair index, new magnitude as a fraction of the operator's t = 0 max magnitude), by
    /// pair index.
    pub targets: Vec<(u32, f64)>,
}

/// One operator.
#[derive(Debug, Clone)]
pub struct OperatorModel {
    /// Name.
    pub name: String,
    /// Stake at t = 0, ETH.
    pub stake_eth: f64,
    /// Commission on gross rewards.
    pub commission: f64,
    /// This operator's allocation pairs: `pairs[first_pair..end_pair]` of the model.
    pub first_pair: u32,
    /// One past its last pair.
    pub end_pair: u32,
    /// Staking rewards (consensus + MEV) one ETH of this operator's stake earns, per year.
    pub gross_staking_per_eth_year: f64,
    /// The part of it that reaches the pool (after commission and protocol fee).
    pub net_staking_per_eth_year: f64,
    /// Effective balance of each of its validators, Gwei.
    pub validator_balance_gwei: u64,
    /// Sector scenarios: (LRT index, share of this operator's stake it delegates), by LRT
    /// index ascending; empty otherwise.
    pub lrt_shares: Vec<(u32, f64)>,
}

/// One LRT of a sector scenario (`[[lrts]]`).
#[derive(Debug, Clone)]
pub struct LrtModel {
    /// Name.
    pub name: String,
    /// Its collateral at t = 0: the operators' stake it delegates, Σ share × stake, ETH.
    pub collateral_eth: f64,
    /// Its front door (`lrts[].withdrawals`, exiting through `[sector.exit_queue]`), if any.
    pub withdrawals: Option<crate::withdrawal::WithdrawalModel>,
    /// Its secondary market (`lrts[].market`), if any.
    pub market: Option<MarketModel>,
    /// It as collateral in the sector's lending market (`lrts[].lending`), with the one
    /// reserve's borrow-rate process (`[sector.lending]`) if there is one.
    pub lending: Option<LendingModel>,
}

/// LRT outstanding at t = 0, in t = 0 ETH units (1 ETH per LRT): `collateral_eth` plus the
/// front door's buffer, if any.
fn supply0_lrt(
    collateral_eth: f64,
    withdrawals: Option<&crate::withdrawal::WithdrawalModel>,
) -> f64 {
    collateral_eth + withdrawals.map_or(0.0, |w| w.buffer_initial_eth)
}

impl LrtModel {
    /// Its supply at t = 0, in t = 0 ETH units (1 ETH per LRT): the collateral plus the
    /// front door's buffer, if any.
    pub fn supply0_lrt(&self) -> f64 {
        supply0_lrt(self.collateral_eth, self.withdrawals.as_ref())
    }
}

/// One allocation pair: an operator's magnitude on one AVS, in ETH.
#[derive(Debug, Clone)]
pub struct PairModel {
    /// Operator index.
    pub operator: u32,
    /// AVS index.
    pub avs: u32,
    /// Allocated ETH at t = 0.
    pub eth: f64,
    /// The magnitude at t = 0: allocated ETH per ETH of the operator's stake.
    pub magnitude: f64,
    /// AVS rewards one allocated ETH earns on top of staking rewards, per year.
    pub gross_avs_per_eth_year: f64,
    /// The part of it that reaches the pool (after commission and protocol fee).
    pub net_avs_per_eth_year: f64,
}

/// Independent faults of every allocation pair, superposed into one Poisson stream: an event
/// picks an AVS with probability ∝ rate × pairs, then one of its pairs uniformly.
#[derive(Debug, Clone)]
pub struct AvsFaults {
    /// Source index of [`AVS_FAULTS_SOURCE`].
    pub source: u32,
    /// Number of events over the horizon.
    pub events: Poisson<f64>,
    /// Its mean.
    pub mean_events: f64,
    /// Cumulative share of the total rate per entry (last = 1).
    pub cumulative: Vec<f64>,
    /// Per AVS with a positive rate: its severity and its pairs.
    pub entries: Vec<(SeverityDist, Vec<u32>)>,
}

impl AvsFaults {
    /// Which pair one fault event hits: an AVS entry with probability ∝ its total rate, then
    /// one of its pairs uniformly. Returns (entry index, pair index).
    pub fn sample_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> (u32, u32) {
        let u: f64 = rng.random();
        let entry = self
            .cumulative
            .partition_point(|c| *c <= u)
            .min(self.entries.len() - 1);
        let members = &self.entries[entry].1;
        (entry as u32, members[rng.random_range(0..members.len())])
    }

    /// [`AvsFaults::sample_pair`] with the entries' cumulative shares of this path
    /// (`cumulative[i]` for entry i, last = 1): its drawn rates.
    pub fn sample_pair_by<R: Rng + ?Sized>(&self, rng: &mut R, cumulative: &[f64]) -> (u32, u32) {
        let u: f64 = rng.random();
        let entry = cumulative
            .partition_point(|c| *c <= u)
            .min(self.entries.len() - 1);
        let members = &self.entries[entry].1;
        (entry as u32, members[rng.random_range(0..members.len())])
    }
}

/// The units an event can hit (groups of pairs, or single operators) and how many it hits.
#[derive(Debug, Clone)]
pub struct HitUnits {
    /// Probability that one unit is hit by one event (when `hits_per_event` is None).
    pub hit_probability: f64,
    /// Exactly this many units, uniformly without replacement, per event.
    pub hits_per_event: Option<u32>,
    /// `ln(1 − hit_probability)`, for geometric skips over units.
    ln_miss: f64,
    /// Unit `u` holds `members[offsets[u]..offsets[u + 1]]`.
    offsets: Vec<u32>,
    members: Vec<u32>,
}

impl HitUnits {
    /// Units from groups of members, hit with probability `hit_probability` each or exactly
    /// `hits_per_event` at a time.
    pub fn new(
        groups: impl IntoIterator<Item = Vec<u32>>,
        hit_probability: Option<f64>,
        hits_per_event: Option<u32>,
    ) -> Self {
        let mut offsets = vec![0u32];
        let mut members = Vec::new();
        for g in groups {
            members.extend(g);
            offsets.push(members.len() as u32);
        }
        let q = hit_probability.unwrap_or(1.0);
        HitUnits {
            hit_probability: q,
            hits_per_event,
            ln_miss: (-q).ln_1p(),
            offsets,
            members,
        }
    }

    /// Number of units.
    pub fn units(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Members of unit `u`.
    pub fn unit(&self, u: usize) -> &[u32] {
        &self.members[self.offsets[u] as usize..self.offsets[u + 1] as usize]
    }

    /// Draws which units one event hits and calls `on_hit(rng, members)` for each, in unit
    /// order: exactly `hits_per_event` units by selection sampling (Knuth's Algorithm S), or
    /// each unit with probability `hit_probability`, visiting only the hit ones by geometric
    /// skips.
    pub fn sample_hits<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        mut on_hit: impl FnMut(&mut R, &[u32]),
    ) {
        let units = self.units() as u64;
        let mut u = 0u64;
        let mut still_needed = self.hits_per_event.map(u64::from);
        loop {
            match still_needed.as_mut() {
                Some(0) => return,
                Some(k) => {
                    // Take unit u with probability k / (units left).
                    while u < units && rng.random::<f64>() * ((units - u) as f64) >= *k as f64 {
                        u += 1;
                    }
                    *k -= 1;
                }
                None if self.hit_probability < 1.0 => {
                    u = u.saturating_add(geometric_skip(rng, self.ln_miss))
                }
                None => {}
            }
            if u >= units {
                return;
            }
            on_hit(rng, self.unit(u as usize));
            u += 1;
        }
    }
}

/// A common shock: Poisson events over the horizon, each hitting units of pairs.
#[derive(Debug, Clone)]
pub struct ShockModel {
    /// Source index.
    pub source: u32,
    /// Number of events over the horizon (None when the rate is 0 or the shock is scheduled).
    pub events: Option<Poisson<f64>>,
    /// Day of the one scheduled event (`at_days`).
    pub at_days: Option<f64>,
    /// The hit units; members are pair indices.
    pub hits: HitUnits,
    /// Draw a severity per hit unit instead of per event.
    pub per_target: bool,
    /// Severity.
    pub severity: SeverityDist,
}

/// The common shocks that have a Poisson rate (rather than a scheduled day), superposed: the
/// number of their events over the horizon is Poisson with the sum of their means, and each
/// event is shock s with probability mean_s / Σ mean, independently — the law of independent
/// Poisson counts per shock (the superposition and thinning of Poisson processes), at one
/// draw for the count instead of one per shock.
#[derive(Debug, Clone)]
pub struct ShockMix {
    /// Number of events over the horizon, all shocks together.
    pub events: Poisson<f64>,
    /// P(the event's shock is among the first k + 1 of `shocks`); the last entry is 1.
    cdf: Vec<f64>,
    /// The shocks (indices into [`Model::shocks`]) with a positive mean, in order.
    shocks: Vec<u32>,
}

impl ShockMix {
    /// The mix of the shocks whose expected events over the horizon are `means` (0: none, or
    /// scheduled); None when every mean is 0.
    pub fn new(means: &[f64]) -> Option<Self> {
        let shocks: Vec<u32> = (0..means.len() as u32)
            .filter(|&s| means[s as usize] > 0.0)
            .collect();
        let total: f64 = shocks.iter().map(|&s| means[s as usize]).sum();
        if shocks.is_empty() {
            return None;
        }
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = shocks
            .iter()
            .map(|&s| {
                acc += means[s as usize];
                acc / total
            })
            .collect();
        *cdf.last_mut().expect("not empty") = 1.0;
        Some(ShockMix {
            events: Poisson::new(total).expect("validated rates"),
            cdf,
            shocks,
        })
    }

    /// The shock of one event (one uniform).
    #[inline]
    pub fn draw_shock<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        self.shocks[invert_cdf(rng, &self.cdf)]
    }
}

/// The network-level constants of the beacon-chain rules, in Gwei.
#[derive(Debug, Clone)]
pub struct BeaconModel {
    /// Slashing rules.
    pub fork: Fork,
    /// Total active balance T.
    pub total_gwei: u64,
    /// Background slashed balance in any window.
    pub background_gwei: u64,
    /// Inactivity-leak balance paths, one per effective balance in use, long enough for the
    /// horizon.
    pub leak_paths: Vec<(u64, LeakPath)>,
}

impl BeaconModel {
    /// The leak path of validators with effective balance `eb_gwei`.
    pub fn leak_path(&self, eb_gwei: u64) -> &LeakPath {
        &self
            .leak_paths
            .iter()
            .find(|(eb, _)| *eb == eb_gwei)
            .expect("a path per effective balance in use")
            .1
    }
}

/// A beacon-chain incident: Poisson events, each hitting operators' validators.
#[derive(Debug, Clone)]
pub struct IncidentModel {
    /// Source index.
    pub source: u32,
    /// Double signing or inactivity leak.
    pub kind: IncidentKind,
    /// Number of events over the horizon (None when the rate is 0 or the incident is
    /// scheduled).
    pub events: Option<Poisson<f64>>,
    /// Day of the one scheduled event (`at_days`).
    pub at_days: Option<f64>,
    /// The hit units: one operator each.
    pub hits: HitUnits,
    /// Share of a hit operator's active validators affected.
    pub validator_share: f64,
    /// Effective balance slashed outside the pool in the same incident (double signing).
    pub network_slashed_gwei: u64,
    /// Leak duration in days (inactivity leak).
    pub duration_days: Option<SeverityDist>,
}

/// The Poisson count over the horizon of a source with `rate_per_year.mean()` (None when it is
/// scheduled by `at_days`, or when its mean `rate_per_year.mean() × horizon_years` is 0 — also when
/// a tiny rate underflows to it).
pub fn poisson_events(
    rate_per_year: f64,
    horizon_years: f64,
    at_days: Option<f64>,
) -> Option<Poisson<f64>> {
    let mean = rate_per_year * horizon_years;
    (at_days.is_none() && mean > 0.0).then(|| Poisson::new(mean).expect("validated rate"))
}

/// The (operator index, AVS index) pairs a selector matches, in pair order.
pub fn selected_pairs(s: &Scenario, sel: &Selector) -> Vec<(usize, usize)> {
    let avs_index: BTreeMap<&str, usize> = s
        .avs
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for oi in selected_operators(s, sel) {
        let op = &s.operators[oi];
        for avs in pair_avs_names(s, oi) {
            let m = op.allocations.get(avs).copied().unwrap_or(0.0);
            if (m <= 0.0 && !governed(s, oi, avs))
                || (!sel.avs.is_empty() && !sel.avs.iter().any(|a| a == avs))
            {
                continue;
            }
            if let Some(ai) = avs_index.get(avs) {
                out.push((oi, *ai));
            }
        }
    }
    out
}

/// `[sector.lending.run]` with a loading per LRT (None without it).
fn compile_reserve_run(s: &Scenario) -> Option<ReserveRun> {
    let r = s.sector.as_ref()?.lending.as_ref()?.run.as_ref()?;
    let loadings = (s.lrts.iter())
        .map(|l| r.loadings.get(&l.name).copied().unwrap_or(r.loading))
        .collect();
    Some(ReserveRun {
        at_utilization: r.at_utilization,
        loadings,
        rearm_days: r.rearm_days,
    })
}

/// `[sector.contagion]` as a row-major matrix of loadings (empty without it).
fn compile_contagion(s: &Scenario) -> Vec<f64> {
    let Some(c) = s.sector.as_ref().and_then(|x| x.contagion.as_ref()) else {
        return Vec::new();
    };
    let n = s.lrts.len();
    let index = |name: &str| {
        s.lrts
            .iter()
            .position(|l| l.name == name)
            .expect("validated")
    };
    let mut out = vec![c.loading; n * n];
    for (i, row) in c.loadings.iter() {
        for (j, v) in row {
            out[index(i) * n + index(j)] = *v;
        }
    }
    for k in 0..n {
        out[k * n + k] = 0.0;
    }
    out
}

/// The redelegations, operators and LRTs by index: `[[redelegations]]` in file order, then
/// each `[[undelegations]]` entry's moves (one per LRT with stake at its operator, in LRT
/// order).
fn compile_redelegations(s: &Scenario) -> Vec<RedelegationModel> {
    let op = |name: &str| {
        s.operators
            .iter()
            .position(|o| o.name == name)
            .expect("validated") as u32
    };
    let mut out: Vec<RedelegationModel> = (s.redelegations.iter())
        .map(|r| RedelegationModel {
            name: r.name.clone(),
            lrt: r.lrt.as_ref().map_or(0, |l| {
                s.lrts.iter().position(|x| &x.name == l).expect("validated") as u32
            }),
            at_days: r.at_days,
            rate_per_year: r.rate_per_year.unwrap_or(0.0),
            from: r.from.iter().map(|n| op(n)).collect(),
            to: r.to.iter().map(|(n, w)| (op(n), *w)).collect(),
            share: r.share,
            escrow_days: r.escrow_days,
            decided_with: None,
        })
        .collect();
    // Each undelegation: a move of all its stake by every LRT with stake at the operator,
    // the first one's decision shared by the others.
    for u in &s.undelegations {
        let o = op(&u.operator) as usize;
        let first = out.len() as u32;
        // (LRT index, name, its stake at each operator at t = 0).
        // (LRT index, name, its stake at each operator at t = 0).
        let holders: Vec<(u32, &str, Vec<f64>)> = if s.lrts.is_empty() {
            vec![(0, "pool", stakes_of(s, None))]
        } else {
            (s.lrts.iter().enumerate())
                .map(|(k, l)| (k as u32, l.name.as_str(), stakes_of(s, Some(&l.name))))
                .collect()
        };
        for (lrt, name, stakes) in holders {
            if stakes[o].is_nan() || stakes[o] <= 0.0 {
                continue;
            }
            let to: Vec<(u32, f64)> = if u.to.is_empty() {
                let others: f64 = (stakes.iter().enumerate())
                    .filter(|&(i, &x)| i != o && x > 0.0)
                    .map(|(_, x)| x)
                    .sum();
                (stakes.iter().enumerate())
                    .filter(|&(i, &x)| i != o && x > 0.0)
                    .map(|(i, x)| (i as u32, x / others))
                    .collect()
            } else {
                u.to.iter().map(|(n, w)| (op(n), *w)).collect()
            };
            out.push(RedelegationModel {
                name: format!("{}.{name}", u.name),
                lrt,
                at_days: u.at_days,
                rate_per_year: u.rate_per_year.unwrap_or(0.0),
                from: vec![o as u32],
                to,
                share: 1.0,
                escrow_days: u.escrow_days,
                decided_with: (out.len() as u32 > first).then_some(first),
            });
        }
    }
    out
}

/// Each operator's stake of LRT `lrt` at t = 0 (with `None`, the pool's: its whole stake), ETH,
/// in operator order.
pub fn stakes_of(s: &Scenario, lrt: Option<&str>) -> Vec<f64> {
    (s.operators.iter())
        .map(|o| {
            let own = o.stake_eth_of(s.pool.collateral_eth);
            lrt.map_or(own, |l| o.lrts.get(l).copied().unwrap_or(0.0) * own)
        })
        .collect()
}

/// The governance entries, each with its (pair, new magnitude) targets by pair index.
fn compile_governance(
    s: &Scenario,
    pair_index: &BTreeMap<(usize, usize), u32>,
) -> Vec<GovernanceModel> {
    s.governance
        .iter()
        .map(|g| {
            let mut targets: Vec<(u32, f64)> = selected_operators(s, &g.select)
                .into_iter()
                .flat_map(|oi| {
                    g.allocations.iter().filter_map(move |(avs, &m)| {
                        let ai = s.avs.iter().position(|a| &a.name == avs)?;
                        Some(((oi, ai), m))
                    })
                })
                .filter_map(|(key, m)| pair_index.get(&key).map(|&p| (p, m)))
                .collect();
            targets.sort_by_key(|t| t.0);
            GovernanceModel {
                name: g.name.clone(),
                at_days: g.at_days,
                rate_per_year: g.rate_per_year.unwrap_or(0.0),
                allocation_delay_days: g.allocation_delay_days,
                deallocation_delay_days: g.deallocation_delay_days,
                targets,
            }
        })
        .collect()
}

/// The AVS names operator `oi` may have a pair with, by name: its allocations and the AVSs a
/// governance entry selecting it allocates to.
fn pair_avs_names(s: &Scenario, oi: usize) -> std::collections::BTreeSet<&str> {
    let mut names: std::collections::BTreeSet<&str> = s.operators[oi]
        .allocations
        .keys()
        .map(String::as_str)
        .collect();
    for g in &s.governance {
        if selected_operators(s, &g.select).contains(&oi) {
            names.extend(g.allocations.keys().map(String::as_str));
        }
    }
    names
}

/// Whether a governance entry selecting operator `oi` sets a positive magnitude on `avs`: the
/// pair exists from t = 0 (with nothing allocated until the vote takes effect), so that the
/// AVS's faults and shocks can reach the allocation once it is made.
fn governed(s: &Scenario, oi: usize, avs: &str) -> bool {
    s.governance.iter().any(|g| {
        g.allocations.get(avs).is_some_and(|m| *m > 0.0)
            && selected_operators(s, &g.select).contains(&oi)
    })
}

/// The operator indices a selector matches (its `avs` filter ignored), in file order.
pub fn selected_operators(s: &Scenario, sel: &Selector) -> Vec<usize> {
    s.operators
        .iter()
        .enumerate()
        .filter(|(_, op)| sel.operators.is_empty() || sel.operators.contains(&op.name))
        .filter(|(_, op)| {
            sel.attributes.iter().all(|(k, vals)| {
                op.attributes
                    .get(k)
                    .is_some_and(|v| vals.values().contains(&v.as_str()))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// FNV-1a (64-bit) of the resolved scenario's canonical JSON: identifies the exact inputs of a
/// run in reports. Not a cryptographic hash.
pub fn scenario_hash(s: &Scenario) -> String {
    let json = serde_json::to_string(s).expect("scenario serializes");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// The marginal probability that a pair of copula `cp` faults within `days` days:
/// `1 − (1 − p)^days` from `fault_prob_per_day` (exactly p for one day), `1 − (1 −
/// p)^(days/365)` from `fault_prob_per_year`.
pub fn copula_fault_prob(cp: &Copula, days: f64) -> f64 {
    match (cp.fault_prob_per_day, cp.fault_prob_per_year) {
        (Some(p), _) if days == 1.0 => p,
        (Some(p), _) => -((-p).ln_1p() * days).exp_m1(),
        (None, Some(p)) => -((-p).ln_1p() * days / DAYS_PER_YEAR).exp_m1(),
        (None, None) => 0.0,
    }
}

impl Model {
    /// LRT outstanding at t = 0, in t = 0 ETH units (1 ETH per LRT at t = 0): the collateral
    /// plus the withdrawal buffer, if any.
    pub fn supply0_lrt(&self) -> f64 {
        supply0_lrt(self.collateral_eth, self.withdrawals.as_ref())
    }

    /// Compiles a scenario that passed [`crate::validate::validate`].
    pub fn compile(scenario: Scenario, overrides: Vec<String>) -> Model {
        let s = &scenario;
        let sim = &s.simulation;
        let n_steps = (sim.horizon_days / sim.step_days).round().max(1.0) as u32;
        let horizon_years = sim.horizon_days / DAYS_PER_YEAR;
        let collateral_eth = s.pool.collateral_eth;
        let lrt_supply = match (s.pool.lrt_supply, s.pool.exchange_rate) {
            (Some(supply), _) => supply,
            (None, Some(rate)) => collateral_eth / rate,
            (None, None) => collateral_eth,
        };
        let staking_apr = s.rewards.base_apr + s.rewards.mev_apr;
        let keep = 1.0 - s.pool.protocol_fee;

        let mut operators: Vec<OperatorModel> = s
            .operators
            .iter()
            .map(|o| OperatorModel {
                name: o.name.clone(),
                stake_eth: o.stake_eth_of(collateral_eth),
                commission: o.commission.unwrap_or(s.rewards.operator_commission),
                first_pair: 0,
                end_pair: 0,
                gross_staking_per_eth_year: staking_apr,
                validator_balance_gwei: (o
                    .validator_balance_eth
                    .unwrap_or(s.beacon.validator_balance_eth)
                    * GWEI_PER_ETH as f64) as u64,
                net_staking_per_eth_year: staking_apr
                    * (1.0 - o.commission.unwrap_or(s.rewards.operator_commission))
                    * keep,
                lrt_shares: s
                    .lrts
                    .iter()
                    .enumerate()
                    .filter_map(|(k, l)| {
                        o.lrts
                            .get(&l.name)
                            .filter(|share| **share > 0.0)
                            .map(|share| (k as u32, *share))
                    })
                    .collect(),
            })
            .collect();
        let mut lrts: Vec<LrtModel> = s
            .lrts
            .iter()
            .enumerate()
            .map(|(k, l)| LrtModel {
                name: l.name.clone(),
                // Summed in operator order.
                collateral_eth: operators
                    .iter()
                    .flat_map(|o| {
                        o.lrt_shares
                            .iter()
                            .filter(|(i, _)| *i as usize == k)
                            .map(|(_, share)| share * o.stake_eth)
                    })
                    .sum(),
                withdrawals: l.withdrawals.as_ref().map(|w| {
                    let default = crate::spec::ExitNetwork::default();
                    let net = s
                        .sector
                        .as_ref()
                        .and_then(|x| x.exit_queue.as_ref())
                        .unwrap_or(&default);
                    crate::withdrawal::WithdrawalModel::compile_with(s, w, net)
                }),
                market: l.market.as_ref().map(|mk| MarketModel::compile_with(s, mk)),
                // With the reserve's rates once the yield is known (below).
                lending: l
                    .lending
                    .as_ref()
                    .map(|x| crate::exploit::compile_collateral(x, None)),
            })
            .collect();
        let all = selected_pairs(s, &Selector::default());
        // Pairs come operator by operator: record each operator's range.
        for (k, &(oi, _)) in all.iter().enumerate() {
            if operators[oi].end_pair == 0 {
                operators[oi].first_pair = k as u32;
            }
            operators[oi].end_pair = k as u32 + 1;
        }
        let pair_index: BTreeMap<(usize, usize), u32> = all
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i as u32))
            .collect();
        let pairs: Vec<PairModel> = all
            .iter()
            .map(|&(oi, ai)| {
                let op = &s.operators[oi];
                let magnitude = op
                    .allocations
                    .get(&s.avs[ai].name)
                    .copied()
                    .unwrap_or(0.0)
                    .max(0.0);
                let gross = s.avs[ai].reward_apr;
                PairModel {
                    operator: oi as u32,
                    avs: ai as u32,
                    eth: magnitude * operators[oi].stake_eth,
                    magnitude,
                    gross_avs_per_eth_year: gross,
                    net_avs_per_eth_year: gross * (1.0 - operators[oi].commission) * keep,
                }
            })
            .collect();
        let mut gross_reward = 0.0;
        let mut net_reward = 0.0;
        for op in &operators {
            gross_reward += op.stake_eth * op.gross_staking_per_eth_year;
            net_reward += op.stake_eth * op.net_staking_per_eth_year;
        }
        for p in &pairs {
            gross_reward += p.eth * p.gross_avs_per_eth_year;
            net_reward += p.eth * p.net_avs_per_eth_year;
        }
        // A sector's reserve: loopers of every LRT compare its rate with the pool's yield.
        let reserve = crate::exploit::compile_reserve(s, net_reward / collateral_eth);
        for l in &mut lrts {
            if let Some(x) = l.lending.as_mut() {
                x.rates.clone_from(&reserve);
            }
        }

        let mut sources: Vec<String> = s.shocks.iter().map(|x| x.name.clone()).collect();
        sources.extend(s.copulas.iter().map(|x| x.name.clone()));
        sources.extend(s.beacon_incidents.iter().map(|x| x.name.clone()));
        let pairs_of = |sel: &Selector| -> Vec<(usize, usize, u32)> {
            selected_pairs(s, sel)
                .into_iter()
                .map(|(o, a)| (o, a, pair_index[&(o, a)]))
                .collect()
        };

        let shocks = s
            .shocks
            .iter()
            .enumerate()
            .map(|(i, sh)| {
                let selected = pairs_of(&sh.select);
                let mut units: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
                for (k, &(o, a, p)) in selected.iter().enumerate() {
                    let key = match sh.hit_per {
                        HitUnit::Operator => o,
                        HitUnit::Avs => a,
                        HitUnit::Allocation => k,
                        HitUnit::Event => 0,
                    };
                    units.entry(key).or_default().push(p);
                }
                ShockModel {
                    source: i as u32,
                    events: poisson_events(sh.rate_per_year.mean(), horizon_years, sh.at_days),
                    at_days: sh.at_days,
                    hits: HitUnits::new(units.into_values(), sh.hit_probability, sh.hits_per_event),
                    per_target: sh.severity_draw == SeverityDraw::PerTarget,
                    severity: sh.severity.sampler(),
                }
            })
            .collect();

        let shocks_means: Vec<f64> = s
            .shocks
            .iter()
            .map(|sh| match sh.at_days {
                Some(_) => 0.0,
                None => sh.rate_per_year.mean() * horizon_years,
            })
            .collect();

        let copulas: Vec<CopulaModel> = s
            .copulas
            .iter()
            .enumerate()
            .map(|(i, cp)| {
                let selected = pairs_of(&cp.select);
                let mut groups: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
                for &(o, a, p) in &selected {
                    let key = match cp.group_by.as_deref() {
                        None => "",
                        Some("avs") => s.avs[a].name.as_str(),
                        Some("operator") => s.operators[o].name.as_str(),
                        Some(attr) => s.operators[o].attributes[attr].as_str(),
                    };
                    groups.entry(key).or_default().push(p);
                }
                let periods = Periods::new(sim.horizon_days, cp.factor_period_days);
                CopulaModel::new(
                    (s.shocks.len() + i) as u32,
                    cp,
                    periods,
                    copula_fault_prob(cp, periods.period_days),
                    copula_fault_prob(cp, periods.last_days),
                    groups.into_values().collect(),
                )
            })
            .collect();

        let fault_entries: Vec<(f64, SeverityDist, Vec<u32>)> = s
            .avs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.fault_rate_per_year.mean() > 0.0)
            .filter_map(|(ai, a)| {
                let members: Vec<u32> = pairs
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.avs as usize == ai)
                    .map(|(k, _)| k as u32)
                    .collect();
                let sev = a
                    .fault_severity
                    .as_ref()
                    .expect("validated: severity given with a rate")
                    .sampler();
                (!members.is_empty()).then_some((
                    a.fault_rate_per_year.mean() * members.len() as f64,
                    sev,
                    members,
                ))
            })
            .collect();
        let total_rate: f64 = fault_entries.iter().map(|e| e.0).sum();
        let avs_fault_events = poisson_events(total_rate, horizon_years, None);
        let avs_faults = avs_fault_events.map(|events| {
            let mut acc = 0.0;
            let cumulative = fault_entries
                .iter()
                .map(|e| {
                    acc += e.0 / total_rate;
                    acc
                })
                .collect();
            AvsFaults {
                source: sources.len() as u32,
                mean_events: total_rate * horizon_years,
                events,
                cumulative,
                entries: fault_entries
                    .into_iter()
                    .map(|(_, sev, m)| (sev, m))
                    .collect(),
            }
        });
        sources.push(AVS_FAULTS_SOURCE.to_string());

        let first_incident_source = s.shocks.len() + s.copulas.len();
        let incidents: Vec<IncidentModel> = s
            .beacon_incidents
            .iter()
            .enumerate()
            .map(|(i, inc)| {
                let ops = selected_operators(s, &inc.select)
                    .into_iter()
                    .map(|o| vec![o as u32]);
                IncidentModel {
                    source: (first_incident_source + i) as u32,
                    kind: inc.kind,
                    events: poisson_events(inc.rate_per_year.mean(), horizon_years, inc.at_days),
                    at_days: inc.at_days,
                    hits: HitUnits::new(ops, inc.hit_probability, inc.hits_per_event),
                    validator_share: inc.validator_share,
                    network_slashed_gwei: (inc.network_slashed_share
                        * s.beacon.total_active_balance_eth
                        * GWEI_PER_ETH as f64) as u64,
                    duration_days: inc.duration_days.as_ref().map(|d| d.sampler()),
                }
            })
            .collect();
        let has_leaks = incidents
            .iter()
            .any(|i| i.kind == IncidentKind::InactivityLeak);
        let mut balances: Vec<u64> = operators.iter().map(|o| o.validator_balance_gwei).collect();
        balances.sort_unstable();
        balances.dedup();
        let leak_epochs = (sim.horizon_days * EPOCHS_PER_DAY).ceil() as usize;
        let beacon = BeaconModel {
            fork: s.beacon.fork,
            total_gwei: (s.beacon.total_active_balance_eth * GWEI_PER_ETH as f64) as u64,
            background_gwei: (s.beacon.background_slashed_eth * GWEI_PER_ETH as f64) as u64,
            leak_paths: if has_leaks {
                balances
                    .into_iter()
                    .map(|eb| (eb, LeakPath::new(eb, leak_epochs)))
                    .collect()
            } else {
                Vec::new()
            },
        };

        let rate_draws = compile_rate_draws(s, horizon_years, &pairs);
        let avs_faults_mean = avs_faults.as_ref().map_or(0.0, |f| f.mean_events);
        let importance = crate::importance::compile(s, avs_faults_mean, &copulas);
        Model {
            name: s.name.clone().unwrap_or_default(),
            scenario_hash: scenario_hash(s),
            overrides,
            paths: sim.paths,
            seed: sim.seed,
            horizon_days: sim.horizon_days,
            step_days: sim.step_days,
            n_steps,
            collateral_eth,
            lrt_supply,
            avs_names: s.avs.iter().map(|a| a.name.clone()).collect(),
            operators,
            pairs,
            gross_reward_eth_per_year: gross_reward,
            net_reward_eth_per_year: net_reward,
            sources,
            avs_faults,
            shock_mix: ShockMix::new(&shocks_means),
            shocks,
            copulas,
            beacon,
            incidents,
            withdrawals: WithdrawalModel::compile(s),
            market: MarketModel::compile(s),
            lending: crate::exploit::compile_lending(s, net_reward / collateral_eth),
            reserve,
            exploits: crate::exploit::compile_exploits(s),
            reserves: crate::exploit::compile_reserves(s),
            importance,
            rate_draws,
            governance: compile_governance(s, &pair_index),
            redelegations: compile_redelegations(s),
            contagion: compile_contagion(s),
            reserve_run: compile_reserve_run(s),
            arbitrage_pot_eth: (s.sector.as_ref())
                .and_then(|x| x.arbitrage.as_ref())
                .map(|a| a.capital_eth),
            joint_loss_thresholds_bps: if lrts.is_empty() {
                Vec::new()
            } else {
                s.sector
                    .as_ref()
                    .map_or_else(crate::spec::default_joint_loss_thresholds_bps, |x| {
                        x.joint_loss_thresholds_bps.clone()
                    })
                    .iter()
                    .map(|&b| b as u32)
                    .collect()
            },
            lrts,
            scenario,
        }
    }
}

/// The per-path rate draws of a scenario with uncertain rates or rate factors (see
/// [`RateDraws`] for the slot order; the AVS entries are those of [`AvsFaults`]).
fn compile_rate_draws(s: &Scenario, horizon_years: f64, pairs: &[PairModel]) -> Option<RateDraws> {
    if !crate::rate::has_uncertain_rates(s) {
        return None;
    }
    let factor_index = |name: Option<&str>| {
        name.map(|n| {
            s.rate_factors
                .iter()
                .position(|f| f.name == n)
                .expect("validated rate factor") as u32
        })
    };
    let slot = |rate: &crate::rate::Rate, factor: Option<&str>, scale: f64| RateSlot {
        rate: rate.sampler(),
        factor: factor_index(factor),
        scale,
    };
    let mut slots = Vec::new();
    let mut first = [0usize; 6];
    for x in &s.shocks {
        slots.push(slot(
            &x.rate_per_year,
            x.rate_factor.as_deref(),
            horizon_years,
        ));
    }
    first[0] = slots.len();
    for x in &s.beacon_incidents {
        slots.push(slot(
            &x.rate_per_year,
            x.rate_factor.as_deref(),
            horizon_years,
        ));
    }
    first[1] = slots.len();
    for x in &s.exploits {
        slots.push(slot(
            &x.rate_per_year,
            x.rate_factor.as_deref(),
            horizon_years,
        ));
    }
    first[2] = slots.len();
    for (ai, a) in s.avs.iter().enumerate() {
        let n = pairs.iter().filter(|p| p.avs as usize == ai).count();
        if a.fault_rate_per_year.mean() > 0.0 && n > 0 {
            let scale = horizon_years * n as f64;
            slots.push(slot(
                &a.fault_rate_per_year,
                a.fault_rate_factor.as_deref(),
                scale,
            ));
        }
    }
    first[3] = slots.len();
    for (rate, factor) in crate::rate::rush_rates(s) {
        slots.push(slot(rate, factor, horizon_years));
    }
    first[4] = slots.len();
    for (rate, factor) in crate::rate::supply_shock_rates(s) {
        slots.push(slot(rate, factor, horizon_years));
    }
    first[5] = slots.len();
    for (rate, factor) in crate::rate::depeg_rates(s) {
        slots.push(slot(rate, factor, horizon_years));
    }
    let factors = s
        .rate_factors
        .iter()
        .map(|f| rand_distr::Gamma::new(1.0 / f.variance, f.variance).expect("validated variance"))
        .collect();
    Some(RateDraws {
        factors,
        slots,
        first,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_distr::Distribution;

    use super::*;

    /// The superposed shocks have the law of independent Poisson counts per shock: each
    /// shock's mean and P(no event) are its Poisson law's, two shocks' counts are
    /// uncorrelated, and a shock of mean 0 never fires (200,000 draws; within 4.5 standard
    /// errors).
    #[test]
    fn superposed_shocks_are_independent_poisson_counts() {
        let means = [0.3, 0.0, 1.2, 0.05];
        let mix = ShockMix::new(&means).expect("some mean is positive");
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(20_261_206);
        let n = 200_000;
        let mut sums = [0.0f64; 4];
        let mut zeros = [0u64; 4];
        let mut cross = 0.0;
        for _ in 0..n {
            let mut counts = [0u32; 4];
            for _ in 0..mix.events.sample(&mut rng) as u64 {
                counts[mix.draw_shock(&mut rng) as usize] += 1;
            }
            for s in 0..4 {
                sums[s] += f64::from(counts[s]);
                zeros[s] += u64::from(counts[s] == 0);
            }
            cross += f64::from(counts[0]) * f64::from(counts[2]);
        }
        let nf = f64::from(n);
        for (s, &mean) in means.iter().enumerate() {
            let m = sums[s] / nf;
            assert!(
                (m - mean).abs() <= 4.5 * (mean / nf).sqrt(),
                "shock {s}: mean {m} vs {mean}"
            );
            let p0 = (-mean).exp();
            let z = zeros[s] as f64 / nf;
            assert!(
                (z - p0).abs() <= 4.5 * (p0 * (1.0 - p0) / nf).sqrt(),
                "shock {s}: P(0) {z} vs {p0}"
            );
        }
        assert_eq!(sums[1], 0.0, "a shock of mean 0 never fires");
        let cov = cross / nf - (sums[0] / nf) * (sums[2] / nf);
        let se = (means[0] * means[2] / nf).sqrt();
        assert!(cov.abs() <= 4.5 * se, "cov {cov} (se {se})");
        assert!(ShockMix::new(&[0.0, 0.0]).is_none());
    }
}
