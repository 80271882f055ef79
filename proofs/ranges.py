"""Proof script for I2, non-overlapping ranges: ``python -m framemc.proofs.ranges``."""

import sys

from framemc.proofs.report import main

#: the invariants this script proves, for every operation and Init
SELECTION = ("I2-non-overlapping-ranges",)

if __name__ == "__main__":
    sys.exit(main(SELECTION))
