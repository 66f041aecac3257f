//! The scenario format at its edges: every numeric field of every shipped scenario, set to
//! values at and beyond the ends of any sensible range.
//!
//! The fields are found by walking the parsed TOML of `scenarios/*.toml` (array entries and
//! numeric arrays included), and each is set in the file's own text, so errors point at its
//! real line. The contract:
//!
//! - **validation** (in-process, through `lrtsim_scenario::load_str`) never panics: it returns
//!   a model, or an error whose every problem names a field or a place in the file;
//! - **a small run** of a scenario that validated (the binary, a few paths) exits 0 and writes
//!   only finite numbers into every report file.
//!
//! `boundary_validation` checks every case; `boundary_runs_sample` runs a fixed, seeded sample
//! of the valid cases (about a minute); `boundary_runs_all` runs every one of them — it is
//! `#[ignore]`d in the default suite and run by `.ci/run`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lrtsim_scenario::ScenarioError;
use toml::de::{DeTable, DeValue};

/// The values every numeric field is set to (as TOML literals). `0` is an integer literal,
/// which float fields accept too.
const VALUES: [&str; 12] = [
    "0", "-0.0", "5e-324", "1e-300", "1e-9", "1e9", "1e300", "1e308", "-1", "nan", "inf", "-inf",
];
/// Extra values for integer fields (the float literals above are type errors for them).
const INTEGER_VALUES: [&str; 3] = ["1", "1000000000", "9223372036854775807"];

/// Paths of a small run (unless the case sets `simulation.paths` itself).
const RUN_PATHS: u64 = 8;
/// Runs with more paths than this (a case setting `simulation.paths`) are not run.
const MAX_RUN_PATHS: u64 = 1_000;
/// How long one small run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A numeric field of a scenario file.
#[derive(Debug, Clone)]
struct Field {
    /// `operators[3].share`, `market.report.thresholds_bps[1]`.
    path: String,
    /// Where its value is in the file.
    span: Range<usize>,
    /// Whether the file writes it as an integer.
    integer: bool,
}

/// One case: a shipped scenario with one field set to one value.
#[derive(Debug, Clone)]
struct Case {
    file: PathBuf,
    field: String,
    value: &'static str,
    text: String,
}

impl Case {
    fn label(&self) -> String {
        format!(
            "{} {}{}{}",
            self.file.file_name().unwrap().to_string_lossy(),
            self.field,
            if self.value.is_empty() { "" } else { "=" },
            self.value
        )
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the shipped scenarios are in {dir:?}");
    files
}

/// Every numeric value of a TOML document, with its field path.
fn numeric_fields(text: &str) -> Vec<Field> {
    fn walk(value: &toml::Spanned<DeValue<'_>>, path: String, out: &mut Vec<Field>) {
        match value.get_ref() {
            DeValue::Integer(_) | DeValue::Float(_) => out.push(Field {
                path,
                span: value.span(),
                integer: value.get_ref().is_integer(),
            }),
            DeValue::Table(t) => table(t, &path, out),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    fn table(t: &DeTable<'_>, prefix: &str, out: &mut Vec<Field>) {
        for (key, value) in t.iter() {
            let key = key.get_ref().as_ref();
            let path = if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}.{key}")
            };
            walk(value, path, out);
        }
    }
    let doc = DeTable::parse(text).expect("shipped scenarios parse");
    let mut out = Vec::new();
    table(doc.get_ref(), "", &mut out);
    out
}

/// Every case of every shipped scenario, in a fixed order.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for file in scenario_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for f in numeric_fields(&text) {
            let extra: &[&'static str] = if f.integer { &INTEGER_VALUES } else { &[] };
            for &value in VALUES.iter().chain(extra) {
                let mut t = String::with_capacity(text.len() + 32);
                t.push_str(&text[..f.span.start]);
                t.push_str(value);
                t.push_str(&text[f.span.end..]);
                out.push(Case {
                    file: file.clone(),
                    field: f.path.clone(),
                    value,
                    text: t,
                });
            }
        }
    }
    out
}

/// Validates a case in-process: `Ok(true)` valid, `Ok(false)` refused with a located error,
/// `Err` a broken contract.
fn validate(case: &Case) -> Result<bool, String> {
    let result = quietly(|| lrtsim_scenario::load_str(&case.text, &case.file, &[]));
    match result {
        Err(p) => Err(format!("validation panicked: {}", panic_message(&*p))),
        Ok(Ok(model)) => {
            // What the runs rely on: the compiled model is self-consistent.
            if model.paths == 0 || model.n_steps == 0 {
                return Err(format!(
                    "validated with {} paths × {} steps",
                    model.paths, model.n_steps
                ));
            }
            Ok(true)
        }
        Ok(Err(ScenarioError::Invalid { problems, .. })) => {
            match problems
                .iter()
                .find(|d| d.location.is_none() && d.path.is_empty())
            {
                Some(d) => Err(format!("an error names no field: {}", d.message)),
                None if problems.is_empty() => Err("refused without a problem".into()),
                None => Ok(false),
            }
        }
        Ok(Err(e @ ScenarioError::Syntax { .. })) => {
            Err(format!("a value the test wrote is a syntax error: {e}"))
        }
        Ok(Err(e)) => Err(format!("unexpected error: {e}")),
    }
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `f` under `catch_unwind`, without the panic hook's message and backtrace for its panics
/// (the contract's failures are listed at the end instead).
fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                default(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// Runs a valid case with a few paths in `dir`; checks the exit status and that every report
/// holds only finite numbers.
fn run(case: &Case, dir: &Path) -> Result<(), String> {
    let scenario = dir.join(case.file.file_name().unwrap());
    std::fs::write(&scenario, &case.text).unwrap();
    let out = dir.join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lrtsim"));
    cmd.arg("run")
        .arg(&scenario)
        .args([
            "--quiet",
            "--threads",
            "1",
            "--paths-csv",
            "--format",
            "json",
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if case.field != "simulation.paths" {
        cmd.args(["--set", &format!("simulation.paths={RUN_PATHS}")]);
    }
    if case.text.contains("\n[importance]") {
        // The cross-entropy pilots at their smallest.
        for (key, value) in [("pilot_paths", "1000"), ("iterations", "2")] {
            if case.field != format!("importance.{key}") {
                cmd.args(["--set", &format!("importance.{key}={value}")]);
            }
        }
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > RUN_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            return Err(format!("the run took longer than {RUN_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).ok();
    if !status.success() {
        return Err(format!("exit status {status}: {}", stderr.trim()));
    }
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if name.ends_with(".json") {
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
            if let Some(at) = null_in(&v, String::new()) {
                return Err(format!("{name}: non-finite number (null) at {at}"));
            }
        } else if name.ends_with(".csv") {
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
            for (row, line) in lines.enumerate() {
                for (col, cell) in line.split(',').enumerate() {
                    if cell.parse::<f64>().is_ok_and(|x| !x.is_finite()) {
                        return Err(format!(
                            "{name}: non-finite {cell} in row {} column {}",
                            row + 1,
                            header.get(col).unwrap_or(&"?")
                        ));
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}

/// The first JSON `null` (a non-finite number: serde_json writes NaN and ±∞ as null).
fn null_in(v: &serde_json::Value, at: String) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| null_in(x, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map
            .iter()
            .find_map(|(k, x)| null_in(x, format!("{at}.{k}"))),
        _ => None,
    }
}

/// SplitMix64: the sample's fixed pseudo-random order.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The valid cases, after checking the validation contract of every case.
fn valid_cases() -> Vec<Case> {
    let all = cases();
    let verdicts: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let half = all.len() / 2;
        let (a, b) = all.split_at(half);
        let other = s.spawn(|| b.iter().map(validate).collect::<Vec<_>>());
        let mut v: Vec<_> = a.iter().map(validate).collect();
        v.extend(other.join().unwrap());
        v
    });
    let mut failures = Vec::new();
    let mut valid = Vec::new();
    for (case, verdict) in all.into_iter().zip(verdicts) {
        match verdict {
            Ok(true) => valid.push(case),
            Ok(false) => {}
            Err(e) => failures.push(format!("{}: {e}", case.label())),
        }
    }
    report(&failures, "validation");
    valid
}

/// Runs `cases` on two threads; fails listing every broken case.
fn run_all(cases: &[Case]) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let dir = tempfile::tempdir().unwrap();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    if case.field == "simulation.paths"
                        && case.value.parse::<u64>().is_ok_and(|n| n > MAX_RUN_PATHS)
                    {
                        continue;
                    }
                    if let Err(e) = run(case, dir.path()) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: {e}", case.label()));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    report(&failures, "runs");
}

/// Fails listing the first broken cases; all of them are in a file under the target
/// directory.
fn report(failures: &[String], what: &str) {
    if !failures.is_empty() {
        let all = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("boundary-{what}.txt"));
        std::fs::write(&all, failures.join("\n")).ok();
        let shown: Vec<&str> = failures.iter().take(40).map(String::as_str).collect();
        panic!(
            "{} cases break the {what} contract (all of them: {}):\n{}",
            failures.len(),
            all.display(),
            shown.join("\n"),
        );
    }
}

#[test]
fn boundary_validation() {
    let all = cases();
    assert!(
        all.len() > 10_000,
        "every numeric field of every shipped scenario: {} cases",
        all.len()
    );
    let started = Instant::now();
    let valid = valid_cases();
    eprintln!(
        "{} cases, {} valid, validated in {:.1} s",
        all.len(),
        valid.len(),
        started.elapsed().as_secs_f64()
    );
    // The values at the ends are refused far more often than not.
    assert!(
        valid.len() < all.len() / 2,
        "{} valid of {}",
        valid.len(),
        all.len()
    );
}

/// How many valid cases the default suite runs (about a minute on two cores).
const SAMPLE_RUNS: usize = 1_000;

#[test]
fn boundary_runs_sample() {
    let mut valid = valid_cases();
    let mut state = 0x6c72_7473_696d_u64;
    // A fixed shuffle (Fisher–Yates), then the first SAMPLE_RUNS.
    for i in (1..valid.len()).rev() {
        let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
        valid.swap(i, j);
    }
    valid.truncate(SAMPLE_RUNS);
    run_all(&valid);
}

#[test]
#[ignore = "every valid case: minutes; .ci/run runs it"]
fn boundary_runs_all() {
    run_all(&valid_cases());
}

// ---------------------------------------------------------------------------------------------
// Mutations: the shipped scenarios with keys deleted, duplicated, renamed or retyped, lines
// dropped or swapped, files truncated or mixed with binary garbage. Same contract: loading
// (from a file, as `lrtsim` does) never panics and returns a model or a located error; a
// sample of the mutants that still load runs to finite reports.

/// Mutated files per shipped scenario.
const MUTATIONS_PER_SCENARIO: usize = 300;
/// Mutants that still load, run in the default suite.
const MUTANT_RUNS: usize = 40;

/// Values of another type (or another shape) than a field's.
const RETYPED: [&str; 10] = [
    "\"text\"",
    "true",
    "[1, 2]",
    "[]",
    "{ a = 1 }",
    "{}",
    "1979-05-27T07:32:00Z",
    "7",
    "0.5",
    "[[1], [2]]",
];

/// One mutation of `text`, chosen by `rng`; returns its bytes and what it did.
fn mutate(text: &str, rng: &mut u64) -> (Vec<u8>, String) {
    let lines: Vec<&str> = text.lines().collect();
    let pick = |rng: &mut u64, n: usize| (splitmix(rng) % n.max(1) as u64) as usize;
    let assignments: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let l = lines[i].trim_start();
            !l.starts_with('#') && !l.starts_with('[') && l.contains('=')
        })
        .collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with('['))
        .collect();
    let join = |ls: &[String]| ls.join("\n").into_bytes();
    let mut owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match splitmix(rng) % 10 {
        0 => {
            let i = assignments[pick(rng, assignments.len())];
            owned.remove(i);
            (join(&owned), format!("deleted line {}", i + 1))
        }
        1 => {
            let i = assignments[pick(rng, assignments.len())];
            owned.insert(i, owned[i].clone());
            (join(&owned), format!("duplicated line {}", i + 1))
        }
        2 | 3 => {
            let i = assignments[pick(rng, assignments.len())];
            let (key, _) = owned[i].split_once('=').unwrap();
            let v = RETYPED[pick(rng, RETYPED.len())];
            owned[i] = format!("{key}= {v}");
            (
                join(&owned),
                format!("line {}: value retyped to {v}", i + 1),
            )
        }
        4 => {
            let i = assignments[pick(rng, assignments.len())];
            let (key, value) = owned[i].split_once('=').unwrap();
            owned[i] = format!("{}x ={value}", key.trim_end());
            (join(&owned), format!("line {}: key renamed", i + 1))
        }
        5 => {
            let i = headers[pick(rng, headers.len())];
            if splitmix(rng).is_multiple_of(2) {
                owned.remove(i);
                (join(&owned), format!("header on line {} dropped", i + 1))
            } else {
                owned.insert(i, owned[i].clone());
                (join(&owned), format!("header on line {} duplicated", i + 1))
            }
        }
        6 => {
            let (i, j) = (pick(rng, owned.len()), pick(rng, owned.len()));
            owned.swap(i, j);
            (
                join(&owned),
                format!("lines {} and {} swapped", i + 1, j + 1),
            )
        }
        7 => {
            let mut at = pick(rng, text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            (
                text.as_bytes()[..at].to_vec(),
                format!("truncated at byte {at}"),
            )
        }
        8 => {
            // Binary garbage spliced in.
            let at = pick(rng, text.len());
            let n = 1 + pick(rng, 64);
            let garbage: Vec<u8> = (0..n).map(|_| splitmix(rng) as u8).collect();
            let mut bytes = text.as_bytes().to_vec();
            bytes.splice(at..at, garbage);
            (bytes, format!("{n} random bytes at byte {at}"))
        }
        _ => {
            // A whole file of garbage, printable or not.
            let n = pick(rng, 512);
            let printable = splitmix(rng).is_multiple_of(2);
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    let b = splitmix(rng) as u8;
                    if printable { b' ' + b % 95 } else { b }
                })
                .collect();
            (bytes, format!("{n} bytes of garbage"))
        }
    }
}

/// Loads mutated bytes from a file the way `lrtsim` does: `Ok(true)` a model, `Ok(false)` a
/// located error, `Err` a broken contract.
fn load_mutant(bytes: &[u8], file: &Path) -> Result<bool, String> {
    std::fs::write(file, bytes).unwrap();
    match quietly(|| lrtsim_scenario::load_file(file, &[])) {
        Err(p) => Err(format!("loading panicked: {}", panic_message(&*p))),
        Ok(Ok(_)) => Ok(true),
        Ok(Err(ScenarioError::Invalid { problems, .. })) => match problems
            .iter()
            .find(|d| d.location.is_none() && d.path.is_empty())
        {
            Some(d) => Err(format!("an error names no field: {}", d.message)),
            None if problems.is_empty() => Err("refused without a problem".into()),
            None => Ok(false),
        },
        Ok(Err(ScenarioError::Syntax { line, column, .. })) if line >= 1 && column >= 1 => {
            Ok(false)
        }
        Ok(Err(e)) => Err(format!("unexpected error: {e}")),
    }
}

#[test]
fn mutations() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = 0x6d75_7461_6e74_u64;
    let mut failures = Vec::new();
    let mut loaded = Vec::new();
    let (mut cases, mut valid) = (0, 0);
    for file in scenario_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let target = dir.path().join(file.file_name().unwrap());
        for _ in 0..MUTATIONS_PER_SCENARIO {
            let (bytes, what) = mutate(&text, &mut rng);
            cases += 1;
            match load_mutant(&bytes, &target) {
                Ok(true) => {
                    valid += 1;
                    if let Ok(text) = String::from_utf8(bytes) {
                        loaded.push(Case {
                            file: file.clone(),
                            field: format!("({what})"),
                            value: "",
                            text,
                        });
                    }
                }
                Ok(false) => {}
                Err(e) => failures.push(format!(
                    "{} {what}: {e}",
                    file.file_name().unwrap().to_string_lossy()
                )),
            }
        }
    }
    eprintln!("{cases} mutants, {valid} still load");
    report(&failures, "mutation");
    assert!(cases >= 3_000);
    // A fixed sample of the mutants that load, run.
    let stride = (loaded.len() / MUTANT_RUNS).max(1);
    let sample: Vec<Case> = loaded
        .into_iter()
        .step_by(stride)
        .take(MUTANT_RUNS)
        .collect();
    run_all(&sample);
}
