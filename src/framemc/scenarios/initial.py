"""Scenarios that start from a given allocator state instead of boot, and a sweep over many such states.

Design: a :class:`StateScenario` turns a snapshot into a ``setup`` for
:func:`framemc.explore`: every execution restores a fresh system from the
snapshot (:func:`framemc.impl.restore.restore`), registers it with
:func:`~framemc.scenarios.checks.watch_allocator` (every model invariant at
every scheduling point), and runs two CPUs whose work is planned from the
snapshot alone, before any thread runs, so the plan is the same in every
execution.  ``final()`` checks the scenario's end-to-end property: every
in-use frame whose handles were all dropped is back in the allocator, and
every other one keeps exactly its remaining handles.

:func:`explore_from_states` runs one scenario from each quiescent state (a
state with a busy frame belongs to a thread mid-operation, which a restored
system cannot resume, so such states are skipped and counted) and folds the
results into one verdict: a violation anywhere is a VIOLATION; an
inconclusive run, an incomplete enumeration or no run at all is
INCONCLUSIVE; otherwise PASS.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from framemc.errors import UsageError
from framemc.scenarios import lookup
from framemc.explorer import ExploreResult, Status, explore
from framemc.impl.errors import NoMemory
from framemc.impl.frame import Frame
from framemc.impl.restore import restore
from framemc.impl.system import FrameSystem
from framemc.impl.variants import validate_bugs
from framemc.model.enumerate import EnumerationResult, is_quiescent
from framemc.scenarios.checks import watch_allocator
from framemc.snapshot import PAGE_SIZE, AllocatorSnapshot

__all__ = ["StateScenario", "STATE_SCENARIOS", "state_scenario_named", "StateRun", "FromStatesReport",
           "explore_from_states", "FROM_STATE_CACHE_CAPACITY"]

#: per-CPU cache capacity of restored systems: the enumerator's default, so full caches stay full
FROM_STATE_CACHE_CAPACITY = 2

Setup = Callable[[], Any]
#: a plan: for each CPU, the in-use frames it drops one handle of (in order), then whether it allocates one
Plan = tuple[tuple[tuple[int, ...], bool], ...]


@dataclass(frozen=True)
class StateScenario:
    """A two-CPU scenario run from a given snapshot: a name, a sentence, and its per-snapshot plan."""

    #: stable name, for the command line and reports
    name: str
    #: one sentence: what the scenario does
    summary: str
    #: ``{frame: handles}`` of the snapshot -> each CPU's drops and whether it then allocates and drops a frame
    plan: Callable[[dict[int, int]], Plan]

    def setup(self, snap: AllocatorSnapshot, bugs: Iterable[str] = frozenset(), *,
              cache_capacity: int = FROM_STATE_CACHE_CAPACITY) -> Setup:
        """The ``setup`` for :func:`framemc.explore` that starts every execution from ``snap``."""
        chosen = validate_bugs(bugs)
        _, handles = restore(snap, cache_capacity=cache_capacity, bugs=chosen)  # validates once, up front
        plan = self.plan({f: len(h) for f, h in sorted(handles.items())})
        if len(plan) > len(snap.cached):
            raise UsageError(f"scenario {self.name!r} needs {len(plan)} CPUs; the snapshot has {len(snap.cached)}")
        for f in sorted({f for drops, _ in plan for f in drops}):
            wanted = sum(drops.count(f) for drops, _ in plan)
            if wanted > len(handles.get(f, ())):
                raise UsageError(f"scenario {self.name!r} drops {wanted} handles of frame {f}, "
                                 f"which has {len(handles.get(f, ()))}")
        return _from_state(snap, chosen, cache_capacity, plan)


def _from_state(snap: AllocatorSnapshot, bugs: frozenset[str], cache_capacity: int, plan: Plan) -> Setup:
    """The setup that restores ``snap`` afresh in every execution and runs ``plan`` on its CPUs."""
    dropped: dict[int, int] = {}
    for drops, _ in plan:
        for f in drops:
            dropped[f] = dropped.get(f, 0) + 1

    def setup() -> Any:
        system, handles = restore(snap, cache_capacity=cache_capacity, bugs=bugs)
        watch_allocator(system)
        pools = {f: list(h) for f, h in handles.items()}
        # handles are handed out now, before any thread runs, so threads share no Python lists
        mine = [[pools[f].pop() for f in drops] for drops, _ in plan]

        def cpu(index: int) -> Callable[[], None]:
            def run() -> None:
                for handle in mine[index]:
                    handle.drop()
                if plan[index][1]:
                    _alloc_and_drop(system)
            return run

        def final() -> None:
            _check_handles(system, handles, dropped)

        return [cpu(i) for i in range(len(plan))], final
    return setup


def _alloc_and_drop(system: FrameSystem) -> None:
    """Allocate one frame and drop it; running out of memory is a legal outcome, not a failure."""
    try:
        frame = system.alloc_frame()
    except NoMemory:
        return
    frame.drop()


def _check_handles(system: FrameSystem, handles: dict[int, tuple[Frame, ...]], dropped: dict[int, int]) -> None:
    """Frames whose every handle was dropped are back; the others count exactly their remaining handles."""
    allocated = {f for first, n in system.allocator.allocated() for f in range(first, first + n)}
    for f, held in sorted(handles.items()):
        left = len(held) - dropped.get(f, 0)
        refcount = system.meta.slots[f].refcount.peek()
        if left == 0:
            assert f not in allocated, (f"frame {f * PAGE_SIZE:#x} is still allocated (refcount {refcount:#x}) "
                                        f"after all {len(held)} of its handles were dropped")
        else:
            assert refcount == left, f"frame {f * PAGE_SIZE:#x} has refcount {refcount} but {left} live handles"


def _lowest(handles: dict[int, int], at_least: int) -> int | None:
    """The lowest in-use frame with at least ``at_least`` handles."""
    return next((f for f, k in sorted(handles.items()) if k >= at_least), None)


def _plan_alloc_vs_drop(handles: dict[int, int]) -> Plan:
    """CPU 0 allocates and drops; CPU 1 drops a handle of the lowest in-use frame (or allocates too)."""
    lowest = _lowest(handles, 1)
    if lowest is None:
        return (((), True), ((), True))
    return (((), True), ((lowest,), False))


def _plan_drop_vs_drop(handles: dict[int, int]) -> Plan:
    """Both CPUs drop a handle of the lowest shared frame, else last handles of different frames."""
    shared = _lowest(handles, 2)
    if shared is not None:
        return (((shared,), False), ((shared,), False))
    frames = sorted(handles)
    # no shared frame: each CPU drops the last handle of a different frame, or allocates when out of frames
    return tuple(((frames[i],), False) if i < len(frames) else ((), True) for i in range(2))


#: the from-state scenarios, by name, in a stable order
STATE_SCENARIOS: dict[str, StateScenario] = {s.name: s for s in (
    StateScenario("alloc-vs-drop", "CPU 0 allocates a frame and drops it while CPU 1 drops one handle of the "
                  "lowest in-use frame (or also allocates and drops, if no frame is in use).", _plan_alloc_vs_drop),
    StateScenario("drop-vs-drop", "Both CPUs drop one handle of the lowest frame with two or more handles "
                  "(else each drops the last handle of a different frame, or allocates and drops one).",
                  _plan_drop_vs_drop),
)}


def state_scenario_named(name: str) -> StateScenario:
    """The from-state scenario called ``name``; a UsageError listing the known ones otherwise."""
    return lookup(STATE_SCENARIOS, name, "from-state scenario")


@dataclass(frozen=True)
class StateRun:
    """One exploration from one starting state."""

    #: the starting state
    snapshot: AllocatorSnapshot
    #: what the explorer found from it
    result: ExploreResult


@dataclass(frozen=True)
class FromStatesReport:
    """A scenario explored from many starting states, and the verdict over all of them."""

    #: one run per explored state, in the order the states were given
    runs: tuple[StateRun, ...]
    #: VIOLATION if any run found one; INCONCLUSIVE if any was inconclusive, the state list may be
    #: incomplete, or nothing ran; else PASS
    verdict: Status
    #: states not explored because they are not quiescent
    skipped: int
    #: True when the states are all the states within the enumeration's bounds
    states_complete: bool
    #: True when the sweep stopped at the first violation, leaving later states unexplored
    stopped_early: bool
    #: wall time in seconds (not part of any comparison of results)
    elapsed: float

    def violations(self) -> tuple[StateRun, ...]:
        """The runs that found a violation."""
        return tuple(r for r in self.runs if r.result.status is Status.VIOLATION)


def _verdict(runs: list[StateRun], states_complete: bool) -> Status:
    """Fold the runs: a violation wins, then anything short of a complete, passing sweep is INCONCLUSIVE."""
    statuses = {r.result.status for r in runs}
    if Status.VIOLATION in statuses:
        return Status.VIOLATION
    if not runs or not states_complete or Status.INCONCLUSIVE in statuses:
        return Status.INCONCLUSIVE
    return Status.PASS


#: the setups a forked state worker explores (inherited, so they need not pickle)
_SETUPS: list[Any] = []


def _explore_one(index: int, kwargs: dict[str, Any]) -> Any:
    return explore(_SETUPS[index], **kwargs)


def _in_workers(setups: list[Any], kwargs: dict[str, Any]) -> list[Any] | None:
    """With ``workers=N`` (N > 1) and several states: each state's exploration in one of N forked processes.

    Every state is explored, so the report is the one one process gives (with ``stop_on_violation`` the
    states after the first violating one are explored and then left out).  None: explore them here.
    """
    workers = kwargs.get("workers", 1)
    if not isinstance(workers, int) or workers <= 1 or len(setups) <= 1 or kwargs.get("dask") is not None \
            or kwargs.get("checkpoint") is not None or kwargs.get("resume") is not None:
        return None
    import concurrent.futures as cf
    import multiprocessing
    global _SETUPS
    _SETUPS = list(setups)
    one = dict(kwargs, workers=1)
    context = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(min(workers, len(setups)), mp_context=context) as pool:
        return list(pool.map(_explore_one, range(len(setups)), [one] * len(setups)))


def explore_from_states(scenario: StateScenario | str, states: EnumerationResult | Iterable[AllocatorSnapshot], *,
                        bugs: Iterable[str] = frozenset(), cache_capacity: int = FROM_STATE_CACHE_CAPACITY,
                        stop_on_violation: bool = False, **explore_kwargs: Any) -> FromStatesReport:
    """Explore ``scenario`` from every quiescent state of ``states``; the keywords go to :func:`explore`.

    ``workers=N`` explores the states N at a time in forked processes (each state in one process).
    """
    if isinstance(scenario, str):
        scenario = state_scenario_named(scenario)
    if not isinstance(scenario, StateScenario):
        raise UsageError(f"scenario must be a StateScenario or its name, got {type(scenario).__name__}")
    if isinstance(states, EnumerationResult):
        snapshots, complete = [s.snapshot for s in states.states], states.complete
    else:
        snapshots, complete = list(states), True
    for snap in snapshots:
        if not isinstance(snap, AllocatorSnapshot):
            raise UsageError(f"states must be AllocatorSnapshots, got {type(snap).__name__}")
    try:
        inspect.signature(explore).bind_partial(lambda: None, **explore_kwargs)
    except TypeError as err:
        raise UsageError(f"explore_from_states: bad explore keyword ({err})") from None
    chosen = [s for s in snapshots if is_quiescent(s)]
    # build every setup first, so a bad snapshot or bound fails before any exploring
    setups = [scenario.setup(s, bugs, cache_capacity=cache_capacity) for s in chosen]
    start = time.monotonic()
    runs: list[StateRun] = []
    stopped = False
    results = _in_workers(setups, explore_kwargs)
    for i, (snap, setup) in enumerate(zip(chosen, setups)):
        result = results[i] if results is not None else explore(setup, **explore_kwargs)
        runs.append(StateRun(snap, result))
        if stop_on_violation and result.status is Status.VIOLATION:
            stopped = len(runs) < len(chosen)
            break
    return FromStatesReport(tuple(runs), _verdict(runs, complete), len(snapshots) - len(chosen), complete, stopped,
                            time.monotonic() - start)
