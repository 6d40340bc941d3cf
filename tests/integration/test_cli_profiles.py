"""`explain`, `list-profiles` and `list-checks` over the eleven built-in profiles."""

from __future__ import annotations

import re

import pytest

from memcheck.cli import main
from memcheck.profile import builtin_profile_names, load_profiles
from memcheck.registry import builtin_checks

URL = re.compile(r"https://\S+")
CHECKS = builtin_checks()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_explain_names_the_authority_each_profile_follows(
    check_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "explain", check_id)
    assert code == 0
    head = "Per profile (effective params, and the authority the profile follows):"
    section = out.split(head)[1].split("How to fix:")[0]
    users = [n for n in builtin_profile_names() if check_id in load_profiles([n], CHECKS).selected]
    assert users, f"{check_id} is in no built-in profile"
    for name in users:
        entry = section.split(f"\n  {name}: ")[1].split("\n  ")[0:3]
        follows = " ".join(line.strip() for line in entry).split("follows: ", 1)[1]
        assert URL.search(follows), (check_id, name, follows)
    assert URL.search(out.split("References:")[1]), check_id


def test_explain_shows_vendors_disagreeing(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, "explain", "overcommit_memory")
    assert "  postgres: allowed=[2], max_commit_percent=90.0\n" in out
    assert "  redis: allowed=[1], max_commit_percent=90.0\n" in out
    assert (
        "https://www.postgresql.org/docs/current/kernel-resources.html#LINUX-MEMORY-OVERCOMMIT"
        in out
    )
    assert "https://redis.io/docs/latest/operate/oss_and_stack/management/admin/" in out
    _, thp = run(capsys, "explain", "thp_enabled")
    assert "  mongodb8: allowed=['always']\n" in thp
    assert "  redis: allowed=['never']\n" in thp


def test_list_profiles_shows_all_eleven_and_auto(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "list-profiles")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == [*sorted(builtin_profile_names()), "auto"]
    assert len(names) == 12
    assert re.search(r"^postgres +database +PostgreSQL servers", out, re.MULTILINE)


def test_list_checks_shows_the_profiles_using_each(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "list-checks")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == set(CHECKS)
    assert rows["oom_kills"].endswith("[every profile]")
    assert rows["postmaster_oom"].endswith("[postgres]")
    assert rows["max_map_count"].endswith("[cassandra, elasticsearch]")
    assert rows["cgroup_v2"].endswith("[container-host, kubernetes-node]")
    assert rows["overcommit_memory"].endswith(
        "[kubernetes-node, mongodb, mongodb8, postgres, redis]"
    )
    _, only = run(capsys, "list-checks", "--profile", "redis")
    assert "postmaster_oom" not in only and "overcommit_memory" in only
