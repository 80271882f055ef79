"""framemc.model.theseus: the z3 model of the Theseus chunk frame allocator (seed 003).

The state (:mod:`.state`) is per-frame fields (region kind, owning chunk,
and a chunk's end, place and holder at its first frame) plus list sizes;
operations and the impl's public calls as macros are in :mod:`.ops`;
invariants in :mod:`.invariants`.  :data:`MODEL` bundles them as one
:class:`~framemc.design.frames.FrameModel` for the generic prover and the
generic conformance check.  This package never imports ``framemc.impl``.
"""

from __future__ import annotations

import z3

from framemc.design.frames import FState, FrameModel, Variant
from framemc.model.theseus.invariants import EARLY_CAPACITY_INV, INVARIANTS, NO_OVERLAP, REGIONS_STABLE, TYPESTATE
from framemc.model.theseus.ops import BUGGY, MACROS, OPERATIONS
from framemc.model.theseus.state import LISTS, SHAPE, Kind, Where

__all__ = ["MODEL", "SHAPE", "INVARIANTS", "OPERATIONS", "MACROS", "VARIANTS", "initial", "points", "witnesses",
           "concrete_state", "Kind", "Where"]


def initial(s: FState) -> z3.BoolRef:
    """Before init: no memory is known, every list is empty, the lists are the early arrays."""
    f = z3.BitVec("init.f", 64)
    return z3.And(z3.Not(s.heap), *(getattr(s, name) == 0 for name, _, _ in LISTS),
                  z3.ForAll([f], z3.And(s.kind[f] == int(Kind.NONE), s.where[f] == int(Where.NONE),
                                        s.cend[f] == 0, z3.Not(s.held[f]))))


def points(s: FState, frames: tuple[z3.BitVecRef, ...]) -> tuple[z3.BitVecRef, ...]:
    """Besides a goal frame, the invariants are needed at the first frame of its chunk."""
    return tuple(s.owner[f] for f in frames)


def concrete_state(chunks: list[tuple[int, int, Where, bool]], regions: list[tuple[int, int, Kind]],
                   *, heap: bool, counts: dict[str, int] | None = None) -> FState:
    """A concrete state from ``(first, end, where, held)`` chunks and ``(first, end, kind)`` regions (later ones
    win where they overlap; unknown frames own frame 0); the list sizes are counted unless given."""
    kind: dict[int, int] = {}
    for first, end, k in regions:
        kind.update({g: int(k) for g in range(first, end)})
    owner: dict[int, int] = {}
    cend: dict[int, int] = {}
    where: dict[int, int] = {}
    held: dict[int, bool] = {}
    # larger chunks first at one start, so that a chunk inside another shows as the overlap it is
    for first, end, w, h in sorted(chunks, key=lambda c: (c[0], -c[1])):
        owner.update({g: first for g in range(first, end)})
        for g in range(first + 1, end):
            cend.pop(g, None), where.pop(g, None), held.pop(g, None)
        cend[first], where[first], held[first] = end, int(w), h
    if counts is None:
        counts = _count(chunks, regions, kind)
    return SHAPE.concrete({"kind": kind, "owner": owner, "cend": cend, "where": where, "held": held},
                          {"heap": heap, **counts})


def _count(chunks: list[tuple[int, int, Where, bool]], regions: list[tuple[int, int, Kind]],
           kind: dict[int, int]) -> dict[str, int]:
    out = {name: 0 for name, _, _ in LISTS}
    suffix = {int(Kind.GENERAL): "_g", int(Kind.RESERVED): "_r"}
    for first, _, w, _ in chunks:
        if w in (Where.FREE, Where.PENDING):
            out[("nfree" if w is Where.FREE else "npend") + suffix[kind[first]]] += 1
    for _, _, k in regions:
        out["nreg" + suffix[int(k)]] += 1
    return out


_A, _M, _U, _F, _P = Where.ALLOCATED, Where.MAPPED, Where.UNMAPPED, Where.FREE, Where.PENDING
#: a 16-frame layout with a chunk in every place: general [0, 12), reserved [12, 16)
_LAYOUT = [(0, 2, _F, False), (2, 4, _A, False), (4, 6, _A, False), (6, 7, _M, False), (7, 8, _U, False),
           (8, 9, _P, False), (9, 10, _F, False), (10, 12, _A, True), (12, 14, _F, False), (14, 16, _F, False)]
_REGIONS = [(0, 12, Kind.GENERAL), (12, 16, Kind.RESERVED)]


def witnesses() -> list[tuple[str, FState, int]]:
    """Small states (every invariant holds at every frame) from which each operation can start."""
    return [
        ("empty early", concrete_state([], [], heap=False), 1),
        ("early", concrete_state(_LAYOUT, _REGIONS, heap=False), 16),
        ("heap", concrete_state(_LAYOUT, _REGIONS, heap=True), 16),
    ]


#: the model halves of the planted bugs, with the invariants whose obligations they refute
VARIANTS: dict[str, Variant] = {
    name: Variant(name, replaces, broken, breaks)
    for name, (replaces, broken), breaks in sorted(
        (name, BUGGY[name], breaks) for name, breaks in {
            "alloc-at-skips-overlap": (NO_OVERLAP, REGIONS_STABLE),
            "drop-mapped-frames": (TYPESTATE,),
            "merge-non-adjacent": (NO_OVERLAP,),
            "early-list-overflow": (EARLY_CAPACITY_INV,),
        }.items())
}

#: the Theseus design's model, for the generic prover and conformance (the generic rlimit: in the prover's integer
#: encoding of frame numbers the costliest obligation, drop/T-no-overlap, needs about a quarter of a million units)
MODEL = FrameModel(shape=SHAPE, initial=initial, operations=OPERATIONS, invariants=INVARIANTS, points=points,
                   variants=VARIANTS, macros=MACROS, witnesses=witnesses)
