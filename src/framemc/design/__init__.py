"""Allocator designs as a seam: one :class:`Design` record per design, in one registry.

Design (after stateright's ``Model`` trait): everything framemc knows about
one allocator design sits behind one record: how to build its impl, its
bundled scenarios per memory model, its z3 model and prover, its
conformance run, and its planted bugs (impl knob, broken model operation,
invariants it breaks, fix: one :class:`Bug` each).  ``framemc check``,
``prove``, ``mutants`` and ``list`` iterate over :func:`designs`, and
``--design NAME`` narrows them to one.

Two designs are built in (``metaslot``: buddy + per-frame MetaSlot,
seeds 000/001/002/004; ``theseus``: the Theseus chunk allocator, seed 003).
A user's own design is a ``Design`` value in the user's own package, named
in ``[tool.framemc] designs = ["mypkg.alloc:DESIGN"]`` of the nearest
``pyproject.toml`` or under the ``framemc.designs`` entry-point group; see
``docs/extending.md``.  Nothing is imported until :func:`designs` is called.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from framemc.errors import UsageError
from framemc.verdicts import Obligation, ObligationResult

__all__ = ["Bug", "Scenario", "Design", "Prover", "designs", "design_named", "register", "load_user_designs",
           "BUILTIN", "ENTRY_POINT_GROUP"]

#: the built-in designs: name -> ``module:attribute`` of their record
BUILTIN = {"metaslot": "framemc.design.metaslot:DESIGN", "theseus": "framemc.design.theseus:DESIGN"}
#: the entry-point group an installed package can list its designs under
ENTRY_POINT_GROUP = "framemc.designs"


@dataclass(frozen=True)
class Bug:
    """One planted bug, whole: what it does, where it comes from, its impl knob, its model half, its fix."""

    #: the name passed to ``--bug`` (and to the impl's ``bugs``)
    name: str
    #: one sentence saying what the buggy code does differently
    description: str
    #: where the bug pattern comes from (an issue, a seed, or a classic mistake)
    source: str
    #: one sentence saying how the correct code avoids it
    fix: str
    #: the impl module that honours the knob
    module: str
    #: the model operation the bug's broken twin replaces, or None (a bug of memory ordering only)
    replaces: str | None = None
    #: the invariants (objects of the design's model, with ``name``) the broken operation breaks: its proofs of
    #: them are refuted
    breaks: tuple[Any, ...] = ()
    #: the bundled scenario that must catch it
    scenario: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A bundled concurrent scenario of a design and the planted bug it must catch."""

    #: stable name, used on the command line and in reports
    name: str
    #: one sentence: what the scenario shows
    summary: str
    #: the planted bug the scenario must catch (its twin)
    twin: str
    #: ``bugs -> setup``: the ``setup`` for :func:`framemc.explore`, with those bugs switched on
    build: Callable[[frozenset[str]], Callable[[], Any]]

    def setup(self, bugs: Iterable[str] = frozenset()) -> Callable[[], Any]:
        """The scenario's ``setup`` with the named bugs switched on."""
        if isinstance(bugs, str):
            raise UsageError(f"bugs must be a collection of bug names, not the string {bugs!r}")
        return self.build(frozenset(bugs))


class Prover(Protocol):
    """What ``framemc prove`` and ``check`` need of a design's proofs."""

    #: names of the broken model operations a bug can put in place (``--variant``)
    variants: tuple[str, ...]

    def obligations(self, variant: str | None = None) -> list[Obligation]:
        """Every obligation, in suite order (with ``variant``'s broken operation in place)."""

    def run(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
            rlimit_scale: float = 1.0, deadline: float | None = None, max_order: int | None = None,
            on_result: Callable[[ObligationResult], None] | None = None) -> list[ObligationResult]:
        """Discharge the named obligations (all when None), reporting each result as it is decided."""

    def pose(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
             rlimit_scale: float = 1.0, max_order: int | None = None) -> list[tuple[str, list[Any]]]:
        """Optional (``framemc prove --emit-smt2``): the named obligations (all when None), each with the
        queries that decide it (:class:`framemc.proofs.engine.PosedQuery`: what a piece decides, z3's
        answer, the assertions), posed as :meth:`run` poses them."""


@dataclass(frozen=True)
class Design:
    """One allocator design: the record every command reads."""

    #: short name for ``--design`` (lower case, no spaces)
    name: str
    #: one sentence: what allocator this is
    summary: str
    #: where its behaviour is specified (seed documents, a design note)
    sources: tuple[str, ...]
    #: ``bugs -> allocator``: builds the reference implementation with the named planted bugs switched on
    build: Callable[[frozenset[str]], Any]
    #: ``memory model -> {name: scenario}``: its bundled scenarios (an empty dict where it has none)
    scenarios: Callable[[str], Mapping[str, Any]]
    #: its proofs
    prover: Prover
    #: ``(seed, steps, bugs, deadline) -> ConformanceReport``: the impl against the model, or None
    conformance: Callable[..., Any] | None
    #: its planted bugs, by name
    bugs: Mapping[str, Bug] = field(default_factory=dict)
    #: every invariant of its model, in report order: objects with ``name``, ``kind`` (an enum whose value is
    #: "state" or "step"), ``statement`` and ``citation``
    invariants: Sequence[Any] = ()
    #: its documentation page (a path under docs/), or ""
    doc: str = ""
    #: ``name -> function or None``: the Python definition of an invariant, operation or ``relates:OP`` check
    #: of its model (reports point at it)
    definition: Callable[[str], Any] = lambda name: None

    def __post_init__(self) -> None:
        """Reject a record that cannot work (the design author's mistake, said in one line)."""
        if not self.name or not self.name.replace("-", "").isalnum() or self.name != self.name.lower():
            raise UsageError(f"a design's name must be lower-case letters, digits and '-', got {self.name!r}")
        for name, bug in self.bugs.items():
            if name != bug.name:
                raise UsageError(f"design {self.name}: bug registered as {name!r} is named {bug.name!r}")
            unknown = [i.name for i in bug.breaks if not any(i is j for j in self.invariants)]
            if unknown:
                raise UsageError(f"design {self.name}: bug {name!r} breaks {unknown[0]!r}, which is not one of the "
                                 f"design's invariants")


#: designs registered so far (built-ins first, then users'), by name; filled by :func:`designs`
_REGISTRY: dict[str, Design] = {}
#: where each registered design came from (``module:attribute``), for error messages
_ORIGIN: dict[str, str] = {}


def _load(spec: str, where: str) -> Design:
    """The Design value that ``module:attribute`` names, or a UsageError saying what is wrong with it."""
    module, sep, attribute = spec.partition(":")
    if not sep or not module or not attribute:
        raise UsageError(f"{where}: a design is named as 'module:ATTRIBUTE', got {spec!r}")
    try:
        value: Any = importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"{where}: cannot import design module {module!r}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise UsageError(f"{where}: module {module!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    if not isinstance(value, Design):
        raise UsageError(f"{where}: {spec} is a {type(value).__name__}, not a framemc.design.Design")
    return value


def register(design: Design, origin: str = "") -> None:
    """Add ``design`` to the registry (a UsageError if another design has its name)."""
    known = _REGISTRY.get(design.name)
    if known is not None and known is not design:
        raise UsageError(f"two designs are named {design.name!r}: {_ORIGIN.get(design.name, '?')} and "
                         f"{origin or '?'}")
    _REGISTRY[design.name] = design
    _ORIGIN[design.name] = origin


def load_user_designs(specs: Iterable[str], where: str = "[tool.framemc] designs") -> list[Design]:
    """Load and register the designs ``specs`` name (``module:ATTRIBUTE`` each)."""
    out = []
    for spec in specs:
        design = _load(spec, where)
        register(design, spec)
        out.append(design)
    return out


def _entry_points() -> list[str]:
    return sorted(f"{ep.value}" for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def designs() -> dict[str, Design]:
    """Every registered design by name: the built-ins, then entry points, then what was loaded from config."""
    for name, spec in BUILTIN.items():
        if name not in _REGISTRY:
            register(_load(spec, "built-in design"), spec)
    for spec in _entry_points():
        if spec not in _ORIGIN.values():
            register(_load(spec, f"entry point group {ENTRY_POINT_GROUP}"), spec)
    builtin = {n: _REGISTRY[n] for n in BUILTIN}
    return {**builtin, **{n: d for n, d in _REGISTRY.items() if n not in BUILTIN}}


def design_named(name: str) -> Design:
    """The design called ``name``, or a UsageError listing the known ones."""
    known = designs()
    if name not in known:
        raise UsageError(f"unknown design {name!r}; known designs: {', '.join(known)}")
    return known[name]
