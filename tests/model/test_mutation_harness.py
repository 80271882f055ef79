"""The mechanical mutation harness (``benchmarks/mutation.py``, :mod:`framemc.mutation`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from framemc import mutation
from framemc.mutation import OPERATORS, Result, classify, generate, generate_from_source, run_mutant

#: a tiny module with one site for every operator
SYNTHETIC = '''\
import z3
from framemc.sync import Ordering


def guard_of(s, f):
    """Docstrings and error messages are never mutated."""
    guard = z3.And(s.rc[f] == UNUSED, z3.ULT(f, 4), z3.Not(s.busy))
    return Step(guard=guard, post=update(s, rc=store(s.rc, f, BUSY), gen=s.gen))


def impl_step(self, x):
    if x < 0:
        raise ValueError(f"bad {x + 1}")
    total = 0
    total = x + 1
    self.count += total
    if not self.ready and x != 2:
        self.slot.store(x, Ordering.RELEASE)
    return z3.Or(x, total)
'''


def _generated(path: str = "impl/synthetic.py"):
    return generate_from_source(SYNTHETIC, path, area="impl", module="synthetic")


def test_generation_is_deterministic_and_covers_every_operator():
    first, second = _generated(), _generated()
    assert [m.id for m in first] == [m.id for m in second]
    assert [m.source for m in first] == [m.source for m in second]
    assert len({m.id for m in first}) == len(first)
    assert {m.operator for m in first} == set(OPERATORS)
    original = ast.dump(ast.parse(SYNTHETIC))
    for m in first:
        assert m.spliced, m.id                                   # line numbers kept
        assert m.source.count("\n") == SYNTHETIC.count("\n")
        assert ast.dump(ast.parse(m.source)) != original         # a real change
    mutations = {m.mutation for m in first}
    for expected in ("z3.ULT(f, 4)  ->  z3.ULE(f, 4)", "Ordering.RELEASE  ->  Ordering.RELAXED",
                     "z3.Not(s.busy)  ->  s.busy", "store(s.rc, f, BUSY)  ->  s.rc",
                     "z3.Or(x, total)  ->  z3.And(x, total)", "x != 2  ->  x == 2"):
        assert expected in mutations
    # nothing inside the raise (its message) or the docstring is mutated; the first `total = 0` is not dropped
    assert not [m for m in first if m.line == 13]
    assert "total = 0  ->  pass" not in mutations and "total = x + 1  ->  pass" in mutations
    ids = [m.id for m in first]
    assert "impl/synthetic.py::impl_step:+1:drop-check:0" in ids        # the if ...: raise guard
    assert "if x < 0: raise ValueError(f'bad {x + 1}')  ->  pass" in mutations


def test_model_files_get_model_operators_only():
    model = generate_from_source(SYNTHETIC, "model/synthetic.py", area="model-ops", module="synthetic")
    assert "ordering" not in {m.operator for m in model}
    assert "z3.And(s.rc[f] == UNUSED, z3.ULT(f, 4), z3.Not(s.busy))  ->  z3.BoolVal(True)" in \
        {m.mutation for m in model}


def test_planted_bug_knobs_are_not_mutated():
    text = ('def f(self, bugs):\n'
            '    if "some-bug" in bugs:\n'
            '        x = 1\n'
            '    else:\n'
            '        self.x = 2\n'
            '    y = Ordering.RELAXED if "relaxed-claim" in bugs else Ordering.ACQUIRE\n')
    muts = generate_from_source(text, "impl/k.py", area="impl", module="k")
    assert {m.mutation for m in muts} == {"self.x = 2  ->  pass", "2  ->  3", "2  ->  1",
                                          "Ordering.ACQUIRE  ->  Ordering.RELAXED"}


def test_real_files_generate_and_ids_are_unique():
    muts = generate(("model-ops", "model-invariants"))
    assert len({m.id for m in muts}) == len(muts) > 100
    assert all(m.spliced for m in muts)


def _claim_conjunct_drop():
    muts = [m for m in generate(("model-ops",)) if m.function == "_claim" and m.operator == "drop-check"
            and m.replacement == "z3.And(s.nalloc[f] == small(1))"]
    assert muts, "the _claim guard no longer has the `s.rc[f] == UNUSED` conjunct to drop"
    return muts[0]


def _new_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for folder in ("model", "impl", "proofs", "src/framemc", "tests/model")
            for p in (root / folder).rglob("*") if "__pycache__" not in p.parts}


def test_known_bad_mutant_is_killed_and_the_tree_is_untouched():
    mutant = _claim_conjunct_drop()
    target = mutation.ROOT / mutant.path
    files_before = _new_files(mutation.ROOT)
    plan = mutation.detectors_for(mutant)
    # the differential test of the operations that reach _claim comes first, then their proofs
    assert plan[0]["label"] == "oracle" and plan[1]["kind"] == "proofs" and "claim" in plan[1]["selection"]
    result = run_mutant(mutant, plan[:1], timeout=120)
    assert result.status == "killed" and result.kill == "detected", result
    assert result.detector == "oracle" and "test_operation_agrees_with_the_oracle[claim]" in result.detail
    # the harness never writes the working tree: the mutated source is not on disk, no file appeared
    assert target.read_text(encoding="utf-8") != mutant.source
    assert _new_files(mutation.ROOT) == files_before


#: a known-equivalent mutant: a comparison flipped in the branch of _cache_free that only the broken variant
#: cache-ignores-poison takes (it stays refuted)
EQUIVALENT_ID = "model/ops.py::_cache_free:+3:cmp-flip:0"


def test_known_equivalent_mutant_is_reported_equivalent():
    equivalent = mutation.load_equivalent()
    by_id = {m.id: m for m in generate(("model-ops",))}
    if EQUIVALENT_ID not in by_id or by_id[EQUIVALENT_ID].replacement != "s.nalloc[f] != small(1)":
        pytest.skip("model/ops.py changed: the known-equivalent mutant is not generated any more")
    mutant = by_id[EQUIVALENT_ID]
    assert EQUIVALENT_ID in equivalent
    # the proofs and variant refutations only (the model tests take longer than this test may)
    plan = [d for d in mutation.detectors_for(mutant) if d["kind"] in ("proofs", "variants")]
    assert plan[0]["selection"] == ["cache_free"]
    result = run_mutant(mutant, plan, timeout=120)
    assert result.status == "survived", result
    classify([result], equivalent)
    assert result.classification == "equivalent" and result.reason
    # the same survivor without an entry is a gap
    bare = Result(mutant, "survived")
    classify([bare], {})
    assert bare.classification == "gap"


def test_an_impl_mutant_runs_the_conformance_of_every_design_whose_impl_imports_it():
    """The Theseus modules get the Theseus conformance run and scenarios, the buddy the MetaSlot ones, and
    impl/meta.py (whose range check both allocators call) both."""
    designs = mutation.impl_designs()
    assert designs["framemc.impl.theseus_chunks"] == designs["framemc.impl.theseus"] == ("theseus",)
    assert designs["framemc.impl.buddy"] == designs["framemc.impl.boot"] == ("metaslot",)
    assert designs["framemc.impl.meta"] == ("metaslot", "theseus")
    path = "impl/theseus_chunks.py"
    mutant = generate_from_source((mutation.ROOT / path).read_text(encoding="utf-8"), path, area="impl")[0]
    plan = mutation.detectors_for(mutant)
    assert [(d["kind"], d.get("design"), d.get("designs")) for d in plan] == [
        ("conformance", "theseus", None), ("scenarios", None, ["theseus"]), ("pytest", None, None)]
    assert plan[0]["seeds"] == list(mutation.conformance_seeds("theseus"))


def test_the_theseus_conformance_detector_kills_a_theseus_mutant():
    """A transaction whose copy of a chunk list loses its chunks is caught by the Theseus run itself."""
    path = "impl/theseus_chunks.py"
    mutant = next(m for m in generate_from_source((mutation.ROOT / path).read_text(encoding="utf-8"), path,
                                                  area="impl")
                  if m.id.startswith("impl/theseus_chunks.py::ChunkList.copy:") and "_entries" in m.original)
    result = run_mutant(mutant, mutation.detectors_for(mutant)[:1], timeout=120)
    assert result.status == "killed" and result.kill == "detected", result
    assert result.detector == "conformance" and result.detail.startswith("theseus seed 2 violation")


def test_a_mutant_without_a_verdict_in_time_is_undecided_never_killed():
    """The per-mutant time limit is a safety net, not a detector: a mutant that reaches it is undecided, it counts
    against the kill rate, the report lists it, and the run is not a pass."""
    mutant = _claim_conjunct_drop()
    result = run_mutant(mutant, mutation.detectors_for(mutant)[:1], timeout=0.01)
    assert result.status == "undecided" and result.kill == "timeout", result
    killed = Result(mutant, "killed", "detected")
    [row] = mutation.summary([result, killed], [mutant.area])
    assert (row["killed"], row["undecided"], row["kill_rate"]) == (1, 1, 0.5)
    report = "\n".join(mutation.render([result], [mutant.area]))
    assert f"undecided (no verdict within the time limit; not counted as killed):\n  {mutant.id}" in report
