//! Loading errors: each names the file, the field path, and a line and column where the
//! field is in the file.

use std::path::Path;

use lrtsim_scenario::{ScenarioError, load_str};

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
        "{GOOD}\n[[copulas]]\nname = \"c\"\nfamily = \"student_t\"\nfault_prob_per_step = 0.01\nglobal_correlation = 0.7\ngroup_correlation = 0.4\nseverity = 1\n"
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
    assert!(err(&big, &[]).contains("copulas[0].dof: must be in (0, 1000], got 1000000"));
    let text = text.replace("family = \"student_t\"", "family = \"gausian\"");
    let e = err(&text, &[]);
    assert!(e.contains("did you mean `gaussian`?"), "{e}");
}

#[test]
fn severity_checks() {
    let text = GOOD.replace(
        "severity = 0.1",
        "severity = { dist = \"beta\", mean = 0.5, sd = 0.6 }",
    );
    assert!(err(&text, &[]).contains("shocks[0].severity.sd: must be in (0, 0.5"));
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
