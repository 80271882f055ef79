"""GenMC's own tests, ported (tests/genmc): the explorer must give GenMC's answer on every row.

Each registry row runs under "sc" and "c11".  A correct test passes
exhaustively with exactly GenMC's number of complete executions (blocked
ones are not counted); under "c11" every explored execution is a distinct
consistent graph.  A wrong test is caught with the violation kind GenMC
reports (and, under "sc", passes or fails as ``sc_violation`` says).  Rows
with ``fast=False`` are marked slow (``pytest -m slow``).
"""

import sys
from pathlib import Path

import pytest

import framemc

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.genmc import GROUPS, REGISTRY  # noqa: E402

MODELS = ("sc", "c11")

ROWS = [pytest.param(test, model, id=f"{test.group}/{test.name}/{model}",
                     marks=[] if test.fast else [pytest.mark.slow])
        for test in REGISTRY for model in MODELS]


def _explore(test, model):
    return framemc.explore(test.setup, memory_model=model, max_executions=test.max_executions(model),
                           max_steps=test.max_steps, minimize=False)


@pytest.mark.parametrize("test,model", ROWS)
def test_genmc_row(test, model):
    result = _explore(test, model)
    kind = test.expected_violation(model)
    if kind is not None:
        assert result.status.value == "violation", f"{test.name}: expected {kind}, the run passed"
        assert result.violation.kind == kind, result.violation.message
        return
    assert result.violation is None, f"{result.violation.kind}: {result.violation.message}"
    assert result.status.value == "pass" and result.exhaustive, result.bound_hit
    expected = test.expected(model)
    if expected is not None:
        assert result.executions == expected
    if model == "c11":
        assert result.stats.consistent_executions == result.executions


def test_registry_covers_at_least_80_genmc_tests():
    dirs = {"/".join(test.source.split("/")[:4]) for test in REGISTRY}
    assert len(dirs) >= 80
    assert len({test.name for test in REGISTRY}) == len(REGISTRY)


#: the violation kinds framemc reports
KINDS = {"assertion", "data-race", "deadlock", "liveness", "exception", "bound"}


@pytest.mark.parametrize("test", REGISTRY, ids=lambda t: t.name)
def test_registry_row_is_well_formed(test):
    assert test.group in GROUPS
    folder = "correct" if test.correct else "wrong"
    assert test.source.startswith(f"tests/{folder}/{test.group}/") and test.source.endswith(".c")
    if test.correct:
        assert test.sc is not None and test.rc11 is not None and test.sc_violation is None
    else:
        assert test.sc is None and test.rc11 is None
        assert test.violation in KINDS and test.sc_violation in KINDS | {None}
