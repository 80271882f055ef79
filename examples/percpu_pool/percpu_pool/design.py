"""The per-CPU pool allocator as a framemc design: impl, scenario, z3 model, conformance driver, planted bug.

This is the one module framemc loads (``[tool.framemc] designs`` in this
folder's pyproject.toml names ``DESIGN``).  It knows the impl and the model
and joins them: the snapshot-to-state mapping, a seeded driver for the
conformance run, the bundled scenario and the planted bug's record.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable

from framemc.design import Bug, Design, Scenario
from framemc.design import conformance as generic
from framemc.design.conformance import Applied, CoverageKind, Op
from framemc.design.frames import FState
from framemc.design.prover import FrameModelProver

from percpu_pool.impl import BATCH, PerCpuPool, Snapshot
from percpu_pool.model import LIST, MODEL, ONE_PLACE, POOL, SHAPE, USED

__all__ = ["DESIGN"]

#: frames and CPUs of the conformance machine
NFRAMES, NCPUS = 8, 2


def to_state(snap: Snapshot) -> FState:
    """The model state a snapshot shows: where each frame is, whose it is, and how many places hold it."""
    where: dict[int, int] = {}
    cpu: dict[int, int] = {}
    copies: dict[int, int] = {}

    def put(f: int, place: int, owner: int = 0) -> None:
        copies[f] = copies.get(f, 0) + 1
        where[f], cpu[f] = place, owner
    for f in snap.pool:
        put(f, POOL)
    for owner, frames in enumerate(snap.lists):
        for f in frames:
            put(f, LIST, owner)
    for f, owner in snap.used:
        put(f, USED, owner)
    return SHAPE.concrete({"where": where, "cpu": cpu, "copies": copies}, {"ncpus": len(snap.lists)})


class Driver:
    """Seeded allocations, frees and flushes on a two-CPU pool of eight frames."""

    #: frames the snapshots describe
    nframes = NFRAMES

    def __init__(self, bugs: frozenset[str]) -> None:
        """A fresh allocator."""
        self.pool = PerCpuPool(NFRAMES, NCPUS, bugs=bugs)

    def snapshot(self) -> Snapshot:
        """The allocator's books."""
        return self.pool.snapshot()

    def state(self, snapshot: Snapshot) -> FState:
        """The model state they show."""
        return to_state(snapshot)

    def universe(self) -> dict[CoverageKind, tuple[str, ...]]:
        """What a run should exercise."""
        return {CoverageKind.API: ("alloc", "free", "flush"), CoverageKind.MODEL: tuple(MODEL.operations),
                CoverageKind.GUARD: ("alloc refused: empty",)}

    def step(self, rng: random.Random, index: int, steps: int) -> Applied:
        """One random call, and the model operations it must be."""
        before = self.pool.snapshot()
        cpu = rng.randrange(NCPUS)
        kind = rng.choice(["alloc", "alloc", "alloc", "free", "flush"])
        if kind == "free" and before.used:
            frame, _ = rng.choice(before.used)
            self.pool.free(cpu, frame)
            return Applied(Op("free", (("cpu", cpu), ("frame", frame))), True, (("free", {"cpu": cpu, "f": frame}),))
        if kind == "flush":
            mine = before.lists[cpu]
            self.pool.flush(cpu)
            return Applied(Op("flush", (("cpu", cpu),)), True,
                           tuple(("flush", {"cpu": cpu, "f": f}) for f in mine))
        frame = self.pool.alloc(cpu)
        if frame is None:
            return Applied(Op("alloc", (("cpu", cpu),)), False, refusal="alloc refused: empty")
        # an empty list refills up to BATCH frames first (which ones the model leaves to z3)
        refilled = min(BATCH, len(before.pool)) if not before.lists[cpu] else 0
        chain = tuple(("refill", {"cpu": cpu}) for _ in range(refilled)) + (("alloc", {"cpu": cpu, "f": frame}),)
        return Applied(Op("alloc", (("cpu", cpu),)), True, chain)


def conformance(*, seed: int = 0, steps: int = 120, bugs: Iterable[str] = frozenset(),
                deadline: float | None = None) -> generic.ConformanceReport:
    """``steps`` seeded calls on the impl, each related by the model."""
    return generic.run(MODEL, Driver(frozenset(bugs)), seed=seed, steps=steps, deadline=deadline)


def _two_cpus_refill(bugs: frozenset[str]) -> Callable[[], Any]:
    """Both CPUs allocate two frames at once from a pool of four: nobody gets a frame twice."""
    def setup() -> Any:
        pool = PerCpuPool(4, 2, bugs=bugs)
        got: list[list[int]] = [[], []]

        def cpu(c: int) -> Callable[[], None]:
            def run() -> None:
                for _ in range(2):
                    frame = pool.alloc(c)
                    if frame is not None:
                        got[c].append(frame)
            return run

        def final() -> None:
            frames = got[0] + got[1]
            assert len(frames) == len(set(frames)), f"a frame was handed out twice: {got}"
        return [cpu(0), cpu(1)], final
    return setup


def _scenarios(memory_model: str) -> dict[str, Scenario]:
    if memory_model != "sc":
        return {}
    scenario = Scenario("two-cpus-refill", "Two CPUs refill from the pool at once: no frame is handed out twice.",
                        "refill-without-lock", _two_cpus_refill)
    return {scenario.name: scenario}


_PROVER = FrameModelProver(MODEL)

DESIGN = Design(
    name="percpu-pool",
    summary="Per-CPU free lists that refill a batch from a global pool under one lock (an example design).",
    sources=("examples/percpu_pool/README.md",),
    build=lambda bugs: PerCpuPool(NFRAMES, NCPUS, bugs=bugs),
    scenarios=_scenarios,
    prover=_PROVER,
    conformance=conformance,
    bugs={"refill-without-lock": Bug(
        "refill-without-lock",
        "A refill reads and shrinks the pool without taking the pool lock, so two CPUs can take the same frames.",
        "the classic unlocked check-then-act on a shared free list", "Take the pool lock around the read and the "
        "write of the pool, so each frame leaves it once.", "percpu_pool.impl", "refill", (ONE_PLACE,),
        "sc/two-cpus-refill")},
    invariants=MODEL.invariants,
    definition=_PROVER.definition,
)
