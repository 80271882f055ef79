"""The invariants of the Theseus chunk allocator model: one definition each, with statement and citation.

Design: each invariant is a z3 body over one state (or a pre- and a
post-state) and one or two arbitrary frames; the generic prover proves it
for every operation, and conformance checks it on the impl's snapshots.
Citations point at seed 003 (the Theseus ``frame_allocator`` crate doc) and
at Theseus's Prusti-verified ``TrustedChunk`` bookkeeping
(``libs/trusted_chunk``), whose proved properties are that chunks never
overlap and are created only from memory no other chunk covers.
"""

from __future__ import annotations

import z3

from framemc.design.frames import FState, Inv, InvKind, inv
from framemc.model.theseus.state import Kind, Where, kind_val, where_val, within_early_capacity

__all__ = ["NO_OVERLAP", "CHUNK_WF", "CONSERVATION", "EARLY_CAPACITY_INV", "TYPESTATE", "REGIONS_STABLE",
           "INVARIANTS", "TYPESTATE_MOVES"]

_NONE_K = kind_val(Kind.NONE)
_NONE_W = where_val(Where.NONE)
_TRUSTED_CHUNK = ("Theseus libs/trusted_chunk (Prusti-verified): a TrustedChunk is created only from a range "
                  "that overlaps no existing chunk, so chunks never overlap")

#: the typestate moves a chunk's frames may make in one step (besides staying put)
TYPESTATE_MOVES = (
    (Where.FREE, Where.ALLOCATED), (Where.FREE, Where.PENDING), (Where.PENDING, Where.FREE),
    (Where.ALLOCATED, Where.MAPPED), (Where.MAPPED, Where.UNMAPPED), (Where.UNMAPPED, Where.ALLOCATED),
    (Where.ALLOCATED, Where.FREE), (Where.UNMAPPED, Where.FREE),
)


def _no_overlap(s: FState, f: z3.BitVecRef, g: z3.BitVecRef) -> z3.BoolRef:
    """Chunks never overlap: every frame inside the chunk holding a known frame belongs to that chunk and region kind."""
    o = s.owner[f]
    inside = z3.And(s.kind[f] != _NONE_K, z3.ULE(o, g), z3.ULT(g, s.cend[o]))
    return z3.Implies(inside, z3.And(s.owner[g] == o, s.kind[g] == s.kind[f]))


def _chunk_wf(s: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """A chunk starts at its own first frame in known memory and ends after it; other frames carry no chunk fields."""
    start = s.where[f] != _NONE_W
    return z3.And(
        # a chunk's first frame: known memory, owns itself, non-empty, a real place
        z3.Implies(start, z3.And(s.kind[f] != _NONE_K, s.owner[f] == f, z3.ULT(f, s.cend[f]),
                                 z3.ULE(s.where[f], where_val(Where.UNMAPPED)))),
        # any other frame: blank chunk fields
        z3.Implies(z3.Not(start), z3.And(s.cend[f] == 0, z3.Not(s.held[f]))),
        # the contract's alloc hands out general memory, which it never maps
        z3.Implies(s.held[f], z3.And(s.where[f] == where_val(Where.ALLOCATED),
                                     s.kind[f] == kind_val(Kind.GENERAL))))


def _conservation(s: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """Every known frame lies in a chunk (one, by T-no-overlap), and no chunk starts in unknown memory."""
    o = s.owner[f]
    return z3.And(
        z3.ULE(s.kind[f], kind_val(Kind.RESERVED)),
        z3.If(s.kind[f] != _NONE_K,
              z3.And(s.where[o] != _NONE_W, z3.ULE(o, f), z3.ULT(f, s.cend[o])),
              s.where[f] == _NONE_W))


def _early_capacity(s: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """Before the heap switch each chunk list holds at most 32 chunks, counting slots promised to deferred actions."""
    return within_early_capacity(s)


def _typestate(pre: FState, post: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """A known frame's chunk moves only Free->Allocated/Pending, Pending->Free, Allocated->Mapped->Unmapped->Allocated, Allocated/Unmapped->Free."""
    a, b = pre.where[pre.owner[f]], post.where[post.owner[f]]
    moves = [z3.And(a == where_val(x), b == where_val(y)) for x, y in TYPESTATE_MOVES]
    return z3.Implies(pre.kind[f] != _NONE_K, z3.Or(a == b, *moves))


def _regions_stable(pre: FState, post: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """A known frame stays known and keeps its region kind (general or reserved) forever."""
    return z3.Implies(pre.kind[f] != _NONE_K, post.kind[f] == pre.kind[f])


NO_OVERLAP = inv(_no_overlap, name="T-no-overlap", arity=2,
                 citation="seed 003: the allocator tracks free and allocated frames as chunks of contiguous frames; "
                          + _TRUSTED_CHUNK)
CHUNK_WF = inv(_chunk_wf, name="T-chunk-wf",
               citation="seed 003: 'A range of contiguous frames in physical memory' (Frames; the minimum unit is "
                        "a single frame); Theseus TrustedChunk keeps start <= end")
CONSERVATION = inv(_conservation, name="T-conservation",
                   citation="seed 003: 'PhysicalMemoryRegion represents a range of contiguous frames in physical "
                            "memory for bookkeeping purposes'; every frame of a known region is free, pending or "
                            "allocated, and " + _TRUSTED_CHUNK)
EARLY_CAPACITY_INV = inv(_early_capacity, name="T-early-capacity",
                         citation="seed 003: 'Early pre-heap allocations are limited to tracking a small number of "
                                  "available chunks (currently 32)'")
TYPESTATE = inv(_typestate, name="T-typestate", kind=InvKind.STEP,
                citation="seed 003: 'A type alias for Frames in the Allocated/Mapped/Unmapped state' (Theseus "
                         "MemoryState typestate; dropping Mapped frames is a bug: they must be unmapped first)")
REGIONS_STABLE = inv(_regions_stable, name="T-regions-stable", kind=InvKind.STEP,
                     citation="seed 003: 'Types of physical memory' (MemoryRegionType); Theseus #451: reserved "
                              "regions are never carved out of general-purpose memory")

#: every invariant, in report order
INVARIANTS: tuple[Inv, ...] = (NO_OVERLAP, CHUNK_WF, CONSERVATION, EARLY_CAPACITY_INV, TYPESTATE, REGIONS_STABLE)
