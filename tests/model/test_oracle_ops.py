"""The z3 operations (``model/ops.py``) against an independent oracle, on random states and arguments.

For every registered operation, random cases (``oracle_states.random_case``: half of them arguments the
guard allows, half of those with one nearby cell changed, so the guard is often false by one conjunct)
must get the same guard from the model and from the oracle (``frame_oracle.py``), and when it holds the
same value after the step in every field at every frame and in every scalar.
"""

from __future__ import annotations

import random
import zlib
from functools import lru_cache

import pytest

from frame_oracle import OPERATIONS as ORACLE_OPS, is_initial
from framemc.model.ops import OPERATIONS
from oracle_states import cells_equal, describe, initial_world, model_initial, model_step, random_case, span

#: bounds of the default run, and the cases per operation
MAX_ORDER, NFRAMES, CASES = 2, 8, 120
#: operations whose guard is always true
UNGUARDED = {"retire_early", "stutter"}


@lru_cache(maxsize=None)
def _outcomes(op: str, max_order: int, nframes: int, cases: int, seed: int):
    """Per case: the state, the arguments, the oracle's state after (None: refused), the model's."""
    rng = random.Random(seed * 1_000_003 + zlib.crc32(op.encode()))
    frames = span(max_order, nframes)
    out = []
    for _ in range(cases):
        world, args = random_case(rng, op, max_order, nframes, ORACLE_OPS)
        out.append((world, args, ORACLE_OPS[op](world, *args.values()), model_step(op, world, args, frames)))
    return out


def _disagreements(op: str, outcomes, frames: int) -> list[str]:
    bad = []
    for world, args, oracle, model in outcomes:
        if (oracle is None) != (model is None):
            bad.append(f"guard: model {model is not None}, oracle {oracle is not None} for {op}({args}) in "
                       f"{describe(world)}")
        elif oracle is not None:
            written = {g for cells in oracle.cells.values() for g in cells} - set(range(frames))
            assert not written, f"[test bug] the oracle's {op}({args}) writes frames {written} past the compared span"
            diff = cells_equal(model, oracle, frames)
            if diff:
                bad.append(f"post-state (model != oracle): {diff} for {op}({args}) in {describe(world)}")
    return bad


def test_every_operation_has_an_oracle():
    assert sorted(ORACLE_OPS) == sorted(OPERATIONS)


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_operation_agrees_with_the_oracle(op):
    outcomes = _outcomes(op, MAX_ORDER, NFRAMES, CASES, 1)
    bad = _disagreements(op, outcomes, span(MAX_ORDER, NFRAMES))
    assert not bad, f"{op}: {len(bad)} of {len(outcomes)} cases disagree, first: {bad[0]}"
    allowed = sum(oracle is not None for _, _, oracle, _ in outcomes)
    # the sample must exercise both sides of the guard, or it cannot tell a weakened guard from the model's
    assert allowed >= CASES // 8 and (op in UNGUARDED or CASES - allowed >= CASES // 8), \
        f"{op}: the guard held in {allowed} of {CASES} cases"


def test_initial_states_agree_with_the_oracle():
    rng = random.Random(3)
    frames = span(MAX_ORDER, NFRAMES)
    worlds = [initial_world(rng, MAX_ORDER, NFRAMES, i) for i in range(300)]
    bad = [describe(w) for w in worlds if model_initial(w, frames) != is_initial(w, range(frames))]
    assert not bad, f"{len(bad)} of {len(worlds)} states: the model and the oracle disagree on Init, first: {bad[0]}"
    initial = sum(is_initial(w, range(frames)) for w in worlds)
    assert 80 <= initial <= 150, f"{initial} of {len(worlds)} sampled states are initial"


@pytest.mark.slow
@pytest.mark.parametrize("max_order, nframes", [(3, 16), (1, 4), (0, 2)])
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_operation_agrees_at_other_bounds(op, max_order, nframes):
    outcomes = _outcomes(op, max_order, nframes, 300, 2)
    bad = _disagreements(op, outcomes, span(max_order, nframes))
    assert not bad, f"{op}: {len(bad)} of {len(outcomes)} cases disagree, first: {bad[0]}"
