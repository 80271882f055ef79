"""The z3 state of the buddy + MetaSlot allocator, and the vocabulary over it.

Design: the state is a bundle of per-frame fields indexed by a 64-bit frame
number (``paddr // PAGE_SIZE``), one per MetaSlot field plus the bookkeeping
the snapshot shows (free-block heads, allocation and cache coverage counts,
added ranges).  Frame numbers are bit-vectors, so alignment, buddy
computation (``first ^ 2**k``) and end-of-range overflow are exact.

The buddy free lists are encoded by their *heads*: ``hord[f]`` is the order
of the free block whose first frame is ``f`` (``NO_HEAD`` otherwise).  Frame
``g`` is covered by a free block of order ``k`` exactly when
``hord[align(g, k)] == k``, so the number of free blocks covering a frame is a
sum of ``max_order + 1`` terms: overlapping free blocks show up as a count of
two, which is what makes the non-overlap invariants non-trivial.  Allocation
and the per-CPU caches are per-frame counts for the same reason.

Ghost state (fields a snapshot does not show, which the invariants need to
say what the allocator must do): the generation a frame had when it was last
claimed (``gen0``), the number of live handles to a frame (``handles``), who
took the last step (``actor``: a CPU, the holder of a handle, or unknown) and
the number of CPUs (``ncpus``, symbolic in proofs, so they hold for every CPU
count).  A state read from a snapshot gets its ghost fields from the visible
ones (:func:`with_derived_ghosts`, a refinement mapping), so concrete checks
need nothing the impl does not show.

The same :class:`State` type holds symbolic fields (uninterpreted functions,
for proofs) and concrete lookup tables built from a snapshot (checks);
predicates never know which.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
import z3

# the per-frame vocabulary every design's model is written in (Field, store, numeral, ... live there)
from framemc.design.frames import FRAME_BITS, Field, FrameSort, frame
from framemc.errors import UsageError
from framemc.snapshot import (
    FLAG_POISONED,
    GUARD_POISONED,
    PURPOSE_DMA,
    PURPOSE_NONE,
    PURPOSE_PAGE_TABLE,
    REFCOUNT_BUSY,
    REFCOUNT_MAX,
    REFCOUNT_UNIQUE,
    REFCOUNT_UNUSED,
    ZERO_DIGEST,
)

#: bits of a small per-frame field (purpose, flags, guard, orders, counts, CPU ids)
SMALL_BITS = 8
#: bits of the payload digest (:func:`framemc.snapshot.page_digest`)
DIGEST_BITS = 32
#: ``hord`` value of a frame that is not the first frame of a free block
NO_HEAD = (1 << SMALL_BITS) - 1
#: ``actor`` of a step whose author is not known (a pair of snapshots of a running kernel)
ACTOR_ANY = (1 << SMALL_BITS) - 1
#: ``actor`` of a step taken by the holder of a handle (its own writes, its ``on_last_ref`` teardown)
ACTOR_HOLDER = (1 << SMALL_BITS) - 2
#: the most CPUs the model has: CPU ids lie below the actor codes
MAX_CPUS = ACTOR_HOLDER

SmallSort = z3.BitVecSort(SMALL_BITS)
WordSort = z3.BitVecSort(64)
DigestSort = z3.BitVecSort(DIGEST_BITS)


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """The bounds of the model: a frozen value passed to everything that builds formulas."""

    #: highest buddy order; free blocks hold at most ``2**max_order`` frames
    max_order: int = 3
    #: number of CPUs with an order-0 cache, for states read from snapshots and for witnesses (proofs
    #: leave the CPU count symbolic: they hold for every count from 1 to ``MAX_CPUS``)
    ncpus: int = 2

    def __post_init__(self) -> None:
        """Reject bounds the encoding cannot represent."""
        if not 0 <= self.max_order < min(NO_HEAD, FRAME_BITS - 1):
            raise UsageError(f"max_order must be in 0..{FRAME_BITS - 2}, got {self.max_order}")
        if not 1 <= self.ncpus <= MAX_CPUS:
            raise UsageError(f"ncpus must be in 1..{MAX_CPUS}, got {self.ncpus}")


@dataclass(frozen=True, slots=True)
class State:
    """One allocator state as z3 terms: per-frame arrays plus the early allocator's scalars."""

    #: ``MetaSlot.refcount`` (64-bit)
    rc: Field
    #: ``MetaSlot.purpose`` code
    purpose: Field
    #: ``MetaSlot.flags`` bits
    flags: Field
    #: ``MetaSlot.guard`` bits
    guard: Field
    #: ``MetaSlot.generation`` (64-bit)
    gen: Field
    #: True when the frame's payload is all zero
    pz: Field
    #: digest of the frame's payload; equal digests mean an unchanged payload
    pay: Field
    #: order of the free block starting at this frame, or ``NO_HEAD``
    hord: Field
    #: number of allocated ranges covering the frame
    nalloc: Field
    #: number of per-CPU cache entries holding the frame
    ncache: Field
    #: CPU whose cache holds the frame (meaningful when ``ncache > 0``)
    ccpu: Field
    #: True once the frame was given to ``add_free_memory``
    added: Field
    #: first frame of the ``add_free_memory`` range that added the frame (its pool)
    pool: Field
    #: ghost: the generation the frame had when it was last claimed (the claim bumps it to ``gen0 + 1``)
    gen0: Field
    #: ghost: the number of live handles to the frame
    handles: Field
    #: first frame of the early allocator's bump range
    early_lo: z3.BitVecRef
    #: bump pointer: frames in ``[early_lo, early_end)`` were handed out early
    early_end: z3.BitVecRef
    #: end of the early allocator's bump range
    early_hi: z3.BitVecRef
    #: True once ``init`` retired the early allocator
    booted: z3.BoolRef
    #: ghost: who took the step into this state: a CPU id, ``ACTOR_HOLDER`` or ``ACTOR_ANY``
    actor: z3.BitVecRef
    #: number of CPUs (never changed by an operation)
    ncpus: z3.BitVecRef
    #: ghost: first frame of the free block the pool-lock holder is still working on (merging it upward
    #: after a free, or splitting it down for an alloc); meaningful when ``pending_order`` is not NO_HEAD
    pending: z3.BitVecRef
    #: ghost: that block's order, or ``NO_HEAD`` when the pool is idle (no buddy operation in progress)
    pending_order: z3.BitVecRef


#: the per-frame array fields, in display order, and their value sorts
FRAME_FIELDS: tuple[tuple[str, z3.SortRef], ...] = (
    ("rc", WordSort),
    ("purpose", SmallSort),
    ("flags", SmallSort),
    ("guard", SmallSort),
    ("gen", WordSort),
    ("pz", z3.BoolSort()),
    ("pay", DigestSort),
    ("hord", SmallSort),
    ("nalloc", SmallSort),
    ("ncache", SmallSort),
    ("ccpu", SmallSort),
    ("added", z3.BoolSort()),
    ("pool", FrameSort),
)
#: the per-frame ghost fields (not in snapshots), and their value sorts
GHOST_FIELDS: tuple[tuple[str, z3.SortRef], ...] = (
    ("gen0", WordSort),
    ("handles", WordSort),
)
#: every per-frame field of the model, visible then ghost: what a counterexample shows
MODEL_FIELDS = FRAME_FIELDS + GHOST_FIELDS
#: the scalar fields
SCALAR_FIELDS: tuple[tuple[str, z3.SortRef], ...] = (
    ("early_lo", FrameSort),
    ("early_end", FrameSort),
    ("early_hi", FrameSort),
    ("booted", z3.BoolSort()),
    ("actor", SmallSort),
    ("ncpus", SmallSort),
    ("pending", FrameSort),
    ("pending_order", SmallSort),
)


def symbolic_state(prefix: str) -> State:
    """A state whose every field is a fresh z3 constant named ``prefix.field``."""
    values: dict[str, object] = {
        name: Field(z3.Function(f"{prefix}.{name}", FrameSort, sort)) for name, sort in MODEL_FIELDS
    }
    values.update({name: z3.Const(f"{prefix}.{name}", sort) for name, sort in SCALAR_FIELDS})
    return State(**values)


def derived_handles(rc: z3.BitVecRef) -> z3.BitVecRef:
    """The live handles a refcount stands for: ``rc`` when shared, 1 when UNIQUE, else none."""
    return z3.If(z3.And(z3.UGE(rc, ONE), z3.ULE(rc, RC_MAX)), rc, z3.If(rc == UNIQUE, ONE, word(0)))


def derived_ghosts(rc: Field, gen: Field, ncpus: int, actor: int = ACTOR_ANY) -> dict[str, object]:
    """The ghost and machine fields of a state read from a snapshot, from its refcounts and generations
    (the refinement mapping described at :func:`with_derived_ghosts`)."""
    return {"gen0": Field(lambda g: gen[g] - 1), "handles": Field(lambda g: derived_handles(rc[g])),
            "actor": small(actor), "ncpus": small(ncpus), **IDLE_POOL}


def with_derived_ghosts(s: State, ncpus: int, actor: int = ACTOR_ANY) -> State:
    """``s`` (read from a snapshot) with its ghost fields derived from the visible ones.

    A snapshot shows neither handles nor who took a step, so the refinement
    mapping gives the ghost fields the values the invariants expect of them:
    handles from the refcount, the claim-time generation one below the
    current one, the step's author when the caller knows it (a CPU id, for a
    public allocator operation run on that CPU) and unknown otherwise, and
    the snapshot's CPU count.  The ghost conjuncts are therefore the proofs'
    business; concrete checks keep every conjunct over visible fields.
    """
    return update(s, **derived_ghosts(s.rc, s.gen, ncpus, actor))


def state_ite(cond: z3.BoolRef, then: State, otherwise: State) -> State:
    """``then`` where ``cond`` holds, else ``otherwise``, field by field (a field both share stays the same object)."""
    changes: dict[str, object] = {}
    for item in fields(State):
        a, b = getattr(then, item.name), getattr(otherwise, item.name)
        if a is b:
            continue
        if isinstance(a, Field):
            changes[item.name] = Field(lambda g, a=a, b=b: z3.If(cond, a[g], b[g]))
        else:
            changes[item.name] = z3.If(cond, a, b)
    return replace(otherwise, **changes)


def update(state: State, **changes: z3.ExprRef) -> State:
    """``state`` with the given fields replaced (the frame condition of an operation)."""
    return replace(state, **changes)


def small(value: int) -> z3.BitVecRef:
    """``value`` as a small-field numeral (orders, counts, codes, CPU ids)."""
    return z3.BitVecVal(value, SMALL_BITS)


def word(value: int) -> z3.BitVecRef:
    """``value`` as a 64-bit numeral (refcounts, generations)."""
    return z3.BitVecVal(value, 64)


UNUSED = word(REFCOUNT_UNUSED)
UNIQUE = word(REFCOUNT_UNIQUE)
RC_MAX = word(REFCOUNT_MAX)
BUSY = word(REFCOUNT_BUSY)
ONE = word(1)
HOLDER = small(ACTOR_HOLDER)
ANY_ACTOR = small(ACTOR_ANY)
PAGE_TABLE = small(PURPOSE_PAGE_TABLE)
NOHEAD = small(NO_HEAD)
ZERO_PAYLOAD = z3.BitVecVal(ZERO_DIGEST, DIGEST_BITS)
#: the ghost pending-block fields of a pool with no buddy operation in progress (the lock is free)
IDLE_POOL = {"pending": frame(0), "pending_order": NOHEAD}
#: the purpose codes a frame may be published with
PURPOSES = tuple(range(PURPOSE_NONE, PURPOSE_DMA + 1))


def low_mask(order: int) -> int:
    """The bits below ``2**order``."""
    return (1 << order) - 1


def align(f: z3.BitVecRef, order: int) -> z3.BitVecRef:
    """First frame of the order-``order`` aligned block containing ``f``."""
    if order == 0:
        return f
    return f & frame(~low_mask(order) & ((1 << FRAME_BITS) - 1))


def align_sym(f: z3.BitVecRef, order: z3.BitVecRef, max_order: int) -> z3.BitVecRef:
    """:func:`align` for a symbolic order in ``0..max_order`` (an ite over constant masks, no shifter)."""
    value = align(f, max_order)
    for k in range(max_order - 1, -1, -1):
        value = z3.If(order == small(k), align(f, k), value)
    return value


def block_len(order: z3.BitVecRef, max_order: int) -> z3.BitVecRef:
    """``2**order`` frames for a symbolic order in ``0..max_order`` (an ite over constants)."""
    value = frame(1 << max_order)
    for k in range(max_order - 1, -1, -1):
        value = z3.If(order == small(k), frame(1 << k), value)
    return value


def buddy(first: z3.BitVecRef, order: int) -> z3.BitVecRef:
    """The buddy of the order-``order`` block starting at ``first``: ``first ^ 2**order``."""
    return first ^ frame(1 << order)


def in_range(f: z3.BitVecRef, first: z3.BitVecRef, count: z3.BitVecRef) -> z3.BoolRef:
    """``first <= f < first + count`` without wrap-around (computed on 65 bits)."""
    return z3.And(z3.ULE(first, f), z3.ULT(widen(f), widen(first) + widen(count)))


def widen(x: z3.BitVecRef) -> z3.BitVecRef:
    """``x`` zero-extended by one bit, so that sums of two frame numbers cannot wrap."""
    return z3.ZeroExt(1, x)


def covers(s: State, f: z3.BitVecRef, order: int) -> z3.BoolRef:
    """A free block of order ``order`` covers frame ``f``."""
    return s.hord[align(f, order)] == small(order)


def free_count(s: State, f: z3.BitVecRef, cfg: ModelConfig) -> z3.BitVecRef:
    """How many free blocks cover ``f`` (aligned blocks nest, so one per order at most)."""
    return z3.Sum([z3.If(covers(s, f, k), small(1), small(0)) for k in range(cfg.max_order + 1)])


def is_free(s: State, f: z3.BitVecRef, cfg: ModelConfig) -> z3.BoolRef:
    """Frame ``f`` lies in some free block of the global pool."""
    return z3.Or([covers(s, f, k) for k in range(cfg.max_order + 1)])


def is_cached(s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Frame ``f`` sits in some per-CPU cache."""
    return s.ncache[f] != small(0)


def is_allocated(s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Frame ``f`` lies in a range handed out by ``alloc`` and not yet returned."""
    return s.nalloc[f] != small(0)


def is_poisoned(s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Frame ``f`` carries the POISONED guard bit or flag."""
    return z3.Or(
        s.guard[f] & small(GUARD_POISONED) != small(0),
        s.flags[f] & small(FLAG_POISONED) != small(0),
    )


def is_published(rc: z3.BitVecRef) -> z3.BoolRef:
    """A refcount that stands for live handles (shared 1..MAX, or UNIQUE)."""
    return z3.Or(z3.And(z3.UGE(rc, ONE), z3.ULE(rc, RC_MAX)), rc == UNIQUE)


def early_allocated(s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Frame ``f`` was handed out by the early (boot) allocator."""
    return z3.And(z3.ULE(s.early_lo, f), z3.ULT(f, s.early_end))
