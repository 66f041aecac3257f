//! The side door: the LRT/ETH pool and everyone who trades in it, in continuous time.
//!
//! The pool holds ETH and LRT under a real invariant ([`crate::amm`]); its LRT is counted in
//! *pool units*, LRT × the pool's rate (the NAV for a pool with a rate oracle or a rebasing
//! token, 1 for a plain pool). Prices are reported as market price / NAV.
//!
//! The kernel moves the market's clock forward with [`Market::advance`] up to each event
//! (slashing, a depeg shock, a mint…) and to each step's end, where [`Market::end_step`]
//! records price / NAV on the reporting grid. Within an advance the market integrates its
//! flows — sellers as rates in time, patient buyers at a half-life, interest, loopers
//! unwinding, liquidity providers leaving — in sub-steps in which price / NAV moves by at most
//! the scenario's `simulation.max_price_move_per_substep` (default [`MAX_MOVE_PER_SUBSTEP`];
//! Strang splitting of buyers and sales), with sales at once and liquidation cascades at
//! their moment — a position's the moment the lender's oracle crosses its threshold, within
//! a sub-step as much as at its ends (docs/model.md §15) — and arbitrage as an instantaneous
//! barrier (docs/model.md §14). The front door's flows are integrated in the same sub-steps
//! ([`Redemption::flow`]): redeeming holders may sell into the pool instead of queuing
//! ([`Market::divert`]).
//!
//! Every amount is in t = 0 ETH units (NAV 1 at t = 0), like the front door.

use std::cell::Cell;
use std::collections::VecDeque;

use lrtsim_scenario::exploit::{GuardianModel, LendingModel, RatesModel};
use lrtsim_scenario::market::{ArbitrageModel, MarketModel};
use lrtsim_scenario::spec::{GuardianTrigger, OracleKind, PoolKind};

use crate::amm::{Fees, Invariant, Pool, Quote};
use crate::bands::PriceBands;
use crate::lending::{LendingBook, PriceReads};
use crate::redemption::Redemption;

/// Sales left in a flow below this many LRT are dropped (rounding).
const DUST_LRT: f64 = 1e-12;
/// Rounds of instant arbitrage per step (capital comes back at once and is reused).
const ARB_ROUNDS: usize = 16;
/// Default largest move of price / NAV a sub-step may integrate at once ([`Market::advance`]):
/// the market's resolution in time, when a scenario does not set
/// `simulation.max_price_move_per_substep` ([`MarketModel::max_price_move_per_substep`]).
/// At this tolerance the closed-form checks (crates/sim/tests/closed_forms.rs) are within
/// 2·10⁻⁵ of price / NAV, and steth-2022's and ezeth-2024's market metrics within 1 % of
/// their values at a hundredth of it (docs/model.md §14).
pub const MAX_MOVE_PER_SUBSTEP: f64 = lrtsim_scenario::market::DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP;
/// Shortest sub-step, days (about 0.1 s): a sub-step that would have to be shorter to stay
/// within the tolerance is counted as unresolved.
pub const MIN_SUBSTEP_DAYS: f64 = 1e-6;

/// The most sub-steps a path may spend held to the sales' gross rates while arbitrageurs hold
/// the price ([`Market::advance`]; docs/model.md §14, §17): a pool far thinner than what is
/// sold into it would otherwise take about the gross move over the tolerance of them (a
/// 1-gwei pool, forever). The shipped scenarios use at most a few thousand.
pub const MAX_HELD_SUBSTEPS: u64 = 20_000;
/// How far past a position's threshold (relative, in price or health factor) a continuous
/// move — a flow's sales, interest — stops so that the position is liquidated there, at its
/// moment: far below any tolerance of the model, far above the rounding of a health factor
/// ([`crate::lending::HF_ROUNDING`]).
const STOP_PAST_THRESHOLD: f64 = 1e-12;

/// Share of a sub-step with the discount above `d` (≥ 0), the discount moving from `before`
/// to `after` geometrically when both are positive (exact for patient buyers closing the gap
/// at a half-life, the usual way a discount decays), else linearly.
fn share_above(before: f64, after: f64, d: f64) -> f64 {
    match (before > d, after > d) {
        (true, true) => 1.0,
        (false, false) => 0.0,
        (above, _) => {
            let share = if before > 0.0 && after > 0.0 && d > 0.0 {
                (before / d).ln() / (before / after).ln()
            } else {
                (before - d) / (before - after)
            };
            if above { share } else { 1.0 - share }
        }
    }
}

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
    /// The market's clock: how far [`Market::advance`] has integrated, days.
    t_days: f64,
    /// Sub-steps integrated so far on this path, and those the smallest sub-step allowed
    /// ([`MIN_SUBSTEP_DAYS`]) could not bring within the tolerance, plus the liquidation
    /// cascades stopped at their safety bound.
    substeps: u64,
    unresolved: u64,
    /// Sub-steps held to the gross rates so far on this path ([`MAX_HELD_SUBSTEPS`]).
    held_substeps: u64,
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
    /// Of the sub-step's diverting holders, those the holders' floor kept out of the pool
    /// (queued for now), LRT, and their floor as a sale target (ETH per pool unit after the
    /// fee): they sell again after the buyers' second half ([`Market::divert_at_floor`]).
    divert_held_lrt: f64,
    divert_target: f64,
    /// The lending market's oracle; for a TWAP its window, days, and the integral of the
    /// price (ETH per LRT) over time: `twap_samples` holds (time, integral from 0 to it),
    /// and the price held from then on, oldest first, back to the window's start (the price
    /// before t = 0 is the t = 0 price).
    oracle: OracleKind,
    twap_days: f64,
    twap_samples: VecDeque<(f64, f64, f64)>,
    /// The lending market's borrow-rate process, its ETH supplied at t = 0, outside lenders'
    /// withdrawals (day, share of the t = 0 supply, recovery days), and the peak rate.
    rates: Option<&'m RatesModel>,
    lend_supply0_eth: f64,
    supply_shocks: Vec<(f64, f64, f64)>,
    /// A sector's reserve: the other collaterals' debt and interest now, ETH (0 for one LRT).
    others_debt_eth: f64,
    others_interest_eth: f64,
    /// The utilization at or below which loopers do not unwind (the rate no more than the
    /// LRT's yield plus the spread; 1 without rates).
    unwind_stop_utilization: f64,
    peak_rate: f64,
    /// The lending market's guardian, and when it acts on this path: [start, end) days (+∞
    /// while it has not been set off).
    guardian: Option<GuardianModel>,
    guard_start: f64,
    guard_end: f64,
    /// Whether the current sub-step is paused (the guardian acts and stops at sub-steps'
    /// ends, so it is paused whole or not at all: liquidations due when a pause ends happen at
    /// the next sub-step's start, a jump there).
    paused_now: bool,
    /// Whether loopers unwound in the last sub-step.
    unwinding: bool,
    /// The last sub-step's length (0: none to go by) and how far it moved price / NAV.
    last_h: f64,
    last_move: f64,

    min_low_ratio: f64,
    worst_proceeds_eth: f64,
    worst_nav_shortfall: f64,
    /// Time with the discount above each threshold, days (crossings interpolated within a
    /// sub-step).
    days_over: Vec<f64>,
    depeg_over: Vec<f64>,
    sold_lrt: f64,
    panic_lrt: f64,
    /// ETH the pool paid for what `sold_lrt` counts, after the fee.
    sold_eth: f64,
    min_liquidity: f64,
}

/// A lending reserve's utilization, debt / supply, with 1 (no ETH left to withdraw, borrow
/// or flash-borrow) wherever the ETH left is within rounding (1e-12 of the supply) of none:
/// a borrower who took exactly what was left leaves it at 100 %.
pub(crate) fn utilization(debt_eth: f64, supply_eth: f64) -> f64 {
    if supply_eth - debt_eth > 1e-12 * supply_eth {
        debt_eth / supply_eth
    } else {
        1.0
    }
}

/// The highest utilization at which loopers do not unwind: the rate curve, nondecreasing,
/// no more than the LRT's yield plus the spread (0 if it exceeds it everywhere, 1 if
/// nowhere); by bisection to rounding.
fn unwind_stop_utilization(r: &lrtsim_scenario::exploit::RatesModel) -> f64 {
    let wants = |u: f64| r.rate(u) - r.lrt_yield_per_year > r.unwind_spread_per_year;
    if wants(0.0) {
        return 0.0;
    }
    if !wants(1.0) {
        return 1.0;
    }
    let (mut a, mut b) = (0.0f64, 1.0f64);
    for _ in 0..64 {
        let m = 0.5 * (a + b);
        if wants(m) { b = m } else { a = m }
    }
    a
}

impl<'m> Market<'m> {
    /// State for `m`, with `supply_lrt` LRT outstanding at t = 0.
    pub fn new(m: &'m MarketModel, supply_lrt: f64, lending: Option<&'m LendingModel>) -> Self {
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
            t_days: 0.0,
            substeps: 0,
            unresolved: 0,
            held_substeps: 0,
            supply0_lrt: supply_lrt,
            pool0,
            pool: pool0,
            rate: 1.0,
            liquidity: 1.0,
            flows: Vec::with_capacity(8),
            arbs: Arbs::default(),
            discount: 0.0,
            divert_capped: false,
            divert_held_lrt: 0.0,
            divert_target: 0.0,
            oracle: oracle.map_or(OracleKind::ExchangeRate, |o| o.0),
            twap_days: oracle.map_or(0.0, |o| o.1),
            twap_samples: VecDeque::with_capacity(64),
            rates: lending.and_then(|l| l.rates.as_ref()),
            lend_supply0_eth: 0.0,
            supply_shocks: Vec::with_capacity(4),
            others_debt_eth: 0.0,
            others_interest_eth: 0.0,
            unwind_stop_utilization: lending
                .and_then(|l| l.rates.as_ref())
                .map_or(1.0, unwind_stop_utilization),
            peak_rate: 0.0,
            guardian: lending.and_then(|l| l.guardian),
            guard_start: f64::INFINITY,
            guard_end: f64::INFINITY,
            paused_now: false,
            unwinding: false,
            last_h: 0.0,
            last_move: 0.0,
            min_low_ratio: 1.0,
            worst_proceeds_eth: 0.0,
            worst_nav_shortfall: 0.0,
            days_over: vec![0.0; n],
            depeg_over: vec![0.0; n],
            sold_lrt: 0.0,
            panic_lrt: 0.0,
            sold_eth: 0.0,
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
        self.divert_held_lrt = 0.0;
        self.divert_target = 0.0;
        self.t_days = 0.0;
        self.substeps = 0;
        self.unresolved = 0;
        self.held_substeps = 0;
        self.twap_samples.clear();
        if self.oracle == OracleKind::Twap {
            self.twap_samples.push_back((0.0, 0.0, self.pool0.price()));
        }
        self.supply_shocks.clear();
        self.others_debt_eth = 0.0;
        self.others_interest_eth = 0.0;
        self.peak_rate = 0.0;
        (self.guard_start, self.guard_end) = (f64::INFINITY, f64::INFINITY);
        self.paused_now = false;
        if let Some(g) = self.guardian
            && let Some(day) = g.at_days
        {
            (self.guard_start, self.guard_end) = (day, day + g.duration_days);
        }
        self.unwinding = false;
        self.last_h = 0.0;
        self.last_move = 0.0;
        self.min_low_ratio = f64::INFINITY;
        self.worst_proceeds_eth = f64::INFINITY;
        self.worst_nav_shortfall = f64::NEG_INFINITY;
        self.days_over.fill(0.0);
        self.depeg_over.fill(0.0);
        self.sold_lrt = 0.0;
        self.panic_lrt = 0.0;
        self.sold_eth = 0.0;
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
            if swap.amount_in < cap {
                // The floor binds: the rest would sell as the buyers lift the price.
                self.divert_held_lrt += (cap - swap.amount_in) / self.rate;
                self.divert_target = target;
            }
            swap
        } else {
            // Waiting costs them everything: they sell at any price.
            self.pool.sell(willing * self.rate)
        };
        let lrt = swap.amount_in / self.rate;
        self.sold_lrt += lrt;
        self.panic_lrt += lrt;
        self.sold_eth += swap.amount_out;
        lrt
    }

    /// The holders' floor is a barrier, as the arbitrageurs' is: where it binds, the holders
    /// who redeem because the pool pays less than their floor in continuous time sell at
    /// the rate the buyers lift the price, and the price stays at the floor. In the Strang
    /// splitting their sales come before the buyers' second half, which would leave every
    /// sub-step's end half a buyers' move above the floor — an error of first order in the
    /// sub-step (market-oracle-cascade's price sat at a 1.1 % floor, and the time beyond 1 %
    /// moved with the step). So those the floor held back this sub-step sell again after the
    /// buyers' second half, down to the floor, and leave the queue they had joined at the
    /// sub-step's end.
    fn divert_at_floor(&mut self, front: Option<&mut Redemption>) {
        let held = std::mem::take(&mut self.divert_held_lrt);
        let Some(r) = front else {
            return;
        };
        let lrt = held.min(r.last_request_lrt());
        if lrt <= DUST_LRT {
            return;
        }
        let swap = self
            .pool
            .sell_to_price(self.divert_target, lrt * self.rate, Quote::AfterFee);
        let sold = swap.amount_in / self.rate;
        if sold > 0.0 {
            r.withdraw_last_request(sold);
            self.sold_lrt += sold;
            self.panic_lrt += sold;
            self.sold_eth += swap.amount_out;
        }
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

    /// The lending market's ETH supplied at t = 0: a sector reserve's `supply_eth`, else from
    /// the debt `debt0_eth` and the utilization then.
    pub fn init_lending(&mut self, debt0_eth: f64) {
        if let Some(r) = self.rates {
            self.lend_supply0_eth = r.supply_eth.unwrap_or(debt0_eth / r.utilization);
        }
    }

    /// A sector's reserve as this market's lenders see it in its next sub-step: the other
    /// collaterals' debt and the interest they paid, ETH.
    pub fn set_reserve_others(&mut self, debt_eth: f64, interest_eth: f64) {
        self.others_debt_eth = debt_eth;
        self.others_interest_eth = interest_eth;
    }

    /// The ETH the outside lenders leave supplied at `t` (the t = 0 supply less their
    /// withdrawals under way, as asked; interest not included), 0 without
    /// `[lending.rates]`.
    pub fn lenders_supply_eth(&self, t: f64) -> f64 {
        let withdrawn: f64 = self
            .supply_shocks
            .iter()
            .filter(|s| s.0 <= t)
            .map(|&(ts, share, rec)| share * (1.0 - (t - ts) / rec).max(0.0))
            .sum();
        self.lend_supply0_eth * (1.0 - withdrawn).max(0.0)
    }

    /// The first time in (`t0`, `t_end`) at which the lenders' supply (interest `interest_eth`
    /// added) rises past `debt_eth` as their withdrawals come back, None if it does not: the
    /// supply is linear between the ends of the withdrawals' recoveries.
    fn supply_passes(&self, t0: f64, t_end: f64, debt_eth: f64, interest_eth: f64) -> Option<f64> {
        let gap = |t: f64| self.lenders_supply_eth(t) + interest_eth - debt_eth;
        let (mut a, mut ga) = (t0, gap(t0));
        loop {
            // The next end of a recovery (a kink), or `t_end`.
            let b = (self.supply_shocks.iter())
                .map(|&(ts, _, rec)| ts + rec)
                .filter(|&k| k > a && k < t_end)
                .fold(t_end, f64::min);
            let gb = gap(b);
            if utilization(debt_eth, debt_eth + gb) < 1.0 {
                let t = if ga < gb {
                    a + (b - a) * (-ga / (gb - ga))
                } else {
                    b
                };
                return (t < t_end).then(|| t.max(t0 + 1e-9));
            }
            if b >= t_end {
                return None;
            }
            (a, ga) = (b, gb);
        }
    }

    /// The first time in (`t0`, `t_end`) at which the utilization falls to
    /// `unwind_stop_utilization` (where the rate no longer exceeds the yield by the spread)
    /// while every position unwinds `share_per_day` a day — the debt `debt_eth` falling as
    /// e^(−share_per_day·τ), the lenders' supply (with `interest_eth`) coming back — None if
    /// it does not (interest within the sub-step neglected: it raises debt and supply alike).
    fn unwinding_stops(
        &self,
        t0: f64,
        t_end: f64,
        debt_eth: f64,
        interest_eth: f64,
        share_per_day: f64,
    ) -> Option<f64> {
        let stop = self.unwind_stop_utilization;
        let gap = |t: f64| {
            debt_eth * (-share_per_day * (t - t0)).exp()
                - stop * (self.lenders_supply_eth(t) + interest_eth)
        };
        if gap(t_end) > 0.0 {
            return None;
        }
        // The gap falls monotonically: bisection to rounding.
        let (mut a, mut b) = (t0, t_end);
        for _ in 0..60 {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                break;
            }
            if gap(m) > 0.0 { a = m } else { b = m }
        }
        (b < t_end).then(|| b.max(t0 + 1e-9))
    }

    /// The reserve's ETH left to borrow at `t` (the supply less every collateral's debt, ≥ 0),
    /// with `book` this market's collateral; ∞ without `[lending.rates]` (no reserve
    /// modelled).
    pub fn lend_available_eth(&self, t: f64, book: &LendingBook) -> f64 {
        if self.rates.is_none() {
            return f64::INFINITY;
        }
        let supply = self.lenders_supply_eth(t) + book.interest_eth() + self.others_interest_eth;
        (supply - book.total_debt_eth() - self.others_debt_eth).max(0.0)
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

    /// The lending market's utilization at `t` (debt / the ETH supplied, 1 when the supply
    /// does not exceed the debt); None without `[lending.rates]`.
    pub fn lend_utilization(&self, t: f64, book: &LendingBook) -> Option<f64> {
        self.rates.map(|_| self.utilization_at(t, book))
    }

    /// Debt / the ETH supplied at `t`: the t = 0 supply less the outside withdrawals under way,
    /// plus the interest paid; 1 when the supply does not exceed the debt.
    fn utilization_at(&self, t: f64, book: &LendingBook) -> f64 {
        // Interest paid is added to the lenders' deposits.
        let supply = self.lenders_supply_eth(t) + book.interest_eth() + self.others_interest_eth;
        let debt = book.total_debt_eth() + self.others_debt_eth;
        utilization(debt, supply)
    }

    /// The guardian's event `trigger` at `t`: a guardian waiting for it acts `delay_days`
    /// later (only the first such event counts).
    pub fn guardian_event(&mut self, t: f64, trigger: GuardianTrigger) {
        if let Some(g) = self.guardian
            && g.after == Some(trigger)
            && self.guard_start == f64::INFINITY
        {
            self.guard_start = t + g.delay_days;
            self.guard_end = self.guard_start + g.duration_days;
        }
    }

    /// Whether the guardian has paused the collateral at `t` (liquidations, unwinding and
    /// borrowing stop).
    fn paused(&self, t: f64) -> bool {
        self.guardian.is_some_and(|g| g.pause) && self.guard_start <= t && t < self.guard_end
    }

    /// Whether new borrowing against the collateral is stopped at `t` (a freeze or a pause).
    pub fn frozen(&self, t: f64) -> bool {
        self.guard_start <= t && t < self.guard_end
    }

    /// A step of the borrow rate from `t0`: debt accrues the rate of the utilization (debt /
    /// the ETH supplied, which grows by the interest and falls by outside withdrawals); while it
    /// exceeds the LRT's yield by the spread, a share of every position unwinds — it sells
    /// collateral into the pool for the ETH its debt needs (if the pool can pay it) and
    /// releases the rest.
    ///
    /// Interest accrues continuously: where it takes a position's health factor (or the
    /// looper's) below 1 within the sub-step, the accrual stops there for the liquidations,
    /// then goes on. The unwinding loopers' sale stops likewise at every threshold it takes a
    /// market oracle across ([`Market::sell_through_thresholds`]).
    fn borrow_step(
        &mut self,
        t0: f64,
        dt: f64,
        nav: f64,
        book: &mut LendingBook,
        mut front: Option<&mut Redemption>,
    ) {
        let Some(r) = self.rates else { return };
        let u = self.utilization_at(t0, book);
        let rate = r.rate(u);
        self.peak_rate = self.peak_rate.max(rate);
        // Debt grows as e^(g·t): a health factor h > 1 at the oracle price now falls to
        // 1 − STOP_PAST_THRESHOLD after (ln h − ln(1 − STOP_PAST_THRESHOLD))/g.
        let g = rate / lrtsim_scenario::DAYS_PER_YEAR;
        let mut left = dt;
        // Paused: nobody is liquidated or unwinds (the accrual goes on).
        let paused = self.paused_now;
        for _ in 0..book.params().max_calls {
            if paused {
                break;
            }
            let p = self.oracle_price(&self.pool, nav);
            let cross = match book.lowest_healthy_health_factor(p) {
                Some(hf) if g > 0.0 => (hf.ln() - (-STOP_PAST_THRESHOLD).ln_1p()) / g,
                _ => f64::INFINITY,
            };
            if cross >= left {
                break;
            }
            book.accrue((g * cross).exp());
            left -= cross;
            self.liquidations(nav, book, front.as_deref_mut());
        }
        book.accrue((g * left).exp());
        // Selling loopers unwind through flash loans drawn on the reserve: none at 100 %.
        self.unwinding = rate - r.lrt_yield_per_year > r.unwind_spread_per_year
            && (u < 1.0 || r.unwind_redeems)
            && !paused;
        if self.unwinding {
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
                // Unwinding moves no health factor; its sale may move a market oracle.
                book.unwind(share);
                // What the unwinding loopers receive repays their debt: not counted as sold.
                self.sell_through_thresholds(dz, nav, Some(book), front);
            }
        }
    }

    /// The market price, ETH per LRT (marginal, before fees).
    pub fn price_eth(&self) -> f64 {
        self.pool.price() * self.rate
    }

    /// The lending market's oracle price of one LRT, ETH, now: the NAV, the pool's price, or
    /// the pool's price averaged over the last `twap_days` (a time average: a trade now moves
    /// it only as time passes).
    fn oracle_price(&self, pool: &Pool, nav: f64) -> f64 {
        match self.oracle {
            OracleKind::ExchangeRate => nav,
            OracleKind::Market => pool.price() * self.rate,
            OracleKind::Twap => {
                let t = self.t_days;
                let w = self.twap_days;
                (self.price_integral(t) - self.price_integral(t - w)) / w
            }
        }
    }

    /// ∫₀ᵗ of the market price (ETH per LRT), from the TWAP's samples; for t < 0 the t = 0
    /// price extended back.
    fn price_integral(&self, t: f64) -> f64 {
        let first = self.twap_samples[0];
        if t <= first.0 {
            // Only before t = 0 (later samples are kept back to the window's start).
            return first.1 + first.2 * (t - first.0);
        }
        let i = self.twap_samples.partition_point(|&(ti, _, _)| ti <= t) - 1;
        let (ti, integral, price) = self.twap_samples[i];
        integral + price * (t - ti)
    }

    /// The first time in (`t0`, `t_end`] at which the TWAP — the market price held from `t0`
    /// at its value now, as the sub-step's samples hold it — falls just past the highest
    /// threshold price below it of a position (or the looper); None if it does not by
    /// `t_end`. The TWAP is then piecewise linear in time, with a kink wherever the window's
    /// start passes a sample (or `t0`): the crossing is found segment by segment, exactly. A
    /// crossing within 1e-9 day of `t0` is put there (a sub-step must move the clock).
    fn twap_crossing(&self, t0: f64, t_end: f64, book: &LendingBook) -> Option<f64> {
        let w = self.twap_days;
        let p = self.price_eth();
        let i0 = self.price_integral(t0);
        let integral = |s: f64| {
            if s <= t0 {
                self.price_integral(s)
            } else {
                i0 + p * (s - t0)
            }
        };
        let twap = |t: f64| (i0 + p * (t - t0) - integral(t - w)) / w;
        let now = twap(t0);
        let target = book.next_threshold_below(now)? * (1.0 - STOP_PAST_THRESHOLD);
        let first = self
            .twap_samples
            .partition_point(|&(ts, _, _)| ts + w <= t0);
        let kinks = self
            .twap_samples
            .range(first..)
            .map(|&(ts, _, _)| ts + w)
            .chain(std::iter::once(t0 + w))
            .take_while(|&k| k < t_end)
            .chain(std::iter::once(t_end));
        let (mut a, mut fa) = (t0, now - target);
        for b in kinks {
            if b <= a {
                continue;
            }
            let fb = twap(b) - target;
            if fb <= 0.0 {
                let t = if fa > 0.0 {
                    a + (b - a) * (fa / (fa - fb))
                } else {
                    a
                };
                return Some(t.clamp(t0 + 1e-9, b.max(t0 + 1e-9)));
            }
            (a, fa) = (b, fb);
        }
        None
    }

    /// Records the price held from `t` on (the TWAP's integral), dropping samples before the
    /// window.
    fn twap_sample(&mut self, t: f64) {
        if self.oracle != OracleKind::Twap {
            return;
        }
        let integral = self.price_integral(t);
        let price = self.price_eth();
        self.twap_samples.push_back((t, integral, price));
        let start = t - self.twap_days;
        while self.twap_samples.len() > 1 && self.twap_samples[1].0 <= start {
            self.twap_samples.pop_front();
        }
    }

    /// Liquidations now ([`Market::cascade`]); if any, the price right after them, before
    /// anyone responds, is a point of the path. Returns whether any position was liquidated.
    fn liquidations(
        &mut self,
        nav: f64,
        book: &mut LendingBook,
        front: Option<&mut Redemption>,
    ) -> bool {
        // Paused by the guardian: liquidations wait for its end.
        if self.paused_now {
            return false;
        }
        let liquidated = self.cascade(nav, book, front);
        if liquidated {
            self.record_low(nav);
        }
        liquidated
    }

    /// The liquidation cascade now (docs/model.md §15, [`LendingBook::liquidate_capped`]):
    /// liquidation calls one after the other, the most underwater position first, each
    /// reading the oracle where the previous one's sale left it, until nothing is
    /// liquidatable at the price read. Liquidators seize what they can sell at a profit —
    /// into the pool down to where its price, after the fee, is the oracle price /
    /// (1 + bonus), what they repay per LRT seized — and sell it at once, which (with a
    /// market oracle) can make the next position liquidatable; a TWAP and the exchange rate
    /// do not move within the instant, so there the cascade is one pass at their price.
    /// After every sale arbitrageurs buy back with what capital they have left, so the
    /// cascade runs into their bids before it runs into an empty pool. Positions liquidators
    /// cannot sell at a profit stay open (an exchange-rate oracle far above a crashed pool).
    /// A cascade that reaches the safety bound on calls counts as unresolved
    /// ([`Market::substeps`]). Returns whether any position was liquidated.
    fn cascade(
        &mut self,
        nav: f64,
        book: &mut LendingBook,
        mut front: Option<&mut Redemption>,
    ) -> bool {
        if !book.has_liquidatable(self.oracle_price(&self.pool, nav)) {
            return false;
        }
        let rate = self.rate;
        let bonus = book.params().liquidator_bonus();
        let reads = match self.oracle {
            OracleKind::Market => PriceReads::Moving,
            OracleKind::ExchangeRate | OracleKind::Twap => PriceReads::Fixed,
        };
        // The arbitrageurs' prices stay the same through the cascade (the NAV, the rate and
        // the posted wait are those of the step).
        let arb = self
            .m
            .arbitrage
            .map(|a| ArbPrices::new(&a, front.as_deref(), nav, rate));
        let pool = Cell::new(self.pool);
        let mut arbs = self.arbs;
        let cascade = book.liquidate_capped(
            reads,
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
        if cascade.unresolved {
            self.unresolved += 1;
        }
        cascade.calls > 0
    }

    /// Sells `units` pool units of LRT that holders sell as a rate in time (a flow's share of
    /// the sub-step, unwinding loopers) into the pool. With a market oracle the sale stops
    /// wherever the price crosses a position's threshold price (or the looper's), just past
    /// it, for the liquidations to happen at that moment, and then goes on: the sale's
    /// pieces and the liquidations in between, in the order a continuous sale meets them.
    /// Arbitrageurs bid at every stop first, as they do after any sale. Returns the ETH the
    /// pool paid for the sale (after the fee).
    fn sell_through_thresholds(
        &mut self,
        mut units: f64,
        nav: f64,
        lending: Option<&mut LendingBook>,
        mut front: Option<&mut Redemption>,
    ) -> f64 {
        let mut eth = 0.0;
        if let (Some(book), OracleKind::Market, false) = (lending, self.oracle, self.paused_now) {
            // Every stop liquidates a position or the looper (or leaves a position waiting
            // for its liquidators, no longer a threshold below the price): the bound is a
            // safety net only.
            for _ in 0..book.params().max_calls {
                let Some(threshold) = book.next_threshold_below(self.price_eth()) else {
                    break;
                };
                let target = threshold * (1.0 - STOP_PAST_THRESHOLD) / self.rate;
                let to_threshold = self.pool.sell_to_price_units(target, Quote::Marginal);
                if to_threshold >= units {
                    break;
                }
                if to_threshold > 0.0 {
                    eth += self.pool.sell(to_threshold).amount_out;
                    units -= to_threshold;
                }
                // Arbitrageurs respond to every sale at once (an instantaneous barrier, §14):
                // while their bids hold the price above the threshold, the rest of the sale
                // goes through them and nobody is liquidated — unless their capital runs out
                // on the way, and then at the price the rest leaves.
                if self.m.arbitrage.is_some() {
                    self.arbitrage_now(nav, front.as_deref_mut());
                    if self.price_eth() > target * self.rate {
                        eth += self.pool.sell(units).amount_out;
                        units = 0.0;
                        self.arbitrage_now(nav, front.as_deref_mut());
                        self.liquidations(nav, book, front.as_deref_mut());
                        break;
                    }
                }
                self.liquidations(nav, book, front.as_deref_mut());
            }
        }
        if units > 0.0 {
            eth += self.pool.sell(units).amount_out;
        }
        eth
    }

    /// Integrates the market from its clock to `t_to` (days) at NAV `nav`, with the front door
    /// and the lending market if there are (see the module docs): in sub-steps short enough
    /// that price / NAV moves by no more than the tolerance
    /// ([`MarketModel::max_price_move_per_substep`]) within one (flows, patient
    /// buyers, unwinding and liquidity flight as rates in time), ending at every flow's start
    /// and end (and, with a TWAP oracle, where it crosses a position's threshold). Within a
    /// sub-step: sales at once and the liquidations they (or an event since the last
    /// sub-step) set off, patient buyers, the flows' sales, interest and unwinding — each
    /// stopping at the thresholds it crosses for the liquidations there — the sub-step's
    /// low, patient buyers, arbitrage, time above the thresholds, liquidity providers.
    pub fn advance(
        &mut self,
        t_to: f64,
        nav: f64,
        mut front: Option<&mut Redemption>,
        mut lending: Option<&mut LendingBook>,
        minted_lrt: f64,
    ) {
        self.begin_advance(nav, front.as_deref_mut());
        while self.t_days < t_to {
            let t0 = self.t_days;
            let t1 = self.substep_end(t_to, nav, lending.as_deref(), front.as_deref());
            self.substep_to(
                t1,
                nav,
                front.as_deref_mut(),
                lending.as_deref_mut(),
                minted_lrt,
            );
            debug_assert!(self.t_days > t0);
        }
    }

    /// [`Market::advance`] in its parts, for markets advanced in lockstep (a sector's pools
    /// sharing one pot of arbitrage capital): first this, at NAV `nav` — the price marked,
    /// the point the last sub-step's events left, the front door's payments to arbitrageurs
    /// back in their capital.
    pub fn begin_advance(&mut self, nav: f64, front: Option<&mut Redemption>) {
        self.mark(nav);
        // What happened since the last sub-step (the front door's sellers, an event) left a
        // point of the path.
        self.record_low(nav);
        if let Some(r) = front {
            self.arbs.capital_eth += r.take_arb_paid();
        }
    }

    /// The end of the next sub-step from the market's clock toward `t_to` (see
    /// [`Market::advance`]; `t_to` itself when the rest is within rounding of it).
    pub fn substep_end(
        &mut self,
        t_to: f64,
        nav: f64,
        lending: Option<&LendingBook>,
        front: Option<&Redemption>,
    ) -> f64 {
        let t0 = self.t_days;
        let h = self.substep_days(t0, t_to, nav, lending, front);
        if t_to - t0 - h <= 1e-12 * t_to.max(1.0) {
            t_to
        } else {
            t0 + h
        }
    }

    /// One sub-step from the market's clock to `t1` (at most a [`Market::substep_end`]).
    pub fn substep_to(
        &mut self,
        t1: f64,
        nav: f64,
        front: Option<&mut Redemption>,
        lending: Option<&mut LendingBook>,
        minted_lrt: f64,
    ) {
        self.substep(self.t_days, t1, nav, front, lending, minted_lrt);
        self.t_days = t1;
    }

    /// ETH the pool has paid on this path for the LRT its holders, depeg and confidence
    /// shocks and attackers sold into it (after the fee; not liquidators' or unwinding
    /// loopers' sales).
    pub fn sold_eth(&self) -> f64 {
        self.sold_eth
    }

    /// The market's clock: how far it has been integrated, days.
    pub fn t_days(&self) -> f64 {
        self.t_days
    }

    /// The arbitrageurs' capital now, ETH (∞: unlimited).
    pub fn arb_capital_eth(&self) -> f64 {
        self.arbs.capital_eth
    }

    /// Sets the arbitrageurs' capital (a sector's pot, lent to each market in turn).
    pub fn set_arb_capital_eth(&mut self, eth: f64) {
        self.arbs.capital_eth = eth;
    }

    /// The length of the next sub-step from `t0`, at most to `t_to`: the time in which the
    /// price would move by the tolerance ([`MarketModel::max_price_move_per_substep`]) at the
    /// current rates — sales (flows, loopers unwinding and the front door's sellers) times the
    /// pool's price sensitivity, patient buyers closing the gap, liquidity flight — never past
    /// the next start or end of a flow, nor longer than the front door's own sub-step.
    fn substep_days(
        &mut self,
        t0: f64,
        t_to: f64,
        nav: f64,
        lending: Option<&LendingBook>,
        front: Option<&Redemption>,
    ) -> f64 {
        let m = self.m;
        let mut end = t_to;
        let mut sell_rate = 0.0;
        let q = self.ratio(nav);
        let discount = (1.0 - q).abs();
        let mut front_max = f64::INFINITY;
        if let Some(r) = front {
            // The front door's own resolution, and the holders it sends to the market.
            front_max = r.max_substep_days(t0, 1.0 - q);
            if let Some(s) = m.sellers {
                let posted = lending.map_or(0.0, LendingBook::total_collateral_lrt);
                let excluded = self.pool_lrt() + posted;
                sell_rate += s.share_of_demand * r.demand_lrt_per_day(t0, 1.0 - q, excluded);
            }
        }
        for f in &self.flows {
            if f.start_days == t0 || f.end_days == t0 {
                // The rates change here: start afresh from the estimate.
                self.last_h = 0.0;
            }
            if f.start_days > t0 {
                end = end.min(f.start_days);
            } else if f.end_days > t0 {
                end = end.min(f.end_days);
                sell_rate += f.lrt / (f.end_days - f.start_days);
            }
        }
        if let (Some(book), Some(r), true) = (lending, self.rates, self.unwinding) {
            sell_rate += r.unwind_share_per_day * book.total_collateral_lrt();
        }
        // The guardian: set off by a full reserve (which fills at events, and events start
        // sub-steps), it acts and stops at moments of their own.
        if let (Some(g), Some(book)) = (self.guardian, lending) {
            if g.after == Some(GuardianTrigger::FullUtilization)
                && self.rates.is_some()
                && self.utilization_at(t0, book) >= 1.0
            {
                self.guardian_event(t0, GuardianTrigger::FullUtilization);
            }
            for x in [self.guard_start, self.guard_end] {
                if x > t0 && x < end {
                    end = x;
                }
            }
        }
        // The reserve's thresholds act where they are crossed: at 100 %, the sub-step ends
        // where the lenders' returning ETH frees it (interest adds to debt and supply alike),
        // and the loopers kept from unwinding may start; unwinding, where the utilization
        // falls to the rate at which they stop.
        if let (Some(book), Some(r)) = (lending, self.rates) {
            let debt = book.total_debt_eth() + self.others_debt_eth;
            let interest = book.interest_eth() + self.others_interest_eth;
            let u = utilization(debt, self.lenders_supply_eth(t0) + interest);
            let wants = |u: f64| r.rate(u) - r.lrt_yield_per_year > r.unwind_spread_per_year;
            let crossing = if u >= 1.0 {
                self.supply_passes(t0, end, debt, interest)
            } else if wants(u) {
                self.unwinding_stops(t0, end, debt, interest, r.unwind_share_per_day)
            } else {
                None
            };
            if let Some(t) = crossing {
                end = t;
            }
            // Interest lowering a health factor to 1: the liquidation that follows changes the
            // utilization every looper reads, so the sub-step ends there (the accrual in
            // `borrow_step` stops at the same time) — unless the guardian has paused them.
            let g = r.rate(u) / lrtsim_scenario::DAYS_PER_YEAR;
            let p = self.oracle_price(&self.pool, nav);
            if g > 0.0
                && !self.paused(t0)
                && let Some(hf) = book.lowest_healthy_health_factor(p)
            {
                let cross = (hf.ln() - (-STOP_PAST_THRESHOLD).ln_1p()) / g;
                if t0 + cross < end {
                    end = (t0 + cross).max(t0 + 1e-9);
                }
            }
        }
        // A TWAP moves with time: the sub-step ends where it falls past the next position's
        // threshold, the moment of that liquidation (read at the sub-step's end).
        if let (OracleKind::Twap, Some(book), false) = (self.oracle, lending, self.paused(t0))
            && let Some(t) = self.twap_crossing(t0, end, book)
        {
            end = t;
        }
        // How fast price / NAV moves, in absolute terms (a pool far below NAV moves little).
        let mut move_rate = sell_rate * self.rate * self.pool.price_sensitivity() * q;
        let buyers_rate = m
            .recovery_half_life_days
            .map_or(0.0, |h| std::f64::consts::LN_2 / h * discount);
        move_rate += buyers_rate;
        let span = end - t0;
        let tol = m.max_price_move_per_substep;
        if move_rate * span <= tol {
            return span.min(front_max);
        }
        // The gross rates overstate the motion where arbitrage holds the price against the
        // sales (an instantaneous barrier at each sub-step's end): after a sub-step that moved
        // price / NAV by less than the tolerance, the next one may grow, at most doubling.
        let mut h = tol / move_rate;
        if self.last_h > 0.0 {
            let grow = if self.last_move > 0.0 {
                (tol / self.last_move).min(2.0)
            } else {
                2.0
            };
            h = h.max(self.last_h * grow);
        }
        // Nor while the arbitrageurs still have capital: they hold the price against the
        // sales by buying back after each sub-step's sale, and a grown sub-step's sale
        // overshoots the barrier by its gross move, so they buy back along the pool's curve
        // below the barrier instead of at it, as they would a continuous sale: their capital
        // buys more LRT than it can, lasts longer, and the run-out comes late — an error of
        // the order of the gross move (first order in the tolerance; ezeth-2024's flash crash
        // went 0.6995 / 0.7036 / 0.7051 at 3e-3 / 1e-3 / 3e-4). Charging them the barrier's
        // price for a grown sub-step's buy-back instead is not enough: their purchases join
        // the queue and move the wait, and so the barrier, which a grown sub-step holds at
        // its start (rseth-2026's max_discount then moved by 2 % with the step). While they
        // have capital the sub-step is the gross rates' (the sales' overshoot within the
        // tolerance) — the cost, for a pool much thinner than the sales, is about the gross
        // move over the tolerance in sub-steps (docs/model.md §17).
        if m.arbitrage.is_some() && self.arbs.capital_eth > 0.0 && sell_rate > 0.0 {
            let held = tol / move_rate;
            if held < h {
                if self.held_substeps < MAX_HELD_SUBSTEPS {
                    self.held_substeps += 1;
                    h = held;
                } else {
                    // A pool far thinner than its sales: past the budget the sub-steps grow
                    // again, and the path counts as unresolved (the run warns).
                    self.unresolved += 1;
                }
            }
        }
        // Never past the patient buyers' own move of the tolerance, though: they are split
        // against the sales (Strang), and where the two balance the net move is small while the
        // splitting's error is not — (ln 2·h/half-life)²/24 of the discount at a balance — so
        // growth would let the longest sub-step allowed, the reporting step, set the error.
        if buyers_rate > 0.0 {
            h = h.min(tol / buyers_rate);
        }
        if h >= span {
            return span.min(front_max);
        }
        if h < MIN_SUBSTEP_DAYS {
            self.unresolved += 1;
            return MIN_SUBSTEP_DAYS.min(span);
        }
        h.min(front_max)
    }

    /// One sub-step [`t0`, `t1`) (see [`Market::advance`]).
    fn substep(
        &mut self,
        t0: f64,
        t1: f64,
        nav: f64,
        mut front: Option<&mut Redemption>,
        mut lending: Option<&mut LendingBook>,
        minted_lrt: f64,
    ) {
        let m = self.m;
        let h = t1 - t0;
        self.substeps += 1;
        self.paused_now = self.paused(t0);
        self.twap_sample(t0);
        self.divert_held_lrt = 0.0;
        let mut before = 1.0 - self.ratio(nav);
        if let Some(r) = front.as_deref_mut() {
            // What the arbitrageurs read from now on: the wait posted at the sub-step's start.
            r.refresh_posted(t0);
        }

        // Sales of the flows in the sub-step, from holders: not the pool, the queue or
        // arbitrageurs. Sales at once (dumps) happen at the sub-step's start (sub-steps start
        // at every flow's start); the price right after them, before anyone responds, is a
        // low of the path.
        let (mut at_once, mut spread) = (0.0, 0.0);
        // Whether the price jumped at the sub-step's start.
        let mut jumped = false;
        for f in &self.flows {
            let lrt = f.in_step(t0, t1);
            if f.end_days <= f.start_days {
                at_once += lrt;
            } else {
                spread += lrt;
            }
        }
        self.flows
            .retain(|f| f.end_days > t1 || (f.end_days == f.start_days && f.start_days >= t1));
        if at_once + spread > DUST_LRT {
            let posted = lending
                .as_deref()
                .map_or(0.0, LendingBook::total_collateral_lrt);
            let holders = (match front.as_deref() {
                Some(r) => r.supply_lrt() - r.queued_lrt(),
                None => self.supply0_lrt + minted_lrt - self.arbs.held_lrt,
            } - self.pool_lrt()
                - posted)
                .max(0.0);
            let at_once = at_once.min(holders);
            spread = spread.min(holders - at_once);
            if at_once > DUST_LRT {
                self.sold_eth += self.pool.sell(at_once * self.rate).amount_out;
                self.sold_lrt += at_once;
                self.record_low(nav);
                // Arbitrageurs respond at once; the discount jumped at the sub-step's start.
                self.arbitrage_now(nav, front.as_deref_mut());
                before = 1.0 - self.ratio(nav);
                self.last_h = 0.0;
                jumped = true;
            }
        }
        // Liquidations at the sub-step's start: an event (a slashing moving the NAV, a mint's
        // borrowing) or a sale at once may have left positions liquidatable, and liquidators
        // waiting for a better market may find one.
        if let Some(book) = lending.as_deref_mut()
            && self.liquidations(nav, book, front.as_deref_mut())
        {
            before = 1.0 - self.ratio(nav);
            self.last_h = 0.0;
            jumped = true;
        }
        if jumped {
            // A TWAP averages the price after the jump from now on.
            self.twap_sample(t0);
        }

        // Patient buyers and the spread sales: buyers h/2, sellers h, buyers h/2 (Strang
        // splitting, second order in h), with the lenders after the sales. Arbitrage is an
        // instantaneous barrier: it acts on the sales as they happen, so it takes the sales'
        // overshoot below it back before anyone else sees the price — the redeeming holders
        // deciding whether to sell, the buyers' second half. Buyers acting on the overshoot
        // (a gap wider than the barrier ever lets open) would buy in the arbitrageurs' place,
        // by an amount proportional to the overshoot times the sub-step: an error of first
        // order in the tolerance, which delayed the moment the arbitrageurs' capital runs out
        // (docs/model.md §14).
        self.recover(nav, 0.5 * h);
        if spread > DUST_LRT {
            self.sold_eth += self.sell_through_thresholds(
                spread * self.rate,
                nav,
                lending.as_deref_mut(),
                front.as_deref_mut(),
            );
            self.sold_lrt += spread;
            self.arbitrage_within(nav, front.as_deref_mut());
        }
        if let Some(r) = front.as_deref_mut() {
            // Holders ask to redeem over the sub-step; some sell here instead.
            let posted = lending
                .as_deref()
                .map_or(0.0, LendingBook::total_collateral_lrt);
            let excluded = self.pool_lrt() + posted;
            let discount = 1.0 - self.ratio(nav);
            r.flow(t0, t1, discount, excluded, |demand, nav, wait| {
                self.divert(demand, nav, wait)
            });
        }
        if let Some(book) = lending {
            self.borrow_step(t0, h, nav, book, front.as_deref_mut());
            self.t_days = t1;
            // The oracle at the sub-step's end (a TWAP moves with time), and liquidators
            // waiting for a better market after the buyers' first half.
            self.liquidations(nav, book, front.as_deref_mut());
        }
        // The barrier on the diverted holders' and the unwinding loopers' sales.
        self.arbitrage_within(nav, front.as_deref_mut());
        self.recover_at_barrier(nav, 0.5 * h, front.is_some());
        self.divert_at_floor(front.as_deref_mut());
        if let Some(r) = front.as_deref_mut() {
            r.queue_request(std::mem::take(&mut self.arbs.deferred_lrt));
        }

        // Arbitrage: instant redemption where the buffer allows, then the queue (or holding
        // to the horizon without a front door); above NAV, holders sell.
        self.arbitrage_now(nav, front);

        // The sub-step's end: a point of the path, time above each threshold (the discount
        // moving linearly from its value at the start).
        self.record_low(nav);
        let after = 1.0 - self.ratio(nav);
        self.last_h = h;
        self.last_move = (after - before).abs();
        self.discount = after;
        for (i, &(d, _)) in m.thresholds.iter().enumerate() {
            self.days_over[i] += h * share_above(before, after, d);
        }

        // Liquidity providers leave in a discount, come back at peg.
        if let Some(l) = m.liquidity {
            let d = after.max(0.0);
            let floor = l.floor_share.min(1.0);
            let target = if d > l.calm_discount {
                (self.liquidity * (-l.flight_per_day * d * h).exp()).max(floor.min(self.liquidity))
            } else {
                1.0 - (1.0 - self.liquidity) * (-h / l.return_half_life_days).exp2()
            };
            if target != self.liquidity {
                self.pool.scale_liquidity(target / self.liquidity);
                self.liquidity = target;
                self.min_liquidity = self.min_liquidity.min(target);
            }
        }
    }

    /// Arbitrage within a sub-step, on the sales integrated over it: as [`Market::arbitrage_now`],
    /// but what they buy to queue joins the queue at the sub-step's end with the rest of
    /// their purchases of the sub-step (the front door stamps requests with its clock, and a
    /// request stamped at the sub-step's start would be queued ahead of the holders who asked
    /// over it: the order would depend on the sub-step). Not while the buffer can pay at
    /// once: arbitrageurs and redeeming holders then compete for it, and the holders' flow of
    /// the sub-step comes first, arbitrage at its end ([`Market::arbitrage_now`] in
    /// [`Market::substep`]) — taking the buffer mid-sub-step moved leverage-loop's stressed
    /// holder's wait with the step (4.36 / 4.17 / 4.09 days at ¼, ⅛ and 1/16 day).
    fn arbitrage_within(&mut self, nav: f64, front: Option<&mut Redemption>) {
        self.arbs.defer_queue = true;
        self.arbitrage_now(nav, front);
        self.arbs.defer_queue = false;
    }

    /// Arbitrage now, at NAV `nav`: instant redemption where the buffer allows, then the queue
    /// (or holding to the horizon without a front door); above NAV, holders sell.
    fn arbitrage_now(&mut self, nav: f64, front: Option<&mut Redemption>) {
        if let Some(a) = self.m.arbitrage {
            let prices = ArbPrices::new(&a, front.as_deref(), nav, self.rate);
            let mut pool = self.pool;
            arbitrage(&mut pool, &mut self.arbs, &prices, front, nav, self.rate);
            self.pool = pool;
        }
    }

    /// A point of the price path that may be its low: depeg indicators and the forced
    /// seller's quote.
    fn record_low(&mut self, nav: f64) {
        let m = self.m;
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
    }

    /// Patient buyers (or sellers above NAV) over `h` days: the gap to NAV closes at their
    /// half-life, 2^(−h/half-life).
    fn recover(&mut self, nav: f64, h: f64) {
        if let Some(half_life) = self.m.recovery_half_life_days {
            let q = self.ratio(nav);
            let target = 1.0 - (1.0 - q) * (-h / half_life).exp2();
            let price = target * nav / self.rate;
            if q < target {
                self.pool
                    .buy_to_price(price, f64::INFINITY, Quote::Marginal);
            } else if q > target {
                self.pool
                    .sell_to_price(price, f64::INFINITY, Quote::Marginal);
            }
        }
    }

    /// The patient buyers' second half-step where the arbitrageurs held their barrier within
    /// the sub-step. In continuous time the barrier holds the price while it binds, the
    /// buyers buy at the barrier's price and the arbitrageurs only what the buyers leave of
    /// the sales; in the splitting the arbitrageurs first bought all of it, and buyers
    /// lifting the price after them would end every sub-step half a buyers' move above the
    /// barrier — an error of first order in the sub-step in every rate that reads the price
    /// (demand, liquidity flight, a market oracle): market-oracle-cascade's price sat on the
    /// barrier for weeks, where demand grows with the discount, and its time beyond 1 % moved
    /// with the step. So what the buyers buy over `h` at the barrier's price first takes
    /// over the arbitrageurs' purchases of the sub-step (the pool is as they left it; they get
    /// the ETH back at their average price), and only the rest moves the price.
    fn recover_at_barrier(&mut self, nav: f64, h: f64, front: bool) {
        let within_lrt = std::mem::take(&mut self.arbs.within_lrt);
        let within_eth = std::mem::take(&mut self.arbs.within_eth);
        let Some(half_life) = self.m.recovery_half_life_days else {
            return;
        };
        if within_lrt <= DUST_LRT {
            self.recover(nav, h);
            return;
        }
        let q = self.ratio(nav);
        let target = 1.0 - (1.0 - q) * (-h / half_life).exp2();
        if q >= target {
            return;
        }
        let mut probe = self.pool;
        let b = probe
            .buy_to_price(target * nav / self.rate, f64::INFINITY, Quote::Marginal)
            .amount_out
            / self.rate;
        let taken = b.min(within_lrt);
        self.arbs.capital_eth += taken * within_eth / within_lrt;
        self.arbs.bought_lrt -= taken;
        if front {
            self.arbs.deferred_lrt -= taken;
        } else {
            self.arbs.held_lrt -= taken;
        }
        if b > taken {
            // The buyers outbuy the sales: the rest lifts the price.
            if let Some(dx) = self.pool.buy_for_units((b - taken) * self.rate) {
                self.pool.buy(dx);
            } else {
                self.pool = probe;
            }
        }
    }

    /// The end of step `k` at NAV `nav`: its price / NAV in `bands` (the reporting grid).
    pub fn end_step(&mut self, k: u32, nav: f64, bands: &mut PriceBands) {
        bands.record(k, self.ratio(nav));
    }

    /// Sub-steps integrated on this path so far, and how many of them the smallest sub-step
    /// allowed could not bring within the tolerance
    /// ([`MarketModel::max_price_move_per_substep`]) — counting with them the liquidation
    /// cascades that stopped at their safety bound ([`crate::lending::MAX_CASCADE_CALLS`]):
    /// either way, unresolved.
    pub fn substeps(&self) -> (u64, u64) {
        (self.substeps, self.unresolved)
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
    /// Whether their queue purchases wait for the sub-step's end to be queued, and the LRT
    /// waiting ([`Market::arbitrage_within`]).
    defer_queue: bool,
    deferred_lrt: f64,
    /// What they bought holding their barrier within the sub-step (LRT, and the ETH it
    /// cost): the patient buyers' second half takes it over ([`Market::recover_at_barrier`]).
    within_lrt: f64,
    within_eth: f64,
}

/// The prices after the pool's fee ([`Quote::AfterFee`], ETH per pool unit) at which
/// arbitrageurs stop, at NAV `nav` on a pool at `rate`: they buy while
/// their marginal cost is below what a redemption pays them net of their required return and
/// premium; above NAV by more than the premium, holders sell while their marginal proceeds
/// are above it.
#[derive(Debug, Clone, Copy)]
struct ArbPrices {
    /// Buying to redeem at once from the buffer (no wait, the instant fee).
    instant: f64,
    /// Buying to queue (paid after the wait the front door posts now, which runs to a
    /// processing time), or to hold without a front door.
    queue: f64,
    /// Holders sell above this.
    ceiling: f64,
}

impl ArbPrices {
    fn new(a: &ArbitrageModel, front: Option<&Redemption>, nav: f64, rate: f64) -> ArbPrices {
        let buy_target = |ratio: f64| ratio * nav / rate;
        let instant = front.map_or(0.0, |r| buy_target(a.threshold(0.0, r.instant_fee())));
        let wait_days = front.map_or(a.closed_wait_days, Redemption::posted_wait_days);
        ArbPrices {
            instant,
            queue: buy_target(a.threshold(wait_days, 0.0)),
            ceiling: (1.0 + a.premium) * nav / rate,
        }
    }
}

/// Arbitrage at NAV `nav` on `pool` (LRT in pool units at `rate`) up to the prices `prices`:
/// arbitrageurs buy while the price is below what a redemption pays them net of their required
/// return and premium, by the route that pays more first — redeeming at once from the buffer
/// (capital comes back at once, so up to [`ARB_ROUNDS`] rounds) or through the queue (or to
/// hold without a front door); above NAV by more than the premium, holders sell.
///
/// The order matters only where both routes are open: in continuous time the higher of the
/// two prices is a barrier the price does not cross while the arbitrageurs have capital, so
/// the other route never trades; bought the other way round, a sale's overshoot below both
/// prices went to the lower route in a share that grew with the sub-step (leverage-loop,
/// whose queue pays more than the buffer's fee while the cooldown is all the wait, routed
/// more of its arbitrage through the buffer the longer the sub-step, and its stressed
/// holder's wait moved by a quarter with the market's tolerance). Within a sub-step
/// (`arbs.defer_queue`) the buffer is not used while it could pay: the holders' flow of the
/// sub-step comes first ([`Market::arbitrage_within`]).
fn arbitrage(
    pool: &mut Pool,
    arbs: &mut Arbs,
    prices: &ArbPrices,
    mut front: Option<&mut Redemption>,
    nav: f64,
    rate: f64,
) {
    let buffer_open = front
        .as_deref()
        .is_some_and(|r| r.instant_capacity_eth() > 0.0);
    let use_buffer = buffer_open && !arbs.defer_queue;
    if prices.queue > prices.instant {
        arbitrage_queue(pool, arbs, prices.queue, front.as_deref_mut(), rate);
        if use_buffer && let Some(r) = front {
            arbitrage_instant(pool, arbs, prices.instant, r, nav, rate);
        }
    } else {
        if use_buffer && let Some(r) = front.as_deref_mut() {
            arbitrage_instant(pool, arbs, prices.instant, r, nav, rate);
        }
        if !buffer_open || !arbs.defer_queue {
            arbitrage_queue(pool, arbs, prices.queue, front, rate);
        }
    }
    arbitrage_ceiling(pool, prices.ceiling);
}

/// Arbitrageurs buy up to `target` what the buffer of `r` can redeem at once, at NAV `nav`.
fn arbitrage_instant(
    pool: &mut Pool,
    arbs: &mut Arbs,
    target: f64,
    r: &mut Redemption,
    nav: f64,
    rate: f64,
) {
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

/// Arbitrageurs buy up to `target` to queue at the front door (or to hold without one).
fn arbitrage_queue(
    pool: &mut Pool,
    arbs: &mut Arbs,
    target: f64,
    front: Option<&mut Redemption>,
    rate: f64,
) {
    if arbs.capital_eth > 0.0 && pool.price() < target {
        let cap = arbs.capital_eth;
        let swap = if arbs.queue_capped {
            pool.buy_to_price_cap_first(target, cap, Quote::AfterFee)
        } else {
            pool.buy_to_price(target, cap, Quote::AfterFee)
        };
        arbs.queue_capped = swap.amount_in == cap;
        let (units, cost) = (swap.amount_out, swap.amount_in);
        let lrt = units / rate;
        arbs.capital_eth = (arbs.capital_eth - cost).max(0.0);
        arbs.bought_lrt += lrt;
        if arbs.defer_queue {
            arbs.within_lrt += lrt;
            arbs.within_eth += cost;
        }
        match front {
            Some(_) if arbs.defer_queue => arbs.deferred_lrt += lrt,
            Some(r) => r.queue_request(lrt),
            None => arbs.held_lrt += lrt,
        }
    }
}

/// Above NAV by more than the premium, holders sell down to `ceiling`.
fn arbitrage_ceiling(pool: &mut Pool, ceiling: f64) {
    if pool.price() > ceiling {
        pool.sell_to_price(ceiling, f64::INFINITY, Quote::AfterFee);
    }
}
