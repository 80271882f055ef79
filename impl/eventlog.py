"""The reference allocators' event log: the steps ``framemc validate`` checks, in the format of docs/validate.md.

Design: off unless a list is installed with :func:`record_to`; then every logged step appends one event
dict (CPU, kind, arguments) at the moment the step happens.  Under the explorer a thread runs from one
shared access to the next without being interrupted, and each event is emitted right after its step
(while the pool lock is held, for buddy steps), so the list's order is the order the steps took effect:
the log's sequence numbers are the list indices.  This module touches no shared atomics, so logging adds
no scheduling point and changes no interleaving.
"""

from __future__ import annotations

import json
from typing import Any

from framemc.sync import current_cpu

__all__ = ["record_to", "emit", "to_jsonl"]

#: the list events go to, or None (logging off)
_SINK: list[dict[str, Any]] | None = None
#: the log header of the machine built while logging (nframes, ncpus, max_order, payload_fill)
HEADER: dict[str, Any] = {}


def record_to(sink: list[dict[str, Any]] | None) -> None:
    """Append every logged step to ``sink`` from now on (None: stop logging)."""
    global _SINK
    _SINK = sink
    HEADER.clear()


def describe(**machine: Any) -> None:
    """The machine being built while logging: what the log's header says."""
    if _SINK is not None:
        HEADER.update(machine)


def emit(ev: str, **args: Any) -> None:
    """Log one step of the running CPU (a no-op while logging is off)."""
    if _SINK is not None:
        _SINK.append({"cpu": current_cpu(), "ev": ev, **args})


def to_jsonl(events: list[dict[str, Any]], **header: Any) -> str:
    """The events as a version-1 log: the header (``nframes``, ``ncpus``, ``max_order``, ``payload_fill``),
    then one line per event with its sequence number."""
    lines = [json.dumps({"framemc_log": 1, **header})]
    lines += [json.dumps({"seq": i, **e}) for i, e in enumerate(events)]
    return "\n".join(lines) + "\n"
