//! The compiled market model: `[market]` in the units the path kernel works in (days,
//! fractions, ETH at t = 0 NAV), with every default resolved.

use rand_distr::Poisson;

use crate::DAYS_PER_YEAR;
use crate::severity::SeverityDist;
use crate::spec::{PoolKind, Scenario};

/// Basis points per unit.
const BPS: f64 = 10_000.0;

/// Default admin share of a StableSwap pool's fees: stableswap-ng's `admin_fee`
/// (5000000000 of 1e10).
pub const CURVE_ADMIN_FEE_SHARE: f64 = 0.5;

/// Default StableSwap amplification.
pub const DEFAULT_AMPLIFICATION: f64 = 100.0;

/// Default of `simulation.max_price_move_per_substep`: the largest move of price / NAV one
/// sub-step of the market may integrate at once (docs/model.md §14).
pub const DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP: f64 = 3e-3;

/// Range of `simulation.max_price_move_per_substep`, (lower, upper]. Sub-steps grow in number
/// as 1 / the tolerance and the splitting error falls as its square: at 10⁻⁶ a path whose
/// price moves by half takes some 10⁶ sub-steps for an error far below the pool solvers'
/// rounding; above 5 % a sub-step is coarser than the discount thresholds a scenario reports
/// (100 bp by default).
pub const MAX_PRICE_MOVE_PER_SUBSTEP_RANGE: (f64, f64) = (1e-6, 0.05);

/// The secondary market of a scenario.
#[derive(Debug, Clone)]
pub struct MarketModel {
    /// Invariant of the pool.
    pub kind: PoolKind,
    /// StableSwap amplification (unused for constant product).
    pub amplification: f64,
    /// Pool value at t = 0, ETH.
    pub depth_eth: f64,
    /// Share of the pool's t = 0 value held as LRT.
    pub lrt_share: f64,
    /// Swap fee, a fraction: of the amount out (StableSwap, at balance), of the amount in
    /// (constant product).
    pub fee: f64,
    /// Share of every fee that leaves the pool, in [0, 1].
    pub admin_fee_share: f64,
    /// stableswap-ng's off-peg fee multiplier (1: a static fee).
    pub offpeg_fee_multiplier: f64,
    /// Whether the pool prices the LRT against its NAV.
    pub rate_oracle: bool,
    /// Liquidity flight and return.
    pub liquidity: Option<LiquidityModel>,
    /// Exogenous depeg shocks.
    pub shocks: Vec<DepegShockModel>,
    /// Confidence shocks after losses.
    pub confidence: Option<ConfidenceModel>,
    /// Half-life of the discount under patient buyers, days (None: no such buyers).
    pub recovery_half_life_days: Option<f64>,
    /// Arbitrage.
    pub arbitrage: Option<ArbitrageModel>,
    /// Redeeming holders who use the pool.
    pub sellers: Option<SellersModel>,
    /// Position of the forced and horizon sellers, ETH at t = 0.
    pub position_eth: f64,
    /// Discount thresholds, fractions, with their basis points for column names.
    pub thresholds: Vec<(f64, u32)>,
    /// The market's resolution: the largest move of price / NAV (a fraction of NAV) one
    /// sub-step may integrate (`simulation.max_price_move_per_substep`).
    pub max_price_move_per_substep: f64,
}

/// Liquidity providers, compiled.
#[derive(Debug, Clone, Copy)]
pub struct LiquidityModel {
    /// Share of liquidity withdrawn per day per unit of discount.
    pub flight_per_day: f64,
    /// Floor, share of the t = 0 depth.
    pub floor_share: f64,
    /// Return half-life at peg, days (+∞: never).
    pub return_half_life_days: f64,
    /// Discount under which LPs count the pool at peg (a fraction).
    pub calm_discount: f64,
}

/// A depeg shock, compiled.
#[derive(Debug, Clone)]
pub struct DepegShockModel {
    /// Name.
    pub name: String,
    /// Poisson count over the horizon (None when the rate is 0 or the shock is scheduled).
    pub events: Option<Poisson<f64>>,
    /// Scheduled day.
    pub at_days: Option<f64>,
    /// Share of supply sold.
    pub sell_share: SeverityDist,
    /// Spread of the sale, days.
    pub sell_days: f64,
}

/// Confidence shocks, compiled.
#[derive(Debug, Clone, Copy)]
pub struct ConfidenceModel {
    /// Share of supply sold per unit of loss share.
    pub sell_per_loss: f64,
    /// Spread of the sale, days.
    pub sell_days: f64,
    /// Smallest loss that moves holders, a fraction of assets.
    pub min_loss_fraction: f64,
}

/// Arbitrage, compiled.
#[derive(Debug, Clone, Copy)]
pub struct ArbitrageModel {
    /// Capital, ETH (+∞: unlimited).
    pub capital_eth: f64,
    /// Required simple return per year.
    pub required_return_per_year: f64,
    /// Risk premium, a fraction.
    pub premium: f64,
    /// Expected wait without a front door, days.
    pub closed_wait_days: f64,
}

impl ArbitrageModel {
    /// Lowest price / NAV at which an arbitrageur still buys to redeem after `wait_days`,
    /// paying `exit_fee` (a fraction): `(1 − fee) / (1 + r · wait / 365 + premium)`.
    pub fn threshold(&self, wait_days: f64, exit_fee: f64) -> f64 {
        (1.0 - exit_fee)
            / (1.0 + self.required_return_per_year * wait_days / DAYS_PER_YEAR + self.premium)
    }
}

/// Sellers, compiled.
#[derive(Debug, Clone, Copy)]
pub struct SellersModel {
    /// Share of new demand that considers the pool.
    pub share_of_demand: f64,
    /// Cost of waiting per year.
    pub wait_cost_per_year: f64,
}

impl SellersModel {
    /// The largest discount they accept when the posted wait is `wait_days`.
    pub fn max_discount(&self, wait_days: f64) -> f64 {
        (self.wait_cost_per_year * wait_days / DAYS_PER_YEAR).min(1.0)
    }
}

impl MarketModel {
    /// Compiles `s.market` (None when the section is absent). `s` passed validation.
    pub fn compile(s: &Scenario) -> Option<MarketModel> {
        Some(Self::compile_with(s, s.market.as_ref()?))
    }

    /// Compiles the market `m` of scenario `s` (`[market]`, or a sector LRT's `market`).
    pub fn compile_with(s: &Scenario, m: &crate::spec::Market) -> MarketModel {
        let horizon_years = s.simulation.horizon_days / DAYS_PER_YEAR;
        MarketModel {
            kind: m.pool.kind,
            amplification: m.pool.amplification.unwrap_or(DEFAULT_AMPLIFICATION),
            depth_eth: m.pool.depth_eth,
            lrt_share: m.pool.lrt_share,
            fee: m.pool.fee_bps / BPS,
            admin_fee_share: m.pool.admin_fee_share.unwrap_or(match m.pool.kind {
                PoolKind::Stableswap => CURVE_ADMIN_FEE_SHARE,
                PoolKind::ConstantProduct => 0.0,
            }),
            offpeg_fee_multiplier: m.pool.offpeg_fee_multiplier.unwrap_or(1.0),
            rate_oracle: m.pool.rate_oracle,
            liquidity: m.liquidity.as_ref().map(|l| LiquidityModel {
                flight_per_day: l.flight_per_day,
                floor_share: l.floor_share,
                return_half_life_days: l.return_half_life_days.unwrap_or(f64::INFINITY),
                calm_discount: l.calm_discount_bps / BPS,
            }),
            shocks: m
                .shocks
                .iter()
                .map(|d| DepegShockModel {
                    name: d.name.clone(),
                    events: crate::model::poisson_events(
                        d.rate_per_year.mean(),
                        horizon_years,
                        d.at_days,
                    ),
                    at_days: d.at_days,
                    sell_share: d.sell_share.sampler(),
                    sell_days: d.sell_days,
                })
                .collect(),
            confidence: m.confidence.as_ref().map(|c| ConfidenceModel {
                sell_per_loss: c.sell_per_loss,
                sell_days: c.sell_days,
                min_loss_fraction: c.min_loss_bps / BPS,
            }),
            recovery_half_life_days: m.recovery.as_ref().map(|r| r.half_life_days),
            arbitrage: m.arbitrage.as_ref().map(|a| ArbitrageModel {
                capital_eth: a.capital_eth.unwrap_or(f64::INFINITY),
                required_return_per_year: a.required_return_per_year,
                premium: a.premium_bps / BPS,
                closed_wait_days: a.closed_wait_days.unwrap_or(0.0),
            }),
            sellers: m.sellers.as_ref().map(|x| SellersModel {
                share_of_demand: x.share_of_demand,
                wait_cost_per_year: x.wait_cost_per_year,
            }),
            position_eth: m.report.position_eth,
            thresholds: m
                .report
                .thresholds_bps
                .iter()
                .map(|&b| (b / BPS, b.round() as u32))
                .collect(),
            max_price_move_per_substep: s
                .simulation
                .max_price_move_per_substep
                .unwrap_or(DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP),
        }
    }
}
