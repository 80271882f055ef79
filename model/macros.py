"""Macro-operations matching the impl's public API, and ``relates``: is a concrete step one of them?

Design: a public operation (``alloc_frame``, ``drop``, ``dealloc`` ...) is a
short sequence of the single-step model operations of :mod:`framemc.model.ops`
with *hidden parameters* (which free block, which cached frame, which CPU's
cache a freed frame went to).  Each macro lists its candidate sequences; the
hidden parameters are fresh z3 constants.  ``relates(pre, post, op, **args)``
asks z3 whether some candidate and some choice of hidden parameters has a
true guard on ``pre`` and produces exactly ``post`` on every
snapshot-visible field.  Cache refill/flush batch sizes are not visible in
the API, so they are read off the snapshots (how many frames entered or left
the caches) and the frames moved stay hidden: the macros are existential
over the impl's cache policy, and over "lowest suitable block".
"""

from __future__ import annotations

import itertools
import types
from typing import Callable, Iterator

import z3

from framemc.errors import UsageError
from framemc.model.concrete import (
    CheckVerdict,
    InvariantResult,
    concrete_state,
    snapshot_values,
    z3_value,
)
from framemc.model.ops import (
    Step,
    buddy_alloc,
    buddy_free,
    cache_alloc,
    cache_flush,
    cache_free,
    cache_refill,
    claim,
    clone,
    drop,
    drop_last,
    from_in_use,
    from_in_use_refused,
    retire_early,
    mark_poisoned,
    publish,
    release,
    retire_poisoned,
    zero,
    add_block,
    merge,
    merge_stop,
    split,
)
from framemc.model.ops import OPERATIONS
from framemc.model.state import FRAME_FIELDS, FrameSort, ModelConfig, SmallSort, State, frame, small, state_ite
from framemc.snapshot import FLAG_POISONED, GUARD_POISONED, PURPOSE_PAGE_TABLE, AllocatorSnapshot

#: z3 resource limit per relates query: deterministic, unlike a timeout (the conformance runs' queries cost
#: under 10_000 units each)
RELATES_RLIMIT = 5_000_000
#: wall-clock safety net per relates query (the resource limit, not this, bounds the work)
RELATES_TIMEOUT_MS = 60_000

_Op = Callable[[State], Step]
#: registry name of each single-step operation function
_OPERATION_NAMES = {spec.fn: name for name, spec in OPERATIONS.items()}


class _Hidden:
    """A source of fresh hidden-parameter constants, remembered so they can be bounded."""

    def __init__(self) -> None:
        """No hidden parameters yet."""
        self.frames: list[z3.BitVecRef] = []
        self.cpus: list[z3.BitVecRef] = []
        self.others: list[z3.ExprRef] = []

    def frame(self) -> z3.BitVecRef:
        """A fresh hidden frame number."""
        self.frames.append(z3.Const(f"hidden.frame{len(self.frames)}", FrameSort))
        return self.frames[-1]

    def cpu(self) -> z3.BitVecRef:
        """A fresh hidden CPU id."""
        self.cpus.append(z3.Const(f"hidden.cpu{len(self.cpus)}", SmallSort))
        return self.cpus[-1]

    def purpose(self) -> z3.BitVecRef:
        """A fresh hidden purpose code."""
        self.others.append(z3.Const(f"hidden.purpose{len(self.others)}", SmallSort))
        return self.others[-1]


def step_name(op: _Op) -> str:
    """The registered single-step model operation a candidate's step calls (``?`` if not exactly one).

    Read off the step function itself (the globals its code names and the
    values its closure holds), so the macros need no bookkeeping of their own.
    """
    names = _step_names(op)
    return names.pop() if len(names) == 1 else "?"


def _step_names(op: _Op, depth: int = 2) -> set[str]:
    """The registered operations ``op`` calls, looking through wrappers such as :func:`_maybe`."""
    found = [globals().get(n) for n in op.__code__.co_names] + [c.cell_contents for c in op.__closure__ or ()]
    names = {_OPERATION_NAMES[f] for f in found if isinstance(f, types.FunctionType) and f in _OPERATION_NAMES}
    if not names and depth:
        for f in found:
            if isinstance(f, types.FunctionType) and f.__module__ == __name__ and f.__closure__ is not None:
                names |= _step_names(f, depth - 1)
    return names


def _run(state: State, ops: list[_Op]) -> Step:
    """The composition of ``ops`` starting from ``state``."""
    step = Step(guard=z3.BoolVal(True), post=state)
    for op in ops:
        step = step.then(op)
    return step


def _maybe(op: _Op, when: Callable[[State], z3.BoolRef] | None = None) -> _Op:
    """``op`` where its guard (and ``when``) holds, else nothing: one conditional step of a loop the impl runs
    under the pool lock (a split chain, a merge cascade)."""
    def step(s: State) -> Step:
        inner = op(s)
        assert not inner.ranged, "only quantifier-free guards can be made conditional"
        cond = inner.guard if when is None else z3.And(inner.guard, when(s))
        step.fired = cond  # type: ignore[attr-defined]  # read by relates_match: did the step happen?
        return Step(guard=z3.BoolVal(True), post=state_ite(cond, inner.post, s), seeds=inner.seeds)
    step.fired = None  # type: ignore[attr-defined]
    return step


def _settle(cfg: ModelConfig) -> list[_Op]:
    """The merge cascade of the pending block: a merge per order while its buddy is free, then the stop."""
    merges: list[_Op] = [_maybe(lambda s: merge(cfg, s, s.pending)) for _ in range(cfg.max_order)]
    return merges + [lambda s: merge_stop(cfg, s, s.pending)]


def _free(cfg: ModelConfig, h: z3.BitVecRef, k: int) -> list[_Op]:
    """buddy free of the block ``(h, k)`` and its merge cascade."""
    return [lambda s: buddy_free(cfg, s, h, small(k))] + _settle(cfg)


def _split_down(cfg: ModelConfig, h: z3.BitVecRef, k: int) -> list[_Op]:
    """The split chain before a take of order ``k`` at ``h``: a split per order while the block is larger."""
    return [_maybe(lambda s: split(cfg, s, h), lambda s: z3.UGT(s.hord[h], small(k)))
            for _ in range(cfg.max_order - k)]


def _take(cfg: ModelConfig, h: z3.BitVecRef, k: int) -> list[_Op]:
    """buddy alloc of ``2**k`` frames at ``h``: the split chain, then the take."""
    return _split_down(cfg, h, k) + [lambda s: buddy_alloc(cfg, s, h, small(k))]


def _add_range(cfg: ModelConfig, first: int, n: int) -> list[_Op]:
    """add_free_memory(first, n): each maximal aligned block added to the pool named ``first``, and settled."""
    ops: list[_Op] = []
    for b, k in greedy_blocks(first, n, cfg.max_order):
        ops.append(lambda s, b=b, k=k: add_block(cfg, s, frame(first), frame(b), small(k)))
        ops += _settle(cfg)
    return ops


def greedy_blocks(first: int, count: int, max_order: int) -> list[tuple[int, int]]:
    """``[first, first + count)`` cut into maximal aligned blocks of order <= max_order, lowest first."""
    blocks = []
    while count > 0:
        order = max_order
        while order > 0 and (first % (1 << order) or (1 << order) > count):
            order -= 1
        blocks.append((first, order))
        first, count = first + (1 << order), count - (1 << order)
    return blocks


def init_pieces(first: int, count: int, early: tuple[int, int]) -> list[tuple[int, int]]:
    """The pieces ``init`` adds for a usable region: the region minus the early range ``[lo, end)``."""
    lo, end = early
    pieces = [(first, min(first + count, lo) - first), (max(first, end), first + count - max(first, end))]
    return [(a, n) for a, n in pieces if n > 0]


def _poisoned(snap: AllocatorSnapshot, f: int) -> bool:
    """Frame ``f`` of ``snap`` carries the POISONED flag or guard bit."""
    return bool(snap.frames[f].flags & FLAG_POISONED or snap.frames[f].guard & GUARD_POISONED)


def _cache_moves(pre: AllocatorSnapshot, post: AllocatorSnapshot) -> tuple[int, int]:
    """How many frames entered and how many left the per-CPU caches between the snapshots."""
    before = {f for stack in pre.cached for f in stack}
    after = {f for stack in post.cached for f in stack}
    return len(after - before), len(before - after)


def _frame_setup(cfg: ModelConfig, f: z3.BitVecRef, purpose: z3.BitVecRef, zeroed: bool, pt: bool) -> list[_Op]:
    """Claim, zero when asked or for a page table, and publish frame ``f``."""
    ops: list[_Op] = [lambda s: claim(cfg, s, f)]
    if zeroed or pt:
        ops.append(lambda s: zero(cfg, s, f))
    ops.append(lambda s: publish(cfg, s, f, purpose, z3.BoolVal(zeroed)))
    return ops


def _refills(cfg: ModelConfig, hidden: _Hidden, cpu: z3.BitVecRef, count: int) -> list[_Op]:
    """``count`` single-frame refills of ``cpu``'s cache, each from a hidden block."""
    ops: list[_Op] = []
    for _ in range(count):
        h = hidden.frame()
        ops += _split_down(cfg, h, 0) + [lambda s, h=h: cache_refill(cfg, s, cpu, h)]
    return ops


def _flushes(cfg: ModelConfig, hidden: _Hidden, cpu: z3.BitVecRef, count: int) -> list[_Op]:
    """``count`` single-frame flushes from ``cpu``'s cache, each of a hidden frame."""
    ops: list[_Op] = []
    for _ in range(count):
        f = hidden.frame()
        ops += [lambda s, f=f: cache_flush(cfg, s, cpu, f)] + _settle(cfg)
    return ops


def _alloc_frame(cfg, hidden, pre, post, *, cpu: int, purpose: int | None,
                 zeroed: bool = True) -> Iterator[list[_Op]]:
    """alloc_frame: optional refills, then a frame from the cache or the pool, then claim/zero/publish."""
    entered, _ = _cache_moves(pre, post)
    c = small(cpu)
    code = hidden.purpose() if purpose is None else small(purpose)
    for refills in sorted({entered, entered + 1}):
        for from_cache in (True, False):
            f = hidden.frame()
            take = [lambda s, f=f: cache_alloc(cfg, s, c, f)] if from_cache else _take(cfg, f, 0)
            yield _refills(cfg, hidden, c, refills) + take + _frame_setup(
                cfg, f, code, zeroed, purpose == PURPOSE_PAGE_TABLE)


def _alloc_segment(cfg, hidden, pre, post, *, cpu: int, n: int, zeroed: bool = True) -> Iterator[list[_Op]]:
    """alloc_segment: a 2**k block from the pool, its tail beyond n frames returned, each frame set up."""
    if n < 1:
        raise UsageError(f"alloc_segment: n must be at least 1, got {n}")
    if n == 1:
        yield from _alloc_frame(cfg, hidden, pre, post, cpu=cpu, purpose=None, zeroed=zeroed)
    order = max(0, (n - 1).bit_length())
    if order > cfg.max_order:
        return
    h, purpose = hidden.frame(), hidden.purpose()
    ops: list[_Op] = _take(cfg, h, order)
    for off, k in greedy_blocks(n, (1 << order) - n, cfg.max_order):
        ops += _free(cfg, h + off, k)
    for i in range(n):
        ops += _frame_setup(cfg, h + i, purpose, zeroed, False)
    yield ops


def _to_cache_or_pool(cfg, hidden, pre, post, f: z3.BitVecRef, poisoned: bool) -> Iterator[list[_Op]]:
    """A torn-down order-0 frame goes back: retired if poisoned, else to the pool or a cache (+ flushes)."""
    if poisoned:
        yield [lambda s: retire_poisoned(cfg, s, f)]
        return
    yield _free(cfg, f, 0)
    _, left = _cache_moves(pre, post)
    for flushes in sorted({left, left + 1}):
        cpu = hidden.cpu()
        yield [lambda s, cpu=cpu: cache_free(cfg, s, cpu, f)] + _flushes(cfg, hidden, cpu, flushes)


#: the frame-protocol steps of FrameAllocOptions, which a raw GlobalFrameAllocator ``alloc`` leaves out
_SETUP_OPS = frozenset({"claim", "zero", "publish"})


def _alloc(cfg, hidden, pre, post, *, cpu: int, n: int) -> Iterator[list[_Op]]:
    """alloc(n) of the GlobalFrameAllocator: the frames alloc_segment takes, handed out raw (still UNUSED)."""
    for ops in _alloc_segment(cfg, hidden, pre, post, cpu=cpu, n=n, zeroed=False):
        yield [op for op in ops if step_name(op) not in _SETUP_OPS]


def _drop(cfg, hidden, pre, post, *, frame_no: int) -> Iterator[list[_Op]]:
    """drop: a non-last handle, or the last one (fetch_sub, teardown, and back to a cache or the pool)."""
    f = frame(frame_no)
    yield [lambda s: drop(cfg, s, f)]
    poisoned = frame_no < pre.nframes and _poisoned(pre, frame_no)
    for back in _to_cache_or_pool(cfg, hidden, pre, post, f, poisoned):
        yield [lambda s: drop_last(cfg, s, f), lambda s: release(cfg, s, f)] + back


def _dealloc(cfg, hidden, pre, post, *, first: int, n: int) -> Iterator[list[_Op]]:
    """dealloc(first, n): poisoned frames retired, the rest freed as maximal aligned blocks."""
    if n < 1:
        raise UsageError(f"dealloc: n must be at least 1, got {n}")
    poisoned = {f for f in range(first, min(first + n, pre.nframes)) if _poisoned(pre, f)}
    if n == 1:
        yield from _to_cache_or_pool(cfg, hidden, pre, post, frame(first), first in poisoned)
        return
    ops: list[_Op] = []
    runs = itertools.groupby(range(first, first + n), key=lambda f: f in poisoned)
    for is_poisoned, run in runs:
        run = list(run)
        if is_poisoned:
            ops += [lambda s, f=f: retire_poisoned(cfg, s, frame(f)) for f in run]
        else:
            for b, k in greedy_blocks(run[0], len(run), cfg.max_order):
                ops += _free(cfg, frame(b), k)
    yield ops


def _single(fn) -> Callable[..., Iterator[list[_Op]]]:
    """A macro that is one model operation on ``frame``."""
    def macro(cfg, hidden, pre, post, *, frame_no: int) -> Iterator[list[_Op]]:
        yield [lambda s: fn(cfg, s, frame(frame_no))]
    macro.__doc__ = f"{fn.__name__}: the one model operation ``{fn.__name__}``."
    return macro


def _from_in_use(cfg, hidden, pre, post, *, frame_no: int) -> Iterator[list[_Op]]:
    """from_in_use: a new handle, or refused (nothing changes)."""
    yield [lambda s: from_in_use(cfg, s, frame(frame_no))]
    yield [lambda s: from_in_use_refused(cfg, s, frame(frame_no))]


def _add(cfg, hidden, pre, post, *, first: int, n: int) -> Iterator[list[_Op]]:
    """add_free_memory(first, n)."""
    yield _add_range(cfg, first, n)


def _init(cfg, hidden, pre, post, *, first: int, n: int, early: tuple[int, int] = (0, 0)) -> Iterator[list[_Op]]:
    """init for one usable region: each piece outside the early range added as its own pool."""
    ops: list[_Op] = [lambda s: retire_early(cfg, s)]
    for a, m in init_pieces(first, n, early):
        ops += _add_range(cfg, a, m)
    yield ops


def _refill(cfg, hidden, pre, post, *, cpu: int) -> Iterator[list[_Op]]:
    """cache_refill(cpu): as many single-frame refills as frames entered the caches."""
    entered, _ = _cache_moves(pre, post)
    yield _refills(cfg, hidden, small(cpu), entered)


def _flush(cfg, hidden, pre, post, *, cpu: int) -> Iterator[list[_Op]]:
    """cache_flush(cpu): as many single-frame flushes as frames left the caches."""
    _, left = _cache_moves(pre, post)
    yield _flushes(cfg, hidden, small(cpu), left)


#: macro-operations by the impl API name; keyword arguments as in the impl (``frame`` is ``frame_no``)
MACROS: dict[str, Callable[..., Iterator[list[_Op]]]] = {
    "alloc_frame": _alloc_frame,
    "alloc_segment": _alloc_segment,
    "alloc": _alloc,
    "clone": _single(clone),
    "drop": _drop,
    "from_in_use": _from_in_use,
    "mark_poisoned": _single(mark_poisoned),
    "add_free_memory": _add,
    "dealloc": _dealloc,
    "init": _init,
    "cache_refill": _refill,
    "cache_flush": _flush,
}


#: fields whose visible value also depends on another field (a cache CPU only counts for a cached frame,
#: a pool only for an added one)
_MASKED_BY = {"ccpu": "ncache", "pool": "added"}
#: the bit width of each per-frame field (None for a Boolean field)
_WIDTHS = {name: None if sort == z3.BoolSort() else sort.size() for name, sort in FRAME_FIELDS}


def _plain(fv, name: str, i: int) -> int | bool:
    """The visible value of field ``name`` of frame ``i`` as ``z3_value`` would encode it."""
    value = fv.get(name, i) if name not in _MASKED_BY or fv.get(_MASKED_BY[name], i) else 0
    width = _WIDTHS[name]
    return bool(value) if width is None else int(value) % (1 << width)


def _visible_equal(step: Step, fv_post, bound: int, start: State | None = None, fv_pre=None) -> list[z3.BoolRef]:
    """The step's post-state equals the snapshot on every visible field of frames ``0 .. bound-1``.

    With the ``start`` state and its values ``fv_pre``, a field the step left
    untouched (the very same field object, and so for its mask) is compared
    as plain values, which is the same condition without building z3 terms.
    """
    post = step.post
    untouched = set() if start is None else {
        name for name, _ in FRAME_FIELDS
        if all(getattr(post, f) is getattr(start, f) for f in (name, _MASKED_BY.get(name, name)))}
    for name in untouched:
        if any(_plain(fv_pre, name, i) != _plain(fv_post, name, i) for i in range(bound)):
            return [z3.BoolVal(False)]
    result = []
    for i in range(bound):
        g = frame(i)
        for name, _ in FRAME_FIELDS:
            if name in untouched:
                continue
            got = getattr(post, name)[g]
            want = z3_value(name, fv_post.get(name, i))
            if name == "ccpu":
                got = z3.If(post.ncache[g] != small(0), got, small(0))
                want = z3_value(name, fv_post.get(name, i) if fv_post.get("ncache", i) else 0)
            if name == "pool":
                got = z3.If(post.added[g], got, frame(0))
                want = z3_value(name, fv_post.get(name, i) if fv_post.get("added", i) else 0)
            result.append(got == want)
    return result


def relates(pre: AllocatorSnapshot, post: AllocatorSnapshot, op_name: str, *,
            timeout_ms: int = RELATES_TIMEOUT_MS, **args) -> InvariantResult:
    """PASS when some choice of hidden parameters makes ``op_name(**args)`` take ``pre`` to ``post``."""
    return relates_match(pre, post, op_name, timeout_ms=timeout_ms, **args)[0]


def relates_match(pre: AllocatorSnapshot, post: AllocatorSnapshot, op_name: str, *,
                  timeout_ms: int = RELATES_TIMEOUT_MS, **args) -> tuple[InvariantResult, tuple[str, ...]]:
    """:func:`relates`, plus the single-step operations of the candidate that matched (empty unless PASS)."""
    if op_name not in MACROS:
        raise UsageError(f"relates: unknown operation {op_name!r}; known: {', '.join(sorted(MACROS))}")
    if "frame" in args:
        args["frame_no"] = args.pop("frame")
    fv_pre, fv_post = snapshot_values(pre), snapshot_values(post)
    if pre.nframes != post.nframes or pre.max_order != post.max_order:
        raise UsageError("relates: snapshots disagree on nframes/max_order")
    cfg = ModelConfig(max_order=pre.max_order, ncpus=max(len(pre.cached), len(post.cached), 1))
    bound = max(fv_pre.bound, fv_post.bound)
    start = concrete_state(fv_pre)
    hidden = _Hidden()
    try:
        candidates = list(MACROS[op_name](cfg, hidden, pre, post, **args))
    except TypeError as exc:
        raise UsageError(f"relates: bad arguments for {op_name}: {exc}") from None
    name = f"relates:{op_name}"
    unknown = False
    for ops in candidates:
        step = _run(start, ops)
        if z3.is_false(z3.simplify(step.guard)):
            continue  # refuted by the concrete pre-state alone
        solver = z3.Solver()
        solver.set("rlimit", RELATES_RLIMIT)
        solver.set("timeout", timeout_ms)
        solver.add(step.guard)
        for r in step.ranged:
            solver.add([r.at(frame(i)) for i in range(bound + 1)] + [r.at(r.first)])
        solver.add([z3.ULT(h, frame(pre.nframes)) for h in hidden.frames])
        solver.add([z3.ULT(c, small(cfg.ncpus)) for c in hidden.cpus])
        solver.add(_visible_equal(step, fv_post, bound, start, fv_pre))
        answer = solver.check()
        if answer == z3.sat:
            model = solver.model()
            # a conditional step of a split chain or merge cascade counts only where it happened
            taken = [op for op in ops if getattr(op, "fired", None) is None
                     or z3.is_true(model.eval(op.fired, model_completion=True))]
            return InvariantResult(name, CheckVerdict.PASS), tuple(step_name(op) for op in taken)
        unknown = unknown or answer == z3.unknown
    if unknown:
        return InvariantResult(name, CheckVerdict.INCONCLUSIVE,
                               detail=f"z3 could not decide some candidate within its resource limit "
                                      f"({RELATES_RLIMIT} units) or the {timeout_ms} ms safety net"), ()
    return InvariantResult(name, CheckVerdict.VIOLATION, witness={"op": op_name, **args},
                           detail=f"no choice of hidden parameters makes {op_name} produce the post-state"), ()
