"""The suite runner and its progress display, below the command line; and the whole default check (slow)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from framemc.cli import _RichProgress
from framemc.cli_config import CheckConfig, load_config
from framemc.cli_suite import NOT_RUN, Outcome, Section, run_suite


class _Recorder:
    """A progress display that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Section, int]] = []

    def start(self, section: Section, total: int) -> None:
        self.calls.append(("start", section, total))

    def advance(self, section: Section, count: int = 1) -> None:
        self.calls.append(("advance", section, count))


def test_progress_is_told_every_item() -> None:
    recorder = _Recorder()
    cfg = CheckConfig(include=("scenarios", "proofs"), scenarios=("segment-pieces",), memory_models=("sc",),
                      obligations=("init",), jobs=1)
    result = run_suite(cfg, recorder)
    starts = {s: n for kind, s, n in recorder.calls if kind == "start"}
    done = {s: sum(n for kind, t, n in recorder.calls if kind == "advance" and t is s) for s in starts}
    assert starts == done == {Section.SCENARIOS: 1, Section.PROOFS: len(result.rows) - 1}


def test_rich_progress_draws_bars_on_a_terminal() -> None:
    out = io.StringIO()
    with Progress(console=Console(file=out, force_terminal=True, width=80)) as bars:
        display = _RichProgress(bars)
        display.start(Section.PROOFS, 4)
        display.advance(Section.PROOFS, 4)
    assert "proofs" in out.getvalue() and "100%" in out.getvalue()


def test_time_budget_leaves_inconclusive_rows_never_passes() -> None:
    cfg = CheckConfig(include=("scenarios", "conformance", "proofs"), memory_models=("sc",),
                      obligations=("init",), jobs=1, time_budget=1e-9)
    result = run_suite(cfg)
    assert result.budget_exhausted
    assert all(r.outcome is Outcome.INCONCLUSIVE and (r.detail == NOT_RUN or "time_budget" in r.detail)
               for r in result.rows)
    assert int(result.exit_code) == 3


def test_config_precedence_and_order(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.framemc]\ninclude = ['proofs', 'scenarios']\nmax_executions = 5\ntime_budget = 2\n")
    cfg = load_config(path)
    assert cfg.include == ("scenarios", "proofs")  # suite order, whatever the file's order
    assert cfg.time_budget == 2.0 and cfg.max_executions == 5
    merged = cfg.merged(max_executions=7, preemption_bound=None)
    assert merged.max_executions == 7 and merged.preemption_bound is None and merged.time_budget == 2.0


@pytest.mark.slow
def test_full_default_check(tmp_path: Path) -> None:
    """The README's main job, exactly as a user runs it: no arguments."""
    summary = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-c", "from framemc.cli import main; main()", "check", "--json",
                           str(summary)], cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(summary.read_text())
    sections = {row["section"] for row in doc["rows"]}
    assert sections == {"scenarios", "conformance", "proofs"}
    assert doc["exit_code"] == proc.returncode
    assert sum(r["section"] == "proofs" for r in doc["rows"]) > 100
