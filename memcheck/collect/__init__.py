"""Collect: the only code that talks to hosts (one sh script per host, through testinfra)."""

from __future__ import annotations

from memcheck.collect.errors import CollectError
from memcheck.collect.run import collect_host, collect_many
from memcheck.collect.script import BASE_READS, build_script, parse_output

__all__ = [
    "BASE_READS",
    "CollectError",
    "build_script",
    "collect_host",
    "collect_many",
    "parse_output",
]
