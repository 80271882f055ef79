"""Parallel, distributed and resumable exploration: one optimal search cut into pieces of work.

Design.  The optimal search is a depth-first walk over a stack of revisits
(:meth:`Explorer._drive`); each revisit carries a :data:`~framemc.explorer.engine.Key`,
its place in the order one process would explore it.  A *piece* is a frame stack
(graphs plus the revisits still to do on them): the whole search at first, the
work a paused piece had left, or a single bottom revisit handed to an idle worker.
The revisits of one piece are a contiguous stretch of the one-process order, and
every execution of a piece comes before every execution of a piece with a larger
key.  So:

* pieces run anywhere, in any order: local worker processes, Dask workers, or one
  process that pauses to write a checkpoint;
* the results are merged by key, which gives exactly the one-process answer: the
  same executions, outcomes, counters and the same (first) counterexample;
* an execution bound is cut where one process would cut it, from the counters
  each piece notes at the end of each of its executions (``Explorer.marks``).

Each piece pauses after a time slice and returns what is left; when workers are
idle the worker splits off the bottom revisits of its stack (the largest untried
subtrees) as new pieces, so an unbalanced search keeps every worker busy.  Pieces
wait in a queue ordered by key: a violation found early in that order lets the
later pieces be dropped, and the earlier ones still run, because one of them
may hold the counterexample one process would have reported.

This module knows nothing of frames or allocators, only of the engine's pieces.
"""

from __future__ import annotations

import concurrent.futures as cf
import bisect
import hashlib
import heapq
import inspect
import multiprocessing
import os
import pickle
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from framemc.errors import UsageError
from framemc.explorer.bounds import BoundKind, Bounds, MemoryModel
from framemc.explorer.engine import ExecutionRecord, Explorer, Key, SearchOutcome, _Frame
from framemc.explorer.events import SourceLocator
from framemc.explorer.watch import StateChecker

__all__ = ["Piece", "PieceResult", "ParallelStats", "run_parallel", "CHECKPOINT_FORMAT"]

#: bumped whenever a checkpoint's contents change meaning
CHECKPOINT_FORMAT = 1
#: seconds a piece runs before it pauses and reports, while some worker is idle
SHORT_SLICE = 0.1
#: ... and while every worker has work queued
LONG_SLICE = 0.25


@dataclass
class Piece:
    """Work of one search: a frame stack (None: the search's start)."""

    frames: list[_Frame] | None

    @property
    def key(self) -> Key:
        """The key of the first revisit this piece explores (``()`` for the start)."""
        if self.frames is None:
            return ()
        return self.frames[-1].keys[-1]


@dataclass
class PieceResult:
    """What one piece did: counters, the marks at each execution's end, and the work it left."""

    key: Key
    executions: int
    blocked: int
    invalid: int
    events: int
    pops: int
    outcomes: dict[Any, int]
    marks: list[tuple[int, int, int, int, Any, int]] | None
    failing: ExecutionRecord | None
    failing_key: Key | None
    cut: BoundKind | None
    #: the work left, each piece as (its key, the pickled piece), in search order
    rest: list[tuple[Key, bytes]]
    checked: int
    hits: int
    inconclusive: dict[tuple[str, str], Any]
    seconds: float
    worker: str
    #: the key of every execution, when asked for (to measure duplicated work)
    keys: list[Key] | None = None
    #: events re-performed to restore graphs
    replayed: int = 0


@dataclass
class WorkerStats:
    """One worker's share."""

    executions: int = 0
    busy: float = 0.0
    tasks: int = 0


@dataclass
class ParallelStats:
    """How the work was spread (JSON report and progress display)."""

    #: worker processes (or Dask worker threads) used
    workers: int
    #: pieces explored (one task each)
    tasks: int = 0
    #: pieces that were split off for idle workers
    splits: int = 0
    #: bytes of pieces shipped to workers, and of results shipped back
    bytes_out: int = 0
    bytes_in: int = 0
    #: the longest the queue of waiting pieces got
    max_queue: int = 0
    #: pieces waiting now (progress display)
    queue: int = 0
    #: worker-seconds spent waiting for work (workers x wall time - busy time)
    idle: float = 0.0
    #: executions explored by pieces whose results were not needed (after a violation or a cut)
    discarded: int = 0
    #: executions run more than once (counted only with ``count_duplicates``; 0 by construction)
    duplicated: int | None = None
    #: per worker: executions, busy seconds, tasks
    per_worker: dict[str, WorkerStats] = field(default_factory=dict)
    #: inline runs: per task, (key, seconds, bytes shipped), in the order the tasks finished
    task_log: list[tuple[Key, float, int]] | None = None

    def line(self) -> str:
        """One line for the progress display and the text report."""
        rates = ", ".join(f"{s.executions / s.busy:.0f}/s" if s.busy else "0/s"
                          for _, s in sorted(self.per_worker.items()))
        plural = "s" if self.workers != 1 else ""
        return (f"{self.workers} worker{plural} ({rates or 'starting'}), {self.tasks} pieces, {self.splits} splits, "
                f"queue {self.queue} (max {self.max_queue}), idle {self.idle:.1f} worker-s")

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {"workers": self.workers, "tasks": self.tasks, "splits": self.splits, "bytes_out": self.bytes_out,
                "bytes_in": self.bytes_in, "max_queue": self.max_queue, "idle_seconds": round(self.idle, 3),
                "discarded_executions": self.discarded, "duplicated_executions": self.duplicated,
                "per_worker": {w: {"executions": s.executions, "busy_seconds": round(s.busy, 3), "tasks": s.tasks,
                                   "executions_per_second": round(s.executions / s.busy, 1) if s.busy else 0.0}
                               for w, s in sorted(self.per_worker.items())}}


@dataclass(frozen=True)
class SearchSpec:
    """Everything a worker needs to build the explorer of one search."""

    setup: Callable[[], Any]
    bounds: Bounds
    model: MemoryModel
    outcomes: bool
    count_keys: bool
    token: str
    #: pause every piece after this many revisits instead of after a time slice (deterministic pieces)
    piece_pops: int | None = None


# ------------------------------------------------------------------ the worker side

#: per process: search token -> its spec and explorer (kept across pieces: its state caches stay warm)
_EXPLORERS: dict[str, tuple[SearchSpec, Explorer]] = {}


def _explorer(spec: SearchSpec) -> Explorer:
    known = _EXPLORERS.get(spec.token)
    if known is None:
        _EXPLORERS.clear()
        known = _EXPLORERS[spec.token] = (spec, Explorer(spec.setup, spec.bounds, spec.model, StateChecker(),
                                                         SourceLocator(), optimal=True, outcomes=spec.outcomes))
    return known[1]


def _pickled(obj: Any, what: str) -> bytes:
    try:
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - the scenario's own values decide what pickles
        raise UsageError(f"parallel exploration: {what} of this scenario cannot be sent between processes "
                         f"({type(exc).__name__}: {exc}); run it with workers=1") from None


def explore_piece(spec: SearchSpec, blob: bytes, pause_after: float | None, seconds_left: float | None,
                  parts: int) -> bytes:
    """Explore one pickled piece; return the pickled :class:`PieceResult` (its leftover work split in ``parts``)."""
    piece: Piece = pickle.loads(blob)
    key = piece.key
    ex = _explorer(spec)
    ex._checker.inconclusive = {}
    ex.execution_keys = [] if spec.count_keys else None
    checked, hits = ex._checker.checked, ex._checker.hits
    start = time.perf_counter()
    left = ex.explore_piece(piece.frames, pause_after, seconds_left, spec.piece_pops)
    rest = [(p.key, _pickled(p, "a value")) for p in split(left, parts)]
    result = PieceResult(key, ex.executions, ex.blocked, ex.invalid, ex.events, ex.pops,
                         dict(ex.outcomes), ex.marks, ex.failing, ex.failing_key, ex.cut, rest,
                         ex._checker.checked - checked, ex._checker.hits - hits, dict(ex._checker.inconclusive),
                         time.perf_counter() - start, f"{os.uname().nodename}:{os.getpid()}", ex.execution_keys,
                         ex.replayed)
    return _pickled(result, "a result")


def split(frames: list[_Frame], parts: int) -> list[Piece]:
    """The work left on ``frames`` as at most ``parts`` pieces, in search order.

    The first piece is the stack itself (it goes on where it paused); each other one is a bottom revisit,
    the last the stack would have reached, with a copy of its graph.
    """
    if not frames:
        return []
    donated: list[Piece] = []
    while len(donated) < parts - 1 and sum(len(f.items) for f in frames) > 1:
        bottom = frames[0]
        item, key = bottom.items.pop(0), bottom.keys.pop(0)
        donated.append(Piece([_Frame(bottom.graph.copy(), [item], [key], bottom.dropped)]))
        if not bottom.items:
            frames.pop(0)
    return [Piece(frames)] + donated[::-1]


# ------------------------------------------------------------------ executors

_LOCAL_SPEC: SearchSpec | None = None


def _init_local(spec: SearchSpec) -> None:
    global _LOCAL_SPEC
    _LOCAL_SPEC = spec


def _local_task(blob: bytes, pause_after: float | None, seconds_left: float | None, parts: int) -> bytes:
    assert _LOCAL_SPEC is not None
    return explore_piece(_LOCAL_SPEC, blob, pause_after, seconds_left, parts)


def _dask_task(token: str, spec_blob: bytes, blob: bytes, pause_after: float | None, seconds_left: float | None,
               parts: int) -> bytes:
    known = _EXPLORERS.get(token)
    spec = known[0] if known is not None else pickle.loads(spec_blob)
    return explore_piece(spec, blob, pause_after, seconds_left, parts)


class _InProcess:
    """Runs pieces here, one after another: a checkpointed search with one worker, or (``capacity`` > 1)
    a simulation of that many workers, which splits and merges exactly as they would."""

    def __init__(self, spec: SearchSpec, capacity: int = 1) -> None:
        self.spec = spec
        self.capacity = capacity

    def submit(self, blob: bytes, pause: float | None, left: float | None, parts: int) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(explore_piece(self.spec, blob, pause, left, parts))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def wait(self, futures: set) -> set:
        return set(futures)

    def close(self) -> None:
        _EXPLORERS.clear()


class _LocalPool:
    """Worker processes on this machine (forked, so the scenario need not be importable)."""

    def __init__(self, spec: SearchSpec, workers: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_local, initargs=(spec,))
        self.capacity = workers

    def submit(self, blob: bytes, pause: float | None, left: float | None, parts: int) -> cf.Future:
        return self.pool.submit(_local_task, blob, pause, left, parts)

    def wait(self, futures: set) -> set:
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED)[0]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskCluster:
    """Workers of a Dask distributed cluster (a scenario file travels by value; a module must be importable)."""

    def __init__(self, spec: SearchSpec, address: Any) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--dask needs the cluster extra: pip install 'framemc[cluster]'") from None
        if isinstance(address, str):
            try:
                self.client = Client(address, timeout="10s")
            except OSError as exc:
                raise UsageError(f"--dask {address}: cannot reach the Dask scheduler ({exc})") from None
            self.own = True
        else:
            self.client = address  # a distributed.Client the caller made
            self.own = False
        info = self.client.scheduler_info(n_workers=-1) if "n_workers" in inspect.signature(
            self.client.scheduler_info).parameters else self.client.scheduler_info()
        self.capacity = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
        _ship_user_module(spec.setup)
        import cloudpickle
        self.token = spec.token
        # pickled here with cloudpickle, so that a module registered by value travels as code
        self.spec = self.client.scatter(cloudpickle.dumps(spec), broadcast=True)

    def submit(self, blob: bytes, pause: float | None, left: float | None, parts: int) -> Any:
        return self.client.submit(_dask_task, self.token, self.spec, blob, pause, left, parts, pure=False)

    def wait(self, futures: set) -> set:
        from distributed import wait
        done = set(wait(list(futures), return_when="FIRST_COMPLETED").done)
        for fut in done:
            exc = fut.exception()
            if exc is not None and not isinstance(exc, UsageError):
                raise _cannot_load(exc)
        return done

    def close(self) -> None:
        if self.own:
            self.client.close()


def _ship_user_module(setup: Callable[[], Any]) -> None:
    """A scenario file ``framemc explore FILE.py`` loaded travels to the Dask workers by value.

    The command line imports FILE.py under a private module name that no worker could import; by value,
    cloudpickle sends its functions' code instead, so only what the file itself imports must be there.
    """
    import sys
    module = sys.modules.get(getattr(setup, "__module__", "") or "")
    if module is not None and module.__name__.startswith("framemc_user_"):
        import cloudpickle
        cloudpickle.register_pickle_by_value(module)


def _cannot_load(exc: BaseException) -> UsageError:
    return UsageError(f"the Dask workers cannot run this scenario: {type(exc).__name__}: {exc} (its module and what "
                      "it imports must be importable on every worker; see docs/cluster.md, 'Shipping the scenario')")


# ------------------------------------------------------------------ checkpoints

def scenario_identity(setup: Callable[[], Any]) -> str:
    """Names ``setup``, hashes its source file and the plain values it closes over (``lastzero(5)`` is not
    ``lastzero(4)``), so that a checkpoint of another scenario is refused."""
    name = f"{getattr(setup, '__module__', '?')}.{getattr(setup, '__qualname__', type(setup).__name__)}"
    h = hashlib.sha256()
    try:
        path = inspect.getsourcefile(setup)
        if path:
            with open(path, "rb") as fh:
                h.update(fh.read())
    except (TypeError, OSError):
        pass
    for cell in getattr(setup, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        plain = isinstance(value, (int, float, str, bytes, bool, type(None))) or (
            isinstance(value, tuple) and all(isinstance(v, (int, float, str, bool)) for v in value))
        h.update(repr(value if plain else type(value).__qualname__).encode())
    return f"{name}@{h.hexdigest()[:16]}"


def _header(spec: SearchSpec) -> dict[str, Any]:
    from importlib.metadata import version
    b = spec.bounds
    return {"format": CHECKPOINT_FORMAT, "framemc": version("framemc"), "scenario": scenario_identity(spec.setup),
            "memory_model": spec.model.value, "outcomes": spec.outcomes,
            "bounds": {"max_executions": b.max_executions, "max_steps": b.max_steps}}


def _write_checkpoint(path: str, spec: SearchSpec, queue: list[tuple[Key, int, bytes]],
                      results: list[PieceResult], elapsed: float) -> None:
    data = {"header": _header(spec), "queue": [(k, blob) for k, _, blob in queue], "results": results,
            "elapsed": elapsed}
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        pickle.dump(data, fh, pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_checkpoint(path: str, spec: SearchSpec) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh)
    except FileNotFoundError:
        raise UsageError(f"--resume {path}: no such checkpoint file") from None
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise UsageError(f"--resume {path}: not a framemc checkpoint ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("header"), dict):
        raise UsageError(f"--resume {path}: not a framemc checkpoint")
    want, got = _header(spec), data["header"]
    for name in ("format", "framemc", "scenario", "memory_model", "outcomes", "bounds"):
        if got.get(name) != want[name]:
            raise UsageError(f"--resume {path}: the checkpoint was written for {name} {got.get(name)!r}, "
                             f"this run has {want[name]!r}")
    return data


# ------------------------------------------------------------------ the coordinator

def run_parallel(setup: Callable[[], Any], bounds: Bounds, model: MemoryModel, *, workers: int = 1,
                 dask: Any = None, outcomes: bool = False, checkpoint: str | None = None,
                 checkpoint_every: float = 60.0, resume: str | None = None,
                 progress: Callable[[int, int, float], None] | None = None,
                 count_duplicates: bool = False, slices: tuple[float, float] | None = None,
                 inline: bool = False, shuffle: int | None = None, piece_pops: int | None = None,
                 ) -> tuple[SearchOutcome, ParallelStats, StateChecker]:
    """Run the optimal search in pieces on ``workers`` local processes or a Dask cluster; merge by key.

    Returns the same :class:`SearchOutcome` one process would, the work statistics, and a checker holding
    the merged state-check counters.  ``slices`` are the seconds a piece runs before it pauses while a
    worker is idle, and while none is.  ``inline`` runs the pieces in this process, as if ``workers``
    processes took them (tests, and the scaling projection of ``benchmarks/parallel.py``); ``shuffle``
    (a seed) then takes them from the queue in a random order instead of key order, as workers that
    finish out of order would.  ``piece_pops`` pauses each piece after that many revisits instead.
    """
    import random
    rng = random.Random(shuffle) if shuffle is not None else None
    spec = SearchSpec(setup, bounds, model, outcomes, count_duplicates, uuid.uuid4().hex, piece_pops)
    if dask is not None:
        pool: Any = _DaskCluster(spec, dask)
    elif workers > 1 and not inline:
        pool = _LocalPool(spec, workers)
    else:
        pool = _InProcess(spec, workers)
    if slices is None:
        one = checkpoint_every if checkpoint is not None else None
        slices = (one, one) if pool.capacity == 1 else (SHORT_SLICE, LONG_SLICE)
    log: list[tuple[Key, float, int]] | None = [] if inline else None
    stats = ParallelStats(pool.capacity)
    start = time.perf_counter()
    queue: list[tuple[Key, int, bytes]] = []
    #: finished pieces, kept in key order
    results: list[PieceResult] = []
    earlier = 0.0
    seq = 0
    if resume is not None:
        data = _read_checkpoint(resume, spec)
        results = sorted(data["results"], key=_by_key)
        earlier = float(data.get("elapsed", 0.0))
        for key, blob in data["queue"]:
            queue.append((key, seq, blob))
            seq += 1
        heapq.heapify(queue)
    else:
        queue.append(((), seq, pickle.dumps(Piece(None), pickle.HIGHEST_PROTOCOL)))
        seq += 1
    running: dict[Any, tuple[Key, bytes]] = {}
    stop_key: Key | None = None
    last_checkpoint = time.perf_counter()
    last_progress = 0.0
    deadline = None if bounds.time_budget is None else start + bounds.time_budget - earlier
    busy = 0.0
    dropped = 0
    wants_stats = progress is not None and _takes_four(progress)
    try:
        stop_key = _stop_key(results, bounds)
        while queue or running:
            while queue and len(running) < pool.capacity:
                if rng is None:
                    key, _, blob = heapq.heappop(queue)
                else:
                    key, _, blob = queue.pop(rng.randrange(len(queue)))
                    heapq.heapify(queue)
                if stop_key is not None and key > stop_key:
                    dropped += 1
                    continue
                # split so that the queue holds a piece for every worker: one that finishes finds work at once
                idle = 2 * pool.capacity - len(running) - 1 - len(queue)
                pause = slices[0] if len(queue) < pool.capacity else slices[1]
                if checkpoint is not None:
                    pause = checkpoint_every if pause is None else min(pause, checkpoint_every)
                left = None if deadline is None else max(0.0, deadline - time.perf_counter())
                fut = pool.submit(blob, pause, left, 1 + max(0, idle))
                stats.bytes_out += len(blob)
                stats.tasks += 1
                running[fut] = (key, blob)
            for fut in pool.wait(set(running)):
                key, blob = running.pop(fut)
                raw = fut.result()
                stats.bytes_in += len(raw)
                res: PieceResult = pickle.loads(raw)
                busy += res.seconds
                if log is not None:
                    log.append((res.key, res.seconds, len(blob) + len(raw)))
                w = stats.per_worker.setdefault(res.worker, WorkerStats())
                w.executions += res.executions
                w.busy += res.seconds
                w.tasks += 1
                if len(res.rest) > 1:
                    stats.splits += len(res.rest) - 1
                for part_key, part in res.rest:
                    if stop_key is None or part_key <= stop_key:
                        heapq.heappush(queue, (part_key, seq, part))
                        seq += 1
                    else:
                        dropped += 1
                bisect.insort(results, res, key=_by_key)
                stats.max_queue = max(stats.max_queue, len(queue))
                stop_key = _stop_key(results, bounds)
                if res.cut is BoundKind.TIME_BUDGET:
                    dropped += len(queue)
                    queue = []
                elif stop_key is not None:
                    keep = [q for q in queue if q[0] <= stop_key]
                    dropped += len(queue) - len(keep)
                    queue = keep
                    heapq.heapify(queue)
            now = time.perf_counter()
            if checkpoint is not None and now - last_checkpoint >= checkpoint_every:
                pending = queue + [(k, 0, b) for k, b in running.values()]
                _write_checkpoint(checkpoint, spec, pending, results, earlier + now - start)
                last_checkpoint = now
            if progress is not None and now - last_progress >= 0.25:
                last_progress = now
                stats.queue = len(queue)
                stats.idle = max(0.0, pool.capacity * (now - start) - busy)
                args = (sum(r.executions for r in results), sum(r.blocked for r in results), earlier + now - start)
                if wants_stats:
                    progress(*args, stats)
                else:
                    progress(*args)
    finally:
        pool.close()
    wall = time.perf_counter() - start
    stats.idle = max(0.0, pool.capacity * wall - busy) if log is None else 0.0
    stats.queue = 0
    stats.task_log = log
    if checkpoint is not None:
        _write_checkpoint(checkpoint, spec, [], results, earlier + wall)
    outcome, used = merge(results, bounds, outcomes, earlier + wall, work_left=dropped > 0)
    stats.discarded = sum(r.executions for r in results) - outcome.executions
    if count_duplicates:
        seen: set[Key] = set()
        dup = 0
        for r in results:
            for k in r.keys or ():
                dup += k in seen
                seen.add(k)
        stats.duplicated = dup
    checker = StateChecker()
    for r in used:
        checker.checked += r.checked
        checker.hits += r.hits
        for k, v in r.inconclusive.items():
            checker.inconclusive.setdefault(k, v)
    return outcome, stats, checker


def _by_key(r: PieceResult) -> Key:
    return r.key


def _takes_four(fn: Callable[..., Any]) -> bool:
    """Does the progress callback take the work statistics as a fourth argument?"""
    try:
        inspect.signature(fn).bind(0, 0, 0.0, None)
        return True
    except (TypeError, ValueError):
        return False


def _stop_key(ordered: list[PieceResult], bounds: Bounds) -> Key | None:
    """The key past which no piece can matter: where the execution bound cuts, or the first violation.

    ``ordered`` is the results in key order; a piece's executions, its failing one included, lie between its
    key and the next piece's, so one pass finds both.  Pieces before a result may still be running: only
    the settled prefix counts towards the bound, so a cut keeps the whole piece where it fell.
    """
    n, total = bounds.max_executions, 0
    for r in ordered:
        if n is not None:
            total += r.executions
            if total >= n:
                return r.key
        if r.failing is not None:
            return r.failing_key
    return None


def merge(results: list[PieceResult], bounds: Bounds, outcomes: bool, elapsed: float,
          work_left: bool = False) -> tuple[SearchOutcome, list[PieceResult]]:
    """Add up the pieces in key order, stopping where one process would have stopped.

    ``work_left`` says that pieces past the last result were dropped unexplored (they exist, so an
    execution bound reached at the end of the last result still cuts).
    """
    ordered = sorted(results, key=_by_key)
    n = bounds.max_executions
    ex = bl = inv = ev = rep = 0
    outs: dict[Any, int] = {}
    used: list[PieceResult] = []
    failing = None
    timed_out = any(r.cut is BoundKind.TIME_BUDGET for r in ordered)
    cut = None
    for i, r in enumerate(ordered):
        used.append(r)
        if n is not None and r.marks is not None and ex + len(r.marks) >= n:
            # one process stops at the first revisit after its n-th execution, which is in this piece
            mb, mi, me, mp, _, undecided = r.marks[n - ex - 1]
            for mark in r.marks[:n - ex]:
                if mark[4] is not None:
                    outs[mark[4]] = outs.get(mark[4], 0) + 1
            more = r.pops > mp or bool(r.rest) or r.cut is not None or r.failing is not None \
                or i + 1 < len(ordered) or work_left
            ex, bl, inv, ev = n, bl + mb, inv + mi, ev + me
            cut = BoundKind.MAX_EXECUTIONS if more else None
            # the undecided checks one process met before it stopped: those of this piece up to the cut
            used[-1] = replace(r, inconclusive=dict(list(r.inconclusive.items())[:undecided]))
            break
        ex, bl, inv, ev = ex + r.executions, bl + r.blocked, inv + r.invalid, ev + r.events
        rep += r.replayed
        for o, c in r.outcomes.items():
            outs[o] = outs.get(o, 0) + c
        if r.failing is not None:
            failing = r.failing
            break
    if failing is None and cut is None and timed_out:
        cut = BoundKind.TIME_BUDGET
    outcome = SearchOutcome(ex, ev, failing, cut, bl, elapsed, ex, outs if outcomes else None, inv, rep)
    return outcome, used
