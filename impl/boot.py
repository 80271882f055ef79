"""The boot path: memory regions, the early bump allocator, and ``init()`` (seed 004).

Design: this module is pure address arithmetic on Python ``range`` objects
(Rust ``Range<Paddr>``), so it works for regions anywhere in the 64-bit
physical space, including above 4 GiB, without backing them with RAM.
``init`` hands the resulting ranges to any ``GlobalFrameAllocator``; the
simulated system (``framemc.impl.system``) backs only the frames it manages
and, for small machines, lets the caller scale the 4 GiB boundary down
(``high_boundary``) so the same two-region logic runs on a few frames.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from framemc.errors import UsageError
from framemc.impl.buddy import GlobalFrameAllocator, Layout
from framemc.impl.machine import align_up
from framemc.snapshot import PAGE_SIZE

__all__ = [
    "PADDR_4G",
    "MemoryRegionType",
    "MemoryRegion",
    "range_difference",
    "EarlyFrameAllocator",
    "init",
]

#: the 4 GiB line of seed 004 (``PADDR4G``)
PADDR_4G = 0x1_0000_0000


class MemoryRegionType(enum.Enum):
    """Kinds of boot memory region (Asterinas ``MemoryRegionType``, abridged)."""

    BAD_MEMORY = "bad"
    UNKNOWN = "unknown"
    NON_VOLATILE_SLEEP = "nvs"
    RESERVED = "reserved"
    KERNEL = "kernel"
    MODULE = "module"
    FRAMEBUFFER = "framebuffer"
    RECLAIMABLE = "reclaimable"
    USABLE = "usable"


@dataclass(frozen=True, slots=True)
class MemoryRegion:
    """A physical memory region reported by the bootloader."""

    #: first physical address
    base: int
    #: length in bytes
    length: int
    #: what the region holds
    typ: MemoryRegionType

    def __post_init__(self) -> None:
        if not isinstance(self.typ, MemoryRegionType):
            raise UsageError(f"memory region type must be a MemoryRegionType, got {self.typ!r}")
        if self.base < 0 or self.length < 0:
            raise UsageError(f"memory region [{self.base:#x}, +{self.length:#x}) has a negative bound")
        if self.base % PAGE_SIZE or self.length % PAGE_SIZE:
            raise UsageError(f"memory region [{self.base:#x}, {self.end:#x}) is not page-aligned")

    @property
    def end(self) -> int:
        """One past the last address."""
        return self.base + self.length

    @property
    def span(self) -> range:
        """The region as an address range."""
        return range(self.base, self.end)


def range_difference(a: range, b: range) -> list[range]:
    """The parts of ``a`` not in ``b``, in address order (Asterinas ``util::ops::range_difference``)."""
    if a.start >= a.stop:
        return []
    if b.start >= b.stop or b.stop <= a.start or b.start >= a.stop:
        return [a]
    parts = [range(a.start, min(a.stop, b.start)), range(max(a.start, b.stop), a.stop)]
    return [p for p in parts if p.start < p.stop]


def _longer(candidate: range, best: range) -> bool:
    # len() of a range overflows above 2**63; compare lengths by subtraction.
    return candidate.stop - candidate.start > best.stop - best.start


class EarlyFrameAllocator:
    """Seed 004's bump allocator over the largest usable region below and above ``high_boundary``."""

    def __init__(self, regions: Iterable[MemoryRegion], *, high_boundary: int = PADDR_4G) -> None:
        if high_boundary <= 0 or high_boundary % PAGE_SIZE:
            raise UsageError(f"high_boundary {high_boundary:#x} must be a positive multiple of PAGE_SIZE")
        under = range(0, 0)
        above = range(0, 0)
        for region in regions:
            if region.typ is not MemoryRegionType.USABLE:
                continue
            if region.base < high_boundary:
                candidate = range(region.base, min(region.end, high_boundary))
                if _longer(candidate, under):
                    under = candidate
            if region.end >= high_boundary:
                candidate = range(max(region.base, high_boundary), region.end)
                if _longer(candidate, above):
                    above = candidate
        #: largest usable range below the boundary
        self.under_range = under
        #: largest usable range above the boundary (empty if none)
        self.above_range = above
        self._under_end = under.start
        self._above_end = above.start

    def alloc(self, layout: Layout) -> int | None:
        """Bump-allocate ``layout`` from below the boundary first, then above; None when full."""
        if layout.align <= 0 or layout.align & (layout.align - 1):
            raise UsageError(f"early alloc: alignment {layout.align:#x} is not a power of two")
        if layout.size < 0:
            raise UsageError(f"early alloc: negative size {layout.size}")
        size = align_up(layout.size, PAGE_SIZE)
        align = max(layout.align, PAGE_SIZE)
        start = align_up(self._under_end, align)
        if start + size <= self.under_range.stop:
            self._under_end = start + size
            return start
        start = align_up(self._above_end, align)
        if start + size <= self.above_range.stop:
            self._above_end = start + size
            return start
        return None

    def allocated_regions(self) -> tuple[range, range]:
        """The two bump-allocated prefixes (below, above)."""
        return range(self.under_range.start, self._under_end), range(self.above_range.start, self._above_end)


def init(regions: Sequence[MemoryRegion], early: EarlyFrameAllocator,
         allocator: GlobalFrameAllocator) -> list[range]:
    """Add every usable region minus the early-allocated ranges to ``allocator``; return what was added."""
    below, above = early.allocated_regions()
    added: list[range] = []
    for region in regions:
        if region.typ is not MemoryRegionType.USABLE:
            continue
        for r1 in range_difference(region.span, below):
            for r2 in range_difference(r1, above):
                allocator.add_free_memory(r2.start, r2.stop - r2.start)
                added.append(r2)
    return added
