"""Property: on random small programs optimal DPOR reaches exactly the outcomes of the plain search."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import framemc
from framemc import Atomic, Mutex, spin_loop

#: one operation: (kind, location index, operand, operand); "wait" spins until x[loc] >= operand
OPS = st.tuples(st.sampled_from(["load", "store", "fetch_add", "cas", "locked_add", "swap"]),
                st.integers(0, 1), st.integers(0, 2), st.integers(0, 2))
PROGRAMS = st.lists(st.lists(OPS, min_size=1, max_size=3), min_size=2, max_size=3)


def _scenario(program, outcomes):
    def setup():
        xs = [Atomic(0, name=f"x{i}") for i in range(2)]
        m = Mutex(name="m")
        seen = [[] for _ in program]

        def thread(i, ops):
            def run():
                for kind, loc, a, b in ops:
                    x = xs[loc]
                    if kind == "wait":
                        while x.load() < a:
                            spin_loop()
                    elif kind == "load":
                        seen[i].append(x.load())
                    elif kind == "store":
                        x.store(a)
                    elif kind == "fetch_add":
                        seen[i].append(x.fetch_add(1))
                    elif kind == "swap":
                        seen[i].append(x.swap(b))
                    elif kind == "cas":
                        seen[i].append(x.compare_exchange(a, b))
                    else:
                        with m:
                            seen[i].append(x.fetch_add(a))
            return run

        def final():
            outcomes.append((tuple(x.load() for x in xs), tuple(tuple(s) for s in seen)))
        return [thread(i, ops) for i, ops in enumerate(program)], final
    return setup


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS)
def test_optimal_and_plain_reach_the_same_outcomes(program):
    optimal, plain = [], []
    opt = framemc.explore(_scenario(program, optimal))
    full = framemc.explore(_scenario(program, plain), reduction="none")
    assert opt.status is full.status is framemc.Status.PASS
    assert set(optimal) == set(plain)
    assert opt.executions <= full.executions
    # locks and CAS do not make the DPOR waste executions blocked by sleep sets
    assert opt.stats.sleep_blocked == 0


#: operations of spin-wait programs
SPIN_OPS = st.tuples(st.sampled_from(["wait", "store", "fetch_add", "locked_add", "cas"]),
                     st.integers(0, 1), st.integers(0, 2), st.integers(0, 2))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(SPIN_OPS, min_size=1, max_size=2), min_size=2, max_size=3))
def test_spin_waits_agree_with_the_plain_search(program):
    optimal, plain = [], []
    opt = framemc.explore(_scenario(program, optimal), minimize=False)
    full = framemc.explore(_scenario(program, plain), reduction="none", minimize=False)
    assert (opt.violation and opt.violation.kind) == (full.violation and full.violation.kind)
    if opt.violation is None:
        assert set(optimal) == set(plain)
