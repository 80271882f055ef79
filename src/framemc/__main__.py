"""``python -m framemc``: the same as the ``framemc`` command."""

from framemc.cli import main

if __name__ == "__main__":
    main()
