"""Registry of planted-bug variants of the reference allocators.

Design: a variant is switched on by name through the ``bugs`` frozenset a
system is built with; the default (empty set) is the correct code.  Each name
maps to a :class:`BugVariant` giving a one-sentence description, where the
bug comes from and a one-sentence fix, so reports can cite them.
:func:`validate_bugs` is the single gate every constructor calls: an unknown
name is a :class:`UsageError` that names it and lists the known ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from framemc.errors import UsageError

__all__ = ["BugVariant", "BUG_VARIANTS", "validate_bugs"]


@dataclass(frozen=True, slots=True)
class BugVariant:
    """One planted bug: its name, what it changes, where it comes from, and its fix."""

    #: the name passed in ``bugs``
    name: str
    #: one sentence saying what the variant does differently
    description: str
    #: where the bug pattern comes from (an issue, a seed, or a classic mistake)
    source: str
    #: the implementation module that honours the knob
    module: str
    #: one sentence saying how the correct code avoids the bug
    fix: str


def _variants(*items: BugVariant) -> dict[str, BugVariant]:
    return {v.name: v for v in sorted(items, key=lambda v: v.name)}


_META = "framemc.impl.frame"
_BUDDY = "framemc.impl.buddy"

#: every known variant, by name
BUG_VARIANTS: dict[str, BugVariant] = _variants(
    BugVariant("unused-equals-busy",
               "Refcount 0 means both 'unused' and 'being dropped': there is no separate UNUSED sentinel, "
               "so the last drop leaves 0 and a claim CASes 0 -> 0.",
               "seed 001 (REFCOUNT_UNUSED exists to tell free frames from busy ones)", _META,
               "Keep a distinct REFCOUNT_UNUSED sentinel (u64::MAX): the last drop stores UNUSED and a claim "
               "CASes UNUSED -> 0, so a busy frame (0) can never be claimed."),
    BugVariant("check-then-decrement",
               "Drop loads the refcount and takes the last-drop path only if it read 1, "
               "otherwise decrements in a separate step, so two concurrent drops can both decrement and leak.",
               "Asterinas issue #671 (refcount check-then-decrement leak)", _META,
               "Drop does one fetch_sub(1, Release) and takes the last-drop path only when that atomic step "
               "returned 1."),
    BugVariant("non-cas-claim",
               "The claim loads the refcount, checks it is UNUSED, then stores 0 in a separate step "
               "instead of one compare-exchange.",
               "seed 000 step 2 (CAS-claims the frame)", _META,
               "Claim with one compare_exchange(UNUSED, 0, Acquire, Relaxed), so exactly one CPU can win a free "
               "frame."),
    BugVariant("publish-before-zero",
               "refcount = 1 is stored before the frame is zeroed, so a reader can see a "
               "published page-table frame with stale bytes.",
               "seed 000 (steps 3 and 5: zero, then publish with Release)", _META,
               "Zero the frame first and only then store refcount = 1 with Release, so whoever sees the frame "
               "published sees it zeroed."),
    BugVariant("insert-before-merge",
               "Buddy free inserts the block at its own order and then also inserts the merged block, "
               "so the block is on two free lists.",
               "classic buddy-allocator mistake", _BUDDY,
               "Merge with the free buddy first and insert only the final merged block, once, on its own order's"
               " list."),
    BugVariant("link-in-payload",
               "The free-list link is also written into the first bytes of the free frame.",
               "seed 001 (links live in FreeListLink, never in the mapped 4 KiB)", _BUDDY,
               "Keep the free-list link in the frame's metadata (FreeListLink) and never write the 4 KiB payload"
               " of a free frame."),
    BugVariant("unchecked-overlapping-dealloc",
               "dealloc skips the overlap and double-free check and inserts the range as given.",
               "seed 002 (dealloc must never overlap memory already deallocated or added)", _BUDDY,
               "Check every dealloc against the free lists and the allocated ranges and refuse an overlap or "
               "double free."),
    BugVariant("alloc-at-skips-overlap",
               "The Theseus allocator's allocate-at-address path skips the overlap check with "
               "existing allocations.",
               "seed 003 (Theseus frame_allocator)", "framemc.impl.theseus",
               "Check the requested range against every existing allocation before allocating at an address."),
    BugVariant("drop-mapped-frames",
               "The Theseus allocator's drop returns a Mapped Frames object to the free list instead of refusing it.",
               "seed 003 (Frames typestate: Mapped frames must be unmapped before they are dropped)",
               "framemc.impl.theseus",
               "Refuse to drop a Frames object in the Mapped state (Theseus panics): unmap it first."),
    BugVariant("early-list-overflow",
               "Before switch_to_heap, the Theseus allocator's drop inserts into the early free-chunk array without "
               "checking its 32-slot capacity.",
               "seed 003 (early allocation is limited to tracking 32 chunks)", "framemc.impl.theseus",
               "Check the early array's room (counting slots promised to deferred actions) before inserting."),
    BugVariant("merge-non-adjacent",
               "In heap mode the Theseus allocator's drop merges the freed chunk into the nearest free chunk below "
               "it even when that chunk does not end where the freed one starts.",
               "seed 003 (free chunks are merged when they are dropped; only contiguous ones may merge)",
               "framemc.impl.theseus",
               "Merge only with the free chunk that ends exactly at the freed chunk's start (or starts at its end)."),
    BugVariant("generation-before-cas",
               "The generation is bumped before the claim CAS, even when the CAS fails.",
               "seed 001 (generation incremented only after a successful CAS)", _META,
               "Bump the generation only after the claim CAS succeeded."),
    BugVariant("cache-ignores-poison",
               "The per-CPU order-0 cache hands out frames whose guard is POISONED.",
               "seed 001 (block_phys_has_poison_guard; poisoned frames are never handed out)", _BUDDY,
               "Test block_phys_has_poison_guard before caching or handing out a frame, and retire poisoned "
               "frames."),
    BugVariant("merge-non-buddy",
               "Free merges a block with an adjacent free block of the same order that is not its buddy, "
               "even across add_free_memory ranges.",
               "classic buddy-allocator mistake", _BUDDY,
               "Merge a block only with its buddy (address XOR block size) inside the same add_free_memory "
               "range."),
    BugVariant("relaxed-publish",
               "refcount = 1 is stored with Relaxed instead of Release ordering.",
               "seed 000 step 5 (Release)", _META,
               "Store refcount = 1 with Release so the zeroing happens-before any Acquire reader that sees the "
               "frame."),
    BugVariant("relaxed-claim",
               "The claim CAS uses Relaxed instead of Acquire as its success ordering.",
               "Asterinas MetaSlot::get_from_unused (Acquire)", _META,
               "Use Acquire as the claim CAS's success ordering so the claimer synchronises with the last "
               "drop's Release."),
    BugVariant("no-acquire-fence-on-drop",
               "The last drop omits fence(Acquire) after its Release fetch_sub.",
               "Asterinas Frame::drop (fetch_sub Release, then fence Acquire)", _META,
               "After the last fetch_sub(Release), issue fence(Acquire) before tearing the frame down."),
    BugVariant("relaxed-purpose",
               "The purpose flags are stored with Relaxed instead of Release ordering.",
               "seed 000 step 4 (Release)", _META,
               "Store the purpose flags with Release after zeroing, so a reader that acquires the purpose sees a"
               " zeroed frame."),
)


def validate_bugs(bugs: Iterable[str]) -> frozenset[str]:
    """Return ``bugs`` as a frozenset, or raise ``UsageError`` naming an unknown variant."""
    if isinstance(bugs, str):
        raise UsageError(f"bugs must be a collection of variant names, not the string {bugs!r}")
    try:
        chosen = frozenset(bugs)
    except TypeError:
        raise UsageError(f"bugs must be a collection of variant names, got {bugs!r}") from None
    for name in sorted(chosen, key=str):
        if name not in BUG_VARIANTS:
            known = ", ".join(sorted(BUG_VARIANTS))
            raise UsageError(f"unknown bug variant {name!r}; known variants: {known}")
    return chosen
