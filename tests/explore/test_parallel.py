"""Exploring in pieces (workers, Dask, checkpoints) gives exactly the one-process result.

The oracle is the one-process search itself, on random programs whose checks fail in some executions:
every piece is paused after one revisit and split whenever a simulated worker is idle, the most
splitting there can be, and the merged counts, outcomes and counterexample (as JSON, byte for byte)
must equal the unsplit search's, also when an execution bound cuts the search part-way.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import framemc
from framemc import Atomic
from framemc.explorer.bounds import Bounds, MemoryModel, Reduction
from framemc.explorer.engine import Explorer
from framemc.explorer.events import SourceLocator
from framemc.explorer.parallel import merge, run_parallel
from framemc.explorer.search import run_search
from framemc.explorer.trace import Counterexample
from framemc.explorer.watch import StateChecker

OPS = st.tuples(st.sampled_from(["load", "store", "fetch_add", "cas", "swap"]), st.integers(0, 1),
                st.integers(0, 2), st.integers(0, 2))
PROGRAMS = st.lists(st.lists(OPS, min_size=2, max_size=4), min_size=2, max_size=3)


def scenario(program, bad):
    """Threads running ``program``; the final check fails when a hash of what was read is ``bad`` (None: never).

    The hash spreads the failing executions over the whole search, so the first one in search order is
    rarely the first one some piece finds.
    """
    def setup():
        xs = [Atomic(0, name=f"x{i}") for i in range(2)]
        seen = []

        def thread(ops):
            def run():
                for kind, loc, a, b in ops:
                    x = xs[loc]
                    if kind == "load":
                        seen.append(x.load())
                    elif kind == "store":
                        x.store(a)
                    elif kind == "fetch_add":
                        seen.append(x.fetch_add(1))
                    elif kind == "swap":
                        seen.append(x.swap(b))
                    else:
                        seen.append(int(x.compare_exchange(a, b)[0]))
            return run

        def final():
            h = xs[0].load() + 3 * xs[1].load() + sum(7 * (i + 1) * v for i, v in enumerate(sorted(seen)))
            assert h % 5 != bad, "the planted check"
        return [thread(ops) for ops in program], final
    return setup


def one_process(setup, model, bounds):
    return run_search(setup, bounds, Reduction.OPTIMAL, StateChecker(), SourceLocator(), model=model,
                      outcomes=True)


def same(seq, par, model, bounds):
    assert (par.executions, par.blocked, par.invalid, par.events, par.cut, par.consistent) == \
        (seq.executions, seq.blocked, seq.invalid, seq.events, seq.cut, seq.consistent)
    assert par.outcomes == seq.outcomes
    if seq.failing is None:
        assert par.failing is None
    else:
        a = Counterexample.from_record(seq.failing, model.value, bounds.max_steps)
        b = Counterexample.from_record(par.failing, model.value, bounds.max_steps)
        assert json.dumps(b.to_json(), sort_keys=True) == json.dumps(a.to_json(), sort_keys=True)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, st.sampled_from([None, 0, 1, 2, 3, 4]), st.sampled_from([MemoryModel.SC, MemoryModel.C11]),
       st.integers(1, 4), st.integers(0, 3))
def test_pieces_merge_to_the_one_process_result(program, bad, model, workers, seed):
    setup = scenario(program, bad)
    bounds = Bounds(None, None, 200, None)
    seq = one_process(setup, model, bounds)
    par, stats, _ = run_parallel(setup, bounds, model, workers=workers, outcomes=True, slices=(0.0, 0.0),
                                 inline=True, count_duplicates=True, shuffle=seed or None)
    same(seq, par, model, bounds)
    assert stats.duplicated == 0


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, st.sampled_from([None, 1, 3]), st.sampled_from([MemoryModel.SC, MemoryModel.C11]),
       st.integers(1, 30), st.integers(0, 3), st.integers(1, 6))
def test_an_execution_bound_cuts_where_one_process_cuts(program, bad, model, limit, seed, pops):
    setup = scenario(program, bad)
    bounds = Bounds(limit, None, 200, None)
    seq = one_process(setup, model, bounds)
    par, _, _ = run_parallel(setup, bounds, model, workers=3, outcomes=True, inline=True, shuffle=seed or None,
                             piece_pops=pops)
    same(seq, par, model, bounds)


def watched(program, bad):
    """``scenario`` whose check is a watched state invariant, checked in every reachable state."""
    def setup():
        xs = [Atomic(0, name=f"x{i}") for i in range(2)]

        def check(snap):
            if bad is not None and (snap[0] + 3 * snap[1]) % 5 == bad:
                yield framemc.CheckFailure("planted", f"x0={snap[0]} x1={snap[1]}", {})
        framemc.watch(lambda: (xs[0].peek(), xs[1].peek()), check)
        return [_thread(xs, ops) for ops in program]
    return setup


def _thread(xs, ops):
    def run():
        for kind, loc, a, b in ops:
            x = xs[loc]
            if kind == "load":
                x.load()
            elif kind == "store":
                x.store(a)
            elif kind == "fetch_add":
                x.fetch_add(1)
            elif kind == "swap":
                x.swap(b)
            else:
                x.compare_exchange(a, b)
    return run


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, st.sampled_from([None, 0, 1, 2, 3, 4]), st.integers(1, 4), st.integers(1, 3))
def test_watched_states_fail_in_the_first_piece_in_search_order(program, bad, seed, pops):
    """The state walk remembers checked steps across pieces; a failing step must not be remembered."""
    setup = watched(program, bad)
    bounds = Bounds(None, None, 200, None)
    seq = one_process(setup, MemoryModel.SC, bounds)
    par, _, _ = run_parallel(setup, bounds, MemoryModel.SC, workers=3, outcomes=True, inline=True, shuffle=seed,
                             piece_pops=pops)
    same(seq, par, MemoryModel.SC, bounds)


def test_splitting_happens_and_covers_every_execution():
    """A search big enough to split: every piece is accounted for, no execution runs twice."""
    setup = scenario([[("fetch_add", 0, 0, 0)] * 2, [("swap", 0, 0, 1), ("load", 1, 0, 0)],
                      [("store", 1, 1, 0), ("cas", 0, 1, 2)]], None)
    bounds = Bounds(None, None, 200, None)
    seq = one_process(setup, MemoryModel.C11, bounds)
    par, stats, _ = run_parallel(setup, bounds, MemoryModel.C11, workers=4, outcomes=True, slices=(0.0, 0.0),
                                 inline=True, count_duplicates=True)
    same(seq, par, MemoryModel.C11, bounds)
    assert stats.splits > 0 and stats.tasks > 10
    assert stats.duplicated == 0 and stats.discarded == 0


def test_merge_is_a_real_oracle_consumer():
    """Mutation check of the merge: dropping one piece's result changes the counts it reports."""
    setup = scenario([[("fetch_add", 0, 0, 0)] * 2, [("swap", 0, 0, 1)], [("store", 0, 1, 0)]], None)
    bounds = Bounds(None, None, 200, None)
    seq = one_process(setup, MemoryModel.SC, bounds)
    results = []
    import framemc.explorer.parallel as par_mod
    real = par_mod.merge

    def spy(rs, *a, **k):
        results.extend(rs)
        return real(rs, *a, **k)
    par_mod.merge = spy
    try:
        run_parallel(setup, bounds, MemoryModel.SC, workers=3, outcomes=True, slices=(0.0, 0.0), inline=True)
    finally:
        par_mod.merge = real
    assert len(results) > 2
    whole, _ = merge(results, bounds, True, 0.0)
    assert whole.executions == seq.executions
    biggest = max(results, key=lambda r: r.executions)
    part, _ = merge([r for r in results if r is not biggest], bounds, True, 0.0)
    assert biggest.executions > 0 and part.executions == seq.executions - biggest.executions


def test_worker_processes_give_the_one_process_result():
    setup = scenario([[("fetch_add", 0, 0, 0)] * 2, [("swap", 0, 0, 1), ("load", 1, 0, 0)],
                      [("store", 1, 1, 0), ("cas", 0, 1, 2)]], 4)
    for model in ("sc", "c11"):
        one = framemc.explore(setup, model)
        two = framemc.explore(setup, model, workers=2)
        assert two.parallel is not None and two.parallel.workers == 2
        assert (two.status, two.executions, two.stats.blocked) == (one.status, one.executions, one.stats.blocked)
        assert (one.violation is None) == (two.violation is None)
        if one.violation is not None:
            assert two.violation.to_text() == one.violation.to_text()


@pytest.mark.parametrize("kwargs, needle", [
    ({"workers": 0}, "workers must be a whole number"),
    ({"workers": "2"}, "workers must be a whole number"),
    ({"checkpoint_every": 0}, "checkpoint_every must be"),
    ({"dask": 5}, "dask must be a scheduler address"),
    ({"workers": 2, "reduction": "none"}, "need the optimal search"),
    ({"workers": 2, "preemption_bound": 1}, "need the optimal search"),
])
def test_bad_parallel_options_are_refused(kwargs, needle):
    with pytest.raises(framemc.UsageError, match=needle):
        framemc.explore(scenario([[("load", 0, 0, 0)]], None), **kwargs)


def test_a_worker_that_found_a_violation_finds_it_again():
    """A worker keeps its state memo across pieces; after a violation the memo must not hold the failing step,
    or the same piece run again (resumed from a checkpoint, or an earlier piece reaching the same state)
    would skip it."""
    import pickle

    from framemc.explorer.parallel import Piece, SearchSpec, explore_piece
    setup = watched([[("fetch_add", 0, 0, 0)] * 2, [("store", 1, 1, 0), ("load", 0, 0, 0)]], 3)
    spec = SearchSpec(setup, Bounds(None, None, 200, None), MemoryModel.SC, False, False, "memo-test")
    blob = pickle.dumps(Piece(None))
    first = pickle.loads(explore_piece(spec, blob, None, None, 1))
    again = pickle.loads(explore_piece(spec, blob, None, None, 1))
    assert first.failing is not None and again.failing is not None
    assert (again.failing_key, again.executions) == (first.failing_key, first.executions)


def test_a_bound_reached_by_the_last_execution_still_cuts_when_revisits_remain():
    """Under c11 this program's last execution is followed by a revisit that turns out inconsistent: one
    process, bounded at exactly its execution count, reports the bound as cutting, and so must the merge."""
    setup = scenario([[("load", 0, 0, 0), ("fetch_add", 0, 0, 0)], [("load", 0, 0, 0), ("store", 0, 0, 0)]], None)
    total = one_process(setup, MemoryModel.C11, Bounds(None, None, 200, None)).executions
    bounds = Bounds(total, None, 200, None)
    seq = one_process(setup, MemoryModel.C11, bounds)
    assert seq.cut is not None
    for pops in (1, 2, 1000):
        par, _, _ = run_parallel(setup, bounds, MemoryModel.C11, outcomes=True, inline=True, piece_pops=pops)
        same(seq, par, MemoryModel.C11, bounds)


class _Undecided:
    """A check result that could not decide (as a z3 ``unknown`` is)."""

    inconclusive = True

    def __init__(self, name):
        self.name, self.message, self.witness = name, "undecided", {}


def undecided_in_some_states(program):
    def setup():
        xs = [Atomic(0, name=f"x{i}") for i in range(2)]

        def check(snap):
            if snap[0] != snap[1]:
                yield _Undecided(f"x0={snap[0]},x1={snap[1]}")
        framemc.watch(lambda: (xs[0].peek(), xs[1].peek()), check)
        return [_thread(xs, ops) for ops in program]
    return setup


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, st.integers(1, 12), st.integers(1, 3), st.sampled_from([1, 4, 1000]))
def test_undecided_checks_are_those_one_process_met(program, limit, seed, pops):
    """Under an execution bound the merge keeps the undecided checks met before the cut, no more."""
    setup = undecided_in_some_states(program)
    for bounds in (Bounds(None, None, 200, None), Bounds(limit, None, 200, None)):
        checker = StateChecker()
        run_search(setup, bounds, Reduction.OPTIMAL, checker, SourceLocator(), model=MemoryModel.SC)
        _, _, merged = run_parallel(setup, bounds, MemoryModel.SC, workers=3, inline=True, shuffle=seed,
                                    piece_pops=pops)
        assert sorted(merged.inconclusive) == sorted(checker.inconclusive)
