"""Entry point for ``python -m bot``."""

import sys

from bot.cli import main

# Guarded: worker processes started with "spawn" (the trainer page's grouping) import this
# module as ``__mp_main__`` and must not run the CLI again.
if __name__ == "__main__":
    sys.exit(main())
