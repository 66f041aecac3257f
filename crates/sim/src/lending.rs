//! A lending market that takes the LRT as collateral: a population of leveraged positions,
//! liquidated in cascades (Aave-style rules, MECHANICS.md §6). Pure path state, no RNG.
//!
//! **Units.** Collateral is counted in LRT of t = 0 ETH (1 LRT = 1 ETH of NAV at t = 0),
//! debt in ETH, prices in ETH per LRT as the lending market's oracle reads them (the
//! protocol's exchange rate for Aave and Compound, a DEX price or TWAP for market oracles).
//!
//! **Positions.** A position with collateral C, debt D at oracle price p has the health factor
//!
//! ```text
//! HF = C·p·LT / D          (∞ without debt)
//! ```
//!
//! with LT the liquidation threshold: it is liquidatable below its *threshold price*
//! D/(C·LT) ([`LendingBook::next_threshold_below`]). A bucket opened at health factor h and
//! price p₀ owes D = C·p₀·LT/h; its leverage, collateral value over equity, is
//! C·p₀/(C·p₀ − D) = 1/(1 − LT/h) ([`max_leverage`]: Aave LRT E-mode, LT 0.95, looping to
//! h = 1.01 gives 16.83×).
//!
//! **One liquidation call**, as Aave v3's `LiquidationLogic` computes it
//! (`executeLiquidationCall`, `_calculateAvailableCollateralToLiquidate`; v3.2.0 and v3.3.0
//! of aave-dao/aave-v3-origin), at oracle price p on a position with HF < 1 and collateral
//! left:
//!
//! ```text
//! cf = 1                   if HF ≤ full_close_below_hf (CLOSE_FACTOR_HF_THRESHOLD, 0.95)
//!    = close_factor        otherwise          (LendingParams::aave_close_factor_at)
//! repay r = cf·D,  seize s = r·(1 + bonus)/p
//! if s ≥ C:  seize all C, repay r = C·p/(1 + bonus); the debt left, D − r, is burned as
//!            the reserve's deficit (v3.3) or stays owed on the empty position (v3.2)
//! of s, the treasury takes protocol_fee × s·bonus/(1 + bonus) (liquidationProtocolFee), the
//! liquidator the rest, and sells it at once (a flash loan: she needs no capital)
//! ```
//!
//! A position with no collateral left is not liquidatable (Aave reverts: the collateral is no
//! longer enabled).
//!
//! **A cascade** ([`LendingBook::liquidate_capped`]) is the sequence of such calls at one
//! instant, each reading the oracle after the previous call's sale, as liquidators' atomic
//! transactions (call, then sale) follow one another on chain:
//!
//! ```text
//! loop:  p = oracle now
//!        the looper (below) is brought to its end state at p
//!        the liquidatable position with the lowest HF (the first the falling price crossed),
//!        if none: the cascade is over (a fixed point: nothing is liquidatable at the price
//!        the last sale left)
//!        one call on it at p, scaled to what liquidators can sell at a profit; sell
//! ```
//!
//! With a market oracle each sale moves the price the next call reads, which may make the
//! next bucket (or the same one again) liquidatable; with an oracle that does not move within
//! the instant (the exchange rate, a TWAP: [`PriceReads::Fixed`]) every call reads the same
//! price and the cascade is a single pass bringing every position to its end state at that
//! price. There is no cap on the number of calls as a modelling device: the sequence ends by
//! itself (each call closes a position, restores its HF ≥ 1 at the price read, or moves the
//! price down by at least the liquidators' profitable step). `max_calls`
//! ([`MAX_CASCADE_CALLS`] in the engine) is only a safety bound, far beyond any cascade of
//! the shipped scenarios; a cascade that reaches it stops and is reported
//! ([`Cascade::unresolved`]).
//!
//! **Boundaries in f64.** The health factor is C·p·LT/D in f64, a few roundings (≤ 4 ulps)
//! from its exact value, while Aave's wad arithmetic resolves 1e-18. A health factor within
//! [`HF_ROUNDING`] (4 ulps relative) of a threshold counts as *at* it: HF ≥ 1 − 4ε is not
//! liquidatable (Aave: HF < 1 liquidates, so a position opened at exactly HF 1 is safe) and
//! HF ≤ 0.95·(1 + 4ε) is closed in full (Aave: HF ≤ 0.95). So a position whose exact health
//! factor is on a threshold is treated as the contract treats it; one within 1e-15 of it on
//! the other side is treated as on it.
//!
//! Not modelled (buckets stand for many positions): v3.3's rule that positions worth less
//! than $2,000 of collateral or debt are closed in full, and its refusal to leave less than
//! $1,000 of either behind.
//!
//! **The spiral below LT·(1 + bonus) at a fixed price.** A partial liquidation repaying a
//! share cf of the debt changes the health factor at a fixed price to
//!
//! ```text
//! HF' = (C·p − cf·D·(1 + bonus))·LT / ((1 − cf)·D),   i.e.   HF' − c = (HF − c)/(1 − cf),
//! c = LT·(1 + bonus)
//! ```
//!
//! so above c every partial liquidation raises HF (the gap to c grows by 1/(1 − cf)), while
//! at or below c it lowers HF (exactly c is a fixed point). Under Aave's rules such a position
//! is liquidated by half, falls below `full_close_below_hf` and is then closed in full; with
//! the collateral no longer covering debt × (1 + bonus) that full close seizes everything.
//! At a fixed price the sequence ends, whatever the number of calls, with all of C seized,
//! C·p/(1 + bonus) repaid and the rest bad debt (the first call repays cf·D and seizes
//! cf·D·(1 + bonus)/p; the last repays the value of what is left) — exactly what one full
//! close gives, while the number of calls grows without bound as HF approaches c. So where
//! every call reads the same price ([`PriceReads::Fixed`]) a position at or below c is closed
//! in full at once ([`LendingParams::close_factor_at`]). A position above c needs at most
//! 1 + ⌈ln((1 − c)/(HF − c)) / ln(1/(1 − cf))⌉ calls at a fixed price. Where the oracle reads
//! the pool ([`PriceReads::Moving`]) the calls read different prices and end elsewhere (the
//! second call seizes at the lower price the first one's sale left), so there Aave's close
//! factor applies call by call; each sale lowers the price, which only speeds the spiral up.
//!
//! **The representative looper.** One further position, collateral L/p₀ LRT (worth L ETH at
//! the t = 0 price p₀) and debt L − 1 ETH for leverage L, so that its equity starts at 1 ETH.
//! It is liquidated by the same rules at the same prices, but it is hypothetical: its seized
//! collateral is not sold, and nothing it repays, seizes or loses enters the book's totals or
//! the [`Cascade`]. At every price a cascade reads it is liquidated, call after call at that
//! price (its calls move no price), until it is healthy or closed. Leverage 1 means no debt: a
//! looper that is never liquidated.
//!
//! **Conservation.** Every ETH lent is repaid, still owed or written off:
//!
//! ```text
//! lent_eth = repaid_eth + total_debt_eth() + bad_debt_eth          (conservation_residual)
//! posted_lrt = total_collateral_lrt() + liquidated_lrt            (collateral_residual)
//! ```
//!
//! both to rounding, at all times.
//!
//! **Allocation.** [`LendingBook::new`] reserves room for the t = 0 buckets and
//! [`OPEN_CAPACITY`] positions opened later by [`LendingBook::open`]; [`LendingBook::reset`]
//! keeps the capacity, so a path allocates only if it opens more positions than any before.
//! [`LendingBook::liquidate`] never allocates.
//!
//! ```
//! use lrtsim_sim::lending::{LendingBook, LendingParams, PriceReads};
//! // One bucket of 100 LRT at health factor 1.05 under Aave's LRT E-mode, looper 10×.
//! let mut book = LendingBook::new(LendingParams::AAVE_LRT_EMODE, &[(100.0, 1.05)], 1.0, 10.0);
//! // The oracle falls 6%: HF = 1.05 × 0.94 = 0.987, half the debt is repaid.
//! let cascade = book.liquidate(PriceReads::Fixed, || 0.94, |lrt| lrt * 0.94);
//! assert_eq!(cascade.calls, 1);
//! assert!((cascade.repaid_eth - 100.0 * 0.95 / 1.05 / 2.0).abs() < 1e-12);
//! assert!(book.conservation_residual().abs() < 1e-12);
//! ```

/// Positions [`LendingBook::open`] can add without allocating.
pub const OPEN_CAPACITY: usize = 16;

/// Relative band around a health-factor threshold within which f64 rounding cannot decide
/// the side (module docs): 4 ulps.
pub const HF_ROUNDING: f64 = 4.0 * f64::EPSILON;

/// The engine's safety bound on the liquidation calls of one cascade
/// ([`LendingParams::max_calls`]): not a model of anything — a cascade reaching it is reported
/// as unresolved. A cascade down a market oracle moves the price by about the liquidators'
/// bonus per call at the least, so 10,000 calls go far beyond any price a pool can fall to.
pub const MAX_CASCADE_CALLS: u32 = 10_000;

/// How the oracle a cascade reads responds to the cascade's own sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceReads {
    /// It does not move within the instant (the exchange rate; a TWAP, a time average): every
    /// call reads the same price, and a position at or below the spiral point LT·(1 + bonus)
    /// is closed in full at once (where Aave's calls at that price would end).
    Fixed,
    /// It reads the pool (a market oracle): each call reads the price the previous sale left,
    /// and Aave's close factor applies call by call.
    Moving,
}

pub use lrtsim_scenario::spec::LenderVersion;

/// The lending market's risk parameters.
#[derive(Debug, Clone, Copy)]
pub struct LendingParams {
    /// Loan-to-value at which [`LendingBook::open`] borrows, in (0, LT].
    pub ltv: f64,
    /// Liquidation threshold LT, in (0, 1): liquidatable when collateral value × LT < debt.
    pub liquidation_threshold: f64,
    /// Liquidation bonus: liquidators seize repaid × (1 + bonus) of collateral value (≥ 0).
    pub liquidation_bonus: f64,
    /// Share of a position's debt one liquidation repays, in (0, 1].
    pub close_factor: f64,
    /// At or below this health factor one liquidation repays the whole debt, in (0, 1]
    /// (Aave's `CLOSE_FACTOR_HF_THRESHOLD`, 0.95).
    pub full_close_below_hf: f64,
    /// Share of the bonus that goes to the lender's treasury (Aave's
    /// `liquidationProtocolFee`), in [0, 1].
    pub protocol_fee: f64,
    /// What happens to debt left on a position whose collateral is gone.
    pub version: LenderVersion,
    /// Safety bound on the liquidation calls of one cascade (≥ 1): a cascade reaching it
    /// stops and is reported ([`Cascade::unresolved`]). Not a modelling device: the engine
    /// uses [`MAX_CASCADE_CALLS`], which no shipped scenario comes near.
    pub max_calls: u32,
}

impl LendingParams {
    /// Aave's LRT E-mode (MECHANICS.md §6): LTV 93%, LT 95%, bonus 1%, close factor 50%,
    /// full close at HF 0.95 and below, no protocol fee, v3.3; the engine's safety bound on
    /// calls per cascade.
    pub const AAVE_LRT_EMODE: LendingParams = LendingParams {
        ltv: 0.93,
        liquidation_threshold: 0.95,
        liquidation_bonus: 0.01,
        close_factor: 0.5,
        full_close_below_hf: 0.95,
        protocol_fee: 0.0,
        version: LenderVersion::V3_3,
        max_calls: MAX_CASCADE_CALLS,
    };

    /// Health factor C·p·LT/D of `collateral_lrt` against `debt_eth` at `price`; ∞ without
    /// debt.
    pub fn health_factor(&self, collateral_lrt: f64, debt_eth: f64, price: f64) -> f64 {
        health_factor(self.liquidation_threshold, collateral_lrt, debt_eth, price)
    }

    /// Collateral value over equity of a position at health factor `hf`: 1/(1 − LT/hf).
    pub fn max_leverage(&self, hf: f64) -> f64 {
        max_leverage(self.liquidation_threshold, hf)
    }

    /// The health factor at or below which a partial liquidation no longer raises it:
    /// LT·(1 + bonus), where collateral value = debt × (1 + bonus).
    pub fn spiral_health_factor(&self) -> f64 {
        self.liquidation_threshold * (1.0 + self.liquidation_bonus)
    }

    /// The bonus the liquidator keeps after the treasury's share: bonus × (1 − protocol
    /// fee). A liquidator repaying r receives r·(1 + this)/p of collateral.
    pub fn liquidator_bonus(&self) -> f64 {
        self.liquidation_bonus * (1.0 - self.protocol_fee)
    }

    /// The liquidator's share of seized collateral: (1 + liquidator bonus)/(1 + bonus).
    pub fn liquidator_share(&self) -> f64 {
        (1.0 + self.liquidator_bonus()) / (1.0 + self.liquidation_bonus)
    }

    /// Whether a position at health factor `hf` is liquidatable: HF < 1, outside the
    /// rounding band ([`HF_ROUNDING`]).
    pub fn is_liquidatable(&self, hf: f64) -> bool {
        hf < 1.0 - HF_ROUNDING
    }

    /// The share of the debt one Aave liquidation call at health factor `hf` may repay: all
    /// of it at or below `full_close_below_hf` (within the rounding band), else
    /// `close_factor`.
    pub fn aave_close_factor_at(&self, hf: f64) -> f64 {
        if hf <= self.full_close_below_hf * (1.0 + HF_ROUNDING) {
            1.0
        } else {
            self.close_factor
        }
    }

    /// The share of the debt one liquidation at health factor `hf` repays where every call
    /// reads the same price: [`LendingParams::aave_close_factor_at`], but all of it at or
    /// below the spiral point LT·(1 + bonus) too, where Aave's calls at a fixed price end in
    /// a full close (module docs).
    pub fn close_factor_at(&self, hf: f64) -> f64 {
        if hf <= self.spiral_health_factor() {
            1.0
        } else {
            self.aave_close_factor_at(hf)
        }
    }

    /// The close factor of a call at health factor `hf` when the oracle's reads are `reads`:
    /// [`LendingParams::close_factor_at`] for [`PriceReads::Fixed`],
    /// [`LendingParams::aave_close_factor_at`] for [`PriceReads::Moving`].
    pub fn close_factor_for(&self, hf: f64, reads: PriceReads) -> f64 {
        match reads {
            PriceReads::Fixed => self.close_factor_at(hf),
            PriceReads::Moving => self.aave_close_factor_at(hf),
        }
    }
}

/// Health factor `collateral_lrt` × `price` × `lt` / `debt_eth`; ∞ when `debt_eth` ≤ 0.
pub fn health_factor(lt: f64, collateral_lrt: f64, debt_eth: f64, price: f64) -> f64 {
    if debt_eth > 0.0 {
        collateral_lrt * price * lt / debt_eth
    } else {
        f64::INFINITY
    }
}

/// The leverage (collateral value over equity) of a position looped to health factor `hf`
/// under liquidation threshold `lt`: debt = value × lt/hf, so leverage = 1/(1 − lt/hf).
/// Infinite at hf ≤ lt.
pub fn max_leverage(lt: f64, hf: f64) -> f64 {
    let equity_share = 1.0 - lt / hf;
    if equity_share > 0.0 {
        1.0 / equity_share
    } else {
        f64::INFINITY
    }
}

/// What one cascade ([`LendingBook::liquidate`]) did to the market (the looper excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cascade {
    /// Liquidation calls made (each followed by its sale).
    pub calls: u32,
    /// LRT seized.
    pub liquidated_lrt: f64,
    /// Debt repaid by liquidators, ETH.
    pub repaid_eth: f64,
    /// Debt written off (burned as deficit, v3.3), ETH.
    pub bad_debt_eth: f64,
    /// Of `liquidated_lrt`, what the lender's treasury took (its share of the bonus); the
    /// liquidators sold the rest.
    pub protocol_fee_lrt: f64,
    /// ETH the liquidators received selling the seized LRT (the `sell` closure's returns).
    pub proceeds_eth: f64,
    /// The cascade stopped at the safety bound `max_calls` with positions still
    /// liquidatable.
    pub unresolved: bool,
}

/// One liquidation of one position.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    seized_lrt: f64,
    repaid_eth: f64,
    bad_debt_eth: f64,
}

/// One call at `price` on a position whose health factor there is below 1, every call
/// reading that price ([`PriceReads::Fixed`]).
fn liquidate_once(params: &LendingParams, c: &mut f64, d: &mut f64, price: f64) -> Option<Step> {
    let hf = params.health_factor(*c, *d, price);
    liquidate_part_at(params, c, d, price, 1.0, hf, params.close_factor_at(hf))
}

/// One call at `price` on a position whose health factor there is `hf` (computed by
/// [`LendingParams::health_factor`]), repaying the share `cf` of its debt, if it is
/// liquidatable — doing only `part` ∈ (0, 1] of it (liquidators who cannot sell more at a
/// profit): a part of a full seizure seizes and repays that part and writes off nothing.
fn liquidate_part_at(
    params: &LendingParams,
    c: &mut f64,
    d: &mut f64,
    price: f64,
    part: f64,
    hf: f64,
    cf: f64,
) -> Option<Step> {
    // Healthy (or NaN, which no rule liquidates), or nothing left to seize.
    if !params.is_liquidatable(hf) || *c <= 0.0 {
        return None;
    }
    let bonus = 1.0 + params.liquidation_bonus;
    let repay = cf * *d;
    let seize = repay * bonus / price;
    let step = if seize >= *c && part < 1.0 {
        let seized = part * *c;
        let repaid = (seized * price / bonus).min(*d);
        *c -= seized;
        *d -= repaid;
        Step {
            seized_lrt: seized,
            repaid_eth: repaid,
            bad_debt_eth: 0.0,
        }
    } else if seize >= *c {
        // Everything goes; what the collateral cannot cover is burned as deficit (v3.3) or
        // stays owed on the empty position (v3.2).
        let repaid = (*c * price / bonus).min(*d);
        let left = *d - repaid;
        let step = Step {
            seized_lrt: *c,
            repaid_eth: repaid,
            bad_debt_eth: match params.version {
                LenderVersion::V3_3 => left,
                LenderVersion::V3_2 => 0.0,
            },
        };
        *c = 0.0;
        *d = match params.version {
            LenderVersion::V3_3 => 0.0,
            LenderVersion::V3_2 => left,
        };
        step
    } else {
        let (seize, repay) = (part * seize, part * repay);
        *c -= seize;
        *d -= repay;
        Step {
            seized_lrt: seize,
            repaid_eth: repay,
            bad_debt_eth: 0.0,
        }
    };
    Some(step)
}

/// The lending market's positions on one path: t = 0 buckets, positions opened since, the
/// representative looper, and running totals. See the module docs.
#[derive(Debug, Clone)]
pub struct LendingBook {
    params: LendingParams,
    /// Collateral per position, LRT: the t = 0 buckets, then positions opened since.
    collateral: Vec<f64>,
    /// Debt per position, ETH.
    debt: Vec<f64>,
    /// The t = 0 buckets' collateral and debt, for `reset`.
    collateral0: Vec<f64>,
    debt0: Vec<f64>,
    /// Sums of the t = 0 buckets.
    collateral0_total: f64,
    debt0_total: f64,
    /// Running totals (see the accessors).
    posted_lrt: f64,
    lent_eth: f64,
    repaid_eth: f64,
    bad_debt_eth: f64,
    liquidated_lrt: f64,
    protocol_fee_lrt: f64,
    proceeds_eth: f64,
    /// Interest accrued on the positions, ETH.
    interest_eth: f64,
    /// Collateral released by unwinding positions, LRT.
    unwound_lrt: f64,
    max_depth: u32,
    /// The representative looper: leverage, t = 0 and current collateral and debt.
    looper_leverage: f64,
    looper_collateral0: f64,
    looper_debt0: f64,
    looper_collateral: f64,
    looper_debt: f64,
}

impl LendingBook {
    /// A book of `buckets`, each (collateral in LRT, health factor at t = 0), with debt
    /// collateral × `price0` × LT / health factor, and a representative looper of leverage
    /// `looper_leverage` (≥ 1): collateral `looper_leverage`/`price0` LRT, debt
    /// `looper_leverage` − 1 ETH.
    pub fn new(
        params: LendingParams,
        buckets: &[(f64, f64)],
        price0: f64,
        looper_leverage: f64,
    ) -> LendingBook {
        debug_assert!(
            params.ltv > 0.0 && params.ltv <= params.liquidation_threshold,
            "LTV {} must be in (0, LT]",
            params.ltv
        );
        debug_assert!(
            params.liquidation_threshold > 0.0 && params.liquidation_threshold < 1.0,
            "liquidation threshold {} must be in (0, 1)",
            params.liquidation_threshold
        );
        debug_assert!(
            params.liquidation_bonus >= 0.0 && params.liquidation_bonus.is_finite(),
            "liquidation bonus {} must be ≥ 0",
            params.liquidation_bonus
        );
        debug_assert!(
            params.close_factor > 0.0 && params.close_factor <= 1.0,
            "close factor {} must be in (0, 1]",
            params.close_factor
        );
        debug_assert!(
            params.full_close_below_hf > 0.0 && params.full_close_below_hf <= 1.0,
            "full-close health factor {} must be in (0, 1]",
            params.full_close_below_hf
        );
        debug_assert!(params.max_calls >= 1, "max_calls must be ≥ 1");
        debug_assert!(
            price0 > 0.0 && price0.is_finite(),
            "t = 0 price {price0} must be > 0 and finite"
        );
        debug_assert!(
            looper_leverage >= 1.0 && looper_leverage.is_finite(),
            "looper leverage {looper_leverage} must be ≥ 1 and finite"
        );
        let n = buckets.len();
        let mut collateral0 = Vec::with_capacity(n);
        let mut debt0 = Vec::with_capacity(n);
        for &(c, hf) in buckets {
            debug_assert!(
                c >= 0.0 && c.is_finite(),
                "bucket collateral {c} must be ≥ 0"
            );
            debug_assert!(hf > 0.0, "bucket health factor {hf} must be > 0");
            collateral0.push(c);
            debt0.push(c * price0 * params.liquidation_threshold / hf);
        }
        let mut collateral = Vec::with_capacity(n + OPEN_CAPACITY);
        let mut debt = Vec::with_capacity(n + OPEN_CAPACITY);
        collateral.extend_from_slice(&collateral0);
        debt.extend_from_slice(&debt0);
        let collateral0_total = collateral0.iter().sum();
        let debt0_total = debt0.iter().sum();
        LendingBook {
            params,
            collateral,
            debt,
            collateral0,
            debt0,
            collateral0_total,
            debt0_total,
            posted_lrt: collateral0_total,
            lent_eth: debt0_total,
            repaid_eth: 0.0,
            bad_debt_eth: 0.0,
            liquidated_lrt: 0.0,
            protocol_fee_lrt: 0.0,
            proceeds_eth: 0.0,
            interest_eth: 0.0,
            unwound_lrt: 0.0,
            max_depth: 0,
            looper_leverage,
            looper_collateral0: looper_leverage / price0,
            looper_debt0: looper_leverage - 1.0,
            looper_collateral: looper_leverage / price0,
            looper_debt: looper_leverage - 1.0,
        }
    }

    /// Back to t = 0: the buckets as built, opened positions dropped (capacity kept), totals
    /// cleared, the looper restored.
    pub fn reset(&mut self) {
        let n = self.collateral0.len();
        self.collateral.truncate(n);
        self.debt.truncate(n);
        self.collateral.copy_from_slice(&self.collateral0);
        self.debt.copy_from_slice(&self.debt0);
        self.posted_lrt = self.collateral0_total;
        self.lent_eth = self.debt0_total;
        self.repaid_eth = 0.0;
        self.bad_debt_eth = 0.0;
        self.liquidated_lrt = 0.0;
        self.protocol_fee_lrt = 0.0;
        self.proceeds_eth = 0.0;
        self.interest_eth = 0.0;
        self.unwound_lrt = 0.0;
        self.max_depth = 0;
        self.looper_collateral = self.looper_collateral0;
        self.looper_debt = self.looper_debt0;
    }

    /// The risk parameters.
    pub fn params(&self) -> &LendingParams {
        &self.params
    }

    /// Number of positions: the t = 0 buckets, then those opened since (the looper excluded).
    pub fn position_count(&self) -> usize {
        self.collateral.len()
    }

    /// Collateral per position, LRT (t = 0 buckets first, then opened positions in order).
    pub fn collateral_lrt(&self) -> &[f64] {
        &self.collateral
    }

    /// Debt per position, ETH (same order as [`LendingBook::collateral_lrt`]).
    pub fn debt_eth(&self) -> &[f64] {
        &self.debt
    }

    /// Collateral of all positions, LRT (the looper excluded).
    pub fn total_collateral_lrt(&self) -> f64 {
        self.collateral.iter().sum()
    }

    /// Debt outstanding over all positions, ETH (the looper excluded).
    pub fn total_debt_eth(&self) -> f64 {
        self.debt.iter().sum()
    }

    /// Health factor of position `i` at `price` (∞ without debt).
    pub fn position_health_factor(&self, i: usize, price: f64) -> f64 {
        self.params
            .health_factor(self.collateral[i], self.debt[i], price)
    }

    /// Lowest health factor over the positions at `price` (∞ if none has debt).
    pub fn min_health_factor(&self, price: f64) -> f64 {
        (0..self.collateral.len())
            .map(|i| self.position_health_factor(i, price))
            .fold(f64::INFINITY, f64::min)
    }

    /// Whether some position (the looper excluded) is liquidatable at `price`: HF < 1
    /// ([`LendingParams::is_liquidatable`]) with collateral left.
    pub fn liquidatable(&self, price: f64) -> bool {
        (0..self.collateral.len()).any(|i| {
            self.collateral[i] > 0.0
                && self
                    .params
                    .is_liquidatable(self.position_health_factor(i, price))
        })
    }

    /// Whether a cascade at `price` would do anything: some position or the looper is
    /// liquidatable there.
    pub fn has_liquidatable(&self, price: f64) -> bool {
        self.liquidatable(price)
            || (self.looper_collateral > 0.0
                && self
                    .params
                    .is_liquidatable(self.looper_health_factor(price)))
    }

    /// LRT posted as collateral: the t = 0 buckets plus every [`LendingBook::open`].
    pub fn posted_lrt(&self) -> f64 {
        self.posted_lrt
    }

    /// ETH lent: the t = 0 debt plus every [`LendingBook::open`].
    pub fn lent_eth(&self) -> f64 {
        self.lent_eth
    }

    /// Debt repaid by liquidators, ETH.
    pub fn repaid_eth(&self) -> f64 {
        self.repaid_eth
    }

    /// Debt written off (v3.3's deficit), ETH. Under v3.2 debt left on an empty position
    /// stays in [`LendingBook::total_debt_eth`] instead.
    pub fn bad_debt_eth(&self) -> f64 {
        self.bad_debt_eth
    }

    /// Collateral seized by liquidators, LRT.
    pub fn liquidated_lrt(&self) -> f64 {
        self.liquidated_lrt
    }

    /// Of [`LendingBook::liquidated_lrt`], what the lender's treasury took (its share of the
    /// bonus), LRT.
    pub fn protocol_fee_lrt(&self) -> f64 {
        self.protocol_fee_lrt
    }

    /// ETH the liquidators received selling the seized collateral.
    pub fn liquidation_proceeds_eth(&self) -> f64 {
        self.proceeds_eth
    }

    /// Most liquidation calls in one cascade so far (one instant: each call reads the price
    /// the previous call's sale left).
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// lent + interest − (repaid + outstanding + bad debt), ETH: zero to rounding.
    pub fn conservation_residual(&self) -> f64 {
        self.lent_eth + self.interest_eth
            - (self.repaid_eth + self.total_debt_eth() + self.bad_debt_eth)
    }

    /// posted − (held + seized + unwound), LRT: zero to rounding.
    pub fn collateral_residual(&self) -> f64 {
        self.posted_lrt - (self.total_collateral_lrt() + self.liquidated_lrt + self.unwound_lrt)
    }

    /// Interest accrued on the positions so far, ETH.
    pub fn interest_eth(&self) -> f64 {
        self.interest_eth
    }

    /// Collateral released by unwinding so far, LRT.
    pub fn unwound_lrt(&self) -> f64 {
        self.unwound_lrt
    }

    /// Interest for a step: every debt (the looper's too) grows by `factor` (≥ 1); returns the
    /// positions' interest, ETH.
    pub fn accrue(&mut self, factor: f64) -> f64 {
        let mut interest = 0.0;
        for d in &mut self.debt {
            let add = *d * (factor - 1.0);
            *d += add;
            interest += add;
        }
        self.looper_debt *= factor;
        self.interest_eth += interest;
        interest
    }

    /// Collateral and debt of `share` of every position (the looper excluded): what unwinding
    /// that share would release and repay.
    pub fn unwind_amounts(&self, share: f64) -> (f64, f64) {
        (
            share * self.total_collateral_lrt(),
            share * self.total_debt_eth(),
        )
    }

    /// `share` of every position unwinds: its debt is repaid and its collateral released (the
    /// caller sold what repaying took). Returns (collateral released, debt repaid).
    pub fn unwind(&mut self, share: f64) -> (f64, f64) {
        let (mut released, mut repaid) = (0.0, 0.0);
        for (c, d) in self.collateral.iter_mut().zip(self.debt.iter_mut()) {
            let (dc, dd) = (share * *c, share * *d);
            *c -= dc;
            *d -= dd;
            released += dc;
            repaid += dd;
        }
        self.unwound_lrt += released;
        self.repaid_eth += repaid;
        (released, repaid)
    }

    /// Open a position posting `collateral_lrt` (≥ 0) and borrowing LTV × collateral ×
    /// `price` at once (e.g. an attacker posting minted LRT). Returns the ETH borrowed.
    pub fn open(&mut self, collateral_lrt: f64, price: f64) -> f64 {
        self.open_capped(collateral_lrt, price, f64::INFINITY)
    }

    /// [`LendingBook::open`], borrowing at most `cap_eth` (≥ 0: the ETH the reserve has left
    /// to lend). Returns the ETH borrowed.
    pub fn open_capped(&mut self, collateral_lrt: f64, price: f64, cap_eth: f64) -> f64 {
        debug_assert!(
            collateral_lrt >= 0.0 && collateral_lrt.is_finite(),
            "collateral {collateral_lrt} must be ≥ 0 and finite"
        );
        debug_assert!(
            price >= 0.0 && price.is_finite(),
            "price {price} must be ≥ 0 and finite"
        );
        let borrowed = (self.params.ltv * collateral_lrt * price).min(cap_eth);
        self.collateral.push(collateral_lrt);
        self.debt.push(borrowed);
        self.posted_lrt += collateral_lrt;
        self.lent_eth += borrowed;
        borrowed
    }

    /// Run a liquidation cascade (module docs): liquidation calls, the most underwater
    /// position first, each followed by the sale of what the liquidators seized, until no
    /// position is liquidatable at the price read. `reads` says whether the oracle moves with
    /// the cascade's sales. `price` gives the oracle price now (ETH per LRT, ≥ 0); it is
    /// called before every call, and once more to find the cascade over. `sell` sells one
    /// call's LRT for the liquidators (> 0) and returns the ETH it fetched. The looper is
    /// brought to its end state at every price read, without entering the result.
    pub fn liquidate<P, S>(&mut self, reads: PriceReads, price: P, sell: S) -> Cascade
    where
        P: FnMut() -> f64,
        S: FnMut(f64) -> f64,
    {
        self.liquidate_capped(reads, price, |_| f64::INFINITY, sell)
    }

    /// [`LendingBook::liquidate`] with liquidators who seize at most `capacity(price)` LRT a
    /// call — what they can sell at a profit at the price read — the call scaled down when it
    /// would seize more. A call with no capacity ends the cascade, even with positions still
    /// below a health factor of 1 (they wait for a better market).
    pub fn liquidate_capped<P, K, S>(
        &mut self,
        reads: PriceReads,
        mut price: P,
        mut capacity: K,
        mut sell: S,
    ) -> Cascade
    where
        P: FnMut() -> f64,
        K: FnMut(f64) -> f64,
        S: FnMut(f64) -> f64,
    {
        let params = self.params;
        let liquidator_share = params.liquidator_share();
        let mut cascade = Cascade::default();
        loop {
            let p = price();
            debug_assert!(p >= 0.0 && p.is_finite(), "oracle price {p} must be ≥ 0");
            // The looper is hypothetical: liquidated at every price read, never sold.
            self.looper_to_end_state(p);
            // The most underwater liquidatable position: the first the price crossed.
            let mut worst: Option<(usize, f64)> = None;
            for (i, (&c, &d)) in self.collateral.iter().zip(&self.debt).enumerate() {
                let hf = params.health_factor(c, d, p);
                if c > 0.0 && params.is_liquidatable(hf) && worst.is_none_or(|(_, w)| hf < w) {
                    worst = Some((i, hf));
                }
            }
            let Some((i, hf)) = worst else { break };
            if cascade.calls >= params.max_calls {
                cascade.unresolved = true;
                break;
            }
            let cf = params.close_factor_for(hf, reads);
            // What the whole call would give the liquidators, against what they can sell at
            // a profit.
            let (mut c, mut d) = (self.collateral[i], self.debt[i]);
            let Some(whole) = liquidate_part_at(&params, &mut c, &mut d, p, 1.0, hf, cf) else {
                break;
            };
            let wanted = whole.seized_lrt * liquidator_share;
            let cap = capacity(p);
            if wanted > 0.0 && cap <= 0.0 {
                break;
            }
            let step = if wanted > cap {
                let (mut c, mut d) = (self.collateral[i], self.debt[i]);
                let part = cap / wanted;
                let step = liquidate_part_at(&params, &mut c, &mut d, p, part, hf, cf)
                    .expect("liquidatable");
                (self.collateral[i], self.debt[i]) = (c, d);
                step
            } else {
                (self.collateral[i], self.debt[i]) = (c, d);
                whole
            };
            cascade.calls += 1;
            cascade.liquidated_lrt += step.seized_lrt;
            cascade.repaid_eth += step.repaid_eth;
            cascade.bad_debt_eth += step.bad_debt_eth;
            let to_treasury = step.seized_lrt * (1.0 - liquidator_share);
            cascade.protocol_fee_lrt += to_treasury;
            let sold = step.seized_lrt - to_treasury;
            if sold > 0.0 {
                let proceeds = sell(sold);
                debug_assert!(proceeds >= 0.0, "sale proceeds {proceeds} must be ≥ 0");
                cascade.proceeds_eth += proceeds;
            }
        }
        self.repaid_eth += cascade.repaid_eth;
        self.bad_debt_eth += cascade.bad_debt_eth;
        self.liquidated_lrt += cascade.liquidated_lrt;
        self.protocol_fee_lrt += cascade.protocol_fee_lrt;
        self.proceeds_eth += cascade.proceeds_eth;
        self.max_depth = self.max_depth.max(cascade.calls);
        cascade
    }

    /// The looper liquidated call after call at `price` (its calls move no price) until it is
    /// healthy or closed: where Aave's calls at that price end.
    fn looper_to_end_state(&mut self, price: f64) {
        let params = self.params;
        for _ in 0..params.max_calls {
            if liquidate_once(
                &params,
                &mut self.looper_collateral,
                &mut self.looper_debt,
                price,
            )
            .is_none()
            {
                break;
            }
        }
    }

    /// The highest oracle price below `price` at which a position with collateral and debt
    /// that is not liquidatable at `price` — or the looper — becomes liquidatable: the largest
    /// threshold price D/(C·LT) of those positions (at most `price` to rounding); None if
    /// there is none. A market moving down continuously must stop there for the liquidation
    /// to happen at its moment.
    pub fn next_threshold_below(&self, price: f64) -> Option<f64> {
        let lt = self.params.liquidation_threshold;
        let positions = self.collateral.iter().zip(&self.debt);
        let looper = std::iter::once((&self.looper_collateral, &self.looper_debt));
        positions
            .chain(looper)
            .filter(|&(&c, &d)| {
                c > 0.0
                    && d > 0.0
                    && !self
                        .params
                        .is_liquidatable(self.params.health_factor(c, d, price))
            })
            .map(|(&c, &d)| d / (c * lt))
            .fold(None, |best: Option<f64>, t| {
                Some(best.map_or(t, |b| b.max(t)))
            })
    }

    /// The lowest health factor at `price` of the positions with collateral and debt that are
    /// not liquidatable there, the looper included (None if there is none): the first to fall
    /// to 1 as every debt accrues interest at the same rate (HF falls as e^(−rate·t)).
    pub fn lowest_healthy_health_factor(&self, price: f64) -> Option<f64> {
        let positions = self.collateral.iter().zip(&self.debt);
        let looper = std::iter::once((&self.looper_collateral, &self.looper_debt));
        positions
            .chain(looper)
            .filter(|&(&c, &d)| c > 0.0 && d > 0.0)
            .map(|(&c, &d)| self.params.health_factor(c, d, price))
            .filter(|&hf| !self.params.is_liquidatable(hf))
            .fold(None, |best: Option<f64>, h| {
                Some(best.map_or(h, |b| b.min(h)))
            })
    }

    /// The representative looper's leverage at t = 0.
    pub fn looper_leverage(&self) -> f64 {
        self.looper_leverage
    }

    /// The looper's collateral, LRT.
    pub fn looper_collateral_lrt(&self) -> f64 {
        self.looper_collateral
    }

    /// The looper's debt, ETH (under v3.3 0 once its collateral is gone: the rest was written
    /// off; under v3.2 it stays).
    pub fn looper_debt_eth(&self) -> f64 {
        self.looper_debt
    }

    /// The looper's health factor at `price`.
    pub fn looper_health_factor(&self, price: f64) -> f64 {
        self.params
            .health_factor(self.looper_collateral, self.looper_debt, price)
    }

    /// The looper's equity at `price`, ETH: collateral × price − debt (1 at t = 0).
    pub fn looper_equity(&self, price: f64) -> f64 {
        self.looper_collateral * price - self.looper_debt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: LendingParams = LendingParams::AAVE_LRT_EMODE;

    #[test]
    fn partial_liquidation_moves_the_gap_to_the_spiral_point() {
        // HF' − c = (HF − c)/(1 − cf) above c = LT(1 + bonus).
        let c = P.spiral_health_factor();
        for hf in [0.96, 0.97, 0.99, 0.999] {
            let (mut col, mut debt) = (100.0, 100.0 * P.liquidation_threshold / hf);
            liquidate_once(&P, &mut col, &mut debt, 1.0).unwrap();
            let after = P.health_factor(col, debt, 1.0);
            let want = c + (hf - c) / (1.0 - P.close_factor);
            assert!((after - want).abs() < 1e-13, "{hf}: {after} vs {want}");
        }
    }

    #[test]
    fn spiral_full_close_equals_aave_partial_then_full() {
        // HF in [0.95, c]: Aave's literal rule repays half (HF falls further) until HF < 0.95,
        // then closes in full. The one-step full close must end in the same place at a fixed
        // price.
        let p = 0.9;
        let b = 1.0 + P.liquidation_bonus;
        for hf in [0.9500001, 0.952, 0.955, 0.958] {
            let c0 = 100.0;
            let d0 = c0 * p * P.liquidation_threshold / hf;
            let (mut c, mut d) = (c0, d0);
            let step = liquidate_once(&P, &mut c, &mut d, p).unwrap();
            // Aave by hand.
            let (mut ca, mut da, mut repaid, mut partials) = (c0, d0, 0.0, 0);
            while da > 0.0 {
                let h = P.health_factor(ca, da, p);
                let cf = if h < P.full_close_below_hf { 1.0 } else { 0.5 };
                let seize = cf * da * b / p;
                if seize >= ca {
                    repaid += ca * p / b;
                    ca = 0.0;
                    da = 0.0;
                } else {
                    partials += 1;
                    repaid += cf * da;
                    ca -= seize;
                    da -= cf * da;
                }
            }
            assert!(partials >= 1);
            assert!((step.repaid_eth - repaid).abs() < 1e-12 * d0, "{hf}");
            assert_eq!(step.seized_lrt, c0);
            assert_eq!((c, d), (0.0, 0.0));
            assert!((step.bad_debt_eth - (d0 - repaid)).abs() < 1e-12 * d0);
        }
    }

    #[test]
    fn reset_restores_t0_and_keeps_capacity() {
        let mut book = LendingBook::new(P, &[(50.0, 1.02), (50.0, 1.2)], 1.0, 12.0);
        let lent0 = book.lent_eth();
        let fresh = book.clone();
        for _ in 0..(OPEN_CAPACITY + 3) {
            book.open(1.0, 1.0);
        }
        let cap = book.collateral.capacity();
        book.liquidate(PriceReads::Fixed, || 0.5, |s| 0.5 * s);
        assert!(book.bad_debt_eth() > 0.0);
        book.reset();
        assert_eq!(book.collateral.capacity(), cap);
        assert_eq!(book.collateral_lrt(), fresh.collateral_lrt());
        assert_eq!(book.debt_eth(), fresh.debt_eth());
        assert_eq!(book.lent_eth(), lent0);
        assert_eq!(book.repaid_eth(), 0.0);
        assert_eq!(book.bad_debt_eth(), 0.0);
        assert_eq!(book.liquidated_lrt(), 0.0);
        assert_eq!(book.liquidation_proceeds_eth(), 0.0);
        assert_eq!(book.max_depth(), 0);
        assert_eq!(book.looper_equity(1.0), fresh.looper_equity(1.0));
    }

    #[test]
    fn leverage_one_looper_is_never_liquidated() {
        let mut book = LendingBook::new(P, &[(10.0, 1.01)], 1.0, 1.0);
        assert_eq!(book.looper_debt_eth(), 0.0);
        book.liquidate(PriceReads::Fixed, || 0.1, |s| 0.1 * s);
        assert_eq!(book.looper_collateral_lrt(), 1.0);
        assert!((book.looper_equity(1.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn looper_equity_is_one_at_the_t0_price() {
        for p0 in [0.97, 1.0, 1.03] {
            let book = LendingBook::new(P, &[], p0, 15.0);
            assert!((book.looper_equity(p0) - 1.0).abs() < 1e-13);
            let hf = book.looper_health_factor(p0);
            assert!((hf - 15.0 * P.liquidation_threshold / 14.0).abs() < 1e-13);
        }
    }
}
