//! The lending market through the engine: an exchange-rate oracle ignores a pure market
//! depeg while a market oracle liquidates on it, cascades deepen in a thin pool, a slashing
//! of the exchange rate liquidates E-mode loopers, an unbacked mint's attacker leaves bad
//! debt, the borrow rate follows its utilization curve and makes loopers unwind, and ETH
//! lent + interest = repaid + outstanding + bad debt on every path.

use std::path::Path;

use lrtsim_scenario::{Model, load_str};
use lrtsim_sim::{PathKernel, RunOptions, SimResults, chunk_rng, run};

/// One operator of 100,000 ETH allocating everything to one AVS, a 20,000 ETH StableSwap
/// pool, 40% of the supply looped in Aave's LRT E-mode at health factors 1.01-1.10; `extra`
/// appended.
fn pool(oracle: &str, extra: &str) -> Model {
    let text = format!(
        "[simulation]\npaths = 256\nhorizon_days = 30\nseed = 9\n[pool]\ncollateral_eth = 100000\n\
         [[operators]]\nname = \"op\"\nshare = 1.0\nallocations = {{ avs = 1.0 }}\n[[avs]]\nname = \"avs\"\n\
         [market.pool]\namplification = 50\ndepth_eth = 20000\n\
         [lending]\noracle = {oracle}\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.4\n\
         [[lending.positions]]\nshare = 0.3\nhealth_factor = 1.01\n\
         [[lending.positions]]\nshare = 0.4\nhealth_factor = 1.04\n\
         [[lending.positions]]\nshare = 0.3\nhealth_factor = 1.10\n{extra}"
    );
    load_str(&text, Path::new("leverage.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(model: &Model) -> SimResults {
    run(model, &RunOptions::default(), &|_| {}).unwrap()
}

fn column<'a>(r: &'a SimResults, name: &str) -> &'a [f64] {
    r.column(name).unwrap_or_else(|| panic!("no column {name}"))
}

/// A dump of 5-10% of the supply into the pool on day 5: a pure market depeg.
const DUMP: &str = "[[market.shocks]]\nname = \"dump\"\nat_days = 5\nsell_share = { dist = \"uniform\", min = 0.05, max = 0.10 }\n";

#[test]
fn an_exchange_rate_oracle_ignores_a_market_depeg_and_a_market_oracle_does_not() {
    let r = simulate(&pool("\"exchange_rate\"", DUMP));
    assert!(column(&r, "max_discount").iter().all(|&d| d > 0.01));
    assert!(column(&r, "liquidated_share").iter().all(|&l| l == 0.0));
    assert!(column(&r, "bad_debt_eth").iter().all(|&b| b == 0.0));
    let r = simulate(&pool("\"market\"", DUMP));
    assert!(column(&r, "liquidated_share").iter().all(|&l| l > 0.0));
    // The liquidators' sales feed the cascade — more than one round on many paths — and
    // take the low deeper than the dump alone.
    let depth = column(&r, "cascade_depth");
    assert!(depth.iter().all(|&d| d >= 1.0));
    let deep = depth.iter().filter(|&&d| d >= 2.0).count();
    assert!(deep > 25, "{deep} paths with a cascade of 2+ rounds");
    let alone = simulate(&pool("\"exchange_rate\"", DUMP));
    let (with, without) = (column(&r, "max_discount"), column(&alone, "max_discount"));
    for i in 0..with.len() {
        assert!(
            with[i] > without[i],
            "path {i}: {} vs {}",
            with[i],
            without[i]
        );
    }
}

#[test]
fn a_slashing_of_the_exchange_rate_liquidates_e_mode_positions() {
    // A 2% slash on day 10: the exchange rate falls 2%, below the 1.01 bucket's 1 − 1/1.01
    // = 0.99% cushion but within the 1.04 and 1.10 buckets' — only the first is liquidated,
    // on an exchange-rate oracle, whatever the pool does.
    let slash = "[[shocks]]\nname = \"slash\"\nat_days = 10\nseverity = 0.02\n";
    let r = simulate(&pool("\"exchange_rate\"", slash));
    for &l in column(&r, "liquidated_share") {
        // The 1.01 bucket holds 0.3 × 0.4 = 12% of the supply; the first liquidation takes
        // half its debt in collateral at the bonus: a few percent of the supply.
        assert!(l > 0.0 && l < 0.12, "{l}");
    }
    assert!(column(&r, "bad_debt_eth").iter().all(|&b| b == 0.0));
}

#[test]
fn an_unbacked_mints_attacker_leaves_bad_debt() {
    // The rsETH case: 18% minted, 75% of it posted in the lending market and borrowed against
    // at LTV 0.93 before the rate reflects the mint. At the diluted NAV the position's health
    // factor is 0.95 / 0.93 / 1.18 = 0.866 < LT·(1 + bonus): it is closed at once, the seized
    // collateral is worth less than the debt, and the rest is bad debt — at least
    // debt − collateral × NAV / (1 + bonus) of the attacker's loan.
    let mint = "[[exploits]]\nname = \"forged\"\nat_days = 3\nkind = \"unbacked_mint\"\nsize = 0.18\nattacker_borrow_share = 0.75\n";
    let r = simulate(&pool("\"exchange_rate\"", mint));
    let collateral = 0.75 * 18_000.0;
    let debt = 0.93 * collateral;
    let nav = 1.0 / 1.18;
    let bad = debt - collateral * nav / 1.01;
    for &b in column(&r, "bad_debt_eth") {
        assert!(b >= bad * (1.0 - 1e-9), "{b} vs {bad}");
    }
    assert!(
        column(&r, "bad_debt_share")
            .iter()
            .all(|&s| s > 0.0 && s < 1.0)
    );
}

#[test]
fn eth_lent_is_repaid_outstanding_or_bad_debt_on_every_path() {
    let model = pool(
        "\"twap\"\ntwap_days = 2",
        &format!(
            "{DUMP}[[shocks]]\nname = \"s\"\nrate_per_year = 30\nseverity = {{ dist = \"uniform\", min = 0, max = 0.05 }}\n\
             [[exploits]]\nname = \"m\"\nrate_per_year = 10\nkind = \"unbacked_mint\"\nsize = 0.05\nattacker_borrow_share = 0.5\nattacker_sell_share = 0.2\n\
             [market.recovery]\nhalf_life_days = 1\n\
             [lending.rates]\nutilization = 0.85\nunwind_spread_per_year = 0.01\n\
             [[lending.rates.supply_shocks]]\nname = \"w\"\nrate_per_year = 20\nshare = {{ dist = \"uniform\", min = 0, max = 0.3 }}\nrecovery_days = 5\n"
        ),
    );
    let mut kernel = PathKernel::new(&model);
    let mut row = vec![0.0; kernel.layout().len()];
    let mut rng = chunk_rng(4, 0);
    let mut liquidated = 0;
    for _ in 0..1000 {
        kernel.run_path(&mut rng, &mut row);
        let book = kernel.lending().unwrap();
        let lent = book.lent_eth() + book.interest_eth();
        let accounted = book.repaid_eth() + book.total_debt_eth() + book.bad_debt_eth();
        assert!(
            (lent - accounted).abs() < 1e-9 * lent,
            "{lent} vs {accounted}"
        );
        liquidated += usize::from(book.liquidated_lrt() > 0.0);
    }
    assert!(liquidated > 100, "{liquidated}");
}

/// The lending market of `pool` without shocks, at one health factor far from liquidation,
/// with `rates` as its `[lending.rates]`.
fn rated(rates: &str) -> Model {
    let text = format!(
        "[simulation]\npaths = 16\nhorizon_days = 30\nseed = 9\n[pool]\ncollateral_eth = 100000\n\
         [[operators]]\nname = \"op\"\nshare = 1.0\n\
         [market.pool]\ndepth_eth = 20000\n\
         [lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.4\n\
         [[lending.positions]]\nshare = 1\nhealth_factor = 1.5\n\
         [lending.rates]\n{rates}"
    );
    load_str(&text, Path::new("rates.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Aave's curve with the defaults: base 0 + 0.027 · U/0.9 below U* = 0.9, then
/// + 0.8 · (U − 0.9)/0.1.
fn curve(u: f64) -> f64 {
    let u = u.min(1.0);
    if u <= 0.9 {
        0.027 * u / 0.9
    } else {
        0.027 + 0.8 * (u - 0.9) / 0.1
    }
}

/// The debt and the highest rate after `steps` daily steps from debt `d0` and supply `s0`,
/// with `withdrawn(k)` of the t = 0 supply out in step k: each step the utilization is
/// debt / (supply + interest so far), and the debt grows by exp(rate / 365) (continuous
/// compounding at the rate of the day's start: with nothing else moving, the market's
/// sub-steps are whole days).
fn recurrence(d0: f64, s0: f64, steps: u32, withdrawn: impl Fn(u32) -> f64) -> (f64, f64) {
    let (mut d, mut peak) = (d0, 0.0f64);
    for k in 0..steps {
        let supply = s0 * (1.0 - withdrawn(k)) + (d - d0);
        let u = if supply > d { d / supply } else { 1.0 };
        let r = curve(u);
        peak = peak.max(r);
        d *= (r / 365.0).exp();
    }
    (d, peak)
}

#[test]
fn the_borrow_rate_follows_the_utilization_curve() {
    // At t = 0, U = 0.6: 0.027 · 0.6/0.9 = 1.8%, drifting up as unpaid interest raises the
    // utilization. A withdrawal of 25% of the supply on day 5 makes U ≈ 0.6/0.75 = 0.8; one of
    // 40% makes the debt exceed what is left: U = 1, 82.7% a year.
    let d0 = 40_000.0 * 0.95 / 1.5;
    let s0 = d0 / 0.6;
    assert!((curve(0.6) - 0.018).abs() < 1e-15 && (curve(1.0) - 0.827).abs() < 1e-15);
    for (shock, share) in [
        ("", 0.0),
        (
            "[[lending.rates.supply_shocks]]\nname = \"w\"\nat_days = 5\nshare = 0.25\nrecovery_days = 1000\n",
            0.25,
        ),
        (
            "[[lending.rates.supply_shocks]]\nname = \"w\"\nat_days = 5\nshare = 0.4\nrecovery_days = 1000\n",
            0.4,
        ),
    ] {
        let withdrawn = |k: u32| {
            if k >= 5 {
                share * (1.0 - f64::from(k - 5) / 1000.0)
            } else {
                0.0
            }
        };
        let (_, peak) = recurrence(d0, s0, 30, withdrawn);
        let r = simulate(&rated(&format!("utilization = 0.6\n{shock}")));
        for &p in column(&r, "peak_borrow_rate") {
            assert!((p - peak).abs() < 1e-12, "{p} vs {peak}");
        }
    }
}

#[test]
fn debt_accrues_the_borrow_rate_step_by_step() {
    // No shock, no unwinding: D₃₀ from the recurrence, and interest = D₃₀ − D₀
    // (D₀ = 40,000 · 0.95 / 1.5).
    let model = rated("utilization = 0.6\n");
    let mut kernel = PathKernel::new(&model);
    let mut row = vec![0.0; kernel.layout().len()];
    kernel.run_path(&mut chunk_rng(1, 0), &mut row);
    let book = kernel.lending().unwrap();
    let d0 = 40_000.0 * 0.95 / 1.5;
    let (expected, _) = recurrence(d0, d0 / 0.6, 30, |_| 0.0);
    // Within a few days' interest of simple daily compounding at the t = 0 rate.
    assert!((expected / d0 - (1.0 + 0.018 / 365.0f64).powi(30)).abs() < 1e-5);
    let d = book.total_debt_eth();
    assert!((d - expected).abs() < 1e-9 * d0, "{d} vs {expected}");
    assert!((book.interest_eth() - (expected - d0)).abs() < 1e-9 * d0);
}

#[test]
fn a_rate_spike_makes_loopers_unwind() {
    // A 40% withdrawal on day 5 pins utilization at 1 and the rate at 82.7% a year, far above
    // the LRT's 0% yield plus the 5% spread: a fifth of the positions unwinds per day, selling
    // collateral into the pool to repay their debt, until the supply returns (10 days).
    let shock = "unwind_spread_per_year = 0.05\n[[lending.rates.supply_shocks]]\nname = \"w\"\nat_days = 5\nshare = 0.4\nrecovery_days = 10\n";
    let r = simulate(&rated(&format!("utilization = 0.6\n{shock}")));
    for &u in column(&r, "unwound_share") {
        assert!(u > 0.01 && u < 0.4, "{u}");
    }
    assert!(column(&r, "max_discount").iter().all(|&d| d > 0.0));
    let calm = simulate(&rated("utilization = 0.6\nunwind_spread_per_year = 0.05\n"));
    assert!(column(&calm, "unwound_share").iter().all(|&u| u == 0.0));
}

#[test]
fn loopers_can_unwind_through_the_front_door_instead_of_the_pool() {
    // The same spike, but loopers repay from their own ETH and queue the freed collateral:
    // the pool is untouched, and the unwound LRT is asked for at the front door.
    let shock = "unwind_spread_per_year = 0.05\nunwind_via = \"redeem\"\n[[lending.rates.supply_shocks]]\nname = \"w\"\nat_days = 5\nshare = 0.4\nrecovery_days = 10\n";
    let text =
        format!("utilization = 0.6\n{shock}[withdrawals.demand]\nbase_share_per_day = 0.000001\n");
    let r = simulate(&rated(&text));
    let (unwound, asked) = (column(&r, "unwound_share"), column(&r, "requested_share"));
    for i in 0..unwound.len() {
        assert!(
            unwound[i] > 0.01 && asked[i] >= unwound[i],
            "{} vs {}",
            unwound[i],
            asked[i]
        );
    }
    assert!(column(&r, "max_discount").iter().all(|&d| d == 0.0));
}
