"""`explain`, `list-profiles` and `list-checks` over the eleven built-in profiles."""

from __future__ import annotations

import re

import pytest

from memcheck.cli import main
from memcheck.profile import builtin_profile_names, load_profiles
from memcheck.registry import all_checks
from tests.fake_checks import FAKE_PARAMS, missing_real_checks, write_stand_in_modules

URL = re.compile(r"https://\S+")


@pytest.fixture(scope="module")
def check_dir(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    missing = missing_real_checks()
    if not missing:
        return []
    path = write_stand_in_modules(tmp_path_factory.mktemp("stand-ins"), missing)
    return ["--check-dir", str(path)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out


@pytest.mark.parametrize("check_id", sorted(FAKE_PARAMS))
def test_explain_names_the_authority_each_profile_follows(
    check_id: str, check_dir: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "explain", check_id, *check_dir)
    assert code == 0
    section = out.split("Per profile (effective params, and the authority the profile follows):")[
        1
    ].split("How to fix:")[0]
    checks = all_checks(check_dir[1:] if check_dir else [])
    users = [n for n in builtin_profile_names() if check_id in load_profiles([n], checks).selected]
    assert users, f"{check_id} is in no built-in profile"
    for name in users:
        entry = section.split(f"\n  {name}: ")[1].split("\n  ")[0:3]
        text = " ".join(line.strip() for line in entry)
        follows = text.split("follows: ", 1)[1]
        assert URL.search(follows), (check_id, name, follows)
    if check_id not in missing_real_checks():
        references = out.split("References:")[1]
        assert URL.search(references), check_id


def test_explain_shows_vendors_disagreeing(
    check_dir: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = run(capsys, "explain", "overcommit_memory", *check_dir)
    assert "  postgres: allowed=[2], max_commit_percent=90.0\n" in out
    assert "  redis: allowed=[1], max_commit_percent=90.0\n" in out
    assert (
        "https://www.postgresql.org/docs/current/kernel-resources.html#LINUX-MEMORY-OVERCOMMIT"
        in out
    )
    assert "https://redis.io/docs/latest/operate/oss_and_stack/management/admin/" in out
    _, thp = run(capsys, "explain", "thp_enabled", *check_dir)
    assert "  mongodb8: allowed=['always']\n" in thp
    assert "  redis: allowed=['never']\n" in thp


def test_list_profiles_shows_all_eleven_and_auto(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "list-profiles")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == [*sorted(builtin_profile_names()), "auto"]
    assert len(names) == 12
    assert re.search(r"^postgres +database +PostgreSQL servers", out, re.MULTILINE)


def test_list_checks_shows_the_profiles_using_each(
    check_dir: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "list-checks", *check_dir)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["oom_kills"].endswith("[every profile]")
    assert rows["postmaster_oom"].endswith("[postgres]")
    assert rows["max_map_count"].endswith("[cassandra, elasticsearch]")
    assert rows["cgroup_v2"].endswith("[container-host, kubernetes-node]")
    assert rows["overcommit_memory"].endswith(
        "[kubernetes-node, mongodb, mongodb8, postgres, redis]"
    )
    _, only = run(capsys, "list-checks", "--profile", "redis", *check_dir)
    assert "postmaster_oom" not in only and "overcommit_memory" in only
