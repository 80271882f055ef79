"""Frame handles, segments and ``FrameAllocOptions``: the MetaSlot refcount protocol.

Design.  :class:`FrameLifecycle` holds every step that moves a frame between
"in the allocator" and "in use", one atomics-layer call per line, so an
explorer trace points at a readable source line (``_claim``, ``_publish``,
...).  The planted-bug knobs of this layer are decided here and nowhere else.

Allocation (seed 000, in order): take a raw frame from the global allocator;
CAS-claim it ``UNUSED -> 0`` (Acquire); bump the generation (only after the
CAS succeeded, seed 001); zero it; store the purpose (Release); store
``refcount = 1`` (Release).  For a segment, every frame is claimed and
epoch-bumped first, the whole range is zeroed once, then each frame is
published; Asterinas zeroes segments after ``from_unused`` -- we follow the
seed's order, which is stricter.

The last drop (Asterinas ``Frame::drop``): ``fetch_sub(1, Release)``; if it
was 1, ``fence(Acquire)``, run the vtable's ``on_last_ref``, store ``UNUSED``
(Release), then ``dealloc`` the frame.

Handles are Python objects standing for Rust values: dropping a handle twice
is a misuse of the model (``UsageError``), not a kernel bug.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from framemc.errors import UsageError
from framemc.impl.eventlog import emit
from framemc.sync import Ordering, fence
from framemc.impl.buddy import Layout
from framemc.impl.errors import (
    ClaimFailed,
    GetFrameError,
    GetFrameReason,
    InvalidArgs,
    NoMemory,
    RefcountOverflow,
    RetryBoundExceeded,
)
from framemc.impl.meta import MAX_CAS_RETRIES, FrameMetaVtable, MetaSlot
from framemc.snapshot import (
    PAGE_SIZE,
    PURPOSE_DMA,
    PURPOSE_GENERAL,
    PURPOSE_PAGE_TABLE,
    REFCOUNT_BUSY,
    REFCOUNT_MAX,
    REFCOUNT_UNIQUE,
    REFCOUNT_UNUSED,
)

if TYPE_CHECKING:
    from framemc.impl.system import FrameSystem

__all__ = ["FramePurpose", "FrameLifecycle", "FrameAllocOptions", "Frame", "Segment"]


class FramePurpose(enum.Enum):
    """Seed 000 ``FramePurpose``: what an allocated frame is for; stored in ``MetaSlot.purpose``."""

    GENERAL = PURPOSE_GENERAL
    PAGE_TABLE = PURPOSE_PAGE_TABLE
    DMA = PURPOSE_DMA


class FrameLifecycle:
    """The refcount/generation/purpose protocol of one system, with its bug knobs resolved."""

    def __init__(self, system: "FrameSystem", bugs: frozenset[str]) -> None:
        self._system = system
        self._bugs = bugs
        #: the refcount value meaning "in the allocator" (0 under ``unused-equals-busy``)
        self.unused = REFCOUNT_BUSY if "unused-equals-busy" in bugs else REFCOUNT_UNUSED
        self._claim_order = Ordering.RELAXED if "relaxed-claim" in bugs else Ordering.ACQUIRE
        self._publish_order = Ordering.RELAXED if "relaxed-publish" in bugs else Ordering.RELEASE
        self._purpose_order = Ordering.RELAXED if "relaxed-purpose" in bugs else Ordering.RELEASE

    # ----------------------------------------------------------------- allocation

    def init_frames(self, paddr: int, nframes: int, purpose: FramePurpose, zero: bool,
                    vtable_bits: int) -> list["Frame"]:
        """Steps 2-6 of seed 000 for the ``nframes`` raw frames at ``paddr``; returns their handles."""
        slots = [self._system.meta.get_meta_slot(paddr + i * PAGE_SIZE) for i in range(nframes)]
        epochs = [self._claim_and_bump(slot) for slot in slots]
        if zero and "publish-before-zero" not in self._bugs:
            self._zero(paddr, nframes)
        for slot in slots:
            self._set_meta(slot, purpose, vtable_bits)
            self._publish(slot, zero)
        if zero and "publish-before-zero" in self._bugs:
            self._zero(paddr, nframes)
        return [Frame(self._system, slot.paddr, epoch) for slot, epoch in zip(slots, epochs)]

    def _claim_and_bump(self, slot: MetaSlot) -> int:
        if "generation-before-cas" in self._bugs:
            epoch = self._bump(slot)
            self._claim(slot)
            return epoch
        self._claim(slot)
        return self._bump(slot)

    def _bump(self, slot: MetaSlot) -> int:
        epoch = slot.note_new_allocation_epoch()
        emit("gen_bump", frame=slot.index, new=epoch)
        return epoch

    def _claim(self, slot: MetaSlot) -> None:
        if "non-cas-claim" in self._bugs:
            self._claim_by_load_then_store(slot)
            return
        ok, seen = slot.refcount.compare_exchange(self.unused, REFCOUNT_BUSY, self._claim_order, Ordering.RELAXED)
        emit("rc_cas", frame=slot.index, old=seen, new=REFCOUNT_BUSY, ok=ok)
        if not ok:
            raise ClaimFailed(f"from_unused {slot.paddr:#x}: refcount is {seen:#x}, not UNUSED")

    def _claim_by_load_then_store(self, slot: MetaSlot) -> None:
        seen = slot.refcount.load(self._claim_order)
        if seen != self.unused:
            raise ClaimFailed(f"from_unused {slot.paddr:#x}: refcount is {seen:#x}, not UNUSED")
        slot.refcount.store(REFCOUNT_BUSY, Ordering.RELAXED)
        # logged as the claim it pretends to be: the value it read, then its store
        emit("rc_cas", frame=slot.index, old=seen, new=REFCOUNT_BUSY, ok=True)

    def _zero(self, paddr: int, nframes: int) -> None:
        self._system.memory.write_bytes(paddr, 0, nframes * PAGE_SIZE)
        for i in range(nframes):
            emit("zero", frame=paddr // PAGE_SIZE + i)

    def _set_meta(self, slot: MetaSlot, purpose: FramePurpose, vtable_bits: int) -> None:
        if vtable_bits:
            slot.vtable.store(vtable_bits, Ordering.RELAXED)
        slot.purpose.store(purpose.value, self._purpose_order)
        emit("set_purpose", frame=slot.index, purpose=purpose.value)

    def _publish(self, slot: MetaSlot, zeroed: bool = False) -> None:
        slot.refcount.store(1, self._publish_order)
        emit("publish", frame=slot.index, zeroed=zeroed)

    # ----------------------------------------------------------------- sharing

    def inc_ref(self, slot: MetaSlot) -> None:
        """Clone: ``fetch_add(1, Relaxed)``, aborting at ``REFCOUNT_MAX`` (Asterinas ``inc_ref_count``)."""
        old = slot.refcount.fetch_add(1, Ordering.RELAXED)
        emit("rc_add", frame=slot.index, old=old)
        if old >= REFCOUNT_MAX:
            raise RefcountOverflow(f"frame {slot.paddr:#x}: refcount {old:#x} reached REFCOUNT_MAX; aborting")

    def get_from_in_use(self, slot: MetaSlot) -> None:
        """Increment only if the refcount is a live shared count (not 0, UNUSED or UNIQUE)."""
        seen = slot.refcount.load(Ordering.RELAXED)
        for _ in range(MAX_CAS_RETRIES):
            self._check_in_use(slot, seen)
            ok, seen = slot.refcount.compare_exchange(seen, seen + 1, Ordering.ACQUIRE, Ordering.RELAXED)
            if ok:
                emit("from_in_use", f=slot.index)
                return
        raise RetryBoundExceeded(f"from_in_use {slot.paddr:#x}: gave up after {MAX_CAS_RETRIES} failed CAS attempts")

    def _check_in_use(self, slot: MetaSlot, seen: int) -> None:
        if seen == self.unused:
            raise GetFrameError(slot.paddr, seen, GetFrameReason.UNUSED)
        if seen == REFCOUNT_BUSY:
            raise GetFrameError(slot.paddr, seen, GetFrameReason.BUSY)
        if seen == REFCOUNT_UNIQUE:
            raise GetFrameError(slot.paddr, seen, GetFrameReason.UNIQUE)
        if seen >= REFCOUNT_MAX:
            raise RefcountOverflow(f"frame {slot.paddr:#x}: refcount {seen:#x} reached REFCOUNT_MAX; aborting")

    # ----------------------------------------------------------------- drop

    def drop_ref(self, slot: MetaSlot) -> None:
        """Drop one reference; the last one returns the frame to the allocator."""
        if "check-then-decrement" in self._bugs:
            self._drop_checked_then_decremented(slot)
            return
        old = slot.refcount.fetch_sub(1, Ordering.RELEASE)
        emit("rc_sub", frame=slot.index, old=old)
        if old != 1:
            return
        if "no-acquire-fence-on-drop" not in self._bugs:
            fence(Ordering.ACQUIRE)
        self._last_drop(slot)

    def _drop_checked_then_decremented(self, slot: MetaSlot) -> None:
        seen = slot.refcount.load(Ordering.ACQUIRE)
        if seen == 1:
            self._last_drop(slot)
            return
        old = slot.refcount.fetch_sub(1, Ordering.RELEASE)
        emit("rc_sub", frame=slot.index, old=old)

    def _last_drop(self, slot: MetaSlot) -> None:
        self.invoke_on_last_ref(slot)
        slot.refcount.store(self.unused, Ordering.RELEASE)
        emit("rc_store", frame=slot.index, value=self.unused)
        self._system.allocator.dealloc(slot.paddr, PAGE_SIZE)

    def invoke_on_last_ref(self, slot: MetaSlot) -> None:
        """Run the frame vtable's ``on_last_ref`` (seed 001 ``invoke_vtable_on_last_ref``)."""
        bits = slot.vtable.load(Ordering.RELAXED)
        hook = self._system.vtables.vtable_ref(bits).on_last_ref
        if hook is not None:
            hook(slot.paddr)
        if bits:
            # The metadata is dropped with the last reference; the next owner starts with the default.
            slot.vtable.store(0, Ordering.RELAXED)

    def invoke_on_unmap(self, slot: MetaSlot) -> None:
        """Run the frame vtable's ``on_unmap`` (seed 001 ``invoke_vtable_on_unmap``)."""
        bits = slot.vtable.load(Ordering.RELAXED)
        hook = self._system.vtables.vtable_ref(bits).on_unmap
        if hook is not None:
            hook(slot.paddr)


class FrameAllocOptions:
    """Seed 004 ``FrameAllocOptions``: ``zeroed`` defaults to true; ``PageTable`` always zeroes."""

    def __init__(self, system: "FrameSystem") -> None:
        self._system = system
        self._zeroed = True
        self._purpose = FramePurpose.GENERAL
        self._vtable: FrameMetaVtable | None = None

    def zeroed(self, zeroed: bool) -> "FrameAllocOptions":
        """Choose whether frames are zeroed (ignored for page-table frames, which always are)."""
        if not isinstance(zeroed, bool):
            raise UsageError(f"zeroed expects a bool, got {zeroed!r}")
        self._zeroed = zeroed
        return self

    def purpose(self, purpose: FramePurpose) -> "FrameAllocOptions":
        """Set the purpose stored in each frame's MetaSlot."""
        if not isinstance(purpose, FramePurpose):
            raise UsageError(f"purpose expects a FramePurpose, got {purpose!r}")
        self._purpose = purpose
        return self

    def vtable(self, vtable: FrameMetaVtable) -> "FrameAllocOptions":
        """Attach a ``FrameMetaVtable`` (registered with the system) to the allocated frames."""
        if not isinstance(vtable, FrameMetaVtable):
            raise UsageError(f"vtable expects a FrameMetaVtable, got {vtable!r}")
        self._vtable = vtable
        return self

    @property
    def zeroes(self) -> bool:
        """True when frames allocated with these options are zeroed."""
        return self._zeroed or self._purpose is FramePurpose.PAGE_TABLE

    def alloc_frame(self) -> "Frame":
        """Allocate one frame (seed 000 steps 1-6); raises ``NoMemory`` when none is free."""
        return self.alloc_segment(1).take(0)

    def alloc_segment(self, nframes: int) -> "Segment":
        """Allocate ``nframes`` contiguous frames; ``nframes == 0`` raises ``InvalidArgs``."""
        if not isinstance(nframes, int) or isinstance(nframes, bool) or nframes < 0:
            raise UsageError(f"alloc_segment expects a frame count, got {nframes!r}")
        if nframes == 0:
            raise InvalidArgs("alloc_segment(0): a segment needs at least one frame")
        paddr = self._system.allocator.alloc(Layout(nframes * PAGE_SIZE))
        if paddr is None:
            raise NoMemory(f"no free block of {nframes} frame(s)")
        bits = 0 if self._vtable is None else self._system.vtables.register(self._vtable)
        frames = self._system.lifecycle.init_frames(paddr, nframes, self._purpose, self.zeroes, bits)
        return Segment(frames)


class Frame:
    """A counted reference to one in-use frame (Asterinas ``Frame<M>``)."""

    __slots__ = ("_system", "paddr", "generation", "_alive")

    def __init__(self, system: "FrameSystem", paddr: int, generation: int) -> None:
        self._system = system
        #: first physical address of the frame
        self.paddr = paddr
        #: allocation epoch this handle belongs to (for ``meta_generation_matches``)
        self.generation = generation
        self._alive = True

    def __repr__(self) -> str:
        state = "" if self._alive else ", dropped"
        return f"Frame({self.paddr:#x}, generation={self.generation}{state})"

    @classmethod
    def from_unused(cls, system: "FrameSystem", paddr: int,
                    purpose: FramePurpose = FramePurpose.GENERAL) -> "Frame":
        """Claim and publish a frame the caller got from the allocator (no zeroing)."""
        return system.lifecycle.init_frames(paddr, 1, purpose, False, 0)[0]

    @classmethod
    def from_in_use(cls, system: "FrameSystem", paddr: int) -> "Frame":
        """Take another reference to an in-use frame; raises ``GetFrameError`` if it is not one."""
        slot = system.meta.get_meta_slot(paddr)
        system.lifecycle.get_from_in_use(slot)
        return cls(system, paddr, slot.generation.load(Ordering.RELAXED))

    @property
    def slot(self) -> MetaSlot:
        """The frame's MetaSlot."""
        return self._system.meta.get_meta_slot(self.paddr)

    @property
    def alive(self) -> bool:
        """False once this handle has been dropped."""
        return self._alive

    def _check_alive(self, what: str) -> None:
        if not self._alive:
            raise UsageError(f"{what} on frame handle {self.paddr:#x} after it was dropped")

    def clone(self) -> "Frame":
        """Another handle to the same frame (refcount + 1)."""
        self._check_alive("clone")
        self._system.lifecycle.inc_ref(self.slot)
        return Frame(self._system, self.paddr, self.generation)

    def drop(self) -> None:
        """Give up this handle (refcount - 1; the last drop frees the frame)."""
        self._check_alive("drop")
        self._alive = False
        self._system.lifecycle.drop_ref(self.slot)

    def reference_count(self) -> int:
        """The current refcount (Relaxed load)."""
        self._check_alive("reference_count")
        return self.slot.refcount.load(Ordering.RELAXED)

    def generation_matches(self) -> bool:
        """True while the frame is still in the allocation epoch this handle belongs to."""
        return self._system.meta.meta_generation_matches(self.paddr, self.generation)

    def mark_poisoned(self) -> None:
        """Mark the frame corrupt (guard bit and flag); it will never be handed out again."""
        self._check_alive("mark_poisoned")
        self.slot.mark_poisoned()
        emit("poison", frame=self.slot.index)

    def on_unmap(self) -> None:
        """Run the vtable's ``on_unmap`` hook for this frame."""
        self._check_alive("on_unmap")
        self._system.lifecycle.invoke_on_unmap(self.slot)

    def read(self, offset: int, length: int) -> bytes:
        """Read ``length`` payload bytes at ``offset`` (a non-atomic access)."""
        self._check_alive("read")
        self._check_span(offset, length)
        return self._system.memory.read(self.paddr + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` into the payload at ``offset`` (a non-atomic access)."""
        self._check_alive("write")
        self._check_span(offset, len(data))
        self._system.memory.write(self.paddr + offset, data)
        emit("payload_write", frame=self.slot.index, data=self._system.memory.frame_crc(self.slot.index))

    def _check_span(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > PAGE_SIZE:
            raise UsageError(f"frame {self.paddr:#x}: bytes [{offset}, {offset + length}) lie outside the page")


class Segment:
    """Contiguous in-use frames; they may be dropped one at a time, in any order."""

    def __init__(self, frames: list[Frame]) -> None:
        if not frames:
            raise UsageError("a segment needs at least one frame")
        #: first physical address of the segment
        self.paddr = frames[0].paddr
        #: number of frames the segment was created with
        self.nframes = len(frames)
        self._frames: list[Frame | None] = list(frames)

    def __repr__(self) -> str:
        return f"Segment({self.paddr:#x}, nframes={self.nframes}, held={len(self.held())})"

    def held(self) -> tuple[Frame, ...]:
        """The frames still held by the segment, in address order."""
        return tuple(f for f in self._frames if f is not None)

    def take(self, index: int) -> Frame:
        """Remove frame ``index`` from the segment and return its handle."""
        if not 0 <= index < self.nframes:
            raise UsageError(f"segment {self.paddr:#x} has frames 0..{self.nframes - 1}, not {index}")
        frame = self._frames[index]
        if frame is None:
            raise UsageError(f"frame {index} of segment {self.paddr:#x} was already taken")
        self._frames[index] = None
        return frame

    def drop_frame(self, index: int) -> None:
        """Drop frame ``index`` on its own (seed 002: frames come back in any order)."""
        self.take(index).drop()

    def drop(self) -> None:
        """Drop every frame still held, in address order."""
        for index in range(self.nframes):
            if self._frames[index] is not None:
                self.drop_frame(index)
