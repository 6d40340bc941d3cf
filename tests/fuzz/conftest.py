"""Hypothesis profiles for the fuzz tests.

`ci` (the default) is deterministic and bounded, so the suite gives the same answer on every
run; `long` explores far more inputs and is run by hand:

    MEMCHECK_FUZZ=long pytest tests/fuzz
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("MEMCHECK_FUZZ", "ci"))
