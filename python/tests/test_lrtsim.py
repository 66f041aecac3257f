"""The Python package against the command line: the same files, bit for bit; its errors;
interrupting a run; progress. Run: `pytest python/tests` after `pip install .` (the README
says how); the command-line binary is found in target/ (`cargo build` makes it) or at
$LRTSIM_BIN."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import lrtsim

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def cli() -> Path:
    """The command-line binary."""
    env = os.environ.get("LRTSIM_BIN")
    if env:
        return Path(env)
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "lrtsim"
        if p.exists():
            return p
    pytest.fail("no lrtsim binary: run `cargo build` first, or set LRTSIM_BIN")


def run_cli(tmp_path: Path, scenario: str, *args: str) -> Path:
    out = tmp_path / "cli"
    subprocess.run(
        [str(cli()), "run", str(SCENARIOS / scenario), "-q", "--out", str(out), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def files_of(directory: Path) -> dict:
    return {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != "manifest.json"
    }


@pytest.mark.parametrize(
    "scenario,paths",
    [("baseline.toml", 20_000), ("bank-run.toml", 2_000), ("leverage-loop.toml", 300),
     ("shared-operator.toml", 5_000), ("risk-on-vote.toml", 5_000)],
)
def test_results_are_the_command_lines_bytes(tmp_path, scenario, paths):
    expected = files_of(run_cli(tmp_path, scenario, "--set", f"simulation.paths={paths}"))
    result = lrtsim.load(SCENARIOS / scenario).run(paths=paths, progress=False)
    assert result.files() == expected
    written = result.write(tmp_path / "py")
    assert files_of(written) == expected
    assert (written / "manifest.json").exists()


def test_tables_are_the_csv_files(tmp_path):
    result = lrtsim.load(SCENARIOS / "bank-run.toml").run(paths=2_000, progress=False)
    files = result.files()
    for method, name in [
        (result.tail, "tail_metrics.csv"),
        (result.loss_distribution, "loss_distribution.csv"),
        (result.exceedance, "exceedance.csv"),
        (result.contributions, "contributions.csv"),
        (result.redemption_waits, "redemption_wait.csv"),
        (result.queue_bands, "queue_paths.csv"),
        (result.exit_queue_bands, "exit_queue_paths.csv"),
    ]:
        frame = method()
        pd.testing.assert_frame_equal(frame, pd.read_csv(io.BytesIO(files[name])))
        assert len(frame) > 0, name
    assert result.price_bands() is None
    assert result.utilization_bands() is None
    assert result.summary["scenario"] == "bank-run"
    assert result.summary["paths"] == 2_000
    tail = result.tail()
    assert list(tail.columns) == [
        "metric", "level", "var", "var_lo", "var_hi", "es", "es_lo", "es_hi", "exact",
    ]
    var99 = tail[(tail.metric == "nav_loss") & (tail.level == 0.99)]["var"].item()
    assert var99 == result.summary["metrics"]["nav_loss"]["var"]["0.99"]


def test_a_sectors_bands_are_its_csv_files():
    scenario = lrtsim.load(SCENARIOS / "sector-2026.toml").with_set(
        {"simulation.horizon_days": 5}
    )
    result = scenario.run(paths=300, progress=False)
    files = result.files()
    assert result.price_bands() is None
    for lrt in ["kelp", "etherfi", "renzo", "steth"]:
        frame = result.price_bands(lrt=lrt)
        name = f"price_paths.lrt.{lrt}.csv"
        pd.testing.assert_frame_equal(frame, pd.read_csv(io.BytesIO(files[name])))
        assert len(frame) == 20, name
    assert result.price_bands(lrt="nobody") is None
    for method, name in [
        (result.exit_queue_bands, "exit_queue_paths.csv"),
        (result.utilization_bands, "utilization_paths.csv"),
    ]:
        pd.testing.assert_frame_equal(method(), pd.read_csv(io.BytesIO(files[name])))


def test_kept_paths_are_paths_csv(tmp_path):
    out = run_cli(tmp_path, "rare-tail.toml", "--set", "simulation.paths=3000", "--paths-csv")
    expected = pd.read_csv(out / "paths.csv", index_col="path").astype("float64")
    result = lrtsim.load(SCENARIOS / "rare-tail.toml").run(
        paths=3000, keep_paths=True, progress=False
    )
    frame = result.paths
    assert list(frame.columns) == list(expected.columns)
    assert "weight" in frame.columns  # importance sampling: the weights too
    # paths.csv writes each value's shortest decimal, which reads back to the same bits.
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_names=False)
    assert lrtsim.load(SCENARIOS / "baseline.toml").run(paths=100, progress=False).paths is None


def test_thread_counts_give_the_same_bits():
    s = lrtsim.load(SCENARIOS / "baseline.toml").with_set({"simulation.paths": 30_000})
    one = s.run(threads=1, progress=False).files()
    two = s.run(threads=2, progress=False).files()
    assert one == two


def test_overrides_seed_and_dict_round_trip(tmp_path):
    tomllib = pytest.importorskip("tomllib")
    base = lrtsim.load(SCENARIOS / "baseline.toml")
    assert base.name == "baseline"
    s = base.with_set({"simulation.paths": 5_000, "simulation.seed": 7})
    assert (s.paths, s.seed) == (5_000, 7)
    expected = files_of(
        run_cli(tmp_path, "baseline.toml", "--set", "simulation.paths=5000",
                "--set", "simulation.seed=7")
    )
    assert s.run(progress=False).files() == expected
    assert base.run(paths=5_000, seed=7, progress=False).files() == expected
    d = tomllib.loads((SCENARIOS / "baseline.toml").read_text())
    from_dict = lrtsim.Scenario.from_dict(d).with_set({"simulation.paths": 5_000, "simulation.seed": 7})
    assert from_dict.scenario_hash == s.scenario_hash
    assert from_dict.run(progress=False).files() == expected
    text = (SCENARIOS / "baseline.toml").read_text()
    assert lrtsim.Scenario.from_toml(text).scenario_hash == base.scenario_hash


def test_scenario_errors_name_the_field_line_and_column():
    bad = 'name = "x"\n[simulation]\npaths = -1\n'
    s = lrtsim.Scenario.from_toml(bad, name="bad.toml")
    with pytest.raises(lrtsim.ScenarioError) as e:
        s.validate()
    assert str(e.value).startswith("bad.toml:3:1: simulation.paths")
    (p,) = e.value.problems
    assert (p.path, p.line, p.column) == ("simulation.paths", 3, 1)
    with pytest.raises(lrtsim.ScenarioError) as e:
        lrtsim.Scenario.from_toml("name = [", name="syntax.toml").validate()
    assert "TOML syntax error" in str(e.value)
    assert e.value.problems[0].line == 1
    with pytest.raises(lrtsim.ScenarioError) as e:
        lrtsim.load(SCENARIOS / "no-such-file.toml").run(progress=False)
    assert "cannot read the scenario file" in str(e.value)
    with pytest.raises(lrtsim.ScenarioError) as e:
        lrtsim.load(SCENARIOS / "baseline.toml").with_set({"simulation.paths": "many"}).validate()
    assert "simulation.paths" in str(e.value)
    with pytest.raises(ValueError, match="None is not a TOML value"):
        lrtsim.Scenario.from_dict({"name": None})
    with pytest.raises(ValueError, match="keep_paths"):
        lrtsim.load(SCENARIOS / "baseline.toml").run(paths=20_000_000, keep_paths=True)
    with pytest.raises(ValueError, match="backend"):
        lrtsim.load(SCENARIOS / "baseline.toml").run(paths=100, progress=False).tail("arrow")


def test_progress_is_reported_to_a_callback():
    seen = []
    lrtsim.load(SCENARIOS / "bench-slashing.toml").run(
        paths=2_000_000, threads=1, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (2_000_000, 2_000_000)
    assert all(t in (0, 2_000_000) for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_an_exception_in_the_callback_stops_the_run():
    def stop(done, total):
        if done > 0:
            raise RuntimeError("enough")

    t = time.monotonic()
    with pytest.raises(RuntimeError, match="enough"):
        lrtsim.load(SCENARIOS / "bench-slashing.toml").run(
            paths=200_000_000, threads=1, progress=stop
        )
    assert time.monotonic() - t < 30


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself")
def test_ctrl_c_stops_a_run_and_raises_keyboard_interrupt(tmp_path):
    # 200 M paths take minutes; the interrupt comes after half a second.
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        lrtsim.load(SCENARIOS / "bench-slashing.toml").run(
            paths=200_000_000, threads=1, progress=False
        )
    assert time.monotonic() - t < 30
    timer.join()
    # Nothing half-done is left behind: the next run works.
    assert lrtsim.load(SCENARIOS / "baseline.toml").run(paths=100, progress=False).summary


def test_a_sweep_is_the_command_lines_sweep(tmp_path):
    s = lrtsim.load(SCENARIOS / "baseline.toml").with_set({"simulation.paths": 3_000})
    frame = lrtsim.sweep(
        s,
        grid={"copulas.daily-faults.global_correlation": [0.05, 0.3]},
        seeds=2,
        out=tmp_path / "py",
        contributions="source",
        progress=False,
    )
    subprocess.run(
        [str(cli()), "sweep", str(SCENARIOS / "baseline.toml"), "-q",
         "--set", "simulation.paths=3000",
         "--grid", "copulas.daily-faults.global_correlation=0.05,0.3",
         "--seeds", "2", "--contributions", "source", "--out", str(tmp_path / "cli")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    assert (tmp_path / "py" / "sweep.csv").read_bytes() == (tmp_path / "cli" / "sweep.csv").read_bytes()
    pd.testing.assert_frame_equal(frame, pd.read_csv(tmp_path / "cli" / "sweep.csv"))
    assert len(frame) == 4
    # Common random numbers: the same seed at both correlations.
    assert frame["seed"].tolist()[:2] == frame["seed"].tolist()[2:]
    # A scenario from text sweeps the same.
    text = (SCENARIOS / "baseline.toml").read_text()
    from_text = lrtsim.Scenario.from_toml(text, name="baseline.toml").with_set(
        {"simulation.paths": 3_000}
    )
    again = lrtsim.sweep(
        from_text,
        grid={"copulas.daily-faults.global_correlation": "0.05:0.3:0.25"},
        seeds=2,
        out=tmp_path / "text",
        contributions="source",
        progress=False,
    )
    pd.testing.assert_frame_equal(again, frame)
    # Points already done are skipped, and give the same rows.
    before = (tmp_path / "py" / "points" / "0000" / "summary.json").stat().st_mtime_ns
    lrtsim.sweep(s, grid={"copulas.daily-faults.global_correlation": [0.05, 0.3]}, seeds=2,
                 out=tmp_path / "py", contributions="source", progress=False)
    assert (tmp_path / "py" / "points" / "0000" / "summary.json").stat().st_mtime_ns == before


def test_a_replay_is_the_command_lines_replay(tmp_path):
    s = lrtsim.load(SCENARIOS / "bank-run.toml").with_set({"simulation.paths": 2_000})
    worst = s.run(progress=False).summary["metrics"]["nav_loss"]["worst_paths"][0]
    r = lrtsim.replay(s, worst["path"])
    out = tmp_path / "cli"
    subprocess.run(
        [str(cli()), "replay", str(SCENARIOS / "bank-run.toml"), "--set",
         "simulation.paths=2000", "--path", str(worst["path"]), "--out", str(out), "-q"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    assert r.summary == (out / "summary.txt").read_text()
    pd.testing.assert_frame_equal(r.events(), pd.read_csv(out / "events.csv"))
    pd.testing.assert_frame_equal(r.trace(), pd.read_csv(out / "trace.csv"))
    values = r.values()
    pd.testing.assert_frame_equal(values, pd.read_csv(out / "path.csv"))
    # The replayed path is the run's worst: the same value, bit for bit.
    assert -values["nav_return"].item() == worst["value"]
    with pytest.raises(ValueError, match="paths 0 to 1999"):
        lrtsim.replay(s, 2_000)


def test_paths_parquet_reads_back_as_paths_csv(tmp_path):
    """`--paths-parquet` (a build with the parquet feature; .ci/run builds one and sets
    LRTSIM_REQUIRE_PARQUET): pandas reads it without options, typed, equal to paths.csv."""
    out = tmp_path / "cli"
    done = subprocess.run(
        [str(cli()), "run", str(SCENARIOS / "rare-tail.toml"), "-q", "--set",
         "simulation.paths=70000", "--paths-csv", "--paths-parquet", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if "without Parquet support" in done.stderr and not os.environ.get("LRTSIM_REQUIRE_PARQUET"):
        pytest.skip("the lrtsim binary was built without the parquet feature")
    assert done.returncode == 0, done.stderr
    pytest.importorskip("pyarrow")
    frame = pd.read_parquet(out / "paths.parquet")
    csv = pd.read_csv(out / "paths.csv")
    assert list(frame.columns) == list(csv.columns)
    assert str(frame["path"].dtype) == "uint64"
    assert all(str(frame[c].dtype) == "float64" for c in frame.columns[1:])
    assert "weight" in frame.columns
    csv = csv.astype({c: "float64" for c in csv.columns[1:]}).astype({"path": "uint64"})
    pd.testing.assert_frame_equal(frame, csv, check_exact=True)
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(out / "paths.parquet").metadata
    assert meta.num_row_groups == 2  # 65,536 paths per row group
    pl = pytest.importorskip("polars")
    polars_frame = pl.read_parquet(out / "paths.parquet")
    assert polars_frame.columns == list(frame.columns)
    assert polars_frame["slashed_eth"].to_list() == frame["slashed_eth"].tolist()


def test_a_run_streams_its_paths_to_parquet(tmp_path):
    """The wheel has the parquet feature: every path's values to a file, as paths.csv's
    columns, typed; the same values as the kept paths."""
    pytest.importorskip("pyarrow")
    target = tmp_path / "sub" / "rare.parquet"
    result = lrtsim.load(SCENARIOS / "rare-tail.toml").run(
        paths=5_000, keep_paths=True, progress=False, paths_parquet=target
    )
    frame = pd.read_parquet(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["rare.parquet"]
    kept = result.paths
    assert list(frame.columns) == ["path", *kept.columns]
    pd.testing.assert_frame_equal(
        frame.drop(columns="path"), kept.reset_index(drop=True), check_exact=True
    )
    assert frame["path"].tolist() == list(range(5_000))
    # write() leaves it where it is and writes the rest.
    written = result.write(tmp_path / "out")
    assert not (written / "paths.parquet").exists()
    assert (written / "paths.csv").exists()


def test_tables_as_polars_frames():
    pl = pytest.importorskip("polars")
    result = lrtsim.load(SCENARIOS / "bank-run.toml").run(paths=1_000, progress=False)
    tail = result.tail(backend="polars")
    assert isinstance(tail, pl.DataFrame)
    assert tail.columns == list(result.tail().columns)
    assert tail.shape == result.tail().shape
    assert tail["var"].to_list() == result.tail()["var"].tolist()
    waits = result.redemption_waits(backend="polars")
    assert waits.height == len(result.redemption_waits())
    s = lrtsim.load(SCENARIOS / "bank-run.toml").with_set({"simulation.paths": 1_000})
    r = lrtsim.replay(s, 3)
    assert r.trace(backend="polars").height == len(r.trace())


def test_kept_paths_are_views_of_the_runs_memory():
    """`result.paths` lends the run's own columns to numpy: two frames share their memory
    (no copy), read-only, and the arrays keep the result alive after it is dropped."""
    import gc

    import numpy as np

    result = lrtsim.load(SCENARIOS / "baseline.toml").run(
        paths=2_000, keep_paths=True, progress=False
    )
    one, two = result.paths, result.paths
    a, b = one["slashed_eth"].to_numpy(), two["slashed_eth"].to_numpy()
    assert np.shares_memory(a, b)
    assert not a.flags.writeable
    expected = a.copy()
    del result, one, two, b
    gc.collect()
    assert np.array_equal(a, expected)
    assert a.sum() > 0


def run_tables(tmp_path: Path, scenario: str, paths: int, *args: str):
    """A CLI run with `--table-format both` (None, after skipping, in a build without
    Parquet unless LRTSIM_REQUIRE_PARQUET)."""
    out = tmp_path / scenario
    done = subprocess.run(
        [str(cli()), "run", str(SCENARIOS / scenario), "-q", "--set",
         f"simulation.paths={paths}", "--table-format", "both", "--out", str(out), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if "without Parquet support" in done.stderr and not os.environ.get("LRTSIM_REQUIRE_PARQUET"):
        pytest.skip("the lrtsim binary was built without the parquet feature")
    assert done.returncode == 0, done.stderr
    return out


TYPES = {  # docs/outputs.md, "Tables as Parquet"
    "metric": "object", "decomposition": "object", "component": "object", "holder": "object",
    "exact": "bool", "redeemed": "bool",
    "step": "uint64", "paths": "uint64", "count": "uint64", "window_paths": "uint64",
}


@pytest.mark.parametrize(
    "scenario,paths",
    [("bank-run.toml", 3_000), ("leverage-loop.toml", 300), ("steth-2022.toml", 1_000),
     ("baseline.toml", 5_000), ("shared-operator.toml", 5_000)],
)
def test_tables_as_parquet_are_the_csv_tables_typed(tmp_path, scenario, paths):
    """`--table-format both`: every table's Parquet file holds the CSV's values, typed as
    documented; pandas, polars and DuckDB read it without options; Python's
    `write(table_format=...)` gives the command line's bytes."""
    pytest.importorskip("pyarrow")
    out = run_tables(tmp_path, scenario, paths)
    tables = sorted(p.stem for p in out.glob("*.parquet"))
    assert tables == sorted(p.stem for p in out.glob("*.csv"))
    assert {"tail_metrics", "exceedance", "contributions", "loss_distribution"} <= set(tables)
    for stem in tables:
        frame = pd.read_parquet(out / f"{stem}.parquet")
        csv = pd.read_csv(out / f"{stem}.csv", keep_default_na=False, dtype=str)
        assert list(frame.columns) == list(csv.columns), stem
        for col in frame.columns:
            want = TYPES.get(col, "float64")
            if stem == "exceedance" and col == "tail_paths":
                want = "float64"
            elif col == "tail_paths":
                want = "uint64"
            got = frame[col]
            if want == "object":  # pandas 3 reads Utf8 as its string dtype
                assert pd.api.types.is_string_dtype(got), (stem, col, got.dtype)
            else:
                assert str(got.dtype) == want, (stem, col, got.dtype)
            text = csv[col]
            if want == "object":
                assert got.tolist() == text.tolist(), (stem, col)
            elif want == "bool":
                assert got.tolist() == [t == "1" for t in text], (stem, col)
            elif want == "uint64":
                assert got.tolist() == [int(t) for t in text], (stem, col)
            else:  # the shortest decimal reads back to the same double; empty is null
                assert [None if pd.isna(v) else v for v in got] == [
                    None if t == "" else float(t) for t in text
                ], (stem, col)
        pl = pytest.importorskip("polars")
        assert pl.read_parquet(out / f"{stem}.parquet").height == len(csv)
        duckdb = pytest.importorskip("duckdb")
        (rows,) = duckdb.connect().execute(f"select count(*) from '{out / stem}.parquet'").fetchone()
        assert rows == len(csv)
    duckdb = pytest.importorskip("duckdb")
    (es,) = duckdb.connect().execute(
        f"select es from '{out}/tail_metrics.parquet' where metric = 'nav_loss' and level = 0.99"
    ).fetchone()
    summary = json.loads((out / "summary.json").read_text())
    assert es == summary["metrics"]["nav_loss"]["es"]["0.99"]
    # The same bytes from Python, and Parquet alone when asked.
    result = lrtsim.load(SCENARIOS / scenario).run(paths=paths, progress=False)
    written = result.write(tmp_path / "py", table_format="both")
    assert files_of(written) == files_of(out)
    alone = result.write(tmp_path / "alone", table_format="parquet")
    assert not list(alone.glob("*.csv"))
    assert sorted(p.stem for p in alone.glob("*.parquet")) == tables
    with pytest.raises(ValueError, match="table_format"):
        result.write(tmp_path / "bad", table_format="xlsx")


def test_duckdb_reads_paths_parquet(tmp_path):
    """DuckDB reads paths.parquet as it is: the mean and the worst path equal summary.json's."""
    duckdb = pytest.importorskip("duckdb")
    out = run_tables(tmp_path, "baseline.toml", 20_000, "--paths-parquet")
    mean, worst = duckdb.connect().execute(
        f"select avg(slashed_eth), arg_max(path, slashed_eth) from '{out}/paths.parquet'"
    ).fetchone()
    summary = json.loads((out / "summary.json").read_text())
    assert mean == pytest.approx(summary["metrics"]["slashed_eth"]["mean"], rel=1e-12)
    assert worst == summary["metrics"]["slashed_eth"]["worst_paths"][0]["path"]


def test_a_notebook_shows_a_progress_bar(tmp_path):
    """In a Jupyter kernel `run()` draws an HTML progress bar, updated in place, ending full."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import lrtsim\n"
        f"r = lrtsim.load({str(SCENARIOS / 'baseline.toml')!r}).run(paths=200_000)\n"
        "print(r.summary['paths'])"
    ))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    html = [o for o in outputs if o.output_type == "display_data"]
    assert len(html) == 1, outputs  # one bar, updated in place
    bar = html[0].data["text/html"]
    assert "<progress value='200000' max='200000'>" in bar, bar
    assert "200,000/200,000 paths" in bar
    assert any(o.output_type == "stream" and "200000" in o.text for o in outputs)


def test_a_stale_lock_taken_over_is_a_warning(tmp_path):
    """`write()` into a directory whose lock belongs to a process no longer running takes it
    over, with a RuntimeWarning (as the command line's warning on stderr)."""
    if not Path("/proc/sys/kernel/hostname").exists():
        pytest.skip("stale locks are recognized on Linux")
    host = Path("/proc/sys/kernel/hostname").read_text().strip()
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lrtsim.lock").write_text(f"pid 4194305\nhost {host}\n")  # above pid_max
    result = lrtsim.load(SCENARIOS / "baseline.toml").run(paths=500, progress=False)
    with pytest.warns(RuntimeWarning, match="stale lock of process 4194305"):
        result.write(out)
    assert (out / "manifest.json").exists() and not (out / ".lrtsim.lock").exists()


def test_a_terminal_shows_a_progress_bar_and_a_pipe_none():
    """`progress=True` (the default) draws a bar on stderr when it is a terminal, ending full,
    and prints nothing when stderr is not one (a pipe, a log file)."""
    pty = pytest.importorskip("pty")
    code = (
        "import lrtsim\n"
        f"lrtsim.load({str(SCENARIOS / 'baseline.toml')!r}).run(paths=200_000)\n"
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=slave, stdout=subprocess.DEVNULL
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait() == 0
    text = seen.decode()
    assert "baseline [" in text and "200,000/200,000 paths" in text, text
    assert "=" * 30 in text, text
    piped = subprocess.run(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert piped.returncode == 0 and piped.stderr == b"", piped.stderr
