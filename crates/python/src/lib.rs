//! The native half of the `lrtsim` Python package (`lrtsim._lrtsim`): scenarios loaded and
//! validated by `lrtsim-scenario`, runs by `lrtsim-run` — the same code as the command line,
//! so the same bits. The Python half (`python/lrtsim/`) turns what this returns into
//! DataFrames.
//!
//! A run releases the GIL: the simulation runs on a thread of its own while the calling thread
//! waits, waking every tenth of a second to check for signals (Ctrl-C stops the run between
//! chunks of paths and raises `KeyboardInterrupt`) and to report progress to a callback.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use lrtsim_run::run::{RunReport, Settings};
use lrtsim_run::tables::TableFormat;
use lrtsim_run::{Error, Monitor};
use lrtsim_scenario::{Model, ScenarioError};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

create_exception!(
    _lrtsim,
    NativeScenarioError,
    PyValueError,
    "A scenario that does not load or validate: args are (message, problems), each problem a (path, message, line, column, from_override) tuple."
);

/// One problem of a scenario: field path, message, line, column, the `--set` behind it.
type Problem = (String, String, Option<usize>, Option<usize>, Option<String>);

/// The Python exception for a scenario error: its message and its problems.
fn scenario_error(e: &ScenarioError) -> PyErr {
    let problems: Vec<Problem> = match e {
        ScenarioError::Invalid { problems, .. } => problems
            .iter()
            .map(|d| {
                (
                    d.path.clone(),
                    d.message.clone(),
                    d.location.map(|l| l.0),
                    d.location.map(|l| l.1),
                    d.from_override.clone(),
                )
            })
            .collect(),
        ScenarioError::Syntax {
            line,
            column,
            message,
            ..
        } => vec![(
            String::new(),
            message.clone(),
            Some(*line),
            Some(*column),
            None,
        )],
        ScenarioError::Override {
            assignment,
            message,
            ..
        } => vec![(
            assignment.split('=').next().unwrap_or_default().to_string(),
            message.clone(),
            None,
            None,
            Some(assignment.clone()),
        )],
        ScenarioError::Io { .. } => Vec::new(),
    };
    NativeScenarioError::new_err((e.to_string(), problems))
}

/// An error and its causes on one line, as the command line prints them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The Python exception for a run's error: a scenario error as such, bad input as
/// `ValueError`, anything else as `RuntimeError`.
fn run_error(e: &Error) -> PyErr {
    let mut inner = e;
    while let Error::Context { source, .. } = inner {
        inner = source;
    }
    match inner {
        Error::Scenario(s) if std::ptr::eq(inner, e) => scenario_error(s),
        _ if e.is_input() => PyValueError::new_err(chain(e)),
        _ => PyRuntimeError::new_err(chain(e)),
    }
}

/// A loaded, validated scenario (its model).
#[pyclass(module = "lrtsim._lrtsim", frozen)]
struct NativeScenario {
    model: Model,
}

#[pymethods]
impl NativeScenario {
    /// The scenario's name.
    #[getter]
    fn name(&self) -> String {
        self.model.name.clone()
    }

    /// Paths a run simulates.
    #[getter]
    fn paths(&self) -> u64 {
        self.model.paths
    }

    /// The run's seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.model.seed
    }

    /// Hash of the resolved scenario.
    #[getter]
    fn scenario_hash(&self) -> String {
        self.model.scenario_hash.clone()
    }

    /// The resolved scenario as TOML (scenario.resolved.toml).
    fn resolved_toml(&self) -> PyResult<String> {
        lrtsim_run::run::resolved_scenario_toml(&self.model).map_err(|e| run_error(&e))
    }

    /// The names of the metrics a run reports, in report order.
    fn metrics(&self) -> Vec<String> {
        let layout = lrtsim_sim::Layout::new(&self.model);
        lrtsim_run::run::metric_plan(&layout)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }
}

/// Loads and validates the scenario file `path` with `overrides` (`KEY=VALUE`, as `--set`).
#[pyfunction]
fn load_file(path: PathBuf, overrides: Vec<String>) -> PyResult<NativeScenario> {
    lrtsim_scenario::load_file(&path, &overrides)
        .map(|model| NativeScenario { model })
        .map_err(|e| scenario_error(&e))
}

/// Loads and validates a scenario from TOML `text` (errors name `origin` as its file).
#[pyfunction]
fn load_str(text: &str, origin: PathBuf, overrides: Vec<String>) -> PyResult<NativeScenario> {
    lrtsim_scenario::load_str(text, &origin, &overrides)
        .map(|model| NativeScenario { model })
        .map_err(|e| scenario_error(&e))
}

/// The TOML text of a scenario given as JSON (a dict's `json.dumps`): tables, arrays of
/// tables, strings, numbers and booleans; no nulls.
#[pyfunction]
fn toml_from_json(json: &str) -> PyResult<String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let value = toml::Value::try_from(value).map_err(|e| {
        PyValueError::new_err(format!(
            "the scenario cannot be written as TOML: {e} (None is not a TOML value; leave the key out instead)"
        ))
    })?;
    toml::to_string(&value).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// What the simulation thread shares with the waiting thread: progress, a stop request, the
/// warnings.
#[derive(Default)]
struct Shared {
    total: AtomicU64,
    done: AtomicU64,
    stop: AtomicBool,
    warnings: Mutex<Vec<String>>,
}

impl Monitor for Shared {
    fn started(&self, _name: &str, paths: u64) {
        self.total.store(paths, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    fn advanced(&self, paths: u64) {
        self.done.fetch_add(paths, Ordering::Relaxed);
    }

    fn warn(&self, line: &str) {
        self.warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line.to_string());
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A finished run: its report, computed and not yet written.
#[pyclass(module = "lrtsim._lrtsim", frozen)]
struct NativeResult {
    report: RunReport,
    warnings: Vec<String>,
}

#[pymethods]
impl NativeResult {
    /// summary.json's text.
    fn summary_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.report.summary)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Every report file's bytes, by file name (the run's directory but its manifest).
    fn files<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let files: BTreeMap<String, Vec<u8>> = py
            .detach(|| self.report.files_in_memory())
            .map_err(|e| run_error(&e))?;
        let out = PyDict::new(py);
        for (name, bytes) in files {
            out.set_item(name, PyBytes::new(py, &bytes))?;
        }
        Ok(out)
    }

    /// Writes every report file into the directory `dir` (created if needed, locked while
    /// written, its manifest last), as `lrtsim run --out dir --table-format F` does.
    #[pyo3(signature = (dir, table_format="csv"))]
    fn write(&self, py: Python<'_>, dir: PathBuf, table_format: &str) -> PyResult<()> {
        let format = self::table_format(table_format)?;
        let shared = Shared::default();
        let written = py.detach(|| {
            format.check_available()?;
            let set = lrtsim_run::outset::OutputSet::lock(&dir, "python", &shared)?;
            self.report.write_as(set, format)
        });
        // A stale lock taken over: a RuntimeWarning.
        for w in shared
            .warnings
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            let message = std::ffi::CString::new(w).unwrap_or_default();
            PyErr::warn(
                py,
                &py.get_type::<pyo3::exceptions::PyRuntimeWarning>(),
                &message,
                1,
            )?;
        }
        written.map_err(|e| run_error(&e))
    }

    /// Every path's values when the run kept them: (column names, columns as objects with
    /// numpy's `__array_interface__` over the run's own memory, so no copy); None otherwise.
    fn paths(slf: &Bound<'_, Self>) -> Option<(Vec<String>, Vec<PathColumn>)> {
        let (names, columns) = slf.get().report.paths()?;
        let columns = (0..columns.len())
            .map(|index| PathColumn {
                owner: slf.clone().unbind(),
                index,
            })
            .collect();
        Some((names.to_vec(), columns))
    }

    /// The warnings the run gave (as the command line prints them on stderr).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

/// One column of a run's kept paths, lent to numpy without a copy: `numpy.asarray(column)`
/// reads its `__array_interface__`, a read-only view of the result's own memory, and keeps
/// the column (so the result) alive as long as the array.
#[pyclass(module = "lrtsim._lrtsim", frozen)]
struct PathColumn {
    owner: Py<NativeResult>,
    index: usize,
}

#[pymethods]
impl PathColumn {
    /// numpy's array interface (version 3): shape, float64 in this machine's byte order, and
    /// the data's address, read-only.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (_, columns) = self
            .owner
            .get()
            .report
            .paths()
            .expect("a column exists only when the paths were kept");
        let column = &columns[self.index];
        let out = PyDict::new(py);
        out.set_item("version", 3)?;
        out.set_item("shape", (column.len(),))?;
        out.set_item(
            "typestr",
            if cfg!(target_endian = "little") {
                "<f8"
            } else {
                ">f8"
            },
        )?;
        out.set_item("data", (column.as_ptr() as usize, true))?;
        Ok(out)
    }

    fn __len__(&self) -> usize {
        self.owner
            .get()
            .report
            .paths()
            .map_or(0, |(_, columns)| columns[self.index].len())
    }
}

/// Runs `work` on a thread of its own with the GIL released, while this thread wakes every
/// tenth of a second: it checks for signals (an exception — Ctrl-C's `KeyboardInterrupt` —
/// asks `work` to stop through `shared`, and is raised once it has) and calls
/// `progress(done, total)`; then calls it once more with `(total, total)` on success.
fn wait_for<T: Send>(
    py: Python<'_>,
    shared: &Shared,
    progress: Option<&Py<PyAny>>,
    work: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<Result<T, Error>> {
    let mut interrupt: Option<PyErr> = None;
    let outcome = std::thread::scope(|s| {
        let handle = s.spawn(work);
        loop {
            py.detach(|| {
                for _ in 0..10 {
                    if handle.is_finished() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
            if handle.is_finished() {
                break;
            }
            if interrupt.is_none()
                && let Err(e) = py.check_signals()
            {
                shared.stop.store(true, Ordering::Relaxed);
                interrupt = Some(e);
            }
            if let (Some(cb), None) = (progress, &interrupt) {
                let done = shared.done.load(Ordering::Relaxed);
                let total = shared.total.load(Ordering::Relaxed);
                if let Err(e) = cb.call1(py, (done, total)) {
                    shared.stop.store(true, Ordering::Relaxed);
                    interrupt = Some(e);
                }
            }
        }
        handle
            .join()
            .unwrap_or_else(|_| Err(Error::Failed("the run panicked".to_string())))
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    if let Some(cb) = progress {
        let total = shared.total.load(Ordering::Relaxed);
        cb.call1(py, (total, total))?;
    }
    Ok(outcome)
}

/// Runs `scenario` and computes its report, without writing anything but, with
/// `paths_parquet`, every path's values to that file as the paths run. The GIL is released
/// while it runs; every tenth of a second the calling thread checks for signals (Ctrl-C stops
/// the run and raises `KeyboardInterrupt`) and calls `progress(done, total)` if given.
#[pyfunction]
#[pyo3(signature = (scenario, threads, tail_memory_mb, bins, contributions, keep_paths, progress=None, paths_parquet=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    scenario: &NativeScenario,
    threads: u32,
    tail_memory_mb: u32,
    bins: u32,
    contributions: bool,
    keep_paths: bool,
    progress: Option<Py<PyAny>>,
    paths_parquet: Option<PathBuf>,
) -> PyResult<NativeResult> {
    if keep_paths && scenario.model.paths > lrtsim_run::run::MAX_PATHS_CSV {
        return Err(PyValueError::new_err(format!(
            "keep_paths holds every path's values in memory; it is meant for runs of at most {} paths (this one has {})",
            lrtsim_run::run::MAX_PATHS_CSV,
            scenario.model.paths
        )));
    }
    if tail_memory_mb == 0 || bins == 0 {
        return Err(PyValueError::new_err(
            "tail_memory_mb and bins must be at least 1",
        ));
    }
    let settings = Settings {
        threads,
        tail_memory_mb,
        bins,
        paths_csv: keep_paths,
        contributions,
        table_format: TableFormat::Csv,
    };
    let model = &scenario.model;
    let shared = Shared::default();
    let outcome = wait_for(py, &shared, progress.as_ref(), || {
        let parquet_dir = paths_parquet.as_ref().and_then(|p| p.parent());
        let parquet_dir = parquet_dir.map(|d| {
            if d.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                d
            }
        });
        let (outcome, sink) =
            lrtsim_run::run::simulate(model, &settings, None, parquet_dir, &shared)?;
        let report = RunReport::compute(model, &outcome, sink, &settings)?;
        if let Some(dest) = &paths_parquet {
            report.persist_paths_parquet(dest)?;
        }
        lrtsim_run::run::warn_unresolved(model, &report.summary, &shared);
        lrtsim_run::run::warn_degenerate(model, &report.summary, &shared);
        Ok(report)
    })?;
    let report = outcome.map_err(|e| run_error(&e))?;
    let warnings = shared
        .warnings
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(NativeResult { report, warnings })
}

/// The tables' format named `name` (`csv`, `parquet` or `both`).
fn table_format(name: &str) -> PyResult<TableFormat> {
    TableFormat::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "table_format {name:?}: use \"csv\", \"parquet\" or \"both\""
        ))
    })
}

/// sweep.csv's header and rows, the sweep's directory, its warnings.
type SweepTable = (Vec<String>, Vec<Vec<String>>, String, Vec<String>);

/// Runs a sweep as `lrtsim sweep` does, into `out` (its points' folders and sweep.csv), and
/// returns sweep.csv's header and rows. The scenario is the file `scenario`, or `text` (named
/// `scenario` in messages). Progress, interrupts and the GIL as for [`run`].
#[pyfunction]
#[pyo3(signature = (scenario, text, set, grid, zip, seeds, out, force, decomposition, threads, tail_memory_mb, bins, contributions, progress=None, table_format_name="csv".to_string()))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    scenario: PathBuf,
    text: Option<String>,
    set: Vec<String>,
    grid: Vec<String>,
    zip: Vec<String>,
    seeds: Option<u32>,
    out: String,
    force: bool,
    decomposition: Option<String>,
    threads: u32,
    tail_memory_mb: u32,
    bins: u32,
    contributions: bool,
    progress: Option<Py<PyAny>>,
    table_format_name: String,
) -> PyResult<SweepTable> {
    let request = lrtsim_run::sweep::SweepRequest {
        scenario,
        text,
        set,
        grid,
        zip,
        seeds,
        out,
        force,
        contributions: decomposition,
        settings: Settings {
            threads,
            tail_memory_mb,
            bins,
            paths_csv: false,
            contributions,
            table_format: table_format(&table_format_name)?,
        },
    };
    let shared = Shared::default();
    let outcome = wait_for(py, &shared, progress.as_ref(), || {
        lrtsim_run::sweep::sweep(&request, &shared)
    })?
    .map_err(|e| run_error(&e))?;
    let warnings = shared
        .warnings
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok((
        outcome.header,
        outcome.rows,
        outcome.out.to_string_lossy().into_owned(),
        warnings,
    ))
}

/// Replays path `path` of `scenario`: (summary text, events.csv, trace.csv, path.csv), the
/// files `lrtsim replay` writes, as text.
#[pyfunction]
fn replay(
    py: Python<'_>,
    scenario: &NativeScenario,
    path: u64,
) -> PyResult<(String, String, String, String)> {
    let model = &scenario.model;
    if path >= model.paths {
        return Err(PyValueError::new_err(format!(
            "path {path}: the scenario has paths 0 to {} (simulation.paths = {})",
            model.paths.saturating_sub(1),
            model.paths
        )));
    }
    py.detach(|| {
        let r = lrtsim_sim::replay(model, path).map_err(Error::from)?;
        let mut trace = Vec::new();
        r.write_trace_csv(&mut trace)?;
        Ok::<_, Error>((
            r.summary_text(),
            r.events_csv(),
            String::from_utf8_lossy(&trace).into_owned(),
            r.path_csv(),
        ))
    })
    .map_err(|e| run_error(&e))
}

/// The engine's version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The native module.
#[pymodule]
fn _lrtsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScenarioError", m.py().get_type::<NativeScenarioError>())?;
    m.add_class::<NativeScenario>()?;
    m.add_class::<NativeResult>()?;
    m.add_class::<PathColumn>()?;
    m.add_function(wrap_pyfunction!(load_file, m)?)?;
    m.add_function(wrap_pyfunction!(load_str, m)?)?;
    m.add_function(wrap_pyfunction!(toml_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
