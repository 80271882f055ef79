"""The concrete replay of model operations (``framemc.model.replay``) against a brute-force evaluation.

The oracle evaluates the same operation from ``model/ops.py`` (the one definition) but at *every* frame of
the machine, with no memo and no footprint guess: the guard (with its ranged conjuncts) and the
post-state of every field at every frame.  Random walks drive the machine through allowed and forbidden
steps of every operation; each step's verdict and effect must be the oracle's, and a second machine that
never hits the memo must end in the same state.
"""

from __future__ import annotations

import random

import pytest
import z3

from framemc.model.concrete import DEFAULTS
from framemc.model.ops import OPERATIONS, ParamKind
from framemc.model.replay import Machine
from framemc.model.state import (ACTOR_ANY, FRAME_BITS, MODEL_FIELDS, NO_HEAD, SCALAR_FIELDS, Field, ModelConfig, State,
                                 frame)

MAX_ORDER = 2
NFRAMES = 8
#: every frame an operation could touch: the machine plus one top-order block past it
SPAN = NFRAMES + (1 << MAX_ORDER)


def _machine(cfg: ModelConfig) -> Machine:
    defaults = dict(DEFAULTS, gen0=0, handles=0)
    scalars = dict(early_lo=0, early_end=0, early_hi=0, booted=True, actor=ACTOR_ANY, ncpus=cfg.ncpus,
                   pending=0, pending_order=NO_HEAD)
    return Machine(cfg, {}, defaults, scalars)


def _value(term):
    term = z3.simplify(term)
    if z3.is_true(term):
        return True
    if z3.is_false(term):
        return False
    return term.as_long()


def _oracle(m: Machine, op: str, args: dict, guard_only: bool = False):
    """(allowed, every per-frame value after, every scalar after), evaluated at every frame."""
    sorts = dict(MODEL_FIELDS)

    def field_of(name):
        sort = sorts[name]

        def lookup(g):
            f = _value(g)
            v = m.value(name, f)
            return z3.BoolVal(bool(v)) if sort == z3.BoolSort() else z3.BitVecVal(int(v), sort.size())
        return Field(lookup)
    fields = {name: field_of(name) for name in sorts}
    for name, sort in SCALAR_FIELDS:
        v = m.scalars[name]
        fields[name] = z3.BoolVal(bool(v)) if sort == z3.BoolSort() else z3.BitVecVal(int(v), sort.size())
    spec = OPERATIONS[op]
    terms = [z3.BoolVal(bool(args[p])) if kind.sort() == z3.BoolSort() else z3.BitVecVal(int(args[p]),
             kind.sort().size()) for p, kind in spec.params]
    step = spec.fn(m.cfg, State(**fields), *terms)
    ok = _value(step.guard) and all(_value(r.at(frame(g))) for r in step.ranged for g in range(SPAN))
    if not ok or guard_only:
        return ok, None, None
    after = {(name, f): _value(getattr(step.post, name)[frame(f)]) for name in sorts for f in range(SPAN)}
    scal = {name: _value(getattr(step.post, name)) for name, _ in SCALAR_FIELDS}
    return True, after, scal


def _state(m: Machine):
    return ({(name, f): m.value(name, f) for name, _ in MODEL_FIELDS for f in range(SPAN)}, dict(m.scalars))


def _random_args(rng: random.Random, op: str, m: Machine) -> dict:
    out = {}
    for p, kind in OPERATIONS[op].params:
        if kind in (ParamKind.FRAME,):
            # mostly aligned heads of free blocks and the pending block, so that buddy steps are allowed often
            heads = [f for f in range(NFRAMES) if m.value("hord", f) != NO_HEAD] + [m.scalars["pending"]]
            out[p] = rng.choice(heads) if heads and rng.random() < 0.6 else rng.randrange(NFRAMES)
        elif kind is ParamKind.ORDER:
            out[p] = rng.randrange(MAX_ORDER + 1)
        elif kind is ParamKind.CPU:
            out[p] = rng.randrange(3)
        elif kind is ParamKind.PURPOSE:
            out[p] = rng.randrange(4)
        elif kind is ParamKind.FLAG:
            out[p] = rng.random() < 0.5
        elif kind is ParamKind.COUNT:
            out[p] = rng.randrange(4)
        else:
            out[p] = rng.choice([0, 1, 12345])
    return out


@pytest.mark.parametrize("seed", range(6))
def test_every_step_matches_the_brute_force_evaluation(seed):
    cfg = ModelConfig(MAX_ORDER)
    rng = random.Random(seed)
    m, fresh_each_time = _machine(cfg), _machine(cfg)
    # boot: one add_free_memory of the whole machine, as blocks
    ops = [op for op in OPERATIONS if op not in ("stutter",)]
    allowed = {op: 0 for op in ops}
    for f in range(0, NFRAMES, 1 << MAX_ORDER):
        for mm in (m, fresh_each_time):
            assert mm.step("add_block", p=0, h=f, k=MAX_ORDER).allowed
            assert mm.step("merge_stop", h=f).allowed or mm.step("merge", h=f).allowed
    for _ in range(120):
        # mostly an allowed step (the oracle's guard picks one among random candidates), sometimes any step
        candidates = [(op, _random_args(rng, op, m)) for op in ops for _ in range(2)]
        rng.shuffle(candidates)
        ok_ones = [c for c in candidates if _oracle(m, *c, guard_only=True)[0]]
        op, args = rng.choice(ok_ones) if ok_ones and rng.random() < 0.85 else rng.choice(candidates)
        want_ok, want_cells, want_scalars = _oracle(m, op, args)
        got = m.step(op, **args)
        assert got.allowed == want_ok, (op, args)
        if want_ok:
            allowed[op] += 1
            cells, scalars = _state(m)
            assert cells == want_cells, (op, args, {k: (cells[k], want_cells[k]) for k in cells
                                                    if cells[k] != want_cells[k]})
            assert scalars == want_scalars, (op, args)
        # a machine whose memo is cleared before every step agrees
        for memo in (fresh_each_time._memo, fresh_each_time._reads, fresh_each_time._rmemo, fresh_each_time._rreads):
            memo.clear()
        assert fresh_each_time.step(op, **args).allowed == want_ok
        assert _state(fresh_each_time) == _state(m)
    # the walk really exercised the buddy and the frame protocol
    assert sum(allowed.values()) > 60 and sum(1 for n in allowed.values() if n) >= 8


def test_the_memo_answers_repeated_steps():
    m = _machine(ModelConfig(MAX_ORDER))
    assert m.step("add_block", p=0, h=0, k=0).allowed and m.step("merge_stop", h=0).allowed
    assert m.step("buddy_alloc", h=0, k=0).allowed and m.step("claim", f=0).allowed
    assert m.step("publish", f=0, purpose=1, zeroed=False).allowed
    before = m.misses
    for _ in range(50):
        assert m.step("clone", f=0).allowed and m.step("drop", f=0).allowed
    assert m.misses - before == 2 and m.hits >= 98
    assert not m.step("claim", f=0).allowed  # a published frame cannot be claimed again


def test_a_step_remembered_at_one_frame_is_reused_at_another_only_when_the_frame_does_not_matter():
    """A memo entry with the frame left out must not carry over a guard that compares the frame with the
    pending block: taking the pending order-0 block at 2 is allowed, the block at 6 (same values) is not."""
    cfg = ModelConfig(MAX_ORDER)
    shared = ({}, {}, {}, {})

    def machine():
        defaults = dict(DEFAULTS, gen0=0, handles=0)
        cells = {"hord": {2: 0, 6: 0}, "added": {2: True, 6: True}}
        scalars = dict(early_lo=0, early_end=0, early_hi=0, booted=True, actor=ACTOR_ANY, ncpus=cfg.ncpus,
                       pending=2, pending_order=0)
        return Machine(cfg, cells, defaults, scalars, shared=shared)
    assert machine().step("buddy_alloc", h=2, k=0).allowed
    assert not machine().step("buddy_alloc", h=6, k=0).allowed
    # and a step of one frame that does not care is answered at another frame from the memo
    m = machine()
    before = m.misses
    assert m.step("zero", f=2).allowed is False and m.step("zero", f=6).allowed is False
    assert m.misses - before == 1


def test_a_state_that_agrees_on_another_read_set_does_not_reuse_its_verdict():
    """Which cells a step reads can depend on values (a merge reads the buddy its pending order names): a
    memo entry holds only for states that agree on the cells *its* evaluation read.  Regression: an entry
    keyed on the values at the latest read set answered a merge that another read set decides."""
    cfg = ModelConfig(MAX_ORDER)
    shared = ({}, {}, {}, {})

    def at(pending_order, **cells):
        m = _machine(cfg)
        m._reads, m._memo, m._rreads, m._rmemo = shared
        m.scalars.update(pending=0, pending_order=pending_order)
        for name, values in cells.items():
            m.cells[name].update(values)
        return m

    # pending order 0, buddy 1 not free: no merge (reads hord[1])
    assert not at(0, hord={0: 0}).outcome("merge", h=0).allowed
    # pending order 1: buddy 2 (reads hord[2])
    assert not at(1, hord={0: 1}).outcome("merge", h=0).allowed
    # pending order 0 again, buddy 1 free: the values at hord[2] agree with the first state's hord[1]
    m = at(0, hord={0: 0, 1: 0})
    assert _oracle(m, "merge", {"h": 0})[0]
    assert m.outcome("merge", h=0).allowed


@pytest.mark.parametrize("seed", range(3))
def test_machines_sharing_one_memo_agree_with_the_brute_force_evaluation(seed):
    """Independent random walks whose machines share one memo (as validations in one process do)."""
    cfg = ModelConfig(MAX_ORDER)
    rng = random.Random(1000 + seed)
    shared = ({}, {}, {}, {})
    machines = []
    for _ in range(4):
        m = _machine(cfg)
        m._reads, m._memo, m._rreads, m._rmemo = shared
        for f in range(0, NFRAMES, 1 << MAX_ORDER):
            assert m.step("add_block", p=0, h=f, k=MAX_ORDER).allowed
            assert m.step("merge_stop", h=f).allowed or m.step("merge", h=f).allowed
        machines.append(m)
    ops = [op for op in OPERATIONS if op not in ("stutter",)]
    for _ in range(200):
        m = rng.choice(machines)
        candidates = [(op, _random_args(rng, op, m)) for op in ops for _ in range(2)]
        ok_ones = [c for c in candidates if _oracle(m, *c, guard_only=True)[0]]
        op, args = rng.choice(ok_ones) if ok_ones and rng.random() < 0.85 else rng.choice(candidates)
        want_ok, want_cells, _ = _oracle(m, op, args)
        assert m.step(op, **args).allowed == want_ok, (op, args)
        if want_ok:
            assert _state(m)[0] == want_cells, (op, args)


def _applied(term):
    """Names of the uninterpreted functions and constants ``term`` applies."""
    seen, out, todo = set(), set(), [term]
    while todo:
        t = todo.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_app(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(t.decl().name())
        todo.extend(t.children())
    return out


def test_the_payload_digest_is_written_by_operations_and_read_by_none():
    """The replay evaluates a payload write at a stand-in digest (zero page's or not) and stores the real
    one: sound only while no operation reads ``pay`` (its guard, or any other field after it)."""
    from framemc.model.ops import VARIANTS
    from framemc.model.replay import _WRITE_ONLY
    from framemc.model.state import symbolic_state
    cfg = ModelConfig(MAX_ORDER)
    g = z3.BitVec("g", FRAME_BITS)
    for name, spec in list(OPERATIONS.items()) + [(v, VARIANTS[v].spec) for v in VARIANTS]:
        fn = spec.fn
        s = symbolic_state("s")
        step = fn(cfg, s, *[z3.Const(f"a{i}", kind.sort()) for i, (_, kind) in enumerate(spec.params)])
        terms = [step.guard] + [r.pred(g) for r in step.ranged]
        for field_name, _ in MODEL_FIELDS:
            if field_name not in _WRITE_ONLY:
                terms.append(getattr(step.post, field_name)[g])
        for field_name, _ in SCALAR_FIELDS:
            terms.append(getattr(step.post, field_name))
        read = set().union(*(_applied(t) for t in terms))
        for field_name in _WRITE_ONLY:
            assert f"s.{field_name}" not in read, (name, field_name)


def test_every_non_zero_digest_is_one_step_with_its_own_value_stored():
    cfg = ModelConfig(MAX_ORDER)
    m = _machine(cfg)
    for f in range(0, NFRAMES, 1 << MAX_ORDER):
        assert m.step("add_block", p=0, h=f, k=MAX_ORDER).allowed
        assert m.step("merge_stop", h=f).allowed or m.step("merge", h=f).allowed
    assert m.step("buddy_alloc", h=0, k=MAX_ORDER).allowed and m.step("claim", f=0).allowed
    assert m.step("publish", f=0, purpose=1, zeroed=False).allowed
    for d in (0x1234, 0xBEEF, 0x1234 ^ 0xFFFF):
        want = _oracle(m, "holder_write", {"f": 0, "d": d})
        assert m.step("holder_write", f=0, d=d).allowed
        assert _state(m)[0] == want[1]
        assert m.value("pay", 0) == d
    misses = m.misses
    assert m.step("holder_write", f=0, d=0x5555).allowed and m.misses == misses and m.value("pay", 0) == 0x5555


def test_a_store_of_the_value_a_cell_holds_is_still_a_write_in_another_state():
    """A step that stores a value (the payload's zeroed flag) is remembered with that write even when the
    cell already held the value: a state where it did not must get the write."""
    cfg = ModelConfig(MAX_ORDER)
    shared = ({}, {}, {}, {})

    def published(zeroed_payload):
        m = _machine(cfg)
        m._reads, m._memo, m._rreads, m._rmemo = shared
        m.cells["nalloc"][0] = 1
        m.cells["rc"][0] = 1
        m.cells["pz"][0] = zeroed_payload
        return m

    first = published(False)
    assert first.step("holder_write", f=0, d=0x1234).allowed and first.value("pz", 0) is False
    second = published(True)
    want = _oracle(second, "holder_write", {"f": 0, "d": 0x1234})
    assert second.step("holder_write", f=0, d=0x1234).allowed
    assert second.value("pz", 0) is False and _state(second)[0] == want[1]


def test_the_ghost_scalars_are_read_by_no_operation():
    """A partial log's worlds that differ only in a ghost scalar are merged (``framemc.bridge.GHOSTS``); that
    is sound only if no operation reads it."""
    from framemc.bridge import GHOSTS
    from framemc.model.state import symbolic_state
    cfg = ModelConfig(MAX_ORDER)
    g = z3.BitVec("g", FRAME_BITS)
    for name, spec in OPERATIONS.items():
        step = spec.fn(cfg, symbolic_state("s"), *[z3.Const(f"a{i}", kind.sort())
                                                     for i, (_, kind) in enumerate(spec.params)])
        terms = [step.guard] + [r.pred(g) for r in step.ranged]
        terms += [getattr(step.post, f)[g] for f, _ in MODEL_FIELDS]
        terms += [getattr(step.post, f) for f, _ in SCALAR_FIELDS if f not in GHOSTS]
        read = set().union(*(_applied(t) for t in terms))
        assert not {f"s.{ghost}" for ghost in GHOSTS} & read, name
