"""Per-frame metadata: the 64-byte ``MetaSlot`` array of seed 001, and the frame vtables.

Design: one :class:`MetaSlot` per 4 KiB frame, in its own array
(:class:`MetaArray`), never in the frame's payload bytes.  Every field another
CPU may touch without the pool lock is an :class:`~framemc.sync.Atomic`
named ``meta[i].<field>`` so explorer traces read naturally.  The buddy
:class:`FreeListLink` is plain Python: it is only read or written while the
global pool's ``SpinLock`` is held, which orders every access to it.

The lifecycle steps that give the fields meaning (claim, publish, drop) live
in ``framemc.impl.frame``; this module only offers the slot-local operations
seed 001 names (``note_new_allocation_epoch``, ``mark_poisoned``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from framemc.errors import UsageError
from framemc.sync import Atomic, Ordering
from framemc.impl.errors import AddressOutOfRange, MisalignedAddress, RetryBoundExceeded, ZeroSize
from framemc.snapshot import (
    FLAG_POISONED,
    GUARD_POISONED,
    PAGE_SIZE,
    PURPOSE_NONE,
    REFCOUNT_UNUSED,
)

__all__ = [
    "MAX_CAS_RETRIES",
    "VTABLE_ALIGN",
    "FreeListLink",
    "MetaSlot",
    "MetaArray",
    "FrameMetaVtable",
    "DEFAULT_FRAME_META_VTABLE",
    "VtableRegistry",
    "init_metadata_array",
    "check_frame_range",
    "fetch_or",
]

#: attempts a CAS retry loop makes before giving up with ``RetryBoundExceeded``
MAX_CAS_RETRIES = 64
#: alignment a registered vtable's bits must have; other bits fall back to the default (seed 001)
VTABLE_ALIGN = 8
# Registered vtables get bits VTABLE_BASE, VTABLE_BASE + VTABLE_STRIDE, ...: aligned, non-zero,
# and far from small integers so a stray value is unlikely to name one.
_VTABLE_BASE = 0xFFFF_8000_0000_0000
_VTABLE_STRIDE = 0x40


def check_frame_range(operation: str, addr: int, size: int, nframes: int) -> range:
    """The frame numbers of ``[addr, addr+size)``, or a ``ContractError`` if it is not whole in-range frames."""
    for value in (addr, size):
        if not isinstance(value, int) or isinstance(value, bool):
            raise UsageError(f"{operation}: addresses and sizes must be ints, got {value!r}")
    if addr % PAGE_SIZE or size % PAGE_SIZE:
        raise MisalignedAddress(operation, addr, size)
    if size == 0:
        raise ZeroSize(operation, addr, size)
    if addr < 0 or size < 0 or addr + size > nframes * PAGE_SIZE:
        raise AddressOutOfRange(operation, addr, size, f"RAM is [0x0, {nframes * PAGE_SIZE:#x})")
    return range(addr // PAGE_SIZE, (addr + size) // PAGE_SIZE)


def fetch_or(atomic: Atomic, bits: int, order: Ordering) -> int:
    """``fetch_or`` built from a bounded CAS loop (the atomics layer has no native one)."""
    old = atomic.load(Ordering.RELAXED)
    for _ in range(MAX_CAS_RETRIES):
        ok, seen = atomic.compare_exchange(old, old | bits, order, Ordering.RELAXED)
        if ok:
            return old
        old = seen
    raise RetryBoundExceeded(f"{atomic.name}: fetch_or gave up after {MAX_CAS_RETRIES} failed CAS attempts")


@dataclass(frozen=True, slots=True)
class FrameMetaVtable:
    """Frame-type hooks (seed 001 ``FrameMetaVtable``): called with the frame's paddr."""

    #: a label for traces and tests
    name: str
    #: called on the last refcount drop, before the frame goes back to the allocator
    on_last_ref: Callable[[int], None] | None = field(default=None, compare=False)
    #: called when the frame is unmapped (``invoke_vtable_on_unmap``)
    on_unmap: Callable[[int], None] | None = field(default=None, compare=False)


#: the vtable used when ``MetaSlot.vtable`` is 0 or does not name a registered vtable
DEFAULT_FRAME_META_VTABLE = FrameMetaVtable("default")


class VtableRegistry:
    """Maps vtable bits (the simulated ``&'static FrameMetaVtable`` pointers) to vtables."""

    def __init__(self) -> None:
        self._by_bits: dict[int, FrameMetaVtable] = {}

    def register(self, vtable: FrameMetaVtable) -> int:
        """Register ``vtable`` and return its (aligned, non-zero) bits; registering twice returns the same bits."""
        for bits, known in sorted(self._by_bits.items()):
            if known is vtable:
                return bits
        bits = _VTABLE_BASE + len(self._by_bits) * _VTABLE_STRIDE
        self._by_bits[bits] = vtable
        return bits

    def try_vtable_ref(self, bits: int) -> FrameMetaVtable | None:
        """The vtable ``bits`` names, the default for 0, or None for unaligned/unregistered bits.

        Seed 001 sends both 0 and invalid bits to the default; ``try_`` keeps
        the two apart so callers can tell a bad pointer from "no vtable".
        """
        if bits == 0:
            return DEFAULT_FRAME_META_VTABLE
        if bits % VTABLE_ALIGN:
            return None
        return self._by_bits.get(bits)

    def vtable_ref(self, bits: int) -> FrameMetaVtable:
        """The vtable ``bits`` names; 0, unaligned or invalid bits fall back to the default (no UB)."""
        found = self.try_vtable_ref(bits)
        return DEFAULT_FRAME_META_VTABLE if found is None else found


class FreeListLink:
    """Intrusive buddy free-list node; only touched under the global pool lock."""

    __slots__ = ("next", "prev", "order")

    def __init__(self) -> None:
        #: frame number of the next block head in the same list, or None
        self.next: int | None = None
        #: frame number of the previous block head in the same list, or None
        self.prev: int | None = None
        #: the in-list id: order of the free list this block head is on, or None when on no list
        self.order: int | None = None


class MetaSlot:
    """The 64-byte metadata slot of one physical frame (seed 001 ``MetaSlot``)."""

    __slots__ = ("index", "refcount", "purpose", "flags", "guard", "generation", "vtable", "link")

    def __init__(self, index: int, *, unused: int = REFCOUNT_UNUSED) -> None:
        prefix = f"meta[{index}]"
        #: frame number this slot describes
        self.index = index
        #: UNUSED (in the allocator), 0 (claimed / being dropped), 1..MAX (shared), UNIQUE
        self.refcount = Atomic(unused, name=f"{prefix}.refcount")
        #: ``PURPOSE_*`` code, set with Release when the frame is published
        self.purpose = Atomic(PURPOSE_NONE, bits=8, name=f"{prefix}.purpose")
        #: persistent logical flags (``FLAG_POISONED``)
        self.flags = Atomic(0, bits=32, name=f"{prefix}.flags")
        #: guard bits (``GUARD_POISONED``), a space apart from the flags
        self.guard = Atomic(0, bits=32, name=f"{prefix}.guard")
        #: allocation epoch, bumped only after a successful claim CAS
        self.generation = Atomic(0, name=f"{prefix}.generation")
        #: bits of the frame's ``FrameMetaVtable`` (0: default)
        self.vtable = Atomic(0, name=f"{prefix}.vtable")
        #: buddy free-list node (lock-protected, not atomic)
        self.link = FreeListLink()

    def __repr__(self) -> str:
        return f"MetaSlot({self.index}, refcount={self.refcount.peek():#x})"

    @property
    def paddr(self) -> int:
        """First physical address of the frame."""
        return self.index * PAGE_SIZE

    def note_new_allocation_epoch(self) -> int:
        """Bump the generation (only after a successful claim) and return the new epoch."""
        return self.generation.fetch_add(1, Ordering.RELAXED) + 1

    def set_generation(self, value: int) -> None:
        """Overwrite the generation; for bootstrap and tests only (seed 001)."""
        self.generation.store(value, Ordering.RELAXED)

    def is_guard_poisoned(self) -> bool:
        """True when the POISONED guard bit is set."""
        return bool(self.guard.load(Ordering.ACQUIRE) & GUARD_POISONED)

    def mark_poisoned(self) -> None:
        """Set both the POISONED guard bit and the POISONED flag (seed 001)."""
        fetch_or(self.flags, FLAG_POISONED, Ordering.RELEASE)
        fetch_or(self.guard, GUARD_POISONED, Ordering.RELEASE)


class MetaArray:
    """The metadata array of all frames, with seed 001's lookup and check functions."""

    def __init__(self, nframes: int, *, unused: int = REFCOUNT_UNUSED) -> None:
        #: one slot per frame, indexed by frame number
        self.slots: tuple[MetaSlot, ...] = tuple(MetaSlot(i, unused=unused) for i in range(nframes))

    def __len__(self) -> int:
        return len(self.slots)

    def get_meta_slot(self, paddr: int) -> MetaSlot:
        """The slot of the frame starting at ``paddr`` (seed 001 ``get_meta_slot``)."""
        frames = check_frame_range("get_meta_slot", paddr, PAGE_SIZE, len(self.slots))
        return self.slots[frames.start]

    get_meta = get_meta_slot

    def meta_generation_matches(self, paddr: int, expected: int) -> bool:
        """True if the frame's generation equals ``expected`` (the use-after-free epoch check)."""
        return self.get_meta_slot(paddr).generation.load(Ordering.ACQUIRE) == expected

    def block_phys_has_poison_guard(self, paddr: int, order: int) -> bool:
        """True if any frame of the ``2**order``-frame block at ``paddr`` has its POISONED guard bit."""
        frames = check_frame_range("block_phys_has_poison_guard", paddr, PAGE_SIZE << order, len(self.slots))
        for f in frames:
            if self.slots[f].is_guard_poisoned():
                return True
        return False

    def frame_meta_debug_snapshot(self, paddr: int) -> tuple[int, int, int]:
        """``(generation, guard_bits, vtable_bits)`` for debugging; no scheduling point."""
        slot = self.get_meta_slot(paddr)
        return slot.generation.peek(), slot.guard.peek(), slot.vtable.peek()


def init_metadata_array(nframes: int, *, unused: int = REFCOUNT_UNUSED) -> MetaArray:
    """Create the metadata array for ``nframes`` frames, every refcount at ``unused``."""
    return MetaArray(nframes, unused=unused)
