"""The default suite of ``framemc check``: proofs, bundled scenarios, conformance, as typed rows.

Design: every item the suite runs (one proof obligation, one scenario under
one memory model, the conformance run) becomes one :class:`Row` whose
:class:`Outcome` is PASS, VIOLATION or INCONCLUSIVE; the process exit code
is computed from those outcomes in one place (:func:`exit_code`).  A time
budget is one deadline for the whole suite: each scenario gets what is
left, each proof query at most what is left, and an item that could not
start is an INCONCLUSIVE row saying so, never a pass.  Cheap items run
first; with several jobs the proofs run in worker processes while the
scenarios run here.  Progress is reported through a small callback
protocol, so this module knows nothing about terminals.
"""

from __future__ import annotations

import enum
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from framemc.cli_config import CheckConfig
from framemc.cli_trace import bundled_origin, bundled_registry
from framemc.errors import UsageError
from framemc.explorer import Bounds, Counterexample, Status, explore
from framemc.impl.variants import validate_bugs

__all__ = ["Outcome", "ExitCode", "Section", "Row", "SuiteResult", "Progress", "exit_code", "run_suite",
           "proof_variant", "NOT_RUN"]

#: the detail of an item the time budget left no room for
NOT_RUN = "not run: the time budget ran out"


class Outcome(enum.Enum):
    """The verdict on one item of the suite."""

    #: proved, or explored exhaustively with every check holding
    PASS = "pass"
    #: refuted, or a counterexample was found
    VIOLATION = "violation"
    #: z3 said unknown, a bound or budget cut the search, or the item could not run
    INCONCLUSIVE = "inconclusive"


class ExitCode(enum.IntEnum):
    """The process exit codes of every framemc command."""

    #: everything holds
    OK = 0
    #: a violation or a refuted obligation
    VIOLATION = 1
    #: a usage or input error
    USAGE = 2
    #: something was inconclusive and nothing was violated
    INCONCLUSIVE = 3


class Section(enum.Enum):
    """Which part of the suite a row belongs to."""

    SCENARIOS = "scenarios"
    CONFORMANCE = "conformance"
    PROOFS = "proofs"


def exit_code(outcomes: Iterable[Outcome]) -> ExitCode:
    """1 if anything was violated, else 3 if anything was inconclusive, else 0 (the only place this is decided)."""
    seen = set(outcomes)
    if Outcome.VIOLATION in seen:
        return ExitCode.VIOLATION
    if Outcome.INCONCLUSIVE in seen:
        return ExitCode.INCONCLUSIVE
    return ExitCode.OK


@dataclass(frozen=True)
class Row:
    """One item of the suite and its verdict."""

    #: the part of the suite
    section: Section
    #: the item's name (``sc/claim-race``, ``buddy_free/I1-...``, ``conformance``)
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

    def coverage(self) -> str:
        """One line saying what ran to completion, for budget-cut runs."""
        finished = sum(r.detail != NOT_RUN for r in self.rows)
        return f"{finished} of {len(self.rows)} items ran"


class Progress(Protocol):
    """What the suite tells a progress display."""

    def start(self, section: Section, total: int) -> None:
        """A section with ``total`` items begins."""

    def advance(self, section: Section, count: int = 1) -> None:
        """``count`` more items of ``section`` are done."""


class _NoProgress:
    """A progress display that shows nothing."""

    def start(self, section: Section, total: int) -> None:
        """Ignore."""

    def advance(self, section: Section, count: int = 1) -> None:
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


def proof_variant(bugs: Iterable[str]) -> str | None:
    """The model variant named like one of ``bugs`` (the proofs take at most one), or None."""
    from framemc.model import VARIANTS
    named = sorted(b for b in bugs if b in VARIANTS)
    if len(named) > 1:
        raise UsageError(f"the proofs take one model variant at a time, but bugs {', '.join(named)} all have one")
    return named[0] if named else None


# ----------------------------------------------------------------- scenarios

def _scenario_plan(cfg: CheckConfig) -> tuple[list[tuple[str, Any]], list[str], list[Row]]:
    """(memory model, scenario) pairs to run, notes, and rows for registries that failed to load."""
    plan: list[tuple[str, Any]] = []
    notes: list[str] = []
    broken: list[Row] = []
    known: set[str] = set()
    for model in cfg.memory_models:
        try:
            registry = bundled_registry(model)
        except ImportError as exc:
            notes.append(f"no {model} scenarios: {exc}")
            continue
        except Exception as exc:  # a registry that exists but fails to import must not pass silently
            broken.append(Row(Section.SCENARIOS, f"{model}/*", Outcome.INCONCLUSIVE,
                              f"{model} scenarios unavailable: {type(exc).__name__}: {exc}"))
            continue
        known.update(registry)
        plan.extend((model, registry[name]) for name in registry
                    if cfg.scenarios is None or name in cfg.scenarios)
    unknown = sorted(set(cfg.scenarios or ()) - known)
    if unknown and not broken:
        raise UsageError(f"unknown scenario {', '.join(repr(u) for u in unknown)}; known scenarios: "
                         f"{', '.join(sorted(known))}")
    return plan, notes, broken


def _scenario_row(model: str, scenario: Any, cfg: CheckConfig, clock: _Clock) -> Row:
    name = f"{model}/{scenario.name}"
    origin = bundled_origin(scenario.name, cfg.bugs, model)
    if clock.out():
        return Row(Section.SCENARIOS, name, Outcome.INCONCLUSIVE, NOT_RUN, origin=origin)
    left = clock.left()
    started = time.perf_counter()
    try:
        bounds = Bounds(cfg.max_executions, cfg.preemption_bound, cfg.max_steps,
                        None if left is None else max(left, 0.001))
        result = explore(scenario.setup(cfg.bugs), model, bounds=bounds)
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
    if result.bound_hit is not None:
        if result.bound_hit.value == "time_budget":
            clock.exhausted = True
        detail = f"{result.bound_hit.value} hit after {result.executions} executions: not exhaustive"
    else:
        undecided = sorted({getattr(f, "name", "?") for f in result.inconclusive})
        detail = f"{result.executions} executions; checks z3 could not decide: {', '.join(undecided)}"
    return Row(Section.SCENARIOS, name, Outcome.INCONCLUSIVE, detail, origin=origin, seconds=seconds)


def _first_line(text: str, width: int = 160) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 3] + "..."


# ----------------------------------------------------------------- conformance

def _conformance_row(cfg: CheckConfig, clock: _Clock) -> Row:
    name = f"conformance (seed {cfg.conformance_seed}, {cfg.conformance_steps} steps)"
    if clock.out():
        return Row(Section.CONFORMANCE, name, Outcome.INCONCLUSIVE, NOT_RUN)
    started = time.perf_counter()
    try:
        from framemc.conformance import run_conformance
        report = run_conformance(seed=cfg.conformance_seed, steps=cfg.conformance_steps, bugs=frozenset(cfg.bugs))
    except UsageError:
        raise
    except Exception as exc:  # the conformance module is optional: never let its absence pass
        return Row(Section.CONFORMANCE, name, Outcome.INCONCLUSIVE,
                   f"conformance unavailable: {type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    verdict = report.verdict.value.lower()
    outcome = {o.value: o for o in Outcome}[verdict]
    failure = report.first_failure()
    if failure is None:
        return Row(Section.CONFORMANCE, name, outcome, f"{len(report.steps)} steps agree with the model",
                   seconds=seconds)
    index, step = failure
    checks = ", ".join(r.name for r in step.failures)
    text = "\n".join([f"step {i}: {s.op}{'' if s.applied else ' (refused)'}"
                      for i, s in enumerate(report.steps[:index + 1])]
                     + [f"  {r.verdict.value} {r.name}: {r.detail}".rstrip()
                        + (" " + ", ".join(f"{k}={v}" for k, v in sorted(r.witness.items())) if r.witness else "")
                        for r in step.failures])
    return Row(Section.CONFORMANCE, name, outcome, f"step {index} {step.op}: {checks}", text + "\n",
               seconds=seconds)


# ----------------------------------------------------------------- proofs

def _proof_groups(cfg: CheckConfig) -> tuple[dict[str, list[str]], str | None]:
    """Obligation names by operation (in suite order), and the model variant to prove them on."""
    from framemc.proofs.engine import select
    variant = proof_variant(cfg.bugs)
    groups: dict[str, list[str]] = {}
    for ob in select(cfg.obligations, variant=variant):
        groups.setdefault(ob.op, []).append(ob.name)
    return groups, variant


def _proof_rows(results: list[Any]) -> list[Row]:
    from framemc.proofs.engine import Verdict
    rows = []
    for r in results:
        if r.verdict is Verdict.PROVED:
            rows.append(Row(Section.PROOFS, r.name, Outcome.PASS, "proved", seconds=r.seconds))
        elif r.verdict is Verdict.REFUTED:
            rows.append(Row(Section.PROOFS, r.name, Outcome.VIOLATION, "refuted: z3 found a counterexample step",
                            r.counterexample + "\n", seconds=r.seconds))
        else:
            rows.append(Row(Section.PROOFS, r.name, Outcome.INCONCLUSIVE,
                            f"z3 said unknown ({r.reason or 'no reason given'}): not a proof", seconds=r.seconds))
    return rows


def _not_run(names: list[str]) -> list[Row]:
    return [Row(Section.PROOFS, n, Outcome.INCONCLUSIVE, NOT_RUN) for n in names]


def _timeout_ms(cfg: CheckConfig, clock: _Clock) -> int:
    left = clock.left()
    return cfg.proof_timeout_ms if left is None else max(1, min(cfg.proof_timeout_ms, int(left * 1000)))


def _run_group(names: list[str], variant: str | None, timeout_ms: int) -> list[Any]:
    from framemc.proofs.engine import run_obligations
    return run_obligations(names, variant=variant, timeout_ms=timeout_ms)


class _ProofJobs:
    """The proof obligations, run in worker processes while the rest of the suite runs here.

    A task is one operation's obligations (they share the operation's
    symbolic context), except for the slowest operations, whose obligations
    are a task each: they take many seconds apiece, and one task for all of
    them would leave the other workers idle at the end.  Slow tasks go first.
    """

    def __init__(self, by_op: dict[str, list[str]], variant: str | None, cfg: CheckConfig, clock: _Clock) -> None:
        #: every obligation name, in suite order
        self.names = [name for names in by_op.values() for name in names]
        # fork: the workers inherit the loaded model instead of re-importing it
        self._pool = multiprocessing.get_context("fork").Pool(min(cfg.jobs, len(self.names)))
        from framemc.proofs import engine
        slow = tuple(getattr(engine, "_SLOW_OPS", ()))
        tasks = [[name] for op in by_op if op in slow for name in by_op[op]]
        tasks += [names for op, names in by_op.items() if op not in slow]
        #: one pending result per task, with the task's obligation names
        self._pending = [(names, self._pool.apply_async(_run_group, (names, variant, _timeout_ms(cfg, clock))))
                         for names in tasks]

    def close(self) -> None:
        """Stop the workers (idempotent): whatever they still run is not needed any more."""
        self._pool.terminate()
        self._pool.join()

    def collect(self, clock: _Clock, progress: Progress) -> list[Row]:
        """Wait for every obligation (or the deadline); those cut by the deadline are not-run rows."""
        results: dict[str, Row] = {}
        try:
            while len(results) < len(self.names):
                for names, pending in self._pending:
                    if names[0] not in results and pending.ready():
                        results.update((row.name, row) for row in _proof_rows(pending.get()))
                        progress.advance(Section.PROOFS, len(names))
                if len(results) < len(self.names):
                    if clock.out():
                        break
                    time.sleep(0.02)
        finally:
            self.close()
        return [results[name] if name in results else _not_run([name])[0] for name in self.names]


def _proofs_inline(groups: dict[str, list[str]], variant: str | None, cfg: CheckConfig, clock: _Clock,
                   progress: Progress) -> list[Row]:
    rows: list[Row] = []
    for names in groups.values():
        if clock.out():
            rows.extend(_not_run(names))
            continue
        rows.extend(_proof_rows(_run_group(names, variant, _timeout_ms(cfg, clock))))
        progress.advance(Section.PROOFS, len(names))
    return rows


# ----------------------------------------------------------------- the suite

def run_suite(cfg: CheckConfig, progress: Progress | None = None) -> SuiteResult:
    """Run the suite ``cfg`` selects and return its rows (UsageError for unknown names, before anything runs)."""
    progress = progress or _NoProgress()
    validate_bugs(cfg.bugs)
    clock = _Clock(cfg.time_budget)
    plan, notes, broken = _scenario_plan(cfg) if "scenarios" in cfg.include else ([], [], [])
    groups, variant = _proof_groups(cfg) if "proofs" in cfg.include else ({}, None)
    if cfg.bugs and "proofs" in cfg.include and variant is None:
        notes.append(f"the proofs ran on the correct model: no model variant is named {', '.join(cfg.bugs)}")
    jobs = _ProofJobs(groups, variant, cfg, clock) if groups and cfg.jobs > 1 else None
    rows: list[Row] = list(broken)
    by_section: dict[str, Callable[[], list[Row]]] = {
        "scenarios": lambda: [_advanced(progress, Section.SCENARIOS, _scenario_row(m, s, cfg, clock))
                              for m, s in plan],
        "conformance": lambda: [_advanced(progress, Section.CONFORMANCE, _conformance_row(cfg, clock))],
        "proofs": lambda: (jobs.collect(clock, progress) if jobs is not None
                           else _proofs_inline(groups, variant, cfg, clock, progress)),
    }
    totals = {"scenarios": len(plan), "conformance": 1, "proofs": sum(len(g) for g in groups.values())}
    for name in cfg.include:
        progress.start(Section(name), totals[name])
    try:
        for name in cfg.include:
            rows.extend(by_section[name]())
    finally:
        if jobs is not None:
            jobs.close()
    return SuiteResult(tuple(rows), cfg, clock.exhausted, tuple(notes))


def _advanced(progress: Progress, section: Section, row: Row) -> Row:
    progress.advance(section)
    return row
