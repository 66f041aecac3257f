//! The front door: redemption demand, the instant buffer, the protocol's FIFO queue, the
//! EigenLayer escrow and the beacon chain's network-wide exit queue, in continuous time.
//!
//! Two kinds of motion, on one clock the kernel drives (docs/model.md §12):
//!
//! - **Flows**, integrated over sub-steps with [`Redemption::flow`] (by the market's
//!   sub-steps when there is a market, else by [`Redemption::advance`]): holders ask to redeem
//!   at a hazard rate (share of remaining holders per day) that reacts to the NAV drawdown,
//!   the posted wait, decaying run pulses and the market discount; some sell in the market
//!   instead; of the rest, those who try the instant path are paid from the buffer while its
//!   token bucket (refilled at a rate) and liquid ETH allow, and the others join the queue.
//!   A sub-step is short enough that at most `simulation.max_demand_per_substep` of the holders ask
//!   within it, and never crosses a processing time or the moment whose requests become
//!   eligible at one.
//! - **Processing**, at the protocol's own cadence (`queue.processing_interval_days`, a real
//!   time scale, not the reporting step), with [`Redemption::process`]: exits whose
//!   EigenLayer escrow is over leave the restaked book (slashed with it until then) and are
//!   delivered — per validator, at the later of the escrow's end and its beacon-chain arrival,
//!   spread uniformly between the first and the last validator's sweep; ETH that arrived is
//!   collected; eligible requests are paid first in, first out; and validators are exited for
//!   whatever the queue and the buffer target need beyond liquid ETH and ETH on its way: the
//!   pool joins the back of the network exit queue.
//!
//! Events (losses, rushes, pauses, mints, slashed validators forced out) act at their moment.
//! Everything is a fluid: amounts, not individual requests. The path keeps, per sub-step, the
//! cumulative LRT requested and queued, and per processing time the cumulative LRT paid, so
//! that at the end of the path the wait of any request can be read off the curves (FIFO: a
//! request is paid at the first processing time by which cumulative payments pass its place).
//! The LRT is counted in t = 0 ETH (NAV 1 at t = 0).

use lrtsim_scenario::withdrawal::WithdrawalModel;

use crate::exit_queue::ExitQueue;
use crate::ledger::Ledger;

/// The restaked stake a front door redeems from: the pool's book, or one LRT's part of its
/// operators in a sector.
pub trait Stake {
    /// The stake's withdrawable ETH now.
    fn book_eth(&self) -> f64;
    /// Withdraws `eth` of it pro rata (capped at what there is); returns the ETH withdrawn.
    fn withdraw_pro_rata(&mut self, eth: f64) -> f64;
}

impl Stake for Ledger<'_> {
    fn book_eth(&self) -> f64 {
        Ledger::book_eth(self)
    }
    fn withdraw_pro_rata(&mut self, eth: f64) -> f64 {
        Ledger::withdraw_pro_rata(self, eth)
    }
}

/// 2²⁶, 2²⁷ and 2⁵³: the stress holder's draw is split into two uniforms (see
/// [`Redemption::finish`]).
const TWO_26: f64 = (1u64 << 26) as f64;
const TWO_27: f64 = (1u64 << 27) as f64;
const TWO_53: f64 = (1u64 << 53) as f64;

/// A sub-step that ends where the queue outgrows a level is at least this long, days (about
/// 0.1 s): it then crosses the level.
const MIN_FLOW_SUBSTEP_DAYS: f64 = 1e-6;

/// Requests that asked within one sub-step and wait in the protocol queue.
#[derive(Debug, Clone, Copy)]
struct Cohort {
    /// When the last of them asked, days (eligible `cooldown_days` later).
    asked_days: f64,
    /// LRT still waiting.
    lrt: f64,
    /// NAV per LRT when they asked (a request is paid at the lower of it and the NAV then).
    nav_asked: f64,
    /// Arbitrageurs' requests (their capital comes back when paid).
    arb: bool,
}

/// ETH queued for withdrawal from EigenLayer while its validators exit.
#[derive(Debug, Clone, Copy)]
struct Exit {
    /// Share of the restaked book, in book units (see `units_total`).
    units: f64,
    /// End of the EigenLayer escrow, days.
    escrow_end_days: f64,
    /// First and last validator's arrival (withdrawable + sweep), days.
    first_days: f64,
    last_days: f64,
}

/// ETH on its way to the pool's liquid balance, with a known amount: each part arrives at
/// `max(first + u (last − first), not_before)` for u uniform in [0, 1].
#[derive(Debug, Clone, Copy)]
struct Delivery {
    eth: f64,
    first_days: f64,
    last_days: f64,
    not_before_days: f64,
    /// Share already collected.
    collected: f64,
}

impl Delivery {
    /// When its first ETH arrives, days.
    fn start_days(&self) -> f64 {
        self.first_days.max(self.not_before_days)
    }

    /// Share delivered by `t` (including what arrives exactly at `t`).
    fn share_by(&self, t: f64) -> f64 {
        if t < self.not_before_days {
            return 0.0;
        }
        if self.last_days > self.first_days {
            ((t - self.first_days) / (self.last_days - self.first_days)).clamp(0.0, 1.0)
        } else if t >= self.first_days {
            1.0
        } else {
            0.0
        }
    }
}

/// One flow sub-step's requests, for the tagged holders' waits.
#[derive(Debug, Clone, Copy)]
struct Point {
    /// Start and length of the sub-step, days.
    t_days: f64,
    h_days: f64,
    /// The demand hazard at its start and at its end (before what happens there), share of
    /// remaining holders per day.
    hazard: f64,
    hazard_end: f64,
    /// LRT requested at the front door before the sub-step (all paths), and within it.
    cum_requested: f64,
    requested: f64,
    /// Share of the sub-step's requests paid instantly (spread evenly over the sub-step: of
    /// the holders asking at any moment within it, this share is paid at once).
    instant_share: f64,
    /// LRT in the queue before the sub-step (cumulative, arbitrageurs included).
    cum_queued: f64,
    /// Whether the instant path had room at the sub-step's start.
    instant_open: bool,
}

/// Per-path redemption metrics, written into the output row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RedemptionOutcome {
    /// Days from asking at t = 0 to being paid (censored at the horizon).
    pub redeem_days_t0: f64,
    /// Days from asking in the first `stress_window_days` of the worst stress to being paid
    /// (censored).
    pub redeem_days_stress: f64,
    /// When the worst stress started, days.
    pub stress_start_days: f64,
    /// 1 if the t = 0 holder was not paid by the horizon.
    pub unredeemed_t0: f64,
    /// 1 if the stress holder was not paid by the horizon.
    pub unredeemed_stress: f64,
    /// Largest ETH value waiting in the protocol queue at any moment.
    pub peak_queue_eth: f64,
    /// Longest wait of any request, days (censored at the horizon).
    pub peak_queue_days: f64,
    /// Share of all LRT asked for that is still unpaid at the horizon.
    pub unfilled_share: f64,
    /// LRT asked for, as a share of the t = 0 supply.
    pub requested_share: f64,
    /// ETH paid to redeeming holders (after instant fees).
    pub redeemed_eth: f64,
    /// Instant-exit fees paid, ETH.
    pub exit_fees_eth: f64,
    /// What redeemers lost while queued: value when asked − value paid (and, for requests
    /// still queued, − value at the horizon), ETH.
    pub queued_loss_eth: f64,
    /// Largest network exit queue seen, ETH.
    pub peak_network_queue_eth: f64,
}

impl RedemptionOutcome {
    /// The values in the order of [`crate::outputs::Layout::REDEMPTION`].
    pub fn values(&self) -> [f64; 13] {
        [
            self.redeem_days_t0,
            self.redeem_days_stress,
            self.stress_start_days,
            self.unredeemed_t0,
            self.unredeemed_stress,
            self.peak_queue_eth,
            self.peak_queue_days,
            self.unfilled_share,
            self.requested_share,
            self.redeemed_eth,
            self.exit_fees_eth,
            self.queued_loss_eth,
            self.peak_network_queue_eth,
        ]
    }
}

/// Redemption state of one path, with buffers reused across paths.
pub struct Redemption<'m> {
    w: &'m WithdrawalModel,
    step_days: f64,
    n_steps: usize,
    horizon_days: f64,
    /// Assets at t = 0 (restaked book + buffer) = LRT supply at t = 0.
    initial_assets_eth: f64,
    initial_book_eth: f64,

    /// The front door's clock: flows are integrated up to here, days.
    t_days: f64,
    /// Index of the next processing time (`index × processing_interval_days`).
    next_processing: u64,
    /// The restaked book as last synchronised ([`Redemption::set_book`]), ETH.
    book_eth: f64,

    supply_lrt: f64,
    queued_lrt: f64,
    liquid_eth: f64,
    /// Out of the book, not yet collected as liquid ETH.
    transit_eth: f64,
    /// The book in units: an exit in escrow owns `units` of `units_total`, worth
    /// `units × book / units_total`, so it is slashed with the book.
    units_total: f64,
    escrow_units: f64,
    tokens_eth: f64,
    /// The beacon chain's exit queue.
    network: ExitQueue,
    /// Run pulses: their sum, share per day, at `trigger_time_days`.
    trigger_level: f64,
    trigger_time_days: f64,
    paused_until_days: f64,
    nav_peak: f64,
    /// Posted wait and pause state at the last flow's start.
    posted_wait_days: f64,
    paused_now: bool,
    /// ETH the queue paid to arbitrageurs, not yet taken back by them.
    arb_paid_eth: f64,
    /// Rewards reaching the pool, ETH per day.
    reward_eth_per_day: f64,
    /// ETH arbitrageurs redeemed at once and ETH they added to the queue since the last
    /// flow, the last flow's length, days, and their rates over it, ETH per day: the
    /// sub-steps that end where the queue outgrows liquid ETH or where the instant path runs
    /// dry count the arbitrageurs' draw with the holders' (arbitrageurs act at a sub-step's
    /// end, see [`Redemption::max_substep_days`]).
    arb_instant_since_flow_eth: f64,
    arb_queued_since_flow_eth: f64,
    last_flow_days: f64,
    arb_instant_eth_per_day: f64,
    arb_queued_eth_per_day: f64,
    /// The levels' gaps ([`Redemption::level_gaps`]) at the last flow's start, that start
    /// (days; NaN before the first) and the processing index then: how fast each gap closed
    /// since, for the sub-steps that end at the levels.
    gaps_before: [f64; 4],
    gaps_t_days: f64,
    gaps_processing: u64,

    cum_requested_lrt: f64,
    cum_queued_lrt: f64,
    cum_paid_lrt: f64,
    requested_lrt: f64,
    redeemed_eth: f64,
    exit_fees_eth: f64,
    queued_loss_eth: f64,
    peak_queue_eth: f64,
    /// `peak_queue_eth` before the last flow (see [`Redemption::withdraw_last_request`]).
    peak_before_flow_eth: f64,
    peak_queue_days: f64,

    cohorts: Vec<Cohort>,
    head: usize,
    exits: Vec<Exit>,
    next_escrow_end: usize,
    /// Deliveries not started yet, by start (from `next_pending` on), and those arriving.
    pending: Vec<Delivery>,
    next_pending: usize,
    deliveries: Vec<Delivery>,
    /// Per flow sub-step: the requests (for the tagged holders).
    points: Vec<Point>,
    /// Per processing time with payments: (time, cumulative LRT paid after it).
    paid: Vec<(f64, f64)>,
    /// Per reporting step: the demand hazard averaged over the step, share per day.
    hazard: Vec<f64>,
}

/// Relative tolerance of "reached" comparisons on cumulative LRT and of times that coincide
/// (rounding in the sums).
const TOL: f64 = 1e-12;
/// A tagged holder's size, as a share of the t = 0 supply (a holder is paid once cumulative
/// payments pass its place by this much); exits below it are not requested (dust).
const HOLDER_SHARE: f64 = 1e-15;

impl<'m> Redemption<'m> {
    /// State for a model with `[withdrawals]`, over `n_steps` reporting steps of `step_days`,
    /// for a restaked book of `book_eth` at t = 0.
    pub fn new(w: &'m WithdrawalModel, n_steps: u32, step_days: f64, book_eth: f64) -> Self {
        let n = n_steps as usize;
        let mut r = Redemption {
            w,
            step_days,
            n_steps: n,
            horizon_days: n as f64 * step_days,
            initial_assets_eth: book_eth + w.buffer_initial_eth,
            initial_book_eth: book_eth,
            t_days: 0.0,
            next_processing: 0,
            book_eth,
            supply_lrt: 0.0,
            queued_lrt: 0.0,
            liquid_eth: 0.0,
            transit_eth: 0.0,
            units_total: 0.0,
            escrow_units: 0.0,
            tokens_eth: 0.0,
            network: ExitQueue::new(
                w.network_queue_eth,
                w.network_inflow_eth_per_day,
                w.churn_eth_per_day,
            ),
            trigger_level: 0.0,
            trigger_time_days: 0.0,
            paused_until_days: f64::NEG_INFINITY,
            nav_peak: 1.0,
            posted_wait_days: 0.0,
            paused_now: false,
            arb_paid_eth: 0.0,
            reward_eth_per_day: 0.0,
            arb_instant_since_flow_eth: 0.0,
            arb_queued_since_flow_eth: 0.0,
            last_flow_days: 0.0,
            arb_instant_eth_per_day: 0.0,
            arb_queued_eth_per_day: 0.0,
            gaps_before: [0.0; 4],
            gaps_t_days: f64::NAN,
            gaps_processing: 0,
            cum_requested_lrt: 0.0,
            cum_queued_lrt: 0.0,
            cum_paid_lrt: 0.0,
            requested_lrt: 0.0,
            redeemed_eth: 0.0,
            exit_fees_eth: 0.0,
            queued_loss_eth: 0.0,
            peak_queue_eth: 0.0,
            peak_before_flow_eth: 0.0,
            peak_queue_days: 0.0,
            cohorts: Vec::with_capacity(4 * n),
            head: 0,
            exits: Vec::with_capacity(n),
            next_escrow_end: 0,
            pending: Vec::with_capacity(n),
            next_pending: 0,
            deliveries: Vec::with_capacity(16),
            points: Vec::with_capacity(4 * n),
            paid: Vec::with_capacity(n),
            hazard: vec![0.0; n],
        };
        r.reset();
        r
    }

    /// The t = 0 state.
    pub fn reset(&mut self) {
        let w = self.w;
        self.t_days = 0.0;
        self.next_processing = 0;
        self.book_eth = self.initial_book_eth;
        self.supply_lrt = self.initial_assets_eth;
        self.queued_lrt = 0.0;
        self.liquid_eth = w.buffer_initial_eth;
        self.transit_eth = 0.0;
        self.units_total = self.initial_book_eth;
        self.escrow_units = 0.0;
        self.tokens_eth = w.bucket_capacity_eth;
        self.network.reset();
        self.trigger_level = 0.0;
        self.trigger_time_days = 0.0;
        self.paused_until_days = f64::NEG_INFINITY;
        self.nav_peak = 1.0;
        self.posted_wait_days = 0.0;
        self.paused_now = false;
        self.arb_paid_eth = 0.0;
        self.reward_eth_per_day = 0.0;
        self.arb_instant_since_flow_eth = 0.0;
        self.arb_queued_since_flow_eth = 0.0;
        self.last_flow_days = 0.0;
        self.arb_instant_eth_per_day = 0.0;
        self.arb_queued_eth_per_day = 0.0;
        self.gaps_before = [0.0; 4];
        self.gaps_t_days = f64::NAN;
        self.gaps_processing = 0;
        self.cum_requested_lrt = 0.0;
        self.cum_queued_lrt = 0.0;
        self.cum_paid_lrt = 0.0;
        self.requested_lrt = 0.0;
        self.redeemed_eth = 0.0;
        self.exit_fees_eth = 0.0;
        self.queued_loss_eth = 0.0;
        self.peak_queue_eth = 0.0;
        self.peak_before_flow_eth = 0.0;
        self.peak_queue_days = 0.0;
        self.cohorts.clear();
        self.head = 0;
        self.exits.clear();
        self.next_escrow_end = 0;
        self.pending.clear();
        self.next_pending = 0;
        self.deliveries.clear();
        self.points.clear();
        self.paid.clear();
        self.hazard.fill(0.0);
    }

    /// Liquid ETH (buffer and anything collected but not paid out).
    pub fn liquid_eth(&self) -> f64 {
        self.liquid_eth
    }
    /// ETH out of the restaked book and not yet collected.
    pub fn transit_eth(&self) -> f64 {
        self.transit_eth
    }
    /// ETH paid to redeeming holders.
    pub fn redeemed_eth(&self) -> f64 {
        self.redeemed_eth
    }
    /// Instant-exit fees, ETH.
    pub fn exit_fees_eth(&self) -> f64 {
        self.exit_fees_eth
    }
    /// Assets at t = 0: the restaked book plus the buffer.
    pub fn initial_assets_eth(&self) -> f64 {
        self.initial_assets_eth
    }
    /// The pool's assets given the restaked book: book + ETH in transit + liquid ETH.
    pub fn assets_eth(&self, book_eth: f64) -> f64 {
        book_eth + self.transit_eth + self.liquid_eth
    }
    /// NAV per LRT given the restaked book (1 at t = 0).
    pub fn nav(&self, book_eth: f64) -> f64 {
        if self.supply_lrt > 0.0 {
            self.assets_eth(book_eth) / self.supply_lrt
        } else {
            1.0
        }
    }
    /// The NAV per LRT with the book as last synchronised.
    fn nav_now(&self) -> f64 {
        self.nav(self.book_eth)
    }
    /// The restaked book changed (an event, rewards): the front door marks its NAV from it.
    pub fn set_book(&mut self, book_eth: f64) {
        self.book_eth = book_eth;
    }

    /// LRT outstanding (t = 0 ETH units).
    pub fn supply_lrt(&self) -> f64 {
        self.supply_lrt
    }
    /// LRT waiting in the protocol queue.
    pub fn queued_lrt(&self) -> f64 {
        self.queued_lrt
    }
    /// The network exit queue at `t` (not before the last time it was updated), ETH:
    /// draining at the churn and filling with the inflow since then. Read-only (for traces).
    pub fn network_queue_eth_at(&self, t: f64) -> f64 {
        self.network.queue_eth_at(t)
    }
    /// The demand hazard averaged over reporting step `k` once that step ran: the share of
    /// remaining holders asking to redeem, per day.
    pub fn hazard_per_day(&self, k: usize) -> f64 {
        self.hazard[k]
    }
    /// The wait posted at the last flow's start, days (cooldown, exits, pause, up to the
    /// processing time that pays).
    pub fn posted_wait_days(&self) -> f64 {
        self.posted_wait_days
    }
    /// Brings the posted wait and the pause state to `t` (the start of a market sub-step):
    /// what arbitrageurs read before the sub-step's flow ([`Redemption::flow`] sets both
    /// again at its start).
    pub fn refresh_posted(&mut self, t: f64) {
        let nav = self.nav_now();
        self.posted_wait_days = self.posted_wait_at(t, nav);
        self.paused_now = t < self.paused_until_days;
    }
    /// Instant-exit fee, a fraction.
    pub fn instant_fee(&self) -> f64 {
        self.w.instant_fee
    }
    /// ETH the instant path can pay out now (0 without a buffer or while paused).
    pub fn instant_capacity_eth(&self) -> f64 {
        if self.w.instant && !self.paused_now {
            self.tokens_eth.min(self.liquid_eth).max(0.0)
        } else {
            0.0
        }
    }
    /// Arbitrageurs redeem `lrt` instantly at NAV `nav` (within [`Self::instant_capacity_eth`]);
    /// returns the ETH paid to them after the fee.
    pub fn redeem_instant(&mut self, lrt: f64, nav: f64) -> f64 {
        let value = (lrt * nav).min(self.instant_capacity_eth());
        if value <= 0.0 {
            return 0.0;
        }
        self.tokens_eth -= value;
        self.liquid_eth -= value;
        self.arb_instant_since_flow_eth += value;
        self.supply_lrt -= value / nav;
        self.requested_lrt += value / nav;
        let paid = value * (1.0 - self.w.instant_fee);
        self.redeemed_eth += paid;
        self.exit_fees_eth += value - paid;
        paid
    }
    /// LRT minted without backing: the supply grows, the NAV per LRT falls.
    pub fn mint(&mut self, lrt: f64) {
        self.supply_lrt += lrt.max(0.0);
    }
    /// The front door is paused until `t_days` (at least).
    pub fn pause_until(&mut self, t_days: f64) {
        self.paused_until_days = self.paused_until_days.max(t_days);
        self.paused_now = self.t_days < self.paused_until_days;
    }
    /// Arbitrageurs' `lrt` joins the queue now (at the front door's clock).
    pub fn queue_request(&mut self, lrt: f64) {
        if lrt <= 0.0 {
            return;
        }
        let t = self.t_days;
        let nav = self.nav_now();
        self.cohorts.push(Cohort {
            asked_days: t,
            lrt,
            nav_asked: nav,
            arb: true,
        });
        self.queued_lrt += lrt;
        self.cum_queued_lrt += lrt;
        self.requested_lrt += lrt;
        self.arb_queued_since_flow_eth += lrt * nav;
        self.peak_queue_eth = self.peak_queue_eth.max(self.queued_lrt * nav);
    }
    /// LRT the holders of the last [`Redemption::flow`] queued (what
    /// [`Redemption::withdraw_last_request`] can take back).
    pub fn last_request_lrt(&self) -> f64 {
        match self.cohorts.last() {
            Some(c) if !c.arb && c.asked_days == self.t_days => c.lrt,
            _ => 0.0,
        }
    }

    /// Takes `lrt` (at most [`Redemption::last_request_lrt`]) out of the last flow's queued
    /// requests: holders who sold in the market at its end instead (as if they had diverted
    /// within the flow).
    pub fn withdraw_last_request(&mut self, lrt: f64) {
        let lrt = lrt.min(self.last_request_lrt());
        if lrt <= 0.0 {
            return;
        }
        if let Some(c) = self.cohorts.last_mut() {
            c.lrt -= lrt;
            if c.lrt <= 0.0 {
                self.cohorts.pop();
            }
        }
        self.queued_lrt -= lrt;
        self.cum_queued_lrt -= lrt;
        self.requested_lrt -= lrt;
        self.cum_requested_lrt -= lrt;
        if let Some(p) = self.points.last_mut() {
            let instant_lrt = p.instant_share * p.requested;
            p.requested -= lrt;
            p.instant_share = if p.requested > 0.0 {
                (instant_lrt / p.requested).min(1.0)
            } else {
                0.0
            };
        }
        self.peak_queue_eth = self
            .peak_before_flow_eth
            .max(self.queued_lrt * self.nav_now());
    }

    /// ETH the queue paid to arbitrageurs since the last call.
    pub fn take_arb_paid(&mut self) -> f64 {
        std::mem::take(&mut self.arb_paid_eth)
    }

    /// ETH paid into the pool (reserves, restitution) is liquid at once.
    pub fn add_liquid(&mut self, eth: f64) {
        self.liquid_eth += eth;
    }

    /// Rewards reach the pool as liquid ETH at `eth_per_day` from now on.
    pub fn set_reward_rate(&mut self, eth_per_day: f64) {
        self.reward_eth_per_day = eth_per_day;
    }

    /// Swaps the front door's exit queue with `queue` (a sector's doors take turns with the
    /// one queue they share).
    pub fn swap_queue(&mut self, queue: &mut ExitQueue) {
        std::mem::swap(&mut self.network, queue);
    }

    /// `eth` joins the back of the network exit queue at `t`; returns the days until the
    /// queue ahead of it has exited.
    pub fn join_network_queue(&mut self, t: f64, eth: f64) -> f64 {
        self.network.join(t, eth)
    }

    /// A sector-wide rush of `eth` joins the network exit queue at `t`.
    pub fn rush(&mut self, t: f64, eth: f64, triggers_run: bool) {
        self.join_network_queue(t, eth);
        if triggers_run {
            self.pulse(t);
        }
    }

    /// A loss event of `loss_eth` at `t`, when the pool's assets were `assets_before_eth`:
    /// may trigger a redemption pulse and pause withdrawals.
    pub fn loss(&mut self, t: f64, loss_eth: f64, assets_before_eth: f64) {
        let share = loss_eth / assets_before_eth;
        if let Some(tr) = self.w.trigger
            && share >= tr.min_loss_fraction
        {
            self.pulse(t);
        }
        if let Some((min_share, days)) = self.w.pause
            && share >= min_share
        {
            self.pause_until(t + days);
        }
    }

    /// Contagion at `t` (sector scenarios): with its own loss share `own` in this event, the
    /// holders also feel `felt` (the other LRTs' loss shares times their loadings); a run
    /// pulse comes when `own + felt` reaches the trigger and `own` alone did not (it pulsed
    /// in [`Redemption::loss`] then). The pause rule looks at `own` alone.
    pub fn contagion(&mut self, t: f64, own: f64, felt: f64) {
        if let Some(tr) = self.w.trigger
            && own < tr.min_loss_fraction
            && own + felt >= tr.min_loss_fraction
        {
            self.pulse(t);
        }
    }

    /// The run pulses' level at `t` ≥ the last pulse, share per day.
    fn trigger_at(&self, t: f64) -> f64 {
        match self.w.trigger {
            Some(tr) if self.trigger_level > 0.0 => {
                self.trigger_level * (-(t - self.trigger_time_days) / tr.decay_days).exp()
            }
            _ => 0.0,
        }
    }

    /// A run pulse at `t`: `share_per_day` more, decaying from `t`.
    pub(crate) fn pulse(&mut self, t: f64) {
        self.pulse_scaled(t, 1.0);
    }

    /// A run pulse at `t` of `loading` × `share_per_day`, decaying from `t` (nothing without
    /// a run trigger).
    pub fn pulse_scaled(&mut self, t: f64, loading: f64) {
        if let Some(tr) = self.w.trigger {
            let t = t.max(self.trigger_time_days);
            self.trigger_level = self.trigger_at(t) + loading * tr.share_per_day;
            self.trigger_time_days = t;
        }
    }

    /// Slashed validators forced out: `eth` left the restaked book (worth `book_before_eth`
    /// before) and arrives spread over `[first, first + sweep]`, not before `not_before`.
    pub fn release(&mut self, eth: f64, book_before_eth: f64, first_days: f64, not_before: f64) {
        if eth <= 0.0 || book_before_eth <= 0.0 {
            return;
        }
        self.units_total -= eth * self.units_total / book_before_eth;
        self.transit_eth += eth;
        self.deliver(Delivery {
            eth,
            first_days,
            last_days: first_days + self.w.sweep_days,
            not_before_days: not_before,
            collected: 0.0,
        });
    }

    /// ETH on its way: pending until its first part arrives (kept in order of that).
    fn deliver(&mut self, d: Delivery) {
        let from = self.next_pending;
        let i = from + self.pending[from..].partition_point(|x| x.start_days() <= d.start_days());
        self.pending.insert(i, d);
    }

    /// The next processing time (+∞ past the horizon), days: the kernel calls
    /// [`Redemption::process`] then.
    pub fn next_processing_days(&self) -> f64 {
        let t = self.next_processing as f64 * self.w.processing_interval_days;
        if t < self.horizon_days * (1.0 - TOL) {
            t
        } else {
            f64::INFINITY
        }
    }

    /// The next time after `t` that a flow sub-step must not cross: a processing time, or the
    /// moment whose requests become eligible at one (a processing time − the cooldown).
    fn next_boundary_days(&self, t: f64) -> f64 {
        let i = self.w.processing_interval_days;
        let eps = TOL * t.abs().max(1.0);
        let after = |x: f64| ((x + eps) / i).floor() + 1.0;
        let next = after(t) * i;
        let cd = self.w.cooldown_days;
        let eligible = after(t + cd) * i - cd;
        next.min(eligible)
    }

    /// The demand hazard now, before the cap, without the run pulses, and the posted wait.
    fn hazard_without_pulses(&self, t: f64, nav: f64, discount: f64) -> (f64, f64) {
        let w = self.w;
        let drawdown = 1.0 - nav / self.nav_peak.max(nav);
        let posted = self.posted_wait_at(t, nav);
        let mut h = w.base_share_per_day
            + w.nav_loss_sensitivity_per_day * drawdown
            + w.wait_sensitivity_per_day * (posted - w.wait_free_days).max(0.0);
        if w.discount_sensitivity_per_day > 0.0 {
            h += w.discount_sensitivity_per_day * discount.max(0.0);
        }
        (h, posted)
    }

    /// The longest flow sub-step from `t0`: at most `simulation.max_demand_per_substep` of the holders
    /// ask within it (at the market `discount`); it ends at the next boundary, at the end of a
    /// pause, where the queue would outgrow liquid ETH or the ETH on its way (the posted wait
    /// jumps there), and where the instant path would run dry (its liquid ETH or its token
    /// bucket) — holders and arbitrageurs (at their rates over the last sub-step) drawing on
    /// them together.
    pub fn max_substep_days(&self, t0: f64, discount: f64) -> f64 {
        let nav = self.nav_now();
        let (h, _) = self.hazard_without_pulses(t0, nav, discount);
        let hazard = (h + self.trigger_at(t0)).min(self.w.max_share_per_day);
        let mut span = self.next_boundary_days(t0) - t0;
        if t0 < self.paused_until_days {
            span = span.min(self.paused_until_days - t0);
        }
        if hazard <= 0.0 {
            return span;
        }
        span = span.min(self.w.max_demand_per_substep / hazard);
        // Each LRT asked takes its value out of liquid ETH (instant) or adds it to the queue;
        // so do the arbitrageurs' redemptions (at their rates over the last sub-step). These
        // rates overstate how fast a gap closes (some holders sell in the market instead): a
        // gap closes at the rate it closed over the last sub-step (when no processing came
        // between), but at least half the model's — else the sub-steps would approach a level
        // in a long geometric series.
        let holders_eth = hazard * (self.supply_lrt - self.queued_lrt).max(0.0) * nav;
        let rate_eth = holders_eth + self.arb_instant_eth_per_day + self.arb_queued_eth_per_day;
        let gaps = self.level_gaps();
        let since = t0 - self.gaps_t_days;
        let observed = |i: usize| {
            if since > 0.0 && self.gaps_processing == self.next_processing {
                let rate = (self.gaps_before[i] - gaps[i]) / since;
                if rate.is_finite() { rate } else { 0.0 }
            } else {
                0.0
            }
        };
        // A level refilled at `inflow` that holds no more than the shortest sub-step's inflow
        // is dry already (drained as fast as it fills: a token bucket with next to no room):
        // no stop before it, else every sub-step would be the shortest.
        let mut until = |gap: f64, model: f64, i: usize, inflow: f64| {
            let rate = observed(i).max(0.5 * model);
            let dry = inflow.max(0.0) * MIN_FLOW_SUBSTEP_DAYS;
            if gap > dry && gap.is_finite() && rate > 0.0 {
                span = span.min(gap / rate * (1.0 + 1e-6) + MIN_FLOW_SUBSTEP_DAYS);
            }
        };
        let w = self.w;
        if w.instant && t0 >= self.paused_until_days && self.instant_capacity_eth() > 0.0 {
            let draw = holders_eth * w.instant_share + self.arb_instant_eth_per_day;
            let (reward, refill) = (self.reward_eth_per_day, w.bucket_refill_eth_per_day);
            until(gaps[2], draw - reward, 2, reward);
            until(gaps[3], draw - refill, 3, refill);
        }
        until(gaps[0], rate_eth, 0, 0.0);
        until(gaps[1], rate_eth, 1, 0.0);
        span
    }

    /// The gaps to the levels where the front door's state jumps, ETH: the queue's value
    /// below liquid ETH and below the ETH on its way (the posted wait jumps there), liquid ETH
    /// and the token bucket (the instant path runs dry there).
    fn level_gaps(&self) -> [f64; 4] {
        let queue_eth = self.queued_lrt * self.nav_now();
        let on_the_way = self.liquid_eth + self.transit_eth + self.escrow_eth();
        [
            self.liquid_eth - queue_eth,
            on_the_way - queue_eth,
            self.liquid_eth,
            self.tokens_eth,
        ]
    }

    /// ETH in EigenLayer's escrow (slashed with the book until it ends).
    fn escrow_eth(&self) -> f64 {
        if self.units_total > 0.0 {
            self.escrow_units * self.book_eth / self.units_total
        } else {
            0.0
        }
    }

    /// Redemption demand now, LRT per day, from holders outside `excluded_lrt` (the pool's
    /// LRT, posted collateral), at the market `discount`.
    pub fn demand_lrt_per_day(&self, t0: f64, discount: f64, excluded_lrt: f64) -> f64 {
        let nav = self.nav_now();
        let (h, _) = self.hazard_without_pulses(t0, nav, discount);
        let hazard = (h + self.trigger_at(t0)).min(self.w.max_share_per_day);
        hazard * (self.supply_lrt - self.queued_lrt - excluded_lrt).max(0.0)
    }

    /// The wait a request asked at `t` would be posted: the cooldown if liquid ETH covers the
    /// queue; else also until the latest exit is paid out (its escrow's end, or its ETH's mean
    /// arrival); and if the ETH on its way does not cover the queue either, until a new exit
    /// would be; plus a pause. (The protocol's estimate: it leaves out the wait for the
    /// processing time that pays.)
    fn posted_wait_at(&self, t: f64, nav: f64) -> f64 {
        let w = self.w;
        let queue_eth = self.queued_lrt * nav;
        let mut wait = w.cooldown_days;
        if queue_eth > self.liquid_eth {
            if let Some(x) = self.exits.last() {
                let paid = x.escrow_end_days.max(0.5 * (x.first_days + x.last_days));
                wait = wait.max(paid - t);
            }
            let on_the_way = self.liquid_eth + self.transit_eth + self.escrow_eth();
            if queue_eth > on_the_way {
                let network = self.network_queue_eth_at(t);
                wait = wait
                    .max(w.escrow_days)
                    .max(network / w.churn_eth_per_day + w.exit_delay_days + 0.5 * w.sweep_days);
            }
        }
        if t < self.paused_until_days {
            wait += self.paused_until_days - t;
        }
        wait
    }

    /// Flows over [`t0`, `t1`) (within one sub-step, see [`Redemption::max_substep_days`]) at
    /// the market `discount`, with `excluded_lrt` (the pool's LRT, posted collateral) not among
    /// the holders: holders ask to redeem; `divert(demand, nav, posted_wait_days)` returns the
    /// LRT of that demand sold in the market instead (0 without one); the instant path pays
    /// who it can; the rest join the queue.
    pub fn flow<F: FnMut(f64, f64, f64) -> f64>(
        &mut self,
        t0: f64,
        t1: f64,
        discount: f64,
        excluded_lrt: f64,
        mut divert: F,
    ) {
        let w = self.w;
        let h = t1 - t0;
        if h <= 0.0 {
            return;
        }
        if self.last_flow_days > 0.0 {
            self.arb_instant_eth_per_day = self.arb_instant_since_flow_eth / self.last_flow_days;
            self.arb_queued_eth_per_day = self.arb_queued_since_flow_eth / self.last_flow_days;
        }
        self.arb_instant_since_flow_eth = 0.0;
        self.arb_queued_since_flow_eth = 0.0;
        self.last_flow_days = h;
        self.gaps_before = self.level_gaps();
        self.gaps_t_days = t0;
        self.gaps_processing = self.next_processing;
        // The state at the sub-step's start: the wait posted then (before the sub-step's
        // rewards, which would otherwise move a queue that just outgrew liquid ETH back below
        // it for the whole sub-step).
        let (other0, posted) = self.hazard_without_pulses(t0, self.nav_now(), discount);
        // Rewards over the sub-step are liquid from its start.
        self.liquid_eth += self.reward_eth_per_day * h;
        let nav = self.nav_now();
        self.nav_peak = self.nav_peak.max(nav);
        // The posted wait drifts linearly in time between jumps (sub-steps end at those):
        // the hazard at the sub-step's middle integrates it exactly.
        let (other, _) = self.hazard_without_pulses(t0 + 0.5 * h, nav, discount);
        let paused = t0 < self.paused_until_days;
        self.posted_wait_days = posted;
        self.paused_now = paused;
        // Run pulses, integrated exactly over the sub-step.
        let (pulse0, pulse_mean) = match w.trigger {
            Some(tr) if self.trigger_level > 0.0 => {
                let p0 = self.trigger_at(t0);
                (p0, p0 * tr.decay_days / h * -(-h / tr.decay_days).exp_m1())
            }
            _ => (0.0, 0.0),
        };
        let hazard0 = (other0 + pulse0).min(w.max_share_per_day);
        let hazard_end = (self.hazard_without_pulses(t1, nav, discount).0 + self.trigger_at(t1))
            .min(w.max_share_per_day);
        let hazard = (other + pulse_mean).min(w.max_share_per_day);
        let k = ((t0 / self.step_days) * (1.0 + TOL)).floor().max(0.0) as usize;
        if let Some(x) = self.hazard.get_mut(k.min(self.n_steps - 1)) {
            *x += hazard * h / self.step_days;
        }
        let holders = (self.supply_lrt - self.queued_lrt - excluded_lrt).max(0.0);
        let demand = holders * -(-hazard * h).exp_m1();
        let sold = if demand > 0.0 {
            divert(demand, nav, posted).clamp(0.0, demand)
        } else {
            0.0
        };
        let new_lrt = demand - sold;
        self.requested_lrt += new_lrt;

        // The instant path: the first requests take what the token bucket (with its refill
        // over the sub-step: requests that outrun the refill use it as it comes) and liquid
        // ETH allow; the bucket is capped after.
        let tokens = self.tokens_eth + w.bucket_refill_eth_per_day * h;
        let instant_open = w.instant && !paused && self.tokens_eth > 0.0 && self.liquid_eth > 0.0;
        let mut instant_lrt = 0.0;
        let mut value = 0.0;
        if w.instant && !paused && new_lrt > 0.0 && nav > 0.0 {
            value = (new_lrt * w.instant_share * nav)
                .min(tokens)
                .min(self.liquid_eth)
                .max(0.0);
        }
        self.tokens_eth = (tokens - value).min(w.bucket_capacity_eth);
        if value > 0.0 {
            instant_lrt = value / nav;
            self.liquid_eth -= value;
            self.supply_lrt -= instant_lrt;
            self.redeemed_eth += value * (1.0 - w.instant_fee);
            self.exit_fees_eth += value * w.instant_fee;
        }
        let instant_share = if new_lrt > 0.0 {
            instant_lrt / new_lrt
        } else {
            0.0
        };
        self.points.push(Point {
            t_days: t0,
            h_days: h,
            hazard: hazard0,
            hazard_end,
            cum_requested: self.cum_requested_lrt,
            requested: new_lrt,
            instant_share,
            cum_queued: self.cum_queued_lrt,
            instant_open,
        });
        self.cum_requested_lrt += new_lrt;
        let queued = new_lrt - instant_lrt;
        if queued > 0.0 {
            self.cohorts.push(Cohort {
                asked_days: t1,
                lrt: queued,
                nav_asked: nav,
                arb: false,
            });
            self.queued_lrt += queued;
            self.cum_queued_lrt += queued;
        }
        self.peak_before_flow_eth = self.peak_queue_eth;
        self.peak_queue_eth = self.peak_queue_eth.max(self.queued_lrt * nav);
        self.t_days = t1;
    }

    /// Flows up to `t_to` without a market (in sub-steps, see [`Redemption::flow`]).
    pub fn advance(&mut self, t_to: f64) {
        while self.t_days < t_to {
            let t0 = self.t_days;
            let h = self.max_substep_days(t0, 0.0);
            let t1 = if t0 + h >= t_to * (1.0 - TOL) {
                t_to
            } else {
                t0 + h
            };
            self.flow(t0, t1, 0.0, 0.0, |_, _, _| 0.0);
        }
    }

    /// The protocol processes its queue at `t` (a processing time, see the module docs).
    pub fn process(&mut self, t: f64, ledger: &mut impl Stake) {
        let w = self.w;
        let tol = TOL * t.abs().max(1.0);
        self.t_days = self.t_days.max(t);
        self.next_processing += 1;

        // 1. Escrows that ended: their ETH leaves the book and is delivered.
        while let Some(x) = self.exits.get(self.next_escrow_end).copied() {
            if x.escrow_end_days > t + tol {
                break;
            }
            let book = ledger.book_eth();
            let eth = if self.units_total > 0.0 {
                ledger.withdraw_pro_rata(x.units * book / self.units_total)
            } else {
                0.0
            };
            self.units_total = (self.units_total - x.units).max(0.0);
            self.escrow_units = (self.escrow_units - x.units).max(0.0);
            self.transit_eth += eth;
            self.deliver(Delivery {
                eth,
                first_days: x.first_days,
                last_days: x.last_days,
                not_before_days: x.escrow_end_days,
                collected: 0.0,
            });
            self.next_escrow_end += 1;
        }
        // 2. ETH that arrived is collected.
        while let Some(d) = self.pending.get(self.next_pending)
            && d.start_days() <= t + tol
        {
            self.deliveries.push(*d);
            self.next_pending += 1;
        }
        let mut arrived = 0.0;
        for d in &mut self.deliveries {
            let share = d.share_by(t + tol);
            arrived += d.eth * (share - d.collected);
            d.collected = share;
        }
        self.deliveries.retain(|d| d.collected < 1.0);
        self.liquid_eth += arrived;
        self.transit_eth = (self.transit_eth - arrived).max(0.0);
        self.book_eth = ledger.book_eth();
        let nav = self.nav_now();
        self.nav_peak = self.nav_peak.max(nav);
        self.network.observe(t);

        // 3. Eligible requests are paid, first in, first out.
        if t >= self.paused_until_days {
            let cap = w.daily_cap_eth * w.processing_interval_days;
            let paid = self.pay_queue(t, nav, cap.min(self.liquid_eth));
            self.liquid_eth -= paid;
            if paid > 0.0 {
                self.paid.push((t, self.cum_paid_lrt));
            }
        }

        // 4. Validators exit for what the queue and the buffer target still need.
        let unit_eth = if self.units_total > 0.0 {
            self.book_eth / self.units_total
        } else {
            0.0
        };
        let escrow_eth = self.escrow_units * unit_eth;
        let need = self.queued_lrt * nav + w.buffer_target_eth
            - self.liquid_eth
            - self.transit_eth
            - escrow_eth;
        let free = (self.units_total - self.escrow_units).max(0.0) * unit_eth;
        let eth = need.min(free);
        if eth > HOLDER_SHARE * self.initial_assets_eth && unit_eth > 0.0 {
            let ahead_days = self.join_network_queue(t, eth);
            let units = eth / unit_eth;
            self.escrow_units += units;
            self.exits.push(Exit {
                units,
                escrow_end_days: t + w.escrow_days,
                first_days: t + ahead_days + w.exit_delay_days,
                last_days: t
                    + ahead_days
                    + eth / w.churn_eth_per_day
                    + w.exit_delay_days
                    + w.sweep_days,
            });
        }
        self.peak_queue_eth = self.peak_queue_eth.max(self.queued_lrt * nav);
    }

    /// Pays eligible requests first in, first out, at `t` with at most `budget_eth`; returns
    /// the ETH paid. A request gets the lower of its NAV when asked and the NAV now. The
    /// oldest request paid sets the longest wait so far.
    fn pay_queue(&mut self, t: f64, nav: f64, budget_eth: f64) -> f64 {
        let mut left = budget_eth;
        let eligible_by = t - self.w.cooldown_days + TOL * t.abs().max(1.0);
        let mut first = true;
        while left > 0.0 && self.head < self.cohorts.len() {
            let c = self.cohorts[self.head];
            if c.asked_days > eligible_by {
                break;
            }
            if first {
                self.peak_queue_days = self.peak_queue_days.max(t - self.first_asked(self.head));
                first = false;
            }
            let price = c.nav_asked.min(nav);
            let whole = c.lrt * price <= left;
            let lrt = if whole { c.lrt } else { left / price };
            let value = lrt * price;
            self.queued_loss_eth += lrt * (c.nav_asked - price);
            self.redeemed_eth += value;
            if c.arb {
                self.arb_paid_eth += value;
            }
            self.supply_lrt -= lrt;
            self.queued_lrt -= lrt;
            self.cum_paid_lrt += lrt;
            if whole {
                self.head += 1;
                left -= value;
            } else {
                self.cohorts[self.head].lrt -= lrt;
                left = 0.0;
            }
        }
        budget_eth - left
    }

    /// When the oldest unpaid request of cohort `i` asked: a cohort's requests are spread
    /// evenly over its sub-step; paid first in, first out.
    fn first_asked(&self, i: usize) -> f64 {
        let c = self.cohorts[i];
        if c.arb {
            return c.asked_days;
        }
        // Its sub-step: the one that ends where the cohort asked (the latest such point).
        let j = self
            .points
            .partition_point(|p| p.t_days < c.asked_days * (1.0 - TOL))
            .saturating_sub(1);
        match self.points.get(j) {
            Some(p) if p.requested > 0.0 => {
                let queued = p.requested * (1.0 - p.instant_share);
                // Place of the oldest unpaid unit within the cohort.
                let unpaid_from = (queued - c.lrt).max(0.0);
                let v = if queued > 0.0 {
                    unpaid_from / queued
                } else {
                    0.0
                };
                p.t_days + v.min(1.0) * p.h_days
            }
            _ => c.asked_days,
        }
    }

    /// The first processing time at which cumulative payments pass `place` LRT by a holder's
    /// size, or None.
    fn paid_time(&self, place: f64) -> Option<f64> {
        let reach = (place + HOLDER_SHARE * self.initial_assets_eth) * (1.0 - TOL);
        let i = self.paid.partition_point(|&(_, c)| c < reach);
        self.paid.get(i).map(|&(t, _)| t)
    }

    /// Wait of a holder who asks at `ask_days` and joins the queue at `place`: (days, unpaid
    /// at the horizon).
    fn queue_wait(&self, place: f64, ask_days: f64) -> (f64, bool) {
        match self.paid_time(place) {
            Some(t) => ((t - ask_days).max(0.0), false),
            None => ((self.horizon_days - ask_days).max(0.0), true),
        }
    }

    /// Wait of the holder at position `x` among all LRT requested at the front door: the
    /// instant path paid `instant_share` of the holders asking at any moment of a sub-step
    /// (`u`, uniform in [0, 1), picks whether this holder was one of them), the rest joined
    /// the queue in the order they asked.
    fn wait_at(&self, x: f64, u: f64) -> (f64, bool) {
        let j = self
            .points
            .partition_point(|p| p.cum_requested <= x)
            .saturating_sub(1);
        let Some(p) = self.points.get(j) else {
            return (0.0, false);
        };
        let v = if p.requested > 0.0 {
            ((x - p.cum_requested) / p.requested).clamp(0.0, 1.0)
        } else {
            0.0
        };
        if u < p.instant_share {
            return (0.0, false);
        }
        let place = p.cum_queued + v * (1.0 - p.instant_share) * p.requested;
        self.queue_wait(place, p.t_days + v * p.h_days)
    }

    /// LRT requested at the front door by `t` (interpolated within its sub-step).
    fn requested_by(&self, t: f64) -> f64 {
        let j = self
            .points
            .partition_point(|p| p.t_days <= t)
            .saturating_sub(1);
        match self.points.get(j) {
            Some(p) => {
                let share = ((t - p.t_days) / p.h_days).clamp(0.0, 1.0);
                p.cum_requested + share * p.requested
            }
            None => 0.0,
        }
    }

    /// Wait of a holder asking at the first moment of flow point `j` (`u` picks the instant
    /// path among those who try it while it has room).
    fn wait_first_at(&self, j: usize, u: f64) -> (f64, bool) {
        match self.points.get(j) {
            Some(p) => {
                if p.instant_open && u < self.w.instant_share {
                    (0.0, false)
                } else {
                    self.queue_wait(p.cum_queued, p.t_days)
                }
            }
            None => (0.0, false),
        }
    }

    /// The per-path metrics, once every step ran. The t = 0 holder asks at the first moment
    /// (`u_t0` picks the instant path, see [`Self::wait_first_at`]); the stress holder is
    /// drawn (`u_stress`, uniform in [0, 1)) among the LRT asked in the first
    /// `stress_window_days` after the stress starts.
    pub fn finish(&mut self, book_eth: f64, u_t0: f64, u_stress: f64) -> RedemptionOutcome {
        let nav_end = self.nav(book_eth);
        let mut queued_loss = self.queued_loss_eth;
        for c in &self.cohorts[self.head..] {
            queued_loss += c.lrt * (c.nav_asked - nav_end).max(0.0);
        }
        // The worst stress starts when the demand hazard first reaches half its path peak
        // above the calm level.
        let base = self.w.base_share_per_day;
        // (linear within a sub-step, jumps at its ends).
        let peak = self
            .points
            .iter()
            .map(|p| p.hazard.max(p.hazard_end))
            .fold(base, f64::max);
        let (stress, stress_start) = if peak > base * (1.0 + 1e-9) {
            let half = base + 0.5 * (peak - base);
            self.points
                .iter()
                .enumerate()
                .find_map(|(j, p)| {
                    if p.hazard >= half {
                        Some((j, p.t_days))
                    } else if p.hazard_end >= half {
                        let share = (half - p.hazard) / (p.hazard_end - p.hazard);
                        Some((j, p.t_days + share * p.h_days))
                    } else {
                        None
                    }
                })
                .unwrap_or((0, 0.0))
        } else {
            (0, 0.0)
        };
        let (t0_days, t0_unpaid) = self.wait_first_at(0, u_t0);
        let from = self.requested_by(stress_start);
        let to = self.requested_by(stress_start + self.w.stress_window_days);
        let (stress_days, stress_unpaid) = if to > from {
            // The draw's 53 bits give two independent uniforms: the top 26 place the holder
            // among the window's requests, the low 27 pick the instant path.
            let bits = (u_stress * TWO_53) as u64;
            let u_place = (bits >> 27) as f64 / TWO_26;
            let u_instant = (bits & ((1 << 27) - 1)) as f64 / TWO_27;
            self.wait_at(from + u_place * (to - from), u_instant)
        } else {
            self.wait_first_at(stress, u_stress)
        };
        // Requests still queued at the horizon waited at least until then.
        let mut peak_queue_days = self.peak_queue_days;
        if self.head < self.cohorts.len() && self.queued_lrt > TOL * self.initial_assets_eth {
            peak_queue_days = peak_queue_days.max(self.horizon_days - self.first_asked(self.head));
        }
        RedemptionOutcome {
            redeem_days_t0: t0_days,
            redeem_days_stress: stress_days,
            stress_start_days: stress_start,
            unredeemed_t0: f64::from(u8::from(t0_unpaid)),
            unredeemed_stress: f64::from(u8::from(stress_unpaid)),
            peak_queue_eth: self.peak_queue_eth,
            peak_queue_days,
            unfilled_share: if self.requested_lrt > 0.0 {
                self.queued_lrt.max(0.0) / self.requested_lrt
            } else {
                0.0
            },
            requested_share: self.requested_lrt / self.initial_assets_eth,
            redeemed_eth: self.redeemed_eth,
            exit_fees_eth: self.exit_fees_eth,
            queued_loss_eth: queued_loss,
            peak_network_queue_eth: self.network.peak_eth(),
        }
    }
}
