"""The integer encoding of frame numbers (framemc.design.frame_ints): equisatisfiable with the bit-vector formula,
wrap-around included, and it refuses what it cannot express exactly."""

from __future__ import annotations

import pytest
import z3

from framemc.design.frame_ints import IntEncoding, NotEncodable

W = 64
TOP = 2 ** W - 1
x, y = z3.BitVecs("x y", W)
f = z3.Function("f", z3.BitVecSort(W), z3.BitVecSort(W))
kind = z3.Function("kind", z3.BitVecSort(W), z3.BitVecSort(2))
small = z3.BitVec("small", 16)


def _check(formulas: list[z3.BoolRef]) -> z3.CheckSatResult:
    solver = z3.Solver()
    solver.add(*formulas)
    return solver.check()


#: (what it shows, formulas, the bit-vector answer)
CASES = [
    ("order is transitive", [z3.ULT(x, y), z3.ULT(y, f(x)), z3.ULE(f(x), x)], z3.unsat),
    ("x - 1 wraps at 0", [x == 0, x - 1 == TOP], z3.sat),
    ("x + 1 wraps at the top", [z3.Not(z3.ULT(x, x + 1))], z3.sat),
    ("x + 1 is the next frame below the top", [x != TOP, z3.Not(z3.ULT(x, x + 1))], z3.unsat),
    ("a sum of three wraps", [x + y + 2 == 0, x == TOP], z3.sat),
    ("function values stay below 2**64", [z3.UGE(f(x), TOP), f(x) != TOP], z3.unsat),
    ("functions are congruent", [x == y, f(x) != f(y)], z3.unsat),
    ("narrow results of frames", [kind(x) == 1, kind(y) == 2, x == y], z3.unsat),
    ("other widths are left alone", [small + 1 == 0, small != 0xFFFF], z3.unsat),
    ("if-then-else of frames", [z3.If(x == 0, y, f(y)) == 5, y == 4, f(4) == 6, x == 0], z3.unsat),
    ("unsigned, not signed", [z3.UGT(x, 2 ** 63), z3.ULT(x, TOP)], z3.sat),
    ("distinct frames", [z3.Distinct(x, y, f(x)), x == f(x)], z3.unsat),
]


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_the_encoding_agrees_with_the_bit_vectors(name):
    _, formulas, expected = next(c for c in CASES if c[0] == name)
    assert _check(formulas) == expected
    assert _check(IntEncoding().formulas(formulas)) == expected


def test_a_model_shows_frame_values_as_unsigned_numbers():
    enc = IntEncoding()
    solver = z3.Solver()
    solver.add(*enc.formulas([x == 0, y == x - 1, f(y) == 7]))
    assert solver.check() == z3.sat
    m = solver.model()
    assert [enc.value(m, t) for t in (x, y, f(y))] == ["0", str(TOP), "7"]


@pytest.mark.parametrize("term", [x * y == 4, z3.Extract(7, 0, x) == 1, (x & y) == 0, x < y,
                                  z3.ZeroExt(48, small) == x, z3.ForAll([y], z3.ULE(x, y))],
                         ids=["multiply", "extract", "bit-and", "signed", "zero-extend", "quantifier"])
def test_what_it_cannot_express_exactly_is_refused(term):
    with pytest.raises(NotEncodable):
        IntEncoding().formulas([term])


# ---------------------------------------------------------------- differential checks

from hypothesis import given, settings, strategies as st  # noqa: E402

_ATOMS = [x, y, f(x), f(y), z3.BitVecVal(0, W), z3.BitVecVal(TOP, W), z3.BitVecVal(2 ** 63, W)]


def _terms(depth: int) -> st.SearchStrategy:
    leaf = st.sampled_from(_ATOMS)
    if depth == 0:
        return leaf
    sub = _terms(depth - 1)
    return st.one_of(leaf,
                     st.tuples(sub, st.integers(-3, 3)).map(lambda p: p[0] + p[1]),
                     st.tuples(sub, sub).map(lambda p: p[0] - p[1]),
                     sub.map(lambda t: f(t)),
                     st.tuples(sub, sub, sub, sub).map(lambda p: z3.If(z3.ULT(p[0], p[1]), p[2], p[3])))


_ATOM_FORMULAS = st.tuples(st.sampled_from(["ult", "ule", "eq", "ne", "ugt"]), _terms(2), _terms(2)).map(
    lambda p: {"ult": z3.ULT, "ule": z3.ULE, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
               "ugt": z3.UGT}[p[0]](p[1], p[2]))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_ATOM_FORMULAS, min_size=1, max_size=4))
def test_random_frame_formulas_get_the_same_answer_both_ways(formulas):
    assert _check(IntEncoding().formulas(formulas)) == _check(formulas)


@pytest.mark.slow
def test_every_theseus_obligation_gets_the_same_verdict_in_bit_vectors():
    """The whole Theseus suite, correct and with each variant, decided again without the integer encoding."""
    from framemc.design import prover
    from framemc.model.theseus import MODEL

    def verdicts(**kw):
        return {r.name: r.verdict for r in prover.run(MODEL, witnesses=MODEL.witnesses(), **kw)}
    runs = [{}] + [{"variant": v, "selection": [MODEL.variants[v].replaces]} for v in sorted(MODEL.variants)]
    with_ints = [verdicts(**kw) for kw in runs]
    mp = pytest.MonkeyPatch()
    mp.setattr(prover, "IntEncoding", _Refusing)
    try:
        bit_vectors = [verdicts(rlimit_scale=4.0, **kw) for kw in runs]
    finally:
        mp.undo()
    assert with_ints == bit_vectors


class _Refusing:
    """An encoding that refuses everything: the prover then sends the bit-vector queries."""

    ranges: list = []

    def __call__(self, e):
        raise NotEncodable("the cross-check asks for bit-vectors")
