"""Counterexamples a reviewer can read: JSON, a swimlane table and a happens-before graph.

Design: a :class:`Counterexample` is plain data (no live objects), built once
from the failing execution's events.  Its JSON form is versioned and holds
the schedule (the thread choices, which is all :func:`framemc.replay` needs)
plus each event for checking the replay did not diverge and for reading.
Every rendering is deterministic: no ids, addresses, times or absolute
paths, and dicts are written with sorted keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from framemc.errors import UsageError
from framemc.explorer.bounds import DEFAULT_MAX_STEPS
from framemc.explorer.events import Event, OpKind
from framemc.explorer.program import plain_value
from framemc.explorer.violation import Violation, ViolationKind

__all__ = ["TraceEvent", "Counterexample", "SCHEMA", "SCHEMA_VERSION", "check_header"]

#: the ``schema`` field of every counterexample document
SCHEMA = "framemc-counterexample"
#: bumped whenever the document's shape changes
SCHEMA_VERSION = 1

_MARK_LEGEND = {
    ViolationKind.DATA_RACE: "the racing pair",
    ViolationKind.ASSERTION: "the failing thread's last step",
    ViolationKind.INVARIANT: "the step after which the invariant is false",
    ViolationKind.DEADLOCK: "the last step before no thread can run",
    ViolationKind.BOUND: "the step that exceeded the bound",
    ViolationKind.LIVENESS: "the last step before every thread left waits forever",
    ViolationKind.EXCEPTION: "the raising thread's last step",
}


@dataclass(frozen=True)
class TraceEvent:
    """One event of a counterexample, as plain values."""

    #: position in the execution
    step: int
    #: thread index
    thread: int
    #: operation name (``load``, ``store``, ``compare_exchange``, ``read``, ``lock``...)
    op: str
    #: location name, or None
    location: str | None
    #: memory ordering, or None
    ordering: str | None
    #: value read, or None
    read: Any
    #: value written, or None
    written: Any
    #: extra operands (CAS expected/new, RMW operand)
    args: tuple[Any, ...]
    #: ``file:line`` in the impl or scenario
    source: str
    #: step this one read from or synchronised with, or None
    rf: int | None
    #: True when this step preempted a thread that could have continued
    preemption: bool
    #: C11: which allowed store (or mo position) the step took; a replay needs it
    pick: int = 0
    #: C11: steps this one synchronises with (an acquire read or fence of a release message)
    sw: tuple[int, ...] = ()
    #: C11: why a load could read a store that is not the mo-latest (the missing happens-before edge)
    why: str | None = None

    @classmethod
    def of(cls, ev: Event) -> "TraceEvent":
        """The plain form of an engine event."""
        return cls(ev.index, ev.thread, ev.op.value, None if ev.loc is None else ev.loc.name, ev.order,
                   plain_value(ev.read), plain_value(ev.written), tuple(plain_value(a) for a in ev.args),
                   ev.source, ev.rf, ev.preemption, ev.pick, ev.sw, ev.why)

    def identity(self) -> tuple[Any, ...]:
        """What a replay must reproduce: thread, operation, location and values."""
        return (self.thread, self.op, self.location, self.read, self.written)

    def describe(self) -> str:
        """The operation as a short call, e.g. ``x.compare_exchange(0, 1) -> (True, 0)``."""
        op = self.op
        order = [] if self.ordering in (None, "SeqCst") else [self.ordering]
        if op == OpKind.FENCE.value:
            return f"fence({self.ordering})"
        if op == OpKind.SPIN.value:
            return "spin_loop()"
        loc = self.location
        read = _show(self.read)
        args = [_show(a) for a in self.args]
        if op == OpKind.LOAD.value:
            return f"{loc}.load({', '.join(order)}) -> {read}"
        if op == OpKind.STORE.value:
            return f"{loc}.store({', '.join([_show(self.written)] + order)})"
        if op == OpKind.CAS.value:
            ok = self.written is not None
            return f"{loc}.compare_exchange({', '.join(args + order)}) -> ({ok}, {read})"
        if op in (OpKind.FETCH_ADD.value, OpKind.FETCH_SUB.value, OpKind.SWAP.value):
            return f"{loc}.{op}({', '.join(args + order)}) -> {read}"
        if op == OpKind.READ.value:
            return f"{loc}.read()" + ("" if self.read is None else f" -> {read}")
        if op == OpKind.WRITE.value:
            return f"{loc}.write({'' if self.written is None else _show(self.written)})"
        return f"{loc}.{op}()"


@dataclass(frozen=True)
class Counterexample:
    """A trace plus the violated property and its witness."""

    #: what kind of violation
    kind: ViolationKind
    #: one line saying what is wrong
    message: str
    #: the violated invariant's name (kind "invariant"), else None
    invariant: str | None
    #: values that show the violation
    witness: dict[str, Any]
    #: the steps involved (the racing pair, the failing step)
    marked: tuple[int, ...]
    #: the thread chosen at each step: all a replay needs
    schedule: tuple[int, ...]
    #: the events, step by step
    events: tuple[TraceEvent, ...]
    #: each thread callable's name, by thread index
    threads: tuple[str, ...]
    #: memory model the execution followed
    memory_model: str = "sc"
    #: preemptive context switches in the schedule
    preemptions: int = field(default=0)
    #: the per-thread step bound the execution ran under (a replay needs it)
    max_steps: int = DEFAULT_MAX_STEPS
    #: (value, name) pairs the scenario named with ``framemc.name_values``: traces show the name
    value_names: tuple[tuple[int, str], ...] = ()

    @contextmanager
    def names_shown(self) -> Iterator[None]:
        """Render values by the names the scenario gave them while inside this block."""
        token = _NAMES.set(dict(self.value_names))
        try:
            yield
        finally:
            _NAMES.reset(token)

    @property
    def trace(self) -> tuple[TraceEvent, ...]:
        """The events, step by step (the reviewer's view of the schedule)."""
        return self.events

    @classmethod
    def from_record(cls, record: Any, memory_model: str,
                    max_steps: int = DEFAULT_MAX_STEPS) -> "Counterexample":
        """Build the counterexample of a failing execution."""
        v: Violation | None = record.violation
        if v is None:
            raise UsageError("this execution has no violation to report")
        events = tuple(TraceEvent.of(e) for e in record.events)
        names = tuple(sorted(getattr(record, "value_names", {}).items()))
        return cls(v.kind, v.message, v.invariant, {k: plain_value(x) for k, x in v.witness.items()},
                   v.events, tuple(e.thread for e in events), events, record.thread_names, memory_model,
                   sum(e.preemption for e in events), max_steps, names)

    # ------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON document as a dict."""
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "memory_model": self.memory_model,
            "threads": list(self.threads),
            "schedule": list(self.schedule),
            "preemptions": self.preemptions,
            "max_steps": self.max_steps,
            "violation": {"kind": self.kind.value, "message": self.message, "invariant": self.invariant,
                          "witness": dict(self.witness), "steps": list(self.marked)},
            "events": [dict(asdict(e), args=list(e.args), sw=list(e.sw)) for e in self.events],
            **({"value_names": [[value, name] for value, name in self.value_names]} if self.value_names else {}),
        }

    def to_json(self) -> str:
        """The versioned JSON document (sorted keys: byte-identical for equal traces)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, doc: "str | dict[str, Any] | Counterexample") -> "Counterexample":
        """Parse a document from :meth:`to_json` (or its dict); UsageError when malformed."""
        if isinstance(doc, Counterexample):
            return doc
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except json.JSONDecodeError as exc:
                raise UsageError(f"counterexample is not valid JSON: {exc}") from None
        check_header(doc)
        try:
            return cls._parse(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"malformed counterexample: {type(exc).__name__}: {exc}") from None

    @classmethod
    def _parse(cls, doc: dict[str, Any]) -> "Counterexample":
        viol = doc["violation"]
        names = [f.name for f in TraceEvent.__dataclass_fields__.values()]
        events = []
        for i, raw in enumerate(doc["events"]):
            # the C11 fields came later and have defaults; older documents lack them
            missing = [n for n in names if n not in raw and n not in _OPTIONAL_EVENT_FIELDS]
            if missing:
                raise ValueError(f"event {i} lacks {', '.join(missing)}")
            events.append(TraceEvent(**{n: tuple(raw[n]) if n in ("args", "sw") else raw[n]
                                        for n in names if n in raw}))
        schedule = tuple(int(t) for t in doc["schedule"])
        if len(schedule) != len(events) or any(e.step != i or e.thread != t
                                               for i, (e, t) in enumerate(zip(events, schedule))):
            raise ValueError("schedule and events disagree")
        for e in events:
            if e.rf is not None:
                src = events[e.rf] if isinstance(e.rf, int) and 0 <= e.rf < e.step else None
                if src is None or src.location != e.location or src.written is None and src.op != "write":
                    raise ValueError(f"event {e.step} reads from step {e.rf}, which is not an earlier write of "
                                     f"{e.location}")
        threads = tuple(str(t) for t in doc["threads"])
        if any(not 0 <= t < len(threads) for t in schedule):
            raise ValueError("schedule names a thread that does not exist")
        witness = viol["witness"]
        if not isinstance(witness, dict):
            raise TypeError("violation.witness must be an object")
        names = tuple((int(v), str(n)) for v, n in doc.get("value_names", []))
        return cls(ViolationKind(viol["kind"]), str(viol["message"]), viol["invariant"], witness,
                   tuple(int(s) for s in viol["steps"]), schedule, tuple(events), threads,
                   str(doc["memory_model"]), int(doc["preemptions"]), int(doc["max_steps"]), names)

    # ------------------------------------------------------------- text

    def to_text(self) -> str:
        """A swimlane table: one column per thread, one row per step, involved steps starred."""
        with self.names_shown():
            return self._to_text()

    def _to_text(self) -> str:
        n = len(self.threads)
        header = ["step"] + [f"T{i} {name}" for i, name in enumerate(self.threads)] + ["source"]
        rows = []
        for e in self.events:
            cells = [""] * n
            mark = " *" if e.step in self.marked else ""
            pre = "^" if e.preemption else ""
            cells[e.thread] = f"{pre}{e.describe()}{mark}"
            rows.append([str(e.step)] + cells + [e.source])
        widths = [max(len(r[c]) for r in [header] + rows) for c in range(len(header))]

        def line(cells: list[str]) -> str:
            parts = [cells[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(cells[1:], widths[1:])]
            return " | ".join(parts).rstrip()
        out = [f"{self.kind.value}: {self.message}", line(header),
               "-+-".join("-" * w for w in widths)]
        out += [line(r) for r in rows]
        out += self._reads_from()
        legend = [f"* {_MARK_LEGEND[self.kind]}"] if self.marked else []
        if any(e.preemption for e in self.events):
            legend.append(f"^ a preemption ({self.preemptions} in all)")
        out += legend
        if self.invariant is not None:
            out.append(f"invariant: {self.invariant}")
        if self.witness:
            out.append("witness: " + ", ".join(f"{k}={self.witness[k]!r}" for k in sorted(self.witness)))
        return "\n".join(out) + "\n"

    def _reads_from(self) -> list[str]:
        """Under C11, one line per read: the store it read and why that was allowed."""
        if self.memory_model != "c11":
            return []
        lines = ["reads-from:"]
        for e in self.events:
            if e.read is None or e.op in (OpKind.READ.value, OpKind.LOCK.value):
                continue
            source = ("the value it had before the threads started" if e.rf is None
                      else f"step {e.rf} (T{self.events[e.rf].thread})")
            sync = "synchronises-with it" if e.rf is not None and e.rf in e.sw else "no synchronisation"
            why = e.why if e.why is not None else "it is the mo-latest store"
            lines.append(f"  step {e.step} T{e.thread} {e.describe()}: reads {source}; {sync}; {why}")
        for e in self.events:
            if e.op == OpKind.FENCE.value and e.sw:
                lines.append(f"  step {e.step} T{e.thread} {e.describe()}: synchronises-with the release "
                             f"stores read at steps {', '.join(map(str, e.sw))}")
        return lines

    # ------------------------------------------------------------- graph

    def hb_graph(self) -> nx.DiGraph:
        """The happens-before graph: program order, reads-from and synchronises-with edges."""
        with self.names_shown():
            return self._hb_graph()

    def _hb_graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        last: dict[int, int] = {}
        for e in self.events:
            g.add_node(e.step, label=f"{e.step}: T{e.thread} {e.describe()}", thread=e.thread,
                       marked=e.step in self.marked)
            if e.thread in last:
                g.add_edge(last[e.thread], e.step, kind="po")
            last[e.thread] = e.step
        for e in self.events:
            if e.rf is not None and self.events[e.rf].thread != e.thread:
                g.add_edge(e.rf, e.step, kind=_rf_kind(e))
            for s in e.sw:
                if s != e.rf:
                    g.add_edge(s, e.step, kind="sw")
        if self.kind is ViolationKind.DATA_RACE and len(self.marked) == 2:
            g.add_edge(self.marked[0], self.marked[1], kind="race")
        return g

    def to_dot(self) -> str:
        """The happens-before graph in Graphviz DOT (po solid, rf/sw dashed, the race red)."""
        g = self.hb_graph()
        style = {"po": "solid", "rf": "dashed", "sw": "dashed", "race": "dotted"}
        out = ["digraph hb {", '  node [shape=box, fontname="monospace"];']
        for node in sorted(g.nodes):
            attrs = g.nodes[node]
            color = ", color=red" if attrs["marked"] else ""
            out.append(f'  e{node} [label="{_dot_escape(attrs["label"])}"{color}];')
        for a, b in sorted(g.edges):
            kind = g.edges[a, b]["kind"]
            color = ", color=red" if kind == "race" else ""
            out.append(f'  e{a} -> e{b} [label="{kind}", style={style[kind]}{color}];')
        out.append("}")
        return "\n".join(out) + "\n"


    def to_mermaid(self) -> str:
        """A Mermaid sequence diagram: one lane per thread, a note per step, rf/sw as arrows."""
        with self.names_shown():
            return self._to_mermaid()

    def _to_mermaid(self) -> str:
        out = ["sequenceDiagram"]
        out += [f"  participant T{i} as T{i} {name}" for i, name in enumerate(self.threads)]
        for e in self.events:
            if e.rf is not None and self.events[e.rf].thread != e.thread:
                kind = _rf_kind(e)
                out.append(f"  T{self.events[e.rf].thread}-->>T{e.thread}: {kind} {e.rf} -> {e.step}")
            mark = " *" if e.step in self.marked else ""
            out.append(f"  Note over T{e.thread}: {e.step}: {_mermaid_escape(e.describe())}{mark}")
        return "\n".join(out) + "\n"


def check_header(doc: object) -> dict[str, Any]:
    """``doc`` as a counterexample document's dict, after checking its type, schema and version."""
    if not isinstance(doc, dict):
        raise UsageError(f"counterexample must be a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        raise UsageError(f"not a framemc counterexample: schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    if doc.get("version") != SCHEMA_VERSION:
        raise UsageError(f"counterexample schema version {doc.get('version')!r} is not supported "
                         f"(this framemc reads version {SCHEMA_VERSION})")
    return doc


def _rf_kind(e: TraceEvent) -> str:
    # a lock, or an acquire of a release message, synchronises; any other read only reads from
    return "sw" if e.op == OpKind.LOCK.value or e.rf in e.sw else "rf"


#: TraceEvent fields a document may lack (added with C11; they have defaults)
_OPTIONAL_EVENT_FIELDS = frozenset({"pick", "sw", "why"})


def _mermaid_escape(text: str) -> str:
    # Mermaid reads ';' as a statement end and '#' as an entity start
    return "".join({"#": "#35;", ";": "#59;"}.get(c, c) for c in text)


#: value -> name while a counterexample is being rendered (``Counterexample.names_shown``)
_NAMES: ContextVar[dict[Any, str]] = ContextVar("framemc_value_names", default={})


def _show(value: Any) -> str:
    names = _NAMES.get()
    if names and isinstance(value, int) and not isinstance(value, bool) and value in names:
        return names[value]
    # sentinels like REFCOUNT_UNUSED (2**64 - 1) read better in hex
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 << 32:
        return hex(value)
    return str(value)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
