"""The z3 model of the per-CPU pool allocator: where each frame is, and how many places hold it.

Design: one value per frame, written in framemc's per-frame vocabulary
(``framemc.design.frames``): ``where`` (unknown, pool, a CPU's list, used),
``cpu`` (whose list, or who allocated it) and ``copies`` (how many places
hold the frame).  A correct allocator keeps ``copies`` at one for every
known frame; the planted bug takes a frame that another CPU already took,
and the one invariant refutes it.
"""

from __future__ import annotations

import z3

from framemc.design.frames import FState, FrameModel, FrameSort, Shape, Step, Variant, inv, op, store

__all__ = ["MODEL", "SHAPE", "UNKNOWN", "POOL", "LIST", "USED"]

B8 = z3.BitVecSort(8)
#: ``where`` codes
UNKNOWN, POOL, LIST, USED = range(4)
SHAPE = Shape(frames=(("where", B8), ("cpu", B8), ("copies", B8)), scalars=(("ncpus", B8),),
              meaning={"where": "0 unknown, 1 pool, 2 a CPU's free list, 3 allocated",
                       "cpu": "the CPU whose list holds the frame, or that allocated it",
                       "copies": "how many places hold the frame"})


def _v(value: int) -> z3.BitVecRef:
    return z3.BitVecVal(value, 8)


def one_place(s: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """Every known frame is in exactly one place: the pool, one CPU's list, or allocated once."""
    return z3.And(z3.ULE(s.where[f], _v(USED)),
                  z3.If(s.where[f] == _v(UNKNOWN), s.copies[f] == 0, s.copies[f] == 1),
                  z3.Implies(z3.Or(s.where[f] == _v(LIST), s.where[f] == _v(USED)), z3.ULT(s.cpu[f], s.ncpus)))


ONE_PLACE = inv(one_place, name="P-one-place", citation="examples/percpu_pool: a frame is never handed out twice")


def _move(s: FState, f: z3.BitVecRef, src: int, dst: int, cpu: z3.BitVecRef, extra: z3.BoolRef = z3.BoolVal(True)
          ) -> Step:
    # a frame in the pool belongs to no CPU: its cpu field is 0
    owner = _v(0) if dst == POOL else cpu
    return Step(z3.And(s.where[f] == _v(src), extra, z3.ULT(cpu, s.ncpus)),
                s.update(where=store(s.where, f, _v(dst)), cpu=store(s.cpu, f, owner)), seeds=(f,))


def refill(s: FState, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """A frame moves from the pool to ``cpu``'s list, under the pool lock."""
    return _move(s, f, POOL, LIST, cpu)


def alloc(s: FState, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """``cpu`` hands out a frame of its own list."""
    return _move(s, f, LIST, USED, cpu, s.cpu[f] == cpu)


def free(s: FState, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """An allocated frame goes back to ``cpu``'s list."""
    return _move(s, f, USED, LIST, cpu)


def flush(s: FState, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """A frame of ``cpu``'s list goes back to the pool."""
    return _move(s, f, LIST, POOL, cpu, s.cpu[f] == cpu)


def refill_without_lock(s: FState, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """Planted bug: a refill that read the pool without the lock takes a frame another CPU already took."""
    taken = z3.Or(s.where[f] == _v(POOL), s.where[f] == _v(LIST))
    return Step(z3.And(taken, z3.ULT(cpu, s.ncpus)),
                s.update(where=store(s.where, f, _v(LIST)), cpu=store(s.cpu, f, cpu),
                         copies=store(s.copies, f, z3.If(s.where[f] == _v(LIST), s.copies[f] + 1, s.copies[f]))),
                seeds=(f,))


def _initial(s: FState) -> z3.BoolRef:
    g = z3.Const("g", FrameSort)
    # every frame below some bound starts in the pool, the rest is unknown
    return z3.And(z3.UGE(s.ncpus, _v(1)),
                  z3.ForAll([g], z3.Or(z3.And(s.where[g] == _v(POOL), s.copies[g] == 1),
                                       z3.And(s.where[g] == _v(UNKNOWN), s.copies[g] == 0))))


def _witnesses() -> list[tuple[str, FState, int]]:
    s = SHAPE.concrete({"where": {0: POOL, 1: LIST, 2: USED}, "cpu": {1: 1, 2: 0},
                        "copies": {0: 1, 1: 1, 2: 1}}, {"ncpus": 2})
    return [("one frame in each place", s, 3)]


_CPU, _F = ("cpu", B8), ("f", FrameSort)
OPERATIONS = {o.name: o for o in (op(refill, _CPU, _F), op(alloc, _CPU, _F), op(free, _CPU, _F),
                                  op(flush, _CPU, _F))}

MODEL = FrameModel(
    shape=SHAPE,
    initial=_initial,
    operations=OPERATIONS,
    invariants=(ONE_PLACE,),
    variants={"refill-without-lock": Variant("refill-without-lock", "refill",
                                             op(refill_without_lock, _CPU, _F, name="refill"), (ONE_PLACE,))},
    witnesses=_witnesses,
    rlimit=5_000_000,
)
