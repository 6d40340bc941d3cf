"""Configuration is validated before anything runs: each bad profile value, waiver entry or
command-line value ends the real command with exit 2 and one line naming the file and key."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from memcheck.cli import main
from memcheck.model import Param
from memcheck.registry import builtin_checks
from tests.integration.cli import run_memcheck

HOST = str(Path(__file__).parent / "hosts" / "recent-oom-kill")
CHECKS = builtin_checks()
NUMERIC = ("int", "float", "list[int]")


@pytest.fixture(autouse=True)
def _keep_gc_thresholds() -> Iterator[None]:
    thresholds = gc.get_threshold()  # the command tunes the collector for its own process
    yield
    gc.set_threshold(*thresholds)


def memcheck(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The command in-process: its exit code and its stderr, which must be one line."""
    code = main(["--root", HOST, "--no-reports", *argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert out.err.count("\n") == 1 and out.err.endswith("\n"), out.err
    return code, out.err


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- what every check declares -----------------------------------------------------------


def numeric_params() -> list[tuple[str, str, Param]]:
    return [
        (check_id, name, param)
        for check_id, check in sorted(CHECKS.items())
        for name, param in check.meta.params.items()
        if param.kind in NUMERIC
    ]


@pytest.mark.parametrize(("check_id", "name", "param"), numeric_params())
def test_every_numeric_param_documents_a_range_its_default_is_in(
    check_id: str, name: str, param: Param
) -> None:
    assert param.low is not None, (check_id, name)
    if param.kind != "float":  # a float is at least finite; an integer needs both ends
        assert param.high is not None, (check_id, name)
    assert param.range_problem(param.default) is None, (check_id, name)
    assert param.range_text()


def test_ordered_pairs_name_declared_params_and_defaults_respect_them() -> None:
    pairs = []
    for check_id, check in CHECKS.items():
        declared = check.meta.params
        for name, param in declared.items():
            if param.at_most:
                assert param.at_most in declared, (check_id, name)
                low, high = param.default, declared[param.at_most].default
                assert isinstance(low, (int, float)) and isinstance(high, (int, float))
                assert low <= high
                pairs.append(f"{check_id}.{name}<={param.at_most}")
    assert {
        "swappiness.min<=max",
        "memory_available.critical_percent<=high_percent",
        "memory_available.high_percent<=warn_percent",
    } <= set(pairs)


@pytest.mark.parametrize(
    ("param", "value", "problem"),
    [
        (Param(1, "d", low=0, high=200), 201, "out of range (0..200)"),
        (Param(1, "d", low=0, high=200), -1, "out of range (0..200)"),
        (Param(1.0, "d", "float", low=0.0), float("nan"), "not a finite number"),
        (Param(1.0, "d", "float", low=0.0), float("inf"), "not a finite number"),
        (Param(1.0, "d", "float"), float("-inf"), "not a finite number"),
        (Param(1.0, "d", "float"), 10**400, "does not fit in 64 bits"),
        (Param(1, "d"), 2**63, "does not fit in 64 bits"),
        (Param([0], "d", "list[int]", low=0, high=2), [0, 3], "3 is out of range (each 0..2)"),
    ],
)
def test_range_problem(param: Param, value: object, problem: str) -> None:
    found = param.range_problem(value)
    assert found is not None and problem in found


def test_in_range_values_and_untyped_params_pass() -> None:
    assert Param(1, "d", low=0, high=200).range_problem(200) is None
    assert Param(1.0, "d", "float", low=0.0, high=100.0).range_problem(100) is None
    assert Param(1, "d").range_problem(-(2**63)) is None  # no declared range: 64 bits only
    assert Param("x", "d", "str").range_problem("anything") is None
    assert Param(1.0, "d", "float").range_text() == "finite"


# --- profiles through the command -------------------------------------------------------


BAD_PROFILES = [
    ("[params.oom_kills]\nwindow_hours = 100000000\n", "params.oom_kills.window_hours"),
    (
        "[params.drop_caches_scheduled]\nwindow_hours = 100000000\n",
        "params.drop_caches_scheduled.window_hours",
    ),
    ("[params.min_free_kbytes]\nmax_percent = inf\n", "params.min_free_kbytes.max_percent"),
    ("[params.psi_memory]\nsome_max = nan\n", "params.psi_memory.some_max"),
    ("[params.psi_memory]\nfull_max = -inf\n", "params.psi_memory.full_max"),
    ("[params.swappiness]\nmin = 50\nmax = 1\n", "params.swappiness.max"),
    ("[params.swappiness]\nmax = 201\n", "params.swappiness.max"),
    ("[params.swappiness]\nmin = -1\n", "params.swappiness.min"),
    (
        "[params.memory_available]\ncritical_percent = 6.0\nhigh_percent = 5.0\n",
        "params.memory_available.high_percent",
    ),
    ("[params.memory_available]\nwarn_percent = 100.5\n", "params.memory_available.warn_percent"),
    ("[params.overcommit_memory]\nallowed = [0, 3]\n", "params.overcommit_memory.allowed"),
    ("[params.oom_protected_services]\nmax = -1001\n", "params.oom_protected_services.max"),
    ("[params.panic_on_oom]\nmax = 3\n", "params.panic_on_oom.max"),
    (
        "[params.swap_activity]\nmax_pages_per_second = 2000.0\n",
        "params.swap_activity.max_pages_per_second",
    ),
    (
        "[params.compaction_stalls]\nmax_per_hour = 1" + "0" * 400 + "\n",
        "params.compaction_stalls.max_per_hour",
    ),
    ("[params.max_map_count]\nmin = 99999999999999999999\n", "params.max_map_count.min"),
]


@pytest.mark.parametrize(("text", "key"), BAD_PROFILES)
def test_bad_profile_values_exit_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    path = write(tmp_path, "mine.toml", '[profile]\nextends = ["default"]\n' + text)
    code, err = memcheck(capsys, "--profile", path)
    assert code == 2
    assert err.startswith(f"memcheck: error: {path}: {key}: ")


def test_min_above_the_inherited_max_names_where_the_max_comes_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = write(tmp_path, "parent.toml", "[params.swappiness]\nmin = 1\nmax = 10\n")
    child = write(
        tmp_path,
        "child.toml",
        '[profile]\nextends = ["parent.toml"]\n[params.swappiness]\nmin = 20\n',
    )
    code, err = memcheck(capsys, "--profile", child)
    assert code == 2
    assert f"{child}: params.swappiness.min: 20 is above max (10, from {parent})" in err
    # Against the check's own default, too.
    alone = write(tmp_path, "alone.toml", "[params.swappiness]\nmin = 50\n")
    code, err = memcheck(capsys, "--profile", alone)
    assert code == 2 and "from the check's default" in err


def test_values_at_the_ends_of_their_ranges_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "edges.toml",
        '[profile]\nextends = ["default"]\n'
        "[params.swappiness]\nmin = 200\nmax = 200\n"
        "[params.oom_kills]\nwindow_hours = 87660\n"
        "[params.psi_memory]\nsome_max = 100\nfull_max = 0\n",
    )
    code = main(["--root", HOST, "--no-reports", "-q", "--profile", path])
    out = capsys.readouterr()
    assert code in (0, 1, 3) and "error:" not in out.err


def test_two_parents_that_disagree_are_a_combination_not_an_error(tmp_path: Path) -> None:
    """Each file is valid; min > max arises only from combining them (SPEC section 5)."""
    from memcheck.profile import load_profiles

    low = write(tmp_path, "low.toml", "[params.swappiness]\nmax = 5\n")
    high = write(tmp_path, "high.toml", "[params.swappiness]\nmin = 8\n")
    both = write(tmp_path, "both.toml", '[profile]\nextends = ["low.toml", "high.toml"]\n')
    assert load_profiles([both], CHECKS).known_params["swappiness"] == {"min": 8, "max": 5}
    assert load_profiles([low, high], CHECKS).known_params["swappiness"] == {"min": 8, "max": 5}


def chain(folder: Path, depth: int) -> str:
    """p0 extends p1 ... extends p<depth-1>, which extends default: `depth` files of ours."""
    for i in range(depth):
        parent = f"./p{i + 1}.toml" if i < depth - 1 else "default"
        write(folder, f"p{i}.toml", f'[profile]\nextends = ["{parent}"]\n')
    return str(folder / "p0.toml")


def test_an_extends_chain_1200_deep_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = memcheck(capsys, "--profile", chain(tmp_path, 1200))
    assert code == 2
    assert "profile.extends: extends chain deeper than 32 profiles" in err


def test_an_extends_chain_at_the_limit_loads(tmp_path: Path) -> None:
    from memcheck.profile import load_profiles

    # 31 files of ours and the built-in default: 32 deep.
    assert load_profiles([chain(tmp_path, 31)], CHECKS).selected


def test_extends_cycles_and_width(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.toml", '[profile]\nextends = ["./b.toml"]\n')
    write(tmp_path, "b.toml", '[profile]\nextends = ["./a.toml"]\n')
    code, err = memcheck(capsys, "--profile", str(tmp_path / "a.toml"))
    assert code == 2 and "extends cycle" in err
    wide = write(
        tmp_path, "wide.toml", "[profile]\nextends = [" + ", ".join(['"default"'] * 65) + "]\n"
    )
    code, err = memcheck(capsys, "--profile", wide)
    assert code == 2 and f"{wide}: profile.extends: extends 65 profiles; at most 64" in err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a = " + "[" * 100_000 + "\n", "nested too deeply"),
        ("a = " + "{b = " * 100_000 + "\n", "nested too deeply"),
        ("a = " + "1" * 5000 + "\n", "invalid TOML"),
        ("[profile\n", "invalid TOML"),
    ],
)
def test_hostile_toml_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = write(tmp_path, "hostile.toml", text)
    code, err = memcheck(capsys, "--profile", path)
    assert code == 2 and err.startswith(f"memcheck: error: {path}: ") and problem in err


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('[profile]\n"a\\nb" = 1\n', "profile.a\\nb: unknown key"),
        ('[params."a\\nb"]\nx = 1\n', "params.a\\nb: unknown check id"),
        ('[params.swappiness]\n"a\\rb" = 1\n', "params.swappiness.a\\rb: unknown param"),
        ('[profile]\nextends = ["a\\nb.toml"]\n', "a\\nb.toml"),
    ],
)
def test_control_characters_in_keys_and_values_stay_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, shown: str
) -> None:
    path = write(tmp_path, "keys.toml", text)
    code, err = memcheck(capsys, "--profile", path)
    assert code == 2 and shown in err


def test_profile_files_that_are_not_regular_or_too_large_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.toml")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (4 * 1024 * 1024) + "\n")
    for name, problem in [
        ("zero.toml", "not a regular file"),
        ("fifo.toml", "not a regular file"),
        ("big.toml", "larger than 4 MiB"),
    ]:
        code, err = memcheck(capsys, "--profile", str(tmp_path / name))
        assert code == 2 and problem in err, name
    code, err = memcheck(capsys, "--profile", "/dev/zero")
    assert code == 2 and "/dev/zero: not a regular file" in err
    code, err = memcheck(capsys, "--profile", "~no-such-user-here/p.toml")
    assert code == 2 and "no such profile file" in err


# --- waivers through the command --------------------------------------------------------

ENTRY = "- check: swappiness\n  reason: r\n  approved_by: a\n  expires: 2099-01-01\n"
TOML_ENTRY = '[[waiver]]\ncheck = "x"\nreason = "r"\napproved_by = "a"\nexpires = 2099-01-01\n'

BAD_WAIVERS = [
    (
        "w.yaml",
        ENTRY + "- check: x\n  reason: r\n  approved_by: a\n  expires: 2099-02-30\n",
        "waiver[1].expires: 2099-02-30 is not a real date",
    ),
    (
        "w.yaml",
        "- check: x\n  reason: r\n  approved_by: a\n  expires: 2099-02-28 25:00:00\n",
        "waiver[0].expires",
    ),
    (
        "w.toml",
        TOML_ENTRY + TOML_ENTRY.replace("2099-01-01", "2099-02-30"),
        "waiver[1].expires: 2099-02-30 is not a real date",
    ),
    ("w.toml", TOML_ENTRY.replace("2099-01-01", '"2099-13-01"'), "waiver[0].expires"),
    ("w.yaml", ENTRY.replace("reason: r", "reason: ''"), "waiver[0].reason: must not be blank"),
    ("w.yaml", ENTRY.replace("reason: r", "reason: '  \t '"), "waiver[0].reason"),
    ("w.toml", TOML_ENTRY.replace('reason = "r"', 'reason = "   "'), "waiver[0].reason"),
    ("w.yaml", ENTRY.replace("check: swappiness", "check: ''"), "waiver[0].check"),
    ("w.yaml", ENTRY.replace("check: swappiness", "check: 12"), "waiver[0].check"),
    ("w.yaml", ENTRY + "  hosts: ''\n", "waiver[0].hosts: must not be blank"),
    ("w.yaml", ENTRY + "  hosts: [a, b]\n", "waiver[0].hosts: expected a string"),
    ("w.yaml", ENTRY.replace("approved_by: a", "approved_by: ' '"), "waiver[0].approved_by"),
    (
        "w.yaml",
        "- &x\n  check: *x\n  reason: r\n  approved_by: a\n  expires: 2099-01-01\n",
        "check",
    ),
    ("w.yaml", "- &a [*a]\n", "waiver[0]: expected a table"),
    ("w.yaml", "x: &a\n  <<: *a\n", "x: unknown key"),
    ("w.yaml", ENTRY + "  7: seven\n", "waiver[0].7: unknown key"),
    ("w.yaml", ENTRY + '  "a\\nb": c\n', "waiver[0].'a\\nb': unknown key"),
    ("w.yaml", "[" * 100_000 + "\n", "not valid YAML"),
    ("w.yaml", "- " * 100_000 + "x\n", "not valid YAML"),
    ("w.yaml", "a: 1" + "0" * 5000 + "\n", "not valid YAML"),
    ("w.yaml", "!!python/object:os.system {}\n", "not valid YAML"),
    ("w.toml", "a = " + "[" * 100_000 + "\n", "nested too deeply"),
]


@pytest.mark.parametrize(("name", "text", "problem"), BAD_WAIVERS)
def test_bad_waivers_exit_2_naming_file_and_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, problem: str
) -> None:
    path = write(tmp_path, name, text)
    code, err = memcheck(capsys, "--waivers", path)
    assert code == 2
    assert err.startswith(f"memcheck: error: {path}: ") and problem in err


def test_waiver_files_that_are_not_regular_or_too_large_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "big.yaml").write_text("#" * (4 * 1024 * 1024 + 1))
    for path, problem in [
        ("/dev/zero", "not a regular file"),
        (str(tmp_path / "zero.yaml"), "not a regular file"),
        (str(tmp_path / "fifo.yaml"), "not a regular file"),
        (str(tmp_path / "big.yaml"), "larger than 4 MiB"),
    ]:
        code, err = memcheck(capsys, "--waivers", path)
        assert code == 2 and f"{path}: {problem}" in err, path


# --- command-line values ------------------------------------------------------------------

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "inf"], "--timeout"),
        (["--timeout", "1e400"], "--timeout"),
        (["--timeout", "-1"], "--timeout"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "86401"], "--timeout"),
        (["--timeout", "abc"], "--timeout"),
        (["--sample-interval", "-1"], "--sample-interval"),
        (["--sample-interval", "nan"], "--sample-interval"),
        (["--sample-interval", "inf"], "--sample-interval"),
        (["--shard", "1/" + HUGE], "--shard"),
        (["--shard", HUGE + "/1"], "--shard"),
        (["--shard", "\u0661/\u0662"], "--shard"),  # Arabic-Indic digits: int() takes them
        (["--shard", "1/0"], "--shard"),
        (["-n", "0"], "--workers"),
        (["-n", "-3"], "--workers"),
        (["-n", "100000000000"], "--workers"),
        (["-n", HUGE], "--workers"),
        (["--fail-on", "x"], "--fail-on"),
        (["--color", "x\ny"], "--color"),
    ],
)
def test_bad_run_options_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], key: str
) -> None:
    code, err = memcheck(capsys, *argv)
    assert code == 2 and key in err


def test_collect_checks_its_values_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["collect", "--hosts", "local://", "--out", str(tmp_path / "x"), "--timeout", "nan"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--timeout" in err
    assert not (tmp_path / "x").exists()


def test_good_values_still_run(capsys: pytest.CaptureFixture[str]) -> None:
    limits = ["--timeout", "86400", "--sample-interval", "0", "-n", "1024", "--shard", "1/1"]
    code = main(["--root", HOST, "--no-reports", "-q", *limits])
    assert code in (0, 1, 3) and "error" not in capsys.readouterr().err


# --- the real process, end to end ---------------------------------------------------------


def test_the_installed_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    profile = write(tmp_path, "p.toml", "[params.psi_memory]\nsome_max = nan\n")
    waivers = write(
        tmp_path, "w.yaml", "- check: x\n  reason: r\n  approved_by: a\n  expires: 2099-02-30\n"
    )
    for argv, expected in [
        (["--profile", profile], f"{profile}: params.psi_memory.some_max"),
        (["--waivers", waivers], f"{waivers}: waiver[0].expires"),
        (["--shard", "1/" + HUGE], "--shard"),
        (["--timeout", "nan"], "--timeout"),
    ]:
        done = run_memcheck("--root", HOST, "--no-reports", *argv)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and expected in done.stderr
        assert "Traceback" not in done.stderr + done.stdout
