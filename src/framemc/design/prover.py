"""The generic prover: every (operation, invariant) obligation of a :class:`~framemc.design.frames.FrameModel`.

Design (Hyperkernel style, as :mod:`framemc.proofs.engine` does for the
MetaSlot design): an obligation ``op/inv`` states

    invariants hold at the instantiation points of ``pre`` and ``guard(pre, args)``
    =>  ``inv`` holds of ``op(pre, args)`` at arbitrary frames ``f`` (and ``g``)

for a fully symbolic pre-state, symbolic arguments and arbitrary 64-bit
frames, so an ``unsat`` answer proves the step for every state and every
number of frames.  The universally quantified hypothesis "every state
invariant holds at every frame" is instantiated by hand at a finite set of
points: the goal's frames, the frames the operation names (its seeds) and
the terms the design's ``points`` function derives from the goal's frames (every pair of
points for a two-frame invariant).  Weakening a hypothesis is sound, so a
proof stands; a ``sat`` answer is REFUTED with the fields at the points
before and after, which may be a real bug or a too-weak instantiation.

The queries go to z3 in the integer encoding of :mod:`framemc.design.frame_ints`
(equisatisfiable with the bit-vector formula, and decided as linear
arithmetic instead of bit-blasted comparators); a formula that encoding
cannot express goes to z3 as it is.

Every obligation is also checked for vacuity: if its hypotheses and guard
contradict each other it proves nothing and is VACUOUS, a failure.  A guard
obligation ``guard/op`` looks for a concrete witness state (which the design
lists, and which is first checked against every state invariant at every
frame) that the operation can start from.  Limits are z3 resource units, so
the verdict is the same on a quiet or a loaded machine; UNKNOWN is never a
pass.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence

import z3

from framemc.design.frame_ints import IntEncoding, NotEncodable
from framemc.design.frames import FState, FrameModel, FrameSort, Inv, InvKind, Op, Step
from framemc.errors import UsageError
from framemc.proofs.engine import DEFAULT_TIMEOUT_MS, Piece, PosedQuery, RecordingWork, Work
from framemc.verdicts import GUARD, Obligation, ObligationResult, UnknownCause, Verdict

__all__ = ["obligations", "select", "run", "pose", "Witness", "check_witness", "FrameModelProver"]

#: a concrete state the guard obligations start from: (label, state, frames the state describes)
Witness = tuple[str, FState, int]


def obligations(model: FrameModel, *, variant: str | None = None) -> list[Obligation]:
    """Every obligation of ``model``, in a fixed order: Init, then each operation's guard and invariants."""
    if variant is not None:
        model.operation(next(iter(model.operations)), variant)
    out = [Obligation(f"init/{i.name}", "init", i.name) for i in model.state_invariants]
    for name in model.operations:
        out.append(Obligation(f"guard/{name}", name, GUARD))
        out.extend(Obligation(f"{name}/{i.name}", name, i.name) for i in model.invariants)
    return out


def select(model: FrameModel, selection: Iterable[str] | None, *, variant: str | None = None) -> list[Obligation]:
    """The obligations whose name, operation or invariant is in ``selection`` (all when None)."""
    every = obligations(model, variant=variant)
    if selection is None:
        return every
    wanted = set(selection)
    unknown = sorted(w for w in wanted if not any(w in (o.name, o.op, o.invariant) for o in every))
    if unknown:
        raise UsageError(f"no obligation matches {', '.join(unknown)}")
    return [o for o in every if wanted & {o.name, o.op, o.invariant}]


def _frames(inv: Inv) -> tuple[z3.BitVecRef, ...]:
    return tuple(z3.Const(n, FrameSort) for n in ("f", "g")[:inv.arity])


def _dedupe(terms: Iterable[z3.ExprRef]) -> list[z3.ExprRef]:
    seen: dict[int, z3.ExprRef] = {}
    for t in terms:
        t = z3.simplify(t)
        seen.setdefault(t.get_id(), t)
    return list(seen.values())


def _points(model: FrameModel, pre: FState, frames: Sequence[z3.BitVecRef], step: Step | None) -> list[z3.ExprRef]:
    # the design's points derive from the goal's frames only: the seeds are already the frames the step names,
    # and deriving terms from them too would square the two-frame hypotheses for little gain
    seeds = step.seeds if step is not None else ()
    return _dedupe(tuple(frames) + seeds + tuple(model.points(pre, tuple(frames))))


def _hypotheses(model: FrameModel, s: FState, points: Sequence[z3.ExprRef]) -> list[z3.BoolRef]:
    """Every state invariant at every point (every ordered pair of points for a two-frame one)."""
    out: list[z3.BoolRef] = []
    for i in model.state_invariants:
        if i.arity == 1:
            out += [i.body(s, p) for p in points]
        else:
            out += [i.body(s, p, q) for p in points for q in points]
    return out


def _goal(i: Inv, pre: FState, post: FState, frames: Sequence[z3.BitVecRef]) -> z3.BoolRef:
    return i.body(post, *frames) if i.kind is InvKind.STATE else i.body(pre, post, *frames)


def _render(model: FrameModel, ev: Callable[[z3.ExprRef], str], states: Sequence[tuple[str, FState]],
            points: Sequence[z3.ExprRef], args: Sequence[tuple[str, z3.ExprRef]]) -> str:
    """The counterexample (``ev`` shows a term's value in it): arguments, then each point's fields in each
    state, then the scalars."""
    lines = []
    if args:
        lines.append("  arguments: " + ", ".join(f"{n}={ev(a)}" for n, a in args))
    shown: set[str] = set()
    for p in points:
        value = ev(p)
        if value in shown:
            continue
        shown.add(value)
        cells = []
        for name in model.shape.frame_names:
            vals = [ev(getattr(s, name)[p]) for _, s in states]
            cells.append(f"{name}={vals[0]}" if len(set(vals)) == 1 else f"{name}={' -> '.join(vals)}")
        lines.append(f"  frame {value}: " + ", ".join(cells))
    cells = []
    for name in model.shape.scalar_names:
        vals = [ev(getattr(s, name)) for _, s in states]
        cells.append(f"{name}={vals[0]}" if len(set(vals)) == 1 else f"{name}={' -> '.join(vals)}")
    if cells:
        lines.append("  scalars: " + ", ".join(cells))
    return "\n".join(lines)


def _unknown(work: Work) -> tuple[Verdict, str, str]:
    return Verdict.UNKNOWN, "", work.explain()


def _encode(hyps: list[z3.BoolRef], guard: z3.BoolRef, goal: z3.BoolRef
            ) -> tuple[list[z3.BoolRef], list[z3.BoolRef], Callable[[z3.ModelRef, z3.ExprRef], str]]:
    """The vacuity query and the proof query, in the integer encoding when it can express them, and how to show a
    term's value in a model of the proof query."""
    enc = IntEncoding()
    try:
        premises = [enc(h) for h in hyps] + [enc(guard)]
        negated = enc(z3.Not(goal))
    except NotEncodable:
        return hyps + [guard], hyps + [guard, z3.Not(goal)], lambda m, t: str(m.eval(t, model_completion=True))
    return premises + enc.ranges, premises + [negated] + enc.ranges, enc.value


#: the two queries of an obligation: vacuity (hypotheses and guard are satisfiable together), then the claim
_SATISFIABLE = Piece("the invariants at the instantiation points and the guard are satisfiable together",
                     "vacuity", "sat", Verdict.VACUOUS)
_CLAIM = Piece("the invariants at the instantiation points and the guard imply the goal", "proof", "unsat",
               Verdict.REFUTED)


def _prove(model: FrameModel, hyps: list[z3.BoolRef], guard: z3.BoolRef, goal: z3.BoolRef, work: Work,
           render: Callable[[Callable[[z3.ExprRef], str]], str]) -> tuple[Verdict, str, str]:
    """Vacuity first (hypotheses and guard must be satisfiable), then ``hyps and guard => goal``."""
    premises, claim, value = _encode(hyps, guard, goal)
    result, _ = work.solve(premises, piece=_SATISFIABLE)
    if result == z3.unsat:
        return Verdict.VACUOUS, "", "the invariants at the instantiation points contradict the guard"
    if result == z3.unknown:
        return _unknown(work)
    result, m = work.solve(claim, piece=_CLAIM)
    if result == z3.unsat:
        return Verdict.PROVED, "", ""
    if result == z3.sat:
        return Verdict.REFUTED, render(lambda t: value(m, t)), ""
    return _unknown(work)


def _prove_step(model: FrameModel, o: Op, i: Inv, work: Work) -> tuple[Verdict, str, str]:
    pre = model.shape.symbolic("pre")
    args = o.symbolic_args("arg")
    step = o(pre, *args)
    frames = _frames(i)
    points = _points(model, pre, frames, step)
    hyps = _hypotheses(model, pre, points)
    render = lambda ev: _render(model, ev, (("pre", pre), ("post", step.post)), points,  # noqa: E731
                               [(n, a) for (n, _), a in zip(o.params, args)])
    return _prove(model, hyps, step.full_guard(points), _goal(i, pre, step.post, frames), work, render)


def _prove_init(model: FrameModel, i: Inv, work: Work) -> tuple[Verdict, str, str]:
    s = model.shape.symbolic("init")
    frames = _frames(i)
    points = _points(model, s, frames, None)
    return _prove(model, [], model.initial(s), i.body(s, *frames), work,
                  lambda ev: _render(model, ev, (("init", s),), points, ()))


def check_witness(model: FrameModel, witness: Witness, work: Work | None = None) -> str | None:
    """None when every state invariant holds at every frame of the witness state, else why not."""
    label, s, _ = witness
    work = work or Work(model.rlimit, DEFAULT_TIMEOUT_MS, None)
    for i in model.state_invariants:
        frames = _frames(i)
        piece = Piece(f"the {label} witness state satisfies {i.name} at every frame", "witness-check", "unsat",
                      Verdict.UNKNOWN)
        result, m = work.solve([z3.Not(i.body(s, *frames))], piece=piece)
        if result == z3.sat:
            at = ", ".join(str(m.eval(f, model_completion=True)) for f in frames)
            return f"witness state {label!r} breaks {i.name} at frame {at}"
        if result == z3.unknown:
            return f"witness state {label!r}: z3 could not decide {i.name} ({work.explain()})"
    return None


def _guard(model: FrameModel, o: Op, witnesses: Sequence[Witness], work: Work,
           checked: dict[str, str | None]) -> tuple[Verdict, str, str]:
    """Some witness state (that satisfies every state invariant everywhere) enables the operation.

    ``checked`` holds each witness's :func:`check_witness` answer, found once per run (by the first guard
    obligation that needs it) and shared by the others.
    """
    if not witnesses:
        return Verdict.UNKNOWN, "", "the design lists no witness states, so no state is known to enable the operation"
    for w in witnesses:
        if w[0] not in checked:
            checked[w[0]] = check_witness(model, w, work)
        why = checked[w[0]]
        if why is not None:
            return Verdict.UNKNOWN, "", why
        label, s, nframes = w
        args = o.symbolic_args("arg")
        step = o(s, *args)
        points = [z3.BitVecVal(k, 64) for k in range(nframes + 1)] + [r.first for r in step.ranged]
        piece = Piece(f"witness {label}", "witness", "sat", Verdict.VACUOUS)
        result, m = work.solve([step.full_guard(points)], piece=piece)
        if result == z3.sat:
            shown = ", ".join(f"{n}={m.eval(a, model_completion=True)}" for (n, _), a in zip(o.params, args))
            return Verdict.PROVED, f"  witness: the {label} state with {shown or 'no arguments'}", ""
        if result == z3.unknown:
            return _unknown(work)
    return Verdict.VACUOUS, "", "no witness state enables the operation: its guard may never hold"


def run(model: FrameModel, selection: Iterable[str] | None = None, *, variant: str | None = None,
        witnesses: Sequence[Witness] = (), timeout_ms: int | None = None, rlimit_scale: float = 1.0,
        deadline: float | None = None, on_result: Callable[[ObligationResult], None] | None = None
        ) -> list[ObligationResult]:
    """Discharge the selected obligations one by one (each under ``model.rlimit * rlimit_scale`` z3 units)."""
    if rlimit_scale <= 0:
        raise UsageError(f"the rlimit scale must be positive, got {rlimit_scale}")
    checked: dict[str, str | None] = {}
    results = []
    for ob in select(model, selection, variant=variant):
        started = time.monotonic()
        work = Work(int(model.rlimit * rlimit_scale), timeout_ms or DEFAULT_TIMEOUT_MS, deadline)
        verdict, text, reason = _discharge(model, ob, variant, witnesses, work, checked)
        cause = (work.cause or UnknownCause.SOLVER) if verdict is Verdict.UNKNOWN else None
        result = ObligationResult(ob.name, verdict, time.monotonic() - started, text, reason, cause, work.used,
                                  work.rlimit)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _discharge(model: FrameModel, ob: Obligation, variant: str | None, witnesses: Sequence[Witness], work: Work,
               checked: dict[str, str | None]) -> tuple[Verdict, str, str]:
    """One obligation: verdict, counterexample or witness text, unknown reason."""
    by_name = {i.name: i for i in model.invariants}
    if ob.op == "init":
        return _prove_init(model, by_name[ob.invariant], work)
    if ob.invariant == GUARD:
        return _guard(model, model.operation(ob.op, variant), witnesses, work, checked)
    return _prove_step(model, model.operation(ob.op, variant), by_name[ob.invariant], work)


def pose(model: FrameModel, selection: Iterable[str] | None = None, *, variant: str | None = None,
         witnesses: Sequence[Witness] = (), timeout_ms: int | None = None, rlimit_scale: float = 1.0
         ) -> list[tuple[str, list[PosedQuery]]]:
    """Every query the selected obligations pose, with z3's answer: what ``prove --emit-smt2`` writes.

    Each obligation is discharged as :func:`run` does, recording its
    queries: the vacuity query and the claim of ``init/INV`` and ``op/INV``;
    the witness checks and witness queries of ``guard/OP``, which a guard
    obligation poses itself here (:func:`run` checks each witness once per
    run), so that every obligation's export stands alone.
    """
    if rlimit_scale <= 0:
        raise UsageError(f"the rlimit scale must be positive, got {rlimit_scale}")
    out = []
    for ob in select(model, selection, variant=variant):
        work = RecordingWork(int(model.rlimit * rlimit_scale), timeout_ms or DEFAULT_TIMEOUT_MS)
        _discharge(model, ob, variant, witnesses, work, {})
        out.append((ob.name, work.pieces()))
    return out


class FrameModelProver:
    """A design's ``Prover`` for a :class:`FrameModel`: its obligations, discharged by this module.

    ``max_order`` is ignored: a frame model has no buddy orders, and its
    proofs hold for every frame count.
    """

    def __init__(self, model: FrameModel) -> None:
        """The prover of ``model`` (its witness states are taken from the model)."""
        #: the model whose obligations this proves
        self.model = model

    @property
    def variants(self) -> tuple[str, ...]:
        """The broken operations ``--variant`` (or ``--bug``) can put in place."""
        return tuple(sorted(self.model.variants))

    def obligations(self, variant: str | None = None) -> list[Obligation]:
        """Every obligation, in suite order."""
        return obligations(self.model, variant=variant)

    def run(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
            rlimit_scale: float = 1.0, deadline: float | None = None, max_order: int | None = None,
            on_result: Callable[[ObligationResult], None] | None = None) -> list[ObligationResult]:
        """Discharge the named obligations (all when None)."""
        return run(self.model, names, variant=variant, witnesses=self.model.witnesses(), timeout_ms=timeout_ms,
                   rlimit_scale=rlimit_scale, deadline=deadline, on_result=on_result)

    def pose(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
             rlimit_scale: float = 1.0, max_order: int | None = None) -> list[tuple[str, list[PosedQuery]]]:
        """The queries that decide the named obligations (all when None), with z3's answers (:func:`pose`)."""
        return pose(self.model, names, variant=variant, witnesses=self.model.witnesses(), timeout_ms=timeout_ms,
                    rlimit_scale=rlimit_scale)

    def definition(self, name: str) -> Callable[..., object] | None:
        """The function defining invariant or operation ``name`` (or the ``relates:OP`` macro), or None."""
        by_name = {i.name: i.body for i in self.model.invariants}
        op = name.removeprefix("relates:").removesuffix("-refused").split("+")[0]
        if name in by_name:
            return by_name[name]
        if op in self.model.macros:
            return self.model.macros[op].fn
        if op in self.model.operations:
            return self.model.operations[op].fn
        return None
