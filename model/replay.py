"""Concrete replay of the model's operations: the state after each step of a logged run.

Design.  A validator (``framemc validate``) needs the model's verdict on
millions of concrete steps: is the guard of ``claim(f=5)`` true in this
state, and what does the step change?  The answer comes from the very
operations the proofs use (:data:`framemc.model.ops.OPERATIONS`): the step is
built over a state whose fields look concrete values up, and z3 simplifies
its guard and its post-state at numeral frames to numerals.  Nothing about an
operation is restated here.

That costs milliseconds, so results are memoised.  Evaluating an operation
with concrete arguments reads some (field, frame) cells and scalars; which
ones can depend on the values read before (a merge reads the buddy that the
pending order names).  The evaluation is deterministic, so its result holds in
every state that agrees on the cells it read: the memo key is the operation,
its arguments, which read set, and the values there.  Fields the step leaves
alone are not read.  The generations and the scalars (the pool's pending block, the
actor) are left symbolic in a first evaluation; when the guard and every write
come out as values without them, they are not part of the key (a claim of a
frame is the same step whatever the generation and whatever the buddy does);
otherwise the step is evaluated again with them concrete.  A step that meets a known key
costs a dictionary lookup.  What a step writes is found by evaluating the
post-state at every frame the step read and at its argument frames: an
operation of the model writes only frames it reads (checked for every
operation by ``tests/model/test_replay.py`` against the post-state at every
frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3

from framemc.errors import UsageError
from framemc.model.ops import OPERATIONS, ParamKind, resolve
from framemc.design.frames import numeral
from framemc.model.state import (FRAME_BITS, MODEL_FIELDS, SCALAR_FIELDS, Field, FrameSort,
                                 ModelConfig, State, frame)
from framemc.snapshot import ZERO_DIGEST

__all__ = ["Machine", "StepResult"]

_SORTS = dict(MODEL_FIELDS)
_SCALAR_SORTS = dict(SCALAR_FIELDS)
#: fields and scalars whose values are frame numbers (``is``: a 64-bit word sort is equal to the frame sort)
_FRAME_VALUED = {name for name, sort in MODEL_FIELDS + SCALAR_FIELDS if sort is FrameSort}


def _fold(term: z3.ExprRef) -> tuple[bool, Any]:
    """``(True, value)`` when z3 simplifies ``term`` to a Python bool or int, else ``(False, simplified term)``."""
    term = z3.simplify(term)
    if z3.is_true(term) or z3.is_false(term):
        return True, z3.is_true(term)
    if z3.is_bv_value(term):
        return True, term.as_long()
    return False, term


def _python(term: z3.ExprRef) -> int | bool:
    done, value = _fold(term)
    if not done:
        raise AssertionError(f"a concrete step did not simplify to a value: {value}")
    return value


#: fields no operation reads, only stores (the payload digest; ``tests/model/test_replay.py`` checks it): a
#: digest argument matters to a step only through whether it is the zero page's
_WRITE_ONLY = ("pay",)
#: the stand-in for every digest that is not the zero page's
_OTHER_DIGEST = ZERO_DIGEST ^ 1


def _canon_digest(d: int) -> int:
    return d if d == ZERO_DIGEST else _OTHER_DIGEST


#: per-frame counters evaluated symbolically first (a claim bumps the generation whatever its value)
_COUNTERS = ("gen", "gen0")
_MASKS = {name: (1 << sort.size()) - 1 for name, sort in MODEL_FIELDS if sort != z3.BoolSort()}


class _Concrete(Exception):
    """A step that needs a counter's or a scalar's value: evaluate it with them concrete."""


def _decided(term: z3.ExprRef) -> bool:
    done, value = _fold(term)
    if not done:
        raise _Concrete
    return value


def _scalar_written(term: z3.ExprRef, name: str) -> Any:
    """A scalar's value after the step, or None when it keeps its symbolic value before the step."""
    done, value = _fold(term)
    if done:
        return value
    if z3.is_const(value) and value.decl().name() == f"{name}@":
        return None
    raise _Concrete


def _written(term: z3.ExprRef) -> Any:
    """A value, or ``(field, frame, delta)``: the step writes that counter's old value plus ``delta``."""
    done, term = _fold(term)
    if done:
        return term
    delta = 0
    if z3.is_app_of(term, z3.Z3_OP_BADD) and term.num_args() == 2 and z3.is_bv_value(term.arg(0)):
        delta, term = term.arg(0).as_long(), term.arg(1)
    if z3.is_const(term) and "@" in term.decl().name():
        name, f = term.decl().name().split("@")
        return (name, int(f), delta)
    raise _Concrete


@dataclass(frozen=True, slots=True)
class StepResult:
    """The model's verdict on one concrete step."""

    #: True when the operation's guard holds in the state before
    allowed: bool
    #: per-frame changes: (field, frame) -> new value, or (counter, frame, delta): that counter's value
    #: before the step plus delta (empty when not allowed)
    writes: tuple[tuple[tuple[str, int], Any], ...]
    #: scalar changes: name -> new value
    scalars: tuple[tuple[str, int | bool], ...]


class Machine:
    """A concrete model state that steps by the model's own operations."""

    def __init__(self, cfg: ModelConfig, cells: dict[str, dict[int, int | bool]], defaults: dict[str, int | bool],
                 scalars: dict[str, int | bool], variant: str | None = None,
                 shared: tuple[dict, dict, dict, dict] | None = None) -> None:
        #: model bounds (MAX_ORDER, CPUs)
        self.cfg = cfg
        #: field -> frame -> value (frames absent take the field's default)
        self.cells = {name: dict(cells.get(name, {})) for name in _SORTS}
        #: field -> value of every frame not in ``cells``
        self.defaults = dict(defaults)
        #: scalar fields
        self.scalars = dict(scalars)
        self._variant = variant
        #: (op, args) -> every (cells, scalars, symbolic) set the step was seen to read (``shared``: dictionaries
        #: other machines of the same bounds, defaults and variant use too)
        self._reads: dict[tuple[Any, ...], Any] = {} if shared is None else shared[0]
        #: (op, args, index of the read set, values read) -> result
        self._memo: dict[tuple[Any, ...], StepResult] = {} if shared is None else shared[1]
        #: the same with the frame argument left out, for steps of one frame (see ``_remember_relocatable``)
        self._rreads: dict[tuple[Any, ...], Any] = {} if shared is None else shared[2]
        self._rmemo: dict[tuple[Any, ...], StepResult] = {} if shared is None else shared[3]
        #: steps answered from the memo, and steps z3 evaluated (shared with this machine's forks)
        self._counts = [0, 0]

    @property
    def hits(self) -> int:
        """Steps answered from the memo (by this machine and its forks)."""
        return self._counts[0]

    @property
    def misses(self) -> int:
        """Steps z3 evaluated (by this machine and its forks)."""
        return self._counts[1]

    def fork(self) -> "Machine":
        """A copy of this state that steps on its own, sharing the memo and the counters."""
        twin = object.__new__(Machine)
        twin.__dict__.update(self.__dict__)
        twin.cells = {name: dict(values) for name, values in self.cells.items()}
        twin.scalars = dict(self.scalars)
        return twin

    def key(self) -> tuple:
        """The state as a hashable value: two machines with equal keys are in the same model state."""
        d = self.defaults
        return (tuple(tuple(sorted((f, v) for f, v in self.cells[name].items() if v != d[name]))
                      for name in _SORTS), tuple(sorted(self.scalars.items())))

    def value(self, name: str, f: int) -> int | bool:
        """Field ``name`` at frame ``f``."""
        return self.cells[name].get(f, self.defaults[name])

    def step(self, op: str, **args: int | bool) -> StepResult:
        """Check and apply ``op(**args)``; the state changes only when the guard holds."""
        result = self.outcome(op, **args)
        self._apply(result)
        return result

    def outcome(self, op: str, **args: int | bool) -> StepResult:
        """The model's verdict on ``op(**args)`` in this state, without applying it."""
        spec = resolve(op, self._variant)
        try:
            values = tuple(args[p] for p, _ in spec.params)
        except KeyError as exc:
            raise UsageError(f"{op} needs the argument {exc.args[0]!r}") from None
        digests = [v for (_, kind), v in zip(spec.params, values) if kind is ParamKind.DIGEST]
        if not digests:
            return self._outcome(spec, values)
        # A digest is stored in the write-only field ``pay`` and compared with the zero page's: every non-zero
        # digest is the same step, up to the value stored.  Evaluate at a stand-in, then store the real one.
        canon = tuple(_canon_digest(v) if kind is ParamKind.DIGEST else v
                      for (_, kind), v in zip(spec.params, values))
        result = self._outcome(spec, canon)
        if canon == values:
            return result
        (real,), (stand_in,) = digests, [_canon_digest(d) for d in digests]
        return StepResult(result.allowed, tuple((cell, real if cell[0] in _WRITE_ONLY and v == stand_in else v)
                                                for cell, v in result.writes), result.scalars)

    def _outcome(self, spec: Any, values: tuple) -> StepResult:
        op = spec.name
        base = (op, values)
        # every set of cells this step was seen to read (which cells a step reads can depend on the values it
        # read before: a split reads the upper half its order gives); an entry holds for a state that agrees
        # with the state it was computed in on the cells that computation read, so the key names the set
        shapes = self._reads.get(base)
        if shapes is not None:
            for sid, (cells_read, scalars_read, _) in enumerate(shapes):
                hit = self._memo.get(base + (sid, tuple(self.value(n, f) for n, f in cells_read),
                                             tuple(self.scalars[s] for s in scalars_read)))
                if hit is not None:
                    self._counts[0] += 1
                    return hit
        moved = self._relocated(spec, values)
        if moved is not None:
            self._counts[0] += 1
            return moved
        self._counts[1] += 1
        # first with the counters (generations) left symbolic, so that one evaluation serves every value;
        # a step whose guard or effect depends on a counter's value is evaluated with it concrete
        symbolic = shapes is None or all(shape[2] for shape in shapes)
        try:
            result, cells, scalars = self._evaluate(spec, values, symbolic)
        except _Concrete:
            symbolic = False
            try:
                result, cells, scalars = self._evaluate(spec, values, False)
            except _Concrete:
                raise AssertionError(f"z3 could not decide {op}{values} on concrete values") from None
        reads = (tuple(sorted(cells)), tuple(sorted(scalars)), symbolic)
        shapes = self._reads.setdefault(base, [])
        if reads in shapes:
            sid = shapes.index(reads)
        else:
            sid = len(shapes)
            shapes.append(reads)
        key = base + (sid, tuple(self.value(n, f) for n, f in reads[0]), tuple(self.scalars[s] for s in reads[1]))
        self._memo[key] = result
        self._remember_relocatable(spec, values, reads, result)
        return result

    def failing_guard(self, op: str, **args: int | bool) -> str | None:
        """The first conjunct of ``op``'s guard that is false in this state, written over the model's fields
        (``nalloc(5) == 1``), or None when the guard holds."""
        from framemc.model.state import symbolic_state
        spec = resolve(op, self._variant)
        terms = [self._arg(kind, args[p]) for p, kind in spec.params]
        shown = spec.fn(self.cfg, symbolic_state("model"), *terms)
        here = spec.fn(self.cfg, self._tracking_state(set(), set(), False), *terms)

        def parts(guard: z3.ExprRef) -> list[z3.ExprRef]:
            return list(guard.children()) if z3.is_and(guard) else [guard]

        def text(term: z3.ExprRef) -> str:
            return " ".join(str(z3.simplify(term)).replace("model.", "").split())
        left, right = parts(shown.guard), parts(here.guard)
        if len(left) != len(right):
            left = right = [here.guard]
        for a, b in zip(left, right):
            if z3.is_false(z3.simplify(b)):
                return text(a)
        for a, b in zip(shown.ranged, here.ranged):
            first, count = _python(b.first), _python(b.count)
            for g in range(first, first + count):
                if z3.is_false(z3.simplify(b.pred(frame(g)))):
                    return f"for frame {g}: {text(a.pred(frame(g)))}"
        return None

    # A step of one frame argument that reads and writes only that frame, and no frame-valued field, is the
    # same step at every frame with the same values there: it is also remembered with the frame left out.

    def _frame_param(self, spec: Any) -> int | None:
        frames = [i for i, (_, kind) in enumerate(spec.params) if kind is ParamKind.FRAME]
        return frames[0] if len(frames) == 1 else None

    def _rbase(self, spec: Any, values: tuple, i: int) -> tuple:
        """The key of a step with its frame left out, but its alignment kept: the buddy's block of order k
        holding f starts at f exactly when f is aligned to 2**k, so a step that read only f at an aligned
        frame reads other frames at an unaligned one (``is_free`` at frame 7 reads the heads 6 and 4)."""
        f = values[i]
        align = min((f & -f).bit_length() - 1 if f else self.cfg.max_order + 1, self.cfg.max_order + 1)
        return (spec.name, values[:i] + (None,) + values[i + 1:], align)

    def _relocated(self, spec: Any, values: tuple) -> StepResult | None:
        i = self._frame_param(spec)
        if i is None:
            return None
        rbase = self._rbase(spec, values, i)
        reads = self._rreads.get(rbase)
        if reads is None:
            return None
        f = values[i]
        hit = self._rmemo.get(rbase + (tuple(self.value(n, f) for n in reads[0]),
                                       tuple(self.scalars[s] for s in reads[1])))
        if hit is None:
            return None
        return StepResult(hit.allowed, tuple(((n, f), v if not isinstance(v, tuple) else (v[0], f, v[2]))
                                             for (n, _), v in hit.writes), hit.scalars)

    def _remember_relocatable(self, spec: Any, values: tuple, reads: tuple, result: StepResult) -> None:
        i = self._frame_param(spec)
        if i is None:
            return
        f = values[i]
        if any(g != f or n in _FRAME_VALUED for n, g in reads[0]):
            return
        for (n, g), v in result.writes:
            if g != f or n in _FRAME_VALUED or (isinstance(v, tuple) and v[1] != f):
                return
        if any(n in _FRAME_VALUED for n, _ in result.scalars) or any(n in _FRAME_VALUED for n in reads[1]):
            return  # a frame-valued scalar (the pending block) read or written: its relation to the frame counts
        rbase = self._rbase(spec, values, i)
        names = tuple(n for n, _ in reads[0])
        known = self._rreads.setdefault(rbase, (names, reads[1]))
        if known != (names, reads[1]):
            return  # read another set of cells at another frame: not the same step
        self._rmemo[rbase + (tuple(self.value(n, f) for n in names), tuple(self.scalars[s] for s in reads[1]))] \
            = result

    def _apply(self, result: StepResult) -> None:
        new = [(cell, v if not isinstance(v, tuple) else self.value(v[0], v[1]) + v[2] & _MASKS[v[0]])
               for cell, v in result.writes]
        for (name, f), v in new:
            self.cells[name][f] = v
        for name, v in result.scalars:
            self.scalars[name] = v

    def _evaluate(self, spec: Any, values: tuple[int | bool, ...], symbolic: bool) -> tuple[StepResult, set, set]:
        cells: set[tuple[str, int]] = set()
        scalars_read: set[str] = set()
        state = self._tracking_state(cells, scalars_read, symbolic)
        terms = [self._arg(kind, v) for (_, kind), v in zip(spec.params, values)]
        step = spec.fn(self.cfg, state, *terms)
        allowed = _decided(step.guard)
        for r in step.ranged if allowed else ():
            first, count = _python(r.first), _python(r.count)
            allowed = all(_decided(r.pred(frame(g))) for g in range(first, first + count))
            if not allowed:
                break
        if not allowed:
            return StepResult(False, (), ()), cells, scalars_read
        seen = {_python(t) for t in step.seeds}
        args = [v for (_, kind), v in zip(spec.params, values) if kind is ParamKind.FRAME]
        seen.update(args)
        if step.order is not None:
            # a buddy step may write every frame of the block of its order (nalloc over an allocated block)
            order = _python(step.order)
            if order <= self.cfg.max_order:
                for a in args:
                    low = a & ~((1 << order) - 1)
                    seen.update(range(low, low + (1 << order)))
        writes: list[tuple[tuple[str, int], Any]] = []
        for name in _SORTS:
            post: Field = getattr(step.post, name)
            if post is getattr(state, name):
                continue  # a field the step leaves alone: not read, so not part of the memo key
            for f in sorted(seen):
                new = _written(post[frame(f)])
                # an unchanged cell may be left out only when the step read it (its value is in the memo key):
                # a store of the value the cell happens to hold now is a write in another state
                if isinstance(new, tuple) or name in _COUNTERS or new != self.value(name, f) or (name, f) not in cells:
                    if not (new == (name, f, 0)):
                        writes.append(((name, f), new))
        changed = []
        for name in _SCALAR_SORTS:
            term = getattr(step.post, name)
            if term is getattr(state, name):
                continue
            new = _scalar_written(term, name)
            if new is not None and (symbolic or new != self.scalars[name]):
                changed.append((name, new))
        return StepResult(True, tuple(writes), tuple(changed)), cells, scalars_read

    def _arg(self, kind: ParamKind, value: int | bool) -> z3.ExprRef:
        return numeral(kind.sort(), value)

    def _tracking_state(self, cells: set, scalars_read: set, symbolic: bool) -> State:
        def field_of(name: str) -> Field:
            sort = _SORTS[name]
            # a write-only field is never read: its value is never part of a key
            counter = (symbolic and name in _COUNTERS) or name in _WRITE_ONLY

            def lookup(g: z3.BitVecRef) -> z3.ExprRef:
                if not z3.is_bv_value(g):
                    g = z3.simplify(g)
                    if not z3.is_bv_value(g):
                        raise _Concrete  # a frame that depends on a symbolic scalar (the pending order)
                f = g.as_long()
                if counter:
                    return z3.Const(f"{name}@{f}", sort)
                cells.add((name, f))
                return numeral(sort, self.value(name, f))
            return Field(lookup)

        fields: dict[str, Any] = {name: field_of(name) for name in _SORTS}
        for name, sort in SCALAR_FIELDS:
            if symbolic:
                fields[name] = z3.Const(f"{name}@", sort)
            else:
                scalars_read.add(name)
                fields[name] = numeral(sort, self.scalars[name])
        return State(**fields)


assert FRAME_BITS > 0 and OPERATIONS
