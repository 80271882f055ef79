"""Hypothesis stateful test of the Theseus allocator against a set-based oracle.

The oracle keeps plain sets of frame numbers (added general / reserved memory,
free general / reserved frames, frames held through ``alloc``); the machine
keeps the live ``Frames`` handles and undelivered deferred actions.  After
every step the allocator's snapshot must agree with the oracle, allocations
must be disjoint, and frames must be conserved.  Running the same machine on
the ``alloc-at-skips-overlap`` variant must fail, which shows the oracle has
teeth.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from framemc.impl.errors import (
    AddressOutOfRange,
    ContractError,
    DoubleFree,
    NotAddedMemory,
    OverlapsAddedMemory,
    OverlapsFreeMemory,
    ZeroSize,
)
from framemc.impl.theseus import (
    AllocationError,
    DropMappedFrames,
    EarlyListFull,
    FrameRange,
    Layout,
    MemoryRegionType,
    MemoryState,
    NotAllocated,
    TheseusFrameAllocator,
    TheseusSnapshot,
    WrongFramesState,
)
from framemc.snapshot import PAGE_SIZE

PHYS = 64

FREE, RESERVED = MemoryRegionType.FREE, MemoryRegionType.RESERVED
ALLOCATED, MAPPED, UNMAPPED = MemoryState.ALLOCATED, MemoryState.MAPPED, MemoryState.UNMAPPED

#: legal typestate transitions: method name -> (source, target)
TRANSITIONS = {
    "into_mapped": (ALLOCATED, MAPPED),
    "into_unmapped": (MAPPED, UNMAPPED),
    "into_allocated": (UNMAPPED, ALLOCATED),
}


def frames_of(chunks) -> list[int]:
    """Every frame of ``(first, nframes, ...)`` chunks, with repetition."""
    return [f for c in chunks for f in range(c[0], c[0] + c[1])]


def span(rng: FrameRange) -> set[int]:
    """The frame numbers of ``rng``."""
    return set(range(rng.start, rng.end))


class TheseusMachine(RuleBasedStateMachine):
    """Random sequences of Theseus allocator calls, checked against plain sets."""

    BUGS: frozenset[str] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.alloc = TheseusFrameAllocator(phys_frames=PHYS, bugs=self.BUGS)
        self.general: set[int] = set()
        self.reserved: set[int] = set()
        self.free = {FREE: set(), RESERVED: set()}
        self.held: set[int] = set()
        self.handles = []
        self.actions = []

    # ----- helpers -------------------------------------------------------------------

    def handle_frames(self) -> set[int]:
        """Frames owned through live ``Frames`` handles."""
        return set().union(*(span(h.range) for h in self.handles))

    def pending_frames(self) -> set[int]:
        """Frames promised to undelivered deferred actions."""
        return set().union(*(span(p) for a in self.actions for p, _ in a.pieces))

    def owned(self) -> set[int]:
        """Frames that are allocated or promised to a pending action."""
        return self.held | self.handle_frames() | self.pending_frames()

    def refused(self, exc: type[Exception], call) -> Exception:
        """Run ``call``, require it to raise ``exc``, and require the books unchanged."""
        before = self.alloc.snapshot()
        with pytest.raises(exc) as info:
            call()
        assert self.alloc.snapshot() == before, f"{exc.__name__} changed the allocator state"
        return info.value

    def attempt(self, call):
        """Run ``call``; an early-list overflow is allowed (before the heap) but must change nothing."""
        before = self.alloc.snapshot()
        try:
            return call(), False
        except EarlyListFull:
            assert not before.heap_mode, "the 32-chunk limit applied after switch_to_heap()"
            assert self.alloc.snapshot() == before, "EarlyListFull changed the allocator state"
            return None, True

    def pick(self, items: list, index: int):
        return items[index % len(items)]

    # ----- rules ---------------------------------------------------------------------

    @rule(start=st.integers(0, PHYS + 2), n=st.integers(0, 8))
    def add_free_memory(self, start: int, n: int) -> None:
        want = set(range(start, start + n))
        call = lambda: self.alloc.add_free_memory(start * PAGE_SIZE, n * PAGE_SIZE)  # noqa: E731
        if n == 0:
            self.refused(ZeroSize, call)
        elif start + n > PHYS:
            self.refused(AddressOutOfRange, call)
        elif want & (self.general | self.reserved):
            self.refused(OverlapsAddedMemory, call)
        else:
            _, full = self.attempt(call)
            if not full:
                self.general |= want
                self.free[FREE] |= want

    @rule(n=st.integers(1, 6), defer=st.booleans())
    def allocate(self, n: int, defer: bool) -> None:
        before = self.alloc.snapshot()
        try:
            result, full = self.attempt(lambda: self.alloc.allocate_frames_deferred(None, n))
        except AllocationError:
            assert self.alloc.snapshot() == before
            assert all(c[1] < n for c in before.free_general), "refused although a chunk was large enough"
            return
        if full:
            return
        frames, action = result
        got = span(frames.range)
        assert (frames.typ, frames.state, frames.nframes) == (FREE, ALLOCATED, n)
        assert got <= self.free[FREE], f"allocate handed out non-free frames {sorted(got - self.free[FREE])}"
        leftovers = set().union(*(span(p) for p, _ in action.pieces))
        assert leftovers <= self.free[FREE] and not leftovers & got
        self.free[FREE] -= got | leftovers
        self.handles.append(frames)
        if defer:
            self.actions.append(action)
        else:
            action.drop()
            self.free[FREE] |= leftovers

    @rule(start=st.integers(0, PHYS + 1), n=st.integers(1, 5))
    def allocate_at(self, start: int, n: int) -> None:
        want = set(range(start, start + n))
        busy = want & self.owned()
        before = self.alloc.snapshot()
        try:
            frames, full = self.attempt(lambda: self.alloc.allocate_frames_at(start * PAGE_SIZE, n))
        except (AllocationError, AddressOutOfRange) as exc:
            assert self.alloc.snapshot() == before
            assert not isinstance(exc, AddressOutOfRange) or start + n > PHYS
            return
        if full:
            return
        assert not busy, f"allocate_frames_at handed out frames {sorted(busy)} that already have an owner"
        assert frames.range == FrameRange(start, n)
        expected_typ = FREE if want <= self.free[FREE] else RESERVED
        assert frames.typ is expected_typ
        if expected_typ is RESERVED:
            assert not want & self.general, "reserved frames were carved out of general-purpose memory"
        self.reserved |= want - self.general
        self.free[FREE] -= want
        self.free[RESERVED] -= want
        self.handles.append(frames)

    @precondition(lambda self: self.handles)
    @rule(index=st.integers(0, 1 << 16), op=st.sampled_from(sorted(TRANSITIONS)))
    def transition(self, index: int, op: str) -> None:
        i = index % len(self.handles)
        handle = self.handles[i]
        source, target = TRANSITIONS[op]
        if handle.state is not source:
            self.refused(WrongFramesState, getattr(handle, op))
            return
        self.handles[i] = getattr(handle, op)()
        assert self.handles[i].state is target and handle.consumed

    @precondition(lambda self: self.handles)
    @rule(index=st.integers(0, 1 << 16), reclaim=st.booleans())
    def drop(self, index: int, reclaim: bool) -> None:
        i = index % len(self.handles)
        handle = self.handles[i]
        if handle.state is MAPPED:
            self.refused(DropMappedFrames, handle.drop)
            return
        _, full = self.attempt(handle.drop)
        if full:
            return
        del self.handles[i]
        frames = span(handle.range)
        self.free[handle.typ] |= frames
        snap = self.alloc.snapshot()
        listed = set(frames_of(snap.free_general if handle.typ is FREE else snap.free_reserved))
        assert frames <= listed, "dropped frames did not come back to the free list"
        if reclaim:
            # Freed frames come back: the very same range can be allocated again.
            again = self.alloc.allocate_frames_at(handle.start_paddr, handle.nframes)
            assert (again.range, again.typ) == (handle.range, handle.typ)
            self.free[handle.typ] -= frames
            self.handles.append(again)

    @precondition(lambda self: self.actions)
    @rule(index=st.integers(0, 1 << 16))
    def deliver(self, index: int) -> None:
        action = self.actions.pop(index % len(self.actions))
        action.drop()
        for piece, typ in action.pieces:
            self.free[typ] |= span(piece)

    @precondition(lambda self: self.handles)
    @rule(index=st.integers(0, 1 << 16), offset=st.integers(0, 1 << 16))
    def split(self, index: int, offset: int) -> None:
        i = index % len(self.handles)
        handle = self.handles[i]
        if handle.nframes < 2:
            return
        at = handle.range.start + 1 + offset % (handle.nframes - 1)
        first, second = handle.split_at(at)
        assert (first.range.end, second.range.start) == (at, at)
        assert first.state is second.state is handle.state
        self.handles[i:i + 1] = [first, second]

    @rule(n=st.integers(1, 4), align_shift=st.integers(0, 2))
    def contract_alloc(self, n: int, align_shift: int) -> None:
        before = self.alloc.snapshot()
        paddr, full = self.attempt(lambda: self.alloc.alloc(Layout(n * PAGE_SIZE, PAGE_SIZE << align_shift)))
        if full:
            return
        if paddr is None:
            assert self.alloc.snapshot() == before
            return
        assert paddr % (PAGE_SIZE << align_shift) == 0
        got = set(range(paddr // PAGE_SIZE, paddr // PAGE_SIZE + n))
        assert got <= self.free[FREE], f"alloc handed out non-free frames {sorted(got - self.free[FREE])}"
        self.free[FREE] -= got
        self.held |= got

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 1 << 16), length=st.integers(1, 4))
    def contract_dealloc(self, index: int, length: int) -> None:
        first = self.pick(sorted(self.held), index)
        run = 0
        while first + run in self.held and run < length:
            run += 1
        _, full = self.attempt(lambda: self.alloc.dealloc(first * PAGE_SIZE, run * PAGE_SIZE))
        if not full:
            gone = set(range(first, first + run))
            self.held -= gone
            self.free[FREE] |= gone

    @rule(start=st.integers(0, PHYS + 1), n=st.integers(0, 3))
    def bad_dealloc(self, start: int, n: int) -> None:
        want = set(range(start, start + n))
        if n and want <= self.held:
            return
        free = want & (self.free[FREE] | self.free[RESERVED] | self.pending_frames())
        if n == 0:
            expected = ZeroSize
        elif start + n > PHYS:
            expected = AddressOutOfRange
        elif want - self.general - self.reserved:
            expected = NotAddedMemory
        elif free:
            expected = DoubleFree if free == want else OverlapsFreeMemory
        else:
            expected = NotAllocated
        exc = self.refused(ContractError, lambda: self.alloc.dealloc(start * PAGE_SIZE, n * PAGE_SIZE))
        assert type(exc) is expected, f"dealloc of {sorted(want)} raised {type(exc).__name__}, not {expected.__name__}"

    @rule()
    def switch_to_heap(self) -> None:
        self.alloc.switch_to_heap()
        assert self.alloc.snapshot().heap_mode

    # ----- invariants ----------------------------------------------------------------

    @invariant()
    def allocations_are_disjoint(self) -> None:
        snap: TheseusSnapshot = self.alloc.snapshot()
        every = (frames_of(snap.free_general) + frames_of(snap.free_reserved)
                 + frames_of(snap.pending) + frames_of(snap.allocated))
        twice = sorted({f for f in every if every.count(f) > 1})
        assert not twice, f"frames {twice} have more than one owner"

    @invariant()
    def frames_are_conserved(self) -> None:
        snap = self.alloc.snapshot()
        known = frames_of(snap.general_regions) + frames_of(snap.reserved_regions)
        accounted = (frames_of(snap.free_general) + frames_of(snap.free_reserved)
                     + frames_of(snap.pending) + frames_of(snap.allocated))
        assert sorted(accounted) == sorted(known), "free + allocated + pending != total"

    @invariant()
    def agrees_with_oracle(self) -> None:
        snap = self.alloc.snapshot()
        assert set(frames_of(snap.general_regions)) == self.general
        assert set(frames_of(snap.reserved_regions)) == self.reserved
        assert set(frames_of(snap.free_general)) == self.free[FREE]
        assert set(frames_of(snap.free_reserved)) == self.free[RESERVED]
        assert set(frames_of(snap.held)) == self.held
        assert set(frames_of(snap.allocated)) == self.held | self.handle_frames()
        pending = {(p.start, p.nframes, typ.value) for a in self.actions for p, typ in a.pieces}
        assert set(snap.pending) == pending


class BuggyTheseusMachine(TheseusMachine):
    """The same machine on the ``alloc-at-skips-overlap`` variant (Theseus issue #451)."""

    BUGS = frozenset({"alloc-at-skips-overlap"})


SETTINGS = settings(max_examples=100, stateful_step_count=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def test_theseus_allocator_matches_set_oracle() -> None:
    """Allocations stay disjoint, frames are conserved and freed frames come back."""
    run_state_machine_as_test(TheseusMachine, settings=SETTINGS)


def test_stateful_oracle_catches_alloc_at_skips_overlap() -> None:
    """The planted Theseus #451 bug gives one frame two owners, and the machine notices."""
    fast = settings(SETTINGS, max_examples=500, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    with pytest.raises(AssertionError, match="already have an owner|more than one owner|carved out of general-purpose"):
        run_state_machine_as_test(BuggyTheseusMachine, settings=fast)
