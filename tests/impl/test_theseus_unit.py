"""Unit tests for the Theseus-style chunk allocator: one behaviour of seed 003 per test."""

from __future__ import annotations

import pytest

from framemc.errors import UsageError
from framemc.sync import install_runtime, uninstall_runtime
from framemc.impl.theseus import (
    THESEUS_BUGS,
    AllocateAt,
    AllocationError,
    AllocFailure,
    DropMappedFrames,
    EarlyListFull,
    FrameRange,
    FramesConsumed,
    IterAction,
    Layout,
    MemoryRegionType,
    MemoryState,
    TheseusFrameAllocator,
    WrongFramesState,
)
from framemc.impl.theseus_chunks import EARLY_CHUNK_CAPACITY
from framemc.snapshot import PAGE_SIZE

P = PAGE_SIZE
FREE, RESERVED = MemoryRegionType.FREE, MemoryRegionType.RESERVED


def fresh(nframes: int = 16, *, at: int = 0, heap: bool = False, bugs=frozenset()) -> TheseusFrameAllocator:
    """An allocator knowing ``nframes`` frames of general memory starting at frame ``at``."""
    alloc = TheseusFrameAllocator(phys_frames=256, bugs=bugs)
    alloc.add_free_memory(at * P, nframes * P)
    if heap:
        alloc.switch_to_heap()
    return alloc


def fragmented(chunks: int, *, heap: bool = False) -> tuple[TheseusFrameAllocator, list]:
    """An allocator whose free general list is ``chunks`` one-frame chunks (frames 0, 2, 4, ...).

    Also returns the handles of the odd frames in between, which keep the chunks apart.
    """
    alloc = fresh(2 * chunks - 1)
    holes = [alloc.allocate_frames_at((2 * i + 1) * P, 1) for i in range(chunks - 1)]
    if heap:
        alloc.switch_to_heap()
    return alloc, holes


# ----- the early 32-entry limit and the switch to heap mode ------------------------------

def test_early_list_holds_exactly_32_chunks() -> None:
    """Seed 003: early pre-heap allocations track at most 32 chunks."""
    alloc, _ = fragmented(EARLY_CHUNK_CAPACITY)
    before = alloc.snapshot()
    assert len(before.free_general) == EARLY_CHUNK_CAPACITY
    with pytest.raises(EarlyListFull, match="before switch_to_heap"):
        alloc.add_free_memory(100 * P, P)
    assert alloc.snapshot() == before


def test_heap_mode_lifts_the_limit() -> None:
    """After switch_to_heap a list may hold any number of chunks."""
    alloc, _ = fragmented(EARLY_CHUNK_CAPACITY)
    alloc.switch_to_heap()
    for i in range(8):
        alloc.add_free_memory((100 + 2 * i) * P, P)
    snap = alloc.snapshot()
    assert snap.heap_mode and len(snap.free_general) == EARLY_CHUNK_CAPACITY + 8


def test_switch_to_heap_is_idempotent_and_keeps_the_chunks() -> None:
    """Calling switch_to_heap twice is harmless; the chunks stay the same."""
    alloc, _ = fragmented(5)
    chunks = alloc.snapshot().free_general
    alloc.switch_to_heap()
    alloc.switch_to_heap()
    assert alloc.snapshot().free_general == chunks


def test_allocation_that_would_overflow_the_early_list_is_refused_up_front() -> None:
    """Splitting a chunk in a full early list needs one slot more: refused before anything changes."""
    alloc, _ = fragmented(EARLY_CHUNK_CAPACITY - 1)
    alloc.add_free_memory(100 * P, 8 * P)
    before = alloc.snapshot()
    with pytest.raises(EarlyListFull):
        alloc.allocate_frames_at(103 * P, 2)  # leaves a piece before and a piece after
    assert alloc.snapshot() == before
    alloc.switch_to_heap()
    assert alloc.allocate_frames_at(103 * P, 2).range == FrameRange(103, 2)


def test_drop_into_a_full_early_list_is_refused_and_the_frames_stay_owned() -> None:
    """Early drops do not merge, so a 33rd chunk is refused; the Frames object stays usable."""
    alloc, holes = fragmented(EARLY_CHUNK_CAPACITY)
    before = alloc.snapshot()
    with pytest.raises(EarlyListFull):
        holes[0].drop()
    assert alloc.snapshot() == before and not holes[0].consumed
    alloc.switch_to_heap()
    holes[0].drop()  # heap mode: merges with the chunk after it
    assert (1, 2) in alloc.snapshot().free_general


# ----- allocate_frames, allocate_frames_at and the by-bytes variants ---------------------

def test_allocate_frames_peels_from_the_start_of_a_chunk() -> None:
    alloc = fresh(16, at=4)
    frames = alloc.allocate_frames(3)
    assert (frames.range, frames.typ, frames.state) == (FrameRange(4, 3), FREE, MemoryState.ALLOCATED)
    assert alloc.snapshot().free_general == ((7, 13),)


def test_allocate_frames_returns_none_when_no_chunk_is_large_enough() -> None:
    alloc, _ = fragmented(4)
    before = alloc.snapshot()
    assert alloc.allocate_frames(2) is None
    assert alloc.snapshot() == before


def test_allocate_zero_frames_is_an_error() -> None:
    alloc = fresh()
    with pytest.raises(AllocationError) as info:
        alloc.allocate_frames_deferred(None, 0)
    assert info.value.kind is AllocFailure.ZERO_FRAMES
    assert alloc.allocate_frames(0) is None


def test_early_search_goes_in_slot_order_heap_search_from_the_top() -> None:
    """Early: the first fitting slot; heap mode: the highest fitting chunk (Theseus's O(1) trick)."""
    early, _ = fragmented(3)
    assert early.allocate_frames(1).range.start == 0
    heap, _ = fragmented(3, heap=True)
    assert heap.allocate_frames(1).range.start == 4


def test_allocate_frames_at_takes_the_middle_of_a_chunk() -> None:
    alloc = fresh(16)
    frames = alloc.allocate_frames_at(5 * P + 123, 2)  # any address inside the first frame
    assert frames.range == FrameRange(5, 2) and frames.typ is FREE
    assert alloc.snapshot().free_general == ((0, 5), (7, 9))


def test_allocate_frames_at_an_allocated_frame_fails_and_changes_nothing() -> None:
    alloc = fresh(16)
    alloc.allocate_frames_at(5 * P, 2)
    before = alloc.snapshot()
    with pytest.raises(AllocationError) as info:
        alloc.allocate_frames_at(6 * P, 1)
    assert info.value.kind is AllocFailure.ADDRESS_NOT_FREE
    assert alloc.snapshot() == before


def test_by_bytes_rounds_up_and_counts_the_offset_into_the_first_frame() -> None:
    alloc = fresh(16)
    assert alloc.allocate_frames_by_bytes(P + 1).nframes == 2
    at = alloc.allocate_frames_by_bytes_at(8 * P + P - 10, 20)  # straddles frames 8 and 9
    assert at.range == FrameRange(8, 2)
    frames, action = alloc.allocate_frames_by_bytes_deferred(None, 1)
    assert frames.nframes == 1
    action.drop()


def test_allocate_at_beyond_the_address_space_is_out_of_range() -> None:
    from framemc.impl.errors import AddressOutOfRange
    alloc = fresh()
    with pytest.raises(AddressOutOfRange):
        alloc.allocate_frames_at(255 * P, 2)
    with pytest.raises(AddressOutOfRange):
        alloc.allocate_frames_at(-P, 1)


# ----- deferred actions ------------------------------------------------------------------

def test_deferred_action_holds_the_leftovers_until_dropped() -> None:
    """The free pieces are in neither list nor allocation until the action is dropped."""
    alloc = fresh(16)
    frames, action = alloc.allocate_frames_deferred(6 * P, 2)
    assert [p for p, _ in action.pieces] == [FrameRange(0, 6), FrameRange(8, 8)]
    snap = alloc.snapshot()
    assert snap.free_general == () and snap.pending == ((0, 6, "free"), (8, 8, "free"))
    assert alloc.allocate_frames(1) is None  # the leftovers are not yet allocatable
    with action:
        pass
    snap = alloc.snapshot()
    assert action.performed and snap.pending == () and snap.free_general == ((0, 6), (8, 8))
    assert frames.range == FrameRange(6, 2)


def test_deferred_action_inserts_without_merging() -> None:
    """The action inserts its pieces as they are, even next to a chunk they touch (heap mode)."""
    alloc = fresh(16, heap=True)
    frames, action = alloc.allocate_frames_deferred(4 * P, 4)
    frames.drop()  # back into the (empty) list
    action.drop()
    assert alloc.snapshot().free_general == ((0, 4), (4, 4), (8, 8))


def test_dropping_an_action_twice_is_an_error() -> None:
    from framemc.impl.theseus import ActionAlreadyPerformed
    alloc = fresh()
    _, action = alloc.allocate_frames_deferred(None, 1)
    action.drop()
    before = alloc.snapshot()
    with pytest.raises(ActionAlreadyPerformed):
        action.drop()
    assert alloc.snapshot() == before


# ----- merging only on drop ----------------------------------------------------------------

def test_drop_in_heap_mode_merges_with_one_neighbour() -> None:
    """Seed 003: free chunks are merged only when dropped, and only one merge is attempted."""
    alloc = fresh(12, heap=True)
    a = alloc.allocate_frames_at(0, 4)
    b = alloc.allocate_frames_at(4 * P, 4)
    c = alloc.allocate_frames_at(8 * P, 4)
    a.drop()
    c.drop()
    assert alloc.snapshot().free_general == ((0, 4), (8, 4))
    b.drop()  # touches both: merges with the next chunk only
    assert alloc.snapshot().free_general == ((0, 4), (4, 8))


def test_drop_in_early_mode_does_not_merge() -> None:
    alloc = fresh(8)
    a = alloc.allocate_frames_at(0, 4)
    a.drop()
    assert alloc.snapshot().free_general == ((0, 4), (4, 4))


def test_allocate_at_merges_two_chunks_when_the_request_needs_it() -> None:
    """Seed 003: chunks are also merged 'when needed to fulfill a specific request' (heap mode)."""
    alloc = fresh(8, heap=True)
    frames, action = alloc.allocate_frames_deferred(0, 4)
    frames.drop()
    action.drop()  # inserts [4, 8) next to [0, 4) without merging
    assert alloc.snapshot().free_general == ((0, 4), (4, 4))
    both = alloc.allocate_frames_at(2 * P, 4)
    assert both.range == FrameRange(2, 4)
    assert alloc.snapshot().free_general == ((0, 2), (6, 2))


def test_early_allocate_at_across_two_chunks_is_refused() -> None:
    alloc = fresh(8)
    alloc.allocate_frames_at(0, 4).drop()
    before = alloc.snapshot()
    with pytest.raises(AllocationError):
        alloc.allocate_frames_at(2 * P, 4)
    assert alloc.snapshot() == before


# ----- typestates --------------------------------------------------------------------------

def test_typestate_cycle_and_drop_of_unmapped_frames() -> None:
    """Allocated -> Mapped -> Unmapped -> dropped returns the frames to the free list."""
    alloc = fresh(4)
    allocated = alloc.allocate_frames(2)
    mapped = allocated.into_mapped()
    assert mapped.state is MemoryState.MAPPED and allocated.consumed
    unmapped = mapped.into_unmapped()
    assert alloc.snapshot().allocated == ((0, 2, "free", "unmapped"),)
    again = unmapped.into_allocated()
    assert again.state is MemoryState.ALLOCATED
    again.into_mapped().into_unmapped().drop()
    assert alloc.snapshot().allocated == ()
    assert sorted(alloc.snapshot().free_general) == [(0, 2), (2, 2)]


def test_dropping_mapped_frames_is_an_error_and_changes_nothing() -> None:
    alloc = fresh(4)
    mapped = alloc.allocate_frames(1).into_mapped()
    before = alloc.snapshot()
    with pytest.raises(DropMappedFrames, match=r"drop \[0x0, 0x1000\)"):
        mapped.drop()
    assert alloc.snapshot() == before and mapped.state is MemoryState.MAPPED and not mapped.consumed


@pytest.mark.parametrize("method", ["into_unmapped", "into_allocated"])
def test_wrong_transition_from_allocated_is_refused(method: str) -> None:
    alloc = fresh(4)
    frames = alloc.allocate_frames(1)
    before = alloc.snapshot()
    with pytest.raises(WrongFramesState, match="it is allocated"):
        getattr(frames, method)()
    assert alloc.snapshot() == before and not frames.consumed


def test_consumed_frames_cannot_be_used() -> None:
    alloc = fresh(4)
    frames = alloc.allocate_frames(2)
    frames.into_mapped()
    for use in (frames.drop, frames.into_mapped, lambda: frames.split_at(1)):
        with pytest.raises(FramesConsumed):
            use()


def test_split_and_merge_move_the_objects() -> None:
    alloc = fresh(8)
    frames = alloc.allocate_frames(6)
    left, right = frames.split_at(2)
    assert (left.range, right.range) == (FrameRange(0, 2), FrameRange(2, 4)) and frames.consumed
    parts = right.split_range(FrameRange(3, 2))
    assert (parts.before.range, parts.middle.range, parts.after.range) == \
        (FrameRange(2, 1), FrameRange(3, 2), FrameRange(5, 1))
    parts.middle.merge(parts.after)
    assert parts.middle.range == FrameRange(3, 3) and parts.after.consumed
    left.merge(parts.before)
    assert left.range == FrameRange(0, 3)
    assert alloc.snapshot().allocated == ((0, 3, "free", "allocated"), (3, 3, "free", "allocated"))


def test_split_and_merge_reject_bad_arguments() -> None:
    alloc = fresh(8)
    a = alloc.allocate_frames_at(0, 2)
    b = alloc.allocate_frames_at(4 * P, 2)
    before = alloc.snapshot()
    with pytest.raises(UsageError, match="strictly inside"):
        a.split_at(2)
    with pytest.raises(UsageError, match="not contiguous"):
        a.merge(b)
    assert alloc.snapshot() == before
    c = alloc.allocate_frames_at(2 * P, 2).into_mapped()
    before = alloc.snapshot()
    with pytest.raises(UsageError, match="differ"):
        a.merge(c)
    assert alloc.snapshot() == before
    assert not (a.consumed or b.consumed or c.consumed) and a.range == FrameRange(0, 2)


# ----- reserved memory and allocate_frames_at ---------------------------------------------

def test_init_gives_reserved_areas_priority_over_free_areas() -> None:
    alloc = TheseusFrameAllocator(phys_frames=64)
    alloc.init([(0, 16 * P)], [(4 * P, 2 * P), (5 * P, 2 * P)])
    snap = alloc.snapshot()
    assert snap.general_regions == ((0, 4), (7, 9)) and snap.reserved_regions == ((4, 3),)
    assert snap.free_reserved == ((4, 3),)


@pytest.mark.parametrize("reserved, general", [
    ([(0, 4 * P)], ((4, 12),)),                       # a hole at the very start leaves no empty piece before it
    ([(0, 4 * P), (4 * P, 2 * P)], ((6, 10),)),      # nor do two holes that touch
    ([(12 * P, 4 * P)], ((0, 12),)),                  # nor a hole at the very end
])
def test_init_leaves_no_empty_region_where_a_reserved_area_touches(reserved, general) -> None:
    alloc = TheseusFrameAllocator(phys_frames=64)
    alloc.init([(0, 16 * P)], reserved)
    snap = alloc.snapshot()
    assert snap.general_regions == general
    assert all(n > 0 for _, n in snap.general_regions + snap.free_general)


def test_general_allocation_never_uses_reserved_memory() -> None:
    alloc = TheseusFrameAllocator(phys_frames=64)
    alloc.init([(0, 2 * P)], [(8 * P, 8 * P)])
    assert alloc.allocate_frames(4) is None
    frames = alloc.allocate_frames_at(9 * P, 2)
    assert frames.typ is RESERVED
    frames.drop()
    assert alloc.snapshot().free_reserved == ((8, 1), (9, 2), (11, 5))


def test_allocate_at_unknown_memory_creates_a_reserved_region() -> None:
    """Device memory: frames nobody added become a reserved region owned by the caller."""
    alloc = fresh(16)
    dev = alloc.allocate_frames_at(100 * P, 4)
    assert dev.typ is RESERVED
    snap = alloc.snapshot()
    assert snap.reserved_regions == ((100, 4),) and snap.allocated == ((100, 4, "reserved", "allocated"),)
    dev.drop()
    assert alloc.snapshot().free_reserved == ((100, 4),)
    assert alloc.allocate_frames_at(101 * P, 2).typ is RESERVED


def test_allocate_at_extends_a_reserved_chunk_with_its_missing_tail() -> None:
    """Heap mode: a request running past the end of a free reserved chunk reserves the tail."""
    alloc = fresh(4, heap=True)
    alloc.allocate_frames_at(100 * P, 2).drop()
    frames = alloc.allocate_frames_at(100 * P, 4)
    assert frames.range == FrameRange(100, 4) and frames.typ is RESERVED
    assert alloc.snapshot().reserved_regions == ((100, 2), (102, 2))


def test_allocate_at_over_allocated_general_frames_is_refused() -> None:
    """Correct code (Theseus #456): a new reserved region must not overlap general memory in use."""
    alloc = fresh(16)
    general = alloc.allocate_frames(4)
    before = alloc.snapshot()
    with pytest.raises(AllocationError, match="overlaps general-purpose memory") as info:
        alloc.allocate_frames_at(2 * P, 1)
    assert info.value.kind is AllocFailure.ADDRESS_NOT_FREE
    assert alloc.snapshot() == before and general.range == FrameRange(0, 4)


def test_alloc_at_skips_overlap_variant_gives_one_frame_two_owners() -> None:
    """The planted variant (Theseus #451) hands an allocated general frame out again as reserved."""
    alloc = fresh(16, bugs={"alloc-at-skips-overlap"})
    general = alloc.allocate_frames(4)
    device = alloc.allocate_frames_at(2 * P, 1)
    assert device.typ is RESERVED and general.range.contains_frame(device.range.start)
    owners = [c for c in alloc.snapshot().allocated if c[0] <= 2 < c[0] + c[1]]
    assert owners == [(0, 4, "free", "allocated"), (2, 1, "reserved", "allocated")]


def test_bug_variants_are_validated() -> None:
    assert THESEUS_BUGS == {"alloc-at-skips-overlap", "drop-mapped-frames", "early-list-overflow", "merge-non-adjacent"}
    with pytest.raises(UsageError, match="unknown bug variant"):
        TheseusFrameAllocator(bugs={"no-such-bug"})
    with pytest.raises(UsageError, match="not the Theseus allocator"):
        TheseusFrameAllocator(bugs={"relaxed-claim"})


# ----- inspect_then_allocate_free_frames ----------------------------------------------------

def test_inspect_then_allocate_allocates_what_the_callback_asks() -> None:
    alloc, _ = fragmented(4)
    seen = []

    def pick_third(chunk: FrameRange):
        seen.append(chunk.start)
        return AllocateAt(chunk.start, 1) if len(seen) == 3 else IterAction.NEXT

    frames = alloc.inspect_then_allocate_free_frames(pick_third)
    assert seen == [0, 2, 4] and frames.range == FrameRange(4, 1)


def test_inspect_then_allocate_can_stop_or_run_out() -> None:
    alloc, _ = fragmented(3)
    before = alloc.snapshot()
    assert alloc.inspect_then_allocate_free_frames(lambda c: IterAction.STOP) is None
    assert alloc.inspect_then_allocate_free_frames(lambda c: IterAction.NEXT) is None
    with pytest.raises(AllocationError):
        alloc.inspect_then_allocate_free_frames(lambda c: AllocateAt(c.start, 2))
    with pytest.raises(UsageError, match="callback returned"):
        alloc.inspect_then_allocate_free_frames(lambda c: "next")
    assert alloc.snapshot() == before


# ----- the seed-002 contract ------------------------------------------------------------

def test_alloc_honours_alignment_and_dealloc_takes_any_part() -> None:
    alloc = fresh(16, at=1)
    paddr = alloc.alloc(Layout(4 * P, 4 * P))
    assert paddr == 4 * P
    alloc.dealloc(5 * P, P)  # the middle of an allocation, first
    assert alloc.snapshot().held == ((4, 1), (6, 2))
    alloc.dealloc(4 * P, P)
    alloc.dealloc(6 * P, 2 * P)
    snap = alloc.snapshot()
    assert snap.held == () and snap.allocated == ()


def test_dealloc_spanning_two_allocations() -> None:
    alloc = fresh(8)
    a, b = alloc.alloc(Layout(2 * P)), alloc.alloc(Layout(2 * P))
    assert (a, b) == (0, 2 * P)
    alloc.dealloc(P, 2 * P)
    assert alloc.snapshot().held == ((0, 1), (3, 1))


def test_alloc_returns_none_when_out_of_memory() -> None:
    alloc = fresh(2)
    assert alloc.alloc(Layout(4 * P)) is None


# ----- the lock: every access to the books happens under it -----------------------------

class RecordingRuntime:
    """A minimal atomics runtime that checks the books are only touched under the lock."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.accesses: list[tuple[str, bool, bool]] = []

    def atomic(self, obj, op, order, a, b, failure):  # pragma: no cover - the allocator has no atomics
        raise AssertionError("unexpected atomic")

    def nonatomic(self, loc, write: bool, value=None) -> None:
        self.accesses.append((loc.name, write, "theseus.lists" in self.held))

    def lock(self, m) -> None:
        assert m.name not in self.held, "lock taken twice"
        self.held.add(m.name)

    def unlock(self, m) -> None:
        self.held.remove(m.name)

    def fence(self, order) -> None:  # pragma: no cover
        pass

    def spin(self) -> None:  # pragma: no cover
        pass

    def current_thread(self) -> int:
        return 0


def test_books_are_only_touched_under_the_lock() -> None:
    alloc = fresh(16)
    rt = RecordingRuntime()
    install_runtime(rt)
    try:
        frames, action = alloc.allocate_frames_deferred(None, 2)
        action.drop()
        frames.into_mapped().into_unmapped().drop()
        paddr = alloc.alloc(Layout(P))
        alloc.dealloc(paddr, P)
        with pytest.raises(AllocationError):
            alloc.allocate_frames_deferred(None, 100)
    finally:
        uninstall_runtime(rt)
    assert rt.accesses and all(locked for _, _, locked in rt.accesses)
    assert not rt.held
    # One read and one write per transaction: the failed allocation only read.
    assert sum(1 for _, write, _ in rt.accesses if write) == sum(1 for _, write, _ in rt.accesses if not write) - 1
