"""The exploration engine: execution graphs built by running the program, explored exactly once each.

Design (TruSt: Kokologiannakis, Marmanis, Gladstein, Vafeiadis, "Truly
Stateless, Optimal Dynamic Partial Order Reduction", POPL 2022, as GenMC
implements it).  An execution is an execution graph (``graph``): events per
thread, reads-from and modification order.  The engine grows a graph one
event at a time, always for the lowest-numbered thread that can move, by
running that thread's code (``program``) up to its next operation:

* a read may read any write of its location: it reads the co-latest one, and
  each other choice is a *forward revisit* kept for later;
* a write goes last in modification order; each other place is a forward
  revisit;
* a write may also be read by reads added *before* it (not in its po ∪ rf
  prefix): each such read gives a *backward revisit*: the graph restricted to
  what was added before the read plus the write's prefix, the read now
  reading the write.  A backward revisit is taken only when every event it
  deletes was added *maximally* (TruSt's condition), which is what makes
  every graph explored exactly once.

Every graph is checked by the active memory model (``memory``) before it is
explored further, so under ``"sc"`` the engine explores exactly the
SC-consistent graphs (one per Mazurkiewicz trace) and under ``"c11"``
exactly the RC11-consistent ones.  Memory stays polynomial: a stack of
graphs, one per pending backward revisit, each with its list of pending
forward revisits.

With ``optimal=False`` the same event-adding code runs as a plain
depth-first search over every schedule and every consistent choice, with
no revisits: the unreduced search used for cross-checking and for finding
counterexamples with the fewest preemptions.  A third mode replays one
recorded counterexample.

Restoring a graph means re-running ``setup()`` and resuming the threads in
an order that extends po ∪ rf with the values the graph says they read.
"""

from __future__ import annotations

import contextlib
import enum
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Final, NoReturn

from mypy_extensions import mypyc_attr

from framemc.errors import CheckerBug, UsageError
from framemc.explorer.bounds import BoundKind, Bounds
from framemc.explorer.events import Event, LocationInfo, SourceLocator, creation_hook
from framemc.explorer.graph import Graph, Node, Pos, View
from framemc.explorer.memory import Events, MemoryModelChecker, checker_for
from framemc.explorer.opkind import OpKind
from framemc.explorer.program import (DEADLINE, NOT_MINE, DeadlineExceeded, Pending, ProgramRun, ThreadState,
                                      hashable_value, initial_value, plain_value)
from framemc.explorer.violation import Violation, ViolationKind
from framemc.explorer.watch import StateChecker
from framemc.sync import FULL_MASK, Atomic, AtomicOp, Ordering, apply_rmw

__all__ = ["Explorer", "SearchOutcome", "ExecutionRecord", "End", "DivergedError"]

_READS: Final = frozenset({OpKind.LOAD, OpKind.CAS, OpKind.FETCH_ADD, OpKind.FETCH_SUB, OpKind.SWAP, OpKind.READ,
                           OpKind.LOCK})
_RMW: Final = frozenset({OpKind.CAS, OpKind.FETCH_ADD, OpKind.FETCH_SUB, OpKind.SWAP, OpKind.LOCK})
_WRITES: Final = frozenset({OpKind.STORE, OpKind.WRITE, OpKind.UNLOCK})
_ATOMIC_OP: Final = {OpKind.FETCH_ADD: AtomicOp.FETCH_ADD, OpKind.FETCH_SUB: AtomicOp.FETCH_SUB,
                     OpKind.SWAP: AtomicOp.SWAP}
#: a mutex's value while held
LOCKED: Final = 1
#: seconds between two calls of a search's progress callback
PROGRESS_EVERY = 0.25


class End:
    """How one execution ended."""

    COMPLETE: Final = "complete"
    VIOLATION: Final = "violation"
    BLOCKED: Final = "blocked"
    INVALID: Final = "invalid"
    CUT: Final = "cut"


@mypyc_attr(native_class=False)  # pickled between processes: a plain class in the compiled core
@dataclass
class ExecutionRecord:
    """A finished execution as the trace layer needs it."""

    #: events in execution order (one per operation)
    events: list[Event]
    #: the violation
    violation: Violation | None
    #: number of threads
    nthreads: int
    #: each thread callable's ``__name__``
    thread_names: tuple[str, ...]
    #: value -> name traces show it by (``framemc.name_values``)
    value_names: dict[Any, str] = field(default_factory=dict)


@mypyc_attr(native_class=False)  # pickled between processes: a plain class in the compiled core
@dataclass
class SearchOutcome:
    """What one search found, before it becomes a public result."""

    #: complete executions, a violating one included
    executions: int
    #: events over all executions
    events: int
    #: the failing execution, or None
    failing: ExecutionRecord | None
    #: the bound that cut the search, or None
    cut: BoundKind | None
    #: executions dropped: a failed assume, a spin-wait that read a stale value, a lock wait revisited later
    blocked: int
    #: wall time in seconds
    elapsed: float
    #: distinct consistent graphs among the executions (equal to executions for the optimal search)
    consistent: int
    #: outcome -> count, when asked for
    outcomes: dict[Any, int] | None = None
    #: revisits that led to an inconsistent graph and were dropped
    invalid: int = 0
    #: events re-performed to restore graphs (each restored graph re-runs setup() and its events)
    replayed: int = 0


#: where a revisit sits in the order the one-process search explores them: the path of push indices from
#: the first execution (negated, so that the revisit pushed last, which runs first, sorts first).  The
#: revisits a revisit pushes extend its key, so comparing keys as tuples is the depth-first order: every
#: execution has the key of the revisit that led to it, and one process meets them in increasing key order.
#: Parallel exploration (:mod:`~framemc.explorer.parallel`) merges the pieces of work by these keys.
Key = tuple[int, ...]


@mypyc_attr(native_class=False)  # pickled between processes: a plain class in the compiled core
@dataclass
class _Frame:
    """A graph and the forward revisits still to try on it."""

    #: the graph (changed in place by forward revisits)
    graph: Graph
    #: pending revisits, last first
    items: list[tuple[Any, ...]] = field(default_factory=list)
    #: each pending revisit's place in the sequential search order (see :data:`Key`), parallel to ``items``
    keys: list["Key"] = field(default_factory=list)
    #: True when the graph is inconsistent: only its backward revisits are explored
    dropped: bool = False


class _Stop(Exception):
    """Ends the search (a violation or a bound)."""


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt code that runs past ``seconds`` between scheduling points (main thread, POSIX only)."""
    if seconds is None or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        # an exception raised inside a gc callback or __del__ is swallowed: keep firing until one lands
        DEADLINE.fired = True
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        raise DeadlineExceeded()
    previous = signal.signal(signal.SIGALRM, fire)
    DEADLINE.fired = False
    signal.setitimer(signal.ITIMER_REAL, seconds + 0.05)
    try:
        yield
    except Exception as exc:
        if DEADLINE.fired:
            # the timer's exception, turned into another one by a C call (z3 through ctypes) on its way out
            raise DeadlineExceeded() from exc
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        DEADLINE.fired = False
        signal.signal(signal.SIGALRM, previous)


class Explorer:
    """Explores a scenario's execution graphs under one memory model."""

    def __init__(self, setup: Callable[[], Any], bounds: Bounds, model: enum.Enum, checker: StateChecker,
                 locator: SourceLocator, *, optimal: bool = True, outcomes: bool = False,
                 shortest: bool = False, progress: Callable[[int, int, float], None] | None = None) -> None:
        #: the scenario
        self._setup = setup
        #: limits
        self._bounds = bounds
        #: the memory model's consistency checker
        self._model: MemoryModelChecker = checker_for(model.value)
        #: the state-check cache
        self._checker = checker
        #: source line finder
        self._locator = locator
        #: location infos shared by the runs of this search (:class:`ProgramRun`)
        self._infos: dict[Any, Any] = {}
        #: True: TruSt; False: every schedule
        self._optimal = optimal
        #: collect outcomes
        self._want_outcomes = outcomes
        #: keep searching past violations for the one with the fewest events (plain search)
        self._shortest = shortest
        #: ``progress(executions, blocked, seconds)``, called at most every PROGRESS_EVERY seconds
        self._progress = progress
        self._last_progress = 0.0
        self._run: ProgramRun | None = None
        self._start = 0.0
        self.executions = 0
        self.blocked = 0
        self.invalid = 0
        self.events = 0
        self.replayed = 0
        self.failing: ExecutionRecord | None = None
        self.cut: BoundKind | None = None
        self.outcomes: dict[Any, int] = {}
        #: optimal search: the key of the revisit being explored, how many revisits it pushed so far
        self._key: Key = ()
        self._pushes = 0
        #: perf_counter time the time budget ends at, or None
        self._stop_at: float | None = None
        #: revisits taken off the stack so far
        self.pops = 0
        #: the key of the failing execution
        self.failing_key: Key | None = None
        #: the key of every execution, when parallel exploration measures duplicated work, else None
        self.execution_keys: list[Key] | None = None
        #: per execution, the counters when it ended (parallel pieces under an execution bound): blocked,
        #: invalid, events, revisits taken, its outcome, undecided checks so far; or None
        self.marks: list[tuple[int, int, int, int, Any, int]] | None = None
        #: plain search: the decision stack [(options, index)]
        self._decisions: list[list[Any]] = []
        self._depth = 0
        #: replay mode: the trace being followed
        self._trace: Any = None
        self._schedule_pos = 0
        self._trace_nodes: dict[int, Pos] = {}
        #: plain search under SC: reads read the latest write and writes go last (interleavings)
        self._interleaving = not optimal and self._model.interleaving
        #: plain search: canonical forms of the complete graphs seen
        self._graphs: set[Any] = set()
        self._last_thread: int | None = None
        self._preemptions = 0
        from framemc.explorer.states import StateMemo
        #: state identities, snapshots and checked steps shared by every graph of this search
        self.state_memo = StateMemo()

    # ================================================================ search

    def search(self) -> SearchOutcome:
        """Explore until done, a violation or a bound; return the counts."""
        self._start = time.perf_counter()
        budget = self._bounds.time_budget
        self._stop_at = None if budget is None else self._start + budget
        self._guarded(self._search_optimal if self._optimal else self._search_plain, budget)
        consistent = self.executions if self._optimal else len(self._graphs)
        return SearchOutcome(self.executions, self.events, self.failing, self.cut, self.blocked,
                             time.perf_counter() - self._start, consistent,
                             self.outcomes if self._want_outcomes else None, self.invalid, self.replayed)

    def explore_piece(self, frames: list[_Frame] | None, pause_after: float | None,
                      seconds_left: float | None, pause_pops: int | None = None) -> list[_Frame]:
        """Explore one piece of the optimal search (:mod:`~framemc.explorer.parallel`); return the work left.

        ``frames`` is a frame stack another search paused with, or None for the search's start.  The
        counters restart at zero, so they count this piece alone.  The search pauses at the first revisit
        after ``pause_after`` seconds and returns the frames still holding work; it returns nothing after a
        violation, a bound or the end of the piece.  ``seconds_left`` is what remains of the time budget.
        ``pause_pops`` pauses after that many revisits instead of after a time.
        """
        self._restart_counters()
        self._start = time.perf_counter()
        self._stop_at = None if seconds_left is None else self._start + seconds_left
        if pause_pops is not None:
            pause: Callable[[], bool] | None = lambda: self.pops >= pause_pops
        elif pause_after is not None:
            pause = lambda: time.perf_counter() - self._start >= pause_after
        else:
            pause = None
        stack: list[list[_Frame]] = []

        def body() -> None:
            stack.append(self._root() if frames is None else frames)
            self._drive(stack[0], pause)
        left = stack[0] if self._guarded(body, seconds_left) else []
        if self.failing is not None:
            # the state walk marks the failing step as checked: a later piece must fail on it again
            from framemc.explorer.states import StateMemo
            self.state_memo = StateMemo()
        return [f for f in left if f.items]

    def _restart_counters(self) -> None:
        """Zero the counters, for a piece of the search (a method of its own: after these assignments, mypy and
        the compiled core would take ``self.failing`` for None for the rest of the caller)."""
        self.executions = self.blocked = self.invalid = self.events = self.pops = self.replayed = 0
        self.failing, self.failing_key, self.cut, self.outcomes = None, None, None, {}
        self.marks = [] if self._bounds.max_executions is not None else None

    def _guarded(self, body: Callable[[], None], seconds: float | None) -> bool:
        """Run ``body`` with the creation hook and the deadline; False when a violation, a bound or the deadline
        stopped it before its end (the run is closed either way)."""
        try:
            with creation_hook(self._created), _deadline(seconds):
                try:
                    body()
                    return True
                except _Stop:
                    return False
                finally:
                    self._close()
        except DeadlineExceeded:
            # code ran past the budget without reaching a scheduling point: cut, never a pass
            self.cut = BoundKind.TIME_BUDGET
            self._close()
            return False

    def _created(self, obj: Any) -> None:
        if self._run is not None:
            self._run.created(obj)

    def _close(self) -> None:
        if self._run is not None:
            self._run.close()
            self._run = None

    def _new_run(self) -> ProgramRun:
        """A run of the scenario in place of the current one, not started."""
        self._close()
        run = ProgramRun(self._setup, self._locator, self._infos)
        self._run = run
        return run

    def _fresh_run(self) -> ProgramRun:
        run = self._new_run()
        run.start()
        return run

    def _check_bounds(self) -> None:
        b = self._bounds
        if b.max_executions is not None and self.executions >= b.max_executions:
            self.cut = BoundKind.MAX_EXECUTIONS
            raise _Stop
        if self._stop_at is not None and time.perf_counter() > self._stop_at:
            self.cut = BoundKind.TIME_BUDGET
            raise _Stop

    # ---------------------------------------------------------------- optimal

    def _search_optimal(self) -> None:
        self._drive(self._root())

    def _root(self) -> list[_Frame]:
        """The first execution (key ``()``); the frame stack holding the revisits it pushed."""
        run = self._fresh_run()
        frames = [_Frame(Graph(len(run.state)))]
        self._key = ()
        self._pushes = 0
        self._extend(frames[-1])
        return frames

    def _drive(self, frames: list[_Frame], pause: Callable[[], bool] | None = None) -> None:
        """Explore the revisits on ``frames`` depth-first, until none is left or ``pause()`` says stop.

        On a pause ``frames`` keeps exactly the work not done, so another process can go on with it.  It
        pauses only after taking at least one revisit, so every piece makes progress.
        """
        while frames:
            frame = frames[-1]
            if not frame.items:
                frames.pop()
                continue
            self._check_bounds()
            if pause is not None and self.pops and pause():
                return
            item = frame.items.pop()
            self._key = frame.keys.pop()
            self._pushes = 0
            self.pops += 1
            if item[0] == "rev":
                new = self._backward(frame, item)
                frames.append(new)
                if new.dropped:
                    continue
                frame = new
            elif frame.dropped:
                raise CheckerBug("a forward revisit on a dropped graph")
            elif not self._forward(frame, item):
                continue
            self._rebuild(frame.graph)
            self._extend(frame)

    def _push(self, frame: _Frame, item: tuple[Any, ...]) -> None:
        """Queue a revisit of the current execution on ``frame``, with its key."""
        frame.items.append(item)
        self._pushes += 1
        frame.keys.append(self._key + (-self._pushes,))

    def _forward(self, frame: _Frame, item: tuple[Any, ...]) -> bool:
        """Apply a forward revisit to ``frame``'s graph; False when the result is inconsistent."""
        g = frame.graph
        kind, pos, choice = item
        node = g.node(pos)
        g.restrict(g.stamp_view(node.stamp))
        g.next_stamp = node.stamp + 1
        self._repair(frame)
        if kind == "read":
            self._set_rf(g, node, choice, maximal=False)
            self._complete_rmw(frame, node)
        else:
            g.remove_co(node)
            g.insert_co(node, choice)
            node.max_w = False
            self._revisits(frame, node)
        if not self._consistent(g):
            self.invalid += 1
            return False
        return True

    def _backward(self, frame: _Frame, item: tuple[Any, ...]) -> _Frame:
        """A backward revisit: a new frame whose graph has the read reading the later write."""
        _, rpos, wpos, view = item
        g = frame.graph.copy(view)
        for t, k in enumerate(g.porf(wpos)):
            for n in g.threads[t][:k]:
                n.stable = True
        new = _Frame(g)
        self._repair(new, skip=rpos)
        node = g.node(rpos)
        self._set_rf(g, node, wpos, maximal=(wpos == g.co_max(node.loc)))
        self._complete_rmw(new, node)
        if not self._consistent(g):
            # the graph is not explored, but the backward revisits its new writes pushed are (as in GenMC)
            self.invalid += 1
            new.dropped = True
        return new

    def _repair(self, frame: _Frame, skip: Pos | None = None) -> None:
        """Reads whose write was cut read the co-latest write instead (as GenMC does)."""
        g = frame.graph
        for n in g.dangling():
            if n.pos == skip:
                continue
            if n.index != len(g.threads[n.thread]) - 1:
                raise CheckerBug(f"a read with a cut write is not its thread's last event: {n!r}")
            self._set_rf(g, n, g.co_max(n.loc), maximal=True)
            self._complete_rmw(frame, n)

    def _set_rf(self, g: Graph, node: Node, rf: Pos | None, maximal: bool) -> None:
        node.rf = rf
        node.rval = g.value_of(node.loc, rf)
        node.max_r = maximal
        if node.op is OpKind.CAS:
            ok = node.rval == node.cas_expected
            node.order = node.orders[0] if ok else node.orders[1]
        node.blocks = node.op is OpKind.LOCK and node.rval == LOCKED

    def _complete_rmw(self, frame: _Frame, node: Node) -> None:
        """Add the write of a read-modify-write whose read succeeded, right after the write it read."""
        if node.rmw and _succeeds(node):
            self._place_write(frame, frame.graph, self._write_part(node), forced=node.rf)

    def _write_part(self, r: Node) -> Node:
        w = Node(r.thread, r.index + 1, r.op, r.info, r.order if r.op is not OpKind.LOCK else Ordering.RELAXED,
                 r.source)
        w.writes = True
        w.rmw = True
        w.args = r.args
        if r.op is OpKind.CAS:
            w.wval = r.rmw_op
        elif r.op is OpKind.LOCK:
            w.wval = LOCKED
        else:
            w.wval = apply_rmw(_ATOMIC_OP[r.op], r.rval, r.rmw_op, r.mask)
        return w

    def _revisits(self, frame: _Frame, w: Node) -> None:
        """Push the backward revisits of write ``w`` (TruSt's maximal-extension condition)."""
        if not self._optimal:
            return
        g = frame.graph
        prefix = g.porf((w.thread, w.index))
        loads = [r for r in g.readers(w.loc) if not r.stable and r.index >= prefix[r.thread]]
        if not loads:
            return
        loads.sort(key=lambda r: r.stamp, reverse=True)
        for r in loads:
            preds = g.stamp_view(r.stamp)
            view = tuple(max(a, b) for a, b in zip(preds, prefix))
            if self._maximal(g, r, w, view):
                self._push(frame, ("rev", r.pos, w.pos, view))

    @staticmethod
    def _maximal(g: Graph, r: Node, w: Node, view: View) -> bool:
        """Were the revisited read and every deleted event added maximally? (GenMC's isMaximalExtension)."""
        if not w.rmw:
            order = g.co[w.loc]
            i = order.index(w.pos)
            if i + 1 < len(order) and not g.contains(view, order[i + 1]):
                return False
        for nodes in g.threads:
            for n in nodes:
                if n is not r and g.contains(view, n.pos):
                    continue
                if n.reads:
                    if not n.max_r or _co_before_saved(g, n.loc, n.rf, view, w.pos):
                        return False
                    if n.rf is not None and not g.contains(view, n.rf) and g.node(n.rf).stamp > n.stamp:
                        return False
                elif n.writes:
                    if not n.max_w or _co_before_saved(g, n.loc, n.pos, view, w.pos):
                        return False
        return True

    def _consistent(self, g: Graph) -> bool:
        return self._model.consistent(g)

    # ---------------------------------------------------------------- plain

    def _search_plain(self) -> None:
        while True:
            self._depth = 0
            run = self._fresh_run()
            frame = _Frame(Graph(len(run.state)))
            self._extend(frame)
            # next decision sequence
            while self._decisions:
                top = self._decisions[-1]
                if top[1] + 1 < len(top[0]):
                    top[1] += 1
                    break
                self._decisions.pop()
            if not self._decisions:
                return
            self._check_bounds()

    def _decide(self, options: list[Any]) -> Any:
        """Plain search: the current choice among ``options`` at this decision point."""
        if len(options) == 1:
            return options[0]
        d = self._depth
        self._depth += 1
        if d < len(self._decisions):
            entry = self._decisions[d]
            if entry[0] != options:
                raise UsageError("the scenario is not deterministic: a re-run offered different choices "
                                 f"({options} instead of {entry[0]}); setup() and threads must behave the same "
                                 "way on every run")
            return options[entry[1]]
        self._decisions.append([options, 0])
        return options[0]

    # ================================================================ one execution

    def _rebuild(self, g: Graph) -> None:
        """Re-run the program up to graph ``g``: setup, then every event with the values ``g`` gives it
        (:class:`_Replay` says in which order)."""
        run = self._new_run()
        replay = _Replay(self, g, run)
        self.replayed += replay.operations
        run.script = replay
        try:
            run.start()
            replay.drain()
        finally:
            run.script = None

    def perform(self, g: Graph, run: ProgramRun, n: Node, shown: dict[Any, int],
                co_at: dict[Pos, int] | None = None) -> None:
        """Make thread ``n.thread`` of ``run`` perform node ``n`` of ``g`` (the next one it has not performed).

        The thread has announced its operation (it is pending).  ``co_at`` maps writes to their place in
        modification order (1-based; computed when None).
        """
        t = n.thread
        if n.writes and n.rmw:
            self._apply_write_part(g, n, shown, co_at)
            run.resume(t, _result(n, g))
            return
        p = run.pending[t]
        if p is None:
            self._diverged(t, n, None)
        result = self._apply(g, run, n, t, p.op, p.obj, p.info, p.a, shown, co_at)
        if result is not _PART and result is not _WAITS:
            run.resume(t, result)

    def _apply(self, g: Graph, run: ProgramRun, n: Node, t: int, op: OpKind, obj: Any, info: Any, a: Any,
               shown: dict[Any, int], co_at: dict[Pos, int] | None) -> Any:
        """Check that thread ``t``'s operation ``op`` (on ``obj``, operand ``a``) is node ``n`` again and do
        ``n``'s bookkeeping; return the operation's result, or _PART (a read-modify-write that goes on to its
        write part) or _WAITS (a lock acquisition that waits).

        This is the replay path every restored graph runs once per event, so it is kept short: the
        checks that the program behaves as before (the same operation on the same location, the same
        value written) stay, everything else is looked up directly.
        """
        if op is not n.op or (info.key if info is not None else None) != n.loc:
            self._diverged(t, n, (op, info))
        self._bind_location(g, run, info, obj)
        if n.reads:
            # this run's objects: a Cell may hold an object made afresh by each run's setup()
            rf = n.rf
            n.rval = g.init[n.loc] if rf is None else g.threads[rf[0]][rf[1]].wval
            run.iteration[t].append((t, n.index))
            if n.rmw and _succeeds(n):
                return _PART  # answered with its write part
            if n.blocks:
                run.block(t, ThreadState.LOCKED)
                return _WAITS
        if n.writes:
            now = 0 if op is OpKind.UNLOCK else a
            was = n.wval
            if now is not was and not (type(now) is int and type(was) is int and now == was) \
                    and plain_value(was) != plain_value(now):
                raise UsageError(f"the scenario is not deterministic: re-running thread {t}, its event "
                                 f"{n.index} stored {plain_value(now)!r} where it stored "
                                 f"{plain_value(was)!r} before")
            n.wval = now
            self._after_write(g, n, shown, co_at)
        return _result(n, g)

    def _apply_write_part(self, g: Graph, n: Node, shown: dict[Any, int], co_at: dict[Pos, int] | None) -> None:
        """The write part ``n`` of a read-modify-write: its value follows from what its read reads."""
        r = g.threads[n.thread][n.index - 1]
        r.rval = g.init[r.loc] if r.rf is None else g.threads[r.rf[0]][r.rf[1]].wval
        self._after_write(g, n, shown, co_at)

    @staticmethod
    def _diverged(t: int, n: Node, got: tuple[OpKind, Any] | None) -> NoReturn:
        """A re-run thread announced another operation than its event ``n`` (``got``: none at all)."""
        if got is None:
            what = "nothing"
        else:
            op, info = got
            what = f"{op.value} of {info.name if info else 'no location'}"
        raise UsageError(f"the scenario is not deterministic: re-running thread {t}, its event "
                         f"{n.index} was {n.op.value} of {n.info.name if n.info else 'no location'} "
                         f"before and is {what} now; setup() and threads must behave the same way on "
                         "every run")

    def _after_write(self, g: Graph, n: Node, shown: dict[Any, int], co_at: dict[Pos, int] | None = None) -> None:
        run = self._run
        assert run is not None
        run.iteration_wrote[n.thread] = True
        at = g.co_index(n.pos) if co_at is None else co_at[(n.thread, n.index)]
        if at >= shown.get(n.loc, 0):
            shown[n.loc] = at
            run.set_value(n.loc, n.wval)

    def _resume(self, run: ProgramRun, t: int, n: Node, g: Graph) -> None:
        run.resume(t, _result(n, g))

    @staticmethod
    def _bind_location(g: Graph, run: ProgramRun, info: LocationInfo | None, obj: Any) -> None:
        """The first time ``run`` touches a location, record its initial value (``obj``: this run's object)."""
        if info is not None:
            key = info.key
            if key not in run.bound:
                run.bound.add(key)
                g.init[key] = initial_value(obj)

    def _extend(self, frame: _Frame) -> None:
        """Grow the frame's graph until the execution ends; record how it ended."""
        g = frame.graph
        run = self._run
        assert run is not None
        self._last_thread = None
        self._preemptions = 0
        if run.watchers and not g.size() and (not self._optimal or self._trace is not None):
            self._live_check(run)
        end = None
        while end is None:
            if run.violation is not None:
                end = End.VIOLATION
                break
            t = self._next_thread(g, run)
            if t is None:
                if self._trace is not None and self._schedule_pos >= len(self._trace.schedule) and any(
                        st is ThreadState.READY and run.pending[u] is not None for u, st in enumerate(run.state)):
                    end = End.CUT  # the replayed trace ends here, with threads that could go on
                    break
                end = self._finish(g, run)
                break
            end = self._add_event(frame, g, run, t)
        self._ended(g, run, end)

    def _next_thread(self, g: Graph, run: ProgramRun) -> int | None:
        state, pending = run.state, run.pending
        if self._optimal and self._trace is None:
            # the lowest-numbered thread that can move, preferring one not waiting for a held lock
            first = None
            for t, st in enumerate(state):
                p = pending[t]
                if st is ThreadState.READY and p is not None:
                    if not self._waits_for_lock(g, p):
                        return t
                    if first is None:
                        first = t
            return first
        ready = [t for t in range(len(state)) if state[t] is ThreadState.READY and pending[t] is not None]
        if not ready:
            return None
        if self._trace is not None:
            return self._replay_thread(ready)
        if not self._optimal:
            bound = self._bounds.preemption_bound
            last = self._last_thread
            if bound is not None and last in ready and self._preemptions >= bound and len(ready) > 1:
                self.cut = self.cut or BoundKind.PREEMPTIONS
                ready = [last]
            t = self._decide(ready)
            if last is not None and t != last and last in ready:
                self._preemptions += 1
            self._last_thread = t
            return t
        raise CheckerBug("the optimal search picks its thread above")

    def _waits_for_lock(self, g: Graph, p: Pending | None) -> bool:
        if p is None or p.op is not OpKind.LOCK or p.info is None:
            return False
        key = p.info.key
        return key in g.init and g.value_of(key, g.co_max(key)) == LOCKED

    def _add_event(self, frame: _Frame, g: Graph, run: ProgramRun, t: int) -> str | None:
        p = run.pending[t]
        assert p is not None
        self._bind_location(g, run, p.info, p.obj)
        nodes = g.threads[t]
        last = nodes[-1] if nodes else None
        if last is not None and last.reads and last.rmw and _succeeds(last):
            # the write of a read-modify-write whose read was revisited
            w = self._write_part(last)
            self._place_write(frame, g, w, forced=last.rf)
            return self._after_add(frame, g, run, t, w)
        node = Node(t, len(nodes), p.op, p.info, p.order, p.source)
        node.mask = getattr(p.obj, "_mask", FULL_MASK)
        if p.op in _READS:
            node.reads = True
            node.na = p.op is OpKind.READ
            node.rmw = p.op in _RMW
            if p.op is OpKind.READ:
                node.order = None
            if p.op is OpKind.LOCK:
                node.order = Ordering.ACQUIRE
            if p.op is OpKind.CAS:
                node.cas_expected = p.a
                node.rmw_op = p.b
                node.args = (plain_value(p.a), plain_value(p.b))
                node.orders = (p.order, p.failure)
            elif p.op in _ATOMIC_OP:
                node.rmw_op = p.a
                node.args = (plain_value(p.a),)
            options = self._read_options(g, node)
            choice = self._choose_read(frame, node, options)
            g.add(node)
            self._set_rf(g, node, choice, maximal=choice == g.co_max(node.loc))
            if node.rmw and _succeeds(node):
                w = self._write_part(node)
                self._place_write(frame, g, w, forced=node.rf)
                if not self._optimal and len(options) > 1 and not self._consistent(g):
                    return End.INVALID
                return self._after_add(frame, g, run, t, w, read=node)
            if not self._optimal and len(options) > 1 and not self._consistent(g):
                return End.INVALID
            return self._after_add(frame, g, run, t, node)
        if p.op in _WRITES:
            node.writes = True
            node.na = p.op is OpKind.WRITE
            if node.na:
                node.order = None
            if p.op is OpKind.UNLOCK:
                node.order = Ordering.RELEASE
                node.wval = 0
            else:
                node.wval = p.a
            self._place_write(frame, g, node, forced=False)
            return self._after_add(frame, g, run, t, node)
        node.order = p.order
        g.add(node)
        if self._trace is not None:
            self._check_step(node, self._trace.events[self._schedule_pos - 1])
        return self._after_add(frame, g, run, t, node)

    def _read_options(self, g: Graph, node: Node) -> list[Pos | None]:
        """Writes the read may read: the co-latest first, then back through modification order."""
        order = g.co.get(node.loc, [])
        options: list[Pos | None] = list(reversed(order)) + [None]
        if self._interleaving:
            return options[:1]
        if self._trace is not None:
            return options
        floor = self._coherence_floor(g, node)
        return options[:len(options) - floor]

    def _coherence_floor(self, g: Graph, node: Node) -> int:
        """The co index a new event of ``node``'s thread must read or write at or after.

        Coherence forbids going co-before a write (or the write a read read) that is ordered before
        the new event: under SC everything in its po ∪ rf prefix is, under C11 its thread's own
        earlier accesses are (po is in hb).  Choices below the floor are inconsistent, so they
        are not even tried.
        """
        t = node.thread
        nodes = g.threads[t]
        if not nodes:
            return 0
        if self._model.interleaving:
            view = g.porf(nodes[-1].pos)
        else:
            view = tuple(len(nodes) if u == t else 0 for u in range(len(g.threads)))
        floor = 0
        order = g.co.get(node.loc)
        if not order:
            return 0
        index = {p: i + 1 for i, p in enumerate(order)}
        for u, k in enumerate(view):
            for n in g.threads[u][:k]:
                if n.loc != node.loc:
                    continue
                if n.writes:
                    floor = max(floor, index[n.pos])
                elif n.reads and n.rf is not None:
                    floor = max(floor, index[n.rf])
        return floor

    def _choose_read(self, frame: _Frame, node: Node, options: list[Pos | None]) -> Pos | None:
        if self._trace is not None:
            return self._replay_rf(node, options)
        if self._optimal:
            for opt in reversed(options[1:]):
                self._push(frame, ("read", node.pos, opt))
            return options[0]
        return self._decide(options)

    def _place_write(self, frame: _Frame, g: Graph, w: Node, forced: Any) -> None:
        """Put ``w`` in modification order: after the write it read (RMW), else last (others: revisits)."""
        order = g.co.get(w.loc, [])
        if forced is not False:
            maximal = forced == (order[-1] if order else None)
            g.add(w)
            g.insert_co(w, forced)
            w.max_w = maximal
            if self._trace is not None:
                # the trace's step of an RMW names its write, which later reads read
                self._trace_nodes[self._schedule_pos - 1] = w.pos
        else:
            preds: list[Pos | None] = [None] + list(order)
            if self._interleaving:
                preds = preds[-1:]
            elif self._trace is None:
                preds = preds[self._coherence_floor(g, w):]
            if self._trace is not None:
                after = self._replay_co(w, preds)
            elif self._optimal:
                for pred in preds[:-1]:
                    self._push(frame, ("co", w.pos, pred))
                after = preds[-1]
            else:
                after = self._decide(list(reversed(preds)))
            g.add(w)
            g.insert_co(w, after)
            w.max_w = after == preds[-1]
        self._revisits(frame, w)

    def _after_add(self, frame: _Frame, g: Graph, run: ProgramRun, t: int, node: Node,
                   read: Node | None = None) -> str | None:
        """Bookkeeping after an event (or an RMW's two) was added; resume the thread."""
        self.events += 1
        first = read or node
        if first.reads:
            run.iteration[t].append(first.pos)
        if node.writes:
            run.iteration_wrote[t] = True
            top = g.co_max(node.loc)
            if top == node.pos:
                run.set_value(node.loc, node.wval)
        if not self._optimal and node.writes and not node.rmw and \
                len(g.co.get(node.loc, ())) > 1 and not self._consistent(g):
            return End.INVALID
        if node.na:
            race = self._race(g, node)
            if race is not None:
                run.violation = race
                return End.VIOLATION
        if first.blocks:
            run.block(t, ThreadState.LOCKED)
            return None
        if run.steps[t] + 1 > self._bounds.max_steps:
            run.violation = Violation(
                ViolationKind.BOUND,
                f"thread {t} exceeded {self._bounds.max_steps} steps at {node.source}: a loop that does not "
                f"terminate? If it legitimately runs longer, raise the bound with explore(..., max_steps=N)",
                (), None, {"thread": t, "max_steps": self._bounds.max_steps})
            return End.VIOLATION
        self._resume(run, t, node, g)
        if run.watchers and (not self._optimal or self._trace is not None) and run.violation is None:
            if self._live_check(run) is not None:
                return End.VIOLATION
        return None

    def _live_check(self, run: ProgramRun) -> Violation | None:
        """Plain search and replay: check the state after each step (they visit every interleaving); return the
        violation found (also set as the run's), or None."""
        checker = self._checker
        cur = checker.snapshot(run.watchers)
        prev = run.last_snapshot
        if prev is not None and prev == cur:
            return None
        failure = checker.check(run.watchers, prev, cur)
        run.last_snapshot = cur
        if failure is not None:
            run.violation = Violation(ViolationKind.INVARIANT, f"invariant {failure.name} violated: {failure.message}",
                                      (), str(failure.name), dict(failure.witness))
            return run.violation
        return None

    def _race(self, g: Graph, node: Node) -> Violation | None:
        ev = Events(g)
        clocks = self._model.hb_clocks(ev)
        e = ev.of_node[node.pos]
        pair = ev.races(clocks, {e})
        if pair is None:
            return None
        a, b = sorted(pair, key=lambda x: ev.node[x].stamp)
        na, nb = ev.node[a], ev.node[b]
        verb = "writes" if nb.writes else "reads"
        name = nb.info.name if nb.info else "?"
        return Violation(ViolationKind.DATA_RACE,
                         f"data race on {name}: thread {nb.thread} {verb} it at {nb.source} (step {{1}}) and thread "
                         f"{na.thread}'s {na.op.value} at {na.source} (step {{0}}) is not ordered before it by "
                         "happens-before", (), None, {"location": name, "_nodes": (na.pos, nb.pos)})

    def _finish(self, g: Graph, run: ProgramRun) -> str:
        """No thread can move: complete, blocked, deadlocked or spinning forever."""
        states = run.state
        if all(s is ThreadState.FINISHED for s in states):
            return End.COMPLETE
        stuck = [t for t, s in enumerate(states) if s is not ThreadState.FINISHED]
        if any(states[t] is ThreadState.ASSUMED for t in stuck):
            return End.BLOCKED
        for t in stuck:
            if states[t] is ThreadState.SPINNING:
                if any(g.node(p).rf != g.co_max(g.node(p).loc) for p in run.iteration[t]):
                    return End.BLOCKED
            elif states[t] is ThreadState.LOCKED:
                last = g.threads[t][-1]
                if last.rf != g.co_max(last.loc):
                    return End.BLOCKED
        waits, spins = [], []
        for t in stuck:
            if states[t] is ThreadState.LOCKED:
                last = g.threads[t][-1]
                holder = g.co_max(last.loc)
                hstate = "which has finished" if holder is not None and states[holder[0]] is ThreadState.FINISHED \
                    else "which is blocked"
                who = "?" if holder is None else holder[0]
                waits.append(f"thread {t} waits at {last.source} for mutex {_name(last)} held by thread "
                             f"{who}, {hstate}")
            else:
                names = sorted({_name(g.node(p)) for p in run.iteration[t]})
                spins.append(f"thread {t} spins forever at {run.blocked_at[t]}: no other thread can change "
                             f"{', '.join(names)}")
        if waits:
            run.violation = Violation(ViolationKind.DEADLOCK, "; ".join(waits + spins), (), None, {})
        else:
            run.violation = Violation(ViolationKind.LIVENESS, "; ".join(spins), (), None, {})
        return End.VIOLATION

    def _ended(self, g: Graph, run: ProgramRun, end: str) -> None:
        if self._progress is not None:
            now = time.perf_counter()
            if now - self._last_progress >= PROGRESS_EVERY:
                self._last_progress = now
                self._progress(self.executions, self.blocked, now - self._start)
        if end == End.CUT:
            return
        if end == End.INVALID:
            self.invalid += 1
            return
        if end == End.BLOCKED:
            self.blocked += 1
            self._watch(g, run)
            return
        if self.execution_keys is not None and end != End.BLOCKED:
            self.execution_keys.append(self._key)
        if end == End.COMPLETE:
            run.run_final()
            self.executions += 1
            if not self._optimal:
                self._graphs.add(tuple(tuple(g.identity(n) for n in nodes) for nodes in g.threads))
            if run.violation is None:
                key = None
                if self._want_outcomes:
                    key = self._outcome(g, run)
                    self.outcomes[key] = self.outcomes.get(key, 0) + 1
                self._watch(g, run)
                if self.marks is not None:
                    self.marks.append((self.blocked, self.invalid, self.events, self.pops, key,
                                       len(self._checker.inconclusive)))
                return
        else:
            self.executions += 1
        self._report(self._record(g, run))

    def _report(self, record: ExecutionRecord) -> None:
        if self.failing is None or len(record.events) < len(self.failing.events):
            self.failing = record
            self.failing_key = self._key
        if not self._shortest:
            raise _Stop

    def _watch(self, g: Graph, run: ProgramRun) -> None:
        """Check the watched state in every state some interleaving of this graph passes through."""
        if not run.watchers or self._trace is not None or not self._optimal:
            return
        from framemc.explorer.states import check_states
        found = check_states(self, g)
        if found is not None:
            sub, subrun = found
            self._report(self._record(sub, subrun))

    def _outcome(self, g: Graph, run: ProgramRun) -> tuple[Any, ...]:
        items: list[tuple[str, Any]] = []
        for t, nodes in enumerate(g.threads):
            vals = tuple(hashable_value(n.rval) for n in nodes
                         if n.reads and n.op is not OpKind.LOCK and n.info is not None and n.info.kind != "location")
            items.append((f"T{t}", vals))
        for key, obj, _ in run.registered():
            name = getattr(obj, "name", None)
            if name and isinstance(obj, Atomic):
                # every named Atomic, touched or not: its co-latest write, else its initial value
                value = g.value_of(key, g.co_max(key)) if key in g.init else obj._value
                items.append((str(name), plain_value(value)))
        return tuple(sorted(items))

    # ---------------------------------------------------------------- traces

    def _record(self, g: Graph, run: ProgramRun) -> ExecutionRecord:
        """The execution as trace events: one per operation, in an order extending po ∪ rf."""
        sc = self._model.interleaving
        try:
            order = g.readable_order(sc)
        except AssertionError:
            order = g.readable_order(False)
        ev = Events(g)
        step_of: dict[Pos, int] = {}
        events: list[Event] = []
        co_seen: dict[Any, list[Pos]] = {}
        for n in order:
            if n.writes and n.rmw:
                # the write half of an RMW: fold it into its read's step
                step = step_of[(n.thread, n.index - 1)]
                step_of[n.pos] = step
                e = events[step]
                e.is_write = True
                e.written = plain_value(n.wval)
                e.pick = _co_slot(g, n, co_seen)
                continue
            step = len(events)
            step_of[n.pos] = step
            tidx = sum(1 for x in events if x.thread == n.thread) + 1
            e = Event(step, n.thread, tidx, n.op, n.info, n.writes, None if n.order is None else n.order.value,
                      plain_value(n.rval) if n.reads and n.op is not OpKind.LOCK else None,
                      plain_value(n.wval) if n.writes else None, n.source, (), (),
                      None if not n.reads or n.rf is None else step_of.get(n.rf), False, n.args)
            if n.writes:
                e.pick = _co_slot(g, n, co_seen)
            if n.op is OpKind.LOCK and n.blocks:
                e.read = None
            if not self._model.interleaving:
                syncs = self._model.sync_sources(ev, ev.of_node[n.pos])
                e.sw = tuple(sorted({step_of[ev.node[s].pos] for s in syncs if ev.node[s].pos in step_of}))
            events.append(e)
        if not self._model.interleaving:
            self._explain_stale_reads(g, order, step_of, events)
        # preemptions: switching away from a thread that could have gone on
        alive_until = {t: max((e.index for e in events if e.thread == t), default=-1) for t in range(len(g.threads))}
        for i in range(1, len(events)):
            prev, cur = events[i - 1], events[i]
            if prev.thread != cur.thread and (alive_until[prev.thread] > i - 1
                                              or run.state[prev.thread] is not ThreadState.FINISHED):
                cur.preemption = True
        v = run.violation
        assert v is not None
        marked = v.events
        nodes = v.witness.get("_nodes")
        witness = {k: x for k, x in v.witness.items() if k != "_nodes"}
        message = v.message
        if nodes is not None:
            marked = tuple(sorted(step_of[p] for p in nodes))
            message = message.replace("{0}", str(step_of[nodes[0]])).replace("{1}", str(step_of[nodes[1]]))
        elif not marked:
            thread = witness.get("thread")
            if isinstance(thread, int):
                mine = [e.index for e in events if e.thread == thread]
                marked = tuple(mine[-1:])
            elif v.kind in (ViolationKind.DEADLOCK, ViolationKind.LIVENESS, ViolationKind.INVARIANT) and events:
                marked = (len(events) - 1,) if v.kind is not ViolationKind.INVARIANT else \
                    tuple(witness.pop("_steps", (len(events) - 1,)))
        v = Violation(v.kind, message, marked, v.invariant, witness)
        return ExecutionRecord(events, v, len(g.threads), run.names, dict(run.value_names))

    @staticmethod
    def _explain_stale_reads(g: Graph, order: list[Node], step_of: dict[Pos, int], events: list[Event]) -> None:
        """C11 traces: why a load could read a store that is not the mo-latest."""
        for n in order:
            if not n.reads or n.rf == g.co_max(n.loc) or n.op is OpKind.LOCK:
                continue
            newer = g.co[n.loc][g.co_index(n.rf):]
            if not newer:
                continue
            nn = g.node(newer[-1])
            events[step_of[n.pos]].why = (f"step {step_of[nn.pos]} stores a newer value ({plain_value(nn.wval)}) "
                                          "but does not happen-before this read")

    # ---------------------------------------------------------------- replay

    def replay(self, trace: Any) -> ExecutionRecord | None:
        """Follow ``trace`` (a Counterexample) exactly; the record if it ends in a violation."""
        self._trace = trace
        self._interleaving = False
        self._start = time.perf_counter()
        with creation_hook(self._created):
            try:
                run = self._fresh_run()
                frame = _Frame(Graph(len(run.state)))
                if len(run.state) != len(trace.threads):
                    raise UsageError(f"the trace does not match this scenario: it has {len(trace.threads)} "
                                     f"threads, the scenario {len(run.state)}")
                self._extend(frame)
            except _Stop:
                pass
            finally:
                self._close()
        return self.failing

    def _replay_thread(self, ready: list[int]) -> int | None:
        steps = self._trace.schedule
        i = self._schedule_pos
        if i >= len(steps):
            return None
        t = steps[i]
        if t not in ready:
            raise DivergedError(f"at step {i} the trace runs thread {t}, which cannot run here (runnable: {ready})")
        self._schedule_pos += 1
        return t

    def _replay_rf(self, node: Node, options: list[Pos | None]) -> Pos | None:
        want = self._trace.events[self._schedule_pos - 1]
        self._check_step(node, want)
        rf = None if want.rf is None else self._trace_nodes.get(want.rf)
        if rf not in options:
            raise DivergedError(f"at step {want.step} the trace reads from step {want.rf}, which is not a write of "
                            f"{node.info.name if node.info else '?'} here")
        self._trace_nodes[self._schedule_pos - 1] = node.pos
        return rf

    def _replay_co(self, w: Node, preds: list[Pos | None]) -> Pos | None:
        want = self._trace.events[self._schedule_pos - 1]
        self._check_step(w, want)
        self._trace_nodes[self._schedule_pos - 1] = w.pos
        slot = want.pick
        if not 0 <= slot < len(preds):
            raise DivergedError(f"at step {want.step} the trace places the store at position {slot} of "
                            f"{len(preds) - 1} earlier stores")
        return preds[slot]

    def _check_step(self, node: Node, want: Any) -> None:
        loc = node.info.name if node.info else None
        if node.thread != want.thread or node.op.value != want.op or loc != want.location:
            raise DivergedError(f"at step {want.step} the trace has T{want.thread} {want.op} of {want.location}, "
                            f"the scenario T{node.thread} {node.op.value} of {loc}")
        if node.writes and not node.rmw and plain_value(node.wval) != want.written:
            raise DivergedError(f"at step {want.step} the trace's T{want.thread} {want.op} of {want.location} "
                                f"writes {want.written!r}, the scenario's writes {plain_value(node.wval)!r}")


class DivergedError(UsageError):
    """A replayed run left the trace: another thread ran, or another event happened, at some step."""


class _Replay:
    """Replays graph ``g`` into a fresh run, in an order made as the run goes that extends po ∪ rf.

    A thread's next event may go as soon as the write it reads (if any) has been replayed.  A thread that
    announces such an event gets its answer where it runs (the instance is the run's ``script``), already
    while the threads start, so a thread goes on with no switch to the explorer and back until its next
    event reads a write not yet replayed.  Then it waits, and :meth:`drain` has the explorer perform its
    event (:meth:`Explorer.perform`) once that write is replayed, threads in the order they became able to
    go.  Both paths make the same checks.

    A plain object, not a closure: a closure's cell would tie it, the run and everything the run made
    into a cycle that only the garbage collector frees.
    """

    def __init__(self, ex: Explorer, g: Graph, run: ProgramRun) -> None:
        self.ex = ex
        self.g = g
        self.run = run
        self.threads = g.threads
        self.shown: dict[Any, int] = {}
        self.co_at = g.co_positions()
        #: per thread: how many of its events have been replayed
        self.done = [0] * len(g.threads)
        #: write -> threads whose next event reads it and wait for it to be replayed
        self.waiting: dict[Pos, list[int]] = {}
        #: threads able to go, in the order they became so (drain() takes them from ``head`` on)
        self.ready: list[int] = []
        operations = 0
        for nodes in g.threads:
            for n in nodes:
                # operations, as ``events`` counts them: a read-modify-write's write part is not one of its own
                if not (n.rmw and n.writes):
                    operations += 1
        self.operations = operations

    def _wake(self, w: Node) -> None:
        who = self.waiting.pop(w.pos, None)
        if who is not None:
            self.ready.extend(who)

    def __call__(self, t: int, op: OpKind, obj: Any, info: Any, a: Any) -> Any:
        """Thread ``t`` announces ``op``: answer it if its event may go now, else NOT_MINE (it waits)."""
        nodes = self.threads[t]
        done = self.done
        i = done[t]
        if i >= len(nodes):
            return NOT_MINE  # past the graph: the explorer extends it from here
        n = nodes[i]
        rf = n.rf
        if n.reads and rf is not None and rf[1] >= done[rf[0]]:
            self.waiting.setdefault(rf, []).append(t)
            return NOT_MINE
        done[t] = i + 1
        g = self.g
        result = self.ex._apply(g, self.run, n, t, op, obj, info, a, self.shown, self.co_at)
        if result is _PART:
            # a read-modify-write's read that succeeded: its write part goes with it
            w = nodes[i + 1]
            done[t] = i + 2
            self.ex._apply_write_part(g, w, self.shown, self.co_at)
            self._wake(w)
            result = _result(w, g)
        elif result is _WAITS:
            return NOT_MINE
        elif n.writes:
            self._wake(n)
        self.run.steps[t] += 1
        return result

    def drain(self) -> None:
        """After the threads started: perform the waiting threads' events until the graph is replayed."""
        ex, g, run, ready, done = self.ex, self.g, self.run, self.ready, self.done
        head = 0
        while head < len(ready):
            t = ready[head]
            head += 1
            nodes = self.threads[t]
            i = done[t]
            n = nodes[i]
            if n.reads and n.rmw and _succeeds(n):
                w = nodes[i + 1]
                done[t] = i + 2
                ex.perform(g, run, n, self.shown, self.co_at)
                ex.perform(g, run, w, self.shown, self.co_at)
                self._wake(w)
            else:
                done[t] = i + 1
                ex.perform(g, run, n, self.shown, self.co_at)
                if n.writes:
                    self._wake(n)
        for t, nodes in enumerate(self.threads):
            if done[t] < len(nodes):
                n = nodes[done[t]]
                if run.pending[t] is None:
                    ex._diverged(t, n, None)  # the thread returned or parked where it had announced n before
                # it announced n, whose write was never replayed
                raise CheckerBug(f"replaying thread {t}: its event {n.index} waits for a write that is never "
                                 "replayed (po ∪ rf is cyclic)")


def _co_before_saved(g: Graph, loc: Any, pos: Pos | None, view: View, w: Pos) -> bool:
    """Is ``pos`` (None: the initial value) co-before some kept write other than ``w``?"""
    order = g.co.get(loc, [])
    start = 0 if pos is None else order.index(pos) + 1
    return any(g.contains(view, s) and s != w for s in order[start:])


def _co_slot(g: Graph, n: Node, seen: dict[Any, list[Pos]]) -> int:
    """Where ``n`` went in modification order among the writes before it in the trace."""
    earlier = seen.setdefault(n.loc, [])
    order = g.co[n.loc]
    mine = order.index(n.pos)
    slot = sum(1 for p in earlier if order.index(p) < mine)
    earlier.append(n.pos)
    return slot


def _name(n: Node) -> str:
    """The name of ``n``'s location, for messages."""
    return "?" if n.info is None else n.info.name


def _succeeds(r: Node) -> bool:
    """Does the read of a read-modify-write go on to write?"""
    if r.op is OpKind.CAS:
        return r.rval == r.cas_expected
    if r.op is OpKind.LOCK:
        return r.rval != LOCKED
    return True


#: :meth:`Explorer._apply`: a read-modify-write's read that goes on to its write part
_PART: Final = object()
#: :meth:`Explorer._apply`: a lock acquisition that waits for the lock
_WAITS: Final = object()


def _result(n: Node, g: Graph) -> Any:
    """What the thread's operation returns."""
    if n.writes and n.rmw:
        r = g.threads[n.thread][n.index - 1]
        if r.op is OpKind.CAS:
            return (True, r.rval)
        if r.op is OpKind.LOCK:
            return None
        return r.rval
    if not n.reads:
        return None
    if n.op is OpKind.CAS:
        return (n.rval == n.cas_expected, n.rval)
    if n.op is OpKind.LOCK:
        return None
    return n.rval
