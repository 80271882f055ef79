"""The atomics layer refuses what Rust refuses, directly and under the explorer, with framemc's UsageError.

``Atomic``'s operations skip their checks for the default ordering (SeqCst) and for a plain int, the
case every explored event takes; these tests hold the checks that remain for everything else.
"""

from __future__ import annotations

import pytest

import framemc
from framemc import Atomic, Ordering, UsageError

#: (label, call on a fresh Atomic(0), what the error says)
BAD_CALLS = [
    ("load Release", lambda a: a.load(Ordering.RELEASE), "load: ordering Release is not valid for a load"),
    ("load AcqRel", lambda a: a.load(Ordering.ACQ_REL), "load: ordering AcqRel is not valid for a load"),
    ("load a string", lambda a: a.load("SeqCst"), "load: ordering must be a framemc Ordering"),
    ("store Acquire", lambda a: a.store(1, Ordering.ACQUIRE), "store: ordering Acquire is not valid for a store"),
    ("store AcqRel", lambda a: a.store(1, Ordering.ACQ_REL), "store: ordering AcqRel is not valid for a store"),
    ("store a string order", lambda a: a.store(1, "Relaxed"), "store: ordering must be a framemc Ordering"),
    ("store a string", lambda a: a.store("x"), "store: value must be an int"),
    ("store a bool", lambda a: a.store(True), "store: value must be an int"),
    ("store too wide", lambda a: a.store(1 << 64), "store: value 18446744073709551616 does not fit"),
    ("store negative", lambda a: a.store(-1), "store: value -1 does not fit"),
    ("cas failure Release", lambda a: a.compare_exchange(0, 1, failure=Ordering.RELEASE),
     "compare_exchange: failure ordering Release is not valid"),
    ("cas failure AcqRel", lambda a: a.compare_exchange(0, 1, Ordering.ACQ_REL, Ordering.ACQ_REL),
     "compare_exchange: failure ordering AcqRel is not valid"),
    ("cas success a string", lambda a: a.compare_exchange(0, 1, "SeqCst"),
     "compare_exchange success: ordering must be a framemc Ordering"),
    ("cas failure a string", lambda a: a.compare_exchange(0, 1, Ordering.ACQUIRE, "Relaxed"),
     "compare_exchange failure: ordering must be a framemc Ordering"),
    ("cas new a string", lambda a: a.compare_exchange(0, "1"), "compare_exchange: value must be an int"),
    ("cas new negative", lambda a: a.compare_exchange(0, -1), "compare_exchange: value -1 does not fit"),
    ("fetch_add a bool", lambda a: a.fetch_add(True), "fetch_add: operand must be an int"),
    ("fetch_add a float", lambda a: a.fetch_add(1.0), "fetch_add: operand must be an int"),
    ("fetch_sub a string order", lambda a: a.fetch_sub(1, "Relaxed"), "fetch_sub: ordering must be a framemc Ordering"),
    ("swap too wide", lambda a: a.swap(1 << 64), "swap: value 18446744073709551616 does not fit"),
]


@pytest.mark.parametrize("label, call, message", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_a_bad_call_is_refused_directly(label, call, message):
    a = Atomic(0, name="x")
    with pytest.raises(UsageError, match=message):
        call(a)
    assert a.peek() == 0  # nothing changed


@pytest.mark.parametrize("label, call, message", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_a_bad_call_is_refused_under_the_explorer(label, call, message):
    def setup():
        a = Atomic(0, name="x")
        return [lambda: a.load(), lambda: call(a)]
    for model in ("sc", "c11"):
        with pytest.raises(UsageError, match=message):
            framemc.explore(setup, model)


GOOD_CALLS = [
    ("load Relaxed", lambda a: a.load(Ordering.RELAXED), 0),
    ("load Acquire", lambda a: a.load(Ordering.ACQUIRE), 0),
    ("store Release", lambda a: a.store(5, Ordering.RELEASE), None),
    ("store the widest", lambda a: a.store((1 << 64) - 1), None),
    ("cas AcqRel/Acquire", lambda a: a.compare_exchange(0, 1, Ordering.ACQ_REL, Ordering.ACQUIRE), (True, 0)),
    ("fetch_add Relaxed", lambda a: a.fetch_add(3, Ordering.RELAXED), 0),
    ("fetch_sub wraps", lambda a: a.fetch_sub(1), 0),
    ("swap", lambda a: a.swap(7, Ordering.ACQ_REL), 0),
]


@pytest.mark.parametrize("label, call, result", GOOD_CALLS, ids=[c[0] for c in GOOD_CALLS])
def test_the_orderings_rust_allows_are_accepted(label, call, result):
    assert call(Atomic(0, name="x")) == result
    seen = []

    def setup():
        a = Atomic(0, name="x")

        def t():
            seen.append(call(a))
        return [t]
    assert framemc.explore(setup, "c11").status is framemc.Status.PASS
    assert set(seen) == {result}
