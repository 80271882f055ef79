"""Complete validation of a trace document, before any parser or renderer sees it.

Design: a trace file comes from outside (a CI artifact, a colleague, a fuzzer),
so everything in it is checked here in one pass over the parsed JSON: every
field's type, every enumerated value, and every index (``violation.steps``,
``events[].rf``, ``events[].sw``, the schedule's threads) against what it
points into.  A document that passes cannot make a renderer raise; one that
does not is one :class:`~framemc.errors.UsageError` line naming the first
bad field by its JSON path.  This layer sits in front of
``Counterexample.from_json`` (which parses, and checks less), and owns the
command line's ``origin`` block too.
"""

from __future__ import annotations

from typing import Any

from framemc.errors import UsageError
from framemc.explorer.bounds import MemoryModel
from framemc.explorer.trace import check_header
from framemc.explorer.violation import ViolationKind

__all__ = ["validate_trace", "MEMORY_MODELS", "ORIGIN_KINDS", "MAX_DEPTH"]

#: the ``memory_model`` values a trace may name
#: the memory models a trace may name: every model of the explorer's registry
MEMORY_MODELS = tuple(m.value for m in MemoryModel)
#: the ``origin.kind`` values a trace may carry
ORIGIN_KINDS = ("bundled", "file", "pytest")
#: how deeply a value (a read, a witness) may nest: deeper ones are refused rather than risk a RecursionError
MAX_DEPTH = 32
#: every event field and whether a document may leave it out (the C11 fields came later, with defaults)
_EVENT_FIELDS = {"step": False, "thread": False, "op": False, "location": False, "ordering": False, "read": False,
                 "written": False, "args": False, "source": False, "rf": False, "preemption": False,
                 "pick": True, "sw": True, "why": True}


class _Bad(Exception):
    """A field of the document is wrong (the message names it)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    return "null" if value is None else {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
                                         list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _field(doc: dict[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise _Bad(f"{where}{key} is missing")
    return doc[key]


def _string(value: object, where: str, *, null: bool = False) -> None:
    if not (isinstance(value, str) or (null and value is None)):
        raise _Bad(f"{where} must be a string{' or null' if null else ''}, got {_kind(value)}")


def _index(value: object, where: str, size: int, what: str) -> None:
    if not _is_int(value) or not 0 <= value < size:
        shown = repr(value) if _is_int(value) else _kind(value)
        span = f"0..{size - 1}" if size else "none exist"
        raise _Bad(f"{where} must be {what} ({span}), got {shown}")


def _depth(value: object, where: str, level: int = 0) -> None:
    if level > MAX_DEPTH:
        raise _Bad(f"{where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, list):
        for item in value:
            _depth(item, where, level + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _depth(item, where, level + 1)


def _event(raw: object, i: int, schedule: list[int]) -> None:
    where = f"events[{i}]"
    if not isinstance(raw, dict):
        raise _Bad(f"{where} must be an object, got {_kind(raw)}")
    for key, optional in _EVENT_FIELDS.items():
        if key not in raw and not optional:
            raise _Bad(f"{where}.{key} is missing")
    if raw["step"] != i or not _is_int(raw["step"]):
        raise _Bad(f"schedule and events disagree: {where}.step must be {i}, got {raw['step']!r}")
    if raw["thread"] != schedule[i] or not _is_int(raw["thread"]):
        raise _Bad(f"schedule and events disagree: {where}.thread must be {schedule[i]} (schedule[{i}]), "
                   f"got {raw['thread']!r}")
    _string(raw["op"], f"{where}.op")
    _string(raw["source"], f"{where}.source")
    _string(raw["location"], f"{where}.location", null=True)
    _string(raw["ordering"], f"{where}.ordering", null=True)
    _string(raw.get("why"), f"{where}.why", null=True)
    if not isinstance(raw["preemption"], bool):
        raise _Bad(f"{where}.preemption must be true or false, got {_kind(raw['preemption'])}")
    if raw["rf"] is not None:
        if not _is_int(raw["rf"]) or not 0 <= raw["rf"] < i:
            raise _Bad(f"{where}.rf must be null or an earlier step (0..{i - 1}), got {raw['rf']!r}"
                       if i else f"{where}.rf must be null or an earlier step (the first step has none), "
                                 f"got {raw['rf']!r}")
    pick = raw.get("pick", 0)
    if not _is_int(pick) or pick < 0:
        raise _Bad(f"{where}.pick must be an integer >= 0, got {pick!r}")
    for key in ("args", "sw"):
        if not isinstance(raw.get(key, []), list):
            raise _Bad(f"{where}.{key} must be a list, got {_kind(raw[key])}")
    for j, s in enumerate(raw.get("sw", [])):
        _index(s, f"{where}.sw[{j}]", i, "an earlier step")
    for key in ("read", "written", "args"):
        _depth(raw[key], f"{where}.{key}")


def _violation(viol: object, nevents: int) -> None:
    if not isinstance(viol, dict):
        raise _Bad(f"violation must be an object, got {_kind(viol)}")
    kind = _field(viol, "kind", "violation.")
    kinds = [k.value for k in ViolationKind]
    if kind not in kinds:
        raise _Bad(f"violation.kind must be one of {', '.join(kinds)}, got {kind!r}")
    _string(_field(viol, "message", "violation."), "violation.message")
    _string(_field(viol, "invariant", "violation."), "violation.invariant", null=True)
    witness = _field(viol, "witness", "violation.")
    if not isinstance(witness, dict):
        raise _Bad(f"violation.witness must be an object, got {_kind(witness)}")
    _depth(witness, "violation.witness")
    steps = _field(viol, "steps", "violation.")
    if not isinstance(steps, list):
        raise _Bad(f"violation.steps must be a list, got {_kind(steps)}")
    for j, s in enumerate(steps):
        _index(s, f"violation.steps[{j}]", nevents, "a step of the trace")


def _body(doc: dict[str, Any]) -> None:
    model = _field(doc, "memory_model", "")
    if model not in MEMORY_MODELS:
        raise _Bad(f"memory_model must be one of {', '.join(MEMORY_MODELS)}, got {model!r}")
    max_steps = _field(doc, "max_steps", "")
    if not _is_int(max_steps) or max_steps < 1:
        raise _Bad(f"max_steps must be a positive integer, got {max_steps!r}")
    preemptions = _field(doc, "preemptions", "")
    if not _is_int(preemptions) or preemptions < 0:
        raise _Bad(f"preemptions must be an integer >= 0, got {preemptions!r}")
    threads = _field(doc, "threads", "")
    if not isinstance(threads, list) or not threads:
        raise _Bad(f"threads must be a non-empty list of names, got {_kind(threads) if threads != [] else '[]'}")
    for j, name in enumerate(threads):
        _string(name, f"threads[{j}]")
    schedule = _field(doc, "schedule", "")
    if not isinstance(schedule, list):
        raise _Bad(f"schedule must be a list, got {_kind(schedule)}")
    for j, t in enumerate(schedule):
        _index(t, f"schedule[{j}]", len(threads), "a thread of the trace")
    events = _field(doc, "events", "")
    if not isinstance(events, list):
        raise _Bad(f"events must be a list, got {_kind(events)}")
    if len(events) != len(schedule):
        raise _Bad(f"schedule and events disagree: {len(schedule)} scheduled steps, {len(events)} events")
    for i, raw in enumerate(events):
        _event(raw, i, schedule)
    _violation(_field(doc, "violation", ""), len(events))


def validate_trace(doc: object) -> dict[str, Any]:
    """``doc`` (parsed JSON) if it is a complete, consistent trace document; else one-line UsageError."""
    checked = check_header(doc)
    try:
        _body(checked)
        if checked.get("origin") is not None:
            _origin(checked["origin"])
    except _Bad as exc:
        raise UsageError(f"malformed counterexample: {exc}") from None
    return checked


def _origin(origin: object) -> None:
    """Check the command line's origin block: a bundled scenario or a user file."""
    if not isinstance(origin, dict) or origin.get("kind") not in ORIGIN_KINDS:
        raise _Bad(f"origin must be an object whose kind is one of {', '.join(ORIGIN_KINDS)}")
    fields = {"bundled": {"scenario": str, "bugs": list, "memory_model": str},
              "file": {"file": str, "func": str},
              "pytest": {"nodeid": str, "rootdir": str}}[origin["kind"]]
    for key, want in fields.items():
        if not isinstance(origin.get(key), want):
            raise _Bad(f"origin.{key} must be a {want.__name__}")
    if origin["kind"] == "bundled" and not all(isinstance(b, str) for b in origin["bugs"]):
        raise _Bad("origin.bugs must be a list of names")
    if origin["kind"] == "bundled" and not isinstance(origin.get("design", ""), str):
        raise _Bad("origin.design must be a design name")
