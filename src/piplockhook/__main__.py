"""``python -m piplockhook``: the same as the ``piplockhook`` command."""

import sys

from piplockhook.cli import main

sys.exit(main())
