"""Waiver files: validation errors name the entry; waived findings stay visible."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from memcheck.errors import ConfigError
from memcheck.results import CheckResult, HostResult, RunResult
from memcheck.waivers import apply_waivers, load_waivers

TODAY = date(2026, 11, 20)

GOOD = """
[[waiver]]
check = "thp_*"
hosts = "stg-*"
reason = "THP change scheduled with the kernel upgrade, CHG-1234"
approved_by = "dba-lead@example.org"
expires = 2027-01-31

[[waiver]]
check = "swappiness"
reason = "vendor appliance, cannot change"
approved_by = "ops"
expires = "2026-01-01"

[[waiver]]
check = "numa_*"
reason = "never matches anything here"
approved_by = "ops"
expires = 2030-01-01
"""


def result(check: str, outcome: str = "fail") -> CheckResult:
    return CheckResult(
        check=check, title=check, area="sysctl", outcome=outcome, severity="high", message="m"
    )


def make_run() -> RunResult:
    run = RunResult("0.1.0", "s", "f", ["database"], "low")
    run.hosts = [
        HostResult(
            "stg-db-1",
            "ssh://stg-db-1",
            results=[result("thp_enabled"), result("thp_defrag", "pass"), result("swappiness")],
        ),
        HostResult("prod-db-1", "ssh://prod-db-1", results=[result("thp_enabled")]),
    ]
    return run


def test_matching_failures_are_waived_with_their_justification(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(GOOD)
    run = make_run()
    apply_waivers(run, load_waivers(path), today=TODAY)
    stg, prod = run.hosts
    thp = stg.results[0]
    assert thp.outcome == "waived"
    assert thp.waiver is not None and thp.waiver["approved_by"] == "dba-lead@example.org"
    assert thp.waiver["expires"] == "2027-01-31" and "CHG-1234" in str(thp.waiver["reason"])
    assert stg.results[1].outcome == "pass"  # a pass is never turned into waived
    assert prod.results[0].outcome == "fail"  # the host glob does not match prod
    # The expired waiver is ignored but named on the failure it would have covered.
    assert stg.results[2].outcome == "fail"
    assert stg.results[2].waiver is not None and stg.results[2].waiver["status"] == "expired"
    assert [w["check"] for w in run.waivers_expired] == ["swappiness"]
    assert [w["check"] for w in run.waivers_unused] == ["numa_*"]
    assert run.exit_code == 1


def test_all_failures_waived_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        '[[waiver]]\ncheck = "*"\nreason = "lab"\napproved_by = "me"\nexpires = 2099-01-01\n'
    )
    run = make_run()
    apply_waivers(run, load_waivers(path), today=TODAY)
    assert {r.outcome for _, r in run.all_results()} == {"waived", "pass"}
    assert run.exit_code == 0


def test_yaml_waivers(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("- check: swappiness\n  reason: r\n  approved_by: a\n  expires: 2099-12-31\n")
    (waiver,) = load_waivers(path)
    assert waiver.check == "swappiness" and waiver.hosts == "*"
    assert waiver.expires == date(2099, 12, 31)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[waiver]]\ncheck = "x"\napproved_by = "a"\nexpires = 2099-01-01\n', "waiver[0].reason"),
        ('[[waiver]]\ncheck = "x"\nreason = "r"\napproved_by = "a"\n', "waiver[0].expires"),
        ('[[waiver]]\ncheck = "x"\nreason = "r"\nexpires = 2099-01-01\n', "waiver[0].approved_by"),
        (
            '[[waiver]]\ncheck = "x"\nreason = "r"\napproved_by = "a"\nexpires = "soon"\n',
            "waiver[0].expires",
        ),
        (
            '[[waiver]]\ncheck = "x"\nreason = "r"\napproved_by = "a"\nexpires = 2099-01-01\n'
            'colour = "red"\n',
            "waiver[0].colour",
        ),
        (
            '[[waiver]]\ncheck = 3\nreason = "r"\napproved_by = "a"\nexpires = 2099-01-01\n',
            "waiver[0].check",
        ),
        (
            '[[waiver]]\ncheck = "x"\nreason = " \t"\napproved_by = "a"\nexpires = 2099-01-01\n',
            "waiver[0].reason",
        ),
        (
            '[[waiver]]\ncheck = "x"\nhosts = ""\nreason = "r"\napproved_by = "a"\n'
            "expires = 2099-01-01\n",
            "waiver[0].hosts",
        ),
        (
            '[[waiver]]\ncheck = "x"\nreason = "r"\napproved_by = "a"\nexpires = 2099-02-29\n',
            "waiver[0].expires",
        ),
        ("[waivers]\n", "waivers"),
        ("not toml at all [", None),
    ],
)
def test_bad_waiver_files_name_the_entry(tmp_path: Path, text: str, key: str | None) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_waivers(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    if key:
        assert key in message


def test_missing_waiver_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such waiver file"):
        load_waivers(tmp_path / "nope.toml")


def test_cli_waivers_end_to_end(tmp_path: Path) -> None:
    import json

    from tests.integration.cli import run_memcheck

    tree = Path(__file__).parent / "hosts" / "stock-ubuntu-22.04"
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waiver]]\ncheck = "swappiness"\nhosts = "stg-*"\nreason = "appliance kernel"\n'
        'approved_by = "ops lead"\nexpires = 2099-01-01\n'
        '[[waiver]]\ncheck = "zone_reclaim_mode"\nreason = "unused"\napproved_by = "x"\n'
        "expires = 2099-01-01\n"
    )
    proc = run_memcheck(
        "--profile",
        "database",
        "--root",
        str(tree),
        "--waivers",
        str(waivers),
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr  # other failures remain
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    swappiness = next(r for r in data["hosts"][0]["results"] if r["check"] == "swappiness")
    assert swappiness["outcome"] == "waived"
    assert swappiness["waiver"]["reason"] == "appliance kernel"
    assert [w["check"] for w in data["waivers_unused"]] == ["zone_reclaim_mode"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[waiver]]\ncheck = "x"\n')
    proc = run_memcheck("--root", str(tree), "--waivers", str(bad), "--no-reports", cwd=tmp_path)
    assert proc.returncode == 2 and "waiver[0]" in proc.stderr and "Traceback" not in proc.stderr
