"""The operations of the Theseus chunk allocator model, and the impl's public calls as macros of them.

Design (Hyperkernel style): each operation is a pure ``(state, *args) ->
Step``, its guard what the impl checks before changing anything, its effect
written with :func:`~framemc.model.theseus.state.chunk` (make a range one
chunk) and :func:`~framemc.model.theseus.state.extend` (grow a chunk).  The
seeds are the frames an operation reads or writes, where the prover assumes
the invariants.  Allocation works as in Theseus: the wanted frames become an
Allocated chunk and the leftovers of the free chunk they came from are
PENDING pieces of a deferred action until :func:`deliver` puts them, unmerged,
in the free list.  Dropping merges with one free neighbour in heap mode (the
one starting at the chunk's end, else the one ending at its start).
"""

from __future__ import annotations

from typing import Callable

import z3

from framemc.design.frames import FState, FrameSort, Op, RangeGuard, Step, choose, op, store, store_range
from framemc.model.theseus.state import (
    HANDLES, Kind, Where, chunk, count, extend, kind_val, where_val, with_counts, within_early_capacity,
)

__all__ = ["OPERATIONS", "MACROS", "BUGGY", "free_into", "adjacent_before"]

B = z3.BoolSort()
ONE = z3.BitVecVal(1, FrameSort.size())
_FREE, _PENDING, _NONE = where_val(Where.FREE), where_val(Where.PENDING), where_val(Where.NONE)
_GENERAL, _RESERVED = kind_val(Kind.GENERAL), kind_val(Kind.RESERVED)

#: ``(state, first, k) -> (b, ok)``: the free chunk a drop in heap mode may merge into from below
Before = Callable[[FState, z3.BitVecRef, z3.BitVecRef], tuple[z3.BitVecRef, z3.BoolRef]]


def _is(s: FState, x: z3.BitVecRef, *wheres: Where) -> z3.BoolRef:
    return z3.Or(*(s.where[x] == where_val(w) for w in wheres))


def _unknown(s: FState) -> Callable[[z3.BitVecRef], z3.BoolRef]:
    return lambda g: s.kind[g] == kind_val(Kind.NONE)


def new_region(s: FState, first: z3.BitVecRef, end: z3.BitVecRef, k: z3.BitVecRef,
               may_cover: Callable[[z3.BitVecRef], z3.BoolRef]) -> Step:
    """Learn ``[first, end)`` as a region of kind ``k``, one free chunk, where every frame meets ``may_cover``."""
    post = chunk(s.update(kind=store_range(s.kind, first, end, k)), first, end, _FREE)
    post = with_counts(post, k, nreg=1, nfree=1)
    guard = z3.And(z3.ULT(first, end), z3.Or(k == _GENERAL, k == _RESERVED), within_early_capacity(post))
    return Step(guard, post, (RangeGuard(first, end, may_cover),), (first, end))


def add_region(s: FState, first: z3.BitVecRef, end: z3.BitVecRef, k: z3.BitVecRef) -> Step:
    """Learn the unknown range [first, end) as a general or reserved region: one free chunk (init, per area)."""
    return new_region(s, first, end, k, _unknown(s))


def new_reserved(s: FState, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """allocate_frames_at outside every known region: [first, end), all unknown, becomes a free reserved region."""
    return new_region(s, first, end, _RESERVED, _unknown(s))


def adjacent_before(s: FState, first: z3.BitVecRef, k: z3.BitVecRef) -> tuple[z3.BitVecRef, z3.BoolRef]:
    """The free chunk of kind ``k`` ending exactly at ``first``, and whether there is one."""
    b = s.owner[first - ONE]
    return b, z3.And(first != 0, s.kind[b] == k, s.where[b] == _FREE, s.cend[b] == first)


def free_into(s: FState, first: z3.BitVecRef, end: z3.BitVecRef, k: z3.BitVecRef,
              before: Before = adjacent_before) -> tuple[FState, tuple[z3.BitVecRef, ...]]:
    """``[first, end)`` returned to the free list of kind ``k``: in heap mode merged into the free chunk starting at
    ``end``, else into the one ``before`` finds, else (and always before the heap switch) inserted as it is."""
    b, before_ok = before(s, first, k)
    after_ok = z3.And(s.heap, s.where[end] == _FREE, s.kind[end] == k)
    by_after = chunk(s, first, s.cend[end], _FREE)
    by_before = extend(s, b, first, end)
    inserted = with_counts(chunk(s, first, end, _FREE), k, nfree=1)
    post = by_after.ite(after_ok, by_before.ite(z3.And(s.heap, before_ok), inserted))
    return post, (end, b)


def add_free_memory(s: FState, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """Add the unknown range [first, end) as general memory; it enters the free list as a dropped chunk does."""
    known = s.update(kind=store_range(s.kind, first, end, _GENERAL))
    post, seeds = free_into(with_counts(known, _GENERAL, nreg=1), first, end, _GENERAL)
    guard = z3.And(z3.ULT(first, end), within_early_capacity(post))
    return Step(guard, post, (RangeGuard(first, end, _unknown(s)),), (first, end) + seeds)


def drop_with(s: FState, x: z3.BitVecRef, before: Before, droppable: tuple[Where, ...]) -> Step:
    """The drop of the chunk at ``x`` (in one of ``droppable``), merging as ``before`` allows."""
    post, seeds = free_into(s, x, s.cend[x], s.kind[x], before)
    guard = z3.And(_is(s, x, *droppable), within_early_capacity(post))
    return Step(guard, post, (), (x, s.cend[x]) + seeds)


def drop(s: FState, x: z3.BitVecRef) -> Step:
    """Drop the Frames object at x (Allocated or Unmapped; never Mapped): back to its free list, merged in heap mode."""
    return drop_with(s, x, adjacent_before, (Where.ALLOCATED, Where.UNMAPPED))


def switch_to_heap(s: FState) -> Step:
    """Move every list to the heap: no more 32-chunk limit (idempotent)."""
    return Step(z3.BoolVal(True), s.update(heap=z3.BoolVal(True)))


def _take(s: FState, x: z3.BitVecRef, c: z3.BitVecRef, nchunks: int, first: z3.BitVecRef, end: z3.BitVecRef,
          hold: z3.BoolRef) -> Step:
    """Allocate [first, end) out of the free chunks ``[x, c)`` (``nchunks`` of them): leftovers become PENDING."""
    k = s.kind[x]
    lower, upper = z3.ULT(x, first), z3.ULT(end, c)
    promised = z3.If(lower, z3.BitVecVal(1, 16), z3.BitVecVal(0, 16)) + z3.If(upper, z3.BitVecVal(1, 16),
                                                                           z3.BitVecVal(0, 16))
    t = with_counts(s, k, nfree=-nchunks, npend=promised)
    # an empty range makes chunk() a no-op, so absent leftovers need no case split
    t = chunk(chunk(chunk(t, first, end, where_val(Where.ALLOCATED), hold), x, first, _PENDING), end, c, _PENDING)
    guard = z3.And(s.where[x] == _FREE, z3.ULE(x, first), z3.ULT(first, end), z3.ULE(end, c),
                   z3.Or(z3.Not(hold), k == _GENERAL), z3.UGE(count(s, "nfree", k), nchunks),
                   within_early_capacity(t))
    return Step(guard, t, (), (x, first, end, c))


def alloc(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef, hold: z3.BoolRef) -> Step:
    """Allocate [first, end) out of the free chunk at x; its leftovers go to a deferred action (held: contract alloc)."""
    return _take(s, x, s.cend[x], 1, first, end, hold)


def alloc2(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """In heap mode, allocate [first, end) across the free chunk at x and the free chunk of its kind right after it."""
    y = s.cend[x]
    step = _take(s, x, s.cend[y], 2, first, end, z3.BoolVal(False))
    joint = z3.And(s.heap, s.where[y] == _FREE, s.kind[y] == s.kind[x], z3.ULT(first, y), z3.ULT(y, end))
    return Step(z3.And(step.guard, joint), step.post, (), step.seeds + (y,))


def deliver(s: FState, p: z3.BitVecRef) -> Step:
    """Perform one piece of a deferred action: the PENDING chunk at p enters its free list, unmerged."""
    k = s.kind[p]
    post = with_counts(s.update(where=store(s.where, p, _FREE)), k, nfree=1, npend=-1)
    return Step(z3.And(s.where[p] == _PENDING, z3.UGE(count(s, "npend", k), 1)), post, (), (p,))


def _transition(source: Where, target: Where) -> Callable[[FState, z3.BitVecRef], Step]:
    def move(s: FState, x: z3.BitVecRef) -> Step:
        guard = z3.And(s.where[x] == where_val(source), z3.Not(s.held[x]))
        return Step(guard, s.update(where=store(s.where, x, where_val(target))), (), (x,))
    return move


def into_mapped(s: FState, x: z3.BitVecRef) -> Step:
    """Allocated -> Mapped, for the Frames object at x (not one the contract's alloc holds)."""
    return _transition(Where.ALLOCATED, Where.MAPPED)(s, x)


def into_unmapped(s: FState, x: z3.BitVecRef) -> Step:
    """Mapped -> Unmapped, for the Frames object at x."""
    return _transition(Where.MAPPED, Where.UNMAPPED)(s, x)


def into_allocated(s: FState, x: z3.BitVecRef) -> Step:
    """Unmapped -> Allocated, for the Frames object at x."""
    return _transition(Where.UNMAPPED, Where.ALLOCATED)(s, x)


def split(s: FState, x: z3.BitVecRef, at: z3.BitVecRef) -> Step:
    """Split the live chunk at x into [x, at) and [at, end): both keep its state and holder."""
    c, w, h = s.cend[x], s.where[x], s.held[x]
    post = chunk(chunk(s, x, at, w, h), at, c, w, h)
    guard = z3.And(_is(s, x, *HANDLES), z3.ULT(x, at), z3.ULT(at, c))
    return Step(guard, post, (), (x, at, c))


def merge(s: FState, x: z3.BitVecRef) -> Step:
    """Merge the Frames object at x with the one starting at its end (same region kind and typestate)."""
    y = s.cend[x]
    guard = z3.And(_is(s, x, *HANDLES), s.where[y] == s.where[x], s.kind[y] == s.kind[x],
                   z3.Not(s.held[x]), z3.Not(s.held[y]))
    return Step(guard, extend(s, x, y, s.cend[y]), (), (x, y, s.cend[y]))


def stutter(s: FState) -> Step:
    """Change nothing (a refused call)."""
    return Step.unchanged(s)


F = ("x", FrameSort)
FIRST, END = ("first", FrameSort), ("end", FrameSort)

#: every operation, in obligation order
OPERATIONS: dict[str, Op] = {o.name: o for o in (
    op(add_region, FIRST, END, ("k", z3.BitVecSort(2))),
    op(add_free_memory, FIRST, END),
    op(switch_to_heap),
    op(alloc, F, FIRST, END, ("hold", B)),
    op(alloc2, F, FIRST, END),
    op(deliver, ("p", FrameSort)),
    op(into_mapped, F),
    op(into_unmapped, F),
    op(into_allocated, F),
    op(split, F, ("at", FrameSort)),
    op(merge, F),
    op(drop, F),
    op(new_reserved, FIRST, END),
    op(stutter),
)}


# ----------------------------------------------------------------- macros: the impl's public calls

def _maybe(cond: z3.BoolRef, s: FState, step: Callable[[FState], Step]) -> Step:
    return choose(cond, step(s), Step.unchanged(s))


def _deliver_leftovers(taken: Step, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef,
                       c: z3.BitVecRef) -> Step:
    """``taken`` (an allocation from ``[x, c)``), then its deferred action dropped at once."""
    low = taken.then(lambda t: _maybe(z3.ULT(x, first), t, lambda u: deliver(u, x)))
    return low.then(lambda t: _maybe(z3.ULT(end, c), t, lambda u: deliver(u, end)))


def _take_any(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef, two: z3.BoolRef,
              hold: z3.BoolRef) -> Step:
    """alloc or (``two``) alloc2, then its leftovers delivered."""
    c = z3.If(two, s.cend[s.cend[x]], s.cend[x])
    taken = choose(two, alloc2(s, x, first, end), alloc(s, x, first, end, hold))
    return _deliver_leftovers(taken, x, first, end, c)


def allocate_frames(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """allocate_frames(n): [first, end) from the general free chunk at x, leftovers delivered at once."""
    step = _take_any(s, x, first, end, z3.BoolVal(False), z3.BoolVal(False))
    return Step(z3.And(step.guard, s.kind[x] == _GENERAL), step.post, step.ranged, step.seeds)


def allocate_frames_deferred(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """allocate_frames_deferred(None or a free general frame, n): [first, end) from the general free chunk at x, leftovers PENDING."""
    step = alloc(s, x, first, end, z3.BoolVal(False))
    return Step(z3.And(step.guard, s.kind[x] == _GENERAL), step.post, step.ranged, step.seeds)


def allocate_frames_at(s: FState, first: z3.BitVecRef, end: z3.BitVecRef, x: z3.BitVecRef, two: z3.BoolRef,
                       fresh: z3.BoolRef, rfirst: z3.BitVecRef, rend: z3.BitVecRef) -> Step:
    """allocate_frames_at: [first, end) from free chunks (one, or two in heap mode), after learning a new reserved
    region [rfirst, rend) when ``fresh``; leftovers delivered at once."""
    take = lambda t: _take_any(t, x, first, end, two, z3.BoolVal(False))  # noqa: E731
    return choose(fresh, new_reserved(s, rfirst, rend).then(take), take(s))


def contract_alloc(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """The contract's alloc: [first, end) from the general free chunk at x, held, leftovers delivered at once."""
    return _take_any(s, x, first, end, z3.BoolVal(False), z3.BoolVal(True))


def contract_dealloc_piece(s: FState, x: z3.BitVecRef, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """The contract's dealloc of [first, end) inside the held chunk at x: split it off, then drop it."""
    c = s.cend[x]
    inside = z3.And(s.held[x], z3.ULE(x, first), z3.ULT(first, end), z3.ULE(end, c))
    low = _maybe(z3.ULT(x, first), s, lambda t: split(t, x, first))
    high = low.then(lambda t: _maybe(z3.ULT(end, c), t, lambda u: split(u, first, end)))
    step = high.then(lambda t: drop(t, first))
    return Step(z3.And(inside, step.guard), step.post, step.ranged, step.seeds)


#: the impl's public calls as compositions of operations (single operations are used by their own name)
MACROS: dict[str, Op] = {o.name: o for o in (
    op(allocate_frames, F, FIRST, END),
    op(allocate_frames_deferred, F, FIRST, END),
    op(allocate_frames_at, FIRST, END, F, ("two", B), ("fresh", B), ("rfirst", FrameSort), ("rend", FrameSort)),
    op(contract_alloc, F, FIRST, END),
    op(contract_dealloc_piece, F, FIRST, END),
)}


# ----------------------------------------------------------------- the model halves of the planted bugs

def new_reserved_over_general(s: FState, first: z3.BitVecRef, end: z3.BitVecRef) -> Step:
    """alloc-at-skips-overlap: the new reserved region is checked against reserved memory only, not general."""
    return new_region(s, first, end, _RESERVED, lambda g: s.kind[g] != _RESERVED)


def drop_mapped(s: FState, x: z3.BitVecRef) -> Step:
    """drop-mapped-frames: drop accepts a Mapped Frames object too."""
    return drop_with(s, x, adjacent_before, HANDLES)


def drop_merge_non_adjacent(s: FState, x: z3.BitVecRef, b: z3.BitVecRef) -> Step:
    """merge-non-adjacent: drop merges into a free chunk of its kind below it that need not end where it starts."""
    def below(t: FState, first: z3.BitVecRef, k: z3.BitVecRef) -> tuple[z3.BitVecRef, z3.BoolRef]:
        return b, z3.And(t.where[b] == _FREE, t.kind[b] == k, z3.ULE(t.cend[b], first))
    step = drop_with(s, x, below, (Where.ALLOCATED, Where.UNMAPPED))
    return Step(step.guard, step.post, step.ranged, step.seeds + (b,))


def drop_unchecked(s: FState, x: z3.BitVecRef) -> Step:
    """early-list-overflow: drop inserts into an early list without checking that it has room."""
    post, seeds = free_into(s, x, s.cend[x], s.kind[x])
    return Step(_is(s, x, Where.ALLOCATED, Where.UNMAPPED), post, (), (x, s.cend[x]) + seeds)


#: broken operations by bug name: (operation replaced, broken operation)
BUGGY: dict[str, tuple[str, Op]] = {
    "alloc-at-skips-overlap": ("new_reserved", op(new_reserved_over_general, FIRST, END, name="new_reserved")),
    "drop-mapped-frames": ("drop", op(drop_mapped, F, name="drop")),
    "merge-non-adjacent": ("drop", op(drop_merge_non_adjacent, F, ("b", FrameSort), name="drop")),
    "early-list-overflow": ("drop", op(drop_unchecked, F, name="drop")),
}
