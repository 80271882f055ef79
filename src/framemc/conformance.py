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

The machine (:class:`Machine`) is booted by the first step (``init`` of a
usable region minus an early-allocated frame) and keeps some frames back,
added later in adjacent and apart pieces by ``add_free_memory``; the
operations are every public one: frames and segments of 1 to 2**max_order
frames through ``FrameAllocOptions``, raw ``alloc``/``dealloc`` of the
``GlobalFrameAllocator`` contract (whole and in pieces, and refused ones),
handle clone/drop/poison/``from_in_use``, and per-CPU cache refill/flush.
Each run records its :class:`Coverage`: the public operations applied, the
single-step model operations of the candidates ``relates`` matched, the
guards that refused an operation, and the buddy corner cases (split from
order j to k, merge cascades by length and by what stopped them).

Operations are chosen by a :class:`random.Random` with a fixed seed (for the
command line) or by Hypothesis (for the tests); both go through
:meth:`Driver.candidates`, so the two cover the same operations.

Random steps rarely reach the buddy's rare corners: a split from the top
order needs every smaller block taken, a merge cascade to the top order
every frame but one of a top-order block free, and one poisoned or
long-held frame keeps them out of reach for good; the guards that need a
drained pool, and a poisoned frame's retirement, are rare too.  So a seeded
run starts with *corner tours* (:func:`run_conformance`): for each such item
(:func:`tour_targets`), a fresh boot of the machine if the item is out of
reach from where the last tour left it, then the steps that bring the
allocator closest to the item, each chosen by trying every
candidate of the groups that lead there on a copy of the allocator
(:meth:`Driver.steer`).  The copy only
predicts; every tour step is checked against the model like any other, and
what a step covered is read off the real step.
"""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Callable

from framemc.errors import KernelError, RetryBoundExceeded, UsageError
from framemc.sync import on_cpu
from framemc.impl.boot import EarlyFrameAllocator, MemoryRegion, MemoryRegionType, init
from framemc.impl.buddy import FrameState, Layout
from framemc.impl.errors import GetFrameError
from framemc.impl.frame import Frame, FramePurpose
from framemc.impl.system import FrameSystem
from framemc.design.conformance import (ConformanceReport, Coverage, CoverageItem, CoverageKind, Op, StepReport)
from framemc.model import OPERATIONS, CheckVerdict, InvariantResult, check_snapshot, check_step
from framemc.model.invariants import STATE_INVARIANTS
from framemc.model import macros
from framemc.model.macros import MACROS, relates_match
from framemc.snapshot import FLAG_POISONED, PAGE_SIZE, AllocatorSnapshot

__all__ = ["Machine", "Op", "StepReport", "ConformanceReport", "CoverageKind", "CoverageItem", "Coverage",
           "Driver", "run_conformance", "coverage_universe"]


@dataclass(frozen=True)
class Machine:
    """The simulated machine a conformance run drives, and how its memory enters the allocator."""

    #: frames of simulated RAM (every frame costs each model query a little)
    nframes: int = 24
    #: highest buddy order (segments of up to 2**max_order frames)
    max_order: int = 3
    #: CPUs, each with an order-0 cache
    ncpus: int = 2
    #: per-CPU cache capacity (refill/flush batches are half of it)
    cache_capacity: int = 1
    #: the usable region ``init`` boots from: frames ``[0, boot_frames)``
    boot_frames: int = 16
    #: frames the early allocator takes from the start of the usable region (never added)
    early_frames: int = 1
    #: ``(first, n)`` ranges kept back at boot and added later by ``add_free_memory``; frames in neither
    #: these nor the usable region (here frame 19) are bad memory, never added: one range is added next
    #: to the booted pool, the other apart from every added range
    held_back: tuple[tuple[int, int], ...] = ((16, 3), (20, 4))
    #: frames a run may poison (memory errors are rare; each poisoned frame is retired for good and
    #: stops every merge across it)
    poison_limit: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.early_frames < self.boot_frames <= self.nframes:
            raise UsageError(f"machine: need 0 <= early_frames < boot_frames <= nframes, got {self}")
        covered = [f for first, n in self.held_back for f in range(first, first + n)]
        if len(set(covered)) != len(covered) or any(not self.boot_frames <= f < self.nframes for f in covered):
            raise UsageError(f"machine: held-back ranges must be disjoint and lie in [boot_frames, nframes): "
                             f"{self.held_back}")


# ----------------------------------------------------------------- coverage

def _macro_steps() -> tuple[str, ...]:
    """The registered single-step operations the macros are built from (the ones their module imports)."""
    scope = vars(macros)
    return tuple(name for name, spec in OPERATIONS.items() if scope.get(spec.fn.__name__) is spec.fn)

#: refusals and empty steps a run should meet: ``<operation> refused: <why>`` and friends
GUARDS = (
    "alloc_frame refused: NoMemory",
    "alloc_segment refused: NoMemory",
    "alloc refused: no memory",
    "alloc refused although enough frames are free (fragmented)",
    "from_in_use refused: GetFrameError unused",
    "dealloc refused: DoubleFree",
    "dealloc refused: OverlapsFreeMemory",
    "dealloc refused: NotAddedMemory",
    "add_free_memory refused: OverlapsAddedMemory",
    "cache_refill with nothing to take",
    "cache_flush of an empty cache",
)


def coverage_universe(machine: Machine) -> dict[CoverageKind, tuple[str, ...]]:
    """Every item a run on ``machine`` is expected to exercise, by kind, in report order."""
    top = machine.max_order
    cases = [f"split order {j} -> {k}" for j in range(top + 1) for k in range(j + 1)]
    cases += [f"merge cascade of length {n}" for n in range(top + 1)]
    cases += ["merge stopped at the top order", "merge stopped by a pool boundary", "merge stopped by a busy buddy",
              "poisoned frame retired by its last drop", "poisoned frame retired by dealloc",
              "full cache flushed by a free", "empty cache refilled by an alloc",
              "dealloc of a whole raw allocation", "dealloc of part of a raw allocation",
              "add_free_memory next to an added range", "add_free_memory apart from every added range",
              "segment frame dropped before a lower frame of it"]
    return {
        CoverageKind.API: tuple(MACROS),
        CoverageKind.MODEL: _macro_steps(),
        CoverageKind.GUARD: GUARDS,
        CoverageKind.CASE: tuple(cases),
    }


def _coverage(machine: Machine, hits: Counter) -> Coverage:
    universe = coverage_universe(machine)
    items = [CoverageItem(kind, name, hits[kind, name]) for kind, names in universe.items() for name in names]
    known = {(kind, name) for kind, names in universe.items() for name in names}
    items += [CoverageItem(kind, name, n, expected=False) for (kind, name), n in sorted(
        hits.items(), key=lambda kv: (list(CoverageKind).index(kv[0][0]), kv[0][1])) if (kind, name) not in known]
    return Coverage(tuple(items))


# ----------------------------------------------------------------- the driver

#: relative weight of each group of candidates when a seeded run picks the next one (Hypothesis draws groups
#: uniformly); ``probe`` holds the operations the impl should refuse
WEIGHTS = {
    "init": 1, "alloc_frame": 2, "alloc_segment": 3, "alloc": 3, "dealloc": 3, "drop": 3, "clone": 1,
    "mark_poisoned": 0.5, "from_in_use": 0.5, "add_free_memory": 1, "cache_refill": 0.75, "cache_flush": 0.75,
    "probe": 1.5,
}
_FREEING = ("dealloc", "drop")
#: public operations whose macro has an explicit refusal candidate (checked with ``relates`` when refused too)
REFUSAL_MACROS = frozenset({"from_in_use"})
_ALLOCATING = ("alloc_frame", "alloc_segment", "alloc")
#: at most this share of a seeded run's steps goes to corner tours
TOUR_SHARE = 1 / 3
#: steps a corner tour may take after its boot
TOUR_STEPS = 12
#: the allocator methods the driver instruments for coverage (instance attributes over the class's)
_INSTRUMENTED = ("_take_block", "_free_block", "_refill")


class Driver:
    """A real allocator plus the handles its callers hold; applies operations and checks them."""

    def __init__(self, machine: Machine | None = None, *, bugs: Iterable[str] = frozenset()) -> None:
        machine = machine or Machine()
        #: the machine's shape
        self.machine = machine
        #: the system under check; memory enters it through the ``init`` step and ``add_free_memory``
        self.system = FrameSystem(machine.nframes, ncpus=machine.ncpus, max_order=machine.max_order,
                                  cache_capacity=machine.cache_capacity, bugs=bugs, add_all=False)
        #: True once the ``init`` step ran
        self.booted = False
        #: handles held by the simulated callers, in the order they were obtained
        self.handles: list[Frame] = []
        #: raw ``alloc`` results still (partly) held: first frame -> (frames allocated, frames still held)
        self.raw: dict[int, tuple[int, set[int]]] = {}
        #: the segment each handle-held frame came from, as (first, n)
        self.segment_of: dict[int, tuple[int, int]] = {}
        #: hits per coverage item
        self.hits: Counter = Counter()
        self._events: list[str] = []
        self._draining = False
        self._empty_for = 0
        #: the last snapshot checked and its state-invariant results (a refused step leaves it unchanged)
        self._checked: tuple[AllocatorSnapshot, tuple[InvariantResult, ...]] | None = None
        self._instrument()

    # ----------------------------------------------------------------- candidates

    def candidates(self) -> list[Op]:
        """Every operation worth trying now, in a deterministic order."""
        return [op for op, _, _ in self._weighted()]

    def groups(self) -> dict[str, list[Op]]:
        """The candidates by group: the operation name, or ``probe`` for those the impl should refuse."""
        grouped: dict[str, list[Op]] = {}
        for op, group, _ in self._weighted():
            grouped.setdefault(group, []).append(op)
        return grouped

    def _weighted(self) -> list[tuple[Op, str, float]]:
        """``(candidate, group, weight within its group)`` in a deterministic order."""
        m, system = self.machine, self.system
        if not self.booted:
            return [(Op("init", (("first", 0), ("n", m.boot_frames), ("early", (0, m.early_frames)))), "init", 1)]
        out: list[tuple[Op, str, float]] = []
        sizes = range(1, (1 << m.max_order) + 1)
        for cpu in range(system.ncpus):
            for purpose in (FramePurpose.GENERAL, FramePurpose.PAGE_TABLE):
                out.append((Op("alloc_frame", (("cpu", cpu), ("purpose", purpose.value), ("zeroed", True))),
                            "alloc_frame", 1))
            out.append((Op("alloc_frame", (("cpu", cpu), ("purpose", FramePurpose.GENERAL.value),
                                           ("zeroed", False))), "alloc_frame", 1))
            # small requests are likelier, as in a kernel; big ones split and refuse more
            out += [(Op("alloc_segment", (("cpu", cpu), ("n", n), ("zeroed", (n + cpu) % 2 == 0))),
                     "alloc_segment", 1 / n) for n in sizes]
            # raw ranges come back in pieces of every order: every size is as likely
            out += [(Op("alloc", (("cpu", cpu), ("n", n))), "alloc", 1) for n in sizes]
            out += [(Op("cache_refill", (("cpu", cpu),)), "cache_refill", 1),
                    (Op("cache_flush", (("cpu", cpu),)), "cache_flush", 1)]
        held = self._handle_frames()
        for frame in held:
            out += [(Op("clone", (("frame", frame),)), "clone", 1), (Op("drop", (("frame", frame),)), "drop", 1),
                    (Op("from_in_use", (("frame", frame),)), "from_in_use", 1)]
        allocator = system.allocator
        raw_held = self._raw_frames()
        poisoned = sum(bool(slot.flags.peek() & FLAG_POISONED) for slot in self.system.meta.slots)
        if poisoned < m.poison_limit:
            # raw frames likelier: their retirement goes through dealloc, a handle's through its last drop
            out += [(Op("mark_poisoned", (("frame", f),)), "mark_poisoned", 1) for f in held]
            out += [(Op("mark_poisoned", (("frame", f),)), "mark_poisoned", 2) for f in raw_held]
        out += [(op, "dealloc", 1) for op in self._dealloc_pieces()]
        added = {first for first, _ in allocator.added()}
        out += [(Op("add_free_memory", (("first", a), ("n", n))), "add_free_memory", 1)
                for a, n in m.held_back if a not in added]
        return out + [(op, "probe", w) for op, w in self._refused_probes(held, raw_held)]

    def _dealloc_pieces(self) -> list[Op]:
        """Pieces of the raw allocations still held: whole runs, halves, ends, middles."""
        pieces: set[tuple[int, int]] = set()
        for n, kept in self.raw.values():
            for a, b in _runs(sorted(kept)):
                size = b - a
                pieces.update({(a, size), (a, 1), (b - 1, 1)})
                if size > 2:
                    pieces.update({(a, size // 2), (a + size // 2, size - size // 2), (a + 1, size - 2)})
        return [Op("dealloc", (("first", a), ("n", n))) for a, n in sorted(pieces)]

    def _handle_frames(self) -> list[int]:
        """Frames the simulated callers hold a handle to, sorted."""
        return sorted({h.paddr // PAGE_SIZE for h in self.handles})

    def _raw_frames(self) -> list[int]:
        """Frames of the raw allocations still held, sorted."""
        return sorted(f for _, kept in self.raw.values() for f in kept)

    def _state(self, f: int) -> FrameState | None:
        """The allocator's state of frame ``f``, or None past the machine's frames."""
        return self.system.allocator.frame_state(f) if 0 <= f < self.machine.nframes else None

    def _overlapping(self, held: list[int]) -> set[tuple[int, int]]:
        """``(first, 2)`` ranges of a held frame and a free neighbour: a dealloc of one overlaps free memory."""
        out: set[tuple[int, int]] = set()
        for f in held:
            if self._state(f + 1) is FrameState.FREE:
                out.add((f, 2))
            if self._state(f - 1) is FrameState.FREE:
                out.add((f - 1, 2))
        return out

    def _refused_probes(self, held: list[int], raw_held: list[int]) -> list[tuple[Op, float]]:
        """Operations the contract or the refcount protocol refuses now, each kind of refusal equally likely."""
        allocator = self.system.allocator
        nframes = self.machine.nframes
        state = self._state
        overlapping = self._overlapping(held + raw_held)
        free_blocks = allocator.free_blocks()
        unadded = [f for f in range(nframes) if state(f) is FrameState.RESERVED]
        kinds = [
            [Op("dealloc", (("first", a), ("n", n))) for a, n in sorted(overlapping)],   # OverlapsFreeMemory
            [Op("dealloc", (("first", f), ("n", 1))) for f, _ in free_blocks[:1]],         # DoubleFree
            [Op("dealloc", (("first", f), ("n", 1))) for f in unadded[:1]],                # NotAddedMemory
            # overlaps the booted region: OverlapsAddedMemory
            [Op("add_free_memory", (("first", self.machine.boot_frames - 1), ("n", 2)))],
            [Op("from_in_use", (("frame", f),)) for f in sorted({f for f, _ in free_blocks[:1]}
                                                                 | set(raw_held[:1]) | set(unadded[:1]))],
        ]
        return [(op, 1 / len(kind)) for kind in kinds for op in kind]

    def choose(self, rng: random.Random) -> Op:
        """A weighted random candidate: a group by :data:`WEIGHTS`, then a candidate by its weight in it.

        The run alternates between filling memory and draining it: it drains
        once the pool has been empty for three steps (so allocations meet an
        empty pool), flushing the caches too, and fills again once nine tenths
        of the usable frames are back in the pool (so frees merge up to the
        top order).
        """
        allocator = self.system.allocator
        in_pool = sum(1 << k for _, k in allocator.free_blocks())
        usable = max(1, sum(n for _, n in allocator.added()) - len(self._retired()))
        self._empty_for = 0 if in_pool else self._empty_for + 1
        if self._draining and in_pool * 10 >= 9 * usable:
            self._draining = False
        elif not self._draining and self._empty_for >= 3:
            self._draining = True
        weighted = self._weighted()
        if self._draining:
            weighted = [(op, group, w * self._merge_bias(op, group)) for op, group, w in weighted]
        totals: dict[str, float] = {}
        for _, group, w in weighted:
            totals[group] = totals.get(group, 0) + w
        weights = []
        for _, group, w in weighted:
            scale = WEIGHTS.get(group, 1)
            if group in _FREEING or group == "cache_flush":
                scale *= 4 if self._draining else 0.5
            elif group in _ALLOCATING:
                scale *= 0.25 if self._draining else 2
            weights.append(scale * w / totals[group])
        return rng.choices([op for op, _, _ in weighted], weights)[0]

    def _merge_bias(self, op: Op, group: str) -> float:
        """4 for a free whose frames have a free buddy frame (so it merges, now or at the next flush), else 1."""
        if group not in _FREEING:
            return 1
        args = dict(op.args)
        first = int(args["frame"] if op.name == "drop" else args["first"])
        allocator = self.system.allocator
        for f in range(first, first + int(args.get("n", 1))):
            buddy = f ^ 1
            if buddy < self.machine.nframes and allocator.frame_state(buddy) is FrameState.FREE:
                return 4
        return 1

    def steer(self, tour: Tour) -> Op | None:
        """The candidate to take next on ``tour``, or None.

        Every candidate of the tour's groups is tried on a copy of the driver: the first whose step
        exercises the tour's item wins, else the one that leaves the copy closest to it, if closer than
        now.
        """
        closest = tour.distance(self)
        best = None
        for op, group, _ in self._weighted():
            if group not in tour.groups:
                continue
            trial = self._trial()
            if tour.item in trial.predict(op):
                return op
            distance = tour.distance(trial)
            if distance < closest:
                best, closest = op, distance
        return best

    def rebooted(self) -> Driver:
        """A driver on a fresh machine of the same shape and variants, keeping the coverage so far."""
        twin = Driver(self.machine, bugs=self.system.bugs)
        twin.hits = self.hits
        return twin

    def _trial(self) -> Driver:
        """A copy of this driver to try an operation on: its own allocator, handles and bookkeeping."""
        twin = copy.copy(self)
        twin.system, twin.handles, twin.raw, twin.segment_of = copy.deepcopy(
            (self.system, self.handles, self.raw, self.segment_of))
        twin.hits = Counter()
        copied = twin.system.allocator.__dict__
        for name in _INSTRUMENTED:   # the copies still wrap this driver's allocator: watch the twin's
            del copied[name]
        twin._instrument()
        return twin

    def predict(self, op: Op) -> list[tuple[CoverageKind, str]]:
        """Apply ``op`` and return the operations, guards and cases it exercised, as far as the impl shows them.

        Coverage reads one model operation, ``retire_poisoned``; here a frame newly retired stands for it.
        """
        pre = self.system.snapshot()
        retired = len(self._retired())
        self._events = []
        refusal = self._apply(op)
        inferred = ("retire_poisoned",) if len(self._retired()) > retired else ()
        return [item for item in self._covered(op, refusal, inferred, pre, self.system.snapshot())
                if item[0] is not CoverageKind.MODEL]

    def _retired(self) -> list[int]:
        allocator = self.system.allocator
        return [f for f in range(self.machine.nframes) if allocator.frame_state(f) is FrameState.RETIRED]

    # ----------------------------------------------------------------- applying

    def _handle_for(self, frame: int) -> int:
        for index, handle in enumerate(self.handles):
            if handle.paddr == frame * PAGE_SIZE:
                return index
        raise UsageError(f"no handle to frame {frame} is held")

    def apply(self, op: Op) -> bool:
        """Run ``op`` on the impl; False when the impl refused it (a KernelError, a retry bound, or no memory)."""
        return self._apply(op) is None

    def _apply(self, op: Op) -> str | None:
        """Run ``op``; None when applied, else why the impl refused it."""
        args = dict(op.args)
        system = self.system
        allocator = system.allocator
        try:
            if op.name == "init":
                self._init(int(args["first"]), int(args["n"]), args["early"])
            elif op.name == "alloc_frame":
                with on_cpu(int(args["cpu"])):
                    handle = (system.options().purpose(FramePurpose(args["purpose"]))
                              .zeroed(bool(args["zeroed"])).alloc_frame())
                self.handles.append(handle)
                self.segment_of[handle.paddr // PAGE_SIZE] = (handle.paddr // PAGE_SIZE, 1)
            elif op.name == "alloc_segment":
                with on_cpu(int(args["cpu"])):
                    segment = system.options().zeroed(bool(args["zeroed"])).alloc_segment(int(args["n"]))
                self.handles.extend(segment.held())
                first = segment.paddr // PAGE_SIZE
                self.segment_of.update({h.paddr // PAGE_SIZE: (first, segment.nframes) for h in segment.held()})
            elif op.name == "alloc":
                n = int(args["n"])
                with on_cpu(int(args["cpu"])):
                    paddr = allocator.alloc(Layout(n * PAGE_SIZE))
                if paddr is None:
                    return "no memory"
                first = paddr // PAGE_SIZE
                self.raw[first] = (n, set(range(first, first + n)))
            elif op.name == "dealloc":
                self._dealloc(int(args["first"]), int(args["n"]))
            elif op.name == "add_free_memory":
                allocator.add_free_memory(int(args["first"]) * PAGE_SIZE, int(args["n"]) * PAGE_SIZE)
            elif op.name in ("cache_refill", "cache_flush"):
                # the pool's batch moves, which alloc and free otherwise run only on an empty or full cache
                cpu = int(args["cpu"])
                with on_cpu(cpu):
                    (allocator._refill if op.name == "cache_refill" else allocator._flush)(cpu)
            elif op.name == "clone":
                self.handles.append(self.handles[self._handle_for(int(args["frame"]))].clone())
            elif op.name == "drop":
                frame = int(args["frame"])
                self.handles.pop(self._handle_for(frame)).drop()
                self._note_drop(frame)
            elif op.name == "mark_poisoned":
                frame = int(args["frame"])
                if any(h.paddr == frame * PAGE_SIZE for h in self.handles):
                    self.handles[self._handle_for(frame)].mark_poisoned()
                else:  # a raw frame: its owner poisons the MetaSlot directly (seed 001)
                    system.get_meta_slot(frame * PAGE_SIZE).mark_poisoned()
            elif op.name == "from_in_use":
                self.handles.append(system.from_in_use(int(args["frame"]) * PAGE_SIZE))
            else:
                raise UsageError(f"unknown conformance operation {op.name!r}")
        except GetFrameError as exc:
            return f"GetFrameError {exc.reason.name.lower()}"
        except (KernelError, RetryBoundExceeded) as exc:
            return type(exc).__name__
        return None

    def _init(self, first: int, n: int, early_range: tuple[int, int]) -> None:
        """Boot: the early allocator takes ``early_range`` of the usable region, then ``init`` adds the rest."""
        usable = MemoryRegion(first * PAGE_SIZE, n * PAGE_SIZE, MemoryRegionType.USABLE)
        later = {f for a, m in self.machine.held_back for f in range(a, a + m)}
        regions = [usable] + [
            MemoryRegion(f * PAGE_SIZE, PAGE_SIZE,
                         MemoryRegionType.RECLAIMABLE if f in later else MemoryRegionType.BAD_MEMORY)
            for f in range(first + n, self.machine.nframes)]
        early = EarlyFrameAllocator(regions)
        lo, end = early_range
        if end > lo:
            got = early.alloc(Layout((end - lo) * PAGE_SIZE))
            if got != lo * PAGE_SIZE:
                raise UsageError(f"init: the early allocator gave {got!r}, not frame {lo}")
        init(regions, early, self.system.allocator)
        self.booted = True

    def _dealloc(self, first: int, n: int) -> None:
        self.system.allocator.dealloc(first * PAGE_SIZE, n * PAGE_SIZE)
        frames = set(range(first, first + n))
        for start, (size, kept) in list(self.raw.items()):
            if frames <= kept:
                whole = frames == set(range(start, start + size))
                self._events.append("dealloc of a whole raw allocation" if whole else
                                    "dealloc of part of a raw allocation")
                kept -= frames
                if not kept:
                    del self.raw[start]
                return

    def _note_drop(self, frame: int) -> None:
        if any(h.paddr == frame * PAGE_SIZE for h in self.handles):
            return  # not the last handle
        first, n = self.segment_of.pop(frame, (frame, 1))
        if any(self.segment_of.get(f) == (first, n) for f in range(first, frame)):
            self._events.append("segment frame dropped before a lower frame of it")

    # ----------------------------------------------------------------- instrumentation

    def _instrument(self) -> None:
        """Watch the pool's take-and-split and insert-and-merge steps (observation only) for coverage."""
        allocator = self.system.allocator
        take, free = allocator._take_block, allocator._free_block

        def take_block(order: int, **how: Any) -> int | None:
            found = allocator._lowest_block(order)
            first = take(order, **how)
            if found is not None:
                self._events.append(f"split order {found[1]} -> {order}")
            return first

        def free_block(first: int, order: int, **how: Any) -> None:
            free(first, order, **how)
            self._events.extend(self._merge_events(first, order))

        refill = allocator._refill

        def refill_cache(cpu: int) -> None:
            self._events.append("refill")
            refill(cpu)

        allocator._take_block = take_block  # type: ignore[method-assign]
        allocator._refill = refill_cache  # type: ignore[method-assign]
        allocator._free_block = free_block  # type: ignore[method-assign]

    def _merge_events(self, first: int, order: int) -> list[str]:
        """The merge cascade that just put the block ``(first, order)`` back, and what stopped it."""
        allocator = self.system.allocator
        for top in range(allocator.max_order, order - 1, -1):
            head = first & ~((1 << top) - 1)
            if head in allocator._walk(top):
                buddy = head ^ (1 << top)
                if top == allocator.max_order:
                    why = "at the top order"
                elif buddy >= allocator._nframes or allocator._region[buddy] != allocator._region[head]:
                    why = "by a pool boundary"
                else:
                    why = "by a busy buddy"
                return [f"merge cascade of length {top - order}", f"merge stopped {why}"]
        return []

    # ----------------------------------------------------------------- checking

    def step(self, op: Op) -> StepReport:
        """Apply ``op`` and ask the model whether the impl's step is one of its own."""
        pre = self.system.snapshot()
        self._events = []
        refusal = self._apply(op)
        applied = refusal is None
        post = self.system.snapshot()
        results, model_ops = check_pair(pre, post, op, applied, self._checked)
        relations = sum(r.name.startswith("relates:") for r in results)
        self._checked = (post, results[relations:relations + len(STATE_INVARIANTS)])
        covered = self._covered(op, refusal, model_ops, pre, post)
        self.hits.update(covered)
        return StepReport(op, applied, results, model_ops, tuple(covered))

    def _covered(self, op: Op, refusal: str | None, model_ops: tuple[str, ...], pre: AllocatorSnapshot,
                 post: AllocatorSnapshot) -> list[tuple[CoverageKind, str]]:
        """The coverage items one step exercised."""
        if refusal is not None:
            items = [(CoverageKind.GUARD, f"{op.name} refused: {refusal}")]
            items += [(CoverageKind.MODEL, m) for m in model_ops]
            in_pool = sum(1 << k for _, k in pre.free_blocks)
            if op.name in ("alloc", "alloc_segment") and in_pool >= dict(op.args)["n"]:
                items.append((CoverageKind.GUARD, "alloc refused although enough frames are free (fragmented)"))
            return items
        items = [(CoverageKind.API, op.name)] + [(CoverageKind.MODEL, m) for m in model_ops]
        items += [(CoverageKind.CASE, e) for e in self._events if e != "refill"]
        if op.name == "cache_refill" and pre.cached == post.cached:
            items.append((CoverageKind.GUARD, "cache_refill with nothing to take"))
        if op.name == "cache_flush" and not pre.cached[int(dict(op.args)["cpu"])]:
            items.append((CoverageKind.GUARD, "cache_flush of an empty cache"))
        if "retire_poisoned" in model_ops and op.name in ("drop", "dealloc"):
            items.append((CoverageKind.CASE, "poisoned frame retired by its last drop" if op.name == "drop"
                          else "poisoned frame retired by dealloc"))
        if "cache_flush" in model_ops and op.name in _FREEING:
            items.append((CoverageKind.CASE, "full cache flushed by a free"))
        if "refill" in self._events and op.name in _ALLOCATING:
            items.append((CoverageKind.CASE, "empty cache refilled by an alloc"))
        if op.name == "add_free_memory":
            first, n = int(dict(op.args)["first"]), int(dict(op.args)["n"])
            touching = any(a + m == first or a == first + n for a, m in pre.added)
            items.append((CoverageKind.CASE, "add_free_memory next to an added range" if touching
                          else "add_free_memory apart from every added range"))
        return items

    def coverage(self) -> Coverage:
        """What the steps so far exercised."""
        return _coverage(self.machine, self.hits)


#: the distance of a pool from a case no raw step can steer towards
_FAR = 1 << 30


@dataclass(frozen=True)
class Tour:
    """A rare coverage item, the candidate groups that lead to it, and how far a driver is from it."""

    #: the coverage item, ``(kind, name)``
    item: tuple[CoverageKind, str]
    #: the candidate groups (:meth:`Driver.groups`) a tour step is taken from
    groups: tuple[str, ...]
    #: roughly how many steps the driver is from a state where the item can happen next; :data:`_FAR`
    #: when it cannot be reached by these groups from there
    distance: Callable[[Driver], int]


def _free_frames(snapshot: AllocatorSnapshot) -> set[int]:
    return {f for first, order in snapshot.free_blocks for f in range(first, first + (1 << order))}


def _split_distance(j: int, k: int) -> Callable[[Driver], int]:
    """The free blocks of orders k to j - 1 still to take, with an order-j block free."""
    def distance(driver: Driver) -> int:
        orders = Counter(order for _, order in driver.system.snapshot().free_blocks)
        return sum(orders[o] for o in range(k, j)) if orders[j] else _FAR
    return distance


def _merge_distance(n: int) -> Callable[[Driver], int]:
    """Over the order-n blocks in added memory with no poisoned frame, the fewest frames still to free.

    A wholly free block counts one more than its size: it must be taken before it can be freed in pieces.
    """
    size = 1 << n

    def distance(driver: Driver) -> int:
        snapshot = driver.system.snapshot()
        free = _free_frames(snapshot)
        added = {f for first, m in snapshot.added for f in range(first, first + m)}
        poisoned = {f for f, frame in enumerate(snapshot.frames) if frame.flags & FLAG_POISONED}
        left = [sum(f not in free for f in block) or size + 1
                for block in (range(head, head + size) for head in range(0, snapshot.nframes - size + 1, size))
                if all(f in added and f not in poisoned for f in block)]
        return min(left, default=_FAR)
    return distance


def _in_pool(driver: Driver) -> int:
    return len(_free_frames(driver.system.snapshot()))


def _beside_free(driver: Driver) -> int:
    """0 when a held frame has a free neighbour (a dealloc of both overlaps free memory), 1 when an alloc
    can make one."""
    if driver._overlapping(driver._handle_frames() + driver._raw_frames()):
        return 0
    return 1 if _in_pool(driver) > 1 else _FAR


def _poisoned_held(by_handle: bool) -> Callable[[Driver], int]:
    """2 with no frame held (by a handle, or raw), 1 with one held, 0 with a held one poisoned."""
    def distance(driver: Driver) -> int:
        frames = driver.system.snapshot().frames
        held = driver._handle_frames() if by_handle else driver._raw_frames()
        return 2 - bool(held) - any(frames[f].flags & FLAG_POISONED for f in held)
    return distance


def _operation_offered(name: str) -> Callable[[Driver], int]:
    """0 when a candidate of the public operation ``name`` is offered, else 1 (a frame must be held)."""
    def distance(driver: Driver) -> int:
        return 0 if name in driver.groups() else 1
    return distance


def tour_targets(machine: Machine) -> tuple[Tour, ...]:
    """The tours a run on ``machine`` takes, in order.

    Every split from a higher order and every merge cascade (raw ``alloc``/``dealloc``), the refusals
    and cases that need a free neighbour, a poisoned frame held or a drained pool (the drains last), and
    every public operation.
    """
    top = machine.max_order
    raw = ("alloc", "dealloc")
    return (
        *(Tour((CoverageKind.CASE, f"split order {j} -> {k}"), raw, _split_distance(j, k))
          for j in range(1, top + 1) for k in range(j)),
        *(Tour((CoverageKind.CASE, f"merge cascade of length {n}"), raw, _merge_distance(n))
          for n in range(1, top + 1)),
        Tour((CoverageKind.GUARD, "dealloc refused: OverlapsFreeMemory"), ("alloc", "probe"), _beside_free),
        Tour((CoverageKind.GUARD, "dealloc refused: DoubleFree"), ("probe",),
             lambda driver: 0 if _in_pool(driver) else _FAR),
        # the early allocator's frame is never added
        Tour((CoverageKind.GUARD, "dealloc refused: NotAddedMemory"), ("probe",), lambda driver: 0),
        Tour((CoverageKind.CASE, "poisoned frame retired by its last drop"), ("alloc_frame", "mark_poisoned", "drop"),
             _poisoned_held(by_handle=True)),
        Tour((CoverageKind.CASE, "poisoned frame retired by dealloc"), ("alloc", "mark_poisoned", "dealloc"),
             _poisoned_held(by_handle=False)),
        Tour((CoverageKind.GUARD, "alloc_frame refused: NoMemory"), ("alloc", "alloc_frame"),
             lambda driver: _in_pool(driver) + min(len(c) for c in driver.system.snapshot().cached)),
        Tour((CoverageKind.GUARD, "cache_refill with nothing to take"), ("alloc", "cache_refill"), _in_pool),
        *(Tour((CoverageKind.API, name), (name, "alloc_frame"), _operation_offered(name))
          for name in MACROS if name != "init"),
    )


def _runs(frames: list[int]) -> list[tuple[int, int]]:
    """Sorted frame numbers as maximal ``[start, stop)`` runs of consecutive frames."""
    runs: list[tuple[int, int]] = []
    for f in frames:
        if runs and runs[-1][1] == f:
            runs[-1] = (runs[-1][0], f + 1)
        else:
            runs.append((f, f + 1))
    return runs


def check_pair(pre: AllocatorSnapshot, post: AllocatorSnapshot, op: Op, applied: bool,
               checked: tuple[AllocatorSnapshot, tuple[InvariantResult, ...]] | None = None
               ) -> tuple[tuple[InvariantResult, ...], tuple[str, ...]]:
    """The model's verdicts on one impl step (the transition relation, then every invariant), and the
    single-step model operations of the candidate the relation matched.

    ``checked`` is a snapshot whose state invariants were already checked, with their results: they are
    reused when ``post`` equals it (a stutter step), since the checks are functions of the snapshot.
    """
    model_ops: tuple[str, ...] = ()
    relations: tuple[InvariantResult, ...]
    if applied:
        relation, model_ops = relates_match(pre, post, op.name, **dict(op.args))
        relations = (relation,)
    else:
        # A refused operation is the model's stutter step: the impl must change nothing.
        changed = pre != post
        verdict = CheckVerdict.VIOLATION if changed else CheckVerdict.PASS
        relations = (InvariantResult(f"relates:{op.name}-refused", verdict,
                                     detail="a refused operation changed the allocator state" if changed else ""),)
        if op.name in REFUSAL_MACROS:
            # the model has the refusal as a step of its own: its guard must hold too
            relation, model_ops = relates_match(pre, post, op.name, **dict(op.args))
            relations += (relation,)
    state = checked[1] if checked is not None and checked[0] == post else check_snapshot(post)
    # an operation with a CPU argument is the allocator's, run on that CPU (no holder code runs in it): it may
    # then touch that CPU's cache only, and write no claimed frame's payload except by zeroing
    cpu = dict(op.args).get("cpu")
    return (*relations, *state, *check_step(pre, post, cpu=cpu if applied else None)), model_ops


def run_conformance(*, seed: int = 0, steps: int = 60, bugs: Iterable[str] = frozenset(),
                    machine: Machine | None = None, deadline: float | None = None) -> ConformanceReport:
    """Apply ``steps`` operations (the first boots the machine) and check each against the model.

    Up to a third of them are corner tours (see the module's docstring), the rest seeded random choices.

    With a ``deadline`` (a ``time.monotonic()`` value) no step starts after
    it; a run stopped that way is ``cut`` and INCONCLUSIVE, never a pass.
    """
    if steps <= 0:
        raise UsageError(f"conformance needs at least one step, got {steps}")
    chooser = random.Random(seed)
    driver = Driver(machine, bugs=bugs)
    reports: list[StepReport] = []

    def cut() -> ConformanceReport:
        return ConformanceReport(seed, tuple(reports), steps, cut=True, coverage=driver.coverage())

    def step(op: Op) -> bool:
        """Apply and check ``op``; False when the run must stop (a failed check)."""
        report = driver.step(op)
        reports.append(report)
        return not report.failures

    # corner tours, within the first TOUR_SHARE of the steps: each goes on from where the last one left the
    # allocator, or from a fresh boot when its item is out of reach from there or the first try failed
    budget = int(steps * TOUR_SHARE)
    for tour in tour_targets(driver.machine):
        # from here, and once more from a fresh boot if that fails (a frame it needs is held for good)
        for fresh in (not driver.booted or tour.distance(driver) >= _FAR, True):
            if driver.hits[tour.item] or len(reports) + 2 > budget:
                break
            first: list[Op | None] = []
            if fresh:
                driver = driver.rebooted() if driver.booted else driver
                first = [driver.candidates()[0]]
            for op in first + [None] * TOUR_STEPS:
                if deadline is not None and time.monotonic() >= deadline:
                    return cut()
                op = op or driver.steer(tour)
                if op is None or len(reports) >= budget:
                    break
                if not step(op):
                    return ConformanceReport(seed, tuple(reports), steps, coverage=driver.coverage())
                if driver.hits[tour.item]:
                    break
            if fresh:
                break
    while len(reports) < steps:
        if deadline is not None and time.monotonic() >= deadline:
            return cut()
        if not step(driver.choose(chooser)):
            break
    return ConformanceReport(seed, tuple(reports), steps, coverage=driver.coverage())
