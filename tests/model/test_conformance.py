"""Conformance: random operation sequences on the impl, each step checked against the z3 model."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from framemc.conformance import Driver, Op, run_conformance
from framemc.model.concrete import CheckVerdict

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STEPS = 18


def _walk(data, bugs=frozenset()):
    """Draw and apply STEPS operations; fail on the first step the model does not accept."""
    driver = Driver(bugs=bugs)
    done = []
    for _ in range(STEPS):
        op = data.draw(st.sampled_from(driver.candidates()), label="op")
        report = driver.step(op)
        done.append(str(op))
        failed = [f"{r.name}: {r.verdict.name} {r.detail}".strip() for r in report.failures]
        assert not failed, f"after {' ; '.join(done)} the model rejects the impl's step: {failed}"


@SETTINGS
@given(data=st.data())
def test_model_describes_the_impl(data):
    _walk(data)


def test_a_planted_divergence_in_the_impl_fails_conformance():
    # link-in-payload changes only the impl: the free list writes into frame bytes.
    # Finding the divergence is the point; shrinking it would only cost time.
    @settings(SETTINGS, phases=[Phase.generate], report_multiple_bugs=False)
    @given(data=st.data())
    def diverged(data):
        _walk(data, bugs=frozenset({"link-in-payload"}))

    with pytest.raises(AssertionError, match="I1-no-metadata-in-payload"):
        diverged()


def test_seeded_run_is_deterministic_and_passes():
    first = run_conformance(seed=3, steps=25)
    second = run_conformance(seed=3, steps=25)
    assert first.verdict is CheckVerdict.PASS
    assert [str(s.op) for s in first.steps] == [str(s.op) for s in second.steps]
    assert len(first.steps) == 25


@pytest.mark.parametrize("bug, caught_by", [
    ("link-in-payload", "I1-no-metadata-in-payload"),
    ("insert-before-merge", "S-conservation"),
])
def test_seeded_run_catches_impl_divergence(bug, caught_by):
    report = next(r for r in (run_conformance(seed=s, steps=60, bugs={bug}) for s in range(4))
                  if r.verdict is CheckVerdict.VIOLATION)
    index, step = report.first_failure()
    assert caught_by in {r.name for r in step.failures}
    assert step.failures[0].name.startswith("relates:")


def test_refused_operation_must_change_nothing():
    driver = Driver(nframes=2, ncpus=1)
    report = driver.step(Op("from_in_use", (("frame", 0),)))  # frame 0 is free: refused
    assert not report.applied
    assert report.results[0].name == "relates:from_in_use-refused"
    assert report.results[0].verdict is CheckVerdict.PASS
