"""Run the real `memcheck` command as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MEMCHECK = str(Path(sys.executable).with_name("memcheck"))
XSD_DIR = Path(__file__).resolve().parents[1] / "report" / "schemas"


def run_memcheck(
    *args: str,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("PYTEST_ADDOPTS", None)
    full_env.update(env or {})
    return subprocess.run(
        [MEMCHECK, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
