//! The path kernel: one path of the pooled collateral, event by event.
//!
//! A path draws its events up front — Poisson counts and uniform times for common shocks,
//! the AVSs' independent faults and beacon-chain incidents (with the correlation penalty of
//! each double-signing incident 4096 epochs later), candidate factor periods for the copulas
//! (their faults at the end of their period) — sorts them by (step, time), then applies
//! them in order to the [`Ledger`], accruing rewards between events at the rate of the
//! current book. Cost grows with the number of events, not with operators × AVSs × steps.
//! All buffers live in the [`PathKernel`] and are reused: a path allocates nothing.
//!
//! A [`TraceRecorder`] can be attached ([`PathKernel::attach_trace`]) to record a path's
//! events and per-step state ([`crate::trace`]); its hooks only read the state, so rows do not
//! change, and without one the kernel only checks for it once per event and once per step.

use lrtsim_scenario::beacon::{
    CORRELATION_PENALTY_DELAY_EPOCHS, EPOCHS_PER_DAY, EPOCHS_PER_SLASHINGS_VECTOR, GWEI_PER_ETH,
    ValidatorLeakState,
};
use lrtsim_scenario::importance::Tilt;
use lrtsim_scenario::spec::{GuardianTrigger, IncidentKind};
use lrtsim_scenario::{DAYS_PER_YEAR, Model};
use rand::{Rng, RngExt};
use rand_distr::Distribution;

use crate::bands::PriceBands;
use crate::delegation::Delegations;
use crate::exit_queue::ExitQueue;
use crate::governance::Governance;
use crate::leaks::{Cohort, GWEI, Leaks, epoch_of, own_queue_epochs};
use crate::ledger::Ledger;
use crate::lending::{LendingBook, LendingParams};
use crate::market::Market;
use crate::outputs::Layout;
use crate::redemption::{Redemption, RedemptionOutcome};
use crate::trace::{
    EventKind, StepLending, StepMarket, StepRedemption, StepWaterfall, TraceEvent, TraceRecorder,
    TraceStep,
};
use crate::waterfall::{Loss, Reserves};
use lrtsim_scenario::spec::ExploitKind;

/// Most leak cohorts a path splits into: a leak hitting `validator_share` < 1 of an operator
/// splits each of its cohorts in two, so many partial leaks on one path would double them
/// again and again; past this many, existing cohorts go offline whole.
const MAX_LEAK_COHORTS: usize = 64;

/// What an event does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Common shock `s`.
    Shock(u32),
    /// An independent AVS fault on a pair, with the index of the AVS entry (its severity).
    AvsFault { entry: u32, pair: u32 },
    /// A copula fault on a pair, at the end of its factor period.
    Copula { copula: u32, pair: u32 },
    /// Beacon incident `incident`; for double signing, `record` indexes its record.
    Incident { incident: u32, record: u32 },
    /// The correlation penalty of double-signing record `record`.
    CorrelationPenalty { record: u32 },
    /// A sector-wide rush on the network exit queue.
    Rush(u32),
    /// Market depeg shock `s`.
    Depeg(u32),
    /// Sector scenarios: depeg shock `shock` of LRT `lrt`'s market.
    LrtDepeg { lrt: u32, shock: u32 },
    /// Outside lenders' withdrawal `s` from the lending market.
    SupplyShock(u32),
    /// Exploit `exploit`; `record` indexes its record.
    Exploit { exploit: u32, record: u32 },
    /// The restitution of exploit record `record`.
    Restitution { record: u32 },
    /// Governance entry `g`'s vote.
    Vote(u32),
    /// Governance entry `entry`'s increases (`increase`) or decreases take effect.
    TakeEffect { entry: u32, increase: bool },
    /// Redelegation `r`'s decision: the stake is queued.
    Redelegate(u32),
    /// Redelegation `r`'s completion: the stake moves.
    Redelegated(u32),
}

/// The kernel's [`OperatorTotals`], borrowing only the fields it reads (so that others may be
/// borrowed mutably beside it).
macro_rules! operator_totals {
    ($k:expr) => {
        OperatorTotals {
            losses: $k.slashed_by_operator.as_deref(),
            rate0: &$k.operator_rate0,
            deficit: &$k.operator_reward_deficit,
            years: $k.accrued_years,
        }
    };
}

/// What one exploit took, for its restitution.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExploitRecord {
    /// Index of the exploit (for traces).
    pub(crate) exploit: u32,
    /// ETH stolen.
    stolen_eth: f64,
    /// Of which the reserves paid into the pool.
    paid_by_reserves_eth: f64,
    /// Share of the theft restituted.
    restitution_share: f64,
}

/// What one double-signing incident did to the pool, for its correlation penalty.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DoubleSign {
    pub(crate) time_days: f64,
    /// Loss source of the incident.
    pub(crate) source: u32,
    /// Effective balance slashed: the pool's validators plus the rest of the network.
    slashed_gwei: f64,
    /// The pool's slashed validators are `slashed[first..end]`.
    first: u32,
    end: u32,
}

/// The effective balance slashed by the double-signing records applied so far whose time is
/// within the correlation penalty's window (`EPOCHS_PER_SLASHINGS_VECTOR`): the beacon chain's
/// `state.slashings` sum, kept as a running sum so that each penalty costs O(1) amortized
/// instead of a scan of every earlier record.
///
/// Records enter when their incident is applied (in time order) and leave, oldest first, once
/// the window has moved past them. The sum is exact — fixed point at 2⁻⁴⁰ Gwei in an `i128`,
/// so adding and removing in any order gives the same bits — and its floor is the integer Gwei
/// the penalty formula takes.
#[derive(Debug, Clone, Default)]
struct SlashingsWindow {
    /// (time in days, slashed Gwei in fixed point), oldest first.
    records: std::collections::VecDeque<(f64, i128)>,
    sum: i128,
}

impl SlashingsWindow {
    /// Fractional bits of the fixed point.
    const FRACTION_BITS: u32 = 40;

    fn clear(&mut self) {
        self.records.clear();
        self.sum = 0;
    }

    /// A record of `gwei` (≥ 0, below 2⁸⁰) slashed at `time_days`, not before any record
    /// already in.
    fn push(&mut self, time_days: f64, gwei: f64) {
        // Exact for every value of 2¹² Gwei or more; smaller ones lose bits below 2⁻⁴⁰ Gwei.
        let fixed = (gwei * (1u64 << Self::FRACTION_BITS) as f64) as i128;
        self.records.push_back((time_days, fixed));
        self.sum += fixed;
    }

    /// Gwei slashed by the records with time in (`now` − `window_days`, `now`], rounded down.
    fn slashed_gwei(&mut self, now: f64, window_days: f64) -> u64 {
        while let Some(&(t, fixed)) = self.records.front() {
            if t > now - window_days {
                break;
            }
            self.sum -= fixed;
            self.records.pop_front();
        }
        u64::try_from(self.sum >> Self::FRACTION_BITS).unwrap_or(u64::MAX)
    }
}

/// One operator's validators slashed by one double-signing record.
#[derive(Debug, Clone, Copy)]
struct Slashed {
    op: u32,
    /// Validators slashed (a real number).
    validators: f64,
    /// Balance each has lost to the initial and correlation penalties, Gwei.
    lost_gwei_each: u64,
    /// The book's pro-rata scale when they were slashed.
    scale: f64,
    /// When they are withdrawable (forced out: slash + 8192 epochs, or later behind a long
    /// exit queue), days; +∞ once released or without a withdrawal model.
    withdrawable_days: f64,
    /// When the EigenLayer escrow queued at the slashing ends, days.
    escrow_end_days: f64,
    /// When they were slashed, days.
    slashed_days: f64,
    /// The operator's [`Ledger::kept`] when they were slashed.
    kept: f64,
}

/// Loss categories of a path, ETH.
#[derive(Debug, Clone, Copy, Default)]
struct Categories {
    avs: f64,
    beacon_initial: f64,
    beacon_correlation: f64,
    inactivity_leak: f64,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    /// The step the event falls in: the step [s·Δ, (s + 1)·Δ) containing its time, except
    /// that a copula fault, which closes its factor period, belongs to the step (s·Δ,
    /// (s + 1)·Δ] — the one that ends when its period ends, not the next.
    step: u32,
    /// Time in days (a copula fault: the end of its factor period, capped at the horizon).
    time_days: f64,
    /// Draw order, so sorting is total and deterministic.
    seq: u32,
    kind: Kind,
}

impl Event {
    /// Whether the event closes a period (a copula fault): at equal times it comes before
    /// events that open one, whatever the step length.
    #[inline]
    fn closes_period(&self) -> bool {
        matches!(self.kind, Kind::Copula { .. })
    }
}

/// The next thing on a path's clock within a step ([`PathKernel::next_tick`]).
enum Tick {
    /// Slashed validators forced out become withdrawable, at this day.
    Release(f64),
    /// Front door `j` processes its queue, at this day.
    Process(usize, f64),
    /// The step's next event.
    Event(Event),
    /// Nothing more before the step's end.
    StepEnd,
}

/// The mutable state of one path plus the buffers of the kernel. One per chunk of paths.
pub struct PathKernel<'m> {
    model: &'m Model,
    layout: Layout,
    /// EigenLayer accounting of the pool's stake, with the reward rates of the book.
    ledger: Ledger<'m>,
    /// Per-path accumulators.
    slashed_eth: f64,
    slashed_by_avs: Vec<f64>,
    slashed_by_source: Vec<f64>,
    gross_rewards_eth: f64,
    net_rewards_eth: f64,
    losses: Categories,
    events: Vec<Event>,
    scratch: Vec<u32>,
    /// Per copula, the step of each factor period's faults ([`step_ending_at`] its end),
    /// computed once: a division and two roundings per fault otherwise. Empty for a copula
    /// of more than [`MAX_PERIOD_STEPS`] periods (computed per fault then).
    copula_steps: Vec<Vec<u32>>,
    double_signs: Vec<DoubleSign>,
    /// The double-signing records in the correlation penalty's window.
    slashings_window: SlashingsWindow,
    /// Validators slashed by each double-signing record.
    slashed: Vec<Slashed>,
    /// The front door, when the model has `[withdrawals]`.
    redemption: Option<Redemption<'m>>,
    /// Sector scenarios: the front doors of the LRTs that have one (in the layout's door
    /// order), the beacon exit queue they share, each door's stress-holder tags, the LRT's
    /// rewards when the door last advanced (ETH) and scratch for per-event losses.
    doors: Vec<Redemption<'m>>,
    shared_queue: Option<ExitQueue>,
    door_tags: Vec<(f64, f64)>,
    /// Each redelegation's decision day on this path (scratch, reused).
    redelegation_days: Vec<f64>,
    door_rewards_eth: Vec<f64>,
    door_before: Vec<(f64, f64)>,
    door_outcomes: Vec<RedemptionOutcome>,
    /// Earliest `withdrawable_days` among `slashed` not yet released.
    next_release_days: f64,
    /// A sector's forced exit: each door's (ETH, its LRT's stake before), reused.
    release_parts: Vec<(f64, f64)>,
    /// The side door, when the model has `[market]`.
    market: Option<Market<'m>>,
    /// Sector scenarios: the markets of the LRTs that have one (in the layout's market
    /// order), each one's door (if its LRT has one), scratch for their NAVs, and with
    /// `[sector.arbitrage]` the arbitrageurs' one pot now, ETH.
    markets: Vec<Market<'m>>,
    market_doors: Vec<Option<usize>>,
    market_navs: Vec<f64>,
    arb_pot_eth: f64,
    /// A sector's collaterals in its lending market, one per market (`lrts[].lending`).
    lend_books: Vec<Option<LendingBook>>,
    /// A sector's lending reserve on the path: the highest utilization, days at 100 %, the
    /// most ETH its lenders asked for and could not withdraw.
    reserve_peak_utilization: f64,
    /// Per market, the other collaterals' debt and interest at the sub-step's start.
    reserve_seen: Vec<(f64, f64)>,
    reserve_full_days: f64,
    reserve_peak_blocked_eth: f64,
    /// `[sector.lending.run]`: the reserve's utilization as last read, the last run and the
    /// runs of the current advance.
    reserve_run: RunWatch,
    /// Price / NAV bands of the paths run so far (with `[market]`).
    bands: Option<PriceBands>,
    /// Queue and utilization bands of the paths run so far (`price` unused: see `bands`).
    more_bands: crate::bands::BandSet,
    /// The lending market (None without `[lending]`).
    lending: Option<LendingBook>,
    /// First-loss reserves (None without `[[reserves]]`).
    reserves: Option<Reserves<'m>>,
    /// Without withdrawals: ETH that reached the pool outside the ledger and the reward
    /// accrual (reserve payments, restitutions) less rewards diverted into the reserves.
    side_eth: f64,
    /// ETH stolen by exploits; ETH value of unbacked mints' dilution at the mint; LRT minted
    /// without backing; ETH restituted.
    stolen_eth: f64,
    dilution_eth: f64,
    minted_lrt: f64,
    restituted_eth: f64,
    exploit_records: Vec<ExploitRecord>,
    /// Rewards of the last accrual diverted into the reserves.
    last_diverted_eth: f64,
    /// Rewards are accrued up to here on a path with a market or withdrawals, days.
    rewards_days: f64,
    /// Importance sampling (None: untilted, every path weighs 1).
    tilt: Option<TiltState>,
    /// The trace of the current path, when one is recorded (see [`PathKernel::attach_trace`]);
    /// None on the hot path, which then checks it once per event and once per step.
    trace: Option<Box<TraceRecorder>>,
    /// ETH slashed per operator on the current path, when recorded (see
    /// [`PathKernel::record_operators`]); None on the hot path.
    slashed_by_operator: Option<Vec<f64>>,
    /// The operators with ETH slashed (or, in a sector, allocations changed) on the current
    /// path, in the order of their first loss (when recording).
    touched_operators: Vec<u32>,
    /// Per operator, whether it is in `touched_operators` (when recording).
    operator_seen: Vec<bool>,
    /// With [`PathKernel::record_operators`]: ETH slashed per allocation pair by AVSs, and the
    /// pairs with some (in the order of their first loss); beacon-chain ETH lost per operator.
    /// Empty otherwise.
    slashed_by_pair: Vec<f64>,
    touched_pairs: Vec<u32>,
    beacon_by_operator: Vec<f64>,
    /// Allocation changes (None without `[[governance]]`).
    governance: Option<Governance>,
    /// Who holds each operator's stake (None without `[[redelegations]]`).
    delegations: Option<Delegations>,
    /// Sector scenarios: ETH slashed per LRT on the last path (its shares of its operators'
    /// losses).
    lrt_slashed_eth: Vec<f64>,
    /// Sector scenarios: each operator's net reward rate at t = 0, ETH per year.
    operator_rate0: Vec<f64>,
    /// Sector scenarios: each LRT's share of the operators' t = 0 net reward rates, ETH per
    /// year.
    lrt_rate0: Vec<f64>,
    /// Sector scenarios: per operator, the rewards its slashing has cost on the current path
    /// so far (its t = 0 rate less its rate, integrated as the rewards accrue), ETH; only
    /// the touched operators' entries are not 0.
    operator_reward_deficit: Vec<f64>,
    /// Sector scenarios: years of rewards accrued on the current path.
    accrued_years: f64,
    /// Sector scenarios: per LRT, the LRT minted without backing on the current path (t = 0
    /// ETH units) and the ETH value of its dilution at the mints.
    lrt_minted: Vec<f64>,
    lrt_dilution_eth: Vec<f64>,
    /// Sector scenarios: per LRT, ETH stolen from its stake and ETH of it restituted (held
    /// liquid) on the current path.
    lrt_stolen_eth: Vec<f64>,
    lrt_restituted_eth: Vec<f64>,
    /// With uncertain rates: the path's rate factors, its expected events per rate slot
    /// ([`lrtsim_scenario::rate::RateDraws`]) and the cumulative shares of its AVS fault
    /// entries. Empty otherwise.
    path_factors: Vec<f64>,
    path_means: Vec<f64>,
    avs_cumulative: Vec<f64>,
    /// Validators taken offline by inactivity leaks, as the spec runs them across leaks.
    leaks: Leaks,
    /// Without `[withdrawals]`: the epoch the pool's own leak ejections have left the exit
    /// queue.
    leak_queue_free_epoch: u64,
}

/// One rate-based source's tilt: the tilted count distribution and the log likelihood
/// ratio's terms, −ln θ per event and (θ − 1)·μ per path.
#[derive(Debug, Clone)]
struct TiltedRate {
    theta: f64,
    events: rand_distr::Poisson<f64>,
    ln_ratio_per_event: f64,
    ln_ratio_per_path: f64,
}

/// The importance-sampling state of a kernel: tilted samplers, and per path the log
/// likelihood ratio and the cross-entropy statistics.
#[derive(Debug, Clone)]
struct TiltState {
    /// Per rate-based source in flat order (shocks, incidents, exploits, AVS faults): its
    /// tilt, None when untilted.
    rates: Vec<Option<TiltedRate>>,
    /// Flat index of the AVS faults (the last rate-based source).
    avs_faults: usize,
    /// Per copula: Some(shift) to sample it directly with its global factor shifted.
    shifts: Vec<Option<f64>>,
    /// The path's log likelihood ratio dP/dQ.
    log_weight: f64,
    /// The path's event counts per rate-based source (flat order), then Σₖ(−Zₖ) over the factor periods per copula.
    statistics: Vec<f64>,
}

impl TiltState {
    fn new(model: &Model, tilt: &Tilt, direct: &[bool]) -> Self {
        let imp_means = model
            .importance
            .as_ref()
            .map(|i| i.mean_events.flat().0)
            .unwrap_or_default();
        let (thetas, shifts) = tilt.flat();
        let rates: Vec<Option<TiltedRate>> = thetas
            .iter()
            .enumerate()
            .map(|(k, &theta)| {
                let mu = imp_means.get(k).copied().unwrap_or(0.0);
                // θ·μ can underflow for a vanishing rate: the source then never fires under
                // either measure, and stays untilted.
                (theta != 1.0 && mu > 0.0 && theta * mu > 0.0).then(|| TiltedRate {
                    theta,
                    events: rand_distr::Poisson::new(theta * mu).expect("validated tilt"),
                    ln_ratio_per_event: -theta.ln(),
                    ln_ratio_per_path: (theta - 1.0) * mu,
                })
            })
            .collect();
        let n_copulas = shifts.len();
        TiltState {
            avs_faults: thetas.len() - 1,
            shifts: shifts
                .iter()
                .zip(direct)
                .map(|(&sh, &d)| (sh != 0.0 || d).then_some(sh))
                .collect(),
            statistics: vec![0.0; thetas.len() + n_copulas],
            rates,
            log_weight: 0.0,
        }
    }

    /// Draws the number of events of rate-based source `k` (flat order) — from its tilted
    /// distribution if it has one — and books the likelihood ratio and the count.
    fn count<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        k: usize,
        untilted: &Option<rand_distr::Poisson<f64>>,
        at_days: Option<f64>,
    ) -> u64 {
        let n = match (&self.rates[k], at_days) {
            (Some(t), None) => {
                let n = t.events.sample(rng) as u64;
                self.log_weight += n as f64 * t.ln_ratio_per_event + t.ln_ratio_per_path;
                n
            }
            _ => event_count(rng, at_days, untilted),
        };
        self.statistics[k] = n as f64;
        n
    }

    /// [`TiltState::count`] for a source whose expected count this path, `mean`, was drawn
    /// (an uncertain rate): under the tilt the count is Poisson(θ·mean) and the likelihood
    /// ratio of the count given the drawn rate is θ^(−n)·e^((θ − 1)·mean) — the rate itself
    /// has the same law under both measures, so its draw needs no weight.
    fn count_mean<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        k: usize,
        mean: f64,
        at_days: Option<f64>,
    ) -> u64 {
        let n = match (&self.rates[k], at_days) {
            (Some(t), None) => {
                let n = poisson_count(rng, None, t.theta * mean);
                self.log_weight += n as f64 * t.ln_ratio_per_event + (t.theta - 1.0) * mean;
                n
            }
            _ => poisson_count(rng, at_days, mean),
        };
        self.statistics[k] = n as f64;
        n
    }
}

impl<'m> PathKernel<'m> {
    /// A kernel for `model`, with every buffer allocated once.
    pub fn new(model: &'m Model) -> Self {
        let supply0 = model.supply0_lrt();
        let mut kernel = PathKernel {
            model,
            layout: Layout::new(model),
            ledger: Ledger::new(model),
            slashed_eth: 0.0,
            slashed_by_avs: vec![0.0; model.avs_names.len()],
            slashed_by_source: vec![0.0; model.sources.len()],
            gross_rewards_eth: 0.0,
            net_rewards_eth: 0.0,
            losses: Categories::default(),
            events: Vec::with_capacity(64),
            scratch: Vec::with_capacity(64),
            copula_steps: model
                .copulas
                .iter()
                .map(|c| {
                    let p = c.periods;
                    if p.n_periods as usize > MAX_PERIOD_STEPS {
                        return Vec::new();
                    }
                    (0..p.n_periods)
                        .map(|k| step_ending_at(model, p.end_days(k)))
                        .collect()
                })
                .collect(),
            double_signs: Vec::with_capacity(8),
            slashings_window: SlashingsWindow::default(),
            slashed: Vec::with_capacity(16),
            redemption: model.withdrawals.as_ref().map(|w| {
                let book: f64 = model.operators.iter().map(|o| o.stake_eth).sum();
                Redemption::new(w, model.n_steps, model.step_days, book)
            }),
            doors: model
                .lrts
                .iter()
                .filter_map(|l| {
                    l.withdrawals.as_ref().map(|w| {
                        Redemption::new(w, model.n_steps, model.step_days, l.collateral_eth)
                    })
                })
                .collect(),
            shared_queue: model.lrts.iter().find_map(|l| {
                l.withdrawals.as_ref().map(|w| {
                    ExitQueue::new(
                        w.network_queue_eth,
                        w.network_inflow_eth_per_day,
                        w.churn_eth_per_day,
                    )
                })
            }),
            door_tags: Vec::new(),
            redelegation_days: Vec::with_capacity(model.redelegations.len()),
            door_rewards_eth: Vec::new(),
            door_before: Vec::new(),
            door_outcomes: Vec::new(),
            next_release_days: f64::INFINITY,
            release_parts: Vec::new(),
            market: model
                .market
                .as_ref()
                .map(|mk| Market::new(mk, supply0, model.lending.as_ref())),
            markets: (model.lrts.iter())
                .filter_map(|l| {
                    (l.market.as_ref())
                        .map(|mk| Market::new(mk, l.supply0_lrt(), l.lending.as_ref()))
                })
                .collect(),
            market_doors: Vec::new(),
            market_navs: Vec::new(),
            arb_pot_eth: 0.0,
            lend_books: (model.lrts.iter())
                .filter(|l| l.market.is_some())
                .map(|l| {
                    (l.lending.as_ref())
                        .map(|x| lending_book(x, l.supply0_lrt(), l.market.as_ref()))
                })
                .collect(),
            reserve_peak_utilization: 0.0,
            reserve_seen: Vec::with_capacity(model.lrts.len()),
            reserve_full_days: 0.0,
            reserve_peak_blocked_eth: 0.0,
            reserve_run: RunWatch::default(),
            lending: (model.lending.as_ref())
                .map(|l| lending_book(l, supply0, model.market.as_ref())),
            bands: model
                .market
                .as_ref()
                .map(|_| PriceBands::new(model.n_steps, model.step_days)),
            more_bands: crate::bands::BandSet {
                price: None,
                ..crate::bands::BandSet::for_model(model)
            },
            reserves: (!model.reserves.is_empty()).then(|| Reserves::new(&model.reserves)),
            side_eth: 0.0,
            stolen_eth: 0.0,
            dilution_eth: 0.0,
            minted_lrt: 0.0,
            restituted_eth: 0.0,
            exploit_records: Vec::with_capacity(4),
            last_diverted_eth: 0.0,
            rewards_days: 0.0,
            tilt: model.importance.as_ref().map(|imp| {
                let direct: Vec<bool> = imp.tilt.copulas.iter().map(|&s| s != 0.0).collect();
                TiltState::new(model, &imp.tilt, &direct)
            }),
            trace: None,
            // Sector scenarios split each operator's losses among its LRTs (see `write_row`).
            slashed_by_operator: (!model.lrts.is_empty()).then(|| vec![0.0; model.operators.len()]),
            touched_operators: Vec::new(),
            operator_seen: vec![false; model.operators.len()],
            slashed_by_pair: Vec::new(),
            touched_pairs: Vec::new(),
            beacon_by_operator: Vec::new(),
            governance: Governance::new(model),
            delegations: Delegations::new(model),
            lrt_slashed_eth: vec![0.0; model.lrts.len()],
            operator_rate0: Vec::new(),
            lrt_rate0: Vec::new(),
            operator_reward_deficit: Vec::new(),
            accrued_years: 0.0,
            lrt_minted: vec![0.0; model.lrts.len()],
            lrt_dilution_eth: vec![0.0; model.lrts.len()],
            lrt_stolen_eth: vec![0.0; model.lrts.len()],
            lrt_restituted_eth: vec![0.0; model.lrts.len()],
            path_factors: vec![0.0; model.rate_draws.as_ref().map_or(0, |r| r.factors.len())],
            path_means: vec![0.0; model.rate_draws.as_ref().map_or(0, |r| r.slots.len())],
            avs_cumulative: Vec::with_capacity(
                model.avs_faults.as_ref().map_or(0, |f| f.entries.len()),
            ),
            leaks: Leaks::default(),
            leak_queue_free_epoch: 0,
        };
        if let (Some(mk), Some(book)) = (kernel.market.as_mut(), kernel.lending.as_ref()) {
            mk.init_lending(book.total_debt_eth());
        }
        for (mk, book) in kernel.markets.iter_mut().zip(&kernel.lend_books) {
            if let Some(book) = book {
                mk.init_lending(book.total_debt_eth());
            }
        }
        kernel.market_doors = (kernel.layout.markets().iter())
            .map(|&l| kernel.layout.doors().iter().position(|&k| k == l))
            .collect();
        if !model.lrts.is_empty() {
            let n = model.operators.len() as u32;
            kernel.operator_rate0 = (0..n)
                .map(|o| kernel.ledger.operator_net_rate_eth_per_year(o))
                .collect();
            kernel.lrt_rate0 = vec![0.0; model.lrts.len()];
            for (o, op) in model.operators.iter().enumerate() {
                for &(l, share) in &op.lrt_shares {
                    kernel.lrt_rate0[l as usize] += share * kernel.operator_rate0[o];
                }
            }
            kernel.operator_reward_deficit = vec![0.0; model.operators.len()];
        }
        kernel
    }

    /// A kernel for `model` sampling under `tilt` (importance sampling) whatever the
    /// scenario's `[importance]` says; copulas with `direct[c]` (or a non-zero shift) are
    /// sampled directly, so that their factor statistic is recorded.
    pub fn with_tilt(model: &'m Model, tilt: &Tilt, direct: &[bool]) -> Self {
        let mut kernel = PathKernel::new(model);
        kernel.tilt = Some(TiltState::new(model, tilt, direct));
        kernel
    }

    /// The likelihood-ratio weight dP/dQ of the last path (1 without importance sampling).
    pub fn weight(&self) -> f64 {
        self.log_weight().exp()
    }

    /// The natural logarithm of [`PathKernel::weight`] (0 without importance sampling).
    pub fn log_weight(&self) -> f64 {
        self.tilt.as_ref().map_or(0.0, |t| t.log_weight)
    }

    /// Whether paths carry likelihood-ratio weights.
    pub fn is_weighted(&self) -> bool {
        self.tilt.is_some()
    }

    /// The last path's cross-entropy statistics: the event count of every rate-based source
    /// (shocks, incidents, exploits, AVS faults), then Σₖ(−Zₖ) over the factor periods of
    /// every copula (0 for copulas not sampled directly). Empty without importance sampling.
    pub fn tilt_statistics(&self) -> &[f64] {
        self.tilt.as_ref().map_or(&[], |t| t.statistics.as_slice())
    }

    /// The queue, utilization, exit queue and sector LRTs' price / NAV at the end of step `k`
    /// (day `t1`), in their bands.
    fn record_more_bands(&mut self, k: u32, t1: f64) {
        if let (Some(b), Some(r)) = (self.more_bands.queue.as_mut(), self.redemption.as_ref()) {
            // Rounding residue of a drained queue (below 10⁻¹² of the supply) counts as none.
            let x = r.queued_lrt() / self.model.supply0_lrt();
            b.record(k, if x < crate::bands::QUEUE_ZERO { 0.0 } else { x });
        }
        // The beacon chain's exit queue: the pool's, or the one a sector's doors share.
        if let Some(b) = self.more_bands.exit_queue.as_mut() {
            let eth = match (self.redemption.as_ref(), self.shared_queue.as_ref()) {
                (Some(r), _) => Some(r.network_queue_eth_at(t1)),
                (None, Some(q)) => Some(q.queue_eth_at(t1)),
                (None, None) => None,
            };
            if let Some(eth) = eth {
                let x = eth / crate::bands::EXIT_QUEUE_UNIT_ETH;
                b.record(k, if x < crate::bands::QUEUE_ZERO { 0.0 } else { x });
            }
        }
        if let (Some(b), Some(mk), Some(book)) = (
            self.more_bands.utilization.as_mut(),
            self.market.as_ref(),
            self.lending.as_ref(),
        ) && let Some(u) = mk.lend_utilization(t1, book)
        {
            b.record(k, u);
        }
        // Each sector LRT's price / NAV (after its buyers and arbitrageurs, as the pool's).
        for j in 0..self.markets.len() {
            let nav = self.lrt_nav(self.layout.markets()[j] as usize);
            let bands = &mut self.more_bands.lrt_price[j];
            self.markets[j].end_step(k, nav, bands);
        }
        // A sector's reserve, read from the first market with a collateral.
        if let (Some(b), Some(i)) = (
            self.more_bands.utilization.as_mut(),
            self.lend_books.iter().position(Option::is_some),
        ) {
            b.record(k, reserve_state(&self.markets[i], &self.lend_books, t1).0);
        }
    }

    /// Every band of every path this kernel ran: price / NAV, queue and utilization, each
    /// None without its section; the kernel starts afresh.
    pub fn take_band_set(&mut self) -> crate::bands::BandSet {
        let fresh = crate::bands::BandSet {
            price: None,
            ..crate::bands::BandSet::for_model(self.model)
        };
        let mut set = std::mem::replace(&mut self.more_bands, fresh);
        set.price = self.take_bands();
        set
    }

    /// The price / NAV bands of every path this kernel ran (None without `[market]`); the
    /// kernel starts afresh.
    pub fn take_bands(&mut self) -> Option<PriceBands> {
        let m = self.model;
        self.bands
            .as_mut()
            .map(|b| std::mem::replace(b, PriceBands::new(m.n_steps, m.step_days)))
    }

    /// Records the ETH slashed per operator (AVS slashing of its allocations and beacon-chain
    /// losses of its validators) on every path run from now on; read it with
    /// [`PathKernel::slashed_by_operator`]. Only a hook for re-simulated paths (risk
    /// contributions): the recording only adds, so rows stay the same bit for bit.
    pub fn record_operators(&mut self) {
        self.slashed_by_operator = Some(vec![0.0; self.model.operators.len()]);
        self.slashed_by_pair = vec![0.0; self.model.pairs.len()];
        self.beacon_by_operator = vec![0.0; self.model.operators.len()];
    }

    /// ETH slashed per allocation pair by AVSs on the last path, in the model's pair order
    /// (empty unless [`PathKernel::record_operators`] was called).
    pub fn slashed_by_pair(&self) -> &[f64] {
        &self.slashed_by_pair
    }

    /// Beacon-chain ETH lost per operator on the last path (initial and correlation
    /// penalties, inactivity leaks), in the model's operator order (empty unless
    /// [`PathKernel::record_operators`] was called). With [`PathKernel::slashed_by_pair`] it
    /// adds up to [`PathKernel::slashed_by_operator`].
    pub fn beacon_by_operator(&self) -> &[f64] {
        &self.beacon_by_operator
    }

    /// ETH slashed per operator on the last path, in the model's operator order (None unless
    /// [`PathKernel::record_operators`] was called).
    pub fn slashed_by_operator(&self) -> Option<&[f64]> {
        self.slashed_by_operator.as_deref()
    }

    /// Calls `f(operator, eth)` for every operator with ETH slashed on the last path (when
    /// recording, see [`PathKernel::record_operators`]), by operator index ascending: every
    /// other operator's entry of [`PathKernel::slashed_by_operator`] is 0.
    pub fn for_each_slashed_operator(&mut self, mut f: impl FnMut(u32, f64)) {
        let Some(ops) = self.slashed_by_operator.as_deref() else {
            return;
        };
        self.touched_operators.sort_unstable();
        self.touched_operators.dedup();
        for &o in &self.touched_operators {
            if ops[o as usize] != 0.0 {
                f(o, ops[o as usize]);
            }
        }
    }

    /// The output layout (column names) of [`PathKernel::run_path`].
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Restores the t = 0 state, touching only what the previous path changed.
    fn reset(&mut self) {
        self.ledger.reset();
        self.slashed_eth = 0.0;
        self.slashed_by_avs.fill(0.0);
        self.slashed_by_source.fill(0.0);
        self.gross_rewards_eth = 0.0;
        self.net_rewards_eth = 0.0;
        self.events.clear();
        self.leaks.clear();
        self.leak_queue_free_epoch = 0;
        self.losses = Categories::default();
        self.double_signs.clear();
        self.slashings_window.clear();
        self.slashed.clear();
        self.next_release_days = f64::INFINITY;
        if let Some(r) = self.redemption.as_mut() {
            r.reset();
        }
        for r in &mut self.doors {
            r.reset();
        }
        if let Some(q) = self.shared_queue.as_mut() {
            q.reset();
        }
        if let Some(mk) = self.market.as_mut() {
            mk.reset();
        }
        for mk in &mut self.markets {
            mk.reset();
        }
        self.arb_pot_eth = self.model.arbitrage_pot_eth.unwrap_or(0.0);
        if let Some(res) = self.reserves.as_mut() {
            res.reset();
        }
        if let Some(book) = self.lending.as_mut() {
            book.reset();
        }
        for book in self.lend_books.iter_mut().flatten() {
            book.reset();
        }
        self.reserve_peak_utilization = 0.0;
        self.reserve_full_days = 0.0;
        self.reserve_peak_blocked_eth = 0.0;
        if let Some(k) = self.lend_books.iter().position(Option::is_some) {
            let u0 = reserve_state(&self.markets[k], &self.lend_books, 0.0).0;
            self.reserve_run.reset(u0);
        }
        self.side_eth = 0.0;
        self.stolen_eth = 0.0;
        self.dilution_eth = 0.0;
        self.minted_lrt = 0.0;
        self.restituted_eth = 0.0;
        self.exploit_records.clear();
        self.last_diverted_eth = 0.0;
        self.rewards_days = 0.0;
        if let Some(t) = self.tilt.as_mut() {
            t.log_weight = 0.0;
            t.statistics.fill(0.0);
        }
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.clear();
        }
        if let Some(ops) = self.slashed_by_operator.as_mut() {
            for &o in &self.touched_operators {
                ops[o as usize] = 0.0;
                self.operator_seen[o as usize] = false;
                if let Some(b) = self.beacon_by_operator.get_mut(o as usize) {
                    *b = 0.0;
                }
                if let Some(d) = self.operator_reward_deficit.get_mut(o as usize) {
                    *d = 0.0;
                }
            }
            self.touched_operators.clear();
            for &p in &self.touched_pairs {
                self.slashed_by_pair[p as usize] = 0.0;
            }
            self.touched_pairs.clear();
        }
        self.accrued_years = 0.0;
        self.lrt_minted.fill(0.0);
        self.lrt_dilution_eth.fill(0.0);
        self.lrt_stolen_eth.fill(0.0);
        self.lrt_restituted_eth.fill(0.0);
        if let Some(g) = self.governance.as_mut() {
            g.reset(self.model);
        }
        if let Some(d) = self.delegations.as_mut() {
            d.reset();
        }
    }

    /// Losses so far net of what the reserves paid: slashing, theft and dilution, ETH.
    fn net_losses_eth(&self) -> f64 {
        self.slashed_eth + self.stolen_eth + self.dilution_eth
            - self.reserves.as_ref().map_or(0.0, Reserves::paid_eth)
    }

    /// ETH paid into the pool from outside the book (a reserve, a restitution).
    fn inject(&mut self, eth: f64) {
        match self.redemption.as_mut() {
            Some(r) => r.add_liquid(eth),
            None => self.side_eth += eth,
        }
    }

    /// LRT outstanding at t = 0.
    fn supply0_lrt(&self) -> f64 {
        self.model.supply0_lrt()
    }

    /// LRT outstanding, in t = 0 ETH units (after the last path: at its horizon).
    pub fn supply_lrt(&self) -> f64 {
        match &self.redemption {
            Some(r) => r.supply_lrt(),
            None => self.model.collateral_eth + self.minted_lrt,
        }
    }

    /// The pool's assets, ETH.
    fn assets_eth(&self) -> f64 {
        match &self.redemption {
            Some(r) => r.assets_eth(self.ledger.book_eth()),
            None => {
                self.model.collateral_eth + self.net_rewards_eth
                    - self.slashed_eth
                    - self.stolen_eth
                    + self.side_eth
            }
        }
    }

    /// NAV per LRT (1 at t = 0).
    fn nav(&self) -> f64 {
        match &self.redemption {
            Some(r) => r.nav(self.ledger.book_eth()),
            None => self.assets_eth() / self.supply_lrt(),
        }
    }

    /// Simulates one path and writes its outputs into `row` (length `layout().len()`).
    pub fn run_path<R: Rng + ?Sized>(&mut self, rng: &mut R, row: &mut [f64]) {
        self.reset();
        self.draw_events(rng);
        // By step, then time; at equal times copula faults (which close their period) first;
        // then draw order. Steps are ordered as their times, so this is the order by time
        // for any step length.
        self.events.sort_unstable_by(|a, b| {
            a.step
                .cmp(&b.step)
                .then(a.time_days.total_cmp(&b.time_days))
                .then(b.closes_period().cmp(&a.closes_period()))
                .then(a.seq.cmp(&b.seq))
        });
        if self.redemption.is_some() || self.market.is_some() {
            self.run_steps(rng, row);
            return;
        }
        if !self.doors.is_empty() || !self.markets.is_empty() {
            self.run_sector(rng, row);
            return;
        }
        let tracing = self.trace.is_some();
        // Steps whose trace row is written (tracing only).
        let mut traced_steps = 0u32;
        let mut accrued_to_step = 0u32;
        for i in 0..self.events.len() {
            let ev = self.events[i];
            if !self.leaks.cohorts.is_empty() && ev.step > accrued_to_step {
                // Leaking validators: step by step, their losses booked at each step's end.
                self.accrue_steps(accrued_to_step, ev.step, &mut traced_steps);
                accrued_to_step = ev.step;
            }
            if tracing {
                // The steps before this event's are complete: their rows, with the rewards
                // not yet accrued added as they would be.
                self.trace_steps_before(ev.step, accrued_to_step, &mut traced_steps);
            }
            if ev.step > accrued_to_step {
                self.accrue(ev.step - accrued_to_step);
                accrued_to_step = ev.step;
            }
            self.advance_leaks(ev.time_days, ev.step);
            let before = self.slashed_eth;
            let pre = tracing.then(|| self.trace_pre());
            self.apply(rng, ev.kind, ev.time_days);
            if self.reserves.is_some() {
                self.absorb_slashing(self.slashed_eth - before);
            }
            if let Some(pre) = pre {
                self.trace_event(ev, pre);
            }
        }
        let last = self.model.n_steps - 1;
        if !self.leaks.cohorts.is_empty() {
            self.accrue_steps(accrued_to_step, self.model.n_steps, &mut traced_steps);
        } else {
            if tracing {
                self.trace_steps_before(last, accrued_to_step, &mut traced_steps);
            }
            self.accrue(self.model.n_steps - accrued_to_step);
            if tracing {
                self.trace_step(last, 0);
            }
        }
        self.write_row(row);
    }

    /// A path with withdrawals or a market: step by step, the front door at each step's start
    /// (with holders diverted to the market), then the step's events, then the rest of the
    /// market's step, then the step's rewards (into liquid ETH with withdrawals).
    fn run_steps<R: Rng + ?Sized>(&mut self, rng: &mut R, row: &mut [f64]) {
        let m = self.model;
        let tags: Option<(f64, f64)> = self
            .redemption
            .is_some()
            .then(|| (rng.random(), rng.random()));
        let tracing = self.trace.is_some();
        let mut i = 0;
        for k in 0..m.n_steps {
            let t1 = f64::from(k + 1) * m.step_days;
            // One clock: slashed validators forced out, the front door's processing times and
            // the step's events, in time order (at equal times in that order); the market and
            // the front door's flows are integrated up to each.
            loop {
                let ev = match self.next_tick(k, t1, i) {
                    Tick::Release(t) => {
                        self.advance_to(t);
                        self.release_slashed(t);
                        continue;
                    }
                    Tick::Process(_, t) => {
                        self.advance_to(t);
                        let r = self
                            .redemption
                            .as_mut()
                            .expect("processing needs a front door");
                        r.process(t, &mut self.ledger);
                        continue;
                    }
                    Tick::StepEnd => break,
                    Tick::Event(ev) => ev,
                };
                i += 1;
                // Copula faults, without one, at the step's end.
                let t = ev.time_days.min(t1);
                self.advance_to(t);
                let slashed_before = self.slashed_eth;
                let before = self.net_losses_eth();
                let assets_before = self.assets_eth();
                let pre = tracing.then(|| self.trace_pre());
                self.apply(rng, ev.kind, ev.time_days);
                if self.reserves.is_some() {
                    self.absorb_slashing(self.slashed_eth - slashed_before);
                }
                let loss = self.net_losses_eth() - before;
                if loss > 0.0 {
                    if let Some(r) = self.redemption.as_mut() {
                        r.loss(t, loss, assets_before);
                    }
                    let supply = self.supply_lrt();
                    if let Some(mk) = self.market.as_mut() {
                        mk.loss(t, loss / assets_before, supply);
                    }
                }
                if let Some(pre) = pre {
                    self.trace_event(ev, pre);
                }
            }
            self.advance_to(t1);
            let nav = self.market.is_some().then(|| self.nav());
            if let (Some(nav), Some(mk)) = (nav, self.market.as_mut()) {
                let bands = self.bands.as_mut().expect("bands exist with a market");
                mk.end_step(k, nav, bands);
            }
            self.record_more_bands(k, t1);
            if tracing {
                self.trace_step(k, 0);
            }
        }
        let redemption = match (self.redemption.as_mut(), tags) {
            (Some(r), Some((u_t0, u_stress))) => {
                Some(r.finish(self.ledger.book_eth(), u_t0, u_stress))
            }
            _ => None,
        };
        let nav = self.nav();
        let market = self.market.as_mut().map(|mk| mk.finish(nav));
        self.write_row(row);
        if let Some(o) = redemption {
            self.layout.write_redemption(row, &o);
        }
        if let (Some(o), Some(mk)) = (market, self.market.as_ref()) {
            self.layout.write_market(row, &o, mk);
            if let (Some(start), Some(book), Some(l)) =
                (self.layout.lending_start(), &self.lending, &m.lending)
            {
                let values = lending_values(l, book, mk, nav, self.supply0_lrt());
                row[start..start + values.len()].copy_from_slice(&values);
            }
        }
    }

    /// A sector path with front doors or markets: as [`Self::run_steps`], on one clock for
    /// every LRT — each LRT's front door at its own processing times, all exiting through the
    /// one shared exit queue, each door and market fed its LRT's losses and rewards (no
    /// lending in a sector yet).
    fn run_sector<R: Rng + ?Sized>(&mut self, rng: &mut R, row: &mut [f64]) {
        let m = self.model;
        // With doors, two uniforms per LRT, door or not, so that giving one LRT a door leaves
        // the others' random numbers as they were.
        self.door_tags.clear();
        if !self.doors.is_empty() {
            for k in 0..m.lrts.len() as u32 {
                let tags = (rng.random(), rng.random());
                if self.door_of(k).is_some() {
                    self.door_tags.push(tags);
                }
            }
        }
        self.door_rewards_eth.clear();
        self.door_rewards_eth.resize(self.doors.len(), 0.0);
        let tracing = self.trace.is_some();
        let mut i = 0;
        for k in 0..m.n_steps {
            let t1 = f64::from(k + 1) * m.step_days;
            loop {
                let ev = match self.next_tick(k, t1, i) {
                    Tick::Release(t) => {
                        self.advance_sector(t);
                        self.release_slashed_sector(t);
                        continue;
                    }
                    Tick::Process(j, t) => {
                        self.advance_sector(t);
                        self.process_door(j, t);
                        continue;
                    }
                    Tick::StepEnd => break,
                    Tick::Event(ev) => ev,
                };
                i += 1;
                let t = ev.time_days.min(t1);
                self.advance_sector(t);
                // Every LRT's losses and assets before the event (its loss share after it
                // feeds its own door and, through the contagion loadings, the others').
                let n = m.lrts.len();
                self.door_before.resize(n, (0.0, 0.0));
                for l in 0..n {
                    self.door_before[l] = (self.lrt_loss_eth(l), self.lrt_assets_and_supply(l).0);
                }
                let pre = tracing.then(|| self.trace_pre());
                self.apply(rng, ev.kind, ev.time_days);
                for l in 0..n {
                    // Reused: (the event's loss, assets before it) from here on.
                    self.door_before[l].0 = self.lrt_loss_eth(l) - self.door_before[l].0;
                }
                let share = |(loss, assets): (f64, f64)| {
                    if loss > 0.0 && assets > 0.0 {
                        loss / assets
                    } else {
                        0.0
                    }
                };
                // What LRT l's holders feel from the others' losses (contagion loadings).
                let felt = |l: usize| -> f64 {
                    if m.contagion.is_empty() {
                        return 0.0;
                    }
                    (0..n)
                        .filter(|&i| i != l)
                        .map(|i| m.contagion[i * n + l] * share(self.door_before[i]))
                        .sum()
                };
                for j in 0..self.doors.len() {
                    let l = self.layout.doors()[j] as usize;
                    let (loss, assets) = self.door_before[l];
                    if loss > 0.0 {
                        self.doors[j].loss(t, loss, assets);
                    }
                    let felt = felt(l);
                    if felt > 0.0 {
                        let own = share((loss, assets));
                        self.doors[j].contagion(t, own, felt);
                    }
                }
                for j in 0..self.markets.len() {
                    // Holders sell on the loss share they perceive.
                    let l = self.layout.markets()[j] as usize;
                    let perceived = share(self.door_before[l]) + felt(l);
                    if perceived > 0.0 {
                        let supply = self.lrt_assets_and_supply(l).1;
                        self.markets[j].loss(t, perceived, supply);
                    }
                }
                if let Some(pre) = pre {
                    self.trace_event(ev, pre);
                }
            }
            self.advance_sector(t1);
            self.record_more_bands(k, t1);
            if tracing {
                self.trace_step(k, 0);
            }
        }
        self.door_outcomes.clear();
        for j in 0..self.doors.len() {
            let book = self.door_book_eth(j);
            let (u_t0, u_stress) = self.door_tags[j];
            let q = self.shared_queue.as_mut().expect("doors share a queue");
            let r = &mut self.doors[j];
            r.swap_queue(q);
            let o = r.finish(book, u_t0, u_stress);
            r.swap_queue(q);
            self.door_outcomes.push(o);
        }
        self.write_row(row);
        for (j, o) in self.door_outcomes.iter().enumerate() {
            self.layout.write_door(row, j, o);
        }
        let mut bad_debt_eth = 0.0;
        for j in 0..self.markets.len() {
            let l = self.layout.markets()[j] as usize;
            let nav = self.lrt_nav(l);
            let o = self.markets[j].finish(nav);
            self.layout.write_lrt_market(row, j, &o, &self.markets[j]);
            if let (Some(book), Some(x)) = (&self.lend_books[j], &m.lrts[l].lending) {
                let supply0 = m.lrts[l].supply0_lrt();
                let values = lending_values(x, book, &self.markets[j], nav, supply0);
                self.layout.write_lrt_lending(row, j, &values);
                bad_debt_eth += values[2];
            }
        }
        let reserve = [
            self.reserve_peak_utilization,
            self.reserve_full_days,
            self.reserve_peak_blocked_eth,
        ];
        self.layout.write_sector_lending(row, bad_debt_eth, reserve);
        // Summed in LRT order.
        let redeemed = self.door_outcomes.iter().map(|o| o.redeemed_eth).sum();
        let sold = self.markets.iter().map(Market::sold_eth).sum();
        self.layout.write_sector_flows(row, redeemed, sold);
        if let Some(q) = &self.shared_queue {
            self.layout.write_sector_exit_queue(row, q.peak_eth());
        }
    }

    /// What comes next on the path's clock within step `k` (ending at `t1`), from event `i`
    /// on: slashed validators forced out, a front door's processing (a sector's first door
    /// due, the first in LRT order at equal times) or the step's next event — at equal times
    /// in that order — or the step's end.
    fn next_tick(&self, k: u32, t1: f64, i: usize) -> Tick {
        let release = self.next_release_days;
        let (j, processing) = match &self.redemption {
            Some(r) => (0, r.next_processing_days()),
            None => (self.doors.iter())
                .map(Redemption::next_processing_days)
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, f64::INFINITY)),
        };
        let event = self.events.get(i).filter(|ev| ev.step == k);
        let scheduled = release.min(processing);
        if scheduled < t1 && event.is_none_or(|ev| scheduled <= ev.time_days) {
            if release <= processing {
                Tick::Release(release)
            } else {
                Tick::Process(j, processing)
            }
        } else {
            event.map_or(Tick::StepEnd, |ev| Tick::Event(*ev))
        }
    }

    /// LRT `l`'s NAV per token now (1 at t = 0).
    fn lrt_nav(&self, l: usize) -> f64 {
        if let Some(j) = self.door_of(l as u32) {
            return self.doors[j].nav(self.door_book_eth(j));
        }
        let (assets, supply) = self.lrt_assets_and_supply(l);
        if supply > 0.0 { assets / supply } else { 1.0 }
    }

    /// The door of LRT `l`, if it has one.
    fn door_of(&self, l: u32) -> Option<usize> {
        self.layout.doors().iter().position(|&k| k == l)
    }

    /// The market of LRT `l`, if it has one.
    fn market_of(&self, l: u32) -> Option<usize> {
        self.layout.markets().iter().position(|&k| k == l)
    }

    /// LRT `l`'s losses so far (see [`Self::door_lrt_totals`]), ETH.
    fn lrt_loss_eth(&self, l: usize) -> f64 {
        self.lrt_totals(l).0
    }

    /// Door `j`'s LRT's (losses, rewards) so far (see [`Self::lrt_totals`]).
    fn door_lrt_totals(&self, j: usize) -> (f64, f64) {
        self.lrt_totals(self.layout.doors()[j] as usize)
    }

    /// LRT `l`: (its losses so far — slashing, thefts net of restitutions and mints'
    /// dilution —, its rewards so far), ETH, from the holders' fractions.
    fn lrt_totals(&self, l: usize) -> (f64, f64) {
        let d = self
            .delegations
            .as_ref()
            .expect("front doors track the LRTs' fractions");
        let totals = operator_totals!(self);
        let (slashed, rewards) = d.lrt_totals(l as u32, |o| totals.at(o));
        let other = self.lrt_stolen_eth[l] - self.lrt_restituted_eth[l] + self.lrt_dilution_eth[l];
        (slashed + other, rewards)
    }

    /// Door `j`'s LRT's stake now, ETH.
    fn door_book_eth(&self, j: usize) -> f64 {
        let l = self.layout.doors()[j];
        self.delegations
            .as_ref()
            .expect("front doors track the LRTs' fractions")
            .lrt_book_eth(l, &self.ledger)
    }

    /// Door `j`'s LRT's assets now: its stake and the door's liquid and in-transit ETH.
    fn door_assets_eth(&self, j: usize) -> f64 {
        self.doors[j].assets_eth(self.door_book_eth(j))
    }

    /// Every door's and market's flows integrated up to `t_days`, LRT by LRT: each door with
    /// its LRT's rewards over the interval flowing into its liquid ETH and its stake as its
    /// book, the shared exit queue lent to each in turn; each market at its LRT's NAV, with
    /// its LRT's door as its front door.
    fn advance_sector(&mut self, t_days: f64) {
        if !self.leaks.cohorts.is_empty() {
            let step = step_ending_at(self.model, t_days);
            self.advance_leaks(t_days, step);
        }
        let days = t_days - self.rewards_days;
        if days > 0.0 {
            self.accrue_days(days);
            self.rewards_days = t_days;
        }
        for j in 0..self.doors.len() {
            let rewards = self.door_lrt_totals(j).1;
            let book = self.door_book_eth(j);
            let r = &mut self.doors[j];
            if days > 0.0 {
                r.set_reward_rate((rewards - self.door_rewards_eth[j]) / days);
            }
            self.door_rewards_eth[j] = rewards;
            r.set_book(book);
        }
        let lockstep = self.lockstep();
        // With `[sector.lending.run]` the reserve's state may pulse any door: the doors of
        // LRTs without a market advance after the markets, through the moments it did.
        let run = lockstep && self.model.reserve_run.is_some();
        for l in 0..self.model.lrts.len() as u32 {
            let (door, market) = (self.door_of(l), self.market_of(l));
            if (door.is_none() && market.is_none())
                || (lockstep && market.is_some())
                || (run && market.is_none())
            {
                continue;
            }
            let nav = market.map(|_| self.lrt_nav(l as usize));
            let minted = self.lrt_minted[l as usize];
            let markets = &mut self.markets;
            with_door(&mut self.doors, &mut self.shared_queue, door, |r| {
                match (market, nav) {
                    (Some(i), Some(nav)) => markets[i].advance(t_days, nav, r, None, minted),
                    _ => r.expect("a door").advance(t_days),
                }
            });
        }
        if lockstep {
            self.reserve_run.runs.clear();
            self.advance_markets_in_lockstep(t_days);
        }
        if run {
            for l in 0..self.model.lrts.len() as u32 {
                let (Some(j), None) = (self.door_of(l), self.market_of(l)) else {
                    continue;
                };
                let loading = self.reserve_run_loading(l as usize);
                let (doors, queue) = (&mut self.doors, &mut self.shared_queue);
                with_door(doors, queue, Some(j), |r| {
                    let r = r.expect("a door");
                    if loading > 0.0 {
                        for &t in &self.reserve_run.runs {
                            r.advance(t);
                            r.pulse_scaled(t, loading);
                        }
                    }
                    r.advance(t_days);
                });
            }
        }
    }

    /// LRT `l`'s loading in `[sector.lending.run]` (0 without it).
    fn reserve_run_loading(&self, l: usize) -> f64 {
        self.model
            .reserve_run
            .as_ref()
            .map_or(0.0, |r| r.loadings[l])
    }

    /// Whether a sector's markets advance in lockstep: they share a pot of arbitrage capital
    /// or a lending reserve.
    fn lockstep(&self) -> bool {
        self.model.arbitrage_pot_eth.is_some() || self.lend_books.iter().any(Option::is_some)
    }

    /// Every market integrated up to `t_to` in lockstep (a sector with `[sector.arbitrage]`
    /// or a lending market): each sub-step ends where the earliest of the markets' own
    /// sub-steps would; within it the arbitrageurs' one pot is lent to each market in turn,
    /// in LRT order, and each market's lenders see the reserve as it was at the sub-step's
    /// start (the other collaterals' debt and interest then).
    fn advance_markets_in_lockstep(&mut self, t_to: f64) {
        let n = self.markets.len();
        let pot = self.model.arbitrage_pot_eth.is_some();
        self.market_navs.clear();
        for i in 0..n {
            let nav = self.lrt_nav(self.layout.markets()[i] as usize);
            self.market_navs.push(nav);
        }
        let (markets, doors, queue) = (&mut self.markets, &mut self.doors, &mut self.shared_queue);
        let books = &mut self.lend_books;
        for (i, mk) in markets.iter_mut().enumerate() {
            if pot {
                mk.set_arb_capital_eth(self.arb_pot_eth);
            }
            let nav = self.market_navs[i];
            with_door(doors, queue, self.market_doors[i], |r| {
                mk.begin_advance(nav, r)
            });
            if pot {
                self.arb_pot_eth = mk.arb_capital_eth();
            }
        }
        let reserve = books.iter().position(Option::is_some);
        let seen = &mut self.reserve_seen;
        let run = self.model.reserve_run.as_ref();
        let layout = &self.layout;
        while markets.first().is_some_and(|mk| mk.t_days() < t_to) {
            let t0 = markets[0].t_days();
            let gap0 = reserve.map(|k| reserve_state(&markets[k], books, t0));
            // An event since the last read (a withdrawal, a borrowing) filled the reserve.
            if let (Some(run), Some((u0, _))) = (run, gap0)
                && self.reserve_run.read(run, u0, t0)
            {
                pulse_market_doors(doors, &self.market_doors, &run.loadings, layout, t0);
            }
            // Every market's lenders see the others' books as they are at the sub-step's
            // start (not as the markets before it in the sub-step left them): the rate and
            // the block at 100 % are those of the reserve at that moment.
            seen.clear();
            if reserve.is_some() {
                seen.extend((0..n).map(|i| reserve_others(books, i)));
            }
            let mut t1 = t_to;
            for (i, mk) in markets.iter_mut().enumerate() {
                let nav = self.market_navs[i];
                if let Some(&(debt, interest)) = seen.get(i) {
                    mk.set_reserve_others(debt, interest);
                }
                let book = books[i].as_ref();
                let end = with_door(doors, queue, self.market_doors[i], |r| {
                    mk.substep_end(t_to, nav, book, r.as_deref())
                });
                t1 = t1.min(end);
            }
            for (i, mk) in markets.iter_mut().enumerate() {
                let nav = self.market_navs[i];
                let l = self.layout.markets()[i] as usize;
                let minted = self.lrt_minted[l];
                if pot {
                    mk.set_arb_capital_eth(self.arb_pot_eth);
                }
                if let Some(&(debt, interest)) = seen.get(i) {
                    mk.set_reserve_others(debt, interest);
                }
                let book = books[i].as_mut();
                with_door(doors, queue, self.market_doors[i], |r| {
                    mk.substep_to(t1, nav, r, book, minted)
                });
                if pot {
                    self.arb_pot_eth = mk.arb_capital_eth();
                }
            }
            if let (Some(k), Some((u0, gap0))) = (reserve, gap0) {
                let (u1, gap1) = reserve_state(&markets[k], books, t1);
                // The flows within the sub-step (interest) filled it: at its end, at most
                // one sub-step late.
                if let Some(run) = run
                    && self.reserve_run.read(run, u1, t1)
                {
                    pulse_market_doors(doors, &self.market_doors, &run.loadings, layout, t1);
                }
                self.reserve_peak_utilization = self.reserve_peak_utilization.max(u0).max(u1);
                self.reserve_peak_blocked_eth =
                    (self.reserve_peak_blocked_eth.max(gap0).max(gap1)).max(0.0);
                self.reserve_full_days += days_at_full(t1 - t0, gap0);
            }
        }
    }

    /// Door `j` processes its queue at `t`, redeeming from its LRT's stake.
    fn process_door(&mut self, j: usize, t: f64) {
        let l = self.layout.doors()[j];
        let d = self
            .delegations
            .as_mut()
            .expect("front doors track the LRTs' fractions");
        let totals = operator_totals!(self);
        let (seen, touched) = (&mut self.operator_seen, &mut self.touched_operators);
        let mut stake = crate::delegation::LrtStake {
            d,
            ledger: &mut self.ledger,
            lrt: l,
            cumulative: |o: usize| totals.at(o),
            // The operator's reward rate fell: its holders' rewards follow.
            touched: |op: u32| touch_operator(seen, touched, op),
        };
        let q = self.shared_queue.as_mut().expect("doors share a queue");
        let r = &mut self.doors[j];
        r.swap_queue(q);
        r.process(t, &mut stake);
        r.swap_queue(q);
    }

    /// The market and the front door's flows (if any) integrated up to `t_days` at the
    /// current NAV.
    fn advance_to(&mut self, t_days: f64) {
        if !self.leaks.cohorts.is_empty() {
            let step = step_ending_at(self.model, t_days);
            self.advance_leaks(t_days, step);
        }
        // Rewards accrue at the rates of the interval; with a front door they flow into its
        // liquid ETH as it is integrated.
        let days = t_days - self.rewards_days;
        if days > 0.0 {
            let before = self.net_rewards_eth;
            self.accrue_days(days);
            let into_pool = self.net_rewards_eth - before - self.last_diverted_eth;
            if let Some(r) = self.redemption.as_mut() {
                r.set_reward_rate(into_pool / days);
            }
            self.rewards_days = t_days;
        }
        if let Some(r) = self.redemption.as_mut() {
            r.set_book(self.ledger.book_eth());
        }
        if self.market.is_none() {
            if let Some(r) = self.redemption.as_mut() {
                r.advance(t_days);
            }
            return;
        }
        let nav = self.nav();
        let mk = self.market.as_mut().expect("checked");
        mk.advance(
            t_days,
            nav,
            self.redemption.as_mut(),
            self.lending.as_mut(),
            self.minted_lrt,
        );
    }

    /// Slashed validators that became withdrawable by `t1` leave the book (forced out) and
    /// are delivered after the sweep.
    fn release_slashed(&mut self, t1: f64) {
        let mut next = f64::INFINITY;
        for k in 0..self.slashed.len() {
            let s = self.slashed[k];
            if s.withdrawable_days > t1 {
                next = next.min(s.withdrawable_days);
                continue;
            }
            let physical = self.slashed_balance_eth(&s);
            let book_before = self.ledger.book_eth();
            let eth = self.ledger.withdraw_validators(s.op, physical);
            let r = self.redemption.as_mut().expect("withdrawal path");
            r.release(eth, book_before, s.withdrawable_days, s.escrow_end_days);
            self.slashed[k].withdrawable_days = f64::INFINITY;
        }
        self.next_release_days = next;
    }

    /// The beacon-chain balance now of slashed validators `s`, ETH: their number times what
    /// each has left, scaled by the pro-rata withdrawals since (the pool's scale, and the
    /// operator's stake undelegated pro rata: a sector's redemptions).
    fn slashed_balance_eth(&self, s: &Slashed) -> f64 {
        let eb = self.model.operators[s.op as usize].validator_balance_gwei;
        s.validators * eb.saturating_sub(s.lost_gwei_each) as f64 / GWEI_PER_ETH as f64
            * (self.ledger.scale() / s.scale)
            * (self.ledger.kept(s.op) / s.kept)
    }

    /// A sector's slashed validators that became withdrawable by `t1`: each LRT with a front
    /// door has its part of them (its fraction of the operator's stake) leave its stake and
    /// delivered to its door after the sweep, behind its own EigenLayer escrow; the other
    /// holders' parts stay (an LRT without a door has nowhere to take its ETH; other stakers
    /// are not modelled).
    fn release_slashed_sector(&mut self, t1: f64) {
        let m = self.model;
        let mut next = f64::INFINITY;
        for k in 0..self.slashed.len() {
            let s = self.slashed[k];
            if s.withdrawable_days > t1 {
                next = next.min(s.withdrawable_days);
                continue;
            }
            self.slashed[k].withdrawable_days = f64::INFINITY;
            let o = s.op as usize;
            let physical = self.slashed_balance_eth(&s);
            let balance = self.ledger.beacon_balance_eth(s.op);
            if balance <= 0.0 || physical <= 0.0 {
                continue;
            }
            // Of the operator's stake, the validators' share; each door's LRT's part of it,
            // fixed before any leaves.
            let share = (physical / balance).min(1.0);
            let stake = self.ledger.withdrawable_eth(s.op);
            let d = self
                .delegations
                .as_mut()
                .expect("front doors track the LRTs' fractions");
            self.release_parts.clear();
            for &l in self.layout.doors() {
                let eth = d.lrt_fraction(l, o) * stake * share;
                self.release_parts
                    .push((eth, d.lrt_book_eth(l, &self.ledger)));
            }
            let totals = operator_totals!(self);
            for (j, &l) in self.layout.doors().iter().enumerate() {
                let (eth, book_before) = self.release_parts[j];
                let eth = d.exit_at(l, o, eth, &mut self.ledger, |x| totals.at(x));
                touch_operator(&mut self.operator_seen, &mut self.touched_operators, s.op);
                let w = m.lrts[l as usize]
                    .withdrawals
                    .as_ref()
                    .expect("a door has a model");
                let not_before = s.slashed_days + w.escrow_days;
                self.doors[j].release(eth, book_before, s.withdrawable_days, not_before);
            }
        }
        self.next_release_days = next;
    }

    /// Draws every event of the path into `self.events` (unsorted).
    fn draw_events<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let m = self.model;
        let horizon = m.horizon_days;
        let rd = m.rate_draws.as_ref();
        if let Some(rd) = rd {
            // Uncertain rates: the path's rates first, then its events given them.
            rd.draw(rng, &mut self.path_factors, &mut self.path_means);
        }
        let means = &self.path_means;
        let first = rd.map_or([0; 6], |r| r.first);
        // The path's expected count of rate slot `k` (None: the model's fixed rate).
        let mean_of = |k: usize| rd.map(|_| means[k]);
        let no_tilt = self.tilt.is_none();
        let events = &mut self.events;
        let tilt = &mut self.tilt;
        let mut count = |rng: &mut R,
                         k: usize,
                         events: &Option<rand_distr::Poisson<f64>>,
                         at_days: Option<f64>,
                         mean: Option<f64>| match (tilt.as_mut(), mean) {
            (Some(t), Some(mu)) => t.count_mean(rng, k, mu, at_days),
            (Some(t), None) => t.count(rng, k, events, at_days),
            (None, Some(mu)) => poisson_count(rng, at_days, mu),
            (None, None) => event_count(rng, at_days, events),
        };
        let (first_incident, first_exploit, avs_k) = (
            m.shocks.len(),
            m.shocks.len() + m.incidents.len(),
            m.shocks.len() + m.incidents.len() + m.exploits.len(),
        );
        let mut seq = 0u32;
        match &m.shock_mix {
            // Fixed rates, untilted: the scheduled shocks, then every rate-based shock's
            // events at once (their total count, then each one's shock and time).
            Some(mix) if rd.is_none() && no_tilt => {
                for (s, shock) in m.shocks.iter().enumerate() {
                    if let Some(t) = shock.at_days {
                        push_event(events, &mut seq, m, t, Kind::Shock(s as u32));
                    }
                }
                for _ in 0..mix.events.sample(rng) as u64 {
                    let s = mix.draw_shock(rng);
                    let t = rng.random::<f64>() * horizon;
                    push_event(events, &mut seq, m, t, Kind::Shock(s));
                }
            }
            _ => {
                for (s, shock) in m.shocks.iter().enumerate() {
                    for _ in 0..count(rng, s, &shock.events, shock.at_days, mean_of(s)) {
                        let t = event_time(rng, shock.at_days, horizon);
                        push_event(events, &mut seq, m, t, Kind::Shock(s as u32));
                    }
                }
            }
        }
        if let Some(f) = &m.avs_faults {
            let untilted = Some(f.events);
            let entries = first[2]..first[3];
            let total = rd.map(|_| {
                // This path's shares of the AVS entries.
                let total: f64 = means[entries.clone()].iter().sum();
                self.avs_cumulative.clear();
                let mut acc = 0.0;
                for mu in &means[entries.clone()] {
                    acc += mu / total;
                    self.avs_cumulative.push(acc);
                }
                total
            });
            for _ in 0..count(rng, avs_k, &untilted, None, total) {
                let t = rng.random::<f64>() * horizon;
                let (entry, pair) = match total {
                    Some(_) => f.sample_pair_by(rng, &self.avs_cumulative),
                    None => f.sample_pair(rng),
                };
                push_event(events, &mut seq, m, t, Kind::AvsFault { entry, pair });
            }
        }
        let penalty_delay_days = CORRELATION_PENALTY_DELAY_EPOCHS as f64 / EPOCHS_PER_DAY;
        for (i, incident) in m.incidents.iter().enumerate() {
            let mean = mean_of(first[0] + i);
            for _ in 0..count(
                rng,
                first_incident + i,
                &incident.events,
                incident.at_days,
                mean,
            ) {
                let t = event_time(rng, incident.at_days, horizon);
                let record = self.double_signs.len() as u32;
                if incident.kind == IncidentKind::DoubleSign {
                    self.double_signs.push(DoubleSign {
                        time_days: t,
                        source: incident.source,
                        slashed_gwei: incident.network_slashed_gwei as f64,
                        first: 0,
                        end: 0,
                    });
                    // The correlation penalty comes 4096 epochs later, if within the horizon.
                    let t_penalty = t + penalty_delay_days;
                    if t_penalty < horizon {
                        let kind = Kind::CorrelationPenalty { record };
                        push_event(events, &mut seq, m, t_penalty, kind);
                    }
                }
                let incident = i as u32;
                push_event(events, &mut seq, m, t, Kind::Incident { incident, record });
            }
        }
        if let Some(w) = &m.withdrawals {
            for (r, rush) in w.rushes.iter().enumerate() {
                let n = match mean_of(first[3] + r) {
                    Some(mu) => poisson_count(rng, rush.at_days, mu),
                    None => event_count(rng, rush.at_days, &rush.events),
                };
                for _ in 0..n {
                    let t = event_time(rng, rush.at_days, horizon);
                    push_event(events, &mut seq, m, t, Kind::Rush(r as u32));
                }
            }
        } else if let Some(w) = m.lrts.iter().find_map(|l| l.withdrawals.as_ref()) {
            // A sector's rushes on its shared exit queue, where (and in the rate slots where)
            // the pool's are drawn.
            for (r, rush) in w.rushes.iter().enumerate() {
                let n = match mean_of(first[3] + r) {
                    Some(mu) => poisson_count(rng, rush.at_days, mu),
                    None => event_count(rng, rush.at_days, &rush.events),
                };
                for _ in 0..n {
                    let t = event_time(rng, rush.at_days, horizon);
                    push_event(events, &mut seq, m, t, Kind::Rush(r as u32));
                }
            }
        }
        for (e, exploit) in m.exploits.iter().enumerate() {
            let mean = mean_of(first[1] + e);
            for _ in 0..count(
                rng,
                first_exploit + e,
                &exploit.events,
                exploit.at_days,
                mean,
            ) {
                let t = event_time(rng, exploit.at_days, horizon);
                let record = self.exploit_records.len() as u32;
                self.exploit_records.push(ExploitRecord {
                    exploit: e as u32,
                    ..ExploitRecord::default()
                });
                let later = t + exploit.restitution_days;
                if exploit.restitution_share > 0.0 && later < horizon {
                    push_event(events, &mut seq, m, later, Kind::Restitution { record });
                }
                let exploit = e as u32;
                push_event(events, &mut seq, m, t, Kind::Exploit { exploit, record });
            }
        }
        // The pool's lending market, or a sector's reserve.
        let rates = (m.lending.as_ref().and_then(|l| l.rates.as_ref())).or(m.reserve.as_ref());
        if let Some(rates) = rates {
            for (s, shock) in rates.supply_shocks.iter().enumerate() {
                let n = match mean_of(first[4] + s) {
                    Some(mu) => poisson_count(rng, shock.at_days, mu),
                    None => event_count(rng, shock.at_days, &shock.events),
                };
                for _ in 0..n {
                    let t = event_time(rng, shock.at_days, horizon);
                    push_event(events, &mut seq, m, t, Kind::SupplyShock(s as u32));
                }
            }
        }
        if let Some(mk) = &m.market {
            for (s, shock) in mk.shocks.iter().enumerate() {
                let n = match mean_of(first[5] + s) {
                    Some(mu) => poisson_count(rng, shock.at_days, mu),
                    None => event_count(rng, shock.at_days, &shock.events),
                };
                for _ in 0..n {
                    let t = event_time(rng, shock.at_days, horizon);
                    push_event(events, &mut seq, m, t, Kind::Depeg(s as u32));
                }
            }
        }
        // A sector's markets' depeg shocks, LRT by LRT, where (and in the rate slots where)
        // the pool's are drawn (so an LRT holding every operator draws the pool's numbers).
        let mut slot = first[5];
        for (l, lrt) in m.lrts.iter().enumerate() {
            let Some(mk) = &lrt.market else { continue };
            for (s, shock) in mk.shocks.iter().enumerate() {
                let n = match mean_of(slot) {
                    Some(mu) => poisson_count(rng, shock.at_days, mu),
                    None => event_count(rng, shock.at_days, &shock.events),
                };
                slot += 1;
                for _ in 0..n {
                    let t = event_time(rng, shock.at_days, horizon);
                    let kind = Kind::LrtDepeg {
                        lrt: l as u32,
                        shock: s as u32,
                    };
                    push_event(events, &mut seq, m, t, kind);
                }
            }
        }
        for (c, copula) in m.copulas.iter().enumerate() {
            let periods = copula.periods;
            let steps = &self.copula_steps[c];
            let mut emit = |period: u32, pair| {
                let t = periods.end_days(period);
                events.push(Event {
                    step: match steps.get(period as usize) {
                        Some(&step) => step,
                        None => step_ending_at(m, t),
                    },
                    time_days: t,
                    seq,
                    kind: Kind::Copula {
                        copula: c as u32,
                        pair,
                    },
                });
                seq += 1;
            };
            match self.tilt.as_mut() {
                Some(t) if t.shifts[c].is_some() => {
                    let shift = t.shifts[c].expect("checked");
                    let sum_neg_z =
                        copula.sample_faults_shifted(rng, shift, &mut self.scratch, &mut emit);
                    // One factor draw per period: ∏ₖ φ(Zₖ)/φ(Zₖ + s) over the n_periods.
                    let n_periods = f64::from(periods.n_periods);
                    t.log_weight += -shift * sum_neg_z + n_periods * shift * shift / 2.0;
                    let k = t.avs_faults + 1 + c;
                    t.statistics[k] = sum_neg_z;
                }
                _ => copula.sample_faults(rng, &mut self.scratch, &mut emit),
            }
        }
        // Governance last, so that a scenario without it draws what it drew before.
        for (g, entry) in m.governance.iter().enumerate() {
            let vote = decision_day(rng, entry.at_days, entry.rate_per_year);
            if vote >= horizon {
                continue;
            }
            let g = g as u32;
            push_event(&mut self.events, &mut seq, m, vote, Kind::Vote(g));
            for (delay, increase) in [
                (entry.deallocation_delay_days, false),
                (entry.allocation_delay_days, true),
            ] {
                let t = vote + delay;
                if t < horizon {
                    let kind = Kind::TakeEffect { entry: g, increase };
                    push_event(&mut self.events, &mut seq, m, t, kind);
                }
            }
        }
        // Redelegations after it, likewise.
        self.redelegation_days.clear();
        for (r, entry) in m.redelegations.iter().enumerate() {
            // An undelegation's LRTs move at the operator's one moment.
            let day = match entry.decided_with {
                Some(first) => self.redelegation_days[first as usize],
                None => decision_day(rng, entry.at_days, entry.rate_per_year),
            };
            self.redelegation_days.push(day);
            if day >= horizon {
                continue;
            }
            let r = r as u32;
            push_event(&mut self.events, &mut seq, m, day, Kind::Redelegate(r));
            let done = day + entry.escrow_days;
            if done < horizon {
                push_event(&mut self.events, &mut seq, m, done, Kind::Redelegated(r));
            }
        }
    }

    /// Applies one event (severities are drawn here, in event order).
    fn apply<R: Rng + ?Sized>(&mut self, rng: &mut R, kind: Kind, time_days: f64) {
        let m = self.model;
        match kind {
            Kind::Shock(s) => {
                let shock = &m.shocks[s as usize];
                let event_severity = if shock.per_target {
                    0.0
                } else {
                    shock.severity.sample(rng)
                };
                shock.hits.sample_hits(rng, |rng, pairs| {
                    let severity = if shock.per_target {
                        shock.severity.sample(rng)
                    } else {
                        event_severity
                    };
                    for &pair in pairs {
                        self.slash(pair, severity, shock.source);
                    }
                    if let Some(tr) = self.trace.as_deref_mut() {
                        tr.facts.hit_pairs(pairs, severity);
                    }
                });
            }
            Kind::Incident { incident, record } => self.incident(rng, incident, record, time_days),
            Kind::CorrelationPenalty { record } => self.correlation_penalty(record, time_days),
            Kind::Rush(r) => {
                let rush = rush_model(m, r);
                let eth = rush.size_eth.sample(rng);
                if let Some(red) = self.redemption.as_mut() {
                    red.rush(time_days, eth, rush.triggers_run);
                }
                // A sector: the ETH joins the shared exit queue once (through the first door)
                // and every door's holders may run.
                let q = self.shared_queue.as_mut();
                if let (Some(q), Some(first)) = (q, self.doors.first_mut()) {
                    first.swap_queue(q);
                    first.rush(time_days, eth, rush.triggers_run);
                    first.swap_queue(q);
                    if rush.triggers_run {
                        for door in &mut self.doors[1..] {
                            door.pulse(time_days);
                        }
                    }
                }
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.values.push(eth);
                }
            }
            Kind::Depeg(s) => {
                let shock = depeg_model(m, s);
                let share = shock.sell_share.sample(rng);
                let supply = self.supply_lrt();
                if let Some(mk) = self.market.as_mut() {
                    mk.shock(time_days, share, shock.sell_days, supply);
                }
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.values.extend([share, share * supply]);
                }
            }
            Kind::LrtDepeg { lrt, shock } => {
                let d = lrt_depeg_model(m, lrt, shock);
                let share = d.sell_share.sample(rng);
                let supply = self.lrt_assets_and_supply(lrt as usize).1;
                let j = self
                    .market_of(lrt)
                    .expect("an LRT's depeg shock needs its market");
                self.markets[j].shock(time_days, share, d.sell_days, supply);
                if !m.contagion.is_empty() {
                    // The other LRTs' holders sell their loading's share of it.
                    let n = m.lrts.len();
                    for i in 0..self.markets.len() {
                        let k = self.layout.markets()[i] as usize;
                        let felt = m.contagion[lrt as usize * n + k] * share;
                        if i != j && felt > 0.0 {
                            let supply_k = self.lrt_assets_and_supply(k).1;
                            self.markets[i].shock(time_days, felt, d.sell_days, supply_k);
                        }
                    }
                }
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.values.extend([share, share * supply]);
                }
            }
            Kind::Exploit { exploit, record } => self.exploit(rng, exploit, record, time_days),
            Kind::SupplyShock(s) => {
                let rates = (m.lending.as_ref().and_then(|l| l.rates.as_ref()))
                    .or(m.reserve.as_ref())
                    .expect("supply shocks need lending rates");
                let shock = &rates.supply_shocks[s as usize];
                let share = shock.share.sample(rng);
                if let Some(mk) = self.market.as_mut() {
                    mk.supply_shock(time_days, share, shock.recovery_days);
                }
                // A sector's reserve: every collateral's market carries its lenders.
                for (mk, book) in self.markets.iter_mut().zip(&self.lend_books) {
                    if book.is_some() {
                        mk.supply_shock(time_days, share, shock.recovery_days);
                    }
                }
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.values.push(share);
                }
            }
            Kind::Restitution { record } => {
                let r = self.exploit_records[record as usize];
                let eth = r.restitution_share * r.stolen_eth;
                if let Some(l) = m.exploits[r.exploit as usize].lrt {
                    // A sector: returned to the LRT, held liquid (not restaked) — in its front
                    // door's liquid ETH if it has one.
                    self.lrt_restituted_eth[l as usize] += eth;
                    if let Some(j) = self.door_of(l) {
                        self.doors[j].add_liquid(eth);
                    }
                    if let Some(tr) = self.trace.as_deref_mut() {
                        tr.facts.values.extend([eth, eth]);
                    }
                    return;
                }
                let to_pool = match self.reserves.as_mut() {
                    Some(res) => res.refund(eth, r.paid_by_reserves_eth),
                    None => eth,
                };
                self.restituted_eth += eth;
                self.inject(to_pool);
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.values.extend([eth, to_pool]);
                }
            }
            Kind::AvsFault { entry, pair } => {
                let f = m
                    .avs_faults
                    .as_ref()
                    .expect("fault events exist only with fault rates");
                let severity = f.entries[entry as usize].0.sample(rng);
                self.slash(pair, severity, f.source);
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.hit_pairs(&[pair], severity);
                }
            }
            Kind::Vote(g) => {
                let gov = self.governance.as_mut().expect("votes need [[governance]]");
                let entry = &m.governance[g as usize];
                let mut trace = self.trace.as_deref_mut();
                gov.vote(m, &self.ledger, g, time_days, |(pair, now, new)| {
                    if let Some(tr) = trace.as_deref_mut() {
                        let delay = if new < now {
                            entry.deallocation_delay_days
                        } else {
                            entry.allocation_delay_days
                        };
                        tr.facts
                            .values
                            .extend([f64::from(pair), now, new, time_days + delay]);
                    }
                });
            }
            Kind::TakeEffect { entry, increase } => {
                let gov = self
                    .governance
                    .as_mut()
                    .expect("effects need [[governance]]");
                let mut trace = self.trace.as_deref_mut();
                let sector = !self.operator_reward_deficit.is_empty();
                let (seen, touched) = (&mut self.operator_seen, &mut self.touched_operators);
                gov.take_effect(m, &mut self.ledger, entry, increase, |(pair, a, b)| {
                    if sector {
                        // The operator's reward rate changed: its LRTs' rewards follow it.
                        touch_operator(seen, touched, m.pairs[pair as usize].operator);
                    }
                    if let Some(tr) = trace.as_deref_mut() {
                        tr.facts.values.extend([f64::from(pair), a, b, f64::NAN]);
                    }
                });
            }
            Kind::Redelegate(r) => {
                let d = self.delegations.as_mut().expect("[[redelegations]]");
                let mut trace = self.trace.as_deref_mut();
                let ledger = &self.ledger;
                let totals = operator_totals!(self);
                let cumulative = |o: usize| totals.at(o);
                d.decide(m, r, cumulative, |(op, share)| {
                    if let Some(tr) = trace.as_deref_mut() {
                        let eth = share * ledger.withdrawable_eth(op);
                        tr.facts.values.extend([f64::from(op), share, eth]);
                    }
                });
            }
            Kind::Redelegated(r) => {
                let sector = !self.operator_reward_deficit.is_empty();
                let d = self.delegations.as_mut().expect("[[redelegations]]");
                let mut trace = self.trace.as_deref_mut();
                let totals = operator_totals!(self);
                let cumulative = |o: usize| totals.at(o);
                let (seen, touched) = (&mut self.operator_seen, &mut self.touched_operators);
                d.complete(m, r, &mut self.ledger, cumulative, |(op, eth)| {
                    if sector {
                        // The operator's reward rate changed: its holders' rewards follow.
                        touch_operator(seen, touched, op);
                    }
                    if let Some(tr) = trace.as_deref_mut() {
                        tr.facts.values.extend([f64::from(op), eth]);
                    }
                });
            }
            Kind::Copula { copula, pair } => {
                let c = &m.copulas[copula as usize];
                let severity = c.severity.sample(rng);
                self.slash(pair, severity, c.source);
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.hit_pairs(&[pair], severity);
                }
            }
        }
    }

    /// The reserves pay what they cover of a slashing loss into the pool.
    fn absorb_slashing(&mut self, loss_eth: f64) {
        if loss_eth > 0.0
            && let Some(res) = self.reserves.as_mut()
        {
            let paid = res.absorb(loss_eth, Loss::Slashing);
            self.inject(paid);
        }
    }

    /// An exploit at `time_days`: assets stolen from the book (pro rata) or LRT minted without
    /// backing; the reserves pay what they cover; the front door may pause; an attacker sells
    /// minted LRT into the pool.
    fn exploit<R: Rng + ?Sized>(&mut self, rng: &mut R, exploit: u32, record: u32, t: f64) {
        let m = self.model;
        let e = &m.exploits[exploit as usize];
        let size = e.size.sample(rng);
        if let Some(l) = e.lrt {
            // A sector: a mint dilutes LRT l's holders; a theft takes `size` of its assets out
            // of its stake, pro rata over its operators (their other stakers keep theirs).
            let (assets, supply) = self.lrt_assets_and_supply(l as usize);
            let (eth, minted) = match e.kind {
                ExploitKind::UnbackedMint => {
                    let minted = size * supply;
                    let eth = minted * (assets / supply);
                    self.lrt_minted[l as usize] += minted;
                    self.lrt_dilution_eth[l as usize] += eth;
                    if let Some(j) = self.door_of(l) {
                        self.doors[j].mint(minted);
                    }
                    if let Some(j) = self.market_of(l) {
                        self.markets[j].sell_over(t, 0.0, e.attacker_sell_share * minted);
                        // The attacker borrows against the exchange rate before it reflects
                        // the mint, what the reserve has left at most (nothing while the
                        // guardian has frozen the collateral).
                        if self.lend_books[j].is_some() && !self.markets[j].frozen(t) {
                            let (debt, interest) = reserve_others(&self.lend_books, j);
                            let mk = &mut self.markets[j];
                            mk.set_reserve_others(debt, interest);
                            let book = self.lend_books[j].as_mut().expect("checked");
                            let cap = mk.lend_available_eth(t, book);
                            book.open_capped(
                                e.attacker_borrow_share * minted,
                                assets / supply,
                                cap,
                            );
                        }
                    }
                    (eth, minted)
                }
                ExploitKind::Stolen => {
                    let d = self
                        .delegations
                        .as_mut()
                        .expect("a sector theft tracks the LRTs' fractions");
                    let totals = operator_totals!(self);
                    let (seen, touched) = (&mut self.operator_seen, &mut self.touched_operators);
                    let eth = d.take(
                        l,
                        size * assets,
                        &mut self.ledger,
                        |o| totals.at(o),
                        // The operator's reward rate fell: its holders' rewards follow.
                        |op| touch_operator(seen, touched, op),
                    );
                    self.lrt_stolen_eth[l as usize] += eth;
                    let rec = &mut self.exploit_records[record as usize];
                    rec.stolen_eth = eth;
                    rec.restitution_share = e.restitution_share;
                    (eth, 0.0)
                }
            };
            if e.pause_days > 0.0
                && let Some(j) = self.door_of(l)
            {
                self.doors[j].pause_until(t + e.pause_days);
            }
            // The lending market's guardian reacts (after the attacker's borrowing).
            if let Some(j) = self.market_of(l) {
                self.markets[j].guardian_event(t, GuardianTrigger::Exploit);
            }
            if let Some(tr) = self.trace.as_deref_mut() {
                tr.facts.values.extend([size, eth, minted]);
            }
            return;
        }
        let mut minted_now = 0.0;
        let loss_eth = match e.kind {
            ExploitKind::Stolen => {
                let eth = self.ledger.withdraw_pro_rata(size * self.assets_eth());
                self.stolen_eth += eth;
                eth
            }
            ExploitKind::UnbackedMint => {
                let nav = self.nav();
                let minted = size * self.supply_lrt();
                minted_now = minted;
                self.minted_lrt += minted;
                if let Some(r) = self.redemption.as_mut() {
                    r.mint(minted);
                }
                if let Some(mk) = self.market.as_mut() {
                    mk.sell_over(t, 0.0, e.attacker_sell_share * minted);
                }
                // The attacker borrows against the exchange rate before it reflects the mint,
                // what the reserve has left at most (with `[lending.rates]`; nothing while the
                // guardian has frozen the collateral).
                if let (Some(book), Some(mk)) = (self.lending.as_mut(), self.market.as_ref())
                    && !mk.frozen(t)
                {
                    let cap = mk.lend_available_eth(t, book);
                    book.open_capped(e.attacker_borrow_share * minted, nav, cap);
                }
                // Backing the minted LRT at the old NAV would undo the dilution.
                let eth = minted * nav;
                self.dilution_eth += eth;
                eth
            }
        };
        // The lending market's guardian reacts (after the attacker's borrowing).
        if let Some(mk) = self.market.as_mut() {
            mk.guardian_event(t, GuardianTrigger::Exploit);
        }
        let paid = match self.reserves.as_mut() {
            Some(res) => res.absorb(loss_eth, Loss::Exploit),
            None => 0.0,
        };
        self.inject(paid);
        let rec = &mut self.exploit_records[record as usize];
        if e.kind == ExploitKind::Stolen {
            rec.stolen_eth = loss_eth;
            rec.paid_by_reserves_eth = paid;
            rec.restitution_share = e.restitution_share;
        }
        if e.pause_days > 0.0
            && let Some(r) = self.redemption.as_mut()
        {
            r.pause_until(t + e.pause_days);
        }
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.facts.values.extend([size, loss_eth, minted_now]);
        }
    }

    /// Sector scenarios: LRT `l`'s assets now (its collateral less its shares of its operators'
    /// losses so far, plus its rewards so far), ETH, and its supply (t = 0 ETH units).
    fn lrt_assets_and_supply(&self, l: usize) -> (f64, f64) {
        let m = self.model;
        if let Some(j) = self.door_of(l as u32) {
            // With a front door: its stake, liquid and in-transit ETH, and the supply its
            // redemptions and mints left.
            return (self.door_assets_eth(j), self.doors[j].supply_lrt());
        }
        let ops = self
            .slashed_by_operator
            .as_deref()
            .expect("sector scenarios record operators' losses");
        if let Some(d) = self.delegations.as_ref() {
            let totals = operator_totals!(self);
            let cumulative = |o: usize| totals.at(o);
            let (loss, rewards) = d.lrt_totals(l as u32, cumulative);
            let assets = m.lrts[l].collateral_eth - loss + rewards - self.lrt_stolen_eth[l]
                + self.lrt_restituted_eth[l];
            return (assets, m.lrts[l].collateral_eth + self.lrt_minted[l]);
        }
        let mut assets = m.lrts[l].collateral_eth + self.lrt_rate0[l] * self.accrued_years;
        for &o in &self.touched_operators {
            for &(k, share) in &m.operators[o as usize].lrt_shares {
                if k as usize == l {
                    assets -= share * (ops[o as usize] + self.operator_reward_deficit[o as usize]);
                }
            }
        }
        (assets, m.lrts[l].collateral_eth + self.lrt_minted[l])
    }

    /// A beacon incident hits operators' validators: double signing slashes them (initial
    /// penalty now, correlation penalty later) and retires them; an inactivity leak drains
    /// them for its duration (booked at its start, ejected validators retired).
    fn incident<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        incident: u32,
        record: u32,
        time_days: f64,
    ) {
        let m = self.model;
        let inc = &m.incidents[incident as usize];
        match inc.kind {
            IncidentKind::DoubleSign => {
                let first = self.slashed.len() as u32;
                inc.hits.sample_hits(rng, |_, ops| {
                    for &op in ops {
                        let n = self.ledger.retire_validators(op, inc.validator_share);
                        if n <= 0.0 {
                            continue;
                        }
                        let eb = m.operators[op as usize].validator_balance_gwei;
                        let initial = m.beacon.fork.initial_penalty_gwei(eb);
                        let loss = self.beacon_hit(op, n, initial, inc.source);
                        self.losses.beacon_initial += loss;
                        if let Some(tr) = self.trace.as_deref_mut() {
                            tr.facts.hit_operator(op, n, loss, true);
                        }
                        self.slashed.push(Slashed {
                            op,
                            validators: n,
                            lost_gwei_each: initial,
                            scale: self.ledger.scale(),
                            withdrawable_days: f64::INFINITY,
                            escrow_end_days: f64::INFINITY,
                            slashed_days: time_days,
                            kept: self.ledger.kept(op),
                        });
                        self.double_signs[record as usize].slashed_gwei += n * eb as f64;
                    }
                });
                let r = &mut self.double_signs[record as usize];
                (r.first, r.end) = (first, self.slashed.len() as u32);
                self.slashings_window.push(r.time_days, r.slashed_gwei);
                if let Some(red) = self.redemption.as_mut() {
                    // Slashed validators are exited at once: they join the network exit queue
                    // (with the rest of the incident's) and are withdrawable 8192 epochs after
                    // the slashing, or later behind a long queue; the protocol queues their
                    // EigenLayer withdrawal at the slashing.
                    let w = m.withdrawals.as_ref().expect("redemption has a model");
                    let ahead_days =
                        red.join_network_queue(time_days, r.slashed_gwei / GWEI_PER_ETH as f64);
                    let lock_days = EPOCHS_PER_SLASHINGS_VECTOR as f64 / EPOCHS_PER_DAY;
                    let withdrawable = time_days + lock_days.max(ahead_days + w.exit_delay_days);
                    for s in &mut self.slashed[first as usize..] {
                        s.withdrawable_days = withdrawable;
                        s.escrow_end_days = time_days + w.escrow_days;
                    }
                    self.next_release_days = self.next_release_days.min(withdrawable);
                } else if let Some(q) = self.shared_queue.as_mut() {
                    // A sector's doors: the same, through the sector's one exit queue; each
                    // LRT's part goes to its own door (its own escrow) when withdrawable.
                    let w = (m.lrts.iter())
                        .find_map(|l| l.withdrawals.as_ref())
                        .expect("a shared queue has doors");
                    let ahead_days = q.join(time_days, r.slashed_gwei / GWEI_PER_ETH as f64);
                    let lock_days = EPOCHS_PER_SLASHINGS_VECTOR as f64 / EPOCHS_PER_DAY;
                    let withdrawable = time_days + lock_days.max(ahead_days + w.exit_delay_days);
                    for s in &mut self.slashed[first as usize..] {
                        s.withdrawable_days = withdrawable;
                    }
                    self.next_release_days = self.next_release_days.min(withdrawable);
                }
            }
            IncidentKind::InactivityLeak => {
                let days = inc
                    .duration_days
                    .as_ref()
                    .expect("validated: leaks have a duration")
                    .sample(rng);
                if let Some(tr) = self.trace.as_deref_mut() {
                    tr.facts.values.push(days);
                }
                // (Every leaking validator was moved up to now before the event.)
                let e0 = epoch_of(time_days);
                let e1 = e0 + ((days.min(m.horizon_days - time_days)) * EPOCHS_PER_DAY) as u64;
                self.leaks.push_interval(e0, e1);
                let share = inc.validator_share;
                let scale = self.ledger.scale();
                // Past MAX_LEAK_COHORTS a partial leak takes existing cohorts offline whole
                // instead of splitting them (docs/model.md §17).
                let split_cap = self.leaks.cohorts.len() >= MAX_LEAK_COHORTS;
                inc.hits.sample_hits(rng, |_, ops| {
                    for &op in ops {
                        // The operator's validators already in cohorts: `share` of each goes
                        // offline with this leak, carrying its state.
                        let mut in_cohorts = 0.0;
                        let mut hit = 0.0;
                        for c in 0..self.leaks.cohorts.len() {
                            let co = &mut self.leaks.cohorts[c];
                            if co.op != op || !co.state.is_active() {
                                continue;
                            }
                            if co.state.exit_epoch.is_none() {
                                in_cohorts += co.validators;
                            }
                            if share >= 1.0 || split_cap {
                                co.offline_until = co.offline_until.max(e1);
                                co.source = inc.source;
                                co.fresh_from = None;
                                hit += co.validators;
                            } else if share > 0.0 {
                                let mut part = *co;
                                part.validators *= share;
                                co.validators -= part.validators;
                                part.offline_until = part.offline_until.max(e1);
                                part.source = inc.source;
                                part.fresh_from = None;
                                hit += part.validators;
                                self.leaks.cohorts.push(part);
                            }
                        }
                        // The rest start from a full balance and score 0.
                        let fresh = if scale > 0.0 {
                            share
                                * (self.ledger.active_validators(op) / scale - in_cohorts).max(0.0)
                        } else {
                            0.0
                        };
                        if fresh > 0.0 {
                            let eb = m.operators[op as usize].validator_balance_gwei;
                            let mut state = ValidatorLeakState::new(eb);
                            state.epoch = e0;
                            self.leaks.cohorts.push(Cohort {
                                op,
                                validators: fresh,
                                state,
                                offline_until: e1,
                                source: inc.source,
                                fresh_from: Some(e0),
                            });
                            hit += fresh;
                        }
                        if let Some(tr) = self.trace.as_deref_mut() {
                            tr.facts.hit_operator(op, hit * scale, 0.0, false);
                        }
                    }
                });
            }
        }
    }

    /// Books the inactivity-leak losses accrued up to `t_days`: every cohort moved epoch by
    /// epoch to the epoch in progress; an ejected cohort leaves the active set (and the
    /// network exit queue is joined with its balance).
    fn advance_leaks(&mut self, t_days: f64, step: u32) {
        if self.leaks.cohorts.is_empty() {
            return;
        }
        let m = self.model;
        let to = epoch_of(t_days.min(m.horizon_days));
        let churn = m.withdrawals.as_ref().map(|_| 0).unwrap_or_else(|| {
            lrtsim_scenario::beacon::ChurnRule::default()
                .exit_churn_gwei_per_epoch(m.beacon.total_gwei)
        });
        for c in 0..self.leaks.cohorts.len() {
            let Cohort {
                op,
                validators,
                source,
                ..
            } = self.leaks.cohorts[c];
            let scale = self.ledger.scale();
            let n = validators * scale;
            let red = &mut self.redemption;
            let free = &mut self.leak_queue_free_epoch;
            let mut queue = |epoch: u64, gwei: u64| -> u64 {
                let total = n * gwei as f64;
                match red.as_mut() {
                    Some(r) => {
                        let ahead_days =
                            r.join_network_queue(epoch as f64 / EPOCHS_PER_DAY, total / GWEI);
                        (ahead_days * EPOCHS_PER_DAY) as u64
                    }
                    None => own_queue_epochs(free, epoch, total, churn),
                }
            };
            let table = m
                .beacon
                .leak_path(m.operators[op as usize].validator_balance_gwei);
            let (lost, ejected) = self.leaks.advance_cohort(c, to, table, &mut queue);
            if lost > 0 && n > 0.0 {
                let pre = self.trace.is_some().then(|| self.trace_pre());
                let loss = self.beacon_hit(op, n, lost, source);
                self.losses.inactivity_leak += loss;
                self.absorb_slashing(loss);
                if let Some(pre) = pre {
                    self.trace_accrual(step, t_days, c, lost, pre);
                }
            }
            if ejected.is_some() {
                let active = self.ledger.active_validators(op);
                if active > 0.0 {
                    self.ledger.retire_validators(op, (n / active).min(1.0));
                }
            }
        }
    }

    /// The correlation penalty of a double-signing record, 4096 epochs after it: S is the
    /// effective balance slashed in the 8192 epochs up to now (every record applied so far
    /// within the window, pool and network, plus the background).
    fn correlation_penalty(&mut self, record: u32, time_days: f64) {
        let m = self.model;
        let window_days = EPOCHS_PER_SLASHINGS_VECTOR as f64 / EPOCHS_PER_DAY;
        let in_window = self.slashings_window.slashed_gwei(time_days, window_days);
        let slashings_gwei = m.beacon.background_gwei.saturating_add(in_window);
        let r = self.double_signs[record as usize];
        for k in r.first..r.end {
            let Slashed { op, validators, .. } = self.slashed[k as usize];
            let eb = m.operators[op as usize].validator_balance_gwei;
            let fork = m.beacon.fork;
            // A validator cannot lose more than it holds after the initial penalty.
            let penalty = fork
                .correlation_penalty_gwei(eb, slashings_gwei, m.beacon.total_gwei)
                .min(eb - fork.initial_penalty_gwei(eb));
            self.slashed[k as usize].lost_gwei_each += penalty;
            let loss = self.beacon_hit(op, validators, penalty, r.source);
            self.losses.beacon_correlation += loss;
            if let Some(tr) = self.trace.as_deref_mut() {
                tr.facts.hit_operator(op, validators, loss, true);
            }
        }
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.facts
                .values
                .extend([slashings_gwei as f64 / GWEI_PER_ETH as f64, r.time_days]);
        }
    }

    /// `validators` of operator `op` each lose `gwei_each` of beacon-chain balance; books the
    /// pool's loss (see [`Ledger::beacon_loss`]) under `source` and returns it.
    fn beacon_hit(&mut self, op: u32, validators: f64, gwei_each: u64, source: u32) -> f64 {
        let loss = self
            .ledger
            .beacon_loss(op, validators * gwei_each as f64 / GWEI_PER_ETH as f64);
        self.slashed_eth += loss;
        self.slashed_by_source[source as usize] += loss;
        if self.record_operator_loss(op, loss)
            && let Some(b) = self.beacon_by_operator.get_mut(op as usize)
        {
            *b += loss;
        }
        loss
    }

    /// When recording ([`PathKernel::record_operators`], sector scenarios), adds `loss` to
    /// operator `op`'s; returns whether it recorded.
    #[inline]
    fn record_operator_loss(&mut self, op: u32, loss: f64) -> bool {
        let Some(ops) = self.slashed_by_operator.as_mut() else {
            return false;
        };
        add_operator_loss(
            ops,
            &mut self.operator_seen,
            &mut self.touched_operators,
            op,
            loss,
        );
        true
    }

    /// An AVS slashes `severity` of pair `pair`'s current allocation (see [`Ledger`]); the
    /// loss is attributed to the pair's AVS and to `source`.
    #[inline]
    fn slash(&mut self, pair: u32, severity: f64, source: u32) {
        let loss = self.ledger.slash_allocation(pair, severity);
        if loss > 0.0 {
            self.slashed_eth += loss;
            self.losses.avs += loss;
            self.slashed_by_avs[self.model.pairs[pair as usize].avs as usize] += loss;
            self.slashed_by_source[source as usize] += loss;
            let op = self.model.pairs[pair as usize].operator;
            if self.record_operator_loss(op, loss)
                && let Some(x) = self.slashed_by_pair.get_mut(pair as usize)
            {
                if *x == 0.0 {
                    self.touched_pairs.push(pair);
                }
                *x += loss;
            }
        }
    }

    /// With leaking validators, on the event-driven path: accrues the rewards of steps
    /// `from..to` one at a time, booking the leak losses accrued by each step's end, and
    /// writes each step's trace row (when tracing) once it is complete.
    fn accrue_steps(&mut self, from: u32, to: u32, traced: &mut u32) {
        for k in from..to {
            self.accrue(1);
            self.advance_leaks(f64::from(k + 1) * self.model.step_days, k);
            if self.trace.is_some() && *traced == k {
                self.trace_step(k, 0);
                *traced = k + 1;
            }
        }
    }

    /// Accrues `steps` steps of rewards at the current rates (simple accrual into the pool's
    /// liquid balance: rewards are not restaked within the horizon).
    fn accrue(&mut self, steps: u32) {
        if steps == 0 {
            return;
        }
        self.accrue_days(f64::from(steps) * self.model.step_days);
    }

    /// Rewards over `days` at the current rates (see [`Self::accrue`]).
    fn accrue_days(&mut self, days: f64) {
        if self.reserves.is_none()
            && self.ledger.gross_rate_eth_per_year == 0.0
            && self.ledger.net_rate_eth_per_year == 0.0
        {
            // Nothing accrues (adding 0 · years would leave both sums as they are).
            return;
        }
        let years = days / DAYS_PER_YEAR;
        if !self.operator_reward_deficit.is_empty() {
            // Sector scenarios: what each slashed operator's lower rate costs over these days
            // (the touched operators are distinct: each is added once, at its first loss).
            self.accrued_years += years;
            for &o in &self.touched_operators {
                let o = o as usize;
                self.operator_reward_deficit[o] += (self.operator_rate0[o]
                    - self.ledger.operator_net_rate_eth_per_year(o as u32))
                    * years;
            }
        }
        self.gross_rewards_eth += self.ledger.gross_rate_eth_per_year * years;
        let net = self.ledger.net_rate_eth_per_year * years;
        self.net_rewards_eth += net;
        if let Some(res) = self.reserves.as_mut() {
            self.last_diverted_eth = res.divert(net);
            if self.redemption.is_none() {
                self.side_eth -= self.last_diverted_eth;
            }
        }
    }

    fn write_row(&mut self, row: &mut [f64]) {
        let m = self.model;
        let c = m.collateral_eth;
        if let Some(start) = self.layout.lrt_start() {
            // Every staker delegated to an operator bears its slashing pro rata (EigenLayer's
            // shares: the operator's magnitudes and beacon factor scale every delegator's
            // withdrawable amount alike), so each LRT loses its share of each operator's loss;
            // summed by operator index, so the same losses give the same bits.
            self.lrt_slashed_eth.fill(0.0);
            self.touched_operators.sort_unstable();
            self.touched_operators.dedup();
            let ops = self
                .slashed_by_operator
                .as_deref()
                .expect("sector scenarios record operators' losses");
            // Rewards likewise: each LRT's share of the operators' t = 0 rates, less its share
            // of what the slashed operators' lower rates cost. Used as the rewards of the
            // loop below, reset there.
            let n = m.lrts.len();
            let rewards = &mut row[start + 1 + 3 * n..start + 1 + 4 * n];
            for (l, r) in rewards.iter_mut().enumerate() {
                *r = self.lrt_rate0[l] * self.accrued_years;
            }
            if let Some(d) = self.delegations.as_ref() {
                // Stake moved: each LRT's fractions changed over the path.
                let totals = operator_totals!(self);
                let cumulative = |o: usize| totals.at(o);
                for (l, r) in rewards.iter_mut().enumerate() {
                    let (loss, earned) = d.lrt_totals(l as u32, cumulative);
                    self.lrt_slashed_eth[l] = loss;
                    *r = earned;
                }
            } else {
                for &o in &self.touched_operators {
                    let loss = ops[o as usize];
                    let deficit = self.operator_reward_deficit[o as usize];
                    for &(l, share) in &m.operators[o as usize].lrt_shares {
                        self.lrt_slashed_eth[l as usize] += share * loss;
                        rewards[l as usize] -= share * deficit;
                    }
                }
            }
            row[start] = self.lrt_slashed_eth.iter().sum();
            let thresholds = m.joint_loss_thresholds_bps.len();
            let holders = start + 1 + 4 * n + thresholds * (1 + n);
            let mut holders_loss = 0.0;
            for (k, lrt) in m.lrts.iter().enumerate() {
                let slashed = self.lrt_slashed_eth[k];
                let rewards = row[start + 1 + 3 * n + k];
                let c = lrt.collateral_eth;
                row[start + 1 + k] = slashed;
                row[start + 1 + n + k] = slashed / c;
                // NAV loss per token: (slashing − rewards + thefts net of restitutions) ÷
                // collateral, the supply diluted by unbacked mints.
                let minted = self.lrt_minted[k];
                let stolen = self.lrt_stolen_eth[k] - self.lrt_restituted_eth[k];
                let door = self.door_of(k as u32);
                let nav_loss = if let Some(j) = door {
                    // With a front door: its NAV per token still outstanding (1 at t = 0).
                    1.0 - self.doors[j].nav(self.door_book_eth(j))
                } else if minted == 0.0 {
                    (slashed - rewards + stolen) / c
                } else {
                    1.0 - (c - slashed + rewards - stolen) / (c + minted)
                };
                row[start + 1 + 2 * n + k] = nav_loss;
                holders_loss += lrt.supply0_lrt() * nav_loss;
                if !m.exploits.is_empty() {
                    row[holders + 1 + k] = self.lrt_stolen_eth[k] + self.lrt_dilution_eth[k];
                    row[holders + 1 + n + k] = minted / c;
                }
            }
            row[holders] = holders_loss;
            // 1 when every LRT's slashed fraction exceeds the threshold; then, per threshold,
            // 1 for each LRT whose own fraction does.
            let (head, tail) = row.split_at_mut(start + 1 + 4 * n);
            let fractions = &head[start + 1 + n..start + 1 + 2 * n];
            let thresholds = &m.joint_loss_thresholds_bps;
            let (joint, each) = tail.split_at_mut(thresholds.len());
            for (k, (out, &b)) in joint.iter_mut().zip(thresholds).enumerate() {
                let x = f64::from(b) / 10_000.0;
                *out = f64::from(u8::from(fractions.iter().all(|&f| f > x)));
                for (o, &f) in each[k * n..(k + 1) * n].iter_mut().zip(fractions) {
                    *o = f64::from(u8::from(f > x));
                }
            }
        }
        row[Layout::SLASHED_ETH] = self.slashed_eth;
        row[Layout::SLASHED_FRACTION] = self.slashed_eth / c;
        // With withdrawals: the NAV per LRT still outstanding (1 at t = 0); without, the
        // supply is fixed and the NAV return is the pool's.
        row[Layout::NAV_RETURN] = match &self.redemption {
            Some(r) => r.nav(self.ledger.book_eth()) - 1.0,
            None if self.minted_lrt > 0.0 => self.nav() - 1.0,
            None => (self.net_rewards_eth - self.slashed_eth - self.stolen_eth + self.side_eth) / c,
        };
        row[Layout::REWARDS_ETH] = self.net_rewards_eth;
        row[Layout::FEES_ETH] = self.gross_rewards_eth - self.net_rewards_eth;
        row[Layout::AVS_SLASHED_ETH] = self.losses.avs;
        row[Layout::BEACON_INITIAL_ETH] = self.losses.beacon_initial;
        row[Layout::BEACON_CORRELATION_ETH] = self.losses.beacon_correlation;
        row[Layout::INACTIVITY_LEAK_ETH] = self.losses.inactivity_leak;
        if let Some(w) = self.layout.waterfall_start() {
            let res = self.reserves.as_ref();
            let values = [
                self.stolen_eth + self.dilution_eth,
                self.stolen_eth,
                self.minted_lrt / self.supply0_lrt(),
                self.restituted_eth,
                res.map_or(0.0, Reserves::paid_eth),
                res.map_or(0.0, Reserves::total_eth),
                res.map_or(0.0, Reserves::exhausted),
            ];
            row[w..w + values.len()].copy_from_slice(&values);
        }
        let (avs, src) = (self.layout.avs_start(), self.layout.source_start());
        row[avs..avs + self.slashed_by_avs.len()].copy_from_slice(&self.slashed_by_avs);
        row[src..src + self.slashed_by_source.len()].copy_from_slice(&self.slashed_by_source);
    }

    /// The lending market's book after the last path (None without `[lending]`).
    pub fn lending(&self) -> Option<&LendingBook> {
        self.lending.as_ref()
    }

    /// The path's books, summed from the state itself (for conservation checks).
    pub fn book(&self) -> Book {
        let (withdrawable_eth, allocated_eth) = self.ledger.totals();
        let r = self.redemption.as_ref();
        Book {
            withdrawable_eth,
            allocated_eth,
            slashed_eth: self.slashed_eth,
            gross_rewards_eth: self.gross_rewards_eth,
            net_rewards_eth: self.net_rewards_eth,
            liquid_eth: r.map_or(0.0, Redemption::liquid_eth),
            transit_eth: r.map_or(0.0, Redemption::transit_eth),
            redeemed_eth: r.map_or(0.0, Redemption::redeemed_eth),
            exit_fees_eth: r.map_or(0.0, Redemption::exit_fees_eth),
            initial_assets_eth: r.map_or(self.model.collateral_eth, Redemption::initial_assets_eth),
            side_eth: self.side_eth,
            stolen_eth: self.stolen_eth,
            restituted_eth: self.restituted_eth,
            reserve_eth: self.reserves.as_ref().map_or(0.0, Reserves::total_eth),
            reserve_initial_eth: self.reserves.as_ref().map_or(0.0, Reserves::initial_eth),
        }
    }
}

/// The state before an event that its trace record needs.
#[derive(Debug, Clone, Copy)]
struct TracePre {
    slashed_eth: f64,
    net_losses_eth: f64,
    exploit_loss_eth: f64,
    reserve_paid_eth: f64,
}

/// Tracing: a recorder attached to the kernel receives every event applied and one row per
/// step. The hooks only read the state, so a path's row is the same, bit for bit, with or
/// without a recorder.
impl<'m> PathKernel<'m> {
    /// Records the trace of every path run from now on (each [`PathKernel::run_path`] starts
    /// a new one): every event applied and one row per step. Costs time and memory; meant for
    /// replaying single paths ([`crate::replay`]).
    pub fn attach_trace(&mut self) {
        self.attach_recorder(TraceRecorder::new());
    }

    /// Attaches `recorder` (e.g. one that streams its step rows,
    /// [`TraceRecorder::streaming`]) in place of any other.
    pub fn attach_recorder(&mut self, recorder: TraceRecorder) {
        self.trace = Some(Box::new(recorder));
    }

    /// Stops recording; returns the recorder with the last path's trace (None if none was
    /// attached).
    pub fn detach_trace(&mut self) -> Option<Box<TraceRecorder>> {
        self.trace.take()
    }

    /// The last path's trace, if a recorder is attached.
    pub fn trace(&self) -> Option<&TraceRecorder> {
        self.trace.as_deref()
    }

    fn trace_pre(&mut self) -> TracePre {
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.facts.clear();
        }
        TracePre {
            slashed_eth: self.slashed_eth,
            net_losses_eth: self.net_losses_eth(),
            exploit_loss_eth: self.stolen_eth + self.dilution_eth,
            reserve_paid_eth: self.reserves.as_ref().map_or(0.0, Reserves::paid_eth),
        }
    }

    /// Records the leak penalties of cohort `c` just booked up to `t_days` (in step `step`):
    /// `lost_gwei` per validator.
    fn trace_accrual(&mut self, step: u32, t_days: f64, c: usize, lost_gwei: u64, pre: TracePre) {
        let m = self.model;
        let nav = self.nav();
        let slashed = self.slashed_eth - pre.slashed_eth;
        let paid = self.reserves.as_ref().map_or(0.0, Reserves::paid_eth) - pre.reserve_paid_eth;
        let net_losses = self.net_losses_eth() - pre.net_losses_eth;
        let co = self.leaks.cohorts[c];
        let n = co.validators * self.ledger.scale();
        let Some(tr) = self.trace.as_deref_mut() else {
            return;
        };
        let status = match co.state.exit_epoch {
            Some(e) => format!("; ejected, exit epoch {e}"),
            None => String::new(),
        };
        tr.push_accrual(TraceEvent {
            step,
            day: t_days.min(m.horizon_days),
            kind: EventKind::LeakAccrual,
            name: m.sources[co.source as usize].clone(),
            detail: format!(
                "{} validators of {} lost {} ETH each to epoch {} (balance {} ETH, score {}{status})",
                crate::trace::num(n),
                m.operators[co.op as usize].name,
                crate::trace::num(lost_gwei as f64 / GWEI),
                co.state.epoch,
                crate::trace::num(co.state.balance_gwei as f64 / GWEI),
                co.state.score
            ),
            slashed_eth: slashed,
            exploit_loss_eth: 0.0,
            reserve_paid_eth: paid,
            net_loss_eth: net_losses,
            nav_per_lrt: nav,
        });
    }

    /// Records event `ev`, just applied (with what the reserves paid for it).
    fn trace_event(&mut self, ev: Event, pre: TracePre) {
        let m = self.model;
        let nav = self.nav();
        let slashed = self.slashed_eth - pre.slashed_eth;
        let exploit_loss = self.stolen_eth + self.dilution_eth - pre.exploit_loss_eth;
        let paid = self.reserves.as_ref().map_or(0.0, Reserves::paid_eth) - pre.reserve_paid_eth;
        let net_losses = self.net_losses_eth() - pre.net_losses_eth;
        let t1 = f64::from(ev.step + 1) * m.step_days;
        let Some(tr) = self.trace.as_deref_mut() else {
            return;
        };
        let restituted_to_pool = match ev.kind {
            Kind::Restitution { .. } => tr.facts.values.get(1).copied().unwrap_or(0.0),
            _ => 0.0,
        };
        let record = TraceEvent {
            step: ev.step,
            day: ev.time_days.min(t1),
            kind: EventKind::Shock,
            name: String::new(),
            detail: String::new(),
            slashed_eth: slashed,
            exploit_loss_eth: exploit_loss,
            reserve_paid_eth: paid,
            net_loss_eth: net_losses - restituted_to_pool,
            nav_per_lrt: nav,
        };
        tr.push_event(
            m,
            ev.kind,
            &self.double_signs,
            &self.exploit_records,
            record,
        );
    }

    /// Trace rows of the steps from `*traced` up to (not including) `step`, on the
    /// event-driven path: rewards are accrued up to the start of step `accrued_to_step`, and
    /// each row adds those of its steps since then as [`PathKernel::accrue`] would.
    fn trace_steps_before(&mut self, step: u32, accrued_to_step: u32, traced: &mut u32) {
        while *traced < step {
            self.trace_step(*traced, *traced + 1 - accrued_to_step);
            *traced += 1;
        }
    }

    /// The trace row of step `k`, at its end; `pending_steps` steps of rewards are not yet
    /// accrued (event-driven path only; 0 on the step-by-step path and once accrued).
    fn trace_step(&mut self, k: u32, pending_steps: u32) {
        let m = self.model;
        let t1 = f64::from(k + 1) * m.step_days;
        let reserves_now = self.reserves.as_ref().map_or(0.0, Reserves::total_eth);
        let (rewards, nav, reserves_eth) = if pending_steps == 0 {
            (self.net_rewards_eth, self.nav(), reserves_now)
        } else {
            // As `accrue(pending_steps)` would, without changing the state.
            let years = f64::from(pending_steps) * m.step_days / DAYS_PER_YEAR;
            let net = self.ledger.net_rate_eth_per_year * years;
            let diverted = self.reserves.as_ref().map_or(0.0, |r| r.would_divert(net));
            let assets = m.collateral_eth + (self.net_rewards_eth + net)
                - self.slashed_eth
                - self.stolen_eth
                + (self.side_eth - diverted);
            (
                self.net_rewards_eth + net,
                assets / self.supply_lrt(),
                reserves_now + diverted,
            )
        };
        let redemption = self.redemption.as_ref().map(|r| {
            let queue_lrt = r.queued_lrt();
            StepRedemption {
                supply_lrt: r.supply_lrt(),
                demand_share_per_day: r.hazard_per_day(k as usize),
                queue_lrt,
                queue_eth: queue_lrt * nav,
                liquid_eth: r.liquid_eth(),
                transit_eth: r.transit_eth(),
                redeemed_eth: r.redeemed_eth(),
                network_queue_eth: r.network_queue_eth_at(t1),
                posted_wait_days: r.posted_wait_days(),
            }
        });
        let market = self.market.as_ref().map(|mk| StepMarket {
            price_eth: mk.price_eth(),
            discount: mk.discount(),
            max_discount: mk.max_discount_so_far(),
            pool_lrt: mk.pool_lrt(),
        });
        let lending = self.lending.as_ref().map(|b| StepLending {
            debt_eth: b.total_debt_eth(),
            collateral_lrt: b.total_collateral_lrt(),
            liquidated_lrt: b.liquidated_lrt(),
            bad_debt_eth: b.bad_debt_eth(),
        });
        let waterfall = self.layout.waterfall_start().map(|_| StepWaterfall {
            stolen_eth: self.stolen_eth,
            minted_lrt: self.minted_lrt,
            reserve_paid_eth: self.reserves.as_ref().map_or(0.0, Reserves::paid_eth),
            reserves_eth,
        });
        let row = TraceStep {
            step: k,
            day: t1,
            events: 0,
            slashed_eth: 0.0,
            slashed_eth_cum: self.slashed_eth,
            rewards_eth_cum: rewards,
            nav_per_lrt: nav,
            redemption,
            market,
            lending,
            waterfall,
        };
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.push_step(row);
        }
    }
}

/// Rush `r` of the model (rush events exist only with `[withdrawals]`, or a sector's
/// `[sector.exit_queue]`).
pub(crate) fn rush_model(m: &Model, r: u32) -> &lrtsim_scenario::withdrawal::RushModel {
    // The pool's front door, or in a sector every door's (they share the exit queue's).
    let w = m.withdrawals.as_ref();
    let w = w.or_else(|| m.lrts.iter().find_map(|l| l.withdrawals.as_ref()));
    &w.expect("rushes need withdrawals").rushes[r as usize]
}

/// Depeg shock `s` of the model (depeg events exist only with `[market]`).
pub(crate) fn depeg_model(m: &Model, s: u32) -> &lrtsim_scenario::market::DepegShockModel {
    &m.market
        .as_ref()
        .expect("depeg shocks need a market")
        .shocks[s as usize]
}

/// Depeg shock `s` of sector LRT `l`'s market.
pub(crate) fn lrt_depeg_model(
    m: &Model,
    l: u32,
    s: u32,
) -> &lrtsim_scenario::market::DepegShockModel {
    &m.lrts[l as usize]
        .market
        .as_ref()
        .expect("an LRT's depeg shocks need its market")
        .shocks[s as usize]
}

/// Runs `f` with door `j` (if any) holding the shared exit queue (if any).
fn with_door<'m, T>(
    doors: &mut [Redemption<'m>],
    queue: &mut Option<ExitQueue>,
    j: Option<usize>,
    f: impl FnOnce(Option<&mut Redemption<'m>>) -> T,
) -> T {
    let Some(j) = j else { return f(None) };
    let r = &mut doors[j];
    let Some(q) = queue.as_mut() else {
        return f(Some(r));
    };
    r.swap_queue(q);
    let out = f(Some(&mut *r));
    r.swap_queue(q);
    out
}

/// `[sector.lending.run]`'s watch on the reserve: its utilization as last read, when it last
/// set off a run, and the runs of the current advance.
#[derive(Debug, Default)]
struct RunWatch {
    u_last: f64,
    last_run_days: f64,
    runs: Vec<f64>,
}

impl RunWatch {
    /// A path's start, with the reserve at `u0`.
    fn reset(&mut self, u0: f64) {
        self.u_last = u0;
        self.last_run_days = f64::NEG_INFINITY;
    }

    /// The reserve read at `t` is at `u`: whether it set off a run there — it reached the
    /// threshold from below since the last read, at least `rearm_days` after the last run
    /// (noted in `runs`).
    fn read(&mut self, run: &lrtsim_scenario::model::ReserveRun, u: f64, t: f64) -> bool {
        let fired = self.u_last < run.at_utilization
            && u >= run.at_utilization
            && t - self.last_run_days >= run.rearm_days;
        if fired {
            self.last_run_days = t;
            self.runs.push(t);
        }
        self.u_last = u;
        fired
    }
}

/// `[sector.lending.run]`: the reserve reached its threshold at `t`; the door of each LRT
/// with a market (at `t` with it) pulses with that LRT's loading.
fn pulse_market_doors(
    doors: &mut [Redemption<'_>],
    market_doors: &[Option<usize>],
    loadings: &[f64],
    layout: &Layout,
    t: f64,
) {
    for (i, j) in market_doors.iter().enumerate() {
        let loading = loadings[layout.markets()[i] as usize];
        if let Some(j) = *j
            && loading > 0.0
        {
            doors[j].pulse_scaled(t, loading);
        }
    }
}

/// Number of events of a source over the horizon: one if it is scheduled, else a Poisson draw
/// (none without a rate).
fn event_count<R: Rng + ?Sized>(
    rng: &mut R,
    at_days: Option<f64>,
    events: &Option<rand_distr::Poisson<f64>>,
) -> u64 {
    match (at_days, events) {
        (Some(_), _) => 1,
        (None, Some(events)) => events.sample(rng) as u64,
        (None, None) => 0,
    }
}

/// Number of events of a source whose expected count this path is `mean` (an uncertain
/// rate): one if it is scheduled, else a Poisson draw (none for a mean of 0). A mean beyond
/// 1e15 — far past what validation lets a source expect, reached with negligible
/// probability — is drawn at 1e15, within the Poisson sampler's range.
/// The day of a decision: `at_days`, else the first event of a Poisson process of
/// `rate_per_year` (one uniform drawn).
fn decision_day<R: Rng + ?Sized>(rng: &mut R, at_days: Option<f64>, rate_per_year: f64) -> f64 {
    match at_days {
        Some(t) => t,
        None => {
            let u: f64 = rng.random();
            -(1.0 - u).ln() / rate_per_year * DAYS_PER_YEAR
        }
    }
}

fn poisson_count<R: Rng + ?Sized>(rng: &mut R, at_days: Option<f64>, mean: f64) -> u64 {
    match at_days {
        Some(_) => 1,
        None if mean > 0.0 => rand_distr::Poisson::new(mean.min(1e15))
            .expect("positive finite mean")
            .sample(rng) as u64,
        None => 0,
    }
}

/// Time of one event: the scheduled day, or uniform over the horizon.
fn event_time<R: Rng + ?Sized>(rng: &mut R, at_days: Option<f64>, horizon_days: f64) -> f64 {
    at_days.unwrap_or_else(|| rng.random::<f64>() * horizon_days)
}

/// Adds an event at `t` (in its step) with the next draw-order number.
fn push_event(events: &mut Vec<Event>, seq: &mut u32, m: &Model, t: f64, kind: Kind) {
    events.push(Event {
        step: ((t / m.step_days) as u32).min(m.n_steps - 1),
        time_days: t,
        seq: *seq,
        kind,
    });
    *seq += 1;
}

/// The most factor periods of a copula whose steps [`PathKernel`] tabulates (4 bytes each).
const MAX_PERIOD_STEPS: usize = 1 << 16;

/// The step of an event that closes an interval ending at `t` (a copula fault at the end of
/// its factor period): the step (s·Δ, (s + 1)·Δ] containing t, so a time on a step boundary
/// (within 1e-9 relative, the tolerance of `step_days` dividing the horizon) belongs to the
/// step that ends there. Elsewhere the same step as [`push_event`]'s.
fn step_ending_at(m: &Model, t: f64) -> u32 {
    let x = t / m.step_days;
    // x ≥ 0 and far below 2⁵³: `floor` and `round` by truncating casts, the same values
    // without a libm call per event (the baseline x86-64 target has no rounding instruction).
    let floor = (x as u64) as f64;
    let boundary = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    let step = if (x - boundary).abs() <= 1e-9 * boundary.max(1.0) {
        boundary - 1.0
    } else {
        floor
    };
    (step.max(0.0) as u32).min(m.n_steps - 1)
}

/// Totals of the current path, recomputed from per-pair and per-operator state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Book {
    /// The pool's withdrawable ETH from all operators.
    pub withdrawable_eth: f64,
    /// Allocations summed, ETH.
    pub allocated_eth: f64,
    /// ETH slashed on the path.
    pub slashed_eth: f64,
    /// Gross rewards accrued, ETH.
    pub gross_rewards_eth: f64,
    /// Rewards that reached the pool, ETH.
    pub net_rewards_eth: f64,
    /// Liquid ETH outside the restaked book (buffer, deliveries not yet paid out).
    pub liquid_eth: f64,
    /// ETH out of the book on its way to the pool (exiting validators, the sweep).
    pub transit_eth: f64,
    /// ETH paid to redeeming holders.
    pub redeemed_eth: f64,
    /// Instant-exit fees paid, ETH.
    pub exit_fees_eth: f64,
    /// The pool's assets at t = 0: the restaked book plus the buffer.
    pub initial_assets_eth: f64,
    /// Without withdrawals: reserve payments and restitutions into the pool less rewards
    /// diverted to the reserves, ETH (with withdrawals they are in `liquid_eth`).
    pub side_eth: f64,
    /// ETH stolen by exploits.
    pub stolen_eth: f64,
    /// ETH restituted after thefts (to the reserves or the pool).
    pub restituted_eth: f64,
    /// ETH the reserves hold now, and held at t = 0.
    pub reserve_eth: f64,
    /// See `reserve_eth`.
    pub reserve_initial_eth: f64,
}

impl Book {
    /// With a front door: (where the ETH is, what came in) — the book, the liquid and
    /// in-transit ETH, what redeemers and fees took, what slashing and thieves took and what
    /// the reserves hold, against the t = 0 assets, the rewards, the reserves at t = 0 and the
    /// restitutions. The two are equal on every path (the front door's conservation law).
    pub fn front_door_balance_eth(&self) -> (f64, f64) {
        let held = self.withdrawable_eth
            + self.liquid_eth
            + self.transit_eth
            + self.redeemed_eth
            + self.exit_fees_eth
            + self.slashed_eth
            + self.stolen_eth
            + self.reserve_eth;
        let came_in = self.initial_assets_eth
            + self.net_rewards_eth
            + self.reserve_initial_eth
            + self.restituted_eth;
        (held, came_in)
    }
}

/// Every operator's cumulative (losses, net rewards) on the path so far, ETH, from the
/// kernel's sector accounting (see [`operator_totals!`]).
struct OperatorTotals<'a> {
    losses: Option<&'a [f64]>,
    rate0: &'a [f64],
    deficit: &'a [f64],
    years: f64,
}

impl OperatorTotals<'_> {
    /// Operator `o`'s: (0, 0) outside sector scenarios (the pool holds every operator
    /// alone: nothing to attribute).
    fn at(&self, o: usize) -> (f64, f64) {
        match self.losses {
            Some(ops) if !self.rate0.is_empty() => {
                (ops[o], self.rate0[o] * self.years - self.deficit[o])
            }
            _ => (0.0, 0.0),
        }
    }
}

/// Adds `loss` (≥ 0) to operator `op`'s slashed ETH, noting the operator in `touched` when
/// its entry first becomes positive.
#[inline]
fn add_operator_loss(
    ops: &mut [f64],
    seen: &mut [bool],
    touched: &mut Vec<u32>,
    op: u32,
    loss: f64,
) {
    if loss != 0.0 {
        touch_operator(seen, touched, op);
    }
    ops[op as usize] += loss;
}

/// Adds operator `op` to `touched` unless `seen` says it is there.
fn touch_operator(seen: &mut [bool], touched: &mut Vec<u32>, op: u32) {
    if !seen[op as usize] {
        seen[op as usize] = true;
        touched.push(op);
    }
}

/// The lending book of collateral `l` for an LRT with `supply0_lrt` outstanding at t = 0 and
/// the market `market` (its pool's t = 0 price for a market oracle).
fn lending_book(
    l: &lrtsim_scenario::exploit::LendingModel,
    supply0_lrt: f64,
    market: Option<&lrtsim_scenario::market::MarketModel>,
) -> LendingBook {
    let posted = l.collateral_share * supply0_lrt;
    let buckets: Vec<(f64, f64)> = l
        .positions
        .iter()
        .map(|&(share, hf)| (share * posted, hf))
        .collect();
    let params = LendingParams {
        ltv: l.ltv,
        liquidation_threshold: l.liquidation_threshold,
        liquidation_bonus: l.liquidation_bonus,
        close_factor: l.close_factor,
        full_close_below_hf: l.full_close_below_hf,
        protocol_fee: l.liquidation_protocol_fee,
        version: l.version,
        max_calls: crate::lending::MAX_CASCADE_CALLS,
    };
    // Every oracle reads 1 ETH per LRT at t = 0 but a market one on a pool that starts off
    // peg.
    let price0 = match (l.oracle, market) {
        (lrtsim_scenario::spec::OracleKind::ExchangeRate, _) | (_, None) => 1.0,
        (_, Some(mk)) => Market::new(mk, supply0_lrt, None).price_eth(),
    };
    LendingBook::new(params, &buckets, price0, l.looper_leverage)
}

/// The other collaterals' debt and interest paid in a sector's reserve, ETH, as market `i`'s
/// lenders see it (summed in market order).
fn reserve_others(books: &[Option<LendingBook>], i: usize) -> (f64, f64) {
    let (mut debt, mut interest) = (0.0, 0.0);
    for (k, b) in books.iter().enumerate() {
        if let Some(b) = b.as_ref().filter(|_| k != i) {
            debt += b.total_debt_eth();
            interest += b.interest_eth();
        }
    }
    (debt, interest)
}

/// A sector reserve's utilization at `t` (1 when the ETH supplied does not exceed the debt)
/// and its gap, debt − supply (> 0: ETH its lenders asked for and could not withdraw), read
/// from market `mk` (every market with a collateral carries the lenders' withdrawals) and
/// every collateral's book.
fn reserve_state(mk: &Market, books: &[Option<LendingBook>], t: f64) -> (f64, f64) {
    let (debt, interest) = reserve_others(books, usize::MAX);
    let supply = mk.lenders_supply_eth(t) + interest;
    let u = crate::market::utilization(debt, supply);
    // At 100 % within rounding: a gap of 0.
    (
        u,
        if u < 1.0 {
            debt - supply
        } else {
            (debt - supply).max(0.0)
        },
    )
}

/// Of a sub-step of `h` days, the time the reserve spent at 100 % utilization (gap = debt −
/// supply ≥ 0: no ETH left), from its gap at the start: the gap rises only at events (a
/// borrowing, a withdrawal: a sub-step's start), and a sub-step at 100 % ends where it falls
/// (the lenders' ETH returning, or a liquidation as interest takes a health factor to 1,
/// `Market::substep_end`). A liquidation at a sub-step's start (after a fall of the NAV or
/// the price) is counted at its end: an error of at most that sub-step.
fn days_at_full(h: f64, gap0: f64) -> f64 {
    if gap0 >= 0.0 { h } else { 0.0 }
}

/// The lending columns ([`Layout::LENDING`]) of collateral `l` at the horizon: its book, its
/// market, its LRT's NAV and supply at t = 0. Bad debt is what was written off plus what open
/// positions' collateral no longer covers, marked as the lender marks it (the NAV for an
/// exchange-rate oracle, else the market price).
fn lending_values(
    l: &lrtsim_scenario::exploit::LendingModel,
    book: &LendingBook,
    mk: &Market,
    nav: f64,
    supply0_lrt: f64,
) -> [f64; 7] {
    let price = mk.price_eth();
    let mark = match l.oracle {
        lrtsim_scenario::spec::OracleKind::ExchangeRate => nav,
        _ => price,
    };
    let underwater: f64 = book
        .collateral_lrt()
        .iter()
        .zip(book.debt_eth())
        .map(|(c, d)| (d - c * mark).max(0.0))
        .sum();
    let bad = book.bad_debt_eth() + underwater;
    let lent = book.lent_eth();
    [
        book.liquidated_lrt() / supply0_lrt,
        f64::from(book.max_depth()),
        bad,
        if lent > 0.0 { bad / lent } else { 0.0 },
        // An underwater looper walks away: at most the whole equity is lost.
        (1.0 - book.looper_equity(price)).min(1.0),
        mk.peak_borrow_rate(),
        book.unwound_lrt() / supply0_lrt,
    ]
}

#[cfg(test)]
mod tests {
    use super::SlashingsWindow;
    use rand::{RngExt, SeedableRng};

    /// The running window sum is the floor of the exact sum of the records in
    /// (now − window, now], whatever the records' sizes.
    #[test]
    fn slashings_window_is_the_exact_sum_of_the_window() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(17);
        let window = 36.4;
        let mut w = SlashingsWindow::default();
        let mut records: Vec<(f64, f64)> = Vec::new();
        let mut t = 0.0;
        for _ in 0..5_000 {
            t += rng.random::<f64>() * 2.0;
            // Whole Gwei of whole validators, fractions of validators, network shares.
            let gwei = match rng.random_range(0..3) {
                0 => 32e9 * f64::from(rng.random_range(1..100u32)),
                1 => 32e9 * rng.random::<f64>() * 7.3,
                _ => (rng.random::<f64>() * 1e15).floor(),
            };
            w.push(t, gwei);
            records.push((t, gwei));
            if rng.random::<f64>() < 0.3 {
                let now = t + rng.random::<f64>() * 20.0;
                let exact: u128 = records
                    .iter()
                    .filter(|r| r.0 <= now && r.0 > now - window)
                    .map(|r| (r.1 * (1u64 << 40) as f64) as u128)
                    .sum();
                assert_eq!(w.slashed_gwei(now, window), (exact >> 40) as u64);
                records.retain(|r| r.0 > now - window);
                t = t.max(now);
            }
        }
        w.clear();
        assert_eq!(w.slashed_gwei(t, window), 0);
    }
}
