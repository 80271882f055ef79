"""Proof script for I1, no metadata in the payload: ``python -m framemc.proofs.payload``."""

import sys

from framemc.proofs.report import main

#: the invariants this script proves, for every operation and Init
SELECTION = ("I1-no-metadata-in-payload",)

if __name__ == "__main__":
    sys.exit(main(SELECTION))
