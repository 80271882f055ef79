"""A Theseus-style chunk frame allocator (seed 003) behind the seed-002 contract.

Design, following Theseus's ``frame_allocator`` crate:

* Bookkeeping is four chunk lists: free general chunks, free reserved chunks,
  and the known general and reserved regions.  Each is a 32-slot array until
  :meth:`TheseusFrameAllocator.switch_to_heap`, then an unbounded sorted list
  (:class:`~framemc.impl.theseus_chunks.ChunkList`).
* Allocation peels the wanted frames off a free chunk and returns them with a
  :class:`DeferredAllocAction` holding the leftover pieces; they reach the
  free list only when the action is dropped, after the lock is released (in
  Theseus, to keep heap allocation out of the critical section).
* Handed-out frames are :class:`Frames` objects with a typestate (Allocated ->
  Mapped -> Unmapped -> Allocated).  Every transition, split or merge *moves*
  the object, as in Rust: the old one is consumed.  Dropping returns the
  frames to the free list and is the only place chunks merge (with one
  neighbour, in heap mode).  Dropping a Mapped object is an error.
* ``allocate_frames_at`` may carve a new reserved region out of unknown
  memory (device memory).  It must not overlap general-purpose memory; the
  ``alloc-at-skips-overlap`` variant skips that check (Theseus issue #451).

Every operation runs as a transaction: under the one ``Mutex`` guarding the
lists it copies the books, works on the copy, and publishes it only on
success.  So a rejected call changes nothing, and a snapshot (which reads the
published books without locking) never sees half an operation.  The books
live in a :class:`~framemc.sync.Cell`, so an explorer sees each
access and would flag one made without the lock.
"""

from __future__ import annotations

import enum
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

from framemc.errors import CheckerBug, UsageError
from framemc.sync import Cell, Mutex
from framemc.impl.errors import (
    AddressOutOfRange,
    DoubleFree,
    InvalidLayout,
    MisalignedAddress,
    NotAddedMemory,
    OverlapsAddedMemory,
    OverlapsFreeMemory,
    ZeroSize,
)
from framemc.impl.machine import Layout, Paddr, align_up
from framemc.impl.meta import check_frame_range
from framemc.impl.theseus_chunks import (
    ActionAlreadyPerformed,
    AllocationError,
    AllocFailure,
    AlreadyInitialized,
    ChunkList,
    DropMappedFrames,
    EarlyListFull,
    FrameRange,
    FramesConsumed,
    NotAllocated,
    WrongFramesState,
    contract_error,
    frames_between,
)
from framemc.impl.variants import KNOBS, validate_bugs
from framemc.snapshot import PAGE_SIZE

__all__ = [
    "THESEUS_BUGS",
    "MemoryRegionType",
    "MemoryState",
    "IterAction",
    "AllocateAt",
    "Layout",
    "Frames",
    "SplitFrames",
    "DeferredAllocAction",
    "TheseusSnapshot",
    "TheseusFrameAllocator",
    "FrameRange",
    "NotAllocated",
    "EarlyListFull",
    "AllocationError",
    "AllocFailure",
    "WrongFramesState",
    "DropMappedFrames",
    "FramesConsumed",
    "ActionAlreadyPerformed",
    "AlreadyInitialized",
]

#: the planted-bug variants (of :mod:`framemc.impl.variants`) this allocator honours
THESEUS_BUGS = frozenset(name for name, module in KNOBS.items() if module == __name__)

#: default size of the physical address space, in frames (16 GiB)
DEFAULT_PHYS_FRAMES = 1 << 22


class MemoryRegionType(enum.Enum):
    """Kind of physical memory (Theseus ``MemoryRegionType``)."""

    #: general-purpose memory, handed out by any allocation
    FREE = "free"
    #: memory only handed out when asked for by address (e.g. device memory)
    RESERVED = "reserved"
    #: placeholder kind of an empty object; never valid for real work
    UNKNOWN = "unknown"


class MemoryState(enum.Enum):
    """Typestate of a :class:`Frames` object (Theseus ``MemoryState``)."""

    FREE = "free"
    ALLOCATED = "allocated"
    MAPPED = "mapped"
    UNMAPPED = "unmapped"


class IterAction(enum.Enum):
    """What :meth:`TheseusFrameAllocator.inspect_then_allocate_free_frames` does after a chunk."""

    #: go on to the next free chunk
    NEXT = "next"
    #: stop and allocate nothing
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class AllocateAt:
    """Stop iterating and allocate ``nframes`` frames from frame number ``frame``."""

    #: first frame number to allocate
    frame: int
    #: number of frames
    nframes: int


#: what the inspection callback returns (Theseus ``FramesIteratorRequest``)
FramesIteratorRequest = IterAction | AllocateAt


@dataclass(frozen=True, slots=True)
class _Owned:
    """Bookkeeping for one live, non-free ``Frames`` object."""

    #: its frames
    range: FrameRange
    #: general or reserved memory
    typ: MemoryRegionType
    #: its typestate
    state: MemoryState


@dataclass(frozen=True, slots=True)
class TheseusSnapshot:
    """The allocator's books as plain values; frame ranges are ``(first_frame, nframes)``, sorted."""

    #: True after ``switch_to_heap``
    heap_mode: bool
    #: regions known to be general-purpose memory
    general_regions: tuple[tuple[int, int], ...]
    #: regions known to be reserved memory
    reserved_regions: tuple[tuple[int, int], ...]
    #: free chunks in the general list
    free_general: tuple[tuple[int, int], ...]
    #: free chunks in the reserved list
    free_reserved: tuple[tuple[int, int], ...]
    #: free chunks held by undelivered deferred actions, as ``(first, nframes, region type)``
    pending: tuple[tuple[int, int, str], ...]
    #: live Frames objects as ``(first, nframes, region type, state)``
    allocated: tuple[tuple[int, int, str, str], ...]
    #: the part of ``allocated`` that the contract's ``alloc`` handed out, as ``(first, nframes)``
    held: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class _Books:
    """All mutable allocator state; copied at the start of every transaction."""

    #: free general-purpose chunks
    free_general: ChunkList = field(default_factory=lambda: ChunkList("free general"))
    #: free reserved chunks
    free_reserved: ChunkList = field(default_factory=lambda: ChunkList("free reserved"))
    #: every region of general-purpose memory, allocated or not
    general_regions: ChunkList = field(default_factory=lambda: ChunkList("general regions"))
    #: every region of reserved memory, allocated or not
    reserved_regions: ChunkList = field(default_factory=lambda: ChunkList("reserved regions"))
    #: live non-free Frames objects by identity
    owned: dict[int, _Owned] = field(default_factory=dict)
    #: identities of the ``owned`` chunks handed out through the contract's ``alloc``
    held: set[int] = field(default_factory=set)
    #: undelivered deferred actions: identity -> the free pieces they will insert
    actions: dict[int, tuple[tuple[FrameRange, MemoryRegionType], ...]] = field(default_factory=dict)
    #: next identity to hand out (shared by Frames objects and actions)
    next_ident: int = 1

    def copy(self) -> "_Books":
        """An independent copy (values inside are immutable)."""
        return _Books(self.free_general.copy(), self.free_reserved.copy(), self.general_regions.copy(),
                      self.reserved_regions.copy(), dict(self.owned), set(self.held), dict(self.actions),
                      self.next_ident)

    def all_lists(self) -> tuple[ChunkList, ...]:
        """The four chunk lists."""
        return (self.free_general, self.free_reserved, self.general_regions, self.reserved_regions)

    def free_list(self, typ: MemoryRegionType) -> ChunkList:
        """The free list that chunks of kind ``typ`` return to."""
        if typ is MemoryRegionType.RESERVED:
            return self.free_reserved
        if typ is MemoryRegionType.FREE:
            return self.free_general
        raise CheckerBug(f"a chunk of kind {typ.value} has no free list")

    def new_ident(self) -> int:
        """A fresh identity."""
        ident = self.next_ident
        self.next_ident += 1
        return ident

    def take(self, typ: MemoryRegionType, chosen: list[FrameRange], wanted: FrameRange) -> tuple[int, int]:
        """Remove ``chosen`` (contiguous) chunks, allocate ``wanted`` from them, defer the leftovers."""
        lst = self.free_list(typ)
        whole = frames_between(chosen[0].start, chosen[-1].end)
        pieces = []
        if whole.start < wanted.start:
            pieces.append(frames_between(whole.start, wanted.start))
        if wanted.end < whole.end:
            pieces.append(frames_between(wanted.end, whole.end))
        for c in chosen:
            lst.remove(c)
        # The leftovers are inserted later, outside the lock; promise their slots now so
        # the insertion cannot fail then (Theseus would panic in the action's drop).
        lst.check_room(len(pieces), whole)
        lst.pending += len(pieces)
        ident = self.new_ident()
        self.owned[ident] = _Owned(wanted, typ, MemoryState.ALLOCATED)
        action = self.new_ident()
        self.actions[action] = tuple((p, typ) for p in pieces)
        return ident, action

    def find_any(self, nframes: int, align_frames: int = 1) -> tuple[int, int] | None:
        """Allocate ``nframes`` general frames, first frame a multiple of ``align_frames``."""
        chunks = self.free_general.chunks()
        # Heap mode searches from the top, as Theseus does: allocations peel frames off a
        # chunk's bottom, so the top chunk is the likeliest to still be large.
        if self.free_general.heap_mode:
            chunks.reverse()
        for c in chunks:
            first = align_up(c.start, align_frames)
            if first + nframes <= c.end:
                return self.take(MemoryRegionType.FREE, [c], FrameRange(first, nframes))
        return None

    def find_specific(self, typ: MemoryRegionType, wanted: FrameRange) -> tuple[int, int] | FrameRange | None:
        """Allocate exactly ``wanted`` from the ``typ`` free list.

        Returns the allocation, None when no chunk holds ``wanted.start``, or the
        missing tail when a chunk holds the start but nothing follows it.
        """
        lst = self.free_list(typ)
        chunk = lst.containing(wanted.start)
        if chunk is None:
            return None
        if chunk.covers(wanted):
            return self.take(typ, [chunk], wanted)
        if not lst.heap_mode:
            # The early array only serves requests one chunk covers (as in Theseus).
            return None
        # Heap mode merges with the next chunk when that is what the request needs.
        after = lst.starting_at(chunk.end)
        if after is None:
            return frames_between(chunk.end, wanted.end)
        if after.end >= wanted.end:
            return self.take(typ, [chunk, after], wanted)
        raise AllocationError(AllocFailure.CONTIGUOUS_CHUNK_NOT_FOUND,
                              f"allocate {wanted.describe()}: would need to merge more than two free chunks")

    def find_at(self, wanted: FrameRange, bugs: frozenset[str]) -> tuple[int, int]:
        """Allocate exactly ``wanted``: reserved list, then general list, then a new reserved region."""
        found = self.find_specific(MemoryRegionType.RESERVED, wanted)
        if isinstance(found, tuple):
            return found
        new_region = found
        if new_region is None:
            general = self.find_specific(MemoryRegionType.FREE, wanted)
            if isinstance(general, tuple):
                return general
            if general is not None:
                raise AllocationError(AllocFailure.CONTIGUOUS_CHUNK_NOT_FOUND,
                                      f"allocate {wanted.describe()}: {general.describe()} is not free")
            new_region = wanted
        # New reserved memory must not be general-purpose memory, free *or allocated*
        # (Theseus #451/#456); the planted variant forgets this.
        if "alloc-at-skips-overlap" not in bugs and self.general_regions.overlapping(new_region):
            raise AllocationError(AllocFailure.ADDRESS_NOT_FREE,
                                  f"allocate {wanted.describe()}: {new_region.describe()} overlaps general-purpose memory")
        if self.reserved_regions.overlapping(new_region):
            raise AllocationError(AllocFailure.ADDRESS_NOT_FREE,
                                  f"allocate {wanted.describe()}: {new_region.describe()} is reserved memory in use")
        self.reserved_regions.insert(new_region)
        self.free_reserved.insert(new_region)
        again = self.find_specific(MemoryRegionType.RESERVED, wanted)
        if not isinstance(again, tuple):
            raise CheckerBug(f"allocate {wanted.describe()}: the new reserved region did not serve the request")
        return again

    def deliver(self, action: int) -> None:
        """Perform a deferred action: insert its free pieces into their lists, unmerged."""
        for piece, typ in self.actions.pop(action):
            self.free_list(typ).insert(piece, promised=True)

    def free_into(self, lst: ChunkList, rng: FrameRange, bugs: frozenset[str] = frozenset()) -> None:
        """Return ``rng`` to ``lst``; in heap mode merge it with one adjacent chunk (seed 003)."""
        if lst.heap_mode:
            after = lst.starting_at(rng.end)
            if after is not None:
                lst.replace(after, frames_between(rng.start, after.end))
                return
            # the planted variant takes the nearest free chunk below, touching or not
            before = lst.below(rng.start) if "merge-non-adjacent" in bugs else lst.ending_at(rng.start)
            if before is not None:
                lst.replace(before, frames_between(before.start, rng.end))
                return
        lst.insert(rng, checked="early-list-overflow" not in bugs)

    def release(self, ident: int, bugs: frozenset[str] = frozenset()) -> None:
        """Drop a live Frames object: back to its free list (Allocated and Unmapped drop alike)."""
        owned = self.owned[ident]
        if owned.state is MemoryState.MAPPED and "drop-mapped-frames" not in bugs:
            raise contract_error(DropMappedFrames, "drop", owned.range)
        del self.owned[ident]
        self.held.discard(ident)
        self.free_into(self.free_list(owned.typ), owned.range, bugs)

    def split(self, ident: int, at: int) -> tuple[int, int]:
        """Split a live chunk into ``[start, at)`` and ``[at, end)``; both keep its kind and state."""
        owned = self.owned.pop(ident)
        if not owned.range.start < at < owned.range.end:
            raise UsageError(f"split {owned.range.describe()} at frame {at:#x}: the split point must lie strictly inside")
        parts = []
        for rng in (frames_between(owned.range.start, at), frames_between(at, owned.range.end)):
            part = self.new_ident()
            self.owned[part] = replace(owned, range=rng)
            if ident in self.held:
                self.held.add(part)
            parts.append(part)
        self.held.discard(ident)
        return parts[0], parts[1]

    def split_range(self, ident: int, middle: FrameRange) -> tuple[int | None, int, int | None]:
        """Split a live chunk into the parts before, inside and after ``middle``."""
        rng = self.owned[ident].range
        if not rng.covers(middle):
            raise UsageError(f"split {rng.describe()}: {middle.describe()} is not inside it")
        before = after = None
        if rng.start < middle.start:
            before, ident = self.split(ident, middle.start)
        if middle.end < rng.end:
            ident, after = self.split(ident, middle.end)
        return before, ident, after

    def merge(self, ident: int, other: int) -> FrameRange:
        """Merge chunk ``other`` into chunk ``ident``; they must be contiguous and alike."""
        mine, theirs = self.owned[ident], self.owned[other]
        if (mine.typ, mine.state) != (theirs.typ, theirs.state):
            raise UsageError(f"merge {mine.range.describe()} with {theirs.range.describe()}: "
                             "they differ in region type or state")
        if mine.range.end == theirs.range.start:
            rng = frames_between(mine.range.start, theirs.range.end)
        elif theirs.range.end == mine.range.start:
            rng = frames_between(theirs.range.start, mine.range.end)
        else:
            raise UsageError(f"merge {mine.range.describe()} with {theirs.range.describe()}: they are not contiguous")
        del self.owned[other]
        self.owned[ident] = replace(mine, range=rng)
        return rng

    def snapshot(self) -> TheseusSnapshot:
        """The books as plain values."""
        def plain(lst: ChunkList) -> tuple[tuple[int, int], ...]:
            """The chunks of ``lst`` as sorted plain pairs."""
            return tuple(c.plain() for c in lst.sorted_chunks())
        return TheseusSnapshot(
            heap_mode=self.free_general.heap_mode,
            general_regions=plain(self.general_regions),
            reserved_regions=plain(self.reserved_regions),
            free_general=plain(self.free_general),
            free_reserved=plain(self.free_reserved),
            pending=tuple(sorted((p.start, p.nframes, typ.value)
                                 for pieces in self.actions.values() for p, typ in pieces)),
            allocated=tuple(sorted((o.range.start, o.range.nframes, o.typ.value, o.state.value)
                                   for o in self.owned.values())),
            held=tuple(sorted(self.owned[i].range.plain() for i in self.held)),
        )


def _validate_bugs(bugs: Iterable[str]) -> frozenset[str]:
    """The bug set as a frozenset, or a UsageError naming a variant that is unknown or not this allocator's."""
    chosen = validate_bugs(bugs)
    for name in sorted(chosen - THESEUS_BUGS):
        raise UsageError(f"bug variant {name!r} belongs to {KNOBS[name]}, not the Theseus "
                         f"allocator; it honours: {', '.join(sorted(THESEUS_BUGS))}")
    return chosen


def _check_int(what: str, value: object) -> int:
    """``value`` if it is a plain int, else a UsageError naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{what} must be an int, got {value!r}")
    return value


class Frames:
    """A range of contiguous frames owned by the holder, in one typestate (Theseus ``Frames<S>``).

    Transitions, splits and merges consume the object (use afterwards raises
    :class:`FramesConsumed`), mirroring Rust's move semantics.
    """

    __slots__ = ("_alloc", "_ident", "_range", "_typ", "_state")

    def __init__(self, alloc: "TheseusFrameAllocator", ident: int, owned: _Owned) -> None:
        """Wrap the books entry ``ident``; only the allocator creates these."""
        self._alloc = alloc
        #: identity of the books entry; None once consumed
        self._ident: int | None = ident
        self._range = owned.range
        self._typ = owned.typ
        self._state = owned.state

    def __repr__(self) -> str:
        status = self._state.value if self._ident is not None else "consumed"
        return f"Frames({self._range.describe()}, {self._typ.value}, {status})"

    def _live(self, op: str) -> int:
        if self._ident is None:
            raise contract_error(FramesConsumed, op, self._range)
        return self._ident

    def _moved(self, ident: int) -> "Frames":
        """Consume self and return the object for books entry ``ident``."""
        self._ident = None
        return self._alloc._frames(ident)

    @property
    def range(self) -> FrameRange:
        """The frames covered."""
        return self._range

    @property
    def start_paddr(self) -> Paddr:
        """Physical address of the first frame."""
        return self._range.start_paddr

    @property
    def nframes(self) -> int:
        """Number of frames."""
        return self._range.nframes

    @property
    def typ(self) -> MemoryRegionType:
        """General or reserved memory."""
        return self._typ

    @property
    def state(self) -> MemoryState:
        """The typestate."""
        return self._state

    @property
    def consumed(self) -> bool:
        """True once moved away by a transition, split, merge or drop."""
        return self._ident is None

    def _transition(self, op: str, source: MemoryState, target: MemoryState) -> "Frames":
        ident = self._live(op)
        if self._state is not source:
            raise contract_error(WrongFramesState, op, self._range,
                                 f"it is {self._state.value}, not {source.value}")
        with self._alloc._transaction() as books:
            books.owned[ident] = replace(books.owned[ident], state=target)
        return self._moved(ident)

    def into_mapped(self) -> "Frames":
        """Allocated -> Mapped: call once page tables map these frames."""
        return self._transition("into_mapped", MemoryState.ALLOCATED, MemoryState.MAPPED)

    def into_unmapped(self) -> "Frames":
        """Mapped -> Unmapped: call once the mapping is gone."""
        return self._transition("into_unmapped", MemoryState.MAPPED, MemoryState.UNMAPPED)

    def into_allocated(self) -> "Frames":
        """Unmapped -> Allocated: the frames may be mapped again."""
        return self._transition("into_allocated", MemoryState.UNMAPPED, MemoryState.ALLOCATED)

    def split_at(self, frame: int) -> tuple["Frames", "Frames"]:
        """Split into ``[start, frame)`` and ``[frame, end)``; ``frame`` must lie strictly inside."""
        ident = self._live("split_at")
        with self._alloc._transaction() as books:
            first, second = books.split(ident, _check_int("split frame", frame))
        self._ident = None
        return self._alloc._frames(first), self._alloc._frames(second)

    def split_range(self, middle: FrameRange) -> "SplitFrames":
        """Split into the parts before, inside and after ``middle`` (Theseus ``split_range``)."""
        ident = self._live("split_range")
        with self._alloc._transaction() as books:
            parts = books.split_range(ident, middle)
        self._ident = None
        before, inside, after = (None if p is None else self._alloc._frames(p) for p in parts)
        return SplitFrames(before, inside, after)

    def merge(self, other: "Frames") -> None:
        """Absorb the contiguous ``other`` (same kind and state) into this object; ``other`` is consumed."""
        ident = self._live("merge")
        theirs = other._live("merge")
        if other._alloc is not self._alloc or theirs == ident:
            raise UsageError(f"merge {self._range.describe()}: the other object must be a distinct "
                             "Frames of the same allocator")
        with self._alloc._transaction() as books:
            merged = books.merge(ident, theirs)
        self._range = merged
        other._ident = None

    def drop(self) -> None:
        """Return the frames to the free list (merging with a neighbour in heap mode)."""
        ident = self._live("drop")
        with self._alloc._transaction() as books:
            books.release(ident, self._alloc.bugs)
        self._ident = None


@dataclass(frozen=True, slots=True)
class SplitFrames:
    """The result of :meth:`Frames.split_range`."""

    #: the part before the requested range, if any
    before: Frames | None
    #: the requested range
    middle: Frames
    #: the part after the requested range, if any
    after: Frames | None


class DeferredAllocAction:
    """Free-list insertions an allocation left pending; dropping the action performs them."""

    __slots__ = ("_alloc", "_ident", "_pieces")

    def __init__(self, alloc: "TheseusFrameAllocator", ident: int,
                 pieces: tuple[tuple[FrameRange, MemoryRegionType], ...]) -> None:
        """Wrap the books entry ``ident``; only the allocator creates these."""
        self._alloc = alloc
        #: identity of the books entry; None once performed
        self._ident: int | None = ident
        self._pieces = pieces

    def __repr__(self) -> str:
        return f"DeferredAllocAction({[p.describe() for p, _ in self._pieces]}, performed={self.performed})"

    @property
    def pieces(self) -> tuple[tuple[FrameRange, MemoryRegionType], ...]:
        """The free chunks (with their kind) that dropping the action inserts."""
        return self._pieces

    @property
    def performed(self) -> bool:
        """True once dropped."""
        return self._ident is None

    def drop(self) -> None:
        """Insert the pending free chunks into their lists (no merging)."""
        if self._ident is None:
            raise ActionAlreadyPerformed("drop deferred action", None, sum(p.size for p, _ in self._pieces),
                                         f"pieces {[p.describe() for p, _ in self._pieces]}")
        self._alloc._deliver(self._ident)
        self._ident = None

    def __enter__(self) -> "DeferredAllocAction":
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


class TheseusFrameAllocator:
    """The Theseus chunk allocator: the Frames API of seed 003 and the seed-002 contract."""

    def __init__(self, *, phys_frames: int = DEFAULT_PHYS_FRAMES, bugs: Iterable[str] = frozenset()) -> None:
        """An allocator for ``phys_frames`` frames of address space, knowing no memory yet."""
        if _check_int("phys_frames", phys_frames) <= 0:
            raise UsageError(f"phys_frames must be positive, got {phys_frames}")
        #: frames of physical address space; addresses at or above it are out of range
        self.phys_frames = phys_frames
        #: planted bug variants enabled
        self.bugs = _validate_bugs(bugs)
        self._lock = Mutex(name="theseus.lists")
        self._books = Cell(_Books(), name="theseus.books")

    @contextmanager
    def _transaction(self) -> Iterator[_Books]:
        """Lock, hand out a copy of the books, and publish it only if the block succeeds."""
        with self._lock:
            books = self._books.read().copy()
            yield books
            self._books.write(books)

    def _frames(self, ident: int) -> Frames:
        """A Frames object for the published books entry ``ident``."""
        return Frames(self, ident, self._books.peek().owned[ident])

    def _handout(self, result: tuple[int, int]) -> tuple[Frames, DeferredAllocAction]:
        ident, action = result
        pieces = self._books.peek().actions[action]
        return self._frames(ident), DeferredAllocAction(self, action, pieces)

    def _deliver(self, action: int) -> None:
        with self._transaction() as books:
            books.deliver(action)

    def _frame_range(self, op: str, addr: object, size: object) -> FrameRange:
        """The frames of a page-aligned byte range inside the address space, or a contract error."""
        # The buddy allocator's check, so both allocators report alike.
        frames = check_frame_range(op, addr, size, self.phys_frames)  # type: ignore[arg-type]
        return FrameRange(frames.start, len(frames))

    def _check_in_space(self, op: str, rng: FrameRange) -> None:
        if rng.start < 0 or rng.end > self.phys_frames:
            raise contract_error(AddressOutOfRange, op, rng,
                                 f"the address space is [0x0, {self.phys_frames * PAGE_SIZE:#x})")

    # ----- set-up -------------------------------------------------------------------------

    def init(self, free_areas: Iterable[tuple[Paddr, int]], reserved_areas: Iterable[tuple[Paddr, int]] = ()) -> None:
        """Learn the boot memory map: ``(paddr, size)`` areas; reserved areas win over free ones."""
        free = [self._frame_range("init free area", a, s) for a, s in free_areas]
        reserved = _union_overlapping([self._frame_range("init reserved area", a, s) for a, s in reserved_areas])
        pieces = sorted(p for area in free for p in _subtract(area, reserved))
        for left, right in zip(pieces, pieces[1:]):
            if left.overlaps(right):
                raise contract_error(OverlapsAddedMemory, "init free area", right, f"it overlaps {left.describe()}")
        with self._transaction() as books:
            if any(len(lst) for lst in books.all_lists()) or books.owned:
                raise AlreadyInitialized("init", None, 0)
            for rng in reserved:
                books.reserved_regions.insert(rng)
                books.free_reserved.insert(rng)
            for rng in pieces:
                books.general_regions.insert(rng)
                books.free_general.insert(rng)

    def switch_to_heap(self) -> None:
        """Move every list from its 32-slot array to an unbounded sorted list (idempotent)."""
        with self._transaction() as books:
            for lst in books.all_lists():
                lst.to_heap()

    # ----- the Frames API (seed 003) ---------------------------------------------------

    def allocate_frames_deferred(self, paddr: Paddr | None, nframes: int) -> tuple[Frames, DeferredAllocAction]:
        """Allocate ``nframes`` frames, at the frame holding ``paddr`` if given; leftovers are deferred."""
        if _check_int("nframes", nframes) <= 0:
            raise AllocationError(AllocFailure.ZERO_FRAMES, f"allocate {nframes} frames")
        if paddr is None:
            with self._transaction() as books:
                result = books.find_any(nframes)
                if result is None:
                    raise AllocationError(AllocFailure.OUT_OF_ADDRESS_SPACE,
                                          f"allocate {nframes} frames: no free general chunk is large enough")
            return self._handout(result)
        if _check_int("paddr", paddr) < 0:
            raise AddressOutOfRange("allocate at", paddr, nframes * PAGE_SIZE)
        wanted = FrameRange(paddr // PAGE_SIZE, nframes)
        self._check_in_space("allocate at", wanted)
        with self._transaction() as books:
            result = books.find_at(wanted, self.bugs)
        return self._handout(result)

    def allocate_frames_by_bytes_deferred(self, paddr: Paddr | None, nbytes: int) -> tuple[Frames, DeferredAllocAction]:
        """Like :meth:`allocate_frames_deferred`, sized in bytes (rounded up to whole frames)."""
        _check_int("nbytes", nbytes)
        if paddr is not None:
            # The frame holding paddr starts below it: count the bytes in between too.
            nbytes += _check_int("paddr", paddr) % PAGE_SIZE
        return self.allocate_frames_deferred(paddr, (nbytes + PAGE_SIZE - 1) // PAGE_SIZE)

    def _now(self, result: tuple[Frames, DeferredAllocAction]) -> Frames:
        """Perform the deferred action at once (Theseus's convenience functions drop it)."""
        frames, action = result
        action.drop()
        return frames

    def allocate_frames(self, nframes: int) -> Frames | None:
        """Allocate ``nframes`` general frames anywhere; None when impossible."""
        try:
            return self._now(self.allocate_frames_deferred(None, nframes))
        except AllocationError:
            return None

    def allocate_frames_by_bytes(self, nbytes: int) -> Frames | None:
        """Allocate enough general frames for ``nbytes`` anywhere; None when impossible."""
        try:
            return self._now(self.allocate_frames_by_bytes_deferred(None, nbytes))
        except AllocationError:
            return None

    def allocate_frames_at(self, paddr: Paddr, nframes: int) -> Frames:
        """Allocate ``nframes`` frames starting at the frame holding ``paddr``, or raise why not."""
        return self._now(self.allocate_frames_deferred(_check_int("paddr", paddr), nframes))

    def allocate_frames_by_bytes_at(self, paddr: Paddr, nbytes: int) -> Frames:
        """Allocate the frames holding ``[paddr, paddr + nbytes)``, or raise why not."""
        return self._now(self.allocate_frames_by_bytes_deferred(_check_int("paddr", paddr), nbytes))

    def inspect_then_allocate_free_frames(self, func: Callable[[FrameRange], FramesIteratorRequest]) -> Frames | None:
        """Show ``func`` each free general chunk in turn; allocate what it asks for, if anything.

        ``func`` runs under the allocator lock and must not call the allocator.
        """
        with self._transaction() as books:
            result = None
            for chunk in books.free_general.chunks():
                request = func(chunk)
                if request is IterAction.NEXT:
                    continue
                if request is IterAction.STOP:
                    break
                if not isinstance(request, AllocateAt):
                    raise UsageError(f"inspect_then_allocate_free_frames: callback returned {request!r}, "
                                     "not IterAction.NEXT/STOP or AllocateAt")
                wanted = FrameRange(_check_int("AllocateAt.frame", request.frame),
                                    _check_int("AllocateAt.nframes", request.nframes))
                if wanted.nframes <= 0:
                    raise AllocationError(AllocFailure.ZERO_FRAMES, f"allocate {wanted.nframes} frames")
                result = books.find_specific(MemoryRegionType.FREE, wanted)
                if not isinstance(result, tuple):
                    raise AllocationError(AllocFailure.ADDRESS_NOT_FOUND,
                                          f"allocate {wanted.describe()}: not inside one free general chunk")
                break
        if result is None:
            return None
        return self._now(self._handout(result))

    # ----- the GlobalFrameAllocator contract (seed 002) ---------------------------------

    def alloc(self, layout: Layout) -> Paddr | None:
        """Allocate ``layout.size`` bytes of general frames aligned to ``layout.align``; None when impossible."""
        size, align = _check_int("layout.size", layout.size), _check_int("layout.align", layout.align)
        if size <= 0:
            raise ZeroSize("alloc", None, size)
        if size % PAGE_SIZE:
            raise MisalignedAddress("alloc", None, size)
        if align <= 0 or align & (align - 1):
            raise InvalidLayout("alloc", None, size, f"align {align:#x}")
        with self._transaction() as books:
            result = books.find_any(size // PAGE_SIZE, max(align // PAGE_SIZE, 1))
            if result is None:
                return None
            ident, action = result
            books.held.add(ident)
            start = books.owned[ident].range.start_paddr
        self._deliver(action)
        return start

    def dealloc(self, addr: Paddr, size: int) -> None:
        """Return ``[addr, addr + size)``, all of it handed out by :meth:`alloc`; any part of an allocation may go."""
        rng = self._frame_range("dealloc", addr, size)
        with self._transaction() as books:
            known = [r for lst in (books.general_regions, books.reserved_regions) for r in lst.overlapping(rng)]
            if sum(_overlap(r, rng) for r in known) != rng.nframes:
                raise contract_error(NotAddedMemory, "dealloc", rng)
            free = [c for lst in (books.free_general, books.free_reserved) for c in lst.overlapping(rng)]
            free += [p for pieces in books.actions.values() for p, _ in pieces if p.overlaps(rng)]
            if free:
                nfree = sum(_overlap(c, rng) for c in free)
                raise contract_error(DoubleFree if nfree == rng.nframes else OverlapsFreeMemory, "dealloc", rng,
                                     f"{min(free).describe()} is free")
            mine = sorted((books.owned[i].range, i) for i in books.held if books.owned[i].range.overlaps(rng))
            covered = sum(_overlap(r, rng) for r, _ in mine)
            if covered != rng.nframes:
                raise contract_error(NotAllocated, "dealloc", rng,
                                     f"only {covered} of its {rng.nframes} frames came from alloc")
            for r, ident in mine:
                _, inside, _ = books.split_range(ident, frames_between(max(r.start, rng.start), min(r.end, rng.end)))
                books.release(inside, self.bugs)

    def add_free_memory(self, addr: Paddr, size: int) -> None:
        """Add ``[addr, addr + size)`` as general-purpose memory; it must not overlap memory added before."""
        rng = self._frame_range("add_free_memory", addr, size)
        with self._transaction() as books:
            for regions in (books.general_regions, books.reserved_regions):
                clash = regions.overlapping(rng)
                if clash:
                    raise contract_error(OverlapsAddedMemory, "add_free_memory", rng,
                                         f"{regions.label} {clash[0].describe()}")
            books.general_regions.insert(rng)
            # Added memory enters the free list the way a dropped chunk does.
            books.free_into(books.free_general, rng)

    # ----- observation --------------------------------------------------------------------

    def snapshot(self) -> TheseusSnapshot:
        """The published books as plain values (no lock, no scheduling point)."""
        return self._books.peek().snapshot()


def _overlap(a: FrameRange, b: FrameRange) -> int:
    """Number of frames the two ranges share."""
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _union_overlapping(ranges: list[FrameRange]) -> list[FrameRange]:
    """Merge overlapping ranges (not merely adjacent ones, as Theseus's init does)."""
    merged: list[FrameRange] = []
    for rng in sorted(ranges):
        if merged and merged[-1].overlaps(rng):
            merged[-1] = frames_between(merged[-1].start, max(merged[-1].end, rng.end))
        else:
            merged.append(rng)
    return merged


def _subtract(area: FrameRange, holes: list[FrameRange]) -> list[FrameRange]:
    """The parts of ``area`` outside every range of the sorted, disjoint ``holes``."""
    parts, cursor = [], area.start
    for hole in holes:
        if hole.end <= cursor or hole.start >= area.end:
            continue
        if hole.start > cursor:
            parts.append(frames_between(cursor, hole.start))
        cursor = max(cursor, hole.end)
    if cursor < area.end:
        parts.append(frames_between(cursor, area.end))
    return parts
