"""Behaviours of the reference impl that the mutation samples (benchmarks/mutation.py) found unchecked.

Each test pins one behaviour a surviving mutant changed: a memory ordering
(checked under C11, where a missing happens-before edge is a data race), an
edge of an argument check, or a piece of Theseus bookkeeping that only a
second transaction or a second call order reaches.  The docstrings say what
the correct code does; the mutant it kills is the one that does otherwise.
"""

from __future__ import annotations

import pytest

import framemc
from framemc.errors import UsageError
from framemc.impl import eventlog
from framemc.impl.boot import EarlyFrameAllocator, MemoryRegion, MemoryRegionType, range_difference
from framemc.impl.buddy import BuddyFrameAllocator, Layout
from framemc.impl.errors import GetFrameError, InvalidLayout, MisalignedAddress
from framemc.impl.machine import PhysMemory
from framemc.impl.meta import MetaArray
from framemc.impl.system import FrameSystem
from framemc.impl.theseus import (
    AllocationError,
    AllocFailure,
    EarlyListFull,
    FrameRange,
    FramesConsumed,
    TheseusFrameAllocator,
)
from framemc.impl.theseus_chunks import EARLY_CHUNK_CAPACITY
from framemc.snapshot import PAGE_SIZE, PAYLOAD_FILL
from framemc.sync import on_cpu

P = PAGE_SIZE


def theseus(nframes: int = 16, *, at: int = 0, heap: bool = False) -> TheseusFrameAllocator:
    """A Theseus allocator knowing ``nframes`` frames of general memory starting at frame ``at``."""
    alloc = TheseusFrameAllocator(phys_frames=256)
    alloc.add_free_memory(at * P, nframes * P)
    if heap:
        alloc.switch_to_heap()
    return alloc


# ----- the MetaSlot protocol under C11 ---------------------------------------------------------

def test_from_in_use_acquires_the_publication_of_the_frame() -> None:
    """from_in_use's increment CAS is Acquire: a CPU that gets a reference to a frame another CPU is
    just publishing reads the payload zeroed, with no data race on it (a Relaxed CAS reads refcount = 1
    without synchronising with the publisher's Release store, so its payload read races the zeroing)."""
    looked: list[bool] = []

    def setup():
        system = FrameSystem(1, ncpus=2, fill=PAYLOAD_FILL)

        def allocator_cpu() -> None:
            system.alloc_frame()

        def looker() -> None:
            try:
                other = system.from_in_use(0)
            except GetFrameError:
                return
            looked.append(True)
            head = other.read(0, 8)
            assert head == bytes(8), f"from_in_use saw the new frame with stale bytes (first byte {head[0]:#04x})"
            other.drop()

        return [allocator_cpu, looker]

    result = framemc.explore(setup, memory_model="c11")
    assert result.status is framemc.Status.PASS and result.exhaustive, result.violation
    assert looked, "no execution let from_in_use take the published frame: the race was never run"


# ----- the buddy pool and the early allocator --------------------------------------------------

def test_a_double_free_on_a_one_frame_machine_shows_the_frame_free_twice() -> None:
    """The free-list walk is bounded one step past nframes, so a list a planted bug has linked into a
    cycle through every frame still shows its repeat: on a one-frame machine the unchecked double
    free lists frame 0 twice (a bound of nframes steps would show it once and hide the double free)."""
    sysm = FrameSystem(1, cache_capacity=0, bugs={"unchecked-overlapping-dealloc"})
    sysm.allocator.alloc(Layout(P))
    sysm.allocator.dealloc(0, P)
    assert sysm.snapshot().free_blocks == ((0, 0),)
    sysm.allocator.dealloc(0, P)
    assert sysm.snapshot().free_blocks == ((0, 0), (0, 0))


@pytest.mark.parametrize("nslots", [3, 5])
def test_a_metadata_array_of_another_length_is_refused(nslots: int) -> None:
    """The buddy allocator needs one MetaSlot per frame: a shorter or longer array is a UsageError."""
    with pytest.raises(UsageError, match=f"metadata array has {nslots} slots for 4 frames"):
        BuddyFrameAllocator(PhysMemory(4), MetaArray(nslots), ncpus=1, max_order=2, cache_capacity=0,
                            bugs=frozenset())


@pytest.mark.parametrize("cpu", [2, 3])
def test_running_on_a_cpu_the_system_does_not_have_is_a_usage_error(cpu: int) -> None:
    """CPUs are 0..ncpus-1: an allocation on CPU ncpus (one past the last cache) or beyond is refused as a
    UsageError naming the CPU, and changes nothing; the last real CPU allocates."""
    system = FrameSystem(4, ncpus=2)
    before = system.snapshot()
    with on_cpu(cpu), pytest.raises(UsageError, match=f"running on CPU {cpu} but the system has 2 CPUs"):
        system.allocator.alloc(Layout(P))
    assert system.snapshot() == before
    with on_cpu(1):
        assert system.allocator.alloc(Layout(P)) is not None


@pytest.mark.parametrize("max_order", [0, 20])
def test_max_order_takes_both_ends_of_its_range(max_order: int) -> None:
    """max_order may be anything in 0..20, both ends included (21 is refused, see test_gfa_contract)."""
    system = FrameSystem(4, max_order=max_order, cache_capacity=0)
    assert system.allocator.max_order == max_order
    assert system.allocator.alloc(Layout(P)) == 0


def test_a_refused_cache_allocation_is_logged_with_a_null_address() -> None:
    """docs/validate.md: every alloc() is logged when it returns, ``addr`` null when there is no memory; so a
    refused allocation through the per-CPU cache is logged too, not only the successful one."""
    events: list[dict] = []
    eventlog.record_to(events)
    try:
        system = FrameSystem(1, cache_capacity=2)
        assert system.allocator.alloc(Layout(P)) == 0
        assert system.allocator.alloc(Layout(P)) is None
    finally:
        eventlog.record_to(None)
    assert [e for e in events if e["ev"] == "alloc"] == [{"cpu": 0, "ev": "alloc", "addr": 0, "size": P},
                                                         {"cpu": 0, "ev": "alloc", "addr": None, "size": P}]


def test_a_zero_size_early_allocation_takes_nothing() -> None:
    """Only a negative size is refused: a zero-size request returns the bump pointer and leaves it."""
    early = EarlyFrameAllocator([MemoryRegion(0x1000, 2 * P, MemoryRegionType.USABLE)])
    assert early.alloc(Layout(0)) == 0x1000
    assert early.allocated_regions()[0] == range(0x1000, 0x1000)
    assert early.alloc(Layout(P)) == 0x1000
    with pytest.raises(UsageError, match="negative size"):
        early.alloc(Layout(-1))


def test_with_no_usable_memory_above_the_boundary_the_above_range_is_empty() -> None:
    """The counterpart of the range below: with every usable region under high_boundary, above_range is
    empty ("empty if none"), not a stray one-byte range, and nothing is ever bumped above."""
    early = EarlyFrameAllocator([MemoryRegion(0x1000, 2 * P, MemoryRegionType.USABLE)])
    assert early.under_range == range(0x1000, 0x3000)
    assert len(early.above_range) == 0
    assert early.alloc(Layout(2 * P)) == 0x1000
    assert early.alloc(Layout(0x1000)) is None
    assert len(early.allocated_regions()[1]) == 0


def test_an_empty_early_range_inside_a_region_does_not_split_it() -> None:
    """range_difference(a, b) is [a] for an empty b anywhere, also strictly inside a; so a region that
    straddles high_boundary, with nothing early-allocated above, is added to the allocator whole (one
    add_free_memory range, whose buddies merge across the boundary), not cut at the boundary."""
    assert range_difference(range(0, 10), range(5, 5)) == [range(0, 10)]
    system = FrameSystem.boot([MemoryRegion(0, 8 * P, MemoryRegionType.USABLE)], high_boundary=4 * P,
                              cache_capacity=0)
    assert system.allocator.added() == ((0, 8),)
    assert system.allocator.free_blocks() == ((0, 3),)


@pytest.mark.parametrize("kind", ["buddy", "theseus"])
def test_a_one_byte_alloc_is_misaligned_not_zero_size(kind: str) -> None:
    """Only size 0 is ZeroSize: a one-byte request is a size that is not a page multiple (seed 002),
    refused as MisalignedAddress by both allocators; a page with byte alignment 1 is fine."""
    allocator = FrameSystem(4, cache_capacity=0).allocator if kind == "buddy" else theseus(4)
    with pytest.raises(MisalignedAddress, match="not aligned to PAGE_SIZE"):
        allocator.alloc(Layout(1))
    assert allocator.alloc(Layout(P, 1)) == 0


# ----- the Theseus allocator -------------------------------------------------------------------

@pytest.mark.parametrize("phys_frames", [0, -1])
def test_theseus_address_space_must_be_positive(phys_frames: int) -> None:
    """An allocator over no address space (or a negative one) is a UsageError at construction."""
    with pytest.raises(UsageError, match="phys_frames must be positive"):
        TheseusFrameAllocator(phys_frames=phys_frames)


def test_theseus_init_unions_every_overlapping_reserved_area() -> None:
    """Reserved areas are unioned when they overlap, always against the latest merged area: one inside
    it keeps its end, one running past it extends it, however many separate areas come before."""
    alloc = TheseusFrameAllocator(phys_frames=64)
    alloc.init([(0, 16 * P)], [(0, P), (4 * P, 4 * P), (5 * P, P), (7 * P, 3 * P)])
    snap = alloc.snapshot()
    assert snap.reserved_regions == snap.free_reserved == ((0, 1), (4, 6))
    assert snap.general_regions == snap.free_general == ((1, 3), (10, 6))


def test_theseus_alloc_takes_any_power_of_two_alignment_down_to_one_byte() -> None:
    """An alignment below a page asks for no more than page alignment: from memory starting at the
    odd frame 1, align 1 and the default page alignment both take the next free frame; align 0 is
    not a power of two and is refused."""
    alloc = theseus(16, at=1)
    assert alloc.alloc(Layout(P, 1)) == P
    assert alloc.alloc(Layout(P)) == 2 * P
    assert alloc.alloc(Layout(P, 2 * P)) == 4 * P
    before = alloc.snapshot()
    with pytest.raises(InvalidLayout, match="power of two"):
        alloc.alloc(Layout(P, 0))
    assert alloc.snapshot() == before


def test_promised_slots_outlive_the_transaction_that_promised_them() -> None:
    """The early-list slots an undelivered deferred action holds are counted by every later
    transaction: with 30 chunks and 2 promised, a 33rd chunk is refused until the action is dropped,
    so the action's delivery can never overflow the 32-slot array."""
    alloc = theseus(59)
    for i in range(29):                                   # chunks [0,1), [2,3), ..., [56,57) and [58,59)
        alloc.allocate_frames_at((2 * i + 1) * P, 1)
    alloc.add_free_memory(100 * P, 8 * P)                 # the 31st chunk
    frames, action = alloc.allocate_frames_deferred(103 * P, 2)   # 30 chunks + 2 promised pieces
    assert len(alloc.snapshot().free_general) == EARLY_CHUNK_CAPACITY - 2
    before = alloc.snapshot()
    with pytest.raises(EarlyListFull, match="would hold 33 chunks"):
        alloc.add_free_memory(200 * P, P)
    assert alloc.snapshot() == before
    action.drop()
    assert len(alloc.snapshot().free_general) == EARLY_CHUNK_CAPACITY
    assert frames.range == FrameRange(103, 2)


def test_split_at_either_end_is_refused_and_changes_nothing() -> None:
    """split_at needs a frame strictly inside: splitting at the first frame (which would leave an empty
    first part) is refused like splitting at the end, and the object stays usable."""
    alloc = theseus(16)
    frames = alloc.allocate_frames_at(4 * P, 4)          # frames [4, 8)
    before = alloc.snapshot()
    for at in (4, 8):
        with pytest.raises(UsageError, match="strictly inside"):
            frames.split_at(at)
        assert alloc.snapshot() == before and not frames.consumed
    left, right = frames.split_at(5)
    assert (left.range, right.range) == (FrameRange(4, 1), FrameRange(5, 3))


def test_split_range_outside_the_frames_is_refused_and_changes_nothing() -> None:
    """Frames.split_range needs the middle range inside the object: one reaching past its end (or
    starting before it) is a UsageError, the books are unchanged and the object stays usable."""
    alloc = theseus(16)
    frames = alloc.allocate_frames_at(4 * P, 4)          # frames [4, 8)
    before = alloc.snapshot()
    for middle in (FrameRange(6, 4), FrameRange(2, 4), FrameRange(2, 8)):
        with pytest.raises(UsageError, match="is not inside it"):
            frames.split_range(middle)
        assert alloc.snapshot() == before and not frames.consumed
    parts = frames.split_range(FrameRange(4, 4))        # the whole range: nothing before or after
    assert (parts.before, parts.after) == (None, None) and parts.middle.range == FrameRange(4, 4)
    assert frames.consumed


def test_split_range_consumes_the_original_object() -> None:
    """Like split_at, split_range moves the object: the original is consumed, the parts live on."""
    alloc = theseus(16)
    frames = alloc.allocate_frames_at(4 * P, 4)
    parts = frames.split_range(FrameRange(5, 2))
    assert frames.consumed
    with pytest.raises(FramesConsumed):
        frames.drop()
    assert alloc.snapshot().allocated == ((4, 1, "free", "allocated"), (5, 2, "free", "allocated"),
                                          (7, 1, "free", "allocated"))
    for part in (parts.before, parts.middle, parts.after):
        part.drop()
    assert alloc.snapshot().allocated == ()


def test_merge_with_the_preceding_frames_extends_downwards() -> None:
    """merge accepts the other object on either side: absorbing the one just below gives a range
    starting at the other's first frame."""
    alloc = theseus(16)
    low = alloc.allocate_frames_at(2 * P, 2)
    high = alloc.allocate_frames_at(4 * P, 3)
    high.merge(low)
    assert high.range == FrameRange(2, 5) and low.consumed and not high.consumed
    assert alloc.snapshot().allocated == ((2, 5, "free", "allocated"),)
    high.drop()
    assert alloc.snapshot().allocated == ()


def test_merge_with_itself_or_another_allocators_frames_is_refused() -> None:
    """The other object must be a distinct Frames of the same allocator; nothing changes otherwise."""
    alloc, elsewhere = theseus(16), theseus(16)
    frames = alloc.allocate_frames_at(2 * P, 2)
    elsewhere.allocate_frames_at(10 * P, 1)               # so the foreign object's identity differs from ours
    foreign = elsewhere.allocate_frames_at(4 * P, 2)      # contiguous by address, but not ours
    before, before_elsewhere = alloc.snapshot(), elsewhere.snapshot()
    for other in (frames, foreign):
        with pytest.raises(UsageError, match="distinct Frames of the same allocator"):
            frames.merge(other)
    assert alloc.snapshot() == before and elsewhere.snapshot() == before_elsewhere
    assert not (frames.consumed or foreign.consumed)


def test_allocate_at_past_a_free_general_chunk_into_allocated_memory_is_contiguous_chunk_not_found() -> None:
    """Heap mode: a request starting in a free general chunk whose tail is general memory in use
    is refused as CONTIGUOUS_CHUNK_NOT_FOUND naming the missing tail (not as a clash of a new
    reserved region with general memory: no reserved region is considered), and changes nothing."""
    alloc = theseus(8, heap=True)
    alloc.allocate_frames_at(4 * P, 4)                    # [4, 8) in use, [0, 4) free
    before = alloc.snapshot()
    with pytest.raises(AllocationError, match=r"\[0x4000, 0x6000\) is not free") as info:
        alloc.allocate_frames_at(2 * P, 4)
    assert info.value.kind is AllocFailure.CONTIGUOUS_CHUNK_NOT_FOUND
    assert alloc.snapshot() == before


def test_allocate_at_over_reserved_memory_in_use_is_refused() -> None:
    """A request at unknown memory becomes a new reserved region only if it overlaps no reserved region: one
    reaching into a reserved region in use (from below or from inside) is ADDRESS_NOT_FREE and changes nothing;
    once the region is dropped its frames can be allocated at again."""
    alloc = theseus(16)
    held = alloc.allocate_frames_at(100 * P, 2)           # a new reserved region [100, 102), in use
    before = alloc.snapshot()
    for first in (99, 101):
        with pytest.raises(AllocationError, match="is reserved memory in use") as info:
            alloc.allocate_frames_at(first * P, 2)
        assert info.value.kind is AllocFailure.ADDRESS_NOT_FREE
        assert alloc.snapshot() == before
    held.drop()
    assert alloc.allocate_frames_at(100 * P, 2).range == FrameRange(100, 2)


def test_the_early_list_overflow_variant_grows_the_array_past_its_32_slots() -> None:
    """The planted early-list-overflow bug is what its record says: a drop into a full early array is not
    refused, the array grows a 33rd slot and holds the chunk (so the counterexample shows 33 chunks)."""
    alloc = TheseusFrameAllocator(phys_frames=256, bugs={"early-list-overflow"})
    alloc.add_free_memory(0, (2 * EARLY_CHUNK_CAPACITY - 1) * P)
    holes = [alloc.allocate_frames_at((2 * i + 1) * P, 1) for i in range(EARLY_CHUNK_CAPACITY - 1)]
    assert len(alloc.snapshot().free_general) == EARLY_CHUNK_CAPACITY
    holes[0].drop()
    free = alloc.snapshot().free_general
    assert len(free) == EARLY_CHUNK_CAPACITY + 1 and (1, 1) in free


def test_a_whole_number_of_frames_in_bytes_is_not_rounded_up() -> None:
    """by_bytes rounds up only a partial frame: exactly two frames' bytes is two frames, and a page-aligned
    page at an address is that one frame."""
    alloc = theseus(16)
    assert alloc.allocate_frames_by_bytes(2 * P).nframes == 2
    assert alloc.allocate_frames_by_bytes_at(8 * P, P).range == FrameRange(8, 1)


@pytest.mark.parametrize("size,error", [(0, "ZeroSize"), (100, "MisalignedAddress")])
def test_alloc_refuses_a_zero_or_unaligned_size_and_changes_nothing(size: int, error: str) -> None:
    """alloc() checks its Layout before touching the free lists: a zero size is ZeroSize, a size that is not a
    whole number of pages is MisalignedAddress (mutation sample seed 303 found both checks untested on alloc)."""
    from framemc.impl import errors
    system = FrameSystem(4, cache_capacity=0)
    before = system.snapshot()
    with pytest.raises(getattr(errors, error)):
        system.allocator.alloc(Layout(size))
    assert system.snapshot() == before


def test_an_empty_payload_access_is_inside_the_page_at_either_end() -> None:
    """Frame.read/write refuse only a negative offset or length and a span past the page's end: a zero-length
    access is inside the page at offset 0 and at offset PAGE_SIZE, and reads nothing or writes nothing."""
    system = FrameSystem(2)
    frame = system.alloc_frame()
    for offset in (0, P):
        assert frame.read(offset, 0) == b""
        frame.write(offset, b"")
    assert frame.read(0, P) == bytes(P)
    for offset, length in ((-1, 1), (0, -1), (P, 1)):
        with pytest.raises(UsageError, match="outside the page"):
            frame.read(offset, length)
