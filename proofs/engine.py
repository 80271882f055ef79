"""Proof obligations for the allocator model, discharged one by one with z3.

Design: one obligation per (operation, invariant) pair, plus ``Init => Inv``
per state invariant and one guard-satisfiability check per operation.  An
obligation ``Inv(s) and guard(s) => body(op(s), f)`` is proved for an
*arbitrary* 64-bit frame number ``f``, so it holds for any number of frames.
The universally quantified hypothesis ``Inv(s)`` is instantiated by hand at
the frames the argument needs: ``f``, the operation's frames, and their
aligned block starts and buddies at every order (a finite set, because
``max_order`` is a fixed bound).  Weakening a hypothesis is sound, so an
``unsat`` answer is a proof for every state; a ``sat`` answer is reported as
REFUTED with a before/after diff of the frames involved.  Any ``unknown``
(including a hit limit) is UNKNOWN, never PROVED.

Limits are deterministic: each obligation may spend a z3 *resource* budget
(``rlimit``, counted in z3's own units of work, not seconds) calibrated per
obligation with a margin (:mod:`framemc.proofs.rlimits`), so the same input
gives the same verdict on a quiet or a loaded machine.  A wall-clock limit
remains only as a large safety net (and as the caller's deadline); hitting
it is UNKNOWN with a hint, never a pass.

Guard satisfiability is shown on concrete witness states that the concrete
checker confirms satisfy every state invariant, so a witness is real, not an
artefact of the instantiation.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import z3

from framemc.errors import CheckerBug, UsageError
from framemc.verdicts import GUARD, Obligation, ObligationResult, UnknownCause, Verdict
from framemc.model.invariants import INVARIANTS, POINT, STATE_INVARIANTS, Invariant, InvariantKind, grounded
from framemc.model.ops import OPERATIONS, VARIANTS, OpSpec, Step, initial_state, resolve
from framemc.model.state import (MODEL_FIELDS, SCALAR_FIELDS, FrameSort, ModelConfig, State, align, buddy, frame, small,
                                  symbolic_state, update)
from framemc.model.concrete import (
    CheckVerdict,
    FrameValues,
    check_snapshot,
    concrete_state,
    definitions,
    snapshot_values,
)
from framemc.model.examples import empty_snapshot, rich_snapshot
from framemc.model.render import field_label, render_value
from framemc.proofs.rlimits import MEASURED, RLIMIT_FLOOR, RLIMIT_MARGIN

#: default wall-clock safety net per z3 query (the resource limit, not this, bounds the work)
DEFAULT_TIMEOUT_MS = 300_000




def obligations(*, variant: str | None = None) -> list[Obligation]:
    """Every obligation, in a fixed order: Init, then each operation's guard and invariants."""
    if variant is not None:
        resolve(next(iter(OPERATIONS)), variant)
    result = [Obligation(f"init/{inv.name}", "init", inv.name) for inv in STATE_INVARIANTS]
    for op in OPERATIONS:
        result.append(Obligation(f"guard/{op}", op, GUARD))
        result.extend(Obligation(f"{op}/{inv.name}", op, inv.name) for inv in INVARIANTS)
    return result


def select(selection: Iterable[str] | None, *, variant: str | None = None) -> list[Obligation]:
    """The obligations whose name, operation or invariant is in ``selection`` (all when None)."""
    every = obligations(variant=variant)
    if selection is None:
        return every
    wanted = set(selection)
    chosen = [ob for ob in every if wanted & {ob.name, ob.op, ob.invariant}]
    unknown = sorted(w for w in wanted if not any(w in (ob.name, ob.op, ob.invariant) for ob in every))
    if unknown:
        raise UsageError(f"no obligation matches {', '.join(unknown)}")
    return chosen


class _OpContext:
    """The symbolic pre-state, arguments and step of one operation, with its instantiation levels."""

    def __init__(self, cfg: ModelConfig, spec: OpSpec) -> None:
        """Build everything the operation's obligations share, once."""
        self.cfg = cfg
        self.spec = spec
        self.pre = symbolic_state("pre")
        self.args = spec.symbolic_args("arg")
        self.step: Step = spec.fn(cfg, self.pre, *self.args)
        self.f = z3.Const("f", FrameSort)
        _check_lemmas(cfg, self.step, spec.fn.__name__)
        self.seeds = (self.f,) + self.step.seeds
        # pool ids name frames too: the pool-id invariant is needed where they point
        # the buddy invariants read f ^ 2**k itself: giving z3 that very term saves it from
        # discovering that differently written frame numbers are equal
        own_buddies = tuple(buddy(self.f, k) for k in range(cfg.max_order))
        #: the frames the operation names, and the first frame of the arbitrary frame's pool
        self.named = self.seeds + (self.pre.pool[self.f],)
        self.closure = _instantiation_points(
            cfg, self.seeds + tuple(self.pre.pool[t] for t in self.seeds)) + list(own_buddies)
        #: each invariant's body (and each ranged guard) at :data:`POINT`, substituted at every
        #: instantiation point (as :func:`grounded` does, one point at a time)
        self._templates: dict[str, z3.BoolRef] = {}
        self._instances: dict[tuple[str, int], z3.BoolRef] = {}
        self._hypotheses: dict[tuple[int, str], list[z3.BoolRef]] = {}
        self._cased: dict[tuple[tuple[int, str], int], list[z3.BoolRef]] = {}
        #: the answers of the vacuity checks (:func:`_vacuity`) by hypothesis key, once asked
        self.satisfiable: dict[tuple[int, str], tuple[z3.CheckSatResult, str, UnknownCause | None]] = {}
        #: the guard witness (:func:`_guard_witness`), once found; ``()`` when there is none
        self.witness: tuple | None = None

    def cases(self) -> tuple[int | None, ...]:
        """The order cases of the step's proofs (see :attr:`Step.order`): each order 0..MAX_ORDER, then
        :data:`OTHER_ORDERS` for every other value; just ``None`` (no case split) without an order hint."""
        if self.step.order is None:
            return (None,)
        return tuple(range(self.cfg.max_order + 1)) + (OTHER_ORDERS,)

    def in_case(self, formulas: list[z3.BoolRef], case: int | None) -> list[z3.BoolRef]:
        """``formulas`` in the order case ``case``: the order term replaced by the value, and the case's literal
        added (so the substituted formulas stay tied to the term wherever else it appears)."""
        if case is None:
            return formulas
        order = self.step.order
        if case == OTHER_ORDERS:
            return formulas + [z3.And([order != small(m) for m in range(self.cfg.max_order + 1)])]
        value = small(case)
        return [z3.substitute(f, (order, value)) for f in formulas] + [order == value]

    def hypotheses(self, level: int, goal: Invariant, case: int | None = None) -> list[z3.BoolRef]:
        """The guard and the invariants instantiated at the points of ``level`` (0 weakest), in order case
        ``case`` (see :meth:`cases`).

        Levels 0 to 2 are focused on the arbitrary frame: level 0 assumes the
        goal's own invariant and the core structural ones at the arbitrary
        frame and the core ones alone at the frames the step names; level 1
        the goal's and the core ones at both; level 2 every state invariant
        at the arbitrary frame and the goal's and the core ones at the
        step's frames.  Level 3 assumes the goal's and the core invariants at
        all those frames and at the first frame of the arbitrary frame's
        pool; level 4 the same plus the pool-id invariant at the closure
        (aligned starts and buddies of those frames and of their pools'
        first frames, at every order); level 5 every state invariant at the
        operation's frames; level 6 every state invariant at the closure.
        Below them, level :data:`FOCUSED` (-1) assumes the goal's own
        invariant and S-buddy-aligned alone at the frames the step names and
        at the first frame of the arbitrary frame's pool: the level of the
        whole-goal attempt (:func:`_decide`).  Every level also assumes the
        step's lemmas (:attr:`Step.lemmas`, valid facts) at the arbitrary
        frame.  Fewer hypotheses make z3
        much faster (at a high MAX_ORDER every frame brings a lookup per
        order, and the focused levels keep z3 off those a proof does not
        need), and a proof from weaker hypotheses is still a proof.
        """
        key = self.key(level, goal)
        if key not in self._hypotheses:
            self._hypotheses[key] = self._build_hypotheses(level, goal)
        if case is None:
            return self._hypotheses[key]
        if (key, case) not in self._cased:
            self._cased[(key, case)] = self.in_case(self._hypotheses[key], case)
        return self._cased[(key, case)]

    @staticmethod
    def key(level: int, goal: Invariant) -> tuple[int, str]:
        """What the hypotheses of ``level`` for ``goal`` depend on: the goal only at the goal-specific levels."""
        return level, goal.name if level < 5 else ""

    def _build_hypotheses(self, level: int, goal: Invariant) -> list[z3.BoolRef]:
        """Build the hypotheses of :meth:`hypotheses` (cached there): each point with its invariants."""
        def chosen(names: frozenset[str] | None) -> list[Invariant]:
            return [inv for inv in STATE_INVARIANTS if names is None or inv.name in names]

        goal_and_core = _CORE | {goal.name}
        if level == FOCUSED:
            placed = [(t, chosen(_FOCUS | {goal.name})) for t in self.named]
        elif level < 3:
            at_f, at_seeds = ((goal_and_core, _CORE), (goal_and_core, goal_and_core), (None, goal_and_core))[level]
            placed = [(self.f, chosen(at_f))] + [(t, chosen(at_seeds)) for t in self.step.seeds]
        else:
            names = None if level >= 5 else goal_and_core | ({"S-pool-ids"} if level == 4 else set())
            placed = [(t, chosen(names)) for t in (self.closure if level in (4, 6) else self.named)]
        result = [self.step.guard]
        result.extend(self._at(f"lemma {i}", lemma, self.f) for i, lemma in enumerate(self.step.lemmas))
        for t, invariants in placed:
            result.extend(self._at(inv.name, lambda p, inv=inv: inv.body(self.cfg, self.pre, p), t)
                          for inv in invariants)
            result.extend(self._at(f"ranged {i}", g.at, t) for i, g in enumerate(self.step.ranged))
        return result

    def _at(self, key: str, body: Callable[[z3.BitVecRef], z3.BoolRef], t: z3.BitVecRef) -> z3.BoolRef:
        """``body(t)``, built once per operation at the point variable and substituted (cached per point)."""
        hit = self._instances.get((key, t.get_id()))
        if hit is None:
            if key not in self._templates:
                self._templates[key] = body(POINT)
            hit = self._instances[(key, t.get_id())] = z3.substitute(self._templates[key], (POINT, t))
        return hit


#: z3 units a lemma's validity check may take (the split lemma takes about 20,000 at MAX_ORDER 11)
LEMMA_RLIMIT = 5_000_000


def _check_lemmas(cfg: ModelConfig, step: Step, op: str) -> None:
    """Prove each of the step's lemmas valid at this MAX_ORDER before any proof assumes it.

    tests/model/test_ops_lemmas.py proves them at a few MAX_ORDERs; ``--max-order`` takes any, and a hint
    that did not hold there would make every proof that assumes it worthless.  A lemma that is not proved
    (z3 finds a counterexample, or gives up) is framemc's bug: CheckerBug, never a proof.
    """
    t = z3.Const("lemma_frame", FrameSort)
    for index, lemma in enumerate(step.lemmas):
        solver = z3.Solver()
        solver.set("rlimit", LEMMA_RLIMIT)
        solver.add(z3.Not(lemma(t)))
        result = solver.check()
        if result != z3.unsat:
            raise CheckerBug(f"{op}: proof hint (lemma {index}) is not proved valid at MAX_ORDER {cfg.max_order} "
                             f"(z3: {result}); no proof may assume it")


#: the order case "any value other than 0..MAX_ORDER" (see :meth:`_OpContext.cases`)
OTHER_ORDERS = -1
#: invariants every level assumes: the shape of the free lists
_CORE = frozenset({"I2-non-overlapping-ranges", "S-buddy-aligned", "S-pending-block"})
#: invariants the focused level assumes besides the goal's: where free blocks may start (cheap, and the
#: buddy steps' block arithmetic needs it)
_FOCUS = frozenset({"S-buddy-aligned"})
#: number of hypothesis levels; only the last may refute
LEVELS = 7
#: the level below level 0, of the whole-goal attempt: the goal's own invariant and :data:`_FOCUS` alone, at
#: the named frames
FOCUSED = -1


def _instantiation_points(cfg: ModelConfig, seeds: tuple[z3.BitVecRef, ...]) -> list[z3.BitVecRef]:
    """The seeds, their aligned block starts and those blocks' buddies at every order, deduplicated."""
    points: dict[int, z3.BitVecRef] = {}
    for seed in seeds:
        for k in range(cfg.max_order + 1):
            start = align(seed, k)
            terms = (start, buddy(start, k)) if k < cfg.max_order else (start,)
            for t in terms:
                t = z3.simplify(t)
                points.setdefault(t.get_id(), t)
    return list(points.values())


def _rlimit_count(solver: z3.Solver) -> int:
    """The context's cumulative ``rlimit count`` as the solver's statistics report it."""
    stats = solver.statistics()
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0


class Work:
    """The z3 work one obligation may do: a resource budget shared by its queries, and wall-clock limits.

    Every query runs in a fresh z3 context, its formulas translated there:
    what z3 does (and so the resource units it counts) then depends on the
    query alone, not on what this process built or solved before, so the
    same obligation costs the same in one process or in any worker.
    """

    def __init__(self, rlimit: int, timeout_ms: int, deadline: float | None) -> None:
        """A budget of ``rlimit`` units (0: unlimited), ``timeout_ms`` per query, and an optional deadline."""
        #: resource units the obligation may spend (0: unlimited)
        self.rlimit = rlimit
        #: resource units spent so far
        self.used = 0
        #: z3 queries posed so far in contexts of their own (not those of an incremental session)
        self.queries = 0
        #: wall-clock safety net per query, in milliseconds
        self.timeout_ms = timeout_ms
        #: monotonic time after which no query may run, or None
        self.deadline = deadline
        #: why the last query answered unknown (None after a sat/unsat answer, or a weak level's slice)
        self.cause: UnknownCause | None = None
        #: z3's reason for the last unknown answer
        self.z3_reason = ""
        #: the hypothesis levels at which pieces were proved (what a vacuity check must cover)
        self.levels: set[int] = set()
        #: the level that proved the last piece (tried first on the next one), or None
        self.proved_at: int | None = None
        #: the incremental session of :meth:`solve_under`: its hypotheses, solver and units counted so far
        self._session: tuple[list[z3.BoolRef], z3.Solver, int] | None = None

    def left(self) -> int | None:
        """Resource units left, or None when unlimited."""
        return None if not self.rlimit else self.rlimit - self.used

    def solve(self, assertions: list[z3.BoolRef], cap: int | None = None, *, piece: Piece | None = None
              ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        """Check ``assertions`` within the budget (and within ``cap`` units if given): the answer and, on
        sat, the model (in the main context).

        An answer cut short by ``cap`` alone (a weak hypothesis level's slice)
        is unknown with no cause: the caller moves on to the next level.
        ``piece`` says what the query decides; a :class:`RecordingWork` keeps
        it with the query, this class ignores it.
        """
        return self._check(None, assertions, cap)

    def solve_under(self, hypotheses: list[z3.BoolRef], negated: list[z3.BoolRef], cap: int | None = None
                    ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        """:meth:`solve` for ``hypotheses + negated``, in an incremental z3 session kept for ``hypotheses``.

        The hypotheses are asserted once per session, and each goal is
        checked in a scope of its own: z3 preprocesses and bit-blasts the
        hypotheses once for all the goals posed under them, instead of once
        per query.  A new list of hypotheses starts a new session, in a fresh
        context, so the units counted depend on the obligation's own queries
        alone.
        """
        return self._check(hypotheses, negated, cap)

    def _check(self, hypotheses: list[z3.BoolRef] | None, assertions: list[z3.BoolRef], cap: int | None
               ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        """:meth:`solve` (``hypotheses`` None) or :meth:`solve_under`."""
        left = self.left()
        if left is not None and left <= 0:
            return self._unknown(UnknownCause.RLIMIT, "resource limit reached")
        wall = self.timeout_ms
        if self.deadline is not None:
            remaining = int((self.deadline - time.monotonic()) * 1000)
            if remaining <= 0:
                return self._unknown(UnknownCause.DEADLINE, "deadline passed")
            wall = min(wall, remaining)
        limits = [x for x in (left, cap) if x is not None]
        grant = min(limits) if limits else 0
        if hypotheses is None:
            self.queries += 1
            solver, counted = z3.Solver(ctx=z3.Context()), 0
        else:
            if self._session is None or self._session[0] is not hypotheses:
                solver = z3.Solver(ctx=z3.Context())
                solver.add(*[a.translate(solver.ctx) for a in hypotheses])
                self._session = (hypotheses, solver, 0)
            _, solver, counted = self._session
            solver.push()
        # the rlimit is counted from what the solver's context counted so far
        solver.set("rlimit", grant)
        solver.set("timeout", wall)
        solver.add(*[a.translate(solver.ctx) for a in assertions])
        started = time.monotonic()
        result = solver.check()
        elapsed_ms = (time.monotonic() - started) * 1000
        spent = max(_rlimit_count(solver) - counted, 0)
        self.used += spent
        self.cause, self.z3_reason = None, ""
        model = solver.model().translate(z3.main_ctx()) if result == z3.sat else None
        if result == z3.unknown:
            # z3 says "canceled" for a hit resource limit as well as for a timeout: tell them apart by counts
            self.z3_reason = solver.reason_unknown()
            if grant and spent >= grant:
                capped = cap is not None and (left is None or cap < left)
                self.cause = None if capped else UnknownCause.RLIMIT
            elif elapsed_ms >= wall * 0.9 or self.z3_reason in ("timeout", "canceled"):
                self.cause = UnknownCause.DEADLINE if wall < self.timeout_ms else UnknownCause.WALL_CLOCK
            else:
                self.cause = UnknownCause.SOLVER
        if hypotheses is not None:
            solver.pop()
            self._session = (hypotheses, solver, counted + spent)
        return result, model

    def _unknown(self, cause: UnknownCause, reason: str) -> tuple[z3.CheckSatResult, None]:
        self.cause, self.z3_reason = cause, reason
        return z3.unknown, None

    def explain(self) -> str:
        """The reason of the last unknown answer, with a hint saying what to do about it."""
        cause = self.cause or UnknownCause.SOLVER
        if cause is UnknownCause.RLIMIT:
            return (f"resource limit of {self.rlimit} z3 units reached (the obligation's calibrated cost times "
                    f"the margin and the rlimit scale): if the model, the engine or z3 changed, recalibrate with "
                    f"`python benchmarks/calibrate_rlimits.py --write`, or raise --rlimit-scale")
        if cause is UnknownCause.WALL_CLOCK:
            return (f"wall-clock safety net of {self.timeout_ms} ms hit before the resource limit "
                    f"(after {self.used} z3 units): the machine is overloaded or slow; "
                    f"raise --proof-timeout-ms")
        if cause is UnknownCause.DEADLINE:
            return "cut by the time budget before z3 finished"
        return self.z3_reason or "z3 gave no reason"


#: the roles of an exported query: ``proof`` and ``witness-check`` need unsat, ``vacuity`` and ``witness`` sat;
#: every query of an obligation must get its answer, except the witnesses, of which one is enough
ROLES = ("proof", "vacuity", "witness-check", "witness")


@dataclass(frozen=True, slots=True)
class Piece:
    """What one query decides of its obligation: what ``framemc prove --emit-smt2`` writes beside it."""

    #: what the query asks, e.g. ``conjunct 2/3, order 1`` or ``witness rich``
    label: str
    #: one of :data:`ROLES`
    role: str
    #: the answer the obligation needs: ``unsat`` or ``sat``
    expected: str
    #: the obligation's verdict when a solver decides the query the other way (for witnesses: all of them)
    fails_as: Verdict
    #: the hypothesis level of the query (FOCUSED weakest .. LEVELS-1), or None where the prover has no levels
    level: int | None = None

    def __post_init__(self) -> None:
        """Reject a role or an answer the export does not know (a prover's mistake)."""
        if self.role not in ROLES or self.expected not in ("sat", "unsat"):
            raise CheckerBug(f"a query piece has role {self.role!r} and expected answer {self.expected!r}")


@dataclass(frozen=True, slots=True)
class PosedQuery:
    """A query a prover posed to decide a piece of an obligation, and z3's answer to it."""

    #: what it decides
    piece: Piece
    #: z3's answer: ``sat``, ``unsat`` or ``unknown``
    z3: str
    #: the query: every assertion, in the main z3 context
    assertions: tuple[z3.BoolRef, ...]


def answer_text(result: z3.CheckSatResult) -> str:
    """z3's answer as SMT-LIB says it: ``sat``, ``unsat`` or ``unknown``."""
    return "sat" if result == z3.sat else "unsat" if result == z3.unsat else "unknown"


class RecordingWork(Work):
    """A :class:`Work` that records every query posed (with z3's answer and the piece it decides, if told)."""

    def __init__(self, rlimit: int, timeout_ms: int) -> None:
        """A budget of ``rlimit`` units, ``timeout_ms`` per query, no deadline, nothing recorded yet."""
        super().__init__(rlimit, timeout_ms, None)
        #: (piece or None, assertions, answer) of every query posed, in order
        self.posed: list[tuple[Piece | None, list[z3.BoolRef], z3.CheckSatResult]] = []

    def solve(self, assertions: list[z3.BoolRef], cap: int | None = None, *, piece: Piece | None = None
              ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        """:meth:`Work.solve`, recorded."""
        result, model = super().solve(assertions, cap)
        self.posed.append((piece, list(assertions), result))
        return result, model

    def solve_under(self, hypotheses: list[z3.BoolRef], negated: list[z3.BoolRef], cap: int | None = None
                    ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        """:meth:`Work.solve_under`, recorded as the one query it stands for."""
        result, model = super().solve_under(hypotheses, negated, cap)
        self.posed.append((None, list(hypotheses) + list(negated), result))
        return result, model

    def pieces(self) -> list[PosedQuery]:
        """Every query that was told its piece, in the order posed."""
        return [PosedQuery(piece, answer_text(result), tuple(assertions))
                for piece, assertions, result in self.posed if piece is not None]


def _frame_rows(model: z3.ModelRef, pre: State, post: State, f: z3.ExprRef) -> list[str]:
    """One line per field of frame ``f``, by its readable name: its value before, and after when it changed."""
    rows = []
    width = max(len(field_label(name)) for name, _ in MODEL_FIELDS)
    for name, _ in MODEL_FIELDS:
        before = render_value(name, model.eval(getattr(pre, name)[f], model_completion=True))
        after = render_value(name, model.eval(getattr(post, name)[f], model_completion=True))
        rows.append(f"    {field_label(name):<{width}}  {before}" + (f"  ->  {after}" if after != before else ""))
    return rows


def counterexample_diff(model: z3.ModelRef, ctx: "_OpContext | None", pre: State, post: State,
                        f: z3.ExprRef, extra: tuple[z3.ExprRef, ...] = (),
                        related: tuple[z3.ExprRef, ...] = ()) -> str:
    """A readable before/after diff of a counterexample: arguments, then the frames involved.

    Shown are the failing frame, the frames the operation names (``extra``),
    and any ``related`` frame (e.g. the failing frame's block starts) whose
    fields changed.
    """
    lines = []
    if ctx is not None and ctx.args:
        shown = ", ".join(
            f"{name}={render_value(kind.value, model.eval(a, model_completion=True))}"
            for (name, kind), a in zip(ctx.spec.params, ctx.args)
        )
        lines.append(f"  arguments: {shown}")
    failing = model.eval(f, model_completion=True)
    seen = {failing.as_long()}
    lines.append(f"  frame {render_value('frame', failing)} (where the invariant fails):")
    lines.extend(_frame_rows(model, pre, post, failing))
    for term, label, always in [(t, "touched by the operation", True) for t in extra] + [
            (t, "changed, near the failing frame", False) for t in related]:
        value = model.eval(term, model_completion=True)
        if value.as_long() in seen:
            continue
        rows = _frame_rows(model, pre, post, value)
        if not always and not any("->" in row for row in rows):
            continue
        seen.add(value.as_long())
        lines.append(f"  frame {render_value('frame', value)} ({label}):")
        lines.extend(rows)
    for name in ("early_lo", "early_end", "early_hi", "booted", "actor", "ncpus"):
        before = model.eval(getattr(pre, name), model_completion=True)
        after = model.eval(getattr(post, name), model_completion=True)
        if not before.eq(after):
            lines.append(f"  {field_label(name)}: {render_value(name, before)}  ->  {render_value(name, after)}")
    return "\n".join(lines)


def _verdict(result: z3.CheckSatResult, *, unsat_means: Verdict, sat_means: Verdict) -> Verdict:
    """Map a z3 answer to a verdict; ``unknown`` is always UNKNOWN."""
    if result == z3.unsat:
        return unsat_means
    if result == z3.sat:
        return sat_means
    return Verdict.UNKNOWN


#: z3 resource limit of one vacuity query (the fallback when no witness state shows the hypotheses satisfiable)
VACUITY_RLIMIT = 200_000_000


def _vacuity(ctx: _OpContext, level: int, inv: Invariant, limits: "_Limits"
             ) -> tuple[z3.CheckSatResult, str, UnknownCause | None]:
    """Are the hypotheses of ``level`` (the guard and invariants at the instantiation points that a
    proof of ``inv`` assumed) satisfiable?  z3's answer, the reason to report when it is not sat, and
    why it is unknown.

    First the operation's guard witness (a concrete state the concrete
    checker found satisfying every state invariant, with arguments that
    enable the guard) is substituted into the very hypothesis formulas: if
    they come out true, they are satisfiable.  Otherwise z3 decides the
    query under its own deterministic resource limit; ``unsat`` means the
    obligation would follow from a contradiction: VACUOUS.
    """
    key = ctx.key(level, inv)
    if key not in ctx.satisfiable:
        hypotheses = ctx.hypotheses(level, inv)
        work = Work(limits.grant(VACUITY_RLIMIT), limits.timeout_ms, limits.deadline)
        if _witness_satisfies(ctx, hypotheses, work):
            result = z3.sat
        else:
            result, _ = work.solve(hypotheses)
        reason = ""
        if result == z3.unsat:
            reason = (f"the guard of {ctx.spec.name} and the invariants assumed at its instantiation points "
                      f"(hypothesis level {level}) are unsatisfiable together: every goal would follow from them")
        elif result == z3.unknown:
            reason = "vacuity check undecided: " + work.explain()
        ctx.satisfiable[key] = (result, reason, work.cause if result == z3.unknown else None)
    return ctx.satisfiable[key]


def _witness_satisfies(ctx: _OpContext, hypotheses: list[z3.BoolRef], work: Work) -> bool:
    """The operation's guard witness, substituted into ``hypotheses`` (at an arbitrary frame), makes them true."""
    if ctx.witness is None:
        ctx.witness = _guard_witness(ctx.cfg, ctx.spec, work)[1] or ()
    if not ctx.witness:
        return False
    label, fv, scalars, arg_values = ctx.witness
    ground = z3.substitute_funs(z3.And(hypotheses), *definitions("pre", fv))
    pairs = [(getattr(ctx.pre, name), value) for name, value in scalars.items()]
    pairs += list(zip(ctx.args, arg_values)) + [(ctx.f, frame(0))]
    return z3.is_true(z3.simplify(z3.substitute(ground, *pairs)))


def _prove_invariant(cfg: ModelConfig, ctx: _OpContext, inv: Invariant, work: Work) -> tuple[Verdict, str, str]:
    """``Inv(pre) and guard => inv(pre, op(pre)) at f``: verdict, diff, reason.

    Every piece (:func:`_decide`) must be proved: ``unsat`` at any
    hypothesis level proves a piece; only the strongest level's ``sat``
    refutes it, and its ``unknown`` is UNKNOWN.
    """
    first_unknown: tuple[str, UnknownCause | None] | None = None
    for _, _, _, verdict, detail in _decide(cfg, ctx, inv, work):
        if verdict is Verdict.REFUTED:
            return verdict, detail, ""
        if verdict is Verdict.UNKNOWN and first_unknown is None:
            first_unknown = (detail, work.cause)
    if first_unknown is not None:
        work.cause = first_unknown[1]
        return Verdict.UNKNOWN, "", first_unknown[0]
    return Verdict.PROVED, "", ""


def _decide(cfg: ModelConfig, ctx: _OpContext, inv: Invariant, work: Work
            ) -> Iterator[tuple[str, int | None, list[z3.BoolRef], Verdict, str]]:
    """Decide the obligation ``ctx``'s operation preserves ``inv`` piece by piece, in proof order: (label,
    order case, negated goal in that case, verdict, diff or unknown reason) per piece;
    :mod:`framemc.proofs.smt2` exports the same pieces.

    A step with an order hint first poses the whole goal, order left
    symbolic, at level :data:`FOCUSED`; when that does not prove it, the
    goal is split into the operation's order cases (:meth:`_OpContext.cases`)
    and each case into the goal's conjuncts (one commented line of the
    invariant each).  A conjunct tends to need the same hypotheses in every
    case, so it starts at the level that proved it in the previous case.
    The conjuncts the weakest level proved are tried either in one query
    per group (:func:`_prove_group`) or one query each: every query pays
    for its hypotheses, whatever its goal, but the negation of a large
    conjunction can be much harder for z3 than its conjuncts one by one.
    Which way is cheaper depends on the operation and the invariant, so the
    first two cases are grouped, the third goes conjunct by conjunct, and
    the later ones go the way that cost fewer z3 units in the second and
    the third (plus a charge per query for its fixed cost), except the
    case of the orders out of range, which the guard alone settles and is
    grouped; the choice depends on z3 units alone, so it is as
    deterministic as the verdicts.  A conjunct that is not proved alone
    goes through the levels (:func:`_prove_piece`), and a counterexample
    names its conjunct.
    """
    post = ctx.step.post
    if inv.kind is InvariantKind.STATE:
        goal = inv.body(cfg, post, ctx.f)
    else:
        goal = inv.body(cfg, ctx.pre, post, ctx.f)
    if ctx.step.order is not None:
        # the whole goal for every order at once, from the goal's own invariant (and alignment) alone: many
        # buddy steps preserve an invariant by itself, and then one query with a symbolic order costs z3
        # less than the order cases do under the core hypotheses (add_block/S-pool-ids: 2M units, not
        # 21M, at MAX_ORDER 11); a sat or capped answer says nothing, and the cases follow
        negated = [z3.Not(goal)]
        result, _ = work.solve(ctx.hypotheses(FOCUSED, inv) + negated, WHOLE_GOAL_RLIMIT)
        if result == z3.unsat:
            work.levels.add(FOCUSED)
            work.proved_at = FOCUSED
            yield "whole goal, every order", None, negated, Verdict.PROVED, ""
            return
        if work.cause in _FINAL_CAUSES:
            yield "whole goal, every order", None, negated, Verdict.UNKNOWN, work.explain()
            return
    conjuncts = goal.children() if z3.is_and(goal) else [goal]
    # the level that proved each conjunct (by index) in the latest case; the weakest one to begin with
    proved: dict[int, int | None] = {i: 0 for i in range(len(conjuncts))}
    # the cost of the second case (grouped) and of the third (one by one), once known
    costs: list[int] = []
    for index, order in enumerate(ctx.cases()):
        before = work.used + QUERY_UNITS * work.queries
        weakest = [i for i in range(len(conjuncts)) if proved[i] == 0]
        # (conjunct, level to try first, whether the weakest level is known to fail it)
        alone = [(i, proved[i], False) for i in range(len(conjuncts)) if proved[i] != 0]
        grouped = index < 2 or order == OTHER_ORDERS or (index > 2 and costs[0] <= costs[1])
        if len(weakest) > 1 and grouped:
            alone += yield from _prove_group(ctx, inv, order, conjuncts, weakest, work)
        else:
            alone += [(i, 0, False) for i in weakest]
        # conjuncts that start at the same level share its hypotheses: an incremental session pays for them once
        sharing = Counter(first for _, first, failed_weakest in alone if first is not None and not failed_weakest)
        for i, first, failed_weakest in sorted(alone):
            negated = ctx.in_case([z3.Not(conjuncts[i])], order)
            label = f"conjunct {i + 1}/{len(conjuncts)}{_case_text(order)}"
            skip = 0 if failed_weakest else None
            if skip is None and sharing[first] > 1:
                # most conjuncts are easy where they were proved before: ask under the hypotheses kept asserted
                result, _ = work.solve_under(ctx.hypotheses(first, inv, order), negated, INCREMENTAL_RLIMIT)
                if result == z3.unsat:
                    work.levels.add(first)
                    proved[i] = work.proved_at = first
                    yield label, order, negated, Verdict.PROVED, ""
                    continue
                if result == z3.sat and first < LEVELS - 1:
                    skip = first
            verdict, detail = _prove_piece(ctx, inv, order, negated, work, first, skip=skip)
            proved[i] = work.proved_at if verdict is Verdict.PROVED else None
            yield label, order, negated, verdict, detail
        if index in (1, 2):
            costs.append(work.used + QUERY_UNITS * work.queries - before)


#: z3 units the whole-goal attempt of :func:`_decide` may take (at MAX_ORDER 11 those that succeed take at
#: most 5.1M, add_block/S-conservation, and those that fail at most 1.6M)
WHOLE_GOAL_RLIMIT = 8_000_000
#: z3 units a conjunct may take in the incremental session of the level that proved it in the previous case
#: before it is posed on its own (most take a few thousand; the rest would cost the session dearly)
INCREMENTAL_RLIMIT = 500_000
#: z3 units charged per query when choosing between grouped and single conjuncts: about what a query's fixed
#: cost (a fresh context, translating and asserting the hypotheses) takes in time
QUERY_UNITS = 20_000


def _case_text(order: int | None) -> str:
    """How a piece's label names its order case."""
    return "" if order is None else ", order " + ("other" if order == OTHER_ORDERS else str(order))


def _prove_group(ctx: _OpContext, inv: Invariant, order: int | None, conjuncts: list[z3.BoolRef],
                 members: list[int], work: Work) -> Iterator[tuple[str, int | None, list[z3.BoolRef], Verdict, str]]:
    """Prove the conjuncts ``members`` (indices) of one order case together at the weakest level, yielding the
    pieces decided; return the conjuncts left to prove alone, as :func:`_decide` lists them.

    A group that is not proved gives a model of the weakest hypotheses:
    the conjuncts false in it cannot be proved at that level and are left
    (marked so); the rest are tried again as a smaller group.
    """
    left: list[tuple[int, int | None, bool]] = []
    while len(members) > 1:
        label = (f"all {len(conjuncts)} conjuncts" if len(members) == len(conjuncts) else
                 "conjuncts " + ",".join(str(i + 1) for i in members) + f"/{len(conjuncts)}")
        negated = ctx.in_case([z3.Not(z3.And([conjuncts[i] for i in members]))], order)
        result, model = work.solve(ctx.hypotheses(0, inv, order) + negated, WEAK_LEVEL_RLIMIT)
        if result == z3.unsat:
            work.levels.add(0)
            work.proved_at = 0
            yield f"{label}{_case_text(order)}", order, negated, Verdict.PROVED, ""
            return left
        if work.cause in _FINAL_CAUSES:
            yield f"{label}{_case_text(order)}", order, negated, Verdict.UNKNOWN, work.explain()
            return left
        if model is None:
            break
        false = [i for i in members if not z3.is_true(
            model.eval(z3.And(ctx.in_case([conjuncts[i]], order)), model_completion=True))]
        if not false:
            break  # cannot happen for a model of the negated group; then prove every member alone
        left += [(i, None, True) for i in false]
        members = [i for i in members if i not in false]
    return left + [(i, 0, False) for i in members]


def _prove_piece(ctx: _OpContext, inv: Invariant, case: int | None, negated: list[z3.BoolRef], work: Work,
                 first: int | None = None, *, skip: int | None = None) -> tuple[Verdict, str]:
    """One piece of an obligation (see :func:`_decide`): verdict and diff (or unknown reason).

    The piece goes through the hypothesis levels, weakest first, except
    that level ``first`` goes first when given: the caller passes the level
    that proved the same conjunct in the previous order case, since a
    conjunct tends to need the same hypotheses in every case, and every
    failed weaker level costs its slice.  A weaker level gets at most a
    slice of the budget, so that a hard weak query cannot starve the
    stronger levels.
    """
    order = list(range(LEVELS)) if first is None else [first] + [x for x in range(LEVELS) if x != first]
    if skip is not None:
        order.remove(skip)  # a model of that level's hypotheses already falsified the piece
    for level in order:
        last = level == LEVELS - 1
        result, model = work.solve(ctx.hypotheses(level, inv, case) + negated, None if last else WEAK_LEVEL_RLIMIT)
        if result == z3.unsat:
            work.levels.add(level)
            work.proved_at = level
            return Verdict.PROVED, ""
        if model is not None and last:
            # a model of a weaker level is no counterexample: it may break a hypothesis that level left out
            # (checking it against the strongest level cost more than the stronger queries a correct model
            # never answers sat)
            diff = counterexample_diff(model, ctx, ctx.pre, ctx.step.post, ctx.f, ctx.step.seeds, ctx.closure)
            return Verdict.REFUTED, diff
        if work.cause in _FINAL_CAUSES:
            break  # the obligation's own limits ran out: no stronger level can run either
    return Verdict.UNKNOWN, work.explain()


#: causes after which no further query of the obligation can succeed
_FINAL_CAUSES = frozenset({UnknownCause.RLIMIT, UnknownCause.DEADLINE, UnknownCause.WALL_CLOCK})
#: resource slice of each weaker hypothesis level: about four seconds of z3 work, like the time slice it replaced
WEAK_LEVEL_RLIMIT = 40_000_000


def _witness_states(cfg: ModelConfig) -> list[tuple[str, State, int]]:
    """Concrete states that satisfy every state invariant (checked), as (label, state, frame bound)."""
    return [(label, state, bound) for label, state, bound, _, _ in _witness_values(cfg)]


@functools.lru_cache(maxsize=8)
def _witness_values(cfg: ModelConfig) -> tuple[tuple[str, State, int, FrameValues, dict[str, z3.ExprRef]], ...]:
    """:func:`_witness_states` with each state's per-frame values and scalar fields as well (built and checked
    once per bounds: every guard obligation and every vacuity check reads them).

    Four states: the rich snapshot; boot-time memory before init, with an
    early allocator that has room for 4 frames; and two states of the rich
    snapshot's pool with a buddy operation in progress (a snapshot never
    shows one): split down to order 0 with the lowest half pending, and a
    merge cascade that has reached the top of the free frames.
    """
    rich, empty = rich_snapshot(cfg), empty_snapshot(cfg)
    for snap in (rich, empty):
        bad = [r.name for r in check_snapshot(snap) if r.verdict is not CheckVerdict.PASS]
        if bad:
            raise CheckerBug(f"guard witness violates {', '.join(bad)}")
    top = min(3, cfg.max_order)
    # the free block (8, top) split down to order 0: (8, 0) pending, its buddy (9, 0), then (10, 1), (12, 2) ...
    halves = ((8, 0),) + tuple((8 + (1 << j), j) for j in range(top))
    splitting = dataclasses.replace(rich, free_blocks=halves + tuple(b for b in rich.free_blocks if b[0] != 8))
    result = []
    for label, snap, changes in (
        ("rich", rich, {}),
        ("boot", empty, {"booted": z3.BoolVal(False), "early_hi": frame(4)}),
        ("splitting", splitting, {"pending": frame(8), "pending_order": small(0)}),
        ("merging", rich, {"pending": frame(8), "pending_order": small(top)}),
    ):
        fv = snapshot_values(snap)
        state = update(concrete_state(fv), **changes)
        if changes.get("pending") is not None:
            _check_witness(cfg, label, state, snap.nframes)
        scalars = {name: getattr(state, name) for name, _ in SCALAR_FIELDS}
        result.append((label, state, snap.nframes, fv, scalars))
    return tuple(result)


def _check_witness(cfg: ModelConfig, label: str, state: State, bound: int) -> None:
    """Every state invariant holds at every frame of a witness state that no snapshot can show (frames from
    ``bound`` on all look alike); CheckerBug otherwise."""
    frames = [frame(i) for i in range(bound + 1)]
    bad = [inv.name for inv in STATE_INVARIANTS
           if not all(z3.is_true(z3.simplify(g)) for g in grounded(lambda f: inv.body(cfg, state, f), frames))]
    if bad:
        raise CheckerBug(f"the {label} guard witness violates {', '.join(bad)}")


def _guard_satisfiable(cfg: ModelConfig, spec: OpSpec, work: Work) -> tuple[Verdict, str, str]:
    """Some concrete state satisfying every state invariant enables the operation (a witness exists).

    The witness states are checked against the invariants with the concrete
    checker; the operation's arguments are left to z3, and ranged guards are
    grounded over every frame of the witness (all later frames look alike).
    """
    verdict, found, detail = _guard_witness(cfg, spec, work)
    if found is not None:
        label, _, _, values = found
        shown = ", ".join(f"{name}={render_value(kind.value, v)}" for (name, kind), v in zip(spec.params, values))
        return verdict, f"  witness: the {label} state with {shown or 'no arguments'}", ""
    if verdict is Verdict.UNKNOWN:
        return verdict, "", detail
    return Verdict.REFUTED, "  no witness state enables the operation: its guard may be vacuous", ""


def _guard_witness(cfg: ModelConfig, spec: OpSpec, work: Work
                   ) -> tuple[Verdict, tuple[str, FrameValues, dict[str, z3.ExprRef], list[z3.ExprRef]] | None, str]:
    """Search the witness states for one that enables ``spec``: the verdict, the witness (label, its
    per-frame values, its scalars, the argument values) when found, and the unknown reason."""
    unknown: tuple[str, UnknownCause | None] | None = None
    for label, state, bound, fv, scalars in _witness_values(cfg):
        args = spec.symbolic_args("arg")
        step = spec.fn(cfg, state, *args)
        assertions = [step.guard]
        for r in step.ranged:
            assertions += [r.at(frame(i)) for i in range(bound + 1)] + [r.at(r.first)]
        result, model = work.solve(assertions)
        if model is not None:
            values = [model.eval(a, model_completion=True) for a in args]
            return Verdict.PROVED, (label, fv, scalars, values), ""
        if result == z3.unknown and unknown is None:
            unknown = (work.explain(), work.cause)
    if unknown is not None:
        work.cause = unknown[1]
        return Verdict.UNKNOWN, None, unknown[0]
    return Verdict.REFUTED, None, ""


def _prove_init(cfg: ModelConfig, inv: Invariant, work: Work) -> tuple[Verdict, str, str]:
    """``Init(s) => inv(s) at an arbitrary frame``."""
    s, condition = initial_state(cfg, "init")
    f = z3.Const("f", FrameSort)
    result, _ = work.solve([condition])
    if result == z3.unsat:
        return Verdict.VACUOUS, "", "the initial-state condition is unsatisfiable: no state is initial"
    if result == z3.unknown:
        return Verdict.UNKNOWN, "", "vacuity check undecided: " + work.explain()
    result, model = work.solve([condition, z3.Not(inv.body(cfg, s, f))])
    verdict = _verdict(result, unsat_means=Verdict.PROVED, sat_means=Verdict.REFUTED)
    diff = counterexample_diff(model, None, s, s, f) if model is not None else ""
    return verdict, diff, work.explain() if verdict is Verdict.UNKNOWN else ""


def run_obligations(selection: Iterable[str] | None = None, *, variant: str | None = None,
                    timeout_ms: int = DEFAULT_TIMEOUT_MS, cfg: ModelConfig | None = None,
                    jobs: int = 1, rlimit_scale: float = 1.0, deadline: float | None = None,
                    on_result: Callable[[ObligationResult], None] | None = None) -> list[ObligationResult]:
    """Discharge the selected obligations (all by default), with ``variant`` substituted if given.

    Each obligation may spend its calibrated z3 resource limit times
    ``rlimit_scale`` (0 lifts the limit, for calibration); ``timeout_ms`` is
    the wall-clock safety net per query, and no query runs past ``deadline``
    (a ``time.monotonic()`` value).  ``on_result`` is called with each
    result as it is decided (in this process).  With ``jobs > 1`` the
    operations are shared out among worker processes; the results come back
    in the same order either way.
    """
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0:
        raise UsageError(f"timeout_ms must be a positive integer, got {timeout_ms!r}")
    if isinstance(rlimit_scale, bool) or not isinstance(rlimit_scale, (int, float)) or not rlimit_scale >= 0:
        raise UsageError(f"rlimit_scale must be a number >= 0, got {rlimit_scale!r}")
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, got {jobs}")
    cfg = cfg or ModelConfig()
    chosen = select(selection, variant=variant)
    limits = _Limits(timeout_ms, float(rlimit_scale), deadline)
    if jobs == 1:
        return _run_group([ob.name for ob in chosen], variant, limits, cfg, on_result)
    tasks = _tasks(chosen, variant, jobs)
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_run_group, names, variant, limits, cfg) for names in tasks]
        by_name = {}
        for fut in futures:
            for r in fut.result():
                by_name[r.name] = r
                if on_result is not None:
                    on_result(r)
    return [by_name[ob.name] for ob in chosen]


def _tasks(chosen: list[Obligation], variant: str | None, jobs: int) -> list[list[str]]:
    """The obligations shared out into tasks for ``jobs`` workers, costliest task first.

    A task holds one operation's obligations, so that a worker builds the
    operation's context once; an operation that would take more than a
    worker's fair share is cut into as many tasks as needed, costs dealt
    greedily.  The workers take the tasks costliest first (the longest
    processing time rule), by the calibrated z3 units of their obligations,
    so that no worker is left with a long task at the end.
    """
    groups: dict[str, list[str]] = {}
    for ob in chosen:
        groups.setdefault(ob.op, []).append(ob.name)
    cost = {ob.name: _measured(ob.name, variant) for ob in chosen}
    share = sum(cost.values()) / (2 * jobs)
    tasks: list[tuple[int, list[str]]] = []
    for names in groups.values():
        total = sum(cost[n] for n in names)
        parts: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, min(jobs, math.ceil(total / share))))]
        for name in sorted(names, key=lambda n: -cost[n]):
            least = min(range(len(parts)), key=lambda i: parts[i][0])
            parts[least] = (parts[least][0] + cost[name], parts[least][1] + [name])
        tasks += [(units, sorted(part, key=names.index)) for units, part in parts if part]
    return [names for _, names in sorted(tasks, key=lambda t: -t[0])]


@dataclass(frozen=True, slots=True)
class _Limits:
    """The limits every obligation of one run is discharged under."""

    #: wall-clock safety net per z3 query, in milliseconds
    timeout_ms: int
    #: factor on each obligation's calibrated resource limit (0: unlimited)
    rlimit_scale: float
    #: monotonic time after which no query may run, or None
    deadline: float | None

    def grant(self, units: int) -> int:
        """The resource budget for work calibrated at ``units``: scaled, at least 1, or 0 (unlimited) at scale 0."""
        return 0 if self.rlimit_scale == 0 else max(1, round(units * self.rlimit_scale))


#: operations whose obligations take longest (the suite runs them one task per obligation)
_SLOW_OPS = ("add_block", "buddy_free", "split", "merge")


@functools.lru_cache(maxsize=64)
def _context(cfg: ModelConfig, op: str, variant: str | None) -> _OpContext:
    """The shared symbolic context of an operation (cached: building hypotheses costs more than many proofs)."""
    return _OpContext(cfg, resolve(op, variant))


def _run_group(names: list[str], variant: str | None, limits: _Limits, cfg: ModelConfig,
               on_result: Callable[[ObligationResult], None] | None = None) -> list[ObligationResult]:
    """Discharge the named obligations in order, sharing each operation's context."""
    by_name = {ob.name: ob for ob in obligations(variant=variant)}
    results = []
    for name in names:
        ob = by_name[name]
        started = time.perf_counter()
        budget = limits.grant(rlimit_for(name, variant, cfg))
        work = Work(budget, limits.timeout_ms, limits.deadline)
        if limits.deadline is not None and time.monotonic() >= limits.deadline:
            # past the deadline: do not even build the operation's context
            verdict, diff, reason = Verdict.UNKNOWN, "", "not run: the deadline passed"
            work.cause = UnknownCause.DEADLINE
        elif ob.op == "init":
            verdict, diff, reason = _prove_init(cfg, _invariant(ob.invariant), work)
        elif ob.invariant == GUARD:
            verdict, diff, reason = _guard_satisfiable(cfg, resolve(ob.op, variant), work)
        else:
            ctx, inv = _context(cfg, ob.op, variant), _invariant(ob.invariant)
            verdict, diff, reason = _prove_invariant(cfg, ctx, inv, work)
            for level in sorted(work.levels) if verdict is Verdict.PROVED else ():
                # a proof is only as good as its hypotheses: were the ones it used satisfiable?
                satisfiable, why, cause = _vacuity(ctx, level, inv, limits)
                if satisfiable != z3.sat:
                    verdict = Verdict.VACUOUS if satisfiable == z3.unsat else Verdict.UNKNOWN
                    reason, work.cause = why, cause
                    break
        cause = (work.cause or UnknownCause.SOLVER) if verdict is Verdict.UNKNOWN else None
        result = ObligationResult(ob.name, verdict, time.perf_counter() - started, diff, reason, cause,
                                  work.used, budget)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def pose(names: Iterable[str], *, variant: str | None = None, cfg: ModelConfig | None = None,
         timeout_ms: int = DEFAULT_TIMEOUT_MS, rlimit_scale: float = 1.0) -> list[tuple[str, list[PosedQuery]]]:
    """The query that decided each piece of the named obligations, and z3's answer: what ``--emit-smt2`` writes.

    Each obligation is posed through the prover itself under its
    calibrated resource limit, recording every query, and each piece keeps
    the query that decided it: for a piece of ``op/INV``
    (:func:`_decide`), the hypothesis level at which z3 answered ``unsat``
    (the weakest that proves it), or on ``sat`` or ``unknown`` the strongest
    level, the one that refutes; for ``init/INV`` the proof query; for
    ``guard/OP`` each witness query.  Not the strongest level for every
    piece: its correct answer is the same (its hypotheses are a superset),
    but z3 cannot decide some of those queries within minutes.
    """
    cfg = cfg or ModelConfig()
    limits = _Limits(timeout_ms, float(rlimit_scale), None)
    by_name = {ob.name: ob for ob in obligations(variant=variant)}
    return [(name, _pose_one(cfg, by_name[name], variant,
                             RecordingWork(limits.grant(rlimit_for(name, variant, cfg)), timeout_ms)))
            for name in names]


def _pose_one(cfg: ModelConfig, ob: Obligation, variant: str | None, work: RecordingWork) -> list[PosedQuery]:
    """The deciding queries of ``ob`` (see :func:`pose`), in proof order."""
    if ob.invariant == GUARD:
        _guard_satisfiable(cfg, resolve(ob.op, variant), work)
        labels = [label for label, _, _ in _witness_states(cfg)]
        return [PosedQuery(Piece(f"witness {labels[i] if i < len(labels) else i}", "witness", "sat",
                                 Verdict.REFUTED), answer_text(result), tuple(assertions))
                for i, (_, assertions, result) in enumerate(work.posed)]
    if ob.op == "init":
        _prove_init(cfg, _invariant(ob.invariant), work)
        proof = Piece("Init implies the invariant at an arbitrary frame", "proof", "unsat", Verdict.REFUTED)
        return [PosedQuery(proof, answer_text(result), tuple(assertions)) for _, assertions, result in work.posed[-1:]]
    ctx, inv = _context(cfg, ob.op, variant), _invariant(ob.invariant)
    out = []
    for label, case, negated, verdict, _ in _decide(cfg, ctx, inv, work):
        if verdict is Verdict.PROVED:
            # the last query posed answered unsat, at the level the prover records
            piece = Piece(label, "proof", "unsat", Verdict.REFUTED, work.proved_at)
            out.append(PosedQuery(piece, "unsat", tuple(work.posed[-1][1])))
        else:
            # a refutation is a model of the strongest level; an unknown is exported there too
            piece = Piece(label, "proof", "unsat", Verdict.REFUTED, LEVELS - 1)
            answer = "sat" if verdict is Verdict.REFUTED else "unknown"
            out.append(PosedQuery(piece, answer, tuple(ctx.hypotheses(LEVELS - 1, inv, case) + negated)))
        work.posed = []
    return out


def _measured(name: str, variant: str | None) -> int:
    """The calibrated z3 units of obligation ``name`` under ``variant``: the variant's own figure, else the
    unmodified obligation's, else (an obligation the table does not know) the largest in the table."""
    measured = MEASURED.get(f"{variant}:{name}" if variant else name)
    if measured is None and variant:
        measured = MEASURED.get(name)
    return max(MEASURED.values(), default=RLIMIT_FLOOR) if measured is None else measured


def rlimit_for(name: str, variant: str | None = None, cfg: ModelConfig | None = None) -> int:
    """The resource limit of obligation ``name`` (under ``variant``): its calibrated cost with a margin.

    An obligation the table does not know (a new one, or a variant's that
    was not calibrated) gets the largest limit in the table.  At a MAX_ORDER
    other than the calibrated one the limit is extrapolated: z3's work on
    the order-structured obligations grows about with the cube of the
    number of orders (measured: 35x from MAX_ORDER 3 to 11 on
    ``buddy_free/S-buddies-merged``), so the limit grows with its fourth
    power, a deliberate overestimate that a limit hit at a high order is
    a real difficulty, not a miscalibration.
    """
    limit = max(RLIMIT_MARGIN * _measured(name, variant), RLIMIT_FLOOR)
    if cfg is not None and cfg.max_order > CALIBRATED_MAX_ORDER:
        limit = round(limit * ((cfg.max_order + 1) / (CALIBRATED_MAX_ORDER + 1)) ** 4)
    return limit


#: the MAX_ORDER the resource limits were calibrated at
CALIBRATED_MAX_ORDER = ModelConfig().max_order


def _invariant(name: str) -> Invariant:
    """The registered invariant called ``name``."""
    return next(inv for inv in INVARIANTS if inv.name == name)


def variant_names() -> list[str]:
    """The registered broken-operation variants, sorted."""
    return sorted(VARIANTS)
