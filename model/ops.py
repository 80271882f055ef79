"""The allocator's operations as pure functions ``(cfg, state, *args) -> Step``.

Design (Hyperkernel / TLA+ style): an operation is a guard plus an effect.
:class:`Step` carries the guard (a quantifier-free part and *ranged* parts
"for every frame g in [first, first + count): pred(g)"), the post-state, and
the frames the operation touches, which the proofs use to instantiate the
invariants.  Every operation is one small step of the design, and none
loops over the orders: the buddy's split chain and merge cascade are one
step per order, taken while the pool lock is held (the ghost *pending*
block says which block the lock holder is working on); the frame protocol
(claim, zero, publish, drop, teardown) is one step per atomic access.

:data:`OPERATIONS` registers the correct operations and :data:`VARIANTS`
the deliberately broken ones (for non-vacuity and the mutants command); a
variant names the operation it replaces.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

import z3

from framemc.design.frames import constant_field, store
from framemc.errors import CheckerBug, UsageError
from framemc.model.invariants import INVARIANTS_BY_NAME, Invariant
from framemc.model.state import (
    BUSY,
    HOLDER,
    IDLE_POOL,
    NOHEAD,
    ONE,
    PAGE_TABLE,
    PURPOSES,
    RC_MAX,
    UNIQUE,
    UNUSED,
    ZERO_PAYLOAD,
    MAX_CPUS,
    DigestSort,
    Field,
    FrameSort,
    ModelConfig,
    SmallSort,
    State,
    align,
    align_sym,
    block_len,
    buddy,
    early_allocated,
    frame,
    in_range,
    is_cached,
    is_free,
    is_poisoned,
    small,
    symbolic_state,
    update,
    widen,
    word,
)
from framemc.snapshot import FLAG_POISONED, GUARD_POISONED


@dataclass(frozen=True, slots=True)
class RangeGuard:
    """A guard conjunct over a range of frames: ``pred(g)`` for every g in ``[first, first + count)``."""

    #: first frame of the range
    first: z3.BitVecRef
    #: number of frames in the range
    count: z3.BitVecRef
    #: the condition each frame of the range must meet
    pred: Callable[[z3.BitVecRef], z3.BoolRef]
    #: membership of frame g in the range written as the operation's effect writes it, when the guard
    #: makes it equivalent to ``first <= g < first + count`` (an aligned block: ``align(g, k) == first``);
    #: proofs then need not relate the two forms at every frame
    member: Callable[[z3.BitVecRef], z3.BoolRef] | None = None

    def at(self, g: z3.BitVecRef) -> z3.BoolRef:
        """This guard instantiated at frame ``g``."""
        inside = in_range(g, self.first, self.count) if self.member is None else self.member(g)
        return z3.Implies(inside, self.pred(g))


@dataclass(frozen=True, slots=True)
class Step:
    """One operation applied to one state: its guard, its post-state, and the frames it touches."""

    #: quantifier-free part of the guard
    guard: z3.BoolRef
    #: the state after the operation
    post: State
    #: per-frame parts of the guard, over ranges of frames
    ranged: tuple[RangeGuard, ...] = ()
    #: frames the operation reads or writes (instantiation points for proofs)
    seeds: tuple[z3.BitVecRef, ...] = ()
    #: proof hint: a symbolic order (an argument, or a term of the pre-state) that the proofs case on value by
    #: value, substituting each order 0..MAX_ORDER for it (and one case for every other value), so that no
    #: proof reasons about a symbolic order: each align and buddy mask becomes a constant
    order: z3.BitVecRef | None = None
    #: proof hint: facts about a frame ``t`` and the step's frames that hold for all their values (bit-vector
    #: identities, each proved by tests/model/test_ops_lemmas.py), assumed at the arbitrary frame with the
    #: hypotheses: the step that z3 finds hard, written out for it
    lemmas: tuple[Callable[[z3.BitVecRef], z3.BoolRef], ...] = ()

    def then(self, nxt: Callable[[State], "Step"]) -> "Step":
        """Sequential composition: this step, then ``nxt`` applied to this step's post-state."""
        second = nxt(self.post)
        return Step(
            guard=z3.And(self.guard, second.guard),
            post=second.post,
            ranged=self.ranged + second.ranged,
            seeds=self.seeds + second.seeds,
            order=self.order if self.order is not None else second.order,
            lemmas=self.lemmas + second.lemmas,
        )


class ParamKind(enum.Enum):
    """What an operation parameter denotes, which fixes its z3 sort."""

    FRAME = "frame"
    COUNT = "count"
    ORDER = "order"
    CPU = "cpu"
    PURPOSE = "purpose"
    FLAG = "flag"
    DIGEST = "digest"

    def sort(self) -> z3.SortRef:
        """The z3 sort of a parameter of this kind."""
        if self in (ParamKind.FRAME, ParamKind.COUNT):
            return FrameSort
        if self is ParamKind.FLAG:
            return z3.BoolSort()
        if self is ParamKind.DIGEST:
            return DigestSort
        return SmallSort


@dataclass(frozen=True, slots=True)
class OpSpec:
    """A registered operation: its name, what it models, its parameters and its function."""

    #: registry name
    name: str
    #: one-line summary (the function's docstring)
    summary: str
    #: ``(parameter name, kind)`` in call order
    params: tuple[tuple[str, ParamKind], ...]
    #: ``(cfg, state, *args) -> Step``
    fn: Callable[..., Step]

    def symbolic_args(self, prefix: str) -> tuple[z3.ExprRef, ...]:
        """Fresh z3 constants for the parameters, named ``prefix.param``."""
        return tuple(z3.Const(f"{prefix}.{name}", kind.sort()) for name, kind in self.params)


# ---- helpers shared by several operations -------------------------------------------------------


def _in_block(g: z3.BitVecRef, first: z3.BitVecRef, order: z3.BitVecRef, max_order: int) -> z3.BoolRef:
    """``g`` lies in the aligned block of ``2**order`` frames starting at ``first``."""
    return align_sym(g, order, max_order) == first


def _inc_where(arr: Field, cond: Callable[[z3.BitVecRef], z3.BoolRef], delta: int) -> Field:
    """``arr`` with ``delta`` added to every element where ``cond`` holds."""
    # small(-1) is 255, so adding it subtracts one modulo 2**8
    return Field(lambda g: z3.If(cond(g), arr[g] + small(delta), arr[g]))


def _allocated_torn_down(s: State, g: z3.BitVecRef, *, busy_is_unused: bool = False) -> z3.BoolRef:
    """Frame ``g`` is allocated, torn down (refcount UNUSED) and not poisoned: it may go back."""
    unused = z3.Or(s.rc[g] == UNUSED, s.rc[g] == BUSY) if busy_is_unused else s.rc[g] == UNUSED
    return z3.And(s.nalloc[g] == small(1), unused, z3.Not(is_poisoned(s, g)))


# ---- buddy pool ----------------------------------------------------------------------------------
#
# Every buddy operation is small: it touches at most three free-list heads, whatever MAX_ORDER is.  A
# free inserts its block and leaves it *pending*; ``merge`` then joins the pending block with its buddy
# one order at a time, and ``merge_stop`` ends the cascade where the buddy is not free (or at
# MAX_ORDER).  An alloc ``split``s a larger block down one order at a time, then takes it.  The pool
# lock is held throughout: the ghost ``pending`` block names the one block the lock holder is working
# on, every other buddy operation waits for the pool to be idle, and S-buddies-merged holds for every
# block but the pending one.  The impl's whole cascade (or split chain) is the sequence of these steps
# (:mod:`framemc.model.macros`), so no proof has to unroll a loop over the orders.


def _idle(s: State) -> z3.BoolRef:
    """No buddy operation is in progress: the pool lock is free."""
    return s.pending_order == NOHEAD


def _idle_or_pending(s: State, h: z3.BitVecRef) -> z3.BoolRef:
    """The pool is idle, or the lock holder's pending block is the one at ``h``."""
    return z3.Or(_idle(s), s.pending == h)


def _pend(h: z3.BitVecRef, k: z3.BitVecRef) -> dict[str, z3.ExprRef]:
    """The ghost update that makes ``(h, k)`` the pending block."""
    return {"pending": h, "pending_order": k}


def _mergeable(cfg: ModelConfig, s: State, h: z3.BitVecRef, k: z3.BitVecRef, partner=None) -> tuple[z3.BoolRef, z3.BitVecRef]:
    """The free block ``(h, k)`` can merge (below MAX_ORDER, its partner a free block of order ``k`` in its
    pool), and that partner (the true buddy ``h ^ 2**k`` unless a broken ``partner`` is given)."""
    other = h ^ block_len(k, cfg.max_order) if partner is None else partner(h, k)
    can = z3.And(z3.ULT(k, small(cfg.max_order)), s.hord[other] == k, s.pool[other] == s.pool[h])
    return can, other


def buddy_alloc(cfg: ModelConfig, s: State, h: z3.BitVecRef, k: z3.BitVecRef) -> Step:
    """Buddy alloc: take the free block of order exactly ``k`` at ``h`` and hand out its ``2**k`` frames."""
    guard = z3.And(_idle_or_pending(s, h), s.hord[h] == k, z3.ULE(k, small(cfg.max_order)))
    nalloc = _inc_where(s.nalloc, lambda g: _in_block(g, h, k, cfg.max_order), 1)
    post = update(s, hord=store(s.hord, h, NOHEAD), nalloc=nalloc, **IDLE_POOL)
    return Step(guard=guard, post=post, seeds=(h,), order=k)


def split(cfg: ModelConfig, s: State, h: z3.BitVecRef) -> Step:
    """Split, for an alloc: the free block at ``h`` becomes two free halves; the lower one stays pending."""
    j = s.hord[h]
    guard = z3.And(_idle_or_pending(s, h), j != NOHEAD, z3.ULT(small(0), j), z3.ULE(j, small(cfg.max_order)))
    half = j - small(1)
    upper = h + block_len(half, cfg.max_order)
    hord = Field(lambda g: z3.If(z3.Or(g == h, g == upper), half, s.hord[g]))
    return Step(guard=guard, post=update(s, hord=hord, **_pend(h, half)), seeds=(h, upper), order=j,
                lemmas=(lambda t: halves_of_block(cfg, t, h, j),))


def halves_of_block(cfg: ModelConfig, t: z3.BitVecRef, h: z3.BitVecRef, j: z3.BitVecRef) -> z3.BoolRef:
    """A frame in either half of the aligned block ``(h, j)`` lies in that block (a bit-vector identity)."""
    lower = align_sym(t, j - small(1), cfg.max_order)
    return z3.Implies(
        z3.And(z3.ULT(small(0), j), z3.ULE(j, small(cfg.max_order)), align_sym(h, j, cfg.max_order) == h,
               z3.Or(lower == h, lower == h + block_len(j - small(1), cfg.max_order))),
        align_sym(t, j, cfg.max_order) == h,
    )


def _buddy_free(cfg: ModelConfig, s: State, h: z3.BitVecRef, k: z3.BitVecRef, *, checked=True,
                busy_is_unused=False, link: z3.BitVecRef | None = None, keep_lock=True) -> Step:
    """Shared body of :func:`buddy_free` and its broken variants."""
    guard = z3.And(_idle(s), z3.ULE(k, small(cfg.max_order)), align_sym(h, k, cfg.max_order) == h)
    ranged = ()
    if checked:
        ranged = (
            RangeGuard(h, block_len(k, cfg.max_order), lambda g: z3.And(
                _allocated_torn_down(s, g, busy_is_unused=busy_is_unused), s.pool[g] == s.pool[h]),
                lambda g: _in_block(g, h, k, cfg.max_order)),
        )
    nalloc = _inc_where(s.nalloc, lambda g: z3.And(_in_block(g, h, k, cfg.max_order), s.nalloc[g] != small(0)), -1)
    post = update(s, hord=store(s.hord, h, k), nalloc=nalloc, **(_pend(h, k) if keep_lock else {}))
    if link is not None:
        post = update(post, pay=store(s.pay, h, link), pz=store(s.pz, h, link == ZERO_PAYLOAD))
    return Step(guard=guard, post=post, ranged=ranged, seeds=(h,), order=k)


def buddy_free(cfg: ModelConfig, s: State, h: z3.BitVecRef, k: z3.BitVecRef) -> Step:
    """Buddy free (dealloc of one aligned block of torn-down frames): insert it, pending its merges."""
    return _buddy_free(cfg, s, h, k)


def _merge(cfg: ModelConfig, s: State, h: z3.BitVecRef, *, partner=None) -> Step:
    """Shared body of :func:`merge` and its variant that merges with the wrong partner."""
    k = s.pending_order
    can, other = _mergeable(cfg, s, h, k, partner)
    up = k + small(1)
    head = align_sym(h, up, cfg.max_order) if partner is None else h
    hord = Field(lambda g: z3.If(g == head, up, z3.If(z3.Or(g == h, g == other), NOHEAD, s.hord[g])))
    return Step(guard=z3.And(s.pending == h, k != NOHEAD, can), post=update(s, hord=hord, **_pend(head, up)),
                seeds=(h, other, head), order=k)


def merge(cfg: ModelConfig, s: State, h: z3.BitVecRef) -> Step:
    """Merge one order: the pending block at ``h`` and its free buddy become one pending block, twice as big."""
    return _merge(cfg, s, h)


def merge_stop(cfg: ModelConfig, s: State, h: z3.BitVecRef) -> Step:
    """The merge cascade of the pending block at ``h`` stops: its buddy is not free in its pool, or it is at
    MAX_ORDER.  The pool lock is released."""
    can, other = _mergeable(cfg, s, h, s.pending_order)
    guard = z3.And(s.pending == h, s.pending_order != NOHEAD, z3.Not(can))
    return Step(guard=guard, post=update(s, **IDLE_POOL), seeds=(h, other), order=s.pending_order)


def _retire_poisoned(cfg: ModelConfig, s: State, f: z3.BitVecRef, *, torn_down: bool = True) -> Step:
    """Shared body of :func:`retire_poisoned` and its variant that retires a frame still in use."""
    guard = z3.And(s.nalloc[f] == small(1), is_poisoned(s, f))
    if torn_down:
        guard = z3.And(guard, s.rc[f] == UNUSED)
    return Step(guard=guard, post=update(s, nalloc=store(s.nalloc, f, small(0))), seeds=(f,))


def retire_poisoned(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """Dealloc of a poisoned frame: it leaves the allocated set but is kept out of the free lists."""
    return _retire_poisoned(cfg, s, f)


# ---- per-CPU order-0 caches ----------------------------------------------------------------------


def _cpu_ok(s: State, cpu: z3.BitVecRef) -> z3.BoolRef:
    """``cpu`` names a CPU of the machine."""
    return z3.ULT(cpu, s.ncpus)


def cache_refill(cfg: ModelConfig, s: State, cpu: z3.BitVecRef, h: z3.BitVecRef) -> Step:
    """Cache refill, one frame: take the free order-0 block at ``h`` (split down first) into ``cpu``'s cache."""
    guard = z3.And(_idle_or_pending(s, h), s.hord[h] == small(0), _cpu_ok(s, cpu))
    post = update(s, hord=store(s.hord, h, NOHEAD), ncache=store(s.ncache, h, s.ncache[h] + 1),
                  ccpu=store(s.ccpu, h, cpu), actor=cpu, **IDLE_POOL)
    return Step(guard=guard, post=post, seeds=(h,))


def cache_flush(cfg: ModelConfig, s: State, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """Cache flush, one frame: move ``f`` from ``cpu``'s cache back to the pool, pending its merges."""
    guard = z3.And(_idle(s), s.ncache[f] == small(1), s.ccpu[f] == cpu, _cpu_ok(s, cpu))
    post = update(s, hord=store(s.hord, f, small(0)), ncache=store(s.ncache, f, small(0)), actor=cpu,
                  **_pend(f, small(0)))
    return Step(guard=guard, post=post, seeds=(f,))


def _cache_alloc(cfg: ModelConfig, s: State, cpu: z3.BitVecRef, f: z3.BitVecRef, *, own: bool = True) -> Step:
    """Shared body of :func:`cache_alloc` and its cache-stealing variant."""
    guard = z3.And(s.ncache[f] == small(1), _cpu_ok(s, cpu))
    if own:
        guard = z3.And(guard, s.ccpu[f] == cpu)
    post = update(s, ncache=store(s.ncache, f, small(0)), nalloc=store(s.nalloc, f, s.nalloc[f] + 1), actor=cpu)
    return Step(guard=guard, post=post, seeds=(f,))


def cache_alloc(cfg: ModelConfig, s: State, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """Order-0 alloc from the cache: pop ``f`` from ``cpu``'s cache and hand it out."""
    return _cache_alloc(cfg, s, cpu, f)


def _cache_free(cfg: ModelConfig, s: State, cpu: z3.BitVecRef, f: z3.BitVecRef, *, check_poison=True,
                check_cpu=True) -> Step:
    """Shared body of :func:`cache_free` and its poison-blind and unchecked-CPU variants."""
    ok = _allocated_torn_down(s, f) if check_poison else z3.And(s.nalloc[f] == small(1), s.rc[f] == UNUSED)
    post = update(
        s,
        nalloc=store(s.nalloc, f, small(0)),
        ncache=store(s.ncache, f, s.ncache[f] + 1),
        ccpu=store(s.ccpu, f, cpu),
        actor=cpu,
    )
    return Step(guard=z3.And(ok, _cpu_ok(s, cpu)) if check_cpu else ok, post=post, seeds=(f,))


def cache_free(cfg: ModelConfig, s: State, cpu: z3.BitVecRef, f: z3.BitVecRef) -> Step:
    """Order-0 dealloc into the cache: push the torn-down, unpoisoned frame ``f`` on ``cpu``'s cache."""
    return _cache_free(cfg, s, cpu, f)


# ---- the frame protocol on the MetaSlot ----------------------------------------------------------


def _claim(cfg: ModelConfig, s: State, f: z3.BitVecRef, *, cas: bool = True, bump: int = 1) -> Step:
    """Shared body of :func:`claim` and its non-CAS and wrong-bump variants."""
    guard = z3.And(s.nalloc[f] == small(1), s.rc[f] == UNUSED) if cas else s.nalloc[f] == small(1)
    post = update(s, rc=store(s.rc, f, BUSY), gen=store(s.gen, f, s.gen[f] + bump), gen0=store(s.gen0, f, s.gen[f]))
    return Step(guard=guard, post=post, seeds=(f,))


def claim(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """CAS claim (Acquire) UNUSED -> 0 of a frame the buddy handed out, then generation += 1."""
    return _claim(cfg, s, f)


def claim_failed(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """A failed CAS claim: the refcount was not UNUSED, and nothing changes."""
    return Step(guard=s.rc[f] != UNUSED, post=s, seeds=(f,))


def _zero(cfg: ModelConfig, s: State, f: z3.BitVecRef, *, write: bool = True) -> Step:
    """Shared body of :func:`zero` and its variant that marks the frame zeroed without writing it."""
    guard = z3.And(s.nalloc[f] == small(1), s.rc[f] == BUSY)
    post = update(s, pz=store(s.pz, f, z3.BoolVal(True)))
    if write:
        post = update(post, pay=store(s.pay, f, ZERO_PAYLOAD))
    return Step(guard=guard, post=post, seeds=(f,))


def zero(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """Zero the payload of a claimed (busy) allocated frame."""
    return _zero(cfg, s, f)


def _publish(cfg: ModelConfig, s: State, f: z3.BitVecRef, purpose: z3.BitVecRef, zeroed: z3.BoolRef,
             *, zero_first: bool = True) -> Step:
    """Shared body of :func:`publish` and its publish-before-zero variant."""
    guard = z3.And(s.nalloc[f] == small(1), s.rc[f] == BUSY, z3.ULE(purpose, small(PURPOSES[-1])))
    if zero_first:
        # program order: the zeroing step precedes publication when zeroing was asked or required
        guard = z3.And(guard, z3.Implies(z3.Or(zeroed, purpose == PAGE_TABLE), s.pz[f]))
    post = update(s, purpose=store(s.purpose, f, purpose), rc=store(s.rc, f, ONE), handles=store(s.handles, f, ONE))
    return Step(guard=guard, post=post, seeds=(f,))


def publish(cfg: ModelConfig, s: State, f: z3.BitVecRef, purpose: z3.BitVecRef, zeroed: z3.BoolRef) -> Step:
    """Set the purpose (Release) and publish refcount = 1 (Release), after zeroing when required."""
    return _publish(cfg, s, f, purpose, zeroed)


def _clone(cfg: ModelConfig, s: State, f: z3.BitVecRef, *, capped: bool = True) -> Step:
    """Shared body of :func:`clone` and its variant without the REFCOUNT_MAX check."""
    guard = z3.And(z3.UGE(s.rc[f], ONE), z3.ULT(s.rc[f], RC_MAX)) if capped else z3.UGE(s.rc[f], ONE)
    return Step(guard=guard, post=_one_more_handle(s, f), seeds=(f,))


def clone(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """Clone a shared handle: refcount += 1, refused (abort) past REFCOUNT_MAX."""
    return _clone(cfg, s, f)


def _one_more_handle(s: State, f: z3.BitVecRef) -> State:
    """``s`` with a new handle to ``f``: refcount and live handles both one up."""
    return update(s, rc=store(s.rc, f, s.rc[f] + 1), handles=store(s.handles, f, s.handles[f] + 1))


def from_in_use(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """``from_in_use``: a new shared handle to a frame whose refcount is neither 0 nor UNUSED."""
    guard = z3.And(s.rc[f] != BUSY, s.rc[f] != UNUSED, z3.ULT(s.rc[f], RC_MAX))
    return Step(guard=guard, post=_one_more_handle(s, f), seeds=(f,))


def from_in_use_refused(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """``from_in_use`` refused: the frame is busy, unused, unique or at MAX; nothing changes."""
    guard = z3.Or(s.rc[f] == BUSY, s.rc[f] == UNUSED, z3.UGE(s.rc[f], RC_MAX))
    return Step(guard=guard, post=s, seeds=(f,))


def _drop(cfg: ModelConfig, s: State, f: z3.BitVecRef, *, lost: bool = False) -> Step:
    """Shared body of :func:`drop` and its lost-update variant."""
    guard = z3.And(z3.UGT(s.rc[f], ONE), z3.ULE(s.rc[f], RC_MAX))
    # a lost update: another CPU's store, computed from the same stale load, overwrites this decrement
    rc = s.rc if lost else store(s.rc, f, s.rc[f] - 1)
    return Step(guard=guard, post=update(s, rc=rc, handles=store(s.handles, f, s.handles[f] - 1)), seeds=(f,))


def drop(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """Drop a handle that is not the last: refcount -= 1."""
    return _drop(cfg, s, f)


def _drop_last(cfg: ModelConfig, s: State, f: z3.BitVecRef, *, atomic: bool = True) -> Step:
    """Shared body of :func:`drop_last` and its check-then-decrement variant."""
    guard = z3.Or(s.rc[f] == ONE, s.rc[f] == UNIQUE) if atomic else z3.BoolVal(True)
    post = update(s, rc=store(s.rc, f, BUSY), handles=store(s.handles, f, s.handles[f] - 1))
    return Step(guard=guard, post=post, seeds=(f,))


def drop_last(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """Last drop: fetch_sub (Release) 1 -> 0, then fence(Acquire) and on_last_ref."""
    return _drop_last(cfg, s, f)


def release(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """Teardown: a busy frame (after the last drop or a failed setup) stores refcount = UNUSED."""
    return Step(guard=s.rc[f] == BUSY, post=update(s, rc=store(s.rc, f, UNUSED)), seeds=(f,))


def _mark_poisoned(cfg: ModelConfig, s: State, f: z3.BitVecRef, fill: z3.BitVecRef | None = None) -> Step:
    """Shared body of :func:`mark_poisoned` and its payload-filling variant."""
    guard = z3.And(z3.Not(is_free(s, f, cfg)), z3.Not(is_cached(s, f)))
    post = update(
        s,
        guard=store(s.guard, f, s.guard[f] | small(GUARD_POISONED)),
        flags=store(s.flags, f, s.flags[f] | small(FLAG_POISONED)),
    )
    if fill is not None:
        post = update(post, pay=store(s.pay, f, fill), pz=store(s.pz, f, fill == ZERO_PAYLOAD))
    return Step(guard=guard, post=post, seeds=(f,))


def mark_poisoned(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> Step:
    """``mark_poisoned``: set both guard POISONED and flag POISONED on a frame outside the free lists."""
    return _mark_poisoned(cfg, s, f)


def holder_write(cfg: ModelConfig, s: State, f: z3.BitVecRef, d: z3.BitVecRef) -> Step:
    """The holder of a claimed frame writes its payload (its own data, or ``on_last_ref`` teardown)."""
    guard = z3.And(s.nalloc[f] == small(1), s.rc[f] != UNUSED)
    post = update(s, pay=store(s.pay, f, d), pz=store(s.pz, f, d == ZERO_PAYLOAD), actor=HOLDER)
    return Step(guard=guard, post=post, seeds=(f,))


# ---- memory entering the allocator ---------------------------------------------------------------


def add_block(cfg: ModelConfig, s: State, p: z3.BitVecRef, h: z3.BitVecRef, k: z3.BitVecRef) -> Step:
    """``add_free_memory`` adds one aligned block of fresh frames to pool ``p``, pending its merges.

    ``add_free_memory(a, n)`` cuts ``[a, a + n)`` into maximal aligned blocks
    (:func:`framemc.model.macros.greedy_blocks`) and adds each with ``p = a``:
    the first block names the new pool after its own first frame, the later
    ones join it.  Each block's frames must be fresh: never added, UNUSED, not
    poisoned and not handed out by the early allocator.
    """
    size = block_len(k, cfg.max_order)
    names_pool = z3.Or(p == h, z3.And(z3.ULT(p, h), s.added[p], s.pool[p] == p))
    # an aligned block never wraps past the last frame (h + 2**k <= 2**64): the alignment says so, and
    # stating it again as 65-bit arithmetic cost z3 a third more on add_block/S-pool-ids
    # (tests/model/test_ops_guards.py checks the implication at every order)
    guard = z3.And(_idle(s), z3.ULE(k, small(cfg.max_order)), align_sym(h, k, cfg.max_order) == h, names_pool)
    fresh = RangeGuard(h, size, lambda g: z3.And(
        z3.Not(s.added[g]),
        s.rc[g] == UNUSED,
        z3.Not(is_poisoned(s, g)),
        z3.Not(early_allocated(s, g)),
    ), lambda g: _in_block(g, h, k, cfg.max_order))
    post = update(
        s,
        hord=store(s.hord, h, k),
        added=Field(lambda g: z3.Or(s.added[g], _in_block(g, h, k, cfg.max_order))),
        pool=Field(lambda g: z3.If(_in_block(g, h, k, cfg.max_order), p, s.pool[g])),
        **_pend(h, k),
    )
    return Step(guard=guard, post=post, ranged=(fresh,), seeds=(h, p), order=k)


def early_alloc(cfg: ModelConfig, s: State, n: z3.BitVecRef) -> Step:
    """EarlyFrameAllocator::alloc: bump the early pointer by n frames, before init only."""
    guard = z3.And(z3.Not(s.booted), z3.ULE(widen(s.early_end) + widen(n), widen(s.early_hi)))
    unadded = RangeGuard(s.early_end, n, lambda g: z3.Not(s.added[g]))
    return Step(guard=guard, post=update(s, early_end=s.early_end + n), ranged=(unadded,), seeds=(s.early_end,))


def retire_early(cfg: ModelConfig, s: State) -> Step:
    """``init`` retires the early allocator: ``alloc`` is served by the buddy from now on.

    ``init`` then adds each usable region minus the early-allocated range, one
    ``add_free_memory`` per piece of the range difference; the difference is
    plain arithmetic done by the caller (:func:`framemc.model.macros.init_pieces`),
    and the guard of :func:`add_block` requires every added frame to avoid the
    early-allocated ones.  The steps are separate, so the proofs of
    ``add_block`` cover ``init``'s additions too.
    """
    return Step(guard=z3.BoolVal(True), post=update(s, booted=z3.BoolVal(True)))


def stutter(cfg: ModelConfig, s: State) -> Step:
    """Stutter: nothing happens."""
    return Step(guard=z3.BoolVal(True), post=s)


# ---- the registries ------------------------------------------------------------------------------

_F, _N, _K, _C, _P, _B, _D = (ParamKind.FRAME, ParamKind.COUNT, ParamKind.ORDER, ParamKind.CPU,
                              ParamKind.PURPOSE, ParamKind.FLAG, ParamKind.DIGEST)


def _spec(name: str, fn: Callable[..., Step], *params: tuple[str, ParamKind]) -> OpSpec:
    """A registry entry whose summary is ``fn``'s docstring."""
    return OpSpec(name=name, summary=(fn.__doc__ or "").strip().splitlines()[0], params=params, fn=fn)


#: every correct single-step operation, in report order
OPERATIONS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        _spec("buddy_alloc", buddy_alloc, ("h", _F), ("k", _K)),
        _spec("split", split, ("h", _F)),
        _spec("buddy_free", buddy_free, ("h", _F), ("k", _K)),
        _spec("merge", merge, ("h", _F)),
        _spec("merge_stop", merge_stop, ("h", _F)),
        _spec("retire_poisoned", retire_poisoned, ("f", _F)),
        _spec("cache_refill", cache_refill, ("cpu", _C), ("h", _F)),
        _spec("cache_flush", cache_flush, ("cpu", _C), ("f", _F)),
        _spec("cache_alloc", cache_alloc, ("cpu", _C), ("f", _F)),
        _spec("cache_free", cache_free, ("cpu", _C), ("f", _F)),
        _spec("claim", claim, ("f", _F)),
        _spec("claim_failed", claim_failed, ("f", _F)),
        _spec("zero", zero, ("f", _F)),
        _spec("publish", publish, ("f", _F), ("purpose", _P), ("zeroed", _B)),
        _spec("clone", clone, ("f", _F)),
        _spec("from_in_use", from_in_use, ("f", _F)),
        _spec("from_in_use_refused", from_in_use_refused, ("f", _F)),
        _spec("drop", drop, ("f", _F)),
        _spec("drop_last", drop_last, ("f", _F)),
        _spec("release", release, ("f", _F)),
        _spec("mark_poisoned", mark_poisoned, ("f", _F)),
        _spec("holder_write", holder_write, ("f", _F), ("d", _D)),
        _spec("add_block", add_block, ("p", _F), ("h", _F), ("k", _K)),
        _spec("early_alloc", early_alloc, ("n", _N)),
        _spec("retire_early", retire_early),
        _spec("stutter", stutter),
    )
}


@dataclass(frozen=True, slots=True)
class Variant:
    """A deliberately broken operation that replaces a correct one, for non-vacuity and mutants."""

    #: variant name, e.g. ``non-cas-claim``
    name: str
    #: the operation it replaces
    replaces: str
    #: what is wrong with it, one line
    summary: str
    #: the broken operation
    spec: OpSpec
    #: the invariants (objects of :data:`framemc.model.invariants.INVARIANTS`) whose obligations the proofs
    #: are expected to refute
    breaks: tuple[Invariant, ...]


def _variant(name: str, replaces: str, summary: str, fn: Callable[..., Step], breaks: tuple[str, ...],
             extra: tuple[tuple[str, ParamKind], ...] = ()) -> Variant:
    """A registry entry for a broken operation with the parameters of the one it replaces (plus ``extra``);
    ``breaks`` names registered invariants, and the entry holds the invariants themselves."""
    params = OPERATIONS[replaces].params + extra
    unknown = [b for b in breaks if b not in INVARIANTS_BY_NAME]
    if unknown:
        raise CheckerBug(f"model variant {name} breaks {unknown[0]!r}, which is no registered invariant")
    return Variant(name=name, replaces=replaces, summary=summary,
                   spec=OpSpec(name=f"{replaces}[{name}]", summary=summary, params=params, fn=fn),
                   breaks=tuple(INVARIANTS_BY_NAME[b] for b in breaks))


#: broken operations by variant name
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        _variant("non-cas-claim", "claim", "claim by plain load and store: the stale load saw UNUSED",
                 lambda cfg, s, f: _claim(cfg, s, f, cas=False), ("I3-generation",)),
        _variant("link-in-payload", "buddy_free", "free writes the free-list link into the frame's payload",
                 lambda cfg, s, h, k, link: _buddy_free(cfg, s, h, k, link=link), ("I1-no-metadata-in-payload",),
                 extra=(("link", _D),)),
        _variant("publish-before-zero", "publish", "refcount = 1 is published before the payload is zeroed",
                 lambda cfg, s, f, p, z: _publish(cfg, s, f, p, z, zero_first=False), ("I4-page-table-zeroed",)),
        _variant("unchecked-overlapping-dealloc", "buddy_free", "dealloc skips the overlap (still allocated) check",
                 lambda cfg, s, h, k: _buddy_free(cfg, s, h, k, checked=False), ("I2-non-overlapping-ranges",)),
        _variant("merge-non-buddy", "merge", "merge with the next block (first + 2**k), not the buddy",
                 lambda cfg, s, h: _merge(cfg, s, h, partner=lambda x, k: x + block_len(k, cfg.max_order)),
                 ("S-buddy-aligned",)),
        _variant("insert-before-merge", "buddy_free", "the block is inserted and the lock dropped before merging",
                 lambda cfg, s, h, k: _buddy_free(cfg, s, h, k, keep_lock=False), ("S-buddies-merged",)),
        _variant("generation-before-cas", "claim_failed", "generation += 1 before the CAS, kept when it fails",
                 lambda cfg, s, f: Step(guard=s.rc[f] != UNUSED, post=update(s, gen=store(s.gen, f, s.gen[f] + 1)),
                                        seeds=(f,)), ("I3-generation",)),
        _variant("cache-ignores-poison", "cache_free", "the order-0 cache takes a poisoned frame back",
                 lambda cfg, s, cpu, f: _cache_free(cfg, s, cpu, f, check_poison=False), ("S-poisoned-never-free",)),
        _variant("unused-equals-busy", "buddy_free", "0 (busy) is taken for UNUSED: a busy frame goes back free",
                 lambda cfg, s, h, k: _buddy_free(cfg, s, h, k, busy_is_unused=True), ("I3-refcount-sentinels",)),
        _variant("check-then-decrement", "drop_last", "last drop by load-check-store: a stale load saw 1",
                 lambda cfg, s, f: _drop_last(cfg, s, f, atomic=False), ("I3-refcount-transitions",)),
        _variant("claim-without-bump", "claim", "the claim CAS succeeds but the generation is not bumped",
                 lambda cfg, s, f: _claim(cfg, s, f, bump=0), ("I3-generation-epoch",)),
        _variant("claim-double-bump", "claim", "the generation is bumped twice for one claim",
                 lambda cfg, s, f: _claim(cfg, s, f, bump=2), ("I3-generation", "I3-generation-epoch")),
        _variant("cache-steal", "cache_alloc", "an order-0 alloc pops a frame from another CPU's cache",
                 lambda cfg, s, cpu, f: _cache_alloc(cfg, s, cpu, f, own=False), ("S-cache-owner-steps",)),
        _variant("cache-phantom-cpu", "cache_free", "a freed frame goes to the cache of a CPU that does not exist",
                 lambda cfg, s, cpu, f: _cache_free(cfg, s, cpu, f, check_cpu=False), ("S-cache-owner",)),
        _variant("lost-update-drop", "drop", "two drops race on a plain load/store: one decrement is lost",
                 lambda cfg, s, f: _drop(cfg, s, f, lost=True), ("I3-live-handles",)),
        _variant("clone-past-max", "clone", "clone without the REFCOUNT_MAX check: the count runs into the gap",
                 lambda cfg, s, f: _clone(cfg, s, f, capped=False),
                 ("I3-refcount-sentinels", "I3-refcount-transitions", "I3-generation-epoch", "I3-live-handles")),
        _variant("zero-flag-only", "zero", "the frame is marked zeroed but its bytes are not written (an elided memset)",
                 lambda cfg, s, f: _zero(cfg, s, f, write=False), ("I1-no-metadata-in-payload",)),
        _variant("retire-live-poisoned", "retire_poisoned", "a poisoned frame is retired while handles to it live",
                 lambda cfg, s, f: _retire_poisoned(cfg, s, f, torn_down=False), ("I3-refcount-sentinels",)),
        _variant("poison-fills-payload", "mark_poisoned", "mark_poisoned fills the claimed frame's payload",
                 lambda cfg, s, f, fill: _mark_poisoned(cfg, s, f, fill), ("I1-no-metadata-in-payload",),
                 extra=(("fill", _D),)),
    )
}


def resolve(name: str, variant: str | None = None) -> OpSpec:
    """The operation ``name``, or the broken one when ``variant`` replaces it; UsageError if unknown."""
    if variant is not None and variant not in VARIANTS:
        raise UsageError(f"unknown variant {variant!r}; known: {', '.join(sorted(VARIANTS))}")
    if name not in OPERATIONS:
        raise UsageError(f"unknown operation {name!r}; known: {', '.join(OPERATIONS)}")
    if variant is not None and VARIANTS[variant].replaces == name:
        return VARIANTS[variant].spec
    return OPERATIONS[name]


def initial_state(cfg: ModelConfig, prefix: str) -> tuple[State, z3.BoolRef]:
    """Init: a symbolic boot-time state and the condition that makes it initial.

    Before boot nothing is added, free, cached or allocated, every MetaSlot is
    UNUSED and unpoisoned with no live handle, and the early allocator has
    handed out nothing; payloads, purposes and generations are arbitrary
    (memory is uninitialised), and so is the number of CPUs (1 to MAX_CPUS).
    """
    base = symbolic_state(prefix)
    s = update(
        base,
        rc=constant_field(UNUSED),
        handles=constant_field(word(0)),
        hord=constant_field(NOHEAD),
        nalloc=constant_field(small(0)),
        ncache=constant_field(small(0)),
        added=constant_field(z3.BoolVal(False)),
        guard=constant_field(small(0)),
        flags=constant_field(small(0)),
        booted=z3.BoolVal(False),
        early_end=base.early_lo,
        **IDLE_POOL,
    )
    return s, z3.And(z3.ULE(base.early_lo, base.early_hi), z3.ULE(small(1), base.ncpus),
                     z3.ULE(base.ncpus, small(MAX_CPUS)))
