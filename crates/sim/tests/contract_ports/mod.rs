//! Exact integer ports of the smart-contract arithmetic that lrtsim's f64 models imitate, so
//! tests can compare the models with what the contracts compute.
//!
//! Ported, bit for bit, from these sources (read from bare git mirrors with `git show REF:PATH`):
//!
//! * Curve stableswap-ng, `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` at
//!   commit `2abe778f40206a6c0fd108a0a53ad3266cbedeee` (the contract's `version` is
//!   `"v7.0.0"`): two coins, both rates 10¹⁸ (plain 18-decimal tokens, so `xp` = balances).
//! * Uniswap v2: `Uniswap/v2-core`, `contracts/UniswapV2Pair.sol` at commit
//!   `ee547b17853e71ed4e0101ccfd52e70d5acded58` (`contracts/` unchanged since tag `v1.0.1`), and
//!   `getAmountOut` of `Uniswap/v2-periphery`, `contracts/libraries/UniswapV2Library.sol`
//!   (read from a stored copy at commit `888ee36a89a7fbeda73f59e3c2461efe65264e83`).
//! * Aave v3.2 and v3.3: `aave-dao/aave-v3-origin`, tags `v3.2.0`
//!   (`7c6023e64a1c462f138997ec122d49a97a3d4890`) and `v3.3.0`
//!   (`5431379f8beb4d7128c84a81ced3917d856efa84`), files under `src/contracts/protocol/`:
//!   `libraries/logic/{LiquidationLogic,GenericLogic,ValidationLogic}.sol`,
//!   `libraries/math/{PercentageMath,WadRayMath}.sol`,
//!   `tokenization/base/ScaledBalanceTokenBase.sol`. One collateral and one debt asset, both
//!   with 18 decimals, prices in the base currency with 8 decimals, interest indexes 1 (ray).
//!
//! Conventions:
//!
//! * Amounts are `U256` in the token's smallest unit (wei for 18 decimals).
//! * `ruint`'s operators wrap, so every operation the contracts check (Solidity ≥ 0.8 and
//!   SafeMath arithmetic, Vyper's `+ - * / **`) goes through the checked methods of the private
//!   `Evm` trait; Vyper's `unsafe_*` builtins are ruint's `wrapping_*` and `Evm::unsafe_div`.
//! * Reverts caused by arithmetic (overflow, division by zero, the `revert(0, 0)` guards of
//!   PercentageMath/WadRayMath), Curve's `assert`s and non-convergence `raise`, and Uniswap's
//!   `require`s panic with a message starting with `revert:`. Aave's business-rule
//!   `require(…, Errors.X)` are returned as [`AaveRevert`].
//! * `f64::from(x)` (ruint) converts a result for comparison with lrtsim's f64 code.
//!
//! Each test binary uses only part of this module, hence the module-wide `dead_code` allowance.
#![allow(dead_code)]

use std::fmt;

pub use ruint::aliases::U256;
use ruint::uint;

// ---------------------------------------------------------------------------
// EVM arithmetic
// ---------------------------------------------------------------------------

/// `U256` arithmetic with the contracts' semantics; the checked operations panic where the
/// contract reverts.
trait Evm: Sized {
    /// Checked `a + b`.
    fn plus(self, rhs: Self) -> Self;
    /// Checked `a - b`.
    fn minus(self, rhs: Self) -> Self;
    /// Checked `a * b`.
    fn times(self, rhs: Self) -> Self;
    /// Checked floor division `a / b` (reverts on division by zero).
    fn over(self, rhs: Self) -> Self;
    /// Vyper's `unsafe_div`, i.e. the EVM's `DIV`: floor division, 0 when `b` is 0.
    fn unsafe_div(self, rhs: Self) -> Self;
}

impl Evm for U256 {
    #[track_caller]
    fn plus(self, rhs: U256) -> U256 {
        self.checked_add(rhs).expect("revert: addition overflows")
    }

    #[track_caller]
    fn minus(self, rhs: U256) -> U256 {
        self.checked_sub(rhs)
            .expect("revert: subtraction underflows")
    }

    #[track_caller]
    fn times(self, rhs: U256) -> U256 {
        self.checked_mul(rhs)
            .expect("revert: multiplication overflows")
    }

    #[track_caller]
    fn over(self, rhs: U256) -> U256 {
        self.checked_div(rhs).expect("revert: division by zero")
    }

    fn unsafe_div(self, rhs: U256) -> U256 {
        self.checked_div(rhs).unwrap_or(U256::ZERO)
    }
}

const TWO: U256 = uint!(2_U256);

// ---------------------------------------------------------------------------
// Curve stableswap-ng (two coins, rates 1e18)
// ---------------------------------------------------------------------------

/// `N_COINS` of the two-coin pools ported here.
pub const N_COINS: U256 = uint!(2_U256);
/// `A_PRECISION`: the contract's `amp` is `A() * A_PRECISION`.
pub const A_PRECISION: U256 = uint!(100_U256);
/// `FEE_DENOMINATOR`: fees are in units of 1e-10.
pub const FEE_DENOMINATOR: U256 = uint!(10_000_000_000_U256);
/// `PRECISION` = 10¹⁸, also the rate of an 18-decimal plain token.
pub const PRECISION: U256 = uint!(1_000_000_000_000_000_000_U256);
/// `admin_fee`: stableswap-ng hard-codes the admin's share of swap fees to 50%.
pub const ADMIN_FEE: U256 = uint!(5_000_000_000_U256);
/// `pow_mod256(N_COINS, N_COINS)`.
const N_COINS_POW_N_COINS: U256 = uint!(4_U256);
/// The `range(255)` bound of the Newton iterations.
const MAX_ITERATIONS: usize = 255;
/// The rates of both coins: plain tokens with 18 decimals.
const RATES: [U256; 2] = [PRECISION, PRECISION];
/// `pack_2` asserts each packed value is below 2¹²⁸.
const PACK_LIMIT: U256 = uint!(0x1_0000_0000_0000_0000_0000_0000_0000_0000_U256);

/// "Equality with the precision of 1" of Curve's Newton iterations.
fn converged(new: U256, prev: U256) -> bool {
    new.abs_diff(prev) <= U256::ONE
}

/// Curve stableswap-ng `get_D(_xp, _amp)`: the invariant D of balances `xp` at `amp` =
/// `A() * A_PRECISION`, by the contract's Newton iteration, in its order of operations
/// (`pow_mod256(N_COINS, N_COINS)` = 4, the `unsafe_div`s by `A_PRECISION`).
///
/// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
/// function `get_D`.
///
/// # Panics
/// Where the contract reverts: overflow, a zero balance next to a non-zero one, no
/// convergence in 255 iterations.
pub fn get_d(xp: [U256; 2], amp: U256) -> U256 {
    let s = xp.iter().fold(U256::ZERO, |s, &x| s.plus(x));
    if s.is_zero() {
        return U256::ZERO;
    }
    let mut d = s;
    let ann = amp.times(N_COINS);
    for _ in 0..MAX_ITERATIONS {
        let mut d_p = d;
        for x in xp {
            d_p = d_p.times(d).over(x);
        }
        d_p = d_p.over(N_COINS_POW_N_COINS);
        let d_prev = d;
        // (Ann * S / A_PRECISION + D_P * N_COINS) * D
        //     / ((Ann - A_PRECISION) * D / A_PRECISION + (N_COINS + 1) * D_P)
        let numerator = ann
            .times(s)
            .unsafe_div(A_PRECISION)
            .plus(d_p.times(N_COINS))
            .times(d);
        let denominator = ann
            .minus(A_PRECISION)
            .times(d)
            .unsafe_div(A_PRECISION)
            .plus(N_COINS.wrapping_add(U256::ONE).times(d_p));
        d = numerator.over(denominator);
        if converged(d, d_prev) {
            return d;
        }
    }
    panic!("revert: get_D did not converge")
}

/// Curve stableswap-ng `get_y(i, j, x, xp, _amp, _D)`: the balance of coin `j` that keeps the
/// invariant at `d` when the balance of coin `i` becomes `x` (`amp` = `A() * A_PRECISION`).
///
/// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
/// function `get_y`.
///
/// # Panics
/// Where the contract reverts: `i == j`, an index out of range, overflow, division by zero
/// (`x` = 0), no convergence in 255 iterations.
pub fn get_y(i: usize, j: usize, x: U256, xp: [U256; 2], amp: U256, d: U256) -> U256 {
    assert!(i != j, "revert: same coin");
    assert!(i < 2 && j < 2, "revert: coin index out of range");

    let mut s_ = U256::ZERO;
    let mut c = d;
    let ann = amp.times(N_COINS);
    for (k, &xp_k) in xp.iter().enumerate() {
        let x_k = if k == i {
            x
        } else if k != j {
            xp_k
        } else {
            continue;
        };
        s_ = s_.plus(x_k);
        c = c.times(d).over(x_k.times(N_COINS));
    }
    c = c.times(d).times(A_PRECISION).over(ann.times(N_COINS));
    let b = s_.plus(d.times(A_PRECISION).over(ann)); // - D
    let mut y = d;
    for _ in 0..MAX_ITERATIONS {
        let y_prev = y;
        y = y.times(y).plus(c).over(TWO.times(y).plus(b).minus(d));
        if converged(y, y_prev) {
            return y;
        }
    }
    panic!("revert: get_y did not converge")
}

/// Curve stableswap-ng `_dynamic_fee(xpi, xpj, _fee)`: the fee (1e10 units) raised off peg,
/// `offpeg · fee / ((offpeg − 1) · 4·xpi·xpj/(xpi + xpj)² + 1)` in 1e10 fixed point; `fee` when
/// `offpeg_fee_multiplier ≤ FEE_DENOMINATOR`. The contract reads the multiplier from storage;
/// here it is an argument.
///
/// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
/// function `_dynamic_fee`.
///
/// # Panics
/// Where the contract reverts: overflow, `xpi + xpj` = 0.
pub fn dynamic_fee(xpi: U256, xpj: U256, fee: U256, offpeg_fee_multiplier: U256) -> U256 {
    if offpeg_fee_multiplier <= FEE_DENOMINATOR {
        return fee;
    }
    let sum = xpi.plus(xpj);
    let xps2 = sum.times(sum); // (xpi + xpj) ** 2
    let imbalance = offpeg_fee_multiplier
        .wrapping_sub(FEE_DENOMINATOR)
        .times(uint!(4_U256))
        .times(xpi)
        .times(xpj)
        .over(xps2);
    offpeg_fee_multiplier
        .wrapping_mul(fee)
        .unsafe_div(imbalance.wrapping_add(FEE_DENOMINATOR))
}

/// Curve stableswap-ng `_get_p(xp, amp, D)` for two coins: the AMM state price of coin 1 in
/// units of coin 0 (`dx_0 / dx_1`), scaled by 10¹⁸.
///
/// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
/// function `_get_p`.
///
/// # Panics
/// Where the contract reverts: overflow, a zero balance.
pub fn get_p(xp: [U256; 2], amp: U256, d: U256) -> U256 {
    let ann = amp.wrapping_mul(N_COINS);
    let mut dr = d.unsafe_div(N_COINS_POW_N_COINS);
    for x in xp {
        dr = dr.times(d).over(x);
    }
    let xp0_a = ann.times(xp[0]).unsafe_div(A_PRECISION);
    PRECISION
        .times(xp0_a.plus(dr.times(xp[0]).unsafe_div(xp[1])))
        .over(xp0_a.plus(dr))
}

/// A two-coin stableswap-ng pool of plain 18-decimal tokens (both rates 10¹⁸, so `xp` =
/// balances), without rebasing tokens, `A` not ramping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SsngPool {
    /// The pool's `_balances()`: its token balances minus `admin_balances`.
    pub balances: [U256; 2],
    /// Swap fees accrued to the admin, still held by the pool.
    pub admin_balances: [U256; 2],
    /// `A() * A_PRECISION` (what the contract's `_A()` returns).
    pub amp: U256,
    /// `fee`, in 1e10 units (e.g. 4_000_000 = 0.04%).
    pub fee: U256,
    /// `offpeg_fee_multiplier`, in 1e10 units (e.g. 20_000_000_000 = ×2).
    pub offpeg_fee_multiplier: U256,
    /// The admin's share of swap fees, 1e10 units. stableswap-ng hard-codes it as the constant
    /// `admin_fee` = 5_000_000_000 (50%, [`ADMIN_FEE`], what [`SsngPool::new`] sets); older
    /// Curve pools (e.g. the original StableSwap templates) store a settable `admin_fee`, so
    /// tests may set another share here.
    pub admin_fee: U256,
}

/// The outcome of [`SsngPool::exchange`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SsngSwap {
    /// Coin `j` sent to the trader (after the fee).
    pub dy: U256,
    /// The swap fee in `xp` units (= coin `j` wei at rate 10¹⁸), LP and admin shares together.
    pub dy_fee: U256,
    /// The admin's share of `dy_fee`, moved from `balances[j]` to `admin_balances[j]`.
    pub admin_fee: U256,
}

impl SsngPool {
    /// A pool with the given `_balances()`, no admin balances and stableswap-ng's admin share.
    pub fn new(balances: [U256; 2], amp: U256, fee: U256, offpeg_fee_multiplier: U256) -> Self {
        SsngPool {
            balances,
            admin_balances: [U256::ZERO; 2],
            amp,
            fee,
            offpeg_fee_multiplier,
            admin_fee: ADMIN_FEE,
        }
    }

    /// `xp` = `_xp_mem(rates, _balances())`.
    fn xp(&self) -> [U256; 2] {
        [0, 1].map(|k| RATES[k].times(self.balances[k]).unsafe_div(PRECISION))
    }

    /// The invariant D at the current balances: `get_D(_xp_mem(rates, _balances()), _A())`, as
    /// in `get_D_mem`.
    ///
    /// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
    /// function `get_D_mem`.
    pub fn get_d(&self) -> U256 {
        get_d(self.xp(), self.amp)
    }

    /// The external view `get_p(0)`: `_get_p(xp, amp, get_D(xp, amp))[0]`, the state price of
    /// coin 1 in coin 0 at the current balances, scaled by 10¹⁸.
    ///
    /// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
    /// function `get_p`.
    pub fn get_p(&self) -> U256 {
        let xp = self.xp();
        get_p(xp, self.amp, get_d(xp, self.amp))
    }

    /// `exchange(i, j, dx, 0)`: sell `dx` of coin `i` for coin `j` — `_exchange` and
    /// `__exchange` with the transfers of `_transfer_in`/`_transfer_out` applied to the
    /// balances: `balances[i] += dx`; `balances[j] -= dy + admin_fee`;
    /// `admin_balances[j] += admin_fee`. `dy` is `xp[j] − y − 1` less the dynamic fee, the fee
    /// being taken at the average of the pre- and post-trade balances. The LP share of the fee
    /// stays in `balances[j]`.
    ///
    /// `upkeep_oracles` runs too, for its reverts only (`_get_p` at the post-trade balances and
    /// `pack_2`'s `D < 2**128`); its moving averages are not modelled.
    ///
    /// Source: `curvefi/stableswap-ng`, `contracts/main/CurveStableSwapNG.vy` @ `2abe778f`,
    /// functions `exchange`, `_exchange`, `__exchange`, `_transfer_in`, `_transfer_out`,
    /// `upkeep_oracles`.
    ///
    /// # Panics
    /// Where the contract reverts: `i == j`, an index out of range, `dx` = 0, overflow,
    /// a pool whose D reaches 2¹²⁸.
    pub fn exchange(&mut self, i: usize, j: usize, dx: U256) -> SsngSwap {
        assert!(i != j, "revert: coin index out of range");
        assert!(i < 2 && j < 2, "revert: coin index out of range");
        assert!(!dx.is_zero(), "revert: do not exchange 0 coins");

        // _exchange
        let xp = self.xp();
        let x = xp[i].plus(dx.times(RATES[i]).unsafe_div(PRECISION));

        // __exchange
        let amp = self.amp;
        let d = get_d(xp, amp);
        let y = get_y(i, j, x, xp, amp, d);
        let dy = xp[j].minus(y).minus(U256::ONE); // -1 just in case there were some rounding errors
        let fee = dynamic_fee(
            xp[i].plus(x).unsafe_div(TWO),
            xp[j].plus(y).unsafe_div(TWO),
            self.fee,
            self.offpeg_fee_multiplier,
        );
        let dy_fee = dy.times(fee).unsafe_div(FEE_DENOMINATOR);
        let dy_out = dy.minus(dy_fee).times(PRECISION).over(RATES[j]);
        let admin_fee = dy_fee
            .times(self.admin_fee)
            .unsafe_div(FEE_DENOMINATOR)
            .times(PRECISION)
            .unsafe_div(RATES[j]);

        // upkeep_oracles(xp with xp[i] = x, xp[j] = y, amp, D): only its reverts matter here.
        let mut xp_after = xp;
        xp_after[i] = x;
        xp_after[j] = y;
        get_p(xp_after, amp, d);
        assert!(d < PACK_LIMIT, "revert: pack_2 (D >= 2**128)");

        // _transfer_in (stored_balances[i] += dx), _transfer_out (stored_balances[j] -= dy),
        // admin_balances[j] += admin fee; _balances() = stored_balances - admin_balances.
        self.balances[i] = self.balances[i].plus(dx);
        self.balances[j] = self.balances[j].minus(dy_out).minus(admin_fee);
        self.admin_balances[j] = self.admin_balances[j].plus(admin_fee);

        SsngSwap {
            dy: dy_out,
            dy_fee,
            admin_fee,
        }
    }
}

// ---------------------------------------------------------------------------
// Uniswap v2
// ---------------------------------------------------------------------------

/// The largest value a `uint112` reserve holds.
const UINT112_MAX: U256 = uint!(0xffff_ffff_ffff_ffff_ffff_ffff_ffff_U256);
const UNIV2_FEE_NUM: U256 = uint!(997_U256);
const UNIV2_FEE_DEN: U256 = uint!(1000_U256);

/// Uniswap v2 `getAmountOut(amountIn, reserveIn, reserveOut)`: the output of selling
/// `amount_in` into a pair at a 0.3% fee,
/// `amountIn·997·reserveOut / (reserveIn·1000 + amountIn·997)`, floored.
///
/// Source: `Uniswap/v2-periphery`, `contracts/libraries/UniswapV2Library.sol` (stored copy
/// at `888ee36a`), function `getAmountOut`.
///
/// # Panics
/// Where the library reverts: `amount_in` = 0, an empty reserve, overflow.
pub fn get_amount_out(amount_in: U256, reserve_in: U256, reserve_out: U256) -> U256 {
    get_amount_out_with_fee(
        amount_in,
        reserve_in,
        reserve_out,
        UNIV2_FEE_NUM,
        UNIV2_FEE_DEN,
    )
}

/// Uniswap v2 `getAmountOut` with the fee as a parameter: `fee_num / fee_den` = 1 − fee
/// (997/1000 for Uniswap). Forks that differ from Uniswap v2 only in this constant exist, e.g.
/// 9975/10000 (0.25%, PancakeSwap v2); their pairs' K check uses the same constants (see
/// [`UniV2Pair::swap_in_with_fee`]).
///
/// Source: `Uniswap/v2-periphery`, `contracts/libraries/UniswapV2Library.sol` (stored copy
/// at `888ee36a`), function `getAmountOut`, with 997 and 1000 replaced by the arguments.
///
/// # Panics
/// Where the library reverts: `amount_in` = 0, an empty reserve, overflow.
pub fn get_amount_out_with_fee(
    amount_in: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee_num: U256,
    fee_den: U256,
) -> U256 {
    assert!(
        !amount_in.is_zero(),
        "revert: UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT"
    );
    assert!(
        !reserve_in.is_zero() && !reserve_out.is_zero(),
        "revert: UniswapV2Library: INSUFFICIENT_LIQUIDITY"
    );
    let amount_in_with_fee = amount_in.times(fee_num);
    let numerator = amount_in_with_fee.times(reserve_out);
    let denominator = reserve_in.times(fee_den).plus(amount_in_with_fee);
    numerator.over(denominator)
}

/// A Uniswap v2 pair's reserves (`uint112` each in the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniV2Pair {
    /// Reserve of token 0.
    pub reserve0: U256,
    /// Reserve of token 1.
    pub reserve1: U256,
}

impl UniV2Pair {
    /// A pair holding these reserves (each at most `2**112 − 1`).
    pub fn new(reserve0: U256, reserve1: U256) -> Self {
        UniV2Pair { reserve0, reserve1 }
    }

    /// The reserves as an array indexed by token.
    pub fn reserves(&self) -> [U256; 2] {
        [self.reserve0, self.reserve1]
    }

    /// The router's quote for selling `amount_in` of token `i`: [`get_amount_out`] at the
    /// current reserves.
    pub fn get_amount_out(&self, i: usize, amount_in: U256) -> U256 {
        let r = self.reserves();
        get_amount_out(amount_in, r[i], r[1 - i])
    }

    /// `UniswapV2Pair.swap(amount0Out, amount1Out, to, "")` after the caller transferred
    /// `transferred_in` to the pair: checks the output against the reserves, derives the inputs
    /// from the balances, asserts the K check
    /// `balance0Adjusted * balance1Adjusted >= reserve0 * reserve1 * 1000**2` with
    /// `balanceAdjusted = balance * 1000 - amountIn * 3`, and stores the balances as the new
    /// reserves (`_update`).
    ///
    /// Source: `Uniswap/v2-core`, `contracts/UniswapV2Pair.sol` @ `ee547b17`, functions `swap`
    /// and `_update`.
    ///
    /// # Panics
    /// Where the pair reverts: no output, an output not below its reserve, no input, the K
    /// check, a balance above `uint112`, overflow.
    pub fn swap(&mut self, transferred_in: [U256; 2], amounts_out: [U256; 2]) {
        self.swap_with_fee(transferred_in, amounts_out, UNIV2_FEE_NUM, UNIV2_FEE_DEN);
    }

    /// `swap` of a fork with fee `1 − fee_num / fee_den`: the K check becomes
    /// `(balance0·fee_den − amount0In·(fee_den − fee_num)) · (…1…) >= reserve0·reserve1·fee_den²`.
    /// With 997/1000 it is exactly [`UniV2Pair::swap`].
    fn swap_with_fee(
        &mut self,
        transferred_in: [U256; 2],
        amounts_out: [U256; 2],
        fee_num: U256,
        fee_den: U256,
    ) {
        let reserves = self.reserves();
        assert!(
            amounts_out.iter().any(|a| !a.is_zero()),
            "revert: UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT"
        );
        assert!(
            amounts_out[0] < reserves[0] && amounts_out[1] < reserves[1],
            "revert: UniswapV2: INSUFFICIENT_LIQUIDITY"
        );
        // The pair's token balances after the optimistic transfers out.
        let balances = [0, 1].map(|k| reserves[k].plus(transferred_in[k]).minus(amounts_out[k]));
        let amounts_in = [0, 1].map(|k| {
            let kept = reserves[k].minus(amounts_out[k]);
            if balances[k] > kept {
                balances[k].minus(kept)
            } else {
                U256::ZERO
            }
        });
        assert!(
            amounts_in.iter().any(|a| !a.is_zero()),
            "revert: UniswapV2: INSUFFICIENT_INPUT_AMOUNT"
        );
        let fee_part = fee_den.minus(fee_num);
        let adjusted = [0, 1].map(|k| {
            balances[k]
                .times(fee_den)
                .minus(amounts_in[k].times(fee_part))
        });
        assert!(
            adjusted[0].times(adjusted[1])
                >= reserves[0].times(reserves[1]).times(fee_den.times(fee_den)),
            "revert: UniswapV2: K"
        );
        // _update
        assert!(
            balances[0] <= UINT112_MAX && balances[1] <= UINT112_MAX,
            "revert: UniswapV2: OVERFLOW"
        );
        self.reserve0 = balances[0];
        self.reserve1 = balances[1];
    }

    /// Sell `amount_in` of token `i` as the router does (`swapExactTokensForTokens` on one
    /// pair): quote with `getAmountOut`, transfer `amount_in` to the pair, call `swap`. The
    /// whole `amount_in` joins reserve `i`; the output leaves the other reserve. Returns the
    /// output.
    ///
    /// Sources: `Uniswap/v2-periphery` `UniswapV2Library.getAmountOut` and `Uniswap/v2-core`,
    /// `contracts/UniswapV2Pair.sol` @ `ee547b17`, function `swap`.
    ///
    /// # Panics
    /// Where the library or the pair reverts, including an output of 0
    /// (`INSUFFICIENT_OUTPUT_AMOUNT`) for a dust input.
    pub fn swap_in(&mut self, i: usize, amount_in: U256) -> U256 {
        self.swap_in_with_fee(i, amount_in, UNIV2_FEE_NUM, UNIV2_FEE_DEN)
    }

    /// [`UniV2Pair::swap_in`] for a fork with fee `1 − fee_num / fee_den` (quote by
    /// [`get_amount_out_with_fee`], K check with the same constants).
    pub fn swap_in_with_fee(
        &mut self,
        i: usize,
        amount_in: U256,
        fee_num: U256,
        fee_den: U256,
    ) -> U256 {
        assert!(i < 2, "token index out of range");
        let r = self.reserves();
        let amount_out = get_amount_out_with_fee(amount_in, r[i], r[1 - i], fee_num, fee_den);
        let mut amounts_in = [U256::ZERO; 2];
        let mut amounts_out = [U256::ZERO; 2];
        amounts_in[i] = amount_in;
        amounts_out[1 - i] = amount_out;
        self.swap_with_fee(amounts_in, amounts_out, fee_num, fee_den);
        amount_out
    }
}

// ---------------------------------------------------------------------------
// Aave v3.2 / v3.3 liquidation
// ---------------------------------------------------------------------------

/// PercentageMath `PERCENTAGE_FACTOR`: 100.00% in bps.
pub const PERCENTAGE_FACTOR: U256 = uint!(10_000_U256);
/// PercentageMath `HALF_PERCENTAGE_FACTOR`.
pub const HALF_PERCENTAGE_FACTOR: U256 = uint!(5_000_U256);
/// WadRayMath `WAD` = 10¹⁸.
pub const WAD: U256 = uint!(1_000_000_000_000_000_000_U256);
/// `10 ** decimals` of both assets (18 decimals).
pub const ASSET_UNIT: U256 = WAD;
/// ValidationLogic `HEALTH_FACTOR_LIQUIDATION_THRESHOLD` = 1e18.
pub const HEALTH_FACTOR_LIQUIDATION_THRESHOLD: U256 = WAD;
/// LiquidationLogic `CLOSE_FACTOR_HF_THRESHOLD` = 0.95e18.
pub const CLOSE_FACTOR_HF_THRESHOLD: U256 = uint!(950_000_000_000_000_000_U256);
/// LiquidationLogic `DEFAULT_LIQUIDATION_CLOSE_FACTOR` = 50%.
pub const DEFAULT_LIQUIDATION_CLOSE_FACTOR: U256 = uint!(5_000_U256);
/// v3.2 LiquidationLogic `MAX_LIQUIDATION_CLOSE_FACTOR` = 100%.
pub const MAX_LIQUIDATION_CLOSE_FACTOR: U256 = uint!(10_000_U256);
/// v3.3 LiquidationLogic `MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD` = 2000e8 (USD 2000 at 8 decimals).
pub const MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD: U256 = uint!(200_000_000_000_U256);
/// v3.3 LiquidationLogic `MIN_LEFTOVER_BASE` = `MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD / 2`.
pub const MIN_LEFTOVER_BASE: U256 = uint!(100_000_000_000_U256);

/// Aave PercentageMath `percentMul(value, percentage)`: `value · percentage / 10⁴`, rounded
/// half up (`+ HALF_PERCENTAGE_FACTOR` before the floor division).
///
/// Source: `aave-dao/aave-v3-origin`, `src/contracts/protocol/libraries/math/PercentageMath.sol`
/// @ `v3.3.0` (identical at `v3.2.0`), function `percentMul`.
///
/// # Panics
/// Where the library reverts: `value · percentage + HALF_PERCENTAGE_FACTOR` overflows.
pub fn percent_mul(value: U256, percentage: U256) -> U256 {
    // The assembly's guard, then unchecked arithmetic.
    assert!(
        percentage.is_zero() || value <= (U256::MAX - HALF_PERCENTAGE_FACTOR) / percentage,
        "revert: percentMul overflows"
    );
    value
        .wrapping_mul(percentage)
        .wrapping_add(HALF_PERCENTAGE_FACTOR)
        / PERCENTAGE_FACTOR
}

/// Aave PercentageMath `percentDiv(value, percentage)`: `value · 10⁴ / percentage`, rounded by
/// adding `percentage / 2` (floored) before the floor division — half up for even divisors.
///
/// Source: `aave-dao/aave-v3-origin`, `src/contracts/protocol/libraries/math/PercentageMath.sol`
/// @ `v3.3.0` (identical at `v3.2.0`), function `percentDiv`.
///
/// # Panics
/// Where the library reverts: `percentage` = 0 or overflow.
pub fn percent_div(value: U256, percentage: U256) -> U256 {
    let half = percentage / TWO;
    assert!(
        !percentage.is_zero() && value <= (U256::MAX - half) / PERCENTAGE_FACTOR,
        "revert: percentDiv by zero or overflows"
    );
    value.wrapping_mul(PERCENTAGE_FACTOR).wrapping_add(half) / percentage
}

/// Aave WadRayMath `wadDiv(a, b)`: `a · 10¹⁸ / b`, rounded by adding `b / 2` (floored).
///
/// Source: `aave-dao/aave-v3-origin`, `src/contracts/protocol/libraries/math/WadRayMath.sol`
/// @ `v3.3.0` (identical at `v3.2.0`), function `wadDiv`.
///
/// # Panics
/// Where the library reverts: `b` = 0 or overflow.
pub fn wad_div(a: U256, b: U256) -> U256 {
    let half = b / TWO;
    assert!(
        !b.is_zero() && a <= (U256::MAX - half) / WAD,
        "revert: wadDiv by zero or overflows"
    );
    a.wrapping_mul(WAD).wrapping_add(half) / b
}

/// The Aave version whose liquidation rules apply.
///
/// Aave v3.0 (`aave/aave-v3-core`, tags `v1.16.0` (`bf4aa7ab`) to `v1.19.4` (`b74526a7`),
/// `contracts/protocol/libraries/logic/LiquidationLogic.sol`) computes the close factor and
/// the collateral exactly as v3.2: `_calculateDebt` is v3.2's except that the user's total
/// debt also counts stable debt (none here), and `_calculateAvailableCollateralToLiquidate`
/// is identical to v3.2's up to formatting. So [`AaveVersion::V3_2`] also ports v3.0 for a
/// variable-rate debt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AaveVersion {
    /// `aave-dao/aave-v3-origin` tag `v3.2.0`: close factor 50% above HF 0.95, 100% at or
    /// below; bad debt stays on the position.
    V3_2,
    /// `aave-dao/aave-v3-origin` tag `v3.3.0`: 100% close factor for positions under
    /// USD 2000, the dust rule, and deficit accounting of bad debt.
    V3_3,
}

impl AaveVersion {
    /// Both versions, oldest first.
    pub const ALL: [AaveVersion; 2] = [AaveVersion::V3_2, AaveVersion::V3_3];
}

/// A user with one collateral asset and one (variable-rate) debt asset, both with 18 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AavePosition {
    /// aToken balance of the collateral asset. The collateral is enabled as collateral
    /// exactly when this is non-zero (Aave clears the flag when a liquidation or withdrawal
    /// takes the whole balance).
    pub collateral: U256,
    /// Variable debt token balance of the debt asset.
    pub debt: U256,
}

/// The reserve configuration and oracle prices a liquidation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AaveParams {
    /// Liquidation threshold of the collateral, bps (e.g. 9500 = 95%).
    pub liquidation_threshold_bps: U256,
    /// Liquidation bonus as Aave stores it, 10000 + bonus in bps (e.g. 10100 for 1%).
    pub liquidation_bonus_bps: U256,
    /// Liquidation protocol fee: the share of the bonus part of the seized collateral that
    /// goes to the treasury, bps.
    pub protocol_fee_bps: U256,
    /// Oracle price of the collateral asset in the base currency (8 decimals for USD).
    pub collateral_price: U256,
    /// Oracle price of the debt asset in the base currency.
    pub debt_price: U256,
}

/// The outcome of [`liquidation_call`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AaveLiquidation {
    /// Debt asset paid by the liquidator and burned from the position (`actualDebtToLiquidate`).
    pub debt_repaid: U256,
    /// Collateral sent to the liquidator (`actualCollateralToLiquidate`, after the protocol fee).
    pub collateral_to_liquidator: U256,
    /// Collateral sent to the treasury (`liquidationProtocolFeeAmount`).
    pub protocol_fee_collateral: U256,
    /// v3.3: debt burned without repayment and added to the reserve's `deficit` because the
    /// liquidation left no collateral. Always 0 for v3.2, which leaves that debt on the position.
    pub deficit: U256,
    /// The health factor before the liquidation, wad.
    pub health_factor_before: U256,
}

/// A `require(…, Errors.X)` of the liquidation path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AaveRevert {
    /// `HEALTH_FACTOR_NOT_BELOW_THRESHOLD` ('45'): health factor ≥ 1.
    HealthFactorNotBelowThreshold,
    /// `COLLATERAL_CANNOT_BE_LIQUIDATED` ('46'): collateral not enabled (zero balance) or
    /// liquidation threshold 0.
    CollateralCannotBeLiquidated,
    /// `SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER` ('47'): no debt.
    SpecifiedCurrencyNotBorrowedByUser,
    /// `MUST_NOT_LEAVE_DUST` ('103', v3.3 only): a partial liquidation would leave less than
    /// `MIN_LEFTOVER_BASE` of debt or collateral.
    MustNotLeaveDust,
    /// `INVALID_BURN_AMOUNT` ('25'): the debt or collateral token burn would be 0 (e.g.
    /// `debt_to_cover` = 0).
    InvalidBurnAmount,
}

impl AaveRevert {
    /// The error code of `Errors.sol`.
    pub fn code(self) -> &'static str {
        match self {
            AaveRevert::HealthFactorNotBelowThreshold => "45",
            AaveRevert::CollateralCannotBeLiquidated => "46",
            AaveRevert::SpecifiedCurrencyNotBorrowedByUser => "47",
            AaveRevert::MustNotLeaveDust => "103",
            AaveRevert::InvalidBurnAmount => "25",
        }
    }
}

impl fmt::Display for AaveRevert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Aave revert {:?} (Errors.sol code {})",
            self,
            self.code()
        )
    }
}

impl std::error::Error for AaveRevert {}

/// What `GenericLogic.calculateUserAccountData` returns that a liquidation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AaveAccountData {
    /// Enabled collateral with a non-zero threshold, in the base currency.
    pub total_collateral_in_base: U256,
    /// Debt in the base currency.
    pub total_debt_in_base: U256,
    /// Health factor, wad; `U256::MAX` without debt.
    pub health_factor: U256,
}

/// Aave `GenericLogic.calculateUserAccountData` for one collateral and one debt asset:
/// collateral and debt in the base currency (`balance · price / 10^decimals`, floored; the
/// collateral only while enabled and with a non-zero threshold) and the health factor
/// `(totalCollateralInBase.percentMul(avgLiquidationThreshold)).wadDiv(totalDebtInBase)`.
/// Indexes are 1 ray, where `scaledBalance.rayMul(index)` is the balance exactly.
///
/// Source: `aave-dao/aave-v3-origin`,
/// `src/contracts/protocol/libraries/logic/GenericLogic.sol` @ `v3.3.0` and `v3.2.0` (they
/// differ only for GHO debt), functions `calculateUserAccountData`,
/// `_getUserBalanceInBaseCurrency`, `_getUserDebtInBaseCurrency`.
pub fn account_data(position: &AavePosition, params: &AaveParams) -> AaveAccountData {
    let using_as_collateral = !position.collateral.is_zero();
    let borrowing = !position.debt.is_zero();
    if !using_as_collateral && !borrowing {
        // userConfig.isEmpty()
        return AaveAccountData {
            total_collateral_in_base: U256::ZERO,
            total_debt_in_base: U256::ZERO,
            health_factor: U256::MAX,
        };
    }
    let lt = params.liquidation_threshold_bps;
    let mut total_collateral_in_base = U256::ZERO;
    let mut weighted_threshold = U256::ZERO;
    if !lt.is_zero() && using_as_collateral {
        let balance_in_base = position.collateral.times(params.collateral_price) / ASSET_UNIT;
        total_collateral_in_base = total_collateral_in_base.plus(balance_in_base);
        weighted_threshold = weighted_threshold.plus(balance_in_base.times(lt));
    }
    let mut total_debt_in_base = U256::ZERO;
    if borrowing {
        total_debt_in_base =
            total_debt_in_base.plus(position.debt.times(params.debt_price) / ASSET_UNIT);
    }
    let avg_liquidation_threshold = weighted_threshold.unsafe_div(total_collateral_in_base);
    let health_factor = if total_debt_in_base.is_zero() {
        U256::MAX
    } else {
        wad_div(
            percent_mul(total_collateral_in_base, avg_liquidation_threshold),
            total_debt_in_base,
        )
    };
    AaveAccountData {
        total_collateral_in_base,
        total_debt_in_base,
        health_factor,
    }
}

/// The health factor (wad) as `GenericLogic.calculateUserAccountData` computes it; see
/// [`account_data`].
pub fn health_factor(position: &AavePosition, params: &AaveParams) -> U256 {
    account_data(position, params).health_factor
}

/// What `_calculateAvailableCollateralToLiquidate` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AaveCollateralToLiquidate {
    /// Collateral to the liquidator (after the protocol fee).
    pub collateral_to_liquidator: U256,
    /// Debt the liquidator repays: `debt_to_cover`, or less when the collateral balance caps
    /// the seizure.
    pub debt_amount_needed: U256,
    /// Collateral to the treasury.
    pub protocol_fee: U256,
    /// v3.3's `collateralToLiquidateInBaseCurrency`: the seized collateral *including* the
    /// protocol fee, in the base currency (v3.2 does not compute it).
    pub collateral_to_liquidate_in_base: U256,
}

/// Aave `LiquidationLogic._calculateAvailableCollateralToLiquidate`: the collateral worth
/// `debt_to_cover` plus the bonus (`percentMul(liquidationBonus)`), capped by the balance (the
/// repaid debt then shrinks to what the whole balance buys at the bonus, `percentDiv`), and
/// the protocol fee `(collateral − collateral.percentDiv(bonus)).percentMul(fee)` taken out of
/// the bonus part. v3.2 and v3.3 compute the same numbers (v3.3 also returns the seized
/// collateral in the base currency); so does v3.0 (`aave/aave-v3-core`).
///
/// Source: `aave-dao/aave-v3-origin`,
/// `src/contracts/protocol/libraries/logic/LiquidationLogic.sol` @ `v3.3.0` and `v3.2.0`,
/// function `_calculateAvailableCollateralToLiquidate`.
pub fn calculate_available_collateral_to_liquidate(
    params: &AaveParams,
    debt_to_cover: U256,
    user_collateral_balance: U256,
) -> AaveCollateralToLiquidate {
    let bonus = params.liquidation_bonus_bps;
    // This is the base collateral to liquidate based on the given debt to cover
    let base_collateral = params
        .debt_price
        .times(debt_to_cover)
        .times(ASSET_UNIT)
        .over(params.collateral_price.times(ASSET_UNIT));
    let max_collateral_to_liquidate = percent_mul(base_collateral, bonus);
    let (mut collateral_amount, debt_amount_needed) =
        if max_collateral_to_liquidate > user_collateral_balance {
            let debt = params
                .collateral_price
                .times(user_collateral_balance)
                .times(ASSET_UNIT)
                .over(params.debt_price.times(ASSET_UNIT));
            (user_collateral_balance, percent_div(debt, bonus))
        } else {
            (max_collateral_to_liquidate, debt_to_cover)
        };
    // v3.3 only; for v3.2 it adds no revert, the whole balance times the price having been
    // computed by GenericLogic already.
    let collateral_to_liquidate_in_base = collateral_amount
        .times(params.collateral_price)
        .over(ASSET_UNIT);
    let mut protocol_fee = U256::ZERO;
    if !params.protocol_fee_bps.is_zero() {
        let bonus_collateral = collateral_amount.minus(percent_div(collateral_amount, bonus));
        protocol_fee = percent_mul(bonus_collateral, params.protocol_fee_bps);
        collateral_amount = collateral_amount.minus(protocol_fee);
    }
    AaveCollateralToLiquidate {
        collateral_to_liquidator: collateral_amount,
        debt_amount_needed,
        protocol_fee,
        collateral_to_liquidate_in_base,
    }
}

/// Aave `Pool.liquidationCall(collateral, debt, user, debt_to_cover, receiveAToken = false)`
/// for one collateral and one debt asset, updating `position`:
///
/// * health factor by `GenericLogic` ([`account_data`]); `ValidationLogic.validateLiquidationCall`
///   (HF < 1, collateral enabled with a non-zero threshold, debt non-zero; reserves active,
///   unpaused, no grace period, no price-oracle sentinel);
/// * close factor — v3.2 (`_calculateDebt`): `debt.percentMul(HF > 0.95 ? 50% : 100%)`;
///   v3.3: the whole debt, unless collateral and debt in base are both
///   ≥ `MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD` and HF > 0.95, when it is 50% of the *total* debt
///   in base converted back to the debt asset (`· 10^decimals / price`, floored);
/// * [`calculate_available_collateral_to_liquidate`];
/// * v3.3's `MUST_NOT_LEAVE_DUST`: a liquidation that takes neither all the debt nor all the
///   collateral must leave ≥ `MIN_LEFTOVER_BASE` of both;
/// * the burns (`INVALID_BURN_AMOUNT` for a zero amount); v3.3 burns the whole debt when
///   `hasNoCollateralLeft` (total collateral in base == seized collateral in base — compared
///   in the base currency, so dust collateral worth less than one base unit may remain on the
///   position) and books the unpaid part as deficit; v3.2 leaves it on the position.
///
/// Nothing is modified when the call reverts.
///
/// Sources: `aave-dao/aave-v3-origin` @ `v3.2.0` and `v3.3.0`,
/// `src/contracts/protocol/libraries/logic/LiquidationLogic.sol` (`executeLiquidationCall`,
/// `_calculateDebt` (v3.2), `_burnDebtTokens`, `_burnCollateralATokens`,
/// `_calculateAvailableCollateralToLiquidate`), `ValidationLogic.sol`
/// (`validateLiquidationCall`), `GenericLogic.sol` (`calculateUserAccountData`),
/// `tokenization/base/ScaledBalanceTokenBase.sol` (`_burnScaled`).
///
/// # Panics
/// On arithmetic reverts (overflow, zero price).
pub fn liquidation_call(
    version: AaveVersion,
    position: &mut AavePosition,
    params: &AaveParams,
    debt_to_cover: U256,
) -> Result<AaveLiquidation, AaveRevert> {
    let account = account_data(position, params);
    let health_factor = account.health_factor;
    let user_collateral_balance = position.collateral;
    let user_reserve_debt = position.debt;

    // ValidationLogic.validateLiquidationCall
    if health_factor >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD {
        return Err(AaveRevert::HealthFactorNotBelowThreshold);
    }
    if params.liquidation_threshold_bps.is_zero() || user_collateral_balance.is_zero() {
        return Err(AaveRevert::CollateralCannotBeLiquidated);
    }
    if user_reserve_debt.is_zero() {
        return Err(AaveRevert::SpecifiedCurrencyNotBorrowedByUser);
    }

    let max_liquidatable_debt = match version {
        AaveVersion::V3_2 => {
            let close_factor = if health_factor > CLOSE_FACTOR_HF_THRESHOLD {
                DEFAULT_LIQUIDATION_CLOSE_FACTOR
            } else {
                MAX_LIQUIDATION_CLOSE_FACTOR
            };
            percent_mul(user_reserve_debt, close_factor)
        }
        AaveVersion::V3_3 => {
            let debt_in_base = user_reserve_debt.times(params.debt_price).over(ASSET_UNIT);
            let collateral_in_base = user_collateral_balance
                .times(params.collateral_price)
                .over(ASSET_UNIT);
            let mut max = user_reserve_debt;
            if collateral_in_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
                && debt_in_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
                && health_factor > CLOSE_FACTOR_HF_THRESHOLD
            {
                let default_liquidatable_in_base =
                    percent_mul(account.total_debt_in_base, DEFAULT_LIQUIDATION_CLOSE_FACTOR);
                if debt_in_base > default_liquidatable_in_base {
                    max = default_liquidatable_in_base
                        .times(ASSET_UNIT)
                        .over(params.debt_price);
                }
            }
            max
        }
    };
    let debt_to_liquidate = debt_to_cover.min(max_liquidatable_debt);

    let available = calculate_available_collateral_to_liquidate(
        params,
        debt_to_liquidate,
        user_collateral_balance,
    );
    let actual_collateral = available.collateral_to_liquidator;
    let actual_debt = available.debt_amount_needed;
    let protocol_fee = available.protocol_fee;

    let (debt_burned, debt_after, deficit) = match version {
        AaveVersion::V3_2 => (
            actual_debt,
            user_reserve_debt.minus(actual_debt),
            U256::ZERO,
        ),
        AaveVersion::V3_3 => {
            let seized = actual_collateral.plus(protocol_fee);
            if actual_debt < user_reserve_debt && seized < user_collateral_balance {
                let debt_left_in_base = user_reserve_debt
                    .minus(actual_debt)
                    .times(params.debt_price)
                    .over(ASSET_UNIT);
                let collateral_left_in_base = user_collateral_balance
                    .minus(actual_collateral)
                    .minus(protocol_fee)
                    .times(params.collateral_price)
                    .over(ASSET_UNIT);
                if debt_left_in_base < MIN_LEFTOVER_BASE
                    || collateral_left_in_base < MIN_LEFTOVER_BASE
                {
                    return Err(AaveRevert::MustNotLeaveDust);
                }
            }
            let has_no_collateral_left =
                account.total_collateral_in_base == available.collateral_to_liquidate_in_base;
            let outstanding = user_reserve_debt.minus(actual_debt);
            if has_no_collateral_left {
                (user_reserve_debt, U256::ZERO, outstanding)
            } else {
                (actual_debt, outstanding, U256::ZERO)
            }
        }
    };
    // _burnDebtTokens, then _burnCollateralATokens: ScaledBalanceTokenBase._burnScaled
    // requires a non-zero scaled amount (= amount at index 1 ray).
    if debt_burned.is_zero() || actual_collateral.is_zero() {
        return Err(AaveRevert::InvalidBurnAmount);
    }
    // The treasury transfer is capped by the remaining balance, which at index 1 ray always
    // covers it (the fee came out of the seized collateral).
    let collateral_after = user_collateral_balance
        .minus(actual_collateral)
        .minus(protocol_fee);

    position.collateral = collateral_after;
    position.debt = debt_after;
    Ok(AaveLiquidation {
        debt_repaid: actual_debt,
        collateral_to_liquidator: actual_collateral,
        protocol_fee_collateral: protocol_fee,
        deficit,
        health_factor_before: health_factor,
    })
}
