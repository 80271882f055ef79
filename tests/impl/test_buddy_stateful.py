"""Hypothesis stateful test of the buddy + MetaSlot system against a set-based oracle.

The oracle knows only which frames the test holds (through handles or raw
``GlobalFrameAllocator`` allocations), which it poisoned, and which it never
added.  After every step the snapshot must agree with it: allocations are
disjoint, every frame is exactly one of free / cached / allocated / reserved,
held frames carry the right refcount, and a drain on every CPU gets back
every frame that was freed.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from framemc.impl.buddy import Layout
from framemc.impl.errors import ContractError, NoMemory
from framemc.impl.frame import Frame, FramePurpose
from framemc.impl.system import FrameSystem
from framemc.snapshot import PAGE_SIZE, REFCOUNT_UNUSED

NFRAMES = 48
NCPUS = 2
#: frame ranges given to add_free_memory; the holes between them stay reserved
ADDED = [(0, 20), (20, 4), (28, 20)]
RESERVED = {f for f in range(NFRAMES)} - {f for a, n in ADDED for f in range(a, a + n)}


def frames_of(ranges) -> list[int]:
    """Every frame of ``(first, n)`` ranges, with repeats."""
    return [f for first, n in ranges for f in range(first, first + n)]


class BuddySystemMachine(RuleBasedStateMachine):
    """Random frame API calls on a 48-frame, 2-CPU system with reserved holes."""

    recorder = None
    bugs: frozenset[str] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.recorder.events.clear()
        self.recorder.cpu = 0
        self.system = FrameSystem(NFRAMES, ncpus=NCPUS, cache_capacity=4, add_all=False, bugs=self.bugs)
        for first, n in ADDED:
            self.system.allocator.add_free_memory(first * PAGE_SIZE, n * PAGE_SIZE)
        #: live handles held by the test
        self.handles: list[Frame] = []
        #: raw allocations held by the test, as (first_frame, nframes)
        self.raw: list[tuple[int, int]] = []
        #: frames the test poisoned
        self.poisoned: set[int] = set()

    # ----------------------------------------------------------------- oracle

    def held(self) -> set[int]:
        """Frames the test holds."""
        return {h.paddr // PAGE_SIZE for h in self.handles} | set(frames_of(self.raw))

    def _accept_new(self, first: int, n: int) -> None:
        new = set(range(first, first + n))
        assert not new & self.held(), f"frames {sorted(new & self.held())} handed out twice"
        assert not new & self.poisoned, f"poisoned frames {sorted(new & self.poisoned)} handed out"
        assert not new & RESERVED, "reserved frame handed out"

    # ----------------------------------------------------------------- rules

    @rule(cpu=st.integers(0, NCPUS - 1))
    def switch_cpu(self, cpu):
        """Run the next calls on another CPU."""
        self.recorder.cpu = cpu

    @rule(page_table=st.booleans(), zeroed=st.booleans())
    def alloc_frame(self, page_table, zeroed):
        """Allocate one frame through FrameAllocOptions."""
        purpose = FramePurpose.PAGE_TABLE if page_table else FramePurpose.GENERAL
        try:
            frame = self.system.options().purpose(purpose).zeroed(zeroed).alloc_frame()
        except NoMemory:
            return
        self._accept_new(frame.paddr // PAGE_SIZE, 1)
        if zeroed or page_table:
            assert self.system.memory.frame_is_zero(frame.paddr // PAGE_SIZE)
        frame.write(0, b"used")
        self.handles.append(frame)

    @rule(n=st.integers(1, 6))
    def alloc_segment(self, n):
        """Allocate a segment and hold each frame separately."""
        try:
            segment = self.system.alloc_segment(n)
        except NoMemory:
            return
        self._accept_new(segment.paddr // PAGE_SIZE, n)
        self.handles.extend(segment.take(i) for i in range(n))

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 10**6))
    def clone(self, i):
        """Clone a held handle."""
        self.handles.append(self.handles[i % len(self.handles)].clone())

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 10**6))
    def drop(self, i):
        """Drop a held handle."""
        self.handles.pop(i % len(self.handles)).drop()

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 10**6))
    def poison(self, i):
        """Poison a held frame."""
        frame = self.handles[i % len(self.handles)]
        frame.mark_poisoned()
        self.poisoned.add(frame.paddr // PAGE_SIZE)

    @rule(n=st.integers(1, 5))
    def raw_alloc(self, n):
        """Allocate through the GlobalFrameAllocator directly."""
        paddr = self.system.allocator.alloc(Layout(n * PAGE_SIZE))
        if paddr is None:
            return
        self._accept_new(paddr // PAGE_SIZE, n)
        self.raw.append((paddr // PAGE_SIZE, n))

    @precondition(lambda self: self.raw)
    @rule(i=st.integers(0, 10**6), cut=st.integers(0, 10**6))
    def raw_dealloc_part(self, i, cut):
        """Return the tail of a raw allocation."""
        first, n = self.raw.pop(i % len(self.raw))
        k = 1 + cut % n
        # Return the last k frames now, keep the rest: frames come back in any order.
        self.system.allocator.dealloc((first + n - k) * PAGE_SIZE, k * PAGE_SIZE)
        if n > k:
            self.raw.append((first, n - k))

    @rule(f=st.integers(0, NFRAMES - 1))
    def bad_dealloc(self, f):
        """Dealloc a frame the test does not hold: refused, state unchanged."""
        if f in self.held() and f not in RESERVED:
            return
        before = self.system.snapshot()
        try:
            self.system.allocator.dealloc(f * PAGE_SIZE, PAGE_SIZE)
        except ContractError:
            pass
        else:
            raise AssertionError(f"dealloc of frame {f}, which the test does not hold, was accepted")
        assert self.system.snapshot() == before

    @rule()
    def drain_gets_every_free_frame_back(self):
        """Allocate singles on every CPU until none is left; every freed frame must come back."""
        taken: list[int] = []
        for cpu in range(NCPUS):
            self.recorder.cpu = cpu
            while True:
                paddr = self.system.allocator.alloc(Layout(PAGE_SIZE))
                if paddr is None:
                    break
                taken.append(paddr // PAGE_SIZE)
        for f in taken:
            self._accept_new(f, 1)
        missing = set(range(NFRAMES)) - RESERVED - self.poisoned - self.held() - set(taken)
        assert not missing, f"free frames {sorted(missing)} never came back"
        for f in taken:
            self.system.allocator.dealloc(f * PAGE_SIZE, PAGE_SIZE)

    # ----------------------------------------------------------------- invariants

    @invariant()
    def every_frame_is_in_exactly_one_place(self):
        """Disjointness and conservation against the oracle."""
        snap = self.system.snapshot()
        free = frames_of((first, 1 << order) for first, order in snap.free_blocks)
        cached = [f for cache in snap.cached for f in cache]
        allocated = frames_of(snap.allocated)
        reserved = sorted(set(range(NFRAMES)) - set(frames_of(snap.added)))
        places = Counter(free + cached + allocated + reserved)
        assert all(count == 1 for count in places.values()), "a frame is in two places"
        # Poisoned frames that came back are retired: in no place at all.
        retired = set(range(NFRAMES)) - set(places)
        assert retired <= self.poisoned - self.held()
        assert len(free) + len(cached) + len(allocated) + len(reserved) + len(retired) == NFRAMES
        assert set(reserved) == RESERVED
        assert self.held() == set(allocated)
        assert not (self.poisoned - self.held()) & set(free + cached), "a poisoned frame is free"

    @invariant()
    def free_blocks_are_aligned_buddy_blocks_inside_one_added_range(self):
        """Free blocks are naturally aligned and inside one added range."""
        snap = self.system.snapshot()
        for first, order in snap.free_blocks:
            assert first % (1 << order) == 0, f"free block ({first}, {order}) is not naturally aligned"
            assert any(a <= first and first + (1 << order) <= a + n for a, n in snap.added), \
                f"free block ({first}, {order}) spans added ranges"

    @invariant()
    def refcounts_match_handles(self):
        """Refcounts equal the handles held; free and cached frames are UNUSED."""
        snap = self.system.snapshot()
        counts = Counter(h.paddr // PAGE_SIZE for h in self.handles)
        for f, n in counts.items():
            assert snap.frames[f].refcount == n
        free = frames_of((first, 1 << order) for first, order in snap.free_blocks)
        for f in free + [f for cache in snap.cached for f in cache]:
            assert snap.frames[f].refcount == REFCOUNT_UNUSED
        for h in self.handles:
            assert h.generation_matches()


SETTINGS = settings(max_examples=40, stateful_step_count=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
#: for the planted-bug runs: finding the failure is the point, shrinking it only costs time
FIND_ONLY = settings(SETTINGS, max_examples=400, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                     report_multiple_bugs=False)


def test_buddy_system_against_oracle(recorder):
    BuddySystemMachine.recorder = recorder
    BuddySystemMachine.bugs = frozenset()
    run_state_machine_as_test(BuddySystemMachine, settings=SETTINGS)


@pytest.mark.parametrize("bug", ["cache-ignores-poison", "insert-before-merge", "unchecked-overlapping-dealloc",
                                 "unused-equals-busy", "merge-non-buddy"])
def test_oracle_catches_planted_bug(recorder, bug):
    BuddySystemMachine.recorder = recorder
    BuddySystemMachine.bugs = frozenset({bug})
    try:
        with pytest.raises(Exception):
            run_state_machine_as_test(BuddySystemMachine, settings=FIND_ONLY)
    finally:
        BuddySystemMachine.bugs = frozenset()
