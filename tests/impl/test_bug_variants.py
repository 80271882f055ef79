"""Planted-bug variants: the registry, and one test per knob showing its code path really differs."""

from __future__ import annotations

import pytest

from framemc.errors import UsageError
from framemc.sync import Ordering
from framemc.impl.buddy import Layout
from framemc.impl.errors import ClaimFailed, DoubleFree, NoMemory
from framemc.impl.frame import FramePurpose
from framemc.impl.system import FrameSystem
from framemc.design import designs
from framemc.impl.variants import KNOBS, validate_bugs
from framemc.snapshot import PAGE_SIZE, REFCOUNT_BUSY, REFCOUNT_UNUSED

P = PAGE_SIZE
CORRECT = frozenset()


def system(bugs=CORRECT, nframes=4, **kw) -> FrameSystem:
    """A small system without per-CPU caches unless asked for."""
    kw.setdefault("cache_capacity", 0)
    return FrameSystem(nframes, bugs=bugs, **kw)


def test_registry_describes_every_variant():
    expected = {
        "unused-equals-busy", "check-then-decrement", "non-cas-claim", "publish-before-zero",
        "insert-before-merge", "link-in-payload", "unchecked-overlapping-dealloc", "alloc-at-skips-overlap",
        "generation-before-cas", "cache-ignores-poison", "merge-non-buddy", "relaxed-publish",
        "relaxed-claim", "no-acquire-fence-on-drop", "relaxed-purpose", "drop-mapped-frames", "early-list-overflow",
        "merge-non-adjacent",
    }
    records = {name: bug for d in designs().values() for name, bug in d.bugs.items()}
    assert set(KNOBS) == expected and set(records) == expected
    for name, bug in records.items():
        assert bug.name == name and KNOBS[name] == bug.module
        assert bug.description.endswith(".") and "\n" not in bug.description
        assert bug.source and bug.module.startswith("framemc.impl.")
        assert bug.fix.endswith(".") and "\n" not in bug.fix and bug.fix != bug.description
    assert records["alloc-at-skips-overlap"].module == "framemc.impl.theseus"
    assert designs()["theseus"].bugs["alloc-at-skips-overlap"].scenario == "sc/theseus-alloc-at"


def test_unknown_variant_is_named_and_known_ones_listed():
    with pytest.raises(UsageError, match=r"unknown bug variant 'no-such-bug'; known variants: alloc-at-skips"):
        FrameSystem(4, bugs={"no-such-bug"})
    with pytest.raises(UsageError, match="not the string"):
        validate_bugs("non-cas-claim")
    with pytest.raises(UsageError, match="collection of variant names, got None"):
        validate_bugs(None)
    assert validate_bugs(["non-cas-claim"]) == frozenset({"non-cas-claim"})


def _rogue_claim_after(recorder, sysm, target, op):
    """After ``op`` on ``target``, another CPU claims frame 0 with from_unused; return its handles."""
    rogue = []
    recorder.after(target, op, lambda: rogue.append(sysm.from_unused(0)))
    return rogue


def test_unused_equals_busy_lets_a_busy_frame_be_claimed(recorder):
    correct, buggy = system(), system({"unused-equals-busy"})
    assert correct.snapshot().frames[0].refcount == REFCOUNT_UNUSED
    assert buggy.snapshot().frames[0].refcount == REFCOUNT_BUSY
    _rogue_claim_after(recorder, correct, "meta[0].refcount", "compare_exchange")
    with pytest.raises(ClaimFailed):
        correct.alloc_frame()
    rogue = _rogue_claim_after(recorder, buggy, "meta[0].refcount", "compare_exchange")
    mine = buggy.alloc_frame()
    assert mine.paddr == rogue[0].paddr == 0          # handed out twice


def test_non_cas_claim_loses_a_race_silently(recorder):
    correct, buggy = system(), system({"non-cas-claim"})
    _rogue_claim_after(recorder, correct, "meta[0].refcount", "compare_exchange")
    with pytest.raises(ClaimFailed):
        correct.alloc_frame()
    rogue = _rogue_claim_after(recorder, buggy, "meta[0].refcount", "load")
    mine = buggy.alloc_frame()
    assert mine.paddr == rogue[0].paddr == 0
    # mine: load ... rogue: load, store 0, store 1 ... mine: store 0 (over the rogue's 1), store 1
    ops = [(e.op, e.value) for e in recorder.on("meta[0].refcount")][-6:]
    assert ops == [("load", None), ("load", None), ("store", 0), ("store", 1), ("store", 0), ("store", 1)]


def _racing_drops(recorder, sysm):
    """Two handles to frame 0; the second is dropped right after the first drop's first refcount access."""
    frame = sysm.alloc_frame()
    twin = frame.clone()
    first_access = "load" if "check-then-decrement" in sysm.bugs else "fetch_sub"
    recorder.after("meta[0].refcount", first_access, twin.drop)
    frame.drop()


def test_check_then_decrement_leaks_on_concurrent_drops(recorder):
    correct, buggy = system(), system({"check-then-decrement"})
    _racing_drops(recorder, correct)
    assert correct.allocator.allocated() == ()
    assert correct.snapshot().frames[0].refcount == REFCOUNT_UNUSED
    _racing_drops(recorder, buggy)
    assert buggy.allocator.allocated() == ((0, 1),)       # never returned
    assert buggy.snapshot().frames[0].refcount == 0       # and nobody holds it


@pytest.mark.parametrize("bugs, zero_when_published", [(CORRECT, True), ({"publish-before-zero"}, False)])
def test_publish_before_zero_exposes_stale_bytes(recorder, bugs, zero_when_published):
    sysm = system(bugs, fill=0x5A)
    seen = []
    recorder.after("meta[0].refcount", "store", lambda: seen.append(sysm.memory.frame_is_zero(0)))
    frame = sysm.options().purpose(FramePurpose.PAGE_TABLE).alloc_frame()
    assert seen == [zero_when_published]
    assert frame.read(0, 8) == bytes(8)                    # zeroed in the end either way


def test_generation_before_cas_bumps_on_failed_claim():
    for bugs, bumped in [(CORRECT, False), ({"generation-before-cas"}, True)]:
        sysm = system(bugs)
        frame = sysm.alloc_frame()
        with pytest.raises(ClaimFailed):
            sysm.from_unused(frame.paddr)
        assert frame.generation_matches() is not bumped


def test_insert_before_merge_puts_a_block_on_two_lists():
    for bugs, expected in [(CORRECT, ((0, 1),)), ({"insert-before-merge"}, ((0, 0), (0, 1)))]:
        sysm = system(bugs, nframes=2)
        sysm.allocator.alloc(Layout(P))
        sysm.allocator.alloc(Layout(P))
        sysm.allocator.dealloc(P, P)
        sysm.allocator.dealloc(0, P)
        assert sysm.allocator.free_blocks() == expected


def test_link_in_payload_writes_the_free_frame():
    for bugs, untouched in [(CORRECT, True), ({"link-in-payload"}, False)]:
        sysm = system(bugs, nframes=2, fill=0x5A)
        frame = sysm.alloc_frame(zeroed=False)
        frame.drop()
        assert (sysm.memory.read(0, 16) == b"\x5a" * 16) is untouched


def test_unchecked_overlapping_dealloc_accepts_a_double_free():
    correct, buggy = system(), system({"unchecked-overlapping-dealloc"})
    for sysm in (correct, buggy):
        sysm.allocator.alloc(Layout(P))
        sysm.allocator.dealloc(0, P)
    with pytest.raises(DoubleFree):
        correct.allocator.dealloc(0, P)
    buggy.allocator.dealloc(0, P)
    assert buggy.snapshot() != correct.snapshot()


def test_cache_ignores_poison_hands_out_a_poisoned_frame():
    for bugs, expected in [(CORRECT, P), ({"cache-ignores-poison"}, 0)]:
        sysm = system(bugs, cache_capacity=4)
        frame = sysm.alloc_frame()
        frame.mark_poisoned()
        frame.drop()
        assert sysm.alloc_frame().paddr == expected


def test_merge_non_buddy_merges_neighbours_and_across_ranges():
    for bugs, expected in [(CORRECT, ((1, 0), (2, 0))), ({"merge-non-buddy"}, ((1, 1),))]:
        sysm = system(bugs)
        for _ in range(4):
            sysm.allocator.alloc(Layout(P))
        sysm.allocator.dealloc(P, P)
        sysm.allocator.dealloc(2 * P, P)
        assert sysm.allocator.free_blocks() == expected
    for bugs, expected in [(CORRECT, ((0, 0), (1, 0))), ({"merge-non-buddy"}, ((0, 1),))]:
        sysm = system(bugs, add_all=False)
        sysm.allocator.add_free_memory(0, P)
        sysm.allocator.add_free_memory(P, P)
        assert sysm.allocator.free_blocks() == expected


@pytest.mark.parametrize("bug, target, op, value, correct_order", [
    ("relaxed-publish", "meta[0].refcount", "store", 1, Ordering.RELEASE),
    ("relaxed-claim", "meta[0].refcount", "compare_exchange", REFCOUNT_BUSY, Ordering.ACQUIRE),
    ("relaxed-purpose", "meta[0].purpose", "store", None, Ordering.RELEASE),
])
def test_ordering_variants_weaken_one_access(recorder, bug, target, op, value, correct_order):
    for bugs, order in [(CORRECT, correct_order), ({bug}, Ordering.RELAXED)]:
        recorder.events.clear()
        system(bugs).alloc_frame()
        assert recorder.events[recorder.index(target, op, value)].order is order


def test_no_acquire_fence_on_drop(recorder):
    for bugs, fences in [(CORRECT, 1), ({"no-acquire-fence-on-drop"}, 0)]:
        frame = system(bugs).alloc_frame()
        recorder.events.clear()
        frame.drop()
        assert len(recorder.on("fence")) == fences


def test_alloc_at_skips_overlap_is_accepted_but_inert_here():
    sysm = system({"alloc-at-skips-overlap"}, nframes=2)
    sysm.alloc_segment(2)
    with pytest.raises(NoMemory):
        sysm.alloc_frame()
