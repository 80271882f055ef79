"""Plain-text rendering of model values, shared by proof counterexamples and check witnesses.

Design: one place turns a field's raw number into what a kernel engineer reads
(``UNUSED`` rather than 18446744073709551615, ``-`` for "not a block head",
other large 64-bit numbers in hex as traces show them) and a field's short
model name into words (``payload zeroed`` rather than ``pz``), so every report
spells values the same way.
"""

from __future__ import annotations

import z3

from framemc.model.state import ACTOR_ANY, ACTOR_HOLDER, NO_HEAD
from framemc.snapshot import ZERO_DIGEST
from framemc.snapshot import REFCOUNT_BUSY, REFCOUNT_MAX, REFCOUNT_UNIQUE, REFCOUNT_UNUSED

_RC_NAMES = {REFCOUNT_UNUSED: "UNUSED", REFCOUNT_UNIQUE: "UNIQUE", REFCOUNT_MAX: "MAX", REFCOUNT_BUSY: "0 (busy)"}
_PURPOSES = {0: "None", 1: "General", 2: "PageTable", 3: "Dma"}
#: numbers from here up are shown in hex (as traces show them): frame numbers, generations, pool ids
HEX_FROM = 1 << 32

#: the words a report uses for each model field (state fields, then the early allocator's scalars)
FIELD_LABELS = {
    "rc": "refcount",
    "purpose": "purpose",
    "flags": "flags",
    "guard": "guard",
    "gen": "generation",
    "pz": "payload zeroed",
    "pay": "payload digest",
    "hord": "free block here",
    "nalloc": "allocations covering",
    "ncache": "cache entries",
    "ccpu": "cached on CPU",
    "added": "added to allocator",
    "pool": "pool (first frame)",
    "gen0": "generation at claim (ghost)",
    "handles": "live handles (ghost)",
    "early_lo": "early allocator start",
    "early_end": "early allocator next",
    "early_hi": "early allocator end",
    "booted": "booted",
    "actor": "step taken by (ghost)",
    "ncpus": "CPUs",
}


def field_label(field: str) -> str:
    """The readable name of model field ``field`` (the field's own name when it has none)."""
    return FIELD_LABELS.get(field, field)


def plain(value: z3.ExprRef | int | bool) -> int | bool:
    """A z3 numeral or boolean as a Python int or bool (plain values pass through)."""
    if isinstance(value, (bool, int)):
        return value
    if z3.is_true(value):
        return True
    if z3.is_false(value):
        return False
    return value.as_long()


def render_value(field: str, value: z3.ExprRef | int | bool) -> str:
    """``value`` of ``field`` (a state field or a parameter kind) as a short readable string."""
    v = plain(value)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if field == "rc":
        return _RC_NAMES.get(v, hex(v) if v >= HEX_FROM else str(v))
    if field == "hord":
        return "-" if v == NO_HEAD else f"order {v}"
    if field in ("purpose",):
        return _PURPOSES.get(v, f"code {v}")
    if field == "actor":
        return {ACTOR_ANY: "unknown", ACTOR_HOLDER: "the holder"}.get(v, f"CPU {v}")
    if field in ("pay", "digest"):
        return "zero-page" if v == ZERO_DIGEST else f"{v:#010x}"
    return hex(v) if v >= HEX_FROM else str(v)
