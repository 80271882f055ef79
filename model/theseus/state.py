"""The state of the Theseus chunk allocator (seed 003) as per-frame fields and a few scalars.

Design: a chunk (free, pending in a deferred action, or a live ``Frames``
object) is a half-open range of frames ``[s, cend(s))``.  Every frame of it
names the chunk's first frame in ``owner``; only the first frame carries the
chunk's fields (``cend``, ``where``, ``held``), every other frame has them
blank.  ``kind`` says which known region (general or reserved) a frame lies
in.  The chunk lists themselves are not modelled frame by frame: their sizes
are scalars, which is all the early 32-slot arrays' capacity check needs.
"""

from __future__ import annotations

import enum

import z3

from framemc.design.frames import Field, FState, FrameSort, Shape, store, store_range

__all__ = ["Kind", "Where", "KIND", "WHERE", "COUNT", "EARLY_CAPACITY", "SHAPE", "LISTS", "count", "with_counts",
           "within_early_capacity", "chunk", "extend", "kind_val", "where_val", "HANDLES"]

#: chunks an early (pre-heap) list can track (seed 003: "limited to ... (currently 32)")
EARLY_CAPACITY = 32


class Kind(enum.IntEnum):
    """The known region a frame lies in (Theseus ``MemoryRegionType``, plus 'not known')."""

    NONE = 0
    GENERAL = 1
    RESERVED = 2


class Where(enum.IntEnum):
    """Where a chunk is, stored at its first frame (NONE at every other frame)."""

    NONE = 0
    #: in its kind's free list
    FREE = 1
    #: a leftover held by an undelivered DeferredAllocAction (in no list yet)
    PENDING = 2
    #: a Frames object in the Allocated typestate
    ALLOCATED = 3
    #: a Frames object in the Mapped typestate
    MAPPED = 4
    #: a Frames object in the Unmapped typestate
    UNMAPPED = 5


#: the typestates of a live Frames object
HANDLES = (Where.ALLOCATED, Where.MAPPED, Where.UNMAPPED)

KIND = z3.BitVecSort(2)
WHERE = z3.BitVecSort(3)
#: chunk counts (wide enough for any run; the early limit is checked without wrap-around)
COUNT = z3.BitVecSort(16)

#: the chunk lists whose length is a scalar: (scalar name, region kind, what it counts)
LISTS = (
    ("nfree_g", Kind.GENERAL, "free general chunks in the free list"),
    ("nfree_r", Kind.RESERVED, "free reserved chunks in the free list"),
    ("npend_g", Kind.GENERAL, "general free-list slots promised to undelivered deferred actions"),
    ("npend_r", Kind.RESERVED, "reserved free-list slots promised to undelivered deferred actions"),
    ("nreg_g", Kind.GENERAL, "entries of the general region list"),
    ("nreg_r", Kind.RESERVED, "entries of the reserved region list"),
)

SHAPE = Shape(
    frames=(("kind", KIND), ("owner", FrameSort), ("cend", FrameSort), ("where", WHERE), ("held", z3.BoolSort())),
    scalars=(("heap", z3.BoolSort()),) + tuple((name, COUNT) for name, _, _ in LISTS),
    meaning={
        "kind": "the known region the frame lies in: 0 unknown, 1 general, 2 reserved",
        "owner": "first frame of the chunk holding the frame",
        "cend": "at a chunk's first frame: one past its last frame (0 elsewhere)",
        "where": "at a chunk's first frame: 1 free, 2 pending, 3 allocated, 4 mapped, 5 unmapped (0 elsewhere)",
        "held": "at a chunk's first frame: handed out by the contract's alloc",
        "heap": "switch_to_heap has run: the lists are unbounded",
        **{name: meaning for name, _, meaning in LISTS},
    },
)


def kind_val(k: Kind) -> z3.BitVecRef:
    """``k`` as a z3 numeral."""
    return z3.BitVecVal(int(k), 2)


def where_val(w: Where) -> z3.BitVecRef:
    """``w`` as a z3 numeral."""
    return z3.BitVecVal(int(w), 3)


def count(s: FState, prefix: str, k: z3.BitVecRef) -> z3.BitVecRef:
    """The count ``prefix_g`` or ``prefix_r`` of region kind ``k`` (a general or reserved term)."""
    return z3.If(k == kind_val(Kind.GENERAL), getattr(s, prefix + "_g"), getattr(s, prefix + "_r"))


def with_counts(s: FState, k: z3.BitVecRef, **deltas: int | z3.BitVecRef) -> FState:
    """``s`` with the counts ``prefix`` of kind ``k`` moved by ``delta`` (e.g. ``nfree=-1``)."""
    changes = {}
    for prefix, delta in sorted(deltas.items()):
        for suffix, kv in (("_g", Kind.GENERAL), ("_r", Kind.RESERVED)):
            name = prefix + suffix
            old = getattr(s, name)
            changes[name] = z3.If(k == kind_val(kv), old + delta, old)
    return s.update(**changes)


def _wide(x: z3.BitVecRef) -> z3.BitVecRef:
    return z3.ZeroExt(1, x)


def within_early_capacity(s: FState) -> z3.BoolRef:
    """Before the heap switch every list (free lists counting their promised slots, region lists) fits 32."""
    cap = z3.BitVecVal(EARLY_CAPACITY, COUNT.size() + 1)
    return z3.Or(s.heap, z3.And(
        z3.ULE(_wide(s.nfree_g) + _wide(s.npend_g), cap),
        z3.ULE(_wide(s.nfree_r) + _wide(s.npend_r), cap),
        z3.ULE(_wide(s.nreg_g), cap),
        z3.ULE(_wide(s.nreg_r), cap)))


def _blank_except(fld: Field, first: z3.BitVecRef, end: z3.BitVecRef, at_first: z3.ExprRef,
                  blank: z3.ExprRef) -> Field:
    return store_range(fld, first, end, lambda g: z3.If(g == first, at_first, blank))


def chunk(s: FState, first: z3.BitVecRef, end: z3.BitVecRef, where: z3.BitVecRef,
          held: z3.BoolRef = z3.BoolVal(False)) -> FState:
    """``s`` with ``[first, end)`` made one chunk in ``where`` (fields at ``first``, blank at its other frames)."""
    zero = z3.BitVecVal(0, FrameSort.size())
    return s.update(
        owner=store_range(s.owner, first, end, first),
        cend=_blank_except(s.cend, first, end, end, zero),
        where=_blank_except(s.where, first, end, where, where_val(Where.NONE)),
        held=_blank_except(s.held, first, end, held, z3.BoolVal(False)))


def extend(s: FState, start: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef) -> FState:
    """``s`` with the chunk starting at ``start`` grown to end at ``end`` by taking in ``[first, end)``."""
    zero = z3.BitVecVal(0, FrameSort.size())
    grown = s.update(
        owner=store_range(s.owner, first, end, start),
        cend=store_range(s.cend, first, end, zero),
        where=store_range(s.where, first, end, where_val(Where.NONE)),
        held=store_range(s.held, first, end, z3.BoolVal(False)))
    return grown.update(cend=store(grown.cend, start, end))
