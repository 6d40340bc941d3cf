from __future__ import annotations

from pathlib import Path

import pytest

from memcheck.results import RunResult
from tests.report.sample_runs import sample_run

SCHEMAS = Path(__file__).parent / "schemas"


@pytest.fixture
def run() -> RunResult:
    return sample_run()
