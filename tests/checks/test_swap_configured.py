"""swap_configured: present/absent/any from SwapTotal and /proc/swaps, zram counted as swap."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import facts_from

CHECK = builtin_checks()["swap_configured"]
HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
SWAPS_DISK = HEADER + "/dev/dm-1                               partition\t8388604\t\t0\t\t-2\n"
SWAPS_ZRAM = HEADER + "/dev/zram0                              partition\t4194300\t\t0\t\t100\n"


def meminfo(swap_kb: int, free_kb: int | None = None) -> str:
    free = swap_kb if free_kb is None else free_kb
    return (
        "MemTotal:       16318412 kB\nMemFree:         1022132 kB\n"
        f"SwapTotal:      {swap_kb:>8} kB\nSwapFree:       {free:>8} kB\n"
    )


def run(
    files: Mapping[str, str], errors: Mapping[str, str] | None = None, **params: ParamValue
) -> CheckResult:
    return evaluate(CHECK, facts_from(files, errors=errors), {**CHECK.meta.defaults(), **params})


WITH_SWAP = {"/proc/meminfo": meminfo(8388604, 8000000), "/proc/swaps": SWAPS_DISK}
NO_SWAP = {"/proc/meminfo": meminfo(0), "/proc/swaps": HEADER}
ZRAM = {"/proc/meminfo": meminfo(4194300), "/proc/swaps": SWAPS_ZRAM}


@pytest.mark.parametrize(
    ("files", "expect", "outcome"),
    [
        (WITH_SWAP, "present", "pass"),
        (NO_SWAP, "present", "fail"),
        (WITH_SWAP, "absent", "fail"),
        (NO_SWAP, "absent", "pass"),
        (ZRAM, "absent", "fail"),
        (ZRAM, "present", "pass"),
        (WITH_SWAP, "any", "pass"),
        (NO_SWAP, "any", "pass"),
    ],
)
def test_expectations(files: dict[str, str], expect: str, outcome: str) -> None:
    result = run(files, expect=expect)
    assert result.outcome == outcome
    assert result.expected == expect


def test_any_reports_what_there_is() -> None:
    result = run(WITH_SWAP)
    assert result.observed == "8.0 GiB"
    assert "/dev/dm-1 (partition, 8.0 GiB)" in result.message
    assert "379.5 MiB used" in result.message
    area = next(e for e in result.evidence if e.get("filename") == "/dev/dm-1")
    assert area["size_bytes"] == 8388604 * 1024 and area["zram"] is False
    assert run(NO_SWAP).observed == "none"


def test_zram_named_when_swap_must_be_absent() -> None:
    result = run(ZRAM, expect="absent")
    assert "zram is swap too" in result.message
    assert "/dev/zram0 (zram" in result.message


def test_kernel_without_swap_has_no_proc_swaps() -> None:
    result = run({"/proc/meminfo": meminfo(0)}, expect="absent")
    assert result.outcome == "pass"
    assert any("without swap support" in str(e["text"]) for e in result.evidence)


def test_unparseable_swaps_still_judged_from_meminfo() -> None:
    result = run({"/proc/meminfo": meminfo(1024), "/proc/swaps": "garbage\n"}, expect="absent")
    assert result.outcome == "fail"
    assert any("cannot parse /proc/swaps" in str(e["text"]) for e in result.evidence)


def test_disagreement_is_noted() -> None:
    result = run({"/proc/meminfo": meminfo(1024), "/proc/swaps": HEADER})
    assert any("disagree" in str(e["text"]) for e in result.evidence)


def test_meminfo_without_swaptotal_uses_swaps() -> None:
    result = run({"/proc/meminfo": "MemTotal: 1000 kB\n", "/proc/swaps": SWAPS_DISK})
    assert result.observed == "8.0 GiB"


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        ({}, None),
        ({"/proc/swaps": SWAPS_DISK}, {"/proc/meminfo": "permission denied"}),
        ({"/proc/meminfo": "MemTotal: 1000 kB\n"}, None),
    ],
)
def test_error(files: dict[str, str], errors: dict[str, str] | None) -> None:
    assert run(files, errors).outcome == "error"


def test_expect_choices() -> None:
    param = CHECK.meta.params["expect"]
    assert param.default == "any"
    assert param.accepts("absent") and not param.accepts("none")


def test_the_fix_follows_the_finding() -> None:
    wants_some = run(NO_SWAP, expect="present")
    assert wants_some.remediation.startswith("To add swap:")
    assert "swapoff" not in wants_some.remediation
    wants_none = run(ZRAM, expect="absent")
    assert wants_none.remediation.startswith("To remove swap:")
    assert "mkswap" not in wants_none.remediation and "zram" in wants_none.remediation
    # A pass, or a host nobody judged, shows the check's whole text.
    whole = CHECK.meta.remediation
    assert run(WITH_SWAP, expect="present").remediation == whole
    assert "To add swap:" in whole and "To remove swap:" in whole
