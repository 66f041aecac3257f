//! A sector's lending market (`lrts[].lending` against `[sector.lending]`): each LRT's
//! collateral in its own book, every book borrowing from one WETH reserve whose utilization
//! sets the borrow rate and, at 100 %, blocks the lenders' withdrawals, further borrowing and
//! the loopers' unwinds. Checked against the one-LRT engine (an LRT holding every operator
//! with the pool's market, door and lending market is the pool, path by path) and against
//! closed forms of the reserve's arithmetic.

mod support;

use lrtsim_scenario::Model;
use support::sim::{col, load, simulate, two_lrts};

fn model(text: &str, paths: u64) -> Model {
    load(text, "lending.toml", &[format!("simulation.paths={paths}")])
}

/// leverage-loop (a 1 M ETH LRT, 35 % looped in E-mode at health factors 1.01–1.08, a
/// client-bug slashing, the borrow-rate curve at 85 % with a whale's withdrawals and loopers
/// unwinding, a door and a market) without its insurance fund, at a tolerance of 3e-4.
fn leverage_loop() -> String {
    let path = format!(
        "{}/../../scenarios/leverage-loop.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let text = &text[..text.find("[[reserves]]").unwrap()];
    text.replace(
        "seed = 606",
        "seed = 606\nmax_price_move_per_substep = 3e-4",
    )
}

/// `pool` as a sector of one LRT, `all`, holding every operator: its door, market and
/// lending market move into the LRT, its network queue becomes the sector's, and its
/// `[lending.rates]` becomes the reserve with the ETH the pool's utilization implies
/// (`supply_eth`).
fn as_sector(pool: &str, supply_eth: f64) -> String {
    let cut = "[withdrawals.demand]";
    let (head, tail) = pool.split_at(pool.find(cut).unwrap());
    let tail = tail
        .replace("[withdrawals.network]", "[sector.exit_queue]")
        .replace("[withdrawals.", "[lrts.withdrawals.")
        .replace("[market.", "[lrts.market.")
        .replace("[[market.", "[[lrts.market.")
        .replace("[lending.rates]", "[sector.lending]")
        .replace("[[lending.rates.", "[[sector.lending.")
        .replace("[lending]", "[lrts.lending]")
        .replace("[[lending.", "[[lrts.lending.")
        .replace("utilization = 0.85", &format!("supply_eth = {supply_eth}"));
    // The reserve's tables after the LRT's (TOML: [sector.*] would end [[lrts]]).
    let (lrt, rest) = tail.split_at(tail.find("[sector.lending]").unwrap());
    let (reserve, positions) = rest.split_at(rest.find("[[lrts.lending.positions]]").unwrap());
    let (queue_at, queue_end) = {
        let a = lrt.find("[sector.exit_queue]").unwrap();
        let b = a + lrt[a..].find("[lrts.market.pool]").unwrap();
        (a, b)
    };
    head.replace("[[operators]]\n", "[[operators]]\nlrts = { all = 1.0 }\n")
        + "[[lrts]]\nname = \"all\"\n\n"
        + &lrt[..queue_at]
        + &lrt[queue_end..]
        + positions
        + "\n"
        + &lrt[queue_at..queue_end]
        + reserve
}

/// The pool's lending debt at t = 0: every bucket at its health factor, 1 ETH per LRT.
fn debt0_eth(pool: &Model) -> f64 {
    let l = pool.lending.as_ref().unwrap();
    let posted = l.collateral_share * pool.supply0_lrt();
    (l.positions.iter())
        .map(|&(share, hf)| share * posted * l.liquidation_threshold / hf)
        .sum()
}

/// The pool's lending market, door and market as a sector of one LRT are the pool's on every
/// path: the reserve's arithmetic with the other collaterals at zero is the pool's. The
/// LRT's stake (summed over its operators) and the pool's book differ by rounding, so the
/// adaptive sub-steps end slightly elsewhere (hence 1e-6; see sector_markets.rs).
#[test]
fn one_lrt_with_the_pools_lending_market_is_the_pool() {
    let pool_text = leverage_loop();
    let n = 60;
    let pool_model = model(&pool_text, n);
    // The pool's reserve: its t = 0 debt (every bucket at its health factor, 1 ETH per LRT)
    // over its utilization.
    let debt0 = debt0_eth(&pool_model);
    let sector_text = as_sector(&pool_text, debt0 / 0.85);
    let sector_model = model(&sector_text, n);
    let pool = simulate(&pool_model);
    let sector = simulate(&sector_model);
    let layout = lrtsim_sim::Layout::new(&pool_model);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(1.0);
    let mut names: Vec<&str> = lrtsim_sim::Layout::LENDING.to_vec();
    names.extend(["max_discount", "sold_share", "redeemed_eth"]);
    assert!(layout.lending_start().is_some());
    let (mut liquidated, mut unwound) = (0, 0);
    for p in 0..n as usize {
        for c in &names {
            let (a, b) = (col(&pool, c)[p], col(&sector, &format!("{c}.lrt.all"))[p]);
            assert!(close(a, b), "path {p}, {c}: {a} vs {b}");
        }
        let bad = col(&sector, "bad_debt_eth.lrt.all")[p];
        assert_eq!(col(&sector, "sector_bad_debt_eth")[p], bad);
        liquidated += usize::from(col(&pool, "liquidated_share")[p] > 0.0);
        unwound += usize::from(col(&pool, "unwound_share")[p] > 0.0);
    }
    assert!(
        liquidated > 5 && unwound > 5,
        "the test sees liquidations ({liquidated}) and unwinds ({unwound})"
    );
}

/// Uncertain rates of the reserve's supply shocks: leverage-loop's whale withdrawals with a
/// gamma-distributed rate (mean 3 a year, cv 1) loading on a rate factor (variance 0.5),
/// in the pool and as a sector of one LRT: the same draws, the same lending columns on every
/// path (the pool's draws are checked against the negative binomial in rate_factors.rs).
#[test]
fn the_reserves_supply_shocks_draw_uncertain_rates_as_the_pools_do() {
    let pool_text = leverage_loop()
        .replace(
            "rate_per_year = 3\nshare = { dist = \"uniform\", min = 0.03, max = 0.15 }",
            "rate_per_year = { dist = \"gamma\", mean = 3, cv = 1 }\nrate_factor = \"panic\"\nshare = { dist = \"uniform\", min = 0.03, max = 0.15 }",
        )
        .replacen(
            "[simulation]",
            "[[rate_factors]]\nname = \"panic\"\nvariance = 0.5\n\n[simulation]",
            1,
        );
    assert!(pool_text.contains("rate_factor = \"panic\""));
    let n = 40;
    let pool_model = model(&pool_text, n);
    let debt0 = debt0_eth(&pool_model);
    let sector_text = as_sector(&pool_text, debt0 / 0.85);
    let pool = simulate(&pool_model);
    let sector = simulate(&model(&sector_text, n));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(1.0);
    let mut shocked = 0;
    for p in 0..n as usize {
        for c in lrtsim_sim::Layout::LENDING {
            let (a, b) = (col(&pool, c)[p], col(&sector, &format!("{c}.lrt.all"))[p]);
            assert!(close(a, b), "path {p}, {c}: {a} vs {b}");
        }
        shocked += usize::from(col(&sector, "peak_utilization")[p] > 0.87);
    }
    // Some paths see whales (a 3 % withdrawal takes 85 % to 87.6 %), some none.
    assert!(
        shocked > 0 && shocked < n as usize,
        "{shocked} paths with whales"
    );
}

/// Two LRTs, alpha and beta, on operators of their own (500,000 ETH each), without rewards or
/// slashing, each with a deep constant-product pool (400,000 ETH a side) and — with
/// `both` — 20 % of its supply posted at health factor 1.5 (debt 100,000 × 0.95 / 1.5 =
/// 63,333.3 ETH each); only alpha is collateral otherwise. One reserve of `supply_eth` with
/// the curve's lines `rates`; `extra` follows.
fn two_collaterals(both: bool, supply_eth: f64, rates: &str, extra: &str) -> String {
    let market = "[lrts.market.pool]\nkind = \"constant_product\"\ndepth_eth = 800_000\n\n[lrts.market.report]\nthresholds_bps = [100]\n\n";
    let lending = "[lrts.lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.2\n\n[[lrts.lending.positions]]\nshare = 1\nhealth_factor = 1.5\n\n";
    let beta = if both { lending } else { "" };
    two_lrts(
        "paths = 2\nhorizon_days = 15\nstep_days = 1\nseed = 5",
        &format!("{market}{lending}"),
        &format!("{market}{beta}"),
        &format!("[sector.lending]\nsupply_eth = {supply_eth}\n{rates}\n{extra}"),
    )
}

/// No interest: the curve at zero.
const FLAT: &str = "base_per_year = 0\nslope1_per_year = 0\nslope2_per_year = 0\n";

/// A whale's withdrawal on day 0 of half the 200,000 ETH supplied, coming back over 20 days:
/// the lenders ask for 100,000 ETH while 200,000 − 126,666.7 (both LRTs' debt) is there.
/// Utilization sits at 100 % until the supply, 200,000 × (1 − 0.5 × (1 − t/20)), is back
/// above the debt: t* = 20 × (1 − (1 − D/S) / 0.5) = 5.333 days; at its worst the lenders
/// could not withdraw D − S/2 = 26,666.7 ETH. With alpha's collateral alone (D = 63,333.3)
/// nothing is blocked and the peak is D / (S/2) = 63.3 %: the other LRT's borrowers are what
/// lock the lenders in.
#[test]
fn utilization_at_100_percent_blocks_exactly_the_withdrawals_it_should() {
    let whale = "[[sector.lending.supply_shocks]]\nname = \"whale\"\nat_days = 0\nshare = 0.5\nrecovery_days = 20\n";
    let s = 200_000.0;
    let d1 = 100_000.0 * 0.95 / 1.5;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let r = simulate(&model(&two_collaterals(true, s, FLAT, whale), 2));
    for p in 0..2 {
        let d = 2.0 * d1;
        let full = 20.0 * (1.0 - (1.0 - d / s) / 0.5);
        assert!(close(col(&r, "peak_utilization")[p], 1.0));
        assert!(
            close(col(&r, "days_at_full_utilization")[p], full),
            "{full}"
        );
        assert!(close(
            col(&r, "peak_blocked_withdrawals_eth")[p],
            d - s / 2.0
        ));
        assert_eq!(col(&r, "sector_bad_debt_eth")[p], 0.0);
    }
    let r = simulate(&model(&two_collaterals(false, s, FLAT, whale), 2));
    for p in 0..2 {
        assert!(close(col(&r, "peak_utilization")[p], d1 / (s / 2.0)));
        assert_eq!(col(&r, "days_at_full_utilization")[p], 0.0);
        assert_eq!(col(&r, "peak_blocked_withdrawals_eth")[p], 0.0);
    }
}

/// The same whale, with a borrow rate of 100 % a year whatever the utilization, far above the
/// LRTs' yield (0): loopers unwind a tenth of their positions a day — but not while the
/// reserve is at 100 % (their flash loans draw on it). Interest adds to the debt and to the
/// supply alike, so the reserve frees at t* = 5.333 days as without it, and by day 15 each
/// LRT's loopers have released 100,000 × (1 − e^(−0.1 (15 − t*))) LRT: 12.4 % of its supply.
/// Without the block they would have released 100,000 × (1 − e^(−1.5)) = 15.5 %.
#[test]
fn loopers_cannot_unwind_while_the_reserve_is_at_100_percent() {
    let whale = "[[sector.lending.supply_shocks]]\nname = \"whale\"\nat_days = 0\nshare = 0.5\nrecovery_days = 20\n";
    let rates = "base_per_year = 1\nslope1_per_year = 0\nslope2_per_year = 0\nunwind_spread_per_year = 0\nunwind_share_per_day = 0.1\n";
    let s = 200_000.0;
    let d = 2.0 * 100_000.0 * 0.95 / 1.5;
    let t_free = 20.0 * (1.0 - (1.0 - d / s) / 0.5);
    let want = 100_000.0 * (1.0 - (-0.1f64 * (15.0 - t_free)).exp()) / 500_000.0;
    let r = simulate(&model(&two_collaterals(true, s, rates, whale), 2));
    for p in 0..2 {
        for lrt in ["alpha", "beta"] {
            let got = col(&r, &format!("unwound_share.lrt.{lrt}"))[p];
            assert!((got - want).abs() <= 1e-7 * want, "{lrt}: {got} vs {want}");
            assert_eq!(col(&r, &format!("peak_borrow_rate.lrt.{lrt}"))[p], 1.0);
        }
        let full = col(&r, "days_at_full_utilization")[p];
        assert!((full - t_free).abs() <= 1e-7, "{full} vs {t_free}");
    }
    // Without the whale nobody is blocked.
    let r = simulate(&model(&two_collaterals(true, s, rates, ""), 2));
    let free = 100_000.0 * (1.0 - (-0.1f64 * 15.0).exp()) / 500_000.0;
    let got = col(&r, "unwound_share.lrt.alpha")[0];
    assert!((got - free).abs() <= 1e-7 * free, "{got} vs {free}");
}

/// A forged mint of 20 % of alpha's supply (100,000 LRT) on day 5, posted by the attacker:
/// with `attacker_borrow_share` = 1 she asks for LTV × 100,000 × 1 = 93,000 ETH against the
/// exchange rate before the mint, but the reserve has 200,000 − 126,666.7 = 73,333.3 left:
/// she takes that, and utilization sits at 100 % from day 5 to the horizon (10 days) with no
/// lender's withdrawal blocked (none asked). Borrowing half of it (46,500 ETH) leaves the
/// peak at (126,666.7 + 46,500) / 200,000.
#[test]
fn the_attacker_borrows_what_the_reserve_has_left() {
    let mint = |borrow: f64| {
        format!(
            "[[exploits]]\nname = \"forged\"\nkind = \"unbacked_mint\"\nat_days = 5\nsize = 0.2\nattacker_borrow_share = {borrow}\nlrt = \"alpha\"\n"
        )
    };
    let s = 200_000.0;
    let d = 2.0 * 100_000.0 * 0.95 / 1.5;
    let r = simulate(&model(&two_collaterals(true, s, FLAT, &mint(1.0)), 2));
    for p in 0..2 {
        assert_eq!(col(&r, "peak_utilization")[p], 1.0);
        let full = col(&r, "days_at_full_utilization")[p];
        assert!((full - 10.0).abs() <= 1e-9, "{full}");
        assert_eq!(col(&r, "peak_blocked_withdrawals_eth")[p], 0.0);
    }
    let r = simulate(&model(&two_collaterals(true, s, FLAT, &mint(0.5)), 2));
    let want = (d + 0.5 * 0.93 * 100_000.0) / s;
    for p in 0..2 {
        let got = col(&r, "peak_utilization")[p];
        assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
        assert_eq!(col(&r, "days_at_full_utilization")[p], 0.0);
    }
}

/// The reserve's utilization over time (utilization_paths.csv): with the whale of
/// `utilization_at_100_percent_blocks_exactly_the_withdrawals_it_should`, U(t) = min(1,
/// D / (S·(1 − 0.5·(1 − t/20)))) at every step's end — 1 (its exact bin) to day 5.33, then
/// in the 0.001-wide bin of that ratio.
#[test]
fn the_reserves_utilization_bands_follow_the_whale() {
    let whale = "[[sector.lending.supply_shocks]]\nname = \"whale\"\nat_days = 0\nshare = 0.5\nrecovery_days = 20\n";
    let (s, d) = (200_000.0, 2.0 * 100_000.0 * 0.95 / 1.5);
    let m = model(&two_collaterals(true, s, FLAT, whale), 2);
    let mut kernel = lrtsim_sim::PathKernel::new(&m);
    let mut row = vec![0.0; lrtsim_sim::Layout::new(&m).names().len()];
    for path in 0..2 {
        kernel.run_path(&mut lrtsim_sim::stream::path_rng(m.seed, path), &mut row);
    }
    let set = kernel.take_band_set();
    let b = set.utilization.as_ref().expect("a reserve has bands");
    assert_eq!(b.points(), 15);
    for point in 0..b.points() {
        let t = b.day_at(point);
        let u = (d / (s * (1.0 - 0.5 * (1.0 - t / 20.0)))).min(1.0);
        for p in [0.01, 0.5, 0.99] {
            let q = b.quantile(point, p);
            if u == 1.0 {
                assert_eq!(q, 1.0, "day {t}");
            } else {
                assert!((q - u).abs() <= 1e-3, "day {t}: {q} vs {u}");
            }
        }
    }
}

/// A front door whose holders ask (next to) only on run pulses: 5 % a day, decaying over 3
/// days, on a calm rate of 1e-9 a day.
const RUN_DOOR: &str = "[lrts.withdrawals.demand]\nbase_share_per_day = 1e-9\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n[lrts.withdrawals.demand.trigger]\nmin_loss_bps = 10\nshare_per_day = 0.05\ndecay_days = 3\n";

/// The share of the t = 0 supply that asks by day 15 when holders owning `holders` of it
/// (those neither in the pool nor posted as collateral) see run pulses of `loading` ×
/// 5 % a day at each of `pulses` (days): 1 − e^(−∫h), ∫h = 15 × 1e-9 + Σ loading × 0.05 ×
/// 3 × (1 − e^(−(15 − t)/3)).
fn run_asks(holders: f64, loading: f64, pulses: &[f64]) -> f64 {
    let integral: f64 = 15.0 * 1e-9
        + (pulses.iter())
            .map(|t| loading * 0.05 * 3.0 * -(-(15.0 - t) / 3.0f64).exp_m1())
            .sum::<f64>();
    holders * -(-integral).exp_m1()
}

/// Contagion through the lending market's state (`[sector.lending.run]`): alpha and beta as
/// in [`two_collaterals`] but with shallower pools (100,000 LRT each) and a front door whose
/// holders ask only on run pulses; `beta_collateral` false leaves beta a door alone (no market,
/// no collateral). Whales withdraw half the 200,000 ETH supplied at each of `whales` (days),
/// coming back within a day.
fn reserve_run(beta_collateral: bool, whales: &[f64], run: &str) -> String {
    let market = "[lrts.market.pool]\nkind = \"constant_product\"\ndepth_eth = 200_000\n\n";
    let lending = "[lrts.lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.2\n\n[[lrts.lending.positions]]\nshare = 1\nhealth_factor = 1.5\n\n";
    let alpha = format!("{market}{lending}{RUN_DOOR}");
    let beta = if beta_collateral {
        alpha.clone()
    } else {
        RUN_DOOR.to_string()
    };
    let mut reserve = format!("[sector.lending]\nsupply_eth = 200_000\n{FLAT}\n{run}\n");
    for (i, t) in whales.iter().enumerate() {
        reserve += &format!(
            "[[sector.lending.supply_shocks]]\nname = \"whale{i}\"\nat_days = {t}\nshare = 0.5\nrecovery_days = 1\n"
        );
    }
    two_lrts(
        "paths = 2\nhorizon_days = 15\nstep_days = 1\nseed = 5",
        &alpha,
        &beta,
        &reserve,
    )
}

/// The reserve full sets off runs: with both LRTs' debt (126,666.7 ETH) a whale on day 10.5
/// takes utilization to 100 %, and each door pulses there with its loading (alpha 1, beta
/// 0.5): 1 − e^(−∫h) of the 60 % of each supply held outside the pool and the lending market
/// asks. With a threshold of 60 % and alpha's debt alone (63,333.3 ETH: 31.7 %, 63.3 % under
/// a whale), two whales (days 2 and 8) set off two pulses — at beta too, a door with neither
/// market nor collateral, whose whole supply may ask; two whales half a day apart set off one
/// (the holders rearm after `rearm_days`, 1 by default). A threshold the reserve never reaches
/// (100 % there), one it starts above (30 %: reached, but not from below), or loadings of 0
/// (a sweep's end point) set off nothing.
#[test]
fn a_full_reserve_sets_off_runs_at_every_lrt() {
    let asked = |text: &str, lrt: &str| -> f64 {
        let r = simulate(&model(text, 2));
        let v = col(&r, &format!("requested_share.lrt.{lrt}"));
        assert_eq!(v[0], v[1], "no randomness left");
        v[0]
    };
    let close = |got: f64, want: f64| {
        assert!((got - want).abs() <= 1e-7 * want, "{got} vs {want}");
    };
    let full = reserve_run(
        true,
        &[10.5],
        "[sector.lending.run]\nloadings = { beta = 0.5 }",
    );
    close(asked(&full, "alpha"), run_asks(0.6, 1.0, &[10.5]));
    close(asked(&full, "beta"), run_asks(0.6, 0.5, &[10.5]));
    let sixty = reserve_run(
        false,
        &[2.0, 8.0],
        "[sector.lending.run]\nat_utilization = 0.6",
    );
    close(asked(&sixty, "alpha"), run_asks(0.6, 1.0, &[2.0, 8.0]));
    close(asked(&sixty, "beta"), run_asks(1.0, 1.0, &[2.0, 8.0]));
    // Filling again half a day later is the same news (the default rearm_days is 1), unless
    // the holders rearm sooner.
    let twice = |run: &str| {
        let run = format!("[sector.lending.run]\nat_utilization = 0.6\n{run}");
        reserve_run(false, &[2.0, 2.5], &run)
    };
    close(asked(&twice(""), "alpha"), run_asks(0.6, 1.0, &[2.0]));
    close(
        asked(&twice("rearm_days = 0.25"), "alpha"),
        run_asks(0.6, 1.0, &[2.0, 2.5]),
    );
    for quiet in [
        "at_utilization = 1",
        "at_utilization = 0.3",
        "at_utilization = 0.6\nloading = 0",
    ] {
        let text = reserve_run(
            false,
            &[2.0, 8.0],
            &format!("[sector.lending.run]\n{quiet}"),
        );
        close(asked(&text, "alpha"), run_asks(0.6, 1.0, &[]));
        close(asked(&text, "beta"), run_asks(1.0, 1.0, &[]));
    }
}
