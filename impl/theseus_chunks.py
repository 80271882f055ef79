"""Frame ranges, chunk lists and contract errors for the Theseus-style allocator (seed 003).

The Theseus ``frame_allocator`` crate keeps its free chunks and known regions
in a ``StaticArrayRBTree``: before the heap exists it is a fixed array of 32
optional slots (insert takes the first empty slot, removal leaves a hole, and
a full array refuses the insert); after ``convert_to_heap_allocated`` it is a
sorted tree with no size limit.  :class:`ChunkList` reproduces both modes
with plain Python lists, so iteration order (slot order early, address order
later) matches the original and stays deterministic.

A list also counts slots *promised* to not-yet-delivered deferred actions
(:attr:`ChunkList.pending`), so that an allocation which would later overflow
the early array is refused up front instead of failing half-way.
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass

from framemc.impl.errors import AllocError, ContractError
from framemc.snapshot import PAGE_SIZE

__all__ = [
    "EARLY_CHUNK_CAPACITY",
    "FrameRange",
    "ChunkList",
    "NotAllocated",
    "EarlyListFull",
    "WrongFramesState",
    "DropMappedFrames",
    "FramesConsumed",
    "ActionAlreadyPerformed",
    "AlreadyInitialized",
    "AllocFailure",
    "AllocationError",
    "contract_error",
    "frames_between",
]

#: chunks an early (pre-heap) list can track (seed 003: "limited to ... (currently 32)")
EARLY_CHUNK_CAPACITY = 32


class NotAllocated(ContractError):
    """A dealloc covers frames that ``alloc`` did not hand out (they are owned through the Frames API)."""

    problem = "covers frames that alloc did not hand out"


class EarlyListFull(ContractError):
    """Before ``switch_to_heap`` a chunk list would need more than 32 entries."""

    problem = f"a chunk list would exceed {EARLY_CHUNK_CAPACITY} entries before switch_to_heap()"


class WrongFramesState(ContractError):
    """A typestate transition was asked of a ``Frames`` object in another state."""

    problem = "the Frames object is in the wrong state for this transition"


class DropMappedFrames(ContractError):
    """A ``Frames`` object in the Mapped state was dropped (Theseus panics here)."""

    problem = "Mapped frames must be unmapped before they are dropped"


class FramesConsumed(ContractError):
    """A ``Frames`` object was used after a transition, split, merge or drop moved it away."""

    problem = "the Frames object was already moved or dropped"


class ActionAlreadyPerformed(ContractError):
    """A ``DeferredAllocAction`` was dropped twice."""

    problem = "the deferred action was already performed"


class AlreadyInitialized(ContractError):
    """``init`` was called on an allocator that already knows some memory."""

    problem = "the allocator already knows some memory; init runs once"


class AllocFailure(enum.Enum):
    """Why an allocation failed (Theseus ``AllocationError`` variants, plus a zero-size request)."""

    ZERO_FRAMES = "cannot allocate zero frames"
    ADDRESS_NOT_FREE = "requested address was in use"
    ADDRESS_NOT_FOUND = "requested address was outside of this frame allocator's range"
    OUT_OF_ADDRESS_SPACE = "out of physical address space"
    CONTIGUOUS_CHUNK_NOT_FOUND = "only some of the requested frames were available"


class AllocationError(AllocError):
    """An allocation request cannot be satisfied; :attr:`kind` says why (nothing changed)."""

    def __init__(self, kind: AllocFailure, detail: str) -> None:
        super().__init__(f"{detail}: {kind.value}")
        #: the typed reason
        self.kind = kind


def contract_error(cls: type[ContractError], operation: str, rng: "FrameRange", detail: str = "") -> ContractError:
    """A ``cls`` error about the frames ``rng`` refused by ``operation``."""
    return cls(operation, rng.start_paddr, rng.size, detail)


@dataclass(frozen=True, slots=True, order=True)
class FrameRange:
    """The half-open range of frame numbers ``[start, start + nframes)``; never empty."""

    #: first frame number (``paddr // PAGE_SIZE``)
    start: int
    #: number of frames, at least one
    nframes: int

    @property
    def end(self) -> int:
        """One past the last frame number."""
        return self.start + self.nframes

    @property
    def start_paddr(self) -> int:
        """Physical address of the first frame."""
        return self.start * PAGE_SIZE

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self.nframes * PAGE_SIZE

    def contains_frame(self, frame: int) -> bool:
        """True when ``frame`` lies in this range."""
        return self.start <= frame < self.end

    def covers(self, other: "FrameRange") -> bool:
        """True when every frame of ``other`` lies in this range."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: "FrameRange") -> bool:
        """True when the two ranges share at least one frame."""
        return self.start < other.end and other.start < self.end

    def plain(self) -> tuple[int, int]:
        """``(start, nframes)`` as plain values, for snapshots."""
        return (self.start, self.nframes)

    def describe(self) -> str:
        """The byte range as ``[0x..., 0x...)`` for error messages."""
        return f"[{self.start_paddr:#x}, {self.end * PAGE_SIZE:#x})"


def frames_between(first: int, end: int) -> FrameRange:
    """The range ``[first, end)`` of frame numbers."""
    return FrameRange(first, end - first)


class ChunkList:
    """A list of disjoint frame ranges: a 32-slot array before the heap, a sorted list after."""

    __slots__ = ("_entries", "_heap", "pending", "label")

    def __init__(self, label: str) -> None:
        """An empty list in early (array) mode."""
        #: slot array (early mode, holes are None) or address-sorted list (heap mode)
        self._entries: list[FrameRange | None] = [None] * EARLY_CHUNK_CAPACITY
        #: True once ``to_heap`` has run
        self._heap = False
        #: slots promised to not-yet-performed deferred insertions
        self.pending = 0
        #: name used in error messages
        self.label = label

    def copy(self) -> "ChunkList":
        """An independent copy (chunk ranges are immutable, so a shallow copy suffices)."""
        twin = ChunkList(self.label)
        twin._entries = list(self._entries)
        twin._heap = self._heap
        twin.pending = self.pending
        return twin

    @property
    def heap_mode(self) -> bool:
        """True after the switch to heap mode."""
        return self._heap

    def __len__(self) -> int:
        return sum(1 for c in self._entries if c is not None)

    def chunks(self) -> list[FrameRange]:
        """The chunks in search order: slot order early, ascending addresses in heap mode."""
        return [c for c in self._entries if c is not None]

    def sorted_chunks(self) -> tuple[FrameRange, ...]:
        """The chunks sorted by address."""
        return tuple(sorted(self.chunks()))

    def check_room(self, extra: int, rng: FrameRange) -> None:
        """Raise :class:`EarlyListFull` about ``rng`` unless ``extra`` more chunks (beyond promises) fit."""
        if self._heap:
            return
        wanted = len(self) + self.pending + extra
        if wanted > EARLY_CHUNK_CAPACITY:
            raise contract_error(EarlyListFull, f"insert into {self.label}", rng,
                                 f"it would hold {wanted} chunks")

    def insert(self, chunk: FrameRange, *, promised: bool = False, checked: bool = True) -> None:
        """Add ``chunk`` (no merging); ``promised`` consumes one slot reserved earlier; ``checked=False`` (a planted
        bug) skips the capacity check, and a full early array then grows past its 32 slots."""
        if promised:
            self.pending -= 1
        elif checked:
            self.check_room(1, chunk)
        if self._heap:
            bisect.insort(self._entries, chunk)
            return
        if None not in self._entries:
            self._entries.append(None)
        self._entries[self._entries.index(None)] = chunk

    def below(self, frame: int) -> FrameRange | None:
        """The chunk with the highest end at or below ``frame``, if any."""
        lower = [c for c in self.chunks() if c.end <= frame]
        return max(lower, key=lambda c: c.end) if lower else None

    def remove(self, chunk: FrameRange) -> None:
        """Take ``chunk`` out; early mode leaves a hole in its slot."""
        i = self._entries.index(chunk)
        if self._heap:
            del self._entries[i]
        else:
            self._entries[i] = None

    def replace(self, old: FrameRange, new: FrameRange) -> None:
        """Put ``new`` where ``old`` was (the same slot, or the same sorted place)."""
        self._entries[self._entries.index(old)] = new

    def to_heap(self) -> None:
        """Switch to heap mode: keep the chunks, sorted, and drop the size limit."""
        if not self._heap:
            self._entries = sorted(self.chunks())
            self._heap = True

    def containing(self, frame: int) -> FrameRange | None:
        """The chunk that holds ``frame``, if any."""
        for c in self.chunks():
            if c.contains_frame(frame):
                return c
        return None

    def starting_at(self, frame: int) -> FrameRange | None:
        """The chunk whose first frame is ``frame``, if any."""
        for c in self.chunks():
            if c.start == frame:
                return c
        return None

    def ending_at(self, frame: int) -> FrameRange | None:
        """The chunk whose end (one past its last frame) is ``frame``, if any."""
        for c in self.chunks():
            if c.end == frame:
                return c
        return None

    def overlapping(self, rng: FrameRange) -> list[FrameRange]:
        """The chunks sharing a frame with ``rng``, in address order."""
        return sorted(c for c in self.chunks() if c.overlaps(rng))
