//! Exact integer ports of the contracts lrtsim's f64 models imitate (module `contract_ports`:
//! Curve stableswap-ng, Uniswap v2, Aave v3.2/v3.3 liquidations), their self-tests, and
//! comparisons of lrtsim's f64 code with the ports.
//!
//! The self-tests (modules `ssng`, `univ2`, `aave`) check the ports against things no one here
//! invented: outputs of the contracts' own source text (Curve's Vyper functions executed under
//! Python with `uint256` semantics, pinned below), hand computations of the contracts'
//! formulas, the behaviour the contracts document (Aave's close factors, deficit and protocol
//! fee), and identities the contracts must satisfy (Curve's invariant evaluated exactly in
//! 512-bit integers, conservation of tokens, no round-trip profit).

mod contract_ports;

use contract_ports::*;
use proptest::prelude::*;
use ruint::aliases::U512;
use ruint::uint;

/// `whole` tokens of 18 decimals.
fn tokens(whole: u64) -> U256 {
    U256::from(whole) * WAD
}

/// `x · 10^exp`.
fn sci(x: u64, exp: u64) -> U256 {
    U256::from(x) * U256::from(10).pow(U256::from(exp))
}

/// Curve stableswap-ng.
mod ssng {
    use super::*;

    /// 0.04% and ×2, the fee parameters of many stableswap-ng pools.
    const FEE: U256 = uint!(4_000_000_U256);
    const OFFPEG: U256 = uint!(20_000_000_000_U256);

    /// `A() · A_PRECISION` for A from 1 to 5000.
    fn amps() -> Vec<U256> {
        [1u64, 10, 50, 100, 200, 1000, 5000]
            .iter()
            .map(|&a| U256::from(a) * A_PRECISION)
            .collect()
    }

    /// Pools from 1 to 10⁹ tokens (odd wei amounts included), balanced and imbalanced up to
    /// 1:1000 either way.
    fn pools() -> Vec<[U256; 2]> {
        let sizes = [
            tokens(1),
            sci(1, 21) + U256::from(7),
            sci(1, 24) + U256::from(12_345),
            sci(1, 27),
        ];
        // Imbalance ratios as (numerator, denominator).
        let ratios = [(1u64, 1u64), (3, 2), (2, 1), (10, 1), (100, 1), (1000, 1)];
        let mut pools = Vec::new();
        for &size in &sizes {
            for &(num, den) in &ratios {
                let other = size * U256::from(num) / U256::from(den);
                pools.push([size, other]);
                if num != den {
                    pools.push([other, size]);
                }
            }
        }
        pools
    }

    fn wide(x: U256) -> U512 {
        U512::from(x)
    }

    /// The invariant `Ann·S/A_P + D = Ann·D/A_P + D³/(4·x0·x1)` (what `get_D` iterates to,
    /// `Ann` = `amp · N_COINS`), multiplied by `A_P · 4·x0·x1` and evaluated exactly:
    /// returns (left side, right side).
    fn invariant_sides(xp: [U256; 2], amp: U256, d: U256) -> (U512, U512) {
        let ann = wide(amp) * wide(N_COINS);
        let ap = wide(A_PRECISION);
        let p4 = U512::from(4) * wide(xp[0]) * wide(xp[1]);
        let s = wide(xp[0]) + wide(xp[1]);
        let d = wide(d);
        (ann * s * p4 + ap * d * p4, ann * d * p4 + ap * d * d * d)
    }

    /// Values from the contract's own text: `get_D`, `get_y`, `_dynamic_fee`, `_get_p` and
    /// `__exchange` of `CurveStableSwapNG.vy` @ `2abe778f`, executed verbatim under Python
    /// (uint256 `/` as floor division, `unsafe_*` as EVM ops), fee 0.04%, offpeg ×2.
    struct Pinned {
        xp: [U256; 2],
        amp: u64,
        d: U256,
        p: U256,
        /// `get_y(0, 1, xp[0] + 7e18, xp, amp, D)`.
        y_after_7: U256,
        /// `_dynamic_fee(xp[0], xp[1], fee)`.
        dynamic_fee: U256,
        /// (i, j, dx, dy, admin fee) of `__exchange`.
        swaps: [(usize, usize, U256, U256, U256); 2],
    }

    fn pinned() -> Vec<Pinned> {
        let dx = [tokens(10), uint!(123456789000000000000_U256)];
        vec![
            Pinned {
                xp: [tokens(1000), tokens(1000)],
                amp: 100 * 100,
                d: uint!(2000000000000000000000_U256),
                p: uint!(1000000000000000000_U256),
                y_after_7: uint!(993000485138193159766_U256),
                dynamic_fee: uint!(4000000_U256),
                swaps: [
                    (
                        0,
                        1,
                        dx[0],
                        uint!(9995010249014456442_U256),
                        uint!(1999826477968338_U256),
                    ),
                    (
                        1,
                        0,
                        dx[1],
                        uint!(123254370895710912088_U256),
                        uint!(24707766854460182_U256),
                    ),
                ],
            },
            Pinned {
                xp: [tokens(1000), tokens(1200)],
                amp: 200 * 100,
                d: uint!(2199954397522062696802_U256),
                p: uint!(999080849062305035_U256),
                y_after_7: uint!(1192993792547384484089_U256),
                dynamic_fee: uint!(4016597_U256),
                swaps: [
                    (
                        0,
                        1,
                        dx[0],
                        uint!(10004707401824506150_U256),
                        uint!(2009237707639658_U256),
                    ),
                    (
                        1,
                        0,
                        dx[1],
                        uint!(123217292544611226511_U256),
                        uint!(24922612165891531_U256),
                    ),
                ],
            },
            Pinned {
                xp: [
                    uint!(3000000000000000000000007_U256),
                    uint!(100000000000000000000003_U256),
                ],
                amp: 1000 * 100,
                d: uint!(3089260277950750682313993_U256),
                p: uint!(1118264470351123015_U256),
                y_after_7: uint!(99993740341426265623637_U256),
                dynamic_fee: uint!(7111933_U256),
                swaps: [
                    (
                        0,
                        1,
                        dx[0],
                        uint!(8935984318167923879_U256),
                        uint!(3179882801321075_U256),
                    ),
                    (
                        1,
                        0,
                        dx[1],
                        uint!(137941218915882409060_U256),
                        uint!(49083078268355283_U256),
                    ),
                ],
            },
            Pinned {
                xp: [tokens(1000), tokens(1_000_000)],
                amp: 50 * 100,
                d: uint!(562255715334787847154172_U256),
                p: uint!(3243094694523727_U256),
                y_after_7: uint!(997853358142265366521051_U256),
                dynamic_fee: uint!(7968190_U256),
                swaps: [
                    (
                        0,
                        1,
                        dx[0],
                        uint!(3057035304930204217880_U256),
                        uint!(1218891630757110072_U256),
                    ),
                    (
                        1,
                        0,
                        dx[1],
                        uint!(399937327467779474_U256),
                        uint!(159466076382608_U256),
                    ),
                ],
            },
        ]
    }

    #[test]
    fn ports_reproduce_the_contract_source_executed_verbatim() {
        for case in pinned() {
            let amp = U256::from(case.amp);
            let d = get_d(case.xp, amp);
            assert_eq!(d, case.d, "get_D {:?}", case.xp);
            assert_eq!(get_p(case.xp, amp, d), case.p, "_get_p {:?}", case.xp);
            let y = get_y(0, 1, case.xp[0] + tokens(7), case.xp, amp, d);
            assert_eq!(y, case.y_after_7, "get_y {:?}", case.xp);
            assert_eq!(
                dynamic_fee(case.xp[0], case.xp[1], FEE, OFFPEG),
                case.dynamic_fee
            );
            for (i, j, dx, dy, admin_fee) in case.swaps {
                let mut pool = SsngPool::new(case.xp, amp, FEE, OFFPEG);
                let swap = pool.exchange(i, j, dx);
                assert_eq!(
                    (swap.dy, swap.admin_fee),
                    (dy, admin_fee),
                    "exchange {i}->{j} {:?}",
                    case.xp
                );
            }
        }
    }

    #[test]
    fn get_d_of_a_balanced_pool_is_the_sum_of_balances() {
        for amp in amps() {
            for x in [
                U256::ONE,
                tokens(1),
                sci(1, 21) + U256::from(7),
                sci(123, 25),
            ] {
                assert_eq!(get_d([x, x], amp), x + x, "x = {x}, amp = {amp}");
            }
        }
        assert_eq!(get_d([U256::ZERO; 2], amps()[0]), U256::ZERO);
    }

    #[test]
    fn get_d_is_within_a_wei_of_the_exact_invariant() {
        // The exact root D* of the invariant lies in [D − k, D + k]: the left side minus the
        // right side decreases in D, so it is ≥ 0 at D − k and ≤ 0 at D + k.
        let k = U256::ONE;
        for amp in amps() {
            for xp in pools() {
                let d = get_d(xp, amp);
                let (l, r) = invariant_sides(xp, amp, d - k);
                assert!(l >= r, "D − {k} above the root: xp = {xp:?}, amp = {amp}");
                let (l, r) = invariant_sides(xp, amp, d + k);
                assert!(l <= r, "D + {k} below the root: xp = {xp:?}, amp = {amp}");
            }
        }
    }

    #[test]
    fn get_y_is_within_two_wei_of_the_exact_invariant() {
        // Move coin i by ±1/3 and solve for coin j; the left side minus the right side
        // increases in y, so the exact root lies in [y − k, y + k]. One wei is not enough: the
        // floors of `c` and `b` and the stop at a step ≤ 1 leave get_y up to 1.22 wei below
        // the root on this grid (e.g. 1.075 wei for 1:1 pools at A = 1).
        let k = U256::from(2);
        for amp in amps() {
            for xp in pools() {
                let d = get_d(xp, amp);
                for (i, j) in [(0, 1), (1, 0)] {
                    for x in [xp[i] + xp[i] / U256::from(3), xp[i] - xp[i] / U256::from(3)] {
                        let y = get_y(i, j, x, xp, amp, d);
                        let mut moved = xp;
                        moved[i] = x;
                        moved[j] = y - k;
                        let (l, r) = invariant_sides(moved, amp, d);
                        assert!(
                            l <= r,
                            "y − {k} above the root: xp = {xp:?}, i = {i}, amp = {amp}"
                        );
                        moved[j] = y + k;
                        let (l, r) = invariant_sides(moved, amp, d);
                        assert!(
                            l >= r,
                            "y + {k} below the root: xp = {xp:?}, i = {i}, amp = {amp}"
                        );
                    }
                }
            }
        }
    }

    /// |∂y/∂D| at balances `xp` (y = coin j): how many wei get_y moves per wei of D.
    fn y_sensitivity_to_d(xp: [U256; 2], j: usize, amp: U256, d: U256) -> f64 {
        let (x, y, d) = (f64::from(xp[1 - j]), f64::from(xp[j]), f64::from(d));
        let ann = f64::from(amp) * 2.0;
        let ap = f64::from(A_PRECISION);
        // F = Ann·4xy(x + y) + A_P·4xy·D − Ann·4xy·D − A_P·D³ = 0; ∂y/∂D = −F_D / F_y.
        let f_d = ap * 4.0 * x * y - ann * 4.0 * x * y - 3.0 * ap * d * d;
        let f_y = 4.0 * x * (ann * (x + 2.0 * y - d) + ap * d);
        (f_d / f_y).abs()
    }

    #[test]
    fn get_y_at_get_d_returns_the_balance_up_to_the_rounding_of_d() {
        // D is an integer within a wei of the exact invariant, and y moves by ∂y/∂D per wei
        // of D, which exceeds 1 for the smaller coin of an imbalanced low-A pool. So the round
        // trip is within 1 wei where that sensitivity is small, and in general within get_y's
        // own 2 wei plus the sensitivity.
        for amp in amps() {
            for xp in pools() {
                let d = get_d(xp, amp);
                for (i, j) in [(0, 1), (1, 0)] {
                    let y = get_y(i, j, xp[i], xp, amp, d);
                    let err = f64::from(y.abs_diff(xp[j]));
                    let sensitivity = y_sensitivity_to_d(xp, j, amp, d);
                    assert!(
                        err <= 2.0 + sensitivity,
                        "xp = {xp:?}, amp = {amp}, j = {j}: {err} wei off"
                    );
                    if sensitivity < 0.5 {
                        assert!(
                            err <= 1.0,
                            "xp = {xp:?}, amp = {amp}, j = {j}: {err} wei off"
                        );
                    }
                }
            }
        }
        // The contract itself misses by 7 wei at A = 1, 1:1000 (∂y/∂D = 7.6): the Vyper source
        // executed verbatim gives get_y(0, 1, 1e18, [1e18, 1e21], 100, D) = 1e21 − 7.
        let xp = [tokens(1), tokens(1000)];
        let amp = A_PRECISION;
        assert_eq!(
            get_y(0, 1, xp[0], xp, amp, get_d(xp, amp)),
            tokens(1000) - U256::from(7)
        );
    }

    #[test]
    fn dynamic_fee_is_the_fee_on_peg_and_tends_to_offpeg_times_fee() {
        for x in [U256::ONE, tokens(1), sci(3, 26) + U256::from(1)] {
            assert_eq!(dynamic_fee(x, x, FEE, OFFPEG), FEE);
        }
        // A multiplier ≤ 1 switches the dynamic fee off.
        assert_eq!(
            dynamic_fee(tokens(1), tokens(1000), FEE, FEE_DENOMINATOR),
            FEE
        );

        let max_fee = OFFPEG * FEE / FEE_DENOMINATOR;
        assert_eq!(dynamic_fee(sci(1, 30), U256::ONE, FEE, OFFPEG), max_fee);
        assert_eq!(dynamic_fee(U256::ONE, sci(1, 30), FEE, OFFPEG), max_fee);

        // Monotone in between.
        let mut prev = FEE;
        for ratio in [1u64, 2, 5, 10, 100, 1000, 1_000_000, 1_000_000_000] {
            let fee = dynamic_fee(tokens(ratio), tokens(1), FEE, OFFPEG);
            assert!(fee >= prev && fee <= max_fee, "ratio {ratio}: {fee}");
            prev = fee;
        }
        assert!(max_fee - prev <= U256::ONE);
    }

    #[test]
    fn get_p_is_one_on_a_balanced_pool() {
        for amp in amps() {
            for x in [tokens(1), sci(1, 21) + U256::from(7), sci(123, 25)] {
                let pool = SsngPool::new([x, x], amp, FEE, OFFPEG);
                assert_eq!(pool.get_p(), PRECISION);
            }
        }
    }

    #[test]
    fn get_p_is_the_marginal_price_of_coin_1_in_coin_0() {
        // Selling a small δ of coin 1 (no fee: get_y directly) returns ≈ p·δ of coin 0.
        for amp in amps() {
            for xp in pools() {
                let d = get_d(xp, amp);
                let p = f64::from(get_p(xp, amp, d)) / 1e18;
                let delta = xp[1] / sci(1, 9);
                let received = xp[0] - get_y(1, 0, xp[1] + delta, xp, amp, d);
                let quoted = f64::from(received) / f64::from(delta);
                assert!(
                    (quoted / p - 1.0).abs() < 1e-6,
                    "xp = {xp:?}, amp = {amp}: {quoted} vs {p}"
                );
            }
        }
    }

    /// Balances from 1 to 10⁹ tokens, within 1:100 of each other.
    fn pool_strategy() -> impl Strategy<Value = SsngPool> {
        (
            1u128..=1_000_000_000,
            1u128..=100,
            any::<bool>(),
            1u64..=5000,
        )
            .prop_map(|(whole, ratio, flip, a)| {
                let big = U256::from(whole) * WAD + U256::from(whole);
                let small = big / U256::from(ratio);
                let balances = if flip { [small, big] } else { [big, small] };
                SsngPool::new(balances, U256::from(a) * A_PRECISION, FEE, OFFPEG)
            })
    }

    proptest! {
        #[test]
        fn exchange_conserves_tokens_and_d_never_falls(
            pool in pool_strategy(),
            i in 0usize..2,
            // dx from 10⁻⁶ to 2× the balance sold into.
            dx_ppm in 1u64..=2_000_000,
            admin_fee in prop::sample::select(vec![ADMIN_FEE, U256::ZERO]),
        ) {
            let j = 1 - i;
            let mut pool = SsngPool { admin_fee, ..pool };
            let before = pool;
            let dx = before.balances[i] * U256::from(dx_ppm) / U256::from(1_000_000);
            let swap = pool.exchange(i, j, dx);

            prop_assert_eq!(pool.balances[i], before.balances[i] + dx);
            prop_assert_eq!(pool.balances[j] + swap.dy + swap.admin_fee, before.balances[j]);
            prop_assert_eq!(pool.admin_balances[j], before.admin_balances[j] + swap.admin_fee);
            prop_assert_eq!(pool.admin_balances[i], before.admin_balances[i]);
            prop_assert_eq!(swap.admin_fee, swap.dy_fee * admin_fee / FEE_DENOMINATOR);
            // The fee rate is at most offpeg × fee.
            let max_fee = OFFPEG * FEE / FEE_DENOMINATOR;
            prop_assert!(swap.dy_fee * FEE_DENOMINATOR <= (swap.dy + swap.dy_fee) * max_fee);
            let (d_before, d_after) = (before.get_d(), pool.get_d());
            prop_assert!(d_after >= d_before, "D fell: {} -> {}", d_before, d_after);
        }
    }
}

/// Uniswap v2.
mod univ2 {
    use super::*;

    #[test]
    fn get_amount_out_by_hand() {
        // 1e18·997·1000e18 / (1000e18·1000 + 1e18·997) = 997e39 / 1000997e18, floored.
        assert_eq!(
            get_amount_out(tokens(1), tokens(1000), tokens(1000)),
            uint!(996006981039903216_U256)
        );
        // A 0.25% fork: 1e18·9975·1000e18 / (1000e18·10000 + 1e18·9975).
        assert_eq!(
            get_amount_out_with_fee(
                tokens(1),
                tokens(1000),
                tokens(1000),
                U256::from(9975),
                U256::from(10_000)
            ),
            uint!(996505985279683515_U256)
        );
        assert_eq!(
            get_amount_out_with_fee(
                tokens(1),
                tokens(1000),
                tokens(1000),
                U256::from(997),
                U256::from(1000)
            ),
            get_amount_out(tokens(1), tokens(1000), tokens(1000))
        );
    }

    #[test]
    fn swap_in_moves_the_reserves_as_the_pair_does() {
        let mut pair = UniV2Pair::new(tokens(1000), tokens(1000));
        let out = pair.swap_in(0, tokens(1));
        assert_eq!(out, uint!(996006981039903216_U256));
        assert_eq!(pair.reserves(), [tokens(1001), tokens(1000) - out]);
        let back = pair.swap_in(1, out);
        assert_eq!(pair.reserves(), [tokens(1001) - back, tokens(1000)]);
        assert!(back < tokens(1));
    }

    #[test]
    #[should_panic(expected = "UniswapV2: K")]
    fn one_wei_more_than_get_amount_out_fails_the_k_check() {
        let mut pair = UniV2Pair::new(tokens(1000), tokens(1000));
        let out = pair.get_amount_out(0, tokens(1));
        pair.swap([tokens(1), U256::ZERO], [U256::ZERO, out + U256::ONE]);
    }

    #[test]
    #[should_panic(expected = "INSUFFICIENT_OUTPUT_AMOUNT")]
    fn a_dust_input_reverts() {
        UniV2Pair::new(tokens(1000), tokens(1000)).swap_in(0, U256::ONE);
    }

    /// The pair's K check, `(b0·den − in0·(den − num))·(b1·den − in1·(den − num)) ≥ r0·r1·den²`,
    /// in 512 bits, for a sale of `amount_in` of token 0 for `amount_out` of token 1.
    fn k_holds(r: [U256; 2], amount_in: U256, amount_out: U256, num: u64, den: u64) -> bool {
        let w = U512::from;
        let (num, den) = (U512::from(num), U512::from(den));
        let b0 = w(r[0]) + w(amount_in);
        let b1 = w(r[1]) - w(amount_out);
        (b0 * den - w(amount_in) * (den - num)) * (b1 * den) >= w(r[0]) * w(r[1]) * den * den
    }

    fn reserve() -> impl Strategy<Value = U256> {
        (1u128..=1_000_000_000_000_000_000_000_000_000).prop_map(U256::from)
    }

    proptest! {
        #[test]
        fn get_amount_out_is_the_largest_output_the_k_check_accepts(
            r0 in reserve(), r1 in reserve(),
            // Log-uniform-ish inputs from 1 wei to 1.7e38.
            raw_in in 1u128..=u128::MAX / 2, shift in 0u32..127,
            fee in prop::sample::select(vec![(997u64, 1000u64), (9975, 10_000)]),
        ) {
            let amount_in = U256::from((raw_in >> shift).max(1));
            let (num, den) = fee;
            let out = get_amount_out_with_fee(amount_in, r0, r1, U256::from(num), U256::from(den));
            prop_assert!(out < r1);
            prop_assert!(k_holds([r0, r1], amount_in, out, num, den));
            prop_assert!(!k_holds([r0, r1], amount_in, out + U256::ONE, num, den));
        }

        #[test]
        fn selling_then_buying_back_never_profits(
            r0 in reserve(), r1 in reserve(), in_ppm in 1u64..=10_000_000,
            fee in prop::sample::select(vec![(997u64, 1000u64), (9975, 10_000)]),
        ) {
            let mut pair = UniV2Pair::new(r0, r1);
            let (num, den) = (U256::from(fee.0), U256::from(fee.1));
            let amount_in = r0 * U256::from(in_ppm) / U256::from(1_000_000);
            let k = U512::from(r0) * U512::from(r1);
            // Inputs too small to buy a wei revert (INSUFFICIENT_INPUT/OUTPUT_AMOUNT).
            prop_assume!(
                !amount_in.is_zero()
                    && get_amount_out_with_fee(amount_in, r0, r1, num, den) > U256::ZERO
            );
            let out = pair.swap_in_with_fee(0, amount_in, num, den);
            prop_assume!(
                get_amount_out_with_fee(out, pair.reserve1, pair.reserve0, num, den) > U256::ZERO
            );
            let back = pair.swap_in_with_fee(1, out, num, den);
            prop_assert!(back <= amount_in, "{} in, {} back", amount_in, back);
            prop_assert!(U512::from(pair.reserve0) * U512::from(pair.reserve1) >= k);
        }
    }
}

/// Aave v3.2 / v3.3 liquidations: LT 75%, bonus 5%, collateral an LRT and debt ETH at
/// USD 3000 (8 decimals), a position opened at HF 1.0 (7,500 ETH borrowed on 10,000 LRT at 1 ETH).
mod aave {
    use super::*;

    const ETH_USD: U256 = uint!(300_000_000_000_U256);

    /// The market at a collateral price of `lrt_per_10k` / 10⁴ ETH, protocol fee `fee_bps`.
    fn params(lrt_per_10k: u64, fee_bps: u64) -> AaveParams {
        AaveParams {
            liquidation_threshold_bps: U256::from(7500),
            liquidation_bonus_bps: U256::from(10_500),
            protocol_fee_bps: U256::from(fee_bps),
            collateral_price: ETH_USD * U256::from(lrt_per_10k) / U256::from(10_000),
            debt_price: ETH_USD,
        }
    }

    fn opened() -> AavePosition {
        AavePosition {
            collateral: tokens(10_000),
            debt: tokens(7_500),
        }
    }

    #[test]
    fn percentage_and_wad_math_round_half_up() {
        assert_eq!(percent_mul(U256::ONE, U256::from(5000)), U256::ONE); // 0.5 → 1
        assert_eq!(percent_mul(U256::ONE, U256::from(4999)), U256::ZERO);
        assert_eq!(percent_mul(U256::from(3), U256::from(5000)), U256::from(2)); // 1.5 → 2
        assert_eq!(percent_div(U256::ONE, U256::from(20_000)), U256::ONE); // 0.5 → 1
        assert_eq!(percent_div(U256::from(2), U256::from(30_000)), U256::ONE); // 0.67 → 1
        assert_eq!(
            wad_div(U256::ONE, U256::from(3)),
            uint!(333333333333333333_U256)
        );
        assert_eq!(
            wad_div(U256::from(2), U256::from(3)),
            uint!(666666666666666667_U256)
        );
    }

    #[test]
    fn health_factor_is_exact_at_the_opening_and_after_a_5pct_fall() {
        assert_eq!(health_factor(&opened(), &params(10_000, 0)), WAD);
        assert_eq!(
            health_factor(&opened(), &params(9500, 0)),
            CLOSE_FACTOR_HF_THRESHOLD
        );
        assert_eq!(
            health_factor(&AavePosition::default(), &params(9500, 0)),
            U256::MAX
        );
        for version in AaveVersion::ALL {
            let mut position = opened();
            let err = liquidation_call(version, &mut position, &params(10_000, 0), U256::MAX);
            assert_eq!(err, Err(AaveRevert::HealthFactorNotBelowThreshold));
            assert_eq!(position, opened(), "a revert changes nothing");
        }
    }

    #[test]
    fn at_hf_095_the_whole_debt_is_liquidatable() {
        // Seized: 7,500 ETH worth of LRT at 0.95 ETH plus 5% = 7500 · 1.05/0.95 = 7500 · 21/19.
        let seized = uint!(8289473684210526315789_U256);
        assert!(seized.abs_diff(tokens(7500) * U256::from(21) / U256::from(19)) <= U256::ONE);
        for version in AaveVersion::ALL {
            let mut position = opened();
            let liq =
                liquidation_call(version, &mut position, &params(9500, 0), U256::MAX).unwrap();
            assert_eq!(liq.health_factor_before, CLOSE_FACTOR_HF_THRESHOLD);
            assert_eq!(liq.debt_repaid, tokens(7500), "{version:?}");
            assert_eq!(liq.collateral_to_liquidator, seized, "{version:?}");
            assert_eq!(liq.protocol_fee_collateral, U256::ZERO);
            assert_eq!(liq.deficit, U256::ZERO);
            assert_eq!(
                position,
                AavePosition {
                    collateral: tokens(10_000) - seized,
                    debt: U256::ZERO
                }
            );
        }
    }

    #[test]
    fn just_above_hf_095_half_the_debt_is_liquidatable() {
        // Collateral at 0.9501 ETH: HF = 0.9501 exactly; positions far above USD 2000.
        for version in AaveVersion::ALL {
            let mut position = opened();
            let liq =
                liquidation_call(version, &mut position, &params(9501, 0), U256::MAX).unwrap();
            assert_eq!(liq.health_factor_before, uint!(950100000000000000_U256));
            assert_eq!(liq.debt_repaid, tokens(3750), "{version:?}");
            assert_eq!(position.debt, tokens(3750));
        }
    }

    #[test]
    fn v3_3_lets_small_positions_be_closed_whole() {
        // 0.5 LRT (USD 1425.15) against 0.375 ETH (USD 1125) at HF 0.9501: below
        // MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD, v3.3 liquidates everything, v3.2 half.
        let small = AavePosition {
            collateral: tokens(1) / U256::from(2),
            debt: tokens(3) / U256::from(8),
        };
        let market = params(9501, 0);
        assert_eq!(
            health_factor(&small, &market),
            uint!(950100000000000000_U256)
        );

        let mut position = small;
        let liq = liquidation_call(AaveVersion::V3_3, &mut position, &market, U256::MAX).unwrap();
        assert_eq!(liq.debt_repaid, small.debt);
        assert_eq!(liq.collateral_to_liquidator, uint!(414430059993684875_U256));
        assert_eq!(position.debt, U256::ZERO);

        let mut position = small;
        let liq = liquidation_call(AaveVersion::V3_2, &mut position, &market, U256::MAX).unwrap();
        assert_eq!(liq.debt_repaid, small.debt / U256::from(2));
        assert_eq!(liq.collateral_to_liquidator, uint!(207215029996842437_U256));
    }

    #[test]
    fn v3_3_refuses_to_leave_dust() {
        // 1 LRT against 0.75 ETH (USD 2250) at HF 0.95: repaying 0.5 ETH would leave USD 750
        // of debt, under MIN_LEFTOVER_BASE (USD 1000).
        let position = AavePosition {
            collateral: tokens(1),
            debt: tokens(3) / U256::from(4),
        };
        let market = params(9500, 0);
        let half = tokens(1) / U256::from(2);

        let mut p = position;
        assert_eq!(
            liquidation_call(AaveVersion::V3_3, &mut p, &market, half),
            Err(AaveRevert::MustNotLeaveDust)
        );
        assert_eq!(p, position);
        let liq = liquidation_call(AaveVersion::V3_3, &mut p, &market, U256::MAX).unwrap();
        assert_eq!(liq.debt_repaid, position.debt);

        let mut p = position;
        let liq = liquidation_call(AaveVersion::V3_2, &mut p, &market, half).unwrap();
        assert_eq!(liq.debt_repaid, half);
        assert_eq!(liq.collateral_to_liquidator, uint!(552631578947368421_U256));
        assert_eq!(p.debt, position.debt - half);
    }

    #[test]
    fn bad_debt_is_burned_as_deficit_by_v3_3_and_left_owed_by_v3_2() {
        // Collateral at 0.7 ETH: 10,000 LRT buy 7000/1.05 = 6666.67 ETH of debt with the
        // bonus, leaving 833.33 ETH unbacked.
        let market = params(7000, 0);
        let repaid = uint!(6666666666666666666667_U256);
        let unbacked = tokens(7500) - repaid;

        let mut position = opened();
        let liq = liquidation_call(AaveVersion::V3_3, &mut position, &market, U256::MAX).unwrap();
        assert_eq!(liq.health_factor_before, uint!(700000000000000000_U256));
        assert_eq!(liq.debt_repaid, repaid);
        assert_eq!(liq.collateral_to_liquidator, tokens(10_000));
        assert_eq!(liq.deficit, unbacked);
        assert_eq!(position, AavePosition::default());

        let mut position = opened();
        let liq = liquidation_call(AaveVersion::V3_2, &mut position, &market, U256::MAX).unwrap();
        assert_eq!(liq.debt_repaid, repaid);
        assert_eq!(liq.collateral_to_liquidator, tokens(10_000));
        assert_eq!(liq.deficit, U256::ZERO);
        assert_eq!(
            position,
            AavePosition {
                collateral: U256::ZERO,
                debt: unbacked
            }
        );
        // Nothing is left to seize: the debt stays owed.
        assert_eq!(health_factor(&position, &market), U256::ZERO);
        assert_eq!(
            liquidation_call(AaveVersion::V3_2, &mut position, &market, U256::MAX),
            Err(AaveRevert::CollateralCannotBeLiquidated)
        );
    }

    #[test]
    fn the_protocol_fee_is_a_share_of_the_bonus() {
        // 10% protocol fee at HF 0.95: the fee is 10% of the bonus part c − c/1.05 of the
        // seized collateral c, rounded half up by PercentageMath; the liquidator gets c − fee.
        let c = uint!(8289473684210526315789_U256);
        let bonus_part = c - percent_div(c, U256::from(10_500));
        let fee = percent_mul(bonus_part, U256::from(1000));
        assert_eq!(bonus_part, uint!(394736842105263157895_U256));
        assert_eq!(fee, uint!(39473684210526315790_U256));
        for version in AaveVersion::ALL {
            let mut position = opened();
            let liq =
                liquidation_call(version, &mut position, &params(9500, 1000), U256::MAX).unwrap();
            assert_eq!(liq.debt_repaid, tokens(7500));
            assert_eq!(liq.protocol_fee_collateral, fee);
            assert_eq!(liq.collateral_to_liquidator, c - fee);
            assert_eq!(
                liq.collateral_to_liquidator,
                uint!(8249999999999999999999_U256)
            );
            assert_eq!(position.collateral, tokens(10_000) - c);
        }
    }

    #[test]
    fn nothing_to_burn_reverts() {
        for version in AaveVersion::ALL {
            let mut position = opened();
            assert_eq!(
                liquidation_call(version, &mut position, &params(9500, 0), U256::ZERO),
                Err(AaveRevert::InvalidBurnAmount)
            );
        }
    }
}

/// lrtsim's f64 pool and lending book against the ports above: the same trades and
/// liquidation calls, compared within 1e-12 relative (plus, where the contract rounds a fee
/// to its 1e-10 resolution, that rounding).
mod vs_lrtsim {
    use super::*;
    use lrtsim_sim::amm::{Fees, Invariant, Pool};
    use lrtsim_sim::lending::{LenderVersion, LendingBook, LendingParams, PriceReads};

    /// Relative difference, against the larger magnitude (0 when both are 0).
    fn rel(a: f64, b: f64) -> f64 {
        let scale = a.abs().max(b.abs());
        if scale == 0.0 {
            0.0
        } else {
            (a - b).abs() / scale
        }
    }

    /// An 18-decimal amount as tokens.
    fn f(u: U256) -> f64 {
        u.to::<u128>() as f64 / 1e18
    }

    /// Tokens as an 18-decimal amount (nearest wei).
    fn wei(x: f64) -> U256 {
        U256::from((x * 1e18).round() as u128)
    }

    const TOL: f64 = 1e-12;

    /// Pools (ETH, LRT) in whole tokens: balanced, tilted either way, and nearly drained.
    const POOLS: [(u64, u64); 5] = [
        (1000, 1000),
        (1000, 300),
        (300, 1000),
        (50_000, 150_000),
        (20, 5000),
    ];

    /// Trade sizes, a share of the balance paid in.
    const TRADES: [f64; 6] = [1e-3, 0.01, 0.1, 0.5, 0.9, 3.0];

    /// stableswap-ng `exchange` (coin 0 ETH, coin 1 LRT) against `Pool::sell`/`buy`: the
    /// trader's amount, the fee and its admin share, both balances, D and `get_p` after, for
    /// A from 5 to 1000, static fees of 1 and 4 bp and dynamic fees (multiplier 2 and 10),
    /// sales and purchases from 0.1 % to 3× the balance paid in. With a dynamic fee the
    /// contract truncates the fee rate to 1e-10 (`FEE_DENOMINATOR`): its amounts differ from
    /// the real-number fee by up to that times the gross amount, which the tolerance adds.
    #[test]
    fn stableswap_swaps_match_stableswap_ng() {
        let mut cases = 0;
        for a in [5u64, 50, 100, 1000] {
            for (fee_bps, offpeg) in [(4u64, 1u64), (1, 1), (4, 2), (1, 10)] {
                for (x, z) in POOLS {
                    for frac in TRADES {
                        for sell in [true, false] {
                            let amp = U256::from(2 * a) * A_PRECISION;
                            let fee_int = U256::from(fee_bps * 1_000_000);
                            let offpeg_int = U256::from(offpeg) * FEE_DENOMINATOR;
                            let mut port =
                                SsngPool::new([tokens(x), tokens(z)], amp, fee_int, offpeg_int);
                            let fees = Fees {
                                fee: fee_bps as f64 * 1e-4,
                                admin_share: 0.5,
                                offpeg_multiplier: offpeg as f64,
                            };
                            let mut pool = Pool::with_fees(
                                Invariant::Stableswap { amp: a as f64 },
                                fees,
                                x as f64,
                                z as f64,
                            );
                            let (i, j, amount) = if sell {
                                (1, 0, frac * z as f64)
                            } else {
                                (0, 1, frac * x as f64)
                            };
                            let dx = wei(amount);
                            let swap = port.exchange(i, j, dx);
                            let got = if sell {
                                pool.sell(f(dx))
                            } else {
                                pool.buy(f(dx))
                            };
                            let gross = f(swap.dy) + f(swap.dy_fee);
                            let mut quantum = if offpeg > 1 { 1e-10 * gross } else { 0.0 };
                            // The f64 gross amount is a difference of the old and new out
                            // balances: a few ulps of the balance, however small the trade
                            // (the bound the outside check found: ≤ 4e-15 of the balance).
                            let out_balance = if sell { x } else { z } as f64;
                            let cancel = 8.0 * f64::EPSILON * out_balance;
                            // … which the fee and its admin share carry at the fee's rate.
                            let fee_slack = quantum + cancel * fees.fee * fees.offpeg_multiplier;
                            quantum += cancel;
                            let what = format!(
                                "A {a}, fee {fee_bps} bp ×{offpeg}, pool ({x}, {z}), {} {frac}",
                                if sell { "sell" } else { "buy" }
                            );
                            assert!(
                                (got.amount_out - f(swap.dy)).abs() <= TOL * f(swap.dy) + quantum,
                                "{what}: out {} vs {}",
                                got.amount_out,
                                f(swap.dy)
                            );
                            assert!(
                                (got.fee - f(swap.dy_fee)).abs()
                                    <= TOL * f(swap.dy_fee) + fee_slack,
                                "{what}: fee {} vs {}",
                                got.fee,
                                f(swap.dy_fee)
                            );
                            assert!(
                                (got.admin_fee - f(swap.admin_fee)).abs()
                                    <= TOL * f(swap.admin_fee) + fee_slack,
                                "{what}: admin {} vs {}",
                                got.admin_fee,
                                f(swap.admin_fee)
                            );
                            // The fee's rounding moves the kept fee, hence the out balance,
                            // by up to the same quantum. D and the price are then compared at
                            // the contract's balances (the contract's own with a static fee;
                            // with a dynamic one, the f64 curve's at the contract's balances,
                            // which the fee rounding cannot move).
                            let [bx, bz] = port.balances;
                            let near = |a: f64, b: f64| (a - b).abs() <= TOL * b + quantum;
                            assert!(
                                near(pool.eth(), f(bx)),
                                "{what}: x {} vs {}",
                                pool.eth(),
                                f(bx)
                            );
                            assert!(
                                near(pool.lrt_units(), f(bz)),
                                "{what}: z {} vs {}",
                                pool.lrt_units(),
                                f(bz)
                            );
                            let (d_want, p_want) = if offpeg > 1 {
                                let at = Pool::new(
                                    Invariant::Stableswap { amp: a as f64 },
                                    pool.eth(),
                                    pool.lrt_units(),
                                );
                                assert!(
                                    rel(
                                        f(port.get_d()),
                                        Pool::new(at.kind(), f(bx), f(bz)).invariant()
                                    ) <= TOL,
                                    "{what}: port D"
                                );
                                (at.invariant(), at.price())
                            } else {
                                (f(port.get_d()), f(port.get_p()))
                            };
                            assert!(
                                rel(pool.invariant(), d_want) <= TOL,
                                "{what}: D {} vs {d_want}",
                                pool.invariant()
                            );
                            assert!(
                                rel(pool.price(), p_want) <= TOL,
                                "{what}: price {} vs {p_want}",
                                pool.price()
                            );
                            // The fee stays in the pool: D grew.
                            assert!(port.get_d() > get_d([tokens(x), tokens(z)], amp));
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 4 * 4 * POOLS.len() * TRADES.len() * 2);
    }

    /// `_dynamic_fee` against `Fees::dynamic` across imbalances from 1:1 to 1:10⁶, for
    /// multipliers 1 to 20: equal to the contract's 1e-10 resolution (its integer division).
    #[test]
    fn dynamic_fee_matches_stableswap_ng() {
        for (fee_bps, offpeg) in [(4u64, 1u64), (4, 2), (1, 10), (2, 20), (100, 50)] {
            let fees = Fees {
                fee: fee_bps as f64 * 1e-4,
                admin_share: 0.5,
                offpeg_multiplier: offpeg as f64,
            };
            for ratio in [1.0, 1.001, 1.1, 2.0, 10.0, 100.0, 1e4, 1e6] {
                let (xi, xj) = (1000.0, 1000.0 * ratio);
                let want = dynamic_fee(
                    wei(xi),
                    wei(xj),
                    U256::from(fee_bps * 1_000_000),
                    U256::from(offpeg) * FEE_DENOMINATOR,
                )
                .to::<u64>() as f64
                    / 1e10;
                let got = fees.dynamic(xi, xj);
                assert!(
                    (got - want).abs() <= 1e-10 + TOL * want,
                    "{fee_bps} bp ×{offpeg}, 1:{ratio}: {got} vs {want}"
                );
                assert_eq!(fees.dynamic(xj, xi), got);
            }
        }
    }

    /// Uniswap v2's `getAmountOut` and the pair's reserves after `swap` against the
    /// constant-product pool with Uniswap's fee (997/1000, and a 9975/10000 fork).
    #[test]
    fn constant_product_swaps_match_uniswap_v2() {
        for (num, den) in [(997u64, 1000u64), (9975, 10000)] {
            let fee = 1.0 - num as f64 / den as f64;
            for (x, z) in POOLS {
                for frac in TRADES {
                    for sell in [true, false] {
                        let mut pair = UniV2Pair::new(tokens(x), tokens(z));
                        let mut pool = Pool::with_fees(
                            Invariant::ConstantProduct,
                            Fees::uniswap_v2(fee),
                            x as f64,
                            z as f64,
                        );
                        let (i, amount) = if sell {
                            (1, frac * z as f64)
                        } else {
                            (0, frac * x as f64)
                        };
                        let dx = wei(amount);
                        let out = pair.swap_in_with_fee(i, dx, U256::from(num), U256::from(den));
                        let got = if sell {
                            pool.sell(f(dx))
                        } else {
                            pool.buy(f(dx))
                        };
                        let what = format!("{num}/{den}, ({x}, {z}), {frac}, sell {sell}");
                        assert!(
                            rel(got.amount_out, f(out)) <= TOL,
                            "{what}: {} vs {}",
                            got.amount_out,
                            f(out)
                        );
                        let [r0, r1] = pair.reserves();
                        assert!(rel(pool.eth(), f(r0)) <= TOL, "{what}: x");
                        assert!(rel(pool.lrt_units(), f(r1)) <= TOL, "{what}: z");
                        assert!(rel(pool.price(), f(r0) / f(r1)) <= TOL, "{what}: price");
                    }
                }
            }
        }
    }

    /// One position of `collateral` LRT owing `debt` ETH at oracle price `price` (ETH per
    /// LRT), liquidated by the contract call after call (debt to cover: everything allowed)
    /// until it reverts, and by lrtsim's book: (first call, all calls, position left).
    struct Liquidations {
        first: (f64, f64, f64, f64),
        total: (f64, f64, f64, f64),
        left: (f64, f64),
        calls: usize,
    }

    /// Prices in an 8-decimal base currency: ETH at 3,000.
    const ETH_PRICE: u64 = 300_000_000_000;

    fn aave_params(lt: f64, bonus: f64, protocol_fee: f64, price: f64) -> AaveParams {
        AaveParams {
            liquidation_threshold_bps: U256::from((lt * 1e4).round() as u64),
            liquidation_bonus_bps: U256::from((1e4 + bonus * 1e4).round() as u64),
            protocol_fee_bps: U256::from((protocol_fee * 1e4).round() as u64),
            collateral_price: U256::from((price * ETH_PRICE as f64).round() as u64),
            debt_price: U256::from(ETH_PRICE),
        }
    }

    fn aave(version: AaveVersion, params: &AaveParams, collateral: f64, debt: f64) -> Liquidations {
        let mut position = AavePosition {
            collateral: wei(collateral),
            debt: wei(debt),
        };
        let mut out = Liquidations {
            first: (0.0, 0.0, 0.0, 0.0),
            total: (0.0, 0.0, 0.0, 0.0),
            left: (0.0, 0.0),
            calls: 0,
        };
        while let Ok(l) = liquidation_call(version, &mut position, params, U256::MAX) {
            let step = (
                f(l.debt_repaid),
                f(l.collateral_to_liquidator) + f(l.protocol_fee_collateral),
                f(l.protocol_fee_collateral),
                f(l.deficit),
            );
            if out.calls == 0 {
                out.first = step;
            }
            out.total.0 += step.0;
            out.total.1 += step.1;
            out.total.2 += step.2;
            out.total.3 += step.3;
            out.calls += 1;
        }
        out.left = (f(position.collateral), f(position.debt));
        out
    }

    /// lrtsim's book with one bucket of `collateral` LRT owing `debt` ETH, liquidated at a
    /// fixed `price` in at most `calls` calls: (repaid, seized, treasury's share, written off)
    /// and the position left.
    #[allow(clippy::too_many_arguments)]
    fn lrtsim(
        version: LenderVersion,
        lt: f64,
        bonus: f64,
        protocol_fee: f64,
        calls: u32,
        collateral: f64,
        debt: f64,
        price: f64,
    ) -> ((f64, f64, f64, f64), (f64, f64)) {
        let params = LendingParams {
            ltv: lt,
            liquidation_threshold: lt,
            liquidation_bonus: bonus,
            close_factor: 0.5,
            full_close_below_hf: 0.95,
            protocol_fee,
            version,
            max_calls: calls,
        };
        let mut book = LendingBook::new(params, &[(collateral, collateral * lt / debt)], 1.0, 1.0);
        let c = book.liquidate(PriceReads::Fixed, || price, |lrt| lrt * price);
        (
            (
                c.repaid_eth,
                c.liquidated_lrt,
                c.protocol_fee_lrt,
                c.bad_debt_eth,
            ),
            (book.collateral_lrt()[0], book.debt_eth()[0]),
        )
    }

    fn close(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64), scale: f64) -> bool {
        let d = |u: f64, v: f64| (u - v).abs() <= TOL * scale;
        d(a.0, b.0) && d(a.1, b.1) && d(a.2, b.2) && d(a.3, b.3)
    }

    /// Liquidation calls in every regime, both versions, with and without a protocol fee:
    /// the 50 % close (HF above LT·(1 + bonus)), where lrtsim's first call is the contract's
    /// and a cascade at a fixed price is the whole sequence of calls; the spiral (0.95 < HF ≤
    /// LT·(1 + bonus)), where Aave needs several calls and lrtsim's one call at a fixed price
    /// ends where they end; the full close at and below HF 0.95 (the boundary exactly: the LT 0.75,
    /// bonus 5 % case); collateral that does not cover the bonus (v3.3's deficit, v3.2's debt
    /// left owed). Amounts within 1e-12 of the position's size.
    #[test]
    fn liquidation_calls_match_aave() {
        // (LT, bonus, collateral, debt, prices)
        let books = [
            (
                0.95,
                0.01,
                10_000.0,
                9_000.0,
                vec![0.999, 0.99, 0.97, 0.9601, 0.905, 0.9, 0.5],
            ),
            (
                0.75,
                0.05,
                10_000.0,
                7_500.0,
                vec![0.99, 0.96, 0.95, 0.9501, 0.8, 0.7],
            ),
            (0.825, 0.075, 5_000.0, 3_700.0, vec![0.89, 0.86, 0.8, 0.5]),
        ];
        let mut regimes = [0usize; 4];
        for (lt, bonus, c, d, prices) in books {
            for &price in &prices {
                for pf in [0.0, 0.1] {
                    for (version, lv) in [
                        (AaveVersion::V3_2, LenderVersion::V3_2),
                        (AaveVersion::V3_3, LenderVersion::V3_3),
                    ] {
                        let params = aave_params(lt, bonus, pf, price);
                        // The price both read: the contract's integer price ratio.
                        let p = params.collateral_price.to::<u64>() as f64 / ETH_PRICE as f64;
                        let hf = c * p * lt / d;
                        let contract = aave(version, &params, c, d);
                        let what = format!(
                            "LT {lt}, bonus {bonus}, fee {pf}, p {p}, HF {hf}, {version:?}"
                        );
                        if hf >= 1.0 {
                            assert_eq!(contract.calls, 0, "{what}");
                            continue;
                        }
                        let (one, _) = lrtsim(lv, lt, bonus, pf, 1, c, d, p);
                        let (all, left) = lrtsim(lv, lt, bonus, pf, 64, c, d, p);
                        let spiral = lt * (1.0 + bonus);
                        if hf > 0.95 && hf > spiral {
                            // 50 % close: one call is one call, a cascade the sequence.
                            regimes[0] += 1;
                            assert!(
                                close(one, contract.first, d),
                                "{what}: {one:?} vs {:?}",
                                contract.first
                            );
                        } else if hf > 0.95 {
                            // The spiral: Aave's several calls, lrtsim's one at a fixed price.
                            regimes[1] += 1;
                            assert!(contract.calls >= 2, "{what}");
                            assert!(
                                close(one, contract.total, d),
                                "{what}: {one:?} vs {:?}",
                                contract.total
                            );
                        } else if c * p >= d * (1.0 + bonus) {
                            // Full close at or below 0.95, the collateral covering the bonus.
                            regimes[2] += 1;
                            assert_eq!(contract.calls, 1, "{what}");
                            assert!(
                                close(one, contract.first, d),
                                "{what}: {one:?} vs {:?}",
                                contract.first
                            );
                        } else {
                            // Not enough collateral: everything seized, the rest written off
                            // (v3.3) or left owed (v3.2).
                            regimes[3] += 1;
                            assert!(
                                close(one, contract.total, d),
                                "{what}: {one:?} vs {:?}",
                                contract.total
                            );
                        }
                        assert!(
                            close(all, contract.total, d),
                            "{what}: {all:?} vs {:?}",
                            contract.total
                        );
                        assert!(
                            (left.0 - contract.left.0).abs() <= TOL * c,
                            "{what}: left {left:?} vs {:?}",
                            contract.left
                        );
                        assert!(
                            (left.1 - contract.left.1).abs() <= TOL * d,
                            "{what}: left {left:?} vs {:?}",
                            contract.left
                        );
                    }
                }
            }
        }
        // Every regime was met.
        assert!(regimes.iter().all(|&n| n > 0), "{regimes:?}");
    }

    /// The reproduction: LT 0.75, bonus 5 %, a position opened at HF 1.0 (7,500 ETH on
    /// 10,000 LRT), a 5 % fall: HF = 0.95 exactly; Aave repays 7,500 and seizes 8,289.47.
    #[test]
    fn full_close_at_exactly_hf_095() {
        for (version, lv) in [
            (AaveVersion::V3_2, LenderVersion::V3_2),
            (AaveVersion::V3_3, LenderVersion::V3_3),
        ] {
            let contract = aave(
                version,
                &aave_params(0.75, 0.05, 0.0, 0.95),
                10_000.0,
                7_500.0,
            );
            let (one, _) = lrtsim(lv, 0.75, 0.05, 0.0, 1, 10_000.0, 7_500.0, 0.95);
            assert!((contract.first.0 - 7_500.0).abs() < 1e-9);
            assert!((contract.first.1 - 7_500.0 * 1.05 / 0.95).abs() < 1e-9);
            assert!(
                close(one, contract.first, 7_500.0),
                "{one:?} vs {:?}",
                contract.first
            );
        }
    }
}
