"""Proof script for non-vacuity, every operation's guard has a witness: ``python -m framemc.proofs.guards``."""

import sys

from framemc.proofs.report import main

#: the invariants this script proves, for every operation and Init
SELECTION = ("guard-satisfiable",)

if __name__ == "__main__":
    sys.exit(main(SELECTION))
