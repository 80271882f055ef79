"""The buddy + MetaSlot design (seeds 000, 001, 002, 004) as a :class:`~framemc.design.Design` record.

Design: this design predates the seam and keeps its specialised parts: the
z3 model in ``framemc.model``, the proof engine in ``framemc.proofs.engine``
(per-order case splits, hypothesis levels, calibrated resource limits), the
conformance driver in ``framemc.conformance`` and the scenarios in
``framemc.scenarios``.  This module only points at them, so every command
reaches the design through the same record as any other design.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Mapping

from framemc.design import Bug, Design
from framemc.verdicts import Obligation, ObligationResult
from framemc.config import MEMORY_MODELS

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


    def pose(self, names: Iterable[str] | None, *, variant: str | None = None, timeout_ms: int | None = None,
             rlimit_scale: float = 1.0, max_order: int | None = None) -> list[tuple[str, Any]]:
        """The queries that decided each piece of the named obligations (all when None), with z3's answers."""
        from framemc.model.state import ModelConfig
        from framemc.proofs.engine import DEFAULT_TIMEOUT_MS, pose, select
        cfg = ModelConfig() if max_order is None else ModelConfig(max_order)
        return pose([ob.name for ob in select(names, variant=variant)], variant=variant, cfg=cfg,
                    timeout_ms=timeout_ms or DEFAULT_TIMEOUT_MS, rlimit_scale=rlimit_scale)


def _scenarios(memory_model: str) -> Mapping[str, Any]:
    from framemc.setups import bundled_registry
    return {n: s for n, s in bundled_registry(memory_model).items() if s.twin not in _THESEUS_KNOBS()}


def _THESEUS_KNOBS() -> frozenset[str]:
    from framemc.impl.variants import KNOBS
    return frozenset(n for n, module in KNOBS.items() if module == "framemc.impl.theseus")


def _build(bugs: frozenset[str]) -> Any:
    from framemc.impl.system import FrameSystem
    return FrameSystem(16, ncpus=2, bugs=bugs)


def _conformance(*, seed: int = 0, steps: int = 150, bugs: Iterable[str] = frozenset(),
                 deadline: float | None = None) -> Any:
    from framemc.conformance import run_conformance
    return run_conformance(seed=seed, steps=steps, bugs=frozenset(bugs), deadline=deadline)


def _bug(name: str, description: str, source: str, module: str, fix: str) -> Bug:
    """One planted bug of this design: its text (here, once), the impl module honouring its knob, its broken
    model operation (``framemc.model.VARIANTS``, if it has one) and its twin scenario."""
    from framemc.model import VARIANTS
    model = VARIANTS.get(name)
    return Bug(name, description, source, fix, module, model.replaces if model else None,
               model.breaks if model else (), _twins().get(name))


@functools.cache
def _twins() -> dict[str, str]:
    """The bundled scenario (``model/name``) each bug is the twin of, read once."""
    return {s.twin: f"{m}/{s.name}" for m in MEMORY_MODELS for s in _scenarios(m).values()}


def _bugs() -> dict[str, Bug]:
    """Every planted bug of the MetaSlot design, by name."""
    bugs = (
    _bug('cache-ignores-poison',
         'The per-CPU order-0 cache hands out frames whose guard is POISONED.',
         'seed 001 (block_phys_has_poison_guard; poisoned frames are never handed out)',
         'framemc.impl.buddy',
         'Test block_phys_has_poison_guard before caching or handing out a frame, and retire poisoned frames.'),
    _bug('check-then-decrement',
         'Drop loads the refcount and takes the last-drop path only if it read 1, otherwise decrements in a '
         'separate step, so two concurrent drops can both decrement and leak.',
         'Asterinas issue #671 (refcount check-then-decrement leak)',
         'framemc.impl.frame',
         'Drop does one fetch_sub(1, Release) and takes the last-drop path only when that atomic step returned 1.'),
    _bug('generation-before-cas',
         'The generation is bumped before the claim CAS, even when the CAS fails.',
         'seed 001 (generation incremented only after a successful CAS)',
         'framemc.impl.frame',
         'Bump the generation only after the claim CAS succeeded.'),
    _bug('insert-before-merge',
         'Buddy free inserts the block at its own order and then also inserts the merged block, so the block is on '
         'two free lists.',
         'classic buddy-allocator mistake',
         'framemc.impl.buddy',
         "Merge with the free buddy first and insert only the final merged block, once, on its own order's list."),
    _bug('link-in-payload',
         'The free-list link is also written into the first bytes of the free frame.',
         'seed 001 (links live in FreeListLink, never in the mapped 4 KiB)',
         'framemc.impl.buddy',
         "Keep the free-list link in the frame's metadata (FreeListLink) and never write the 4 KiB payload of a "
         'free frame.'),
    _bug('merge-non-buddy',
         'Free merges a block with an adjacent free block of the same order that is not its buddy, even across '
         'add_free_memory ranges.',
         'classic buddy-allocator mistake',
         'framemc.impl.buddy',
         'Merge a block only with its buddy (address XOR block size) inside the same add_free_memory range.'),
    _bug('no-acquire-fence-on-drop',
         'The last drop omits fence(Acquire) after its Release fetch_sub.',
         'Asterinas Frame::drop (fetch_sub Release, then fence Acquire)',
         'framemc.impl.frame',
         'After the last fetch_sub(Release), issue fence(Acquire) before tearing the frame down.'),
    _bug('non-cas-claim',
         'The claim loads the refcount, checks it is UNUSED, then stores 0 in a separate step instead of one '
         'compare-exchange.',
         'seed 000 step 2 (CAS-claims the frame)',
         'framemc.impl.frame',
         'Claim with one compare_exchange(UNUSED, 0, Acquire, Relaxed), so exactly one CPU can win a free frame.'),
    _bug('publish-before-zero',
         'refcount = 1 is stored before the frame is zeroed, so a reader can see a published page-table frame with '
         'stale bytes.',
         'seed 000 (steps 3 and 5: zero, then publish with Release)',
         'framemc.impl.frame',
         'Zero the frame first and only then store refcount = 1 with Release, so whoever sees the frame published '
         'sees it zeroed.'),
    _bug('relaxed-claim',
         'The claim CAS uses Relaxed instead of Acquire as its success ordering.',
         'Asterinas MetaSlot::get_from_unused (Acquire)',
         'framemc.impl.frame',
         "Use Acquire as the claim CAS's success ordering so the claimer synchronises with the last drop's Release."),
    _bug('relaxed-publish',
         'refcount = 1 is stored with Relaxed instead of Release ordering.',
         'seed 000 step 5 (Release)',
         'framemc.impl.frame',
         'Store refcount = 1 with Release so the zeroing happens-before any Acquire reader that sees the frame.'),
    _bug('relaxed-purpose',
         'The purpose flags are stored with Relaxed instead of Release ordering.',
         'seed 000 step 4 (Release)',
         'framemc.impl.frame',
         'Store the purpose flags with Release after zeroing, so a reader that acquires the purpose sees a zeroed '
         'frame.'),
    _bug('unchecked-overlapping-dealloc',
         'dealloc skips the overlap and double-free check and inserts the range as given.',
         'seed 002 (dealloc must never overlap memory already deallocated or added)',
         'framemc.impl.buddy',
         'Check every dealloc against the free lists and the allocated ranges and refuse an overlap or double free.'),
    _bug('unused-equals-busy',
         "Refcount 0 means both 'unused' and 'being dropped': there is no separate UNUSED sentinel, so the last "
         'drop leaves 0 and a claim CASes 0 -> 0.',
         'seed 001 (REFCOUNT_UNUSED exists to tell free frames from busy ones)',
         'framemc.impl.frame',
         'Keep a distinct REFCOUNT_UNUSED sentinel (u64::MAX): the last drop stores UNUSED and a claim CASes UNUSED '
         '-> 0, so a busy frame (0) can never be claimed.'),
    )
    return {b.name: b for b in bugs}


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
