"""framemc.model: the z3 model of the buddy + MetaSlot frame allocator.

The state (:mod:`.state`) is a bundle of per-frame fields indexed by 64-bit
frame numbers; operations (:mod:`.ops`) are pure ``(cfg, state, *args) ->
Step`` functions (guard + effect); invariants (:mod:`.invariants`) are
per-frame z3 bodies, the one definition used by the proofs, the concrete
checks, reports and docs.  ``model`` never imports ``framemc.impl``: it reads
concrete state only as :class:`framemc.snapshot.AllocatorSnapshot`.

Public API (what other layers call):

* ``INVARIANTS`` -- ordered registry of :class:`Invariant` (``name``,
  ``statement``, ``citation``, ``kind`` STATE/STEP, ``body``).
* ``check_snapshot(snap) -> tuple[InvariantResult, ...]`` -- every STATE
  invariant on one snapshot (PASS / VIOLATION with a witness / INCONCLUSIVE).
* ``check_step(pre, post) -> tuple[InvariantResult, ...]`` -- every STEP
  invariant between two snapshots (one atomic step or one whole operation).
* ``OPERATIONS`` / ``VARIANTS`` -- single-step model operations by name, and
  the deliberately broken ones by variant name (each names the op it replaces).
* ``MACROS`` and ``relates(pre, post, op_name, **args) -> InvariantResult`` --
  does some choice of hidden parameters make the impl-level operation
  (``alloc_frame(cpu, purpose, zeroed)``, ``alloc_segment(cpu, n, zeroed)``, ``alloc(cpu, n)``,
  ``clone(frame)``, ``drop(frame)``, ``from_in_use(frame)``,
  ``mark_poisoned(frame)``, ``add_free_memory(first, n)``, ``dealloc(first, n)``,
  ``init(first, n, early)``, ``cache_refill(cpu)``, ``cache_flush(cpu)``) take
  ``pre`` to ``post``?  ``macros.relates_match`` also names the single-step
  operations of the candidate that matched.
"""

from framemc.model.concrete import CheckVerdict, InvariantResult, check_snapshot, check_step
from framemc.model.invariants import INVARIANTS, INVARIANTS_BY_NAME, Invariant, InvariantKind
from framemc.model.macros import MACROS, relates
from framemc.model.ops import OPERATIONS, VARIANTS, OpSpec, Step, Variant
from framemc.model.state import ModelConfig, State

__all__ = [
    "INVARIANTS", "INVARIANTS_BY_NAME", "Invariant", "InvariantKind", "CheckVerdict", "InvariantResult",
    "check_snapshot", "check_step", "OPERATIONS", "VARIANTS", "OpSpec", "Step", "Variant", "MACROS", "relates",
    "ModelConfig", "State",
]
