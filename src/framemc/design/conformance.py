"""Generic conformance checks of a design's impl against its :class:`~framemc.design.frames.FrameModel`.

Design: the design's driver turns each impl snapshot into a concrete
:class:`~framemc.design.frames.FState` over frames ``0..N-1`` and names the
model operations (a macro, or a chain of them) one impl call should be.  This
module knows only the model: :func:`relates` asks z3 whether some choice of
the hidden arguments makes the chain's full guard hold and its post-state
agree with the impl's at every frame below ``N`` and in every scalar;
:func:`check_state` and :func:`check_step` ask whether any 64-bit frame (so
frames beyond ``N`` too) breaks an invariant.  Every query runs under a z3
resource limit, never a clock, so the verdict is the same on any machine;
an undecided query is INCONCLUSIVE, never a pass.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import z3

from framemc.design.frames import FState, FrameModel, FrameSort, Inv, InvKind, frame, numeral
from framemc.errors import UsageError
from framemc.model.concrete import InvariantResult
from framemc.verdicts import Outcome

__all__ = ["Call", "RLIMIT", "relates", "check_state", "check_step", "refused_unchanged"]

#: one model call: a macro or operation name and its known arguments (the others are hidden)
Call = tuple[str, Mapping[str, Any]]
#: z3 resource units one conformance query may spend
RLIMIT = 20_000_000


def _solve(assertions: list[z3.BoolRef], rlimit: int) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    solver = z3.Solver()
    solver.set("rlimit", rlimit)
    solver.add(*assertions)
    result = solver.check()
    return result, (solver.model() if result == z3.sat else None)


def _verdict(result: z3.CheckSatResult, *, sat_passes: bool) -> Outcome:
    if result == z3.unknown:
        return Outcome.INCONCLUSIVE
    return Outcome.PASS if (result == z3.sat) == sat_passes else Outcome.VIOLATION


def relates(model: FrameModel, pre: FState, post: FState, nframes: int, chain: Sequence[Call],
            rlimit: int = RLIMIT) -> InvariantResult:
    """PASS when some choice of hidden arguments takes ``pre`` through ``chain`` to ``post`` (frames below
    ``nframes`` and every scalar agree), VIOLATION when none does."""
    label = "relates:" + "+".join(name for name, _ in chain)
    points = [frame(k) for k in range(nframes + 1)]
    state, guards = pre, []
    for index, (name, known) in enumerate(chain):
        o = model.public(name)
        params = [p for p, _ in o.params]
        extra = sorted(set(known) - set(params))
        if extra:
            raise UsageError(f"model call {name} has no argument {extra[0]!r}; it takes {', '.join(params) or 'none'}")
        args = [numeral(sort, known[p]) if p in known else z3.Const(f"step{index}.{p}", sort) for p, sort in o.params]
        step = o(state, *args)
        guards.append(step.full_guard(points))
        state = step.post
    agree = [getattr(state, n)[p] == getattr(post, n)[p] for n in model.shape.frame_names for p in points[:-1]]
    agree += [getattr(state, n) == getattr(post, n) for n in model.shape.scalar_names]
    result, _ = _solve(guards + agree, rlimit)
    verdict = _verdict(result, sat_passes=True)
    detail = {Outcome.PASS: "", Outcome.INCONCLUSIVE: f"z3 could not decide within {rlimit} resource units",
              Outcome.VIOLATION: "no choice of hidden arguments makes the model's step produce the impl's "
                                 "post-state from its pre-state"}[verdict]
    return InvariantResult(label, verdict, detail=detail)


def _witness(model: FrameModel, m: z3.ModelRef, states: Sequence[FState], frames: Sequence[z3.BitVecRef]) -> dict:
    out: dict[str, Any] = {}
    for f in frames:
        at = m.eval(f, model_completion=True).as_long()
        cells = {}
        for n in model.shape.frame_names:
            vals = [str(m.eval(getattr(s, n)[frame(at)], model_completion=True)) for s in states]
            cells[n] = " -> ".join(vals) if len(set(vals)) > 1 else vals[0]
        out[f"frame {at}"] = cells
    return out


def _check(model: FrameModel, i: Inv, states: Sequence[FState], rlimit: int) -> InvariantResult:
    frames = [z3.Const(n, FrameSort) for n in ("f", "g")[:i.arity]]
    result, m = _solve([z3.Not(i.body(*states, *frames))], rlimit)
    verdict = _verdict(result, sat_passes=False)
    witness = _witness(model, m, states, frames) if verdict is Outcome.VIOLATION and m is not None else {}
    detail = f"z3 could not decide within {rlimit} resource units" if verdict is Outcome.INCONCLUSIVE else ""
    return InvariantResult(i.name, verdict, witness, detail)


def check_state(model: FrameModel, s: FState, rlimit: int = RLIMIT) -> tuple[InvariantResult, ...]:
    """Every state invariant on ``s``, each on its own, at every 64-bit frame."""
    return tuple(_check(model, i, (s,), rlimit) for i in model.state_invariants)


def check_step(model: FrameModel, pre: FState, post: FState, rlimit: int = RLIMIT) -> tuple[InvariantResult, ...]:
    """Every step invariant between ``pre`` and ``post``, each on its own, at every 64-bit frame."""
    return tuple(_check(model, i, (pre, post), rlimit) for i in model.invariants if i.kind is InvKind.STEP)


def refused_unchanged(name: str, pre: Any, post: Any) -> InvariantResult:
    """A refused impl call must leave its snapshot as it was (the model's stutter step)."""
    changed = pre != post
    return InvariantResult(f"relates:{name}-refused", Outcome.VIOLATION if changed else Outcome.PASS,
                           detail="a refused operation changed the allocator state" if changed else "")
