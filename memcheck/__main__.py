"""`python -m memcheck` is the `memcheck` command."""

from memcheck.cli import run

run()
