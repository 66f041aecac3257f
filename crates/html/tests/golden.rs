//! Golden tests: the reports of small fixed runs (tests/fixture/, see its README) compared
//! byte for byte with committed pages (tests/golden/*.html). Numbers are formatted
//! deterministically, so the pages are the same on every machine. After an intended change,
//! regenerate with `LRTSIM_HTML_BLESS=1 cargo test -p lrtsim-html --test golden` and review
//! the diff.

use std::fs;
use std::path::{Path, PathBuf};

use lrtsim_html::{Error, Stories, Story};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixture")
        .join(name)
}

/// Compares `html` with the golden file `name`, or writes it with `LRTSIM_HTML_BLESS=1`.
fn golden(name: &str, html: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("LRTSIM_HTML_BLESS").is_some() {
        fs::write(&path, html).expect("writing the golden file");
        return;
    }
    let want = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (LRTSIM_HTML_BLESS=1 writes it)", path.display()));
    if want != html {
        let line = want
            .lines()
            .zip(html.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| want.lines().count().min(html.lines().count()));
        panic!(
            "{} differs from the page rendered now, first at line {}:\n  golden: {}\n  now:    {}\n(after an intended change: LRTSIM_HTML_BLESS=1 cargo test -p lrtsim-html --test golden)",
            path.display(),
            line + 1,
            want.lines()
                .nth(line)
                .unwrap_or("<end>")
                .chars()
                .take(300)
                .collect::<String>(),
            html.lines()
                .nth(line)
                .unwrap_or("<end>")
                .chars()
                .take(300)
                .collect::<String>()
        );
    }
}

/// What every page must be: self-contained and script-free.
fn self_contained(html: &str) {
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "an external URL"
    );
    assert!(!html.contains("<script"), "a script");
    assert!(!html.contains(" src="), "a src attribute");
}

#[test]
fn bank_run_report_matches_its_golden_page() {
    let stories = Stories::Lines {
        metric: "nav_loss".into(),
        stories: vec![Story {
            path: 4849,
            value: 0.027675117865064602,
            line: "bridge-x-bug slashing on day 10, 35,623 ETH slashed; queue 25.8 days".into(),
        }],
    };
    let html = lrtsim_html::run_report(&fixture("bank-run"), &stories).expect("the report");
    self_contained(&html);
    for id in ["scenario", "loss", "drivers", "redemptions", "worst"] {
        assert!(
            html.contains(&format!("data-section=\"{id}\"")),
            "section {id}"
        );
    }
    for chart in [
        "hist-nav_loss",
        "exceedance-nav_loss",
        "contrib-slashed_eth-avs",
        "waits",
        "fan-queue",
    ] {
        assert!(
            html.contains(&format!("data-chart=\"{chart}\"")),
            "chart {chart}"
        );
    }
    // exceedance.csv is there: the curve has its band, read from the file.
    assert!(html.contains("(exceedance.csv, from 10 % down)"));
    assert!(
        !html.contains("data-section=\"market\""),
        "no market without [market]"
    );
    golden("bank-run.html", &html);
}

#[test]
fn steth_report_matches_its_golden_page() {
    let html = lrtsim_html::run_report(
        &fixture("steth-2022"),
        &Stories::Unavailable("the run directory has no scenario.resolved.toml".into()),
    )
    .expect("the report");
    self_contained(&html);
    assert!(html.contains("data-chart=\"fan-price\""));
    assert!(html.contains("data-chart=\"hist-max_discount\""));
    assert!(!html.contains("data-section=\"redemptions\""));
    assert!(html.contains("stories are unavailable"));
    // No exceedance.csv: the curve comes from the histogram.
    assert!(html.contains("no exceedance.csv"));
    golden("steth-2022.html", &html);
}

/// A copy of a fixture in a temporary directory, with `file` replaced by `text`.
fn broken(fixture_name: &str, file: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for entry in fs::read_dir(fixture(fixture_name)).expect("the fixture") {
        let entry = entry.expect("an entry");
        fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copying");
    }
    fs::write(dir.path().join(file), text).expect("writing");
    let p = dir.path().to_path_buf();
    (dir, p)
}

#[test]
fn malformed_inputs_are_errors_naming_file_and_line() {
    let none = Stories::Unavailable(String::new());
    let (_d, dir) = broken(
        "steth-2022",
        "summary.json",
        "{\n  \"scenario\": \"x\",\n  \"seed\": \"no\"\n}\n",
    );
    match lrtsim_html::run_report(&dir, &none) {
        Err(e @ Error::Json { line: 3, .. }) => assert!(e.to_string().contains("summary.json:3:")),
        other => panic!("{other:?}"),
    }
    let (_d, dir) = broken(
        "steth-2022",
        "loss_distribution.csv",
        "metric,bin_lo,bin_hi,count,pdf,cdf,exceedance\nnav_loss,0,1,5,1,1,0\nnav_loss,x,1,5,1,1,0\n",
    );
    let e = lrtsim_html::run_report(&dir, &none).expect_err("a bad number");
    assert!(
        e.to_string()
            .contains("loss_distribution.csv:3: column `bin_lo`: \"x\" is not a number"),
        "{e}"
    );
    let (_d, dir) = broken(
        "steth-2022",
        "price_paths.csv",
        "step,day,paths,p01\n1,1,5,0.9\n",
    );
    let e = lrtsim_html::run_report(&dir, &none).expect_err("a missing column");
    assert!(
        e.to_string()
            .contains("price_paths.csv:1: the header has no column `p05`"),
        "{e}"
    );
    let (_d, dir) = broken(
        "steth-2022",
        "contributions.csv",
        "metric,level\nslashed_eth,0.9,extra\n",
    );
    let e = lrtsim_html::run_report(&dir, &none).expect_err("a ragged row");
    assert!(
        e.to_string()
            .contains("contributions.csv:2: 3 fields where the header has 2"),
        "{e}"
    );
}

#[test]
fn directories_are_told_apart() {
    assert_eq!(
        lrtsim_html::dir_kind(&fixture("bank-run")).unwrap(),
        lrtsim_html::DirKind::Run
    );
    let e = lrtsim_html::dir_kind(&fixture("")).expect_err("the fixture root is no output");
    assert!(
        e.to_string().contains("neither a run's output directory"),
        "{e}"
    );
}

#[test]
fn sweep_report_matches_its_golden_page() {
    let html = lrtsim_html::sweep_report(&fixture("sweep")).expect("the report");
    self_contained(&html);
    for chart in [
        "sweep-nav_loss-0",
        "sweep-slashed_fraction-1",
        "heat-nav_loss-es",
        "heat-slashed_fraction-mean",
    ] {
        assert!(
            html.contains(&format!("data-chart=\"{chart}\"")),
            "chart {chart}"
        );
    }
    golden("sweep.html", &html);
}

#[test]
fn files_with_a_header_alone_give_a_page_without_their_charts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for entry in fs::read_dir(fixture("bank-run")).expect("the fixture") {
        let entry = entry.expect("an entry");
        fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copying");
    }
    for (file, header) in [
        (
            "queue_paths.csv",
            "step,day,paths,p01,p05,p25,p50,p75,p95,p99\n",
        ),
        (
            "exceedance.csv",
            "metric,tail_prob,loss,ci_lo,ci_hi,exact,tail_paths\n",
        ),
        (
            "contributions.csv",
            "metric,level,decomposition,component,es_contribution,share,ci_lo,ci_hi,standalone_es,var_contribution,var_contribution_lo,var_contribution_hi,es,var,diversification_benefit,tail_paths,window_paths,exact\n",
        ),
    ] {
        fs::write(dir.path().join(file), header).expect("writing");
    }
    let html = lrtsim_html::run_report(dir.path(), &Stories::Unavailable(String::new()))
        .expect("the report");
    assert!(!html.contains("data-chart=\"fan-queue\""));
    assert!(!html.contains("data-section=\"drivers\""));
    assert!(html.contains("data-chart=\"exceedance-nav_loss\""));
    assert!(!html.contains(" d=\"Z\""), "an empty path");
}
