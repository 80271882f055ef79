"""Random concrete states for the oracle tests, and the z3 model's verdicts on them.

Design: :func:`random_world` builds a buddy layout (aligned blocks that are free, allocated in every
refcount state, cached, reserved or retired, grouped into pools) and then perturbs a few cells and
scalars with near-boundary values, so that most states are *not* reachable and each conjunct of an
invariant or a guard is, in some state, the one that decides.  The model side evaluates the registered
z3 predicates and operations (``framemc.model``) at those values: each is built once over a symbolic
state and symbolic arguments at every frame of the universe, all results packed into one bit-vector,
and a state is one substitution and one ``simplify``.  The oracle (:mod:`frame_oracle`) never sees any of
this; this module is the glue between its :class:`~frame_oracle.World` and the model's fields.
"""

from __future__ import annotations

import random
from functools import lru_cache

import z3

from frame_oracle import (
    ANY_ACTOR,
    FRAME_DEFAULTS,
    HOLDER,
    NO_HEAD,
    SCALARS,
    WORD,
    World,
    block_start,
)
from framemc.model.invariants import INVARIANTS_BY_NAME
from framemc.model.ops import OPERATIONS, ParamKind, initial_state
from framemc.model.state import MODEL_FIELDS, SCALAR_FIELDS, ModelConfig, frame, symbolic_state
from framemc.snapshot import REFCOUNT_MAX, REFCOUNT_UNIQUE, REFCOUNT_UNUSED, ZERO_DIGEST


def span(max_order: int, nframes: int) -> int:
    """Frames compared: the universe plus one top-order block (a split of an unaligned block writes past it)."""
    return nframes + (1 << max_order)


# ---- the model side: packed z3 templates, evaluated by substitution ----------------------------------


def _bits(term: z3.ExprRef) -> z3.BitVecRef:
    return z3.If(term, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)) if z3.is_bool(term) else term


def _pack(terms: list[z3.ExprRef]) -> tuple[z3.BitVecRef, list[int]]:
    """``terms`` as one bit-vector (first term in the lowest bits), and each term's width."""
    parts = [_bits(t) for t in terms]
    widths = [p.size() for p in parts]
    return (z3.Concat(parts[::-1]) if len(parts) > 1 else parts[0]), widths


def _unpack(term: z3.ExprRef, widths: list[int]) -> list[int]:
    value = z3.simplify(term)
    if not z3.is_bv_value(value):
        raise AssertionError(f"a concrete model term did not simplify to a value: {value}")
    n, out = value.as_long(), []
    for w in widths:
        out.append(n & ((1 << w) - 1))
        n >>= w
    return out


def _numeral(sort: z3.SortRef, value: int | bool) -> z3.ExprRef:
    return z3.BoolVal(bool(value)) if sort == z3.BoolSort() else z3.BitVecVal(int(value), sort.size())


def _substitution(world: World, prefix: str):
    """The model's symbolic state ``prefix`` defined by ``world``: field functions as lookup tables over
    ``Var(0)``, scalars as numerals."""
    x = z3.Var(0, z3.BitVecSort(64))
    funs = []
    for name, sort in MODEL_FIELDS:
        body = _numeral(sort, FRAME_DEFAULTS[name])
        for f, v in sorted(world.cells.get(name, {}).items(), reverse=True):
            body = z3.If(x == frame(f), _numeral(sort, v), body)
        funs.append((z3.Function(f"{prefix}.{name}", z3.BitVecSort(64), sort), body))
    consts = [(z3.Const(f"{prefix}.{name}", sort), _numeral(sort, world.scalars[name])) for name, sort in SCALAR_FIELDS]
    return funs, consts


def _evaluate(template: z3.ExprRef, worlds: dict[str, World], args: list = ()) -> z3.ExprRef:
    funs, consts = [], list(args)
    for prefix, world in worlds.items():
        f, c = _substitution(world, prefix)
        funs += f
        consts += c
    return z3.substitute(z3.substitute_funs(template, *funs), *consts)


@lru_cache(maxsize=None)
def _invariants_template(names: tuple[str, ...], max_order: int, frames: int) -> tuple[z3.ExprRef, list[int]]:
    cfg = ModelConfig(max_order=max_order)
    pre, post = symbolic_state("pre"), symbolic_state("post")
    terms = []
    for name in names:
        inv = INVARIANTS_BY_NAME[name]
        states = (pre, post) if inv.kind.value == "step" else (pre,)
        terms += [inv.body(cfg, *states, frame(f)) for f in range(frames)]
    return _pack(terms)


def model_invariants(names: tuple[str, ...], pre: World, post: World | None = None, *, frames: int
                     ) -> dict[str, list[bool]]:
    """The model's invariants ``names`` at frames ``0 .. frames-1`` of ``pre`` (state invariants) or of the
    step ``pre -> post`` (step invariants): invariant name -> holds at each frame."""
    template, widths = _invariants_template(names, pre.max_order, frames)
    worlds = {"pre": pre} if post is None else {"pre": pre, "post": post}
    bits = _unpack(_evaluate(template, worlds), widths)
    return {name: [bool(b) for b in bits[i * frames:(i + 1) * frames]] for i, name in enumerate(names)}


@lru_cache(maxsize=None)
def _op_template(op: str, max_order: int, frames: int):
    spec = OPERATIONS[op]
    cfg = ModelConfig(max_order=max_order)
    args = [z3.Const(f"arg.{p}", kind.sort()) for p, kind in spec.params]
    step = spec.fn(cfg, symbolic_state("pre"), *args)
    guard = z3.And(step.guard, *[r.at(frame(g)) for r in step.ranged for g in range(frames)])
    terms = [guard]
    for name, _ in MODEL_FIELDS:
        terms += [getattr(step.post, name)[frame(g)] for g in range(frames)]
    terms += [getattr(step.post, name) for name, _ in SCALAR_FIELDS]
    packed, widths = _pack(terms)
    return packed, widths, args


def model_step(op: str, world: World, args: dict[str, int | bool], frames: int) -> World | None:
    """The model's operation ``op(**args)`` on ``world``: the world after (frames ``0 .. frames-1`` and the
    scalars), or None when its guard is false."""
    packed, widths, consts = _op_template(op, world.max_order, frames)
    pairs = [(c, _numeral(c.sort(), args[c.decl().name()[4:]])) for c in consts]
    values = _unpack(_evaluate(packed, {"pre": world}, pairs), widths)
    if not values[0]:
        return None
    out = World(world.max_order)
    i = 1
    for name, sort in MODEL_FIELDS:
        for g in range(frames):
            out.cells.setdefault(name, {})[g] = bool(values[i]) if sort == z3.BoolSort() else values[i]
            i += 1
    for name, sort in SCALAR_FIELDS:
        out.scalars[name] = bool(values[i]) if sort == z3.BoolSort() else values[i]
        i += 1
    return out


# ---- random worlds -------------------------------------------------------------------------------------

RC_VALUES = (REFCOUNT_UNUSED, REFCOUNT_UNIQUE, 0, 1, 2, 3, REFCOUNT_MAX - 1, REFCOUNT_MAX, REFCOUNT_MAX + 1,
             REFCOUNT_UNIQUE - 1)


def _field_value(rng: random.Random, w: World, name: str, f: int, frames: int) -> int | bool:
    """A near-boundary value of field ``name`` at frame ``f``."""
    m = w.max_order
    if name == "rc":
        return rng.choice(RC_VALUES)
    if name in ("gen", "gen0"):
        g = w["gen", f]
        return rng.choice((0, 1, 2, WORD, g - 1, g, g + 1, rng.getrandbits(64))) & WORD
    if name == "handles":
        rc = w["rc", f]
        return rng.choice((0, 1, 2, rc, rc - 1, rc + 1, WORD)) & WORD
    if name == "purpose":
        return rng.choice((0, 1, 2, 3, 4, 255))
    if name in ("flags", "guard"):
        return rng.choice((0, 1, 2, 3, 0x80, 0xFE, 0xFF))
    if name in ("pz", "added"):
        return rng.random() < 0.5
    if name == "pay":
        return rng.choice((ZERO_DIGEST, ZERO_DIGEST ^ 1, rng.getrandbits(32)))
    if name == "hord":
        return rng.choice((NO_HEAD, NO_HEAD, *range(m + 1), m + 1, 0xFE))
    if name in ("nalloc", "ncache"):
        return rng.choice((0, 0, 1, 1, 2, 0xFF))
    if name == "ccpu":
        return rng.choice((0, 1, 2, 3, w.ncpus - 1, w.ncpus, 0xFE, 0xFF)) & 0xFF
    if name == "pool":
        return rng.choice((f, f, block_start(f, rng.randint(0, m)), rng.randrange(frames), 0, f + 1, f - 1)) & WORD
    raise AssertionError(name)


def _scalar_value(rng: random.Random, w: World, name: str, frames: int) -> int | bool:
    m = w.max_order
    if name in ("early_lo", "early_end", "early_hi"):
        return rng.choice((0, 1, rng.randrange(frames), frames, w.scalars.get(name, 0) + 1))
    if name == "booted":
        return rng.random() < 0.5
    if name == "actor":
        return rng.choice((ANY_ACTOR, HOLDER, 0, 1, 2, 3, w.ncpus, 0xFD))
    if name == "ncpus":
        return rng.choice((1, 2, 3))
    if name == "pending":
        return rng.randrange(frames)
    if name == "pending_order":
        return rng.choice((NO_HEAD, *range(m + 1), m + 1))
    raise AssertionError(name)


def _layout(rng: random.Random, w: World, nframes: int) -> None:
    """Aligned blocks over ``0 .. nframes-1``, each free, allocated, cached, reserved or retired, in pools."""
    m, f, pool = w.max_order, 0, None
    while f < nframes:
        fits = [k for k in range(m + 1) if f % (1 << k) == 0 and f + (1 << k) <= nframes]
        k = rng.choice(fits)
        role = rng.choice(("free", "free", "alloc", "alloc", "alloc", "cached", "reserved", "retired"))
        if role == "cached":
            k = 0
        if role == "reserved":
            pool = None
            f += 1 << k
            continue
        if pool is None or rng.random() < 0.3:
            pool = f
        for g in range(f, f + (1 << k)):
            w.put("added", g, True)
            w.put("pool", g, pool)
            w.put("gen", g, rng.choice((0, 1, 5, WORD)))
            w.put("pz", g, rng.random() < 0.5)
            w.put("pay", g, ZERO_DIGEST if w["pz", g] else rng.getrandbits(32))
        if role == "free":
            w.put("hord", f, k)
        elif role == "cached":
            w.put("ncache", f, 1)
            w.put("ccpu", f, rng.randrange(w.ncpus))
        elif role == "retired":
            for g in range(f, f + (1 << k)):
                w.put(rng.choice(("guard", "flags")), g, 1)
        else:
            for g in range(f, f + (1 << k)):
                w.put("nalloc", g, 1)
                rc = rng.choice((REFCOUNT_UNUSED, REFCOUNT_UNUSED, 0, 1, 2, REFCOUNT_MAX, REFCOUNT_UNIQUE))
                w.put("rc", g, rc)
                if rc != REFCOUNT_UNUSED:
                    w.put("gen0", g, w["gen", g] - 1)
                    w.put("purpose", g, rng.choice((0, 1, 2, 3)))
                w.put("handles", g, rc if 1 <= rc <= REFCOUNT_MAX else 1 if rc == REFCOUNT_UNIQUE else 0)
                if rng.random() < 0.15:
                    # poisoned while allocated: retired once torn down (UNUSED)
                    w.put(rng.choice(("guard", "flags")), g, 1)
                    if rng.random() < 0.5:
                        w.put("rc", g, REFCOUNT_UNUSED)
                        w.put("handles", g, 0)
        f += 1 << k


def random_world(rng: random.Random, max_order: int, nframes: int) -> World:
    """A random world over frames ``0 .. nframes-1``: a buddy layout with a few near-boundary perturbations."""
    frames = span(max_order, nframes)
    w = World(max_order, {}, {"ncpus": rng.choice((1, 2, 2, 3)), "actor": ANY_ACTOR, "booted": True,
                              "pending": 0, "pending_order": NO_HEAD})
    _layout(rng, w, nframes)
    heads = sorted(f for f, k in w.cells.get("hord", {}).items() if k != NO_HEAD)
    if heads and rng.random() < 0.5:
        h = rng.choice(heads)
        w.set("pending", h)
        w.set("pending_order", w["hord", h])
        k = w["hord", h]
        if k < max_order and rng.random() < 0.5:
            # its buddy free at the same order in the same pool: a merge can go on
            mate = h ^ (1 << k)
            if mate < nframes:
                w.put("hord", mate, k)
                for g in range(mate, mate + (1 << k)):
                    w.put("added", g, True)
                    w.put("pool", g, w["pool", h])
                    w.put("nalloc", g, 0)
                    w.put("rc", g, REFCOUNT_UNUSED)
    big = [h for h in heads if 1 <= w["hord", h] <= max_order]
    if big and rng.random() < 0.15:
        # a free block nested in another: a frame covered twice
        h = rng.choice(big)
        w.put("hord", h + rng.choice((0, 1 << (w["hord", h] - 1))), w["hord", h] - 1)
    lo = rng.randrange(frames)
    hi = lo + rng.choice((0, 1, 2, 4))
    w.set("early_lo", lo)
    w.set("early_end", rng.choice((lo, lo, lo + 1, hi)))
    w.set("early_hi", hi)
    w.set("booted", rng.random() < 0.6)
    w.set("actor", rng.choice((ANY_ACTOR, ANY_ACTOR, HOLDER, 0, 1, w.ncpus)))
    if rng.random() < 0.4:
        _odd_cell(rng, w, nframes)
    for _ in range(rng.choice((0, 1, 1, 2, 3, 5))):
        if rng.random() < 0.15:
            name = rng.choice(SCALARS)
            w.set(name, _scalar_value(rng, w, name, frames))
        else:
            # half the time a frame that is somewhere (free head, cached, allocated), where most conjuncts bite
            busy = sorted(g for g in range(nframes) if w["hord", g] != NO_HEAD or w["ncache", g] or w["nalloc", g])
            f = rng.choice(busy) if busy and rng.random() < 0.5 else rng.randrange(nframes) \
                if rng.random() < 0.9 else rng.randrange(frames)
            name = rng.choice(list(FRAME_DEFAULTS))
            w.put(name, f, _field_value(rng, w, name, f, frames))
    return w


def _odd_cell(rng: random.Random, w: World, nframes: int) -> None:
    """One cell that breaks a rarely broken conjunct on its own (a double cache entry, a stray head order,
    a free frame in another pool, a cache of a CPU that does not exist)."""
    cached = [g for g in range(nframes) if w["ncache", g]]
    free = [g for g in range(nframes) if any(w["hord", block_start(g, k)] == k for k in range(w.max_order + 1))]
    choice = rng.randrange(4)
    if choice == 0 and cached:
        w.put("ncache", rng.choice(cached), rng.choice((2, 0xFF)))
    elif choice == 1:
        w.put("hord", rng.randrange(nframes), rng.choice((w.max_order + 1, 0xFE)))
    elif choice == 2 and free:
        g = rng.choice(free)
        w.put("pool", g, w["pool", g] + rng.choice((1, -1)))
    elif choice == 3 and cached:
        w.put("ccpu", rng.choice(cached), rng.choice((w.ncpus, 0xFF)))


def perturbed(rng: random.Random, w: World, nframes: int, changes: int) -> World:
    """``w`` with ``changes`` random cells or scalars changed (a step invariant's arbitrary post-state)."""
    frames = span(w.max_order, nframes)
    out = w.copy()
    cached = [g for g in range(nframes) if w["ncache", g]]
    if cached and rng.random() < 0.2:
        # a frame leaves a cache, or changes cache, on some CPU's step
        g = rng.choice(cached)
        out.put(*rng.choice((("ncache", g, 0), ("ccpu", g, w["ccpu", g] + 1))))
        out.set("actor", rng.choice((0, 1, 2, ANY_ACTOR)))
    if rng.random() < 0.1:
        # a frame published (or not), as a page table (or not), zeroed (or not)
        g = rng.randrange(nframes)
        out.put("rc", g, rng.choice((1, REFCOUNT_UNIQUE, 0)))
        out.put("purpose", g, rng.choice((2, 2, 1)))
        out.put("pz", g, rng.random() < 0.3)
    for _ in range(changes):
        if rng.random() < 0.1:
            name = rng.choice(("actor", "actor", "pending", "pending_order"))
            out.set(name, _scalar_value(rng, out, name, frames))
        else:
            name = rng.choice(("rc", "rc", "gen", "pz", "pay", "purpose", "hord", "nalloc", "ncache", "ccpu"))
            f = rng.randrange(nframes)
            out.put(name, f, _field_value(rng, out, name, f, frames))
    return out


def random_args(rng: random.Random, op: str, w: World, nframes: int) -> dict[str, int | bool]:
    """Arguments for ``op`` on ``w``, biased towards the frames, orders and CPUs its guard looks for."""
    m = w.max_order
    heads = sorted(f for f, k in w.cells.get("hord", {}).items() if k != NO_HEAD and f < nframes)
    out: dict[str, int | bool] = {}
    for p, kind in OPERATIONS[op].params:
        if kind is ParamKind.FRAME:
            choices = [rng.randrange(nframes), block_start(rng.randrange(nframes), rng.randint(0, m))]
            if heads:
                choices.append(rng.choice(heads))
            if w.pending < nframes:
                choices.append(w.pending)
            if p == "p" and "h" in out:
                h = out["h"]
                choices = [h, h, w["pool", rng.randrange(h)] if h else 0, rng.randrange(h + 1), h + 1]
            out[p] = rng.choice(choices)
        elif kind is ParamKind.ORDER:
            h = out.get("h", 0)
            k = w["hord", h]
            low = (h & -h).bit_length() - 1 if h else m
            out[p] = rng.choice((k if k <= m else 0, k if k <= m else m, rng.randint(0, min(low, m)),
                                 rng.randint(0, m + 1), 0xFF))
        elif kind is ParamKind.CPU:
            out[p] = rng.choice((0, 0, 1, 2, w.ncpus - 1, w.ncpus, 0xFF))
        elif kind is ParamKind.PURPOSE:
            out[p] = rng.choice((0, 1, 2, 2, 3, 4, 0xFF))
        elif kind is ParamKind.FLAG:
            out[p] = rng.random() < 0.5
        elif kind is ParamKind.DIGEST:
            out[p] = rng.choice((ZERO_DIGEST, ZERO_DIGEST ^ 1, rng.getrandbits(32)))
        elif kind is ParamKind.COUNT:
            room = (w.early_hi - w.early_end) & WORD
            out[p] = rng.choice((0, 1, 2, room, room + 1, WORD))
        else:
            raise AssertionError(kind)
    # a cached frame's own CPU, now and then
    if "cpu" in out and "f" in out and rng.random() < 0.5:
        out["cpu"] = w["ccpu", out["f"]]
    return out


def cells_equal(a: World, b: World, frames: int) -> list[str]:
    """Where ``a`` and ``b`` differ (frames ``0 .. frames-1`` and the scalars), as ``field[frame]: a != b``."""
    out = [f"{name}[{g}]: {a[name, g]} != {b[name, g]}" for name in FRAME_DEFAULTS for g in range(frames)
           if a[name, g] != b[name, g]]
    out += [f"{name}: {a.scalars[name]} != {b.scalars[name]}" for name in SCALARS if a.scalars[name] != b.scalars[name]]
    return out


def describe(w: World) -> str:
    """A world as text, for a failure message: only the cells that differ from the defaults."""
    cells = {name: {f: v for f, v in sorted(c.items()) if v != FRAME_DEFAULTS[name]} for name, c in w.cells.items()}
    return f"World(max_order={w.max_order}, cells={ {n: c for n, c in cells.items() if c} }, scalars={w.scalars})"




def _near(rng: random.Random, w: World, op, args: dict[str, int | bool], nframes: int) -> World:
    """``w`` with one cell or scalar that the oracle's ``op`` read changed to a near-boundary value (or to an
    argument's value): a guard that held is then often false by exactly one conjunct."""
    frames = span(w.max_order, nframes)
    probe = w.copy()
    probe.reads = set()
    op(probe, *args.values())
    if not probe.reads:
        return w
    name, g = rng.choice(sorted(probe.reads, key=lambda r: (r[0], -1 if r[1] is None else r[1])))
    out = w.copy()
    hint = [v for v in args.values() if not isinstance(v, bool)]
    if g is None:
        value = _scalar_value(rng, out, name, frames)
        out.set(name, rng.choice((value, *hint, *(v + 1 for v in hint))))
    else:
        value = _field_value(rng, out, name, g, frames)
        out.put(name, g, rng.choice((value, value, *hint)) if name not in ("pz", "added") else value)
    return out


def random_case(rng: random.Random, op: str, max_order: int, nframes: int, oracle_ops) -> tuple[World, dict]:
    """A world and arguments for ``op``: mostly arguments its guard allows (found by trying a few against
    ``oracle_ops``, the oracle's operations), half of those with one cell changed nearby, and the rest
    arguments it refuses."""
    want = rng.random() < 0.7
    for _ in range(6):
        w = random_world(rng, max_order, nframes)
        tries = [random_args(rng, op, w, nframes) for _ in range(12)]
        fit = [a for a in tries if (oracle_ops[op](w, *a.values()) is not None) == want]
        if fit:
            break
    args = rng.choice(fit) if fit else tries[0]
    return (_near(rng, w, oracle_ops[op], args, nframes) if want and fit and rng.random() < 0.6 else w), args


@lru_cache(maxsize=None)
def _initial_template(max_order: int, frames: int) -> z3.BoolRef:
    # the initial state's unconstrained fields are those of a symbolic state named "pre", which the world
    # defines: the template holds exactly when the world's values are the initial state's
    s, condition = initial_state(ModelConfig(max_order=max_order), "pre")
    world = symbolic_state("pre")
    same = [getattr(s, name)[frame(g)] == getattr(world, name)[frame(g)] for name, _ in MODEL_FIELDS
            for g in range(frames)]
    same += [getattr(s, name) == getattr(world, name) for name, _ in SCALAR_FIELDS]
    return z3.And(condition, *same)


def model_initial(world: World, frames: int) -> bool:
    """The model's ``initial_state``: whether ``world`` is an initial state (over frames ``0 .. frames-1``)."""
    value = z3.simplify(_evaluate(_initial_template(world.max_order, frames), {"pre": world}))
    if not (z3.is_true(value) or z3.is_false(value)):
        raise AssertionError(f"the initial condition did not simplify to a truth value: {value}")
    return z3.is_true(value)


def initial_world(rng: random.Random, max_order: int, nframes: int, index: int) -> World:
    """A boot-time world (arbitrary payloads, generations, purposes); unless ``index`` is a multiple of 3, with
    one cell or scalar the initial condition constrains changed (each in turn, as ``index`` counts up)."""
    frames = span(max_order, nframes)
    lo = rng.choice((0, 1, rng.randrange(frames)))
    w = World(max_order, {}, {"early_lo": lo, "early_end": lo, "early_hi": lo + rng.choice((0, 1, 4)),
                              "booted": False, "actor": rng.choice((ANY_ACTOR, 0, HOLDER)),
                              "ncpus": rng.choice((1, 2, 3, 0xFE)), "pending": 0, "pending_order": NO_HEAD})
    for g in range(nframes):
        for name in ("gen", "gen0", "purpose", "pz", "pay", "ccpu", "pool"):
            if rng.random() < 0.3:
                w.put(name, g, _field_value(rng, w, name, g, frames))
    if index % 3:
        # one cell or scalar the initial condition constrains, at or next to its boundary
        lo = w.early_lo
        scalars = {"booted": (True,), "early_end": (lo + 1, lo - 1), "early_hi": (lo - 1,), "ncpus": (0, 0xFF, 0xFE, 1),
                   "pending": (1, frames - 1), "pending_order": (0, max_order, 0xFE)}
        fields = ("rc", "handles", "hord", "nalloc", "ncache", "added", "guard", "flags")
        names = sorted(scalars) + list(fields)
        name = names[index // 3 % len(names)]
        if name in scalars:
            w.set(name, scalars[name][index // (3 * len(names)) % len(scalars[name])] & WORD)
        else:
            g = rng.randrange(frames)
            w.put(name, g, _field_value(rng, w, name, g, frames))
    return w
