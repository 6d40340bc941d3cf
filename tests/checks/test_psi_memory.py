"""psi_memory: some/full avg10 system-wide and per cgroup; why PSI is absent."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["psi_memory"]
PSI = "/proc/pressure/memory"
CG = "/sys/fs/cgroup"
RELEASE = "/proc/sys/kernel/osrelease"


def psi(some: float, full: float) -> str:
    return (
        f"some avg10={some:.2f} avg60=0.00 avg300=0.00 total=10\n"
        f"full avg10={full:.2f} avg60=0.00 avg300=0.00 total=5\n"
    )


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


def test_quiet_host_passes() -> None:
    result = run({PSI: psi(0.5, 0.0), RELEASE: "5.15.0-91-generic\n"})
    assert result.outcome == "pass"
    assert result.observed == "some 0.50%, full 0.00%"
    assert result.evidence[0]["some_avg10"] == 0.5


@pytest.mark.parametrize(
    ("some", "full", "severity"),
    [(12.0, 0.5, "medium"), (5.0, 2.0, "high"), (30.0, 9.0, "high")],
)
def test_system_pressure_fails(some: float, full: float, severity: str) -> None:
    result = run({PSI: psi(some, full)})
    assert result.outcome == "fail"
    assert result.severity == severity
    assert "system" in result.message


def test_thresholds_are_params() -> None:
    assert run({PSI: psi(12.0, 0.5)}, some_max=20.0).outcome == "pass"
    assert run({PSI: psi(5.0, 2.0)}, full_max=5.0).outcome == "pass"
    # At the limit is within it.
    assert run({PSI: psi(10.0, 1.0)}).outcome == "pass"


def test_a_cgroup_under_pressure_fails_while_the_host_is_quiet() -> None:
    files = {
        PSI: psi(0.2, 0.0),
        f"{CG}/memory.pressure": psi(0.2, 0.0),  # the root repeats the system figures
        f"{CG}/system.slice/memory.pressure": psi(3.0, 0.2),
        f"{CG}/system.slice/mysqld.service/memory.pressure": psi(45.0, 6.5),
        f"{CG}/user.slice/memory.pressure": psi(0.0, 0.0),
    }
    result = run(files)
    assert result.outcome == "fail"
    assert result.severity == "high"
    assert result.message.startswith("cgroup /system.slice/mysqld.service full avg10 6.50%")
    cgroups = [e["cgroup"] for e in result.evidence if "cgroup" in e]
    assert cgroups == ["/system.slice/mysqld.service"]
    assert result.observed == "some 0.20%, full 0.00%"


def test_cgroups_sorted_worst_first_and_hybrid_mount() -> None:
    files = {
        PSI: psi(0.0, 0.0),
        f"{CG}/unified/a.slice/memory.pressure": psi(11.0, 0.0),
        f"{CG}/unified/b.slice/memory.pressure": psi(20.0, 3.0),
        f"{CG}/unified/memory.pressure": psi(99.0, 99.0),  # hybrid root: skipped
    }
    result = run(files)
    assert [e.get("cgroup") for e in result.evidence[1:3]] == ["/b.slice", "/a.slice"]
    assert result.severity == "high"


def test_cgroup_with_psi_off_is_noted_not_fatal() -> None:
    files = {PSI: psi(1.0, 0.0), f"{CG}/ok.slice/memory.pressure": psi(1.0, 0.0)}
    errors = {f"{CG}/pod.slice/memory.pressure": "Operation not supported"}
    result = run(files, errors)
    assert result.outcome == "pass"
    assert any("Operation not supported" in str(e["text"]) for e in result.evidence)


def test_unreadable_cgroup_file_is_an_error_not_a_pass() -> None:
    """That cgroup may be the one under pressure (issue 12: partial data is never a pass)."""
    files = {PSI: psi(1.0, 0.0), f"{CG}/ok.slice/memory.pressure": psi(1.0, 0.0)}
    errors = {f"{CG}/pod.slice/memory.pressure": "permission denied"}
    result = run(files, errors)
    assert result.outcome == "error"
    assert f"{CG}/pod.slice/memory.pressure: permission denied" in result.message
    # A finding stands whatever else could not be read.
    result = run({**files, f"{CG}/ok.slice/memory.pressure": psi(40.0, 0.0)}, errors)
    assert result.outcome == "fail"


@pytest.mark.parametrize(
    ("files", "errors", "reason"),
    [
        ({RELEASE: "3.10.0-1160.el7.x86_64\n"}, None, "predates"),
        ({RELEASE: "4.18.0-513.5.1.el8_9.x86_64\n"}, None, "psi=1"),
        ({RELEASE: "4.19.0-25-amd64\n"}, None, "predates"),
        (
            {RELEASE: "5.15.0-91-generic\n", "/proc/cmdline": "BOOT_IMAGE=/vmlinuz ro psi=0\n"},
            None,
            "psi=0",
        ),
        (
            {
                RELEASE: "5.10.0-1\n",
                "/boot/config-5.10.0-1": "CONFIG_PSI=y\nCONFIG_PSI_DEFAULT_DISABLED=y\n",
            },
            None,
            "CONFIG_PSI_DEFAULT_DISABLED",
        ),
        (
            {RELEASE: "6.1.0-1\n", "/boot/config-6.1.0-1": "# CONFIG_PSI is not set\n"},
            None,
            "without CONFIG_PSI",
        ),
        ({RELEASE: "5.4.0-1\n"}, {PSI: "Operation not supported"}, "Operation not supported"),
        ({RELEASE: "6.8.0-1\n"}, None, "no /proc/pressure/memory"),
    ],
)
def test_skip_says_why(files: dict[str, str], errors: dict[str, str] | None, reason: str) -> None:
    result = run(files, errors)
    assert result.outcome == "skip"
    assert reason in result.message


def test_psi_on_rhel8_booted_with_psi_1_is_judged() -> None:
    files = {
        RELEASE: "4.18.0-513.5.1.el8_9.x86_64\n",
        "/proc/cmdline": "ro psi=1\n",
        PSI: psi(15.0, 0.0),
    }
    assert run(files).outcome == "fail"


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        ({}, {PSI: "permission denied"}),
        ({PSI: "some avg10=x\n"}, None),
        ({PSI: ""}, None),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None) -> None:
    assert run(files, errors).outcome == "error"
