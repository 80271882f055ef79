"""Allocator-ordering scenarios: the MetaSlot protocol's memory orderings, checked under C11.

Design: each :class:`~framemc.scenarios.allocator.Scenario` here runs the real
impl on two CPUs and asks one question about an ordering in the seeds: does a
reader that synchronises the way the design says see a fully written frame,
with no data race on its payload?  Each twin weakens exactly that ordering
(an impl bug knob).  Under ``memory_model="sc"`` every access behaves as
SeqCst, so the twins pass there; under ``"c11"`` they must be caught, and the
correct orderings must pass exhaustively.  The payload is a non-atomic
location, so a missing happens-before edge shows up as a data race (or as
stale bytes read).  No allocator invariants are watched: these scenarios are
about orderings, and the bundled scenarios in ``allocator`` cover the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from framemc.sync import Ordering
from framemc.impl.errors import ClaimFailed
from framemc.impl.frame import FramePurpose
from framemc.impl.meta import FrameMetaVtable
from framemc.impl.system import FrameSystem
from framemc.impl.variants import validate_bugs
from framemc.scenarios import lookup
from framemc.scenarios.allocator import TEARDOWN_MARK, Scenario
from framemc.snapshot import PAGE_SIZE, PAYLOAD_FILL, PURPOSE_PAGE_TABLE, REFCOUNT_MAX

__all__ = ["ORDERING_SCENARIOS", "ordering_scenario_named", "refcount_reader"]

Setup = Callable[[], Any]

#: the byte a frame's owner writes just before giving the frame up
OWNER_MARK = 0x11


def _assert_zeroed(system: FrameSystem, paddr: int, how: str) -> None:
    entries = system.memory.read(paddr, PAGE_SIZE)
    assert entries == bytes(PAGE_SIZE), (
        f"a reader that {how} saw page-table frame {paddr:#x} with stale bytes (first byte {entries[0]:#04x})")


def _page_table_reader(bugs: frozenset[str], via_purpose: bool) -> Setup:
    def setup() -> Any:
        system = FrameSystem(1, ncpus=2, bugs=bugs, fill=PAYLOAD_FILL)
        slot = system.get_meta_slot(0)

        def allocator_cpu() -> None:
            system.options().purpose(FramePurpose.PAGE_TABLE).alloc_frame()

        def purpose_reader() -> None:
            if slot.purpose.load(Ordering.ACQUIRE) == PURPOSE_PAGE_TABLE:
                _assert_zeroed(system, 0, "acquired purpose PageTable")

        def refcount_reader() -> None:
            if 1 <= slot.refcount.load(Ordering.ACQUIRE) <= REFCOUNT_MAX:
                _assert_zeroed(system, 0, "acquired refcount >= 1")

        return [allocator_cpu, purpose_reader if via_purpose else refcount_reader]
    return setup


def _publish(bugs: frozenset[str]) -> Setup:
    return _page_table_reader(bugs, via_purpose=False)


def _purpose(bugs: frozenset[str]) -> Setup:
    return _page_table_reader(bugs, via_purpose=True)


def refcount_reader(bugs: frozenset[str] | set[str] = frozenset()) -> Setup:
    """The page-table publish with a reader that acquires the refcount (safe even with relaxed purpose)."""
    return _page_table_reader(validate_bugs(bugs), via_purpose=False)


def _claim_after_last_drop(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(1, ncpus=2, bugs=bugs)
        handle = system.alloc_frame(zeroed=False)
        paddr = handle.paddr

        def previous_owner() -> None:
            handle.write(0, bytes([OWNER_MARK]))
            handle.drop()

        def claimer() -> None:
            # the address is known, not learnt through any synchronisation
            try:
                system.from_unused(paddr)
            except ClaimFailed:
                return
            system.memory.write_bytes(paddr, 0, PAGE_SIZE)

        return [previous_owner, claimer]
    return setup


def _last_drop_teardown(bugs: frozenset[str]) -> Setup:
    def setup() -> Any:
        system = FrameSystem(1, ncpus=2, bugs=bugs)
        dma = FrameMetaVtable("dma", on_last_ref=lambda paddr: system.memory.write_bytes(paddr, TEARDOWN_MARK, 8))
        system.register_vtable(dma)
        first = system.options().vtable(dma).zeroed(False).alloc_frame()
        second = first.clone()

        def writer() -> None:
            first.write(0, bytes([OWNER_MARK]))
            first.drop()

        def other_holder() -> None:
            # touches no payload: only a last drop here, tearing the frame down, can race
            second.drop()

        return [writer, other_holder]
    return setup


#: the allocator-ordering scenarios, by name, in a stable order
ORDERING_SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("publish-release", "A walker that acquires refcount = 1 of a new page-table frame reads it zeroed, "
             "because refcount = 1 is stored with Release.", "relaxed-publish", _publish),
    Scenario("claim-acquire", "A from_unused claim racing a last drop acquires the drop's Release store of UNUSED, "
             "so zeroing happens after the previous owner's last write.", "relaxed-claim", _claim_after_last_drop),
    Scenario("drop-acquire-fence", "The last drop's fence(Acquire) orders on_last_ref after every other holder's "
             "payload accesses.", "no-acquire-fence-on-drop", _last_drop_teardown),
    Scenario("purpose-release", "A reader that acquires purpose = PageTable reads the frame zeroed, because the "
             "purpose is stored with Release after zeroing.", "relaxed-purpose", _purpose),
)}


def ordering_scenario_named(name: str) -> Scenario:
    """The ordering scenario called ``name``; a UsageError listing the known ones otherwise."""
    return lookup(ORDERING_SCENARIOS, name, "ordering scenario")
