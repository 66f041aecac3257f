//! `lrtsim report` and `run --report`: the page of a run (with the worst paths' stories when
//! the run's resolved scenario is there), of two runs (paired on common random numbers when
//! both kept paths.csv with the same seed and paths) and of a sweep; written atomically where
//! asked; directories that are no output, bad flags and sharded runs refused with exit 2.

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use std::fs;

use fixture::{Fixture, arg, test_scenario};

/// Runs tests/scenarios/small.toml into `out` with extra arguments.
fn run_small(fx: &Fixture, out: &str, extra: &[&str]) {
    let mut args = vec![
        "run".to_string(),
        arg(&test_scenario("small.toml")),
        "-q".into(),
        "--out".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    fx.run(&args).ok();
}

/// What every page must be: one self-contained document.
fn self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "an external URL"
    );
    assert!(!html.contains("<script"), "a script");
}

#[test]
fn run_with_report_writes_the_page_after_the_manifest() {
    let fx = Fixture::new();
    run_small(&fx, "out/small", &["--report"]);
    let html = fx.read("out/small/report.html");
    self_contained(&html);
    for section in ["scenario", "loss", "drivers", "worst"] {
        assert!(
            html.contains(&format!("data-section=\"{section}\"")),
            "{section}"
        );
    }
    // The headline numbers are summary.json's, exactly, in the cells' data attributes.
    let summary = fx.read_json("out/small/summary.json");
    let es = summary["metrics"]["nav_loss"]["es"]["0.99"]
        .as_f64()
        .unwrap();
    assert!(
        html.contains(&format!(
            "data-metric=\"nav_loss\" data-stat=\"es\" data-level=\"0.99\" data-value=\"{es}\""
        )) || html.contains(&format!(
            "data-value=\"{es}\" data-metric=\"nav_loss\" data-stat=\"es\" data-level=\"0.99\""
        )),
        "ES 99 % of nav_loss ({es}) not in the page"
    );
    // Not in the run's output set: written after its manifest.
    assert!(!fx.read("out/small/manifest.json").contains("report.html"));
    // No temporary file left.
    assert!(
        fx.listing().iter().all(|f| !f.contains(".tmp-")),
        "{:?}",
        fx.listing()
    );
}

#[test]
fn report_tells_the_worst_paths_from_the_resolved_scenario() {
    let fx = Fixture::new();
    run_small(&fx, "out/small", &[]);
    let resolved = fx.read("out/small/scenario.resolved.toml");
    // Without the resolved scenario the section says so.
    fs::remove_file(fx.path("out/small/scenario.resolved.toml")).unwrap();
    fx.run(["report", "out/small", "-q"]).ok();
    assert!(
        fx.read("out/small/report.html")
            .contains("stories are unavailable")
    );
    // The scenario as run (written by the run) gives the stories.
    fs::write(fx.path("out/small/scenario.resolved.toml"), &resolved).unwrap();
    fx.run(["report", "out/small", "--out", "page.html", "-q"])
        .ok();
    let html = fx.read("page.html");
    let summary = fx.read_json("out/small/summary.json");
    let worst = summary["metrics"]["nav_loss"]["worst_paths"][0]["path"]
        .as_u64()
        .unwrap();
    assert!(
        html.contains(&format!("<li class=\"story\" data-path=\"{worst}\"")),
        "no story of path {worst}"
    );
    assert!(html.contains(&format!("path {worst}: nav_loss = ")));
    // A resolved scenario of another run is not used.
    fs::write(
        fx.path("out/small/scenario.resolved.toml"),
        fs::read_to_string(test_scenario("small.toml"))
            .unwrap()
            .replace("seed = 11", "seed = 12"),
    )
    .unwrap();
    fx.run(["report", "out/small", "--out", "page.html", "-q"])
        .ok();
    assert!(
        fx.read("page.html")
            .contains("not the scenario that was run")
    );
}

#[test]
fn two_runs_are_compared_paired_only_on_common_random_numbers() {
    let fx = Fixture::new();
    run_small(&fx, "out/a", &["--paths-csv"]);
    run_small(
        &fx,
        "out/b",
        &["--paths-csv", "--set", "rewards.base_apr=0.04"],
    );
    run_small(&fx, "out/c", &["--set", "rewards.base_apr=0.04"]);
    fx.run(["report", "out/a", "out/b", "--labels", "base,apr-4", "-q"])
        .ok();
    let html = fx.read("out/a/comparison.html");
    self_contained(&html);
    assert!(html.contains("data-pairing=\"paired\""));
    assert!(html.contains("apr-4 − base"));
    assert!(html.contains("data-chart=\"exceedance-nav_loss\""));
    fx.run(["report", "out/a", "out/c", "--out", "cmp.html", "-q"])
        .ok();
    let html = fx.read("cmp.html");
    assert!(html.contains("data-pairing=\"unpaired\""));
    assert!(html.contains("has no paths.csv of this run"));
}

#[test]
fn a_sweep_gets_its_page() {
    let fx = Fixture::new();
    fx.run([
        "sweep",
        &arg(&test_scenario("small.toml")),
        "--set",
        "simulation.paths=200",
        "--grid",
        "rewards.base_apr=0.02,0.03,0.04",
        "--out",
        "sw",
        "-q",
    ])
    .ok();
    fx.run(["report", "sw", "-q"]).ok();
    let html = fx.read("sw/report.html");
    self_contained(&html);
    assert!(html.contains("data-chart=\"sweep-nav_loss-0\""));
    assert!(
        !html.contains("data-section=\"grid\""),
        "one axis: no heat map"
    );
}

#[test]
fn what_is_not_an_output_is_refused() {
    let fx = Fixture::new();
    fx.run(["report", "nowhere"])
        .expect_code(2)
        .stderr_has(&["nowhere: not a directory"]);
    fs::create_dir(fx.path("empty")).unwrap();
    fx.run(["report", "empty"])
        .expect_code(2)
        .stderr_has(&["neither a run's output directory"]);
    run_small(&fx, "out/small", &[]);
    fs::remove_file(fx.path("out/small/manifest.json")).unwrap();
    fx.run(["report", "out/small"])
        .expect_code(2)
        .stderr_has(&["no manifest.json"]);
    fx.run(["report", "empty", "--labels", "a,b"])
        .expect_code(2)
        .stderr_has(&["--labels A,B names the two runs of a comparison"]);
    fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--shard",
        "0/2",
        "--report",
        "-q",
    ])
    .expect_code(2)
    .stderr_has(&["--report needs an unsharded run"]);
    // A malformed file: its name and line.
    run_small(&fx, "out/ok", &[]);
    fs::write(
        fx.path("out/ok/loss_distribution.csv"),
        "metric,bin_lo\nx,1,2\n",
    )
    .unwrap();
    fx.run(["report", "out/ok"])
        .expect_code(2)
        .stderr_has(&["loss_distribution.csv:2: 3 fields where the header has 2"]);
    assert!(!fx.path("out/ok/report.html").exists());
}

/// A sector run's page sets its LRTs side by side: a table with a column per LRT, one
/// exceedance chart with a curve per LRT, their statistics, the joint losses against the product of each LRT's own probability
/// (the independent case), and each LRT's share of the sector's ES — every probability the
/// one summary.json has.
#[test]
fn a_sector_run_gets_its_lrts_side_by_side() {
    let fx = Fixture::new();
    let scenario = arg(&fixture::repo_scenario("shared-operator.toml"));
    fx.run([
        "run",
        scenario.as_str(),
        "--set",
        "simulation.paths=20000",
        "-q",
        "--report",
        "--out",
        "sec",
    ])
    .ok();
    let html = fx.read("sec/report.html");
    self_contained(&html);
    let summary = fx.read_json("sec/summary.json");
    let start = html
        .find("<section id=\"sector\"")
        .expect("a sector section");
    let sector = &html[start..start + html[start..].find("</section>").unwrap()];
    for needle in [
        "data-chart=\"exceedance-lrts\"",
        "data-chart=\"exceedance-lrts-nav\"",
        "data-chart=\"contrib-sector_slashed_eth-lrt\"",
        "data-chart=\"contrib-sector_holders_loss_eth-lrt\"",
        "data-chart=\"contrib-slashed_eth.lrt.alpha-avs\"",
        "data-chart=\"contrib-slashed_eth.lrt.beta-operator\"",
        "Joint losses",
        ">alpha<",
        ">beta<",
    ] {
        assert!(
            sector.contains(needle),
            "{needle} not in the sector section"
        );
    }
    let mean = |m: &str| summary["metrics"][m]["mean"].as_f64().unwrap();
    for b in [100, 500] {
        let joint = format!("joint_loss_over_{b}bps");
        for m in [
            joint.clone(),
            format!("loss_over_{b}bps.lrt.alpha"),
            format!("loss_over_{b}bps.lrt.beta"),
        ] {
            let cell = format!("data-value=\"{}\" data-metric=\"{m}\"", mean(&m));
            assert!(sector.contains(&cell), "{cell} not in the sector section");
        }
        // Independence: the product of the two LRTs' own probabilities.
        let product = mean(&format!("loss_over_{b}bps.lrt.alpha"))
            * mean(&format!("loss_over_{b}bps.lrt.beta"));
        assert!(
            sector.contains(&format!("data-value=\"{product}\"")),
            "{b} bps"
        );
    }
    // The side-by-side table: each LRT's mean and ES 99 % of slashing and NAV loss, in its
    // own column, read from summary.json.
    let table = &sector[sector.find("The LRTs side by side").expect("the table")..];
    for m in [
        "slashed_fraction.lrt.alpha",
        "slashed_fraction.lrt.beta",
        "nav_loss.lrt.alpha",
        "nav_loss.lrt.beta",
    ] {
        let mean_cell = format!(
            "data-value=\"{}\" data-metric=\"{m}\" data-stat=\"mean\"",
            mean(m)
        );
        let es = summary["metrics"][m]["es"]["0.99"].as_f64().unwrap();
        let es_cell =
            format!("data-value=\"{es}\" data-metric=\"{m}\" data-stat=\"es\" data-level=\"0.99\"");
        assert!(table.contains(&mean_cell), "{mean_cell}");
        assert!(table.contains(&es_cell), "{es_cell}");
    }
    // Shared operators: both losing more than 1 % is far likelier than for independent LRTs.
    let p = |m: &str| mean(m);
    assert!(
        p("joint_loss_over_100bps")
            > 3.0 * p("loss_over_100bps.lrt.alpha") * p("loss_over_100bps.lrt.beta")
    );
}
