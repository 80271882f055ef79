"""Concrete checks: the model's invariants evaluated on impl snapshots.

Design: a snapshot becomes plain per-frame values (:class:`FrameValues`).  To
evaluate an invariant, its per-frame body is applied to a *symbolic* state at
each concrete frame number ``0 .. U-1`` (U covers every frame the snapshot
mentions), simplified once, and cached per ``(invariant, max_order, U)``: a
*template* whose only free terms are field lookups at numeral frames.  A
check substitutes the snapshot's values into the template and simplifies to
``True`` / ``False``; anything else goes to a solver, and an ``unknown`` is
INCONCLUSIVE.  So the check runs the very predicate the proofs use, at the
cost of one substitution per invariant.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import z3

from framemc.design.frames import numeral
from framemc.errors import UsageError
from framemc.model.invariants import INVARIANTS, STATE_INVARIANTS, STEP_INVARIANTS, Invariant, grounded
from framemc.model.render import render_value
from framemc.verdicts import InvariantResult, Outcome
from framemc.model.state import (
    ACTOR_ANY,
    FRAME_BITS,
    FRAME_FIELDS,
    GHOST_FIELDS,
    MODEL_FIELDS,
    NO_HEAD,
    SCALAR_FIELDS,
    SMALL_BITS,
    Field,
    FrameSort,
    ModelConfig,
    State,
    frame,
    symbolic_state,
    derived_ghosts,
    update,
    with_derived_ghosts,
)
from framemc.snapshot import U64_MAX, REFCOUNT_UNUSED, ZERO_DIGEST, AllocatorSnapshot

#: z3 resource limit of the solver fallback: deterministic, unlike a timeout (simplification decides
#: every check of the bundled suite; a solver query there costs under 10_000 units)
CHECK_RLIMIT = 5_000_000
#: wall-clock safety net of the solver fallback (the resource limit, not this, bounds the work)
CHECK_TIMEOUT_MS = 60_000


#: a concrete check's verdict is the one vocabulary's PASS / VIOLATION / INCONCLUSIVE
CheckVerdict = Outcome


#: values of a frame no snapshot mentions: reserved, unused, untouched
DEFAULTS: dict[str, int | bool] = {
    "rc": REFCOUNT_UNUSED, "purpose": 0, "flags": 0, "guard": 0, "gen": 0, "pz": True, "pay": ZERO_DIGEST,
    "hord": NO_HEAD, "nalloc": 0, "ncache": 0, "ccpu": 0, "added": False, "pool": 0,
}


@dataclass(frozen=True, slots=True)
class FrameValues:
    """A snapshot as plain per-frame field values (frame number -> value), plus the grounding bound."""

    #: field name -> {frame: value}; frames not listed have the :data:`DEFAULTS` value
    values: dict[str, dict[int, int | bool]]
    #: frames ``0 .. bound-1`` cover every frame the snapshot mentions
    bound: int
    #: the model bounds the snapshot was taken under
    cfg: ModelConfig
    #: problems the per-frame encoding cannot represent, as ``(frame, reason)``: reported as I2 violations
    clashes: tuple[tuple[int, str], ...] = ()

    def get(self, name: str, f: int) -> int | bool:
        """Field ``name`` of frame ``f``."""
        return self.values[name].get(f, DEFAULTS[name])


def _need(cond: bool, message: str) -> None:
    """Raise a one-line UsageError unless ``cond``."""
    if not cond:
        raise UsageError(f"bad snapshot: {message}")


def _check_frame_number(what: str, value: object) -> int:
    """``value`` as a frame number, or a UsageError naming ``what``."""
    _need(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < (1 << FRAME_BITS),
          f"{what} {value!r} is not a frame number")
    return value  # type: ignore[return-value]


def snapshot_values(snap: AllocatorSnapshot, *, ncpus: int | None = None) -> FrameValues:
    """Validate ``snap`` and turn it into per-frame values; UsageError names the first problem."""
    _need(isinstance(snap, AllocatorSnapshot), f"expected an AllocatorSnapshot, got {type(snap).__name__}")
    _need(isinstance(snap.nframes, int) and snap.nframes >= 1, f"nframes {snap.nframes!r} must be at least 1")
    _need(len(snap.frames) == snap.nframes, f"{len(snap.frames)} frame entries for nframes={snap.nframes}")
    _need(isinstance(snap.max_order, int) and 0 <= snap.max_order < SMALL_BITS * 4,
          f"max_order {snap.max_order!r} is out of range")
    cfg = ModelConfig(max_order=snap.max_order, ncpus=ncpus or max(1, len(snap.cached)))
    values: dict[str, dict[int, int | bool]] = {name: {} for name, _ in FRAME_FIELDS}
    for i, fs in enumerate(snap.frames):
        for name, limit in (("refcount", U64_MAX), ("generation", U64_MAX), ("purpose", 255), ("flags", 255),
                            ("guard", 255), ("payload_crc", (1 << 32) - 1)):
            v = getattr(fs, name)
            _need(isinstance(v, int) and 0 <= v <= limit, f"frame {i}: {name} {v!r} is out of range")
        values["rc"][i], values["gen"][i] = fs.refcount, fs.generation
        values["purpose"][i], values["flags"][i], values["guard"][i] = fs.purpose, fs.flags, fs.guard
        values["pz"][i], values["pay"][i] = bool(fs.payload_zero), fs.payload_crc
    top = snap.nframes
    clashes: list[tuple[int, str]] = []
    for first, order in snap.free_blocks:
        _check_frame_number("free block start", first)
        _need(isinstance(order, int) and 0 <= order < NO_HEAD, f"free block order {order!r} is out of range")
        if first in values["hord"]:
            clashes.append((first, f"two free blocks start at frame {first}"))
        values["hord"][first] = order
        top = max(top, first + (1 << min(order, snap.max_order + 1)))
    for cpu, stack in enumerate(snap.cached):
        for f in stack:
            _check_frame_number(f"cached frame of CPU {cpu}", f)
            values["ncache"][f] = values["ncache"].get(f, 0) + 1
            values["ccpu"][f] = cpu
            top = max(top, f + 1)
    for what, ranges in (("allocated", snap.allocated), ("added", snap.added)):
        for first, count in ranges:
            _check_frame_number(f"{what} range start", first)
            _need(isinstance(count, int) and count >= 1, f"{what} range ({first}, {count!r}) is empty")
            top = max(top, first + count)
            for f in range(first, first + count):
                if what == "allocated":
                    values["nalloc"][f] = values["nalloc"].get(f, 0) + 1
                elif values["added"].get(f):
                    clashes.append((f, f"frame {f} was added twice"))
                else:
                    values["added"][f], values["pool"][f] = True, first
    for name in ("nalloc", "ncache"):
        for f, count in values[name].items():
            values[name][f] = min(count, (1 << SMALL_BITS) - 1)
    return FrameValues(values=values, bound=top, cfg=cfg, clashes=tuple(sorted(clashes)))


def z3_value(name: str, value: int | bool) -> z3.ExprRef:
    """``value`` of field ``name`` as a z3 numeral of the field's sort."""
    return numeral(dict(FRAME_FIELDS)[name], value)


def concrete_state(fv: FrameValues) -> State:
    """A :class:`State` whose fields look the values up (ite chains at non-numeral frames)."""

    def field_of(name: str) -> Field:
        table = {f: z3_value(name, v) for f, v in sorted(fv.values[name].items())}
        default = z3_value(name, DEFAULTS[name])

        def lookup(g: z3.BitVecRef) -> z3.ExprRef:
            if not z3.is_bv_value(g) and not z3.is_const(g):
                g = z3.simplify(g)  # a closed term such as frame(8) ^ frame(1) folds to a numeral
            if z3.is_bv_value(g):
                return table.get(g.as_long(), default)
            result = default
            for f, v in table.items():
                result = z3.If(g == frame(f), v, result)
            return result

        return Field(lookup)

    state = {name: field_of(name) for name, _ in FRAME_FIELDS}
    # the early allocator is not in snapshots: an empty, retired one
    state.update(early_lo=frame(0), early_end=frame(0), early_hi=frame(0), booted=z3.BoolVal(True))
    return State(**state, **derived_ghosts(state["rc"], state["gen"], fv.cfg.ncpus))


class _Template:
    """An invariant grounded over frames ``0 .. bound-1`` of symbolic (uninterpreted-function) states."""

    def __init__(self, inv: Invariant, cfg: ModelConfig, bound: int, actor: int = ACTOR_ANY) -> None:
        """Apply the body at every frame and simplify (``actor``: who took the step, when known)."""
        prefixes = ["pre", "post"] if inv in STEP_INVARIANTS else ["pre"]
        # snapshots do not show the early allocator: ground it as empty and retired; ghost fields are derived
        self.states = [with_derived_ghosts(update(symbolic_state(p), early_lo=frame(0), early_end=frame(0),
                                                  early_hi=frame(0), booted=z3.BoolVal(True)), cfg.ncpus,
                                           actor if p == "post" else ACTOR_ANY)
                       for p in prefixes]
        self.per_frame = [z3.simplify(g) for g in grounded(lambda f: inv.body(cfg, *self.states, f),
                                                             (frame(i) for i in range(bound)))]
        self.whole = z3.simplify(z3.And(self.per_frame))


#: the z3 sort of each per-frame field
_FIELD_SORTS = dict(FRAME_FIELDS)


@lru_cache(maxsize=256)
def _template(name: str, cfg: ModelConfig, bound: int, actor: int = ACTOR_ANY) -> _Template:
    """The cached template of invariant ``name`` for these bounds (and this step author)."""
    inv = next(i for i in INVARIANTS if i.name == name)
    return _Template(inv, cfg, bound, actor)


def _definitions(prefix: str, fv: FrameValues) -> list[tuple[z3.FuncDeclRef, z3.ExprRef]]:
    """Each uninterpreted field function ``prefix.field`` defined as a lookup table over ``Var(0)``."""
    return [_field_definition(prefix, name, tuple(sorted(fv.values[name].items()))) for name, _ in FRAME_FIELDS]


def definitions(prefix: str, fv: FrameValues) -> list[tuple[z3.FuncDeclRef, z3.ExprRef]]:
    """Every per-frame field function ``prefix.field`` of a symbolic state, visible and ghost, defined by
    ``fv`` (ghost fields by the refinement mapping of :func:`~framemc.model.state.with_derived_ghosts`):
    for :func:`z3.substitute_funs`."""
    defs = _definitions(prefix, fv)
    bodies = {decl.name().split(".", 1)[1]: body for decl, body in defs}
    x = z3.Var(0, FrameSort)
    ghosts = derived_ghosts(Field(lambda g: bodies["rc"]), Field(lambda g: bodies["gen"]), fv.cfg.ncpus)
    defs += [(z3.Function(f"{prefix}.{name}", FrameSort, sort), ghosts[name][x])
             for name, sort in GHOST_FIELDS]
    return defs


@lru_cache(maxsize=4096)
def _field_definition(prefix: str, name: str, items: tuple[tuple[int, int | bool], ...]
                      ) -> tuple[z3.FuncDeclRef, z3.ExprRef]:
    """One field's lookup table; cached, because consecutive snapshots share most field values."""
    x = z3.Var(0, FrameSort)
    body = z3_value(name, DEFAULTS[name])
    for f, v in reversed(items):
        body = z3.If(x == frame(f), z3_value(name, v), body)
    return z3.Function(f"{prefix}.{name}", FrameSort, _FIELD_SORTS[name]), body


def _decide(formula: z3.ExprRef) -> CheckVerdict:
    """PASS / VIOLATION for a closed formula; a solver decides what simplification leaves open."""
    formula = z3.simplify(formula)
    if z3.is_true(formula):
        return CheckVerdict.PASS
    if z3.is_false(formula):
        return CheckVerdict.VIOLATION
    solver = z3.Solver()
    solver.set("rlimit", CHECK_RLIMIT)
    solver.set("timeout", CHECK_TIMEOUT_MS)
    solver.add(z3.Not(formula))
    answer = solver.check()
    if answer == z3.unsat:
        return CheckVerdict.PASS
    return CheckVerdict.VIOLATION if answer == z3.sat else CheckVerdict.INCONCLUSIVE


def _witness(inv: Invariant, f: int, states: list[FrameValues]) -> dict:
    """Plain values of frame ``f`` in each state: the evidence for a violation."""
    labels = ["pre", "post"] if len(states) == 2 else [""]
    witness: dict = {"invariant": inv.name, "frame": f}
    for label, fv in zip(labels, states):
        fields = {name: render_value(name, fv.get(name, f)) for name, _ in FRAME_FIELDS}
        witness.update({f"{label}.{k}" if label else k: v for k, v in fields.items()})
    return witness


def _check(inv: Invariant, states: list[FrameValues], defs: list, actor: int = ACTOR_ANY) -> InvariantResult:
    """Evaluate one invariant's grounded template on concrete per-frame values."""
    cfg = states[0].cfg
    bound = max(fv.bound for fv in states)
    template = _template(inv.name, cfg, bound, actor)
    verdict = _decide(z3.substitute_funs(template.whole, *defs))
    if verdict is not CheckVerdict.VIOLATION:
        detail = (f"z3 could not decide the grounded invariant within its resource limit ({CHECK_RLIMIT} units) "
                  f"or the {CHECK_TIMEOUT_MS} ms safety net" if verdict is CheckVerdict.INCONCLUSIVE else "")
        return InvariantResult(inv.name, verdict, detail=detail)
    for f, body in enumerate(template.per_frame):
        if _decide(z3.substitute_funs(body, *defs)) is CheckVerdict.VIOLATION:
            return InvariantResult(inv.name, verdict, witness=_witness(inv, f, states))
    raise AssertionError("[framemc internal bug] a violated conjunction has no violated frame")


def _clash_result(fv: FrameValues) -> InvariantResult:
    """The I2 violation for a snapshot whose ranges clash in a way the encoding cannot hold."""
    f, reason = fv.clashes[0]
    return InvariantResult("I2-non-overlapping-ranges", CheckVerdict.VIOLATION,
                           witness={"invariant": "I2-non-overlapping-ranges", "frame": f, "reason": reason})


def check_snapshot(snap: AllocatorSnapshot) -> tuple[InvariantResult, ...]:
    """Every state invariant evaluated on ``snap``: one result each, in registry order."""
    fv = snapshot_values(snap)
    defs = _definitions("pre", fv)
    return tuple(
        _clash_result(fv) if fv.clashes and inv.name == "I2-non-overlapping-ranges" else _check(inv, [fv], defs)
        for inv in STATE_INVARIANTS
    )


@dataclass(frozen=True)
class _ModelTemplate:
    """An invariant grounded over frames ``0 .. bound-1`` of a fully symbolic model state: every field, ghosts
    included, a function ``m.field``; every scalar a constant ``m.name``."""

    #: the invariant at each frame, and all of them
    per_frame: list[z3.ExprRef]
    whole: z3.ExprRef
    #: the lookups in ``whole`` at numeral frames, as ``(application, field, frame)``
    lookups: tuple[tuple[z3.ExprRef, str, int], ...]
    #: ``whole`` also looks fields up at frames that are not numerals (``pool(pool(1))``, ``hord(pending)``)
    nested: bool


@lru_cache(maxsize=256)
def _model_template(name: str, cfg: ModelConfig, bound: int) -> _ModelTemplate:
    """The cached grounded template of invariant ``name`` for these bounds."""
    inv = next(i for i in INVARIANTS if i.name == name)
    state = symbolic_state("m")
    per_frame = [z3.simplify(g) for g in grounded(lambda f: inv.body(cfg, state, f), (frame(i) for i in range(bound)))]
    whole = z3.simplify(z3.And(per_frame))
    apps = _lookups(whole)
    at_numerals = tuple((app, app.decl().name()[2:], app.arg(0).as_long()) for app in apps
                        if z3.is_bv_value(app.arg(0)))
    return _ModelTemplate(per_frame, whole, at_numerals, len(at_numerals) != len(apps))


def check_model_state(cells: dict[str, dict[int, int | bool]], defaults: dict[str, int | bool],
                      scalars: dict[str, int | bool], cfg: ModelConfig, bound: int) -> tuple[InvariantResult, ...]:
    """Every state invariant evaluated on a model state given in full (a replayed log's: ghost fields and the
    pool's pending block included), over frames ``0 .. bound-1``; frames absent from ``cells`` take
    ``defaults``.  Each field lookup at a frame is replaced by its value (linear in the grounded invariant,
    however many frames there are)."""
    sorts = dict(MODEL_FIELDS)
    scalar_sorts = dict(SCALAR_FIELDS)
    pairs = [(z3.Const(f"m.{name}", scalar_sorts[name]), numeral(scalar_sorts[name], v))
             for name, v in sorted(scalars.items()) if name in scalar_sorts]

    def value(name: str, f: int) -> z3.ExprRef:
        return numeral(sorts[name], cells.get(name, {}).get(f, defaults[name]))

    def closed(term: z3.ExprRef, known: tuple[tuple[z3.ExprRef, str, int], ...] = (), nested: bool = True
               ) -> z3.ExprRef:
        """``term`` with the scalars and every field lookup replaced by their values (``known``: the lookups
        at numeral frames, found once per template; ``nested``: others may remain)."""
        term = z3.simplify(z3.substitute(term, *pairs, *((app, value(name, f)) for app, name, f in known)))
        while nested:
            # a lookup at a frame that is itself a lookup (pool(pool(1))) is resolved from the inside out
            apps = _lookups(term)
            if not apps:
                return term
            lookups = [(app, value(app.decl().name()[2:], app.arg(0).as_long())) for app in apps
                       if z3.is_bv_value(app.arg(0))]
            if not lookups:
                raise AssertionError(f"[framemc internal bug] an invariant reads {apps[0]} at no concrete frame")
            term = z3.simplify(z3.substitute(term, *lookups))
        return term

    out = []
    for inv in STATE_INVARIANTS:
        template = _model_template(inv.name, cfg, bound)
        per_frame = template.per_frame
        verdict = _decide(closed(template.whole, template.lookups, template.nested))
        if verdict is not CheckVerdict.VIOLATION:
            out.append(InvariantResult(inv.name, verdict, detail="" if verdict is CheckVerdict.PASS else
                                       f"z3 could not decide the grounded invariant within {CHECK_RLIMIT} units"))
            continue
        f = next(i for i, body in enumerate(per_frame) if _decide(closed(body)) is CheckVerdict.VIOLATION)
        witness = {"invariant": inv.name, "frame": f}
        witness.update({name: render_value(name, cells.get(name, {}).get(f, defaults[name]))
                        for name in sorts if name in dict(FRAME_FIELDS)})
        out.append(InvariantResult(inv.name, verdict, witness=witness))
    return tuple(out)


def _lookups(term: z3.ExprRef) -> list[z3.ExprRef]:
    """The distinct applications of the field functions ``m.<field>`` in ``term``, innermost first."""
    seen: set[int] = set()
    out: list[z3.ExprRef] = []
    todo = [term]
    while todo:
        t = todo.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_app(t) and t.num_args() == 1 and t.decl().kind() == z3.Z3_OP_UNINTERPRETED \
                and t.decl().name().startswith("m."):
            out.append(t)
        todo.extend(t.children())
    return out


def check_step(pre: AllocatorSnapshot, post: AllocatorSnapshot, *, cpu: int | None = None
               ) -> tuple[InvariantResult, ...]:
    """Every step invariant evaluated between consecutive snapshots ``pre`` and ``post``.

    ``cpu``: the step is an allocator operation run on that CPU (not a
    holder's own access), so it may not write a claimed frame's payload
    other than by zeroing, and may push to and pop from that CPU's cache
    only.  Without it, the step's author is unknown and those conjuncts
    are not checked.
    """
    before, after = snapshot_values(pre), snapshot_values(post)
    if pre.nframes != post.nframes or pre.max_order != post.max_order:
        raise UsageError(f"check_step: snapshots disagree on nframes/max_order "
                         f"({pre.nframes}/{pre.max_order} vs {post.nframes}/{post.max_order})")
    if before.cfg != after.cfg:
        after = FrameValues(after.values, after.bound, before.cfg, after.clashes)
    if cpu is not None and not (isinstance(cpu, int) and not isinstance(cpu, bool) and 0 <= cpu < before.cfg.ncpus):
        raise UsageError(f"check_step: cpu {cpu!r} is not a CPU of the snapshots (0..{before.cfg.ncpus - 1})")
    actor = ACTOR_ANY if cpu is None else cpu
    defs = _definitions("pre", before) + _definitions("post", after)
    return tuple(_check(inv, [before, after], defs, actor) for inv in STEP_INVARIANTS)


__all__ = [
    "CheckVerdict", "InvariantResult", "FrameValues", "snapshot_values", "concrete_state", "check_snapshot",
    "check_step", "DEFAULTS", "z3_value", "definitions",
]
