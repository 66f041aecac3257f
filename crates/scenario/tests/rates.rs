//! Uncertain rates and rate factors in scenario files: what loads, what the model compiles,
//! and the errors (file, field path, what is allowed) for what does not.

use std::path::Path;

use lrtsim_scenario::load_str;
use lrtsim_scenario::rate::{Rate, RateDist};

const BASE: &str = r#"
[simulation]
paths = 100
horizon_days = 365
seed = 1

[pool]
collateral_eth = 100

[[operators]]
name = "a"
share = 0.5
allocations = { eigenda = 0.5, oracle = 0.5 }

[[operators]]
name = "b"
share = 0.5
allocations = { eigenda = 0.2 }

[[avs]]
name = "eigenda"
fault_rate_per_year = { dist = "gamma", mean = 0.02, cv = 1.0 }
fault_rate_factor = "avs-bugs"
fault_severity = 0.5

[[avs]]
name = "oracle"
fault_rate_per_year = 0.01
fault_rate_factor = "avs-bugs"
fault_severity = 0.5

[[rate_factors]]
name = "avs-bugs"
variance = 1.0
"#;

fn err(text: &str) -> String {
    match load_str(text, Path::new("s.toml"), &[]) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn uncertain_rates_load_and_compile_into_per_path_draws() {
    let text = format!(
        "{BASE}\n[[shocks]]\nname = \"bug\"\nrate_per_year = {{ dist = \"discrete\", values = [0.01, 0.1], weights = [0.7, 0.3] }}\nseverity = 0.1\n\
         [[exploits]]\nname = \"x\"\nrate_per_year = {{ dist = \"lognormal\", mean = 0.05, cv = 2 }}\nsize = 0.1\n"
    );
    let m = load_str(&text, Path::new("s.toml"), &[]).unwrap();
    let rd = m.rate_draws.as_ref().expect("rate draws");
    assert_eq!(rd.factors.len(), 1);
    // Slots: 1 shock, 0 incidents, 1 exploit, 2 AVS entries.
    assert_eq!(rd.slots.len(), 4);
    assert_eq!(rd.first, [1, 1, 2, 4, 4, 4]);
    assert_eq!(rd.slots[2].factor, Some(0));
    // The AVS entry's scale is the horizon in years × its 2 pairs.
    assert!((rd.slots[2].scale - 2.0).abs() < 1e-12);
    let shock = &m.scenario.shocks[0].rate_per_year;
    assert!((shock.mean() - 0.037).abs() < 1e-15);
    assert!(matches!(shock, Rate::Dist(RateDist::Discrete { .. })));
    // The model's fixed-rate samplers keep the mean rate.
    let f = m.avs_faults.as_ref().unwrap();
    assert!((f.mean_events - (0.02 * 2.0 + 0.01)).abs() < 1e-15);
}

#[test]
fn fixed_rates_draw_nothing_and_serialize_as_numbers() {
    let text = BASE
        .replace(
            "fault_rate_per_year = { dist = \"gamma\", mean = 0.02, cv = 1.0 }",
            "fault_rate_per_year = 0.02",
        )
        .replace("fault_rate_factor = \"avs-bugs\"\n", "")
        .replace(
            "[[rate_factors]]\nname = \"avs-bugs\"\nvariance = 1.0\n",
            "",
        );
    let m = load_str(&text, Path::new("s.toml"), &[]).unwrap();
    assert!(m.rate_draws.is_none());
    let json = serde_json::to_string(&m.scenario).unwrap();
    assert!(json.contains("\"fault_rate_per_year\":0.02"), "{json}");
    assert!(!json.contains("rate_factor"), "{json}");
}

#[test]
fn bad_rate_distributions_name_the_field_and_the_range() {
    let e = err(&BASE.replace("cv = 1.0", "cv = 0"));
    assert!(
        e.contains("avs[0].fault_rate_per_year.cv: must be in (0, 10]"),
        "{e}"
    );
    let e = err(&BASE.replace("mean = 0.02", "mean = -1"));
    assert!(
        e.contains(
            "avs[0].fault_rate_per_year.mean: must be a finite number of events per year > 0"
        ),
        "{e}"
    );
    let e = err(&BASE.replace(
        "{ dist = \"gamma\", mean = 0.02, cv = 1.0 }",
        "{ dist = \"discrete\", values = [0.1, -1], weights = [1] }",
    ));
    assert!(
        e.contains("avs[0].fault_rate_per_year.weights: must have one weight per value"),
        "{e}"
    );
    assert!(e.contains("avs[0].fault_rate_per_year.values: every value must be a finite number of events per year ≥ 0"), "{e}");
    let e = err(&BASE.replace("dist = \"gamma\"", "dist = \"weibull\""));
    assert!(e.contains("avs[0].fault_rate_per_year"), "{e}");
    assert!(e.contains("weibull"), "{e}");
    let e = err(&BASE.replace("cv = 1.0", "cv = 1.0, sd = 3"));
    assert!(e.contains("unknown field `sd`"), "{e}");
}

#[test]
fn rate_factor_errors() {
    let e = err(&BASE.replace(
        "fault_rate_factor = \"avs-bugs\"\nfault_severity = 0.5\n\n[[avs]]\nname = \"oracle\"",
        "fault_rate_factor = \"avs-bug\"\nfault_severity = 0.5\n\n[[avs]]\nname = \"oracle\"",
    ));
    assert!(e.contains("avs[0].fault_rate_factor"), "{e}");
    assert!(e.contains("did you mean `avs-bugs`"), "{e}");
    let e = err(&BASE.replace("variance = 1.0", "variance = 0"));
    assert!(
        e.contains("rate_factors[0].variance: must be in (0, 100]"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}\n[[rate_factors]]\nname = \"unused\"\nvariance = 0.5\n"
    ));
    assert!(
        e.contains("rate_factors[1].name: rate factor `unused` multiplies no rate"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}\n[[rate_factors]]\nname = \"avs-bugs\"\nvariance = 0.5\n"
    ));
    assert!(
        e.contains("rate_factors[1].name: duplicate rate factor name `avs-bugs`"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}\n[[shocks]]\nname = \"s\"\nat_days = 3\nrate_factor = \"avs-bugs\"\nseverity = 0.1\n"
    ));
    assert!(
        e.contains("shocks[0].at_days: a scheduled event has no rate"),
        "{e}"
    );
}

#[test]
fn an_uncertain_rate_may_not_expect_too_many_events() {
    let e = err(&format!(
        "{BASE}\n[[shocks]]\nname = \"s\"\nrate_per_year = {{ dist = \"gamma\", mean = 5000, cv = 1 }}\nseverity = 0.1\n"
    ));
    assert!(e.contains("shocks[0].rate_per_year: expects 5.000e3 events over the horizon on average; an uncertain rate"), "{e}");
}

#[test]
fn automatic_importance_sampling_refuses_uncertain_rates() {
    let e = err(&format!("{BASE}\n[importance]\nmethod = \"auto\"\n"));
    assert!(
        e.contains("importance.method: is \"auto\", which does not tilt uncertain rates"),
        "{e}"
    );
    // Manual tilts are accepted.
    load_str(
        &format!("{BASE}\n[importance]\nrate_multipliers = {{ avs_faults = 5 }}\n"),
        Path::new("s.toml"),
        &[],
    )
    .unwrap();
}
