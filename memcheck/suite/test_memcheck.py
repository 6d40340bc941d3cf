"""The single test function memcheck runs: the plugin parametrises it per (host, check)."""

from __future__ import annotations

from memcheck.plugin import Case


def test_check(memcheck_case: Case) -> None:
    memcheck_case.verdict()
