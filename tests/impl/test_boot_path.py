"""The boot path of seed 004: range_difference, EarlyFrameAllocator, init()."""

from __future__ import annotations

import pytest

from framemc.errors import UsageError
from framemc.impl.boot import (
    PADDR_4G,
    EarlyFrameAllocator,
    MemoryRegion,
    MemoryRegionType,
    init,
    range_difference,
)
from framemc.impl.buddy import FrameState, Layout
from framemc.impl.errors import OverlapsAddedMemory
from framemc.impl.system import FrameSystem
from framemc.snapshot import PAGE_SIZE

P = PAGE_SIZE
G = PADDR_4G
USABLE = MemoryRegionType.USABLE
RESERVED = MemoryRegionType.RESERVED


class RecordingAllocator:
    """A GlobalFrameAllocator that records what it is given (addresses above 4 GiB need no RAM)."""

    def __init__(self) -> None:
        self.added: list[tuple[int, int]] = []

    def alloc(self, layout):
        """Never used by init."""
        return None

    def dealloc(self, addr, size):
        """Never used by init."""
        raise AssertionError("init must not dealloc")

    def add_free_memory(self, addr, size):
        """Record the range."""
        self.added.append((addr, size))


@pytest.mark.parametrize("a, b, expected", [
    (range(0, 10), range(3, 5), [range(0, 3), range(5, 10)]),
    (range(0, 10), range(0, 5), [range(5, 10)]),
    (range(0, 10), range(5, 20), [range(0, 5)]),
    (range(0, 10), range(10, 20), [range(0, 10)]),
    (range(0, 10), range(0, 0), [range(0, 10)]),
    (range(0, 10), range(0, 10), []),
    (range(3, 5), range(0, 10), []),
    (range(5, 5), range(0, 1), []),
])
def test_range_difference(a, b, expected):
    assert range_difference(a, b) == expected


def test_early_allocator_picks_largest_region_below_and_above_4g():
    regions = [
        MemoryRegion(0x1000, 0x9000, USABLE),
        MemoryRegion(0x10_0000, 0x40_0000, USABLE),
        MemoryRegion(0x80_0000, 0x100_0000, RESERVED),      # largest, but not usable
        MemoryRegion(G - 0x20_0000, 0x40_0000, USABLE),     # straddles 4 GiB: 2 MiB below, 2 MiB above
        MemoryRegion(G + 0x1000_0000, 0x10_0000, USABLE),
    ]
    early = EarlyFrameAllocator(regions)
    assert early.under_range == range(0x10_0000, 0x50_0000)
    assert early.above_range == range(G, G + 0x20_0000)
    assert early.allocated_regions() == (range(0x10_0000, 0x10_0000), range(G, G))


def test_early_allocator_bumps_below_then_above():
    regions = [MemoryRegion(0x1000, 2 * P, USABLE), MemoryRegion(G, 8 * P, USABLE)]
    early = EarlyFrameAllocator(regions)
    assert early.alloc(Layout(P)) == 0x1000
    assert early.alloc(Layout(100)) == 0x2000                 # rounded up to a page
    assert early.alloc(Layout(P)) == G                         # below is full
    assert early.alloc(Layout(P, 4 * P)) == G + 4 * P          # aligned
    assert early.alloc(Layout(4 * P)) is None
    assert early.allocated_regions() == (range(0x1000, 0x3000), range(G, G + 5 * P))


@pytest.mark.parametrize("align", [1, 2, 8, P])
def test_early_allocator_takes_every_power_of_two_alignment_and_rounds_it_to_a_page(align):
    early = EarlyFrameAllocator([MemoryRegion(0x1000, 4 * P, USABLE)])
    assert early.alloc(Layout(10, align)) == 0x1000
    assert early.alloc(Layout(P, align)) == 0x2000


@pytest.mark.parametrize("base, length", [(-P, P), (0, -P), (-P, -P), (-1, P), (0, -1)])
def test_a_memory_region_with_a_negative_bound_is_refused(base, length):
    """Negative is said first, even of a bound that is also not page-aligned (-1)."""
    with pytest.raises(UsageError, match="negative bound"):
        MemoryRegion(base, length, USABLE)


def test_with_no_usable_memory_below_4g_the_early_allocator_uses_only_the_range_above():
    early = EarlyFrameAllocator([MemoryRegion(G, 2 * P, USABLE)])
    assert len(early.under_range) == 0 and early.above_range == range(G, G + 2 * P)
    assert early.alloc(Layout(P)) == G
    assert early.allocated_regions()[0] == range(early.under_range.start, early.under_range.start)


def test_early_allocator_fills_each_range_exactly():
    early = EarlyFrameAllocator([MemoryRegion(0x1000, 2 * P, USABLE), MemoryRegion(G, 3 * P, USABLE)])
    assert early.alloc(Layout(2 * P)) == 0x1000          # exactly the range below 4 GiB
    assert early.alloc(Layout(3 * P)) == G               # exactly the range above
    assert early.alloc(Layout(P)) is None                # both full


@pytest.mark.parametrize("align", [0, 3, 6, -8])
def test_early_allocator_rejects_an_alignment_that_is_not_a_power_of_two(align):
    early = EarlyFrameAllocator([MemoryRegion(0x1000, 4 * P, USABLE)])
    with pytest.raises(UsageError, match="not a power of two"):
        early.alloc(Layout(P, align))


def test_init_adds_usable_regions_minus_early_allocations():
    regions = [
        MemoryRegion(0, 16 * P, USABLE),
        MemoryRegion(16 * P, 4 * P, RESERVED),
        MemoryRegion(G, 32 * P, USABLE),
        MemoryRegion(2 * G, 4 * P, USABLE),
    ]
    early = EarlyFrameAllocator(regions)
    assert early.alloc(Layout(2 * P)) == 0
    assert early.alloc(Layout(P, 4 * P)) == 4 * P   # aligned: frames 2..3 stay early-owned
    assert early.alloc(Layout(20 * P)) == G          # does not fit below any more
    sink = RecordingAllocator()
    added = init(regions, early, sink)
    assert added == [range(5 * P, 16 * P), range(G + 20 * P, G + 32 * P), range(2 * G, 2 * G + 4 * P)]
    assert sink.added == [(5 * P, 11 * P), (G + 20 * P, 12 * P), (2 * G, 4 * P)]


def test_bad_region_is_refused():
    with pytest.raises(UsageError, match="not page-aligned"):
        MemoryRegion(0x1001, P, USABLE)
    with pytest.raises(UsageError, match="MemoryRegionType"):
        MemoryRegion(0, P, "usable")


def test_boot_builds_a_system_with_reserved_holes():
    regions = [
        MemoryRegion(0, 4 * P, RESERVED),
        MemoryRegion(4 * P, 8 * P, USABLE),
        MemoryRegion(12 * P, 4 * P, USABLE),
    ]
    # A scaled-down "4 GiB" line at frame 12 makes [12, 16) the above-boundary region.
    system = FrameSystem.boot(regions, early_layouts=[Layout(P), Layout(P)], high_boundary=12 * P,
                              cache_capacity=0)
    assert system.early_allocations == (4 * P, 5 * P)
    assert system.allocator.added() == ((6, 6), (12, 4))
    for f in (0, 3, 4, 5):
        assert system.allocator.frame_state(f) is FrameState.RESERVED
    with pytest.raises(OverlapsAddedMemory):
        system.allocator.add_free_memory(12 * P, P)
    frame = system.alloc_frame()
    assert frame.paddr == 6 * P


def test_boot_refuses_regions_beyond_simulated_ram():
    with pytest.raises(UsageError, match="scale the machine down"):
        FrameSystem.boot([MemoryRegion(G, P, USABLE)])
