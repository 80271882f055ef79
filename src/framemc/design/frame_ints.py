"""The integer encoding of frame numbers that the generic prover hands z3.

Design: a model writes frame numbers as 64-bit bit-vectors, and its
proofs only order them (``ULE``/``ULT``), compare them, choose between them
(``If``), step them by a constant (``first - 1``) and look fields up at them
(uninterpreted functions).  Bit-blasting makes z3 rediscover the transitivity
of 64-bit comparators clause by clause, which is what made the chunk
allocator's proofs slow; over integers the same order facts are linear
arithmetic, which z3 decides directly.

:class:`IntEncoding` rewrites every 64-bit bit-vector term ``t`` to an
integer ``|t|`` equal to its unsigned value: a constant or a function result
becomes an integer with the side condition ``0 <= |t| < 2**64``, a numeral its
value, ``bvadd``/``bvsub`` the sum or difference taken modulo ``2**64``, the
unsigned comparisons ``<=``/``<``, and a function over frames the same
function over integers.  Every other term is rebuilt unchanged over the
rewritten children.  The rewrite is exact: a model of either formula gives a
model of the other (read each integer as the bit-vector of its value, or each
bit-vector as its unsigned value), so the two are equisatisfiable and an
``unsat`` answer over integers proves the bit-vector claim.  A term the
rewrite cannot express exactly (multiplication, bit operations, signed
comparisons, extraction, a quantifier) raises :class:`NotEncodable`, and the
caller keeps the bit-vector formula.
"""

from __future__ import annotations

import z3

__all__ = ["WIDTH", "NotEncodable", "IntEncoding"]

#: width of the bit-vectors the encoding rewrites (a frame number's width, :data:`framemc.design.frames.FRAME_BITS`)
WIDTH = 64
_MOD = 2 ** WIDTH

_ORDER = {
    z3.Z3_OP_ULEQ: lambda a, b: a <= b,
    z3.Z3_OP_ULT: lambda a, b: a < b,
    z3.Z3_OP_UGEQ: lambda a, b: a >= b,
    z3.Z3_OP_UGT: lambda a, b: a > b,
}


class NotEncodable(Exception):
    """A term the integer encoding cannot express exactly (the caller keeps the bit-vector formula)."""


def _wide(e: z3.ExprRef) -> bool:
    return z3.is_bv(e) and e.size() == WIDTH


def _sort(s: z3.SortRef) -> z3.SortRef:
    return z3.IntSort() if s.kind() == z3.Z3_BV_SORT and s.size() == WIDTH else s


def _wrap(total: z3.ArithRef) -> z3.ArithRef:
    """``total`` (in ``[-2**64, 2**65)``) brought back into ``[0, 2**64)``."""
    return z3.If(total >= _MOD, total - _MOD, z3.If(total < 0, total + _MOD, total))


class IntEncoding:
    """One formula's rewrite: terms are rewritten once each, and the range conditions collected in order."""

    def __init__(self) -> None:
        """An empty rewrite."""
        #: rewritten terms by the id of the original
        self._done: dict[int, tuple[z3.ExprRef, z3.ExprRef]] = {}
        #: integer stand-ins of the functions and constants over 64-bit values, by the id of the declaration
        self._decls: dict[int, tuple[z3.FuncDeclRef, z3.FuncDeclRef]] = {}
        #: ``0 <= t < 2**64`` for every rewritten 64-bit constant and function result, in rewrite order
        self.ranges: list[z3.BoolRef] = []

    def formulas(self, formulas: list[z3.BoolRef]) -> list[z3.BoolRef]:
        """``formulas`` rewritten, followed by the range conditions their rewrite needs."""
        out = [self(f) for f in formulas]
        return out + self.ranges

    def __call__(self, e: z3.ExprRef) -> z3.ExprRef:
        """The rewrite of ``e`` (an integer for a 64-bit bit-vector term, else a term of ``e``'s sort)."""
        key = e.get_id()
        hit = self._done.get(key)
        if hit is None:
            # the original is kept with its rewrite so that its id cannot be reused while the entry lives
            hit = self._done[key] = (e, self._rewrite(e))
        return hit[1]

    def value(self, m: z3.ModelRef, e: z3.ExprRef) -> str:
        """``e``'s value in ``m`` (a model of the rewritten formula), shown as the bit-vector formula would."""
        v = m.eval(self(e), model_completion=True)
        return str(v.as_long() % _MOD) if _wide(e) and z3.is_int_value(v) else str(v)

    def _rewrite(self, e: z3.ExprRef) -> z3.ExprRef:
        if not z3.is_app(e):
            raise NotEncodable(f"the integer encoding does not rewrite quantifiers or bound variables: {e}")
        if _wide(e) and z3.is_bv_value(e):
            return z3.IntVal(e.as_long())
        kids = [self(c) for c in e.children()]
        d = e.decl()
        op = d.kind()
        if op == z3.Z3_OP_UNINTERPRETED:
            return self._apply(d, kids, e)
        wide_kids = any(_wide(c) for c in e.children())
        if _wide(e):
            if op == z3.Z3_OP_ITE:
                return z3.If(kids[0], kids[1], kids[2])
            if op == z3.Z3_OP_BADD:
                total = kids[0]
                for k in kids[1:]:
                    total = _wrap(total + k)
                return total
            if op == z3.Z3_OP_BSUB and len(kids) == 2:
                return _wrap(kids[0] - kids[1])
            raise NotEncodable(f"the integer encoding does not rewrite {d.name()} on 64-bit values")
        if wide_kids:
            if op in _ORDER:
                return _ORDER[op](kids[0], kids[1])
            if op == z3.Z3_OP_EQ:
                return kids[0] == kids[1]
            if op == z3.Z3_OP_DISTINCT:
                return z3.Distinct(*kids)
            raise NotEncodable(f"the integer encoding does not rewrite {d.name()} of 64-bit values")
        if not kids:
            return e
        return d(*kids)

    def _apply(self, d: z3.FuncDeclRef, kids: list[z3.ExprRef], e: z3.ExprRef) -> z3.ExprRef:
        """A function or constant, over integers where it took or gave 64-bit values."""
        domain = [d.domain(i) for i in range(d.arity())]
        if not _wide(e) and not any(s.kind() == z3.Z3_BV_SORT and s.size() == WIDTH for s in domain):
            return e if not kids else d(*kids)
        entry = self._decls.get(d.get_id())
        if entry is None:
            name = f"{d.name()}!int{len(self._decls)}"
            stand_in = z3.Function(name, *[_sort(s) for s in domain], _sort(d.range()))
            entry = self._decls[d.get_id()] = (d, stand_in)
        t = entry[1](*kids)
        if _wide(e):
            self.ranges.append(z3.And(t >= 0, t < _MOD))
        return t
