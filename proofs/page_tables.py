"""Proof script for I4, page-table frames are zeroed: ``python -m framemc.proofs.page_tables``."""

import sys

from framemc.proofs.report import main

#: the invariants this script proves, for every operation and Init
SELECTION = ("I4-page-table-zeroed",)

if __name__ == "__main__":
    sys.exit(main(SELECTION))
