//! Front doors in a sector (`lrts[].withdrawals`, `[sector.exit_queue]`): each LRT redeems
//! from its own part of the operators' stake and every door exits through one shared beacon
//! exit queue. Checked against the one-LRT engine (an LRT holding every operator with the
//! pool's front door is the pool, path by path), the exit queue's first-in-first-out
//! arithmetic (another LRT's exits ahead in the queue delay this one's by exactly their
//! churn time, with nothing else shared) and conservation on every path.

mod support;

use lrtsim_scenario::Model;
use support::sim::{col, load, simulate, two_lrts};

/// scenarios/bank-run.toml.
fn bank_run_with_rush() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/bank-run.toml");
    std::fs::read_to_string(path).unwrap()
}

/// scenarios/bank-run.toml without its rush.
fn bank_run() -> String {
    let text = bank_run_with_rush();
    let cut = text.find("[[withdrawals.network.rushes]]").unwrap();
    text[..cut].to_string()
}

/// bank-run as a sector of one LRT, `all`, holding every operator: the pool's
/// `[withdrawals]` become the LRT's, its network (with its rush) the sector's exit queue.
fn bank_run_as_sector() -> String {
    let text = bank_run_with_rush();
    let cut = text.find("[withdrawals.demand]").unwrap();
    let (head, door) = text.split_at(cut);
    head.replace("[[operators]]\n", "[[operators]]\nlrts = { all = 1.0 }\n")
        + "[[lrts]]\nname = \"all\"\n\n"
        + &door
            .replace("[withdrawals.network]", "[sector.exit_queue]")
            .replace(
                "[[withdrawals.network.rushes]]",
                "[[sector.exit_queue.rushes]]",
            )
            .replace("[withdrawals.", "[lrts.withdrawals.")
}

fn model(text: &str, paths: u64) -> Model {
    load(text, "doors.toml", &[format!("simulation.paths={paths}")])
}

/// An LRT that holds every operator and has the pool's front door is the pool: on every
/// path its redemption metrics, slashing and NAV are the one-LRT run's (to rounding: the
/// LRT's stake is summed over its operators, the pool's book kept as one number).
#[test]
fn one_lrt_with_the_pools_front_door_is_the_pool() {
    let n = 400;
    let pool = simulate(&model(&bank_run_with_rush(), n));
    let sector = simulate(&model(&bank_run_as_sector(), n));
    let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-9 * scale.max(1.0);
    let mut redeemed = 0;
    for p in 0..n as usize {
        for c in lrtsim_sim::Layout::REDEMPTION {
            let (a, b) = (col(&pool, c)[p], col(&sector, &format!("{c}.lrt.all"))[p]);
            assert!(close(a, b, a.abs()), "path {p}, {c}: {a} vs {b}");
        }
        let (a, b) = (
            col(&pool, "slashed_eth")[p],
            col(&sector, "slashed_eth.lrt.all")[p],
        );
        assert!(close(a, b, a), "path {p}: slashed {a} vs {b}");
        let (a, b) = (
            -col(&pool, "nav_return")[p],
            col(&sector, "nav_loss.lrt.all")[p],
        );
        assert!(close(a, b, 1.0), "path {p}: NAV loss {a} vs {b}");
        redeemed += usize::from(col(&pool, "redeemed_eth")[p] > 0.0);
    }
    assert!(
        redeemed > n as usize / 2,
        "the test sees redemptions ({redeemed})"
    );
}

/// bank-run's operators split between two LRTs, alpha (the first four) and beta (the last
/// four), each with bank-run's front door if `door` says so; the exit queue shared.
fn bank_run_split(alpha_door: bool, beta_door: bool) -> String {
    let text = bank_run();
    let cut = text.find("[withdrawals.demand]").unwrap();
    let (head, door) = text.split_at(cut);
    let mut out = String::new();
    for (i, part) in head.split("[[operators]]\n").enumerate() {
        match i {
            0 => out.push_str(part),
            1..=4 => out.push_str(&format!("[[operators]]\nlrts = {{ alpha = 1.0 }}\n{part}")),
            _ => out.push_str(&format!("[[operators]]\nlrts = {{ beta = 1.0 }}\n{part}")),
        }
    }
    let network_at = door.find("[withdrawals.network]").unwrap();
    let (own, network) = door.split_at(network_at);
    let own = own.replace("[withdrawals.", "[lrts.withdrawals.");
    for (name, has) in [("alpha", alpha_door), ("beta", beta_door)] {
        out.push_str(&format!("[[lrts]]\nname = \"{name}\"\n\n"));
        if has {
            out.push_str(&own);
        }
    }
    // An empty queue with no other stakers: what waits in it is the two LRTs' exits.
    out + &network
        .replace("[withdrawals.network]", "[sector.exit_queue]")
        .replace("queue_eth = 600_000", "queue_eth = 0")
        .replace(
            "inflow_eth_per_day = 40_000",
            // A churn of 8 ETH an epoch (1,800 a day), so that exits wait behind each other.
            "inflow_eth_per_day = 0\nchurn = { quotient = 4_000_000, min_per_epoch_eth = 8, max_per_epoch_eth = 8 }",
        )
}

/// The shared exit queue (empty at t = 0, no other stakers, a churn of 1,800 ETH a day): with
/// beta's front door as well, alpha's exits join the queue behind beta's whenever beta exits
/// first. Every random number is the same in the two runs (each LRT draws its door's numbers
/// whether or not it has a door), so on every path alpha's stressed holders wait at least as
/// long, its queue's longest wait is at least as long and the exit queue's peak at least as
/// high — and on most paths strictly.
#[test]
fn another_lrts_exits_delay_this_ones_in_the_shared_queue() {
    let n = 300;
    let alone = simulate(&model(&bank_run_split(true, false), n));
    let both = simulate(&model(&bank_run_split(true, true), n));
    let c =
        |r: &lrtsim_sim::SimResults, name: &str, p: usize| col(r, &format!("{name}.lrt.alpha"))[p];
    for name in [
        "redeem_days_stress",
        "peak_queue_days",
        "peak_network_queue_eth",
    ] {
        let mut later = 0;
        for p in 0..n as usize {
            let (a, b) = (c(&alone, name, p), c(&both, name, p));
            assert!(
                b >= a - 1e-9 * a.max(1.0),
                "path {p}, {name}: {b} with beta's exits, {a} without"
            );
            later += usize::from(b > a + 1e-6 * a.max(1.0));
        }
        assert!(
            later > 9 * n as usize / 10,
            "{name}: later on {later} paths of {n}"
        );
    }
}

/// Redemptions move no loss or reward between stakers: with the two LRTs holding every
/// operator and both redeeming (and [`DOUBLE_SIGN`]'s slashed validators forced out to their
/// doors), their slashing adds up to the pool's and their rewards to its rewards on every
/// path.
#[test]
fn redemptions_conserve_losses_and_rewards_across_the_sector() {
    let n = 200;
    // With slashed validators forced out to each door too.
    let r = simulate(&model(&(bank_run_split(true, true) + DOUBLE_SIGN), n));
    for p in 0..n as usize {
        let got = |m: &str| col(&r, m)[p];
        for (pool, each) in [
            ("slashed_eth", "slashed_eth"),
            ("rewards_eth", "rewards_eth"),
        ] {
            let whole = got(pool);
            let parts = got(&format!("{each}.lrt.alpha")) + got(&format!("{each}.lrt.beta"));
            assert!(
                (whole - parts).abs() <= 1e-9 * whole.max(1.0),
                "path {p}, {pool}: {parts} vs {whole}"
            );
        }
        assert!(got("redeemed_eth.lrt.alpha") > 0.0 && got("redeemed_eth.lrt.beta") > 0.0);
    }
}

/// Two LRTs on their own operators (1,000 ETH each, no rewards) for 40 days, with `alpha`
/// and `beta` the text after each one's `[[lrts]]` line (a door: [`DOOR`]) and `extra`
/// appended; `alpha_avs` gives alpha's operator an AVS `x` that a shock can hit.
fn two_small_lrts(alpha_avs: bool, alpha: &str, beta: &str, extra: &str) -> String {
    let text = two_lrts("paths = 3\nhorizon_days = 40\nseed = 2", alpha, beta, extra)
        .replace("collateral_eth = 1_000_000", "collateral_eth = 2000");
    if !alpha_avs {
        return text;
    }
    text.replacen(
        "lrts = { alpha = 1.0 }\n",
        "lrts = { alpha = 1.0 }\nallocations = { x = 1.0 }\n",
        1,
    ) + "\n[[avs]]\nname = \"x\"\n"
}

/// A front door whose holders ask at 0.1 % a day, and 5 % a day more, decaying over 3 days,
/// after a loss of 10 bp or more.
const DOOR: &str = "[lrts.withdrawals.demand]\nbase_share_per_day = 0.001\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n[lrts.withdrawals.demand.trigger]\nmin_loss_bps = 10\nshare_per_day = 0.05\ndecay_days = 3\n";

/// [`DOOR`]'s requested share over the 40 days: with a pulse on day 10.5, 1 − e^(−∫h), ∫h =
/// 40 × 0.001 + 0.05 × 3 × (1 − e^(−29.5/3)) (the closed form of the one-LRT trigger test);
/// without, the calm rate alone, 1 − e^(−0.04).
fn door_asks(pulse: bool) -> f64 {
    let pulse = if pulse {
        0.05 * 3.0 * -(-29.5f64 / 3.0).exp_m1()
    } else {
        0.0
    };
    -(-(40.0 * 0.001 + pulse)).exp_m1()
}

/// Contagion (`[sector.contagion]`): alpha (no front door) loses 1 % of its assets on day
/// 10.5; beta, on other operators, loses nothing. Its holders feel L × 1 %: with L = 0.2 that
/// reaches beta's 10 bp trigger and adds 5 % × e^(−(t − 10.5)/3) a day to its 0.1 % calm
/// rate, so 1 − e^(−∫h) of its supply asks over the 40 days, ∫h = 40 × 0.001 + 0.05 × 3 ×
/// (1 − e^(−29.5/3)) (the closed form of the one-LRT trigger test); with L = 0.05 (5 bp felt)
/// or no contagion, only the calm rate: 1 − e^(−0.04).
#[test]
fn a_loss_at_one_lrt_sets_off_a_run_at_another_through_the_loading() {
    let shock =
        "[[shocks]]\nname = \"bug\"\nat_days = 10.5\nseverity = 0.01\nselect = { avs = [\"x\"] }\n";
    let asked = |contagion: &str| {
        let text = two_small_lrts(true, "", DOOR, &format!("{shock}{contagion}"));
        let r = simulate(&model(&text, 3));
        let v = col(&r, "requested_share.lrt.beta");
        assert!(v.iter().all(|x| *x == v[0]), "no randomness left: {v:?}");
        assert_eq!(col(&r, "slashed_eth.lrt.alpha")[0], 10.0);
        v[0]
    };
    let (run, calm) = (door_asks(true), door_asks(false));
    let got = asked("[sector.contagion]\nloading = 0.2");
    assert!((got - run).abs() < 1e-10, "{got} vs {run}");
    let got = asked("[sector.contagion]\nloadings = { alpha = { beta = 0.2 } }");
    assert!((got - run).abs() < 1e-10, "{got} vs {run}");
    for quiet in [
        "[sector.contagion]\nloading = 0.05",
        "[sector.contagion]\nloading = 0.2\nloadings = { alpha = { beta = 0 } }",
        "",
    ] {
        let got = asked(quiet);
        assert!((got - calm).abs() < 1e-10, "{quiet:?}: {got} vs {calm}");
    }
}

/// A rush on the sector's exit queue (`[[sector.exit_queue.rushes]]`): 1,000 ETH of other
/// stakers join the shared queue on day 10.5, marked `triggers_run`. Nothing is lost, yet both
/// LRTs' holders run: each door's requested share is the closed form of the test above,
/// 1 − e^(−∫h) with the pulse from day 10.5; without `triggers_run`, the calm rate alone. The
/// rush's ETH joins the queue once: the queue's peak, seen by both doors, is exactly the
/// rush's 1,000 ETH (it starts empty with no other stakers' inflow).
#[test]
fn a_rush_on_the_shared_queue_sets_off_every_doors_run() {
    for triggers in [true, false] {
        let rush = format!(
            "[sector.exit_queue]\nqueue_eth = 0\ninflow_eth_per_day = 0\n[[sector.exit_queue.rushes]]\nname = \"others\"\nat_days = 10.5\nsize_eth = 1000\ntriggers_run = {triggers}\n"
        );
        let r = simulate(&model(&two_small_lrts(false, DOOR, DOOR, &rush), 3));
        let want = door_asks(triggers);
        for lrt in ["alpha", "beta"] {
            let asked = col(&r, &format!("requested_share.lrt.{lrt}"));
            let peak = col(&r, &format!("peak_network_queue_eth.lrt.{lrt}"));
            for p in 0..3 {
                assert!(
                    (asked[p] - want).abs() < 1e-10,
                    "triggers_run = {triggers}, {lrt}: {} vs {want}",
                    asked[p]
                );
                assert_eq!(peak[p], 1000.0, "{lrt}: the queue's peak");
            }
        }
    }
}

/// Uncertain rates of a rush on the sector's exit queue: bank-run's scheduled rush turned
/// into a Poisson source of gamma-distributed rate (mean 4 a year, cv 1) loading on a rate
/// factor (variance 0.5), as a sector of one LRT, draws the pool's rate, count and rushes on
/// every path (the pool's draws are checked against the negative binomial in
/// rate_factors.rs); the queue's peak varies with them.
#[test]
fn a_sector_rush_draws_uncertain_rates_as_the_pool_does() {
    let uncertain = |text: String| {
        text.replace(
            "at_days = 10                         # the same day: restakers everywhere head for the exit",
            "rate_per_year = { dist = \"gamma\", mean = 4, cv = 1 }\nrate_factor = \"panic\"",
        ) + "\n[[rate_factors]]\nname = \"panic\"\nvariance = 0.5\n"
    };
    let (pool_text, sector_text) = (
        uncertain(bank_run_with_rush()),
        uncertain(bank_run_as_sector()),
    );
    assert!(pool_text.contains("rate_factor = \"panic\""));
    let n = 200;
    let pool = simulate(&model(&pool_text, n));
    let sector = simulate(&model(&sector_text, n));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    for p in 0..n as usize {
        for c in lrtsim_sim::Layout::REDEMPTION {
            let (a, b) = (col(&pool, c)[p], col(&sector, &format!("{c}.lrt.all"))[p]);
            assert!(close(a, b), "path {p}, {c}: {a} vs {b}");
        }
    }
    let peaks = col(&sector, "peak_network_queue_eth.lrt.all");
    let highest = peaks.iter().copied().fold(0.0, f64::max);
    let lowest = peaks.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(highest > lowest + 500_000.0, "{lowest} to {highest}");
}

/// A double-sign incident on day 3: a quarter of the lighthouse operators' validators.
const DOUBLE_SIGN: &str = "\n[[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nat_days = 3\nselect = { attributes = { client = \"lighthouse\" } }\nhit_probability = 1.0\nvalidator_share = 0.25\n";

/// [`DOUBLE_SIGN`]'s slashed validators are forced out through the exit queue and their ETH,
/// once withdrawable (day 39.4: 8,192 epochs after the slashing, or later behind the queue),
/// reaches the front door after the sweep and the EigenLayer escrow — what is left of them
/// after the redemptions since, which took their share of every validator. As a sector of one
/// LRT, through the sector's queue and the LRT's own door, every redemption column and the
/// NAV are the pool's on every path.
#[test]
fn slashed_validators_forced_out_reach_the_lrts_door_as_the_pools() {
    let n = 100;
    let pool = simulate(&model(&(bank_run_with_rush() + DOUBLE_SIGN), n));
    let sector = simulate(&model(&(bank_run_as_sector() + DOUBLE_SIGN), n));
    let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-9 * scale.max(1.0);
    for p in 0..n as usize {
        for c in lrtsim_sim::Layout::REDEMPTION {
            let (a, b) = (col(&pool, c)[p], col(&sector, &format!("{c}.lrt.all"))[p]);
            assert!(close(a, b, a.abs()), "path {p}, {c}: {a} vs {b}");
        }
        let (a, b) = (
            -col(&pool, "nav_return")[p],
            col(&sector, "nav_loss.lrt.all")[p],
        );
        assert!(close(a, b, 1.0), "path {p}: NAV loss {a} vs {b}");
        assert!(col(&pool, "beacon_initial_eth")[p] > 0.0);
    }
}
