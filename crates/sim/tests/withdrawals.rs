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
/// A protocol that processes its queue every minute: close to the continuous limit, so that
/// waits are the mechanisms' own (within a minute).
const MINUTE: f64 = 1.0 / 1440.0;

/// `[withdrawals.queue]` processing every minute.
fn every_minute() -> String {
    format!("[withdrawals.queue]\nprocessing_interval_days = {MINUTE}\n")
}

/// A negligible calm demand (and no reactions to the wait or the NAV).
const QUIET: &str = "[withdrawals.demand]\nbase_share_per_day = 1e-9\nwait_sensitivity_per_day = 0\nnav_loss_sensitivity_per_day = 0\n";

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
    let expected = queue_days + EXIT_DELAY_DAYS;

    // No buffer, no escrow, no sweep: the t = 0 holder's request is processed a minute later,
    // when the pool's exit joins the queue a minute's churn shorter; it is paid at the
    // processing time after its ETH arrives, within a minute of the queue plus the delays.
    let net = "[withdrawals.network]\nqueue_eth = 744000\nsweep_days = 0\n";
    let model = pool(
        64,
        40,
        &format!(
            "{QUIET}[withdrawals.escrow]\ndays = 0\n{net}{}",
            every_minute()
        ),
    );
    let r = simulate(&model);
    for &wait in column(&r, "redeem_days_t0") {
        assert!(
            wait >= expected - 1e-9 && wait <= expected + MINUTE + 1e-9,
            "{wait} vs {expected}"
        );
    }
    assert!(column(&r, "unredeemed_t0").iter().all(|&u| u == 0.0));

    // With the 14-day escrow the later of the two counts: 14.08 days is still the queue.
    let model = pool(64, 40, &format!("{QUIET}{net}{}", every_minute()));
    let r = simulate(&model);
    assert!(
        column(&r, "redeem_days_t0")
            .iter()
            .all(|&w| w >= expected - 1e-9 && w <= expected + MINUTE + 1e-9)
    );

    // Behind a short queue the escrow binds: 14 days from the exit's request, a minute in.
    let short = "[withdrawals.network]\nqueue_eth = 57600\nsweep_days = 0\n";
    let model = pool(16, 40, &format!("{QUIET}{short}{}", every_minute()));
    let r = simulate(&model);
    for &w in column(&r, "redeem_days_t0") {
        assert!((w - (14.0 + MINUTE)).abs() < 1e-9, "{w}");
    }

    // A protocol that processes once a day (the default) requests the exit on day 1, behind a
    // queue a day's churn shorter: the ETH arrives on day 14.08 and is paid at the next
    // processing, day 15 — as the 14-day escrow from day 1 would.
    for extra in [format!("{QUIET}{net}"), format!("{QUIET}{short}")] {
        let r = simulate(&pool(8, 40, &extra));
        assert!(
            column(&r, "redeem_days_t0")
                .iter()
                .all(|&w| (w - 15.0).abs() < 1e-9),
            "{:?}",
            column(&r, "redeem_days_t0")
        );
    }
}

#[test]
fn the_sweep_adds_a_uniform_wait() {
    // Behind the July 2025 queue, with the sweep. The pool's exit for the first day's requests
    // joins the queue at the first daily processing, day 1, behind 744,000 ETH + a day of
    // other stakers' exits (576,000 ETH a day, 10 days of churn, less the day's 57,600): its
    // validators arrive from F on, uniformly over the 8.7-day sweep cycle, and pay the day's
    // requests first in, first out at each daily processing. The pool's later exits join 9
    // days of churn further back, after this one's sweep ends, and cannot pay them early.
    // The t = 0 holder, first in line, is paid at the processing after the first validator
    // arrives, day ⌈F⌉; the stress holder (no stress: one drawn among the first day's
    // requests, at place u of them, asked at time ≈ u) when a share u of the sweep has
    // arrived: day ⌈F + 8.7 u⌉, a wait of ⌈F + 8.7 u⌉ − u.
    let paths = 20_000;
    let model = pool(
        paths,
        45,
        &format!(
            "{QUIET}[withdrawals.escrow]\ndays = 0\n\
             [withdrawals.network]\nqueue_eth = 744000\ninflow_eth_per_day = 576000\nsweep_days = 8.7\n"
        ),
    );
    let r = simulate(&model);
    let fixed = 1.0 + (744_000.0 + 576_000.0 - 57_600.0) / 57_600.0 + EXIT_DELAY_DAYS;
    assert!(
        column(&r, "redeem_days_t0")
            .iter()
            .all(|&w| w == fixed.ceil())
    );
    let waits = column(&r, "redeem_days_stress");
    for &w in waits {
        assert!(
            w >= fixed.ceil() - 1.0 - 1e-9 && w <= (fixed + 8.7).ceil(),
            "{w} vs {fixed}"
        );
    }
    // E⌈F + 8.7 U⌉ − E U: day n with the share of [F, F + 8.7] in (n − 1, n].
    let mut expected = -0.5;
    let mut n = fixed.ceil();
    while n - 1.0 < fixed + 8.7 {
        let share = (n.min(fixed + 8.7) - (n - 1.0).max(fixed)) / 8.7;
        expected += n * share;
        n += 1.0;
    }
    // The standard deviation is at most 8.7/√12 + 1 (the rounding, the asking time); 4
    // standard errors.
    let se = (8.7 / 12f64.sqrt() + 1.0) / (paths as f64).sqrt();
    let m = mean(waits);
    assert!((m - expected).abs() < 4.0 * se, "{m} vs {expected}");
    // The first day's share is the uniform's: paid on day ⌈F⌉ with probability (⌈F⌉ − F)/8.7.
    let first = waits.iter().filter(|&&w| w <= fixed.ceil() + 1e-9).count() as f64 / paths as f64;
    let p = (fixed.ceil() - fixed) / 8.7;
    let se_p = (p * (1.0 - p) / paths as f64).sqrt();
    assert!((first - p).abs() < 4.0 * se_p, "{first} vs {p}");
}

#[test]
fn the_september_2025_rush_takes_44_days() {
    // A 2.5 M ETH rush on day 0 (one large operator exiting everything). Every exit the pool
    // requests after it waits behind what is left of the rush: a request at t is exited a
    // minute later behind 2.5 M − 57,600 (t + 1 min) ETH, so its ETH arrives 2.5 M / 57,600 =
    // 43.4 days after day 0, 44.6 with the delays (MECHANICS.md §3: 44-46 days observed) —
    // whenever it asked. The longest wait is the first request's.
    let model = pool(
        8,
        60,
        &format!(
            "{QUIET}[withdrawals.network]\nsweep_days = 0\n\
             [[withdrawals.network.rushes]]\nname = \"sept-2025\"\nat_days = 0\nsize_eth = 2500000\n{}",
            every_minute()
        ),
    );
    let r = simulate(&model);
    let expected = 2_500_000.0 / 57_600.0 + EXIT_DELAY_DAYS;
    assert!((44.0..46.0).contains(&expected));
    for name in ["redeem_days_t0", "peak_queue_days"] {
        for &w in column(&r, name) {
            assert!(
                w >= expected - 1e-9 && w <= expected + MINUTE + 1e-9,
                "{name}: {w} vs {expected}"
            );
        }
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
    // day, with a buffer too large to run dry: instant exits take exactly the bucket and its
    // refill, 100 + 10 × 60 ETH over the 60 days, and pay the 1% fee on it.
    let model = pool(
        4,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 0.01\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\nbucket_capacity_eth = 100\nbucket_refill_eth_per_day = 10\ninstant_fee_bps = 100\n",
    );
    let r = simulate(&model);
    let instant = 100.0 + 10.0 * 60.0;
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
    // at the first processing time `cooldown_days` after it was made — within the minute the
    // protocol takes to process.
    let model = pool(
        4,
        60,
        &format!(
            "[withdrawals.demand]\nbase_share_per_day = 0.001\n\
             [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n{}cooldown_days = 7\n",
            every_minute()
        ),
    );
    let r = simulate(&model);
    for name in ["redeem_days_t0", "peak_queue_days"] {
        for &w in column(&r, name) {
            assert!((7.0..=7.0 + MINUTE + 1e-9).contains(&w), "{name}: {w}");
        }
    }
    // Requests made after day 53 − 1 min (eligible after the last processing, at 60 − 1 min)
    // are still waiting at the horizon: of a constant hazard λ on the holders who have not
    // asked yet, e^−λt, the share (e^−λ(53 − 1 min) − e^−60λ) / (1 − e^−60λ).
    let l = 0.001f64;
    let last = 53.0 - MINUTE;
    let unfilled = ((-l * last).exp() - (-l * 60.0).exp()) / -(-l * 60.0).exp_m1();
    for &u in column(&r, "unfilled_share") {
        assert!((u - unfilled).abs() < 1e-9, "{u} vs {unfilled}");
    }
}

#[test]
fn a_daily_cap_pays_the_queue_first_in_first_out() {
    // 10% of holders ask every day; the queue pays at most 10,000 ETH a day, at its daily
    // processing, from a buffer that never runs dry (1 M ETH on top of the 100,000 restaked,
    // so 1.1 M LRT at NAV 1). By time t the holders have asked R(t) = 1.1 M (1 − e^−0.1t);
    // FIFO, a holder who asks at t is paid on day ⌈R(t) / 10,000⌉. The t = 0 holder is first
    // in line: paid at the first processing, day 1.
    let paths = 4_000;
    let model = pool(
        paths,
        60,
        "[withdrawals.demand]\nbase_share_per_day = 0.1\nmax_share_per_day = 0.1\nwait_sensitivity_per_day = 0\n\
         [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n[withdrawals.queue]\ndaily_cap_eth = 10000\n",
    );
    let r = simulate(&model);
    assert!(column(&r, "redeem_days_t0").iter().all(|&w| w == 1.0));
    // With no stress, the stress holder is drawn among the first day's requests: at place
    // x = u R(1), asked at R⁻¹(x), paid on day ⌈x / 10,000⌉.
    let supply = 1_100_000.0;
    let r1 = supply * -(-0.1f64).exp_m1();
    let wait = |u: f64| {
        let x = u * r1;
        (x / 10_000.0).ceil().max(1.0) + (1.0 - x / supply).ln() / 0.1
    };
    let n = 100_000;
    let expected = (0..n)
        .map(|i| wait((i as f64 + 0.5) / n as f64))
        .sum::<f64>()
        / n as f64;
    let waits = column(&r, "redeem_days_stress");
    for &w in waits {
        assert!(w > 0.0 && w <= 11.0, "{w}");
    }
    let sd = 3.2; // > the standard deviation of the waits, within [0, 11]
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
    // A 10% slash of the whole book on day 5.5. Requests made before it wait in the escrow
    // (14 days, no buffer, empty exit queue) and are paid at the lower NAV: each loses 10%
    // of what it asked for. Requests made after the slash ask at the lower NAV and lose
    // nothing. Of a constant hazard λ, 100,000 (1 − e^−5.5λ) LRT asked before.
    let model = pool(
        2,
        40,
        "[[shocks]]\nname = \"avs-bug\"\nat_days = 5.5\nseverity = 0.1\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n\
         [withdrawals.network]\nsweep_days = 0\n",
    );
    let r = simulate(&model);
    let asked_before = 100_000.0 * -(-0.001f64 * 5.5).exp_m1();
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
    let incident = "[[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nat_days = 1\n";
    let sweep = "[withdrawals.network]\nsweep_days = 8.7\n";
    let model = pool(2, 60, &format!("{incident}{QUIET}{sweep}"));
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

    // At 42 days the ETH is withdrawable (from day 1 + 36.4) but still being swept: what
    // arrived by the last daily processing, day 41, is liquid — about half of it.
    let short = pool(2, 42, &format!("{incident}{QUIET}{sweep}"));
    let mut kernel = PathKernel::new(&short);
    kernel.run_path(&mut rng, &mut row);
    let book = kernel.book();
    let swept = (41.0 - (1.0 + 8192.0 / EPOCHS_PER_DAY)) / 8.7;
    assert!((0.3..0.6).contains(&swept));
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
            let (lhs, rhs) = b.front_door_balance_eth();
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
    // 0.1% calm rate from that moment. Holders who have not asked yet ask at that hazard, so
    // over the horizon 1 − e^(−∫h) of the supply asks — whatever the queue does — with
    // ∫h = 40 × 0.001 + 0.05 × 3 × (1 − e^(−29.5/3)).
    let model = pool(
        4,
        40,
        "[[shocks]]\nname = \"bug\"\nat_days = 10.5\nseverity = 0.01\n\
         [withdrawals.demand]\nbase_share_per_day = 0.001\nnav_loss_sensitivity_per_day = 0\nwait_sensitivity_per_day = 0\n\
         [withdrawals.demand.trigger]\nmin_loss_bps = 10\nshare_per_day = 0.05\ndecay_days = 3\n",
    );
    let r = simulate(&model);
    let pulse = 0.05 * 3.0 * -(-29.5f64 / 3.0).exp_m1();
    let expected = -(-(40.0 * 0.001 + pulse)).exp_m1();
    for (&asked, &start) in column(&r, "requested_share")
        .iter()
        .zip(column(&r, "stress_start_days"))
    {
        assert!((asked - expected).abs() < 1e-10, "{asked} vs {expected}");
        assert_eq!(start, 10.5, "the worst stress starts with the pulse");
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
            .all(|&a| (a - calm).abs() < 1e-10)
    );
}

#[test]
fn a_pause_stops_the_front_door() {
    // A 10% slash of the book on day 5.5 (0.9% of the assets, the 1 M ETH buffer included)
    // pauses withdrawals for 10 days, to day 15.5. Liquidity is plentiful and there is no
    // cooldown, so requests are paid at the next processing, a minute later — except those
    // made during the pause, all paid when it ends: the first of them waits 10 days.
    let pause = "[withdrawals.queue.pause]\nmin_loss_bps = 50\ndays = 10\n";
    let model = pool(
        4,
        40,
        &format!(
            "[[shocks]]\nname = \"bug\"\nat_days = 5.5\nseverity = 0.1\n\
             [withdrawals.demand]\nbase_share_per_day = 0.001\n\
             [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n{}{pause}",
            every_minute()
        ),
    );
    let r = simulate(&model);
    for (&peak, &t0) in column(&r, "peak_queue_days")
        .iter()
        .zip(column(&r, "redeem_days_t0"))
    {
        assert!((10.0..=10.0 + MINUTE + 1e-9).contains(&peak), "{peak}");
        assert!((t0 - MINUTE).abs() < 1e-9, "{t0}");
    }
    // A loss below the pause threshold (0.36%) pauses nothing: nobody waits more than the
    // minute.
    let small = pool(
        4,
        40,
        &format!(
            "[[shocks]]\nname = \"bug\"\nat_days = 5.5\nseverity = 0.04\n\
             [withdrawals.demand]\nbase_share_per_day = 0.001\n\
             [withdrawals.buffer]\ninitial_eth = 1000000\ninstant_share = 0\n{}{pause}",
            every_minute()
        ),
    );
    let r = simulate(&small);
    assert!(
        column(&r, "peak_queue_days")
            .iter()
            .all(|&p| p <= MINUTE + 1e-9)
    );
}
