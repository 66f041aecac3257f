//! Loading errors: each names the file, the field path, and a line and column where the
//! field is in the file.

use std::path::Path;

use lrtsim_scenario::market::{DEFAULT_AMPLIFICATION, DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP};
use lrtsim_scenario::spec::{ExploitKind, LenderVersion, LossKind, OracleKind, PoolKind};
use lrtsim_scenario::withdrawal::DEFAULT_MAX_DEMAND_PER_SUBSTEP;
use lrtsim_scenario::{ScenarioError, Severity, load_str};

const GOOD: &str = r#"
[simulation]
paths = 100
horizon_days = 30
seed = 1

[pool]
collateral_eth = 100

[[operators]]
name = "a"
share = 0.5
attributes = { client = "prysm" }
allocations = { eigenda = 0.5 }

[[operators]]
name = "b"
share = 0.5
attributes = { client = "lighthouse" }
allocations = { eigenda = 0.2, oracle = 0.3 }

[[avs]]
name = "eigenda"
reward_apr = 0.01

[[avs]]
name = "oracle"

[[shocks]]
name = "bug"
rate_per_year = 0.1
select = { attributes = { client = "prysm" } }
severity = 0.1
"#;

fn err(text: &str, sets: &[&str]) -> String {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match load_str(text, Path::new("s.toml"), &sets) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn good_scenario_loads() {
    let m = load_str(GOOD, Path::new("dir/good.toml"), &[]).unwrap();
    assert_eq!(m.name, "good");
    assert_eq!(m.pairs.len(), 3);
    assert_eq!(m.n_steps, 30);
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = err("[simulation]\npaths = = 3\n", &[]);
    assert!(e.starts_with("s.toml:2:"), "{e}");
    assert!(e.contains("syntax"), "{e}");
}

#[test]
fn unknown_field_suggests_and_locates() {
    let text = GOOD.replace("name = \"b\"\nshare = 0.5", "name = \"b\"\nsharee = 0.5");
    let e = err(&text, &[]);
    assert!(e.contains("operators[1].sharee"), "{e}");
    assert!(e.contains("did you mean `share`?"), "{e}");
    assert!(e.starts_with("s.toml:18:1:"), "{e}");
}

#[test]
fn probability_out_of_range_names_field() {
    let text = GOOD.replace("severity = 0.1", "severity = 0.1\nhit_probability = 1.5");
    let e = err(&text, &[]);
    assert!(
        e.contains("shocks[0].hit_probability: must be in [0, 1], got 1.5"),
        "{e}"
    );
}

#[test]
fn bad_reference_suggests() {
    let text = GOOD.replace(
        "allocations = { eigenda = 0.2",
        "allocations = { eigend = 0.2",
    );
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "operators[1].allocations.eigend: no AVS named `eigend`; did you mean `eigenda`?"
        ),
        "{e}"
    );
}

#[test]
fn selector_value_must_exist() {
    let text = GOOD.replace("client = \"prysm\" } }", "client = \"prysmm\" } }");
    let e = err(&text, &[]);
    assert!(e.contains("shocks[0].select.attributes.client"), "{e}");
    assert!(e.contains("did you mean `prysm`?"), "{e}");
}

#[test]
fn magnitudes_and_shares_are_checked() {
    let text = GOOD.replace("eigenda = 0.2, oracle = 0.3", "eigenda = 0.8, oracle = 0.3");
    assert!(err(&text, &[]).contains("operators[1].allocations: magnitudes sum to 1.1"));
    let text = GOOD.replace(
        "share = 0.5\nattributes = { client = \"lighthouse\" }",
        "share = 0.4\nattributes = { client = \"lighthouse\" }",
    );
    assert!(err(&text, &[]).contains("operator stakes sum to 90 ETH"));
}

#[test]
fn set_overrides_by_name_and_reports_origin() {
    let m = load_str(
        GOOD,
        Path::new("s.toml"),
        &[
            "avs.eigenda.reward_apr=0.02".into(),
            "simulation.paths=7".into(),
        ],
    )
    .unwrap();
    assert_eq!(m.scenario.avs[0].reward_apr, 0.02);
    assert_eq!(m.paths, 7);
    let e = err(GOOD, &["shocks.bug.rate_per_year=-1"]);
    assert!(e.contains("shocks[0].rate_per_year: must be a finite number ≥ 0, got -1 (value from --set shocks.bug.rate_per_year=-1)"), "{e}");
    let e = err(GOOD, &["avs.eigendaa.reward_apr=0.1"]);
    assert!(
        e.contains("no entry named `eigendaa`") && e.contains("did you mean `eigenda`?"),
        "{e}"
    );
    let e = err(GOOD, &["simulation.pathz=3"]);
    assert!(
        e.contains("simulation.pathz") && e.contains("did you mean `paths`?"),
        "{e}"
    );
    let e = err(GOOD, &["simulation.paths=many"]);
    assert!(
        e.contains("simulation.paths") && e.contains("invalid type"),
        "{e}"
    );
    let e = err(GOOD, &["novalue"]);
    assert!(e.contains("--set novalue: expected KEY=VALUE"), "{e}");
}

#[test]
fn wrong_type_is_located() {
    let text = GOOD.replace("horizon_days = 30", "horizon_days = \"thirty\"");
    let e = err(&text, &[]);
    assert!(e.contains("simulation.horizon_days"), "{e}");
    assert!(e.starts_with("s.toml:4:1:"), "{e}");
}

#[test]
fn copula_checks() {
    let text = format!(
        "{GOOD}\n[[copulas]]\nname = \"c\"\nfamily = \"student_t\"\nfault_prob_per_day = 0.01\nglobal_correlation = 0.7\ngroup_correlation = 0.4\nseverity = 1\n"
    );
    let e = err(&text, &[]);
    assert!(e.contains("copulas[0].dof: is required"), "{e}");
    assert!(
        e.contains(
            "copulas[0].group_correlation: global_correlation + group_correlation must be ≤ 1"
        ),
        "{e}"
    );
    assert!(
        e.contains("copulas[0].group_by: is required when group_correlation > 0"),
        "{e}"
    );
    let big = text.replace(
        "family = \"student_t\"",
        "family = \"student_t\"\ndof = 1e6",
    );
    assert!(err(&big, &[]).contains("copulas[0].dof: must be in [1, 1000], got 1000000"));
    let text = text.replace("family = \"student_t\"", "family = \"gausian\"");
    let e = err(&text, &[]);
    assert!(e.contains("did you mean `gaussian`?"), "{e}");
}

#[test]
fn the_removed_fault_prob_per_step_says_what_to_write() {
    let copula = "\n[[copulas]]\nname = \"c\"\nfault_prob_per_step = 0.01\nseverity = 1\n";
    let text = format!("{GOOD}{copula}");
    let line = text
        .lines()
        .position(|l| l.starts_with("fault_prob_per_step"))
        .unwrap()
        + 1;
    let e = err(&text, &[]);
    assert_eq!(
        e,
        format!(
            "s.toml:{line}:1: copulas[0].fault_prob_per_step: `fault_prob_per_step` is gone: the copula's factor is now drawn once per `factor_period_days` (default 1 day); write `fault_prob_per_day` (the same number for a daily scenario) or `fault_prob_per_year`"
        )
    );
    // With steps other than a day, the message gives the settings that keep the old law:
    // 0.01 per 2-day step is 1 − 0.99^(1/2) per day over a 2-day period.
    let e = err(&text, &["simulation.step_days=2"]);
    let per_day = -((-0.01f64).ln_1p() / 2.0).exp_m1();
    assert!(
        e.contains(&format!("this scenario's steps are 2 days long, so the law it had is `factor_period_days = 2` with `fault_prob_per_day = {per_day}`")),
        "{e}"
    );
    // Set on the command line, it names the override.
    let good =
        format!("{GOOD}\n[[copulas]]\nname = \"c\"\nfault_prob_per_day = 0.01\nseverity = 1\n");
    let e = err(&good, &["copulas.c.fault_prob_per_step=0.01"]);
    assert!(
        e.starts_with("s.toml: copulas[0].fault_prob_per_step: `fault_prob_per_step` is gone")
            && e.ends_with("(value from --set copulas.c.fault_prob_per_step=0.01)"),
        "{e}"
    );
}

#[test]
fn factor_periods_are_checked_and_compiled() {
    let copula = |fields: &str| {
        format!(
            "{GOOD}\n[[copulas]]\nname = \"c\"\n{fields}\nglobal_correlation = 0.1\nseverity = 1\n"
        )
    };
    for (fields, want) in [
        (
            "fault_prob_per_day = 0.01\nfactor_period_days = 0",
            "copulas[0].factor_period_days: must be a duration in [1e-6, 36500] days (0.0864 s to 100 years), got 0",
        ),
        (
            "fault_prob_per_day = 0.01\nfactor_period_days = 31",
            "copulas[0].factor_period_days: must be ≤ horizon_days (30), got 31",
        ),
        (
            "fault_prob_per_day = 0.01\nfactor_period_days = 1e-9",
            "copulas[0].factor_period_days: gives 30000000000 factor periods; at most 10000000 are allowed",
        ),
        (
            "fault_prob_per_day = 1.5",
            "copulas[0].fault_prob_per_day: must be in [0, 1], got 1.5",
        ),
        (
            "fault_prob_per_day = 0.01\nfault_prob_per_year = 0.1",
            "copulas[0].fault_prob_per_year: give either fault_prob_per_day or fault_prob_per_year, not both",
        ),
        (
            "factor_period_days = 2",
            "copulas[0]: needs `fault_prob_per_day` or `fault_prob_per_year`",
        ),
    ] {
        let e = err(&copula(fields), &[]);
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // The default period is one day: p per day is the period's probability, exactly.
    let m = load_str(
        &copula("fault_prob_per_day = 0.01"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let c = &m.copulas[0];
    assert_eq!((c.periods.n_periods, c.periods.period_days), (30, 1.0));
    assert_eq!((c.p_period, c.p_last_period), (0.01, 0.01));
    // 30 days in periods of 7: four of 7 days and a last one of 2, with 1 − (1 − p)^7 and
    // 1 − (1 − p)^2 = 1 − (1 − p_period)^(2/7).
    let m = load_str(
        &copula("fault_prob_per_day = 0.01\nfactor_period_days = 7"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let c = &m.copulas[0];
    assert_eq!((c.periods.n_periods, c.periods.last_days), (5, 2.0));
    assert!(c.periods.last_is_partial());
    assert!((c.p_period - (1.0 - 0.99f64.powi(7))).abs() < 1e-16);
    assert!((c.p_last_period - (1.0 - 0.99f64.powi(2))).abs() < 1e-16);
    assert!((c.p_last_period - (1.0 - (1.0 - c.p_period).powf(2.0 / 7.0))).abs() < 1e-15);
    assert_eq!(c.periods.end_days(0), 7.0);
    assert_eq!(c.periods.end_days(4), 30.0);
    // A yearly probability converts with the period, not the step: 1 − (1 − q)^(7/365).
    let m = load_str(
        &copula("fault_prob_per_year = 0.2\nfactor_period_days = 7"),
        Path::new("s.toml"),
        &["simulation.step_days=0.5".into()],
    )
    .unwrap();
    let c = &m.copulas[0];
    assert!((c.p_period - (1.0 - 0.8f64.powf(7.0 / 365.0))).abs() < 1e-16);
    assert!((c.p_last_period - (1.0 - 0.8f64.powf(2.0 / 365.0))).abs() < 1e-16);
    // A period dividing the horizon up to rounding (30 / (30/7) = 7) has no short last one.
    let m = load_str(
        &copula(&format!(
            "fault_prob_per_day = 0.01\nfactor_period_days = {:?}",
            30.0 / 7.0
        )),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let c = &m.copulas[0];
    assert_eq!(c.periods.n_periods, 7);
    assert!(!c.periods.last_is_partial());
    assert_eq!(c.p_last_period, c.p_period);
    // Importance sampling counts a copula's factor draws: its periods.
    let m = load_str(
        &format!(
            "{}\n[importance]\nfactor_shifts = {{ c = 1 }}\n",
            copula("fault_prob_per_day = 0.01\nfactor_period_days = 7")
        ),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(m.importance.unwrap().mean_events.copulas, vec![5.0]);
}

#[test]
fn severity_checks() {
    let text = GOOD.replace(
        "severity = 0.1",
        "severity = { dist = \"beta\", mean = 0.5, sd = 0.6 }",
    );
    assert!(err(&text, &[]).contains("shocks[0].severity.sd: must be in [5.000e-10, 0.5"));
    let text = GOOD.replace(
        "severity = 0.1",
        "severity = { dist = \"betta\", mean = 0.5, sd = 0.1 }",
    );
    assert!(err(&text, &[]).contains("did you mean `beta`?"));
    let text = GOOD.replace(
        "severity = 0.1",
        "severity = { dist = \"uniform\", min = 0.1, maxx = 0.2 }",
    );
    assert!(err(&text, &[]).contains("unknown field `maxx`"));
}

#[test]
fn step_must_divide_horizon() {
    let e = err(GOOD, &["simulation.step_days=7"]);
    assert!(
        e.contains("simulation.step_days: must divide horizon_days"),
        "{e}"
    );
    let m = load_str(
        GOOD,
        Path::new("s.toml"),
        &["simulation.step_days=30".into()],
    )
    .unwrap();
    assert_eq!(m.n_steps, 1);
    let m = load_str(
        GOOD,
        Path::new("s.toml"),
        &["simulation.step_days=0.041666666666666664".into()],
    )
    .unwrap();
    assert_eq!(m.n_steps, 720);
}

#[test]
fn io_error_names_file() {
    let e = lrtsim_scenario::load_file(Path::new("/nonexistent/x.toml"), &[]).unwrap_err();
    assert!(matches!(e, ScenarioError::Io { .. }));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.toml: cannot read")
    );
}

#[test]
fn hits_per_event_is_checked() {
    let text = GOOD.replace("severity = 0.1", "severity = 0.1\nhits_per_event = 2");
    // The prysm selector holds one operator.
    assert!(err(&text, &[]).contains("shocks[0].hits_per_event: must be between 1 and the number of hit units selected (1), got 2"));
    let text = GOOD.replace(
        "severity = 0.1",
        "severity = 0.1\nhits_per_event = 1\nhit_probability = 0.5",
    );
    assert!(err(&text, &[]).contains("give either hit_probability or hits_per_event"));
    let text = GOOD.replace("severity = 0.1", "severity = 0.1\nhits_per_event = 1");
    assert_eq!(
        load_str(&text, Path::new("s.toml"), &[]).unwrap().shocks[0]
            .hits
            .hits_per_event,
        Some(1)
    );
}

#[test]
fn default_name_is_a_valid_name_from_the_file_stem() {
    let m = load_str(GOOD, Path::new("dir/stress.v2 copy.toml"), &[]).unwrap();
    assert_eq!(m.name, "stress-v2-copy");
}

#[test]
fn beacon_checks() {
    let incident = "\n[[beacon_incidents]]\nname = \"leak\"\nkind = \"inactivity_leak\"\nrate_per_year = 1\nselect = { avs = [\"oracle\"] }\nnetwork_slashed_share = 0.1\n";
    let e = err(&format!("{GOOD}{incident}"), &[]);
    assert!(
        e.contains("beacon_incidents[0].duration_days: is required"),
        "{e}"
    );
    assert!(
        e.contains(
            "beacon_incidents[0].network_slashed_share: applies only to kind = \"double_sign\""
        ),
        "{e}"
    );
    assert!(
        e.contains("beacon_incidents[0].select.avs: beacon incidents hit operators"),
        "{e}"
    );
    let e = err(
        &format!("{GOOD}\n[beacon]\nfork = \"bellatrix\"\nvalidator_balance_eth = 2048\n"),
        &[],
    );
    assert!(
        e.contains("beacon.fork: bellatrix validators have at most 32 ETH"),
        "{e}"
    );
    let e = err(
        &format!("{GOOD}\n[beacon]\nvalidator_balance_eth = 33.5\n"),
        &[],
    );
    assert!(
        e.contains(
            "beacon.validator_balance_eth: must be a whole number of ETH in [32, 2048], got 33.5"
        ),
        "{e}"
    );
    let e = err(GOOD, &["beacon.fork=capella"]);
    assert!(e.contains("unknown variant `capella`"), "{e}");
    let ok = format!(
        "{GOOD}\n[[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nrate_per_year = 1\nselect = {{ attributes = {{ client = \"prysm\" }} }}\nnetwork_slashed_share = 0.1\n"
    );
    let m = load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.incidents.len(), 1);
    assert_eq!(m.sources, ["bug", "ds", "avs_faults"]);
}

/// Every field of `[withdrawals]`, each set away from its default.
const WITHDRAWALS: &str = r#"
[withdrawals.demand]
base_share_per_day = 0.001
nav_loss_sensitivity_per_day = 3
wait_sensitivity_per_day = 0.002
wait_free_days = 5
max_share_per_day = 0.4

[withdrawals.demand.trigger]
min_loss_bps = 20
share_per_day = 0.05
decay_days = 4

[withdrawals.buffer]
initial_eth = 5
target_eth = 4
bucket_capacity_eth = 3
bucket_refill_eth_per_day = 1
instant_fee_bps = 100
instant_share = 0.8

[withdrawals.queue]
cooldown_days = 8
daily_cap_eth = 10

[withdrawals.queue.pause]
min_loss_bps = 50
days = 7

[withdrawals.escrow]
days = 14

[withdrawals.network]
queue_eth = 744_000
inflow_eth_per_day = 20_000
sweep_days = 8.7

[withdrawals.network.churn]
quotient = 65536
min_per_epoch_eth = 128
max_per_epoch_eth = 256

[[withdrawals.network.rushes]]
name = "sept"
at_days = 10
size_eth = 2_500_000
triggers_run = true

[[withdrawals.network.rushes]]
name = "random"
rate_per_year = 0.5
size_eth = { dist = "uniform", min = 100_000, max = 1_000_000 }
"#;

#[test]
fn full_withdrawals_section_loads_and_compiles() {
    let text = format!("{GOOD}{WITHDRAWALS}");
    let m = load_str(&text, Path::new("s.toml"), &[]).unwrap();
    let w = m.withdrawals.as_ref().expect("compiled withdrawals");
    assert_eq!(w.base_share_per_day, 0.001);
    assert_eq!(w.max_share_per_day, 0.4);
    let t = w.trigger.expect("trigger");
    assert_eq!(
        (t.min_loss_fraction, t.share_per_day, t.decay_days),
        (0.002, 0.05, 4.0)
    );
    assert!(w.instant);
    assert_eq!(w.buffer_initial_eth, 5.0);
    assert_eq!(w.buffer_target_eth, 4.0);
    assert_eq!(w.bucket_capacity_eth, 3.0);
    assert_eq!(w.instant_fee, 0.01);
    assert_eq!(w.cooldown_days, 8.0);
    assert_eq!(w.daily_cap_eth, 10.0);
    assert_eq!(w.pause, Some((0.005, 7.0)));
    assert_eq!(w.escrow_days, 14.0);
    // 256 ETH an epoch at the default T = 34.2 M ETH, 225 epochs a day.
    assert_eq!(w.churn_eth_per_day, 57_600.0);
    assert_eq!(w.exit_delay_days, 261.0 / 225.0);
    assert_eq!(w.network_queue_eth, 744_000.0);
    assert_eq!(w.rushes.len(), 2);
    assert_eq!(w.rushes[0].at_days, Some(10.0));
    assert!(w.rushes[0].events.is_none() && w.rushes[0].triggers_run);
    assert!(w.rushes[1].events.is_some() && w.rushes[1].at_days.is_none());

    // Without [withdrawals] nobody redeems; an empty one takes every default.
    assert!(
        load_str(GOOD, Path::new("s.toml"), &[])
            .unwrap()
            .withdrawals
            .is_none()
    );
    let m = load_str(
        &format!("{GOOD}\n[withdrawals]\n"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let w = m.withdrawals.unwrap();
    assert!(!w.instant && w.pause.is_none() && w.trigger.is_none());
    assert_eq!(
        (w.escrow_days, w.sweep_days, w.base_share_per_day),
        (14.0, 8.7, 0.0005)
    );
    assert_eq!(w.daily_cap_eth, f64::INFINITY);
}

#[test]
fn scheduled_events_are_checked() {
    // Both a rate and a day.
    let text = GOOD.replace("severity = 0.1", "severity = 0.1\nat_days = 5");
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:34:1: shocks[0].at_days: give rate_per_year or at_days, not both"),
        "{e}"
    );
    // Beyond the 30-day horizon; rate_per_year defaults to 0.
    let text = GOOD.replace("rate_per_year = 0.1\n", "at_days = 30\n");
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "s.toml:31:1: shocks[0].at_days: must be in [0, horizon_days) = [0, 30), got 30"
        ),
        "{e}"
    );
    let m = load_str(
        &text,
        Path::new("s.toml"),
        &["shocks.bug.at_days=29.5".into()],
    )
    .unwrap();
    assert_eq!(m.shocks[0].at_days, Some(29.5));
    assert!(m.shocks[0].events.is_none());
    let incident = "\n[[beacon_incidents]]\nname = \"ds\"\nkind = \"double_sign\"\nat_days = -1\n";
    let e = err(&format!("{GOOD}{incident}"), &[]);
    assert!(
        e.contains("beacon_incidents[0].at_days: must be in [0, horizon_days) = [0, 30), got -1"),
        "{e}"
    );
}

#[test]
fn withdrawals_errors_name_the_field() {
    let full = format!("{GOOD}{WITHDRAWALS}");
    // An unknown key inside [withdrawals.buffer], located at the key.
    let text = full.replace("instant_share = 0.8", "instant_shar = 0.8");
    let e = err(&text, &[]);
    assert!(e.contains("withdrawals.buffer.instant_shar"), "{e}");
    assert!(e.contains("did you mean `instant_share`?"), "{e}");
    assert!(e.starts_with("s.toml:53:1:"), "{e}");
    // A negative buffer.
    let text = full.replace("initial_eth = 5", "initial_eth = -5");
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "s.toml:48:1: withdrawals.buffer.initial_eth: must be an amount in [0, 1e9] ETH (all ETH in existence is about 1.2e8), got -5"
        ),
        "{e}"
    );
    // A rush with both a rate and a day, beyond the horizon.
    let e = err(
        &full,
        &[
            "withdrawals.network.rushes.sept.rate_per_year=1",
            "withdrawals.network.rushes.sept.at_days=45",
        ],
    );
    assert!(
        e.contains(
            "withdrawals.network.rushes[0].at_days: give rate_per_year or at_days, not both"
        ),
        "{e}"
    );
    assert!(e.contains("withdrawals.network.rushes[0].at_days: must be in [0, horizon_days) = [0, 30), got 45 (value from --set withdrawals.network.rushes.sept.at_days=45)"), "{e}");
    // Sizes are ETH amounts: no beta, bounded by MAX_RUSH_ETH.
    let text = full.replace(
        "size_eth = { dist = \"uniform\", min = 100_000, max = 1_000_000 }",
        "size_eth = { dist = \"beta\", mean = 0.5, sd = 0.1 }",
    );
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "withdrawals.network.rushes[1].size_eth.dist: the beta form is only for fractions"
        ),
        "{e}"
    );
    let e = err(
        &full,
        &["withdrawals.network.rushes.random.size_eth.max=2e9"],
    );
    assert!(
        e.contains(
            "withdrawals.network.rushes[1].size_eth.max: must be in [0, 1000000000], got 2000000000"
        ),
        "{e}"
    );
    // Duplicate rush names.
    let text = full.replace("name = \"random\"", "name = \"sept\"");
    let e = err(&text, &[]);
    assert!(
        e.contains("withdrawals.network.rushes[1].name: duplicate rush name `sept`"),
        "{e}"
    );
    // Churn cap below the floor.
    let text = full.replace("max_per_epoch_eth = 256", "max_per_epoch_eth = 64");
    let e = err(&text, &[]);
    assert!(
        e.contains("withdrawals.network.churn.max_per_epoch_eth: must be 0 (no cap) or ≥ min_per_epoch_eth (128), got 64"),
        "{e}"
    );
    // Demand, trigger, queue, pause and churn ranges, all reported together.
    let e = err(
        &full,
        &[
            "withdrawals.demand.base_share_per_day=0",
            "withdrawals.demand.trigger.decay_days=0",
            "withdrawals.buffer.instant_fee_bps=20000",
            "withdrawals.queue.daily_cap_eth=0",
            "withdrawals.queue.pause.min_loss_bps=0",
            "withdrawals.network.churn.quotient=0",
            "withdrawals.network.sweep_days=nan",
        ],
    );
    for want in [
        "withdrawals.demand.base_share_per_day: must be in (0, 1], got 0; use a tiny value such as 1e-9",
        "withdrawals.demand.trigger.decay_days: must be a duration in [1e-6, 36500] days (0.0864 s to 100 years), got 0",
        "withdrawals.buffer.instant_fee_bps: must be in [0, 10000], got 20000",
        "withdrawals.queue.daily_cap_eth: must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got 0",
        "withdrawals.queue.pause.min_loss_bps: must be in (0, 10000], got 0",
        "withdrawals.network.churn.quotient: must be an integer ≥ 1, got 0",
        "withdrawals.network.sweep_days: must be a duration in [0, 36500] days (100 years), got NaN",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let e = err(&full, &["withdrawals.demand.max_share_per_day=0.0005"]);
    assert!(
        e.contains(
            "withdrawals.demand.max_share_per_day: must be ≥ base_share_per_day (0.001), got 0.0005"
        ),
        "{e}"
    );
    // A rush that triggers a run needs a trigger to take the pulse from.
    let text = format!(
        "{GOOD}\n[[withdrawals.network.rushes]]\nname = \"r\"\nat_days = 1\nsize_eth = 1e6\ntriggers_run = true\n"
    );
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "withdrawals.network.rushes[0].triggers_run: needs [withdrawals.demand.trigger]"
        ),
        "{e}"
    );
}

#[test]
fn set_reaches_withdrawal_fields() {
    let full = format!("{GOOD}{WITHDRAWALS}");
    let m = load_str(
        &full,
        Path::new("s.toml"),
        &[
            "withdrawals.network.rushes.sept.size_eth=1_000_000".into(),
            "withdrawals.network.rushes.1.triggers_run=true".into(),
            "withdrawals.buffer.initial_eth=7".into(),
            "withdrawals.network.churn.max_per_epoch_eth=0".into(),
        ],
    )
    .unwrap();
    let r = &m.scenario.withdrawals.as_ref().unwrap().network.rushes;
    assert_eq!(
        r[0].size_eth,
        lrtsim_scenario::Severity::Fixed { value: 1e6 }
    );
    assert!(r[1].triggers_run);
    let w = m.withdrawals.unwrap();
    assert_eq!(w.buffer_initial_eth, 7.0);
    // Uncapped: T // 65536 = 521 ETH an epoch.
    assert_eq!(w.churn_eth_per_day, 521.0 * 225.0);
    let e = err(&full, &["withdrawals.network.rushes.setp.size_eth=1"]);
    assert!(
        e.contains("no entry named `setp`") && e.contains("did you mean `sept`?"),
        "{e}"
    );

    // Tables that are absent are created: [withdrawals.queue] here, all of [withdrawals] below.
    let text = format!("{GOOD}\n[withdrawals.escrow]\ndays = 7\n");
    let m = load_str(
        &text,
        Path::new("s.toml"),
        &["withdrawals.queue.cooldown_days=7".into()],
    )
    .unwrap();
    assert_eq!(m.withdrawals.unwrap().cooldown_days, 7.0);
    let m = load_str(
        GOOD,
        Path::new("s.toml"),
        &[
            "withdrawals.queue.cooldown_days=7".into(),
            "withdrawals.buffer.initial_eth=5000".into(),
        ],
    )
    .unwrap();
    let w = m.withdrawals.unwrap();
    assert_eq!(
        (w.cooldown_days, w.buffer_initial_eth, w.buffer_target_eth),
        (7.0, 5000.0, 5000.0)
    );
    assert!(w.instant);
    let e = err(GOOD, &["withdrawals.buffer.target_eth=5"]);
    assert!(
        e.contains("withdrawals.buffer") && e.contains("missing field `initial_eth`"),
        "{e}"
    );
}

#[test]
fn hourly_steps_divide_whole_day_horizons() {
    for (horizon, steps) in [(1, 24), (2, 48), (3, 72), (30, 720), (365, 8760)] {
        let m = load_str(
            GOOD,
            Path::new("s.toml"),
            &[
                format!("simulation.horizon_days={horizon}"),
                "simulation.step_days=0.041666666666666664".into(),
            ],
        )
        .unwrap();
        assert_eq!(m.n_steps, steps, "horizon {horizon}");
    }
}

/// Every subtable of `[market]` but `sellers` (which needs `[withdrawals]`), each field set
/// away from its default; valid after GOOD alone (arbitrage has `closed_wait_days`).
const MARKET: &str = r#"
[market.pool]
kind = "stableswap"
amplification = 200
depth_eth = 50
lrt_share = 0.6
fee_bps = 30
rate_oracle = false

[market.liquidity]
flight_per_day = 2
floor_share = 0.2
return_half_life_days = 5
calm_discount_bps = 20

[[market.shocks]]
name = "depeg"
at_days = 10
sell_share = 0.1
sell_days = 2

[[market.shocks]]
name = "random"
rate_per_year = 1
sell_share = { dist = "uniform", min = 0.01, max = 0.05 }

[market.confidence]
sell_per_loss = 3
sell_days = 2
min_loss_bps = 5

[market.recovery]
half_life_days = 3

[market.arbitrage]
capital_eth = 20
required_return_per_year = 0.2
premium_bps = 50
closed_wait_days = 30

[market.report]
position_eth = 10
thresholds_bps = [50, 200, 1000]
"#;

/// `[market.sellers]`, appended after MARKET.
const SELLERS: &str = "\n[market.sellers]\nshare_of_demand = 0.5\nwait_cost_per_year = 2\n";

/// GOOD, WITHDRAWALS (with a discount sensitivity), then every subtable of `[market]`.
fn full_market_with_withdrawals() -> String {
    format!("{GOOD}{WITHDRAWALS}{MARKET}{SELLERS}")
        .replace(
            "max_share_per_day = 0.4",
            "max_share_per_day = 0.4\ndiscount_sensitivity_per_day = 0.5",
        )
        .replace("closed_wait_days = 30\n", "")
}

#[test]
fn full_market_section_loads_and_compiles() {
    let m = load_str(&format!("{GOOD}{MARKET}"), Path::new("s.toml"), &[]).unwrap();
    let k = m.market.as_ref().expect("compiled market");
    assert_eq!(k.kind, PoolKind::Stableswap);
    assert_eq!(
        (k.amplification, k.depth_eth, k.lrt_share, k.fee),
        (200.0, 50.0, 0.6, 0.003)
    );
    assert!(!k.rate_oracle);
    let l = k.liquidity.expect("liquidity");
    assert_eq!(
        (
            l.flight_per_day,
            l.floor_share,
            l.return_half_life_days,
            l.calm_discount
        ),
        (2.0, 0.2, 5.0, 0.002)
    );
    assert_eq!(k.shocks.len(), 2);
    let (d, r) = (&k.shocks[0], &k.shocks[1]);
    assert_eq!(
        (d.name.as_str(), d.at_days, d.sell_days),
        ("depeg", Some(10.0), 2.0)
    );
    assert!(d.events.is_none());
    assert_eq!(
        (r.name.as_str(), r.at_days, r.sell_days),
        ("random", None, 0.0)
    );
    assert!(r.events.is_some());
    let c = k.confidence.expect("confidence");
    assert_eq!(
        (c.sell_per_loss, c.sell_days, c.min_loss_fraction),
        (3.0, 2.0, 0.0005)
    );
    assert_eq!(k.recovery_half_life_days, Some(3.0));
    let a = k.arbitrage.expect("arbitrage");
    assert_eq!(
        (
            a.capital_eth,
            a.required_return_per_year,
            a.premium,
            a.closed_wait_days
        ),
        (20.0, 0.2, 0.005, 30.0)
    );
    // (1 − exit fee) / (1 + r · wait / 365 + premium).
    assert_eq!(
        a.threshold(73.0, 0.01),
        0.99 / (1.0 + 0.2 * 73.0 / 365.0 + 0.005)
    );
    assert!(k.sellers.is_none());
    assert_eq!(k.position_eth, 10.0);
    assert_eq!(k.thresholds, [(0.005, 50), (0.02, 200), (0.1, 1000)]);

    // With [withdrawals]: sellers, a discount-sensitive demand, no closed_wait_days.
    let m = load_str(&full_market_with_withdrawals(), Path::new("s.toml"), &[]).unwrap();
    let k = m.market.as_ref().expect("compiled market");
    let x = k.sellers.expect("sellers");
    assert_eq!((x.share_of_demand, x.wait_cost_per_year), (0.5, 2.0));
    assert_eq!(x.max_discount(14.0), 2.0 * 14.0 / 365.0);
    assert_eq!(k.arbitrage.expect("arbitrage").closed_wait_days, 0.0);
    assert_eq!(
        m.withdrawals.as_ref().unwrap().discount_sensitivity_per_day,
        0.5
    );
}

#[test]
fn market_defaults_are_resolved() {
    // Without [market] there is no secondary market, and demand ignores discounts.
    let m = load_str(
        &format!("{GOOD}\n[withdrawals]\n"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    assert!(m.market.is_none());
    assert_eq!(m.withdrawals.unwrap().discount_sensitivity_per_day, 0.0);

    let text = format!(
        "{GOOD}\n[market.pool]\ndepth_eth = 100\n\n[market.arbitrage]\nclosed_wait_days = 30\n"
    );
    let m = load_str(&text, Path::new("s.toml"), &[]).unwrap();
    let k = m.market.unwrap();
    assert_eq!(k.kind, PoolKind::Stableswap);
    assert_eq!(k.amplification, DEFAULT_AMPLIFICATION);
    assert_eq!(
        (k.amplification, k.lrt_share, k.fee, k.position_eth),
        (100.0, 0.5, 0.0004, 1000.0)
    );
    assert!(k.rate_oracle);
    assert!(k.liquidity.is_none() && k.confidence.is_none() && k.sellers.is_none());
    assert!(k.shocks.is_empty() && k.recovery_half_life_days.is_none());
    let a = k.arbitrage.unwrap();
    assert_eq!(a.capital_eth, f64::INFINITY);
    assert_eq!(
        (a.required_return_per_year, a.premium, a.closed_wait_days),
        (0.1, 0.0, 30.0)
    );
    assert_eq!(k.thresholds, [(0.01, 100), (0.05, 500)]);

    let text = format!(
        "{GOOD}\n[market.pool]\nkind = \"constant_product\"\ndepth_eth = 100\n\n[market.liquidity]\nflight_per_day = 1\n\n[market.confidence]\nsell_per_loss = 2\n"
    );
    let k = load_str(&text, Path::new("s.toml"), &[])
        .unwrap()
        .market
        .unwrap();
    assert_eq!(k.kind, PoolKind::ConstantProduct);
    assert!(k.arbitrage.is_none());
    let l = k.liquidity.unwrap();
    assert_eq!(
        (l.floor_share, l.return_half_life_days, l.calm_discount),
        (0.1, f64::INFINITY, 0.001)
    );
    let c = k.confidence.unwrap();
    assert_eq!((c.sell_days, c.min_loss_fraction), (1.0, 0.0001));
}

#[test]
fn the_market_resolution_is_a_simulation_setting_with_a_default() {
    let full = format!("{GOOD}{MARKET}");
    let tol = |text: &str, sets: &[String]| {
        load_str(text, Path::new("s.toml"), sets)
            .unwrap()
            .market
            .unwrap()
            .max_price_move_per_substep
    };
    assert_eq!(tol(&full, &[]), DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP);
    assert_eq!(DEFAULT_MAX_PRICE_MOVE_PER_SUBSTEP, 0.003);
    for v in [0.05, 1e-4, 1.1e-6] {
        let set = format!("simulation.max_price_move_per_substep={v:e}");
        assert_eq!(tol(&full, &[set]), v);
    }
    // Left out, it is not part of the resolved scenario (whose hash older runs recorded).
    let m = load_str(&full, Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.scenario.simulation.max_price_move_per_substep, None);
    let set = load_str(
        &full,
        Path::new("s.toml"),
        &["simulation.max_price_move_per_substep=0.003".into()],
    )
    .unwrap();
    assert_ne!(m.scenario_hash, set.scenario_hash);

    // Out of range, located at the key.
    let text = full.replace("seed = 1\n", "seed = 1\nmax_price_move_per_substep = 0.1\n");
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:6:1: simulation.max_price_move_per_substep: must be in (0.000001, 0.05], got 0.1"),
        "{e}"
    );
    for bad in ["1e-6", "0", "-0.001", "nan"] {
        let e = err(
            &full,
            &[&format!("simulation.max_price_move_per_substep={bad}")],
        );
        assert!(
            e.contains("simulation.max_price_move_per_substep: must be in (0.000001, 0.05]"),
            "{bad}: {e}"
        );
    }
    // Without a market there is nothing to resolve.
    let e = err(GOOD, &["simulation.max_price_move_per_substep=0.001"]);
    assert!(
        e.contains(
            "simulation.max_price_move_per_substep: applies to scenarios with [market] (or a sector LRT's `market`) only"
        ),
        "{e}"
    );
}

#[test]
fn the_front_door_resolution_is_a_simulation_setting_with_a_default() {
    let full = format!("{GOOD}{WITHDRAWALS}");
    let share = |sets: &[String]| {
        load_str(&full, Path::new("s.toml"), sets)
            .unwrap()
            .withdrawals
            .unwrap()
            .max_demand_per_substep
    };
    assert_eq!(share(&[]), DEFAULT_MAX_DEMAND_PER_SUBSTEP);
    assert_eq!(DEFAULT_MAX_DEMAND_PER_SUBSTEP, 0.002);
    for v in [0.05, 5e-4, 1.1e-6] {
        assert_eq!(
            share(&[format!("simulation.max_demand_per_substep={v:e}")]),
            v
        );
    }
    let m = load_str(&full, Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.scenario.simulation.max_demand_per_substep, None);

    // Out of range, located at the key.
    let text = full.replace("seed = 1\n", "seed = 1\nmax_demand_per_substep = 0.1\n");
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "s.toml:6:1: simulation.max_demand_per_substep: must be in (0.000001, 0.05], got 0.1"
        ),
        "{e}"
    );
    for bad in ["1e-6", "0", "-0.001", "nan", "inf"] {
        let e = err(
            &full,
            &[&format!("simulation.max_demand_per_substep={bad}")],
        );
        assert!(
            e.contains("simulation.max_demand_per_substep: must be in (0.000001, 0.05]"),
            "{bad}: {e}"
        );
    }
    // Without a front door there is nothing to resolve.
    let e = err(GOOD, &["simulation.max_demand_per_substep=0.001"]);
    assert!(
        e.contains(
            "simulation.max_demand_per_substep: applies to scenarios with [withdrawals] (or a sector LRT"
        ),
        "{e}"
    );
}

#[test]
fn market_pool_errors_name_the_field() {
    let full = format!("{GOOD}{MARKET}");
    // Out of range, located at the key.
    let text = full
        .replace("depth_eth = 50", "depth_eth = 0")
        .replace("lrt_share = 0.6", "lrt_share = 1")
        .replace("fee_bps = 30", "fee_bps = 10000")
        .replace("amplification = 200", "amplification = 2e6");
    let e = err(&text, &[]);
    for want in [
        "s.toml:37:1: market.pool.amplification: must be in (0, 1000000], got 2000000",
        "s.toml:38:1: market.pool.depth_eth: must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got 0",
        "s.toml:39:1: market.pool.lrt_share: must be in [0.000001, 0.999999], got 1",
        "s.toml:40:1: market.pool.fee_bps: must be in [0, 10000), got 10000",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let e = err(&full, &["market.pool.depth_eth=2e9"]);
    assert!(
        e.contains("market.pool.depth_eth: must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got 2000000000 (value from --set market.pool.depth_eth=2e9)"),
        "{e}"
    );
    // Amplification is a StableSwap parameter.
    let text = full.replace("kind = \"stableswap\"", "kind = \"constant_product\"");
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:37:1: market.pool.amplification: applies to stableswap pools only"),
        "{e}"
    );
    // A misspelt key and a misspelt kind get a hint; a missing depth is named.
    let text = full.replace("fee_bps = 30", "fee_bsp = 30");
    let e = err(&text, &[]);
    assert!(e.starts_with("s.toml:40:1: market.pool.fee_bsp:"), "{e}");
    assert!(e.contains("did you mean `fee_bps`?"), "{e}");
    let text = full.replace("kind = \"stableswap\"", "kind = \"stableswapp\"");
    let e = err(&text, &[]);
    assert!(
        e.contains("market.pool.kind") && e.contains("did you mean `stableswap`?"),
        "{e}"
    );
    let text = full.replace("depth_eth = 50\n", "");
    let e = err(&text, &[]);
    assert!(
        e.contains("market.pool") && e.contains("missing field `depth_eth`"),
        "{e}"
    );
}

#[test]
fn market_liquidity_confidence_recovery_report_ranges() {
    let full = format!("{GOOD}{MARKET}");
    let e = err(
        &full,
        &[
            "market.liquidity.flight_per_day=-1",
            "market.liquidity.floor_share=1.5",
            "market.liquidity.return_half_life_days=0",
            "market.liquidity.calm_discount_bps=10000",
            "market.confidence.sell_per_loss=-1",
            "market.confidence.sell_days=nan",
            "market.confidence.min_loss_bps=10000",
            "market.recovery.half_life_days=0",
            "market.report.position_eth=0",
        ],
    );
    for want in [
        "market.liquidity.flight_per_day: must be in [0, 1000], got -1",
        "market.liquidity.floor_share: must be in [0, 1], got 1.5",
        "market.liquidity.return_half_life_days: must be a duration in [1e-6, 36500] days (0.0864 s to 100 years), got 0",
        "market.liquidity.calm_discount_bps: must be in [0, 10000), got 10000",
        "market.confidence.sell_per_loss: must be in [0, 1000], got -1",
        "market.confidence.sell_days: must be a duration in [0, 36500] days (100 years), got NaN",
        "market.confidence.min_loss_bps: must be in [0, 10000), got 10000",
        "market.recovery.half_life_days: must be a duration in [1e-6, 36500] days (0.0864 s to 100 years), got 0",
        "market.report.position_eth: must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got 0",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // A recovery table without a pool: the pool is required.
    let e = err(GOOD, &["market.recovery.half_life_days=2"]);
    assert!(
        e.contains("market") && e.contains("missing field `pool`"),
        "{e}"
    );
}

#[test]
fn market_shock_errors_name_the_field() {
    let full = format!("{GOOD}{MARKET}");
    // A duplicate name and sell shares outside [0, 1].
    let text = full
        .replace("name = \"random\"", "name = \"depeg\"")
        .replace("sell_share = 0.1", "sell_share = 1.5")
        .replace("max = 0.05", "max = 2");
    let e = err(&text, &[]);
    for want in [
        "s.toml:52:1: market.shocks[0].sell_share: must be in [0, 1], got 1.5",
        "s.toml:56:1: market.shocks[1].name: duplicate market shock name `depeg`",
        "s.toml:58:46: market.shocks[1].sell_share.max: must be in [0, 1], got 2",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let text = full.replace(
        "sell_share = 0.1",
        "sell_share = { dist = \"beta\", mean = 0.1, sd = 0.5 }",
    );
    assert!(err(&text, &[]).contains("market.shocks[0].sell_share.sd: must be in [3.000e-10, 0.3"));
    // Scheduled beyond the 30-day horizon, with a rate too; negative spread; bad name.
    let e = err(
        &full,
        &[
            "market.shocks.depeg.at_days=30",
            "market.shocks.depeg.rate_per_year=1",
            "market.shocks.random.sell_days=-1",
            "market.shocks.random.rate_per_year=-2",
        ],
    );
    for want in [
        "market.shocks[0].at_days: must be in [0, horizon_days) = [0, 30), got 30",
        "market.shocks[0].at_days: give rate_per_year or at_days, not both",
        "market.shocks[1].sell_days: must be a duration in [0, 36500] days (100 years), got -1",
        "market.shocks[1].rate_per_year: must be a finite number ≥ 0, got -2",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let text = full.replace("name = \"random\"", "name = \"two words\"");
    assert!(err(&text, &[]).contains("market.shocks[1].name: `two words` is not a valid name"));
    // Addressed by name.
    let m = load_str(
        &full,
        Path::new("s.toml"),
        &["market.shocks.depeg.at_days=29.5".into()],
    )
    .unwrap();
    assert_eq!(m.market.unwrap().shocks[0].at_days, Some(29.5));
}

#[test]
fn arbitrage_wait_and_sellers_depend_on_withdrawals() {
    let full = format!("{GOOD}{MARKET}");
    // No front door: the wait must be given.
    let text = full.replace("closed_wait_days = 30\n", "");
    let e = err(&text, &[]);
    assert!(
        e.contains("market.arbitrage.closed_wait_days: is required without [withdrawals]: arbitrageurs need an expected wait when there is no redemption"),
        "{e}"
    );
    // A front door: the wait comes from it (here [withdrawals] is added by --set).
    let e = err(&full, &["withdrawals.queue.cooldown_days=7"]);
    assert!(
        e.contains(
            "s.toml:72:1: market.arbitrage.closed_wait_days: is not allowed with [withdrawals]"
        ),
        "{e}"
    );
    let e = err(
        &full,
        &[
            "market.arbitrage.capital_eth=0",
            "market.arbitrage.required_return_per_year=-0.1",
            "market.arbitrage.premium_bps=10000",
            "market.arbitrage.closed_wait_days=-1",
        ],
    );
    for want in [
        "market.arbitrage.capital_eth: must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got 0",
        "market.arbitrage.required_return_per_year: must be a rate in [0, 10] per year (0 to 1,000 %), got -0.1",
        "market.arbitrage.premium_bps: must be in [0, 10000), got 10000",
        "market.arbitrage.closed_wait_days: must be a duration in [0, 36500] days (100 years), got -1",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // Sellers choose between the pool and the queue: no queue, no sellers.
    let e = err(&format!("{full}{SELLERS}"), &[]);
    assert!(
        e.contains("s.toml:78:9: market.sellers: needs [withdrawals]"),
        "{e}"
    );
    let e = err(
        &full_market_with_withdrawals(),
        &[
            "market.sellers.share_of_demand=1.5",
            "market.sellers.wait_cost_per_year=-1",
        ],
    );
    for want in [
        "market.sellers.share_of_demand: must be in [0, 1], got 1.5",
        "market.sellers.wait_cost_per_year: must be a rate in [0, 10] per year (0 to 1,000 %), got -1",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
}

#[test]
fn market_thresholds_are_checked() {
    let full = format!("{GOOD}{MARKET}");
    let set = |v: &str| err(&full, &[&format!("market.report.thresholds_bps={v}")]);
    let e = set("[500, 100, 100]");
    assert!(
        e.contains("market.report.thresholds_bps[1]: must be greater than thresholds_bps[0] (500): thresholds are strictly increasing"),
        "{e}"
    );
    assert!(
        e.contains("market.report.thresholds_bps[2]: must be greater than thresholds_bps[1] (100)"),
        "{e}"
    );
    let e = set("[1, 2, 3, 4, 5, 6, 7, 8, 9]");
    assert!(
        e.contains("market.report.thresholds_bps: must have 1 to 8 entries, got 9"),
        "{e}"
    );
    assert!(set("[]").contains("market.report.thresholds_bps: must have 1 to 8 entries, got 0"));
    let e = set("[100.5, 0, 10000]");
    for want in [
        "market.report.thresholds_bps[0]: must be a whole number of basis points in [1, 9999], got 100.5",
        "market.report.thresholds_bps[1]: must be a whole number of basis points in [1, 9999], got 0",
        "market.report.thresholds_bps[2]: must be a whole number of basis points in [1, 9999], got 10000",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // In the file: located at the entry.
    let text = full.replace("[50, 200, 1000]", "[50, 20, 1000]");
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:76:23: market.report.thresholds_bps[1]: must be greater than thresholds_bps[0] (50)"),
        "{e}"
    );
}

#[test]
fn discount_sensitivity_needs_market() {
    let text = format!("{GOOD}{WITHDRAWALS}").replace(
        "max_share_per_day = 0.4",
        "max_share_per_day = 0.4\ndiscount_sensitivity_per_day = 0.5",
    );
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:41:1: withdrawals.demand.discount_sensitivity_per_day: needs [market]"),
        "{e}"
    );
    let e = err(
        GOOD,
        &["withdrawals.demand.discount_sensitivity_per_day=0.5"],
    );
    assert!(
        e.contains("withdrawals.demand.discount_sensitivity_per_day: needs [market]"),
        "{e}"
    );
    let e = err(
        &full_market_with_withdrawals(),
        &["withdrawals.demand.discount_sensitivity_per_day=-0.5"],
    );
    assert!(
        e.contains(
            "withdrawals.demand.discount_sensitivity_per_day: must be in [0, 1000], got -0.5"
        ),
        "{e}"
    );
}

#[test]
fn set_reaches_market_fields() {
    let full = format!("{GOOD}{MARKET}");
    let m = load_str(
        &full,
        Path::new("s.toml"),
        &[
            "market.pool.depth_eth=150".into(),
            "market.shocks.random.sell_share=0.2".into(),
            "market.report.thresholds_bps=[25, 75]".into(),
        ],
    )
    .unwrap();
    let spec = m.scenario.market.as_ref().unwrap();
    assert_eq!(spec.shocks[1].sell_share, Severity::Fixed { value: 0.2 });
    let k = m.market.unwrap();
    assert_eq!(k.depth_eth, 150.0);
    assert_eq!(k.thresholds, [(0.0025, 25), (0.0075, 75)]);
    let e = err(&full, &["market.pool.depth_eth=0"]);
    assert!(
        e.contains("market.pool.depth_eth: must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got 0 (value from --set market.pool.depth_eth=0)"),
        "{e}"
    );
    let e = err(&full, &["market.shocks.depg.sell_days=1"]);
    assert!(
        e.contains("no entry named `depg`") && e.contains("did you mean `depeg`?"),
        "{e}"
    );
    // An absent [market] is created: a pool alone is a valid market.
    let m = load_str(
        GOOD,
        Path::new("s.toml"),
        &["market.pool.depth_eth=50".into()],
    )
    .unwrap();
    assert_eq!(m.market.unwrap().depth_eth, 50.0);
}

#[test]
fn absurd_event_rates_are_refused_before_compiling() {
    // A Poisson count with a mean of 1e30 × 30/365 cannot be drawn: refuse it with the field,
    // not a panic in the sampler.
    let e = err(GOOD, &["shocks.bug.rate_per_year=1e30"]);
    assert!(
        e.contains("shocks[0].rate_per_year: expects 8.219e28 events over the horizon; at most 1e6 are allowed"),
        "{e}"
    );
    let e = err(GOOD, &["avs.eigenda.fault_rate_per_year=1e12"]);
    assert!(e.contains("fault_rate_per_year: expects"), "{e}");
}

#[test]
fn the_pools_lrt_must_fit_in_the_supply() {
    // 100 ETH of collateral: a pool holding 180 LRT (60% of 300) would hold more LRT than
    // exists.
    let e = err(&format!("{GOOD}{MARKET}"), &["market.pool.depth_eth=300"]);
    assert!(
        e.contains("market.pool.depth_eth: the pool's LRT side (depth_eth × lrt_share = 180) exceeds the LRT supply (100 ETH at t = 0"),
        "{e}"
    );
}

/// Every field of `[lending]`, each set away from its default. After
/// `full_market_with_withdrawals()` the supply is 105 ETH (collateral and buffer), the pool
/// holds 30 of it and 63 are posted.
const LENDING: &str = r#"
[lending]
oracle = "twap"
twap_days = 2
ltv = 0.9
liquidation_threshold = 0.93
liquidation_bonus = 0.02
close_factor = 0.4
full_close_below_hf = 0.9
collateral_share = 0.6
looper_leverage = 12

[[lending.positions]]
share = 0.25
health_factor = 1.01

[[lending.positions]]
share = 0.75
health_factor = 1.2
"#;

/// A theft with a pause and a restitution, and an unbacked mint the attacker sells and
/// borrows against; every field set.
const EXPLOITS: &str = r#"
[[exploits]]
name = "bridge-hack"
at_days = 5
kind = "stolen"
size = { dist = "uniform", min = 0.01, max = 0.05 }
pause_days = 3
restitution_share = 0.5
restitution_days = 10

[[exploits]]
name = "forged-mint"
rate_per_year = 0.1
kind = "unbacked_mint"
size = 0.2
attacker_sell_share = 0.3
attacker_borrow_share = 0.6
"#;

/// Two reserves: one with every field, one with the defaults.
const RESERVES: &str = r#"
[[reserves]]
name = "insurance"
initial_eth = 2
reward_share = 0.1
cap_eth = 5
covers = ["exploits"]

[[reserves]]
name = "treasury"
initial_eth = 1
"#;

/// Withdrawals, every subtable of `[market]`, then `[lending]`, exploits and reserves.
fn full_lending() -> String {
    format!(
        "{}{LENDING}{EXPLOITS}{RESERVES}",
        full_market_with_withdrawals()
    )
}

/// GOOD, MARKET (no withdrawals) and `[lending]` with only its required fields.
const MIN_LENDING: &str = "\n[lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.5\n";

fn lending_text() -> String {
    format!("{GOOD}{MARKET}{MIN_LENDING}")
}

#[test]
fn full_lending_exploits_and_reserves_load() {
    let m = load_str(&full_lending(), Path::new("s.toml"), &[]).unwrap();
    let l = m.scenario.lending.as_ref().expect("lending");
    assert_eq!(l.oracle, OracleKind::Twap);
    assert_eq!(l.twap_days, Some(2.0));
    assert_eq!(
        (l.ltv, l.liquidation_threshold, l.liquidation_bonus),
        (0.9, 0.93, 0.02)
    );
    assert_eq!(
        (l.close_factor, l.full_close_below_hf, l.collateral_share),
        (0.4, 0.9, 0.6)
    );
    assert_eq!(l.looper_leverage, 12.0);
    let buckets: Vec<(f64, f64)> = l
        .positions
        .iter()
        .map(|b| (b.share, b.health_factor))
        .collect();
    assert_eq!(buckets, [(0.25, 1.01), (0.75, 1.2)]);
    let x = &m.scenario.exploits;
    assert_eq!(x.len(), 2);
    assert_eq!(
        (x[0].name.as_str(), x[0].kind, x[0].at_days),
        ("bridge-hack", ExploitKind::Stolen, Some(5.0))
    );
    assert_eq!(
        (
            x[0].pause_days,
            x[0].restitution_share,
            x[0].restitution_days
        ),
        (3.0, 0.5, 10.0)
    );
    assert_eq!(
        x[0].size,
        Severity::Uniform {
            min: 0.01,
            max: 0.05
        }
    );
    assert_eq!(
        (x[1].kind, x[1].rate_per_year.mean(), x[1].at_days),
        (ExploitKind::UnbackedMint, 0.1, None)
    );
    assert_eq!(
        (x[1].attacker_sell_share, x[1].attacker_borrow_share),
        (0.3, 0.6)
    );
    let r = &m.scenario.reserves;
    assert_eq!(
        (r[0].initial_eth, r[0].reward_share, r[0].cap_eth),
        (2.0, 0.1, Some(5.0))
    );
    assert_eq!(r[0].covers, [LossKind::Exploits]);

    // Defaults.
    let (d, t) = (&r[1], &x[1]);
    assert_eq!((d.reward_share, d.cap_eth), (0.0, None));
    assert_eq!(d.covers, [LossKind::Slashing, LossKind::Exploits]);
    assert_eq!(
        (t.pause_days, t.restitution_share, t.restitution_days),
        (0.0, 0.0, 30.0)
    );
    let text = format!(
        "{}\n[[exploits]]\nname = \"x\"\nsize = 0.1\n",
        lending_text()
    );
    let m = load_str(&text, Path::new("s.toml"), &[]).unwrap();
    let l = m.scenario.lending.as_ref().unwrap();
    assert_eq!(l.oracle, OracleKind::ExchangeRate);
    assert_eq!(l.twap_days, None);
    assert_eq!(
        (l.close_factor, l.full_close_below_hf, l.looper_leverage),
        (0.5, 0.95, 10.0)
    );
    assert!(l.positions.is_empty());
    let e = &m.scenario.exploits[0];
    assert_eq!(
        (e.kind, e.rate_per_year.mean(), e.at_days),
        (ExploitKind::Stolen, 0.0, None)
    );
    assert_eq!((e.attacker_sell_share, e.attacker_borrow_share), (0.0, 0.0));
    // None of the three sections: none in the scenario.
    let m = load_str(GOOD, Path::new("s.toml"), &[]).unwrap();
    assert!(m.scenario.lending.is_none());
    assert!(m.scenario.exploits.is_empty() && m.scenario.reserves.is_empty());
}

#[test]
fn lending_needs_market() {
    let e = err(&format!("{GOOD}{MIN_LENDING}"), &[]);
    assert!(
        e.contains("s.toml:35:2: lending: needs [market]: liquidators sell the seized LRT into the market's pool"),
        "{e}"
    );
    // Added by --set too.
    let e = err(
        GOOD,
        &[
            "lending.ltv=0.5",
            "lending.liquidation_threshold=0.6",
            "lending.liquidation_bonus=0.05",
            "lending.collateral_share=0.1",
        ],
    );
    assert!(e.contains("lending: needs [market]"), "{e}");
}

#[test]
fn lending_errors_name_the_field() {
    let text = lending_text();
    // Out of range in the file, located at the key.
    let bad = text
        .replace("ltv = 0.93", "ltv = 1")
        .replace("liquidation_bonus = 0.01", "liquidation_bonus = 0.6")
        .replace(
            "collateral_share = 0.5",
            "collateral_share = 0\nclose_factor = 0\nfull_close_below_hf = 1.5",
        );
    let e = err(&bad, &[]);
    for want in [
        "s.toml:79:1: lending.ltv: must be in (0, 1), got 1",
        "s.toml:81:1: lending.liquidation_bonus: must be in [0, 0.5], got 0.6",
        "s.toml:82:1: lending.collateral_share: must be in (0, 1], got 0",
        "s.toml:83:1: lending.close_factor: must be in (0, 1], got 0",
        "s.toml:84:1: lending.full_close_below_hf: must be in (0, 1], got 1.5",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // The liquidation threshold is at least the LTV, below 1.
    let e = err(&text, &["lending.liquidation_threshold=0.9"]);
    assert!(
        e.contains("lending.liquidation_threshold: must be ≥ ltv (0.93), got 0.9"),
        "{e}"
    );
    let e = err(&text, &["lending.liquidation_threshold=1"]);
    assert!(
        e.contains("lending.liquidation_threshold: must be in [ltv, 1), got 1"),
        "{e}"
    );
    // A TWAP needs its window; other oracles take none.
    let e = err(&text, &["lending.oracle=\"twap\""]);
    assert!(
        e.contains("lending.twap_days: is required for oracle = \"twap\""),
        "{e}"
    );
    let e = err(&text, &["lending.oracle=\"twap\"", "lending.twap_days=0"]);
    assert!(
        e.contains("lending.twap_days: must be a duration in [1e-6, 36500] days (0.0864 s to 100 years), got 0"),
        "{e}"
    );
    let e = err(&text, &["lending.oracle=\"market\"", "lending.twap_days=1"]);
    assert!(
        e.contains("lending.twap_days: applies only to oracle = \"twap\""),
        "{e}"
    );
    let e = err(&text, &["lending.oracle=\"twapp\""]);
    assert!(
        e.contains("lending.oracle") && e.contains("did you mean `twap`?"),
        "{e}"
    );
    // A misspelt key: located, with a hint.
    let bad = text.replace("liquidation_bonus", "liquidation_bonsu");
    let e = err(&bad, &[]);
    assert!(
        e.starts_with("s.toml:81:1: lending.liquidation_bonsu:"),
        "{e}"
    );
    assert!(e.contains("did you mean `liquidation_bonus`?"), "{e}");
    let e = err(&text, &["lending.colateral_share=0.1"]);
    assert!(e.contains("did you mean `collateral_share`?"), "{e}");
}

#[test]
fn lending_guardian_is_checked() {
    let text = lending_text();
    let guardian = |lines: &str| format!("{text}\n[lending.guardian]\n{lines}\n");
    let m = load_str(
        &guardian("action = \"pause\"\nat_days = 3\nduration_days = 7"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let g = m.lending.as_ref().unwrap().guardian.unwrap();
    assert!(g.pause && g.at_days == Some(3.0) && g.duration_days == 7.0);
    let m = load_str(
        &guardian("action = \"freeze\"\nat_days = 3"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let g = m.lending.as_ref().unwrap().guardian.unwrap();
    assert!(!g.pause && g.duration_days == f64::INFINITY);
    for (lines, want) in [
        (
            "action = \"pause\"",
            "lending.guardian: give at_days (the day it acts) or after",
        ),
        (
            "action = \"pause\"\nat_days = 3\nafter = \"exploit\"",
            "lending.guardian: give at_days or after, not both",
        ),
        (
            "action = \"pause\"\nat_days = 1e6",
            "lending.guardian.at_days: must be in [0, horizon_days)",
        ),
        (
            "action = \"pause\"\nat_days = 3\ndelay_days = 1",
            "lending.guardian.delay_days: applies only with `after`",
        ),
        (
            "action = \"pause\"\nafter = \"exploit\"",
            "lending.guardian.after: \"exploit\" needs an [[exploits]] entry",
        ),
        (
            "action = \"pause\"\nafter = \"full_utilization\"",
            "lending.guardian.after: \"full_utilization\" needs the borrow rates, [lending.rates]",
        ),
        (
            "action = \"freeze\"\nat_days = 3\nduration_days = 0",
            "lending.guardian.duration_days: must be a duration",
        ),
        ("action = \"halt\"\nat_days = 3", "lending.guardian.action"),
        (
            "action = \"pause\"\nafter = \"hack\"",
            "lending.guardian.after",
        ),
    ] {
        let e = err(&guardian(lines), &[]);
        assert!(e.contains(want), "{lines}: {e}");
    }
    let e = err(
        &(guardian("action = \"pause\"\nafter = \"exploit\"\ndelay_days = -1")
            + "\n[[exploits]]\nname = \"x\"\nkind = \"stolen\"\nat_days = 2\nsize = 0.01\n"),
        &[],
    );
    assert!(e.contains("lending.guardian.delay_days"), "{e}");
}

#[test]
fn lending_positions_are_checked() {
    let text = format!(
        "{}\n[[lending.positions]]\nshare = 0.5\nhealth_factor = 0.99\n\n[[lending.positions]]\nshare = 0.4\nhealth_factor = 101\n",
        lending_text()
    );
    let e = err(&text, &[]);
    for want in [
        "s.toml:84:11: lending.positions: shares sum to 0.9; they must sum to 1",
        "s.toml:86:1: lending.positions[0].health_factor: must be in [1, 100], got 0.99: a position below 1 would be liquidated at t = 0",
        "s.toml:90:1: lending.positions[1].health_factor: must be in [1, 100], got 101",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let e = err(
        &text,
        &["lending.positions.0.share=0", "lending.positions.1.share=1"],
    );
    assert!(
        e.contains("lending.positions[0].share: must be in (0, 1], got 0"),
        "{e}"
    );
    // Within the tolerance of the operators' shares, a sum of 1 is accepted.
    let ok = text
        .replace("health_factor = 0.99", "health_factor = 1")
        .replace("health_factor = 101", "health_factor = 100")
        .replace("share = 0.4\n", "share = 0.5000000000001\n");
    load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    // At most 64 buckets.
    let many: String = (0..65)
        .map(|_| "\n[[lending.positions]]\nshare = 0.015625\nhealth_factor = 1.1\n")
        .collect();
    let e = err(&format!("{}{many}", lending_text()), &[]);
    assert!(
        e.contains("lending.positions: must have at most 64 buckets, got 65"),
        "{e}"
    );
}

#[test]
fn looper_leverage_is_checked() {
    let text = lending_text();
    // LT = 0.95: at most 1 / 0.05 = 20 times.
    let e = err(&text, &["lending.looper_leverage=25"]);
    assert!(
        e.contains("lending.looper_leverage: a looper at this leverage would be liquidated at t = 0 (health factor LT·L/(L − 1) = 0.989583): the most the liquidation threshold allows is 1/(1 − LT) = 20"),
        "{e}"
    );
    for v in ["1", "20", "19.5"] {
        load_str(
            &text,
            Path::new("s.toml"),
            &[format!("lending.looper_leverage={v}")],
        )
        .unwrap();
    }
    for v in ["0.5", "101", "nan"] {
        let e = err(&text, &[&format!("lending.looper_leverage={v}")]);
        assert!(
            e.contains("lending.looper_leverage: must be in [1, 100], got"),
            "{e}"
        );
    }
}

#[test]
fn posted_collateral_must_fit_in_the_supply() {
    // 100 LRT, 30 of them in the pool: at most 70 can be posted.
    let text = lending_text();
    load_str(
        &text,
        Path::new("s.toml"),
        &["lending.collateral_share=0.7".into()],
    )
    .unwrap();
    let e = err(&text, &["lending.collateral_share=0.8"]);
    assert!(
        e.contains("lending.collateral_share: the posted collateral (collateral_share × LRT supply = 80 ETH) plus the market pool's LRT side (market.pool.depth_eth × lrt_share = 30 ETH) exceeds the LRT supply (100 ETH at t = 0: pool.collateral_eth plus the buffer); with this pool at most 0.7 of the supply can be posted"),
        "{e}"
    );
    // A deeper pool takes room from the collateral: located at the field in the file.
    let e = err(&text, &["market.pool.depth_eth=100"]);
    assert!(
        e.contains("s.toml:82:1: lending.collateral_share: the posted collateral (collateral_share × LRT supply = 50 ETH) plus the market pool's LRT side (market.pool.depth_eth × lrt_share = 60 ETH)"),
        "{e}"
    );
}

#[test]
fn exploit_names_share_the_source_namespace() {
    let text = format!("{}{EXPLOITS}", lending_text()).replace("pause_days = 3\n", "");
    let bad = text.replace("name = \"forged-mint\"", "name = \"bug\"");
    let e = err(&bad, &[]);
    assert!(
        e.contains("exploits[1].name: duplicate source name `bug` (shock, copula, beacon-incident and exploit names share one namespace)"),
        "{e}"
    );
    let bad = text.replace("name = \"forged-mint\"", "name = \"avs_faults\"");
    assert!(err(&bad, &[]).contains("exploits[1].name: `avs_faults` is reserved"));
    let bad = text.replace("name = \"forged-mint\"", "name = \"forged mint\"");
    assert!(err(&bad, &[]).contains("exploits[1].name: `forged mint` is not a valid name"));
}

#[test]
fn exploit_errors_name_the_field() {
    // Without [withdrawals]: no pause.
    let text = format!("{}{EXPLOITS}", lending_text());
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:89:1: exploits[0].pause_days: needs [withdrawals]: the pause stops the front door"),
        "{e}"
    );
    let text = text.replace("pause_days = 3\n", "");
    let e = err(
        &text,
        &[
            "exploits.bridge-hack.at_days=30",
            "exploits.bridge-hack.rate_per_year=1",
            "exploits.bridge-hack.size.max=1.5",
            "exploits.bridge-hack.pause_days=-1",
            "exploits.bridge-hack.restitution_share=2",
            "exploits.forged-mint.rate_per_year=-1",
            "exploits.forged-mint.attacker_sell_share=-0.1",
        ],
    );
    for want in [
        "exploits[0].at_days: must be in [0, horizon_days) = [0, 30), got 30",
        "exploits[0].at_days: give rate_per_year or at_days, not both",
        "exploits[0].size.max: must be in [0, 1], got 1.5",
        "exploits[0].pause_days: must be a duration in [0, 36500] days (100 years), got -1",
        "exploits[0].restitution_share: must be in [0, 1], got 2",
        "exploits[1].rate_per_year: must be a finite number ≥ 0, got -1",
        "exploits[1].attacker_sell_share: must be in [0, 1], got -0.1",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // A restitution needs a delay, and a theft.
    let e = err(&text, &["exploits.bridge-hack.restitution_days=0"]);
    assert!(
        e.contains("exploits[0].restitution_days: must be a duration in [1e-6, 36500] days (0.0864 s to 100 years), got 0"),
        "{e}"
    );
    load_str(
        &text,
        Path::new("s.toml"),
        &[
            "exploits.bridge-hack.restitution_share=0".into(),
            "exploits.bridge-hack.restitution_days=0".into(),
        ],
    )
    .unwrap();
    let e = err(&text, &["exploits.forged-mint.restitution_share=0.5"]);
    assert!(
        e.contains("exploits[1].restitution_share: applies only to kind = \"stolen\": an unbacked mint takes nothing from the pool"),
        "{e}"
    );
    // The attacker's shares: of an unbacked mint only, summing to at most 1.
    let e = err(&text, &["exploits.forged-mint.kind=\"stolen\""]);
    for want in [
        "s.toml:97:1: exploits[1].attacker_sell_share: applies only to kind = \"unbacked_mint\"",
        "s.toml:98:1: exploits[1].attacker_borrow_share: applies only to kind = \"unbacked_mint\"",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let e = err(&text, &["exploits.forged-mint.attacker_borrow_share=0.8"]);
    assert!(
        e.contains("exploits[1].attacker_borrow_share: attacker_sell_share + attacker_borrow_share must be ≤ 1 (both are shares of the minted LRT), got 0.3 + 0.8 = 1.1"),
        "{e}"
    );
    let e = err(&text, &["exploits.forged-mint.kind=\"unbacked_mnt\""]);
    assert!(e.contains("did you mean `unbacked_mint`?"), "{e}");
    let bad = text.replace("attacker_sell_share", "attacker_sel_share");
    let e = err(&bad, &[]);
    assert!(
        e.starts_with("s.toml:97:1: exploits[1].attacker_sel_share:")
            && e.contains("did you mean `attacker_sell_share`?"),
        "{e}"
    );
    // Selling needs the pool, borrowing the lending market.
    let e = err(
        &format!("{GOOD}{EXPLOITS}").replace("pause_days = 3\n", ""),
        &[],
    );
    for want in [
        "exploits[1].attacker_sell_share: needs [market]: the attacker sells into the market's pool",
        "exploits[1].attacker_borrow_share: needs [lending]: the attacker posts the minted LRT as collateral",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
}

#[test]
fn reserve_errors_name_the_field() {
    let text = format!("{GOOD}{RESERVES}");
    let bad = text
        .replace("name = \"treasury\"", "name = \"insurance\"")
        .replace("initial_eth = 2", "initial_eth = -2")
        .replace("reward_share = 0.1", "reward_share = 1.5")
        .replace(
            "covers = [\"exploits\"]",
            "covers = [\"exploits\", \"slashing\", \"exploits\"]",
        );
    let e = err(&bad, &[]);
    for want in [
        "s.toml:37:1: reserves[0].initial_eth: must be an amount in [0, 1e9] ETH (all ETH in existence is about 1.2e8), got -2",
        "s.toml:38:1: reserves[0].reward_share: must be in [0, 1], got 1.5",
        "s.toml:40:35: reserves[0].covers[2]: duplicate loss kind \"exploits\"",
        "s.toml:43:1: reserves[1].name: duplicate reserve name `insurance`",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    let e = err(&text, &["reserves.insurance.cap_eth=1"]);
    assert!(
        e.contains(
            "reserves[0].cap_eth: must be an amount in [initial_eth, 1e9] ETH = [2, 1e9], got 1"
        ),
        "{e}"
    );
    let e = err(&text, &["reserves.treasury.covers=[]"]);
    assert!(
        e.contains("reserves[1].covers: must list at least one loss kind"),
        "{e}"
    );
    let e = err(&text, &["reserves.treasury.covers=[\"slashng\"]"]);
    assert!(e.contains("did you mean `slashing`?"), "{e}");
    let e = err(&text, &["reserves.treasury.name=\"two words\""]);
    assert!(
        e.contains("reserves[1].name: `two words` is not a valid name"),
        "{e}"
    );
}

#[test]
fn set_reaches_lending_exploit_and_reserve_fields() {
    let m = load_str(
        &full_lending(),
        Path::new("s.toml"),
        &[
            "lending.ltv=0.85".into(),
            "lending.positions.1.health_factor=1.5".into(),
            "exploits.forged-mint.size={dist = \"beta\", mean = 0.1, sd = 0.05}".into(),
            "reserves.treasury.initial_eth=50".into(),
        ],
    )
    .unwrap();
    let s = &m.scenario;
    assert_eq!(s.lending.as_ref().unwrap().ltv, 0.85);
    assert_eq!(s.lending.as_ref().unwrap().positions[1].health_factor, 1.5);
    assert_eq!(
        s.exploits[1].size,
        Severity::Beta {
            mean: 0.1,
            sd: 0.05
        }
    );
    assert_eq!(s.reserves[1].initial_eth, 50.0);
    let e = err(&full_lending(), &["lending.ltv=0"]);
    assert!(
        e.contains("lending.ltv: must be in (0, 1), got 0 (value from --set lending.ltv=0)"),
        "{e}"
    );
    let e = err(&full_lending(), &["exploits.forged-mint.size=1.5"]);
    assert!(
        e.contains("exploits[1].size: must be in [0, 1], got 1.5 (value from --set exploits.forged-mint.size=1.5)"),
        "{e}"
    );
    let e = err(&full_lending(), &["reserves.treasury.initial_eth=-1"]);
    assert!(
        e.contains("reserves[1].initial_eth: must be an amount in [0, 1e9] ETH (all ETH in existence is about 1.2e8), got -1 (value from --set reserves.treasury.initial_eth=-1)"),
        "{e}"
    );
    let e = err(&full_lending(), &["exploits.forged-mnt.size=0.1"]);
    assert!(
        e.contains("no entry named `forged-mnt`") && e.contains("did you mean `forged-mint`?"),
        "{e}"
    );
}

#[test]
fn lending_rates_are_checked() {
    let rates = "\n[lending.rates]\nutilization = 0.8\nunwind_spread_per_year = 0.02\n\
                 [[lending.rates.supply_shocks]]\nname = \"whale\"\nat_days = 3\nshare = 0.2\n";
    let text = format!("{}{rates}", lending_text());
    let m = load_str(&text, Path::new("s.toml"), &[]).unwrap();
    let r = m.lending.unwrap().rates.unwrap();
    assert_eq!(
        (r.slope1_per_year, r.optimal_utilization, r.slope2_per_year),
        (0.027, 0.9, 0.8)
    );
    assert_eq!(r.supply_shocks[0].recovery_days, 30.0);
    // The curve: 0.027 · U / 0.9 below the kink, then + 0.8 · (U − 0.9) / 0.1.
    assert!((r.rate(0.45) - 0.0135).abs() < 1e-15 && (r.rate(1.0) - 0.827).abs() < 1e-15);
    let e = err(
        &text,
        &[
            "lending.rates.utilization=0",
            "lending.rates.optimal_utilization=1",
            "lending.rates.unwind_share_per_day=11",
            "lending.rates.supply_shocks.whale.share=1.5",
            "lending.rates.supply_shocks.whale.recovery_days=0",
        ],
    );
    for needle in [
        "lending.rates.utilization: must be in (0, 1], got 0",
        "lending.rates.optimal_utilization: must be in (0, 1), got 1",
        "lending.rates.unwind_share_per_day: must be in (0, 10], got 11",
        "lending.rates.supply_shocks[0].share",
        "lending.rates.supply_shocks[0].recovery_days",
    ] {
        assert!(e.contains(needle), "{needle} in {e}");
    }
}

const COPULA: &str = r#"
[[copulas]]
name = "faults"
fault_prob_per_day = 0.001
global_correlation = 0.2
severity = 0.1

[[copulas]]
name = "independent"
fault_prob_per_day = 0.001
severity = 0.1
"#;

#[test]
fn importance_tilts_name_tiltable_sources() {
    let base = format!("{GOOD}{COPULA}");
    let m = load_str(
        &format!("{base}\n[importance]\nrate_multipliers = {{ bug = 10 }}\nfactor_shifts = {{ faults = 1.5 }}\n"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let imp = m.importance.as_ref().unwrap();
    assert_eq!(imp.tilt.shocks, vec![10.0]);
    assert_eq!(imp.tilt.copulas, vec![1.5, 0.0]);
    assert!(imp.auto.is_none());
    // 0.1 a year over 30 days.
    assert!((imp.mean_events.shocks[0] - 0.1 * 30.0 / 365.0).abs() < 1e-15);

    let bad = format!(
        "{base}\n[importance]\nrate_multipliers = {{ bugg = 10, faults = 2, bug = -1 }}\nfactor_shifts = {{ independent = 1, bug = 1, faults = 11 }}\ntarget_level = 1\npilot_paths = 10\n"
    );
    let e = err(&bad, &[]);
    for want in [
        "importance.rate_multipliers.bugg: no rate-based loss source named `bugg`; did you mean `bug`?",
        "importance.rate_multipliers.faults: `faults` is a copula: tilt it with importance.factor_shifts",
        "importance.rate_multipliers.bug: must be in [0.001, 1000], got -1",
        "importance.factor_shifts.independent: copula `independent` has no global factor to shift",
        "importance.factor_shifts.bug: `bug` is not a copula",
        "importance.factor_shifts.faults: must be in [0, 10], got 11",
        "importance.target_level: must be in (0, 1), got 1",
        "importance.pilot_paths: must be between 1000 and 10000000, got 10",
    ] {
        assert!(e.contains(want), "missing `{want}` in\n{e}");
    }
    // Errors point into the file.
    assert!(e.contains("s.toml:"), "{e}");
    // Tilting past the cap on expected events.
    let e = err(
        &format!("{base}\n[importance]\nrate_multipliers = {{ bug = 1000 }}\n"),
        &["shocks.bug.rate_per_year=100000"],
    );
    assert!(
        e.contains("importance.rate_multipliers.bug: tilts the source to"),
        "{e}"
    );
}

#[test]
fn automatic_importance_sampling_is_checked() {
    let base = format!("{GOOD}{COPULA}\n[importance]\nmethod = \"auto\"\n");
    let m = load_str(&base, Path::new("s.toml"), &[]).unwrap();
    let auto = m.importance.as_ref().unwrap().auto.as_ref().unwrap();
    assert_eq!(auto.metric, "slashed_fraction");
    assert_eq!(auto.level, 0.999);
    assert_eq!(auto.eligible.shocks, vec![true]);
    assert_eq!(auto.eligible.copulas, vec![true, false]);
    let e = err(&base, &["importance.target_metric=nav_los"]);
    assert!(
        e.contains(
            "importance.target_metric: no loss metric named `nav_los`; did you mean `nav_loss`?"
        ),
        "{e}"
    );
    let e = err(&base, &["importance.rate_multipliers={ bug = 2 }"]);
    assert!(
        e.contains("importance.method: is \"auto\": the method chooses the tilts"),
        "{e}"
    );
    let e = err(&base, &["importance.sources=[\"independent\"]"]);
    assert!(
        e.contains("importance.sources[0]: no tiltable loss source named `independent`"),
        "{e}"
    );
    let m = load_str(
        &base,
        Path::new("s.toml"),
        &["importance.sources=[\"faults\"]".into()],
    )
    .unwrap();
    let auto = m.importance.as_ref().unwrap().auto.as_ref().unwrap();
    assert_eq!(auto.eligible.shocks, vec![false]);
    assert_eq!(auto.eligible.copulas, vec![true, false]);
    let e = err(&format!("{GOOD}\n[importance]\nsources = [\"bug\"]\n"), &[]);
    assert!(
        e.contains("importance.sources: applies to method = \"auto\" only"),
        "{e}"
    );
    // Nothing to tilt.
    let calm = GOOD.replace("rate_per_year = 0.1", "at_days = 3");
    let e = err(&format!("{calm}\n[importance]\nmethod = \"auto\"\n"), &[]);
    assert!(e.contains("no source can be tilted"), "{e}");
    // Not with a market.
    let e = err(&format!("{}\n[importance]\n", full_lending()), &[]);
    assert!(
        e.contains("importance: is not available with [market] yet"),
        "{e}"
    );
}

/// The contracts' own parameters (issue 15): the pool's admin share and dynamic fee, the
/// lender's protocol fee and version — defaults, ranges and where they apply.
#[test]
fn contract_parameters_default_and_are_checked() {
    let full = format!("{GOOD}{MARKET}");
    // Defaults: stableswap-ng's admin share and a static fee; Uniswap v2 keeps its fee.
    let k = load_str(&full, Path::new("s.toml"), &[])
        .unwrap()
        .market
        .unwrap();
    assert_eq!((k.admin_fee_share, k.offpeg_fee_multiplier), (0.5, 1.0));
    let cp = full.replace("kind = \"stableswap\"", "kind = \"constant_product\"");
    let cp = cp.replace("amplification = 200\n", "");
    let k = load_str(&cp, Path::new("s.toml"), &[])
        .unwrap()
        .market
        .unwrap();
    assert_eq!(k.admin_fee_share, 0.0);
    let k = load_str(
        &full,
        Path::new("s.toml"),
        &[
            "market.pool.admin_fee_share=0.2".to_string(),
            "market.pool.offpeg_fee_multiplier=10".to_string(),
        ],
    )
    .unwrap()
    .market
    .unwrap();
    assert_eq!((k.admin_fee_share, k.offpeg_fee_multiplier), (0.2, 10.0));

    let e = err(&full, &["market.pool.admin_fee_share=1.5"]);
    assert!(
        e.contains("market.pool.admin_fee_share: must be in [0, 1], got 1.5"),
        "{e}"
    );
    let e = err(&full, &["market.pool.offpeg_fee_multiplier=0.5"]);
    assert!(
        e.contains("market.pool.offpeg_fee_multiplier: must be in [1, 5000], got 0.5"),
        "{e}"
    );
    // 30 bp × 200 = 6,000 bp: above stableswap-ng's MAX_FEE.
    let e = err(&full, &["market.pool.offpeg_fee_multiplier=200"]);
    assert!(
        e.contains("market.pool.offpeg_fee_multiplier: fee_bps × offpeg_fee_multiplier = 6000 bps exceeds stableswap-ng's MAX_FEE (5000 bps)"),
        "{e}"
    );
    let e = err(&cp, &["market.pool.offpeg_fee_multiplier=2"]);
    assert!(
        e.contains("market.pool.offpeg_fee_multiplier: applies to stableswap pools only"),
        "{e}"
    );

    // The lender: no protocol fee and v3.3 by default.
    let text = lending_text();
    let l = load_str(&text, Path::new("s.toml"), &[])
        .unwrap()
        .lending
        .unwrap();
    assert_eq!(l.liquidation_protocol_fee, 0.0);
    assert_eq!(l.version, LenderVersion::V3_3);
    let l = load_str(
        &text,
        Path::new("s.toml"),
        &[
            "lending.version=\"v3.2\"".to_string(),
            "lending.liquidation_protocol_fee=0.1".to_string(),
        ],
    )
    .unwrap()
    .lending
    .unwrap();
    assert_eq!(l.version, LenderVersion::V3_2);
    assert_eq!(l.liquidation_protocol_fee, 0.1);
    let e = err(&text, &["lending.liquidation_protocol_fee=1.2"]);
    assert!(
        e.contains("lending.liquidation_protocol_fee: must be in [0, 1], got 1.2"),
        "{e}"
    );
    let e = err(&text, &["lending.version=\"v3.1\""]);
    assert!(
        e.contains("lending.version") && e.contains("v3.2") && e.contains("v3.3"),
        "{e}"
    );
}

#[test]
fn the_last_set_of_a_key_is_blamed() {
    let e = err(
        GOOD,
        &["simulation.horizon_days=10", "simulation.horizon_days=-5"],
    );
    assert!(
        e.contains("(value from --set simulation.horizon_days=-5)"),
        "{e}"
    );
    assert!(!e.contains("horizon_days=10"), "{e}");
}

#[test]
fn an_array_is_not_a_table() {
    // serde would read the array by position: 365 paths over 300 days.
    let e = err(GOOD, &["simulation=[365, 300, 1, 7]"]);
    assert!(
        e.contains("simulation: expected a table, got an array")
            && e.contains("(value from --set simulation=[365, 300, 1, 7])"),
        "{e}"
    );
    let text = GOOD.replace(
        "[simulation]\npaths = 100\nhorizon_days = 30\nseed = 1\n",
        "simulation = [100, 30, 1, 1]\n",
    );
    let e = err(&text, &[]);
    assert!(
        e.contains("s.toml:2:1: simulation: expected a table, got an array"),
        "{e}"
    );
    // Nested tables and array entries too.
    let text = format!(
        "pool = [100]\n{}",
        GOOD.replace("[pool]\ncollateral_eth = 100", "")
    );
    assert!(err(&text, &[]).contains("pool: expected a table, got an array"));
    let e = err(GOOD, &["shocks.bug.select=[[\"a\"], [\"eigenda\"]]"]);
    assert!(
        e.contains("shocks[0].select: expected a table, got an array"),
        "{e}"
    );
    // Arrays where arrays belong still load.
    load_str(
        GOOD,
        Path::new("s.toml"),
        &["shocks.bug.select.operators=[\"a\"]".into()],
    )
    .unwrap();
}

#[test]
fn a_file_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.toml");
    let mut bytes = b"[simulation]\npaths = 1\nhori".to_vec();
    bytes.extend([0xff, 0xfe, 0x00]);
    std::fs::write(&path, &bytes).unwrap();
    match lrtsim_scenario::load_file(&path, &[]) {
        Err(ScenarioError::Syntax {
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!((line, column), (3, 5));
            assert!(message.contains("not UTF-8 text (byte 0xff)"), "{message}");
        }
        r => panic!("{:?}", r.map(|m| m.name)),
    }
}

/// GOOD as a sector of two LRTs: `alpha` delegates 60 % of operator a and 50 % of b, `beta`
/// 30 % of a; the rest is other stakers'.
fn sector() -> String {
    GOOD.replacen(
        "attributes = { client = \"prysm\" }\n",
        "attributes = { client = \"prysm\" }\nlrts = { alpha = 0.6, beta = 0.3 }\n",
        1,
    )
    .replacen(
        "attributes = { client = \"lighthouse\" }\n",
        "attributes = { client = \"lighthouse\" }\nlrts = { alpha = 0.5 }\n",
        1,
    ) + "\n[[lrts]]\nname = \"alpha\"\n\n[[lrts]]\nname = \"beta\"\n"
}

#[test]
fn a_sector_compiles_each_lrts_collateral_from_its_shares() {
    let m = load_str(&sector(), Path::new("sector.toml"), &[]).unwrap();
    let names: Vec<&str> = m.lrts.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    // Operators a and b hold 50 ETH each.
    assert_eq!(m.lrts[0].collateral_eth, 0.6 * 50.0 + 0.5 * 50.0);
    assert_eq!(m.lrts[1].collateral_eth, 0.3 * 50.0);
    assert_eq!(m.operators[0].lrt_shares, [(0, 0.6), (1, 0.3)]);
    assert_eq!(m.operators[1].lrt_shares, [(0, 0.5)]);
    // A one-LRT scenario has none, and its resolved text (so its hash) has no trace of them.
    let one = load_str(GOOD, Path::new("good.toml"), &[]).unwrap();
    assert!(one.lrts.is_empty() && one.operators[0].lrt_shares.is_empty());
    let resolved = toml::to_string(&one.scenario).unwrap();
    assert!(!resolved.contains("lrts"), "{resolved}");
    // Shares can be swept by name.
    let m = load_str(
        &sector(),
        Path::new("sector.toml"),
        &["operators.a.lrts.beta=0.4".to_string()],
    )
    .unwrap();
    assert_eq!(m.lrts[1].collateral_eth, 0.4 * 50.0);
}

#[test]
fn sector_shares_are_checked() {
    let text = sector().replace("lrts = { alpha = 0.5 }", "lrts = { alpah = 0.5 }");
    let e = err(&text, &[]);
    assert!(e.contains("operators[1].lrts.alpah"), "{e}");
    assert!(
        e.contains("no LRT named `alpah`; did you mean `alpha`?"),
        "{e}"
    );
    let e = err(&sector(), &["operators.a.lrts.beta=0.5"]);
    assert!(
        e.contains("operators[0].lrts: the LRTs' shares sum to 1.1"),
        "{e}"
    );
    let e = err(&sector(), &["operators.b.lrts.alpha=-0.1"]);
    assert!(
        e.contains("operators[1].lrts.alpha: must be in [0, 1]"),
        "{e}"
    );
    let e = err(&(sector() + "\n[[lrts]]\nname = \"gamma\"\n"), &[]);
    assert!(
        e.contains("lrts[2]: no operator holds stake for `gamma`"),
        "{e}"
    );
    let e = err(&(sector() + "\n[[lrts]]\nname = \"alpha\"\n"), &[]);
    assert!(
        e.contains("lrts[2].name: duplicate LRT name `alpha`"),
        "{e}"
    );
    // Shares without [[lrts]].
    let text = GOOD.replacen(
        "attributes = { client = \"prysm\" }\n",
        "attributes = { client = \"prysm\" }\nlrts = { alpha = 0.6 }\n",
        1,
    );
    let e = err(&text, &[]);
    assert!(
        e.contains("operators[0].lrts: names LRTs, but the scenario has no [[lrts]]"),
        "{e}"
    );
    // What a sector does not model yet is refused, not ignored.
    let text = sector() + "\n[[reserves]]\nname = \"treasury\"\ninitial_eth = 1\n";
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "reserves: a sector scenario ([[lrts]]) models each LRT's slashing, rewards, exploits, front door, market and lending so far, not yet reserves"
        ),
        "{e}"
    );
    // A sector's exploit names the LRT it hits.
    let mint = "\n[[exploits]]\nname = \"m\"\nat_days = 3\nkind = \"unbacked_mint\"\nsize = 0.1\n";
    let m = load_str(
        &(sector() + mint + "lrt = \"beta\"\n"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(m.exploits[0].lrt, Some(1));
    let e = err(&(sector() + mint), &[]);
    assert!(
        e.contains("exploits[0]: a sector scenario needs the LRT the exploit hits: add `lrt = \"alpha\"` (one of alpha, beta)"),
        "{e}"
    );
    let e = err(&(sector() + mint + "lrt = \"gamma\"\n"), &[]);
    assert!(e.contains("exploits[0].lrt: no LRT named `gamma`"), "{e}");
    // A theft from one LRT of a sector is accepted.
    let theft = mint.replace("unbacked_mint", "stolen") + "lrt = \"alpha\"\n";
    let m = load_str(&(sector() + &theft), Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.exploits[0].lrt, Some(0));
    let e = err(&(GOOD.to_string() + mint + "lrt = \"alpha\"\n"), &[]);
    assert!(
        e.contains("exploits[0].lrt: names an LRT, but the scenario has no [[lrts]]"),
        "{e}"
    );
}

#[test]
fn joint_loss_thresholds_default_and_are_checked() {
    let m = load_str(&sector(), Path::new("sector.toml"), &[]).unwrap();
    assert_eq!(m.joint_loss_thresholds_bps, [100, 500]);
    let one = load_str(GOOD, Path::new("good.toml"), &[]).unwrap();
    assert!(one.joint_loss_thresholds_bps.is_empty());
    let text = sector() + "\n[sector]\njoint_loss_thresholds_bps = [50, 200, 1000]\n";
    let m = load_str(&text, Path::new("sector.toml"), &[]).unwrap();
    assert_eq!(m.joint_loss_thresholds_bps, [50, 200, 1000]);
    let text = sector() + "\n[sector]\njoint_loss_thresholds_bps = [200, 200]\n";
    let e = err(&text, &[]);
    assert!(
        e.contains("sector.joint_loss_thresholds_bps[1]: must be greater than joint_loss_thresholds_bps[0] (200)"),
        "{e}"
    );
    let text = sector() + "\n[sector]\njoint_loss_thresholds_bps = [10000]\n";
    assert!(
        err(&text, &[]).contains("sector.joint_loss_thresholds_bps[0]: must be a whole number")
    );
    let text = GOOD.to_string() + "\n[sector]\n";
    let e = err(&text, &[]);
    assert!(
        e.contains(
            "sector: describes the LRTs of a sector together, but the scenario has no [[lrts]]"
        ),
        "{e}"
    );
}

/// `[[governance]]`: one way to time the vote, operators (not AVSs) selected, magnitudes in
/// [0, 1] that keep every selected operator's allocations under unique stake, references
/// with suggestions, and a line and column for each.
#[test]
fn governance_entries_are_checked() {
    let entry = |body: &str| format!("{GOOD}\n[[governance]]\nname = \"vote\"\n{body}\n");
    let ok = entry("at_days = 10\nallocations = { oracle = 0.4 }");
    let m = load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    // Operator a is moved onto `oracle`: its pair exists from t = 0, with nothing in it.
    assert_eq!(m.pairs.len(), 4);
    assert_eq!(m.governance[0].targets.len(), 2);
    assert!(
        m.pairs
            .iter()
            .any(|p| p.operator == 0 && p.avs == 1 && p.eth == 0.0)
    );

    let cases = [
        (
            "at_days = 10\nrate_per_year = 1\nallocations = { oracle = 0.4 }",
            "governance[0].at_days: give rate_per_year or at_days, not both",
        ),
        (
            "allocations = { oracle = 0.4 }",
            "governance[0]: give at_days (the day of the vote) or rate_per_year",
        ),
        (
            "at_days = 30\nallocations = { oracle = 0.4 }",
            "governance[0].at_days: must be in [0, 30), got 30",
        ),
        (
            "rate_per_year = 0\nallocations = { oracle = 0.4 }",
            "governance[0].rate_per_year: must be in (0, 1000000], got 0",
        ),
        (
            "at_days = 1\nallocations = { oracel = 0.4 }",
            "governance[0].allocations.oracel: no AVS named `oracel`; did you mean `oracle`?",
        ),
        (
            "at_days = 1\nallocations = { oracle = 1.5 }",
            "governance[0].allocations.oracle: must be in [0, 1], got 1.5",
        ),
        (
            "at_days = 1\nallocations = { oracle = 0.8 }",
            "governance[0].allocations: operator `a` would allocate magnitudes summing to 1.3",
        ),
        (
            "at_days = 1\nallocations = {}",
            "governance[0].allocations: must set at least one AVS's new magnitude",
        ),
        (
            "at_days = 1\nselect = { avs = [\"oracle\"] }\nallocations = { oracle = 0.1 }",
            "governance[0].select.avs: a governance entry selects operators",
        ),
        (
            "at_days = 1\nselect = { operators = [\"c\"] }\nallocations = { oracle = 0.1 }",
            "governance[0].select.operators[0]: no operator named `c`",
        ),
        (
            "at_days = 1\ndeallocation_delay_days = -1\nallocations = { oracle = 0.1 }",
            "governance[0].deallocation_delay_days: must be a duration",
        ),
    ];
    for (body, want) in cases {
        let e = err(&entry(body), &[]);
        assert!(e.contains(want), "{body}: {e}");
        assert!(e.starts_with("s.toml:"), "located: {e}");
    }
}

/// `[[redelegations]]`: one way to time the decision, the LRT required in a sector and
/// refused otherwise, known operators holding its stake, weights summing to 1, no operator
/// on both sides, the share and the escrow.
#[test]
fn redelegations_are_checked() {
    let entry =
        |base: &str, body: &str| format!("{base}\n[[redelegations]]\nname = \"move\"\n{body}\n");
    let ok = entry(GOOD, "at_days = 3\nfrom = [\"a\"]\nto = { b = 1 }");
    let m = load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    let r = &m.redelegations[0];
    assert_eq!((r.from.clone(), r.to.clone()), (vec![0], vec![(1, 1.0)]));
    assert_eq!((r.share, r.escrow_days, r.lrt), (1.0, 14.0, 0));
    let ok = entry(
        &sector(),
        "rate_per_year = 1\nlrt = \"beta\"\nfrom = [\"a\"]\nto = { b = 0.25, a2 = 0.75 }",
    )
    .replace(
        "[[avs]]\nname = \"eigenda\"",
        "[[operators]]\nname = \"a2\"\nstake_eth = 0\n\n[[avs]]\nname = \"eigenda\"",
    );
    let m = load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.redelegations[0].lrt, 1);

    let one = [
        (
            "at_days = 3\nrate_per_year = 1\nfrom = [\"a\"]\nto = { b = 1 }",
            "redelegations[0].at_days: give rate_per_year or at_days, not both",
        ),
        (
            "from = [\"a\"]\nto = { b = 1 }",
            "redelegations[0]: give at_days (the day of the decision) or rate_per_year",
        ),
        (
            "at_days = 3\nlrt = \"alpha\"\nfrom = [\"a\"]\nto = { b = 1 }",
            "redelegations[0].lrt: names an LRT, but the scenario has no [[lrts]]",
        ),
        (
            "at_days = 3\nfrom = [\"c\"]\nto = { b = 1 }",
            "redelegations[0].from[0]: no operator named `c`",
        ),
        (
            "at_days = 3\nfrom = []\nto = { b = 1 }",
            "redelegations[0].from: must name at least one operator",
        ),
        (
            "at_days = 3\nfrom = [\"a\"]\nto = { a = 0.5, b = 0.5 }",
            "redelegations[0].to.a: operator `a` is also in `from`",
        ),
        (
            "at_days = 3\nfrom = [\"a\"]\nto = { b = 0.7 }",
            "redelegations[0].to: weights sum to 0.7; they must sum to 1",
        ),
        (
            "at_days = 3\nfrom = [\"a\"]\nto = {}",
            "redelegations[0].to: must name at least one operator the stake moves to",
        ),
        (
            "at_days = 3\nfrom = [\"a\"]\nto = { b = 1 }\nshare = 0",
            "redelegations[0].share: must be in (0, 1], got 0",
        ),
        (
            "at_days = 3\nfrom = [\"a\"]\nto = { b = 1 }\nescrow_days = -1",
            "redelegations[0].escrow_days: must be a duration",
        ),
    ];
    for (body, want) in one {
        let e = err(&entry(GOOD, body), &[]);
        assert!(e.contains(want), "{body}: {e}");
        assert!(e.starts_with("s.toml:"), "located: {e}");
    }
    let sector_cases = [
        (
            "at_days = 3\nfrom = [\"a\"]\nto = { b = 1 }",
            "redelegations[0]: a sector scenario needs the LRT that moves its stake: add `lrt = \"alpha\"` (one of alpha, beta)",
        ),
        (
            "at_days = 3\nlrt = \"gamma\"\nfrom = [\"a\"]\nto = { b = 1 }",
            "redelegations[0].lrt: no LRT named `gamma`",
        ),
        (
            "at_days = 3\nlrt = \"beta\"\nfrom = [\"b\"]\nto = { a = 1 }",
            "redelegations[0].from[0]: operator `b` holds no stake of `beta` at t = 0",
        ),
    ];
    for (body, want) in sector_cases {
        let e = err(&entry(&sector(), body), &[]);
        assert!(e.contains(want), "{body}: {e}");
    }
}

/// Front doors in a sector: each LRT's `withdrawals` is checked at its own path, its
/// `network` belongs in `[sector.exit_queue]`, the pool's `[withdrawals]` is refused with a
/// pointer to the LRTs' tables, and the shared queue needs a door and takes no rushes yet.
#[test]
fn sector_front_doors_are_checked() {
    let door = "\n[lrts.withdrawals.demand]\nbase_share_per_day = 0.001\nmax_share_per_day = 0.1\n";
    // `[[lrts]]` tables come last in sector(): the door belongs to beta.
    let ok = sector() + door + "\n[sector.exit_queue]\nqueue_eth = 1000\n";
    let m = load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    assert!(m.lrts[0].withdrawals.is_none() && m.lrts[1].withdrawals.is_some());
    let w = m.lrts[1].withdrawals.as_ref().unwrap();
    assert_eq!(w.network_queue_eth, 1000.0);

    let e = err(&(sector() + door.replace("0.001", "2").as_str()), &[]);
    assert!(
        e.contains("lrts[1].withdrawals.demand.base_share_per_day: must be in (0, 1], got 2"),
        "{e}"
    );
    let e = err(
        &(sector() + door + "\n[lrts.withdrawals.network]\nqueue_eth = 5\n"),
        &[],
    );
    assert!(
        e.contains("lrts[1].withdrawals.network: the exit queue is the sector's, shared by every LRT: set it once in [sector.exit_queue]"),
        "{e}"
    );
    let e = err(
        &(sector() + "\n[withdrawals.demand]\nbase_share_per_day = 0.001\n"),
        &[],
    );
    assert!(
        e.contains("withdrawals: a sector scenario gives each LRT its own front door: move this section into that LRT's [[lrts]] table"),
        "{e}"
    );
    let e = err(
        &(sector() + "\n[sector.exit_queue]\nqueue_eth = 1000\n"),
        &[],
    );
    assert!(
        e.contains("sector.exit_queue: no LRT has a front door to exit through it"),
        "{e}"
    );
    let e = err(&(ok.clone() + "inflow_eth_per_day = -1\n"), &[]);
    assert!(e.contains("sector.exit_queue.inflow_eth_per_day:"), "{e}");
    // Rushes on the shared queue: rates fixed or uncertain (drawn per path, where the pool's
    // are); a run trigger needs some door's trigger.
    let rush = "\n[[sector.exit_queue.rushes]]\nname = \"r\"\nat_days = 3\nsize_eth = 100\n";
    let m = load_str(&(ok.clone() + rush), Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.lrts[1].withdrawals.as_ref().unwrap().rushes.len(), 1);
    let uncertain = "\n[[sector.exit_queue.rushes]]\nname = \"r\"\nrate_per_year = { dist = \"gamma\", mean = 1, cv = 1 }\nsize_eth = 100\n";
    let m = load_str(&(ok.clone() + uncertain), Path::new("s.toml"), &[]).unwrap();
    let draws = m.rate_draws.as_ref().unwrap();
    // One rush slot, between the AVS entries and the supply shocks.
    assert_eq!(draws.first[4] - draws.first[3], 1);
    let e = err(&(ok.clone() + &uncertain.replace("cv = 1", "cv = -1")), &[]);
    assert!(
        e.contains("sector.exit_queue.rushes[0].rate_per_year.cv"),
        "{e}"
    );
    let e = err(&(ok.clone() + uncertain + "rate_factor = \"nope\"\n"), &[]);
    assert!(e.contains("sector.exit_queue.rushes[0].rate_factor"), "{e}");
    let e = err(&(ok.clone() + rush + "triggers_run = true\n"), &[]);
    assert!(
        e.contains("sector.exit_queue.rushes[0].triggers_run: needs some LRT's `withdrawals.demand.trigger`"),
        "{e}"
    );
    // An exploit's pause needs its LRT's front door.
    let pause =
        "\n[[exploits]]\nname = \"x\"\nat_days = 3\nsize = 0.1\npause_days = 2\nlrt = \"alpha\"\n";
    let e = err(&(ok.clone() + pause), &[]);
    assert!(
        e.contains("exploits[0].pause_days: needs the LRT's `withdrawals` (in its [[lrts]] table)"),
        "{e}"
    );
    load_str(
        &(ok.clone() + &pause.replace("alpha", "beta")),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();

    // Contagion: loadings between two different LRTs, ≥ 0, and a door to react.
    let contagion = |body: &str| ok.clone() + "\n[sector.contagion]\n" + body + "\n";
    let m = load_str(
        &contagion("loading = 0.5\nloadings = { beta = { alpha = 2 } }"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(m.contagion, vec![0.0, 0.5, 2.0, 0.0]);
    let cases = [
        (
            "loading = -1",
            "sector.contagion.loading: must be in [0, 100], got -1",
        ),
        (
            "loadings = { gamma = { alpha = 1 } }",
            "sector.contagion.loadings.gamma: no LRT named `gamma`",
        ),
        (
            "loadings = { alpha = { alpha = 1 } }",
            "sector.contagion.loadings.alpha.alpha: an LRT's own loss moves its holders through its own trigger",
        ),
    ];
    for (body, want) in cases {
        let e = err(&contagion(body), &[]);
        assert!(e.contains(want), "{body}: {e}");
    }
    let e = err(&(sector() + "\n[sector.contagion]\nloading = 0.5\n"), &[]);
    assert!(
        e.contains(
            "sector.contagion: no LRT has a front door or a market whose holders could react"
        ),
        "{e}"
    );
}

#[test]
fn sector_markets_are_checked() {
    // `[[lrts]]` tables come last in sector(): the market belongs to beta (15 ETH of stake).
    let market =
        "\n[lrts.market.pool]\ndepth_eth = 10\n\n[lrts.market.arbitrage]\nclosed_wait_days = 30\n";
    let m = load_str(&(sector() + market), Path::new("s.toml"), &[]).unwrap();
    assert!(m.lrts[0].market.is_none());
    assert_eq!(m.lrts[1].market.as_ref().unwrap().depth_eth, 10.0);
    let cases = [
        (
            market.replace("depth_eth = 10", "depth_eth = 100"),
            "lrts[1].market.pool.depth_eth: the pool's LRT side (depth_eth × lrt_share = 50) exceeds the LRT supply (15 ETH at t = 0: the stake its operators hold for it plus its buffer)",
        ),
        (
            market.replace("closed_wait_days = 30\n", "capital_eth = 5\n"),
            "lrts[1].market.arbitrage.closed_wait_days: is required without lrts[1].withdrawals",
        ),
        (
            format!(
                "{market}\n[lrts.market.sellers]\nshare_of_demand = 0.3\nwait_cost_per_year = 0.5\n"
            ),
            "lrts[1].market.sellers: needs lrts[1].withdrawals",
        ),
        (
            format!(
                "{market}\n[[lrts.market.shocks]]\nname = \"dump\"\nrate_per_year = {{ dist = \"gamma\", mean = 0.5, cv = 1 }}\nrate_factor = \"nope\"\nsell_share = 0.01\n"
            ),
            "lrts[1].market.shocks[0].rate_factor",
        ),
        (
            format!(
                "{market}\n[[exploits]]\nname = \"mint\"\nkind = \"unbacked_mint\"\nat_days = 3\nsize = 0.1\nattacker_sell_share = 0.5\nlrt = \"alpha\"\n"
            ),
            "exploits[0].attacker_sell_share: needs the LRT's `market` (in its [[lrts]] table)",
        ),
        (
            format!("{market}\n[importance]\nrate_multipliers = {{ bug = 10 }}\n"),
            "importance: is not available with [market] yet",
        ),
        (
            format!("{market}\n[market.pool]\ndepth_eth = 10\n"),
            "market: a sector scenario gives each LRT its own market: move this section into that LRT's [[lrts]] table as `[lrts.market]`",
        ),
    ];
    for (extra, want) in cases {
        let e = err(&(sector() + &extra), &[]);
        assert!(e.contains(want), "{extra}: {e}");
    }
    // One pot of arbitrage capital replaces the markets' own.
    let pot = "\n[sector.arbitrage]\ncapital_eth = 50\n";
    let no_capital = market.replace(
        "closed_wait_days = 30\n",
        "closed_wait_days = 30\nrequired_return_per_year = 0.1\n",
    );
    let m = load_str(&(sector() + &no_capital + pot), Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.arbitrage_pot_eth, Some(50.0));
    let with_capital = market.replace(
        "closed_wait_days = 30\n",
        "closed_wait_days = 30\ncapital_eth = 5\n",
    );
    let e = err(&(sector() + &with_capital + pot), &[]);
    assert!(
        e.contains("lrts[1].market.arbitrage.capital_eth: the arbitrageurs' capital is the sector's one pot, [sector.arbitrage] capital_eth: remove it here"),
        "{e}"
    );
    let e = err(
        &(sector() + "\n[lrts.market.pool]\ndepth_eth = 10\n" + pot),
        &[],
    );
    assert!(
        e.contains("sector.arbitrage: no LRT's market has arbitrageurs to share it"),
        "{e}"
    );
    let e = err(
        &(sector() + &no_capital + "\n[sector.arbitrage]\ncapital_eth = -1\n"),
        &[],
    );
    assert!(e.contains("sector.arbitrage.capital_eth:"), "{e}");
    // The attacker may sell into its own LRT's market.
    let text = sector()
        + market
        + "\n[[exploits]]\nname = \"mint\"\nkind = \"unbacked_mint\"\nat_days = 3\nsize = 0.1\nattacker_sell_share = 0.5\nlrt = \"beta\"\n";
    load_str(&text, Path::new("s.toml"), &[]).unwrap();
}

#[test]
fn sector_lending_is_checked() {
    // beta (15 ETH of stake) is collateral: 10 % posted at health factor 1.5 owes
    // 1.5 × 0.95 / 1.5 = 0.95 ETH at t = 0.
    let lending = "\n[lrts.market.pool]\ndepth_eth = 10\n\n[lrts.market.arbitrage]\nclosed_wait_days = 30\n\n[lrts.lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.1\n\n[[lrts.lending.positions]]\nshare = 1\nhealth_factor = 1.5\n";
    let reserve = "\n[sector.lending]\nsupply_eth = 2\n";
    // Beta's front door, with a run trigger (its arbitrageurs' wait then is the door's).
    let trigger = "\n[lrts.withdrawals.demand.trigger]\nshare_per_day = 0.05\n";
    let door = lending.replace("closed_wait_days = 30", "required_return_per_year = 0.1");
    let m = load_str(&(sector() + lending + reserve), Path::new("s.toml"), &[]).unwrap();
    let x = m.lrts[1].lending.as_ref().unwrap();
    assert_eq!(x.collateral_share, 0.1);
    let r = x.rates.as_ref().unwrap();
    assert_eq!(r.supply_eth, Some(2.0));
    assert_eq!(m.reserve.as_ref().unwrap().supply_eth, Some(2.0));
    let cases = [
        (
            format!("{lending}\n[sector.lending]\nsupply_eth = 0.9\n"),
            "sector.lending.supply_eth: the collaterals' debt at t = 0 (Σ collateral_share × supply × liquidation_threshold / health factor over the LRTs' positions = 0.95 ETH) exceeds the ETH supplied (0.9)",
        ),
        (
            reserve.to_string(),
            "sector.lending: no LRT is collateral in the lending market",
        ),
        (
            lending.replace("[lrts.market.pool]\ndepth_eth = 10\n\n[lrts.market.arbitrage]\nclosed_wait_days = 30\n", ""),
            "lrts[1].lending: needs the LRT's `market` (in its [[lrts]] table)",
        ),
        (
            format!("{lending}\n[lrts.lending.rates]\nutilization = 0.5\n"),
            "lrts[1].lending.rates: the borrow rate is the one WETH reserve's, shared by every LRT's collateral: move this section to [sector.lending]",
        ),
        (
            format!("{lending}{reserve}\n[[sector.lending.supply_shocks]]\nname = \"whale\"\nrate_per_year = {{ dist = \"gamma\", mean = 1, cv = -1 }}\nshare = 0.1\n"),
            "sector.lending.supply_shocks[0].rate_per_year.cv",
        ),
        (
            format!("{lending}{reserve}\n[[sector.lending.supply_shocks]]\nname = \"whale\"\nat_days = 3\nshare = 1.5\n"),
            "sector.lending.supply_shocks[0].share",
        ),
        (
            format!("{lending}{reserve}optimal_utilization = 1\n"),
            "sector.lending.optimal_utilization",
        ),
        (
            format!("{lending}\n[[exploits]]\nname = \"mint\"\nkind = \"unbacked_mint\"\nat_days = 3\nsize = 0.1\nattacker_borrow_share = 0.5\nlrt = \"alpha\"\n"),
            "exploits[0].attacker_borrow_share: needs the LRT's `lending` (in its [[lrts]] table)",
        ),
        (
            format!("{lending}\n[lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.1\n"),
            "lending: a sector scenario puts each LRT's collateral in its own [[lrts]] table as `[lrts.lending]`, and the one WETH reserve they borrow from (the `rates` here) in [sector.lending]",
        ),
        (
            format!("{lending}\n[lrts.lending.guardian]\naction = \"pause\"\nafter = \"full_utilization\"\n"),
            "lrts[1].lending.guardian.after: \"full_utilization\" needs the reserve, [sector.lending]",
        ),
        (
            format!("{lending}\n[lrts.lending.guardian]\naction = \"pause\"\nafter = \"exploit\"\n\n[[exploits]]\nname = \"mint\"\nkind = \"unbacked_mint\"\nat_days = 3\nsize = 0.1\nlrt = \"alpha\"\n"),
            "lrts[1].lending.guardian.after: \"exploit\" needs an [[exploits]] entry whose `lrt` is this LRT",
        ),
        (
            format!("{lending}{reserve}\n[sector.lending.run]\nat_utilization = 1.2\n"),
            "sector.lending.run.at_utilization",
        ),
        (
            format!("{lending}{reserve}\n[sector.lending.run]\nloadings = {{ gamma = 1 }}\n"),
            "sector.lending.run.loadings.gamma",
        ),
        (
            format!("{lending}{reserve}\n[sector.lending.run]\n"),
            "sector.lending.run: no LRT has a run trigger to pulse",
        ),
        (
            format!("{door}{trigger}{reserve}\n[sector.lending.run]\nloadings = {{ alpha = 1 }}\n"),
            "sector.lending.run.loadings.alpha: LRT `alpha` has no run trigger to pulse",
        ),
    ];
    for (extra, want) in cases {
        let e = err(&(sector() + &extra), &[]);
        assert!(e.contains(want), "{extra}: {e}");
    }
    // Beta's holders run when the reserve fills.
    let run = "\n[sector.lending.run]\nat_utilization = 0.9\nloading = 2\n";
    let m = load_str(
        &(sector() + &door + trigger + reserve + run),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let r = m.reserve_run.as_ref().unwrap();
    assert_eq!(
        (r.at_utilization, r.loadings.clone()),
        (0.9, vec![2.0, 2.0])
    );
    // The attacker of an LRT that is collateral may borrow.
    let mint = "\n[[exploits]]\nname = \"mint\"\nkind = \"unbacked_mint\"\nat_days = 3\nsize = 0.1\nattacker_borrow_share = 0.5\nlrt = \"beta\"\n";
    load_str(
        &(sector() + lending + reserve + mint),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
}

/// `lrts[].kind = "lst"`: an LST's stake is not restaked, so an operator holding it — at
/// t = 0 or after a move of its stake — allocates to no AVS and no vote gives it one; an LST
/// on operators without allocations loads, and the kind is one of two words.
#[test]
fn an_lsts_operators_secure_no_avs() {
    let lst_op = "[[operators]]\nname = \"l\"\nstake_eth = 30\nlrts = { steth = 1 }\n\n[[avs]]\nname = \"eigenda\"";
    let with_lst = |ops: &str| {
        (sector().replacen("[[avs]]\nname = \"eigenda\"", ops, 1))
            .replace("collateral_eth = 100", "collateral_eth = 130")
            .replace("share = 0.5", "stake_eth = 50")
            + "\n[[lrts]]\nname = \"steth\"\nkind = \"lst\"\n"
    };
    let ok = with_lst(lst_op);
    let m = load_str(&ok, Path::new("s.toml"), &[]).unwrap();
    assert_eq!(m.lrts[2].collateral_eth, 30.0);
    assert_eq!(
        m.scenario.lrts[2].kind,
        lrtsim_scenario::spec::TokenKind::Lst
    );
    // The default kind is an LRT, and the resolved text does not spell it.
    assert!(m.scenario.lrts[0].kind.is_lrt());
    let resolved = toml::to_string(&m.scenario).unwrap();
    assert_eq!(resolved.matches("kind = \"lst\"").count(), 1, "{resolved}");
    assert!(!resolved.contains("kind = \"lrt\""), "{resolved}");

    let why = "an LST (kind = \"lst\") is not restaked, so its operators allocate to no AVS: give the LST operators of its own, or make it kind = \"lrt\"";
    let e = err(
        &with_lst(&lst_op.replace(
            "lrts = { steth = 1 }",
            "lrts = { steth = 1 }\nallocations = { eigenda = 0.1 }",
        )),
        &[],
    );
    assert!(
        e.contains(&format!(
            "operators[2].allocations: operator `l` holds stake of the LST `steth`; {why}"
        )),
        "{e}"
    );
    // Alpha made an LST: both its operators allocate.
    let e = err(
        &sector().replace("name = \"alpha\"\n", "name = \"alpha\"\nkind = \"lst\"\n"),
        &[],
    );
    for o in [
        "operators[0].allocations: operator `a`",
        "operators[1].allocations: operator `b`",
    ] {
        assert!(
            e.contains(&format!("{o} holds stake of the LST `alpha`")),
            "{e}"
        );
    }
    // A vote giving the LST's operator an allocation; a vote taking one away is fine.
    let vote = |alloc: &str| {
        format!(
            "{ok}\n[[governance]]\nname = \"v\"\nat_days = 3\nselect = {{ operators = [\"l\", \"a\"] }}\nallocations = {{ eigenda = {alloc} }}\n"
        )
    };
    let e = err(&vote("0.1"), &[]);
    assert!(
        e.contains(&format!("governance[0].allocations: would give operator `l` an allocation, but it holds stake of the LST `steth`; {why}")),
        "{e}"
    );
    load_str(&vote("0"), Path::new("s.toml"), &[]).unwrap();
    // The LST's stake moved to an operator that allocates; an LRT's stake may move to the
    // LST's operator.
    let e = err(
        &format!(
            "{ok}\n[[redelegations]]\nname = \"r\"\nat_days = 3\nlrt = \"steth\"\nfrom = [\"l\"]\nto = {{ a = 1 }}\n"
        ),
        &[],
    );
    assert!(
        e.contains(&format!("operators[0].allocations: operator `a` receives stake of the LST `steth` (redelegations[0]); {why}")),
        "{e}"
    );
    load_str(
        &format!("{ok}\n[[redelegations]]\nname = \"r\"\nat_days = 3\nlrt = \"beta\"\nfrom = [\"a\"]\nto = {{ l = 1 }}\n"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    // The LST's operator undelegating it to one that allocates.
    let e = err(
        &format!(
            "{ok}\n[[undelegations]]\nname = \"u\"\nat_days = 3\noperator = \"l\"\nto = {{ a = 1 }}\n"
        ),
        &[],
    );
    assert!(
        e.contains(&format!("operators[0].allocations: operator `a` receives stake of the LST `steth` (undelegations[0]); {why}")),
        "{e}"
    );
    let e = err(&ok.replace("kind = \"lst\"", "kind = \"lsd\""), &[]);
    assert!(
        e.contains(
            "lrts[2].kind: unknown variant `lsd`, expected `lrt` or `lst`; did you mean `lst`?"
        ),
        "{e}"
    );
}

/// `[[undelegations]]`: one way to time the decision, a known operator holding some LRT's
/// stake (the pool's, in a one-LRT scenario), the escrow, `to` as a move's weights without the
/// operator itself, and — by default — another operator for every LRT with stake there.
#[test]
fn undelegations_are_checked() {
    let entry = |base: &str, body: &str| {
        format!("{base}\n[[undelegations]]\nname = \"out\"\noperator = \"a\"\n{body}\n")
    };
    let m = load_str(&entry(GOOD, "at_days = 3"), Path::new("s.toml"), &[]).unwrap();
    let r = &m.redelegations[0];
    assert_eq!(
        (r.name.as_str(), r.from.clone(), r.to.clone()),
        ("out.pool", vec![0], vec![(1, 1.0)])
    );
    assert_eq!((r.share, r.escrow_days, r.decided_with), (1.0, 14.0, None));
    // In the sector, alpha (on a and b) and beta (on a only, so `to` is needed) move.
    let m = load_str(
        &entry(
            &sector(),
            "rate_per_year = 1\nto = { b = 1 }\nescrow_days = 7",
        ),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
    let moves: Vec<_> = (m.redelegations.iter())
        .map(|r| {
            (
                r.lrt,
                r.to.clone(),
                r.rate_per_year,
                r.escrow_days,
                r.decided_with,
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            (0, vec![(1, 1.0)], 1.0, 7.0, None),
            (1, vec![(1, 1.0)], 1.0, 7.0, Some(0))
        ]
    );
    let cases = [
        (
            "",
            "undelegations[0]: give at_days (the day of the undelegation) or rate_per_year",
        ),
        (
            "at_days = 3\nrate_per_year = 1",
            "undelegations[0].at_days: give rate_per_year or at_days, not both",
        ),
        (
            "at_days = 300",
            "undelegations[0].at_days: must be in [0, 30)",
        ),
        (
            "at_days = 3\nescrow_days = -1",
            "undelegations[0].escrow_days: must be a duration",
        ),
        (
            "at_days = 3\nto = { b = 0.5 }",
            "undelegations[0].to: weights sum to 0.5; they must sum to 1",
        ),
        (
            "at_days = 3\nto = { a = 1 }",
            "undelegations[0].to.a: operator `a` is the one undelegating",
        ),
        (
            "at_days = 3\nto = { c = 1 }",
            "undelegations[0].to.c: no operator named `c`",
        ),
    ];
    for (body, want) in cases {
        let e = err(&entry(GOOD, body), &[]);
        assert!(e.contains(want), "{body}: {e}");
        assert!(e.starts_with("s.toml:"), "located: {e}");
    }
    let e = err(
        &entry(GOOD, "at_days = 3").replace("operator = \"a\"", "operator = \"z\""),
        &[],
    );
    assert!(
        e.contains("undelegations[0].operator: no operator named `z`"),
        "{e}"
    );
    let e = err(&entry(&sector(), "at_days = 3"), &[]);
    assert!(
        e.contains("undelegations[0].to: `beta` has no operator but `a` to move its stake to: name the operators it goes to"),
        "{e}"
    );
    // An operator no LRT delegates to.
    let none = entry(
        &sector().replace("lrts = { alpha = 0.5 }\n", ""),
        "at_days = 3",
    )
    .replace("operator = \"a\"", "operator = \"b\"");
    let e = err(&none, &[]);
    assert!(
        e.contains("undelegations[0].operator: operator `b` holds no LRT's stake at t = 0: there is nothing to undelegate"),
        "{e}"
    );
}

/// A protocol processes its queue at most once a slot and at least once in 30 days: a
/// shorter interval (which would make a run count processing times without end) is refused
/// with the range; the ends are accepted.
#[test]
fn a_queues_processing_interval_is_a_slot_to_30_days() {
    let with = |v: &str| format!("{GOOD}\n[withdrawals.queue]\nprocessing_interval_days = {v}\n");
    for ok in ["0.00013888888888888889", "1", "30"] {
        load_str(&with(ok), Path::new("s.toml"), &[]).unwrap();
    }
    for bad in ["1e-9", "1e-300", "0", "0.0001", "31", "inf"] {
        let e = err(&with(bad), &[]);
        assert!(
            e.contains("withdrawals.queue.processing_interval_days: must be at least one slot (12 s, 1/7,200 day) and at most 30 days"),
            "{bad}: {e}"
        );
    }
}
