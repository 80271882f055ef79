"""Bad trace documents and failed writes: exit 2 with one line, never a traceback or a renderer crash (issue 12 #8)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from cli_helpers import one_line_error, racy_trace, run

FORMATS = ("text", "html", "dot", "mermaid")
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    return racy_trace(tmp_path_factory.mktemp("reports"))


def _deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


#: a change to a valid trace, and what the one error line must say
BAD_DOCUMENTS: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("step out of range", lambda d: d["violation"].update(steps=[99]), "violation.steps[0] must be a step of the trace"),
    ("negative step", lambda d: d["violation"].update(steps=[-1]), "violation.steps[0] must be a step of the trace"),
    ("step not an int", lambda d: d["violation"].update(steps=["2"]), "violation.steps[0] must be a step"),
    ("sw out of range", lambda d: d["events"][1].update(sw=[7]), "events[1].sw[0] must be an earlier step"),
    ("sw to itself", lambda d: d["events"][2].update(sw=[2]), "events[2].sw[0] must be an earlier step"),
    ("rf out of range", lambda d: d["events"][2].update(rf=5), "events[2].rf must be null or an earlier step"),
    ("rf on the first step", lambda d: d["events"][0].update(rf=0), "events[0].rf must be null or an earlier"),
    ("no events but steps", lambda d: (d.update(events=[], schedule=[]), d["violation"].update(steps=[0])),
     "violation.steps[0] must be a step of the trace (none exist), got 0"),
    ("memory model", lambda d: d.update(memory_model="tso"), "memory_model must be one of sc, c11, got 'tso'"),
    ("negative max_steps", lambda d: d.update(max_steps=-5), "max_steps must be a positive integer, got -5"),
    ("zero max_steps", lambda d: d.update(max_steps=0), "max_steps must be a positive integer, got 0"),
    ("no threads", lambda d: d.update(threads=[]), "threads must be a non-empty list of names"),
    ("schedule thread", lambda d: d["schedule"].__setitem__(0, 9), "schedule[0] must be a thread of the trace"),
    ("event thread", lambda d: d["events"][0].update(thread=1 - d["events"][0]["thread"]),
     "schedule and events disagree"),
    ("violation kind", lambda d: d["violation"].update(kind="panic"), "violation.kind must be one of"),
    ("witness", lambda d: d["violation"].update(witness=[]), "violation.witness must be an object"),
    ("deep value", lambda d: d["events"][0].update(read=_deep(100)), "events[0].read is nested more than 32"),
    ("missing field", lambda d: d["events"][3].pop("source"), "events[3].source is missing"),
    ("preemption", lambda d: d["events"][3].update(preemption=1), "events[3].preemption must be true or false"),
    ("origin", lambda d: d.update(origin={"kind": "url"}), "origin must be an object whose kind is one of"),
]


@pytest.mark.parametrize("case, change, expected", BAD_DOCUMENTS, ids=[c[0] for c in BAD_DOCUMENTS])
def test_every_bad_document_exits_2_with_one_line_in_every_format(
        trace: tuple[Path, dict[str, Any]], tmp_path: Path, case: str, change: Callable[[dict[str, Any]], Any],
        expected: str) -> None:
    doc = copy.deepcopy(trace[1])
    change(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    for command in [["replay", str(path)]] + [["report", str(path), "--format", f] for f in FORMATS]:
        line = one_line_error(run(*command))
        assert f"{path}: malformed counterexample: {expected}" in line, (command, line)


def test_a_valid_trace_renders_in_every_format(trace: tuple[Path, dict[str, Any]]) -> None:
    for fmt in FORMATS:
        assert run("report", str(trace[0]), "--format", fmt).exit_code == 0


@needs_dev_full
@pytest.mark.parametrize("args", [
    ["check", "--only", "scenarios", "--scenario", "segment-pieces", "--memory-model", "sc"],
    ["list"],
    ["report", "{trace}", "--format", "html"],
])
def test_a_full_stdout_exits_2_with_one_line(trace: tuple[Path, dict[str, Any]], args: list[str]) -> None:
    command = [sys.executable, "-m", "framemc", *[a.format(trace=trace[0]) for a in args]]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "framemc: error: cannot write to standard output: No space left on device"]


@needs_dev_full
def test_a_full_output_file_exits_2_with_one_line(trace: tuple[Path, dict[str, Any]]) -> None:
    line = one_line_error(run("report", str(trace[0]), "--format", "html", "-o", "/dev/full"))
    assert "/dev/full: cannot write it: No space left on device" in line
    line = one_line_error(run("check", "--only", "scenarios", "--scenario", "segment-pieces", "--memory-model", "sc",
                              "--json", "/dev/full"))
    assert "/dev/full: cannot write it" in line
