"""Plain-value snapshots of allocator state: the one bridge from ``impl`` to ``model``.

Data flows one way: ``impl`` (runs) -> :class:`AllocatorSnapshot` (plain
values, this module) -> ``model`` (z3 terms) -> verdict.  Neither side imports
the other; both import this module.  It also holds the layout constants both
sides must agree on (the seeds' ``PAGE_SIZE``, refcount sentinels, flag bits),
and the payload digest (the fill byte, the zero-page and fill-page digests), so each
has exactly one definition.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

#: bytes per physical frame (seed 004: ``mm::PAGE_SIZE``)
PAGE_SIZE = 4096
#: bytes per MetaSlot (seed 001: "a dedicated 64-byte MetaSlot")
FRAME_META_SIZE = 64

U64_MAX = (1 << 64) - 1


def order_for(nframes: int) -> int:
    """The smallest buddy order whose blocks hold ``nframes`` frames."""
    return max(0, (nframes - 1).bit_length())


def aligned_blocks(start: int, end: int, max_order: int) -> Iterator[tuple[int, int]]:
    """Split frames ``[start, end)`` into maximal naturally aligned blocks ``(first, order)``: how seed 000's
    buddy adds, frees and gives back the tail of a range."""
    while start < end:
        order = min(max_order, (end - start).bit_length() - 1)
        if start:
            order = min(order, (start & -start).bit_length() - 1)
        yield start, order
        start += 1 << order
#: refcount of a frame in the buddy free list (seed 001: ``REFCOUNT_UNUSED``)
REFCOUNT_UNUSED = U64_MAX
#: refcount of a frame held by a unique (non-shared) handle (Asterinas ``REF_COUNT_UNIQUE``)
REFCOUNT_UNIQUE = U64_MAX - 1
#: largest legal shared refcount; an increment past it aborts (Asterinas ``REF_COUNT_MAX``)
REFCOUNT_MAX = (1 << 63) - 1
#: refcount while a frame is claimed but not yet published, or being torn down
REFCOUNT_BUSY = 0

#: purpose codes stored in ``MetaSlot.purpose`` (seed 000: ``FramePurpose``)
PURPOSE_NONE = 0
PURPOSE_GENERAL = 1
PURPOSE_PAGE_TABLE = 2
PURPOSE_DMA = 3

#: ``frame_flags::POISONED`` (seed 001: logical flag space)
FLAG_POISONED = 1 << 0
#: ``meta_guard::POISONED`` (seed 001: dedicated guard-bit space)
GUARD_POISONED = 1 << 0


@dataclass(frozen=True, slots=True)
class FrameSnapshot:
    """One frame's MetaSlot fields and a digest of its payload."""

    #: ``MetaSlot.refcount``
    refcount: int
    #: ``MetaSlot.purpose`` (a ``PURPOSE_*`` code)
    purpose: int
    #: ``MetaSlot.flags`` (``FLAG_*`` bits)
    flags: int
    #: ``MetaSlot.guard`` (``GUARD_*`` bits)
    guard: int
    #: ``MetaSlot.generation``
    generation: int
    #: True when all 4096 payload bytes are zero
    payload_zero: bool
    #: :func:`page_digest` of the payload, to detect any write to it between snapshots
    payload_crc: int


@dataclass(frozen=True, slots=True)
class AllocatorSnapshot:
    """The whole buddy + MetaSlot allocator, as plain values; frame numbers are ``paddr // PAGE_SIZE``."""

    #: frames of simulated physical memory
    nframes: int
    #: highest buddy order (blocks of ``2**max_order`` frames)
    max_order: int
    #: one entry per frame, indexed by frame number
    frames: tuple[FrameSnapshot, ...]
    #: free blocks in the global pool as ``(first_frame, order)``, sorted
    free_blocks: tuple[tuple[int, int], ...]
    #: per-CPU order-0 caches, CPU by CPU, each bottom-to-top of its LIFO
    cached: tuple[tuple[int, ...], ...]
    #: ranges handed out by ``alloc`` and not yet returned, as ``(first_frame, nframes)``, sorted
    allocated: tuple[tuple[int, int], ...]
    #: ranges given to ``add_free_memory``, as ``(first_frame, nframes)``, sorted
    added: tuple[tuple[int, int], ...]


def page_digest(page: bytes | memoryview) -> int:
    """The payload digest of one frame's bytes (``zlib.crc32``, as a kernel's recorder logs it)."""
    return zlib.crc32(page)


def fill_digest(byte: int) -> int:
    """The payload digest of a frame whose every byte is ``byte``."""
    return page_digest(bytes([byte]) * PAGE_SIZE)


#: byte every payload holds at boot (stale garbage); the one non-zero payload of enumerated and restored states
PAYLOAD_FILL = 0xA5
#: digest of an all-zero payload: what zeroing a frame leaves behind
ZERO_DIGEST = fill_digest(0)
#: digest of the boot fill page (every byte ``PAYLOAD_FILL``)
FILL_DIGEST = fill_digest(PAYLOAD_FILL)
