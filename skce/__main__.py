"""``python -m skce``: the command line (see ``skce --help``)."""

import sys

from ._cli import main

sys.exit(main())
