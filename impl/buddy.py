"""The buddy frame allocator: a global pool behind a SpinLock plus per-CPU order-0 caches.

Design.  This is the ``GlobalFrameAllocator`` of seed 002, shaped like the
Asterinas ``frame-allocator`` crate:

* the global pool keeps one free list per order ``0..max_order``; a list is an
  intrusive doubly-linked list whose nodes are the ``FreeListLink`` of each
  free block's first ``MetaSlot`` (never the frame's bytes).  Lists and links
  are touched only while ``pool.lock`` is held;
* each CPU has an order-0 LIFO cache that it alone touches (in the kernel:
  CPU-local storage with IRQs off), refilled from and flushed to the pool in
  batches of half its capacity, as Asterinas' ``CacheArray`` does;
* freeing merges a block only with its true buddy (``frame ^ 2**order``), and
  only when both lie in the same ``add_free_memory`` range.  Asterinas merges
  any free buddy; we keep blocks inside one added range so a free block never
  spans two ranges the contract treats separately (seed 002 leaves this open);
* allocation is deterministic: the smallest order that fits, and within it
  the lowest-address block;
* a frame whose guard is POISONED is *retired* when it comes back through
  ``dealloc``: it goes to no free list or cache, so it is never handed out
  again (seed 001).  Poison is for frames in use (a memory error found by
  their owner); poisoning a frame that is already free is not checked.

Contract checking (seed 002: "a dealloc or add that overlaps free or added
memory") uses *ghost* bookkeeping: a per-frame state and the lists of added
and allocated ranges.  It is checker state, not kernel state, so it is plain
Python; it changes in the same step (no scheduling point in between) as the
structure it mirrors, so a snapshot taken at any scheduling point is
consistent: free + cached + allocated + reserved + retired = all frames,
where retired frames are exactly the poisoned ones that came back.  The
cache paths update it without the pool lock; that is sound for an explorer
because, in correct use, concurrent updates touch different frames and the
ghost state is a set (its snapshot is sorted), so they commute.
"""

from __future__ import annotations

import enum
from typing import Protocol

from framemc.errors import UsageError
from framemc.impl.eventlog import emit
from framemc.sync import SpinLock, current_cpu
from framemc.impl.errors import (
    DoubleFree,
    InvalidLayout,
    MisalignedAddress,
    NotAddedMemory,
    OverlapsAddedMemory,
    OverlapsFreeMemory,
    ZeroSize,
)
from framemc.impl.machine import Layout, PhysMemory
from framemc.impl.meta import MetaArray, check_frame_range
from framemc.snapshot import PAGE_SIZE, U64_MAX, aligned_blocks, order_for

__all__ = [
    "Layout",
    "GlobalFrameAllocator",
    "FrameState",
    "BuddyFrameAllocator",
    "aligned_blocks",
    "order_for",
]

_LINK_NONE = U64_MAX


class GlobalFrameAllocator(Protocol):
    """Seed 002's ``GlobalFrameAllocator`` trait."""

    def alloc(self, layout: Layout) -> int | None:
        """Allocate a contiguous range of frames; None when none fits."""

    def dealloc(self, addr: int, size: int) -> None:
        """Return a range that ``alloc`` handed out, in any pieces and any order."""

    def add_free_memory(self, addr: int, size: int) -> None:
        """Give the allocator a range it has never seen."""


class FrameState(enum.IntEnum):
    """Ghost state of one frame, as the contract sees it."""

    RESERVED = 0
    FREE = 1
    ALLOCATED = 2
    RETIRED = 3
    #: a dealloc has passed its contract check and is putting the frame back; still allocated to
    #: every view until it is on a free list, but a racing dealloc of it is a double free
    RETURNING = 4


class BuddyFrameAllocator:
    """Buddy allocator over a ``PhysMemory`` and its ``MetaArray``, implementing seed 002's contract."""

    def __init__(self, memory: PhysMemory, meta: MetaArray, *, ncpus: int, max_order: int,
                 cache_capacity: int, bugs: frozenset[str]) -> None:
        if len(meta) != memory.nframes:
            raise UsageError(f"metadata array has {len(meta)} slots for {memory.nframes} frames")
        if ncpus <= 0:
            raise UsageError(f"need at least one CPU, got {ncpus}")
        if not 0 <= max_order <= 20:
            raise UsageError(f"max_order must be in 0..20, got {max_order}")
        if cache_capacity < 0:
            raise UsageError(f"cache_capacity must be >= 0, got {cache_capacity}")
        self._memory = memory
        self._slots = meta.slots
        self._meta = meta
        self._nframes = memory.nframes
        #: highest order of the free lists
        self.max_order = max_order
        #: capacity of each per-CPU order-0 cache (0 disables the caches)
        self.cache_capacity = cache_capacity
        self._batch = max(1, cache_capacity // 2)
        self._bugs = bugs
        #: the global pool's lock; it also protects every ``FreeListLink``
        self.lock = SpinLock(name="pool.lock")
        self._heads: list[int | None] = [None] * (max_order + 1)
        self._caches: list[list[int]] = [[] for _ in range(ncpus)]
        # Ghost bookkeeping (see the module docstring).
        self._state = bytearray(self._nframes)
        self._region = [-1] * self._nframes
        self._added: list[tuple[int, int]] = []
        self._allocated: list[tuple[int, int]] = []

    # ----------------------------------------------------------------- contract API

    def alloc(self, layout: Layout) -> int | None:
        """Allocate ``layout.size`` bytes of contiguous frames; None when no block fits."""
        nframes = self._check_layout(layout)
        if nframes == 1 and layout.align <= PAGE_SIZE and self.cache_capacity:
            return self._alloc_from_cache(self._cpu())
        return self._alloc_from_pool(nframes, layout.align)

    def dealloc(self, addr: int, size: int) -> None:
        """Return ``[addr, addr+size)``; it must be allocated and not yet returned (seed 002)."""
        frames = check_frame_range("dealloc", addr, size, self._nframes)
        to_cache = len(frames) == 1 and self.cache_capacity > 0
        if to_cache and "cache-ignores-poison" in self._bugs:
            poisoned: list[int] = []
        else:
            poisoned = self._poisoned(frames)
        if to_cache and not poisoned:
            with self.lock:
                self._check_dealloc(addr, size, frames)
            self._dealloc_to_cache(self._cpu(), frames.start)
            return
        with self.lock:
            self._check_dealloc(addr, size, frames)
            start = frames.start
            for stop in [*poisoned, frames.stop]:
                for first, order in aligned_blocks(start, stop, self.max_order):
                    self._free_block(first, order)
                if stop < frames.stop:
                    emit("retire_poisoned", f=stop)
                start = stop + 1
            self._release(frames, poisoned)
            # the public operations are logged where they take effect, before the lock is released
            emit("dealloc", addr=addr, size=size)

    def add_free_memory(self, addr: int, size: int) -> None:
        """Add ``[addr, addr+size)``, which must not overlap memory added before (seed 002)."""
        frames = check_frame_range("add_free_memory", addr, size, self._nframes)
        with self.lock:
            # checked under the lock, so two racing adds of overlapping ranges cannot both pass
            for f in frames:
                if self._region[f] >= 0:
                    raise OverlapsAddedMemory("add_free_memory", addr, size, f"frame {f:#x} was added before")
            region = len(self._added)
            self._added.append((frames.start, len(frames)))
            for f in frames:
                self._region[f] = region
                self._state[f] = FrameState.FREE
            for first, order in aligned_blocks(frames.start, frames.stop, self.max_order):
                self._free_block(first, order, how="add_block", pool=frames.start)
            emit("add_free_memory", addr=addr, size=size)

    # ----------------------------------------------------------------- views (no scheduling points)

    def free_blocks(self) -> tuple[tuple[int, int], ...]:
        """Blocks on the pool's free lists as sorted ``(first_frame, order)``."""
        blocks = []
        for order in range(self.max_order + 1):
            blocks.extend((f, order) for f in self._walk(order))
        return tuple(sorted(blocks))

    def cached(self) -> tuple[tuple[int, ...], ...]:
        """Per-CPU caches, each bottom-to-top of its LIFO."""
        return tuple(tuple(c) for c in self._caches)

    def allocated(self) -> tuple[tuple[int, int], ...]:
        """Ranges handed out and not yet returned, sorted."""
        return tuple(sorted(self._allocated))

    def added(self) -> tuple[tuple[int, int], ...]:
        """Ranges given to ``add_free_memory``, sorted."""
        return tuple(sorted(self._added))

    def frame_state(self, frame: int) -> FrameState:
        """The ghost contract state of ``frame``."""
        return FrameState(self._state[frame])

    # ----------------------------------------------------------------- checks

    def _cpu(self) -> int:
        cpu = current_cpu()
        if not 0 <= cpu < len(self._caches):
            raise UsageError(f"running on CPU {cpu} but the system has {len(self._caches)} CPUs")
        return cpu

    def _check_layout(self, layout: Layout) -> int:
        if not isinstance(layout, Layout):
            raise UsageError(f"alloc expects a Layout, got {layout!r}")
        if layout.size <= 0:
            raise ZeroSize("alloc", None, layout.size)
        if layout.size % PAGE_SIZE:
            raise MisalignedAddress("alloc", None, layout.size)
        if layout.align <= 0 or layout.align & (layout.align - 1):
            raise InvalidLayout("alloc", None, layout.size, f"align {layout.align:#x}")
        return layout.size // PAGE_SIZE

    def _check_dealloc(self, addr: int, size: int, frames: range) -> None:
        """The seed 002 contract of a dealloc, checked with the pool lock held."""
        if "unchecked-overlapping-dealloc" in self._bugs:
            return
        states = [self._state[f] for f in frames]
        for f, state in zip(frames, states):
            if state == FrameState.RESERVED:
                raise NotAddedMemory("dealloc", addr, size, f"frame {f:#x}")
        returned = [f for f, s in zip(frames, states)
                    if s in (FrameState.FREE, FrameState.RETIRED, FrameState.RETURNING)]
        if len(returned) == len(frames):
            raise DoubleFree("dealloc", addr, size)
        if returned:
            raise OverlapsFreeMemory("dealloc", addr, size, f"frame {returned[0]:#x} is free")
        # Claim the frames for this dealloc together with the check, under the pool lock: checking
        # outside it let two racing deallocs of one frame both pass, which the explorer found.
        for f in frames:
            self._state[f] = FrameState.RETURNING

    # ----------------------------------------------------------------- per-CPU cache

    def _poisoned(self, frames: range) -> list[int]:
        """The frames of ``frames`` whose POISONED guard bit is set, in address order."""
        if len(frames) == 1:
            found = self._meta.block_phys_has_poison_guard(frames.start * PAGE_SIZE, 0)
            return [frames.start] if found else []
        return [f for f in frames if self._slots[f].is_guard_poisoned()]

    def _alloc_from_cache(self, cpu: int) -> int | None:
        cache = self._caches[cpu]
        if not cache:
            self._refill(cpu)
        if not cache:
            emit("alloc", addr=None, size=PAGE_SIZE)
            return None
        top = cache.pop()
        emit("cache_alloc", frame=top)
        emit("alloc", addr=top * PAGE_SIZE, size=PAGE_SIZE)
        self._mark_allocated(top, 1)
        return top * PAGE_SIZE

    def _dealloc_to_cache(self, cpu: int, frame: int) -> None:
        cache = self._caches[cpu]
        if len(cache) >= self.cache_capacity:
            self._flush(cpu)
        cache.append(frame)
        emit("cache_free", frame=frame)
        emit("dealloc", addr=frame * PAGE_SIZE, size=PAGE_SIZE)
        self._release(range(frame, frame + 1), [])

    def _refill(self, cpu: int) -> None:
        cache = self._caches[cpu]
        with self.lock:
            for _ in range(self._batch):
                frame = self._take_block(0, then="cache_refill")
                if frame is None:
                    break
                # Refilled frames go under the LIFO top so the lowest address is handed out first.
                cache.insert(0, frame)

    def _flush(self, cpu: int) -> None:
        cache = self._caches[cpu]
        with self.lock:
            # The coldest frames (bottom of the LIFO) go back; the hot top stays.
            for _ in range(min(self._batch, len(cache))):
                self._free_block(cache.pop(0), 0, how="cache_flush")

    # ----------------------------------------------------------------- global pool (lock held)

    def _alloc_from_pool(self, nframes: int, align: int) -> int | None:
        order = max(order_for(nframes), order_for(max(1, align // PAGE_SIZE)))
        if order > self.max_order:
            emit("alloc", addr=None, size=nframes * PAGE_SIZE)
            return None
        with self.lock:
            first = self._take_block(order)
            if first is None:
                emit("alloc", addr=None, size=nframes * PAGE_SIZE)
                return None
            # As in Asterinas, the tail beyond the request goes straight back to the pool.
            for tail, tail_order in aligned_blocks(first + nframes, first + (1 << order), self.max_order):
                self._free_block(tail, tail_order)
            self._mark_allocated(first, nframes)
            emit("alloc", addr=first * PAGE_SIZE, size=nframes * PAGE_SIZE)
        return first * PAGE_SIZE

    def _take_block(self, order: int, then: str = "alloc_block") -> int | None:
        """Unlink the lowest suitable block and split it down to ``order``; the lock is held.

        Logged as the model's steps: one ``split`` per halving, then ``then`` (the block handed out).
        """
        found = self._lowest_block(order)
        if found is None:
            return None
        first, block_order = found
        self._unlink(first)
        while block_order > order:
            block_order -= 1
            self._insert(first + (1 << block_order), block_order)
            emit("split", head=first)
        if then == "cache_refill":
            emit("cache_refill", frame=first)
        else:
            emit(then, head=first, order=order)
        return first

    def _lowest_block(self, order: int) -> tuple[int, int] | None:
        for k in range(order, self.max_order + 1):
            heads = self._walk(k)
            if heads:
                return min(heads), k
        return None

    def _walk(self, order: int) -> list[int]:
        # Bounded by nframes so a list corrupted by a planted bug cannot loop forever.
        out: list[int] = []
        f = self._heads[order]
        while f is not None and len(out) <= self._nframes:
            out.append(f)
            f = self._slots[f].link.next
        return out

    def _free_block(self, first: int, order: int, how: str = "free_block", pool: int | None = None) -> None:
        """Insert a free block, merging it with free buddies; the lock is held.

        Logged as the model's steps: ``how`` (a free, a block of ``add_free_memory`` in ``pool``, a cache
        flush), one ``merge`` per order merged, then ``merge_stop``.
        """
        if how == "add_block":
            emit("add_block", pool=pool, head=first, order=order)
        elif how == "cache_flush":
            emit("cache_flush", frame=first)
        else:
            emit("free_block", head=first, order=order)
        insert_first = "insert-before-merge" in self._bugs
        if insert_first:
            self._insert(first, order)
        block, start_order = first, order
        while order < self.max_order:
            partner = self._merge_partner(block, order)
            if partner is None:
                break
            self._unlink(partner)
            emit("merge", head=block)
            block = min(block, partner)
            order += 1
        if not insert_first or order != start_order:
            self._insert(block, order)
        emit("merge_stop", head=block)

    def _merge_partner(self, block: int, order: int) -> int | None:
        """The free block of ``order`` that ``block`` merges with, or None."""
        buddy = block ^ (1 << order)
        if self._is_free_head(buddy, order) and self._region[buddy] == self._region[block]:
            return buddy
        if "merge-non-buddy" not in self._bugs:
            return None
        if self._is_free_head(buddy, order):
            return buddy
        neighbour = block - (1 << order) if buddy > block else block + (1 << order)
        return neighbour if self._is_free_head(neighbour, order) else None

    def _is_free_head(self, frame: int, order: int) -> bool:
        return 0 <= frame < self._nframes and self._slots[frame].link.order == order

    def _insert(self, frame: int, order: int) -> None:
        link = self._slots[frame].link
        head = self._heads[order]
        link.next = head
        link.prev = None
        link.order = order
        if head is not None:
            self._slots[head].link.prev = frame
        self._heads[order] = frame
        if "link-in-payload" in self._bugs:
            self._write_link_into_payload(frame)

    def _write_link_into_payload(self, frame: int) -> None:
        link = self._slots[frame].link
        words = [_LINK_NONE if f is None else f * PAGE_SIZE for f in (link.next, link.prev)]
        self._memory.write(frame * PAGE_SIZE, b"".join(w.to_bytes(8, "little") for w in words))
        emit("payload_write", frame=frame, data=self._memory.frame_crc(frame))

    def _unlink(self, frame: int) -> None:
        link = self._slots[frame].link
        if link.prev is None:
            if link.order is not None and self._heads[link.order] == frame:
                self._heads[link.order] = link.next
        else:
            self._slots[link.prev].link.next = link.next
        if link.next is not None:
            self._slots[link.next].link.prev = link.prev
        link.next = link.prev = link.order = None

    # ----------------------------------------------------------------- ghost bookkeeping

    def _mark_allocated(self, first: int, nframes: int) -> None:
        for f in range(first, first + nframes):
            self._state[f] = FrameState.ALLOCATED
        self._allocated.append((first, nframes))

    def _release(self, frames: range, retired: list[int]) -> None:
        """Ghost side of a dealloc: ``frames`` leave ``allocated``; ``retired`` ones are poisoned, the rest free."""
        pending = set(frames)
        kept: list[tuple[int, int]] = []
        for first, n in sorted(self._allocated):
            piece_start = first
            for f in range(first, first + n):
                if f in pending:
                    pending.discard(f)
                    if f > piece_start:
                        kept.append((piece_start, f - piece_start))
                    piece_start = f + 1
            if piece_start < first + n:
                kept.append((piece_start, first + n - piece_start))
        self._allocated = kept
        for f in frames:
            self._state[f] = FrameState.FREE
        for f in retired:
            self._state[f] = FrameState.RETIRED
