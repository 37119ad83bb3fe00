"""``python -m readycheck_cli``: the ``readycheck`` console script without installing it."""

import sys

from readycheck_cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
