//! Path traces: what happened on one path, event by event and step by step.
//!
//! A [`TraceRecorder`] attached to a [`PathKernel`](crate::PathKernel)
//! ([`PathKernel::attach_trace`](crate::PathKernel::attach_trace)) receives every event the
//! kernel applies — a [`TraceEvent`]: when, what kind, which source, what it drew and hit, the
//! ETH it slashed and the NAV after it — and one [`TraceStep`] per step: the NAV, the losses,
//! and the state of the front door, the market, the lending market and the reserves when the
//! scenario has them. The kernel's hooks only read its state, so a path's output row is the
//! same, bit for bit, with or without a recorder; without one (the hot path) the kernel checks
//! for it once per event and once per step and allocates nothing.
//!
//! [`crate::replayer`] re-simulates single paths of a run with a recorder attached.
//!
//! **Steps of the event-driven path.** Scenarios without `[withdrawals]` and `[market]` run
//! event by event, accruing rewards in one piece up to each event's step. Their step rows add
//! the rewards not yet accrued as the accrual would (rewards are linear in time, and the
//! reserves' share of them is taken up to their caps in the same way), so a row's NAV is the
//! NAV a step-by-step accrual would give — equal to rounding; the last row is taken after the
//! final accrual, so its NAV is the path's, `1 + nav_return`, to rounding.

use std::fmt;
use std::sync::mpsc::SyncSender;

use lrtsim_scenario::Model;
use lrtsim_scenario::spec::{ExploitKind, IncidentKind};

use crate::kernel::{DoubleSign, ExploitRecord, Kind};

/// The kind of an event, as written in `events.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A common shock (`[[shocks]]`): one draw hits groups of allocations.
    Shock,
    /// An AVS's independent fault on one allocation (`fault_rate_per_year`).
    AvsFault,
    /// A factor-copula fault on one allocation (`[[copulas]]`), at the end of its step.
    CopulaFault,
    /// A beacon-chain incident (`[[beacon_incidents]]`): double signing or an inactivity leak.
    BeaconIncident,
    /// The correlation penalty of a double-signing incident, 4096 epochs after it.
    CorrelationPenalty,
    /// A sector-wide rush on the network exit queue (`[[withdrawals.network.rushes]]`).
    Rush,
    /// A market depeg shock (`[[market.shocks]]`): holders start to sell.
    Depeg,
    /// Outside lenders withdraw from the lending market (`[[lending.rates.supply_shocks]]`).
    SupplyShock,
    /// An exploit (`[[exploits]]`): assets stolen or LRT minted without backing.
    Exploit,
    /// The restitution of part of a theft.
    Restitution,
    /// Inactivity-leak penalties accrued since the path's clock last moved (a leak's losses
    /// are booked as they accrue, not at its start).
    LeakAccrual,
    /// A governance vote (`[[governance]]`): operators set new magnitudes.
    Vote,
    /// A vote's increases or decreases take effect.
    Allocation,
    /// A redelegation's decision (`[[redelegations]]`): the stake is queued, still slashable
    /// at its old operators.
    Redelegation,
    /// A redelegation completes: the stake leaves its old operators for the new ones.
    Delegation,
}

impl EventKind {
    /// The name used in `events.csv`: `shock`, `avs_fault`, `copula_fault`,
    /// `beacon_incident`, `correlation_penalty`, `rush`, `depeg`, `supply_shock`, `exploit`
    /// `restitution`, `leak_accrual`, `vote`, `allocation`, `redelegation` or `delegation`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Shock => "shock",
            EventKind::AvsFault => "avs_fault",
            EventKind::CopulaFault => "copula_fault",
            EventKind::BeaconIncident => "beacon_incident",
            EventKind::CorrelationPenalty => "correlation_penalty",
            EventKind::Rush => "rush",
            EventKind::Depeg => "depeg",
            EventKind::SupplyShock => "supply_shock",
            EventKind::Exploit => "exploit",
            EventKind::Restitution => "restitution",
            EventKind::LeakAccrual => "leak_accrual",
            EventKind::Vote => "vote",
            EventKind::Allocation => "allocation",
            EventKind::Redelegation => "redelegation",
            EventKind::Delegation => "delegation",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event applied on a path.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    /// 0-based index of the step the event falls in (the step covers days
    /// `[step · step_days, (step + 1) · step_days)`; a copula fault at the end of its factor
    /// period belongs to the step that ends then).
    pub step: u32,
    /// When it happened, days from the start (copula faults: the end of their factor period,
    /// capped at the horizon).
    pub day: f64,
    /// What kind of event.
    pub kind: EventKind,
    /// The scenario's name for its source: the shock, copula, beacon incident, rush, depeg
    /// shock, supply shock or exploit; for an AVS fault the AVS; for a correlation penalty
    /// its incident; for a restitution its exploit.
    pub name: String,
    /// What it drew and hit, in a few words (severities, allocations or operators hit, sizes).
    pub detail: String,
    /// ETH the pool lost to slashing in this event (AVS slashing and beacon-chain penalties).
    pub slashed_eth: f64,
    /// ETH lost to an exploit: stolen, or the ETH value of an unbacked mint's dilution at the
    /// mint.
    pub exploit_loss_eth: f64,
    /// ETH the reserves paid into the pool for this event's loss.
    pub reserve_paid_eth: f64,
    /// What the pool lost in this event after the reserves: `slashed_eth + exploit_loss_eth −
    /// reserve_paid_eth`, less the ETH a restitution pays into the pool (negative for a
    /// restitution).
    pub net_loss_eth: f64,
    /// NAV per LRT right after the event, ETH (1 at t = 0; rewards are accrued up to the
    /// start of the event's step).
    pub nav_per_lrt: f64,
}

/// The front door at a step's end (scenarios with `[withdrawals]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRedemption {
    /// LRT outstanding, in t = 0 ETH units.
    pub supply_lrt: f64,
    /// The step's redemption demand: share of the remaining holders asking per day.
    pub demand_share_per_day: f64,
    /// LRT waiting in the protocol's queue (arbitrageurs' requests joining at the next step
    /// included).
    pub queue_lrt: f64,
    /// Its value at the step's NAV, ETH.
    pub queue_eth: f64,
    /// Liquid ETH: the instant buffer and ETH delivered but not yet paid out.
    pub liquid_eth: f64,
    /// ETH out of the restaked book on its way to the pool (exiting validators, the sweep).
    pub transit_eth: f64,
    /// ETH paid to redeeming holders so far (after instant fees).
    pub redeemed_eth: f64,
    /// The beacon chain's network-wide exit queue, ETH.
    pub network_queue_eth: f64,
    /// The wait the protocol posted at the step's start, days.
    pub posted_wait_days: f64,
}

/// The LRT/ETH pool at a step's end (scenarios with `[market]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepMarket {
    /// The market price, ETH per LRT (marginal, before fees).
    pub price_eth: f64,
    /// Discount to NAV at the step's end, 1 − price / NAV (negative: a premium), as recorded in
    /// `price_paths.csv` (the NAV of the step's settlement, before its rewards).
    pub discount: f64,
    /// Deepest discount at any step's low so far (the path's `max_discount` at the horizon).
    pub max_discount: f64,
    /// LRT held by the pool.
    pub pool_lrt: f64,
}

/// The lending market at a step's end (scenarios with `[lending]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLending {
    /// Debt of the open positions, ETH.
    pub debt_eth: f64,
    /// Their collateral, LRT.
    pub collateral_lrt: f64,
    /// Collateral seized by liquidators so far, LRT.
    pub liquidated_lrt: f64,
    /// Debt written off so far, ETH (the path's `bad_debt_eth` also counts what open
    /// positions' collateral no longer covers at the horizon).
    pub bad_debt_eth: f64,
}

/// Exploits and reserves at a step's end (scenarios with `[[exploits]]` or `[[reserves]]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepWaterfall {
    /// ETH stolen so far.
    pub stolen_eth: f64,
    /// LRT minted without backing so far.
    pub minted_lrt: f64,
    /// ETH the reserves paid into the pool so far.
    pub reserve_paid_eth: f64,
    /// ETH the reserves hold.
    pub reserves_eth: f64,
}

/// The state of a path at the end of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceStep {
    /// 0-based step index.
    pub step: u32,
    /// Days from the start at the step's end, `(step + 1) · step_days`.
    pub day: f64,
    /// Events applied in the step.
    pub events: u32,
    /// ETH slashed in the step.
    pub slashed_eth: f64,
    /// ETH slashed since the start.
    pub slashed_eth_cum: f64,
    /// Rewards that reached the pool since the start, ETH.
    pub rewards_eth_cum: f64,
    /// NAV per LRT, ETH (1 at t = 0).
    pub nav_per_lrt: f64,
    /// The front door (None without `[withdrawals]`).
    pub redemption: Option<StepRedemption>,
    /// The market (None without `[market]`).
    pub market: Option<StepMarket>,
    /// The lending market (None without `[lending]`).
    pub lending: Option<StepLending>,
    /// Exploits and reserves (None without `[[exploits]]` and `[[reserves]]`).
    pub waterfall: Option<StepWaterfall>,
}

impl TraceStep {
    /// The row's columns as (name, value), in `trace.csv` order: the fixed columns, then those
    /// of the sections the scenario has.
    pub fn columns(&self) -> Vec<(&'static str, f64)> {
        let mut c = vec![
            ("step", f64::from(self.step)),
            ("day", self.day),
            ("events", f64::from(self.events)),
            ("slashed_eth", self.slashed_eth),
            ("slashed_eth_cum", self.slashed_eth_cum),
            ("rewards_eth_cum", self.rewards_eth_cum),
            ("nav_per_lrt", self.nav_per_lrt),
        ];
        if let Some(r) = &self.redemption {
            c.extend([
                ("supply_lrt", r.supply_lrt),
                ("demand_share_per_day", r.demand_share_per_day),
                ("queue_lrt", r.queue_lrt),
                ("queue_eth", r.queue_eth),
                ("liquid_eth", r.liquid_eth),
                ("transit_eth", r.transit_eth),
                ("redeemed_eth_cum", r.redeemed_eth),
                ("network_queue_eth", r.network_queue_eth),
                ("posted_wait_days", r.posted_wait_days),
            ]);
        }
        if let Some(mk) = &self.market {
            c.extend([
                ("price_eth", mk.price_eth),
                ("discount", mk.discount),
                ("max_discount_so_far", mk.max_discount),
                ("pool_lrt", mk.pool_lrt),
            ]);
        }
        if let Some(l) = &self.lending {
            c.extend([
                ("debt_eth", l.debt_eth),
                ("collateral_lrt", l.collateral_lrt),
                ("liquidated_lrt_cum", l.liquidated_lrt),
                ("bad_debt_eth_cum", l.bad_debt_eth),
            ]);
        }
        if let Some(w) = &self.waterfall {
            c.extend([
                ("stolen_eth_cum", w.stolen_eth),
                ("minted_lrt_cum", w.minted_lrt),
                ("reserve_paid_eth_cum", w.reserve_paid_eth),
                ("reserves_eth", w.reserves_eth),
            ]);
        }
        c
    }
}

/// One allocation or operator an event hit, as the kernel reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    /// Pair index (shocks, faults) or operator index (beacon incidents).
    index: u32,
    /// Severity (pairs) or validators hit (operators).
    amount: f64,
    /// ETH lost (operators only; NaN for pairs).
    loss_eth: f64,
    /// Operators: slashed or ejected validators.
    flag: bool,
}

/// What the kernel tells the recorder about the event it is applying: what it drew and hit.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFacts {
    hits: Vec<Hit>,
    /// Numbers drawn or computed, by kind (see `describe`).
    pub(crate) values: Vec<f64>,
}

impl EventFacts {
    pub(crate) fn clear(&mut self) {
        self.hits.clear();
        self.values.clear();
    }

    /// Allocation pairs `pairs` slashed at `severity`.
    pub(crate) fn hit_pairs(&mut self, pairs: &[u32], severity: f64) {
        self.hits.extend(pairs.iter().map(|&index| Hit {
            index,
            amount: severity,
            loss_eth: f64::NAN,
            flag: false,
        }));
    }

    /// `validators` of operator `op` lost `loss_eth`; `flag`: slashed or ejected.
    pub(crate) fn hit_operator(&mut self, op: u32, validators: f64, loss_eth: f64, flag: bool) {
        self.hits.push(Hit {
            index: op,
            amount: validators,
            loss_eth,
            flag,
        });
    }
}

/// Receives a path's trace from the kernel. Attach one with
/// [`PathKernel::attach_trace`](crate::PathKernel::attach_trace); each path run starts a new
/// trace.
#[derive(Debug, Clone, Default)]
pub struct TraceRecorder {
    events: Vec<TraceEvent>,
    steps: Vec<TraceStep>,
    /// The event being applied.
    pub(crate) facts: EventFacts,
    events_in_step: u32,
    slashed_at_last_step: f64,
    /// What the path's summary needs from its steps, kept as they come.
    digest: StepDigest,
    /// Where step rows go instead of `steps`, when streamed ([`TraceRecorder::streaming`]).
    stream: Option<SyncSender<TraceStep>>,
    /// The stream's receiver went away: later rows are dropped.
    stream_closed: bool,
}

impl TraceRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        TraceRecorder::default()
    }

    /// A recorder that sends each step row to `rows` as the step ends instead of keeping it
    /// (its [`steps`](Self::steps) stay empty; the [`digest`](Self::digest) still sees every
    /// row). If the receiver goes away, later rows are dropped.
    pub fn streaming(rows: SyncSender<TraceStep>) -> Self {
        TraceRecorder {
            stream: Some(rows),
            ..TraceRecorder::default()
        }
    }

    /// Forgets the trace (a new path starts).
    pub fn clear(&mut self) {
        self.events.clear();
        self.steps.clear();
        self.facts.clear();
        self.events_in_step = 0;
        self.slashed_at_last_step = 0.0;
        self.digest = StepDigest::default();
    }

    /// What the summary needs from the steps recorded (or streamed) so far.
    pub fn digest(&self) -> &StepDigest {
        &self.digest
    }

    /// The events applied so far, in the order they were applied (time order).
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// The rows of the steps completed so far, in step order.
    pub fn steps(&self) -> &[TraceStep] {
        &self.steps
    }

    /// The events and the step rows.
    pub fn into_parts(self) -> (Vec<TraceEvent>, Vec<TraceStep>) {
        (self.events, self.steps)
    }

    /// Records an event of kind `kind` whose numbers are in `record`; fills in its kind, name
    /// and detail from the model and the facts the kernel reported.
    pub(crate) fn push_event(
        &mut self,
        m: &Model,
        kind: Kind,
        double_signs: &[DoubleSign],
        exploits: &[ExploitRecord],
        mut record: TraceEvent,
    ) {
        let (k, name, detail) = describe(m, kind, &self.facts, double_signs, exploits);
        record.kind = k;
        record.name = name;
        record.detail = detail;
        self.events.push(record);
        self.events_in_step += 1;
        self.facts.clear();
    }

    /// Records the inactivity-leak penalties booked since the clock last moved, as an event
    /// row of kind [`EventKind::LeakAccrual`].
    pub(crate) fn push_accrual(&mut self, record: TraceEvent) {
        self.events.push(record);
        self.events_in_step += 1;
    }

    /// Records a step's row; fills in its event count and the ETH slashed in the step.
    pub(crate) fn push_step(&mut self, mut row: TraceStep) {
        row.events = std::mem::take(&mut self.events_in_step);
        row.slashed_eth = row.slashed_eth_cum - self.slashed_at_last_step;
        self.slashed_at_last_step = row.slashed_eth_cum;
        self.digest.add(&row);
        match &self.stream {
            None => self.steps.push(row),
            Some(_) if self.stream_closed => {}
            Some(tx) => {
                if tx.send(row).is_err() {
                    self.stream_closed = true;
                }
            }
        }
    }
}

/// What a path's summary ("Notable points") needs from its step rows, accumulated one row at
/// a time, so that a streamed trace need not be kept in memory. Ties resolve as
/// `Iterator::min_by` (the first minimum) and `Iterator::max_by` (the last maximum) do, with
/// `f64::total_cmp`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepDigest {
    /// Rows seen.
    pub steps: u64,
    /// The last row's day (the horizon; 0 without rows).
    pub last_day: f64,
    /// The row of the lowest NAV per LRT (first minimum).
    pub lowest_nav: Option<TraceStep>,
    /// Among rows with ETH slashed, the row of the most (last maximum).
    pub most_slashed: Option<TraceStep>,
    /// Among rows with a front-door queue, the row of the longest (last maximum).
    pub longest_queue: Option<TraceStep>,
    /// The row of the least liquid ETH (first minimum), with `[withdrawals]`.
    pub least_liquid: Option<TraceStep>,
    /// The row of the longest network exit queue (last maximum), with `[withdrawals]`.
    pub longest_network_queue: Option<TraceStep>,
    /// The row of the lowest market price (first minimum), with `[market]`.
    pub lowest_price: Option<TraceStep>,
    /// The first row at which the running maximum discount reached its final value.
    pub deepest_discount: Option<TraceStep>,
    /// The last row's running maximum discount, with `[market]`.
    pub last_max_discount: Option<f64>,
    /// Whether rows have a lending part.
    pub lending: bool,
    /// The first row with collateral liquidated.
    pub first_liquidation: Option<TraceStep>,
    /// LRT liquidated by the last row.
    pub last_liquidated_lrt: f64,
    /// The first row with bad debt written off.
    pub first_bad_debt: Option<TraceStep>,
    /// Among rows after a reserve paid out, the row of the lowest reserves (first minimum).
    pub lowest_reserves: Option<TraceStep>,
}

impl StepDigest {
    /// The digest of `rows`, in order.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a TraceStep>) -> Self {
        let mut d = StepDigest::default();
        for r in rows {
            d.add(r);
        }
        d
    }

    /// Adds the next row.
    pub fn add(&mut self, s: &TraceStep) {
        use std::cmp::Ordering::Less;
        // `slot` takes `s` if empty or if `better(s, current)`.
        fn keep(
            slot: &mut Option<TraceStep>,
            s: &TraceStep,
            better: impl Fn(&TraceStep, &TraceStep) -> bool,
        ) {
            if slot.as_ref().is_none_or(|cur| better(s, cur)) {
                *slot = Some(s.clone());
            }
        }
        self.steps += 1;
        self.last_day = s.day;
        keep(&mut self.lowest_nav, s, |a, b| {
            a.nav_per_lrt.total_cmp(&b.nav_per_lrt) == Less
        });
        if s.slashed_eth > 0.0 {
            keep(&mut self.most_slashed, s, |a, b| {
                a.slashed_eth.total_cmp(&b.slashed_eth) != Less
            });
        }
        if let Some(r) = &s.redemption {
            if r.queue_eth > 0.0 {
                keep(&mut self.longest_queue, s, |a, b| {
                    q(a).queue_eth.total_cmp(&q(b).queue_eth) != Less
                });
            }
            keep(&mut self.least_liquid, s, |a, b| {
                q(a).liquid_eth.total_cmp(&q(b).liquid_eth) == Less
            });
            keep(&mut self.longest_network_queue, s, |a, b| {
                q(a).network_queue_eth.total_cmp(&q(b).network_queue_eth) != Less
            });
        }
        if let Some(m) = &s.market {
            keep(&mut self.lowest_price, s, |a, b| {
                mk(a).price_eth.total_cmp(&mk(b).price_eth) == Less
            });
            keep(&mut self.deepest_discount, s, |a, b| {
                mk(a).max_discount > mk(b).max_discount
            });
            self.last_max_discount = Some(m.max_discount);
        }
        if let Some(l) = &s.lending {
            self.lending = true;
            self.last_liquidated_lrt = l.liquidated_lrt;
            if l.liquidated_lrt > 0.0 && self.first_liquidation.is_none() {
                self.first_liquidation = Some(s.clone());
            }
            if l.bad_debt_eth > 0.0 && self.first_bad_debt.is_none() {
                self.first_bad_debt = Some(s.clone());
            }
        }
        if let Some(w) = &s.waterfall
            && w.reserve_paid_eth > 0.0
        {
            keep(&mut self.lowest_reserves, s, |a, b| {
                wf(a).reserves_eth.total_cmp(&wf(b).reserves_eth) == Less
            });
        }
    }
}

/// The redemption part of a row known to have one.
fn q(s: &TraceStep) -> &StepRedemption {
    s.redemption.as_ref().expect("a row with [withdrawals]")
}

/// The market part of a row known to have one.
fn mk(s: &TraceStep) -> &StepMarket {
    s.market.as_ref().expect("a row with [market]")
}

/// The waterfall part of a row known to have one.
fn wf(s: &TraceStep) -> &StepWaterfall {
    s.waterfall.as_ref().expect("a row with a waterfall")
}

/// Hits listed by name in a detail before "and N more".
const LISTED_HITS: usize = 6;

/// An allocation pair as `operator/avs`.
fn pair_name(m: &Model, pair: u32) -> String {
    let p = &m.pairs[pair as usize];
    format!(
        "{}/{}",
        m.operators[p.operator as usize].name, m.avs_names[p.avs as usize]
    )
}

/// `names` joined by ", ", at most [`LISTED_HITS`] of them.
fn list(names: impl ExactSizeIterator<Item = String>) -> String {
    let n = names.len();
    let mut out: Vec<String> = names.take(LISTED_HITS).collect();
    if n > LISTED_HITS {
        out.push(format!("and {} more", n - LISTED_HITS));
    }
    out.join(", ")
}

/// "severity x" or "severities x to y" of pair hits.
fn severities(hits: &[Hit]) -> String {
    let lo = hits.iter().map(|h| h.amount).fold(f64::INFINITY, f64::min);
    let hi = hits
        .iter()
        .map(|h| h.amount)
        .fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        format!("severity {}", num(lo))
    } else {
        format!("severities {} to {}", num(lo), num(hi))
    }
}

/// Slashed allocations: "severity 0.1 on 3 allocations: a/x, b/x, c/y".
fn pair_hits(m: &Model, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return "no allocation hit".to_string();
    }
    let n = hits.len();
    format!(
        "{} on {n} allocation{}: {}",
        severities(hits),
        if n == 1 { "" } else { "s" },
        list(hits.iter().map(|h| pair_name(m, h.index)))
    )
}

/// Operators hit: "op-a (12 validators, 0.5 ETH), op-b (3 validators, 0.1 ETH)".
fn operator_hits(m: &Model, hits: &[Hit]) -> String {
    list(hits.iter().map(|h| {
        format!(
            "{} ({} validators, {} ETH)",
            m.operators[h.index as usize].name,
            num(h.amount),
            num(h.loss_eth)
        )
    }))
}

/// The kind, name and detail of an event.
fn describe(
    m: &Model,
    kind: Kind,
    facts: &EventFacts,
    double_signs: &[DoubleSign],
    exploits: &[ExploitRecord],
) -> (EventKind, String, String) {
    let v = |i: usize| facts.values.get(i).copied().unwrap_or(f64::NAN);
    let hits = facts.hits.as_slice();
    let source = |s: u32| m.sources[s as usize].clone();
    match kind {
        Kind::Shock(s) => {
            let shock = &m.shocks[s as usize];
            (EventKind::Shock, source(shock.source), pair_hits(m, hits))
        }
        Kind::AvsFault { pair, .. } => {
            let avs = m.avs_names[m.pairs[pair as usize].avs as usize].clone();
            (EventKind::AvsFault, avs, pair_hits(m, hits))
        }
        Kind::Copula { copula, .. } => {
            let c = &m.copulas[copula as usize];
            (EventKind::CopulaFault, source(c.source), pair_hits(m, hits))
        }
        Kind::Incident { incident, .. } => {
            let inc = &m.incidents[incident as usize];
            let validators: f64 = hits.iter().map(|h| h.amount).sum();
            let detail = match inc.kind {
                IncidentKind::DoubleSign if hits.is_empty() => {
                    "double signing: no validator of the pool hit".to_string()
                }
                IncidentKind::DoubleSign => format!(
                    "double signing: {} validators slashed (initial penalty) and exited: {}",
                    num(validators),
                    operator_hits(m, hits)
                ),
                IncidentKind::InactivityLeak => {
                    let ejected: Vec<String> = hits
                        .iter()
                        .filter(|h| h.flag)
                        .map(|h| m.operators[h.index as usize].name.clone())
                        .collect();
                    let mut d = format!("inactivity leak of {} days", num(v(0)));
                    if hits.is_empty() {
                        d.push_str(": no validator of the pool offline");
                    } else {
                        d.push_str(&format!(
                            ": {} validators offline: {}",
                            num(validators),
                            operator_hits(m, hits)
                        ));
                        if !ejected.is_empty() {
                            d.push_str(&format!("; ejected: {}", list(ejected.into_iter())));
                        }
                    }
                    d
                }
            };
            (EventKind::BeaconIncident, source(inc.source), detail)
        }
        Kind::CorrelationPenalty { record } => {
            let r = &double_signs[record as usize];
            let validators: f64 = hits.iter().map(|h| h.amount).sum();
            let detail = format!(
                "correlation penalty of the double signing of day {} on {} validators; {} ETH \
                 slashed network-wide in the window",
                num(v(1)),
                num(validators),
                num(v(0))
            );
            (EventKind::CorrelationPenalty, source(r.source), detail)
        }
        Kind::Rush(r) => {
            let rush = crate::kernel::rush_model(m, r);
            let mut detail = format!(
                "{} ETH of other stakers join the network exit queue",
                num(v(0))
            );
            if rush.triggers_run {
                detail.push_str("; triggers a redemption run");
            }
            (EventKind::Rush, rush.name.clone(), detail)
        }
        Kind::Depeg(s) => {
            let shock = crate::kernel::depeg_model(m, s);
            let detail = format!(
                "holders sell {} of the supply ({} LRT) over {} days",
                pct(v(0)),
                num(v(1)),
                num(shock.sell_days)
            );
            (EventKind::Depeg, shock.name.clone(), detail)
        }
        Kind::LrtDepeg { lrt, shock } => {
            let shock = crate::kernel::lrt_depeg_model(m, lrt, shock);
            let detail = format!(
                "holders of {} sell {} of its supply ({} LRT) over {} days",
                m.lrts[lrt as usize].name,
                pct(v(0)),
                num(v(1)),
                num(shock.sell_days)
            );
            (EventKind::Depeg, shock.name.clone(), detail)
        }
        Kind::SupplyShock(s) => {
            // The pool's lending market, or a sector's reserve.
            let rates = (m.lending.as_ref().and_then(|l| l.rates.as_ref()))
                .or(m.reserve.as_ref())
                .expect("supply shocks need lending rates");
            let spec = &m.scenario;
            let pool = spec.lending.as_ref().and_then(|l| l.rates.as_ref());
            let sector = spec.sector.as_ref().and_then(|x| x.lending.as_ref());
            let shocks = (pool.map(|r| &r.supply_shocks)).or(sector.map(|r| &r.supply_shocks));
            let name = (shocks.and_then(|x| x.get(s as usize)))
                .map_or_else(|| format!("supply-shock-{s}"), |x| x.name.clone());
            let detail = format!(
                "outside lenders withdraw {} of the ETH supplied at t = 0, returning over {} days",
                pct(v(0)),
                num(rates.supply_shocks[s as usize].recovery_days)
            );
            (EventKind::SupplyShock, name, detail)
        }
        Kind::Exploit { exploit, .. } => {
            let e = &m.exploits[exploit as usize];
            let mut detail = match e.kind {
                ExploitKind::Stolen => {
                    format!("{} of the assets stolen ({} ETH)", pct(v(0)), num(v(1)))
                }
                ExploitKind::UnbackedMint => {
                    let lrt = e
                        .lrt
                        .map(|l| format!(" {}", m.lrts[l as usize].name))
                        .unwrap_or_default();
                    let mut d = format!(
                        "{} LRT{lrt} minted without backing ({} of the supply; {} ETH of dilution)",
                        num(v(2)),
                        pct(v(0)),
                        num(v(1))
                    );
                    if e.attacker_sell_share > 0.0 {
                        d.push_str(&format!(
                            "; the attacker sells {} of it",
                            pct(e.attacker_sell_share)
                        ));
                    }
                    if e.attacker_borrow_share > 0.0 {
                        d.push_str(&format!(
                            "; borrows against {} of it",
                            pct(e.attacker_borrow_share)
                        ));
                    }
                    d
                }
            };
            if e.pause_days > 0.0 && m.withdrawals.is_some() {
                detail.push_str(&format!(
                    "; withdrawals paused for {} days",
                    num(e.pause_days)
                ));
            }
            (EventKind::Exploit, e.name.clone(), detail)
        }
        Kind::Restitution { record } => {
            let e = &m.exploits[exploits[record as usize].exploit as usize];
            let (eth, to_pool) = (v(0), v(1));
            let mut detail = format!("{} ETH of the theft returned", num(eth));
            if to_pool < eth {
                detail.push_str(&format!(
                    ": {} ETH to the reserves, {} ETH to the pool",
                    num(eth - to_pool),
                    num(to_pool)
                ));
            }
            (EventKind::Restitution, e.name.clone(), detail)
        }
        Kind::Vote(g) => {
            let changes = facts.values.chunks_exact(4).map(|c| {
                format!(
                    "{}: magnitude {} → {} from day {}",
                    pair_name(m, c[0] as u32),
                    num(c[1]),
                    num(c[2]),
                    num(c[3])
                )
            });
            let detail = if facts.values.is_empty() {
                "no allocation changes".to_string()
            } else {
                list(changes)
            };
            (
                EventKind::Vote,
                m.governance[g as usize].name.clone(),
                detail,
            )
        }
        Kind::TakeEffect { entry, increase } => {
            let changes = facts.values.chunks_exact(4).map(|c| {
                format!(
                    "{}: {} → {} ETH allocated",
                    pair_name(m, c[0] as u32),
                    num(c[1]),
                    num(c[2])
                )
            });
            let what = if increase {
                "allocations"
            } else {
                "deallocations"
            };
            let detail = if facts.values.is_empty() {
                format!("no {what} pending")
            } else {
                list(changes)
            };
            (
                EventKind::Allocation,
                m.governance[entry as usize].name.clone(),
                detail,
            )
        }
        Kind::Redelegate(r) => {
            let queued = facts.values.chunks_exact(3).map(|c| {
                format!(
                    "{} ETH ({}) of {} queued",
                    num(c[2]),
                    pct(c[1]),
                    m.operators[c[0] as usize].name
                )
            });
            (
                EventKind::Redelegation,
                m.redelegations[r as usize].name.clone(),
                list(queued),
            )
        }
        Kind::Redelegated(r) => {
            let entry = &m.redelegations[r as usize];
            let n = entry.from.len();
            let moves = facts.values.chunks_exact(2).enumerate().map(|(k, c)| {
                let name = &m.operators[c[0] as usize].name;
                if k < n {
                    format!("{} ETH left {name}", num(c[1]))
                } else {
                    format!("{} ETH to {name}", num(c[1]))
                }
            });
            (EventKind::Delegation, entry.name.clone(), list(moves))
        }
    }
}

/// `x` with about `sig` significant digits, without an exponent between 1e-4 and 1e12.
pub(crate) fn num_sig(x: f64, sig: i32) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if !(1e-4..1e12).contains(&a) {
        let s = format!("{x:.prec$e}", prec = (sig - 1).max(0) as usize);
        // Trim the mantissa's trailing zeros: 1.50000e-5 → 1.5e-5.
        return match s.split_once('e') {
            Some((mant, exp)) if mant.contains('.') => {
                format!("{}e{exp}", mant.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        };
    }
    let decimals = (sig - 1 - a.log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// `x` with six significant digits (see [`num_sig`]).
pub(crate) fn num(x: f64) -> String {
    num_sig(x, 6)
}

/// A fraction as a percentage with four significant digits: 0.01234 → "1.234 %".
pub(crate) fn pct(x: f64) -> String {
    format!("{} %", num_sig(100.0 * x, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1234.5678), "1234.57");
        assert_eq!(num(0.05), "0.05");
        assert_eq!(num(-0.012345678), "-0.0123457");
        assert_eq!(num(123456789.0), "123456789");
        assert_eq!(num(1.5e-5), "1.5e-5");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(pct(0.01234), "1.234 %");
        assert_eq!(pct(1.0), "100 %");
        assert_eq!(num(-1e-20), "-1e-20");
    }
}
