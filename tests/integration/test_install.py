"""The wheel, installed non-editable into a fresh venv, works from any directory."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheels = list((work / "dist").glob("memcheck-*.whl"))
    assert len(wheels) == 1
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "-q", str(wheels[0])],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    return env_dir


def test_wheel_holds_checks_and_profiles(installed: Path) -> None:
    site = next(installed.glob("lib/python*/site-packages"))
    assert (site / "memcheck" / "checks" / "swappiness.py").is_file()
    assert (site / "memcheck" / "profiles" / "database.toml").is_file()
    assert not (site / "checks").exists(), "checks must live inside the memcheck package"


def test_installed_command_audits_a_snapshot_from_another_directory(
    installed: Path, tmp_path: Path
) -> None:
    snapshot = ROOT / "tests" / "hosts" / "stock-ubuntu-22.04"
    proc = subprocess.run(
        [str(installed / "bin" / "memcheck"), "--profile", "database", "--root", str(snapshot)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "swappiness" in proc.stdout
    assert (tmp_path / "reports" / "junit.xml").is_file()
    version = subprocess.run(
        [str(installed / "bin" / "memcheck"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert version.returncode == 0 and "memcheck" in version.stdout
