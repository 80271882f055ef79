"""Partial logs: steps that were not logged are bridged by the model's operations.

The oracle for "valid" is the Python reference: every execution of every bundled scenario logs a correct
run, and the same log, read as if the kernel had logged only some event kinds, must still validate.  The
oracle for "violation" is a planted bug, in a hand-written log or in the reference: a bridge that could
stand in for too much (a hidden alloc before a dealloc, a hidden zero before a publish) would let it pass.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import framemc
from framemc import bridge
from framemc.bridge import BUDDY, METASLOT, PUBLIC
from framemc.setups import bundled_registry
from framemc.impl import eventlog
from framemc.validate import validate_events
from test_reference_logs import _logged, _scenarios

PAGE = 4096
#: the declarations a kernel developer would use: only the public operations (the GlobalFrameAllocator
#: trait); those and OSTD's MetaSlot steps (the buddy is the user's own); the buddy and the public
#: operations (no MetaSlot instrumentation)
DECLARATIONS = {
    "public": list(PUBLIC),
    "public+metaslot": list(PUBLIC + METASLOT),
    "public+buddy": list(PUBLIC + BUDDY),
}


def _logs(name: str, bugs=(), n=40):
    logs: list = []
    try:
        framemc.explore(_logged(bundled_registry("sc")[name].setup(tuple(bugs)), logs), "sc", max_executions=n,
                        minimize=False, reduction="none")
    finally:
        eventlog.record_to(None)
    return [(h, e) for h, e in logs if h and e]


@pytest.mark.parametrize("name", _scenarios())
def test_every_reference_log_validates_when_read_as_partial(name):
    logs = _logs(name)
    assert logs
    bridged = 0
    for header, events in logs:
        for decl, kinds in DECLARATIONS.items():
            r = validate_events(events, header, logged=kinds)
            assert r.verdict == "valid", (decl, r.failure)
            assert r.ignored > 0 or decl == "public+buddy"
            bridged += r.hidden_steps
        # only CPU 0's MetaSlot steps
        r = validate_events(events, header, logged_cpus=[0])
        assert r.verdict == "valid", ("cpu 0", r.failure)
    assert bridged > 0


def _log(events, nframes=8, ncpus=1, max_order=3, **extra):
    header = {"framemc_log": 1, "nframes": nframes, "ncpus": ncpus, "max_order": max_order, **extra}
    return header, [{"cpu": cpu, "ev": ev, **args} for cpu, ev, args in events]


def _public(*ops):
    return [(cpu, ev, {"addr": None if first is None else first * PAGE, "size": n * PAGE})
            for cpu, ev, first, n in ops]


def test_a_public_only_log_of_a_correct_run_is_valid_and_reports_the_bridge():
    header, events = _log(_public((0, "add_free_memory", 0, 8), (0, "alloc", 0, 1), (0, "alloc", 4, 4),
                                  (0, "alloc", 1, 1), (0, "dealloc", 0, 1), (0, "dealloc", 4, 4),
                                  (0, "dealloc", 1, 1), (0, "alloc", 0, 8), (0, "alloc", None, 1)),
                          logged=list(PUBLIC))
    r = validate_events(events, header)
    assert r.verdict == "valid", r.failure
    # every event needed hidden buddy steps: the adds, splits, merges
    assert r.bridged_events == len(events) - 1 and r.hidden_steps >= 12
    assert r.as_dict()["bridge"]["hidden_steps"] == r.hidden_steps


ADD = (0, "add_free_memory", 0, 8)


@pytest.mark.parametrize("what, ops", [
    ("a double dealloc", [ADD, (0, "alloc", 0, 1), (0, "dealloc", 0, 1), (0, "dealloc", 0, 1)]),
    ("an alloc of a frame in use", [ADD, (0, "alloc", 0, 1), (0, "alloc", 0, 1)]),
    ("an alloc overlapping a block in use", [ADD, (0, "alloc", 0, 1), (0, "alloc", 0, 2)]),
    ("an add of memory added before", [ADD, (0, "add_free_memory", 6, 2)]),
    ("a dealloc of a frame never allocated", [ADD, (0, "dealloc", 5, 1)]),
    ("an alloc of the half of a block still held", [ADD, (0, "alloc", 0, 4), (0, "dealloc", 0, 2),
                                                   (0, "alloc", 2, 2)]),
])
def test_a_public_only_log_of_a_bug_is_rejected(what, ops):
    header, events = _log(_public(*ops[:-1]), logged=list(PUBLIC))
    assert validate_events(events, header).verdict == "valid"
    header, events = _log(_public(*ops), logged=list(PUBLIC))
    r = validate_events(events, header)
    assert r.verdict == "violation" and r.exit_code == 1, (what, r.failure)
    assert "no hidden steps" in r.failure and f":{len(ops) + 1}:" in r.failure


def test_a_complete_log_whose_alloc_names_other_frames_than_its_steps_is_rejected():
    steps = [(0, "add_block", {"pool": 0, "head": 0, "order": 1}), (0, "merge_stop", {"head": 0}),
             (0, "add_free_memory", {"addr": 0, "size": 2 * PAGE}), (0, "split", {"head": 0}),
             (0, "alloc_block", {"head": 0, "order": 0})]
    header, events = _log(steps + [(0, "alloc", {"addr": 0, "size": PAGE})], nframes=2, max_order=1)
    assert validate_events(events, header).verdict == "valid"
    header, events = _log(steps + [(0, "alloc", {"addr": PAGE, "size": PAGE})], nframes=2, max_order=1)
    r = validate_events(events, header)
    assert r.verdict == "violation" and "handed out 0" in r.failure, r.failure


def test_a_hidden_alloc_cannot_explain_a_dealloc():
    """The buddy's hidden steps belong to the public operation logged: a dealloc's bridge may free and merge,
    never allocate.  (Were alloc_block among its steps, a double dealloc would pass.)"""
    assert "alloc_block" not in bridge.OWNED["dealloc"] and "split" not in bridge.OWNED["dealloc"]
    assert "free_block" not in bridge.OWNED["add_free_memory"]


@pytest.mark.parametrize("bug", ["publish-before-zero", "generation-before-cas"])
def test_a_metaslot_bug_shows_in_a_log_without_the_buddy(bug):
    """Logged: the public operations and the MetaSlot steps; hidden: the buddy."""
    for name in _scenarios():
        for header, events in _logs(name, (bug,), n=60):
            r = validate_events(events, header, logged=list(PUBLIC + METASLOT))
            if r.verdict == "violation":
                assert r.ignored > 0
                return
    pytest.fail(f"no partial log of any bundled scenario under {bug} was rejected")


def test_a_cut_or_capped_search_turns_a_failure_inconclusive(monkeypatch):
    """With caches, a dealloc may have gone to the cache or to the pool: two worlds.  Keeping one, the
    validator no longer knows every world, so a later failure is inconclusive, never a violation."""
    ops = _public((0, "add_free_memory", 0, 8), (0, "alloc", 0, 1), (0, "dealloc", 0, 1), (0, "alloc", 0, 2))
    header, events = _log(ops, ncpus=2, logged=list(PUBLIC))
    r = validate_events(events, header)
    assert r.verdict == "valid", r.failure
    assert r.max_worlds >= 2
    bad = events + [{"cpu": 0, "ev": "alloc", "addr": 0, "size": PAGE}]
    assert validate_events(bad, header).verdict == "violation"
    monkeypatch.setattr(bridge, "MAX_WORLDS", 1)
    r = validate_events(bad, header)
    assert r.verdict == "inconclusive" and r.exit_code == 3 and "were kept" in r.failure
    monkeypatch.setattr(bridge, "MAX_WORLDS", 64)
    monkeypatch.setattr(bridge, "BUDGET", 3)
    r = validate_events(bad, header)
    assert r.verdict == "inconclusive" and "cut at" in r.failure


def test_the_header_declares_what_is_logged_and_bad_declarations_are_usage_errors(tmp_path):
    header, events = _log(_public((0, "add_free_memory", 0, 8), (0, "alloc", 0, 1)), logged=list(PUBLIC))
    good = tmp_path / "run.jsonl"
    good.write_text("\n".join(json.dumps(x) for x in [header] + [{"seq": i, **e} for i, e in enumerate(events)])
                    + "\n")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "framemc", "validate", *args], cwd=tmp_path,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    r = run("run.jsonl", "--json", "out.json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["logged"]["kinds"] == sorted(PUBLIC) and out["bridge"]["hidden_steps"] > 0
    # an event of a kind the header says is not logged
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + json.dumps({"seq": 9, "cpu": 0, "ev": "zero", "frame": 0}) + "\n")
    r = run("bad.jsonl")
    assert r.returncode == 2 and "not logged" in r.stderr and r.stderr.count("\n") == 1
    # kinds that go together
    for kinds, why in (("alloc,dealloc", "logged together"), ("alloc,dealloc,add_free_memory,rc_sub",
                                                             "cannot add handles"),
                       ("rc_cas,gen_bump", "must be"), ("alloc,dealloc,add_free_memory,frob", "unknown")):
        r = run("run.jsonl", "--logged", kinds)
        assert r.returncode == 2 and why in r.stderr, (kinds, r.stderr)


def test_a_kernel_without_generations_logs_the_claim_cas_alone():
    """Upstream Asterinas has no generation: rc_cas is logged, gen_bump is not; the claims still validate and
    leave no open step, and a bump logged without its CAS is a usage error."""
    from test_validate import GOOD, HEADER
    events = [{"cpu": c, "ev": ev, **a} for c, ev, a in GOOD if ev != "gen_bump"]
    kinds = [k for k in bridge.KINDS if k != "gen_bump"]
    r = validate_events(events, dict(HEADER, logged=kinds))
    assert r.verdict == "valid" and r.open_steps == [] and r.hidden_steps == 0, r.failure
    with pytest.raises(framemc.errors.UsageError, match="gen_bump is logged but rc_cas is not"):
        validate_events(events, HEADER, logged=[k for k in bridge.KINDS if k != "rc_cas"])
