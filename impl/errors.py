"""Errors the simulated kernel raises: contract breaches, allocation failures and aborts.

Design: every class says *what went wrong* on its own, so a test (or the
explorer) can tell a double free from a misaligned address without parsing
messages.  Four families, all rooted in :class:`~framemc.errors.KernelError` (the
simulated kernel said no), apart from framemc's own errors (``FramemcError``: a usage
error or a checker bug):

* :class:`ContractError` -- the caller broke the ``GlobalFrameAllocator``
  contract (seed 002) or passed an impossible address; the check runs before
  any mutation, so the allocator is unchanged;
* :class:`AllocError` -- the seeds' ``AllocError`` enum (``NoMemory``,
  ``InvalidArgs``), returned as ``Err`` in Rust and raised here;
* :class:`KernelAbort` -- what the Rust code would ``panic!``/``abort()`` on
  (a refcount overflow, a failed claim that Rust ``unwrap``s);
* :class:`GetFrameError` -- ``Frame::from_in_use`` refused (Asterinas ``GetFrameError``).

:class:`~framemc.errors.RetryBoundExceeded` is apart: a bounded CAS retry loop ran
out, which is a *bound* being hit, not a verdict on the code.  It and ``KernelError``
live in :mod:`framemc.errors`, so the explorer can classify them without importing impl;
they are re-exported here.
"""

from __future__ import annotations

import enum

from framemc.errors import KernelError, RetryBoundExceeded
from framemc.snapshot import PAGE_SIZE

__all__ = [
    "KernelError",
    "ContractError",
    "MisalignedAddress",
    "AddressOutOfRange",
    "ZeroSize",
    "OverlapsFreeMemory",
    "OverlapsAddedMemory",
    "NotAddedMemory",
    "DoubleFree",
    "InvalidLayout",
    "AllocError",
    "NoMemory",
    "InvalidArgs",
    "KernelAbort",
    "RefcountOverflow",
    "ClaimFailed",
    "GetFrameError",
    "GetFrameReason",
    "RetryBoundExceeded",
    "describe_range",
]


def describe_range(addr: int, size: int) -> str:
    """``[0x1000, 0x3000)`` style text for a physical range, used in every contract message."""
    return f"[{addr:#x}, {addr + size:#x})"


class ContractError(KernelError):
    """The caller broke the allocator contract; the allocator state is unchanged."""

    #: short name of the problem, used to build the one-line message
    problem = "contract breach"

    def __init__(self, operation: str, addr: int | None, size: int, detail: str = "") -> None:
        #: the allocator call that was refused (``dealloc``, ``add_free_memory``, ...)
        self.operation = operation
        #: first physical address of the refused range (None for ``alloc``, which has no address yet)
        self.addr = addr
        #: size in bytes of the refused range
        self.size = size
        suffix = f": {detail}" if detail else ""
        where = f"size {size:#x}" if addr is None else describe_range(addr, size)
        super().__init__(f"{operation} {where}: {self.problem}{suffix}")


class MisalignedAddress(ContractError):
    """An address or size is not a multiple of ``PAGE_SIZE``."""

    problem = f"address or size is not aligned to PAGE_SIZE ({PAGE_SIZE:#x})"


class AddressOutOfRange(ContractError):
    """The range lies (partly) outside the simulated physical memory."""

    problem = "range lies outside physical memory"


class ZeroSize(ContractError):
    """A range of zero bytes was passed where frames are required."""

    problem = "size is zero"


class OverlapsFreeMemory(ContractError):
    """A dealloc overlaps memory that is already free (but is not exactly a double free)."""

    problem = "overlaps memory that is already free"


class OverlapsAddedMemory(ContractError):
    """``add_free_memory`` overlaps memory added before (seed 002)."""

    problem = "overlaps memory that was added before"


class NotAddedMemory(ContractError):
    """A dealloc covers memory that was never given to the allocator."""

    problem = "covers memory that was never added to the allocator"


class DoubleFree(ContractError):
    """Every frame of a dealloc is already free: the range was freed twice."""

    problem = "double free: the whole range is already free"


class InvalidLayout(ContractError):
    """A ``Layout`` whose alignment is not a power of two."""

    problem = "layout alignment is not a power of two"


class AllocError(KernelError):
    """The seeds' ``AllocError``: an allocation request that cannot be served."""


class NoMemory(AllocError):
    """``AllocError::NoMemory``: no free block is large enough."""


class InvalidArgs(AllocError):
    """``AllocError::InvalidArgs``: e.g. ``alloc_segment(0)``."""


class KernelAbort(KernelError):
    """The Rust code would panic or abort here."""


class RefcountOverflow(KernelAbort):
    """An increment found the refcount at or above ``REFCOUNT_MAX`` (Asterinas aborts)."""


class ClaimFailed(KernelAbort):
    """``Frame::from_unused(..).unwrap()`` failed: the frame handed out was not UNUSED."""


class GetFrameReason(enum.Enum):
    """Why ``Frame::from_in_use`` refused (Asterinas ``GetFrameError``)."""

    UNUSED = "unused"
    BUSY = "busy"
    UNIQUE = "uniquely owned"


class GetFrameError(KernelError):
    """``Frame::from_in_use`` refused: the frame is unused, busy or uniquely owned."""

    def __init__(self, paddr: int, refcount: int, reason: GetFrameReason) -> None:
        #: the frame asked for
        self.paddr = paddr
        #: the refcount that was observed
        self.refcount = refcount
        #: why the frame cannot be shared
        self.reason = reason
        super().__init__(f"from_in_use {paddr:#x}: frame is {reason.value} (refcount {refcount:#x})")
