"""``python -m framemc.proofs``: every obligation (Init, guards, each operation against each invariant)."""

import sys

from framemc.proofs.report import main

if __name__ == "__main__":
    sys.exit(main())
