"""The README's and the user guide's examples run as written, step by step (issue 12 #11).

Each example is taken from the Markdown itself: the code blocks are written to files under the
names their first comment gives, and each command of the shell blocks runs with the exit code
its comment states ("exits 1", "exit 0"; 0 when it states none).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from framemc.config import load_config

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
README = ROOT / "README.md"


def _blocks(path: Path) -> list[tuple[str, str]]:
    """Every fenced code block of a Markdown file, as (language, text)."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", path.read_text(), re.M | re.S)]


def _block(path: Path, lang: str, first: str) -> str:
    """The one block of ``lang`` whose text starts with ``first``."""
    [text] = [t for lang_, t in _blocks(path) if lang_ == lang and t.startswith(first)]
    return text


def _commands(block: str) -> list[tuple[str, int]]:
    """Each command line of a shell block and the exit code its comment states."""
    out = []
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        if command.strip():
            stated = re.search(r"\bexits? (\d)\b", comment)
            out.append((command.strip(), int(stated.group(1)) if stated else 0))
    return out


def _run(command: str, cwd: Path, expected: int) -> str:
    """Run a documented ``framemc``/``python`` command (its framemc part, before any pipe); its stdout."""
    args = command.split("|")[0].split()
    program = {"framemc": [sys.executable, "-m", "framemc"], "python": [sys.executable]}[args[0]]
    done = subprocess.run(program + args[1:], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == expected, (command, done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    return done.stdout


def _apply(diff: str, text: str) -> str:
    """``text`` with a one-hunk diff block applied (lines starting '-', '+' or ' ')."""
    old = "".join(line[1:] + "\n" for line in diff.splitlines() if line[:1] in "- ")
    new = "".join(line[1:] + "\n" for line in diff.splitlines() if line[:1] in "+ ")
    assert text.count(old) == 1, "the diff does not apply to the file as the guide shows it"
    return text.replace(old, new)


def test_the_guides_claim_walkthrough_runs_as_written(tmp_path: Path) -> None:
    claim = _block(GUIDE, "python", "# claim.py")
    (tmp_path / "claim.py").write_text(claim)
    for command, code in _commands(_block(GUIDE, "sh", "framemc explore claim.py                 # exits")):
        out = _run(command, tmp_path, code)
    assert (tmp_path / "claim-trace.json").is_file(), "the next steps need the trace"
    # the swimlane the guide shows is what explore prints
    shown = _block(GUIDE, "", "claim.py:setup: VIOLATION")
    assert _run("framemc explore claim.py", tmp_path, 1) == shown

    (tmp_path / "test_claim.py").write_text(_block(GUIDE, "python", "# test_claim.py"))
    pytest_run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_claim.py"]
    failing = subprocess.run(pytest_run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert failing.returncode == 1 and "exactly one CPU may claim the frame" in failing.stdout, failing.stdout

    for command, code in _commands(_block(GUIDE, "sh", "framemc report claim-trace.json")):
        out = _run(command, tmp_path, code)
        if "--format dot" in command:
            assert out.startswith("digraph hb {")
    assert (tmp_path / "claim.html").is_file()
    _run("framemc replay claim-trace.json", tmp_path, 1)  # "it exits 1 while the bug reproduces"

    (tmp_path / "claim.py").write_text(_apply(_block(GUIDE, "diff", ""), claim))
    [(command, code)] = _commands(_block(GUIDE, "sh", "framemc explore claim.py                 # after the fix"))
    assert "PASS after 2 executions (exhaustive)" in _run(command, tmp_path, code)
    passing = subprocess.run(pytest_run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert passing.returncode == 0, passing.stdout


def test_the_guides_mutex_example_passes(tmp_path: Path) -> None:
    (tmp_path / "pool.py").write_text(_block(GUIDE, "python", "from framemc import Cell, Mutex"))
    assert "PASS" in _run("framemc explore pool.py", tmp_path, 0)


def test_the_guides_configuration_loads(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(_block(GUIDE, "toml", "[tool.framemc]"))
    cfg = load_config(path)
    assert cfg.scenarios == ("claim-race", "alloc-dealloc") and cfg.proof_timeout_ms == 300_000


def test_the_readme_example_runs_either_way(tmp_path: Path) -> None:
    (tmp_path / "my_scenario.py").write_text(_block(README, "python", "# my_scenario.py"))
    commands = _commands(_block(README, "sh", "python my_scenario.py"))
    assert [c for c, _ in commands] == ["python my_scenario.py", "framemc explore my_scenario.py:setup"]
    assert _run(commands[0][0], tmp_path, commands[0][1]).strip() == "2 True None"
    assert "PASS after 2 executions (exhaustive)" in _run(commands[1][0], tmp_path, commands[1][1])


@pytest.mark.parametrize("command, code", [
    pytest.param(c, e, marks=[] if "--variant" in c else [pytest.mark.slow], id=c)
    for c, e in _commands(_block(GUIDE, "sh", "framemc prove "))])
def test_the_guides_proof_commands(tmp_path: Path, command: str, code: int) -> None:
    _run(command, tmp_path, code)


def test_a_documented_command_states_its_exit_code() -> None:
    """The walkthrough's commands that fail say so in their comment."""
    stated = _commands(textwrap.dedent(_block(GUIDE, "sh", "framemc explore claim.py                 # exits")))
    assert [code for _, code in stated] == [1, 1]
