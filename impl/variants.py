"""The planted-bug knobs of the reference allocators: which names exist, and which module honours each.

Design: a knob is switched on by name through the ``bugs`` frozenset a
system is built with; the default (empty set) is the correct code.  This
module only knows the names and the impl module that reads each one, so
that :func:`validate_bugs`, the single gate every constructor calls, can
refuse an unknown name.  What a bug does, where it comes from, the model
operation it breaks and its fix are one :class:`framemc.design.Bug` record
of the design it belongs to (``framemc list --kind bugs``): ``impl`` never
imports the design layer, which joins it with the z3 model.
"""

from __future__ import annotations

from collections.abc import Iterable

from framemc.errors import UsageError

__all__ = ["KNOBS", "validate_bugs"]

_META = "framemc.impl.frame"
_BUDDY = "framemc.impl.buddy"
_THESEUS = "framemc.impl.theseus"

#: every planted-bug knob: its name -> the impl module that honours it
KNOBS: dict[str, str] = {
    'alloc-at-skips-overlap': _THESEUS,
    'cache-ignores-poison': _BUDDY,
    'check-then-decrement': _META,
    'drop-mapped-frames': _THESEUS,
    'early-list-overflow': _THESEUS,
    'generation-before-cas': _META,
    'insert-before-merge': _BUDDY,
    'link-in-payload': _BUDDY,
    'merge-non-adjacent': _THESEUS,
    'merge-non-buddy': _BUDDY,
    'no-acquire-fence-on-drop': _META,
    'non-cas-claim': _META,
    'publish-before-zero': _META,
    'relaxed-claim': _META,
    'relaxed-publish': _META,
    'relaxed-purpose': _META,
    'unchecked-overlapping-dealloc': _BUDDY,
    'unused-equals-busy': _META,
}


def validate_bugs(bugs: Iterable[str]) -> frozenset[str]:
    """Return ``bugs`` as a frozenset, or raise ``UsageError`` naming an unknown knob."""
    if isinstance(bugs, str):
        raise UsageError(f"bugs must be a collection of variant names, not the string {bugs!r}")
    try:
        chosen = frozenset(bugs)
    except TypeError:
        raise UsageError(f"bugs must be a collection of variant names, got {bugs!r}") from None
    for name in sorted(chosen, key=str):
        if name not in KNOBS:
            known = ", ".join(sorted(KNOBS))
            raise UsageError(f"unknown bug variant {name!r}; known variants: {known}")
    return chosen
