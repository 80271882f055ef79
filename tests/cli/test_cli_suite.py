"""The suite runner and its progress display, below the command line; and the whole default check (slow)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TextColumn

from framemc.cli import _RichProgress
from framemc.config import CheckConfig, load_config
from framemc.suite import NOT_RUN, Outcome, Row, Section, run_suite


class _Recorder:
    """A progress display that remembers what it was told."""

    def __init__(self) -> None:
        self.started: dict[Section, tuple[str, ...]] = {}
        self.rows: list[Row] = []

    def start(self, section: Section, items: tuple[str, ...]) -> None:
        self.started[section] = items

    def finished(self, row: Row) -> None:
        assert row.section in self.started, "a row before its section started"
        self.rows.append(row)


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_is_told_every_item_as_it_finishes(jobs: int) -> None:
    recorder = _Recorder()
    cfg = CheckConfig(include=("scenarios", "proofs"), scenarios=("segment-pieces",), memory_models=("sc",),
                      obligations=("init", "claim"), jobs=jobs)
    result = run_suite(cfg, recorder)
    assert {s: set(n) for s, n in recorder.started.items()} == {
        Section.SCENARIOS: {"sc/segment-pieces"}, Section.PROOFS: {r.name for r in result.rows[1:]}}
    # one call per obligation, not per section or per worker task
    assert sorted(r.name for r in recorder.rows) == sorted(r.name for r in result.rows)
    assert [r.name for r in result.rows[1:]] == list(recorder.started[Section.PROOFS])  # suite order in the result


def test_rich_progress_counts_obligations_done_out_of_the_total() -> None:
    out = io.StringIO()
    with Progress(TextColumn("{task.description}"), MofNCompleteColumn(),
                  console=Console(file=out, force_terminal=True, width=80)) as bars:
        display = _RichProgress(bars)
        display.start(Section.PROOFS, ("a", "b", "c", "d"))
        for name in "abc":
            display.finished(Row(Section.PROOFS, name, Outcome.PASS, "proved"))
        bars.refresh()
        assert "3/4" in out.getvalue()
    assert "proofs" in out.getvalue()


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


def test_rows_print_above_the_bars_when_both_share_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from framemc.cli import _RowPrinter
    out = io.StringIO()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    with Progress(TextColumn("{task.description}"), MofNCompleteColumn(),
                  console=Console(file=out, force_terminal=True, width=120)) as bars:
        printer = _RowPrinter(quiet=False, bars=bars)
        printer.start(Section.PROOFS, ("claim/I3-generation", "claim/S-pool-ids"))
        printer.finished(Row(Section.PROOFS, "claim/I3-generation", Outcome.PASS, "proved"))
        bars.refresh()
        assert "claim/I3-generation" in out.getvalue() and "1/2" in out.getvalue()


def test_a_running_scenario_reports_its_executions(monkeypatch: pytest.MonkeyPatch) -> None:
    from framemc.explorer import engine
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 0.0)

    class Recorder:
        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []

        def start(self, section: Section, items: tuple[str, ...]) -> None:
            pass

        def finished(self, row: Row) -> None:
            pass

        def working(self, section: Section, item: str, executions: int, blocked: int, seconds: float) -> None:
            self.seen.append((item, executions))

    recorder = Recorder()
    cfg = CheckConfig(include=("scenarios",), scenarios=("segment-pieces",), memory_models=("sc",))
    result = run_suite(cfg, recorder)
    assert result.rows and recorder.seen
    assert {item for item, _ in recorder.seen} == {"sc/segment-pieces"}


@pytest.mark.parametrize("bugs", [(), ("check-then-decrement",)])
def test_scenarios_spread_over_workers_give_the_rows_of_one_process(bugs) -> None:
    """`check --workers 2` splits each scenario's exploration over two processes; the rows are those of one process."""
    base = CheckConfig(include=("scenarios",), bugs=bugs, max_executions=300)
    one = run_suite(base)
    recorder = _Recorder()
    two = run_suite(CheckConfig(include=("scenarios",), bugs=bugs, max_executions=300, workers=2), recorder)
    assert [(r.name, r.outcome, r.detail, r.text) for r in two.rows] == \
        [(r.name, r.outcome, r.detail, r.text) for r in one.rows]
    assert sorted(r.name for r in recorder.rows) == sorted(r.name for r in two.rows)
    if bugs:
        assert any(r.outcome is Outcome.VIOLATION for r in two.rows)


def test_a_violating_scenario_row_is_the_one_process_row() -> None:
    cfg = dict(include=("scenarios",), scenarios=("alloc-dealloc",), memory_models=("sc",),
               bugs=("check-then-decrement",))
    one = run_suite(CheckConfig(**cfg))
    two = run_suite(CheckConfig(**cfg, workers=2))
    assert [(r.outcome, r.detail, r.text) for r in two.rows] == [(r.outcome, r.detail, r.text) for r in one.rows]


@pytest.mark.parametrize("key, value, needle", [("workers", 0, "workers must be an integer >= 1"),
                                                ("dask", "localhost", "dask must be a scheduler address")])
def test_bad_parallel_settings_are_refused(key, value, needle) -> None:
    from framemc.errors import UsageError
    with pytest.raises(UsageError, match=needle):
        CheckConfig(**{key: value})
