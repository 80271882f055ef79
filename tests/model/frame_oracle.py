"""An independent restatement of the model's invariants and operations over plain Python values.

Design: the differential tests (``test_oracle_invariants.py``, ``test_oracle_ops.py``) compare the z3
model (``model/invariants.py``, ``model/ops.py``) with this module on many concrete states, most of them
unreachable, so that a conjunct the other invariants happen to imply is still observed.  Everything here
is written from docs/model.md, the seeds and the docstrings, in plain integers: a state is a
:class:`World` (sparse per-frame cells over the model's field names, the rest at their defaults, and the
scalars), an invariant is a list of named per-frame conjuncts, an operation returns its guard and the
world after it.  Nothing is imported from ``framemc.model``: only the shared numeric constants of the
snapshot format.

Machine words wrap as the model's do: refcounts, generations, handles and frame numbers are 64-bit,
orders, counts, CPU ids and codes 8-bit, digests 32-bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from framemc.snapshot import (
    FLAG_POISONED,
    GUARD_POISONED,
    PURPOSE_DMA,
    PURPOSE_PAGE_TABLE,
    REFCOUNT_BUSY,
    REFCOUNT_MAX,
    REFCOUNT_UNIQUE,
    REFCOUNT_UNUSED,
    ZERO_DIGEST,
)

WORD = (1 << 64) - 1
BYTE = 0xFF
#: a frame that heads no free block (an 8-bit order field at its top value)
NO_HEAD = 0xFF
#: the step's author is unknown (the top actor code), or the holder of a handle (one below)
ANY_ACTOR = 0xFF
HOLDER = 0xFE

#: the bit width of every per-frame field and scalar (0: a boolean)
WIDTHS: dict[str, int] = {
    "rc": 64, "purpose": 8, "flags": 8, "guard": 8, "gen": 64, "pz": 0, "pay": 32, "hord": 8, "nalloc": 8,
    "ncache": 8, "ccpu": 8, "added": 0, "pool": 64, "gen0": 64, "handles": 64,
    "early_lo": 64, "early_end": 64, "early_hi": 64, "booted": 0, "actor": 8, "ncpus": 8, "pending": 64,
    "pending_order": 8,
}
#: the per-frame fields, and the value of every frame a world does not store (reserved, untouched memory)
FRAME_DEFAULTS: dict[str, int | bool] = {
    "rc": REFCOUNT_UNUSED, "purpose": 0, "flags": 0, "guard": 0, "gen": 0, "pz": True, "pay": ZERO_DIGEST,
    "hord": NO_HEAD, "nalloc": 0, "ncache": 0, "ccpu": 0, "added": False, "pool": 0, "gen0": 0, "handles": 0,
}
SCALARS = ("early_lo", "early_end", "early_hi", "booted", "actor", "ncpus", "pending", "pending_order")


@dataclass
class World:
    """A concrete allocator state: per-frame cells (absent frames take :data:`FRAME_DEFAULTS`) and scalars."""

    #: highest buddy order
    max_order: int
    #: field -> frame -> value
    cells: dict[str, dict[int, int | bool]] = field(default_factory=dict)
    #: scalar name -> value
    scalars: dict[str, int | bool] = field(default_factory=dict)
    #: when a set: every ``(field, frame)`` and ``(scalar, None)`` read is added to it (the test's generator
    #: perturbs what an operation's guard looked at)
    reads: set[tuple[str, int | None]] | None = field(default=None, compare=False, repr=False)

    def __getitem__(self, key: tuple[str, int]) -> int | bool:
        """``world[name, f]``: field ``name`` of frame ``f``."""
        name, f = key
        if self.reads is not None:
            self.reads.add((name, f & WORD))
        return self.cells.get(name, {}).get(f & WORD, FRAME_DEFAULTS[name])

    def __getattr__(self, name: str) -> int | bool:
        """A scalar by name (``world.pending``)."""
        if name in SCALARS:
            if self.reads is not None:
                self.reads.add((name, None))
            return self.scalars[name]
        raise AttributeError(name)

    def copy(self) -> "World":
        """An independent copy."""
        return World(self.max_order, {n: dict(c) for n, c in self.cells.items()}, dict(self.scalars))

    def put(self, name: str, f: int, value: int | bool) -> None:
        """Set field ``name`` of frame ``f``, wrapped to the field's width."""
        self.cells.setdefault(name, {})[f & WORD] = _fit(name, value)

    def set(self, name: str, value: int | bool) -> None:
        """Set scalar ``name``, wrapped to its width."""
        self.scalars[name] = _fit(name, value)

    def stored(self) -> set[int]:
        """Every frame with a stored cell."""
        return {f for cells in self.cells.values() for f in cells}


def _fit(name: str, value: int | bool) -> int | bool:
    width = WIDTHS[name]
    return bool(value) if width == 0 else int(value) & ((1 << width) - 1)


# ---- vocabulary: blocks, coverage, refcount classes ----------------------------------------------------


def block(h: int, k: int) -> range:
    """The frames of the buddy block of order ``k`` starting at ``h``: none unless ``h`` is a multiple of 2**k
    (a block is 2**k frames at an address aligned to its size)."""
    return range(h, h + (1 << k)) if h % (1 << k) == 0 else range(0)


def block_start(f: int, k: int) -> int:
    """The first frame of the order-``k`` block that holds ``f``."""
    return f - f % (1 << k)


def free_orders(w: World, f: int) -> list[int]:
    """The orders of the free blocks covering ``f``: the block of order k holding f is free with order k."""
    return [k for k in range(w.max_order + 1) if w["hord", block_start(f, k)] == k]


def is_free(w: World, f: int) -> bool:
    """``f`` lies in a free block."""
    return bool(free_orders(w, f))


def is_cached(w: World, f: int) -> bool:
    """``f`` sits in some per-CPU cache."""
    return w["ncache", f] > 0


def is_allocated(w: World, f: int) -> bool:
    """``f`` lies in a range handed out and not returned."""
    return w["nalloc", f] > 0


def is_poisoned(w: World, f: int) -> bool:
    """Either POISONED bit (MetaSlot guard or flags) is set."""
    return bool(w["guard", f] & GUARD_POISONED) or bool(w["flags", f] & FLAG_POISONED)


def shared(rc: int) -> bool:
    """A refcount that counts shared handles: 1 ..= REFCOUNT_MAX."""
    return 1 <= rc <= REFCOUNT_MAX


def published(rc: int) -> bool:
    """A refcount that stands for live handles: shared, or the one UNIQUE handle."""
    return shared(rc) or rc == REFCOUNT_UNIQUE


def early_allocated(w: World, f: int) -> bool:
    """``f`` was handed out by the early bump allocator: ``early_lo <= f < early_end``."""
    return w.early_lo <= f < w.early_end


# ---- invariants: per frame, a list of (conjunct, holds) -------------------------------------------------

Conjuncts = list[tuple[str, bool]]


def inv_payload(pre: World, post: World, f: int) -> Conjuncts:
    """I1: the payload changes only by zeroing a frame being claimed, or by its holder."""
    same = pre["pay", f] == post["pay", f] and pre["pz", f] == post["pz", f]
    claimed_now = pre["rc", f] == REFCOUNT_UNUSED != post["rc", f]
    zeroing = (post["pz", f] and post["pay", f] == ZERO_DIGEST and is_allocated(post, f)
               and (pre["rc", f] == REFCOUNT_BUSY or claimed_now))
    by_holder = (post.actor in (HOLDER, ANY_ACTOR) and is_allocated(pre, f) and is_allocated(post, f)
                 and pre["rc", f] != REFCOUNT_UNUSED and post["rc", f] != REFCOUNT_UNUSED)
    return [("payload unchanged, zeroed while claimed, or written by its holder", same or zeroing or by_holder)]


def inv_disjoint(w: World, f: int) -> Conjuncts:
    """I2: free, cached and allocated are disjoint, each at most once, and free or cached memory was added."""
    free, cached, allocated = is_free(w, f), is_cached(w, f), is_allocated(w, f)
    return [
        ("one free block at most", len(free_orders(w, f)) <= 1),
        ("one allocation at most", w["nalloc", f] <= 1),
        ("one cache entry at most", w["ncache", f] <= 1),
        ("allocated excludes free and cached", not (allocated and (free or cached))),
        ("free excludes cached", not (free and cached)),
        ("free or cached was added", w["added", f] or not (free or cached)),
        ("a free-list head was added", w["added", f] or w["hord", f] == NO_HEAD),
    ]


def inv_sentinels(w: World, f: int) -> Conjuncts:
    """I3: UNUSED exactly when not claimed; the gap between MAX and UNIQUE is never a refcount."""
    rc = w["rc", f]
    return [
        ("free or cached is UNUSED", rc == REFCOUNT_UNUSED or not (is_free(w, f) or is_cached(w, f))),
        ("claimed is allocated", rc == REFCOUNT_UNUSED or is_allocated(w, f)),
        ("no refcount in the gap", not REFCOUNT_MAX < rc < REFCOUNT_UNIQUE),
    ]


def refcount_successors(a: int) -> set[int]:
    """The refcounts the protocol may move ``a`` to in one step or one public operation."""
    nxt = {a}
    if a == REFCOUNT_UNUSED:
        nxt |= {REFCOUNT_BUSY, 1}  # a claim, or a whole allocation
    if a == REFCOUNT_BUSY:
        nxt |= {1, REFCOUNT_UNUSED}  # publish, or teardown
    if shared(a) and a < REFCOUNT_MAX:
        nxt.add(a + 1)  # clone, from_in_use
    if shared(a) and a > 1:
        nxt.add(a - 1)  # drop of a non-last handle
    if a in (1, REFCOUNT_UNIQUE):
        nxt |= {REFCOUNT_BUSY, REFCOUNT_UNUSED}  # last drop, with or without the teardown
    return nxt


def inv_transitions(pre: World, post: World, f: int) -> Conjuncts:
    """I3: refcounts follow the sentinel protocol, and a claimed frame leaves the free lists and caches."""
    claimed_now = pre["rc", f] == REFCOUNT_UNUSED != post["rc", f]
    return [
        ("a protocol move", post["rc", f] in refcount_successors(pre["rc", f])),
        ("a claimed frame is neither free nor cached", not claimed_now or not (is_free(post, f) or is_cached(post, f))),
    ]


def inv_generation(pre: World, post: World, f: int) -> Conjuncts:
    """I3: one generation step per claim, in the claiming step or while the claim is still busy."""
    delta = (post["gen", f] - pre["gen", f]) & WORD
    claimed_now = pre["rc", f] == REFCOUNT_UNUSED != post["rc", f]
    still_claiming = pre["rc", f] == REFCOUNT_BUSY and post["rc", f] != REFCOUNT_UNUSED
    return [
        ("by 0 or 1", delta in (0, 1)),
        ("a bump comes with a claim", delta != 1 or claimed_now or still_claiming),
        ("a whole claim bumps", not (claimed_now and post["rc", f] != REFCOUNT_BUSY) or delta == 1),
    ]


def inv_epoch(w: World, f: int) -> Conjuncts:
    """I3: a claimed frame's generation is its claim-time generation plus one."""
    return [("claimed: gen == gen0 + 1",
             w["rc", f] == REFCOUNT_UNUSED or w["gen", f] == (w["gen0", f] + 1) & WORD)]


def inv_handles(w: World, f: int) -> Conjuncts:
    """I3: the live handles are what the refcount stands for."""
    rc, n = w["rc", f], w["handles", f]
    return [
        ("shared: handles == rc", not shared(rc) or n == rc),
        ("unique: one handle", rc != REFCOUNT_UNIQUE or n == 1),
        ("unpublished: no handle", published(rc) or n == 0),
    ]


def inv_page_tables(pre: World, post: World, f: int) -> Conjuncts:
    """I4: a frame becoming visible as a page table is all zero."""
    now = not published(pre["rc", f]) and published(post["rc", f])
    return [("published page table is zero", not (now and post["purpose", f] == PURPOSE_PAGE_TABLE) or post["pz", f])]


def inv_conservation(w: World, f: int) -> Conjuncts:
    """Each frame is in exactly one place: added frames once (or retired when poisoned), others nowhere."""
    places = len(free_orders(w, f)) + w["nalloc", f] + w["ncache", f]
    if w["added", f]:
        return [("added: in one place, or retired poisoned", places == 1 or (places == 0 and is_poisoned(w, f)))]
    return [("never added: nowhere", places == 0)]


def inv_aligned(w: World, f: int) -> Conjuncts:
    """A free block's order is a buddy order and its first frame is a multiple of its size."""
    k = w["hord", f]
    head = k != NO_HEAD
    return [("order at most MAX_ORDER", not head or k <= w.max_order),
            ("aligned", not head or k > w.max_order or f % (1 << k) == 0)]


def inv_merged(w: World, f: int) -> Conjuncts:
    """Two free buddies of one order in one pool exist only while one of them is the pending block."""
    out = []
    for k in range(w.max_order):
        mate = f ^ (1 << k)
        both = w["hord", f] == k == w["hord", mate] and w["pool", f] == w["pool", mate]
        pending = w.pending_order == k and w.pending in (f, mate)
        out.append((f"order {k}", not both or pending))
    return out


def inv_pending(w: World, f: int) -> Conjuncts:
    """The pending block is on the free list with the pending order."""
    at_f = w.pending_order != NO_HEAD and w.pending == f
    return [("pending block is free", not at_f or w["hord", f] == w.pending_order)]


def inv_within_pool(w: World, f: int) -> Conjuncts:
    """A free block's frames share its first frame's pool (an order-0 block is its own first frame)."""
    return [(f"order {k}", w["hord", block_start(f, k)] != k or w["pool", f] == w["pool", block_start(f, k)])
            for k in range(1, w.max_order + 1)]


def inv_pool_ids(w: World, f: int) -> Conjuncts:
    """An added frame's pool is an added frame at or before it that is its own pool."""
    p, added = w["pool", f], w["added", f]
    return [("pool at or before the frame", not added or p <= f),
            ("pool frame added", not added or bool(w["added", p])),
            ("pool names itself", not added or w["pool", p] == p)]


def inv_poisoned(w: World, f: int) -> Conjuncts:
    """A poisoned frame is neither free nor cached."""
    bad = is_poisoned(w, f)
    return [("poisoned is not free", not (bad and is_free(w, f))),
            ("poisoned is not cached", not (bad and is_cached(w, f)))]


def inv_cache_owner(w: World, f: int) -> Conjuncts:
    """A cached frame's CPU exists."""
    return [("cache CPU exists", not is_cached(w, f) or w["ccpu", f] < w.ncpus)]


def inv_cache_steps(pre: World, post: World, f: int) -> Conjuncts:
    """Only CPU c pushes to or pops from CPU c's cache, and a cached frame keeps its CPU."""
    known = post.actor != ANY_ACTOR
    was, now = is_cached(pre, f), is_cached(post, f)
    return [
        ("pushed by its CPU", not (known and not was and now) or post.actor == post["ccpu", f]),
        ("popped by its CPU", not (known and was and not now) or post.actor == pre["ccpu", f]),
        ("kept by its CPU", not (was and now) or post["ccpu", f] == pre["ccpu", f]),
    ]


def inv_early(w: World, f: int) -> Conjuncts:
    """Early-allocated frames are never added."""
    return [("early frame not added", not (early_allocated(w, f) and w["added", f]))]


#: state invariants by the model's registry name: ``(world, frame) -> conjuncts``
STATE_INVARIANTS: dict[str, Callable[[World, int], Conjuncts]] = {
    "I2-non-overlapping-ranges": inv_disjoint,
    "I3-refcount-sentinels": inv_sentinels,
    "I3-generation-epoch": inv_epoch,
    "I3-live-handles": inv_handles,
    "S-conservation": inv_conservation,
    "S-buddy-aligned": inv_aligned,
    "S-buddies-merged": inv_merged,
    "S-pending-block": inv_pending,
    "S-blocks-within-pool": inv_within_pool,
    "S-pool-ids": inv_pool_ids,
    "S-poisoned-never-free": inv_poisoned,
    "S-cache-owner": inv_cache_owner,
    "S-early-frames-reserved": inv_early,
}
#: step invariants by the model's registry name: ``(pre, post, frame) -> conjuncts``
STEP_INVARIANTS: dict[str, Callable[[World, World, int], Conjuncts]] = {
    "I1-no-metadata-in-payload": inv_payload,
    "I3-refcount-transitions": inv_transitions,
    "I3-generation": inv_generation,
    "I4-page-table-zeroed": inv_page_tables,
    "S-cache-owner-steps": inv_cache_steps,
}


# ---- operations: (world, *args) -> the world after, or None when the guard is false -----------------------


def _idle(w: World) -> bool:
    """The pool lock is free: no split chain or merge cascade is under way."""
    return w.pending_order == NO_HEAD


def _lock_free_or_mine(w: World, h: int) -> bool:
    return _idle(w) or w.pending == h


def _unlock(w: World) -> None:
    w.set("pending", 0)
    w.set("pending_order", NO_HEAD)


def _lock(w: World, h: int, k: int) -> None:
    w.set("pending", h)
    w.set("pending_order", k)


def _returnable(w: World, f: int) -> bool:
    """Allocated once, torn down (UNUSED) and not poisoned: the frame may go back to the pool or a cache."""
    return w["nalloc", f] == 1 and w["rc", f] == REFCOUNT_UNUSED and not is_poisoned(w, f)


def _cpu(w: World, cpu: int) -> bool:
    return cpu < w.ncpus


def _mate(w: World, h: int) -> tuple[bool, int]:
    """Whether the pending block at ``h`` can merge one order up, and its buddy."""
    k = w.pending_order
    mate = h ^ (1 << min(k, w.max_order))
    ok = k < w.max_order and w["hord", mate] == k and w["pool", mate] == w["pool", h]
    return ok, mate


def op_buddy_alloc(w: World, h: int, k: int) -> World | None:
    """The free block of order exactly k at h is handed out (allocated once more) and the lock released."""
    if not (_lock_free_or_mine(w, h) and k <= w.max_order and w["hord", h] == k):
        return None
    out = w.copy()
    out.put("hord", h, NO_HEAD)
    for g in block(h, k):
        out.put("nalloc", g, w["nalloc", g] + 1)
    _unlock(out)
    return out


def op_split(w: World, h: int) -> World | None:
    """The free block at h becomes its two halves, one order down; the lower half is pending."""
    j = w["hord", h]
    if not (_lock_free_or_mine(w, h) and 1 <= j <= w.max_order):
        return None
    out = w.copy()
    out.put("hord", h, j - 1)
    out.put("hord", h + (1 << (j - 1)), j - 1)
    _lock(out, h, j - 1)
    return out


def op_buddy_free(w: World, h: int, k: int) -> World | None:
    """An aligned block of torn-down frames of one pool goes back as a free block, pending its merges."""
    if not (_idle(w) and k <= w.max_order and h % (1 << k) == 0):
        return None
    if not all(_returnable(w, g) and w["pool", g] == w["pool", h] for g in block(h, k)):
        return None
    out = w.copy()
    out.put("hord", h, k)
    for g in block(h, k):
        if w["nalloc", g]:
            out.put("nalloc", g, w["nalloc", g] - 1)
    _lock(out, h, k)
    return out


def op_merge(w: World, h: int) -> World | None:
    """The pending block and its free buddy of the same pool become one pending block, one order up."""
    ok, mate = _mate(w, h)
    if not (w.pending_order != NO_HEAD and w.pending == h and ok):
        return None
    k = w.pending_order
    # the merged block is the order-(k + 1) block holding h (for an aligned pending block: h or its buddy)
    head = block_start(h, k + 1)
    out = w.copy()
    out.put("hord", h, NO_HEAD)
    out.put("hord", mate, NO_HEAD)
    out.put("hord", head, k + 1)
    _lock(out, head, k + 1)
    return out


def op_merge_stop(w: World, h: int) -> World | None:
    """The pending block cannot merge (no free buddy in its pool, or at MAX_ORDER): the lock is released."""
    ok, _ = _mate(w, h)
    if not (w.pending_order != NO_HEAD and w.pending == h and not ok):
        return None
    out = w.copy()
    _unlock(out)
    return out


def op_retire_poisoned(w: World, f: int) -> World | None:
    """A torn-down poisoned frame leaves the allocated set and goes nowhere."""
    if not (w["nalloc", f] == 1 and w["rc", f] == REFCOUNT_UNUSED and is_poisoned(w, f)):
        return None
    out = w.copy()
    out.put("nalloc", f, 0)
    return out


def op_cache_refill(w: World, cpu: int, h: int) -> World | None:
    """A free order-0 block moves into the cache of an existing CPU, which takes the step."""
    if not (_lock_free_or_mine(w, h) and w["hord", h] == 0 and _cpu(w, cpu)):
        return None
    out = w.copy()
    out.put("hord", h, NO_HEAD)
    out.put("ncache", h, w["ncache", h] + 1)
    out.put("ccpu", h, cpu)
    out.set("actor", cpu)
    _unlock(out)
    return out


def op_cache_flush(w: World, cpu: int, f: int) -> World | None:
    """A frame leaves its own CPU's cache for the pool, as a pending order-0 block."""
    if not (_idle(w) and w["ncache", f] == 1 and w["ccpu", f] == cpu and _cpu(w, cpu)):
        return None
    out = w.copy()
    out.put("ncache", f, 0)
    out.put("hord", f, 0)
    out.set("actor", cpu)
    _lock(out, f, 0)
    return out


def op_cache_alloc(w: World, cpu: int, f: int) -> World | None:
    """A CPU pops a frame of its own cache and hands it out."""
    if not (w["ncache", f] == 1 and w["ccpu", f] == cpu and _cpu(w, cpu)):
        return None
    out = w.copy()
    out.put("ncache", f, 0)
    out.put("nalloc", f, w["nalloc", f] + 1)
    out.set("actor", cpu)
    return out


def op_cache_free(w: World, cpu: int, f: int) -> World | None:
    """A torn-down, unpoisoned frame allocated once goes into an existing CPU's cache."""
    if not (_returnable(w, f) and _cpu(w, cpu)):
        return None
    out = w.copy()
    out.put("nalloc", f, 0)
    out.put("ncache", f, w["ncache", f] + 1)
    out.put("ccpu", f, cpu)
    out.set("actor", cpu)
    return out


def op_claim(w: World, f: int) -> World | None:
    """The CAS claims an UNUSED allocated frame (to busy) and bumps its generation, remembering the old one."""
    if not (w["nalloc", f] == 1 and w["rc", f] == REFCOUNT_UNUSED):
        return None
    out = w.copy()
    out.put("rc", f, REFCOUNT_BUSY)
    out.put("gen0", f, w["gen", f])
    out.put("gen", f, w["gen", f] + 1)
    return out


def op_claim_failed(w: World, f: int) -> World | None:
    """The CAS finds the frame not UNUSED: nothing changes."""
    return w.copy() if w["rc", f] != REFCOUNT_UNUSED else None


def op_zero(w: World, f: int) -> World | None:
    """A busy allocated frame's payload is zeroed."""
    if not (w["nalloc", f] == 1 and w["rc", f] == REFCOUNT_BUSY):
        return None
    out = w.copy()
    out.put("pz", f, True)
    out.put("pay", f, ZERO_DIGEST)
    return out


def op_publish(w: World, f: int, purpose: int, zeroed: bool) -> World | None:
    """A busy frame gets its purpose and one handle (refcount 1), zeroed first when asked or a page table."""
    must_be_zero = zeroed or purpose == PURPOSE_PAGE_TABLE
    if not (w["nalloc", f] == 1 and w["rc", f] == REFCOUNT_BUSY and purpose <= PURPOSE_DMA
            and (w["pz", f] or not must_be_zero)):
        return None
    out = w.copy()
    out.put("purpose", f, purpose)
    out.put("rc", f, 1)
    out.put("handles", f, 1)
    return out


def _new_handle(w: World, f: int) -> World:
    out = w.copy()
    out.put("rc", f, w["rc", f] + 1)
    out.put("handles", f, w["handles", f] + 1)
    return out


def op_clone(w: World, f: int) -> World | None:
    """One more shared handle, below REFCOUNT_MAX."""
    return _new_handle(w, f) if 1 <= w["rc", f] < REFCOUNT_MAX else None


def op_from_in_use(w: World, f: int) -> World | None:
    """One more handle to a frame in use (neither busy nor UNUSED), below REFCOUNT_MAX."""
    rc = w["rc", f]
    return _new_handle(w, f) if rc not in (REFCOUNT_BUSY, REFCOUNT_UNUSED) and rc < REFCOUNT_MAX else None


def op_from_in_use_refused(w: World, f: int) -> World | None:
    """from_in_use refuses a busy, UNUSED, unique or full frame: nothing changes."""
    rc = w["rc", f]
    return w.copy() if rc in (REFCOUNT_BUSY, REFCOUNT_UNUSED) or rc >= REFCOUNT_MAX else None


def op_drop(w: World, f: int) -> World | None:
    """A shared handle that is not the last is dropped."""
    if not 1 < w["rc", f] <= REFCOUNT_MAX:
        return None
    out = w.copy()
    out.put("rc", f, w["rc", f] - 1)
    out.put("handles", f, w["handles", f] - 1)
    return out


def op_drop_last(w: World, f: int) -> World | None:
    """The last handle (refcount 1, or the unique one) is dropped: the frame is busy."""
    if w["rc", f] not in (1, REFCOUNT_UNIQUE):
        return None
    out = w.copy()
    out.put("rc", f, REFCOUNT_BUSY)
    out.put("handles", f, w["handles", f] - 1)
    return out


def op_release(w: World, f: int) -> World | None:
    """Teardown: a busy frame becomes UNUSED."""
    if w["rc", f] != REFCOUNT_BUSY:
        return None
    out = w.copy()
    out.put("rc", f, REFCOUNT_UNUSED)
    return out


def op_mark_poisoned(w: World, f: int) -> World | None:
    """A frame neither free nor cached gets both POISONED bits."""
    if is_free(w, f) or is_cached(w, f):
        return None
    out = w.copy()
    out.put("guard", f, w["guard", f] | GUARD_POISONED)
    out.put("flags", f, w["flags", f] | FLAG_POISONED)
    return out


def op_holder_write(w: World, f: int, d: int) -> World | None:
    """The holder of a claimed allocated frame writes its payload."""
    if not (w["nalloc", f] == 1 and w["rc", f] != REFCOUNT_UNUSED):
        return None
    out = w.copy()
    out.put("pay", f, d)
    out.put("pz", f, d == ZERO_DIGEST)
    out.set("actor", HOLDER)
    return out


def op_add_block(w: World, p: int, h: int, k: int) -> World | None:
    """An aligned block of fresh frames joins pool p (or names a new pool, p == h) as a pending free block."""
    if not (_idle(w) and k <= w.max_order and h % (1 << k) == 0):
        return None
    # the first block of a range names the pool after itself; later blocks join an earlier, existing pool
    if not (p == h or (p < h and w["added", p] and w["pool", p] == p)):
        return None
    fresh = all(not w["added", g] and w["rc", g] == REFCOUNT_UNUSED and not is_poisoned(w, g)
                and not early_allocated(w, g) for g in block(h, k))
    if not fresh:
        return None
    out = w.copy()
    for g in block(h, k):
        out.put("added", g, True)
        out.put("pool", g, p)
    out.put("hord", h, k)
    _lock(out, h, k)
    return out


def op_early_alloc(w: World, n: int) -> World | None:
    """Before init, the early bump allocator hands out n more frames, none of them added."""
    first = w.early_end
    if w.booted or first + n > w.early_hi:
        return None
    # every frame the world does not store is not added, so only stored frames of the range can fail
    if any(w["added", g] for g in w.stored() if first <= g < first + n):
        return None
    out = w.copy()
    out.set("early_end", first + n)
    return out


def op_retire_early(w: World) -> World | None:
    """init retires the early allocator."""
    out = w.copy()
    out.set("booted", True)
    return out


def op_stutter(w: World) -> World | None:
    """Nothing happens."""
    return w.copy()


#: operations by the model's registry name: ``(world, *args in the registry's parameter order) -> world | None``
OPERATIONS: dict[str, Callable[..., World | None]] = {
    "buddy_alloc": op_buddy_alloc,
    "split": op_split,
    "buddy_free": op_buddy_free,
    "merge": op_merge,
    "merge_stop": op_merge_stop,
    "retire_poisoned": op_retire_poisoned,
    "cache_refill": op_cache_refill,
    "cache_flush": op_cache_flush,
    "cache_alloc": op_cache_alloc,
    "cache_free": op_cache_free,
    "claim": op_claim,
    "claim_failed": op_claim_failed,
    "zero": op_zero,
    "publish": op_publish,
    "clone": op_clone,
    "from_in_use": op_from_in_use,
    "from_in_use_refused": op_from_in_use_refused,
    "drop": op_drop,
    "drop_last": op_drop_last,
    "release": op_release,
    "mark_poisoned": op_mark_poisoned,
    "holder_write": op_holder_write,
    "add_block": op_add_block,
    "early_alloc": op_early_alloc,
    "retire_early": op_retire_early,
    "stutter": op_stutter,
}


#: the most CPUs a machine has (CPU ids lie below the two actor codes)
MAX_CPUS = HOLDER


def is_initial(w: World, frames: range) -> bool:
    """Boot: nothing added, free, cached or allocated; every MetaSlot UNUSED, unpoisoned, with no handle; the
    early allocator empty and not retired; the pool lock free; 1 to MAX_CPUS CPUs (over ``frames``)."""
    blank = all(w["rc", g] == REFCOUNT_UNUSED and w["handles", g] == 0 and w["hord", g] == NO_HEAD
                and w["nalloc", g] == 0 and w["ncache", g] == 0 and not w["added", g] and w["guard", g] == 0
                and w["flags", g] == 0 for g in frames)
    return (blank and not w.booted and w.early_end == w.early_lo <= w.early_hi and 1 <= w.ncpus <= MAX_CPUS
            and w.pending_order == NO_HEAD and w.pending == 0)
