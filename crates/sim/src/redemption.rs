//! The front door: redemption demand, the instant buffer, the protocol's FIFO queue, the
//! EigenLayer escrow and the beacon chain's network-wide exit queue, as per-step path state.
//!
//! Once per step, at its start, [`Redemption::step`]:
//!
//! 1. ends the escrow of exits whose 14 days are over: their ETH leaves the restaked book
//!    (until then it was slashed with it) and is delivered, per validator, at the later of the
//!    escrow's end and its beacon-chain arrival — spread uniformly between the first and the
//!    last validator's sweep;
//! 2. marks the NAV, the drawdown and the posted wait, and from them and any trigger pulses
//!    the share of remaining holders asking to redeem;
//! 3. pays the oldest eligible requests from liquid ETH, then serves new requests from the
//!    instant buffer (token bucket, fee), queues the rest, and pays eligible requests from ETH
//!    arriving during the step — unless withdrawals are paused;
//! 4. exits validators for whatever the queue and the buffer target need beyond liquid ETH
//!    and ETH already on its way: the pool joins the back of the network exit queue.
//!
//! Everything is a fluid: amounts, not individual requests. Per step the state keeps the
//! cumulative requests queued and paid (in LRT), so that at the end of the path the wait of
//! any request can be read off the two curves (FIFO: a request is paid when the cumulative
//! payments reach its place), within the step to the exact arrival time of the ETH that pays
//! it. The LRT is counted in t = 0 ETH (NAV 1 at t = 0).

use lrtsim_scenario::withdrawal::WithdrawalModel;

use crate::ledger::Ledger;

/// A step's worth of requests waiting in the protocol queue.
#[derive(Debug, Clone, Copy)]
struct Cohort {
    /// When they asked, days.
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
}

impl Delivery {
    /// Share delivered by `t` (`right`: including what arrives exactly at `t`).
    fn share_by(&self, t: f64, right: bool) -> f64 {
        let after = |x: f64| if right { t >= x } else { t > x };
        if !after(self.not_before_days) {
            return 0.0;
        }
        if self.last_days > self.first_days {
            ((t - self.first_days) / (self.last_days - self.first_days)).clamp(0.0, 1.0)
        } else if after(self.first_days) {
            1.0
        } else {
            0.0
        }
    }
    fn start_days(&self) -> f64 {
        self.first_days.max(self.not_before_days)
    }
    fn end_days(&self) -> f64 {
        self.last_days.max(self.not_before_days)
    }
}

/// Per-path redemption metrics, written into the output row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RedemptionOutcome {
    /// Days from asking at t = 0 to being paid (censored at the horizon).
    pub redeem_days_t0: f64,
    /// Days from asking at the start of the worst stress to being paid (censored).
    pub redeem_days_stress: f64,
    /// When the worst stress started, days.
    pub stress_start_days: f64,
    /// 1 if the t = 0 holder was not paid by the horizon.
    pub unredeemed_t0: f64,
    /// 1 if the stress holder was not paid by the horizon.
    pub unredeemed_stress: f64,
    /// Largest ETH value waiting in the protocol queue at a step's end.
    pub peak_queue_eth: f64,
    /// Longest wait of any step's last request, days (censored at the horizon).
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
    /// Largest network exit queue seen at a step's start, ETH.
    pub peak_network_queue_eth: f64,
}

/// Redemption state of one path, with per-step buffers reused across paths.
pub struct Redemption<'m> {
    w: &'m WithdrawalModel,
    step_days: f64,
    n_steps: usize,
    horizon_days: f64,
    /// Assets at t = 0 (restaked book + buffer) = LRT supply at t = 0.
    initial_assets_eth: f64,
    initial_book_eth: f64,

    supply_lrt: f64,
    queued_lrt: f64,
    liquid_eth: f64,
    /// Out of the book, not yet liquid.
    transit_eth: f64,
    /// The book in units: an exit in escrow owns `units` of `units_total`, worth
    /// `units × book / units_total`, so it is slashed with the book.
    units_total: f64,
    escrow_units: f64,
    tokens_eth: f64,
    network_queue_eth: f64,
    network_time_days: f64,
    trigger_share_per_day: f64,
    pending_trigger: f64,
    paused_until_days: f64,
    nav_peak: f64,
    nav: f64,
    /// Market discount at the last step's end (feeds the demand hazard).
    discount: f64,
    /// LRT held by the market's pool (its liquidity providers do not redeem).
    pool_lrt: f64,
    /// Posted wait and pause state at the current step's start.
    posted_wait_days: f64,
    paused_now: bool,
    /// Arbitrageurs' LRT to queue at the next step's start, and ETH the queue paid them.
    pending_arb_lrt: f64,
    arb_paid_eth: f64,

    cum_queued_lrt: f64,
    cum_paid_lrt: f64,
    requested_lrt: f64,
    redeemed_eth: f64,
    exit_fees_eth: f64,
    queued_loss_eth: f64,
    peak_queue_eth: f64,
    peak_network_queue_eth: f64,

    cohorts: Vec<Cohort>,
    head: usize,
    exits: Vec<Exit>,
    next_escrow_end: usize,
    deliveries: Vec<Delivery>,
    /// Per step: ETH delivered, the demand hazard, LRT queued so far (after the step's new
    /// requests), new LRT queued, share of new requests served instantly, LRT paid so far
    /// (end of step), ETH paid at the step's start and from ETH arriving during it.
    arrivals_eth: Vec<f64>,
    hazard: Vec<f64>,
    cum_queued: Vec<f64>,
    new_queued: Vec<f64>,
    instant_share: Vec<f64>,
    cum_paid: Vec<f64>,
    paid_at_start: Vec<f64>,
    paid_from_arrivals: Vec<f64>,
    scratch: Vec<f64>,
}

/// Relative tolerance of "reached" comparisons on cumulative LRT (rounding in the sums).
const TOL: f64 = 1e-12;

impl<'m> Redemption<'m> {
    /// State for a model with `[withdrawals]`, over `n_steps` steps of `step_days`, for a
    /// restaked book of `book_eth` at t = 0.
    pub fn new(w: &'m WithdrawalModel, n_steps: u32, step_days: f64, book_eth: f64) -> Self {
        let n = n_steps as usize;
        let mut r = Redemption {
            w,
            step_days,
            n_steps: n,
            horizon_days: n as f64 * step_days,
            initial_assets_eth: book_eth + w.buffer_initial_eth,
            initial_book_eth: book_eth,
            supply_lrt: 0.0,
            queued_lrt: 0.0,
            liquid_eth: 0.0,
            transit_eth: 0.0,
            units_total: 0.0,
            escrow_units: 0.0,
            tokens_eth: 0.0,
            network_queue_eth: 0.0,
            network_time_days: 0.0,
            trigger_share_per_day: 0.0,
            pending_trigger: 0.0,
            paused_until_days: f64::NEG_INFINITY,
            nav_peak: 1.0,
            nav: 1.0,
            discount: 0.0,
            pool_lrt: 0.0,
            posted_wait_days: 0.0,
            paused_now: false,
            pending_arb_lrt: 0.0,
            arb_paid_eth: 0.0,
            cum_queued_lrt: 0.0,
            cum_paid_lrt: 0.0,
            requested_lrt: 0.0,
            redeemed_eth: 0.0,
            exit_fees_eth: 0.0,
            queued_loss_eth: 0.0,
            peak_queue_eth: 0.0,
            peak_network_queue_eth: 0.0,
            cohorts: Vec::with_capacity(n),
            head: 0,
            exits: Vec::with_capacity(n),
            next_escrow_end: 0,
            deliveries: Vec::with_capacity(n),
            arrivals_eth: vec![0.0; n],
            hazard: vec![0.0; n],
            cum_queued: vec![0.0; n],
            new_queued: vec![0.0; n],
            instant_share: vec![0.0; n],
            cum_paid: vec![0.0; n],
            paid_at_start: vec![0.0; n],
            paid_from_arrivals: vec![0.0; n],
            scratch: Vec::with_capacity(16),
        };
        r.reset();
        r
    }

    /// The t = 0 state.
    pub fn reset(&mut self) {
        let w = self.w;
        self.supply_lrt = self.initial_assets_eth;
        self.queued_lrt = 0.0;
        self.liquid_eth = w.buffer_initial_eth;
        self.transit_eth = 0.0;
        self.units_total = self.initial_book_eth;
        self.escrow_units = 0.0;
        self.tokens_eth = w.bucket_capacity_eth;
        self.network_queue_eth = w.network_queue_eth;
        self.network_time_days = 0.0;
        self.trigger_share_per_day = 0.0;
        self.pending_trigger = 0.0;
        self.paused_until_days = f64::NEG_INFINITY;
        self.nav_peak = 1.0;
        self.nav = 1.0;
        self.discount = 0.0;
        self.pool_lrt = 0.0;
        self.posted_wait_days = 0.0;
        self.paused_now = false;
        self.pending_arb_lrt = 0.0;
        self.arb_paid_eth = 0.0;
        self.cum_queued_lrt = 0.0;
        self.cum_paid_lrt = 0.0;
        self.requested_lrt = 0.0;
        self.redeemed_eth = 0.0;
        self.exit_fees_eth = 0.0;
        self.queued_loss_eth = 0.0;
        self.peak_queue_eth = 0.0;
        self.peak_network_queue_eth = w.network_queue_eth;
        self.cohorts.clear();
        self.head = 0;
        self.exits.clear();
        self.next_escrow_end = 0;
        self.deliveries.clear();
        self.arrivals_eth.fill(0.0);
    }

    /// Liquid ETH (buffer and anything delivered but not paid out).
    pub fn liquid_eth(&self) -> f64 {
        self.liquid_eth
    }
    /// ETH out of the restaked book and not yet delivered.
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
            self.nav
        }
    }

    /// LRT outstanding (t = 0 ETH units).
    pub fn supply_lrt(&self) -> f64 {
        self.supply_lrt
    }
    /// LRT waiting in the protocol queue, or to join it at the next step's start.
    pub fn queued_lrt(&self) -> f64 {
        self.queued_lrt + self.pending_arb_lrt
    }
    /// The network exit queue at `t` (not before the last time it was updated), ETH:
    /// draining at the churn and filling with the inflow since then. Read-only (for traces).
    pub fn network_queue_eth_at(&self, t: f64) -> f64 {
        let w = self.w;
        let dt = t - self.network_time_days;
        if dt > 0.0 {
            let net = w.network_inflow_eth_per_day - w.churn_eth_per_day;
            (self.network_queue_eth + net * dt).max(0.0)
        } else {
            self.network_queue_eth
        }
    }
    /// The demand hazard of step `k` once that step ran: the share of remaining holders
    /// asking to redeem, per day.
    pub fn hazard_per_day(&self, k: usize) -> f64 {
        self.hazard[k]
    }
    /// The market before a step: its discount (the demand hazard reacts to it) and the LRT its
    /// pool holds (not among the holders who may ask to redeem).
    pub fn set_market(&mut self, discount: f64, pool_lrt: f64) {
        self.discount = discount;
        self.pool_lrt = pool_lrt;
    }
    /// The wait posted at the current step's start, days (cooldown, exits, pause).
    pub fn posted_wait_days(&self) -> f64 {
        self.posted_wait_days
    }
    /// Instant-exit fee, a fraction.
    pub fn instant_fee(&self) -> f64 {
        self.w.instant_fee
    }
    /// ETH the instant path can still pay out in the current step (0 without a buffer or
    /// while paused).
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
    }
    /// Arbitrageurs' `lrt` joins the queue at the next step's start.
    pub fn queue_request(&mut self, lrt: f64) {
        self.pending_arb_lrt += lrt.max(0.0);
    }
    /// ETH the queue paid to arbitrageurs since the last call.
    pub fn take_arb_paid(&mut self) -> f64 {
        std::mem::take(&mut self.arb_paid_eth)
    }

    /// Rewards that reached the pool are liquid ETH.
    pub fn add_rewards(&mut self, eth: f64) {
        self.liquid_eth += eth;
    }

    /// The network exit queue at `t` (draining at the churn, filling with the inflow).
    fn network_queue_at(&mut self, t: f64) -> f64 {
        let w = self.w;
        let dt = t - self.network_time_days;
        if dt > 0.0 {
            let net = w.network_inflow_eth_per_day - w.churn_eth_per_day;
            self.network_queue_eth = (self.network_queue_eth + net * dt).max(0.0);
            self.network_time_days = t;
        }
        self.network_queue_eth
    }

    /// `eth` joins the back of the network exit queue at `t`; returns the days until the
    /// queue ahead of it has exited.
    pub fn join_network_queue(&mut self, t: f64, eth: f64) -> f64 {
        let ahead = self.network_queue_at(t);
        self.network_queue_eth += eth;
        self.peak_network_queue_eth = self.peak_network_queue_eth.max(self.network_queue_eth);
        ahead / self.w.churn_eth_per_day
    }

    /// A sector-wide rush of `eth` joins the network exit queue at `t` (in step `step`).
    pub fn rush(&mut self, step: u32, t: f64, eth: f64, triggers_run: bool) {
        self.join_network_queue(t, eth);
        if triggers_run {
            self.pulse(step, t);
        }
    }

    /// A loss event of `loss_eth` at `t` (in step `step`), when the pool's assets were
    /// `assets_before_eth`: may trigger a redemption pulse and pause withdrawals.
    pub fn loss(&mut self, step: u32, t: f64, loss_eth: f64, assets_before_eth: f64) {
        let share = loss_eth / assets_before_eth;
        if let Some(tr) = self.w.trigger
            && share >= tr.min_loss_fraction
        {
            self.pulse(step, t);
        }
        if let Some((min_share, days)) = self.w.pause
            && share >= min_share
        {
            self.paused_until_days = self.paused_until_days.max(t + days);
        }
    }

    /// Adds a trigger pulse at `t`, in step `step`, as seen from the start of the next step.
    fn pulse(&mut self, step: u32, t: f64) {
        if let Some(tr) = self.w.trigger {
            let next_step = f64::from(step + 1) * self.step_days;
            let age = (next_step - t).max(0.0);
            self.pending_trigger += tr.share_per_day * (-age / tr.decay_days).exp();
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
        });
    }

    /// Adds a delivery's ETH to the steps it arrives in (from the current step on).
    fn deliver(&mut self, d: Delivery) {
        let dt = self.step_days;
        let start = ((d.start_days() / dt).floor().max(0.0) as usize).min(self.n_steps);
        let mut before = 0.0;
        for j in start..self.n_steps {
            let by = d.share_by((j + 1) as f64 * dt, false);
            self.arrivals_eth[j] += d.eth * (by - before);
            before = by;
            if by >= 1.0 {
                break;
            }
        }
        self.deliveries.push(d);
    }

    /// Step `k` of the front door, at its start (see the module docs). `divert(demand, nav,
    /// posted_wait_days)` returns the LRT of the step's new demand that sold in the market
    /// instead of asking (0 without a market).
    pub fn step<F: FnMut(f64, f64, f64) -> f64>(
        &mut self,
        k: usize,
        ledger: &mut Ledger,
        mut divert: F,
    ) {
        let w = self.w;
        let dt = self.step_days;
        let t0 = k as f64 * dt;
        let t1 = t0 + dt;

        // 1. Escrows that end in this step: their ETH leaves the book and is delivered.
        while let Some(x) = self.exits.get(self.next_escrow_end).copied() {
            if x.escrow_end_days >= t1 - 1e-9 * dt {
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
                not_before_days: x.escrow_end_days.max(t0),
            });
            self.next_escrow_end += 1;
        }
        let arrivals = self.arrivals_eth[k];

        // 2. NAV, drawdown, posted wait, demand.
        let book = ledger.book_eth();
        let unit_eth = if self.units_total > 0.0 {
            book / self.units_total
        } else {
            0.0
        };
        let nav = self.nav(book);
        self.nav = nav;
        self.nav_peak = self.nav_peak.max(nav);
        let drawdown = 1.0 - nav / self.nav_peak;
        let network_queue = self.network_queue_at(t0);
        self.peak_network_queue_eth = self.peak_network_queue_eth.max(network_queue);
        let paused = t0 < self.paused_until_days;
        // The posted wait: the cooldown if liquid ETH covers the queue; else also until the
        // latest exit is paid out (its escrow's end, or its ETH's mean arrival); and if the
        // ETH on its way does not cover the queue either, until a new exit would be.
        let queue_eth = self.queued_lrt * nav;
        let mut posted_wait = w.cooldown_days;
        if queue_eth > self.liquid_eth {
            if let Some(x) = self.exits.last() {
                let paid = x.escrow_end_days.max(0.5 * (x.first_days + x.last_days));
                posted_wait = posted_wait.max(paid - t0);
            }
            let on_the_way = self.liquid_eth + self.transit_eth + self.escrow_units * unit_eth;
            if queue_eth > on_the_way {
                posted_wait = posted_wait.max(w.escrow_days).max(
                    network_queue / w.churn_eth_per_day + w.exit_delay_days + 0.5 * w.sweep_days,
                );
            }
        }
        if paused {
            posted_wait += self.paused_until_days - t0;
        }
        if let Some(tr) = w.trigger {
            if k > 0 {
                self.trigger_share_per_day *= (-dt / tr.decay_days).exp();
            }
            self.trigger_share_per_day += self.pending_trigger;
            self.pending_trigger = 0.0;
        }
        let mut h = w.base_share_per_day
            + w.nav_loss_sensitivity_per_day * drawdown
            + w.wait_sensitivity_per_day * (posted_wait - w.wait_free_days).max(0.0)
            + self.trigger_share_per_day;
        if w.discount_sensitivity_per_day > 0.0 {
            h += w.discount_sensitivity_per_day * self.discount.max(0.0);
        }
        let h = h.min(w.max_share_per_day);
        self.hazard[k] = h;
        self.posted_wait_days = posted_wait;
        self.paused_now = paused;
        let holders =
            (self.supply_lrt - self.queued_lrt - self.pending_arb_lrt - self.pool_lrt).max(0.0);
        let demand = holders * -(-h * dt).exp_m1();
        let sold = if demand > 0.0 {
            divert(demand, nav, posted_wait).clamp(0.0, demand)
        } else {
            0.0
        };
        let new_lrt = demand - sold;
        self.requested_lrt += new_lrt;

        // 3. Pay the queue from liquid ETH, serve the instant path, queue the rest, pay the
        //    queue from ETH arriving during the step.
        self.tokens_eth =
            (self.tokens_eth + w.bucket_refill_eth_per_day * dt).min(w.bucket_capacity_eth);
        let mut cap_eth = w.daily_cap_eth * dt;
        let mut at_start = 0.0;
        if !paused {
            let paid = self.pay_queue(t0, nav, cap_eth.min(self.liquid_eth));
            self.liquid_eth -= paid;
            cap_eth -= paid;
            at_start += paid;
        }
        let mut instant_lrt = 0.0;
        if w.instant && !paused && new_lrt > 0.0 && nav > 0.0 {
            let value = (new_lrt * w.instant_share * nav)
                .min(self.tokens_eth)
                .min(self.liquid_eth);
            instant_lrt = value / nav;
            self.tokens_eth -= value;
            self.liquid_eth -= value;
            self.supply_lrt -= instant_lrt;
            self.redeemed_eth += value * (1.0 - w.instant_fee);
            self.exit_fees_eth += value * w.instant_fee;
        }
        self.instant_share[k] = if new_lrt > 0.0 {
            instant_lrt / new_lrt
        } else {
            0.0
        };
        let arb_lrt = std::mem::take(&mut self.pending_arb_lrt);
        if arb_lrt > 0.0 {
            self.cohorts.push(Cohort {
                asked_days: t0,
                lrt: arb_lrt,
                nav_asked: nav,
                arb: true,
            });
            self.queued_lrt += arb_lrt;
            self.cum_queued_lrt += arb_lrt;
            self.requested_lrt += arb_lrt;
        }
        let queued = new_lrt - instant_lrt;
        if queued > 0.0 {
            self.cohorts.push(Cohort {
                asked_days: t0,
                lrt: queued,
                nav_asked: nav,
                arb: false,
            });
            self.queued_lrt += queued;
            self.cum_queued_lrt += queued;
        }
        self.new_queued[k] = queued.max(0.0);
        self.cum_queued[k] = self.cum_queued_lrt;
        let mut from_arrivals = 0.0;
        if !paused {
            let paid = self.pay_queue(t0, nav, cap_eth.min(self.liquid_eth + arrivals));
            let from_liquid = paid.min(self.liquid_eth);
            at_start += from_liquid;
            from_arrivals = paid - from_liquid;
            self.liquid_eth -= from_liquid;
        }
        self.liquid_eth += arrivals - from_arrivals;
        self.transit_eth = (self.transit_eth - arrivals).max(0.0);
        self.paid_at_start[k] = at_start;
        self.paid_from_arrivals[k] = from_arrivals;
        self.cum_paid[k] = self.cum_paid_lrt;

        // 4. Exit validators for what the queue and the buffer target still need.
        let escrow_eth = self.escrow_units * unit_eth;
        let need = self.queued_lrt * nav + w.buffer_target_eth
            - self.liquid_eth
            - self.transit_eth
            - escrow_eth;
        let free = (self.units_total - self.escrow_units).max(0.0) * unit_eth;
        let eth = need.min(free);
        if eth > 1e-12 * self.initial_assets_eth && unit_eth > 0.0 {
            let ahead_days = self.join_network_queue(t0, eth);
            let units = eth / unit_eth;
            self.escrow_units += units;
            self.exits.push(Exit {
                units,
                escrow_end_days: t0 + w.escrow_days,
                first_days: t0 + ahead_days + w.exit_delay_days,
                last_days: t0
                    + ahead_days
                    + eth / w.churn_eth_per_day
                    + w.exit_delay_days
                    + w.sweep_days,
            });
        }
        self.peak_queue_eth = self.peak_queue_eth.max(self.queued_lrt * nav);
    }

    /// Pays eligible requests first in, first out, with at most `budget_eth`; returns the ETH
    /// paid. A request gets the lower of its NAV when asked and the NAV now.
    fn pay_queue(&mut self, t0: f64, nav: f64, budget_eth: f64) -> f64 {
        let mut left = budget_eth;
        let eligible_by = t0 - self.w.cooldown_days + 1e-9 * self.step_days;
        while left > 0.0 && self.head < self.cohorts.len() {
            let c = self.cohorts[self.head];
            if c.asked_days > eligible_by {
                break;
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

    /// The per-path metrics, once every step ran; `u_t0` and `u_stress` place the two tagged
    /// holders among the requests of their step (uniform in [0, 1)).
    pub fn finish(&mut self, book_eth: f64, u_t0: f64, u_stress: f64) -> RedemptionOutcome {
        let nav_end = self.nav(book_eth);
        let mut queued_loss = self.queued_loss_eth;
        for c in &self.cohorts[self.head..] {
            queued_loss += c.lrt * (c.nav_asked - nav_end).max(0.0);
        }
        // The worst stress starts when the demand hazard first reaches half its path peak
        // above the calm level.
        let base = self.w.base_share_per_day;
        let peak = self.hazard.iter().copied().fold(base, f64::max);
        let stress_step = if peak > base * (1.0 + 1e-9) {
            let half = base + 0.5 * (peak - base);
            self.hazard.iter().position(|&h| h >= half).unwrap_or(0)
        } else {
            0
        };
        let mut points = std::mem::take(&mut self.scratch);
        let (t0_days, t0_unpaid) = self.wait_of(0, u_t0, &mut points);
        let (stress_days, stress_unpaid) = self.wait_of(stress_step, u_stress, &mut points);
        let peak_queue_days = self.peak_wait_days(&mut points);
        self.scratch = points;
        RedemptionOutcome {
            redeem_days_t0: t0_days,
            redeem_days_stress: stress_days,
            stress_start_days: stress_step as f64 * self.step_days,
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
            peak_network_queue_eth: self.peak_network_queue_eth,
        }
    }

    /// First step whose cumulative payments reach `lrt` (from step `from` on).
    fn paid_by_step(&self, from: usize, lrt: f64) -> Option<usize> {
        let reach = lrt * (1.0 - TOL);
        let j = from + self.cum_paid[from..].partition_point(|&c| c < reach);
        (j < self.n_steps).then_some(j)
    }

    /// Wait of a holder asking at the start of step `k`, at position `u` among the step's
    /// requests: (days, unpaid at the horizon).
    fn wait_of(&self, k: usize, u: f64, points: &mut Vec<f64>) -> (f64, bool) {
        let t_ask = k as f64 * self.step_days;
        let phi = self.instant_share[k];
        if u < phi {
            return (0.0, false);
        }
        let pos = if phi < 1.0 {
            (u - phi) / (1.0 - phi)
        } else {
            0.0
        };
        let place = self.cum_queued[k] - self.new_queued[k] * (1.0 - pos);
        match self.paid_by_step(k, place) {
            None => (self.horizon_days - t_ask, true),
            Some(j) => (self.paid_at(j, place, Some(points)) - t_ask, false),
        }
    }

    /// When, within step `j`, cumulative payments reach `place` LRT: payments from liquid
    /// ETH at the step's start, then from ETH as it arrives — at its exact arrival time with
    /// `points` (scratch space), else as if arrivals were spread evenly over the step.
    fn paid_at(&self, j: usize, place: f64, points: Option<&mut Vec<f64>>) -> f64 {
        let t0 = j as f64 * self.step_days;
        let before = if j > 0 { self.cum_paid[j - 1] } else { 0.0 };
        let in_step = self.cum_paid[j] - before;
        let share = if in_step > 0.0 {
            ((place - before) / in_step).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let value = share * (self.paid_at_start[j] + self.paid_from_arrivals[j]);
        let from_arrivals = value - self.paid_at_start[j];
        if from_arrivals <= 0.0 {
            return t0;
        }
        match points {
            Some(points) => self.arrival_time(j, from_arrivals, points),
            None => t0 + self.step_days * (from_arrivals / self.paid_from_arrivals[j]).min(1.0),
        }
    }

    /// The time within step `j` by which `eth` has arrived (the deliveries are exact
    /// piecewise-linear ramps with jumps, so this is exact).
    fn arrival_time(&self, j: usize, eth: f64, points: &mut Vec<f64>) -> f64 {
        let t0 = j as f64 * self.step_days;
        let t1 = t0 + self.step_days;
        let overlapping = || {
            self.deliveries
                .iter()
                .filter(move |d| d.start_days() < t1 && d.end_days() >= t0)
        };
        let arrived = |t: f64, right: bool| -> f64 {
            overlapping()
                .map(|d| d.eth * (d.share_by(t, right) - d.share_by(t0, false)))
                .sum()
        };
        points.clear();
        points.push(t0);
        for d in overlapping() {
            for p in [d.not_before_days, d.first_days, d.last_days] {
                if p > t0 && p < t1 {
                    points.push(p);
                }
            }
        }
        points.push(t1);
        points.sort_by(f64::total_cmp);
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let at_a = arrived(a, true);
            if at_a >= eth {
                return a;
            }
            let before_b = arrived(b, false);
            if before_b >= eth {
                return a + (b - a) * (eth - at_a) / (before_b - at_a);
            }
        }
        t1
    }

    /// Longest wait of any step's last request (the back of the queue). Every step's is
    /// found with arrivals spread evenly over the paying step; the longest is then timed
    /// exactly.
    fn peak_wait_days(&self, points: &mut Vec<f64>) -> f64 {
        let mut worst: Option<(f64, usize, Option<usize>)> = None;
        let mut j = 0;
        for k in 0..self.n_steps {
            if self.new_queued[k] <= 0.0 {
                continue;
            }
            let place = self.cum_queued[k];
            j = j.max(k);
            let reach = place * (1.0 - TOL);
            while j < self.n_steps && self.cum_paid[j] < reach {
                j += 1;
            }
            let t_ask = k as f64 * self.step_days;
            let (wait, paid) = if j == self.n_steps {
                (self.horizon_days - t_ask, None)
            } else {
                (self.paid_at(j, place, None) - t_ask, Some(j))
            };
            if worst.is_none_or(|(w, _, _)| wait > w) {
                worst = Some((wait, k, paid));
            }
        }
        match worst {
            None => 0.0,
            Some((wait, _, None)) => wait,
            Some((_, k, Some(j))) => {
                self.paid_at(j, self.cum_queued[k], Some(points)) - k as f64 * self.step_days
            }
        }
    }
}
