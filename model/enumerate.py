"""Symbolic initial states: every allocator state that satisfies the state invariants, within small bounds.

Design: one z3 constant per (frame, field) for frames ``0 .. nframes-1``;
the fields are wrapped as a :class:`~framemc.model.state.State` whose lookups
at numerals return those constants (frames beyond the machine get the
reserved defaults of :mod:`framemc.model.concrete`).  Every STATE invariant's
per-frame body -- the one definition in :mod:`framemc.model.invariants` -- is
grounded over the concrete frames and asserted, together with the *bounds*
below, which make the space finite and small.  Models are enumerated with
blocking clauses and turned into :class:`~framemc.snapshot.AllocatorSnapshot`
values (the model never imports the impl).

Bounds (each a conjunct of :func:`_bounds`; the invariants constrain the rest):

* B1 memory: all frames were added by one ``add_free_memory(0, nframes)``;
* B2 refcount: UNUSED, 0 (busy) or ``1 .. max_refcount`` (no UNIQUE handles);
* B3 generation: ``0 .. max_generation``;
* B4 purpose: NONE exactly for never-claimed frames (generation 0), else
  General or PageTable; a published frame has a purpose;
* B5 payload: the zero page or the boot fill page (:data:`PAYLOAD_FILL`), the
  two payloads a frame can hold without being written; a never-claimed frame
  holds the fill page;
* B6 poison: flag and guard bit set together (``mark_poisoned``), on at most
  ``max_poisoned`` frames;
* B7 caches: at most ``cache_capacity`` frames per CPU;
* B8 (optional, ``quiescent_only``): only quiescent states;
* B9 representable: at most one allocation and one cache entry per frame,
  free-block orders in ``0 .. max_order`` (what a snapshot can show).

Under B1 the invariants about pools and the early allocator hold trivially,
and I2 follows from S-conservation; ``invariants=`` drops some to show it.

Quotients ("up to symmetry"):

* Q1, CPUs are interchangeable: a state's per-CPU caches are sorted, and states
  that differ only by a permutation of CPUs count once (``orbit`` says how
  many raw models each canonical state stands for);
* Q2, what the model does not see is fixed canonically, so each model state
  is one snapshot: a cache lists its frames highest at the bottom, lowest on
  top (the refill order, lowest handed out first), and every allocated frame
  is its own one-frame allocation; an unpublished frame's purpose and payload,
  which the allocator never reads (a claim overwrites them), are fixed too;
* Q3, data independence (unless ``vary_data``): the allocator never branches
  on generation, purpose or payload, so each layout gets one data valuation:
  published frames look freshly allocated (generation 1, General, zeroed),
  the others never claimed (generation 0, no purpose, boot fill).

A state is *quiescent* when every allocated frame is published and every
other frame is UNUSED: no frame is busy or half-claimed, so no thread is in
the middle of an operation.  Restored systems can only start from quiescent
states; the others are kept but flagged.
"""

from __future__ import annotations

import enum
import time
from dataclasses import astuple, dataclass

import z3

from framemc.errors import UsageError
from framemc.model.concrete import DEFAULTS, z3_value
from framemc.model.invariants import STATE_INVARIANTS, Invariant
from framemc.model.state import (
    BUSY,
    NOHEAD,
    UNUSED,
    ZERO_PAYLOAD,
    DigestSort,
    Field,
    ModelConfig,
    SmallSort,
    State,
    WordSort,
    frame,
    is_published,
    small,
    word,
    derived_ghosts,
)
from framemc.snapshot import (
    FILL_DIGEST,
    FLAG_POISONED,
    GUARD_POISONED,
    PURPOSE_GENERAL,
    PURPOSE_NONE,
    PURPOSE_PAGE_TABLE,
    REFCOUNT_MAX,
    REFCOUNT_UNUSED,
    ZERO_DIGEST,
    AllocatorSnapshot,
    FrameSnapshot,
)

__all__ = [
    "DEFAULT_TIMEOUT_MS", "EnumerationBounds", "EnumerationStatus", "EnumeratedState",
    "EnumerationResult", "enumerate_states", "is_quiescent", "canonical_snapshot",
]

#: default wall-clock budget of a whole enumeration
DEFAULT_TIMEOUT_MS = 120_000
#: largest machine the enumerator accepts (the state count grows exponentially)
MAX_ENUMERATED_FRAMES = 8


@dataclass(frozen=True, slots=True)
class EnumerationBounds:
    """The small bounds an enumeration runs under: a frozen value, checked on construction."""

    #: frames of the machine, all added as one range
    nframes: int = 4
    #: CPUs, each with an order-0 cache
    ncpus: int = 2
    #: highest buddy order
    max_order: int = 2
    #: largest shared refcount of an in-use frame
    max_refcount: int = 2
    #: largest generation
    max_generation: int = 1
    #: most frames one per-CPU cache holds
    cache_capacity: int = 2
    #: most poisoned frames
    max_poisoned: int = 1
    #: enumerate only quiescent states (B8), instead of all of them with a flag
    quiescent_only: bool = False
    #: vary generation, purpose and payload within B3-B5 instead of fixing them canonically (Q3)
    vary_data: bool = False

    def __post_init__(self) -> None:
        """Reject bounds that are not small non-negative integers."""
        limits = {"nframes": (1, MAX_ENUMERATED_FRAMES), "ncpus": (1, 4), "max_order": (0, 3),
                  "max_refcount": (1, 8), "max_generation": (0, 4), "cache_capacity": (0, MAX_ENUMERATED_FRAMES),
                  "max_poisoned": (0, MAX_ENUMERATED_FRAMES)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise UsageError(f"enumeration bound {name} must be an int in {low}..{high}, got {value!r}")
        for name in ("quiescent_only", "vary_data"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"enumeration bound {name} must be True or False, got {getattr(self, name)!r}")


class EnumerationStatus(enum.Enum):
    """Whether an enumeration found every state within its bounds."""

    #: z3 proved that no further state exists
    COMPLETE = "complete"
    #: the caller's ``limit`` on raw models stopped it
    LIMIT_HIT = "limit-hit"
    #: z3 answered unknown, or the time budget ran out
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class EnumeratedState:
    """One canonical state (a representative of its CPU-permutation orbit)."""

    #: the state as plain values
    snapshot: AllocatorSnapshot
    #: True when no frame is busy or half-claimed (see the module docstring)
    quiescent: bool
    #: raw models (CPU labellings) this canonical state stands for
    orbit: int


@dataclass(frozen=True, slots=True)
class EnumerationResult:
    """Every state found, canonical and sorted, and whether that is all of them."""

    #: the bounds enumerated under
    bounds: EnumerationBounds
    #: canonical states in a deterministic order
    states: tuple[EnumeratedState, ...]
    #: COMPLETE, or why the list may miss states
    status: EnumerationStatus
    #: raw models z3 produced, before the symmetry reduction
    raw_count: int
    #: wall time in seconds (not part of any comparison of results)
    elapsed: float
    #: why the status is not COMPLETE, else ``""``
    detail: str = ""

    @property
    def complete(self) -> bool:
        """True only when z3 showed the list holds every state within the bounds."""
        return self.status is EnumerationStatus.COMPLETE

    @property
    def quiescent(self) -> tuple[AllocatorSnapshot, ...]:
        """The quiescent states, the ones an explorer can start from."""
        return tuple(s.snapshot for s in self.states if s.quiescent)


class _Vars:
    """The z3 constants of one frame's free fields."""

    def __init__(self, i: int) -> None:
        """Fresh constants ``enum.<field>[i]``."""
        name = f"enum.{{}}[{i}]"
        self.rc = z3.Const(name.format("rc"), WordSort)
        self.purpose = z3.Const(name.format("purpose"), SmallSort)
        self.poisoned = z3.Bool(name.format("poisoned"))
        self.gen = z3.Const(name.format("gen"), WordSort)
        self.pz = z3.Bool(name.format("pz"))
        self.hord = z3.Const(name.format("hord"), SmallSort)
        self.nalloc = z3.Const(name.format("nalloc"), SmallSort)
        self.ncache = z3.Const(name.format("ncache"), SmallSort)
        self.ccpu = z3.Const(name.format("ccpu"), SmallSort)

    def all(self) -> tuple[z3.ExprRef, ...]:
        """Every constant, in a fixed order (for blocking clauses)."""
        return (self.rc, self.purpose, self.poisoned, self.gen, self.pz, self.hord, self.nalloc, self.ncache,
                self.ccpu)

    def field_terms(self) -> dict[str, z3.ExprRef]:
        """The value of every model field at this frame, in terms of the constants and bounds B1, B5, B6."""
        flag = z3.If(self.poisoned, small(FLAG_POISONED), small(0))
        guard = z3.If(self.poisoned, small(GUARD_POISONED), small(0))
        pay = z3.If(self.pz, ZERO_PAYLOAD, z3.BitVecVal(FILL_DIGEST, DigestSort))
        return {"rc": self.rc, "purpose": self.purpose, "flags": flag, "guard": guard, "gen": self.gen,
                "pz": self.pz, "pay": pay, "hord": self.hord, "nalloc": self.nalloc, "ncache": self.ncache,
                "ccpu": self.ccpu, "added": z3.BoolVal(True), "pool": frame(0)}


def _state(frames: list[_Vars], ncpus: int) -> State:
    """A State whose fields at frames ``0 .. n-1`` are the constants, and reserved defaults beyond."""
    terms = [v.field_terms() for v in frames]

    def field_of(name: str) -> Field:
        default = z3_value(name, DEFAULTS[name])

        def lookup(g: z3.BitVecRef) -> z3.ExprRef:
            if z3.is_bv_value(g):
                f = g.as_long()
                return terms[f][name] if f < len(terms) else default
            result = default
            for f in range(len(terms) - 1, -1, -1):
                result = z3.If(g == frame(f), terms[f][name], result)
            return result

        return Field(lookup)

    fields = {name: field_of(name) for name in DEFAULTS}
    # snapshots do not show the early allocator: an empty, retired one, as in the concrete checks
    return State(**fields, early_lo=frame(0), early_end=frame(0), early_hi=frame(0), booted=z3.BoolVal(True),
                 **derived_ghosts(fields["rc"], fields["gen"], ncpus))


def _bounds(b: EnumerationBounds, frames: list[_Vars]) -> list[z3.BoolRef]:
    """The bounds B2-B7 of the module docstring (B1, B5's digest and B6's pairing are built into the fields)."""
    out: list[z3.BoolRef] = []
    for v in frames:
        never_claimed = v.gen == word(0)
        out += [
            # B2: UNUSED, busy, or a small shared count
            z3.Or(v.rc == UNUSED, v.rc == BUSY, *[v.rc == word(k) for k in range(1, b.max_refcount + 1)]),
            # B3: a small generation
            z3.ULE(v.gen, word(b.max_generation)),
            # B4: a purpose exactly when the frame was ever claimed; a published frame has been claimed
            z3.Implies(is_published(v.rc), z3.Not(never_claimed)),
            z3.If(never_claimed, v.purpose == small(PURPOSE_NONE),
                  z3.If(is_published(v.rc),
                        z3.Or(v.purpose == small(PURPOSE_GENERAL), v.purpose == small(PURPOSE_PAGE_TABLE)),
                        # Q2: the allocator never reads an unpublished frame's purpose (a claim overwrites it)
                        v.purpose == small(PURPOSE_GENERAL))),
            # B5: a published page-table frame is zero; a published general frame holds either payload
            z3.Implies(v.purpose == small(PURPOSE_PAGE_TABLE), v.pz),
            # Q2: nor its payload (zeroing or the new owner overwrites it): the boot fill stands for all
            z3.Implies(z3.Not(is_published(v.rc)), z3.Not(v.pz)),
            # B9: values a snapshot can show (one range and one cache entry per frame, a real order)
            z3.ULE(v.nalloc, small(1)),
            z3.ULE(v.ncache, small(1)),
            z3.Or(v.hord == NOHEAD, z3.ULE(v.hord, small(b.max_order))),
            # the CPU of a frame in no cache is irrelevant: fix it so it does not multiply models
            z3.If(v.ncache == small(0), v.ccpu == small(0), z3.ULT(v.ccpu, small(b.ncpus))),
        ]
    if not b.vary_data:
        # Q3: one data valuation per state: published frames look freshly allocated, the others never claimed
        out += [z3.And(v.gen == z3.If(is_published(v.rc), word(1), word(0)),
                       z3.Implies(is_published(v.rc), z3.And(v.purpose == small(PURPOSE_GENERAL), v.pz)))
                for v in frames]
    if b.quiescent_only:
        # B8: allocated frames are published, all others UNUSED (is_quiescent, as a formula)
        out += [z3.If(v.nalloc != small(0), is_published(v.rc), v.rc == UNUSED) for v in frames]
    # B6: few poisoned frames
    out.append(z3.AtMost(*[v.poisoned for v in frames], b.max_poisoned) if frames else z3.BoolVal(True))
    # B7: small caches
    for cpu in range(b.ncpus):
        held = [z3.And(v.ncache != small(0), v.ccpu == small(cpu)) for v in frames]
        out.append(z3.AtMost(*held, b.cache_capacity))
    return out


def _snapshot(b: EnumerationBounds, model: z3.ModelRef, frames: list[_Vars]) -> AllocatorSnapshot:
    """The snapshot of one z3 model, caches and allocations in their canonical form."""

    def value(term: z3.ExprRef) -> int | bool:
        got = model.eval(term, model_completion=True)
        return z3.is_true(got) if z3.is_bool(got) else got.as_long()

    snaps, free, alloc = [], [], []
    caches: list[list[int]] = [[] for _ in range(b.ncpus)]
    for i, v in enumerate(frames):
        poisoned, pz = value(v.poisoned), value(v.pz)
        snaps.append(FrameSnapshot(
            refcount=value(v.rc), purpose=value(v.purpose), flags=FLAG_POISONED if poisoned else 0,
            guard=GUARD_POISONED if poisoned else 0, generation=value(v.gen), payload_zero=pz,
            payload_crc=ZERO_DIGEST if pz else FILL_DIGEST))
        if value(v.hord) != NOHEAD.as_long():
            free.append((i, value(v.hord)))
        if value(v.nalloc):
            alloc.append((i, 1))
        if value(v.ncache):
            caches[value(v.ccpu)].append(i)
    return AllocatorSnapshot(
        nframes=b.nframes, max_order=b.max_order, frames=tuple(snaps), free_blocks=tuple(free),
        cached=tuple(tuple(sorted(c, reverse=True)) for c in caches), allocated=tuple(alloc),
        added=((0, b.nframes),))


def canonical_snapshot(snap: AllocatorSnapshot) -> AllocatorSnapshot:
    """The representative of ``snap``'s CPU-permutation orbit: its per-CPU caches sorted."""
    return AllocatorSnapshot(snap.nframes, snap.max_order, snap.frames, snap.free_blocks,
                             tuple(sorted(snap.cached)), snap.allocated, snap.added)


def is_quiescent(snap: AllocatorSnapshot) -> bool:
    """True when every allocated frame is published (shared count) and every other frame is UNUSED."""
    allocated = {f for first, n in snap.allocated for f in range(first, first + n)}
    return all((1 <= fs.refcount <= REFCOUNT_MAX) if i in allocated else fs.refcount == REFCOUNT_UNUSED
               for i, fs in enumerate(snap.frames))


def _check_limit(limit: object) -> int | None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise UsageError(f"limit must be None or a positive int, got {limit!r}")
    return limit  # type: ignore[return-value]


def enumerate_states(nframes: int = 4, ncpus: int = 2, *, max_order: int | None = None, max_refcount: int = 2,
                     max_generation: int = 1, cache_capacity: int = 2, max_poisoned: int = 1,
                     quiescent_only: bool = False, vary_data: bool = False, limit: int | None = None,
                     timeout_ms: int = DEFAULT_TIMEOUT_MS,
                     invariants: tuple[Invariant, ...] = STATE_INVARIANTS) -> EnumerationResult:
    """Every state satisfying the STATE ``invariants`` (default: all) within the bounds, up to CPU symmetry."""
    if max_order is None and isinstance(nframes, int) and nframes >= 1:
        max_order = min(3, nframes.bit_length() - 1)
    bounds = EnumerationBounds(nframes, ncpus, max_order, max_refcount, max_generation, cache_capacity,
                               max_poisoned, quiescent_only, vary_data)
    limit = _check_limit(limit)
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms < 1:
        raise UsageError(f"timeout_ms must be a positive int, got {timeout_ms!r}")
    for inv in invariants:
        if inv not in STATE_INVARIANTS:
            raise UsageError(f"enumerate_states grounds state invariants only, got {getattr(inv, 'name', inv)!r}")
    return _enumerate(bounds, limit, timeout_ms, tuple(invariants))


def _enumerate(b: EnumerationBounds, limit: int | None, timeout_ms: int,
               invariants: tuple[Invariant, ...]) -> EnumerationResult:
    """Block each model found until z3 says unsat (complete), unknown, or the limit is reached."""
    start = time.monotonic()
    deadline = start + timeout_ms / 1000
    cfg = ModelConfig(max_order=b.max_order, ncpus=b.ncpus)
    frames = [_Vars(i) for i in range(b.nframes)]
    state = _state(frames, b.ncpus)
    solver = z3.Solver()
    # each invariant is grounded on its own, per frame, from the registry: the one definition; the
    # frames just past the machine are grounded too, so a free block cannot reach beyond it unseen
    for inv in invariants:
        for i in range(b.nframes + (1 << b.max_order)):
            solver.add(inv.body(cfg, state, frame(i)))
    solver.add(_bounds(b, frames))
    keys = [t for v in frames for t in v.all()]
    orbits: dict[AllocatorSnapshot, int] = {}
    raw = 0
    status, detail = EnumerationStatus.COMPLETE, ""
    while True:
        if limit is not None and raw >= limit:
            status, detail = EnumerationStatus.LIMIT_HIT, f"stopped after limit={limit} raw states"
            break
        remaining = int((deadline - time.monotonic()) * 1000)
        if remaining <= 0:
            status, detail = EnumerationStatus.UNKNOWN, f"time budget of {timeout_ms} ms ran out"
            break
        solver.set("timeout", remaining)
        answer = solver.check()
        if answer == z3.unsat:
            break
        if answer != z3.sat:
            status, detail = EnumerationStatus.UNKNOWN, f"z3 answered unknown ({solver.reason_unknown()})"
            break
        model = solver.model()
        raw += 1
        snap = canonical_snapshot(_snapshot(b, model, frames))
        orbits[snap] = orbits.get(snap, 0) + 1
        solver.add(z3.Or([k != model.eval(k, model_completion=True) for k in keys]))
    states = tuple(EnumeratedState(s, is_quiescent(s), orbits[s]) for s in sorted(orbits, key=astuple))
    return EnumerationResult(b, states, status, raw, time.monotonic() - start, detail)
