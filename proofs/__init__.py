"""framemc.proofs: runnable z3 proofs that every model operation preserves every invariant.

``run_obligations(selection=None, *, variant=None, timeout_ms=..., jobs=1, rlimit_scale=1.0)``
returns one :class:`ObligationResult` (name, PROVED/REFUTED/UNKNOWN, seconds,
counterexample diff, z3 resource units spent) per obligation; each obligation
runs under its calibrated z3 resource limit (:mod:`framemc.proofs.rlimits`),
so verdicts do not depend on the machine's load; :func:`format_table` prints them, and
``python -m framemc.proofs`` (all) or ``python -m framemc.proofs.<script>``
(``payload``, ``ranges``, ``refcount``, ``page_tables``, ``structure``,
``guards``) exit 0 only when everything is PROVED.
"""

from framemc.proofs.engine import (
    DEFAULT_TIMEOUT_MS,
    Obligation,
    ObligationResult,
    UnknownCause,
    Verdict,
    obligations,
    run_obligations,
    variant_names,
)
from framemc.proofs.report import exit_code, format_table, main

__all__ = [
    "DEFAULT_TIMEOUT_MS", "Obligation", "ObligationResult", "UnknownCause", "Verdict", "obligations", "run_obligations",
    "variant_names", "exit_code", "format_table", "main",
]
