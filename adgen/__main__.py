"""`python -m adgen` runs the command line tool."""

import sys

from adgen.cli import main

sys.exit(main())
