"""Partial logs: the steps a log leaves out, bridged by the model's own operations.

Design.  A kernel may log only some event kinds: only the public operations
(``alloc``, ``dealloc``, ``add_free_memory``), or those and the MetaSlot steps
but not the buddy's, or the MetaSlot steps of only some CPUs.  As in TLA+ trace
validation (Cirstea et al. 2024), the steps that were not logged are *hidden*:
before each logged event, some sequence of hidden model operations must lead to
a state in which the event is a step of the model.

The validator keeps a set of *worlds*: every model state that the log so far is
consistent with (one world for a complete log).  Before an event it searches,
breadth first and from every world, the states that hidden steps reach; every
state in which the event applies gives a world after it.  The search is over
the model's operations (``model/ops.py``, each step decided by z3 through
:class:`framemc.model.replay.Machine`), restricted so that it is finite:

- hidden buddy steps belong to a logged public operation and act on its frames
  (the blocks that contain them, the pending block);
- hidden MetaSlot steps act on the frames of the event that needs them; a frame
  is claimed at most once per bridge, and a teardown of a range is one step.

When the search space is exhausted, the worlds are exact for that reading of
the log: no world left means no sequence of hidden steps explains the event, a
violation.  When the search is cut (more than :data:`BUDGET` states) or worlds
are dropped (more than :data:`MAX_WORLDS`), the validator no longer knows every
world: a pass still has a witness, but a failure is reported as inconclusive.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from framemc.errors import UsageError
from framemc.model.replay import Machine
from framemc.snapshot import REFCOUNT_BUSY, REFCOUNT_UNUSED

__all__ = ["PUBLIC", "METASLOT", "BUDDY", "KINDS", "OWNED", "Logged", "World", "Search", "search"]

#: the public operations of the GlobalFrameAllocator contract (seed 002), logged when they return
PUBLIC = ("alloc", "dealloc", "add_free_memory")
#: the frame protocol's steps on the MetaSlot (seed 001)
METASLOT = ("rc_cas", "gen_bump", "zero", "set_purpose", "publish", "rc_add", "rc_sub", "rc_store", "poison",
            "payload_write")
#: the buddy's steps (seed 000)
BUDDY = ("add_block", "alloc_block", "split", "free_block", "merge", "merge_stop", "cache_refill", "cache_flush",
         "cache_alloc", "cache_free", "retire_poisoned")
#: every event kind a log can declare
KINDS = PUBLIC + METASLOT + BUDDY

#: kinds that are logged together or hidden together
TOGETHER = (PUBLIC, BUDDY, ("set_purpose", "publish"))
#: a kind that may be logged only when another is: a bridge never adds a handle, so logged drops need
#: logged clones; a generation bump belongs to its claim CAS (a kernel without generations, such as
#: upstream Asterinas, logs the CAS and leaves the bump out)
NEEDS = {"rc_sub": ("rc_add", "a bridge cannot add handles"),
         "gen_bump": ("rc_cas", "a generation bump belongs to its claim CAS")}

#: the buddy steps each public operation is made of, when they are not logged.  A cache flush may also
#: stand before an alloc: the kernel flushed when some dealloc overflowed the cache, and a bridge takes the
#: flush when a later alloc needs the frame back in the pool (the model allows it at any time).
OWNED = {
    "alloc": frozenset({"split", "alloc_block", "cache_refill", "cache_alloc", "free_block", "merge", "merge_stop",
                        "cache_flush"}),
    "dealloc": frozenset({"free_block", "merge", "merge_stop", "cache_free", "cache_flush", "retire_poisoned",
                          "rc_sub", "rc_store"}),
    "add_free_memory": frozenset({"add_block", "merge", "merge_stop"}),
}

#: scalars that no operation reads (only the invariants do, across a step): worlds that differ only there
#: are one world for the events to come (checked by tests/validate/test_partial_logs.py)
GHOSTS = ("actor",)

#: states one bridge may search from one world before it is cut
BUDGET = 20_000
#: worlds kept after an event
MAX_WORLDS = 64


@dataclass(frozen=True)
class Logged:
    """Which event kinds (and which CPUs' MetaSlot steps) a log holds."""

    #: event kinds the log holds (the rest are hidden)
    kinds: frozenset[str] = frozenset(KINDS)
    #: CPUs whose MetaSlot steps are logged (None: every CPU's)
    cpus: frozenset[int] | None = None

    @classmethod
    def parse(cls, kinds: Any, cpus: Any, where: str) -> "Logged":
        """The declaration ``kinds``/``cpus`` (header values or option values), checked."""
        if kinds is None:
            chosen = frozenset(KINDS)
        else:
            if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
                raise UsageError(f"{where}: 'logged' must be a list of event kinds")
            unknown = sorted(set(kinds) - set(KINDS))
            if unknown:
                raise UsageError(f"{where}: unknown event kind {unknown[0]!r} in 'logged' "
                                 f"(kinds: {', '.join(KINDS)})")
            chosen = frozenset(kinds)
        for group in TOGETHER:
            have = [k for k in group if k in chosen]
            if have and len(have) != len(group):
                missing = [k for k in group if k not in chosen]
                raise UsageError(f"{where}: {', '.join(group)} are logged together or not at all "
                                 f"({', '.join(missing)} missing)")
        for kind, (needed, why) in NEEDS.items():
            if kind in chosen and needed not in chosen:
                raise UsageError(f"{where}: {kind} is logged but {needed} is not: {why}")
        if BUDDY[0] not in chosen and PUBLIC[0] not in chosen:
            raise UsageError(f"{where}: when the buddy's steps are not logged, alloc, dealloc and "
                             "add_free_memory must be: the hidden buddy steps belong to them")
        chosen_cpus = None
        if cpus is not None:
            if not isinstance(cpus, list) or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0
                                                    for c in cpus):
                raise UsageError(f"{where}: 'logged_cpus' must be a list of CPU ids")
            chosen_cpus = frozenset(cpus)
        return cls(chosen, chosen_cpus)

    @property
    def complete(self) -> bool:
        """Every step is logged: nothing to bridge."""
        return self.kinds == frozenset(KINDS) and self.cpus is None

    @property
    def hidden(self) -> frozenset[str]:
        """The kinds a bridge may stand in for."""
        hidden = frozenset(KINDS) - self.kinds
        if self.cpus is not None:
            hidden |= frozenset(METASLOT)
        return hidden

    def as_dict(self) -> dict[str, Any]:
        return {"kinds": sorted(self.kinds), "cpus": None if self.cpus is None else sorted(self.cpus)}


#: model operations whose frames change hands: op -> what happens to the acting CPU's record
_HANDS = {"buddy_alloc": "handed", "cache_alloc": "handed", "buddy_free": "freed", "cache_free": "freed",
          "retire_poisoned": "freed", "add_block": "added"}


@dataclass
class World:
    """One model state the log is consistent with, and what each CPU's steps did since its last public
    operation (for the public operations' checks)."""

    machine: Machine
    #: cpu -> frames the CPU's steps handed out / freed / added since its last public operation
    handed: dict[int, frozenset[int]] = field(default_factory=dict)
    freed: dict[int, frozenset[int]] = field(default_factory=dict)
    added: dict[int, frozenset[int]] = field(default_factory=dict)
    #: frames claimed by the bridge under way (a bridge claims a frame at most once)
    claimed: frozenset[int] = frozenset()
    #: hidden steps since the world was the result of the last event
    depth: int = 0
    #: (cpu, frame) -> the logged claim CAS whose generation bump is still to come
    claiming: dict[tuple[int, int], Any] = field(default_factory=dict)
    #: frame -> the purpose logged for its next publish
    purposes: dict[int, int] = field(default_factory=dict)
    #: model steps of logged events applied in this world's history (hidden steps not counted)
    applied: int = 0

    def fork(self) -> "World":
        return World(self.machine.fork(), dict(self.handed), dict(self.freed), dict(self.added), self.claimed,
                     self.depth, dict(self.claiming), dict(self.purposes), self.applied)

    def key(self) -> tuple:
        """Two worlds with equal keys are the same for every event to come."""
        def flat(d: dict[int, frozenset[int]]) -> tuple:
            return tuple(sorted((c, tuple(sorted(s))) for c, s in d.items() if s))
        cells, scalars = self.machine.key()
        scalars = tuple(kv for kv in scalars if kv[0] not in GHOSTS)
        return cells, scalars, flat(self.handed), flat(self.freed), flat(self.added), tuple(sorted(self.claimed))

    def step(self, op: str, args: dict[str, Any], cpu: int, *, account: bool) -> bool:
        """Apply ``op(**args)`` as a step of ``cpu``; False (and nothing changed) when the model forbids it."""
        result = self.machine.step(op, **args)
        if result.allowed and account:
            self.account(op, args, cpu)
        return result.allowed

    def account(self, op: str, args: dict[str, Any], cpu: int) -> None:
        """Record which frames the step ``op(**args)`` of ``cpu`` handed out, freed or added."""
        what = _HANDS.get(op)
        if what is None:
            return
        if "k" in args:
            frames = frozenset(range(args["h"], args["h"] + (1 << args["k"])))
        else:
            frames = frozenset([args["f"]])
        if what == "freed":
            mine = self.handed.get(cpu, frozenset())
            back = frames & mine  # the tail of an alloc that goes straight back
            self.handed[cpu] = mine - back
            self.freed[cpu] = self.freed.get(cpu, frozenset()) | (frames - back)
        else:
            book = getattr(self, what)
            book[cpu] = book.get(cpu, frozenset()) | frames


@dataclass(frozen=True)
class Scope:
    """Where the hidden steps of one bridge may act."""

    #: the kinds the bridge may stand in for
    kinds: frozenset[str]
    #: frames of the event (its frame, block or range)
    frames: tuple[int, ...]
    #: for an alloc: heads of the blocks, at every order, that hold the block it takes
    heads: tuple[int, ...]
    #: the acting CPU (the CPU of the logged event)
    cpu: int
    #: the pool an add_free_memory adds to (its first frame), or None
    pool: int | None
    #: the single frame of a MetaSlot event (hidden protocol steps act on it one by one), or None
    single: int | None
    #: frames a teardown may act on (one step that drops and releases all of them), or empty
    teardown: tuple[int, ...]
    #: the single frame may have been poisoned by a hidden step (before a logged retire of a poisoned frame)
    poison: bool = False
    #: the blocks ``(head, order)`` the operation frees or adds (its range, or an alloc's tail, cut into
    #: maximal aligned blocks as seed 000 does)
    blocks: frozenset[tuple[int, int]] = frozenset()
    #: the operation is of one frame, so it may go through the CPU's cache
    cache: bool = False
    #: an alloc's block ``(head, order)``: the one block it may hand out, and the chain of blocks holding it
    #: that it may split
    taken: tuple[int, int] | None = None


def blocks_holding(frames: tuple[int, ...], max_order: int, nframes: int) -> tuple[int, ...]:
    """Heads of the aligned blocks, at every order, that hold one of ``frames``."""
    heads = {f & ~((1 << k) - 1) for f in frames for k in range(max_order + 1)}
    return tuple(sorted(h for h in heads if h < nframes))


def candidates(w: World, scope: Scope) -> Iterator[tuple[str, dict[str, Any]] | list]:
    """The hidden steps worth trying in world ``w``: ``(op, args)``, or a list of them taken as one step."""
    from framemc.model.state import NO_HEAD
    m = w.machine
    hid = scope.kinds
    idle = m.scalars["pending_order"] == NO_HEAD
    pending = m.scalars["pending"]
    if not idle:
        if "merge" in hid:
            yield "merge", {"h": pending}
            yield "merge_stop", {"h": pending}
    if scope.taken is not None:
        # an alloc splits down the chain of blocks that hold its block, and hands out that block
        first, order = scope.taken
        for h in sorted(scope.heads):
            k = m.value("hord", h)
            if k == NO_HEAD or h > first or h + (1 << k) <= first:
                continue
            if "split" in hid and k > order:
                yield "split", {"h": h}
            if h == first and k == order:
                if "alloc_block" in hid:
                    yield "buddy_alloc", {"h": h, "k": k}
                if "cache_refill" in hid and k == 0 and scope.cache:
                    yield "cache_refill", {"cpu": scope.cpu, "h": h}
    if idle:
        # the blocks of a range go in one at a time in address order, as seed 000's buddy does (each merged
        # before the next): the final state is the same in every order, so one order is searched
        for h, k in sorted(scope.blocks):
            if "add_block" in hid and scope.pool is not None:
                if not m.value("added", h):
                    yield "add_block", {"p": scope.pool, "h": h, "k": k}
                    break
            elif "free_block" in hid:
                if m.value("nalloc", h) != 0 and m.value("ncache", h) == 0:
                    yield "buddy_free", {"h": h, "k": k}
                    break
    for f in scope.frames:
        if m.value("ncache", f) == 1:
            c = m.value("ccpu", f)
            if "cache_alloc" in hid and scope.cache:
                yield "cache_alloc", {"cpu": c, "f": f}
            if "cache_flush" in hid and idle:
                yield "cache_flush", {"cpu": c, "f": f}
        if "cache_free" in hid and scope.cache:
            yield "cache_free", {"cpu": scope.cpu, "f": f}
        if "retire_poisoned" in hid:
            yield "retire_poisoned", {"f": f}
    if scope.teardown and ("rc_sub" in hid or "rc_store" in hid):
        steps = []
        for f in scope.teardown:
            rc = m.value("rc", f)
            if rc == REFCOUNT_UNUSED:
                continue
            if rc != REFCOUNT_BUSY:
                if "rc_sub" not in hid:
                    return
                steps += [("drop", {"f": f})] * (rc - 1) + [("drop_last", {"f": f})]
            if "rc_store" not in hid:
                return
            steps.append(("release", {"f": f}))
        if steps:
            yield steps
    f = scope.single
    if f is not None:
        if "rc_cas" in hid and f not in w.claimed:
            yield "claim", {"f": f}
        if "zero" in hid:
            yield "zero", {"f": f}
        if "publish" in hid:
            for purpose in range(4):
                for zeroed in (False, True):
                    yield "publish", {"f": f, "purpose": purpose, "zeroed": zeroed}
        if "rc_sub" in hid:
            yield "drop", {"f": f}
            yield "drop_last", {"f": f}
        if "rc_store" in hid:
            yield "release", {"f": f}
        if scope.poison and "poison" in hid:
            yield "mark_poisoned", {"f": f}


@dataclass
class Search:
    """What one bridge found."""

    #: the worlds after the event (deduplicated, shortest bridges first)
    worlds: list[World]
    #: the fewest hidden steps any world needed (0: the event applied as it came), or None
    shortest: int | None
    #: states searched
    states: int
    #: the search stopped at :data:`BUDGET` states before it was exhausted
    cut: bool


def search(worlds: list[World], scope: Scope, apply: Callable[[World], bool], account: bool,
           budget: int = BUDGET) -> Search:
    """Every world reached by hidden steps (within ``scope``) from ``worlds`` in which ``apply`` succeeds,
    with the event applied."""
    out: dict[tuple, World] = {}
    seen: set[tuple] = set()
    queue: deque[World] = deque()
    for w in worlds:
        start = w.fork()
        start.claimed, start.depth = frozenset(), 0
        k = start.key()
        if k not in seen:
            seen.add(k)
            queue.append(start)
    shortest = None
    cut = False
    while queue:
        w = queue.popleft()
        after = w.fork()
        if apply(after):
            k = after.key()
            if k not in out:
                after.claimed, after.depth = frozenset(), 0
                out[k] = after
                shortest = w.depth if shortest is None else min(shortest, w.depth)
            continue  # hidden steps happen only when needed: none is put before an event that applies
        for cand in candidates(w, scope):
            child = w.fork()
            steps = cand if isinstance(cand, list) else [cand]
            if not all(child.step(op, args, scope.cpu, account=account) for op, args in steps):
                continue
            if steps[0][0] == "claim":
                child.claimed = child.claimed | {steps[0][1]["f"]}
            k = child.key()
            if k in seen:
                continue
            seen.add(k)
            if len(seen) > budget:
                cut = True
                queue.clear()
                break
            child.depth = w.depth + 1
            queue.append(child)
    return Search(list(out.values()), shortest, len(seen), cut)
