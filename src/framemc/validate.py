"""``framemc validate``: check logs of real runs, step by step, against the model.

Design: the logs (JSON Lines, format in ``docs/validate.md``) are read as a
stream and merged by global sequence number; each event is translated into a
model operation (the MetaSlot atomics of a claim pair up into one ``claim``)
and applied to a concrete model state by :class:`framemc.model.replay.Machine`,
which builds the operation from ``model/ops.py`` and memoises its verdicts.
The first step the model forbids stops the run (exit 1) with the file, the
line, the event and the model state of the frame it touched.  Bad input is a
one-line error naming file and line (exit 2).
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framemc import bridge
from framemc.bridge import BUDDY, KINDS, METASLOT, OWNED, PUBLIC, Logged, Scope, World, blocks_holding, search
from framemc.errors import UsageError
from framemc.snapshot import PAGE_SIZE, REFCOUNT_UNUSED, aligned_blocks, fill_digest, order_for

__all__ = ["LOG_FORMAT", "Event", "ValidationResult", "validate_logs", "validate_events"]

#: the log format version this validator reads
LOG_FORMAT = 1
#: by default, every invariant is evaluated on the replayed state every this many events, and at the end
INVARIANTS_EVERY = 10_000

#: atomic-level events -> their required arguments
_ATOMIC = {
    "rc_cas": ("frame", "old", "new", "ok"), "gen_bump": ("frame", "new"), "zero": ("frame",),
    "set_purpose": ("frame", "purpose"), "publish": ("frame", "zeroed"), "rc_add": ("frame", "old"),
    "rc_sub": ("frame", "old"), "rc_store": ("frame", "value"), "poison": ("frame",),
    "payload_write": ("frame", "data"),
    "add_block": ("pool", "head", "order"), "alloc_block": ("head", "order"), "split": ("head",),
    "free_block": ("head", "order"), "merge": ("head",), "merge_stop": ("head",),
    "cache_refill": ("frame",), "cache_flush": ("frame",), "cache_alloc": ("frame",), "cache_free": ("frame",),
    "alloc": ("addr", "size"), "dealloc": ("addr", "size"), "add_free_memory": ("addr", "size"),
}


@dataclass(frozen=True, slots=True)
class Event:
    """One logged event and where it came from."""

    seq: int
    cpu: int
    ev: str
    args: dict[str, Any]
    path: str
    line: int

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class ValidationResult:
    """What a validation found."""

    #: "valid", "violation" or "inconclusive"
    verdict: str
    #: events read
    events: int
    #: model steps the logged events took (hidden steps a bridge added are in ``hidden_steps``)
    steps: int
    #: seconds
    elapsed: float
    #: the failing event and why, or None
    failure: str | None = None
    #: the model state of the frames the failing step touched
    state: dict[str, Any] = field(default_factory=dict)
    #: steps answered from the memo / evaluated by z3
    memo_hits: int = 0
    z3_steps: int = 0
    #: protocol steps still open at the end of the log (a claim CAS without its generation bump)
    open_steps: list[str] = field(default_factory=list)
    #: the failing event's log file, line and kind (None when nothing failed)
    where: tuple[str, int, str] | None = None
    #: the logs validated
    logs: tuple[str, ...] = ()
    #: what the logs hold: {"kinds": [...], "cpus": [...] or None}
    logged: dict[str, Any] = field(default_factory=dict)
    #: events left out because ``--logged`` says their kind is not logged
    ignored: int = 0
    #: events that needed hidden steps before them, and those steps (the shortest bridge of each)
    bridged_events: int = 0
    hidden_steps: int = 0
    #: states the bridges searched, and the most model states the log was consistent with at once
    states_searched: int = 0
    max_worlds: int = 1
    #: why not every model state the log allows was followed (a cut search, dropped states), or None
    approximate: str | None = None
    #: times every invariant was evaluated on the replayed state
    invariant_checks: int = 0

    @property
    def exit_code(self) -> int:
        return {"valid": 0, "violation": 1, "inconclusive": 3}[self.verdict]

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "events": self.events, "steps": self.steps,
                "seconds": round(self.elapsed, 3), "failure": self.failure, "state": self.state,
                "memo_hits": self.memo_hits, "z3_steps": self.z3_steps, "open_steps": self.open_steps,
                "logs": list(self.logs), "logged": self.logged, "ignored": self.ignored,
                "invariant_checks": self.invariant_checks,
                "bridge": {"bridged_events": self.bridged_events, "hidden_steps": self.hidden_steps,
                           "states_searched": self.states_searched, "max_worlds": self.max_worlds,
                           "approximate": self.approximate},
                "where": None if self.where is None else {"file": self.where[0], "line": self.where[1],
                                                          "event": self.where[2]}}


#: per (model bounds, payload fill): the memo every validation in this process shares (a step's verdict
#: depends only on the values it reads, never on which log it came from)
_MEMOS: dict[tuple[Any, int], tuple[dict, dict, dict, dict]] = {}


#: model state -> its invariants' results (states repeat across the runs of one exploration)
_CHECKED: dict[tuple, Any] = {}
_CHECKED_MAX = 100_000


def _shared_memo(cfg: Any, fill: int) -> tuple[dict, dict, dict, dict]:
    return _MEMOS.setdefault((cfg, fill), ({}, {}, {}, {}))


def _bad(path: str, line: int, what: str) -> UsageError:
    return UsageError(f"{path}:{line}: {what}")


def _read(path: str) -> tuple[dict[str, Any], Iterator[Event]]:
    """The header of one log and an iterator over its events (checked to be in ``seq`` order)."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the log: {exc.strerror}") from None
    lines = enumerate(fh, 1)
    header = None
    for no, text in lines:
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        header = _parse(path, no, text)
        if header.get("framemc_log") != LOG_FORMAT:
            raise _bad(path, no, f"the first object must be the header {{\"framemc_log\": {LOG_FORMAT}, ...}}, "
                                 f"got {text[:80]}")
        for key in ("nframes", "ncpus", "max_order"):
            if not isinstance(header.get(key), int) or isinstance(header.get(key), bool) or header[key] < 0:
                raise _bad(path, no, f"the header needs a whole number {key}")
        fill = header.get("payload_fill", 0)
        if not isinstance(fill, int) or isinstance(fill, bool) or not 0 <= fill <= 255:
            raise _bad(path, no, "payload_fill must be a byte value 0..255")
        if not isinstance(header.get("caches", True), bool):
            raise _bad(path, no, "caches must be true or false")
        break
    if header is None:
        raise UsageError(f"{path}: an empty log (no header)")

    def events() -> Iterator[Event]:
        last = -1
        with fh:
            for no, text in lines:
                text = text.strip()
                if not text or text.startswith("#"):
                    continue
                obj = _parse(path, no, text)
                seq, cpu, ev = obj.pop("seq", None), obj.pop("cpu", None), obj.pop("ev", None)
                if not isinstance(seq, int) or not isinstance(cpu, int) or not isinstance(ev, str):
                    raise _bad(path, no, "an event needs whole numbers seq and cpu and a string ev")
                if seq <= last:
                    raise _bad(path, no, f"seq {seq} does not follow {last}: a log file must be in seq order")
                last = seq
                yield Event(seq, cpu, ev, obj, path, no)
    return header, events()


def _parse(path: str, no: int, text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(path, no, f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise _bad(path, no, "each line must be a JSON object")
    return obj


class _Validator:
    def __init__(self, header: dict[str, Any], logged: Logged) -> None:
        from framemc.model.concrete import DEFAULTS
        from framemc.model.replay import Machine
        from framemc.model.state import ACTOR_ANY, NO_HEAD, ModelConfig
        self.nframes, self.ncpus = header["nframes"], header["ncpus"]
        self.max_order = header["max_order"]
        cfg = ModelConfig(header["max_order"], max(1, self.ncpus))
        defaults = dict(DEFAULTS, gen0=0, handles=0)
        fill = header.get("payload_fill", 0)
        if fill:
            # RAM is not zero at boot: every frame starts with this byte everywhere
            defaults.update(pz=False, pay=fill_digest(fill))
        machine = Machine(cfg, {}, defaults,
                          dict(early_lo=0, early_end=0, early_hi=0, booted=True, actor=ACTOR_ANY,
                               ncpus=max(1, self.ncpus), pending=0, pending_order=NO_HEAD),
                          shared=_shared_memo(cfg, fill))
        self.no_head = NO_HEAD
        #: the allocator has per-CPU caches (a bridge may use them)
        self.caches = header.get("caches", True)
        self.logged = logged
        #: the model states the log so far is consistent with (one, for a complete log)
        self.worlds = [World(machine)]
        #: the public operations are logged: each CPU's steps are checked against them
        self.accounting = "alloc" in logged.kinds
        #: the last step the model refused (machine, op, args): its guard is explained once, when reported
        self._refused: tuple[Any, str, dict[str, Any]] | None = None
        #: events that needed hidden steps, the hidden steps (the shortest bridge of each), states searched,
        #: the most worlds at once
        self.bridged_events = 0
        self.hidden_steps = 0
        self.states = 0
        self.max_worlds = 1
        #: why the worlds are no longer every world the log allows (a cut search, dropped worlds), or None
        self.approximate: str | None = None
        #: times every invariant was evaluated on the replayed state
        self.invariant_checks = 0

    @property
    def machine(self) -> Any:
        return self.worlds[0].machine

    @property
    def steps(self) -> int:
        """Model steps of logged events applied (in the first world)."""
        return self.worlds[0].applied

    def _args(self, e: Event) -> dict[str, Any]:
        need = _ATOMIC.get(e.ev)
        if need is None:
            from framemc.model.ops import OPERATIONS
            spec = OPERATIONS.get(e.ev)
            if spec is None or e.ev == "stutter":
                raise _bad(e.path, e.line, f"unknown event {e.ev!r} (see docs/validate.md)")
            need = tuple(p for p, _ in spec.params)
        for key in need:
            v = e.args.get(key)
            if key == "addr" and v is None and e.ev == "alloc":
                continue  # an alloc that found no memory
            if isinstance(v, bool) and key not in ("ok", "zeroed"):
                v = None
            if not isinstance(v, (int, bool)) or (not isinstance(v, bool) and v < 0):
                raise _bad(e.path, e.line, f"{e.ev} needs a whole number {key!r}")
        for key in ("frame", "head", "pool", "f", "h", "p"):
            if key in e.args and e.args[key] >= self.nframes:
                raise _bad(e.path, e.line, f"{key} {e.args[key]} is past the machine's {self.nframes} frames")
        if e.ev in PUBLIC:
            addr, size = e.args.get("addr"), e.args["size"]
            if size == 0 or size % PAGE_SIZE or (addr is not None and addr % PAGE_SIZE):
                raise _bad(e.path, e.line, f"{e.ev} needs a page-aligned addr and a non-zero size in whole pages")
            if addr is not None and (addr + size) // PAGE_SIZE > self.nframes:
                raise _bad(e.path, e.line, f"{e.ev} range {addr:#x}+{size:#x} is past the machine's "
                                           f"{self.nframes} frames")
        if not 0 <= e.cpu < max(1, self.ncpus):
            raise _bad(e.path, e.line, f"cpu {e.cpu} is not one of the header's {self.ncpus} CPUs")
        if not self.caches and e.ev.startswith("cache_"):
            raise _bad(e.path, e.line, f"a {e.ev} event, but the header says the allocator has no per-CPU caches")
        if e.ev in KINDS and e.ev not in self.logged.kinds:
            raise _bad(e.path, e.line, f"a {e.ev} event, but the header says {e.ev} is not logged")
        if self.logged.cpus is not None and e.ev in METASLOT and e.cpu not in self.logged.cpus:
            raise _bad(e.path, e.line, f"a {e.ev} event of cpu {e.cpu}, whose MetaSlot steps the header says "
                                       "are not logged")
        return e.args

    def event(self, e: Event) -> str | None:
        """Apply one event to every world; a sentence saying why the model forbids it, or None."""
        a = self._args(e)
        if self.logged.complete:
            return self._explained(self.worlds[0], e, a)  # nothing hidden: one world, no search
        scope = self._scope(e, a)
        found = search(self.worlds, scope, lambda w: self._apply(w, e, a) is None, self.accounting, bridge.BUDGET)
        self.states += found.states
        if found.cut:
            self.approximate = (f"{e.where()}: the search for hidden steps before this {e.ev} was cut at "
                                f"{found.states} states")
        if not found.worlds:
            why = self._explained(self.worlds[0].fork(), e, a)
            return (f"{why or 'it cannot be applied'}; and no hidden steps ({', '.join(sorted(scope.kinds)) or 'none'}) "
                    f"lead from any of {len(self.worlds)} world(s) to a state where it applies "
                    f"({found.states} states searched)")
        if found.shortest:
            self.bridged_events += 1
            self.hidden_steps += found.shortest
        if len(found.worlds) > bridge.MAX_WORLDS:
            self.approximate = (f"{e.where()}: {len(found.worlds)} model states are consistent with the log here; "
                                f"the first {bridge.MAX_WORLDS} were kept")
            found.worlds = found.worlds[:bridge.MAX_WORLDS]
        self.worlds = found.worlds
        self.max_worlds = max(self.max_worlds, len(self.worlds))
        return None

    def _explained(self, w: World, e: Event, a: dict[str, Any]) -> str | None:
        """Apply ``e`` to ``w`` as :meth:`_apply` does; when the model refuses a step, the reason names the
        guard conjunct that fails (worked out here, once, not on every step a bridge search tries)."""
        self._refused = None
        why = self._apply(w, e, a)
        if why is not None and self._refused is not None:
            machine, op, args = self._refused
            part = machine.failing_guard(op, **args)
            if part is not None:
                why = f"{why}: its guard needs {part}"
        return why

    def _scope(self, e: Event, a: dict[str, Any]) -> Scope:
        """Where hidden steps before ``e`` may act."""
        hidden = self.logged.hidden
        teardown: tuple[int, ...] = ()
        single = None
        pool = None
        blocks: frozenset[tuple[int, int]] = frozenset()
        cache = False
        taken = None
        if e.ev in PUBLIC:
            frames = self._range(e)
            cache = len(frames) == 1 and self.caches
            if frames:
                end = frames[-1] + 1
                blocks = frozenset(aligned_blocks(frames[0], end, self.max_order))
            if e.ev == "alloc" and frames:
                # the block the alloc took: the range rounded up to a power of two; its tail went back
                taken = (frames[0], order_for(len(frames)))
                block_end = min(self.nframes, frames[0] + (1 << taken[1]))
                blocks = frozenset(aligned_blocks(end, block_end, self.max_order))
                frames = tuple(range(frames[0], block_end))
            kinds = hidden & OWNED[e.ev]
            if e.ev == "dealloc":
                teardown = frames
                if len(frames) == 1:
                    single = frames[0]  # a dealloc of a poisoned frame: the poisoning may be hidden
            if e.ev == "add_free_memory" and frames:
                pool = frames[0]
        else:
            kinds = hidden - frozenset(BUDDY)
            named = sorted({v for k, v in a.items() if k in ("frame", "head", "f", "h")})
            order = a.get("order", a.get("k"))
            if e.ev in ("free_block", "alloc_block", "add_block", "buddy_free", "buddy_alloc") and order is not None \
                    and named:
                frames = tuple(range(named[0], min(self.nframes, named[0] + (1 << order))))
            else:
                frames = tuple(named)
            if e.ev in ("free_block", "buddy_free", "cache_free", "retire_poisoned"):
                teardown = frames
            if len(frames) == 1:
                single = frames[0]
        heads = () if taken is None else blocks_holding((taken[0],), self.max_order, self.nframes)
        return Scope(kinds, frames, heads, e.cpu, pool, single,
                     teardown, poison=e.ev == "retire_poisoned", blocks=blocks, cache=cache, taken=taken)

    def _range(self, e: Event) -> tuple[int, ...]:
        addr = e.args.get("addr")
        if addr is None:
            return ()
        first = addr // PAGE_SIZE
        return tuple(range(first, first + e.args["size"] // PAGE_SIZE))

    def _apply(self, w: World, e: Event, a: dict[str, Any]) -> str | None:
        """Apply event ``e`` to world ``w``; why the model forbids it, or None."""
        m = w.machine
        ev = e.ev
        if ev in PUBLIC:
            return self._public(w, e)
        if ev in ("rc_cas", "rc_add", "rc_sub") and a["old"] != m.value("rc", a["frame"]):
            return f"the {ev} read refcount {a['old']:#x}, but the model's refcount is {m.value('rc', a['frame']):#x}"
        if ev == "rc_cas":
            f = a["frame"]
            if a["ok"]:
                if a["old"] != REFCOUNT_UNUSED or a["new"] != 0:
                    return "a successful claim CAS must take UNUSED to 0"
                # the model's claim is the CAS and the bump as one step: it happens here, where other CPUs
                # see the refcount change; the bump that follows must give the generation it gave
                why = self._step(w, e, "claim", f=f)
                if why is None and "gen_bump" in self.logged.kinds:
                    w.claiming[(e.cpu, f)] = e
                return why
            return self._step(w, e, "claim_failed", f=f)
        if ev == "gen_bump":
            f = a["frame"]
            if w.claiming.pop((e.cpu, f), None) is None:
                return "a generation bump that no successful claim CAS of this CPU on this frame precedes"
            if a["new"] != m.value("gen", f):
                return f"the generation became {a['new']}, but the claim makes it {m.value('gen', f)}"
            return None
        if ev == "zero":
            return self._step(w, e, "zero", f=a["frame"])
        if ev == "set_purpose":
            w.purposes[a["frame"]] = a["purpose"]
            return None
        if ev == "publish":
            f = a["frame"]
            return self._step(w, e, "publish", f=f, purpose=w.purposes.pop(f, 0), zeroed=bool(a["zeroed"]))
        if ev in ("rc_add", "rc_sub"):
            f = a["frame"]
            if ev == "rc_add":
                return self._step(w, e, "clone", f=f)
            return self._step(w, e, "drop_last" if a["old"] == 1 else "drop", f=f)
        if ev == "rc_store":
            if a["value"] != REFCOUNT_UNUSED:
                return "the only refcount store the model knows besides publish is the teardown store of UNUSED"
            return self._step(w, e, "release", f=a["frame"])
        if ev == "poison":
            return self._step(w, e, "mark_poisoned", f=a["frame"])
        if ev == "payload_write":
            return self._step(w, e, "holder_write", f=a["frame"], d=a["data"] & 0xFFFFFFFF)
        if ev == "add_block":
            return self._step(w, e, "add_block", p=a["pool"], h=a["head"], k=a["order"])
        if ev == "alloc_block":
            return self._step(w, e, "buddy_alloc", h=a["head"], k=a["order"])
        if ev == "split":
            return self._step(w, e, "split", h=a["head"])
        if ev == "free_block":
            return self._step(w, e, "buddy_free", h=a["head"], k=a["order"])
        if ev in ("merge", "merge_stop"):
            return self._step(w, e, ev, h=a["head"])
        if ev == "cache_refill":
            return self._step(w, e, "cache_refill", cpu=e.cpu, h=a["frame"])
        if ev in ("cache_flush", "cache_alloc", "cache_free"):
            return self._step(w, e, ev, cpu=e.cpu, f=a["frame"])
        return self._step(w, e, ev, **a)

    def _public(self, w: World, e: Event) -> str | None:
        """A public operation returned: the frames it names are the ones its CPU's steps handed out, freed
        or added since the CPU's last public operation."""
        frames = frozenset(self._range(e))
        book = {"alloc": w.handed, "dealloc": w.freed, "add_free_memory": w.added}[e.ev]
        done = book.pop(e.cpu, frozenset())
        if done != frames:
            verb = {"alloc": "handed out", "dealloc": "freed", "add_free_memory": "added"}[e.ev]
            return (f"the {e.ev} names frames {_frames(frames)}, but the steps of cpu {e.cpu} since its last "
                    f"public operation {verb} {_frames(done)}")
        if "split" in self.logged.hidden and w.machine.scalars["pending_order"] != self.no_head:
            return f"the {e.ev} returned with the pool lock held (block {w.machine.scalars['pending']} pending)"
        for other in (w.handed, w.freed, w.added):
            if e.ev != "alloc" and other is w.handed:
                continue
            if other is not book and other.get(e.cpu):
                return (f"the {e.ev} returned, but the steps of cpu {e.cpu} also changed frames "
                        f"{_frames(other[e.cpu])} that it does not name")
        return None

    def _step(self, w: World, e: Event, op: str, **args: Any) -> str | None:
        if not w.step(op, args, e.cpu, account=self.accounting):
            self._refused = (w.machine, op, args)
            return f"the model forbids {op}({', '.join(f'{k}={v}' for k, v in args.items())}) in this state"
        w.applied += 1
        return None

    def broken_invariant(self) -> str | None:
        """Every state invariant evaluated on every world's concrete state: the first that fails, or None."""
        from framemc.model.concrete import CheckVerdict, check_model_state
        self.invariant_checks += 1
        for w in self.worlds:
            m = w.machine
            key = (m.cfg, self.nframes, tuple(sorted(m.defaults.items())), m.key())
            results = _CHECKED.get(key)
            if results is None:
                results = check_model_state(m.cells, m.defaults, m.scalars, m.cfg, self.nframes)
                if len(_CHECKED) >= _CHECKED_MAX:
                    _CHECKED.clear()
                _CHECKED[key] = results
            for r in results:
                if r.verdict is CheckVerdict.VIOLATION:
                    shown = {k: v for k, v in r.witness.items() if k != "invariant"}
                    return f"the model state breaks invariant {r.name}: {shown}"
                if r.verdict is CheckVerdict.INCONCLUSIVE:
                    raise AssertionError(f"invariant {r.name}: {r.detail}")
        return None

    def state_of(self, e: Event) -> dict[str, Any]:
        """The model state (of the first world) at the frames the event names, as the proofs print it."""
        from framemc.model.render import render_value
        from framemc.model.state import MODEL_FIELDS
        frames = sorted({v for k, v in e.args.items() if k in ("frame", "head", "f", "h")} |
                        set(self._range(e) if e.ev in PUBLIC else ()))
        m = self.machine
        pending = m.scalars["pending_order"]
        pool = "idle" if pending == self.no_head else f"block {m.scalars['pending']} of order {pending} pending"
        return {f"frame {f}": {name: render_value(name, m.value(name, f)) for name, _ in MODEL_FIELDS}
                for f in frames} | {"pool lock": pool}


def _frames(frames: frozenset[int]) -> str:
    if not frames:
        return "none"
    s = sorted(frames)
    if s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}..{s[-1]}" if len(s) > 1 else str(s[0])
    return "{" + ", ".join(map(str, s)) + "}"


def validate_logs(paths: list[str], logged: list[str] | None = None, logged_cpus: list[int] | None = None,
                  invariants_every: int = INVARIANTS_EVERY) -> ValidationResult:
    """Validate the logs ``paths`` (merged by seq) against the model.

    ``logged`` (and ``logged_cpus``) read the logs as partial: only those event kinds (and those CPUs'
    MetaSlot steps) count as logged; other events in the logs are left out (counted in ``ignored``) and
    bridged like steps that were never logged.  Without them, the first header's ``logged`` and
    ``logged_cpus`` say what the logs hold (every kind when absent).
    """
    if not paths:
        raise UsageError("validate needs at least one log file")
    start = time.perf_counter()
    readers = [_read(str(Path(p))) for p in paths]
    header = readers[0][0]
    for (h, _), p in zip(readers[1:], paths[1:]):
        if {k: h.get(k) for k in _SAME} != {k: header.get(k) for k in _SAME}:
            raise UsageError(f"{p}: its header does not match {paths[0]}'s ({', '.join(_SAME)})")
    merged: Any = heapq.merge(*(events for _, events in readers), key=lambda e: e.seq)
    if logged is not None or logged_cpus is not None:
        decl = Logged.parse(logged if logged is not None else header.get("logged"), logged_cpus,
                            "--logged" if logged is not None else "--logged-cpus")
        merged = _Filter(merged, decl)
    else:
        decl = Logged.parse(header.get("logged"), header.get("logged_cpus"), f"{paths[0]} header")
    result = _run(header, merged, start, decl, invariants_every)
    result.logs = tuple(paths)
    return result


#: header keys that every log of one run shares
_SAME = ("nframes", "ncpus", "max_order", "caches", "logged", "logged_cpus")


class _Filter:
    """The events a declaration says are logged; the others are counted and left out."""

    def __init__(self, events: Iterator[Event], logged: Logged) -> None:
        self.events, self.logged, self.ignored = events, logged, 0

    def __iter__(self) -> Iterator[Event]:
        for e in self.events:
            if (e.ev in KINDS and e.ev not in self.logged.kinds) or (
                    self.logged.cpus is not None and e.ev in METASLOT and e.cpu not in self.logged.cpus):
                self.ignored += 1
                continue
            yield e


def json_summary(result: ValidationResult) -> str:
    """The result as JSON (sorted keys, so the same run gives the same file)."""
    return json.dumps(result.as_dict(), indent=2, sort_keys=True) + "\n"


def junit_xml(result: ValidationResult) -> str:
    """JUnit XML: one test case for the merged logs, failed at the first step the model forbids."""
    import xml.etree.ElementTree as ET
    name = " + ".join(result.logs) or "log"
    root = ET.Element("testsuites", name="framemc validate", tests="1")
    suite = ET.SubElement(root, "testsuite", name="framemc.validate", tests="1",
                          failures=str(int(result.verdict == "violation")),
                          errors=str(int(result.verdict == "inconclusive")), skipped="0")
    case = ET.SubElement(suite, "testcase", classname="framemc.validate", name=name)
    summary = f"{result.events} events, {result.steps} model steps"
    if result.verdict == "violation":
        body = result.failure + "".join(f"\n  {k}: {v}" for k, v in result.state.items())
        ET.SubElement(case, "failure", message=result.failure or "", type="violation").text = body
    elif result.verdict == "inconclusive":
        ET.SubElement(case, "error", message=result.failure or "", type="inconclusive").text = result.failure
    else:
        ET.SubElement(case, "system-out").text = summary
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def sarif_json(result: ValidationResult) -> str:
    """SARIF 2.1.0: the forbidden step as one result located at its log file and line."""
    from framemc.report_ci import _SARIF_SCHEMA, _version
    results = []
    rules = []
    if result.verdict == "violation" and result.where is not None:
        path, line, ev = result.where
        rule = f"validate/{ev}"
        rules.append({"id": rule, "shortDescription": {"text": rule},
                      "fullDescription": {"text": f"a logged {ev} step the allocator model forbids"},
                      "defaultConfiguration": {"level": "error"}})
        results.append({
            "ruleId": rule, "level": "error", "message": {"text": result.failure},
            "properties": {"state": json.dumps(result.state, sort_keys=True)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": Path(path).as_posix()},
                                                "region": {"startLine": line}}}],
        })
    doc = {"$schema": _SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "framemc", "version": _version(), "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def validate_events(events: list[dict[str, Any]], header: dict[str, Any], name: str = "<events>",
                    logged: list[str] | None = None, logged_cpus: list[int] | None = None,
                    invariants_every: int = INVARIANTS_EVERY) -> ValidationResult:
    """Validate in-memory events (dicts as in a log line, ``seq`` optional: list order) against the model;
    ``logged``/``logged_cpus`` as in :func:`validate_logs`."""
    start = time.perf_counter()
    stream: Any = (Event(e.get("seq", i), e["cpu"], e["ev"],
                         {k: v for k, v in e.items() if k not in ("seq", "cpu", "ev")}, name, i + 2)
                   for i, e in enumerate(events))
    if logged is not None or logged_cpus is not None:
        decl = Logged.parse(logged if logged is not None else header.get("logged"), logged_cpus, name)
        stream = _Filter(stream, decl)
    else:
        decl = Logged.parse(header.get("logged"), header.get("logged_cpus"), name)
    return _run(header, stream, start, decl, invariants_every)


def _run(header: dict[str, Any], events: Any, start: float, logged: Logged,
         invariants_every: int = INVARIANTS_EVERY) -> ValidationResult:
    if not isinstance(invariants_every, int) or invariants_every < 0:
        raise UsageError(f"invariants_every must be a whole number of events (0: only at the end), "
                         f"got {invariants_every!r}")
    v = _Validator(header, logged)
    n = 0
    last_seq = None

    def result(verdict: str, failure: str | None = None, **more: Any) -> ValidationResult:
        return ValidationResult(verdict, n, v.steps, time.perf_counter() - start, failure,
                                memo_hits=v.machine.hits, z3_steps=v.machine.misses, logged=logged.as_dict(),
                                ignored=getattr(events, "ignored", 0), bridged_events=v.bridged_events,
                                hidden_steps=v.hidden_steps, states_searched=v.states, max_worlds=v.max_worlds,
                                approximate=v.approximate, invariant_checks=v.invariant_checks, **more)
    try:
        for e in events:
            if e.seq == last_seq:
                raise _bad(e.path, e.line, f"seq {e.seq} appears twice")
            last_seq = e.seq
            n += 1
            why = v.event(e)
            if why is not None:
                failure = f"{e.where()}: seq {e.seq}, cpu {e.cpu}, {e.ev}: {why}"
                if v.approximate is not None:
                    # some worlds were not followed: one of them might have explained this event
                    return result("inconclusive", f"{failure} (but not every model state the log allows was "
                                                  f"followed: {v.approximate})", state=v.state_of(e),
                                  where=(e.path, e.line, e.ev))
                return result("violation", failure, state=v.state_of(e), where=(e.path, e.line, e.ev))
            if invariants_every and n % invariants_every == 0:
                why = v.broken_invariant()
                if why is not None:
                    return result("violation", f"{e.where()}: seq {e.seq}, cpu {e.cpu}, after {e.ev}: {why}",
                                  state=v.state_of(e), where=(e.path, e.line, e.ev))
        if n and (not invariants_every or n % invariants_every):
            why = v.broken_invariant()
            if why is not None:
                return result("violation", f"at the end of the log: {why}")
    except AssertionError as exc:  # z3 could not decide a concrete step or an invariant
        return result("inconclusive", str(exc))
    open_steps = [f"{e.where()}: a claim CAS on frame {e.args['frame']} without its generation bump"
                  for e in v.worlds[0].claiming.values()]
    return result("valid", open_steps=open_steps)
