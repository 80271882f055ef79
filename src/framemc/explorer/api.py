"""The public entry points: explore a scenario, replay a counterexample.

Design: ``explore`` validates its arguments into one :class:`Bounds`, runs
the search, and, when it finds a counterexample without a preemption bound,
looks for one with fewer preemptions, then fewer events, by iterative
deepening with the plain search (which, unlike the DPOR, visits every
schedule within a preemption bound).  ``replay`` re-runs one schedule and checks every event against the
trace, so a scenario that changed since the trace was written is reported
where it diverges.
"""

from __future__ import annotations

from typing import Any, Callable

from framemc.errors import UsageError
from framemc.explorer.bounds import DEFAULT_MAX_STEPS, Bounds, MemoryModel, Reduction
from framemc.explorer.events import Event, SourceLocator, creation_hook
from framemc.explorer.execution import Execution
from framemc.explorer.result import ExploreResult, ExploreStats, Status
from framemc.explorer.search import SearchOutcome, run_search
from framemc.explorer.trace import Counterexample, TraceEvent
from framemc.explorer.watch import StateChecker

__all__ = ["explore", "replay", "MINIMIZE_BUDGET", "MINIMIZE_SECONDS"]

#: executions the minimal-preemption search may spend per preemption bound
MINIMIZE_BUDGET = 2000
#: seconds it may spend per preemption bound (or as long as the search that found the bug, if longer)
MINIMIZE_SECONDS = 1.0


def _check_setup(setup: object) -> None:
    if not callable(setup):
        raise UsageError(f"setup must be a zero-argument callable returning the threads, got {type(setup).__name__}")


def explore(setup: Callable[[], Any], memory_model: str = "sc", max_executions: int | None = None,
            preemption_bound: int | None = None, *, max_steps: int = DEFAULT_MAX_STEPS,
            time_budget: float | None = None, reduction: str | Reduction = "optimal",
            minimize: bool = True, bounds: Bounds | None = None) -> ExploreResult:
    """Explore every interleaving of ``setup``'s threads (one per Mazurkiewicz trace by default)."""
    _check_setup(setup)
    model = MemoryModel.parse(memory_model)
    strategy = Reduction.parse(reduction)
    if bounds is None:
        bounds = Bounds(max_executions, preemption_bound, max_steps, time_budget)
    elif not isinstance(bounds, Bounds):
        raise UsageError(f"bounds must be a framemc Bounds, got {type(bounds).__name__}")
    elif (max_executions, preemption_bound, max_steps, time_budget) != (None, None, DEFAULT_MAX_STEPS, None):
        raise UsageError("pass either bounds= or the bound keywords (max_executions, preemption_bound, "
                         "max_steps, time_budget), not both")
    if not isinstance(minimize, bool):
        raise UsageError(f"minimize must be True or False, got {minimize!r}")
    checker = StateChecker()
    locator = SourceLocator()
    found = run_search(setup, bounds, strategy, checker, locator, model=model)
    violation = None
    extra = 0
    if found.failing is not None:
        violation = Counterexample.from_record(found.failing, model.value, bounds.max_steps)
        if minimize and bounds.preemption_bound is None:
            violation, extra = _fewest_preemptions(setup, bounds, violation, model, checker, locator,
                                                   max(MINIMIZE_SECONDS, found.elapsed))
    return _result(found, violation, bounds, checker, extra)


def _fewest_preemptions(setup: Callable[[], Any], bounds: Bounds, found: Counterexample, model: MemoryModel,
                        checker: StateChecker, locator: SourceLocator, seconds: float) -> tuple[Counterexample, int]:
    spent = 0
    budget = MINIMIZE_BUDGET if bounds.max_executions is None else min(MINIMIZE_BUDGET, bounds.max_executions)
    if bounds.time_budget is not None:
        seconds = min(seconds, bounds.time_budget)
    for bound in range(found.preemptions + 1):
        limited = Bounds(budget, bound, bounds.max_steps, seconds)
        attempt = run_search(setup, limited, Reduction.NONE, checker, locator, shortest=True, model=model)
        spent += attempt.executions
        if attempt.failing is not None:
            best = Counterexample.from_record(attempt.failing, model.value, bounds.max_steps)
            if (best.preemptions, len(best.events)) < (found.preemptions, len(found.events)):
                return best, spent
            return found, spent
    return found, spent


def _result(found: SearchOutcome, violation: Counterexample | None, bounds: Bounds,
            checker: StateChecker, extra: int) -> ExploreResult:
    inconclusive = tuple(checker.inconclusive[k] for k in sorted(checker.inconclusive))
    exhaustive = violation is None and found.cut is None
    if violation is not None:
        status = Status.VIOLATION
    elif inconclusive or not exhaustive:
        status = Status.INCONCLUSIVE
    else:
        status = Status.PASS
    stats = ExploreStats(found.events, found.elapsed, checker.checked, checker.hits, found.sleep_blocked,
                         extra, found.consistent, found.assume_blocked)
    return ExploreResult(found.executions, exhaustive, violation, status, stats, bounds, found.cut, inconclusive)


class _ReplayChooser:
    """Follows a counterexample's schedule and checks each event against it."""

    def __init__(self, trace: Counterexample) -> None:
        #: the trace being replayed
        self._trace = trace

    def choose(self, depth: int, enabled: list[int], last: int | None) -> int | None:
        """The scheduled thread at ``depth``; UsageError if the scenario cannot take it."""
        schedule = self._trace.schedule
        if depth >= len(schedule):
            return None
        t = schedule[depth]
        if t not in enabled:
            raise UsageError(f"the trace does not match this scenario at step {depth}: expected thread {t} "
                             f"to run, got enabled threads {enabled}")
        return t

    def executed(self, depth: int, event: Event) -> None:
        """Check the event against the trace."""
        want = self._trace.events[depth]
        got = TraceEvent.of(event)
        if got.identity() != want.identity():
            raise UsageError(f"the trace does not match this scenario at step {depth}: expected "
                             f"{_show(want)}, got {_show(got)}")

    def pick(self, depth: int, count: int) -> int:
        """The store the trace's event at ``depth`` read (or its mo position)."""
        want = self._trace.events[depth].pick if depth < len(self._trace.events) else 0
        if want >= count:
            raise UsageError(f"the trace does not match this scenario at step {depth}: it read option {want}, "
                             f"but only {count} stores are allowed there")
        return want


def _show(e: TraceEvent) -> str:
    return f"T{e.thread} {e.describe()}"


def replay(setup: Callable[[], Any], trace: "Counterexample | str | dict[str, Any]") -> ExploreResult:
    """Re-run exactly the schedule of ``trace`` (a Counterexample, its JSON, or the parsed dict)."""
    _check_setup(setup)
    cx = Counterexample.from_json(trace)
    model = MemoryModel.parse(cx.memory_model)
    bounds = Bounds(1, None, cx.max_steps, None)
    checker = StateChecker()
    chooser = _ReplayChooser(cx)
    execution = Execution(setup, bounds, checker, SourceLocator(), model)
    with creation_hook(execution.created):
        record = execution.run(chooser)
    if record.nthreads != len(cx.threads):
        raise UsageError(f"the trace does not match this scenario: it has {len(cx.threads)} threads, "
                         f"the scenario {record.nthreads}")
    if len(record.events) < len(cx.schedule):
        raise UsageError(f"the trace does not match this scenario at step {len(record.events)}: expected "
                         f"{_show(cx.events[len(record.events)])}, got the end of the execution")
    if record.violation is None or record.violation.kind is not cx.kind:
        got = "no violation" if record.violation is None else f"a {record.violation.kind.value} violation"
        raise UsageError(f"the trace does not match this scenario after step {len(cx.schedule)}: expected "
                         f"a {cx.kind.value} violation, got {got}")
    violation = Counterexample.from_record(record, model.value, bounds.max_steps)
    found = SearchOutcome(1, len(record.events), record, None, 0, 0.0)
    return _result(found, violation, bounds, checker, 0)
