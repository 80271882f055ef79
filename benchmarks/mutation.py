"""Mechanical mutation testing: how many one-node changes of the model and the impl does the suite kill?

Usage: ``python benchmarks/mutation.py [--area model|impl|all] [--sample N --seed S] [--jobs N] [--list]
[--json FILE]``.  Mutants are generated from the AST of ``model/ops.py``, ``model/invariants.py`` and the
allocator modules of ``impl/``; each runs in its own subprocess through the detectors that can see it
(proof obligations, variant refutations, model tests; conformance, bundled scenarios, impl tests), and
the survivors not listed in ``benchmarks/mutation_equivalent.toml`` are reported as gaps.  The logic and
its documentation live in :mod:`framemc.mutation`.  Exit 1 when a gap survives, 3 when a mutant got no verdict
within the time limit (and no gap survives), 2 on a usage error or
when the unmutated code fails a detector.
"""

from __future__ import annotations

import sys

from framemc.mutation import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
