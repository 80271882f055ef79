"""The buddy + MetaSlot design (seeds 000, 001, 002, 004) as a :class:`~framemc.design.Design` record.

Design: this design predates the seam and keeps its specialised parts: the
z3 model in ``framemc.model``, the proof engine in ``framemc.proofs.engine``
(per-order case splits, hypothesis levels, calibrated resource limits), the
conformance driver in ``framemc.conformance`` and the scenarios in
``framemc.scenarios``.  This module only points at them, so every command
reaches the design through the same record as any other design.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from framemc.design import Bug, Design
from framemc.verdicts import Obligation, ObligationResult
from framemc.cli_config import MEMORY_MODELS

__all__ = ["DESIGN"]


class _Prover:
    """The MetaSlot proof engine behind the design's ``Prover`` interface."""

    @property
    def slow_ops(self) -> tuple[str, ...]:
        """Operations whose obligations take seconds each: the suite runs them one task per obligation."""
        from framemc.proofs import engine
        return tuple(getattr(engine, "_SLOW_OPS", ()))

    @property
    def variants(self) -> tuple[str, ...]:
        """The broken model operations ``--variant`` (or ``--bug``) can put in place."""
        from framemc.model import VARIANTS
        return tuple(sorted(VARIANTS))

    def obligations(self, variant: str | None = None) -> list[Obligation]:
        """Every obligation in suite order."""
        from framemc.proofs.engine import obligations
        return obligations(variant=variant)

    def select(self, names: Iterable[str] | None, variant: str | None = None) -> list[Obligation]:
        """The obligations ``names`` picks (by obligation, operation or invariant name)."""
        from framemc.proofs.engine import select
        return select(names, variant=variant)

    def run(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
            rlimit_scale: float = 1.0, deadline: float | None = None, max_order: int | None = None,
            on_result: Callable[[ObligationResult], None] | None = None) -> list[ObligationResult]:
        """Discharge the named obligations at ``max_order`` (default 3)."""
        from framemc.model.state import ModelConfig
        from framemc.proofs.engine import DEFAULT_TIMEOUT_MS, run_obligations
        cfg = ModelConfig() if max_order is None else ModelConfig(max_order)
        return run_obligations(names, variant=variant, timeout_ms=timeout_ms or DEFAULT_TIMEOUT_MS, cfg=cfg,
                               rlimit_scale=rlimit_scale, deadline=deadline, on_result=on_result)


def _scenarios(memory_model: str) -> Mapping[str, Any]:
    from framemc.cli_trace import bundled_registry
    return {n: s for n, s in bundled_registry(memory_model).items() if s.twin not in _THESEUS_KNOBS()}


def _THESEUS_KNOBS() -> frozenset[str]:
    from framemc.impl.variants import BUG_VARIANTS
    return frozenset(n for n, v in BUG_VARIANTS.items() if v.module == "framemc.impl.theseus")


def _build(bugs: frozenset[str]) -> Any:
    from framemc.impl.system import FrameSystem
    return FrameSystem(16, ncpus=2, bugs=bugs)


def _conformance(*, seed: int = 0, steps: int = 150, bugs: Iterable[str] = frozenset(),
                 deadline: float | None = None) -> Any:
    from framemc.conformance import run_conformance
    return run_conformance(seed=seed, steps=steps, bugs=frozenset(bugs), deadline=deadline)


def _bugs() -> dict[str, Bug]:
    from framemc.impl.variants import BUG_VARIANTS
    from framemc.model import INVARIANTS_BY_NAME, VARIANTS
    twins = {s.twin: f"{m}/{s.name}" for m in MEMORY_MODELS for s in _scenarios(m).values()}
    out = {}
    for name, knob in sorted(BUG_VARIANTS.items()):
        if knob.module == "framemc.impl.theseus":
            continue
        model = VARIANTS.get(name)
        breaks = tuple(INVARIANTS_BY_NAME[i] for i in model.breaks) if model else ()
        out[name] = Bug(name, knob.description, knob.source, knob.fix, knob.module,
                        model.replaces if model else None, breaks, twins.get(name))
    return out


def _definition(name: str) -> Any:
    """The function that defines ``name`` in the MetaSlot model: an invariant, a ``relates:OP`` macro, an op."""
    from framemc.model import INVARIANTS_BY_NAME, MACROS, OPERATIONS
    if name in INVARIANTS_BY_NAME:
        return INVARIANTS_BY_NAME[name].body
    op = name.removeprefix("relates:").removesuffix("-refused")
    if name.startswith("relates:") and op in MACROS:
        return MACROS[op]
    if name in OPERATIONS:
        return OPERATIONS[name].fn
    return None


def _invariants() -> tuple[Any, ...]:
    from framemc.model import INVARIANTS
    return INVARIANTS


DESIGN = Design(
    name="metaslot",
    summary="Buddy free lists with per-CPU order-0 caches and a 64-byte MetaSlot per frame (refcount "
            "sentinels, generation, purpose), behind the GlobalFrameAllocator contract.",
    sources=("seed 000 (BuddyFrameAllocator)", "seed 001 (MetaSlot)", "seed 002 (GlobalFrameAllocator)",
             "seed 004 (Asterinas ostd/mm/frame/allocator.rs)"),
    build=_build,
    scenarios=_scenarios,
    prover=_Prover(),
    conformance=_conformance,
    bugs=_bugs(),
    invariants=_invariants(),
    doc="docs/model.md",
    definition=_definition,
)
