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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framemc.errors import UsageError
from framemc.snapshot import PAGE_SIZE

__all__ = ["LOG_FORMAT", "Event", "ValidationResult", "validate_logs", "validate_events"]

#: the log format version this validator reads
LOG_FORMAT = 1
#: refcount value of an unused frame
UNUSED = (1 << 64) - 1

#: atomic-level events -> their required arguments
_ATOMIC = {
    "rc_cas": ("frame", "old", "new", "ok"), "gen_bump": ("frame", "new"), "zero": ("frame",),
    "set_purpose": ("frame", "purpose"), "publish": ("frame", "zeroed"), "rc_add": ("frame", "old"),
    "rc_sub": ("frame", "old"), "rc_store": ("frame", "value"), "poison": ("frame",),
    "payload_write": ("frame", "data"),
    "add_block": ("pool", "head", "order"), "alloc_block": ("head", "order"), "split": ("head",),
    "free_block": ("head", "order"), "merge": ("head",), "merge_stop": ("head",),
    "cache_refill": ("frame",), "cache_flush": ("frame",), "cache_alloc": ("frame",), "cache_free": ("frame",),
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
    #: model steps applied
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

    @property
    def exit_code(self) -> int:
        return {"valid": 0, "violation": 1, "inconclusive": 3}[self.verdict]

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "events": self.events, "steps": self.steps,
                "seconds": round(self.elapsed, 3), "failure": self.failure, "state": self.state,
                "memo_hits": self.memo_hits, "z3_steps": self.z3_steps, "open_steps": self.open_steps,
                "logs": list(self.logs),
                "where": None if self.where is None else {"file": self.where[0], "line": self.where[1],
                                                          "event": self.where[2]}}


#: per (model bounds, payload fill): the memo every validation in this process shares (a step's verdict
#: depends only on the values it reads, never on which log it came from)
_MEMOS: dict[tuple[Any, int], tuple[dict, dict, dict, dict]] = {}


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
    def __init__(self, header: dict[str, Any]) -> None:
        from framemc.model.concrete import DEFAULTS
        from framemc.model.replay import Machine
        from framemc.model.state import ACTOR_ANY, NO_HEAD, ModelConfig
        self.nframes, self.ncpus = header["nframes"], header["ncpus"]
        cfg = ModelConfig(header["max_order"], max(1, self.ncpus))
        defaults = dict(DEFAULTS, gen0=0, handles=0)
        fill = header.get("payload_fill", 0)
        if fill:
            # RAM is not zero at boot: every frame starts with this byte everywhere
            defaults.update(pz=False, pay=zlib.crc32(bytes([fill]) * PAGE_SIZE))
        self.machine = Machine(cfg, {}, defaults,
                               dict(early_lo=0, early_end=0, early_hi=0, booted=True, actor=ACTOR_ANY,
                                    ncpus=max(1, self.ncpus), pending=0, pending_order=NO_HEAD),
                               shared=_shared_memo(cfg, fill))
        #: (cpu, frame) -> seq of a successful claim CAS waiting for its generation bump
        self.claiming: dict[tuple[int, int], Event] = {}
        #: frame -> purpose set and not yet published
        self.purpose: dict[int, int] = {}
        self.steps = 0

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
            if isinstance(v, bool) and key not in ("ok", "zeroed"):
                v = None
            if not isinstance(v, (int, bool)) or (not isinstance(v, bool) and v < 0):
                raise _bad(e.path, e.line, f"{e.ev} needs a whole number {key!r}")
        for key in ("frame", "head", "pool", "f", "h", "p"):
            if key in e.args and e.args[key] >= self.nframes:
                raise _bad(e.path, e.line, f"{key} {e.args[key]} is past the machine's {self.nframes} frames")
        if not 0 <= e.cpu < max(1, self.ncpus):
            raise _bad(e.path, e.line, f"cpu {e.cpu} is not one of the header's {self.ncpus} CPUs")
        return e.args

    def event(self, e: Event) -> str | None:
        """Apply one event; a sentence saying why the model forbids it, or None."""
        a = self._args(e)
        m = self.machine
        ev = e.ev
        if ev in ("rc_cas", "rc_add", "rc_sub") and a["old"] != m.value("rc", a["frame"]):
            return f"the {ev} read refcount {a['old']:#x}, but the model's refcount is {m.value('rc', a['frame']):#x}"
        if ev == "rc_cas":
            f = a["frame"]
            if a["ok"]:
                if a["old"] != UNUSED or a["new"] != 0:
                    return "a successful claim CAS must take UNUSED to 0"
                # the model's claim is the CAS and the bump as one step: it happens here, where other CPUs
                # see the refcount change; the bump that follows must give the generation it gave
                why = self._step(e, "claim", f=f)
                if why is None:
                    self.claiming[(e.cpu, f)] = e
                return why
            return self._step(e, "claim_failed", f=f)
        if ev == "gen_bump":
            f = a["frame"]
            if self.claiming.pop((e.cpu, f), None) is None:
                return "a generation bump that no successful claim CAS of this CPU on this frame precedes"
            if a["new"] != m.value("gen", f):
                return f"the generation became {a['new']}, but the claim makes it {m.value('gen', f)}"
            return None
        if ev == "zero":
            return self._step(e, "zero", f=a["frame"])
        if ev == "set_purpose":
            self.purpose[a["frame"]] = a["purpose"]
            return None
        if ev == "publish":
            f = a["frame"]
            return self._step(e, "publish", f=f, purpose=self.purpose.pop(f, 0), zeroed=bool(a["zeroed"]))
        if ev in ("rc_add", "rc_sub"):
            f = a["frame"]
            if ev == "rc_add":
                return self._step(e, "clone", f=f)
            return self._step(e, "drop_last" if a["old"] == 1 else "drop", f=f)
        if ev == "rc_store":
            if a["value"] != UNUSED:
                return "the only refcount store the model knows besides publish is the teardown store of UNUSED"
            return self._step(e, "release", f=a["frame"])
        if ev == "poison":
            return self._step(e, "mark_poisoned", f=a["frame"])
        if ev == "payload_write":
            return self._step(e, "holder_write", f=a["frame"], d=a["data"] & 0xFFFFFFFF)
        if ev == "add_block":
            return self._step(e, "add_block", p=a["pool"], h=a["head"], k=a["order"])
        if ev == "alloc_block":
            return self._step(e, "buddy_alloc", h=a["head"], k=a["order"])
        if ev == "split":
            return self._step(e, "split", h=a["head"])
        if ev == "free_block":
            return self._step(e, "buddy_free", h=a["head"], k=a["order"])
        if ev in ("merge", "merge_stop"):
            return self._step(e, ev, h=a["head"])
        if ev == "cache_refill":
            return self._step(e, "cache_refill", cpu=e.cpu, h=a["frame"])
        if ev in ("cache_flush", "cache_alloc", "cache_free"):
            return self._step(e, ev, cpu=e.cpu, f=a["frame"])
        return self._step(e, ev, **a)

    def _step(self, e: Event, op: str, **args: Any) -> str | None:
        self.steps += 1
        if not self.machine.step(op, **args).allowed:
            return f"the model forbids {op}({', '.join(f'{k}={v}' for k, v in args.items())}) in this state"
        return None

    def state_of(self, e: Event) -> dict[str, Any]:
        from framemc.model.state import MODEL_FIELDS
        frames = sorted({v for k, v in e.args.items() if k in ("frame", "head", "f", "h")})
        return {f"frame {f}": {name: self.machine.value(name, f) for name, _ in MODEL_FIELDS} for f in frames} | {
            "pool": {k: self.machine.scalars[k] for k in ("pending", "pending_order")}}


def validate_logs(paths: list[str]) -> ValidationResult:
    """Validate the logs ``paths`` (merged by seq) against the model."""
    if not paths:
        raise UsageError("validate needs at least one log file")
    start = time.perf_counter()
    readers = [_read(str(Path(p))) for p in paths]
    header = readers[0][0]
    for (h, _), p in zip(readers[1:], paths[1:]):
        if {k: h.get(k) for k in ("nframes", "ncpus", "max_order")} != \
                {k: header.get(k) for k in ("nframes", "ncpus", "max_order")}:
            raise UsageError(f"{p}: its header does not match {paths[0]}'s (nframes, ncpus, max_order)")
    merged = heapq.merge(*(events for _, events in readers), key=lambda e: e.seq)
    result = _run(header, merged, start)
    result.logs = tuple(paths)
    return result


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


def validate_events(events: list[dict[str, Any]], header: dict[str, Any], name: str = "<events>") -> ValidationResult:
    """Validate in-memory events (dicts as in a log line, ``seq`` optional: list order) against the model."""
    start = time.perf_counter()
    return _run(header, (Event(e.get("seq", i), e["cpu"], e["ev"],
                               {k: v for k, v in e.items() if k not in ("seq", "cpu", "ev")}, name, i + 2)
                         for i, e in enumerate(events)), start)


def _run(header: dict[str, Any], events: Any, start: float) -> ValidationResult:
    v = _Validator(header)
    n = 0
    last_seq = None
    try:
        for e in events:
            if e.seq == last_seq:
                raise _bad(e.path, e.line, f"seq {e.seq} appears twice")
            last_seq = e.seq
            n += 1
            why = v.event(e)
            if why is not None:
                return ValidationResult("violation", n, v.steps, time.perf_counter() - start,
                                        f"{e.where()}: seq {e.seq}, cpu {e.cpu}, {e.ev}: {why}", v.state_of(e),
                                        v.machine.hits, v.machine.misses, where=(e.path, e.line, e.ev))
    except AssertionError as exc:  # z3 could not decide a concrete step
        return ValidationResult("inconclusive", n, v.steps, time.perf_counter() - start, str(exc))
    open_steps = [f"{e.where()}: a claim CAS on frame {e.args['frame']} without its generation bump"
                  for e in v.claiming.values()]
    return ValidationResult("valid", n, v.steps, time.perf_counter() - start, None, {}, v.machine.hits,
                            v.machine.misses, open_steps)
