"""Proof script for I3, refcount sentinels, transitions and generation: ``python -m framemc.proofs.refcount``."""

import sys

from framemc.proofs.report import main

#: the invariants this script proves, for every operation and Init
SELECTION = ("I3-refcount-sentinels", "I3-refcount-transitions", "I3-generation",)

if __name__ == "__main__":
    sys.exit(main(SELECTION))
