//! Markets in a sector (`lrts[].market`): each LRT's own LRT/ETH pool, fed by its own losses,
//! depeg shocks and attacker, arbitraged through its own front door, and moved by the other
//! LRTs' losses and depegs through the contagion loadings. Checked against the one-LRT engine
//! (an LRT holding every operator with the pool's market, and front door, is the pool, path
//! by path) and against closed forms for what the loadings and an attacker sell.

mod support;

use lrtsim_scenario::Model;
use support::sim::{col, load, simulate, two_lrts};

fn preset(file: &str) -> String {
    let path = format!("{}/../../scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

/// `text` with its pool's sections `[market…]` and `[withdrawals…]` (from `cut` on) moved
/// into one LRT, `all`, holding every operator; the network queue becomes the sector's.
fn as_sector(text: &str, cut: &str) -> String {
    let (head, tail) = text.split_at(text.find(cut).unwrap());
    head.replace("[[operators]]\n", "[[operators]]\nlrts = { all = 1.0 }\n")
        + "[[lrts]]\nname = \"all\"\n\n"
        + &tail
            .replace("[withdrawals.network]", "[sector.exit_queue]")
            .replace("[withdrawals.", "[lrts.withdrawals.")
            .replace("[market.", "[lrts.market.")
            .replace("[[market.", "[[lrts.market.")
}

fn model(text: &str, paths: u64) -> Model {
    load(text, "markets.toml", &[format!("simulation.paths={paths}")])
}

/// Every market column but the sub-step counts (and with `door`, every redemption column) of
/// the pool equals the LRT's on every path, to `rel` of its size (or of 1 if smaller).
fn assert_same_paths(pool_text: &str, sector_text: &str, n: u64, door: bool, rel: f64) {
    let pool_model = model(pool_text, n);
    let pool = simulate(&pool_model);
    let sector = simulate(&model(sector_text, n));
    let close = |a: f64, b: f64| (a - b).abs() <= rel * a.abs().max(1.0);
    let layout = lrtsim_sim::Layout::new(&pool_model);
    let start = layout.market_start().expect("the pool has a market");
    let end = layout.lending_start().unwrap_or(layout.avs_start());
    let mut names: Vec<String> = layout.names()[start..end].to_vec();
    if door {
        names.extend(lrtsim_sim::Layout::REDEMPTION.iter().map(|s| s.to_string()));
    }
    let mut sold = 0;
    for p in 0..n as usize {
        for c in &names {
            let (a, b) = (col(&pool, c)[p], col(&sector, &format!("{c}.lrt.all"))[p]);
            // The sub-step counts are not compared: where the two books differ by rounding
            // the adaptive sub-steps end at slightly different times.
            if !c.starts_with("market_") {
                assert!(close(a, b), "path {p}, {c}: {a} vs {b}");
            }
        }
        let (a, b) = (
            -col(&pool, "nav_return")[p],
            col(&sector, "nav_loss.lrt.all")[p],
        );
        assert!(close(a, b), "path {p}: NAV loss {a} vs {b}");
        sold += usize::from(col(&pool, "sold_share")[p] > 0.0);
    }
    assert!(sold > n as usize / 2, "the test sees sales ({sold})");
}

/// steth-2022 (a market without a front door: depeg shocks, liquidity flight, patient
/// buyers, arbitrageurs with a closed wait) as a sector of one LRT is the pool, path by path.
#[test]
fn one_lrt_with_the_pools_market_is_the_pool() {
    let text = preset("steth-2022.toml");
    let sector = as_sector(&text, "[market.pool]");
    assert_same_paths(&text, &sector, 200, false, 1e-9);
}

/// bank-run (without its rush) with a market whose arbitrageurs redeem and whose sellers
/// divert through the front door, and whose holders sell on losses: as a sector of one LRT,
/// the market and the door are the pool's on every path.
#[test]
fn one_lrt_with_the_pools_market_and_front_door_is_the_pool() {
    let text = preset("bank-run.toml");
    let text = &text[..text.find("[[withdrawals.network.rushes]]").unwrap()];
    let market = "\n[market.pool]\ndepth_eth = 60_000\n\n[market.liquidity]\nflight_per_day = 2\nfloor_share = 0.3\nreturn_half_life_days = 10\n\n[market.confidence]\nsell_per_loss = 1.0\nsell_days = 1\n\n[market.sellers]\nshare_of_demand = 0.3\nwait_cost_per_year = 0.5\n\n[market.recovery]\nhalf_life_days = 2\n\n[market.arbitrage]\ncapital_eth = 50_000\nrequired_return_per_year = 0.15\npremium_bps = 50\n";
    // With a front door the LRT's stake (summed over its operators) and the pool's book
    // differ by rounding, and the market's adaptive sub-steps then end at slightly different
    // times: the paths differ by the integration error. At the market's default tolerance
    // (3e-3) that reaches 3e-4 of days_discount_over_100bps on one of these 100 paths; at
    // 3e-4, 5e-8 (hence 1e-6 here).
    let pool = format!("{text}{market}").replace(
        "seed = 2024",
        "seed = 2024\nmax_price_move_per_substep = 3e-4",
    );
    let sector = as_sector(&pool, "[withdrawals.demand]");
    assert_same_paths(&pool, &sector, 100, true, 1e-6);
}

/// Two LRTs on separate operators with no slashing: alpha (its market's holders sell
/// `sell_per_loss` = 1 of the loss share they perceive, at once) and beta (a theft of 10 % of
/// its assets on day 30, a depeg shock selling 4 % of its supply on day 60, the same
/// confidence rule). Thin markets' other flows are off, so what each sells is in closed form.
fn contagion(loading: f64) -> String {
    let market = |shock: &str| {
        format!(
            "[lrts.market.pool]\ndepth_eth = 10_000\n\n[lrts.market.confidence]\nsell_per_loss = 1.0\nsell_days = 0\n\n{shock}[lrts.market.report]\nthresholds_bps = [100]\n\n"
        )
    };
    let theft = "[[exploits]]\nname = \"theft\"\nkind = \"stolen\"\nat_days = 30\nsize = 0.1\nlrt = \"beta\"\n";
    two_lrts(
        "paths = 4\nhorizon_days = 100\nseed = 7",
        &market(""),
        &market(
            "[[lrts.market.shocks]]\nname = \"dump\"\nat_days = 60\nsell_share = 0.04\nsell_days = 0\n\n",
        ),
        &format!("{theft}\n[sector.contagion]\nloading = {loading}\n"),
    )
}

/// With loading L, alpha's holders sell L × 10 % (beta's theft, felt) plus L × 4 % (beta's
/// depeg shock) of alpha's supply; beta's sell 10 % + 4 % of beta's whatever L; with L = 0
/// alpha's holders sell nothing. The shares are exact to rounding on every path.
#[test]
fn the_loadings_carry_losses_and_depegs_into_the_other_markets() {
    for loading in [0.0, 0.5, 2.0] {
        let r = simulate(&model(&contagion(loading), 4));
        for p in 0..4 {
            let alpha = col(&r, "sold_share.lrt.alpha")[p];
            let beta = col(&r, "sold_share.lrt.beta")[p];
            let want = loading * (0.1 + 0.04);
            assert!(
                (alpha - want).abs() < 1e-12,
                "L = {loading}: alpha sold {alpha}, want {want}"
            );
            assert!(
                (beta - 0.14).abs() < 1e-12,
                "L = {loading}: beta sold {beta}"
            );
        }
    }
}

/// An unbacked mint of 2 % of beta's supply whose attacker sells half of it into beta's
/// pool at once: beta's holders' sales (their confidence rule, on the dilution they perceive)
/// come on top of the attacker's 1 % of the t = 0 supply, and alpha's pool sees nothing
/// without a loading.
#[test]
fn an_attacker_sells_the_minted_lrt_into_its_lrts_market() {
    let text = contagion(0.0)
        .replace(
            "kind = \"stolen\"\nat_days = 30\nsize = 0.1",
            "kind = \"unbacked_mint\"\nat_days = 30\nsize = 0.02\nattacker_sell_share = 0.5",
        )
        .replace("sell_share = 0.04", "sell_share = 0");
    let r = simulate(&model(&text, 4));
    // The mint's dilution, minted × NAV, is m of beta's assets: its holders sell m of the
    // supply after the mint, (1 + m) × the t = 0 supply.
    let m: f64 = 0.02;
    let want = 0.5 * m + m * (1.0 + m);
    for p in 0..4 {
        let beta = col(&r, "sold_share.lrt.beta")[p];
        assert!((beta - want).abs() < 1e-12, "beta sold {beta}, want {want}");
        assert_eq!(col(&r, "sold_share.lrt.alpha")[p], 0.0);
    }
}

/// One pot of arbitrage capital (`[sector.arbitrage]`): a sector of one LRT whose market's
/// arbitrageurs draw on a pot of their own capital is that market, to the bit (the markets
/// then advance in lockstep: with one market, its own sub-steps).
#[test]
fn a_pot_for_one_market_is_its_own_capital() {
    let text = preset("steth-2022.toml");
    let own = as_sector(&text, "[market.pool]");
    let pot = own.replace("capital_eth = 150_000\n", "")
        + "\n[sector.arbitrage]\ncapital_eth = 150_000\n";
    assert!(own.contains("capital_eth = 150_000\n"));
    let n = 100;
    let (a_model, b_model) = (model(&own, n), model(&pot, n));
    assert_eq!(b_model.arbitrage_pot_eth, Some(150_000.0));
    let (a, b) = (simulate(&a_model), simulate(&b_model));
    let layout = lrtsim_sim::Layout::new(&a_model);
    for name in layout.names() {
        let (x, y) = (col(&a, name), col(&b, name));
        assert!(
            x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name} differs"
        );
    }
    assert!(col(&b, "arb_bought_share.lrt.all").iter().any(|&x| x > 0.0));
}

/// Two LRTs on separate operators (500,000 ETH each, no rewards, no losses: NAV 1), each with
/// a thin pool (10,000 ETH deep) into which a depeg shock dumps 0.9 % of the supply on day 5,
/// and arbitrageurs who hold what they buy (a 30-day closed wait). Every LRT they buy costs
/// them at least the lowest price of its pool, 1 − its max_discount: with one pot of 1,000
/// ETH, Σ bought × (1 − max_discount) ≤ 1,000 on every path, while with 1,000 ETH each they
/// spend more than that in all. (Both pools fall at the same instant: the pot goes to the
/// first LRT's pool, in LRT order, and runs dry there.)
#[test]
fn one_pot_of_arbitrage_capital_runs_dry_across_the_pools() {
    let market = |capital: &str| {
        format!(
            "[lrts.market.pool]\ndepth_eth = 10_000\n\n[[lrts.market.shocks]]\nname = \"dump\"\nat_days = 5\nsell_share = 0.009\nsell_days = 0\n\n[lrts.market.arbitrage]\n{capital}required_return_per_year = 0.1\npremium_bps = 10\nclosed_wait_days = 30\n\n[lrts.market.report]\nthresholds_bps = [100]\n\n"
        )
    };
    let sector = |capital: &str, pot: &str| {
        let m = market(capital);
        two_lrts("paths = 2\nhorizon_days = 20\nseed = 3", &m, &m, pot)
    };
    let spent = |text: &str| {
        let r = simulate(&model(text, 2));
        (0..2)
            .map(|p| {
                ["alpha", "beta"]
                    .iter()
                    .map(|l| {
                        let bought = col(&r, &format!("arb_bought_share.lrt.{l}"))[p] * 500_000.0;
                        bought * (1.0 - col(&r, &format!("max_discount.lrt.{l}"))[p])
                    })
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
    };
    let own = spent(&sector("capital_eth = 1_000\n", ""));
    let pot = spent(&sector("", "[sector.arbitrage]\ncapital_eth = 1_000\n"));
    for p in 0..2 {
        assert!(own[p] > 1_500.0, "with their own capital: {}", own[p]);
        assert!(
            pot[p] <= 1_000.0 * (1.0 + 1e-9) && pot[p] > 500.0,
            "with one pot: {}",
            pot[p]
        );
    }
}

/// The sector's flows: a depeg shock dumps 1 % of alpha's supply (5,000 LRT) at once into a
/// constant-product pool of 5,000 LRT and 5,000 ETH without a fee, so the pool pays
/// 5,000 − 5,000²/(5,000 + 5,000) = 2,500 ETH: `sector_sold_eth` and `sector_outflow_eth` are
/// 2,500, `sector_redeemed_eth` 0 (no door). In sector-2026 (four doors and pools) the
/// redeemed ETH is the doors' `redeemed_eth.lrt.*` summed, the outflow the two parts' sum, on
/// every path.
#[test]
fn the_sectors_flows_add_its_doors_and_its_pools() {
    let dump = "[lrts.market.pool]\nkind = \"constant_product\"\ndepth_eth = 10_000\nfee_bps = 0\nrate_oracle = false\n\n[[lrts.market.shocks]]\nname = \"dump\"\nat_days = 5\nsell_share = 0.01\nsell_days = 0\n";
    let text = &two_lrts("paths = 2\nhorizon_days = 10\nseed = 5", dump, "", "");
    let r = simulate(&model(text, 2));
    for p in 0..2 {
        let sold = col(&r, "sector_sold_eth")[p];
        assert!((sold - 2_500.0).abs() < 1e-9, "sold {sold}");
        assert_eq!(col(&r, "sector_outflow_eth")[p], sold);
        assert_eq!(col(&r, "sector_redeemed_eth")[p], 0.0);
    }
    let r = simulate(&model(
        &preset("sector-2026.toml").replace("horizon_days = 60", "horizon_days = 20"),
        40,
    ));
    for p in 0..40 {
        let doors: f64 = ["kelp", "etherfi", "renzo", "steth"]
            .iter()
            .map(|l| col(&r, &format!("redeemed_eth.lrt.{l}"))[p])
            .sum();
        let (out, redeemed, sold) = (
            col(&r, "sector_outflow_eth")[p],
            col(&r, "sector_redeemed_eth")[p],
            col(&r, "sector_sold_eth")[p],
        );
        assert_eq!(redeemed, doors, "path {p}");
        assert_eq!(out, redeemed + sold, "path {p}");
        assert!(redeemed > 0.0 && sold > 0.0, "path {p}: {redeemed}, {sold}");
    }
}

/// Uncertain rates of a sector LRT's depeg shocks: steth-2022 with its two scheduled shocks
/// turned into Poisson sources of gamma-distributed rates (mean 2 and 1 a year, cv 1) loading
/// on one rate factor (variance 0.5), as a sector of one LRT, draws the pool's rates, counts
/// and shocks on every path (the pool's draws are checked against the negative binomial in
/// rate_factors.rs).
#[test]
fn a_sector_lrts_depeg_shocks_draw_uncertain_rates_as_the_pool_does() {
    let text = preset("steth-2022.toml")
        .replace(
            "at_days = 0\nsell_share",
            "rate_per_year = { dist = \"gamma\", mean = 2, cv = 1 }\nrate_factor = \"panic\"\nsell_share",
        )
        .replace(
            "at_days = 27\nsell_share",
            "rate_per_year = { dist = \"gamma\", mean = 1, cv = 1 }\nrate_factor = \"panic\"\nsell_share",
        )
        + "\n[[rate_factors]]\nname = \"panic\"\nvariance = 0.5\n";
    assert!(text.matches("rate_factor = \"panic\"").count() == 2);
    let sector = as_sector(&text, "[market.pool]");
    assert_same_paths(&text, &sector, 200, false, 1e-9);
    // The counts vary from path to path: some paths see no shock at all.
    let r = simulate(&model(&sector, 200));
    let calm = col(&r, "sold_share.lrt.all")
        .iter()
        .filter(|x| **x == 0.0)
        .count();
    assert!(calm > 0 && calm < 200, "{calm} calm paths");
}

/// Each LRT's price / NAV bands (price_paths.lrt.<name>.csv). alpha's dump of
/// `the_sectors_flows_add_its_doors_and_its_pools` leaves its constant-product pool at
/// 2,500 ETH against 10,000 LRT, a price of 0.25 at NAV 1, from the step after day 5 (an event
/// at a step's end is the next step's); beta's pool stays at 1. Every percentile lies in the
/// bin of that value: [1, 1.0001) and [0.25, 0.26).
#[test]
fn each_lrts_price_bands_are_its_own_pools() {
    let dump = "[lrts.market.pool]\nkind = \"constant_product\"\ndepth_eth = 10_000\nfee_bps = 0\nrate_oracle = false\n\n[[lrts.market.shocks]]\nname = \"dump\"\nat_days = 5\nsell_share = 0.01\nsell_days = 0\n";
    let calm = "[lrts.market.pool]\nkind = \"constant_product\"\ndepth_eth = 10_000\nfee_bps = 0\nrate_oracle = false\n";
    let m = model(
        &two_lrts("paths = 3\nhorizon_days = 10\nseed = 5", dump, calm, ""),
        3,
    );
    let mut kernel = lrtsim_sim::PathKernel::new(&m);
    let mut row = vec![0.0; lrtsim_sim::Layout::new(&m).names().len()];
    for path in 0..3 {
        kernel.run_path(&mut lrtsim_sim::stream::path_rng(m.seed, path), &mut row);
    }
    let set = kernel.take_band_set();
    assert!(set.price.is_none(), "a sector has no pool price");
    assert_eq!(set.lrt_price.len(), 2);
    for (lrt, b) in ["alpha", "beta"].iter().zip(&set.lrt_price) {
        assert_eq!(b.points(), 10, "{lrt}");
        for point in 0..10 {
            let day = b.day_at(point);
            let (lo, hi) = if *lrt == "alpha" && day > 5.0 {
                (0.25, 0.26)
            } else {
                (1.0, 1.0001)
            };
            for p in [0.01, 0.5, 0.99] {
                let q = b.quantile(point, p);
                assert!(q >= lo && q < hi, "{lrt}, day {day}, p = {p}: {q}");
            }
        }
    }
}

/// steth-2022 as a sector of one LRT: its price bands are the pool's, count for count.
#[test]
fn one_lrts_price_bands_are_the_pools() {
    let text = preset("steth-2022.toml");
    let sector = as_sector(&text, "[market.pool]");
    let bands = |text: &str| {
        let m = model(text, 100);
        let mut kernel = lrtsim_sim::PathKernel::new(&m);
        let mut row = vec![0.0; lrtsim_sim::Layout::new(&m).names().len()];
        for path in 0..100 {
            kernel.run_path(&mut lrtsim_sim::stream::path_rng(m.seed, path), &mut row);
        }
        kernel.take_band_set()
    };
    let (pool, sector) = (bands(&text), bands(&sector));
    let (a, b) = (pool.price.expect("the pool's"), &sector.lrt_price[0]);
    assert_eq!(a.points(), b.points());
    assert_eq!(a.all_counts(), b.all_counts());
    // Not all at the peg: the bands see the depeg.
    let last = a.points() - 1;
    assert!(a.quantile(36, 0.5) < 0.97 && a.quantile(last, 0.5) < 1.0);
}
