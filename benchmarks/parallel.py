"""Print the parallel-search tables: speedup here, Dask scaling, a projection to 64 workers, ``framemc check``.

Usage: ``python benchmarks/parallel.py [--quick] [--repeat N] [--skip-dask]``.

The optimal search runs in pieces (``framemc.explorer.parallel``).  This script measures what that buys.
Timings on a small shared machine are noisy: every time is the median of ``--repeat`` runs (default 3;
``--quick`` makes it 1), worker counts are interleaved run by run so that noise hits them alike, and
only ratios within one run of the script are meant to be compared.  Nothing asserts a timing.

1. Speedup on this machine: ``framemc.explore(..., workers=1)`` (the one-process search, no pieces)
   against ``workers=2`` (two forked processes), on lastzero(12) under sc and cinc(N=4) from the
   GenMC suite under c11 (13,824 consistent graphs).  Tasks, splits and bytes/task are medians over
   the 2-worker runs; "dup" (executions explored twice) comes from one more 2-worker run with
   ``count_duplicates``.  Executions, blocked executions and the outcome counts (``outcomes=True``)
   of every run must equal the one-process run's: a difference prints MISMATCH and the script exits 1.
   The last note gives this machine's ceiling: two independent one-process searches run at once in forked
   processes against one alone (2 x alone / together), which is all two workers could gain here.
2. Scaling on a Dask ``LocalCluster`` of k = 1, 2, 4 single-threaded worker processes on lastzero(11)
   under sc, beside the one-process search.  The scenario reaches the workers inside the pickled
   search spec: ``lastzero`` returns a closure, which cloudpickle ships by value (its globals are
   framemc's, importable everywhere), so no import path is needed; the script checks this first by
   running the setup on a worker.  Each cluster gets one warm-up search (imports) before the timed ones.
   With 2 cores, k = 4 only shows the cost of oversubscription.
3. A projection to 64 workers.  ``run_parallel(..., workers=64, inline=True)`` runs the pieces of
   lastzero(12) under sc in this process, splitting them exactly as 64 idle workers would make it.
   The script wraps ``parallel.explore_piece`` to note, per task, the keys of the pieces it left
   (its continuation and the pieces split off): those become available only when it finishes, which
   gives the task graph; ``task_log`` gives each task's search seconds.  A greedy list schedule then
   replays the graph on P workers with one central queue taken in key order, as the coordinator does:

   * a task occupies its worker for its measured seconds + ``o``, the per-task round-trip overhead of
     the local pool, measured in table 1's 2-worker lastzero runs by wrapping the pool's submit and wait:
     the median over tasks of (time from submit until the coordinator gets the result back - the piece's
     own search seconds).  That holds the pickling on both sides, the pipes and the wait for a core.
     The other candidate, (wall - sum of piece seconds / 2) / tasks of those runs, is printed beside it
     but not used: it also counts pool start-up and workers idle for want of pieces, which is what the
     schedule itself models, so it would count them twice;
   * the coordinator is one serial server: each finished task costs it ``c`` seconds (unpickling the
     result and the leftover pieces' keys, the queue, the next submit) before its worker gets new work
     and its pieces join the queue.  ``c`` is measured in the inline run: (its wall time - the time
     spent inside explore_piece) / tasks.

   The projected speedup is (sum of piece seconds) / makespan.  The bounds printed beside it say what
   limits it: the critical path (the longest chain of tasks each of which produced the next, with its
   ``o`` and ``c``), the coordinator's throughput (tasks x c) and the work per worker.  The task graph is
   the one 64 workers would produce; with fewer workers there would be fewer, longer pieces, so the
   rows for small P include the splitting overhead of 64.
4. ``framemc check --only scenarios --workers N -q`` for N = 1, 2 as fresh processes (wall time, exit
   code, counts from ``--json``).  When the CLI refuses ``--workers`` the table says so.

``--quick`` shrinks the programs (lastzero(10) sc and lastzero(9) c11 in table 1, lastzero(9) on Dask,
lastzero(10) in the projection) and runs everything once: under 2 minutes.  ``--skip-dask`` leaves out
table 2.  Pieces too short to split show little or no speedup; the full sizes are the ones to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

import framemc
from framemc.explorer import parallel
from framemc.explorer.bounds import DEFAULT_MAX_STEPS, Bounds, MemoryModel
from framemc.explorer.litmus import lastzero

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.genmc import REGISTRY  # noqa: E402

#: simulated worker counts of table 3
PROJECTED = (1, 2, 4, 8, 16, 32, 64)


# ------------------------------------------------------------------ output

def _table(title: str, headers: list[str], rows: list[list[Any]], notes: list[str] = ()) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print(f"\n{title}")
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("-" * len(line))
    for r in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for n in notes:
        print(f"  {n}")
    sys.stdout.flush()


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def _mismatch(what: str, want: Any, got: Any) -> str:
    text = f"MISMATCH {what}: expected {want}, got {got}"
    print(f"\n!!!!!!!! {text} !!!!!!!!", file=sys.stderr)
    return text


def _signature(result: framemc.ExploreResult) -> tuple[Any, ...]:
    """What every run of one search must agree on."""
    outs = None if result.outcomes is None else sorted(result.outcomes.items())
    return (result.status.value, result.executions, result.stats.blocked, outs)


def _sig_text(sig: tuple[Any, ...]) -> str:
    status, ex, bl, outs = sig
    return f"{status}, {ex} executions, {bl} blocked, {'-' if outs is None else len(outs)} outcomes"


# ------------------------------------------------------------------ table 1

class _RoundTrips:
    """While active, notes for each task of the local pool the time from its submit to its result's return."""

    def __init__(self) -> None:
        self.sent: dict[Any, float] = {}
        self.trips: list[tuple[Any, float]] = []

    def __enter__(self) -> "_RoundTrips":
        pool = parallel._LocalPool
        self.saved = pool.submit, pool.wait
        submit, wait = self.saved

        def timed_submit(this: Any, *args: Any) -> Any:
            fut = submit(this, *args)
            self.sent[fut] = time.perf_counter()
            return fut

        def timed_wait(this: Any, futures: set) -> set:
            done = wait(this, futures)
            now = time.perf_counter()
            self.trips.extend((f, now - self.sent.pop(f)) for f in done)
            return done
        pool.submit, pool.wait = timed_submit, timed_wait
        return self

    def __exit__(self, *exc: Any) -> None:
        parallel._LocalPool.submit, parallel._LocalPool.wait = self.saved

    def overheads(self) -> list[float]:
        """Per task: round trip - the piece's own search seconds."""
        import pickle
        return [max(0.0, trip - pickle.loads(f.result()).seconds) for f, trip in self.trips]


def _search_alone(n: int) -> None:
    framemc.explore(lastzero(n), "sc")


def _ceiling(n: int) -> float:
    """How much faster two processes get through work than one here: 2 x (one alone) / (two at once)."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")

    def run(count: int) -> float:
        procs = [ctx.Process(target=_search_alone, args=(n,)) for _ in range(count)]
        start = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return time.perf_counter() - start
    return 2 * run(1) / run(2)


def _speedup(programs: list[tuple[str, str, Callable[[], Any], int | None]], repeat: int,
             failures: list[str], ceiling_n: int) -> dict[str, float]:
    """Table 1; returns, for the first program, the per-task overhead ``o`` and the one-process seconds."""
    rows = []
    trips = _RoundTrips()
    residuals: list[float] = []
    one_process = 0.0
    ceilings = [_ceiling(ceiling_n) for _ in range(repeat)]
    for name, model, setup, expected in programs:
        t1: list[float] = []
        t2: list[float] = []
        tasks: list[int] = []
        splits: list[int] = []
        per_task_bytes: list[float] = []
        ref = None
        for _ in range(repeat):
            for workers in (1, 2):
                timing = trips if workers == 2 and not rows else contextlib.nullcontext()
                with timing:
                    start = time.perf_counter()
                    res = framemc.explore(setup, model, workers=workers, outcomes=True)
                    wall = time.perf_counter() - start
                sig = _signature(res)
                if ref is None:
                    ref = sig
                    if expected is not None and res.executions != expected:
                        failures.append(_mismatch(f"{name} {model} executions", expected, res.executions))
                elif sig != ref:
                    failures.append(_mismatch(f"{name} {model} workers={workers}", _sig_text(ref), _sig_text(sig)))
                if workers == 1:
                    t1.append(wall)
                    continue
                t2.append(wall)
                p = res.parallel
                tasks.append(p.tasks)
                splits.append(p.splits)
                per_task_bytes.append((p.bytes_out + p.bytes_in) / max(1, p.tasks))
                if not rows:  # the first program: what its pieces cost beyond their search, for table 3
                    busy = sum(w.busy for w in p.per_worker.values())
                    residuals.append(max(0.0, (wall - busy / 2) / max(1, p.tasks)))
        # one more 2-worker run that records every execution's key, to count duplicated work
        outcome, pstats, _ = parallel.run_parallel(setup, Bounds(None, None, DEFAULT_MAX_STEPS, None),
                                                   MemoryModel.parse(model), workers=2, outcomes=True,
                                                   count_duplicates=True)
        if ref is not None and (outcome.executions, outcome.blocked) != (ref[1], ref[2]):
            failures.append(_mismatch(f"{name} {model} count_duplicates run", _sig_text(ref),
                                      f"{outcome.executions} executions, {outcome.blocked} blocked"))
        m1, m2 = statistics.median(t1), statistics.median(t2)
        one_process = one_process if rows else m1
        rows.append([name, model, ref[1] if ref else "?", f"{m1:.2f}", f"{m2:.2f}", f"{m1 / m2:.2f}x",
                     int(statistics.median(tasks)), int(statistics.median(splits)), pstats.duplicated,
                     _kb(statistics.median(per_task_bytes))])
    _table(f"1. Speedup on this machine ({os.cpu_count()} cores; medians of {repeat} run(s), outcomes=True)",
           ["program", "model", "executions", "1 worker s", "2 workers s", "speedup", "tasks", "splits",
            "dup", "bytes/task"], rows,
           [f"counts identical across worker counts: {'no, see MISMATCH' if failures else 'yes'} "
            "(status, executions, blocked, every outcome count)",
            "1 worker = the one-process search; tasks/splits/bytes: medians over the 2-worker runs",
            f"this machine's ceiling: two independent one-process searches (lastzero({ceiling_n}), forked) at once "
            f"get through {statistics.median(ceilings):.2f}x the work of one alone"])
    overheads = trips.overheads()
    return {"o": statistics.median(overheads) if overheads else 0.0, "one_process": one_process,
            "residual": statistics.median(residuals) if residuals else 0.0}


# ------------------------------------------------------------------ table 2

def _probe(setup: Callable[[], Any]) -> tuple[int, int]:
    """Runs on a Dask worker: build the scenario once; (pid, its thread count)."""
    threads = setup()
    threads = threads[0] if isinstance(threads, tuple) else threads
    return os.getpid(), len(threads)


def _dask_scaling(name: str, setup: Callable[[], Any], repeat: int, failures: list[str]) -> None:
    from distributed import Client, LocalCluster
    rows = []
    ref = None
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        res = framemc.explore(setup, "sc", outcomes=True)
        walls.append(time.perf_counter() - start)
        ref = ref or _signature(res)
    m = statistics.median(walls)
    rows.append(["none (1 process)", f"{m:.2f}", f"{ref[1] / m:.0f}", "-", "-", "-", "-"])
    base = m
    notes = []
    for k in (1, 2, 4):
        with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            if k == 1:
                pid, nthreads = client.submit(_probe, setup, pure=False).result()
                notes.append(f"setup check: the {name} closure (cloudpickled by value) built {nthreads} threads "
                             f"in Dask worker process {pid} (this process is {os.getpid()})")
            framemc.explore(lastzero(4), "sc", dask=client)  # warm-up: imports on every worker
            walls, tasks, bout, bin_ = [], [], [], []
            for _ in range(repeat):
                start = time.perf_counter()
                res = framemc.explore(setup, "sc", dask=client, outcomes=True)
                walls.append(time.perf_counter() - start)
                if _signature(res) != ref:
                    failures.append(_mismatch(f"{name} sc dask k={k}", _sig_text(ref), _sig_text(_signature(res))))
                p = res.parallel
                tasks.append(p.tasks)
                bout.append(p.bytes_out)
                bin_.append(p.bytes_in)
            m = statistics.median(walls)
            rows.append([f"dask k={k}", f"{m:.2f}", f"{ref[1] / m:.0f}", f"{base / m:.2f}x",
                         int(statistics.median(tasks)), _kb(statistics.median(bout)), _kb(statistics.median(bin_))])
    _table(f"2. Dask LocalCluster scaling: {name} sc, {ref[1]} executions (medians of {repeat} run(s))",
           ["workers", "wall s", "exec/s", "vs 1 process", "tasks", "bytes out", "bytes in"], rows,
           notes + [f"k single-threaded worker processes on {os.cpu_count()} cores; counts identical to the "
                    f"one-process search: {'no, see MISMATCH' if any('dask' in f for f in failures) else 'yes'}"])


# ------------------------------------------------------------------ table 3

def _record_inline(setup: Callable[[], Any]) -> tuple[list[dict[str, Any]], float, Any, Any]:
    """Run the 64-worker inline search, noting each task's leftover pieces; (tasks, wall, outcome, stats)."""
    import pickle
    original = parallel.explore_piece
    noted: list[dict[str, Any]] = []

    def wrapped(spec: Any, blob: bytes, pause: Any, left: Any, parts: int) -> bytes:
        t0 = time.perf_counter()
        raw = original(spec, blob, pause, left, parts)
        t1 = time.perf_counter()
        res = pickle.loads(raw)
        noted.append({"key": res.key, "children": [k for k, _ in res.rest],
                      "inside": t1 - t0, "wrapped": 0.0})
        noted[-1]["wrapped"] = time.perf_counter() - t0
        return raw

    parallel.explore_piece = wrapped
    try:
        start = time.perf_counter()
        outcome, stats, _ = parallel.run_parallel(setup, Bounds(None, None, DEFAULT_MAX_STEPS, None),
                                                  MemoryModel.SC, workers=64, inline=True, count_duplicates=True)
        wall = time.perf_counter() - start
    finally:
        parallel.explore_piece = original
    return noted, wall, outcome, stats


def _schedule(cost: list[float], children: list[list[int]], keys: list[Any], workers: int, c: float) -> float:
    """Greedy list schedule; one central queue in key order, one serial coordinator; the makespan."""
    ready = [(keys[0], 0)]
    running: list[tuple[float, int]] = []
    free, now, coord = workers, 0.0, 0.0
    while ready or running:
        while free and ready:
            _, i = heapq.heappop(ready)
            heapq.heappush(running, (now + cost[i], i))
            free -= 1
        finish, i = heapq.heappop(running)
        coord = max(finish, coord) + c
        now = coord
        free += 1
        for j in children[i]:
            heapq.heappush(ready, (keys[j], j))
    return now


def _projection(name: str, setup: Callable[[], Any], measured: dict[str, float], failures: list[str]) -> None:
    o, one_process = measured["o"], measured["one_process"]
    noted, wall, outcome, stats = _record_inline(setup)
    # inline, a task runs when it is submitted: the wrapper saw them in submission order, which is an order
    # in which every task comes after the task that left it (task_log is in the coordinator's completion order)
    log = {k: s for k, s, _ in stats.task_log or []}
    index = {}
    for i, n in enumerate(noted):
        if n["key"] in index:
            failures.append(_mismatch("task keys", "distinct", f"{n['key']} twice"))
            return
        index[n["key"]] = i
    if set(log) != set(index):
        failures.append(_mismatch("task_log keys", "the keys of the tasks the wrapper saw", "other keys"))
        return
    children = [[index[k] for k in n["children"] if k in index] for n in noted]
    if any(j <= i for i, ch in enumerate(children) for j in ch):
        failures.append(_mismatch("task order", "every piece run after the task that left it", "an earlier one"))
        return
    keys = [n["key"] for n in noted]
    seconds = [log[k] for k in keys]
    tasks = len(keys)
    c = max(0.0, (wall - sum(n["wrapped"] for n in noted)) / max(1, tasks))
    cost = [s + o for s in seconds]
    work = sum(seconds)
    # critical path: a task's pieces appear only after it finishes (and come later in the list)
    ready_at = [0.0] * tasks
    done_at = [0.0] * tasks
    chain = [1] * tasks
    for i in range(tasks):
        done_at[i] = ready_at[i] + cost[i]
        for j in children[i]:
            ready_at[j] = done_at[i] + c
            chain[j] = chain[i] + 1
    last = max(range(tasks), key=done_at.__getitem__)
    critical = done_at[last] + c
    rows = []
    for p in PROJECTED:
        span = _schedule(cost, children, keys, p, c)
        bounds = {"critical path": critical, "coordinator": tasks * c, "work/worker": (sum(cost) + tasks * c) / p}
        limit = max(bounds, key=bounds.get)
        rows.append([p, f"{span:.2f}", f"{work / span:.1f}x", f"{100 * work / span / p:.0f}%",
                     f"{bounds['work/worker']:.2f}", limit])
    if outcome.executions == 0 or stats.duplicated:
        failures.append(_mismatch("inline 64-worker run", "0 duplicated executions", stats.duplicated))
    big = sorted(seconds, reverse=True)
    _table(f"3. Projection: {name} sc, its pieces as 64 workers would split them, list-scheduled on P workers",
           ["P", "makespan s", "speedup", "efficiency", "work/P s", "limited by"], rows,
           [f"{tasks} tasks, {stats.splits} splits, {outcome.executions} executions, duplicated {stats.duplicated}; "
            f"sum of piece seconds {work:.2f} s"
            + ("" if one_process is None else f" (one-process search in table 1: {one_process:.2f} s)"),
            f"per-task costs: piece seconds median {1000 * statistics.median(seconds):.0f} ms, "
            f"max {1000 * big[0]:.0f} ms; o = {1000 * o:.1f} ms (median round trip - piece seconds, local "
            f"2-worker pool, table 1), c = {1000 * c:.2f} ms (coordinator, inline run)",
            f"for comparison, (wall - piece seconds / 2) / tasks of those 2-worker runs: "
            f"{1000 * measured['residual']:.1f} ms (adds start-up and idle workers, which the schedule models)",
            f"critical path {critical:.2f} s along a chain of {chain[last]} tasks; coordinator throughput bound "
            f"{tasks * c:.2f} s ({1 / c if c else float('inf'):.0f} tasks/s); "
            f"bound on speedup from the critical path: {work / critical:.1f}x"])


# ------------------------------------------------------------------ table 4

def _check_run(workers: int, summary: Path) -> tuple[float, int, str, dict[str, int] | None]:
    command = [sys.executable, "-c", "from framemc.cli import main; main()", "check", "--only", "scenarios",
               "--workers", str(workers), "-q", "--json", str(summary)]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    counts = json.loads(summary.read_text()).get("counts") if summary.exists() else None
    return wall, proc.returncode, proc.stderr, counts


def _check_table(repeat: int, failures: list[str]) -> None:
    title = f"4. framemc check --only scenarios --workers N -q (fresh processes; medians of {repeat} run(s))"
    walls: dict[int, list[float]] = {1: [], 2: []}
    seen: dict[int, tuple[int, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for r in range(repeat):
            for workers in (2, 1):
                wall, code, err, counts = _check_run(workers, Path(folder) / f"w{workers}r{r}.json")
                if code == 2 and "workers" in err:
                    print(f"\n{title}\n  n/a: --workers not available ({err.strip().splitlines()[-1]})")
                    return
                walls[workers].append(wall)
                got = (code, counts)
                if workers in seen and seen[workers] != got:
                    failures.append(_mismatch(f"framemc check --workers {workers} runs", seen[workers], got))
                seen.setdefault(workers, got)
    if seen[1] != seen[2]:
        failures.append(_mismatch("framemc check --workers 2 against 1", seen[1], seen[2]))
    m1, m2 = statistics.median(walls[1]), statistics.median(walls[2])
    rows = [[w, f"{statistics.median(walls[w]):.1f}", seen[w][0],
             ", ".join(f"{n} {k}" for k, n in sorted((seen[w][1] or {}).items()))] for w in (1, 2)]
    _table(title, ["workers", "wall s", "exit", "counts"], rows, [f"speedup {m1 / m2:.2f}x"])


# ------------------------------------------------------------------ main

def main(argv: list[str]) -> int:
    """Print the tables; return 1 when any parallel run disagrees with the one-process search."""
    parser = argparse.ArgumentParser(prog="benchmarks/parallel.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller programs, 1 repeat (under 2 minutes)")
    parser.add_argument("--repeat", type=int, default=None, metavar="N", help="runs per timing (default 3)")
    parser.add_argument("--skip-dask", action="store_true", help="leave out the Dask table")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    genmc = {t.name: t for t in REGISTRY}
    if args.quick:
        sc_n, dask_n = 10, 9
        c11 = ("lastzero(9)", "c11", lastzero(9), None)
    else:
        sc_n, dask_n = 12, 11
        test = genmc["cinc(N=4)"]
        c11 = (test.name, "c11", test.setup, test.expected("c11"))
    failures: list[str] = []
    started = time.perf_counter()
    print(f"framemc {version('framemc')} parallel benchmark; "
          f"{'quick, ' if args.quick else ''}repeat {repeat}; python {sys.version.split()[0]}")
    sc = (f"lastzero({sc_n})", "sc", lastzero(sc_n), None)
    measured = _speedup([sc, c11], repeat, failures, 10)
    if not args.skip_dask:
        _dask_scaling(f"lastzero({dask_n})", lastzero(dask_n), repeat, failures)
    _projection(f"lastzero({sc_n})", lastzero(sc_n), measured, failures)
    _check_table(repeat, failures)
    verdict = "MISMATCH: " + "; ".join(failures) if failures else "all parallel runs agree with the one-process search"
    print(f"\n{verdict} ({time.perf_counter() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
