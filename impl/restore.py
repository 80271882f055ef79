"""Rebuild a live ``FrameSystem`` from an ``AllocatorSnapshot``, with handles for its in-use frames.

Design: the machine is built empty (``add_all=False``), the added ranges go
through the public ``add_free_memory`` (which sets up the contract's ghost
bookkeeping and pools), and then the pool is re-shaped to the snapshot: the
free lists are emptied and refilled with exactly the snapshot's blocks, the
per-CPU caches get its stacks, its allocated ranges are marked, and poisoned
frames outside every list are retired.  The MetaSlot fields are stored
directly, and payloads follow the convention shared with the enumerator:
each frame is either the zero page or the boot fill page (``PAYLOAD_FILL``),
the only payloads a restored frame can match by digest.  The snapshot is
validated first, so a bad one raises a one-line ``UsageError`` and nothing
is built.  Restoring runs outside any explorer thread (in a ``setup``), so
the stores are not scheduling points.

Handles: an allocated frame with a shared refcount ``k`` gets ``k`` fresh
``Frame`` handles; an allocated frame that is busy or UNUSED belongs to an
operation in flight, which a restored system cannot resume, so it gets none.
"""

from __future__ import annotations

from collections.abc import Iterable

from framemc.errors import UsageError
from framemc.sync import Ordering
from framemc.impl.buddy import FrameState
from framemc.impl.frame import Frame
from framemc.impl.system import DEFAULT_CACHE_CAPACITY, FrameSystem
from framemc.snapshot import (
    FILL_DIGEST,
    GUARD_POISONED,
    PAGE_SIZE,
    PAYLOAD_FILL,
    REFCOUNT_MAX,
    REFCOUNT_UNUSED,
    ZERO_DIGEST,
    AllocatorSnapshot,
)

__all__ = ["restore", "MAX_RESTORED_HANDLES"]

#: most handles restore creates for one frame (a refcount beyond it is refused)
MAX_RESTORED_HANDLES = 64
#: highest buddy order the allocator supports
MAX_RESTORED_ORDER = 20


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise UsageError(f"cannot restore snapshot: {message}")


def _frames_of(ranges: Iterable[tuple[int, int]], what: str, nframes: int) -> list[int]:
    out = []
    for first, count in ranges:
        _need(isinstance(first, int) and isinstance(count, int) and count >= 1 and 0 <= first
              and first + count <= nframes, f"{what} range ({first!r}, {count!r}) is not inside {nframes} frames")
        out.extend(range(first, first + count))
    return out


def _places(snap: AllocatorSnapshot, max_order: int) -> dict[int, str]:
    """Each added frame's place (free / cached / allocated); UsageError on overlaps or gaps."""
    n = snap.nframes
    added = set(_frames_of(snap.added, "added", n))
    _need(len(added) == sum(c for _, c in snap.added), "added ranges overlap")
    place: dict[int, str] = {}

    def put(f: int, what: str) -> None:
        _need(f in added, f"{what} frame {f} was never added")
        _need(f not in place, f"frame {f} is both {place.get(f)} and {what}")
        place[f] = what

    for first, order in snap.free_blocks:
        _need(isinstance(order, int) and 0 <= order <= max_order, f"free block order {order!r} is not in 0..{max_order}")
        _need(isinstance(first, int) and first % (1 << order) == 0, f"free block ({first!r}, {order}) is misaligned")
        for f in _frames_of([(first, 1 << order)], "free block", n):
            put(f, "free")
    for cpu, stack in enumerate(snap.cached):
        for f in stack:
            _need(isinstance(f, int) and 0 <= f < n, f"cached frame {f!r} of CPU {cpu} is not a frame")
            put(f, "cached")
    for f in _frames_of(snap.allocated, "allocated", n):
        put(f, "allocated")
    for f in sorted(added - set(place)):
        _need(bool(snap.frames[f].guard & GUARD_POISONED), f"added frame {f} is in no free list, cache or allocation "
                                                "and is not poisoned (only poisoned frames are retired)")
        place[f] = "retired"
    return place


def _validate(snap: AllocatorSnapshot, cache_capacity: int) -> dict[int, str]:
    _need(isinstance(snap, AllocatorSnapshot), f"expected an AllocatorSnapshot, got {type(snap).__name__}")
    _need(isinstance(snap.nframes, int) and snap.nframes >= 1 and len(snap.frames) == snap.nframes,
          f"{len(snap.frames)} frame entries for nframes={snap.nframes!r}")
    _need(isinstance(snap.max_order, int) and 0 <= snap.max_order <= MAX_RESTORED_ORDER,
          f"max_order {snap.max_order!r} is not in 0..{MAX_RESTORED_ORDER}")
    _need(len(snap.cached) >= 1, "a snapshot lists one cache per CPU and this one lists none")
    for cpu, stack in enumerate(snap.cached):
        _need(len(stack) <= cache_capacity, f"CPU {cpu} caches {len(stack)} frames, more than "
                                            f"cache_capacity={cache_capacity}")
    place = _places(snap, snap.max_order)
    for f, fs in enumerate(snap.frames):
        for name, bits in (("refcount", 64), ("purpose", 8), ("flags", 32), ("guard", 32), ("generation", 64)):
            value = getattr(fs, name)
            _need(isinstance(value, int) and 0 <= value < 1 << bits, f"frame {f}: {name} {value!r} does not fit "
                                                                    f"its {bits}-bit MetaSlot field")
        _need(fs.payload_crc == (ZERO_DIGEST if fs.payload_zero else FILL_DIGEST),
              f"frame {f}: payload crc {fs.payload_crc:#x} is neither the zero page nor the fill page "
              f"({PAYLOAD_FILL:#04x} bytes), the only payloads restore can rebuild")
        if place.get(f) == "allocated" and 1 <= fs.refcount <= REFCOUNT_MAX:
            _need(fs.refcount <= MAX_RESTORED_HANDLES,
                  f"frame {f}: refcount {fs.refcount} needs more than {MAX_RESTORED_HANDLES} handles")
        elif place.get(f) in ("free", "cached"):
            _need(fs.refcount == REFCOUNT_UNUSED, f"frame {f} is {place[f]} but its refcount is {fs.refcount:#x}")
    return place


def restore(snap: AllocatorSnapshot, *, cache_capacity: int = DEFAULT_CACHE_CAPACITY,
            bugs: Iterable[str] = frozenset()) -> tuple[FrameSystem, dict[int, tuple[Frame, ...]]]:
    """A fresh system whose ``snapshot()`` equals ``snap``, and the handles of each published in-use frame."""
    if not isinstance(cache_capacity, int) or isinstance(cache_capacity, bool) or cache_capacity < 0:
        raise UsageError(f"cache_capacity must be a non-negative int, got {cache_capacity!r}")
    place = _validate(snap, cache_capacity)
    system = FrameSystem(snap.nframes, ncpus=len(snap.cached), max_order=snap.max_order,
                         cache_capacity=cache_capacity, bugs=bugs, add_all=False, fill=PAYLOAD_FILL)
    for first, count in snap.added:
        system.allocator.add_free_memory(first * PAGE_SIZE, count * PAGE_SIZE)
    _reshape_pool(system, snap, place)
    handles: dict[int, tuple[Frame, ...]] = {}
    for f, fs in enumerate(snap.frames):
        slot = system.meta.slots[f]
        for atomic, value in ((slot.refcount, fs.refcount), (slot.purpose, fs.purpose), (slot.flags, fs.flags),
                              (slot.guard, fs.guard), (slot.generation, fs.generation)):
            atomic.store(value, Ordering.RELAXED)
        if fs.payload_zero:
            system.memory.write_bytes(f * PAGE_SIZE, 0, PAGE_SIZE)
        if place.get(f) == "allocated" and 1 <= fs.refcount <= REFCOUNT_MAX:
            handles[f] = tuple(Frame(system, f * PAGE_SIZE, fs.generation) for _ in range(fs.refcount))
    return system, handles


def _reshape_pool(system: FrameSystem, snap: AllocatorSnapshot, place: dict[int, str]) -> None:
    """Make the buddy pool hold exactly the snapshot's free blocks, caches and allocations.

    The allocator has no public way to take an arbitrary state, so this uses its
    lock-held helpers (``_unlink``, ``_insert``, ``_mark_allocated``) and ghost
    arrays directly; it is the one place outside ``impl.buddy`` that does.
    """
    pool = system.allocator
    for first, _ in pool.free_blocks():
        pool._unlink(first)
    for first, order in snap.free_blocks:
        pool._insert(first, order)
    for cpu, stack in enumerate(snap.cached):
        pool._caches[cpu][:] = list(stack)
    for first, count in snap.allocated:
        pool._mark_allocated(first, count)
    for f, where in sorted(place.items()):
        if where == "retired":
            pool._state[f] = FrameState.RETIRED
