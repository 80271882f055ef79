"""The public entry points: explore a scenario, replay a counterexample.

Design: ``explore`` validates its arguments into one :class:`Bounds`, runs
the search, and, when it finds a counterexample without a preemption bound,
looks for one with fewer preemptions, then fewer events, by iterative
deepening with the plain search (which visits every schedule within a
preemption bound).  ``replay`` re-runs one recorded execution (its schedule,
what each read read and where each write went in modification order) and
checks every event against the trace, so a scenario that changed since the
trace was written is reported where it diverges, and a fixed scenario is
reported as no longer failing.
"""

from __future__ import annotations

from typing import Any, Callable

from framemc.errors import UsageError
from framemc.explorer.bounds import DEFAULT_MAX_STEPS, Bounds, MemoryModel, Reduction
from dataclasses import replace

from framemc.explorer.engine import DivergedError, Explorer
from framemc.explorer.events import SourceLocator
from framemc.explorer.result import ExploreResult, ExploreStats, Status
from framemc.explorer.search import SearchOutcome, run_search
from framemc.explorer.trace import Counterexample
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
            minimize: bool = True, bounds: Bounds | None = None, outcomes: bool = False,
            progress: Callable[[int, int, float], None] | None = None, workers: int = 1,
            dask: Any = None, checkpoint: str | None = None, checkpoint_every: float = 60.0,
            resume: str | None = None) -> ExploreResult:
    """Explore every execution of ``setup``'s threads: each consistent execution graph exactly once.

    Under ``"sc"`` that is one execution per Mazurkiewicz trace; under ``"c11"`` one per RC11-consistent
    graph.  ``outcomes=True`` also collects the distinct final observations in ``result.outcomes``.
    ``progress(executions, blocked, seconds)`` is called a few times a second while the search runs (with a
    fourth parameter, a split search also passes its :class:`~framemc.explorer.parallel.ParallelStats`).

    ``workers=N`` splits the search over N processes of this machine; ``dask="tcp://host:port"`` (or a
    ``distributed.Client``) over the workers of a Dask cluster, which must be able to import ``setup``'s
    module.  ``checkpoint=FILE`` writes the work left to FILE every ``checkpoint_every`` seconds, and
    ``resume=FILE`` goes on from such a file.  Each of these gives the result one process gives: the same
    executions, outcomes, verdict and counterexample; ``result.parallel`` says how the work was spread.
    """
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
    if not isinstance(outcomes, bool):
        raise UsageError(f"outcomes must be True or False, got {outcomes!r}")
    if progress is not None and not callable(progress):
        raise UsageError(f"progress must be a callable or None, got {progress!r}")
    checker = StateChecker()
    locator = SourceLocator()
    spread = _parallel_options(workers, dask, checkpoint, checkpoint_every, resume)
    stats = None
    if spread:
        if strategy is not Reduction.OPTIMAL or bounds.preemption_bound is not None:
            raise UsageError("workers, dask, checkpoint and resume need the optimal search: drop "
                             "reduction='none' and the preemption bound")
        from framemc.explorer.parallel import run_parallel
        found, stats, checker = run_parallel(setup, bounds, model, workers=workers, dask=dask, outcomes=outcomes,
                                             checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                             resume=resume, progress=progress)
    else:
        found = run_search(setup, bounds, strategy, checker, locator, model=model, outcomes=outcomes,
                           progress=progress)
    violation = None
    extra = 0
    if found.failing is not None:
        violation = Counterexample.from_record(found.failing, model.value, bounds.max_steps)
        if minimize and bounds.preemption_bound is None:
            violation, extra = _fewest_preemptions(setup, bounds, violation, model, checker, locator,
                                                   max(MINIMIZE_SECONDS, found.elapsed))
    result = _result(found, violation, bounds, checker, extra)
    return result if stats is None else replace(result, parallel=stats)


def _parallel_options(workers: Any, dask: Any, checkpoint: Any, checkpoint_every: Any, resume: Any) -> bool:
    """Validate the parallel keywords; True when the search runs in pieces."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a whole number >= 1, got {workers!r}")
    if dask is not None and not isinstance(dask, str) and not hasattr(dask, "submit"):
        raise UsageError(f"dask must be a scheduler address like tcp://host:8786 or a distributed.Client, "
                         f"got {dask!r}")
    for name, value in (("checkpoint", checkpoint), ("resume", resume)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{name} must be a file path, got {value!r}")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, float)) \
            or not checkpoint_every > 0:
        raise UsageError(f"checkpoint_every must be a number of seconds > 0, got {checkpoint_every!r}")
    return workers > 1 or dask is not None or checkpoint is not None or resume is not None


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
    stats = ExploreStats(found.events, found.elapsed, checker.checked, checker.hits, found.blocked,
                         extra, found.consistent, found.invalid, found.replayed)
    return ExploreResult(found.executions, exhaustive, violation, status, stats, bounds, found.cut, inconclusive,
                         found.outcomes)


def replay(setup: Callable[[], Any], trace: "Counterexample | str | dict[str, Any]") -> ExploreResult:
    """Re-run exactly the execution of ``trace`` (a Counterexample, its JSON, or the parsed dict).

    The result is a VIOLATION when the violation reproduces, and a PASS when the scenario now runs the
    trace's steps without it (the fix worked); ``result.stats`` then says nothing failed. A trace that
    does not fit the scenario (another thread runs, another location is touched) raises UsageError
    naming the step, unless the scenario ran the trace's steps and then ended clean, which is a PASS.
    """
    _check_setup(setup)
    cx = Counterexample.from_json(trace)
    model = MemoryModel.parse(cx.memory_model)
    bounds = Bounds(1, None, cx.max_steps, None)
    checker = StateChecker()
    explorer = Explorer(setup, bounds, model, checker, SourceLocator(), optimal=False)
    try:
        record = explorer.replay(cx)
    except DivergedError as exc:
        found = SearchOutcome(1, explorer.events, None, None, 0, 0.0, 1)
        return replace(_result(found, None, bounds, checker, 0),
                       note=f"the violation no longer reproduces: the run left the trace {exc}")
    if record is None or record.violation is None or record.violation.kind is not cx.kind:
        found = SearchOutcome(1, explorer.events, None, None, 0, 0.0, 1)
        got = "without a violation" if record is None or record.violation is None else \
            f"with a {record.violation.kind.value} violation instead: {record.violation.message}"
        return replace(_result(found, None, bounds, checker, 0),
                       note=f"the violation no longer reproduces: the run followed the trace's "
                            f"{len(cx.schedule)} steps and ended {got}")
    violation = Counterexample.from_record(record, model.value, bounds.max_steps)
    found = SearchOutcome(1, len(record.events), record, None, 0, 0.0, 1)
    return _result(found, violation, bounds, checker, 0)
