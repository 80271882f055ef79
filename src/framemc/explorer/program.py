"""One run of a scenario's threads under the explorer's control: the atomics layer's runtime.

Design: every explored thread is a greenlet running the user's plain
callable.  When it reaches an atomics-layer operation it announces the
operation (its *pending* operation) and switches to the explorer; the
explorer decides what the operation returns (which write a load reads, for
instance), records it in the execution graph, and resumes the thread with
that result.  Code between two operations runs atomically.

A :class:`ProgramRun` knows nothing about graphs or memory models: it runs
``setup()``, keeps each thread's pending operation, resumes a thread with a
result, and records how a thread ended (finished, blocked on
``assume``/``spin_loop``, or raised).  Restoring an earlier state means
starting a new run and resuming the threads in the same order with the same
results (the explorer's replay).
"""

from __future__ import annotations

import enum
import sys
import threading
from typing import Any, Callable, Final

from greenlet import GreenletExit, getcurrent, greenlet

from framemc.errors import CheckerBug, KernelError, RetryBoundExceeded, UsageError
from framemc.explorer.events import LocationInfo, SourceLocator, location_kind
from framemc.explorer.opkind import OpKind
from framemc.explorer.violation import Violation, ViolationKind
from framemc.explorer.watch import close_context, open_context
from framemc.sync import (Atomic, AtomicOp, Cell, Mutex, Ordering, install_runtime, origin_of,
                          uninstall_runtime)

__all__ = ["DeadlineExceeded", "Pending", "ProgramRun", "ThreadState", "parse_setup_result", "plain_value",
           "hashable_value", "classify_exception"]

_OPKIND: Final = {
    AtomicOp.LOAD: OpKind.LOAD,
    AtomicOp.STORE: OpKind.STORE,
    AtomicOp.CAS: OpKind.CAS,
    AtomicOp.FETCH_ADD: OpKind.FETCH_ADD,
    AtomicOp.FETCH_SUB: OpKind.FETCH_SUB,
    AtomicOp.SWAP: OpKind.SWAP,
}


def plain_value(value: Any) -> Any:
    """A deterministic, JSON-friendly rendering of a value read or written (collections recursively)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [plain_value(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain_value(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return f"<{type(value).__name__}>"


def hashable_value(value: Any) -> Any:
    """``plain_value`` in a hashable form (lists become tuples, dicts tuples of pairs)."""
    value = plain_value(value)
    if isinstance(value, list):
        return tuple(hashable_value(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, hashable_value(v)) for k, v in value.items())
    return value


def parse_setup_result(ret: Any) -> tuple[list[Callable[[], Any]], Callable[[], Any] | None]:
    """Split setup()'s return value into threads and final(); UsageError on anything else."""
    final = None
    if isinstance(ret, tuple) and len(ret) == 2 and isinstance(ret[0], (list, tuple)):
        threads, final = ret
        if final is not None and not callable(final):
            raise UsageError(f"setup() returned (threads, final) but final is a {type(final).__name__}, not a callable")
    elif isinstance(ret, list):
        threads = ret
    else:
        raise UsageError("setup() must return a list of thread callables or (threads, final), "
                         f"got {type(ret).__name__}: {ret!r:.60}")
    if not threads:
        raise UsageError("setup() returned no threads; return a non-empty list of callables")
    for i, fn in enumerate(threads):
        if not callable(fn):
            raise UsageError(f"setup() thread {i} is a {type(fn).__name__}, not a zero-argument callable")
    return list(threads), final


class ThreadState(enum.Enum):
    """Where a thread stands."""

    #: members are singletons: hash by identity (Enum hashes the name in Python code, and these are
    #: looked up on every explored event)
    __hash__ = object.__hash__

    #: waiting at its pending operation
    READY = "ready"
    #: returned
    FINISHED = "finished"
    #: ``assume(False)``: this execution is dropped
    ASSUMED = "assume"
    #: a spin-loop iteration that only read: it waits for one of those reads to change
    SPINNING = "spin"
    #: waiting for a mutex another thread holds
    LOCKED = "lock"
    #: raised (the run's violation says what)
    FAILED = "failed"


class Pending:
    """An operation a thread announced and waits to have performed (one is made per switch to the explorer, so
    this is a plain class: a dataclass's generated __init__ stays Python code in the compiled core)."""

    __slots__ = ("op", "obj", "info", "order", "failure", "a", "b", "frame", "locator")

    def __init__(self, op: OpKind, obj: Any, info: LocationInfo | None, order: Ordering | None,
                 failure: Ordering | None, a: Any, b: Any, frame: Any, locator: SourceLocator) -> None:
        #: the operation
        self.op = op
        #: the object touched (Atomic, Cell, Location, Mutex) or None (fence)
        self.obj = obj
        #: its per-run location info, or None
        self.info = info
        #: ordering given (success ordering of a CAS), or None
        self.order = order
        #: a CAS's failure ordering
        self.failure = failure
        #: first operand (value stored, CAS expected, RMW operand)
        self.a = a
        #: second operand (CAS new value)
        self.b = b
        #: the frame that called the operation (suspended there while the operation is pending)
        self.frame = frame
        #: finds the operation's source line
        self.locator = locator

    @property
    def source(self) -> str:
        """``file:line`` of the operation (looked up only when the explorer records a new event: replays of
        known events never ask)."""
        return self.locator.at(self.frame)


class DeadlineExceeded(BaseException):
    """The time budget ran out while code ran between two scheduling points (raised by a timer)."""


class DeadlineTimer:
    """Whether the time-budget timer fired during the running search.

    The timer's exception can land inside a C call (z3 through ctypes),
    which turns it into a ``ctypes.ArgumentError``; any exception seen after
    the timer fired is therefore the deadline's, never a violation.  The
    timer is process-wide (a POSIX signal), so this is one object, set by the
    timer and cleared when each search starts and ends.
    """

    #: True once the timer fired in the running search
    fired = False


#: the one deadline timer state (see :class:`DeadlineTimer`)
DEADLINE = DeadlineTimer()


def classify_exception(exc: BaseException) -> ViolationKind:
    """The violation a thread's exception stands for: a failed check, a bound, or an unexpected error."""
    if isinstance(exc, AssertionError):
        return ViolationKind.ASSERTION
    if isinstance(exc, RetryBoundExceeded):
        return ViolationKind.BOUND
    if isinstance(exc, KernelError):
        # the simulated kernel panicked or refused a call the scenario did not expect: the code under check failed
        return ViolationKind.ASSERTION
    return ViolationKind.EXCEPTION


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: True when this module runs compiled (framemc.explorer.core): its functions then have no Python frames, so
#: the frame of an operation's caller is fewer frames up
_COMPILED: Final = not __file__.endswith(".py")
#: from :meth:`ProgramRun._announce`, the frame of the atomics-layer method that announced the operation
_ANNOUNCER_DEPTH: Final = 0 if _COMPILED else 2
#: from :meth:`SourceLocator.locate` called by :meth:`ProgramRun._park`, the atomics-layer function that parked
_PARKER_DEPTH: Final = 1 if _COMPILED else 3
#: what a run's ``script`` returns for an operation it does not answer (the thread then waits for the explorer)
NOT_MINE: Final = object()
#: what a pooled worker hands back to the run when its thread's body has returned
_FINISHED: Final = object()
#: idle workers kept per OS thread at most
_POOL_SIZE: Final = 64


class _WorkerPool(threading.local):
    """Idle greenlets that run thread bodies one after another (greenlets are bound to their OS thread).

    A greenlet costs a stack allocation to create and to free; a search starts one run per
    execution, each with one greenlet per thread, so runs borrow workers here and give them back.
    """

    def __init__(self) -> None:
        self.idle: list[greenlet] = []

    def take(self) -> greenlet:
        """An idle worker, or a new one; its parent is the calling greenlet."""
        if self.idle:
            g = self.idle.pop()
            g.parent = getcurrent()
            return g
        return greenlet(_worker)

    def give(self, g: greenlet) -> None:
        """Return a worker whose body has returned."""
        if not g.dead and len(self.idle) < _POOL_SIZE:
            self.idle.append(g)


_POOL: Final = _WorkerPool()


def _worker(body: Callable[[], Any]) -> None:
    """A pooled greenlet's loop: run a thread body, report it finished, wait for the next body."""
    while True:
        back = body()
        body = None  # type: ignore[assignment]  # keep nothing of the finished run alive
        body = back.switch(_FINISHED)


class ProgramRun:
    """One run of a scenario: setup, then threads resumed one operation at a time."""

    def __init__(self, setup: Callable[[], Any], locator: SourceLocator,
                 infos: dict[Any, LocationInfo] | None = None) -> None:
        #: the scenario
        self._setup = setup
        #: source line finder (its cache lives as long as the search)
        self._locator = locator
        #: location infos made by earlier runs of the search, by (key, name, type): they never change
        self._infos: dict[Any, LocationInfo] = {} if infos is None else infos
        #: location objects by id -> (stable key, object, default name)
        self._registry: dict[int, tuple[Any, Any, int | None]] = {}
        self._kind_counts: dict[str, int] = {}
        self._thread_counts: dict[Any, int] = {}
        self._in_setup = False
        self._current = -1
        self._main = getcurrent()
        #: per-run info of every location touched, by object id
        self.locs: dict[int, LocationInfo] = {}
        #: objects by location key (to keep ``_value`` current for ``peek``)
        self.objects: dict[Any, Any] = {}
        #: location keys whose initial value this run has recorded
        self.bound: set[Any] = set()
        self._keep: list[Any] = []
        #: the violation a thread raised, or None
        self.violation: Violation | None = None
        #: a usage error or checker bug raised inside a thread (re-raised by the explorer)
        self.error: BaseException | None = None
        #: the threads' callables
        self._threads: list[Callable[[], Any]] = []
        #: per thread: its pending operation, or None
        self.pending: list[Pending | None] = []
        #: per thread: where it stands
        self.state: list[ThreadState] = []
        #: per thread: operations performed
        self.steps: list[int] = []
        #: per thread: ``file:line`` where it blocked (spin_loop or assume)
        self.blocked_at: list[str] = []
        #: registered watchers
        self.watchers: list[Any] = []
        #: value -> name, for traces (``name_values``)
        self.value_names: dict[Any, str] = {}
        #: final(), or None
        self.final: Callable[[], Any] | None = None
        #: per thread: positions of the reads of the current spin-loop iteration, and whether it wrote
        self.iteration: list[list[Any]] = []
        self.iteration_wrote: list[bool] = []
        #: the last state snapshot checked along this run (plain search and replay)
        self.last_snapshot: Any = None
        self._glets: list[greenlet] = []
        #: per thread: its body has returned (its worker is idle)
        self._done: list[bool] = []
        self._tearing_down = False
        self._installed = False
        #: ``script(thread, op, obj, info, operand)``: answers an announced operation where the thread runs
        #: (returns its result) or NOT_MINE, after which the thread waits for the explorer as usual
        self.script: Callable[[int, OpKind, Any, LocationInfo | None, Any], Any] | None = None

    # ------------------------------------------------------------ locations

    def created(self, obj: Any) -> None:
        """Give a new location a key stable across runs: its creation order in setup or its thread.

        Runs for every location every execution creates, so the default name is only made when asked
        (:meth:`_default_name`).
        """
        registry = self._registry
        if id(obj) in registry:
            return
        if self._in_setup:
            kind = location_kind(obj)
            ordinal = self._kind_counts.get(kind, 0)
            self._kind_counts[kind] = ordinal + 1
            registry[id(obj)] = (("setup", len(registry)), obj, ordinal)
        else:
            who = "final" if getcurrent() is self._main else self._current
            count = self._thread_counts.get(who, 0)
            self._thread_counts[who] = count + 1
            registry[id(obj)] = ((who, count), obj, None)

    @staticmethod
    def _default_name(key: Any, obj: Any, ordinal: int | None) -> str:
        """``atomic#3`` for the fourth atomic made by setup, ``cell#t1.0`` for thread 1's first location."""
        kind = location_kind(obj)
        return f"{kind}#{ordinal}" if ordinal is not None else f"{kind}#t{key[0]}.{key[1]}"

    def registered(self) -> list[tuple[Any, Any, str]]:
        """Every location object this run created: (stable key, object, default name), in creation order."""
        return [(key, obj, self._default_name(key, obj, ordinal)) for key, obj, ordinal in self._registry.values()]

    def info(self, obj: Any) -> LocationInfo:
        """The per-run info of ``obj``; UsageError for shared state made outside setup()."""
        info = self.locs.get(id(obj))
        if info is not None:
            return info
        reg = self._registry.get(id(obj))
        if reg is None or reg[1] is not obj:
            name = getattr(obj, "name", None)
            label = f"{type(obj).__name__} {name!r}" if name else repr(obj)
            origin = origin_of(obj)
            where = f" (created at {origin})" if origin else ""
            raise UsageError(f"{label}{where} was created outside setup() and is shared between executions, "
                             "so state leaks from one execution into the next; create shared state inside "
                             "setup()")
        name = str(getattr(obj, "name", None) or self._default_name(*reg))
        known = (reg[0], name, type(obj))
        info = self._infos.get(known)
        if info is None:
            info = self._infos[known] = LocationInfo(reg[0], name, location_kind(obj))
        self.locs[id(obj)] = info
        self.objects[info.key] = obj
        self._keep.append(obj)
        return info

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Run setup(), then start every thread in index order: each runs up to its first operation that the
        run's ``script`` (set during a replay) does not answer."""
        self._in_setup = True
        ctx = open_context()
        try:
            ret = self._setup()
        except (UsageError, CheckerBug):
            raise
        except SystemExit as leave:
            raise UsageError(f"setup() raised SystemExit({leave.code!r}): a scenario must not exit; "
                             "return the threads instead") from None
        except Exception as exc:
            raise UsageError(f"setup() raised {type(exc).__name__}: {exc}") from exc
        finally:
            self._in_setup = False
            close_context()
        threads, self.final = parse_setup_result(ret)
        self.watchers = ctx.watchers
        self.value_names = dict(ctx.value_names)
        n = len(threads)
        self._threads = threads
        self.pending = [None] * n
        self.state = [ThreadState.READY] * n
        self.steps = [0] * n
        self.blocked_at = ["?"] * n
        self.iteration = [[] for _ in range(n)]
        self.iteration_wrote = [False] * n
        self._glets = [_POOL.take() for _ in range(n)]
        self._done = [False] * n
        install_runtime(self)
        self._installed = True
        for t, fn in enumerate(threads):
            self._run(t, self._body(t, fn))
            if self.error is not None:
                raise self.error

    @property
    def names(self) -> tuple[str, ...]:
        """The threads' callables' names (for traces)."""
        return tuple(getattr(fn, "__name__", None) or f"thread{i}" for i, fn in enumerate(self._threads))

    def resume(self, t: int, result: Any) -> None:
        """Hand thread ``t`` its pending operation's result and run it to its next operation."""
        self.pending[t] = None
        self.steps[t] += 1
        self._run(t, result)
        if self.error is not None:
            raise self.error

    def block(self, t: int, state: ThreadState) -> None:
        """Thread ``t`` waits for good at its pending operation (a lock held by another thread)."""
        self.state[t] = state

    def _run(self, t: int, result: Any) -> None:
        self._current = t
        if self._glets[t].switch(result) is _FINISHED:
            self._done[t] = True
        self._current = -1

    def close(self) -> None:
        """Unwind unfinished threads (their finally blocks run while operations are refused)."""
        self._tearing_down = True
        try:
            for t, g in enumerate(self._glets):
                if not self._done[t] and not g.dead:
                    try:
                        if g.throw(GreenletExit) is _FINISHED:
                            self._done[t] = True
                    except GreenletExit:
                        pass
                    except BaseException:
                        pass
                if self._done[t]:
                    _POOL.give(g)
            self._glets = []
        finally:
            if self._installed:
                uninstall_runtime(self)
                self._installed = False

    def run_final(self) -> None:
        """Run final() in direct mode; record its failure as the run's violation."""
        if self.final is None:
            return
        if self._installed:
            uninstall_runtime(self)
            self._installed = False
        try:
            self.final()
        except (UsageError, CheckerBug):
            raise
        except SystemExit as leave:
            raise UsageError(f"final() raised SystemExit({leave.code!r}): a scenario must not exit") from None
        except Exception as exc:
            if DEADLINE.fired:
                raise DeadlineExceeded() from exc
            where = self._locator.locate_traceback(exc.__traceback__)
            self.violation = Violation(classify_exception(exc), f"final() raised {_describe(exc)} at {where}",
                                       (), None, {"thread": "final", "source": where})

    def _body(self, t: int, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Thread ``t``'s body for a pooled worker: it runs ``fn``, records how it ended and returns the
        greenlet to go back to (the run's)."""
        def run() -> Any:
            try:
                fn()
                self.state[t] = ThreadState.FINISHED
            except GreenletExit:
                pass
            except DeadlineExceeded as deadline:
                self.error = deadline
                self.state[t] = ThreadState.FAILED
            except (CheckerBug, UsageError) as ours:
                self.error = ours
                self.state[t] = ThreadState.FAILED
            except SystemExit as leave:
                where = self._locator.locate_traceback(leave.__traceback__)
                self.error = UsageError(f"thread {t} raised SystemExit({leave.code!r}) at {where}: scenario code "
                                        "must not exit; return from the thread instead")
                self.state[t] = ThreadState.FAILED
            except Exception as exc:
                self.state[t] = ThreadState.FAILED
                if DEADLINE.fired:
                    # the timer's exception, converted by a C call on its way: the budget ran out
                    self.error = DeadlineExceeded()
                elif self.violation is None:
                    where = self._locator.locate_traceback(exc.__traceback__)
                    kind = classify_exception(exc)
                    self.violation = Violation(kind, f"thread {t} raised {_describe(exc)} at {where}",
                                               (), None, {"thread": t, "source": where,
                                                          "exception": type(exc).__name__})
            finally:
                self.pending[t] = None
            return self._main
        return run

    # ------------------------------------------------------------ runtime protocol

    def _announce(self, op: OpKind, obj: Any, order: Ordering | None = None, failure: Ordering | None = None,
                  a: Any = None, b: Any = None) -> Any:
        if self._tearing_down:
            raise GreenletExit
        t = self._current
        if t < 0:  # the explorer's own greenlet: between two resumptions no thread runs
            raise UsageError("atomics-layer operations are not allowed in snapshot_fn, check hooks or "
                             "outside the explored threads; use peek() there")
        info = None if obj is None else (self.locs.get(id(obj)) or self.info(obj))
        script = self.script
        if script is not None:
            result = script(t, op, obj, info, a)
            if result is not NOT_MINE:
                return result
        self.pending[t] = Pending(op, obj, info, order, failure, a, b, sys._getframe(_ANNOUNCER_DEPTH), self._locator)
        result = self._main.switch()
        if self._tearing_down:
            raise GreenletExit
        return result

    def atomic(self, obj: Atomic, op: AtomicOp, order: Ordering, a: Any, b: Any, failure: Ordering | None) -> Any:
        """An atomic operation: the explorer decides what it reads and returns."""
        return self._announce(_OPKIND[op], obj, order, failure, a, b)

    def nonatomic(self, loc: Any, write: bool, value: Any = None) -> None:
        """A non-atomic access (a Cell or payload Location); a write may say what it writes."""
        value = self._announce(OpKind.WRITE if write else OpKind.READ, loc, a=value)
        if not write and isinstance(loc, Cell):
            loc._value = value

    def lock(self, m: Mutex) -> None:
        """Acquire ``m`` (the explorer resumes the thread only once it holds it)."""
        self._announce(OpKind.LOCK, m)
        m._held_by = self._current

    def unlock(self, m: Mutex) -> None:
        """Release ``m``."""
        t = self._current
        if m._held_by != t:
            name = self.info(m).name
            # the code under check released a lock it does not hold: its bug, reported like a panic
            raise AssertionError(f"{name}: unlock() by thread {t}, which does not hold it")
        self._announce(OpKind.UNLOCK, m)
        m._held_by = None

    def fence(self, order: Ordering) -> None:
        """A fence."""
        self._announce(OpKind.FENCE, None, order)

    def spin(self) -> None:
        """End of a spin-loop iteration: after one that only read, wait for what it read to change."""
        t = self._current
        reads, wrote = self.iteration[t], self.iteration_wrote[t]
        self.iteration[t] = []
        self.iteration_wrote[t] = False
        if reads and not wrote:
            self.iteration[t] = reads
            self._park(t, ThreadState.SPINNING)

    def assume(self, cond: bool) -> None:
        """``assume(cond)``: when false, this execution is dropped."""
        if not cond:
            self._park(self._current, ThreadState.ASSUMED)

    def _park(self, t: int, state: ThreadState) -> None:
        if self._tearing_down:
            raise GreenletExit
        self.state[t] = state
        self.blocked_at[t] = self._locator.locate(_PARKER_DEPTH)
        self._main.switch()
        raise GreenletExit  # never resumed: close() unwinds it

    def current_thread(self) -> int:
        """The running explored thread's index."""
        if getcurrent() is self._main:
            raise UsageError("current_cpu() is only meaningful inside an explored thread")
        return self._current

    # ------------------------------------------------------------ values

    def set_value(self, key: Any, value: Any) -> None:
        """Keep an Atomic's or Cell's ``_value`` (what ``peek`` shows) equal to its co-latest write."""
        obj = self.objects.get(key)
        if obj is not None and hasattr(obj, "_value") and not isinstance(obj, Mutex):
            obj._value = value


def initial_value(obj: Any) -> Any:
    """The value a location holds before the threads run (mutexes: 0, unlocked)."""
    if isinstance(obj, Mutex):
        return 0
    return getattr(obj, "_value", None)

