"""check_step: legal steps pass, and each step invariant rejects a step that breaks it."""

from dataclasses import replace

import pytest

from framemc.errors import UsageError
from framemc.model import CheckVerdict, ModelConfig, check_step
from framemc.model.examples import frame_snapshot, rich_snapshot
from framemc.snapshot import PURPOSE_PAGE_TABLE

CFG = ModelConfig()
RICH = rich_snapshot(CFG)


def _with_frame(snap, i, **changes):
    """``snap`` with fields of frame ``i`` changed."""
    frames = list(snap.frames)
    frames[i] = replace(frames[i], **changes)
    return replace(snap, frames=tuple(frames))


def _verdicts(pre, post):
    """Invariant name -> result for the step."""
    return {r.name: r for r in check_step(pre, post)}


def test_stutter_and_claim_pass():
    claimed = _with_frame(RICH, 0, refcount=0, generation=2)
    for post in (RICH, claimed):
        assert all(r.verdict is CheckVerdict.PASS for r in check_step(RICH, post))


def test_whole_alloc_frame_passes():
    pre = replace(RICH, cached=((), (7,)), allocated=RICH.allocated)
    post = replace(_with_frame(RICH, 4, refcount=1, generation=1, payload_zero=True,
                               payload_crc=frame_snapshot(zeroed=True).payload_crc, purpose=PURPOSE_PAGE_TABLE),
                   cached=((), (7,)), allocated=((0, 5), (5, 2)))
    pre = replace(pre, cached=((4,), (7,)))
    assert all(r.verdict is CheckVerdict.PASS for r in check_step(pre, post))


PT_PRE = _with_frame(RICH, 1, payload_zero=False, payload_crc=frame_snapshot().payload_crc)
BROKEN = {
    "I1-no-metadata-in-payload": (RICH, _with_frame(RICH, 8, payload_crc=12345), 8),
    "I3-refcount-transitions": (RICH, _with_frame(RICH, 3, refcount=0), 3),
    "I3-generation": (RICH, _with_frame(RICH, 2, generation=2), 2),
    "I4-page-table-zeroed": (PT_PRE, _with_frame(PT_PRE, 1, refcount=1, purpose=PURPOSE_PAGE_TABLE), 1),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_step_invariant_rejects_a_violating_step(name):
    pre, post, frame_no = BROKEN[name]
    result = _verdicts(pre, post)[name]
    assert result.verdict is CheckVerdict.VIOLATION
    assert result.witness["frame"] == frame_no


def test_snapshots_of_different_sizes_are_a_usage_error():
    with pytest.raises(UsageError, match="disagree"):
        check_step(RICH, replace(RICH, max_order=2))
