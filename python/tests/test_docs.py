"""docs/python.md's worked example, run as written from a copy of the repository's
scenarios (so its figure and files land in a temporary directory)."""

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python_blocks(markdown: str) -> list:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_the_worked_example_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    blocks = python_blocks((ROOT / "docs" / "python.md").read_text())
    assert blocks, "docs/python.md has no ```python block"
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "docs/python.md", "exec"), {"__name__": "__docs__"})
    assert (tmp_path / "es99-by-correlation.svg").stat().st_size > 1000
