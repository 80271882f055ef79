"""Deterministic z3 limits: calibrated resource limits decide, a wall clock is only a safety net (issue 12 #4)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from framemc.model import VARIANTS
from framemc.proofs import Verdict, obligations, run_obligations
from framemc.verdicts import Outcome
from framemc.proofs.engine import UnknownCause, rlimit_for, select
from framemc.proofs.rlimits import MEASURED, RLIMIT_FLOOR, RLIMIT_MARGIN

ROOT = Path(__file__).resolve().parents[2]


def test_every_obligation_and_every_variant_obligation_is_calibrated() -> None:
    names = {ob.name for ob in obligations()}
    assert names <= set(MEASURED), sorted(names - set(MEASURED))
    for variant in sorted(VARIANTS):
        wanted = {f"{variant}:{ob.name}" for ob in select([VARIANTS[variant].replaces], variant=variant)}
        assert wanted <= set(MEASURED), sorted(wanted - set(MEASURED))


def test_a_limit_is_the_measured_cost_with_margin_and_floor() -> None:
    heaviest = max((k for k in MEASURED if ":" not in k), key=MEASURED.__getitem__)
    assert rlimit_for(heaviest) == RLIMIT_MARGIN * MEASURED[heaviest] > RLIMIT_FLOOR
    assert rlimit_for("init/S-pool-ids") == RLIMIT_FLOOR
    # a variant's obligation has its own calibration; an unknown name gets the largest limit
    assert rlimit_for("claim/I3-generation", "non-cas-claim") == max(
        RLIMIT_MARGIN * MEASURED["non-cas-claim:claim/I3-generation"], RLIMIT_FLOOR)
    assert rlimit_for("no/such") == max(RLIMIT_MARGIN * max(MEASURED.values()), RLIMIT_FLOOR)


def test_a_proof_records_its_work_within_its_limit() -> None:
    (first,) = run_obligations(["claim/I3-generation"])
    (second,) = run_obligations(["claim/I3-generation"])
    assert first.verdict is second.verdict is Verdict.PROVED
    assert first.rlimit == rlimit_for("claim/I3-generation")
    assert 0 < first.rlimit_used <= first.rlimit
    assert first.rlimit_used == second.rlimit_used  # z3 units, not seconds: the same work every time


def test_an_exhausted_resource_limit_is_unknown_with_a_recalibration_hint() -> None:
    (result,) = run_obligations(["claim/I3-generation"], rlimit_scale=0.0001)
    assert result.verdict is Verdict.UNKNOWN and result.cause is UnknownCause.RLIMIT
    assert "resource limit" in result.reason and "calibrate_rlimits.py" in result.reason


def test_the_wall_clock_safety_net_is_unknown_with_a_hint_never_a_pass() -> None:
    (result,) = run_obligations(["buddy_free/S-buddies-merged"], timeout_ms=1)
    assert result.verdict is Verdict.UNKNOWN and result.cause is UnknownCause.WALL_CLOCK
    assert "safety net" in result.reason and "--proof-timeout-ms" in result.reason


def test_a_passed_deadline_runs_nothing() -> None:
    results = run_obligations(["claim"], deadline=time.monotonic() - 1)
    assert {r.verdict for r in results} == {Verdict.UNKNOWN}
    assert {r.cause for r in results} == {UnknownCause.DEADLINE}
    assert all(r.rlimit_used == 0 for r in results)


def test_the_model_checks_use_resource_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from framemc.model import macros
    from framemc.model.examples import rich_snapshot
    from framemc.model.state import ModelConfig
    snap = rich_snapshot(ModelConfig(max_order=3, ncpus=2))
    monkeypatch.setattr(macros, "RELATES_RLIMIT", 1)
    # a query that needs the solver (which frame to take is hidden); an all-plain one is decided without it
    result = macros.relates(snap, snap, "alloc_frame", cpu=0, purpose=1)
    assert result.verdict is Outcome.INCONCLUSIVE and "resource limit" in result.detail


def test_calibration_script_measures_every_obligation(tmp_path: Path) -> None:
    from importlib import util
    spec = util.spec_from_file_location("calibrate_rlimits", ROOT / "benchmarks" / "calibrate_rlimits.py")
    assert spec is not None and spec.loader is not None
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.table_text({"init/S-pool-ids": 16, "non-cas-claim:claim/I3-generation": 7})
    namespace: dict[str, object] = {}
    exec(compile(text, "rlimits.py", "exec"), namespace)
    assert namespace["MEASURED"] == {"init/S-pool-ids": 16, "non-cas-claim:claim/I3-generation": 7}
    assert namespace["RLIMIT_MARGIN"] == RLIMIT_MARGIN and namespace["RLIMIT_FLOOR"] == RLIMIT_FLOOR


@pytest.mark.slow
def test_the_same_verdicts_on_a_loaded_machine(tmp_path: Path) -> None:
    """The issue's demonstration: the proofs under three busy loops give the quiet machine's verdicts."""
    command = [sys.executable, "-m", "framemc", "check", "--only", "proofs", "--quiet", "--json"]
    quiet = tmp_path / "quiet.json"
    subprocess.run(command + [str(quiet)], cwd=tmp_path, capture_output=True, timeout=1800)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        loaded = tmp_path / "loaded.json"
        subprocess.run(command + [str(loaded)], cwd=tmp_path, capture_output=True, timeout=1800)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    import json
    verdicts = [{r["name"]: r["outcome"] for r in json.loads(p.read_text())["rows"]} for p in (quiet, loaded)]
    assert verdicts[0] == verdicts[1]
    assert set(verdicts[0].values()) == {"pass"}
