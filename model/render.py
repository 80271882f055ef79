"""Plain-text rendering of model values, shared by proof counterexamples and check witnesses.

Design: one place turns a field's raw number into what a kernel engineer reads
(``UNUSED`` rather than 18446744073709551615, ``-`` for "not a block head"),
so every report spells values the same way.
"""

from __future__ import annotations

import z3

from framemc.model.state import NO_HEAD, ZERO_DIGEST
from framemc.snapshot import REFCOUNT_BUSY, REFCOUNT_MAX, REFCOUNT_UNIQUE, REFCOUNT_UNUSED

_RC_NAMES = {REFCOUNT_UNUSED: "UNUSED", REFCOUNT_UNIQUE: "UNIQUE", REFCOUNT_MAX: "MAX", REFCOUNT_BUSY: "0 (busy)"}
_PURPOSES = {0: "None", 1: "General", 2: "PageTable", 3: "Dma"}


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
        return _RC_NAMES.get(v, str(v))
    if field == "hord":
        return "-" if v == NO_HEAD else f"order {v}"
    if field in ("purpose",):
        return _PURPOSES.get(v, f"code {v}")
    if field in ("pay", "digest"):
        return "zero-page" if v == ZERO_DIGEST else f"{v:#010x}"
    return str(v)
