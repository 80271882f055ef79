"""Real worker processes, a real Dask cluster and a checkpoint killed with SIGKILL give the one-process result.

The scenarios come from importable modules (framemc's litmus programs and bundled allocator scenarios), as
a Dask worker must import them.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed  # the cluster extra is part of the test install: this test never skips
import pytest

import framemc
from framemc.setups import bundled_registry
from framemc.explorer.bounds import Bounds, MemoryModel
from framemc.explorer.litmus import lastzero
from framemc.explorer.parallel import run_parallel

BUGGY = ("check-then-decrement",)


def _buggy_scenario():
    """A bundled allocator scenario that fails under the planted lost-update bug."""
    for name, scenario in bundled_registry("sc").items():
        setup = scenario.setup(BUGGY)
        if framemc.explore(setup, "sc", minimize=False).status is framemc.Status.VIOLATION:
            return name, setup
    raise AssertionError("no bundled scenario catches check-then-decrement")


def _same(one, many):
    assert (many.status, many.executions, many.exhaustive, many.stats.blocked, many.stats.events) == \
        (one.status, one.executions, one.exhaustive, one.stats.blocked, one.stats.events)
    assert many.outcomes == one.outcomes
    if one.violation is None:
        assert many.violation is None
    else:
        assert json.dumps(many.violation.to_json(), sort_keys=True) == \
            json.dumps(one.violation.to_json(), sort_keys=True)


def test_two_worker_processes_split_hard_and_agree():
    setup = lastzero(7)
    bounds = Bounds(None, None, 1000, None)
    for model in (MemoryModel.SC, MemoryModel.C11):
        one = framemc.explore(setup, model.value, outcomes=True)
        found, stats, _ = run_parallel(setup, bounds, model, workers=2, outcomes=True, slices=(0.0, 0.0),
                                       count_duplicates=True)
        assert (found.executions, found.blocked, found.events, found.outcomes) == \
            (one.executions, one.stats.blocked, one.stats.events, one.outcomes)
        assert stats.splits > 0 and len(stats.per_worker) == 2 and stats.duplicated == 0


def test_worker_processes_report_the_one_process_counterexample():
    _, setup = _buggy_scenario()
    one = framemc.explore(setup, "sc")
    two = framemc.explore(setup, "sc", workers=2)
    assert one.status is framemc.Status.VIOLATION
    _same(one, two)


def test_a_dask_local_cluster_gives_the_one_process_result():
    name, buggy = _buggy_scenario()
    clean = bundled_registry("sc")[name].setup(())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for setup, model in ((lastzero(6), "c11"), (buggy, "sc"), (clean, "sc")):
            one = framemc.explore(setup, model, outcomes=True)
            many = framemc.explore(setup, model, outcomes=True, dask=client)
            _same(one, many)
            assert many.parallel.workers == 2
        # and by address, as --dask tcp://HOST:PORT does
        by_address = framemc.explore(lastzero(5), "sc", dask=cluster.scheduler_address)
        assert by_address.executions == framemc.explore(lastzero(5), "sc").executions


SCENARIO = """
from framemc.explorer.litmus import lastzero
setup = lastzero({n})
"""


def _explore(*args, cwd):
    return subprocess.run([sys.executable, "-m", "framemc", "explore", *args], cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=600)


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_counts(tmp_path: Path):
    (tmp_path / "lz.py").write_text(SCENARIO.format(n=12))
    whole = _explore("lz.py", "-q", "--json", "whole.json", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    ck = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "framemc", "explore", "lz.py", "-q", "--checkpoint", str(ck),
                             "--checkpoint-every", "0.2"], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ck.exists() and ck.stat().st_size > 0:
            time.sleep(0.7)  # a few more checkpoints, then kill mid-run
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: make the scenario bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = _explore("lz.py", "-q", "--resume", str(ck), "--json", "resumed.json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((tmp_path / "whole.json").read_text())
    b = json.loads((tmp_path / "resumed.json").read_text())
    for key in ("status", "executions", "exhaustive", "bound_hit"):
        assert a[key] == b[key]
    for key in ("events", "blocked", "invalid"):
        assert a["stats"][key] == b["stats"][key]
    assert b["parallel"]["tasks"] > 1  # it did resume part-way
    from framemc.explorer.core import build
    assert a["stats"]["core"] == b["stats"]["core"] == build()  # the report names the build of the core that ran


@pytest.mark.parametrize("change, needle", [
    (["--max-executions", "5"], "bounds"),
    (["--memory-model", "c11"], "memory_model"),
    (["--outcomes"], "outcomes"),
])
def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path, change, needle):
    (tmp_path / "lz.py").write_text(SCENARIO.format(n=4))
    ck = tmp_path / "run.ckpt"
    assert _explore("lz.py", "-q", "--checkpoint", str(ck), cwd=tmp_path).returncode == 0
    before = ck.read_bytes()
    bad = _explore("lz.py", "-q", "--resume", str(ck), *change, cwd=tmp_path)
    assert bad.returncode == 2 and needle in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert ck.read_bytes() == before


def test_a_checkpoint_of_another_scenario_or_a_damaged_file_is_refused(tmp_path: Path):
    (tmp_path / "lz.py").write_text(SCENARIO.format(n=4))
    (tmp_path / "other.py").write_text(SCENARIO.format(n=5))
    ck = tmp_path / "run.ckpt"
    assert _explore("lz.py", "-q", "--checkpoint", str(ck), cwd=tmp_path).returncode == 0
    other = _explore("other.py", "-q", "--resume", str(ck), cwd=tmp_path)
    assert other.returncode == 2 and "scenario" in other.stderr
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    junk = _explore("lz.py", "-q", "--resume", "junk.ckpt", cwd=tmp_path)
    assert junk.returncode == 2 and "not a framemc checkpoint" in junk.stderr
    missing = _explore("lz.py", "-q", "--resume", "nope.ckpt", cwd=tmp_path)
    assert missing.returncode == 2 and "no such checkpoint" in missing.stderr


CLAIM = '''
from framemc import Atomic, Cell, Ordering

UNUSED = 2**64 - 1

def setup():
    slot = Atomic(UNUSED, name="refcount")
    won = [Cell(False, name=f"won{i}") for i in range(3)]
    def claimer(cpu):
        def run():
            if slot.load(Ordering.ACQUIRE) == UNUSED:
                slot.store(0, Ordering.RELAXED)
                won[cpu].write(True)
        return run
    def final():
        assert sum(w.read() for w in won) <= 1, "two CPUs claimed the same frame"
    return [claimer(0), claimer(1), claimer(2)], final
'''


def test_a_scenario_file_travels_to_dask_workers_that_cannot_import_it(tmp_path: Path):
    """`framemc explore FILE.py --dask ADDR`: the workers' processes never saw FILE.py, and the output is the
    one-process output (less the line saying how the work was spread)."""
    (tmp_path / "claim.py").write_text(CLAIM)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        spread = _explore("claim.py", "-q", "--dask", cluster.scheduler_address, cwd=tmp_path)
    alone = _explore("claim.py", "-q", cwd=tmp_path)
    assert alone.returncode == spread.returncode == 1, spread.stderr
    assert "two CPUs claimed the same frame" in alone.stdout
    assert [line for line in spread.stdout.splitlines() if not line.startswith("spread over")] == \
        alone.stdout.splitlines()


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path: Path):
    (tmp_path / "claim.py").write_text(CLAIM)
    bad = _explore("claim.py", "-q", "--dask", "tcp://127.0.0.1:9", cwd=tmp_path)
    assert bad.returncode == 2 and "cannot reach the Dask scheduler" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_value_that_cannot_cross_processes_is_a_usage_error():
    def setup():
        class Tag:  # local: pickle cannot name it
            pass
        c = framemc.Cell(None, name="c")
        a = framemc.Atomic(0, name="a")

        def t0():
            c.write(Tag())
            a.store(1)

        def t1():
            a.load()
            a.load()

        def t2():
            a.store(2)
        return [t0, t1, t2]
    with pytest.raises(framemc.UsageError, match="cannot be sent between processes.*workers=1"):
        run_parallel(setup, Bounds(None, None, 100, None), MemoryModel.SC, workers=2, slices=(0.0, 0.0))
