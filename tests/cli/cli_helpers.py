"""Helpers shared by the command-line tests: the scenario texts and a runner for the real entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from framemc.cli import cli

#: a correct claim: one compare-exchange, so exactly one CPU wins
GOOD = '''
from framemc import Atomic, Cell, Ordering

UNUSED = 2**64 - 1

def setup():
    slot = Atomic(UNUSED, name="refcount")
    won = [Cell(False, name="won0"), Cell(False, name="won1")]
    def claimer(cpu):
        def run():
            ok, _ = slot.compare_exchange(UNUSED, 0, Ordering.ACQUIRE, Ordering.RELAXED)
            if ok:
                won[cpu].write(True)
        return run
    def final():
        assert sum(w.read() for w in won) == 1, "exactly one CPU may claim the frame"
    return [claimer(0), claimer(1)], final
'''

#: the planted bug: load, check, then store (the non-CAS claim), so both CPUs can win
BAD = GOOD.replace(
    "ok, _ = slot.compare_exchange(UNUSED, 0, Ordering.ACQUIRE, Ordering.RELAXED)",
    "ok = slot.load(Ordering.ACQUIRE) == UNUSED\n            if ok:\n                slot.store(0, Ordering.RELAXED)",
).replace("def setup():", "def racy():")


def run(*args: str, input: str | None = None) -> Result:
    """Invoke ``framemc ARGS`` through click's runner, as the console script would."""
    return CliRunner().invoke(cli, list(args), input=input, prog_name="framemc")


def one_line_error(result: Result) -> str:
    """The single error line of a usage error (and check there is exactly one, and no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert lines[0].startswith("framemc: error: ")
    return lines[0]


def racy_trace(folder: Path) -> tuple[Path, dict[str, Any]]:
    """A real trace of the racy (BAD) scenario, written next to its scenario file (so replay can re-import it)."""
    (folder / "bad.py").write_text(BAD)
    trace = folder / "trace.json"
    assert run("explore", f"{folder / 'bad.py'}:racy", "--trace-out", str(trace)).exit_code == 1
    return trace, json.loads(trace.read_text())
