"""`framemc validate`: logs of runs checked step by step against the model.

A complete log of a correct run is valid; each planted bug whose effect shows in the order of the logged
events (publish before zeroing, a generation bump before the claim CAS, a free of memory that is already
free, a link written into a free frame's payload) is rejected with exit 1 at the line that shows it; bad
input is a one-line error with exit 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

UNUSED = (1 << 64) - 1
HEADER = {"framemc_log": 1, "nframes": 8, "ncpus": 2, "max_order": 3}

#: a correct run: boot, split down to one frame, claim, zero, publish as a page table, write it, clone,
#: drop twice, tear down and free it, merging back up
GOOD = [
    (0, "add_block", {"pool": 0, "head": 0, "order": 3}), (0, "merge_stop", {"head": 0}),
    (0, "split", {"head": 0}), (0, "split", {"head": 0}), (0, "split", {"head": 0}),
    (0, "alloc_block", {"head": 0, "order": 0}),
    (1, "rc_cas", {"frame": 0, "old": UNUSED, "new": 0, "ok": True}), (1, "gen_bump", {"frame": 0, "new": 1}),
    (1, "zero", {"frame": 0}), (1, "set_purpose", {"frame": 0, "purpose": 2}),
    (1, "publish", {"frame": 0, "zeroed": True}), (1, "payload_write", {"frame": 0, "data": 0xBEEF}),
    (0, "rc_add", {"frame": 0, "old": 1}), (1, "rc_sub", {"frame": 0, "old": 2}),
    (0, "rc_sub", {"frame": 0, "old": 1}), (0, "rc_store", {"frame": 0, "value": UNUSED}),
    (0, "free_block", {"head": 0, "order": 0}), (0, "merge", {"head": 0}), (0, "merge", {"head": 0}),
    (0, "merge", {"head": 0}), (0, "merge_stop", {"head": 0}),
]


#: the same frame allocated and claimed again after GOOD
REUSE = [(0, "split", {"head": 0}), (0, "split", {"head": 0}), (0, "split", {"head": 0}),
         (0, "alloc_block", {"head": 0, "order": 0}),
         (1, "rc_cas", {"frame": 0, "old": UNUSED, "new": 0, "ok": True}), (1, "gen_bump", {"frame": 0, "new": 2})]


def write_log(path: Path, events, header=HEADER) -> Path:
    lines = [json.dumps(header)] + [json.dumps({"seq": i, "cpu": cpu, "ev": ev, **args})
                                    for i, (cpu, ev, args) in enumerate(events)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "framemc", "validate", *args], cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=600)


def test_a_correct_run_is_valid(tmp_path):
    write_log(tmp_path / "run.jsonl", GOOD)
    r = run("run.jsonl", "--json", "out.json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["verdict"] == "valid" and out["events"] == len(GOOD) and out["steps"] == len(GOOD) - 2
    # and the same frame's second life, zeroed before it is published again
    write_log(tmp_path / "again.jsonl", GOOD + REUSE + [(1, "zero", {"frame": 0}),
                                                         (1, "set_purpose", {"frame": 0, "purpose": 2}),
                                                         (1, "publish", {"frame": 0, "zeroed": True})])
    assert run("again.jsonl", cwd=tmp_path).returncode == 0


def test_per_cpu_logs_are_merged_by_seq(tmp_path):
    lines = [{"seq": i, "cpu": cpu, "ev": ev, **args} for i, (cpu, ev, args) in enumerate(GOOD)]
    for cpu in (0, 1):
        (tmp_path / f"cpu{cpu}.jsonl").write_text("\n".join(json.dumps(x) for x in [HEADER] + [
            line for line in lines if line["cpu"] == cpu]) + "\n")
    assert run("cpu0.jsonl", "cpu1.jsonl", cwd=tmp_path).returncode == 0
    # one CPU's file alone misses the other's steps: the model forbids what follows
    assert run("cpu0.jsonl", cwd=tmp_path).returncode == 1


def _swap(events, a, b):
    out = list(events)
    out[a], out[b] = out[b], out[a]
    return out


@pytest.mark.parametrize("name, events, line, needle", [
    # the frame comes back dirty: its second claim publishes it as a page table before zeroing it
    ("publish-before-zero", GOOD + REUSE + [(1, "set_purpose", {"frame": 0, "purpose": 2}),
                                            (1, "publish", {"frame": 0, "zeroed": True})], 30,
     "publish: the model forbids publish(f=0, purpose=2, zeroed=True) in this state: its guard needs pz(0)"),
    ("generation-before-cas", _swap(GOOD, 6, 7), 8, "no successful claim CAS"),
    ("dealloc-overlapping-free-memory", GOOD + [(0, "free_block", {"head": 0, "order": 0})], 23, "buddy_free"),
    ("link-in-payload", GOOD + [(0, "payload_write", {"frame": 4, "data": 0x1234})], 23, "holder_write"),
    ("lost-update", GOOD[:13] + [(1, "rc_sub", {"frame": 0, "old": 1})], 15, "refcount"),
    ("claim-of-a-free-frame", GOOD[:2] + [(1, "rc_cas", {"frame": 3, "old": UNUSED, "new": 0, "ok": True}),
                                          (1, "gen_bump", {"frame": 3, "new": 1})], 4, "claim"),
])
def test_a_planted_bug_is_rejected_at_its_line(tmp_path, name, events, line, needle):
    write_log(tmp_path / f"{name}.jsonl", events)
    r = run(f"{name}.jsonl", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{name}.jsonl:{line}:" in r.stdout and needle in r.stdout, r.stdout
    # the model state is printed as the proofs print it
    assert "pool lock: " in r.stdout and "rc=" in r.stdout, r.stdout


@pytest.mark.parametrize("text, needle", [
    ("", "empty log"),
    ('{"nframes": 8}\n', "header"),
    (json.dumps(HEADER) + "\nnot json\n", "run.jsonl:2: not JSON"),
    (json.dumps(HEADER) + '\n{"seq": 0, "cpu": 0, "ev": "teleport"}\n', "unknown event 'teleport'"),
    (json.dumps(HEADER) + '\n{"seq": 0, "cpu": 0, "ev": "zero"}\n', "needs a whole number 'frame'"),
    (json.dumps(HEADER) + '\n{"seq": 0, "cpu": 0, "ev": "zero", "frame": 99}\n', "past the machine"),
    (json.dumps(HEADER) + '\n{"seq": 0, "cpu": 7, "ev": "zero", "frame": 1}\n', "cpu 7"),
    (json.dumps(HEADER) + '\n{"seq": 1, "cpu": 0, "ev": "add_block", "pool": 0, "head": 0, "order": 3}\n'
     '{"seq": 0, "cpu": 0, "ev": "merge_stop", "head": 0}\n', "seq order"),
])
def test_bad_input_is_a_one_line_error(tmp_path, text, needle):
    (tmp_path / "run.jsonl").write_text(text)
    r = run("run.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_long_log_is_answered_from_the_memo(tmp_path):
    """20,000 events of clone/drop on a published frame: all but the first few come from the memo."""
    events = GOOD[:12]
    for i in range(10_000):
        events += [(i % 2, "rc_add", {"frame": 0, "old": 1}), (i % 2, "rc_sub", {"frame": 0, "old": 2})]
    write_log(tmp_path / "long.jsonl", events)
    r = run("long.jsonl", "--json", "out.json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["events"] == len(events) and out["z3_steps"] < 20


def test_junit_and_sarif_name_the_log_line(tmp_path):
    import xml.etree.ElementTree as ET

    import jsonschema
    write_log(tmp_path / "bad.jsonl", GOOD + [(0, "free_block", {"head": 0, "order": 0})])
    r = run("bad.jsonl", "--junit-xml", "out.xml", "--sarif", "out.sarif", "--json", "out.json", cwd=tmp_path)
    assert r.returncode == 1
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1" and "bad.jsonl:23" in suite.find("testcase/failure").get("message")
    doc = json.loads((tmp_path / "out.sarif").read_text())
    schema = json.loads((Path(__file__).parents[1] / "cli" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    [res] = doc["runs"][0]["results"]
    loc = res["locations"][0]["physicalLocation"]
    assert (loc["artifactLocation"]["uri"], loc["region"]["startLine"], res["ruleId"]) == \
        ("bad.jsonl", 23, "validate/free_block")
    assert json.loads((tmp_path / "out.json").read_text())["where"] == {"file": "bad.jsonl", "line": 23,
                                                                        "event": "free_block"}
    # a valid log: a passing test case and no SARIF result
    write_log(tmp_path / "ok.jsonl", GOOD)
    assert run("ok.jsonl", "--junit-xml", "ok.xml", "--sarif", "ok.sarif", cwd=tmp_path).returncode == 0
    assert ET.parse(tmp_path / "ok.xml").getroot().find("testsuite").get("failures") == "0"
    assert json.loads((tmp_path / "ok.sarif").read_text())["runs"][0]["results"] == []


def test_the_invariants_are_evaluated_on_the_replayed_state(monkeypatch):
    """The replayed state is checked against every invariant (every N events and at the end).  Planted: the
    model's buddy_free without its range check (the variant unchecked-overlapping-dealloc); a double free
    then passes its guard, and only the invariant check can see the state it leaves."""
    from framemc.model import replay
    from framemc.validate import validate_events
    real = replay.resolve
    header = {"framemc_log": 1, "nframes": 2, "ncpus": 1, "max_order": 1}
    run = [(0, "add_block", {"pool": 0, "head": 0, "order": 1}), (0, "merge_stop", {"head": 0}),
           (0, "split", {"head": 0}), (0, "alloc_block", {"head": 0, "order": 0}),
           (0, "free_block", {"head": 0, "order": 0}), (0, "merge", {"head": 0}), (0, "merge_stop", {"head": 0})]
    events = [{"cpu": c, "ev": ev, **a} for c, ev, a in run]
    twice = events + [{"cpu": 0, "ev": "free_block", "head": 0, "order": 0}]
    r = validate_events(events, header, invariants_every=1)
    assert r.verdict == "valid" and r.invariant_checks == len(events)
    # the correct model forbids the second free at its guard
    r = validate_events(twice, header, name="correct-model")
    assert r.verdict == "violation" and "forbids buddy_free" in r.failure
    monkeypatch.setattr(replay, "resolve", lambda op, variant=None: real(
        op, "unchecked-overlapping-dealloc" if op == "buddy_free" else variant))
    monkeypatch.setattr("framemc.validate._MEMOS", {})
    r = validate_events(twice, header, name="broken-model", invariants_every=1)
    assert r.verdict == "violation" and "breaks invariant" in r.failure and ":9:" in r.failure, r.failure
    # checked only at the end: still caught, at the end
    monkeypatch.setattr("framemc.validate._MEMOS", {})
    r = validate_events(twice, header, name="broken-model", invariants_every=0)
    assert r.verdict == "violation" and r.failure.startswith("at the end of the log: the model state breaks")
    assert r.invariant_checks == 1
