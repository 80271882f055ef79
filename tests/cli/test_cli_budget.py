"""The time budget bounds the whole check and a cut item counts as cut; rows stream as items finish (issue 12 #5, #7)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import run
from framemc.config import CheckConfig
from framemc.suite import CUT, NOT_RUN, Outcome, run_suite
from framemc.conformance import run_conformance
from framemc.model import CheckVerdict


def test_a_conformance_run_stops_at_its_deadline_and_is_never_a_pass() -> None:
    started = time.monotonic()
    report = run_conformance(seed=0, steps=100_000, deadline=started + 0.5)
    assert time.monotonic() - started < 10
    assert report.cut and 0 < len(report.steps) < 100_000 and report.requested == 100_000
    assert report.verdict is CheckVerdict.INCONCLUSIVE


def test_check_time_budget_bounds_the_conformance_run(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    started = time.monotonic()
    result = run("check", "--design", "metaslot", "--only", "conformance", "--conformance-steps", "100000",
                 "--time-budget", "2", "--json", str(summary))
    assert time.monotonic() - started < 30, "the budget did not bound the conformance loop"
    assert result.exit_code == 3, result.output
    assert f"{CUT} after " in result.stdout and " of 100000 steps" in result.stdout
    assert "0 of 1 items ran to completion, 1 cut part-way, 0 not run" in result.stdout
    doc = json.loads(summary.read_text())
    assert doc["budget_exhausted"] and doc["coverage"].startswith("0 of 1 items ran to completion")


def test_a_scenario_cut_by_the_budget_is_counted_as_cut() -> None:
    cfg = CheckConfig(include=("scenarios",), scenarios=("alloc-dealloc",), memory_models=("sc",), time_budget=0.2)
    result = run_suite(cfg)
    [row] = result.rows
    assert row.outcome is Outcome.INCONCLUSIVE and row.cut and row.detail.startswith(CUT)
    assert result.budget_exhausted
    assert result.coverage() == "0 of 1 items ran to completion, 1 cut part-way, 0 not run"


def test_proofs_past_the_deadline_are_not_run_rows() -> None:
    cfg = CheckConfig(include=("scenarios", "proofs"), scenarios=("alloc-dealloc",), memory_models=("sc",),
                      obligations=("claim",), jobs=1, time_budget=0.2)
    result = run_suite(cfg)
    proofs = [r for r in result.rows if r.section.value == "proofs"]
    assert proofs and all(r.cut and r.detail == NOT_RUN and r.outcome is Outcome.INCONCLUSIVE for r in proofs)
    assert result.coverage() == f"0 of {len(result.rows)} items ran to completion, 1 cut part-way, {len(proofs)} not run"


def test_rows_stream_to_a_pipe_before_the_run_ends() -> None:
    """With stdout a pipe (a CI log), the first row arrives while the rest is still running."""
    command = [sys.executable, "-m", "framemc", "check", "--design", "metaslot", "--only", "scenarios", "--only",
               "conformance",
               "--scenario", "segment-pieces", "--memory-model", "sc", "--conformance-steps", "400"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        first = proc.stdout.readline()
        still_running = proc.poll() is None
        rest, _ = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert header.split()[:4] == ["design", "section", "item", "outcome"]
    assert first.split()[:4] == ["metaslot", "scenarios", "sc/segment-pieces", "PASS"]
    assert still_running, "the first row only appeared when the run ended"
    assert "conformance (seed 0, 400 steps)" in rest and proc.returncode == 0


def test_quiet_streams_only_the_rows_that_did_not_pass() -> None:
    result = run("check", "--only", "scenarios", "--scenario", "segment-pieces", "--scenario", "claim-race",
                 "--memory-model", "sc", "--bug", "merge-non-buddy", "--quiet")
    assert result.exit_code == 1
    rows = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["scenarios"]]
    assert [r.split()[:4] for r in rows] == [["metaslot", "scenarios", "sc/segment-pieces", "VIOLATION"]]
