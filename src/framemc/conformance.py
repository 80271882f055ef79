"""Conformance: the z3 model describes the reference implementation.

Design: a :class:`Driver` applies public allocator operations to a real
:class:`~framemc.impl.system.FrameSystem` and snapshots it before and after
each one.  For every step, the model must agree three ways:

* ``framemc.model.relates``: the model's operation of the same name relates
  the pre- and post-snapshot (for some choice of its hidden parameters, e.g.
  which free block it takes);
* every state invariant holds on the post-snapshot;
* every step invariant holds between the two snapshots.

An operation the impl refuses (no memory, a frame not in use, a contract
error) must leave the snapshot unchanged: the model's stutter step.

Operations are chosen by a :class:`random.Random` with a fixed seed (for the
command line) or by Hypothesis (for the tests); both go through
:meth:`Driver.candidates`, so the two cover the same operations.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from framemc.errors import FramemcError, UsageError
from framemc.impl.atomics import on_cpu
from framemc.impl.frame import Frame, FramePurpose
from framemc.impl.system import FrameSystem
from framemc.model import CheckVerdict, InvariantResult, check_snapshot, check_step, relates
from framemc.snapshot import PAGE_SIZE, AllocatorSnapshot

__all__ = ["Op", "StepReport", "ConformanceReport", "Driver", "run_conformance"]


@dataclass(frozen=True, slots=True)
class Op:
    """One public allocator operation with its arguments."""

    #: model operation name (``alloc_frame``, ``drop``, ...)
    name: str
    #: arguments as ``(name, value)`` pairs, in the model's parameter order
    args: tuple[tuple[str, int | bool], ...] = ()

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

    @property
    def failures(self) -> tuple[InvariantResult, ...]:
        """The results that are not PASS."""
        return tuple(r for r in self.results if r.verdict is not CheckVerdict.PASS)


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

    @property
    def verdict(self) -> CheckVerdict:
        """VIOLATION if any check failed, INCONCLUSIVE if any was undecided or the run was cut, else PASS."""
        verdicts = {r.verdict for s in self.steps for r in s.results}
        if CheckVerdict.VIOLATION in verdicts:
            return CheckVerdict.VIOLATION
        if CheckVerdict.INCONCLUSIVE in verdicts or self.cut:
            return CheckVerdict.INCONCLUSIVE
        return CheckVerdict.PASS

    def first_failure(self) -> tuple[int, StepReport] | None:
        """The index and report of the first step with a failing check, or None."""
        for index, step in enumerate(self.steps):
            if step.failures:
                return index, step
        return None


class Driver:
    """A real allocator plus the handles its callers hold; applies operations and checks them."""

    def __init__(self, *, nframes: int = 8, ncpus: int = 2, cache_capacity: int = 2,
                 bugs: Iterable[str] = frozenset()) -> None:
        #: the system under check
        self.system = FrameSystem(nframes, ncpus=ncpus, cache_capacity=cache_capacity, bugs=bugs)
        #: handles held by the simulated callers, in the order they were obtained
        self.handles: list[Frame] = []

    def candidates(self) -> list[Op]:
        """Every operation worth trying now, in a deterministic order."""
        system = self.system
        ops: list[Op] = []
        for cpu in range(system.ncpus):
            for purpose in (FramePurpose.GENERAL, FramePurpose.PAGE_TABLE):
                ops.append(Op("alloc_frame", (("cpu", cpu), ("purpose", purpose.value), ("zeroed", True))))
            ops.append(Op("alloc_frame", (("cpu", cpu), ("purpose", FramePurpose.GENERAL.value), ("zeroed", False))))
            ops.append(Op("alloc_segment", (("cpu", cpu), ("n", 2), ("zeroed", True))))
        held = sorted({h.paddr // PAGE_SIZE for h in self.handles})
        for frame in held:
            ops.append(Op("clone", (("frame", frame),)))
            ops.append(Op("drop", (("frame", frame),)))
            ops.append(Op("mark_poisoned", (("frame", frame),)))
        for frame in range(system.nframes):
            ops.append(Op("from_in_use", (("frame", frame),)))
        return ops

    def _handle_for(self, frame: int) -> int:
        for index, handle in enumerate(self.handles):
            if handle.paddr == frame * PAGE_SIZE:
                return index
        raise UsageError(f"no handle to frame {frame} is held")

    def apply(self, op: Op) -> bool:
        """Run ``op`` on the impl; False when the impl refused it with a FramemcError."""
        args = dict(op.args)
        system = self.system
        try:
            if op.name == "alloc_frame":
                with on_cpu(int(args["cpu"])):
                    self.handles.append(system.options().purpose(FramePurpose(args["purpose"]))
                                        .zeroed(bool(args["zeroed"])).alloc_frame())
            elif op.name == "alloc_segment":
                with on_cpu(int(args["cpu"])):
                    segment = system.options().zeroed(bool(args["zeroed"])).alloc_segment(int(args["n"]))
                self.handles.extend(segment.held())
            elif op.name == "clone":
                self.handles.append(self.handles[self._handle_for(int(args["frame"]))].clone())
            elif op.name == "drop":
                self.handles.pop(self._handle_for(int(args["frame"]))).drop()
            elif op.name == "mark_poisoned":
                self.handles[self._handle_for(int(args["frame"]))].mark_poisoned()
            elif op.name == "from_in_use":
                self.handles.append(system.from_in_use(int(args["frame"]) * PAGE_SIZE))
            else:
                raise UsageError(f"unknown conformance operation {op.name!r}")
        except UsageError:
            raise
        except FramemcError:
            return False
        return True

    def step(self, op: Op) -> StepReport:
        """Apply ``op`` and ask the model whether the impl's step is one of its own."""
        pre = self.system.snapshot()
        applied = self.apply(op)
        post = self.system.snapshot()
        return StepReport(op, applied, check_pair(pre, post, op, applied))


def check_pair(pre: AllocatorSnapshot, post: AllocatorSnapshot, op: Op,
               applied: bool) -> tuple[InvariantResult, ...]:
    """The model's verdicts on one impl step: the transition relation, then every invariant."""
    if applied:
        relation = relates(pre, post, op.name, **dict(op.args))
    else:
        # A refused operation is the model's stutter step: the impl must change nothing.
        changed = pre != post
        verdict = CheckVerdict.VIOLATION if changed else CheckVerdict.PASS
        relation = InvariantResult(f"relates:{op.name}-refused", verdict,
                                   detail="a refused operation changed the allocator state" if changed else "")
    return (relation, *check_snapshot(post), *check_step(pre, post))


def run_conformance(*, seed: int = 0, steps: int = 60, bugs: Iterable[str] = frozenset(),
                    nframes: int = 8, ncpus: int = 2, deadline: float | None = None) -> ConformanceReport:
    """Apply ``steps`` seeded random operations and check each against the model.

    With a ``deadline`` (a ``time.monotonic()`` value) no step starts after
    it; a run stopped that way is ``cut`` and INCONCLUSIVE, never a pass.
    """
    if steps <= 0:
        raise UsageError(f"conformance needs at least one step, got {steps}")
    chooser = random.Random(seed)
    driver = Driver(nframes=nframes, ncpus=ncpus, bugs=bugs)
    reports = []
    for _ in range(steps):
        if deadline is not None and time.monotonic() >= deadline:
            return ConformanceReport(seed, tuple(reports), steps, cut=True)
        report = driver.step(chooser.choice(driver.candidates()))
        reports.append(report)
        if report.failures:
            break
    return ConformanceReport(seed, tuple(reports), steps)
