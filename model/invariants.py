"""The invariants of the allocator: one z3 predicate each, the only definition there is.

Design: every invariant is a *per-frame body* ``(cfg, state, f) -> BoolRef``
(state invariants) or ``(cfg, pre, post, f) -> BoolRef`` (step invariants);
the invariant itself is "the body holds for every frame number f".  Proofs
apply the body to an arbitrary symbolic frame, the concrete checks ground it
over the snapshot's frames, and docs and reports read the statement and the
seed citation from the same :class:`Invariant` object.  Each body is one
commented conjunct per line, and each invariant is checked on its own.

Step invariants compare two states that may be one atomic step or a whole
public operation apart, so they are phrased to hold for both (e.g. a frame
that left UNUSED may be busy *or* already published).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Iterable

import z3

from framemc.model.state import (
    ANY_ACTOR,
    BUSY,
    HOLDER,
    NOHEAD,
    ONE,
    PAGE_TABLE,
    RC_MAX,
    UNIQUE,
    UNUSED,
    ZERO_PAYLOAD,
    FrameSort,
    ModelConfig,
    State,
    align,
    block_len,
    buddy,
    early_allocated,
    free_count,
    is_allocated,
    is_cached,
    is_free,
    is_poisoned,
    is_published,
    small,
    word,
)


#: a frame variable that no state or operation mentions (see :func:`grounded`)
POINT = z3.Const("invariant.point", FrameSort)


def grounded(body: Callable[[z3.BitVecRef], z3.BoolRef], frames: Iterable[z3.BitVecRef]) -> list[z3.BoolRef]:
    """``body(g)`` for each frame term ``g``, with the body built once, at :data:`POINT`, and substituted.

    z3's substitution does not rewrite, so each result is the very term
    ``body(g)`` builds on a state whose fields are functions or lookups that do
    not inspect the frame term, at a fraction of the Python cost of building
    an invariant's one conjunct per order at every frame.
    """
    template = body(POINT)
    return [z3.substitute(template, (POINT, g)) for g in frames]


class InvariantKind(enum.Enum):
    """Whether an invariant constrains one state or a pair of consecutive states."""

    STATE = "state"
    STEP = "step"


@dataclass(frozen=True, slots=True)
class Invariant:
    """A named invariant: its statement, where it comes from, and its per-frame z3 body."""

    #: stable name, e.g. ``I1-no-metadata-in-payload``
    name: str
    #: one-line plain-English statement (the body's docstring first line)
    statement: str
    #: the seed sentence the invariant comes from
    citation: str
    #: state or step invariant
    kind: InvariantKind
    #: ``(cfg, state, f)`` or ``(cfg, pre, post, f)`` -> the body at frame ``f``
    body: Callable[..., z3.BoolRef]


def _left_unused(pre: State, post: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Frame ``f``'s refcount was UNUSED before and is not after."""
    return z3.And(pre.rc[f] == UNUSED, post.rc[f] != UNUSED)


def no_metadata_in_payload(cfg: ModelConfig, pre: State, post: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Allocator steps never write a frame's payload, except zeroing a frame being allocated; only its holder may."""
    unchanged = z3.And(post.pay[f] == pre.pay[f], post.pz[f] == pre.pz[f])
    return z3.Or(
        # free-list links and all other metadata live in the MetaSlot, so the payload stays
        unchanged,
        z3.And(
            # the only write is zeroing: the payload becomes all zero ...
            post.pz[f],
            post.pay[f] == ZERO_PAYLOAD,
            # ... of a frame that is allocated ...
            is_allocated(post, f),
            # ... and claimed: busy before the step, or claimed during it
            z3.Or(pre.rc[f] == BUSY, _left_unused(pre, post, f)),
        ),
        z3.And(
            # a frame that is claimed before and after the step belongs to its holder, not to the
            # allocator: the holder may write it (and its on_last_ref teardown may), the allocator may not
            z3.Or(post.actor == HOLDER, post.actor == ANY_ACTOR),
            is_allocated(pre, f),
            is_allocated(post, f),
            pre.rc[f] != UNUSED,
            post.rc[f] != UNUSED,
        ),
    )


def non_overlapping(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Free, cached and allocated ranges are pairwise disjoint, and free memory lies inside added memory."""
    free = is_free(s, f, cfg)
    return z3.And(
        # at most one free block covers the frame
        z3.ULE(free_count(s, f, cfg), small(1)),
        # at most one allocated range covers the frame
        z3.ULE(s.nalloc[f], small(1)),
        # at most one cache entry holds the frame
        z3.ULE(s.ncache[f], small(1)),
        # an allocated frame is neither free nor cached
        z3.Not(z3.And(is_allocated(s, f), z3.Or(free, is_cached(s, f)))),
        # a free frame is not also cached
        z3.Not(z3.And(free, is_cached(s, f))),
        # free and cached frames were added by add_free_memory
        z3.Implies(z3.Or(free, is_cached(s, f)), s.added[f]),
        # in particular the first frame of a free block was
        z3.Implies(s.hord[f] != NOHEAD, s.added[f]),
    )


def refcount_sentinels(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """A frame is UNUSED exactly when it is not claimed: free, cached, reserved, retired, or allocated in transit."""
    return z3.And(
        # free or cached means UNUSED; in particular 0 (busy) is never seen on a free frame
        z3.Implies(z3.Or(is_free(s, f, cfg), is_cached(s, f)), s.rc[f] == UNUSED),
        # the other way round: a frame the allocator has not handed out (reserved, retired after poisoning) is
        # UNUSED too, so a refcount other than UNUSED means allocated and claimed; an allocated frame that is
        # UNUSED is in transit, handed out but not yet claimed or torn down but not yet returned
        z3.Implies(s.rc[f] != UNUSED, is_allocated(s, f)),
        # the gap between REFCOUNT_MAX and UNIQUE is never used
        z3.Or(z3.ULE(s.rc[f], RC_MAX), z3.UGE(s.rc[f], UNIQUE)),
    )


def refcount_transitions(cfg: ModelConfig, pre: State, post: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Refcounts move only along the sentinel protocol; UNUSED is left only by a claim, to busy or published."""
    a, b = pre.rc[f], post.rc[f]
    shared = z3.And(z3.UGE(a, ONE), z3.ULE(a, RC_MAX))
    return z3.And(
        z3.Or(
            # no change
            a == b,
            # CAS claim UNUSED -> 0, or a whole allocation UNUSED -> 1
            z3.And(a == UNUSED, z3.Or(b == BUSY, b == ONE)),
            # publish 0 -> 1
            z3.And(a == BUSY, b == ONE),
            # clone / from_in_use: +1, never past MAX
            z3.And(shared, z3.ULT(a, RC_MAX), b == a + 1),
            # drop of a non-last handle: -1
            z3.And(shared, z3.UGT(a, ONE), b == a - 1),
            # last drop: fetch_sub 1 -> 0 (or a unique handle)
            z3.And(z3.Or(a == ONE, a == UNIQUE), b == BUSY),
            # teardown stores UNUSED after busy, or a whole last drop 1 -> UNUSED
            z3.And(z3.Or(a == BUSY, a == ONE, a == UNIQUE), b == UNUSED),
        ),
        # a frame that left UNUSED is out of the free lists and caches
        z3.Implies(_left_unused(pre, post, f), z3.And(z3.Not(is_free(post, f, cfg)), z3.Not(is_cached(post, f)))),
    )


def generation_counts_claims(cfg: ModelConfig, pre: State, post: State, f: z3.BitVecRef) -> z3.BoolRef:
    """The generation grows by exactly one per successful claim, and never otherwise."""
    delta = post.gen[f] - pre.gen[f]
    claimed_now = _left_unused(pre, post, f)
    return z3.And(
        # at most one epoch per step
        z3.Or(delta == 0, delta == 1),
        # an epoch comes only with a claim: in the step that leaves UNUSED, or (seed 001: "after a
        # successful CAS", one atomic step later) while the claimed frame is still busy
        z3.Implies(delta == 1, z3.Or(claimed_now, z3.And(pre.rc[f] == BUSY, post.rc[f] != UNUSED))),
        # a claim seen whole in one step (UNUSED -> published) has bumped the epoch
        z3.Implies(z3.And(claimed_now, post.rc[f] != BUSY), delta == 1),
    )


def generation_epoch(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """A claimed frame's generation is exactly one above what it was when claimed, before it is published."""
    return z3.And(
        # busy (claimed, or being torn down) or published: the claim bumped the epoch once, and only once
        z3.Implies(s.rc[f] != UNUSED, s.gen[f] == s.gen0[f] + 1),
    )


def live_handles(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """The refcount counts the live handles: a lost update or a discarded live handle breaks it."""
    rc, n = s.rc[f], s.handles[f]
    return z3.And(
        # a shared refcount is the number of live handles
        z3.Implies(z3.And(z3.UGE(rc, ONE), z3.ULE(rc, RC_MAX)), n == rc),
        # a unique handle is one handle
        z3.Implies(rc == UNIQUE, n == ONE),
        # busy, UNUSED (or any other value) means no handle is live: the last drop was the last handle
        z3.Implies(z3.Not(is_published(rc)), n == word(0)),
    )


def cache_owner(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """A frame in a per-CPU cache belongs to a CPU that exists."""
    return z3.And(
        # a cached frame is in the cache of CPU c with c < ncpus
        z3.Implies(is_cached(s, f), z3.ULT(s.ccpu[f], s.ncpus)),
    )


def cache_owner_steps(cfg: ModelConfig, pre: State, post: State, f: z3.BitVecRef) -> z3.BoolRef:
    """A frame enters or leaves CPU c's cache only by a step on CPU c, and never moves between caches."""
    known = post.actor != ANY_ACTOR
    before, after = is_cached(pre, f), is_cached(post, f)
    return z3.And(
        # a frame enters CPU c's cache only from CPU c (cache_free, cache_refill)
        z3.Implies(z3.And(known, z3.Not(before), after), post.actor == post.ccpu[f]),
        # and leaves it only from CPU c (cache_alloc, cache_flush): no CPU takes from another's cache
        z3.Implies(z3.And(known, before, z3.Not(after)), post.actor == pre.ccpu[f]),
        # a cached frame never changes owner while it stays cached
        z3.Implies(z3.And(before, after), post.ccpu[f] == pre.ccpu[f]),
    )


def page_tables_zeroed(cfg: ModelConfig, pre: State, post: State, f: z3.BitVecRef) -> z3.BoolRef:
    """A frame published with purpose PageTable has an all-zero payload at the moment of publication."""
    published_now = z3.And(z3.Not(is_published(pre.rc[f])), is_published(post.rc[f]))
    return z3.And(
        # the page walker reads all 512 entries, so they must be zero when others can see the frame
        z3.Implies(z3.And(published_now, post.purpose[f] == PAGE_TABLE), post.pz[f]),
    )


def conservation(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Every frame is in exactly one of free, cached, allocated or reserved, so they sum to the total."""
    total = z3.Sum([z3.ZeroExt(8, x) for x in (free_count(s, f, cfg), s.nalloc[f], s.ncache[f])])
    zero, one = z3.BitVecVal(0, 16), z3.BitVecVal(1, 16)
    return z3.If(
        s.added[f],
        # an added frame is in exactly one place, or retired after being poisoned
        z3.Or(total == one, z3.And(total == zero, is_poisoned(s, f))),
        # a frame never added is reserved: in no free list, cache or allocation
        total == zero,
    )


def buddy_aligned(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Every free block has an order of at most MAX_ORDER and starts at a multiple of its size."""
    order = s.hord[f]
    return z3.Implies(
        order != NOHEAD,
        z3.And(
            # the order is one the buddy allocator has
            z3.ULE(order, small(cfg.max_order)),
            # the first frame is aligned to 2**order
            f & (block_len(order, cfg.max_order) - 1) == 0,
        ),
    )


def buddies_merged(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """No free block has its true buddy free at the same order in the same pool, but the pending one: merging is eager."""
    return z3.And(
        [
            # the block at f and its buddy f ^ 2**k would have been merged on free, unless one of them is the
            # block the pool-lock holder is still merging (or splitting)
            z3.Implies(
                z3.And(s.hord[f] == small(k), s.hord[buddy(f, k)] == small(k), s.pool[buddy(f, k)] == s.pool[f]),
                z3.And(s.pending_order == small(k), z3.Or(s.pending == f, s.pending == buddy(f, k))),
            )
            for k in range(cfg.max_order)
        ]
    )


def pending_block(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """The block a buddy operation in progress is working on is a free block of the pending order."""
    return z3.And(
        # the pending block is on the free list with the order the lock holder believes it has
        z3.Implies(z3.And(s.pending_order != NOHEAD, s.pending == f), s.hord[f] == s.pending_order),
    )


def blocks_within_pool(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Every frame of a free block belongs to the same added pool as the block's first frame."""
    return z3.And(
        [
            # a block never straddles two add_free_memory ranges
            z3.Implies(
                s.hord[align(f, k)] == small(k),
                s.pool[f] == s.pool[align(f, k)],
            )
            for k in range(cfg.max_order + 1)
        ]
    )


def pool_ids(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """An added frame's pool is named by an earlier added frame that names itself."""
    return z3.Implies(
        s.added[f],
        z3.And(
            # the pool starts at or before the frame
            z3.ULE(s.pool[f], f),
            # the pool's first frame was added
            s.added[s.pool[f]],
            # and belongs to its own pool
            s.pool[s.pool[f]] == s.pool[f],
        ),
    )


def poisoned_never_free(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """A poisoned frame is never in a free list or a per-CPU cache, so it is never handed out."""
    return z3.Implies(
        is_poisoned(s, f),
        z3.And(
            # alloc and dealloc keep it out of the buddy free lists
            z3.Not(is_free(s, f, cfg)),
            # cache refill and dealloc keep it out of the order-0 caches
            z3.Not(is_cached(s, f)),
        ),
    )


def early_frames_reserved(cfg: ModelConfig, s: State, f: z3.BitVecRef) -> z3.BoolRef:
    """Frames handed out by the early boot allocator are never added to the buddy allocator."""
    return z3.And(
        # init adds each usable region minus the early-allocated ranges
        z3.Implies(early_allocated(s, f), z3.Not(s.added[f])),
    )


def _register(name: str, kind: InvariantKind, citation: str, body: Callable[..., z3.BoolRef]) -> Invariant:
    """Build the registry entry; the statement is the body's docstring, so there is one text."""
    statement = (body.__doc__ or "").strip().splitlines()[0]
    return Invariant(name=name, statement=statement, citation=citation, kind=kind, body=body)


_S, _T = InvariantKind.STATE, InvariantKind.STEP

#: every invariant, in report order
INVARIANTS: tuple[Invariant, ...] = (
    _register(
        "I1-no-metadata-in-payload",
        _T,
        'seed 001: "Buddy free-list FreeListLink nodes, reference counts, ... live here : not in the mapped '
        'page bytes, so mappings see a pristine payload"',
        no_metadata_in_payload,
    ),
    _register(
        "I2-non-overlapping-ranges",
        _S,
        'seed 002: "The deallocated memory must never overlap with any memory that is already deallocated or '
        'added, without being allocated in between"',
        non_overlapping,
    ),
    _register(
        "I3-refcount-sentinels",
        _S,
        'seed 001: "REFCOUNT_UNUSED - Sentinel refcount for a frame that is in the buddy free list"',
        refcount_sentinels,
    ),
    _register(
        "I3-refcount-transitions",
        _T,
        'seed 000: "CAS-claims the frame via the MetaSlot refcount field (REFCOUNT_UNUSED -> ...)"',
        refcount_transitions,
    ),
    _register(
        "I3-generation",
        _T,
        'seed 001: "generation: incrementee uniquement par MetaSlot::note_new_allocation_epoch apres un CAS '
        'reussi dans FrameAllocOptions::allocate"',
        generation_counts_claims,
    ),
    _register(
        "I3-generation-epoch",
        _S,
        'seed 001: "generation: incrementee uniquement par MetaSlot::note_new_allocation_epoch apres un CAS '
        'reussi"; seed 000: "CAS-claims the frame ... Stores refcount = 1 with Release ordering"',
        generation_epoch,
    ),
    _register(
        "I3-live-handles",
        _S,
        'seed 001: "on_last_ref from the frame vtable, if any (last refcount drop)" (the refcount counts live '
        'handles; the last drop is the last handle)',
        live_handles,
    ),
    _register(
        "I4-page-table-zeroed",
        _T,
        'seed 000: "Safety invariant: page-table frames MUST be zeroed ... Zeros the 4 KiB ... Stores '
        'refcount = 1 with Release ordering"',
        page_tables_zeroed,
    ),
    _register(
        "S-conservation",
        _S,
        'seed 004: "Add global free pages to the frame allocator. Truncate the early allocated frames"; '
        'seed 002: "Adds a contiguous range of frames to the allocator"',
        conservation,
    ),
    _register(
        "S-buddy-aligned",
        _S,
        'seed 001: "Returns true if any page in [phys, phys + 2^order * PAGE_SIZE) has ... poisoned" '
        "(blocks are 2^order frames at aligned addresses)",
        buddy_aligned,
    ),
    _register(
        "S-buddies-merged",
        _S,
        'seed 003: "free chunks are merged only when they are dropped" (this design merges eagerly, with the '
        "true buddy, within one added pool)",
        buddies_merged,
    ),
    _register(
        "S-pending-block",
        _S,
        'seed 002: "pub trait GlobalFrameAllocator: Sync" with "fn dealloc(&self, ...)" (shared by every CPU, '
        "so the pool is locked: one split chain or merge cascade at a time, on one block)",
        pending_block,
    ),
    _register(
        "S-blocks-within-pool",
        _S,
        'seed 002: "The memory being added must never overlap with any memory that was added before"',
        blocks_within_pool,
    ),
    _register(
        "S-pool-ids",
        _S,
        'seed 002: "add_free_memory: Adds a contiguous range of frames to the allocator"',
        pool_ids,
    ),
    _register(
        "S-poisoned-never-free",
        _S,
        'seed 001: "Pour marquer une frame corrompue, preferer MetaSlot::mark_poisoned qui pose les deux"',
        poisoned_never_free,
    ),
    _register(
        "S-cache-owner",
        _S,
        'seed 001: "Cache order-0 : buddy::alloc(0) peut servir depuis le cache local" (each CPU owns its local '
        'cache; CPU ids are below the CPU count)',
        cache_owner,
    ),
    _register(
        "S-cache-owner-steps",
        _T,
        'seed 001: "Cache order-0 : buddy::alloc(0) peut servir depuis le cache local" (a CPU pops and pushes '
        'only its local cache)',
        cache_owner_steps,
    ),
    _register(
        "S-early-frames-reserved",
        _S,
        'seed 004: "for r1 in range_difference(&(region.base()..region.end()), &range_1)" (init adds usable '
        "regions minus the early-allocated ranges)",
        early_frames_reserved,
    ),
)

#: invariants by name
INVARIANTS_BY_NAME: dict[str, Invariant] = {inv.name: inv for inv in INVARIANTS}
#: the state invariants, in report order
STATE_INVARIANTS: tuple[Invariant, ...] = tuple(inv for inv in INVARIANTS if inv.kind is _S)
#: the step invariants, in report order
STEP_INVARIANTS: tuple[Invariant, ...] = tuple(inv for inv in INVARIANTS if inv.kind is _T)
