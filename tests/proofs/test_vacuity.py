"""Vacuity is a verdict: an obligation whose hypotheses contradict each other is VACUOUS, a failure, never PROVED."""

import z3
from click.testing import CliRunner

from framemc.cli import cli as cli_main
from framemc.model import ops as model_ops
from framemc.proofs import Verdict, exit_code, format_table, run_obligations
from framemc.proofs import engine


def _with_false_hypothesis(monkeypatch):
    """Every hypothesis set gains ``False`` (what a contradictory invariant or guard amounts to)."""
    built = engine._OpContext._build_hypotheses
    monkeypatch.setattr(engine._OpContext, "_build_hypotheses",
                        lambda self, level, goal: built(self, level, goal) + [z3.BoolVal(False)])
    engine._context.cache_clear()
    monkeypatch.setattr(engine, "_context", engine.functools.lru_cache(maxsize=64)(engine._context.__wrapped__))


def test_the_reference_model_has_no_vacuous_obligation():
    results = run_obligations(["claim", "buddy_alloc/S-conservation", "init/I2-non-overlapping-ranges"])
    assert {r.verdict for r in results} == {Verdict.PROVED}


def test_false_in_every_hypothesis_set_makes_every_obligation_vacuous_not_proved(monkeypatch):
    _with_false_hypothesis(monkeypatch)
    results = run_obligations(["claim", "zero/I1-no-metadata-in-payload"])
    by_verdict = {r.name: r.verdict for r in results}
    # the guard check runs on concrete witness states, not on the hypotheses: it still has its witness
    assert by_verdict.pop("guard/claim") is Verdict.PROVED
    assert set(by_verdict.values()) == {Verdict.VACUOUS}, by_verdict
    assert exit_code(results) == 1
    assert "VACUOUS claim/I3-generation" in format_table(results)
    assert "unsatisfiable" in results[-1].reason


def test_a_contradictory_guard_is_vacuous_too(monkeypatch):
    real = model_ops.OPERATIONS["zero"]
    broken = model_ops.OpSpec(real.name, real.summary, real.params,
                              lambda cfg, s, f: model_ops.Step(z3.And(real.fn(cfg, s, f).guard, s.rc[f] != s.rc[f]),
                                                               real.fn(cfg, s, f).post, seeds=(f,)))
    monkeypatch.setitem(model_ops.OPERATIONS, "zero", broken)
    engine._context.cache_clear()
    results = run_obligations(["zero/I1-no-metadata-in-payload", "zero/I3-refcount-sentinels"])
    engine._context.cache_clear()
    assert [r.verdict for r in results] == [Verdict.VACUOUS, Verdict.VACUOUS]


def test_an_unsatisfiable_initial_condition_is_vacuous(monkeypatch):
    real = engine.initial_state
    monkeypatch.setattr(engine, "initial_state", lambda cfg, prefix: (real(cfg, prefix)[0], z3.BoolVal(False)))
    (result,) = run_obligations(["init/S-conservation"])
    assert result.verdict is Verdict.VACUOUS and "no state is initial" in result.reason


def test_framemc_prove_exits_1_on_a_vacuous_obligation(monkeypatch):
    _with_false_hypothesis(monkeypatch)
    done = CliRunner().invoke(cli_main, ["prove", "-q", "claim/I3-generation"])
    assert done.exit_code == 1, done.output
    assert "VACUOUS" in done.output or "vacuous" in done.output
