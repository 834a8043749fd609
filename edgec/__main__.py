"""``python -m edgec``: the same as the ``edgec`` console script."""

import sys

from edgec.cli import main

sys.exit(main())
