"""lrtsim from Python: Monte Carlo stress tests for liquid restaking tokens.

The same engine as the ``lrtsim`` command line (the Rust crates, compiled into
``lrtsim._lrtsim``), so the same results bit for bit for the same scenario, seed and paths.

>>> import lrtsim
>>> s = lrtsim.load("scenarios/baseline.toml").with_set({"simulation.paths": 20_000})
>>> r = s.run()
>>> list(r.summary["metrics"])[:2]
['slashed_fraction', 'nav_loss']
>>> r.tail().columns[:3].tolist()
['metric', 'level', 'var']

Scenarios are loaded lazily: :meth:`Scenario.validate` (and every run) loads and validates
them, raising :class:`ScenarioError` with each problem's field path, line and column.
Tables come back as pandas DataFrames (``backend="polars"`` for polars), built from the very
bytes the command line writes into its CSV files.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _lrtsim

__all__ = [
    "Problem",
    "Replay",
    "Result",
    "Scenario",
    "ScenarioError",
    "load",
    "replay",
    "sweep",
    "__version__",
]

__version__: str = _lrtsim.version()

PathLike = Union[str, "os.PathLike[str]"]


class Problem:
    """One problem of a scenario: where (field path, line, column) and what."""

    __slots__ = ("path", "message", "line", "column", "from_override")

    def __init__(
        self,
        path: str,
        message: str,
        line: Optional[int],
        column: Optional[int],
        from_override: Optional[str],
    ) -> None:
        #: Field path such as ``operators[3].share`` (empty for the whole document).
        self.path = path
        #: What is wrong and what is allowed.
        self.message = message
        #: 1-based line of the field in the file, when it is there.
        self.line = line
        #: 1-based column of the field in the file, when it is there.
        self.column = column
        #: The ``KEY=VALUE`` override that put the value there, when one did.
        self.from_override = from_override

    def __repr__(self) -> str:
        at = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"Problem({self.path!r}{at}: {self.message!r})"


class ScenarioError(ValueError):
    """A scenario that does not load or validate.

    ``str(e)`` is the command line's message (file, field paths, lines and columns, what is
    allowed); ``e.problems`` lists each :class:`Problem`.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        #: Every problem found.
        self.problems: List[Problem] = list(problems)


def _native_call(f: Callable[..., Any], *args: Any) -> Any:
    """Calls the native module, turning its scenario errors into :class:`ScenarioError`."""
    try:
        return f(*args)
    except _lrtsim.ScenarioError as e:
        message, problems = e.args
        raise ScenarioError(message, [Problem(*p) for p in problems]) from None


def _override_value(value: Any) -> str:
    """A Python value as the text of a ``--set KEY=VALUE``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    return str(value)


def _toml_inline(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return _override_value(value)


class Scenario:
    """A scenario: a TOML file or text, and ``KEY=VALUE`` overrides applied on top (as the
    command line's ``--set``). Immutable: :meth:`with_set` returns a new one."""

    def __init__(
        self,
        *,
        path: Optional[Path] = None,
        text: Optional[str] = None,
        origin: str = "<string>",
        overrides: Sequence[str] = (),
    ) -> None:
        if (path is None) == (text is None):
            raise TypeError("give a scenario file (path=) or its text (text=)")
        self._path = path
        self._text = text
        self._origin = origin
        self._overrides: Tuple[str, ...] = tuple(overrides)
        self._native: Any = None

    @classmethod
    def from_toml(cls, text: str, name: str = "<string>") -> "Scenario":
        """A scenario from its TOML text (``name`` stands for its file in messages)."""
        return cls(text=text, origin=name)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Scenario":
        """A scenario from a dict shaped like its TOML file (tables as dicts, arrays of tables
        as lists of dicts)."""
        text = _lrtsim.toml_from_json(json.dumps(d))
        return cls(text=text, origin="<dict>")

    def with_set(self, values: Mapping[str, Any]) -> "Scenario":
        """This scenario with more overrides, e.g. ``{"simulation.paths": 10**6,
        "avs.eigenda.reward_apr": 0.02}`` (keys as the command line's ``--set``)."""
        extra = [f"{k}={_override_value(v)}" for k, v in values.items()]
        return Scenario(
            path=self._path,
            text=self._text,
            origin=self._origin,
            overrides=self._overrides + tuple(extra),
        )

    @property
    def overrides(self) -> Tuple[str, ...]:
        """The ``KEY=VALUE`` overrides, in order."""
        return self._overrides

    def _model(self) -> Any:
        if self._native is None:
            if self._path is not None:
                self._native = _native_call(
                    _lrtsim.load_file, str(self._path), list(self._overrides)
                )
            else:
                self._native = _native_call(
                    _lrtsim.load_str, self._text, self._origin, list(self._overrides)
                )
        return self._native

    def validate(self) -> None:
        """Loads and validates the scenario; raises :class:`ScenarioError` if it is invalid."""
        self._model()

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self._model().name

    @property
    def paths(self) -> int:
        """Paths a run simulates (``simulation.paths``)."""
        return self._model().paths

    @property
    def seed(self) -> int:
        """The seed (``simulation.seed``)."""
        return self._model().seed

    @property
    def scenario_hash(self) -> str:
        """Hash of the resolved scenario (summary.json's ``scenario_hash``)."""
        return self._model().scenario_hash

    def metrics(self) -> List[str]:
        """The metrics a run reports, in report order."""
        return self._model().metrics()

    def resolved_toml(self) -> str:
        """The scenario as run (scenario.resolved.toml): defaults filled in, overrides applied."""
        return self._model().resolved_toml()

    def run(
        self,
        paths: Optional[int] = None,
        seed: Optional[int] = None,
        threads: int = 0,
        keep_paths: bool = False,
        progress: Union[bool, Callable[[int, int], None]] = True,
        contributions: bool = True,
        tail_memory_mb: int = 1024,
        bins: int = 100,
        paths_parquet: Optional[PathLike] = None,
    ) -> "Result":
        """Runs the scenario and computes its report (nothing is written until
        :meth:`Result.write`, but ``paths_parquet``).

        ``paths`` and ``seed`` override ``simulation.paths`` and ``simulation.seed``;
        ``threads`` 0 uses every core (results do not depend on it). ``keep_paths`` keeps
        every path's values (:attr:`Result.paths`; at most 10 M paths). ``progress`` shows a
        progress bar on an interactive stderr or in a notebook (``False``: none), or calls
        ``progress(done, total)``. The GIL is released while it runs; Ctrl-C stops it and
        raises ``KeyboardInterrupt``. ``paths_parquet`` names a file that every path's values
        stream to as the run goes (paths.parquet's columns, typed; any number of paths, in
        bounded memory): ``pandas.read_parquet`` reads it.
        """
        scenario = self
        extra: Dict[str, Any] = {}
        if paths is not None:
            extra["simulation.paths"] = int(paths)
        if seed is not None:
            extra["simulation.seed"] = int(seed)
        if extra:
            scenario = self.with_set(extra)
        model = scenario._model()
        callback = _progress_callback(progress, model.name)
        native = _native_call(
            _lrtsim.run,
            model,
            int(threads),
            int(tail_memory_mb),
            int(bins),
            bool(contributions),
            bool(keep_paths),
            callback,
            None if paths_parquet is None else os.fspath(paths_parquet),
        )
        for w in native.warnings:
            warnings.warn(w, RuntimeWarning, stacklevel=2)
        return Result(native, scenario)

    def __repr__(self) -> str:
        source = str(self._path) if self._path is not None else self._origin
        return f"Scenario({source!r}, overrides={list(self._overrides)!r})"


def load(path: PathLike) -> Scenario:
    """The scenario file ``path`` (loaded and validated when first used)."""
    return Scenario(path=Path(path))


def _progress_callback(
    progress: Union[bool, Callable[[int, int], None]], name: str
) -> Optional[Callable[[int, int], None]]:
    if callable(progress):
        return progress
    if not progress:
        return None
    if _in_notebook():
        return _NotebookBar(name)
    if sys.stderr is not None and sys.stderr.isatty():
        return _TerminalBar(name)
    return None


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _TerminalBar:
    """A one-line progress bar on stderr, redrawn in place."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        bar = "=" * filled + (">" if filled < width else "") + " " * (width - filled - 1)
        end = "\n" if total and done >= total else ""
        sys.stderr.write(f"\r{self.name} [{bar[:width]}] {done:,}/{total:,} paths{end}")
        sys.stderr.flush()


class _NotebookBar:
    """A progress bar in a notebook (an HTML progress element, updated in place)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handle: Any = None

    def __call__(self, done: int, total: int) -> None:
        from IPython.display import HTML, display  # type: ignore[import-not-found]

        html = HTML(
            f"{self.name} <progress value='{done}' max='{max(total, 1)}'></progress> "
            f"{done:,}/{total:,} paths"
        )
        if self.handle is None:
            self.handle = display(html, display_id=True)
        else:
            self.handle.update(html)


def _read_csv(data: bytes, backend: str) -> Any:
    """A CSV file's bytes as a pandas or polars DataFrame."""
    if backend == "pandas":
        import pandas as pd

        return pd.read_csv(io.BytesIO(data))
    if backend == "polars":
        import polars as pl  # type: ignore[import-not-found]

        # Types from every row (a column of 0s then fractions is Float64, not Int64).
        return pl.read_csv(io.BytesIO(data), infer_schema_length=None)
    raise ValueError(f"backend {backend!r}: expected 'pandas' or 'polars'")


class Result:
    """A finished run: its summary and every table of its report, in memory.

    Each table method reads the bytes of the CSV file the command line writes (so the same
    columns, documented in docs/outputs.md) into a pandas DataFrame, or a polars one with
    ``backend="polars"``.
    """

    def __init__(self, native: Any, scenario: Scenario) -> None:
        self._native = native
        self._files: Optional[Dict[str, bytes]] = None
        #: The scenario as run.
        self.scenario = scenario
        #: summary.json as a dict.
        self.summary: Dict[str, Any] = json.loads(native.summary_json())

    @property
    def warnings(self) -> List[str]:
        """The run's warnings (the command line prints them on stderr)."""
        return list(self._native.warnings)

    def files(self) -> Dict[str, bytes]:
        """Every report file's bytes by name, as :meth:`write` would write them (manifest.json
        aside)."""
        if self._files is None:
            self._files = dict(self._native.files())
        return dict(self._files)

    def _table(self, name: str, backend: str) -> Any:
        data = self.files().get(name)
        return None if data is None else _read_csv(data, backend)

    def tail(self, backend: str = "pandas") -> Any:
        """VaR and ES with their confidence intervals, per metric and level
        (tail_metrics.csv)."""
        return self._table("tail_metrics.csv", backend)

    def loss_distribution(self, backend: str = "pandas") -> Any:
        """Each metric's histogram with pdf, cdf and exceedance (loss_distribution.csv)."""
        return self._table("loss_distribution.csv", backend)

    def exceedance(self, backend: str = "pandas") -> Any:
        """Each metric's loss exceedance curve with intervals (exceedance.csv)."""
        return self._table("exceedance.csv", backend)

    def contributions(self, backend: str = "pandas") -> Any:
        """Risk contributions: each component's share of ES and VaR (contributions.csv)."""
        return self._table("contributions.csv", backend)

    def price_bands(self, backend: str = "pandas", lrt: str | None = None) -> Any:
        """Price / NAV percentile bands over time (price_paths.csv); None without a market.
        In a sector, ``lrt`` names the LRT whose market's bands to read
        (price_paths.lrt.<lrt>.csv)."""
        name = "price_paths.csv" if lrt is None else f"price_paths.lrt.{lrt}.csv"
        return self._table(name, backend)

    def queue_bands(self, backend: str = "pandas") -> Any:
        """The protocol's withdrawal-queue percentile bands over time (queue_paths.csv);
        None without withdrawals."""
        return self._table("queue_paths.csv", backend)

    def exit_queue_bands(self, backend: str = "pandas") -> Any:
        """The beacon chain's exit-queue percentile bands over time, ETH
        (exit_queue_paths.csv); None without withdrawals (in a sector, without a front
        door)."""
        return self._table("exit_queue_paths.csv", backend)

    def utilization_bands(self, backend: str = "pandas") -> Any:
        """Lending-market utilization bands over time (utilization_paths.csv); None without
        a lending market."""
        return self._table("utilization_paths.csv", backend)

    def redemption_waits(self, backend: str = "pandas") -> Any:
        """The distribution of the tagged holders' time to redeem (redemption_wait.csv);
        None without withdrawals."""
        return self._table("redemption_wait.csv", backend)

    @property
    def paths(self) -> Any:
        """Every path's values as a pandas DataFrame indexed by path (the columns of
        paths.csv), when the run kept them (``keep_paths=True``); else None. The columns are
        read-only numpy views of the run's own memory (no copy), which they keep alive."""
        kept = self._native.paths()
        if kept is None:
            return None
        import numpy as np
        import pandas as pd

        names, columns = kept
        data = {n: np.asarray(c) for n, c in zip(names, columns)}
        frame = pd.DataFrame(data, copy=False)
        frame.index.name = "path"
        return frame

    def write(self, directory: PathLike, table_format: str = "csv") -> Path:
        """Writes every report file into ``directory`` — the files ``lrtsim run --out
        directory --table-format F`` writes, each atomically, the manifest last — and returns
        its path. ``table_format`` is ``"csv"``, ``"parquet"`` (the tables as typed Parquet
        files) or ``"both"``."""
        out = Path(directory)
        _native_call(self._native.write, str(out), table_format)
        return out

    def __repr__(self) -> str:
        return f"Result({self.summary.get('scenario')!r}, paths={self.summary.get('paths')})"


def _axis_values(values: Any) -> str:
    """An axis's values as the command line writes them: a list ``V1,V2,…``, or a string
    as given (a range ``START:STOP:STEP`` or ``log:START:STOP:N``)."""
    if isinstance(values, str):
        return values
    return ",".join(_override_value(v) for v in values)


def sweep(
    scenario: Scenario,
    grid: Optional[Mapping[str, Any]] = None,
    zip: Optional[Mapping[str, Sequence[Any]]] = None,
    seeds: Optional[int] = None,
    out: Optional[PathLike] = None,
    force: bool = False,
    contributions: Optional[str] = None,
    threads: int = 0,
    progress: Union[bool, Callable[[int, int], None]] = True,
    with_contributions: bool = True,
    tail_memory_mb: int = 1024,
    bins: int = 100,
    table_format: str = "csv",
) -> Any:
    """Runs ``scenario`` over a grid of parameter values, as ``lrtsim sweep`` does, and returns
    sweep.csv as a pandas DataFrame: one row per point, the parameters, then each headline
    metric's mean, VaR and ES with their 95 % intervals.

    ``grid`` maps keys to values (a list, or a range string ``"0.1:0.5:0.1"`` /
    ``"log:1e-4:1e-1:4"``), the cartesian product with the first key varying slowest;
    ``zip`` maps keys to lists of equal length, paired into one axis; ``seeds`` adds a seed
    axis. Every point uses the same random numbers path by path (common random numbers), so
    differences between points are the model's. Every point's files go to
    ``out/points/NNNN/`` (a temporary directory when ``out`` is None); a point already done
    with the same scenario and settings is skipped unless ``force``. ``contributions`` names
    a decomposition of ``slashed_eth`` (``"source"``, ``"avs"``, …) whose ES 99 % shares
    become columns. ``table_format`` (``"csv"``, ``"parquet"``, ``"both"``) is the points'
    tables' format, as ``--table-format``.
    """
    import pandas as pd

    if out is None:
        import tempfile

        out = tempfile.mkdtemp(prefix=f"lrtsim-sweep-")
    if scenario._path is not None:
        path, text = str(scenario._path), None
    else:
        path, text = scenario._origin, scenario._text
    header, rows, directory, warns = _native_call(
        _lrtsim.sweep,
        path,
        text,
        list(scenario._overrides),
        [f"{k}={_axis_values(v)}" for k, v in (grid or {}).items()],
        [f"{k}={_axis_values(v)}" for k, v in (zip or {}).items()],
        seeds,
        str(out),
        bool(force),
        contributions,
        int(threads),
        int(tail_memory_mb),
        int(bins),
        bool(with_contributions),
        _progress_callback(progress, "sweep"),
        str(table_format),
    )
    for w in warns:
        warnings.warn(w, RuntimeWarning, stacklevel=2)
    frame = pd.read_csv(Path(directory) / "sweep.csv")
    frame.attrs["directory"] = directory
    assert list(frame.columns) == header and len(frame) == len(rows)
    return frame


class Replay:
    """One path replayed: its events, its trace step by step and its values, as ``lrtsim
    replay`` writes them (events.csv, trace.csv, path.csv, summary.txt)."""

    def __init__(self, path: int, summary: str, events: str, trace: str, values: str) -> None:
        #: The path's index.
        self.path = path
        #: The readable story of the path (summary.txt).
        self.summary = summary
        self._events = events
        self._trace = trace
        self._values = values

    def _frame(self, text: str, backend: str) -> Any:
        return _read_csv(text.encode(), backend)

    def events(self, backend: str = "pandas") -> Any:
        """Every event of the path, in time order (events.csv)."""
        return self._frame(self._events, backend)

    def trace(self, backend: str = "pandas") -> Any:
        """The pool's state at every step's end (trace.csv)."""
        return self._frame(self._trace, backend)

    def values(self, backend: str = "pandas") -> Any:
        """The path's value of every output column, as a run reports it (path.csv)."""
        return self._frame(self._values, backend)

    def __repr__(self) -> str:
        return f"Replay(path={self.path})"


def replay(scenario: Scenario, path: int) -> Replay:
    """Replays path ``path`` of ``scenario`` (a run's ``worst_paths`` name them): the same
    random numbers, so the same values as in the run, with every event and step recorded."""
    summary, events, trace, values = _native_call(_lrtsim.replay, scenario._model(), int(path))
    return Replay(int(path), summary, events, trace, values)
