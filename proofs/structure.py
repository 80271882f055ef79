"""Proof script for the structural invariants: ``python -m framemc.proofs.structure``."""

import sys

from framemc.proofs.report import main

#: the invariants this script proves, for every operation and Init
SELECTION = (
    "S-conservation",
    "S-buddy-aligned",
    "S-buddies-merged",
    "S-blocks-within-pool",
    "S-pool-ids",
    "S-poisoned-never-free",
    "S-early-frames-reserved",
)

if __name__ == "__main__":
    sys.exit(main(SELECTION))
