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

import enum
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import z3

from framemc.design.frames import FState, FrameModel, FrameSort, Inv, InvKind, frame, numeral
from framemc.errors import UsageError
from framemc.verdicts import InvariantResult, Outcome

__all__ = ["Call", "RLIMIT", "relates", "check_state", "check_step", "refused_unchanged", "Op", "StepReport",
           "CoverageKind", "CoverageItem", "Coverage", "ConformanceReport", "Applied", "Driver", "check_call", "run"]

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


# ----------------------------------------------------------------- reports

@dataclass(frozen=True, slots=True)
class Op:
    """One public allocator operation with its arguments."""

    #: model operation name (``alloc_frame``, ``drop``, ...)
    name: str
    #: arguments as ``(name, value)`` pairs, in the model's parameter order
    args: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.name}({inner})"


@dataclass(frozen=True, slots=True)
class StepReport:
    """What the model said about one impl step."""

    #: the operation applied
    op: Op
    #: False when the impl refused it (it must then change nothing)
    applied: bool
    #: one result per check: the transition relation, then each invariant
    results: tuple[InvariantResult, ...]
    #: the single-step model operations of the candidate ``relates`` matched (empty if refused or unmatched)
    model_ops: tuple[str, ...] = ()
    #: coverage items (guards and corner cases) this step exercised, as ``(kind, name)``
    covered: tuple[tuple["CoverageKind", str], ...] = ()

    @property
    def failures(self) -> tuple[InvariantResult, ...]:
        """The results that are not PASS."""
        return tuple(r for r in self.results if r.verdict is not Outcome.PASS)




class CoverageKind(enum.Enum):
    """What a coverage item counts."""

    #: a public operation the impl applied
    API = "operation"
    #: a single-step model operation in a candidate ``relates`` matched
    MODEL = "model op"
    #: a guard that refused an operation (or left it nothing to do)
    GUARD = "guard"
    #: a buddy corner case: split, merge cascade, merge stop, retirement, cache batch, added range
    CASE = "case"


@dataclass(frozen=True, slots=True)
class CoverageItem:
    """One thing a conformance run should exercise, and how often it did."""

    #: what kind of item
    kind: CoverageKind
    #: its name (``buddy_free``, ``dealloc refused: DoubleFree``, ``split order 3 -> 0`` ...)
    name: str
    #: steps that exercised it
    hits: int
    #: False for an item exercised although no run was expected to reach it
    expected: bool = True


@dataclass(frozen=True)
class Coverage:
    """What one conformance run exercised, item by item, in a fixed order."""

    #: every expected item (hit or not), then unexpected items that were hit
    items: tuple[CoverageItem, ...] = ()

    @property
    def uncovered(self) -> tuple[CoverageItem, ...]:
        """Expected items no step exercised."""
        return tuple(i for i in self.items if i.expected and not i.hits)

    def summary(self) -> str:
        """One line: how many expected items were covered."""
        expected = [i for i in self.items if i.expected]
        return f"{len(expected) - len(self.uncovered)} of {len(expected)} conformance coverage items exercised"

    def render(self) -> str:
        """A text table: kind, item, hits (``-`` for an uncovered item), then the summary line."""
        rows = [("kind", "item", "hits")] + [
            (i.kind.value, i.name + ("" if i.expected else " (unexpected)"), str(i.hits) if i.hits else "-")
            for i in self.items]
        widths = [max(len(r[c]) for r in rows) for c in range(2)]
        lines = [f"{k.ljust(widths[0])}  {n.ljust(widths[1])}  {h.rjust(4)}" for k, n, h in rows]
        return "\n".join(lines + [self.summary()]) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the JSON summary."""
        return {
            "items": [{"kind": i.kind.value, "name": i.name, "hits": i.hits, "expected": i.expected}
                      for i in self.items],
            "uncovered": [f"{i.kind.value}: {i.name}" for i in self.uncovered],
            "summary": self.summary(),
        }




@dataclass(frozen=True)
class ConformanceReport:
    """A whole conformance run: every step and its verdicts."""

    #: the seed used to choose operations
    seed: int
    #: step reports in order
    steps: tuple[StepReport, ...] = field(default_factory=tuple)
    #: how many steps were asked for
    requested: int = 0
    #: True when the deadline stopped the run before every requested step ran
    cut: bool = False
    #: what the steps exercised
    coverage: Coverage = field(default_factory=Coverage)

    @property
    def verdict(self) -> Outcome:
        """VIOLATION if any check failed, INCONCLUSIVE if any was undecided or the run was cut, else PASS."""
        verdicts = {r.verdict for s in self.steps for r in s.results}
        if Outcome.VIOLATION in verdicts:
            return Outcome.VIOLATION
        if Outcome.INCONCLUSIVE in verdicts or self.cut:
            return Outcome.INCONCLUSIVE
        return Outcome.PASS

    def first_failure(self) -> tuple[int, StepReport] | None:
        """The index and report of the first step with a failing check, or None."""
        for index, step in enumerate(self.steps):
            if step.failures:
                return index, step
        return None


# ----------------------------------------------------------------- the run

@dataclass(frozen=True)
class Applied:
    """What one driver step did to the impl, and how the model must relate its snapshots."""

    #: the public call, with its arguments
    op: Op
    #: False when the impl refused the call (it must then change nothing)
    applied: bool
    #: the model calls (macros or operations, with their known arguments) the call must be, in order
    chain: tuple[Call, ...] = ()
    #: when refused: which guard refused it (a coverage item), else ""
    refusal: str = ""


class Driver(Protocol):
    """What the generic conformance run needs of a design's driver: seeded calls on a live impl."""

    #: frames ``0 .. nframes-1`` the snapshots describe
    nframes: int

    def snapshot(self) -> Any:
        """The impl's books as plain, comparable values."""

    def state(self, snapshot: Any) -> FState:
        """The concrete model state a snapshot shows."""

    def step(self, rng: random.Random, index: int, steps: int) -> Applied:
        """Make call number ``index`` of ``steps`` (the first boots the impl), chosen with ``rng``."""

    def universe(self) -> Mapping[CoverageKind, tuple[str, ...]]:
        """Every coverage item a run should exercise, by kind."""


def check_call(model: FrameModel, driver: Driver, pre: Any, post: Any, out: Applied) -> StepReport:
    """The model's verdicts on one impl call: the relation (or an unchanged state if refused), then every
    state invariant on the post-state and every step invariant between the two."""
    before, after = driver.state(pre), driver.state(post)
    if out.applied:
        relation = relates(model, before, after, driver.nframes, out.chain)
    else:
        relation = refused_unchanged(out.op.name, pre, post)
    results = (relation, *check_state(model, after), *check_step(model, before, after))
    model_ops = tuple(name for name, _ in out.chain) if out.applied else ()
    covered = [(CoverageKind.API, out.op.name)] + [(CoverageKind.MODEL, n) for n in sorted(set(model_ops))]
    if out.refusal:
        covered.append((CoverageKind.GUARD, out.refusal))
    return StepReport(out.op, out.applied, results, model_ops, tuple(covered))


def _coverage(universe: Mapping[CoverageKind, tuple[str, ...]], hits: Counter) -> Coverage:
    items = [CoverageItem(kind, name, hits[kind, name]) for kind, names in universe.items() for name in names]
    known = {(kind, name) for kind, names in universe.items() for name in names}
    items += [CoverageItem(kind, name, n, expected=False)
              for (kind, name), n in sorted(hits.items(), key=lambda kv: (kv[0][0].value, kv[0][1]))
              if (kind, name) not in known]
    return Coverage(tuple(items))


def run(model: FrameModel, driver: Driver, *, seed: int = 0, steps: int = 150,
        deadline: float | None = None) -> ConformanceReport:
    """``steps`` seeded calls through ``driver``, each checked against ``model``; stops at the first failure.

    With a ``deadline`` (a ``time.monotonic()`` value) no call starts after
    it; a run stopped that way is ``cut`` and INCONCLUSIVE, never a pass.
    """
    if steps <= 0:
        raise UsageError(f"conformance needs at least one step, got {steps}")
    rng = random.Random(seed)
    reports: list[StepReport] = []
    hits: Counter = Counter()
    universe = driver.universe()
    for index in range(steps):
        if deadline is not None and time.monotonic() >= deadline:
            return ConformanceReport(seed, tuple(reports), steps, cut=True, coverage=_coverage(universe, hits))
        pre = driver.snapshot()
        out = driver.step(rng, index, steps)
        report = check_call(model, driver, pre, driver.snapshot(), out)
        hits.update(report.covered)
        reports.append(report)
        if report.failures:
            break
    return ConformanceReport(seed, tuple(reports), steps, coverage=_coverage(universe, hits))
