"""The Theseus chunk allocator (seed 003) as a design: impl, z3 model, proofs, conformance, planted bugs.

Design: the impl is :class:`~framemc.impl.theseus.TheseusFrameAllocator`,
the model :data:`framemc.model.theseus.MODEL`; this module is the only place
that knows both.  It maps a :class:`~framemc.impl.theseus.TheseusSnapshot`
to a concrete model state, drives the impl with a seeded random mix of every
public call on a 64-frame machine (boot map of 26 two-frame areas, so the
early 32-slot arrays can fill), and relates each call to the model's macro
or chain of operations with the generic checks of
:mod:`framemc.design.conformance`.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from framemc.conformance import ConformanceReport, Coverage, CoverageItem, CoverageKind, Op, StepReport
from framemc.design import Bug, Design
from framemc.design import conformance as generic
from framemc.design import prover as generic_prover
from framemc.design.frames import FState
from framemc.errors import UsageError
from framemc.impl.errors import ContractError
from framemc.impl.machine import Layout
from framemc.impl.theseus import (
    AllocationError, Frames, MemoryRegionType, MemoryState, TheseusFrameAllocator, TheseusSnapshot,
)
from framemc.impl.variants import BUG_VARIANTS
from framemc.model.theseus import MODEL, Kind, Where, concrete_state
from framemc.snapshot import PAGE_SIZE
from framemc.verdicts import Obligation, ObligationResult

__all__ = ["DESIGN", "NFRAMES", "to_state", "conformance", "TheseusProver"]

#: frames of the conformance machine's address space
NFRAMES = 64
#: the boot map: 26 general areas of two frames each in [0, 52) (close to the 32-chunk limit), one reserved area
BOOT_FREE = tuple((2 * i, 2) for i in range(26))
BOOT_RESERVED = ((52, 4),)
#: general memory added later: next to the boot areas, and apart from every general area
LATER = ((56, 4), (60, 2))
#: never-known frames, where allocate_frames_at carves a new reserved region
DEVICE = (62, 2)

_KIND = {MemoryRegionType.FREE.value: Kind.GENERAL, MemoryRegionType.RESERVED.value: Kind.RESERVED}
_WHERE = {MemoryState.ALLOCATED.value: Where.ALLOCATED, MemoryState.MAPPED.value: Where.MAPPED,
          MemoryState.UNMAPPED.value: Where.UNMAPPED}


def to_state(snap: TheseusSnapshot) -> FState:
    """The model state a snapshot shows (overlapping chunks or regions stay visible as invariant violations)."""
    held = Counter(snap.held)
    chunks = [(s, s + n, Where.FREE, False) for s, n in snap.free_general + snap.free_reserved]
    chunks += [(s, s + n, Where.PENDING, False) for s, n, _ in snap.pending]
    for s, n, _, state in snap.allocated:
        mine = held[(s, n)] > 0
        held[(s, n)] -= mine
        chunks.append((s, s + n, _WHERE[state], mine))
    regions = [(s, s + n, Kind.GENERAL) for s, n in snap.general_regions]
    regions += [(s, s + n, Kind.RESERVED) for s, n in snap.reserved_regions]
    counts = {
        "nfree_g": len(snap.free_general), "nfree_r": len(snap.free_reserved),
        "npend_g": sum(1 for p in snap.pending if p[2] == MemoryRegionType.FREE.value),
        "npend_r": sum(1 for p in snap.pending if p[2] == MemoryRegionType.RESERVED.value),
        "nreg_g": len(snap.general_regions), "nreg_r": len(snap.reserved_regions),
    }
    return concrete_state(chunks, regions, heap=snap.heap_mode, counts=counts)


# ----------------------------------------------------------------- the driver

#: what one driver step did: the call, whether the impl applied it, the model calls it should be, guard hit
@dataclass(frozen=True)
class _Outcome:
    op: Op
    applied: bool
    chain: tuple[generic.Call, ...] = ()
    refusal: str = ""


#: public calls, their weights in the seeded choice
WEIGHTS = {
    "allocate_frames": 3, "allocate_frames_deferred": 2, "deliver_action": 2, "allocate_frames_at": 3,
    "into_mapped": 2, "into_unmapped": 2, "into_allocated": 1, "split_at": 2, "merge": 2, "drop": 4,
    "switch_to_heap": 0.2, "alloc": 2, "dealloc": 2, "add_free_memory": 0.6,
}
#: refusals a run should meet
GUARDS = ("drop refused: DropMappedFrames", "allocate refused: EarlyListFull",
          "allocate_frames_at refused: overlaps general memory", "transition refused: WrongFramesState",
          "add_free_memory refused: OverlapsAddedMemory")


class Driver:
    """Seeded random public calls on one Theseus allocator, with the objects it handed out."""

    def __init__(self, bugs: frozenset[str]) -> None:
        """A fresh allocator (booted by the first step)."""
        self.alloc = TheseusFrameAllocator(phys_frames=NFRAMES, bugs=bugs)
        self.frames: list[Frames] = []
        self.actions: list[Any] = []
        self.later = list(LATER)
        self.booted = False

    def _live(self) -> list[Frames]:
        self.frames = [f for f in self.frames if not f.consumed]
        return sorted(self.frames, key=lambda f: f.range.start)

    def boot(self) -> _Outcome:
        """init with the boot map: one add_region per region, reserved first (as the impl inserts them)."""
        self.alloc.init([(s * PAGE_SIZE, n * PAGE_SIZE) for s, n in BOOT_FREE],
                        [(s * PAGE_SIZE, n * PAGE_SIZE) for s, n in BOOT_RESERVED])
        self.booted = True
        snap = self.alloc.snapshot()
        chain = tuple(("add_region", {"first": s, "end": s + n, "k": int(Kind.RESERVED)})
                      for s, n in snap.reserved_regions)
        chain += tuple(("add_region", {"first": s, "end": s + n, "k": int(Kind.GENERAL)})
                       for s, n in snap.general_regions)
        return _Outcome(Op("init", (("areas", len(BOOT_FREE)), ("reserved", len(BOOT_RESERVED)))), True, chain)

    def step(self, rng: random.Random, heap_allowed: bool) -> _Outcome:
        """One random public call."""
        names = sorted(n for n in WEIGHTS if heap_allowed or n != "switch_to_heap")
        if heap_allowed and not self.alloc.snapshot().heap_mode:
            names = ["switch_to_heap"]
        name = rng.choices(names, [WEIGHTS[n] for n in names])[0]
        return getattr(self, "_" + name)(rng)

    def _handout(self, name: str, frames: Frames | None, args: tuple) -> _Outcome:
        if frames is None:
            return _Outcome(Op(name, args), False, refusal=f"{name} refused: no chunk")
        self.frames.append(frames)
        r = frames.range
        return _Outcome(Op(name, args), True, ((name, {"first": r.start, "end": r.end}),))

    def _refused(self, name: str, args: tuple, exc: Exception) -> _Outcome:
        why = type(exc).__name__
        if isinstance(exc, AllocationError) and "general-purpose" in str(exc):
            why = "overlaps general memory"
        head = "allocate" if why == "EarlyListFull" else name
        return _Outcome(Op(name, args), False, refusal=f"{head} refused: {why}")

    def _allocate_frames(self, rng: random.Random) -> _Outcome:
        # single frames half the time: their drops fragment the early arrays towards the 32-chunk limit
        n = 1 if rng.random() < 0.5 else rng.randint(1, 8)
        try:
            return self._handout("allocate_frames", self.alloc.allocate_frames(n), (("n", n),))
        except ContractError as exc:
            return self._refused("allocate_frames", (("n", n),), exc)

    def _allocate_frames_deferred(self, rng: random.Random) -> _Outcome:
        n = rng.randint(1, 2)
        try:
            frames, action = self.alloc.allocate_frames_deferred(None, n)
        except (AllocationError, ContractError) as exc:
            return self._refused("allocate_frames_deferred", (("n", n),), exc)
        self.actions.append(action)
        return self._handout("allocate_frames_deferred", frames, (("n", n),))

    def _deliver_action(self, rng: random.Random) -> _Outcome:
        if not self.actions:
            return self._allocate_frames_deferred(rng)
        action = self.actions.pop(rng.randrange(len(self.actions)))
        pieces = tuple(p for p, _ in action.pieces)
        action.drop()
        chain = tuple(("deliver", {"p": p.start}) for p in pieces) or (("stutter", {}),)
        return _Outcome(Op("deliver_action", (("pieces", len(pieces)),)), True, chain)

    def _allocate_frames_at(self, rng: random.Random) -> _Outcome:
        snap = self.alloc.snapshot()
        free = [(s, n) for s, n in snap.free_general + snap.free_reserved]
        used = [(s, n) for s, n, _, _ in snap.allocated]
        choice = rng.random()
        if choice < 0.55 and free:
            s, n = rng.choice(free)
            first = rng.randrange(s, s + n)
            count = rng.randint(1, s + n - first)
        elif choice < 0.8:
            first, count = DEVICE[0] + rng.randrange(2), rng.randint(1, 2)
        elif used:
            s, n = rng.choice(used)
            first, count = s, n
        else:
            first, count = 0, 1
        args = (("first", first), ("n", count))
        try:
            frames = self.alloc.allocate_frames_at(first * PAGE_SIZE, count)
        except (AllocationError, ContractError) as exc:
            return self._refused("allocate_frames_at", args, exc)
        return self._handout("allocate_frames_at", frames, args)

    def _transition(self, rng: random.Random, name: str, source: MemoryState) -> _Outcome:
        live = self._live()
        if not live:
            return self._allocate_frames(rng)
        right = [f for f in live if f.state is source]
        target = rng.choice(right) if right and rng.random() < 0.85 else rng.choice(live)
        args = (("x", target.range.start),)
        try:
            moved = getattr(target, name)()
        except ContractError as exc:
            return _Outcome(Op(name, args), False, refusal=f"transition refused: {type(exc).__name__}")
        self.frames.append(moved)
        return _Outcome(Op(name, args), True, ((name, {"x": target.range.start}),))

    def _into_mapped(self, rng: random.Random) -> _Outcome:
        return self._transition(rng, "into_mapped", MemoryState.ALLOCATED)

    def _into_unmapped(self, rng: random.Random) -> _Outcome:
        return self._transition(rng, "into_unmapped", MemoryState.MAPPED)

    def _into_allocated(self, rng: random.Random) -> _Outcome:
        return self._transition(rng, "into_allocated", MemoryState.UNMAPPED)

    def _split_at(self, rng: random.Random) -> _Outcome:
        big = [f for f in self._live() if f.nframes >= 2]
        if not big:
            return self._allocate_frames(rng)
        target = rng.choice(big)
        at = rng.randrange(target.range.start + 1, target.range.end)
        args = (("x", target.range.start), ("at", at))
        self.frames.extend(target.split_at(at))
        return _Outcome(Op("split_at", args), True, (("split", {"x": args[0][1], "at": at}),))

    def _merge(self, rng: random.Random) -> _Outcome:
        live = self._live()
        pairs = [(a, b) for a, b in zip(live, live[1:])
                 if a.range.end == b.range.start and (a.typ, a.state) == (b.typ, b.state)]
        if not pairs:
            return self._split_at(rng)
        a, b = rng.choice(pairs)
        keep, other = (a, b) if rng.random() < 0.5 else (b, a)
        keep.merge(other)
        return _Outcome(Op("merge", (("x", a.range.start),)), True, (("merge", {"x": a.range.start}),))

    def _drop(self, rng: random.Random) -> _Outcome:
        live = self._live()
        if not live:
            return self._allocate_frames(rng)
        target = rng.choice(live)
        args = (("x", target.range.start),)
        try:
            target.drop()
        except ContractError as exc:
            return self._refused("drop", args, exc)
        return _Outcome(Op("drop", args), True, (("drop", {"x": target.range.start}),))

    def _switch_to_heap(self, rng: random.Random) -> _Outcome:
        self.alloc.switch_to_heap()
        return _Outcome(Op("switch_to_heap"), True, (("switch_to_heap", {}),))

    def _alloc(self, rng: random.Random) -> _Outcome:
        n = rng.randint(1, 4)
        args = (("n", n),)
        try:
            paddr = self.alloc.alloc(Layout(n * PAGE_SIZE, PAGE_SIZE))
        except ContractError as exc:
            return self._refused("alloc", args, exc)
        if paddr is None:
            return _Outcome(Op("alloc", args), False, refusal="alloc refused: no chunk")
        first = paddr // PAGE_SIZE
        return _Outcome(Op("alloc", args), True, (("contract_alloc", {"first": first, "end": first + n}),))

    def _dealloc(self, rng: random.Random) -> _Outcome:
        held = self.alloc.snapshot().held
        if not held:
            return self._alloc(rng)
        s, n = rng.choice(held)
        first = rng.randrange(s, s + n) if rng.random() < 0.5 else s
        end = rng.randint(first + 1, s + n) if first != s else s + n
        if rng.random() < 0.2:
            end = min(end + 2, NFRAMES)
        args = (("first", first), ("n", end - first))
        pieces = sorted((c, c + m) for c, m in held if c < end and first < c + m)
        try:
            self.alloc.dealloc(first * PAGE_SIZE, (end - first) * PAGE_SIZE)
        except ContractError as exc:
            return self._refused("dealloc", args, exc)
        chain = tuple(("contract_dealloc_piece", {"x": c, "first": max(c, first), "end": min(e, end)})
                      for c, e in pieces)
        return _Outcome(Op("dealloc", args), True, chain)

    def _add_free_memory(self, rng: random.Random) -> _Outcome:
        if self.later and rng.random() < 0.7:
            s, n = self.later.pop(0)
        else:
            s, n = rng.randrange(0, 44), 2
        args = (("first", s), ("n", n))
        try:
            self.alloc.add_free_memory(s * PAGE_SIZE, n * PAGE_SIZE)
        except ContractError as exc:
            return self._refused("add_free_memory", args, exc)
        return _Outcome(Op("add_free_memory", args), True, (("add_free_memory", {"first": s, "end": s + n}),))


def _universe() -> dict[CoverageKind, tuple[str, ...]]:
    model_calls = tuple(MODEL.macros) + ("add_region", "add_free_memory", "switch_to_heap", "deliver", "into_mapped",
                                         "into_unmapped", "into_allocated", "split", "merge", "drop")
    return {CoverageKind.API: ("init",) + tuple(WEIGHTS), CoverageKind.MODEL: model_calls,
            CoverageKind.GUARD: GUARDS}


def _coverage(hits: Counter) -> Coverage:
    universe = _universe()
    items = [CoverageItem(kind, name, hits[kind, name]) for kind, names in universe.items() for name in names]
    known = {(kind, name) for kind, names in universe.items() for name in names}
    items += [CoverageItem(kind, name, n, expected=False)
              for (kind, name), n in sorted(hits.items(), key=lambda kv: (kv[0][0].value, kv[0][1]))
              if (kind, name) not in known]
    return Coverage(tuple(items))


def _check(pre: TheseusSnapshot, post: TheseusSnapshot, out: _Outcome) -> StepReport:
    before, after = to_state(pre), to_state(post)
    if out.applied:
        relation = generic.relates(MODEL, before, after, NFRAMES, out.chain)
    else:
        relation = generic.refused_unchanged(out.op.name, pre, post)
    results = (relation, *generic.check_state(MODEL, after), *generic.check_step(MODEL, before, after))
    model_ops = tuple(name for name, _ in out.chain) if out.applied else ()
    covered = [(CoverageKind.API, out.op.name)] + [(CoverageKind.MODEL, n) for n in sorted(set(model_ops))]
    if out.refusal:
        covered.append((CoverageKind.GUARD, out.refusal))
    return StepReport(out.op, out.applied, results, model_ops, tuple(covered))


def conformance(seed: int = 0, steps: int = 150, bugs: Iterable[str] = frozenset(),
                deadline: float | None = None) -> ConformanceReport:
    """``steps`` seeded random public calls on the Theseus impl (the first boots it), each checked against the model.

    The heap switch comes half-way (repeated now and then after), so the early arrays and the heap lists each see
    half of the run.
    """
    if steps <= 0:
        raise UsageError(f"conformance needs at least one step, got {steps}")
    rng = random.Random(seed)
    driver = Driver(frozenset(bugs))
    reports: list[StepReport] = []
    hits: Counter = Counter()
    for index in range(steps):
        if deadline is not None and time.monotonic() >= deadline:
            return ConformanceReport(seed, tuple(reports), steps, cut=True, coverage=_coverage(hits))
        pre = driver.alloc.snapshot()
        out = driver.boot() if not driver.booted else driver.step(rng, heap_allowed=index >= steps // 2)
        report = _check(pre, driver.alloc.snapshot(), out)
        hits.update(report.covered)
        reports.append(report)
        if report.failures:
            break
    return ConformanceReport(seed, tuple(reports), steps, coverage=_coverage(hits))


# ----------------------------------------------------------------- proofs

class TheseusProver:
    """The generic prover over the Theseus model (this design has no buddy orders: ``max_order`` is ignored)."""

    def obligations(self, variant: str | None = None) -> list[Obligation]:
        """Every obligation, in suite order."""
        return generic_prover.obligations(MODEL, variant=variant)

    def run(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
            rlimit_scale: float = 1.0, deadline: float | None = None, max_order: int | None = None,
            on_result: Callable[[ObligationResult], None] | None = None) -> list[ObligationResult]:
        """Discharge the named obligations (all when None)."""
        return generic_prover.run(MODEL, names, variant=variant, witnesses=MODEL.witnesses(), timeout_ms=timeout_ms,
                                  rlimit_scale=rlimit_scale, deadline=deadline, on_result=on_result)


def _scenarios(memory_model: str) -> dict[str, Any]:
    if memory_model != "sc":
        return {}
    from framemc.scenarios.allocator import SCENARIOS
    return {"theseus-alloc-at": SCENARIOS["theseus-alloc-at"]}


def _bug(name: str, scenario: str | None = None) -> Bug:
    v = BUG_VARIANTS[name]
    model = MODEL.variants[name]
    return Bug(name, v.description, v.source, v.fix, v.module, model.replaces, tuple(i.name for i in model.breaks),
               scenario)


def _build(bugs: frozenset[str]) -> TheseusFrameAllocator:
    return TheseusFrameAllocator(bugs=bugs, phys_frames=NFRAMES)


DESIGN = Design(
    name="theseus",
    summary="The Theseus chunk frame allocator: chunk lists (32-slot arrays before the heap), deferred actions, "
            "Frames typestate, merge-on-drop.",
    sources=("seed 003 (Theseus frame_allocator crate)",),
    build=_build,
    scenarios=_scenarios,
    prover=TheseusProver(),
    conformance=conformance,
    bugs={name: _bug(name, "theseus-alloc-at" if name == "alloc-at-skips-overlap" else None)
          for name in sorted(MODEL.variants)},
    invariants=tuple((i.name, i.kind.value, i.statement) for i in MODEL.invariants),
    doc="docs/seed-003-theseus.md",
)
