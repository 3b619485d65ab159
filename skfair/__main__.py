"""``python -m skfair`` and the ``skfair`` console script."""

import sys

from skfair._cli import main

if __name__ == "__main__":
    sys.exit(main())
