//! The side door: the LRT/ETH pool and everyone who trades in it, as per-step path state.
//!
//! The pool holds ETH and LRT under a real invariant ([`crate::amm`]); its LRT is counted in
//! *pool units*, LRT × the pool's rate (the NAV for a pool with a rate oracle or a rebasing
//! token, 1 for a plain pool). Prices are reported as market price / NAV. Within step k:
//!
//! 1. at its start, the pool's rate is marked to the NAV; of the holders who decide to redeem
//!    (the run model of [`crate::redemption`]), a share sells into the pool while the
//!    discount after price impact is below their cost of waiting
//!    ([`Market::divert`]);
//! 2. the step's events: depeg shocks and confidence shocks (a loss makes holders sell in
//!    proportion to it) start sell flows, spread evenly over their `sell_days`;
//! 3. [`Market::settle`]: the rate is marked to the NAV after the events; the flows' sales in
//!    the step are executed at once — the step's low, where the forced seller's proceeds are
//!    quoted; patient buyers close the gap to NAV at their half-life; arbitrageurs buy below
//!    their threshold and redeem (instantly while the buffer allows, else through the queue);
//!    the step-end price is recorded; liquidity providers leave or return.
//!
//! Every amount is in t = 0 ETH units (NAV 1 at t = 0), like the front door.

use std::cell::Cell;

use lrtsim_scenario::exploit::{LendingModel, RatesModel};
use lrtsim_scenario::market::{ArbitrageModel, MarketModel};
use lrtsim_scenario::spec::{OracleKind, PoolKind};

use crate::amm::{Fees, Invariant, Pool, Quote};
use crate::bands::PriceBands;
use crate::lending::LendingBook;
use crate::redemption::Redemption;

/// Sales left in a flow below this many LRT are dropped (rounding).
const DUST_LRT: f64 = 1e-12;
/// Rounds of instant arbitrage per step (capital comes back at once and is reused).
const ARB_ROUNDS: usize = 16;

/// LRT sold evenly over `[start, end)` (at once at `start` when `end == start`).
#[derive(Debug, Clone, Copy)]
struct Flow {
    start_days: f64,
    end_days: f64,
    lrt: f64,
}

impl Flow {
    /// LRT of the flow sold within `[t0, t1)`.
    fn in_step(&self, t0: f64, t1: f64) -> f64 {
        if self.end_days <= self.start_days {
            return if self.start_days < t1 { self.lrt } else { 0.0 };
        }
        let a = self.start_days.max(t0);
        let b = self.end_days.min(t1);
        if b <= a {
            0.0
        } else {
            self.lrt * (b - a) / (self.end_days - self.start_days)
        }
    }
}

/// Per-path market metrics (the per-threshold ones stay in [`Market`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MarketOutcome {
    /// Largest discount (1 − price / NAV) at any step's low, ≥ 0.
    pub max_discount: f64,
    /// Discount at the horizon (negative: a premium).
    pub end_discount: f64,
    /// Loss of the forced seller at the worst moment, a share of the position's t = 0 value.
    pub forced_sale_loss: f64,
    /// The largest shortfall from NAV of the same sale at any step's low or at the horizon
    /// (discount plus price impact and fee; its moment may differ from the worst sale's).
    pub forced_sale_discount: f64,
    /// Loss of a holder selling the same position at the horizon, share of t = 0 value.
    pub horizon_sale_loss: f64,
    /// LRT sold into the pool by depeg shocks, confidence shocks and redeeming holders, a
    /// share of the t = 0 supply.
    pub sold_share: f64,
    /// Of which redeeming holders (sellers instead of the queue).
    pub panic_sold_share: f64,
    /// LRT bought by arbitrageurs, share of the t = 0 supply.
    pub arb_bought_share: f64,
    /// Largest share of the t = 0 liquidity withdrawn by liquidity providers (1 − the lowest
    /// liquidity).
    pub liquidity_lost_share: f64,
}

/// Market state of one path, with buffers reused across paths.
pub struct Market<'m> {
    m: &'m MarketModel,
    step_days: f64,
    /// Per step: the share of the gap to NAV recovery buyers leave, 2^(−Δ/h), and the share
    /// of the missing liquidity that stays away at peg, 2^(−Δ/return half-life).
    recovery_keep: f64,
    liquidity_keep: f64,
    supply0_lrt: f64,
    pool0: Pool,
    pool: Pool,
    /// LRT → pool units.
    rate: f64,
    /// Liquidity, share of t = 0.
    liquidity: f64,
    flows: Vec<Flow>,
    arbs: Arbs,
    /// Discount at the last step's end.
    discount: f64,
    /// Whether the sellers' last sale was capped by their share of the demand (the next one
    /// then tries the cap before solving for their price: [`Pool::sell_to_price_cap_first`]).
    divert_capped: bool,
    /// The lending market's oracle, and for a TWAP the step-end prices (ETH per LRT) of the
    /// window's earlier steps, oldest first from `twap_head`.
    oracle: OracleKind,
    twap: Vec<f64>,
    twap_head: usize,
    twap_len: usize,
    /// The lending market's borrow-rate process, its ETH supplied at t = 0, outside lenders'
    /// withdrawals (day, share of the t = 0 supply, recovery days), and the peak rate.
    rates: Option<&'m RatesModel>,
    lend_supply0_eth: f64,
    supply_shocks: Vec<(f64, f64, f64)>,
    peak_rate: f64,

    min_low_ratio: f64,
    worst_proceeds_eth: f64,
    worst_nav_shortfall: f64,
    days_over: Vec<f64>,
    depeg_over: Vec<f64>,
    sold_lrt: f64,
    panic_lrt: f64,
    min_liquidity: f64,
}

impl<'m> Market<'m> {
    /// State for `m` over steps of `step_days`, with `supply_lrt` LRT outstanding at t = 0.
    pub fn new(
        m: &'m MarketModel,
        step_days: f64,
        supply_lrt: f64,
        lending: Option<&'m LendingModel>,
    ) -> Self {
        let oracle = lending.map(|l| (l.oracle, l.twap_days));
        let inv = match m.kind {
            PoolKind::Stableswap => Invariant::Stableswap {
                amp: m.amplification,
            },
            PoolKind::ConstantProduct => Invariant::ConstantProduct,
        };
        let fees = Fees {
            fee: m.fee,
            admin_share: m.admin_fee_share,
            offpeg_multiplier: m.offpeg_fee_multiplier,
        };
        let pool0 = Pool::with_fees(
            inv,
            fees,
            m.depth_eth * (1.0 - m.lrt_share),
            m.depth_eth * m.lrt_share,
        );
        let n = m.thresholds.len();
        let mut market = Market {
            m,
            step_days,
            recovery_keep: m
                .recovery_half_life_days
                .map_or(1.0, |h| (-step_days / h).exp2()),
            liquidity_keep: m
                .liquidity
                .map_or(1.0, |l| (-step_days / l.return_half_life_days).exp2()),
            supply0_lrt: supply_lrt,
            pool0,
            pool: pool0,
            rate: 1.0,
            liquidity: 1.0,
            flows: Vec::with_capacity(8),
            arbs: Arbs::default(),
            discount: 0.0,
            divert_capped: false,
            oracle: oracle.map_or(OracleKind::ExchangeRate, |o| o.0),
            // A TWAP over w days averages the current price with the ⌈w / dt⌉ − 1 step ends
            // before it.
            twap: vec![
                0.0;
                oracle.map_or(0, |(_, w)| ((w / step_days).ceil() as usize).max(1) - 1)
            ],
            twap_head: 0,
            twap_len: 0,
            rates: lending.and_then(|l| l.rates.as_ref()),
            lend_supply0_eth: 0.0,
            supply_shocks: Vec::with_capacity(4),
            peak_rate: 0.0,
            min_low_ratio: 1.0,
            worst_proceeds_eth: 0.0,
            worst_nav_shortfall: 0.0,
            days_over: vec![0.0; n],
            depeg_over: vec![0.0; n],
            sold_lrt: 0.0,
            panic_lrt: 0.0,
            min_liquidity: 1.0,
        };
        market.reset();
        market
    }

    /// The t = 0 state.
    pub fn reset(&mut self) {
        self.pool = self.pool0;
        self.rate = 1.0;
        self.liquidity = 1.0;
        self.flows.clear();
        self.arbs = Arbs {
            capital_eth: self.m.arbitrage.map_or(0.0, |a| a.capital_eth),
            ..Arbs::default()
        };
        self.discount = 1.0 - self.pool.price();
        self.divert_capped = false;
        self.twap_head = 0;
        self.twap_len = 0;
        self.supply_shocks.clear();
        self.peak_rate = 0.0;
        self.min_low_ratio = f64::INFINITY;
        self.worst_proceeds_eth = f64::INFINITY;
        self.worst_nav_shortfall = f64::NEG_INFINITY;
        self.days_over.fill(0.0);
        self.depeg_over.fill(0.0);
        self.sold_lrt = 0.0;
        self.panic_lrt = 0.0;
        self.min_liquidity = 1.0;
    }

    /// The pool (for tests and diagnostics).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Market price / NAV now.
    pub fn ratio(&self, nav: f64) -> f64 {
        self.pool.price() * self.rate / nav
    }

    /// Discount (1 − price / NAV) at the last step's end.
    pub fn discount(&self) -> f64 {
        self.discount
    }

    /// LRT held by the pool.
    pub fn pool_lrt(&self) -> f64 {
        self.pool.lrt_units() / self.rate
    }

    /// Arbitrage capital not tied up, ETH.
    pub fn capital_eth(&self) -> f64 {
        self.arbs.capital_eth
    }

    /// Marks the pool's rate to `nav` (a pool with a rate oracle, or a rebasing token).
    pub fn mark(&mut self, nav: f64) {
        if self.m.rate_oracle && nav > 0.0 && nav != self.rate {
            self.pool.rescale_lrt(nav / self.rate);
            self.rate = nav;
        }
    }

    /// A seller's marginal proceeds after the fee (ETH per pool unit, [`Quote::AfterFee`])
    /// that are `ratio` × NAV.
    fn sell_target(&self, ratio: f64, nav: f64) -> f64 {
        ratio * nav / self.rate
    }

    /// Of `demand_lrt` LRT whose holders decided to redeem at NAV `nav` with the queue
    /// posting `wait_days`, the LRT sold into the pool instead.
    pub fn divert(&mut self, demand_lrt: f64, nav: f64, wait_days: f64) -> f64 {
        let Some(s) = self.m.sellers else {
            return 0.0;
        };
        let willing = s.share_of_demand * demand_lrt;
        if willing <= 0.0 || nav <= 0.0 {
            return 0.0;
        }
        let floor = 1.0 - s.max_discount(wait_days);
        let swap = if floor > 0.0 {
            let target = self.sell_target(floor, nav);
            let cap = willing * self.rate;
            // The same sale either way (to rounding at the target); trying the cap first
            // saves the solve when it binds, as it did last time more often than not.
            let swap = if self.divert_capped {
                self.pool
                    .sell_to_price_cap_first(target, cap, Quote::AfterFee)
            } else {
                self.pool.sell_to_price(target, cap, Quote::AfterFee)
            };
            self.divert_capped = swap.amount_in == cap;
            swap
        } else {
            // Waiting costs them everything: they sell at any price.
            self.pool.sell(willing * self.rate)
        };
        let lrt = swap.amount_in / self.rate;
        self.sold_lrt += lrt;
        self.panic_lrt += lrt;
        lrt
    }

    /// A depeg shock at `t`: holders sell `share` of `supply_lrt`.
    pub fn shock(&mut self, t: f64, share: f64, sell_days: f64, supply_lrt: f64) {
        self.add_flow(t, sell_days, share * supply_lrt);
    }

    /// A loss event of `loss_share` of the pool's assets at `t`: confidence sales.
    pub fn loss(&mut self, t: f64, loss_share: f64, supply_lrt: f64) {
        if let Some(c) = self.m.confidence
            && loss_share >= c.min_loss_fraction
            && loss_share > 0.0
        {
            let lrt = (c.sell_per_loss * loss_share).min(1.0) * supply_lrt;
            self.add_flow(t, c.sell_days, lrt);
        }
    }

    /// `lrt` sold into the pool evenly over `days` from `t` (at once when `days` is 0).
    pub fn sell_over(&mut self, t: f64, days: f64, lrt: f64) {
        self.add_flow(t, days, lrt);
    }

    fn add_flow(&mut self, t: f64, days: f64, lrt: f64) {
        if lrt > DUST_LRT {
            self.flows.push(Flow {
                start_days: t,
                end_days: t + days,
                lrt,
            });
        }
    }

    /// The lending market's ETH supplied at t = 0, from its debt and utilization then.
    pub fn init_lending(&mut self, debt0_eth: f64) {
        if let Some(r) = self.rates {
            self.lend_supply0_eth = debt0_eth / r.utilization;
        }
    }

    /// Outside lenders withdraw `share` of the t = 0 supply at `t`, returning linearly over
    /// `recovery_days`.
    pub fn supply_shock(&mut self, t: f64, share: f64, recovery_days: f64) {
        self.supply_shocks.push((t, share, recovery_days));
    }

    /// Deepest discount (1 − price / NAV) at any step's low so far, ≥ 0: the path's
    /// `max_discount` once every step ran.
    pub fn max_discount_so_far(&self) -> f64 {
        (1.0 - self.min_low_ratio).max(0.0)
    }

    /// Highest borrow rate so far, per year.
    pub fn peak_borrow_rate(&self) -> f64 {
        self.peak_rate
    }

    /// A step of the borrow rate from `t0`: debt accrues the rate of the utilization (debt /
    /// the ETH supplied, which grows by the interest and falls by outside withdrawals); while it
    /// exceeds the LRT's yield by the spread, a share of every position unwinds — it sells
    /// collateral into the pool for the ETH its debt needs (if the pool can pay it) and
    /// releases the rest.
    fn borrow_step(&mut self, t0: f64, book: &mut LendingBook, front: Option<&mut Redemption>) {
        let Some(r) = self.rates else { return };
        let dt = self.step_days;
        let withdrawn: f64 = self
            .supply_shocks
            .iter()
            .filter(|s| s.0 <= t0)
            .map(|&(t, share, rec)| share * (1.0 - (t0 - t) / rec).max(0.0))
            .sum();
        // Interest paid is added to the lenders' deposits.
        let supply = self.lend_supply0_eth * (1.0 - withdrawn).max(0.0) + book.interest_eth();
        let debt = book.total_debt_eth();
        let u = if supply > debt { debt / supply } else { 1.0 };
        let rate = r.rate(u);
        self.peak_rate = self.peak_rate.max(rate);
        book.accrue(1.0 + rate * dt / lrtsim_scenario::DAYS_PER_YEAR);
        if rate - r.lrt_yield_per_year > r.unwind_spread_per_year {
            let share = -(-r.unwind_share_per_day * dt).exp_m1();
            if r.unwind_redeems {
                // They repay with their own ETH and queue the freed collateral.
                if let Some(front) = front {
                    let (released, _) = book.unwind(share);
                    front.queue_request(released);
                }
                return;
            }
            let (released, repay) = book.unwind_amounts(share);
            if repay > 0.0
                && let Some(dz) = self.pool.sell_for_eth(repay)
                && dz / self.rate <= released
            {
                self.pool.sell(dz);
                book.unwind(share);
            }
        }
    }

    /// The market price, ETH per LRT (marginal, before fees).
    pub fn price_eth(&self) -> f64 {
        self.pool.price() * self.rate
    }

    /// The lending market's oracle price of one LRT, ETH: the NAV, the pool's price, or its
    /// average with the window's earlier step ends.
    fn oracle_price(&self, pool: &Pool, nav: f64) -> f64 {
        let now = pool.price() * self.rate;
        match self.oracle {
            OracleKind::ExchangeRate => nav,
            OracleKind::Market => now,
            OracleKind::Twap => {
                let past: f64 = self.twap[..self.twap_len].iter().sum();
                (past + now) / (self.twap_len + 1) as f64
            }
        }
    }

    /// Liquidations at the current prices, iterated to a fixed point: liquidators sell what
    /// they seize into the pool at once, which (with a market or TWAP oracle) can make more
    /// positions liquidatable.
    ///
    /// Liquidations at the current prices, iterated to a fixed point: liquidators seize what
    /// they can sell at a profit — into the pool down to where its price, after the fee, is
    /// the oracle price / (1 + bonus), what they repay per LRT seized — and sell it at once,
    /// which (with a market or TWAP oracle) can make more positions liquidatable. After every
    /// round arbitrageurs buy back with what capital they have left, so the cascade runs into
    /// their bids before it runs into an empty pool. Positions liquidators cannot sell at a
    /// profit stay open (an exchange-rate oracle far above a crashed pool).
    fn cascade(&mut self, nav: f64, book: &mut LendingBook, mut front: Option<&mut Redemption>) {
        let rate = self.rate;
        let bonus = book.params().liquidator_bonus();
        // The arbitrageurs' prices stay the same through the cascade (the NAV, the rate and
        // the posted wait are those of the step).
        let arb = self
            .m
            .arbitrage
            .map(|a| ArbPrices::new(&a, front.as_deref(), nav, rate, self.step_days));
        let pool = Cell::new(self.pool);
        let mut arbs = self.arbs;
        book.liquidate_capped(
            || self.oracle_price(&pool.get(), nav),
            |oracle| {
                let floor = oracle / ((1.0 + bonus) * rate);
                pool.get().sell_to_price_units(floor, Quote::AfterFee) / rate
            },
            |lrt| {
                let mut p = pool.get();
                let swap = p.sell(lrt * rate);
                if let Some(a) = &arb {
                    arbitrage(&mut p, &mut arbs, a, front.as_deref_mut(), nav, rate);
                }
                pool.set(p);
                swap.amount_out
            },
        );
        self.pool = pool.get();
        self.arbs = arbs;
    }

    /// The rest of step `k` (see the module docs) at NAV `nav`, with the front door and the
    /// lending market if there are; records the step's end in `bands`.
    pub fn settle(
        &mut self,
        k: u32,
        nav: f64,
        mut front: Option<&mut Redemption>,
        lending: Option<&mut LendingBook>,
        minted_lrt: f64,
        bands: &mut PriceBands,
    ) {
        let m = self.m;
        let dt = self.step_days;
        let t0 = f64::from(k) * dt;
        let t1 = t0 + dt;
        self.mark(nav);

        // Sell flows of the step, from holders: not the pool, the queue or arbitrageurs.
        let mut sell = 0.0;
        for f in &self.flows {
            sell += f.in_step(t0, t1);
        }
        self.flows.retain(|f| f.end_days > t1);
        let posted = lending
            .as_deref()
            .map_or(0.0, LendingBook::total_collateral_lrt);
        let holders = match front.as_deref() {
            Some(r) => r.supply_lrt() - r.queued_lrt(),
            None => self.supply0_lrt + minted_lrt - self.arbs.held_lrt,
        } - self.pool_lrt()
            - posted;
        let sell = sell.min(holders.max(0.0));
        if sell > DUST_LRT {
            self.pool.sell(sell * self.rate);
            self.sold_lrt += sell;
        }

        if let Some(r) = front.as_deref_mut() {
            self.arbs.capital_eth += r.take_arb_paid();
        }
        if let Some(book) = lending {
            self.borrow_step(t0, book, front.as_deref_mut());
            self.cascade(nav, book, front.as_deref_mut());
        }

        // The step's low: depeg indicators and the forced seller's quote.
        let low = self.ratio(nav);
        self.min_low_ratio = self.min_low_ratio.min(low);
        for (i, &(d, _)) in m.thresholds.iter().enumerate() {
            if 1.0 - low > d {
                self.depeg_over[i] = 1.0;
            }
        }
        let proceeds = self.pool.quote_sell(m.position_eth * self.rate);
        self.worst_proceeds_eth = self.worst_proceeds_eth.min(proceeds);
        self.worst_nav_shortfall = self
            .worst_nav_shortfall
            .max(1.0 - proceeds / (m.position_eth * nav));

        // Patient buyers (or sellers above NAV) close the gap at their half-life.
        if m.recovery_half_life_days.is_some() {
            let q = self.ratio(nav);
            let target = 1.0 - (1.0 - q) * self.recovery_keep;
            let price = target * nav / self.rate;
            if q < target {
                self.pool
                    .buy_to_price(price, f64::INFINITY, Quote::Marginal);
            } else if q > target {
                self.pool
                    .sell_to_price(price, f64::INFINITY, Quote::Marginal);
            }
        }

        // Arbitrage: instant redemption where the buffer allows, then the queue (or holding
        // to the horizon without a front door); above NAV, holders sell.
        if let Some(a) = m.arbitrage {
            let prices = ArbPrices::new(&a, front.as_deref(), nav, self.rate, dt);
            let mut pool = self.pool;
            arbitrage(&mut pool, &mut self.arbs, &prices, front, nav, self.rate);
            self.pool = pool;
        }

        // The step's end.
        let q = self.ratio(nav);
        self.discount = 1.0 - q;
        for (i, &(d, _)) in m.thresholds.iter().enumerate() {
            if self.discount > d {
                self.days_over[i] += dt;
            }
        }
        bands.record(k, q);
        if !self.twap.is_empty() {
            let n = self.twap.len();
            let price = self.price_eth();
            if self.twap_len < n {
                self.twap[(self.twap_head + self.twap_len) % n] = price;
                self.twap_len += 1;
            } else {
                self.twap[self.twap_head] = price;
                self.twap_head = (self.twap_head + 1) % n;
            }
        }

        // Liquidity providers leave in a discount, come back at peg.
        if let Some(l) = m.liquidity {
            let d = self.discount.max(0.0);
            let floor = l.floor_share.min(1.0);
            let target = if d > l.calm_discount {
                (self.liquidity * (-l.flight_per_day * d * dt).exp()).max(floor.min(self.liquidity))
            } else {
                1.0 - (1.0 - self.liquidity) * self.liquidity_keep
            };
            if target != self.liquidity {
                self.pool.scale_liquidity(target / self.liquidity);
                self.liquidity = target;
                self.min_liquidity = self.min_liquidity.min(target);
            }
        }
    }

    /// The path's market metrics at NAV `nav` at the horizon.
    pub fn finish(&mut self, nav: f64) -> MarketOutcome {
        let m = self.m;
        self.mark(nav);
        let position = m.position_eth;
        let horizon = self.pool.quote_sell(position * self.rate);
        let worst = self.worst_proceeds_eth.min(horizon);
        MarketOutcome {
            max_discount: (1.0 - self.min_low_ratio).max(0.0),
            end_discount: 1.0 - self.ratio(nav),
            forced_sale_loss: 1.0 - worst / position,
            forced_sale_discount: self
                .worst_nav_shortfall
                .max(1.0 - horizon / (position * nav)),
            horizon_sale_loss: 1.0 - horizon / position,
            sold_share: self.sold_lrt / self.supply0_lrt,
            panic_sold_share: self.panic_lrt / self.supply0_lrt,
            arb_bought_share: self.arbs.bought_lrt / self.supply0_lrt,
            liquidity_lost_share: 1.0 - self.min_liquidity,
        }
    }

    /// Days with a step-end discount above each threshold, in threshold order.
    pub fn days_over(&self) -> &[f64] {
        &self.days_over
    }

    /// 1 for each threshold the discount exceeded at some step's low, in threshold order.
    pub fn depeg_over(&self) -> &[f64] {
        &self.depeg_over
    }
}

/// Arbitrageurs' money: capital free to use, LRT bought, and (without a front door) held.
#[derive(Debug, Clone, Copy, Default)]
struct Arbs {
    capital_eth: f64,
    bought_lrt: f64,
    held_lrt: f64,
    /// Whether their last queue (or hold) purchase was capped by their capital (the next one
    /// then tries the cap before solving for their price: [`Pool::buy_to_price_cap_first`]).
    queue_capped: bool,
}

/// The prices after the pool's fee ([`Quote::AfterFee`], ETH per pool unit) at which
/// arbitrageurs stop, at NAV `nav` on a pool at `rate`, steps of `dt` days: they buy while
/// their marginal cost is below what a redemption pays them net of their required return and
/// premium; above NAV by more than the premium, holders sell while their marginal proceeds
/// are above it.
#[derive(Debug, Clone, Copy)]
struct ArbPrices {
    /// Buying to redeem at once from the buffer (no wait, the instant fee).
    instant: f64,
    /// Buying to queue (a request queued now is paid at the next step's start at the
    /// earliest), or to hold without a front door.
    queue: f64,
    /// Holders sell above this.
    ceiling: f64,
}

impl ArbPrices {
    fn new(
        a: &ArbitrageModel,
        front: Option<&Redemption>,
        nav: f64,
        rate: f64,
        dt: f64,
    ) -> ArbPrices {
        let buy_target = |ratio: f64| ratio * nav / rate;
        let instant = front.map_or(0.0, |r| buy_target(a.threshold(0.0, r.instant_fee())));
        let wait_days = front.map_or(a.closed_wait_days, |r| r.posted_wait_days().max(dt));
        ArbPrices {
            instant,
            queue: buy_target(a.threshold(wait_days, 0.0)),
            ceiling: (1.0 + a.premium) * nav / rate,
        }
    }
}

/// Arbitrage at NAV `nav` on `pool` (LRT in pool units at `rate`) up to the prices `prices`: arbitrageurs buy while the price is below what a redemption pays them
/// net of their required return and premium — first what the buffer can redeem at once
/// (capital comes back at once, so up to [`ARB_ROUNDS`] rounds), then through the queue (or
/// to hold without a front door); above NAV by more than the premium, holders sell.
fn arbitrage(
    pool: &mut Pool,
    arbs: &mut Arbs,
    prices: &ArbPrices,
    mut front: Option<&mut Redemption>,
    nav: f64,
    rate: f64,
) {
    if let Some(r) = front.as_deref_mut() {
        let target = prices.instant;
        for _ in 0..ARB_ROUNDS {
            let capacity_eth = r.instant_capacity_eth();
            if capacity_eth <= 0.0 || arbs.capital_eth <= 0.0 || pool.price() >= target {
                break;
            }
            // Spend at most the capital and what buys the LRT the buffer can redeem.
            let max_dx = pool
                .buy_for_units(capacity_eth / nav * rate)
                .unwrap_or(f64::INFINITY);
            let cap = arbs.capital_eth.min(max_dx).max(0.0);
            let swap = pool.buy_to_price(target, cap, Quote::AfterFee);
            if swap.amount_out <= 0.0 {
                break;
            }
            let lrt = swap.amount_out / rate;
            arbs.capital_eth = (arbs.capital_eth - swap.amount_in).max(0.0);
            arbs.capital_eth += r.redeem_instant(lrt, nav);
            arbs.bought_lrt += lrt;
        }
    }
    let target = prices.queue;
    if arbs.capital_eth > 0.0 && pool.price() < target {
        let cap = arbs.capital_eth;
        let swap = if arbs.queue_capped {
            pool.buy_to_price_cap_first(target, cap, Quote::AfterFee)
        } else {
            pool.buy_to_price(target, cap, Quote::AfterFee)
        };
        arbs.queue_capped = swap.amount_in == cap;
        let lrt = swap.amount_out / rate;
        arbs.capital_eth = (arbs.capital_eth - swap.amount_in).max(0.0);
        arbs.bought_lrt += lrt;
        match front {
            Some(r) => r.queue_request(lrt),
            None => arbs.held_lrt += lrt,
        }
    }
    let ceiling = prices.ceiling;
    if pool.price() > ceiling {
        pool.sell_to_price(ceiling, f64::INFINITY, Quote::AfterFee);
    }
}
