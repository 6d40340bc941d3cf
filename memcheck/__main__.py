"""`python -m memcheck` is the `memcheck` command."""

import sys

from memcheck.cli import main

sys.exit(main())
