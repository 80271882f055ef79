"""One controlled execution of a scenario: the runtime the atomics layer hands operations to.

Design: every explored thread is a greenlet running the user's plain
callable.  When it reaches an atomics-layer operation it announces the
operation (its *pending* op) and switches to the scheduler greenlet; the
scheduler asks a :class:`Chooser` (the search strategy) which enabled thread
runs next and switches to it, which then performs its op and runs on to its
next one.  So the scheduler always knows every thread's next operation, which
is what enabledness (locks) and the DPOR need.

The engine keeps, per event, a dependence clock (the DPOR's happens-before)
and a synchronisation clock (program order + rf/unlock->lock, used for data
races and the HB graph), and per location the last writer.  Under C11 the
synchronisation clock follows RC11 instead (see ``c11``): an atomic load asks
the chooser which of the stores its thread's view allows it reads, and a
store which modification-order position it takes; each choice is a branch.

Spin loops (await semantics, as GenMC's spin-assume): ``spin_loop()`` ends
one iteration of a wait loop.  If the iteration only read, the thread then
waits until another thread writes one of the locations it read (running it
earlier would only repeat the same iteration).  When nothing else can run,
the loop spins forever: a "bound" violation.  An iteration that wrote, or
read nothing, does not wait.  Without this, every spin-wait has an unfair
schedule that spins until the step bound.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from greenlet import GreenletExit, greenlet, getcurrent

from framemc.errors import CheckerBug, UsageError
from framemc.impl.atomics import (Atomic, AtomicOp, Cell, Location, Mutex, Ordering, apply_rmw,
                                  install_runtime, uninstall_runtime)
from framemc.explorer.bounds import Bounds, MemoryModel
from framemc.explorer.c11 import C11Memory, StoreRecord
from framemc.explorer.events import SC_ORDER_KEY, Event, LocationInfo, OpKind, SourceLocator, location_kind
from framemc.explorer.violation import Violation, ViolationKind
from framemc.explorer.watch import StateChecker, close_context, open_context

__all__ = ["Chooser", "Execution", "ExecutionRecord", "Outcome", "parse_setup_result", "plain_value"]

_OPKIND = {
    AtomicOp.LOAD: OpKind.LOAD,
    AtomicOp.STORE: OpKind.STORE,
    AtomicOp.CAS: OpKind.CAS,
    AtomicOp.FETCH_ADD: OpKind.FETCH_ADD,
    AtomicOp.FETCH_SUB: OpKind.FETCH_SUB,
    AtomicOp.SWAP: OpKind.SWAP,
}


def plain_value(value: Any) -> Any:
    """A deterministic, JSON-friendly rendering of a value read or written."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int, str)) for v in value):
        return list(value)
    return f"<{type(value).__name__}>"


class Outcome(enum.Enum):
    """How an execution ended."""

    #: every thread finished (and final() passed)
    COMPLETE = "complete"
    #: a violation stopped it
    VIOLATION = "violation"
    #: the chooser declined to continue (sleep-set blocked, bound cut, replay end)
    ABANDONED = "abandoned"


class Chooser(Protocol):
    """A search strategy's side of an execution."""

    def choose(self, depth: int, enabled: list[int], last: int | None) -> int | None:
        """The thread to run at ``depth`` (one of ``enabled``, sorted), or None to abandon."""

    def executed(self, depth: int, event: Event) -> None:
        """The event the chosen thread performed at ``depth``."""

    def pick(self, depth: int, count: int) -> int:
        """Which of ``count`` allowed stores (or mo positions) the event at ``depth`` takes (C11)."""


@dataclass
class ExecutionRecord:
    """Everything a search and a trace need from one finished execution."""

    #: events in execution order
    events: list[Event]
    #: how it ended
    outcome: Outcome
    #: the violation, when outcome is VIOLATION
    violation: Violation | None
    #: number of explored threads
    nthreads: int
    #: each thread callable's ``__name__``
    thread_names: tuple[str, ...]
    #: under C11, the execution graph (po, rf, mo) in canonical form: equal for equivalent executions
    graph: Any = None


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


class Execution:
    """One run of a scenario under a chooser; implements the atomics ``Runtime`` protocol."""

    def __init__(self, setup: Callable[[], Any], bounds: Bounds, checker: StateChecker,
                 locator: SourceLocator, model: MemoryModel = MemoryModel.SC) -> None:
        #: the scenario
        self._setup = setup
        #: limits (max_steps is enforced here)
        self._bounds = bounds
        #: the search-wide state-check cache
        self._checker = checker
        #: source line finder (its cache lives as long as the search)
        self._locator = locator
        #: True under C11: atomics read any store coherence allows (see ``c11``)
        self._c11 = model is MemoryModel.C11
        #: runs abandoned so far because a spin loop re-read a stale store
        self.assume_blocked = 0

    # ----------------------------------------------------------------- setup

    def _run_setup(self) -> tuple[list[Callable[[], Any]], Callable[[], Any] | None, list]:
        self._registry: dict[int, tuple[Any, Any, str]] = {}
        self._kind_counts: dict[str, int] = {}
        self._thread_counts: dict[Any, int] = {}
        self._in_setup = True
        ctx = open_context()
        try:
            ret = self._setup()
        except (UsageError, CheckerBug):
            raise
        except Exception as exc:
            raise UsageError(f"setup() raised {type(exc).__name__}: {exc}") from exc
        finally:
            self._in_setup = False
            close_context()
        threads, final = parse_setup_result(ret)
        return threads, final, ctx.watchers

    def created(self, obj: Any) -> None:
        """Give a new location a key stable across executions: its creation order in setup or its thread."""
        if id(obj) in self._registry:
            return
        kind = location_kind(obj)
        if self._in_setup:
            ordinal = self._kind_counts.get(kind, 0)
            self._kind_counts[kind] = ordinal + 1
            key: Any = ("setup", len(self._registry))
            default = f"{kind}#{ordinal}"
        else:
            # created while threads ran: numbered within the creating thread, which
            # does not depend on how other threads were interleaved
            who = "final" if getcurrent() is self._main else self._current
            count = self._thread_counts.get(who, 0)
            self._thread_counts[who] = count + 1
            key = (who, count)
            default = f"{kind}#t{who}.{count}"
        self._registry[id(obj)] = (key, obj, default)

    def _info(self, obj: Any, t: int) -> LocationInfo:
        info = self._locs.get(id(obj))
        if info is not None:
            return info
        reg = self._registry.get(id(obj))
        if reg is None or reg[1] is not obj:
            # made before the search began: the same object in every execution
            reg = (("global", id(obj)), obj, f"{location_kind(obj)}#g{len(self._locs)}")
        name = getattr(obj, "name", None) or reg[2]
        info = LocationInfo(reg[0], str(name), location_kind(obj), self._n)
        self._locs[id(obj)] = info
        self._keep.append(obj)
        return info

    # ------------------------------------------------------------- the run

    def run(self, chooser: Chooser) -> ExecutionRecord:
        """Run the scenario once, letting ``chooser`` pick every scheduling choice."""
        threads, final, watchers = self._run_setup()
        n = len(threads)
        self._n = n
        self._locs: dict[int, LocationInfo] = {}
        self._keep: list[Any] = []
        self._events: list[Event] = []
        self._clocks = [[0] * n for _ in range(n)]
        self._syncs = [[0] * n for _ in range(n)]
        self._pending: list[tuple[OpKind, Any] | None] = [None] * n
        self._pending_src: list[str] = ["?"] * n
        self._finished = [False] * n
        self._iteration: list[list[tuple[LocationInfo, int]]] = [[] for _ in range(n)]
        self._wrote = [False] * n
        # the reads a spinning thread waits to see changed
        self._awaiting: list[list[tuple[LocationInfo, int]] | None] = [None] * n
        self._fixup: list[tuple[Event, Any] | None] = [None] * n
        self._chooser = chooser
        self._mem = C11Memory(n, self._syncs)
        # the SC order as a location, so the DPOR orders SC events against each other
        self._sc_loc = LocationInfo(SC_ORDER_KEY, "SC", "sc", n)
        # per thread: did the current spin iteration read a store that was not mo-latest?
        self._stale = [False] * n
        # per thread: rf sources of relaxed reads an acquire fence would synchronise with
        self._relaxed_rf: list[list[int]] = [[] for _ in range(n)]
        self._blocked = False
        self._violation: Violation | None = None
        self._bug: BaseException | None = None
        self._tearing_down = False
        self._current = 0
        self._preempting = False
        self._main = getcurrent()
        self._glets = [greenlet(self._body(i, fn)) for i, fn in enumerate(threads)]
        names = tuple(getattr(fn, "__name__", f"thread{i}") for i, fn in enumerate(threads))
        outcome = Outcome.COMPLETE
        install_runtime(self)
        try:
            outcome = self._schedule_loop(chooser, watchers)
        finally:
            self._teardown()
            uninstall_runtime(self)
        if self._bug is not None:
            raise self._bug
        if outcome is Outcome.COMPLETE and final is not None:
            self._run_final(final)
        if self._violation is not None:
            outcome = Outcome.VIOLATION
        # only C11 counts distinct graphs: under SC the optimal DPOR's executions already are distinct
        graph = self._graph() if self._c11 and outcome is not Outcome.ABANDONED else None
        return ExecutionRecord(self._events, outcome, self._violation, n, names, graph)

    def _graph(self) -> Any:
        """The execution as (po, rf, mo): events by thread and position, whom each read, stores in mo."""
        events = self._events
        who = [(e.thread, e.tidx) for e in events]
        # events are in execution order, which extends po: per-thread lists are po
        po: list[list[tuple[Any, ...]]] = [[] for _ in range(self._n)]
        for e in events:
            po[e.thread].append((e.op, None if e.loc is None else e.loc.key, e.order, _frozen(e.read),
                                 _frozen(e.written), None if e.rf is None else who[e.rf]))
        order: dict[Any, list[Any]] = {}
        for w, e in zip(who, events):
            if e.is_write and e.loc is not None:
                order.setdefault(e.loc.key, []).append(w)
        if self._c11:
            # atomics: the modification order, which may differ from the execution order
            for key, stores in self._mem.stores.items():
                order[key] = [(r.thread, r.tidx) for r in stores[1:]]
        mo = tuple(sorted((repr(key), tuple(ws)) for key, ws in order.items()))
        return tuple(map(tuple, po)), mo

    def _schedule_loop(self, chooser: Chooser, watchers: list) -> Outcome:
        for t in range(self._n):
            self._current = t
            self._glets[t].switch()
            if self._violation is not None or self._bug is not None:
                return Outcome.VIOLATION
        checker = self._checker
        prev = None
        if watchers:
            prev = checker.snapshot(watchers)
            self._check_state(watchers, None, prev)
        events = self._events
        depth = 0
        while self._violation is None and self._bug is None:
            if self._blocked:
                self.assume_blocked += 1
                return Outcome.ABANDONED
            enabled = self._enabled()
            if not enabled:
                if all(self._finished):
                    return Outcome.COMPLETE
                self._violation = self._stuck()
                break
            last = events[-1].thread if events else None
            t = chooser.choose(depth, enabled, last)
            if t is None:
                return Outcome.ABANDONED
            if t not in enabled:
                raise CheckerBug(f"the search chose thread {t}, which is not enabled ({enabled})")
            self._current = t
            self._preempting = last is not None and t != last and last in enabled
            self._glets[t].switch()
            if self._bug is not None:
                break
            if len(events) != depth + 1:
                raise CheckerBug(f"thread {t} ran but recorded {len(events) - depth} events")
            chooser.executed(depth, events[depth])
            depth += 1
            if watchers and self._violation is None:
                cur = checker.snapshot(watchers)
                if cur != prev:
                    self._check_state(watchers, prev, cur)
                    prev = cur
        return Outcome.VIOLATION

    def _check_state(self, watchers: list, prev: Any, cur: Any) -> None:
        failure = self._checker.check(watchers, prev, cur)
        if failure is not None:
            last = (len(self._events) - 1,) if self._events else ()
            self._violation = Violation(ViolationKind.INVARIANT,
                                        f"invariant {failure.name} violated: {failure.message}",
                                        last, str(failure.name), dict(failure.witness))

    def _enabled(self) -> list[int]:
        ready = []
        for t in range(self._n):
            p = self._pending[t]
            if p is None or (p[0] is OpKind.LOCK and p[1]._held_by is not None):
                continue
            waits = self._awaiting[t]
            if waits is not None:
                if all(info.version == seen for info, seen in waits):
                    continue
                self._awaiting[t] = None
            ready.append(t)
        return ready

    def _stuck(self) -> Violation:
        waits = []
        spinning = []
        for t in range(self._n):
            p = self._pending[t]
            if p is None:
                continue
            if self._awaiting[t] is not None:
                names = sorted({info.name for info, _ in self._awaiting[t]})
                spinning.append(f"thread {t} spins forever at {self._spin_source(t)}: no other thread "
                                f"can change {', '.join(names)}")
                continue
            m = p[1]
            holder = m._held_by
            state = "which has finished" if self._finished[holder] else "which is blocked"
            name = self._info(m, t).name
            waits.append(f"thread {t} waits at {self._pending_src[t]} for mutex {name} "
                         f"held by thread {holder}, {state}")
        last = (len(self._events) - 1,) if self._events else ()
        if waits:
            return Violation(ViolationKind.DEADLOCK, "; ".join(waits + spinning), last)
        return Violation(ViolationKind.BOUND, "; ".join(spinning), last)

    def _spin_source(self, t: int) -> str:
        spins = [e.source for e in self._events if e.thread == t and e.op is OpKind.SPIN]
        return spins[-1] if spins else self._pending_src[t]

    def _teardown(self) -> None:
        # unwind unfinished threads so their finally blocks run while ops are refused
        self._tearing_down = True
        for g in self._glets:
            if not g.dead:
                try:
                    g.throw(GreenletExit)
                except GreenletExit:
                    pass

    def _run_final(self, final: Callable[[], Any]) -> None:
        try:
            final()
        except (UsageError, CheckerBug):
            raise
        except Exception as exc:
            where = self._locator.locate_traceback(exc.__traceback__)
            self._violation = Violation(ViolationKind.ASSERTION,
                                        f"final() raised {_describe(exc)} at {where}",
                                        (), None, {"thread": "final", "source": where})

    def _body(self, t: int, fn: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except GreenletExit:
                pass
            except CheckerBug as bug:
                self._bug = bug
            except Exception as exc:
                if self._violation is None:
                    where = self._locator.locate_traceback(exc.__traceback__)
                    last = [e.index for e in self._events if e.thread == t][-1:]
                    self._violation = Violation(ViolationKind.ASSERTION,
                                                f"thread {t} raised {_describe(exc)} at {where}",
                                                tuple(last), None, {"thread": t, "source": where})
            finally:
                self._flush(t)
                self._finished[t] = True
                self._pending[t] = None
        return run

    # ------------------------------------------------ runtime protocol

    def _schedule(self, op: OpKind, obj: Any) -> int:
        if self._tearing_down:
            raise GreenletExit
        if getcurrent() is self._main:
            raise UsageError("atomics-layer operations are not allowed in snapshot_fn or check hooks; "
                             "use peek() there")
        t = self._current
        self._flush(t)
        self._pending[t] = (op, obj)
        self._pending_src[t] = self._locator.locate(2)
        self._main.switch()
        if self._tearing_down:
            raise GreenletExit
        self._pending[t] = None
        return t

    def _flush(self, t: int) -> None:
        fix = self._fixup[t]
        if fix is not None:
            fix[0].written = plain_value(getattr(fix[1], "_value", None))
            self._fixup[t] = None

    def _record(self, t: int, op: OpKind, info: LocationInfo | None, is_write: bool, reads: bool,
                order: Ordering | None, read: Any = None, written: Any = None,
                args: tuple[Any, ...] = (), sc: bool = False, pick: tuple[int, int] = (0, 1)) -> Event:
        n = self._n
        clk = self._clocks[t]
        syn = self._syncs[t]
        clk[t] += 1
        syn[t] += 1
        index = len(self._events)
        rf = None
        if info is not None:
            deps = info.w_clock
            for u in range(n):
                if deps[u] > clk[u]:
                    clk[u] = deps[u]
            if is_write:
                rc = info.r_clock
                for u in range(n):
                    if rc[u] > clk[u]:
                        clk[u] = rc[u]
            if reads and info.kind != "cell" and info.kind != "location" and not (self._c11 and info.kind == "atomic"):
                # under SC every atomic read (and lock) synchronises with the write it observes
                rf = info.last_write
                src = info.store_sync
                if src is not None:
                    for u in range(n):
                        if src[u] > syn[u]:
                            syn[u] = src[u]
        scl = self._sc_loc
        if sc:
            for deps in (scl.w_clock, scl.r_clock):
                for u in range(n):
                    if deps[u] > clk[u]:
                        clk[u] = deps[u]
        clock = tuple(clk)
        if sc:
            scl.w_clock = clock
            scl.r_clock = [0] * n
        ev = Event(index, t, clk[t], op, info, is_write, None if order is None else order.value,
                   read, written, self._pending_src[t], clock, tuple(syn), rf, self._preempting, args,
                   sc, pick[0], pick[1])
        self._preempting = False
        if info is not None:
            if is_write:
                info.w_clock = clock
                info.r_clock = [0] * n
                if info.kind != "cell" and info.kind != "location":
                    info.last_write = index
                    info.store_sync = ev.sync
            else:
                rc = info.r_clock
                for u in range(n):
                    if clk[u] > rc[u]:
                        rc[u] = clk[u]
        self._events.append(ev)
        if info is not None:
            if is_write:
                info.version += 1
                self._wrote[t] = True
            self._iteration[t].append((info, info.version))
        if clk[t] > self._bounds.max_steps and self._violation is None:
            self._violation = Violation(
                ViolationKind.BOUND,
                f"thread {t} exceeded {self._bounds.max_steps} steps at {ev.source}: a loop that does not "
                f"terminate? If it legitimately runs longer, raise the bound with "
                f"explore(..., max_steps=N)", (index,), None, {"thread": t, "max_steps": self._bounds.max_steps})
        return ev

    def atomic(self, obj: Atomic, op: AtomicOp, order: Ordering, a: Any, b: Any,
               failure: Ordering | None) -> Any:
        """Perform an atomic operation at a scheduling point (SC: read the mo-latest store)."""
        kind = _OPKIND[op]
        t = self._schedule(kind, obj)
        info = self._info(obj, t)
        if self._c11:
            return self._atomic_c11(t, obj, info, op, order, a, b, failure)
        old = obj._value
        if op is AtomicOp.LOAD:
            self._record(t, kind, info, False, True, order, read=old)
            return old
        if op is AtomicOp.STORE:
            obj._value = a
            self._record(t, kind, info, True, False, order, written=a)
            return None
        if op is AtomicOp.CAS:
            ok = old == a
            if ok:
                obj._value = b
            self._record(t, kind, info, ok, True, order if ok else failure, read=old,
                         written=b if ok else None, args=(plain_value(a), b))
            return ok, old
        new = apply_rmw(op, old, a, obj._mask)
        obj._value = new
        self._record(t, kind, info, True, True, order, read=old, written=new, args=(a,))
        return old

    def _pick(self, count: int) -> tuple[int, int]:
        if count == 1:
            return 0, 1
        try:
            choice = self._chooser.pick(len(self._events), count)
        except UsageError as exc:
            # the search's complaint (a replay that does not fit), not the thread's failure
            self._bug = exc
            raise GreenletExit from None
        if not 0 <= choice < count:
            raise CheckerBug(f"the search picked option {choice} of {count}")
        return choice, count

    def _atomic_c11(self, t: int, obj: Atomic, info: LocationInfo, op: AtomicOp, order: Ordering, a: Any,
                    b: Any, failure: Ordering | None) -> Any:
        """An atomic operation under RC11: branch over the stores (or mo positions) it may take."""
        kind = _OPKIND[op]
        mem = self._mem
        key = info.key
        stores = mem.location(key, obj._value)
        sc = order is Ordering.SEQ_CST or failure is Ordering.SEQ_CST
        if sc:
            mem.sc_enter(t)
        if op is AtomicOp.STORE:
            positions = mem.store_positions(t, key)
            pick = self._pick(len(positions))
            ev = self._record(t, kind, info, True, False, order, written=a, sc=sc, pick=pick)
            mem.write(t, key, ev.index, ev.tidx, a, order, positions[pick[0]], None)
            obj._value = stores[-1].value
            if sc:
                mem.sc_leave(t)
            return None
        options = mem.read_options(t, key, op is not AtomicOp.LOAD and op is not AtomicOp.CAS,
                                   (a,) if op is AtomicOp.CAS else None)
        pick = self._pick(len(options))
        rec = options[pick[0]]
        old = rec.value
        if op is AtomicOp.LOAD:
            effective, written, args, result = order, None, (), old
        elif op is AtomicOp.CAS:
            ok = old == a and rec is stores[-1]
            effective, written, args, result = (order if ok else failure), (b if ok else None), \
                (plain_value(a), b), (ok, old)
        else:
            effective, written, args, result = order, apply_rmw(op, old, a, obj._mask), (a,), old
        if effective is None:
            raise CheckerBug("compare_exchange reached the runtime without a failure ordering")
        mem.read(t, key, rec, effective)
        ev = self._record(t, kind, info, written is not None, True, effective, read=old, written=written,
                          args=args, sc=sc, pick=pick)
        self._note_read(t, ev, rec, effective)
        if written is not None:
            mem.write(t, key, ev.index, ev.tidx, written, order, len(stores), rec)
            obj._value = written
        if sc:
            mem.sc_leave(t)
        return result

    def _note_read(self, t: int, ev: Event, rec: StoreRecord, order: Ordering) -> None:
        """Record the read's rf edge, its synchronisation, and why it could read a stale store."""
        ev.rf = rec.event
        if rec.event is not None and rec.message is not None and rec.thread != t:
            if order.is_acquire:
                ev.sw = (rec.event,)
            else:
                self._relaxed_rf[t].append(rec.event)
        newer = self._mem.hidden_by(ev.loc.key, rec)
        if newer is not None:
            self._stale[t] = True
            ev.why = (f"step {newer.event} stores a newer value ({plain_value(newer.value)}) but does not "
                      f"happen-before this read")

    def nonatomic(self, loc: Location, write: bool) -> None:
        """A non-atomic access: a scheduling point and a happens-before race check."""
        kind = OpKind.WRITE if write else OpKind.READ
        t = self._schedule(kind, loc)
        info = self._info(loc, t)
        read = None if write else plain_value(getattr(loc, "_value", None))
        ev = self._record(t, kind, info, write, not write, None, read=read)
        if write and isinstance(loc, Cell):
            self._fixup[t] = (ev, loc)
        syn = ev.sync
        other = None
        w = info.cell_write
        if w is not None and w[0] != t and syn[w[0]] < w[1]:
            other = w[2]
        if write:
            for u, (uidx, uev) in sorted(info.cell_reads.items()):
                if other is None and u != t and syn[u] < uidx:
                    other = uev
            info.cell_write = (t, ev.tidx, ev.index)
            info.cell_reads = {}
        else:
            info.cell_reads[t] = (ev.tidx, ev.index)
        if other is not None and self._violation is None:
            first = self._events[other]
            verb = "writes" if write else "reads"
            self._violation = Violation(
                ViolationKind.DATA_RACE,
                f"data race on {info.name}: thread {t} {verb} it at {ev.source} (step {ev.index}) and "
                f"thread {first.thread}'s {first.op.value} at {first.source} (step {first.index}) "
                f"is not ordered before it by happens-before",
                (first.index, ev.index), None, {"location": info.name})

    def lock(self, m: Mutex) -> None:
        """Acquire ``m``; the scheduler only runs this once ``m`` is free."""
        t = self._schedule(OpKind.LOCK, m)
        if m._held_by is not None:
            raise CheckerBug(f"thread {t} acquired a mutex held by thread {m._held_by}")
        m._held_by = t
        info = self._info(m, t)
        self._record(t, OpKind.LOCK, info, True, True, None)
        if self._c11:
            self._mem.lock(t, info.key)

    def unlock(self, m: Mutex) -> None:
        """Release ``m``; synchronises with the next lock of it."""
        t = self._schedule(OpKind.UNLOCK, m)
        info = self._info(m, t)
        held = m._held_by == t
        if held:
            m._held_by = None
        self._record(t, OpKind.UNLOCK, info, True, False, None)
        if self._c11:
            self._mem.unlock(t, info.key)
        if not held:
            raise UsageError(f"{info.name}: unlock() by thread {t}, which does not hold it")

    def fence(self, order: Ordering) -> None:
        """A fence: a scheduling point; under C11 it acquires, releases or joins the SC order."""
        t = self._schedule(OpKind.FENCE, None)
        sc = self._c11 and order is Ordering.SEQ_CST
        ev = self._record(t, OpKind.FENCE, None, False, False, order, sc=sc)
        if self._c11:
            if order.is_acquire and self._relaxed_rf[t]:
                ev.sw = tuple(sorted(set(self._relaxed_rf[t])))
                self._relaxed_rf[t] = []
            self._mem.fence(t, order)

    def spin(self) -> None:
        """A spin-loop hint: after a read-only iteration, wait until what it read changes."""
        t = self._schedule(OpKind.SPIN, None)
        self._record(t, OpKind.SPIN, None, False, False, None)
        reads = self._iteration[t]
        if reads and not self._wrote[t]:
            if self._stale[t]:
                # a read-only iteration that read a stale store: a fair run reads newer
                # stores eventually, and the branch that reads them now is explored too
                self._blocked = True
            self._awaiting[t] = reads
        self._iteration[t] = []
        self._wrote[t] = False
        self._stale[t] = False

    def current_thread(self) -> int:
        """The running explored thread's index."""
        if getcurrent() is self._main:
            raise UsageError("current_cpu() is only meaningful inside an explored thread")
        return self._current


def _frozen(value: Any) -> Any:
    """A hashable form of a recorded value (plain_value turns tuples into lists)."""
    return tuple(value) if isinstance(value, list) else value


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
