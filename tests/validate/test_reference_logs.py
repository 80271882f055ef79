"""The Python reference logs its steps in the validator's format; every explored execution's log validates.

Each bundled sc scenario runs under the explorer's plain search (every interleaving, each run in the order
its steps happen) with the reference's event log on; every execution must give a log that ``framemc
validate`` accepts.  (The optimal search re-runs a graph in an order that extends program order and
reads-from only, which is not always an interleaving, so its runs are not logs of a real machine.)  Planted bugs whose effect shows in the order of the logged steps give, in some execution, a log
the validator rejects.
"""

from __future__ import annotations

import pytest

import framemc
from framemc.setups import bundled_registry
from framemc.impl import eventlog
from framemc.validate import validate_events


def _logged(setup, logs):
    """``setup`` with the event log on for each execution; each finished execution's log goes to ``logs``."""
    def wrapped():
        events = []
        eventlog.record_to(events)
        made = setup()
        threads, final = made if isinstance(made, tuple) else (made, None)

        def logged_final():
            try:
                if final is not None:
                    final()
            finally:
                logs.append((dict(eventlog.HEADER), list(events)))
        return threads, logged_final
    return wrapped


_OTHER_DESIGN = {"theseus-alloc-at"}


def _scenarios():
    return sorted(set(bundled_registry("sc")) - _OTHER_DESIGN)


@pytest.mark.parametrize("name", _scenarios())
def test_every_execution_of_a_bundled_scenario_logs_a_valid_run(name):
    logs: list = []
    result = framemc.explore(_logged(bundled_registry("sc")[name].setup(()), logs), "sc", max_executions=300,
                             reduction="none")
    eventlog.record_to(None)
    assert result.status is not framemc.Status.VIOLATION
    checked = 0
    for header, events in logs:
        if not header or not events:
            continue  # a scenario that builds its machine from a snapshot, not from boot: nothing to replay
        # every invariant on every replayed state: the proofs say every model step keeps them
        verdict = validate_events(events, header, invariants_every=1)
        assert verdict.verdict == "valid", (verdict.failure, verdict.state)
        assert verdict.invariant_checks == len(events)
        checked += 1
    assert checked, f"{name}: no execution produced a log"


#: bundled scenarios of another allocator design: the Theseus chunk allocator has no MetaSlot buddy and logs
#: nothing (its model is issue 15's)
_OTHER_DESIGN = {"theseus-alloc-at"}


@pytest.mark.parametrize("bug", ["publish-before-zero", "generation-before-cas", "link-in-payload",
                                 "check-then-decrement"])
def test_a_planted_bug_shows_in_some_executions_log(bug):
    rejected = []
    for name in _scenarios():
        logs: list = []
        try:
            framemc.explore(_logged(bundled_registry("sc")[name].setup((bug,)), logs), "sc", max_executions=200,
                            minimize=False, reduction="none")
        finally:
            eventlog.record_to(None)
        for header, events in logs:
            if header and events and validate_events(events, header).verdict == "violation":
                rejected.append(name)
                break
        if rejected:
            break
    assert rejected, f"no log of any bundled scenario under {bug} was rejected"
