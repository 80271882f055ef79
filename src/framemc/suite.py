"""The default suite of ``framemc check``: proofs, bundled scenarios, conformance, as typed rows.

Design: every item the suite runs (one proof obligation, one scenario under
one memory model, the conformance run) becomes one :class:`Row` whose
:class:`Outcome` is PASS, VIOLATION or INCONCLUSIVE; the process exit code
is computed from those outcomes in one place (:func:`exit_code`).  A time
budget is one deadline for the whole suite: each scenario gets what is
left, the conformance run stops starting steps, no proof query runs past
it, and an item that was cut or could not start is an INCONCLUSIVE row
marked ``cut``, never a pass.  Cheap items run first; with several jobs the
proofs run in worker processes while the scenarios run here, and each
obligation's row comes back as soon as it is decided.  Progress (and the
rows, as they finish) is reported through a small callback protocol, so
this module knows nothing about terminals.
"""

from __future__ import annotations

import dataclasses
import enum
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from framemc.config import CheckConfig
from framemc.setups import bundled_origin
from framemc.errors import UsageError
from framemc.verdicts import ExitCode, Outcome, exit_code
from framemc.explorer import Bounds, Counterexample, Status, explore

__all__ = ["Outcome", "ExitCode", "Section", "Row", "SuiteResult", "Progress", "exit_code", "run_suite",
           "proof_variant", "proof_groups", "NOT_RUN", "CUT"]

#: the detail of an item the time budget left no room for
NOT_RUN = "not run: the time budget ran out"
#: how the detail of an item the time budget stopped part-way begins
CUT = "cut by the time budget"


class Section(enum.Enum):
    """Which part of the suite a row belongs to."""

    SCENARIOS = "scenarios"
    CONFORMANCE = "conformance"
    PROOFS = "proofs"


@dataclass(frozen=True)
class Row:
    """One item of the suite and its verdict."""

    #: the part of the suite
    section: Section
    #: the item's name inside its design (``sc/claim-race``, ``buddy_free/I1-...``, ``conformance ...``)
    name: str
    #: PASS / VIOLATION / INCONCLUSIVE
    outcome: Outcome
    #: one line saying what was found or what was covered
    detail: str
    #: the counterexample or refutation as readable text, else ""
    text: str = ""
    #: the explorer's counterexample, for scenario violations
    counterexample: Counterexample | None = None
    #: how to rebuild the scenario (a trace's origin block), for scenarios
    origin: dict[str, Any] | None = None
    #: wall seconds (shown in the human table only, never in machine outputs)
    seconds: float = 0.0
    #: where the counterexample's trace was written, if it was
    trace_file: str | None = None
    #: True when the time budget stopped the item part-way or before it started (never a pass)
    cut: bool = False
    #: names of the model checks that failed (conformance), for locating them in reports
    failed_checks: tuple[str, ...] = ()
    #: what the conformance run exercised (a ``framemc.conformance.Coverage``), else None
    coverage: Any = None
    #: the allocator design the item belongs to (``framemc list --kind designs``)
    design: str = "metaslot"

    @property
    def key(self) -> str:
        """``design:name``: unique across every design of one run."""
        return f"{self.design}:{self.name}"


@dataclass(frozen=True)
class SuiteResult:
    """Every row of one ``framemc check`` run, plus what the run covered."""

    #: rows in suite order
    rows: tuple[Row, ...]
    #: the configuration the suite ran under
    config: CheckConfig
    #: True when the time budget ran out before everything ran to completion
    budget_exhausted: bool = False
    #: remarks about what was left out and why (e.g. no c11 scenarios yet)
    notes: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> ExitCode:
        """The exit code of the whole run."""
        return exit_code(r.outcome for r in self.rows)

    def counts(self) -> dict[Outcome, int]:
        """How many rows have each outcome."""
        return {o: sum(r.outcome is o for r in self.rows) for o in Outcome}

    @property
    def warnings(self) -> tuple[str, ...]:
        """Things worth a look that are no failure: conformance coverage items no step exercised."""
        out = []
        for row in self.rows:
            uncovered = row.coverage.uncovered if row.coverage is not None else ()
            if uncovered:
                out.append(f"{row.design} {row.name} left {len(uncovered)} coverage item(s) unexercised: "
                           + "; ".join(f"{i.kind.value} {i.name}" for i in uncovered))
        return tuple(out)

    def coverage(self) -> str:
        """One line saying how many items ran to completion and how many the time budget cut."""
        cut = sum(r.cut for r in self.rows)
        not_run = sum(r.cut and r.detail == NOT_RUN for r in self.rows)
        return (f"{len(self.rows) - cut} of {len(self.rows)} items ran to completion, "
                f"{cut - not_run} cut part-way, {not_run} not run")


class Progress(Protocol):
    """What the suite tells a progress display."""

    def start(self, section: Section, items: tuple[str, ...]) -> None:
        """A section begins; ``items`` are the names of its rows to come."""

    def finished(self, row: Row) -> None:
        """An item is decided (rows of parallel proofs arrive in the order they finish)."""

    def working(self, section: Section, item: str, executions: int, blocked: int, seconds: float) -> None:
        """An exploration item is still running: executions so far, blocked ones, seconds spent."""


class _NoProgress:
    """A progress display that shows nothing."""

    def start(self, section: Section, items: tuple[str, ...]) -> None:
        """Ignore."""

    def finished(self, row: Row) -> None:
        """Ignore."""

    def working(self, section: Section, item: str, executions: int, blocked: int, seconds: float) -> None:
        """Ignore."""


class _Clock:
    """The suite's one deadline."""

    def __init__(self, budget: float | None) -> None:
        #: when the budget runs out (monotonic seconds), or None
        self.deadline = None if budget is None else time.monotonic() + budget
        #: set once an item was cut or skipped for lack of time
        self.exhausted = False

    def left(self) -> float | None:
        """Seconds left (at least a sliver while positive), or None without a budget."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def out(self) -> bool:
        """True when no time is left (and remember it)."""
        left = self.left()
        if left is not None and left <= 0:
            self.exhausted = True
            return True
        return False

    def cut(self, row: Row) -> Row:
        """``row``, remembering that the budget ran out if the row was cut."""
        if row.cut:
            self.exhausted = True
        return row


def proof_variant(bugs: Iterable[str], design: Any = None) -> str | None:
    """The model variant of ``design`` (default: metaslot) named like one of ``bugs`` (at most one), or None."""
    known = _variants(design)
    named = sorted(b for b in bugs if b in known)
    if len(named) > 1:
        raise UsageError(f"the proofs take one model variant at a time, but bugs {', '.join(named)} all have one")
    return named[0] if named else None


def _variants(design: Any) -> tuple[str, ...]:
    """The names of ``design``'s broken model operations (metaslot's when None)."""
    if design is None:
        from framemc.design import design_named
        design = design_named("metaslot")
    return tuple(design.prover.variants)


def chosen_designs(cfg: CheckConfig) -> list[Any]:
    """The designs ``cfg`` selects, in registry order (built-ins first); narrowed to the one owning ``cfg.bugs``."""
    from framemc.design import designs, load_user_designs
    load_user_designs(cfg.designs)
    known = designs()
    if cfg.design is not None:
        unknown = sorted(set(cfg.design) - set(known))
        if unknown:
            raise UsageError(f"unknown design {unknown[0]!r}; known designs: {', '.join(known)}")
    chosen = [d for n, d in known.items() if cfg.design is None or n in cfg.design]
    if not cfg.bugs:
        return chosen
    owners: dict[str, list[str]] = {}
    for bug in cfg.bugs:
        owners[bug] = [d.name for d in chosen if bug in d.bugs or bug in d.prover.variants]
        if not owners[bug]:
            every = sorted({b for d in chosen for b in (*d.bugs, *d.prover.variants)})
            raise UsageError(f"unknown bug variant {bug!r}; known variants: {', '.join(every)}")
    names = {n for found in owners.values() for n in found}
    if len(names) > 1:
        spread = "; ".join(f"{b} ({', '.join(o)})" for b, o in sorted(owners.items()))
        raise UsageError(f"the bugs belong to different designs ({spread}): check one design at a time "
                         f"with --design")
    return [d for d in chosen if d.name in names]


# ----------------------------------------------------------------- scenarios

def _scenario_plan(cfg: CheckConfig, chosen: list[Any]
                   ) -> tuple[list[tuple[Any, str, Any]], list[str], list[Row]]:
    """(design, memory model, scenario) triples to run, notes, and rows for registries that failed to load."""
    plan: list[tuple[Any, str, Any]] = []
    notes: list[str] = []
    broken: list[Row] = []
    known: set[str] = set()
    for design in chosen:
        for model in cfg.memory_models:
            try:
                registry = design.scenarios(model)
            except ImportError as exc:
                notes.append(f"no {design.name} {model} scenarios: {exc}")
                continue
            except Exception as exc:  # a registry that exists but fails to import must not pass silently
                broken.append(Row(Section.SCENARIOS, f"{model}/*", Outcome.INCONCLUSIVE,
                                  f"{model} scenarios unavailable: {type(exc).__name__}: {exc}", design=design.name))
                continue
            known.update(registry)
            plan.extend((design, model, registry[name]) for name in registry
                        if cfg.scenarios is None or name in cfg.scenarios)
    unknown = sorted(set(cfg.scenarios or ()) - known)
    if unknown and not broken:
        raise UsageError(f"unknown scenario {', '.join(repr(u) for u in unknown)}; known scenarios: "
                         f"{', '.join(sorted(known))}")
    return plan, notes, broken


def _scenario_row(design: Any, model: str, scenario: Any, cfg: CheckConfig, clock: _Clock,
                  progress: Progress | None = None) -> Row:
    row = _scenario_outcome(design, model, scenario, cfg, clock, progress)
    return dataclasses.replace(row, design=design.name)


def _scenario_outcome(design: Any, model: str, scenario: Any, cfg: CheckConfig, clock: _Clock,
                      progress: Progress | None) -> Row:
    name = f"{model}/{scenario.name}"
    origin = bundled_origin(scenario.name, cfg.bugs, model, design.name)
    if clock.out():
        return Row(Section.SCENARIOS, name, Outcome.INCONCLUSIVE, NOT_RUN, origin=origin, cut=True)
    left = clock.left()
    started = time.perf_counter()
    try:
        bounds = Bounds(cfg.max_executions, cfg.preemption_bound, cfg.max_steps,
                        None if left is None else max(left, 0.001))
        working = getattr(progress, "working", None)
        report = None if working is None else \
            (lambda e, b, sec: working(Section.SCENARIOS, name, e, b, sec))  # noqa: E731
        # each scenario's exploration is split over the workers (measured faster than a row per worker:
        # one scenario dominates the suite's time; benchmarks/parallel.py, table 4)
        result = explore(scenario.setup(cfg.bugs), model, bounds=bounds, progress=report, dask=cfg.dask,
                         workers=cfg.workers)
    except UsageError as exc:
        return Row(Section.SCENARIOS, name, Outcome.INCONCLUSIVE, f"could not run: {exc}", origin=origin,
                   seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if result.status is Status.VIOLATION:
        cx = result.violation
        return Row(Section.SCENARIOS, name, Outcome.VIOLATION, f"{cx.kind.value}: {_first_line(cx.message)}",
                   cx.to_text(), cx, origin, seconds)
    if result.status is Status.PASS:
        return Row(Section.SCENARIOS, name, Outcome.PASS,
                   f"{result.executions} executions, exhaustive", origin=origin, seconds=seconds)
    cut = result.bound_hit is not None and result.bound_hit.value == "time_budget"
    if cut:
        detail = f"{CUT} after {result.executions} executions: not exhaustive"
    elif result.bound_hit is not None:
        detail = f"{result.bound_hit.value} hit after {result.executions} executions: not exhaustive"
    else:
        undecided = sorted({getattr(f, "name", "?") for f in result.inconclusive})
        detail = f"{result.executions} executions; checks z3 could not decide: {', '.join(undecided)}"
    return clock.cut(Row(Section.SCENARIOS, name, Outcome.INCONCLUSIVE, detail, origin=origin, seconds=seconds,
                         cut=cut))


def _first_line(text: str, width: int = 160) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 3] + "..."


# ----------------------------------------------------------------- conformance

def _conformance_name(cfg: CheckConfig) -> str:
    return f"conformance (seed {cfg.conformance_seed}, {cfg.conformance_steps} steps)"


def _conformance_row(design: Any, cfg: CheckConfig, clock: _Clock) -> Row:
    return dataclasses.replace(_conformance_outcome(design, cfg, clock), design=design.name)


def _conformance_outcome(design: Any, cfg: CheckConfig, clock: _Clock) -> Row:
    name = _conformance_name(cfg)
    if clock.out():
        return Row(Section.CONFORMANCE, name, Outcome.INCONCLUSIVE, NOT_RUN, cut=True)
    started = time.perf_counter()
    try:
        report = design.conformance(seed=cfg.conformance_seed, steps=cfg.conformance_steps,
                                    bugs=frozenset(b for b in cfg.bugs if b in design.bugs), deadline=clock.deadline)
    except UsageError:
        raise
    except Exception as exc:  # the conformance module is optional: never let its absence pass
        return Row(Section.CONFORMANCE, name, Outcome.INCONCLUSIVE,
                   f"conformance unavailable: {type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    outcome = report.verdict
    failure = report.first_failure()
    coverage = report.coverage
    if failure is None and report.cut:
        return clock.cut(Row(Section.CONFORMANCE, name, Outcome.INCONCLUSIVE,
                             f"{CUT} after {len(report.steps)} of {report.requested} steps (they agree with the "
                             f"model): not a pass", seconds=seconds, cut=True, coverage=coverage))
    if failure is None:
        return Row(Section.CONFORMANCE, name, outcome,
                   f"{len(report.steps)} steps agree with the model; {coverage.summary()}",
                   seconds=seconds, coverage=coverage)
    index, step = failure
    checks = ", ".join(r.name for r in step.failures)
    text = "\n".join([f"step {i}: {s.op}{'' if s.applied else ' (refused)'}"
                      for i, s in enumerate(report.steps[:index + 1])]
                     + [f"  {r.verdict.value} {r.name}: {r.detail}".rstrip()
                        + (" " + ", ".join(f"{k}={v}" for k, v in sorted(r.witness.items())) if r.witness else "")
                        for r in step.failures])
    return Row(Section.CONFORMANCE, name, outcome, f"step {index} {step.op}: {checks}", text + "\n",
               seconds=seconds, failed_checks=tuple(r.name for r in step.failures), coverage=coverage)


# ----------------------------------------------------------------- proofs

def proof_groups(cfg: CheckConfig, chosen: list[Any]
                  ) -> tuple[dict[tuple[str, str], list[str]], dict[str, str | None]]:
    """Obligation names by (design, operation), in suite order, and the model variant each design proves.

    A selection (``--obligation``) applies to every design that has a matching obligation; a name no chosen
    design knows is a usage error.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    variants: dict[str, str | None] = {}
    unknown: set[str] | None = None if cfg.obligations is None else set(cfg.obligations)
    for design in chosen:
        variant = proof_variant([b for b in cfg.bugs if b in design.prover.variants or b in design.bugs], design)
        variants[design.name] = variant
        every = design.prover.obligations(variant)
        wanted = None if cfg.obligations is None else set(cfg.obligations)
        for ob in every:
            if wanted is None or wanted & {ob.name, ob.op, ob.invariant}:
                groups.setdefault((design.name, ob.op), []).append(ob.name)
        if unknown is not None:
            unknown -= {w for w in unknown for ob in every if w in (ob.name, ob.op, ob.invariant)}
    if unknown:
        raise UsageError(f"no obligation matches {', '.join(sorted(unknown))} (see `framemc list --kind "
                         f"obligations`)")
    return groups, variants


def proof_tasks(groups: dict[tuple[str, str], list[str]], chosen: list[Any]) -> list[tuple[str, list[str]]]:
    """(design, obligation names) per worker task: one per operation, and one per obligation of an operation
    its design's prover lists as slow (``slow_ops``), those first."""
    slow = {d.name: tuple(getattr(d.prover, "slow_ops", ())) for d in chosen}
    tasks = [(design, [name]) for (design, op), names in groups.items() if op in slow.get(design, ())
             for name in names]
    return tasks + [(design, names) for (design, op), names in groups.items() if op not in slow.get(design, ())]


def _proof_row(design: str, r: Any) -> Row:
    """The row of one obligation's result."""
    return dataclasses.replace(_proof_outcome(r), design=design)


def _proof_outcome(r: Any) -> Row:
    from framemc.verdicts import UnknownCause, Verdict
    if r.verdict is Verdict.PROVED:
        return Row(Section.PROOFS, r.name, Outcome.PASS, "proved", seconds=r.seconds)
    if r.verdict is Verdict.REFUTED:
        return Row(Section.PROOFS, r.name, Outcome.VIOLATION, "refuted: z3 found a counterexample step",
                   r.counterexample + "\n", seconds=r.seconds)
    if r.verdict is Verdict.VACUOUS:
        return Row(Section.PROOFS, r.name, Outcome.VIOLATION, "vacuous: its hypotheses contradict each other",
                   r.reason + "\n", seconds=r.seconds)
    if r.cause is UnknownCause.DEADLINE:
        detail = NOT_RUN if r.rlimit_used == 0 else f"{CUT}: not a proof"
        return Row(Section.PROOFS, r.name, Outcome.INCONCLUSIVE, detail, seconds=r.seconds, cut=True)
    return Row(Section.PROOFS, r.name, Outcome.INCONCLUSIVE,
               f"z3 said unknown ({r.reason or 'no reason given'}): not a proof", seconds=r.seconds)


def _not_run(design: str, names: list[str]) -> list[Row]:
    return [Row(Section.PROOFS, n, Outcome.INCONCLUSIVE, NOT_RUN, cut=True, design=design) for n in names]


#: the queue worker processes put each obligation's (design, result) on (set in each worker by ``_worker_init``)
_RESULTS: Any = None


def _worker_init(results: Any) -> None:
    global _RESULTS
    _RESULTS = results


def _run_group(design: str, names: list[str], variant: str | None, cfg: CheckConfig, deadline: float | None,
               on_result: Callable[[Any], None] | None = None) -> list[Any]:
    from framemc.design import design_named
    if on_result is None and _RESULTS is not None:
        queue = _RESULTS
        on_result = lambda r: queue.put((design, r))  # noqa: E731
    return design_named(design).prover.run(names, variant=variant, timeout_ms=cfg.proof_timeout_ms,
                                           rlimit_scale=cfg.proof_rlimit_scale, deadline=deadline,
                                           max_order=cfg.max_order, on_result=on_result)


class _ProofJobs:
    """The proof obligations, run in worker processes while the rest of the suite runs here.

    A task is one operation's obligations (they share the operation's
    symbolic context), except for each design's slowest operations, whose
    obligations are a task each: they take many seconds apiece, and one task
    for all of them would leave the other workers idle at the end.  Slow
    tasks go first.  Workers put each result on a queue as soon as it is
    decided, so rows stream in while a task is still running.
    """

    def __init__(self, groups: dict[tuple[str, str], list[str]], variants: dict[str, str | None],
                 cfg: CheckConfig, clock: _Clock, chosen: list[Any]) -> None:
        #: every (design, obligation name), in suite order
        self.keys = [(design, name) for (design, _), names in groups.items() for name in names]
        context = multiprocessing.get_context("fork")
        #: where the workers put each result as it is decided
        self._results = context.SimpleQueue()
        # fork: the workers inherit the loaded model and the registered designs instead of re-importing them
        self._pool = context.Pool(min(cfg.jobs, len(self.keys)), initializer=_worker_init,
                                  initargs=(self._results,))
        tasks = proof_tasks(groups, chosen)
        #: one pending result per task (its rows come through the queue; this only reports a crash)
        self._pending = [self._pool.apply_async(_run_group, (design, names, variants[design], cfg, clock.deadline))
                         for design, names in tasks]

    def close(self) -> None:
        """Stop the workers (idempotent): whatever they still run is not needed any more."""
        self._pool.terminate()
        self._pool.join()

    def collect(self, clock: _Clock, progress: Progress) -> list[Row]:
        """Wait for every obligation (or the deadline); those cut by the deadline are not-run rows."""
        results: dict[tuple[str, str], Row] = {}
        try:
            while len(results) < len(self.keys):
                while not self._results.empty():
                    design, result = self._results.get()
                    row = clock.cut(_proof_row(design, result))
                    results[(design, row.name)] = row
                    progress.finished(row)
                if len(results) >= len(self.keys):
                    break
                for pending in self._pending:
                    if pending.ready() and not pending.successful():
                        pending.get()  # re-raise the worker's exception here
                if all(p.ready() for p in self._pending) and self._results.empty():
                    break
                if clock.out():
                    break
                time.sleep(0.02)
        finally:
            self.close()
        rows = []
        for key in self.keys:
            if key not in results:
                clock.exhausted = True
                results[key] = _not_run(*key[:1], [key[1]])[0]
                progress.finished(results[key])
            rows.append(results[key])
        return rows


def _proofs_inline(groups: dict[tuple[str, str], list[str]], variants: dict[str, str | None], cfg: CheckConfig,
                   clock: _Clock, progress: Progress) -> list[Row]:
    rows: list[Row] = []
    for (design, _), names in groups.items():
        if clock.out():
            for row in _not_run(design, names):
                rows.append(row)
                progress.finished(row)
            continue

        def emit(result: Any, design: str = design) -> None:
            row = clock.cut(_proof_row(design, result))
            rows.append(row)
            progress.finished(row)
        _run_group(design, names, variants[design], cfg, clock.deadline, emit)
    return rows


# ----------------------------------------------------------------- the suite

def run_suite(cfg: CheckConfig, progress: Progress | None = None) -> SuiteResult:
    """Run the suite ``cfg`` selects, for every chosen design, and return its rows (UsageError for unknown
    names, or nothing to check).

    Rows are reported to ``progress`` as they are decided; the result holds
    them in suite order: each section for every design in turn.
    """
    progress = progress or _NoProgress()
    chosen = chosen_designs(cfg)
    model_only = sorted(b for b in cfg.bugs if not any(b in d.bugs for d in chosen))
    if model_only and set(cfg.include) - {"proofs"}:
        raise UsageError(f"{', '.join(model_only)} is a broken model operation with no impl counterpart: "
                         f"prove it alone with `framemc prove --variant {model_only[0]}`")
    clock = _Clock(cfg.time_budget)
    plan, notes, broken = _scenario_plan(cfg, chosen) if "scenarios" in cfg.include else ([], [], [])
    groups, variants = proof_groups(cfg, chosen) if "proofs" in cfg.include else ({}, {})
    checked = [d for d in chosen if d.conformance is not None]
    names: dict[str, tuple[str, ...]] = {
        "scenarios": tuple(r.name for r in broken) + tuple(f"{m}/{s.name}" for _, m, s in plan),
        "conformance": tuple(_conformance_name(cfg) for _ in checked),
        "proofs": tuple(n for group in groups.values() for n in group),
    }
    empty = [name for name in cfg.include if not names[name]]
    if empty:
        why = "; ".join(notes) or "the selection matches no item"
        raise UsageError(f"nothing to check: no {' and no '.join(empty)} selected ({why})")
    for design in chosen:
        if cfg.bugs and "proofs" in cfg.include and variants.get(design.name) is None:
            notes.append(f"the {design.name} proofs ran on the correct model: no model variant is named "
                         f"{', '.join(cfg.bugs)}")
    jobs = _ProofJobs(groups, variants, cfg, clock, chosen) if groups and cfg.jobs > 1 else None
    rows: list[Row] = []
    by_section: dict[str, Callable[[], list[Row]]] = {
        "scenarios": lambda: [_finished(progress, _scenario_row(d, m, s, cfg, clock, progress)) for d, m, s in plan],
        "conformance": lambda: [_finished(progress, _conformance_row(d, cfg, clock)) for d in checked],
        "proofs": lambda: (jobs.collect(clock, progress) if jobs is not None
                           else _proofs_inline(groups, variants, cfg, clock, progress)),
    }
    for name in cfg.include:
        progress.start(Section(name), names[name])
    for row in broken:
        rows.append(row)
        progress.finished(row)
    try:
        for name in cfg.include:
            section_rows = by_section[name]()
            if name == "proofs":
                order = {(d, n): i for i, (d, n) in enumerate((d, n) for (d, _), names in groups.items()
                                                               for n in names)}
                section_rows.sort(key=lambda r: order.get((r.design, r.name), len(order)))
            rows.extend(section_rows)
    finally:
        if jobs is not None:
            jobs.close()
    return SuiteResult(tuple(rows), cfg, clock.exhausted, tuple(notes))


def _finished(progress: Progress, row: Row) -> Row:
    progress.finished(row)
    return row
