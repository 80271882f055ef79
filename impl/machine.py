"""The simulated machine: physical addresses, frames, and the payload byte store.

Physical memory is one ``bytearray`` (the frames' payload bytes), kept apart
from the per-frame metadata array (``impl.meta``), as seed 001 requires:
"Metadata lives in dedicated slots (not in mapped page bytes)".  Every payload
access is announced to the atomics layer as a non-atomic access of that
frame's :class:`~framemc.sync.Location`, so an explorer can schedule it
and detect races with zeroing; the bytes themselves are read and written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from framemc.errors import UsageError
from framemc.sync import Location
from framemc.snapshot import FRAME_META_SIZE, PAGE_SIZE, PAYLOAD_FILL, page_digest

__all__ = ["PAGE_SIZE", "Paddr", "PhysFrame", "Layout", "PhysMemory", "metadata_size_for", "align_up", "align_down"]

#: a physical address (Rust ``Paddr = usize``)
Paddr = int

_ZERO_PAGE = bytes(PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class Layout:
    """Rust ``core::alloc::Layout``: a size and a power-of-two alignment, in bytes."""

    #: bytes requested; the caller guarantees a multiple of ``PAGE_SIZE`` (seed 002)
    size: int
    #: required alignment in bytes
    align: int = PAGE_SIZE


def align_up(value: int, align: int) -> int:
    """Round ``value`` up to a multiple of the power of two ``align``."""
    return (value + align - 1) & ~(align - 1)


def align_down(value: int, align: int) -> int:
    """Round ``value`` down to a multiple of the power of two ``align``."""
    return value & ~(align - 1)


def metadata_size_for(ram_size: int) -> int:
    """Bytes of MetaSlot array needed for ``ram_size`` bytes of RAM, rounded up to a page (seed 001)."""
    if ram_size < 0:
        raise UsageError(f"metadata_size_for: negative RAM size {ram_size}")
    nframes = (ram_size + PAGE_SIZE - 1) // PAGE_SIZE
    return align_up(nframes * FRAME_META_SIZE, PAGE_SIZE)


@dataclass(frozen=True, slots=True, order=True)
class PhysFrame:
    """A 4 KiB-aligned physical frame (seed 001: ``PhysFrame``)."""

    #: frame number, ``paddr // PAGE_SIZE``
    number: int

    @classmethod
    def containing(cls, paddr: Paddr) -> "PhysFrame":
        """The frame that contains ``paddr``."""
        if paddr < 0:
            raise UsageError(f"negative physical address {paddr:#x}")
        return cls(paddr // PAGE_SIZE)

    @classmethod
    def from_start(cls, paddr: Paddr) -> "PhysFrame":
        """The frame starting at ``paddr``, which must be page-aligned."""
        if paddr < 0 or paddr % PAGE_SIZE:
            raise UsageError(f"physical address {paddr:#x} is not page-aligned")
        return cls(paddr // PAGE_SIZE)

    @property
    def start(self) -> Paddr:
        """The frame's first physical address."""
        return self.number * PAGE_SIZE


class PhysMemory:
    """``nframes`` frames of payload bytes; each frame is one non-atomic location."""

    def __init__(self, nframes: int, *, fill: int = PAYLOAD_FILL) -> None:
        """Create memory whose bytes start as ``fill`` (stale garbage, as after boot)."""
        if nframes <= 0:
            raise UsageError(f"physical memory needs at least one frame, got {nframes}")
        if not 0 <= fill <= 0xFF:
            raise UsageError(f"fill byte {fill} is not a byte")
        #: number of frames
        self.nframes = nframes
        #: total bytes
        self.size = nframes * PAGE_SIZE
        self._bytes = bytearray([fill]) * self.size
        self._locs = [Location(f"payload[{i}]") for i in range(nframes)]

    def _frames_of(self, paddr: Paddr, length: int) -> range:
        if length < 0:
            raise UsageError(f"negative length {length}")
        if paddr < 0 or paddr + length > self.size:
            raise UsageError(f"physical range {paddr:#x}+{length:#x} lies outside {self.size:#x} bytes of RAM")
        if length == 0:
            return range(0)
        return range(paddr // PAGE_SIZE, (paddr + length - 1) // PAGE_SIZE + 1)

    def location(self, frame: int) -> Location:
        """The non-atomic location standing for frame ``frame``'s payload."""
        return self._locs[frame]

    def write_bytes(self, paddr: Paddr, value: int, length: int) -> None:
        """``ptr::write_bytes``: set ``length`` bytes from ``paddr`` to ``value``."""
        for f in self._frames_of(paddr, length):
            self._locs[f].access(True)
        self._bytes[paddr:paddr + length] = bytes([value]) * length

    def write(self, paddr: Paddr, data: bytes) -> None:
        """Copy ``data`` into memory at ``paddr``."""
        for f in self._frames_of(paddr, len(data)):
            self._locs[f].access(True)
        self._bytes[paddr:paddr + len(data)] = data

    def read(self, paddr: Paddr, length: int) -> bytes:
        """Read ``length`` bytes at ``paddr``."""
        for f in self._frames_of(paddr, length):
            self._locs[f].access(False)
        return bytes(self._bytes[paddr:paddr + length])

    def frame_is_zero(self, frame: int) -> bool:
        """True when every byte of ``frame`` is zero; no scheduling point (for snapshots)."""
        start = frame * PAGE_SIZE
        return self._bytes[start:start + PAGE_SIZE] == _ZERO_PAGE

    def frame_crc(self, frame: int) -> int:
        """The payload digest of ``frame``'s bytes; no scheduling point (for snapshots)."""
        start = frame * PAGE_SIZE
        return page_digest(memoryview(self._bytes)[start:start + PAGE_SIZE])
