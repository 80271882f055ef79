"""The z3 invariants (``model/invariants.py``) against an independent oracle, frame by frame, on random states.

The oracle (``frame_oracle.py``) restates every invariant in plain Python from the docs; the states
(``oracle_states.py``) are buddy layouts with near-boundary perturbations, mostly unreachable, so a
conjunct that the other invariants imply on reachable states is still observed here.  Both must give the
same verdict at every frame; and every conjunct of the oracle must be, somewhere in the sample, the only
one false at a frame (otherwise the sample could not tell a model without it from the model).
"""

from __future__ import annotations

import random
from functools import lru_cache

import pytest

from frame_oracle import ANY_ACTOR, HOLDER, STATE_INVARIANTS, STEP_INVARIANTS, World, OPERATIONS as ORACLE_OPS
from oracle_states import describe, model_invariants, perturbed, random_case, random_world, span

#: bounds of the default run: small, so that it stays within a few seconds
MAX_ORDER, NFRAMES, STATES, STEPS = 2, 8, 600, 600
ORACLE_OP_NAMES = sorted(ORACLE_OPS)


def _state_sample(max_order: int, nframes: int, count: int, seed: int) -> list[World]:
    rng = random.Random(seed)
    return [random_world(rng, max_order, nframes) for _ in range(count)]


def _step_sample(max_order: int, nframes: int, count: int, seed: int) -> list[tuple[World, World]]:
    """Pairs of states: an operation's step (as the oracle takes it) or an arbitrary change, sometimes both."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        pre = random_world(rng, max_order, nframes)
        post = None
        if rng.random() < 0.5:
            op = rng.choice(ORACLE_OP_NAMES)
            pre, args = random_case(rng, op, max_order, nframes, ORACLE_OPS)
            post = ORACLE_OPS[op](pre, *args.values())
        if post is None or rng.random() < 0.4:
            post = perturbed(rng, post or pre, nframes, rng.choice((1, 1, 2, 3)))
        if rng.random() < 0.3:
            # the step's author: a CPU that may or may not own the caches it touched, a holder, or unknown
            post.set("actor", rng.choice((0, 1, 2, HOLDER, ANY_ACTOR)))
        out.append((pre, post))
    return out


@lru_cache(maxsize=None)
def _state_verdicts(max_order: int, nframes: int, count: int, seed: int):
    """Per sampled state: the state, and the model's verdict per invariant and frame."""
    names = tuple(sorted(STATE_INVARIANTS))
    frames = span(max_order, nframes)
    return [(w, model_invariants(names, w, frames=frames)) for w in _state_sample(max_order, nframes, count, seed)]


@lru_cache(maxsize=None)
def _step_verdicts(max_order: int, nframes: int, count: int, seed: int):
    """Per sampled step: the pair of states, and the model's verdict per step invariant and frame."""
    names = tuple(sorted(STEP_INVARIANTS))
    frames = span(max_order, nframes)
    return [((pre, post), model_invariants(names, pre, post, frames=frames))
            for pre, post in _step_sample(max_order, nframes, count, seed)]


def _disagreements(name: str, verdicts, oracle, frames: int) -> list[str]:
    out = []
    for worlds, model in verdicts:
        if not isinstance(worlds, tuple):
            worlds = (worlds,)
        for f in range(frames):
            conjuncts = oracle(*worlds, f)
            expected = all(ok for _, ok in conjuncts)
            if model[name][f] != expected:
                failing = [c for c, ok in conjuncts if not ok]
                out.append(f"frame {f}: model {model[name][f]}, oracle {expected} (false: {failing}) in "
                           + " -> ".join(describe(w) for w in worlds))
    return out


def _sole_failures(name: str, verdicts, oracle, frames: int) -> dict[str, int]:
    """How often each conjunct of the oracle's invariant ``name`` is the only false one at a frame."""
    counts: dict[str, int] = {}
    for worlds, _ in verdicts:
        worlds = worlds if isinstance(worlds, tuple) else (worlds,)
        for f in range(frames):
            conjuncts = oracle(*worlds, f)
            counts.update({c: counts.get(c, 0) for c, _ in conjuncts})
            false = [c for c, ok in conjuncts if not ok]
            if len(false) == 1:
                counts[false[0]] += 1
    return counts


@pytest.mark.parametrize("name", sorted(STATE_INVARIANTS))
def test_state_invariant_agrees_with_the_oracle(name):
    verdicts = _state_verdicts(MAX_ORDER, NFRAMES, STATES, 13)
    bad = _disagreements(name, verdicts, STATE_INVARIANTS[name], span(MAX_ORDER, NFRAMES))
    assert not bad, f"{name}: {len(bad)} disagreements, first: {bad[0]}"


@pytest.mark.parametrize("name", sorted(STEP_INVARIANTS))
def test_step_invariant_agrees_with_the_oracle(name):
    verdicts = _step_verdicts(MAX_ORDER, NFRAMES, STEPS, 14)
    bad = _disagreements(name, verdicts, STEP_INVARIANTS[name], span(MAX_ORDER, NFRAMES))
    assert not bad, f"{name}: {len(bad)} disagreements, first: {bad[0]}"


@pytest.mark.parametrize("name", sorted(STATE_INVARIANTS) + sorted(STEP_INVARIANTS))
def test_every_conjunct_alone_decides_somewhere(name):
    if name in STATE_INVARIANTS:
        verdicts, oracle = _state_verdicts(MAX_ORDER, NFRAMES, STATES, 13), STATE_INVARIANTS[name]
    else:
        verdicts, oracle = _step_verdicts(MAX_ORDER, NFRAMES, STEPS, 14), STEP_INVARIANTS[name]
    counts = _sole_failures(name, verdicts, oracle, span(MAX_ORDER, NFRAMES))
    never = sorted(c for c, n in counts.items() if n == 0)
    assert not never, f"{name}: no sampled frame falsifies only {never}; sole failures: {counts}"


@pytest.mark.slow
@pytest.mark.parametrize("max_order, nframes", [(3, 16), (1, 4), (0, 2)])
def test_invariants_agree_at_other_bounds(max_order, nframes):
    frames = span(max_order, nframes)
    states = _state_verdicts(max_order, nframes, 1500, 23)
    steps = _step_verdicts(max_order, nframes, 1500, 24)
    bad = [d for name, oracle in STATE_INVARIANTS.items() for d in _disagreements(name, states, oracle, frames)]
    bad += [d for name, oracle in STEP_INVARIANTS.items() for d in _disagreements(name, steps, oracle, frames)]
    assert not bad, f"{len(bad)} disagreements, first: {bad[0]}"
