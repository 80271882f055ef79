"""The vocabulary a design's z3 model is written in: per-frame fields, scalars, operations, invariants.

Design: a design whose state is "some values per physical frame plus a few
scalars" (the Theseus chunk allocator, a per-CPU free-list allocator, a
user's own) describes its model as one :class:`FrameModel` value:

* a :class:`Shape` names the per-frame fields and the scalars, with their z3
  sorts; a :class:`FState` holds one state as z3 terms, symbolic (for
  proofs) or concrete (read from a snapshot), and predicates never know which;
* each operation is a pure function ``(state, *args) -> Step`` (guard plus
  post-state, Hyperkernel style), registered as an :class:`Op`;
* each invariant is a function of a state (or of a pre- and a post-state)
  and one or two arbitrary frames, registered as an :class:`Inv` whose
  docstring's first line is its statement.

The generic prover (:mod:`framemc.design.prover`) proves every (operation,
invariant) pair for arbitrary frames, and the generic conformance run
(:mod:`framemc.design.conformance`) relates an impl's snapshots by the same
operations; neither knows anything about a particular design.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import z3

from framemc.errors import UsageError

__all__ = [
    "FRAME_BITS", "FrameSort", "Field", "store", "store_range", "constant_field", "frame", "in_range",
    "Shape", "FState", "RangeGuard", "Step", "choose", "Op", "InvKind", "Inv", "Variant", "FrameModel", "op", "inv",
]

#: bits of a frame number (a 64-bit physical address divided by the page size fits)
FRAME_BITS = 64
FrameSort = z3.BitVecSort(FRAME_BITS)


class Field:
    """A per-frame field: maps a frame-number term to a value term.

    Symbolic states back a field by an uninterpreted function, so proofs are
    quantifier-free bit-vector problems with uninterpreted functions (which z3
    solves by Ackermann reduction and bit-blasting, much faster than arrays);
    an operation's effect wraps the old field in a new lookup function, and a
    concrete state backs it by a table.
    """

    __slots__ = ("_lookup", "_memo")

    def __init__(self, lookup: Callable[[z3.BitVecRef], z3.ExprRef]) -> None:
        """A field whose value at frame ``g`` is ``lookup(g)``."""
        self._lookup = lookup
        self._memo: dict[int, tuple[z3.BitVecRef, z3.ExprRef]] = {}

    def __getitem__(self, g: z3.BitVecRef) -> z3.ExprRef:
        """The field's value at frame ``g`` (built once per frame term: a chain of conditional steps reads
        the field before and after each step, which would otherwise double the work at every step)."""
        key = g.get_id()
        hit = self._memo.get(key)
        if hit is None:
            # the term is kept with its value, so that its id cannot be reused while the entry lives
            hit = self._memo[key] = (g, self._lookup(g))
        return hit[1]


def store(fld: Field, at: z3.BitVecRef, value: z3.ExprRef) -> Field:
    """``fld`` with frame ``at`` set to ``value``."""
    return Field(lambda g: z3.If(g == at, value, fld[g]))


def in_range(g: z3.BitVecRef, first: z3.BitVecRef, count: z3.BitVecRef) -> z3.BoolRef:
    """``first <= g < first + count`` on frame numbers, without wrap-around."""
    return z3.And(z3.UGE(g, first), z3.ULT(g - first, count))


def store_range(fld: Field, first: z3.BitVecRef, end: z3.BitVecRef,
                value: z3.ExprRef | Callable[[z3.BitVecRef], z3.ExprRef]) -> Field:
    """``fld`` with every frame of ``[first, end)`` set to ``value`` (a term, or a function of the frame)."""
    def lookup(g: z3.BitVecRef) -> z3.ExprRef:
        new = value(g) if callable(value) else value
        return z3.If(z3.And(z3.UGE(g, first), z3.ULT(g, end)), new, fld[g])
    return Field(lookup)


def constant_field(value: z3.ExprRef) -> Field:
    """A field that is ``value`` at every frame."""
    return Field(lambda g: value)


def frame(value: int) -> z3.BitVecRef:
    """The frame number ``value`` as a z3 numeral."""
    return z3.BitVecVal(value, FRAME_BITS)


@dataclass(frozen=True, slots=True)
class Shape:
    """The fields of a design's state: per-frame fields and scalars, each a name and a z3 sort."""

    #: per-frame fields, in display order
    frames: tuple[tuple[str, z3.SortRef], ...]
    #: scalar fields, in display order
    scalars: tuple[tuple[str, z3.SortRef], ...] = ()
    #: one-line meaning of each field, for counterexamples and docs
    meaning: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Reject a shape with a repeated or reserved name (a mistake in the design)."""
        names = [n for n, _ in self.frames + self.scalars]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise UsageError(f"a design's state names field {repeated[0]!r} twice")
        reserved = sorted(set(names) & {"shape", "values", "update", "ite"})
        if reserved:
            raise UsageError(f"a design's state cannot have a field named {reserved[0]!r}: FState uses it")

    def sort(self, name: str) -> z3.SortRef:
        """The sort of field ``name``."""
        for n, s in self.frames + self.scalars:
            if n == name:
                return s
        raise UsageError(f"the state has no field {name!r}; it has {', '.join(n for n, _ in self.frames + self.scalars)}")

    @property
    def frame_names(self) -> tuple[str, ...]:
        """Names of the per-frame fields."""
        return tuple(n for n, _ in self.frames)

    @property
    def scalar_names(self) -> tuple[str, ...]:
        """Names of the scalar fields."""
        return tuple(n for n, _ in self.scalars)

    def symbolic(self, prefix: str) -> "FState":
        """A state whose every field is a fresh z3 function or constant named ``prefix.field``."""
        values: dict[str, Any] = {n: Field(z3.Function(f"{prefix}.{n}", FrameSort, s)) for n, s in self.frames}
        values.update({n: z3.Const(f"{prefix}.{n}", s) for n, s in self.scalars})
        return FState(self, values)

    def concrete(self, frames: Mapping[str, Mapping[int, Any]], scalars: Mapping[str, Any],
                 defaults: Mapping[str, Any] | None = None) -> "FState":
        """A state from plain values: per-frame tables (frames missing from a table take the field's default,
        0 or False unless given) and scalar values."""
        defaults = defaults or {}
        values: dict[str, Any] = {}
        for n, s in self.frames:
            table = {k: numeral(s, v) for k, v in frames.get(n, {}).items()}
            values[n] = _table_field(table, numeral(s, defaults.get(n, 0)))
        missing = sorted(set(self.scalar_names) - set(scalars))
        if missing:
            raise UsageError(f"a concrete state needs scalar {missing[0]!r}")
        values.update({n: numeral(s, scalars[n]) for n, s in self.scalars})
        return FState(self, values)


def numeral(sort: z3.SortRef, value: Any) -> z3.ExprRef:
    """A plain value as a z3 numeral of ``sort``."""
    if isinstance(value, z3.ExprRef):
        return value
    if sort == z3.BoolSort():
        return z3.BoolVal(bool(value))
    return z3.BitVecVal(int(value), sort.size())


def _table_field(table: Mapping[int, z3.ExprRef], default: z3.ExprRef) -> Field:
    """A field backed by a table of frame numbers: a direct lookup at a numeral, else a chain of Ifs."""
    items = sorted(table.items())

    def lookup(g: z3.BitVecRef) -> z3.ExprRef:
        if z3.is_bv_value(g):
            return table.get(g.as_long(), default)
        out = default
        for k, v in reversed(items):
            if not v.eq(default):
                out = z3.If(g == k, v, out)
        return out
    return Field(lookup)


class FState:
    """One state of a design as z3 terms: a :class:`Field` per per-frame field, a term per scalar.

    Fields read as attributes (``s.owner[f]``, ``s.heap``); :meth:`update`
    returns a new state with some fields replaced (an operation's frame
    condition: everything it does not name stays).
    """

    __slots__ = ("shape", "values")

    def __init__(self, shape: Shape, values: Mapping[str, Any]) -> None:
        """A state of ``shape`` with these field values."""
        self.shape = shape
        self.values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"the state has no field {name!r}") from None

    def update(self, **changes: Any) -> "FState":
        """This state with the given fields replaced (a Field for a per-frame field, a term for a scalar)."""
        unknown = sorted(set(changes) - set(self.values))
        if unknown:
            raise UsageError(f"an operation updates field {unknown[0]!r}, which the state does not have")
        for name in sorted(changes):
            if (name in self.shape.frame_names) != isinstance(changes[name], Field):
                kind = "per-frame field (give it a Field)" if name in self.shape.frame_names else "scalar"
                raise UsageError(f"an operation updates {name!r} with the wrong kind of value: it is a {kind}")
        return FState(self.shape, {**self.values, **changes})

    def ite(self, cond: z3.BoolRef, other: "FState") -> "FState":
        """This state where ``cond`` holds, else ``other``, field by field."""
        out: dict[str, Any] = {}
        for name, a in self.values.items():
            b = other.values[name]
            if a is b:
                out[name] = a
            elif isinstance(a, Field):
                out[name] = Field(lambda g, a=a, b=b: z3.If(cond, a[g], b[g]))
            else:
                out[name] = z3.If(cond, a, b)
        return FState(self.shape, out)


@dataclass(frozen=True, slots=True)
class RangeGuard:
    """A guard conjunct over a range of frames: ``pred(g)`` for every g in ``[first, end)``."""

    #: first frame of the range
    first: z3.BitVecRef
    #: one past the last frame
    end: z3.BitVecRef
    #: the condition each frame of the range must meet
    pred: Callable[[z3.BitVecRef], z3.BoolRef]

    def at(self, g: z3.BitVecRef) -> z3.BoolRef:
        """This guard instantiated at frame ``g``."""
        return z3.Implies(z3.And(z3.UGE(g, self.first), z3.ULT(g, self.end)), self.pred(g))


@dataclass(frozen=True, slots=True)
class Step:
    """One operation applied to one state: its guard, its post-state, and the frames it touches."""

    #: quantifier-free part of the guard
    guard: z3.BoolRef
    #: the state after the operation
    post: FState
    #: per-frame parts of the guard, over ranges of frames (instantiated where the proof needs them)
    ranged: tuple[RangeGuard, ...] = ()
    #: frames the operation reads or writes: where the prover instantiates the invariants
    seeds: tuple[z3.BitVecRef, ...] = ()

    def then(self, nxt: Callable[[FState], "Step"]) -> "Step":
        """Sequential composition: this step, then ``nxt`` applied to this step's post-state."""
        second = nxt(self.post)
        return Step(z3.And(self.guard, second.guard), second.post, self.ranged + second.ranged,
                    self.seeds + second.seeds)

    @staticmethod
    def unchanged(s: FState) -> "Step":
        """The stutter step of ``s``: always enabled, changes nothing."""
        return Step(z3.BoolVal(True), s)

    def full_guard(self, points: Iterable[z3.BitVecRef]) -> z3.BoolRef:
        """The guard with its range parts instantiated at ``points``."""
        return z3.And(self.guard, *(r.at(p) for r in self.ranged for p in points))


def choose(cond: z3.BoolRef, a: Step, b: Step) -> Step:
    """Step ``a`` where ``cond`` holds, else step ``b`` (a macro's case split; each side's range guards apply on
    its side only)."""
    def on(side: z3.BoolRef, r: RangeGuard) -> RangeGuard:
        return RangeGuard(r.first, r.end, lambda g: z3.Implies(side, r.pred(g)))
    ranged = tuple(on(cond, r) for r in a.ranged) + tuple(on(z3.Not(cond), r) for r in b.ranged)
    return Step(z3.If(cond, a.guard, b.guard), a.post.ite(cond, b.post), ranged, a.seeds + b.seeds)


@dataclass(frozen=True, slots=True)
class Op:
    """A model operation: its name, its parameters (name and sort), and its ``(state, *args) -> Step``."""

    #: stable name (conformance and obligations use it)
    name: str
    #: ``(name, sort)`` of each argument
    params: tuple[tuple[str, z3.SortRef], ...]
    #: the operation
    fn: Callable[..., Step]
    #: one line saying what it does (the function's docstring)
    summary: str = ""

    def __call__(self, s: FState, *args: z3.ExprRef) -> Step:
        """Apply the operation."""
        return self.fn(s, *args)

    def symbolic_args(self, prefix: str) -> tuple[z3.ExprRef, ...]:
        """Fresh constants for every argument."""
        return tuple(z3.Const(f"{prefix}.{n}", s) for n, s in self.params)


def op(fn: Callable[..., Step], *params: tuple[str, z3.SortRef], name: str | None = None) -> Op:
    """Register ``fn`` as an operation; its docstring's first line is its summary."""
    summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
    return Op(name or fn.__name__, tuple(params), fn, summary)


class InvKind(enum.Enum):
    """Whether an invariant constrains one state or a pair of consecutive states."""

    STATE = "state"
    STEP = "step"


@dataclass(frozen=True, slots=True)
class Inv:
    """A named invariant of a design: statement, citation, kind, how many arbitrary frames, body."""

    #: stable name, e.g. ``T-no-overlap``
    name: str
    #: one-line plain-English statement (the body's docstring first line)
    statement: str
    #: the seed sentence (or design document) the invariant comes from
    citation: str
    #: state or step invariant
    kind: InvKind
    #: number of arbitrary frames the body takes (1 or 2)
    arity: int
    #: ``(state, f[, g])`` or ``(pre, post, f[, g])`` -> the body at those frames
    body: Callable[..., z3.BoolRef]

    def holds(self, *states_and_frames: Any) -> z3.BoolRef:
        """The body applied (states first, then frames)."""
        return self.body(*states_and_frames)


def inv(body: Callable[..., z3.BoolRef], *, name: str, citation: str, kind: InvKind = InvKind.STATE,
        arity: int = 1) -> Inv:
    """Register ``body`` as an invariant; its docstring's first line is the statement (one text)."""
    if arity not in (1, 2):
        raise UsageError(f"invariant {name}: arity must be 1 or 2 frames, got {arity}")
    statement = (body.__doc__ or "").strip().splitlines()[0] if body.__doc__ else ""
    if not statement:
        raise UsageError(f"invariant {name}: its body needs a docstring whose first line states it")
    return Inv(name, statement, citation, kind, arity, body)


@dataclass(frozen=True, slots=True)
class Variant:
    """A deliberately broken operation: the model half of a planted bug."""

    #: the bug's name (the impl knob has the same name)
    name: str
    #: the operation it replaces
    replaces: str
    #: the broken operation
    op: Op
    #: the invariants whose obligations for ``replaces`` it refutes
    breaks: tuple[Inv, ...]


@dataclass(frozen=True, slots=True)
class FrameModel:
    """A design's z3 model: state shape, initial condition, operations, invariants, broken variants."""

    #: the state's fields
    shape: Shape
    #: ``state -> BoolRef``: the condition every initial state meets
    initial: Callable[[FState], z3.BoolRef]
    #: every operation, by name, in obligation order
    operations: Mapping[str, Op]
    #: every invariant, in report order
    invariants: tuple[Inv, ...]
    #: ``(pre, frames) -> more frames``: terms of the pre-state, derived from the goal's frames, where the
    #: invariants must also be assumed (for example the first frame of the chunk holding ``f``); the prover
    #: adds the operation's seeds and the goal's frames themselves
    points: Callable[[FState, tuple[z3.BitVecRef, ...]], tuple[z3.BitVecRef, ...]] = lambda s, frames: ()
    #: deliberately broken operations, by bug name
    variants: Mapping[str, Variant] = field(default_factory=dict)
    #: public operations of the impl as compositions of operations (``Step.then``), by name: what the
    #: conformance run relates one impl call by; arguments it does not give are hidden (z3 chooses them)
    macros: Mapping[str, Op] = field(default_factory=dict)
    #: ``() -> [(label, concrete state, frames it describes)]``: states that satisfy every state invariant at
    #: every frame, from which the guard obligations look for one that enables each operation
    witnesses: Callable[[], Sequence[tuple[str, "FState", int]]] = lambda: ()
    #: z3 resource units one obligation may spend (deterministic on any machine); an obligation that needs
    #: more is UNKNOWN, never PROVED
    rlimit: int = 50_000_000

    def __post_init__(self) -> None:
        """Reject a model whose registries disagree (a mistake in the design)."""
        names = [i.name for i in self.invariants]
        if len(set(names)) != len(names):
            raise UsageError("a design's model registers one invariant name twice")
        for name, o in self.operations.items():
            if name != o.name:
                raise UsageError(f"operation registered as {name!r} is named {o.name!r}")
        for name, v in self.variants.items():
            if v.replaces not in self.operations:
                raise UsageError(f"variant {name!r} replaces unknown operation {v.replaces!r}")
            missing = [i.name for i in v.breaks if i not in self.invariants]
            if missing:
                raise UsageError(f"variant {name!r} breaks {missing[0]!r}, which is not one of the model's invariants")

    @property
    def state_invariants(self) -> tuple[Inv, ...]:
        """The invariants of one state."""
        return tuple(i for i in self.invariants if i.kind is InvKind.STATE)

    def public(self, name: str) -> Op:
        """The macro ``name``, or the single operation of that name (conformance relates impl calls by it)."""
        if name in self.macros:
            return self.macros[name]
        return self.operation(name)

    def operation(self, name: str, variant: str | None = None) -> Op:
        """Operation ``name``, or the broken one when ``variant`` replaces it."""
        if variant is not None:
            if variant not in self.variants:
                raise UsageError(f"unknown model variant {variant!r}; known: {', '.join(sorted(self.variants)) or 'none'}")
            if self.variants[variant].replaces == name:
                return self.variants[variant].op
        if name not in self.operations:
            raise UsageError(f"unknown operation {name!r}; known: {', '.join(self.operations)}")
        return self.operations[name]
