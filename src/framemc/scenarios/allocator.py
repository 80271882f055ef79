"""The bundled allocator scenarios: the real impl on several CPUs, each with a planted-bug twin.

Design: a :class:`Scenario` is a name, a sentence of what it shows, the
planted-bug variant that must be caught (its twin), and a builder that turns
a set of bug names into a ``setup`` for :func:`framemc.explore`.  Every setup
builds a fresh :class:`~framemc.impl.system.FrameSystem`, registers it with
:func:`~framemc.scenarios.checks.watch_allocator` so that the model's
invariants are checked with z3 at every scheduling point, and asserts the
scenario's own end-to-end property in ``final()``.  Machines are tiny on
purpose (1-4 frames, 2-3 CPUs): small enough to explore exhaustively.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from framemc.design import Scenario as DesignScenario
from framemc.sync import Cell, Ordering
from framemc.impl.errors import ClaimFailed, ContractError, GetFrameError, NoMemory
from framemc.impl.frame import FramePurpose
from framemc.impl.machine import Layout
from framemc.impl.meta import FrameMetaVtable
from framemc.impl.system import FrameSystem
from framemc.impl.theseus import AllocationError, TheseusFrameAllocator
from framemc.impl.variants import validate_bugs
from framemc.scenarios import lookup
from framemc.scenarios.checks import watch_allocator
from framemc.snapshot import PAGE_SIZE, PAYLOAD_FILL, REFCOUNT_MAX

__all__ = ["Scenario", "SCENARIOS", "scenario_named", "theseus_race"]

#: the bytes a DMA-style ``on_last_ref`` hook leaves in a frame it tears down
TEARDOWN_MARK = 0xDE

Setup = Callable[[], Any]


@dataclass(frozen=True)
class Scenario(DesignScenario):
    """A bundled scenario of the reference allocators: its bugs must be knobs the impl knows."""

    def setup(self, bugs: Iterable[str] = frozenset()) -> Setup:
        """The ``setup`` for :func:`framemc.explore`, with the named bug variants switched on."""
        return self.build(validate_bugs(bugs))


def _claim_race(bugs: frozenset[str], ncpus: int = 2) -> Setup:
    def setup() -> Any:
        system = FrameSystem(2, ncpus=ncpus, bugs=bugs)
        watch_allocator(system)
        paddr = system.allocator.alloc(Layout(PAGE_SIZE))
        slot = system.get_meta_slot(paddr)
        generation = slot.generation.peek()
        won = [Cell(False, name=f"won[{cpu}]") for cpu in range(ncpus)]

        def claimer(cpu: int) -> Callable[[], None]:
            def run() -> None:
                try:
                    system.from_unused(paddr)
                except ClaimFailed:
                    return
                won[cpu].write(True)
            return run

        def final() -> None:
            winners = [cpu for cpu in range(ncpus) if won[cpu].read()]
            assert len(winners) == 1, f"CPUs {winners} all claimed frame {paddr:#x}; exactly one may"
            bumped = slot.generation.load(Ordering.RELAXED) - generation
            assert bumped == 1, f"frame {paddr:#x}: generation moved by {bumped} for one successful claim"

        return [claimer(cpu) for cpu in range(ncpus)], final
    return setup


def _publish_and_read(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(1, ncpus=2, bugs=bugs, fill=PAYLOAD_FILL)
        watch_allocator(system)
        slot = system.get_meta_slot(0)

        def allocator_cpu() -> None:
            system.options().purpose(FramePurpose.PAGE_TABLE).alloc_frame()

        def walker_cpu() -> None:
            refcount = slot.refcount.load(Ordering.ACQUIRE)
            if 1 <= refcount <= REFCOUNT_MAX:
                entries = system.memory.read(0, PAGE_SIZE)
                assert entries == bytes(PAGE_SIZE), (
                    f"page-table walker saw a published page-table frame with stale entries "
                    f"(first byte {entries[0]:#04x})")

        return [allocator_cpu, walker_cpu]
    return setup


def _last_drop_vs_from_in_use(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(1, ncpus=2, bugs=bugs)
        watch_allocator(system)
        dma = FrameMetaVtable("dma", on_last_ref=lambda paddr: system.memory.write_bytes(paddr, TEARDOWN_MARK, 8))
        system.register_vtable(dma)
        handle = system.options().vtable(dma).alloc_frame()
        paddr = handle.paddr

        def last_holder() -> None:
            handle.drop()

        def looker() -> None:
            try:
                other = system.from_in_use(paddr)
            except GetFrameError:
                return
            head = other.read(0, 8)
            assert head != bytes([TEARDOWN_MARK]) * 8, f"from_in_use returned frame {paddr:#x} while it was torn down"
            other.drop()

        def final() -> None:
            assert system.allocator.allocated() == (), f"frames still allocated after every handle dropped: " \
                                                       f"{system.allocator.allocated()}"

        return [last_holder, looker], final
    return setup


def _alloc_dealloc(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(4, ncpus=2, cache_capacity=1, bugs=bugs)
        watch_allocator(system)

        def cpu(tag: int) -> Callable[[], None]:
            def run() -> None:
                held = []
                for _ in range(2):
                    try:
                        frame = system.options().zeroed(False).alloc_frame()
                    except NoMemory:
                        continue
                    frame.write(0, bytes([tag]))
                    held.append(frame)
                for frame in held:
                    mine = frame.read(0, 1)
                    assert mine == bytes([tag]), f"frame {frame.paddr:#x} was handed to two CPUs at once"
                    frame.drop()
            return run

        def final() -> None:
            snap = system.snapshot()
            assert snap.allocated == (), f"frames leaked: {snap.allocated}"
            free = sum(1 << order for _, order in snap.free_blocks) + sum(len(c) for c in snap.cached)
            assert free == snap.nframes, f"{free} frames free or cached out of {snap.nframes}"

        return [cpu(0x11), cpu(0x22)], final
    return setup


def _segment_pieces(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(4, ncpus=3, cache_capacity=0, bugs=bugs)
        watch_allocator(system)
        segment = system.alloc_segment(2)
        freed_neighbour = system.alloc_frame()
        system.alloc_frame()  # frame 3 stays allocated, so frame 2 cannot merge with its buddy

        def piece(index: int) -> Callable[[], None]:
            return lambda: segment.drop_frame(index)

        def final() -> None:
            blocks = system.allocator.free_blocks()
            assert blocks == ((0, 1), (2, 0)), (
                f"after the segment and frame 2 came back the free blocks are {blocks}, "
                f"not [0,2) merged and frame 2 alone")

        return [piece(0), piece(1), freed_neighbour.drop], final
    return setup


def _concurrent_last_drops(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(1, ncpus=2, bugs=bugs)
        watch_allocator(system)
        first = system.alloc_frame()
        second = first.clone()

        def final() -> None:
            assert system.allocator.allocated() == (), (
                f"both handles were dropped but frame {first.paddr:#x} never went back to the allocator (leak)")

        return [first.drop, second.drop], final
    return setup


def _poisoned_frame_retired(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(2, ncpus=2, bugs=bugs)
        watch_allocator(system)
        bad = system.alloc_frame()
        bad_paddr = bad.paddr

        def retire() -> None:
            bad.mark_poisoned()
            bad.drop()

        def allocate_twice() -> None:
            held = []
            for _ in range(2):
                try:
                    frame = system.alloc_frame()
                except NoMemory:
                    continue
                assert frame.paddr != bad_paddr, f"poisoned frame {bad_paddr:#x} was handed out again"
                held.append(frame)
            for frame in held:
                frame.drop()

        return [retire, allocate_twice]
    return setup


def _double_dealloc_rejected(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(2, ncpus=2, cache_capacity=0, bugs=bugs)
        watch_allocator(system)
        allocator = system.allocator
        paddr = allocator.alloc(Layout(PAGE_SIZE))
        accepted = [Cell(False, name=f"accepted[{cpu}]") for cpu in range(2)]

        def dealloc(cpu: int) -> Callable[[], None]:
            # A kernel bug frees the same frame on two CPUs; seed 002 forbids the overlap and the
            # allocator must refuse whichever comes second rather than free the frame twice.
            def run() -> None:
                try:
                    allocator.dealloc(paddr, PAGE_SIZE)
                except ContractError:
                    return
                accepted[cpu].write(True)
            return run

        def final() -> None:
            winners = [cpu for cpu in range(2) if accepted[cpu].read()]
            assert len(winners) == 1, f"dealloc of frame {paddr:#x} accepted on CPUs {winners}; exactly one may be"
            handed = [allocator.alloc(Layout(PAGE_SIZE)) for _ in range(3)]
            handed = [p for p in handed if p is not None]
            assert len(handed) == len(set(handed)), f"frame handed out twice after a double free: {handed}"

        return [dealloc(0), dealloc(1)], final
    return setup


def theseus_race(bugs: frozenset[str], *, demand_success: bool = False) -> Setup:
    """Theseus: CPU 0 allocates two frames anywhere while CPU 1 asks for frame 1 by address.

    With ``demand_success`` CPU 0 also asserts that its allocation succeeds, which shows
    Theseus's deferred window: until CPU 1 drops its DeferredAllocAction, the leftovers are in
    no list, so CPU 0 can fail with frames free.
    """
    def setup() -> Any:
        allocator = TheseusFrameAllocator(phys_frames=16, bugs=bugs)
        allocator.add_free_memory(0, 8 * PAGE_SIZE)

        def anywhere() -> None:
            frames = allocator.allocate_frames(2)
            assert frames is not None or not demand_success, "allocate_frames(2) failed with 7 frames free"

        def at_frame_one() -> None:
            try:
                allocator.allocate_frames_at(PAGE_SIZE, 1)
            except AllocationError:
                return

        def final() -> None:
            snap = allocator.snapshot()
            owned = _frames_of(snap.free_general + snap.free_reserved + snap.pending + snap.allocated)
            twice = sorted({f for f in owned if owned.count(f) > 1})
            assert not twice, f"frames {twice} have two owners"
            assert sorted(owned) == _frames_of(snap.general_regions + snap.reserved_regions), \
                "frames were lost or invented"

        return [anywhere, at_frame_one], final
    return setup


def _frames_of(chunks: tuple[tuple[int, ...], ...]) -> list[int]:
    """Every frame of ``(first, nframes, ...)`` chunks, with repetition."""
    return [f for c in chunks for f in range(c[0], c[0] + c[1])]


#: every bundled scenario, by name, in a stable order
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("claim-race", "Two CPUs race from_unused on one frame: exactly one wins and the generation moves once.",
             "non-cas-claim", _claim_race),
    Scenario("publish-and-read", "A page-table walker that acquires refcount >= 1 always reads a zeroed frame.",
             "publish-before-zero", _publish_and_read),
    Scenario("last-drop-vs-from-in-use", "from_in_use never hands out a frame that its last holder is tearing down.",
             "unused-equals-busy", _last_drop_vs_from_in_use),
    Scenario("alloc-dealloc", "Two CPUs allocate and free through per-CPU caches and the locked pool: "
             "frames are conserved and never handed out twice.", "insert-before-merge", _alloc_dealloc),
    Scenario("segment-pieces", "A segment's frames come back one by one while a neighbour is freed: "
             "buddies, and only buddies, merge.", "merge-non-buddy", _segment_pieces),
    Scenario("concurrent-last-drops", "Two CPUs drop the last two handles of a frame at once: "
             "exactly one of them returns it to the allocator.", "check-then-decrement", _concurrent_last_drops),
    Scenario("poisoned-frame-retired", "A frame poisoned and dropped on one CPU is never handed out again, "
             "through the pool or a per-CPU cache.", "cache-ignores-poison", _poisoned_frame_retired),
    Scenario("double-dealloc-rejected", "A second dealloc of a frame racing with its first is refused "
             "(seed 002 contract), so the frame is never handed out twice.",
             "unchecked-overlapping-dealloc", _double_dealloc_rejected),
    Scenario("theseus-alloc-at", "On the Theseus allocator, allocating at an address while another CPU "
             "allocates anywhere never gives one frame two owners.", "alloc-at-skips-overlap", theseus_race),
)}


def scenario_named(name: str) -> Scenario:
    """The bundled scenario called ``name``; a UsageError listing the known ones otherwise."""
    return lookup(SCENARIOS, name, "scenario")
