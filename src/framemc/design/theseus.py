"""The Theseus chunk allocator (seed 003) as a design: impl, z3 model, proofs, conformance, planted bugs.

Design: the impl is :class:`~framemc.impl.theseus.TheseusFrameAllocator`,
the model :data:`framemc.model.theseus.MODEL`; this module is the only place
that knows both.  It maps a :class:`~framemc.impl.theseus.TheseusSnapshot`
to a concrete model state, drives the impl with a seeded random mix of every
public call on a 64-frame machine (boot map of 26 two-frame areas), first
filling the early general list to its 32 slots (so the call that would
overflow it is met), and relates each call to the model's macro or chain of
operations with the generic checks of :mod:`framemc.design.conformance`.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, Iterable

from framemc.design import Bug, Design
from framemc.design import conformance as generic
from framemc.design.conformance import Applied, ConformanceReport, CoverageKind, Op
from framemc.design.prover import FrameModelProver
from framemc.design.frames import FState

from framemc.impl.errors import ContractError
from framemc.impl.machine import Layout
from framemc.impl.theseus import (
    AllocationError, Frames, MemoryRegionType, MemoryState, TheseusFrameAllocator, TheseusSnapshot,
)
from framemc.model.theseus import MODEL, Kind, Where, concrete_state
from framemc.snapshot import PAGE_SIZE

__all__ = ["DESIGN", "NFRAMES", "to_state", "conformance", "Driver"]

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

#: public calls, their weights in the seeded choice
WEIGHTS = {
    "allocate_frames": 3, "allocate_frames_deferred": 2, "deliver_action": 2, "allocate_frames_at": 3,
    "into_mapped": 2, "into_unmapped": 2, "into_allocated": 1, "split_at": 2, "merge": 2, "drop": 4,
    "switch_to_heap": 0.2, "alloc": 2, "dealloc": 2, "add_free_memory": 1,
}
#: refusals a run should meet
GUARDS = ("drop refused: DropMappedFrames", "drop refused: EarlyListFull",
          "allocate_frames_at refused: overlaps general memory", "transition refused: WrongFramesState",
          "add_free_memory refused: OverlapsAddedMemory")


class Driver:
    """Seeded random public calls on one Theseus allocator, with the objects it handed out."""

    #: frames the snapshots describe
    nframes = NFRAMES

    def __init__(self, bugs: frozenset[str]) -> None:
        """A fresh allocator (booted by the first step)."""
        self.alloc = TheseusFrameAllocator(phys_frames=NFRAMES, bugs=bugs)
        self.frames: list[Frames] = []
        self.actions: list[Any] = []
        self.later = list(LATER)
        self.booted = False
        #: the one-frame object the filling phase allocated and drops next
        self.fragment: Frames | None = None
        #: the filling phase is over (a drop met the full early list, or nothing is left to fragment)
        self.filled = False

    def _live(self) -> list[Frames]:
        self.frames = [f for f in self.frames if not f.consumed]
        return sorted(self.frames, key=lambda f: f.range.start)

    def boot(self) -> Applied:
        """init with the boot map: one add_region per region, reserved first (as the impl inserts them)."""
        self.alloc.init([(s * PAGE_SIZE, n * PAGE_SIZE) for s, n in BOOT_FREE],
                        [(s * PAGE_SIZE, n * PAGE_SIZE) for s, n in BOOT_RESERVED])
        self.booted = True
        snap = self.alloc.snapshot()
        chain = tuple(("add_region", {"first": s, "end": s + n, "k": int(Kind.RESERVED)})
                      for s, n in snap.reserved_regions)
        chain += tuple(("add_region", {"first": s, "end": s + n, "k": int(Kind.GENERAL)})
                       for s, n in snap.general_regions)
        return Applied(Op("init", (("areas", len(BOOT_FREE)), ("reserved", len(BOOT_RESERVED)))), True, chain)

    def snapshot(self) -> TheseusSnapshot:
        """The allocator's books."""
        return self.alloc.snapshot()

    def state(self, snapshot: TheseusSnapshot) -> FState:
        """The model state they show."""
        return to_state(snapshot)

    def universe(self) -> dict[CoverageKind, tuple[str, ...]]:
        """Every coverage item a run should exercise: public calls, model calls, refusals."""
        model_calls = tuple(MODEL.macros) + ("add_region", "add_free_memory", "switch_to_heap", "deliver",
                                             "into_mapped", "into_unmapped", "into_allocated", "split", "merge", "drop")
        return {CoverageKind.API: ("init",) + tuple(WEIGHTS), CoverageKind.MODEL: model_calls,
                CoverageKind.GUARD: GUARDS}

    def step(self, rng: random.Random, index: int, steps: int) -> Applied:
        """Call ``index``: the boot first, then the filling phase, then random public calls (the heap switch
        half-way)."""
        if not self.booted:
            return self.boot()
        heap_allowed = index >= steps // 2
        if not self.filled and not heap_allowed:
            return self._fill(rng)
        return self._random(rng, heap_allowed=heap_allowed)

    def _fill(self, rng: random.Random) -> Applied:
        """One call of the filling phase: a deferred allocation of the first frame of a free general chunk of two
        or more frames, then the drop of that frame.  Before the heap switch each such pair adds one chunk to
        the general list (the leftover holds a promised slot, and the dropped frame is inserted unmerged),
        until a drop meets the full 32-slot array and is refused (EarlyListFull).  The deferred actions stay
        for the random calls to deliver."""
        if self.fragment is not None:
            frames, self.fragment = self.fragment, None
            applied = self._drop_frames(frames)
            self.filled = not applied.applied
            return applied
        big = [s for s, n in self.alloc.snapshot().free_general if n >= 2]
        if not big:
            self.filled = True
            return self._random(rng, heap_allowed=False)
        # the highest chunk: the early search goes in slot order, so the low two-frame chunks still leave
        # leftovers (deferred pieces) to the random calls after this phase
        applied = self._allocate_deferred(big[-1], 1)
        if applied.applied:
            self.fragment = self.frames[-1]
        return applied

    def _random(self, rng: random.Random, heap_allowed: bool) -> Applied:
        """One random public call."""
        names = sorted(n for n in WEIGHTS if heap_allowed or n != "switch_to_heap")
        if heap_allowed and not self.alloc.snapshot().heap_mode:
            names = ["switch_to_heap"]
        name = rng.choices(names, [WEIGHTS[n] for n in names])[0]
        return getattr(self, "_" + name)(rng)

    def _handout(self, name: str, frames: Frames | None, args: tuple) -> Applied:
        if frames is None:
            return Applied(Op(name, args), False, refusal=f"{name} refused: no chunk")
        self.frames.append(frames)
        r = frames.range
        return Applied(Op(name, args), True, ((name, {"first": r.start, "end": r.end}),))

    def _refused(self, name: str, args: tuple, exc: Exception) -> Applied:
        why = type(exc).__name__
        if isinstance(exc, AllocationError) and "general-purpose" in str(exc):
            why = "overlaps general memory"
        return Applied(Op(name, args), False, refusal=f"{name} refused: {why}")

    def _allocate_frames(self, rng: random.Random) -> Applied:
        # single frames half the time: their drops fragment the early arrays towards the 32-chunk limit
        n = 1 if rng.random() < 0.5 else rng.randint(1, 8)
        try:
            return self._handout("allocate_frames", self.alloc.allocate_frames(n), (("n", n),))
        except ContractError as exc:
            return self._refused("allocate_frames", (("n", n),), exc)

    def _allocate_frames_deferred(self, rng: random.Random) -> Applied:
        return self._allocate_deferred(None, rng.randint(1, 2))

    def _allocate_deferred(self, first: int | None, n: int) -> Applied:
        args = (("n", n),) if first is None else (("first", first), ("n", n))
        try:
            frames, action = self.alloc.allocate_frames_deferred(None if first is None else first * PAGE_SIZE, n)
        except (AllocationError, ContractError) as exc:
            return self._refused("allocate_frames_deferred", args, exc)
        self.actions.append(action)
        return self._handout("allocate_frames_deferred", frames, args)

    def _deliver_action(self, rng: random.Random) -> Applied:
        if not self.actions:
            return self._allocate_frames_deferred(rng)
        action = self.actions.pop(rng.randrange(len(self.actions)))
        pieces = tuple(p for p, _ in action.pieces)
        action.drop()
        chain = tuple(("deliver", {"p": p.start}) for p in pieces) or (("stutter", {}),)
        return Applied(Op("deliver_action", (("pieces", len(pieces)),)), True, chain)

    def _allocate_frames_at(self, rng: random.Random) -> Applied:
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
        return self._allocate_at(first, count)

    def _allocate_at(self, first: int, count: int) -> Applied:
        args = (("first", first), ("n", count))
        try:
            frames = self.alloc.allocate_frames_at(first * PAGE_SIZE, count)
        except (AllocationError, ContractError) as exc:
            return self._refused("allocate_frames_at", args, exc)
        return self._handout("allocate_frames_at", frames, args)

    def _transition(self, rng: random.Random, name: str, source: MemoryState) -> Applied:
        live = self._live()
        if not live:
            return self._allocate_frames(rng)
        right = [f for f in live if f.state is source]
        target = rng.choice(right) if right and rng.random() < 0.85 else rng.choice(live)
        args = (("x", target.range.start),)
        try:
            moved = getattr(target, name)()
        except ContractError as exc:
            return Applied(Op(name, args), False, refusal=f"transition refused: {type(exc).__name__}")
        self.frames.append(moved)
        return Applied(Op(name, args), True, ((name, {"x": target.range.start}),))

    def _into_mapped(self, rng: random.Random) -> Applied:
        return self._transition(rng, "into_mapped", MemoryState.ALLOCATED)

    def _into_unmapped(self, rng: random.Random) -> Applied:
        return self._transition(rng, "into_unmapped", MemoryState.MAPPED)

    def _into_allocated(self, rng: random.Random) -> Applied:
        return self._transition(rng, "into_allocated", MemoryState.UNMAPPED)

    def _split_at(self, rng: random.Random) -> Applied:
        big = [f for f in self._live() if f.nframes >= 2]
        if not big:
            return self._allocate_frames(rng)
        target = rng.choice(big)
        at = rng.randrange(target.range.start + 1, target.range.end)
        args = (("x", target.range.start), ("at", at))
        self.frames.extend(target.split_at(at))
        return Applied(Op("split_at", args), True, (("split", {"x": args[0][1], "at": at}),))

    def _merge(self, rng: random.Random) -> Applied:
        live = self._live()
        pairs = [(a, b) for a, b in zip(live, live[1:])
                 if a.range.end == b.range.start and (a.typ, a.state) == (b.typ, b.state)]
        if not pairs:
            return self._split_at(rng)
        a, b = rng.choice(pairs)
        keep, other = (a, b) if rng.random() < 0.5 else (b, a)
        keep.merge(other)
        return Applied(Op("merge", (("x", a.range.start),)), True, (("merge", {"x": a.range.start}),))

    def _drop(self, rng: random.Random) -> Applied:
        live = self._live()
        if not live:
            return self._allocate_frames(rng)
        # a Mapped object now and then: its drop must be refused (DropMappedFrames)
        mapped = [f for f in live if f.state is MemoryState.MAPPED]
        return self._drop_frames(rng.choice(mapped if mapped and rng.random() < 0.25 else live))

    def _drop_frames(self, target: Frames) -> Applied:
        args = (("x", target.range.start),)
        try:
            target.drop()
        except ContractError as exc:
            return self._refused("drop", args, exc)
        return Applied(Op("drop", args), True, (("drop", {"x": target.range.start}),))

    def _switch_to_heap(self, rng: random.Random) -> Applied:
        self.alloc.switch_to_heap()
        return Applied(Op("switch_to_heap"), True, (("switch_to_heap", {}),))

    def _alloc(self, rng: random.Random) -> Applied:
        n = rng.randint(1, 4)
        args = (("n", n),)
        try:
            paddr = self.alloc.alloc(Layout(n * PAGE_SIZE, PAGE_SIZE))
        except ContractError as exc:
            return self._refused("alloc", args, exc)
        if paddr is None:
            return Applied(Op("alloc", args), False, refusal="alloc refused: no chunk")
        first = paddr // PAGE_SIZE
        return Applied(Op("alloc", args), True, (("contract_alloc", {"first": first, "end": first + n}),))

    def _dealloc(self, rng: random.Random) -> Applied:
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
        return Applied(Op("dealloc", args), True, chain)

    def _add_free_memory(self, rng: random.Random) -> Applied:
        if self.later and rng.random() < 0.7:
            s, n = self.later.pop(0)
        else:
            s, n = rng.randrange(0, 44), 2
        args = (("first", s), ("n", n))
        try:
            self.alloc.add_free_memory(s * PAGE_SIZE, n * PAGE_SIZE)
        except ContractError as exc:
            return self._refused("add_free_memory", args, exc)
        return Applied(Op("add_free_memory", args), True, (("add_free_memory", {"first": s, "end": s + n}),))


def conformance(seed: int = 0, steps: int = 150, bugs: Iterable[str] = frozenset(),
                deadline: float | None = None) -> ConformanceReport:
    """``steps`` seeded random public calls on the Theseus impl (the first boots it), each checked against the model.

    The heap switch comes half-way (repeated now and then after), so the early arrays and the heap lists each see
    half of the run.
    """
    return generic.run(MODEL, Driver(frozenset(bugs)), seed=seed, steps=steps, deadline=deadline)


# ----------------------------------------------------------------- proofs

def _scenarios(memory_model: str) -> dict[str, Any]:
    if memory_model != "sc":
        return {}
    from framemc.scenarios.allocator import SCENARIOS
    return {"theseus-alloc-at": SCENARIOS["theseus-alloc-at"]}


def _bug(name: str, description: str, source: str, module: str, fix: str) -> Bug:
    """One planted bug of this design: its text (here, once), the impl module honouring its knob, its broken
    model operation (``MODEL.variants``) with the invariants it breaks, and its twin scenario."""
    model = MODEL.variants[name]
    twin = {s.twin: f"sc/{s.name}" for s in _scenarios("sc").values()}.get(name)
    return Bug(name, description, source, fix, module, model.replaces, model.breaks, twin)


#: every planted bug of the Theseus design, by name
BUGS: dict[str, Bug] = {b.name: b for b in (
    _bug('alloc-at-skips-overlap',
         "The Theseus allocator's allocate-at-address path skips the overlap check with existing allocations.",
         'seed 003 (Theseus frame_allocator)',
         'framemc.impl.theseus',
         'Check the requested range against every existing allocation before allocating at an address.'),
    _bug('drop-mapped-frames',
         "The Theseus allocator's drop returns a Mapped Frames object to the free list instead of refusing it.",
         'seed 003 (Frames typestate: Mapped frames must be unmapped before they are dropped)',
         'framemc.impl.theseus',
         'Refuse to drop a Frames object in the Mapped state (Theseus panics): unmap it first.'),
    _bug('early-list-overflow',
         "Before switch_to_heap, the Theseus allocator's drop inserts into the early free-chunk array without "
         'checking its 32-slot capacity.',
         'seed 003 (early allocation is limited to tracking 32 chunks)',
         'framemc.impl.theseus',
         "Check the early array's room (counting slots promised to deferred actions) before inserting."),
    _bug('merge-non-adjacent',
         "In heap mode the Theseus allocator's drop merges the freed chunk into the nearest free chunk below it "
         'even when that chunk does not end where the freed one starts.',
         'seed 003 (free chunks are merged when they are dropped; only contiguous ones may merge)',
         'framemc.impl.theseus',
         "Merge only with the free chunk that ends exactly at the freed chunk's start (or starts at its end)."),
)}


def _build(bugs: frozenset[str]) -> TheseusFrameAllocator:
    return TheseusFrameAllocator(bugs=bugs, phys_frames=NFRAMES)


_PROVER = FrameModelProver(MODEL)

DESIGN = Design(
    name="theseus",
    summary="The Theseus chunk frame allocator: chunk lists (32-slot arrays before the heap), deferred actions, "
            "Frames typestate, merge-on-drop.",
    sources=("seed 003 (Theseus frame_allocator crate)",),
    build=_build,
    scenarios=_scenarios,
    prover=_PROVER,
    conformance=conformance,
    bugs=BUGS,
    invariants=MODEL.invariants,
    doc="docs/seed-003-theseus.md",
    definition=_PROVER.definition,
)
