"""``FrameSystem``: one whole simulated machine running the buddy + MetaSlot frame allocator.

Design: the facade owns every piece -- ``PhysMemory`` (payload bytes), the
``MetaArray``, the ``BuddyFrameAllocator`` with its per-CPU caches, the
vtable registry and the refcount ``FrameLifecycle`` -- and wires the bug
knobs into them once, at construction.  Physical addresses are frame number
times ``PAGE_SIZE`` from 0, and RAM backs exactly the frames the system
manages; ``boot`` builds a machine from a region list (regions above 4 GiB
need a scaled-down ``high_boundary`` to stay small, see ``impl.boot``).

``snapshot()`` reads everything with ``peek`` and the payload digests, so it
is a pure observation: no scheduling point, O(nframes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from framemc.errors import UsageError
from framemc.impl import eventlog
from framemc.impl.boot import PADDR_4G, EarlyFrameAllocator, MemoryRegion, init
from framemc.impl.buddy import BuddyFrameAllocator, Layout
from framemc.impl.frame import Frame, FrameAllocOptions, FrameLifecycle, FramePurpose, Segment
from framemc.impl.machine import PhysMemory
from framemc.impl.meta import FrameMetaVtable, MetaArray, MetaSlot, VtableRegistry, init_metadata_array
from framemc.impl.variants import validate_bugs
from framemc.snapshot import PAGE_SIZE, PAYLOAD_FILL, AllocatorSnapshot, FrameSnapshot

__all__ = ["FrameSystem", "DEFAULT_CACHE_CAPACITY", "MAX_SIMULATED_FRAMES", "default_max_order"]

#: per-CPU order-0 cache size; Asterinas uses 12, a smaller cache keeps tiny machines interesting
DEFAULT_CACHE_CAPACITY = 4
#: largest simulated RAM (frames); beyond it, scale the machine down instead
MAX_SIMULATED_FRAMES = 1 << 16


def default_max_order(nframes: int) -> int:
    """The largest order a machine of ``nframes`` frames can use, capped at 10 (4 MiB blocks)."""
    return min(10, max(0, nframes.bit_length() - 1))


class FrameSystem:
    """A simulated machine: RAM, MetaSlots, the buddy allocator and the frame API of seeds 000-004."""

    def __init__(self, nframes: int, *, ncpus: int = 1, max_order: int | None = None,
                 cache_capacity: int = DEFAULT_CACHE_CAPACITY, bugs: Iterable[str] = frozenset(),
                 add_all: bool = True, fill: int = PAYLOAD_FILL) -> None:
        if not isinstance(nframes, int) or isinstance(nframes, bool) or not 0 < nframes <= MAX_SIMULATED_FRAMES:
            raise UsageError(f"nframes must be an int in 1..{MAX_SIMULATED_FRAMES}, got {nframes!r}")
        #: the planted-bug variants switched on (empty: the correct code)
        self.bugs = validate_bugs(bugs)
        #: the machine's CPUs (explored threads must be fewer)
        self.ncpus = ncpus
        #: payload bytes of every frame
        self.memory = PhysMemory(nframes, fill=fill)
        #: vtable bits -> FrameMetaVtable
        self.vtables = VtableRegistry()
        #: the refcount protocol, with this system's bug knobs
        self.lifecycle = FrameLifecycle(self, self.bugs)
        #: the MetaSlot array
        self.meta: MetaArray = init_metadata_array(nframes, unused=self.lifecycle.unused)
        #: the global frame allocator (seed 002 contract)
        self.allocator = BuddyFrameAllocator(
            self.memory, self.meta, ncpus=ncpus,
            max_order=default_max_order(nframes) if max_order is None else max_order,
            cache_capacity=cache_capacity, bugs=self.bugs)
        #: addresses handed out by the early allocator during ``boot`` (never added)
        self.early_allocations: tuple[int | None, ...] = ()
        eventlog.describe(nframes=nframes, ncpus=ncpus, max_order=self.allocator.max_order, payload_fill=fill,
                          caches=cache_capacity > 0)
        if add_all:
            self.allocator.add_free_memory(0, nframes * PAGE_SIZE)

    def __repr__(self) -> str:
        bugs = f", bugs={sorted(self.bugs)}" if self.bugs else ""
        return f"FrameSystem(nframes={self.nframes}, ncpus={self.ncpus}{bugs})"

    @classmethod
    def boot(cls, regions: Sequence[MemoryRegion], *, early_layouts: Sequence[Layout] = (),
             high_boundary: int = PADDR_4G, **options: object) -> "FrameSystem":
        """Build a machine from boot regions: early-allocate ``early_layouts``, then ``init()``."""
        if not regions:
            raise UsageError("boot needs at least one memory region")
        ram_end = max(r.end for r in regions)
        if ram_end > MAX_SIMULATED_FRAMES * PAGE_SIZE:
            raise UsageError(f"regions reach {ram_end:#x}, beyond the {MAX_SIMULATED_FRAMES}-frame simulated RAM; "
                             "scale the machine down (e.g. a smaller high_boundary)")
        early = EarlyFrameAllocator(regions, high_boundary=high_boundary)
        early_allocations = tuple(early.alloc(layout) for layout in early_layouts)
        system = cls(ram_end // PAGE_SIZE, add_all=False, **options)  # type: ignore[arg-type]
        system.early_allocations = early_allocations
        init(regions, early, system.allocator)
        return system

    @property
    def nframes(self) -> int:
        """Frames of simulated RAM."""
        return self.memory.nframes

    # ----------------------------------------------------------------- frame API

    def options(self) -> FrameAllocOptions:
        """Fresh ``FrameAllocOptions`` (zeroed, general purpose)."""
        return FrameAllocOptions(self)

    def alloc_frame(self, purpose: FramePurpose = FramePurpose.GENERAL, *, zeroed: bool = True) -> Frame:
        """Shorthand for ``options().purpose(purpose).zeroed(zeroed).alloc_frame()``."""
        return self.options().purpose(purpose).zeroed(zeroed).alloc_frame()

    def alloc_segment(self, nframes: int, purpose: FramePurpose = FramePurpose.GENERAL, *,
                      zeroed: bool = True) -> Segment:
        """Shorthand for ``options().purpose(purpose).zeroed(zeroed).alloc_segment(nframes)``."""
        return self.options().purpose(purpose).zeroed(zeroed).alloc_segment(nframes)

    def from_unused(self, paddr: int, purpose: FramePurpose = FramePurpose.GENERAL) -> Frame:
        """``Frame::from_unused``: claim and publish a frame taken from the allocator."""
        return Frame.from_unused(self, paddr, purpose)

    def from_in_use(self, paddr: int) -> Frame:
        """``Frame::from_in_use``: another reference to an in-use frame."""
        return Frame.from_in_use(self, paddr)

    def register_vtable(self, vtable: FrameMetaVtable) -> int:
        """Register a vtable and return its bits."""
        return self.vtables.register(vtable)

    # ----------------------------------------------------------------- seed 001 helpers

    def get_meta_slot(self, paddr: int) -> MetaSlot:
        """The MetaSlot of the frame at ``paddr``."""
        return self.meta.get_meta_slot(paddr)

    def meta_generation_matches(self, paddr: int, expected: int) -> bool:
        """The use-after-free epoch check."""
        return self.meta.meta_generation_matches(paddr, expected)

    def block_phys_has_poison_guard(self, paddr: int, order: int) -> bool:
        """True if any frame of the block has its POISONED guard bit."""
        return self.meta.block_phys_has_poison_guard(paddr, order)

    def frame_meta_debug_snapshot(self, paddr: int) -> tuple[int, int, int]:
        """``(generation, guard_bits, vtable_bits)`` of the frame at ``paddr``."""
        return self.meta.frame_meta_debug_snapshot(paddr)

    # ----------------------------------------------------------------- observation

    def snapshot(self) -> AllocatorSnapshot:
        """The whole allocator as plain values; no scheduling point."""
        memory = self.memory
        frames = tuple(
            FrameSnapshot(
                refcount=slot.refcount.peek(),
                purpose=slot.purpose.peek(),
                flags=slot.flags.peek(),
                guard=slot.guard.peek(),
                generation=slot.generation.peek(),
                payload_zero=memory.frame_is_zero(slot.index),
                payload_crc=memory.frame_crc(slot.index),
            )
            for slot in self.meta.slots
        )
        allocator = self.allocator
        return AllocatorSnapshot(
            nframes=self.nframes,
            max_order=allocator.max_order,
            frames=frames,
            free_blocks=allocator.free_blocks(),
            cached=allocator.cached(),
            allocated=allocator.allocated(),
            added=allocator.added(),
        )
