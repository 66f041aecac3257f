//! The front door through the engine (MECHANICS.md §3-5, VALIDATION.md): exit churn and the
//! documented delays, the token bucket, the cooldown, the daily cap, FIFO order, slashing in
//! escrow, forced exits of slashed validators, and conservation of ETH on every path.

use std::path::Path;

use lrtsim_scenario::beacon::{ChurnRule, EPOCHS_PER_DAY, Fork, GWEI_PER_ETH};
use lrtsim_scenario::{Model, load_file, load_str};
use lrtsim_sim::{PathKernel, RunOptions, SimResults, chunk_rng, run};

/// One operator of 100,000 ETH, with `extra` appended (withdrawal settings, shocks).
fn pool(paths: u64, horizon_days: u32, extra: &str) -> Model {
    let text = format!(
        "[simulation]\npaths = {paths}\nhorizon_days = {horizon_days}\nseed = 11\n[pool]\ncollateral_eth = 100000\n\
         [[operators]]\nname = \"op\"\nshare = 1.0\nallocations = {{ avs = 1.0 }}\n[[avs]]\nname = \"avs\"\n{extra}"
    );
    load_str(&text, Path::new("withdrawals.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(model: &Model) -> SimResults {
    run(model, &RunOptions::default(), &|_| {}).unwrap()
}

fn column<'a>(r: &'a SimResults, name: &str) -> &'a [f64] {
    r.column(name).unwrap_or_else(|| panic!("no column {name}"))
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// 5-epoch lookahead + 256-epoch withdrawability delay, days.
const EXIT_DELAY_DAYS: f64 = 261.0 / 225.0;

#[test]
fn a_request_behind_the_july_2025_exit_queue_waits_the_documented_delays() {
    // VALIDATION.md: at T = 34.2 M ETH the churn is 256 ETH an epoch and a 744,000 ETH queue
    // clears in 12.92 days, before the lookahead, the withdrawability delay and the sweep.
    let churn = ChurnRule::default();
    assert_eq!(
        churn.exit_churn_gwei_per_epoch(34_200_000 * GWEI_PER_ETH),
        256 * GWEI_PER_ETH
    );
    let queue_days = 744_000.0 / (256.0 * EPOCHS_PER_DAY);
    assert_eq!(format!("{queue_days:.2}"), "12.92");

    // A negligible calm demand, no buffer, no escrow, no sweep: the t = 0 holder is paid when
    // the pool's exits leave the queue plus the delays.
    let model = pool(
        64,
        40,
        "[withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.escrow]\ndays = 0\n\
         [withdrawals.network]\nqueue_eth = 744000\nsweep_days = 0\n",
    );
    let r = simulate(&model);
    for &wait in column(&r, "redeem_days_t0") {
        assert!(
            (wait - (queue_days + EXIT_DELAY_DAYS)).abs() < 1e-6,
            "{wait} vs {}",
            queue_days + EXIT_DELAY_DAYS
        );
    }
    assert!(column(&r, "unredeemed_t0").iter().all(|&u| u == 0.0));

    // With the 14-day escrow the later of the two counts: 14.08 days is still the queue.
    let model = pool(
        64,
        40,
        "[withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.network]\nqueue_eth = 744000\nsweep_days = 0\n",
    );
    let r = simulate(&model);
    assert!(
        column(&r, "redeem_days_t0")
            .iter()
            .all(|&w| (w - (queue_days + EXIT_DELAY_DAYS)).abs() < 1e-6)
    );

    // Behind a short queue the escrow binds: exactly 14 days.
    let model = pool(
        16,
        40,
        "[withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.network]\nqueue_eth = 57600\nsweep_days = 0\n",
    );
    let r = simulate(&model);
    assert!(
        column(&r, "redeem_days_t0")
            .iter()
            .all(|&w| (w - 14.0).abs() < 1e-9)
    );
}

#[test]
fn the_sweep_adds_a_uniform_wait() {
    // Behind the July 2025 queue, with the sweep: the wait is the queue + delays + U × 8.7
    // days, U uniform (the holder's validator sits anywhere in the sweep cycle). Other
    // stakers pile 10 days of churn a day onto the queue, so the pool's later exits arrive
    // after the first one's sweep ends and cannot pay the t = 0 requests early (the queue is
    // FIFO over the pool's ETH, whichever validator it came from).
    let paths = 20_000;
    let model = pool(
        paths,
        40,
        "[withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.escrow]\ndays = 0\n\
         [withdrawals.network]\nqueue_eth = 744000\ninflow_eth_per_day = 576000\nsweep_days = 8.7\n",
    );
    let r = simulate(&model);
    let fixed = 744_000.0 / 57_600.0 + EXIT_DELAY_DAYS;
    let waits = column(&r, "redeem_days_t0");
    for &w in waits {
        assert!(
            w >= fixed - 1e-9 && w <= fixed + 8.7 + 1e-6,
            "{w} vs {fixed}"
        );
    }
    // Mean of U × 8.7 is 4.35 with standard deviation 8.7/√12; 4 standard errors.
    let se = 8.7 / 12f64.sqrt() / (paths as f64).sqrt();
    let m = mean(waits) - fixed;
    assert!((m - 4.35).abs() < 4.0 * se, "{m}");
    // And its quartiles: a uniform's lower quartile is at a quarter of the cycle.
    let below = waits.iter().filter(|&&w| w < fixed + 8.7 / 4.0).count() as f64 / paths as f64;
    let se_p = (0.25f64 * 0.75 / paths as f64).sqrt();
    assert!((below - 0.25).abs() < 4.0 * se_p, "{below}");
}

#[test]
fn the_september_2025_rush_takes_44_days() {
    // A 2.5 M ETH rush on day 0 (one large operator exiting everything). The pool's exits
    // of day 0 were already in line (the front door runs at the start of a step, before its
    // events): the escrow's 14 days bind. From day 1 on every exit waits behind the rush:
    // paid 2.5 M / 57,600 = 43.4 days after day 0, 44.6 with the delays (MECHANICS.md §3:
    // 44-46 days observed).
    let model = pool(
        8,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.network]\nsweep_days = 0\n\
         [[withdrawals.network.rushes]]\nname = \"sept-2025\"\nat_days = 0\nsize_eth = 2500000\n",
    );
    let r = simulate(&model);
    for &w in column(&r, "redeem_days_t0") {
        assert!((w - 14.0).abs() < 1e-9, "{w}");
    }
    let expected = 2_500_000.0 / 57_600.0 + EXIT_DELAY_DAYS;
    assert!((44.0..46.0).contains(&expected));
    for &w in column(&r, "peak_queue_days") {
        // The back of day 1's requests, asked on day 1.
        assert!(
            (w - (expected - 1.0)).abs() < 1e-3,
            "{w} vs {}",
            expected - 1.0
        );
    }
    assert!(
        column(&r, "peak_network_queue_eth")
            .iter()
            .all(|&q| q >= 2_500_000.0)
    );
}

#[test]
fn the_token_bucket_limits_instant_exits() {
    // Demand of ~1% a day (about 1,000 ETH) against a bucket of 100 ETH refilled by 10 ETH a
    // day, with a buffer too large to run dry: instant exits take exactly the bucket,
    // 100 + 10 × 59 ETH over 60 daily steps, and pay the 1% fee on it.
    let model = pool(
        4,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 0.01\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\nbucket_capacity_eth = 100\nbucket_refill_eth_per_day = 10\ninstant_fee_bps = 100\n",
    );
    let r = simulate(&model);
    let instant = 100.0 + 10.0 * 59.0;
    for &fee in column(&r, "exit_fees_eth") {
        assert!((fee - 0.01 * instant).abs() < 1e-9, "{fee}");
    }
    // Without a capacity the buffer serves everything at once: nobody waits.
    let model = pool(
        4,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 0.01\n[withdrawals.buffer]\ninitial_eth = 1000000\n",
    );
    let r = simulate(&model);
    assert!(column(&r, "redeem_days_t0").iter().all(|&w| w == 0.0));
    assert!(column(&r, "peak_queue_eth").iter().all(|&q| q == 0.0));
}

#[test]
fn the_cooldown_delays_every_request() {
    // Everybody queues (no instant path taken), liquidity is plentiful: every request is paid
    // exactly `cooldown_days` after it was made.
    let model = pool(
        4,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 0.001\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n[withdrawals.queue]\ncooldown_days = 7\n",
    );
    let r = simulate(&model);
    for name in ["redeem_days_t0", "peak_queue_days"] {
        for &w in column(&r, name) {
            assert!((w - 7.0).abs() < 1e-9, "{name}: {w}");
        }
    }
    // Requests made in the last 7 days are still waiting at the horizon: 7 of 60 days'
    // worth of a constant hazard on a shrinking holder base.
    let h = -(-0.001f64).exp_m1();
    let asked: Vec<f64> = (0..60).map(|k| (1.0 - h).powi(k) * h).collect();
    let unfilled = asked[53..].iter().sum::<f64>() / asked.iter().sum::<f64>();
    for &u in column(&r, "unfilled_share") {
        assert!((u - unfilled).abs() < 1e-9, "{u} vs {unfilled}");
    }
}

#[test]
fn a_daily_cap_pays_the_queue_first_in_first_out() {
    // 10% of holders ask every day; the queue pays at most 10,000 ETH a day from a buffer
    // that never runs dry (1 M ETH on top of the 100,000 restaked, so 1.1 M LRT). FIFO: the
    // t = 0 cohort C₀ = 1.1 M × (1 − e^−0.1) is paid over its first days, 20,000 ETH at the
    // start of each, so a holder at place u of it is paid at the start of day
    // ⌈u C₀ / 10,000⌉ − 1; later cohorts wait behind it.
    let paths = 4_000;
    let model = pool(
        paths,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 0.1\nmax_share_per_day = 0.1\nwait_sensitivity_per_day = 0\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n[withdrawals.queue]\ndaily_cap_eth = 10000\n",
    );
    let r = simulate(&model);
    let days = 1_100_000.0 * -(-0.1f64).exp_m1() / 10_000.0; // C₀ / cap = 10.47
    let waits = column(&r, "redeem_days_t0");
    for &w in waits {
        assert!(w >= 0.0 && w <= days.ceil() - 1.0 && w == w.floor(), "{w}");
    }
    // E[⌈u d⌉ − 1] for u uniform: days 0..⌊d⌋−1 with probability 1/d each, ⌊d⌋ with the rest.
    let whole = days.floor();
    let expected = (whole * (whole - 1.0) / 2.0 + whole * (days - whole)) / days;
    let sd = 3.2; // > the standard deviation of a uniform on [0, 11]
    assert!(
        (mean(waits) - expected).abs() < 4.0 * sd / (paths as f64).sqrt(),
        "{} vs {expected}",
        mean(waits)
    );
    // Demand outruns the cap (600,000 ETH over the horizon for ~1.1 M asked): the queue only
    // grows, and requests of the first weeks are still waiting at the horizon.
    for (&u, &peak) in column(&r, "unfilled_share")
        .iter()
        .zip(column(&r, "peak_queue_days"))
    {
        assert!(u > 0.4, "{u}");
        assert!(peak > 30.0, "{peak}");
    }
}

#[test]
fn slashing_in_escrow_reduces_what_queued_redeemers_receive() {
    // A 10% slash of the whole book on day 5. Requests made on days 0-5 wait in the escrow
    // (14 days, no buffer, empty exit queue) and are paid at the lower NAV: each loses 10%
    // of what it asked for. Requests made after the slash ask at the lower NAV and lose
    // nothing.
    let model = pool(
        2,
        40,
        "[[shocks]]\nname = \"avs-bug\"\nat_days = 5.5\nseverity = 0.1\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n\
         [withdrawals.network]\nsweep_days = 0\n",
    );
    let r = simulate(&model);
    let h = -(-0.001f64).exp_m1();
    let asked_before: f64 = (0..6).map(|k| 100_000.0 * (1.0 - h).powi(k) * h).sum();
    for (&loss, &slashed) in column(&r, "queued_loss_eth")
        .iter()
        .zip(column(&r, "slashed_eth"))
    {
        assert!((slashed - 10_000.0).abs() < 1e-6, "{slashed}");
        assert!(
            (loss - 0.1 * asked_before).abs() < 1e-6 * asked_before,
            "{loss} vs {}",
            0.1 * asked_before
        );
    }
    // Without the shock nobody loses anything while queued.
    let calm = pool(
        2,
        40,
        "[withdrawals.demand]\nbase_share_per_day = 0.001\n[withdrawals.network]\nsweep_days = 0\n",
    );
    let r = simulate(&calm);
    assert!(
        column(&r, "queued_loss_eth")
            .iter()
            .all(|&l| l.abs() < 1e-9)
    );
}

#[test]
fn slashed_validators_are_forced_out_after_36_4_days() {
    // A double-signing incident on day 1 slashes every validator of the pool (3,125 of 32
    // ETH): the initial penalty now, the correlation penalty 18.2 days later, and the rest is
    // withdrawable 8192 epochs (36.4 days) after the slashing, then swept. With no demand to
    // speak of and no buffer target, it all ends up liquid by day 38 + the sweep.
    let model = pool(
        2,
        60,
        "[[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nat_days = 1\n\
         [withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.network]\nsweep_days = 8.7\n",
    );
    let eb = 32 * GWEI_PER_ETH;
    let initial = Fork::Electra.initial_penalty_gwei(eb);
    let s = 100_000 * GWEI_PER_ETH;
    let correlation = Fork::Electra.correlation_penalty_gwei(eb, s, 34_200_000 * GWEI_PER_ETH);
    let left_each = (eb - initial - correlation) as f64 / GWEI_PER_ETH as f64;
    let mut kernel = PathKernel::new(&model);
    let mut rng = chunk_rng(model.seed, 0);
    let mut row = vec![0.0; kernel.layout().len()];
    kernel.run_path(&mut rng, &mut row);
    let book = kernel.book();
    let received = book.liquid_eth + book.redeemed_eth;
    assert!(
        (received - 3125.0 * left_each).abs() < 1e-6,
        "{received} vs {}",
        3125.0 * left_each
    );
    assert!(book.withdrawable_eth.abs() < 1e-6 && book.transit_eth.abs() < 1e-6);

    // At 42 days the ETH is withdrawable (from day 1 + 36.4) but still being swept: about
    // half of it has arrived.
    let short = pool(
        2,
        42,
        "[[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nat_days = 1\n\
         [withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n[withdrawals.network]\nsweep_days = 8.7\n",
    );
    let mut kernel = PathKernel::new(&short);
    kernel.run_path(&mut rng, &mut row);
    let book = kernel.book();
    let swept = (42.0 - (1.0 + 8192.0 / EPOCHS_PER_DAY)) / 8.7;
    assert!((0.4..0.6).contains(&swept));
    // (Within the 0.004 ETH the calm demand asked for: its own exits are swept too.)
    let received = book.liquid_eth + book.redeemed_eth;
    assert!(
        (received - swept * 3125.0 * left_each).abs() < 0.01,
        "{received} vs {} ({book:?})",
        swept * 3125.0 * left_each
    );
}

fn scenario_file(name: &str, paths: u64) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    load_file(&path, &[format!("simulation.paths={paths}")]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn eth_is_conserved_on_every_path_with_withdrawals() {
    // book + liquid + in transit + paid out + fees + losses = assets at t = 0 + rewards.
    // rseth-2026 adds the market: arbitrageurs redeeming instantly and through the queue.
    for name in [
        "bank-run.toml",
        "exit-queue-2025.toml",
        "rseth-2026.toml",
        "leverage-loop.toml",
        "market-oracle-cascade.toml",
    ] {
        let model = scenario_file(name, 1);
        let mut kernel = PathKernel::new(&model);
        let mut rng = chunk_rng(model.seed, 3);
        let mut row = vec![0.0; kernel.layout().len()];
        for _ in 0..300 {
            kernel.run_path(&mut rng, &mut row);
            let b = kernel.book();
            // Reserves (leverage-loop has one) hold ETH outside the pool: what they paid in
            // and what rewards refilled is accounted for by their balance.
            let lhs = b.withdrawable_eth
                + b.liquid_eth
                + b.transit_eth
                + b.redeemed_eth
                + b.exit_fees_eth
                + b.slashed_eth
                + b.stolen_eth
                + b.reserve_eth;
            let rhs =
                b.initial_assets_eth + b.net_rewards_eth + b.reserve_initial_eth + b.restituted_eth;
            assert!(
                (lhs - rhs).abs() < 1e-9 * rhs,
                "{name}: {lhs} vs {rhs} ({b:?})"
            );
        }
    }
}

#[test]
fn a_calm_pool_with_withdrawals_loses_nothing() {
    let model = pool(
        256,
        90,
        "[withdrawals.demand]\nbase_share_per_day = 0.002\n[withdrawals.buffer]\ninitial_eth = 2000\n\
         bucket_capacity_eth = 500\nbucket_refill_eth_per_day = 100\n[withdrawals.queue]\ncooldown_days = 7\n",
    );
    let r = simulate(&model);
    assert!(column(&r, "nav_return").iter().all(|&x| x.abs() < 1e-12));
    assert!(
        column(&r, "queued_loss_eth")
            .iter()
            .all(|&x| x.abs() < 1e-9)
    );
    assert!(column(&r, "redeemed_eth").iter().all(|&x| x > 0.0));
}

#[test]
fn a_loss_triggers_a_decaying_run_pulse() {
    // A 1% loss on day 10.5 (≥ the 10 bp trigger) adds 5% × e^(−(t − 10.5)/3) a day to the
    // 0.1% calm rate, seen from day 11 on. Every step a share 1 − e^(−h) of the holders not
    // yet queued asks, so over the horizon 1 − e^(−Σ h) of the supply asks — whatever the
    // queue does.
    let model = pool(
        4,
        40,
        "[[shocks]]\nname = \"bug\"\nat_days = 10.5\nseverity = 0.01\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n\
         [withdrawals.demand.trigger]\nmin_loss_bps = 10\nshare_per_day = 0.05\ndecay_days = 3\n",
    );
    let r = simulate(&model);
    let pulse: f64 = (11..40)
        .map(|k| 0.05 * (-(f64::from(k) - 10.5) / 3.0).exp())
        .sum();
    let expected = -(-(40.0 * 0.001 + pulse)).exp_m1();
    for (&asked, &start) in column(&r, "requested_share")
        .iter()
        .zip(column(&r, "stress_start_days"))
    {
        assert!((asked - expected).abs() < 1e-12, "{asked} vs {expected}");
        assert_eq!(start, 11.0, "the worst stress starts with the pulse");
    }
    // Below the threshold nothing happens: 40 days of the calm rate.
    let small = pool(
        4,
        40,
        "[[shocks]]\nname = \"bug\"\nat_days = 10.5\nseverity = 0.0005\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n\
         [withdrawals.demand.trigger]\nmin_loss_bps = 10\nshare_per_day = 0.05\ndecay_days = 3\n",
    );
    let r = simulate(&small);
    let calm = -(-0.04f64).exp_m1();
    assert!(
        column(&r, "requested_share")
            .iter()
            .all(|&a| (a - calm).abs() < 1e-12)
    );
}

#[test]
fn a_pause_stops_the_front_door() {
    // A 10% slash of the book on day 5.5 (0.9% of the assets, the 1 M ETH buffer included)
    // pauses withdrawals for 10 days, to day 15.5. Liquidity is
    // plentiful and there is no cooldown, so requests are paid the day they are made —
    // except those made on days 6-15, all paid on day 16: the back of day 6's waits 10 days.
    let model = pool(
        4,
        40,
        "[[shocks]]\nname = \"bug\"\nat_days = 5.5\nseverity = 0.1\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n\
         [withdrawals.queue.pause]\nmin_loss_bps = 50\ndays = 10\n",
    );
    let r = simulate(&model);
    for (&peak, &t0) in column(&r, "peak_queue_days")
        .iter()
        .zip(column(&r, "redeem_days_t0"))
    {
        assert!((peak - 10.0).abs() < 1e-9, "{peak}");
        assert_eq!(t0, 0.0);
    }
    // A loss below the pause threshold (0.36%) pauses nothing.
    let small = pool(
        4,
        40,
        "[[shocks]]\nname = \"bug\"\nat_days = 5.5\nseverity = 0.04\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n\
         [withdrawals.queue.pause]\nmin_loss_bps = 50\ndays = 10\n",
    );
    let r = simulate(&small);
    assert!(column(&r, "peak_queue_days").iter().all(|&p| p == 0.0));
}
