"""Conformance: random operation sequences on the impl, each step checked against the z3 model."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from planted_divergences import DIVERGENCES

from framemc.config import CheckConfig
from framemc.conformance import (TOUR_SHARE, Coverage, CoverageItem, CoverageKind, Driver, Machine, Op,
                                 Tour, coverage_universe, run_conformance, tour_targets)
from framemc.model import MACROS
from framemc.model.concrete import CheckVerdict

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STEPS = 18
#: the conformance run ``framemc check`` makes by default
DEFAULT = CheckConfig()


def _walk(data, bugs=frozenset()):
    """Draw and apply STEPS operations; fail on the first step the model does not accept."""
    driver = Driver(bugs=bugs)
    done = []
    for _ in range(STEPS):
        groups = driver.groups()
        group = data.draw(st.sampled_from(sorted(groups)), label="group")
        op = data.draw(st.sampled_from(groups[group]), label="op")
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
    assert first.coverage == second.coverage
    assert first.steps[0].op.name == "init"                      # the first step boots the machine


@pytest.mark.parametrize("bug, caught_by", [
    ("link-in-payload", "I1-no-metadata-in-payload"),
    ("insert-before-merge", "S-conservation"),
    ("merge-non-buddy", "S-buddy-aligned"),
    ("unchecked-overlapping-dealloc", "I2-non-overlapping-ranges"),
])
def test_seeded_run_catches_impl_divergence(bug, caught_by):
    report = run_conformance(seed=DEFAULT.conformance_seed, steps=DEFAULT.conformance_steps, bugs={bug})
    assert report.verdict is CheckVerdict.VIOLATION
    index, step = report.first_failure()
    assert caught_by in {r.name for r in step.failures}
    assert step.failures[0].name.startswith("relates:")


@pytest.mark.parametrize("seed", sorted({DEFAULT.conformance_seed, 1, 2}))
@pytest.mark.parametrize("divergence", sorted(DIVERGENCES))
def test_the_default_check_catches_each_planted_divergence(divergence, seed):
    # issue 13: divergences planted in the impl only; the old driver caught one of the three
    with DIVERGENCES[divergence]():
        report = run_conformance(seed=seed, steps=DEFAULT.conformance_steps)
    assert report.verdict is CheckVerdict.VIOLATION, f"{divergence} escaped seed {seed}: " \
                                                     f"{report.coverage.summary()}"
    index, step = report.first_failure()
    assert any(r.name.startswith("relates:") for r in step.failures)


@pytest.mark.parametrize("seed", sorted({DEFAULT.conformance_seed, 1, 2}))
def test_the_corner_tours_reach_every_item_they_tour(seed):
    report = run_conformance(seed=seed, steps=DEFAULT.conformance_steps)
    hit = {(i.kind, i.name) for i in report.coverage.items if i.hits}
    toured = {tour.item for tour in tour_targets(Machine())}
    assert toured <= hit, sorted(toured - hit)
    assert (CoverageKind.CASE, "merge cascade of length 3") in toured and \
        (CoverageKind.CASE, "split order 3 -> 0") in toured
    boots = [i for i, s in enumerate(report.steps) if s.op.name == "init"]
    assert boots[0] == 0 and len(boots) > 1                        # each tour starts from a fresh boot
    assert boots[-1] < DEFAULT.conformance_steps * TOUR_SHARE       # and they stay within their share
    assert len(report.steps) == DEFAULT.conformance_steps


def test_the_tours_keep_to_their_share_of_a_short_run():
    report = run_conformance(seed=0, steps=10)
    assert len(report.steps) == 10 and report.verdict is CheckVerdict.PASS
    assert [s.op.name for s in report.steps[3:]].count("init") == 0   # int(10 / 3) steps of tours at most


def test_steering_takes_the_raw_step_that_brings_the_pool_closer():
    driver = Driver()
    driver.step(driver.candidates()[0])                 # boot: free blocks of orders 0, 1, 2 and 3
    tours = {tour.item[1]: tour for tour in tour_targets(driver.machine)}
    assert tours["split order 3 -> 0"].distance(driver) == 3
    op = driver.steer(tours["split order 3 -> 0"])
    assert op is not None and op.name == "alloc"        # taking a smaller block brings the split closer
    assert driver.steer(Tour((CoverageKind.CASE, "no such case"), ("alloc",), lambda d: 0)) is None
    before = driver.system.snapshot()
    driver.steer(tours["merge cascade of length 3"])
    assert driver.system.snapshot() == before           # trying candidates never touches the real allocator


def test_taking_from_another_cpus_cache_breaks_the_cache_ownership_step_invariant():
    with DIVERGENCES["cache-of-another-cpu"]():
        report = run_conformance(seed=DEFAULT.conformance_seed, steps=DEFAULT.conformance_steps)
    index, step = report.first_failure()
    assert "S-cache-owner-steps" in {r.name for r in step.failures}, [r.name for r in step.failures]


def test_refused_operation_must_change_nothing():
    driver = Driver(Machine(nframes=2, max_order=1, boot_frames=2, held_back=()))
    report = driver.step(Op("from_in_use", (("frame", 0),)))  # frame 0 is unused: refused
    assert not report.applied
    assert report.results[0].name == "relates:from_in_use-refused"
    assert report.results[0].verdict is CheckVerdict.PASS
    # the model's own refusal step accepts it too
    assert report.results[1].name == "relates:from_in_use" and report.results[1].verdict is CheckVerdict.PASS
    assert report.model_ops == ("from_in_use_refused",)
    assert (CoverageKind.GUARD, "from_in_use refused: GetFrameError unused") in report.covered


def test_each_step_records_the_model_operations_it_matched():
    driver = Driver()
    boot = driver.step(driver.candidates()[0])
    assert boot.applied and "add_block" in boot.model_ops   # init adds its pieces, block by block
    seg = driver.step(Op("alloc_segment", (("cpu", 0), ("n", 3), ("zeroed", True))))
    assert "buddy_alloc" in seg.model_ops[:4] and seg.model_ops.count("publish") == 3
    assert (CoverageKind.CASE, "split order 2 -> 2") in seg.covered
    raw = driver.step(Op("alloc", (("cpu", 1), ("n", 4))))   # a raw range: no claim, zero or publish
    # the block of order 3 is split once (the conditional splits that did not happen are not listed)
    assert raw.applied and raw.model_ops == ("split", "buddy_alloc") and not raw.failures
    assert (CoverageKind.CASE, "split order 3 -> 2") in raw.covered and driver.raw == {8: (4, {8, 9, 10, 11})}
    half = driver.step(Op("dealloc", (("first", 10), ("n", 2))))
    assert half.model_ops == ("buddy_free", "merge_stop") and not half.failures
    assert (CoverageKind.CASE, "dealloc of part of a raw allocation") in half.covered


def test_default_run_exercises_every_public_operation():
    report = run_conformance(seed=DEFAULT.conformance_seed, steps=DEFAULT.conformance_steps)
    assert report.verdict is CheckVerdict.PASS
    api = [i for i in report.coverage.items if i.kind is CoverageKind.API]
    assert [i.name for i in api] == list(MACROS)
    assert all(i.hits for i in api), report.coverage.render()
    assert all(i.expected for i in report.coverage.items), report.coverage.render()


def test_coverage_table_renders_and_lists_what_was_missed():
    machine = Machine()
    universe = coverage_universe(machine)
    assert "split order 3 -> 0" in universe[CoverageKind.CASE] and "merge cascade of length 3" in \
        universe[CoverageKind.CASE]
    assert "claim_failed" not in universe[CoverageKind.MODEL] and "buddy_free" in universe[CoverageKind.MODEL]
    coverage = Coverage((CoverageItem(CoverageKind.API, "drop", 3), CoverageItem(CoverageKind.GUARD, "x", 0),
                         CoverageItem(CoverageKind.CASE, "odd", 1, expected=False)))
    assert [i.name for i in coverage.uncovered] == ["x"]
    text = coverage.render()
    assert "operation  drop" in text and "odd (unexpected)" in text and "1 of 2 conformance coverage" in text
    doc = coverage.as_dict()
    assert doc["uncovered"] == ["guard: x"] and doc["items"][0] == {"kind": "operation", "name": "drop",
                                                                    "hits": 3, "expected": True}
