"""Profile loading: built-in files, merging, conflicts, narrowing and one-line config errors."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from memcheck.errors import ConfigError
from memcheck.model import CheckMeta, Outcome, Param, Params
from memcheck.profile import (
    EffectiveProfile,
    builtin_profile_names,
    list_builtin_profiles,
    load_profiles,
    params_per_profile,
)
from memcheck.registry import Check, builtin_checks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"

# The checks (and their params) that the built-in profiles refer to.
FAKE_PARAMS: dict[str, dict[str, Param]] = {
    "swappiness": {"min": Param(1, "lowest"), "max": Param(10, "highest")},
    "sysctl_persisted": {},
    "vfs_cache_pressure": {"max": Param(0, "highest; 0 means no upper bound")},
    "zone_reclaim_mode": {},
    "min_free_kbytes": {
        "min_kbytes": Param(1024, "lowest"),
        "max_percent": Param(5.0, "highest share of RAM", "float"),
    },
    "panic_on_oom": {"max": Param(0, "highest")},
    "thp_enabled": {"allowed": Param(["never", "madvise"], "modes", "list[str]")},
    "thp_defrag": {"allowed": Param(["never", "madvise"], "modes", "list[str]")},
    "thp_persisted": {},
    "oom_protected_services": {
        "services": Param(["sshd"], "services", "list[str]"),
        "max": Param(-900, "highest oom_score_adj"),
    },
    "oom_kills": {
        "window_hours": Param(24, "hours"),
        "protected_services": Param(["sshd"], "services", "list[str]"),
    },
    "memory_available": {
        "warn_percent": Param(10.0, "warn", "float"),
        "high_percent": Param(5.0, "high", "float"),
        "critical_percent": Param(1.0, "critical", "float"),
        "top_processes": Param(5, "processes listed"),
    },
    "drop_caches_scheduled": {
        "max_drops": Param(1, "drops tolerated"),
        "window_hours": Param(24, "hours"),
    },
}
FAKE_SEVERITY = {"vfs_cache_pressure": "low", "zone_reclaim_mode": "medium", "thp_defrag": "medium"}

DEFAULT_SELECTION = [
    "oom_kills",
    "oom_protected_services",
    "memory_available",
    "drop_caches_scheduled",
    "min_free_kbytes",
    "panic_on_oom",
    "vfs_cache_pressure",
    "sysctl_persisted",
]
DATABASE_ADDS = [
    "swappiness",
    "zone_reclaim_mode",
    "thp_enabled",
    "thp_defrag",
    "thp_persisted",
]


def _judge(facts: Any, params: Params) -> Outcome:
    return Outcome.passed("fake")


def _fake(check_id: str, params: dict[str, Param]) -> Check:
    meta = CheckMeta(
        id=check_id,
        title=f"fake {check_id}",
        area="sysctl",
        severity=FAKE_SEVERITY.get(check_id, "high"),  # type: ignore[arg-type]
        rationale="test",
        remediation="test",
        references=(),
        reads=(),
        params=params,
    )
    return Check(meta, _judge, f"test:{check_id}")


@pytest.fixture
def checks() -> dict[str, Check]:
    return {cid: _fake(cid, params) for cid, params in FAKE_PARAMS.items()}


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- built-in profiles ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "database"])
def test_builtin_files_are_toml_under_stdlib(name: str) -> None:
    text = (PROFILES_DIR / f"{name}.toml").read_text()
    doc = tomllib.loads(text)
    assert doc["profile"]["name"] == name
    assert doc["profile"]["description"]


def test_builtin_names() -> None:
    assert {"default", "database"} <= set(builtin_profile_names())


def test_default_profile(checks: dict[str, Check]) -> None:
    eff = load_profiles(["default"], checks)
    assert eff.names == ["default"]
    assert eff.selected == DEFAULT_SELECTION
    assert [s.name for s in eff.chain] == ["default"]
    assert eff.chain[0].path == "profiles/default.toml"
    assert eff.chain[0].builtin
    data = (PROFILES_DIR / "default.toml").read_bytes()
    assert eff.chain[0].sha256 == hashlib.sha256(data).hexdigest()
    assert eff.fail_on == "low"
    assert eff.params["oom_protected_services"] == {"services": ["sshd"], "max": -900}
    assert eff.params["vfs_cache_pressure"] == {"max": 0}
    assert eff.params["min_free_kbytes"] == {"min_kbytes": 1024, "max_percent": 5.0}
    assert eff.params["sysctl_persisted"] == {}
    assert set(eff.params) == set(DEFAULT_SELECTION)
    assert eff.severity["vfs_cache_pressure"] == "low"
    assert eff.severity["oom_kills"] == "high"
    assert eff.conflicts == []


def test_no_spec_means_default(checks: dict[str, Check]) -> None:
    assert load_profiles([], checks).selected == DEFAULT_SELECTION


def test_database_profile(checks: dict[str, Check]) -> None:
    eff = load_profiles(["database"], checks)
    assert [s.name for s in eff.chain] == ["default", "database"]
    assert eff.selected == DEFAULT_SELECTION + DATABASE_ADDS
    assert eff.params["swappiness"] == {"min": 1, "max": 10}
    assert eff.params["vfs_cache_pressure"] == {"max": 50}
    assert eff.params["thp_enabled"] == {"allowed": ["never", "madvise"]}
    assert eff.params["thp_defrag"] == {"allowed": ["never", "madvise"]}
    assert eff.description.startswith("Dedicated database hosts")
    # Inherited from default, untouched.
    assert eff.params["oom_protected_services"]["max"] == -900
    assert eff.conflicts == []


def test_builtin_profiles_name_their_authorities() -> None:
    for name in ("default", "database"):
        text = (PROFILES_DIR / f"{name}.toml").read_text()
        assert "vm.rst" in text
        assert "Catalogue checks that belong here" in text


def test_list_builtin_profiles() -> None:
    infos = {p.name: p for p in list_builtin_profiles()}
    assert infos["default"].extends == []
    assert infos["database"].extends == ["default"]
    assert infos["database"].description.startswith("Dedicated database hosts")
    assert Path(infos["default"].path).is_file()


def test_params_per_profile(checks: dict[str, Check]) -> None:
    assert params_per_profile("swappiness", checks) == {"database": {"min": 1, "max": 10}}
    assert params_per_profile("vfs_cache_pressure", checks) == {
        "default": {"max": 0},
        "database": {"max": 50},
    }
    with pytest.raises(ConfigError, match="unknown check id 'nope'"):
        params_per_profile("nope", checks)


def _toml(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = tomllib.loads((PROFILES_DIR / f"{name}.toml").read_text())
    return doc


def _ids_in_profile(name: str) -> set[str]:
    doc = _toml(name)
    ids = set(doc.get("checks", {}).get("include", []))
    return ids | set(doc.get("params", {})) | set(doc.get("severity", {}))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("default", DEFAULT_SELECTION), ("database", DEFAULT_SELECTION + DATABASE_ADDS)],
)
def test_builtin_profiles_load_against_real_registry(name: str, expected: list[str]) -> None:
    real = builtin_checks()
    chain = ["default"] if name == "default" else ["default", name]
    needed = set().union(*(_ids_in_profile(n) for n in chain))
    missing = sorted(needed - set(real))
    if missing:
        pytest.skip(f"checks not written yet: {', '.join(missing)}")
    eff = load_profiles([name], real)
    assert eff.selected == expected
    for check_id in eff.selected:
        assert eff.severity[check_id] == real[check_id].meta.severity
    # Each value a profile file sets reaches the effective params (later file wins).
    for profile in chain:
        for check_id, values in _toml(profile).get("params", {}).items():
            for key, value in values.items():
                if profile == "default" and check_id in _toml(name).get("params", {}):
                    continue
                assert eff.params[check_id][key] == value, (profile, check_id, key)


def test_fake_params_match_profiles(checks: dict[str, Check]) -> None:
    """Every param the built-ins set is one the fake registry declares, with its default."""
    eff = load_profiles(["database"], checks)
    for check_id, values in eff.params.items():
        assert values == {
            **checks[check_id].meta.defaults(),
            **({"max": 50} if check_id == "vfs_cache_pressure" else {}),
        }


# --- merging ----------------------------------------------------------------------------------


def test_user_file_extends_builtin(tmp_path: Path, checks: dict[str, Check]) -> None:
    spec = write(
        tmp_path,
        "mine.toml",
        """
        [profile]
        extends = ["database"]
        fail_on = "high"

        [checks]
        exclude = ["thp_*", "panic_on_oom"]

        [params.swappiness]
        max = 5

        [params.min_free_kbytes]
        max_percent = 3

        [severity]
        vfs_cache_pressure = "medium"
        """.replace("\n        ", "\n"),
    )
    eff = load_profiles([spec], checks)
    assert [s.name for s in eff.chain] == ["default", "database", "mine"]
    assert eff.chain[-1].path == spec
    assert not eff.chain[-1].builtin
    assert "thp_enabled" not in eff.selected
    assert "thp_persisted" not in eff.selected
    assert "panic_on_oom" not in eff.selected
    assert "swappiness" in eff.selected
    assert eff.params["swappiness"] == {"min": 1, "max": 5}
    assert eff.params["min_free_kbytes"]["max_percent"] == 3.0
    assert isinstance(eff.params["min_free_kbytes"]["max_percent"], float)
    assert eff.severity["vfs_cache_pressure"] == "medium"
    assert eff.fail_on == "high"
    # Description inherited from the last profile that set one.
    assert eff.description.startswith("Dedicated database hosts")


def test_include_adds_and_globs_expand(tmp_path: Path, checks: dict[str, Check]) -> None:
    spec = write(
        tmp_path,
        "thp.toml",
        '[profile]\nextends = ["default"]\n[checks]\ninclude = ["thp_*", "swappiness"]\n',
    )
    eff = load_profiles([spec], checks)
    assert eff.selected == [
        *DEFAULT_SELECTION,
        "thp_defrag",
        "thp_enabled",
        "thp_persisted",
        "swappiness",
    ]


def test_omitted_include_inherits_and_no_extends_selects_nothing(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    inherit = write(tmp_path, "a.toml", '[profile]\nextends = ["default"]\n')
    assert load_profiles([inherit], checks).selected == DEFAULT_SELECTION
    bare = write(tmp_path, "b.toml", "[params.swappiness]\nmin = 2\n")
    eff = load_profiles([bare], checks)
    assert eff.selected == []
    assert eff.fail_on == "low"
    assert eff.description == ""


def test_relative_extends_is_relative_to_the_file(tmp_path: Path, checks: dict[str, Check]) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path, "sub/base.toml", '[checks]\ninclude = ["swappiness"]\n')
    top = write(tmp_path, "sub/top.toml", '[profile]\nextends = ["base.toml"]\n')
    eff = load_profiles([top], checks)
    assert eff.selected == ["swappiness"]
    assert [s.name for s in eff.chain] == ["base", "top"]


def test_shared_parent_is_applied_once(tmp_path: Path, checks: dict[str, Check]) -> None:
    a = write(
        tmp_path,
        "a.toml",
        '[profile]\nextends = ["database"]\n[params.vfs_cache_pressure]\nmax = 70\n',
    )
    b = write(tmp_path, "b.toml", '[profile]\nextends = ["default"]\n')
    eff = load_profiles([a, b], checks)
    # default is not re-applied by b, so it does not reset a's value back to 0.
    assert [s.name for s in eff.chain] == ["default", "database", "a", "b"]
    assert eff.params["vfs_cache_pressure"] == {"max": 70}
    assert eff.conflicts == []


def test_later_spec_wins_and_conflicts_are_recorded(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    strict = write(tmp_path, "strict.toml", "[params.swappiness]\nmax = 1\nmin = 1\n")
    eff = load_profiles(["database", strict], checks)
    assert eff.names == ["database", strict]
    assert eff.params["swappiness"] == {"min": 1, "max": 1}
    assert eff.conflicts == [
        {
            "check": "swappiness",
            "param": "max",
            "values": [{"profile": "database", "value": 10}, {"profile": strict, "value": 1}],
            "winner": strict,
        }
    ]
    # Reversed order: database comes last and wins.
    eff = load_profiles([strict, "database"], checks)
    assert eff.params["swappiness"]["max"] == 10
    assert eff.conflicts[0]["winner"] == "database"


def test_fail_on_last_set_wins(tmp_path: Path, checks: dict[str, Check]) -> None:
    high = write(tmp_path, "high.toml", '[profile]\nfail_on = "high"\n')
    silent = write(tmp_path, "silent.toml", "[params.swappiness]\nmax = 9\n")
    assert load_profiles(["default", high, silent], checks).fail_on == "high"
    assert load_profiles([high, "default"], checks).fail_on == "low"


# --- narrowing --------------------------------------------------------------------------------


def test_narrow(checks: dict[str, Check]) -> None:
    eff = load_profiles(["database"], checks)
    only = eff.narrow(["swappiness", "thp_*"], None)
    assert only.selected == ["swappiness", "thp_enabled", "thp_defrag", "thp_persisted"]
    assert set(only.params) == set(only.selected)
    assert only.params["swappiness"] == {"min": 1, "max": 10}
    skipped = eff.narrow(None, ["thp_*", "oom_kills"])
    assert "oom_kills" not in skipped.selected
    assert not any(c.startswith("thp_") for c in skipped.selected)
    assert "oom_kills" not in skipped.severity
    assert eff.narrow(None, None) == eff
    assert isinstance(only, EffectiveProfile)


def test_narrow_to_a_check_the_profile_does_not_select(checks: dict[str, Check]) -> None:
    eff = load_profiles(["default"], checks).narrow(["swappiness"], None)
    assert eff.selected == ["swappiness"]
    assert eff.params["swappiness"] == {"min": 1, "max": 10}
    assert eff.severity["swappiness"] == "high"


@pytest.mark.parametrize(
    ("only", "skip", "option"),
    [(["nosuch"], None, "--checks"), (None, ["nope_*"], "--skip-checks")],
)
def test_narrow_unknown_ids(
    checks: dict[str, Check], only: list[str] | None, skip: list[str] | None, option: str
) -> None:
    eff = load_profiles(["default"], checks)
    with pytest.raises(ConfigError) as err:
        eff.narrow(only, skip)
    assert str(err.value).startswith(f"{option}: ")
    assert "\n" not in str(err.value)


# --- errors -----------------------------------------------------------------------------------


ERROR_CASES = [
    ("toml_syntax", "[profile]\nname = \n", None, "invalid TOML: Invalid value (at line 2"),
    ("unknown_table", "[tuning]\nx = 1\n", "tuning", "unknown table"),
    ("profile_not_table", 'profile = "x"\n', "profile", "expected a table"),
    ("unknown_profile_key", "[profile]\nowner = 1\n", "profile.owner", "unknown key"),
    ("unknown_checks_key", '[checks]\nonly = ["swappiness"]\n', "checks.only", "unknown key"),
    ("extends_not_list", '[profile]\nextends = "default"\n', "profile.extends", "list of strings"),
    ("extends_not_strings", "[profile]\nextends = [1]\n", "profile.extends", "list of strings"),
    ("include_not_list", '[checks]\ninclude = "swappiness"\n', "checks.include", "list"),
    ("fail_on_bad", '[profile]\nfail_on = "urgent"\n', "profile.fail_on", "expected one of"),
    ("fail_on_type", "[profile]\nfail_on = 3\n", "profile.fail_on", "got an integer"),
    ("description_type", "[profile]\ndescription = 3\n", "profile.description", "string"),
    ("unknown_check_include", '[checks]\ninclude = ["swapiness"]\n', "checks.include",
     "unknown check id 'swapiness'"),
    ("unknown_check_exclude", '[checks]\nexclude = ["nope"]\n', "checks.exclude",
     "unknown check id 'nope'"),
    ("glob_matches_nothing", '[checks]\ninclude = ["numa_*"]\n', "checks.include",
     "glob 'numa_*' matches no known check"),
    ("unknown_check_params", "[params.swapiness]\nmax = 1\n", "params.swapiness",
     "unknown check id"),
    ("params_not_table", "[params]\nswappiness = 1\n", "params.swappiness", "expected a table"),
    ("unknown_param", "[params.swappiness]\nmx = 1\n", "params.swappiness.mx",
     "unknown param (swappiness takes: max, min)"),
    ("param_on_check_without_params", "[params.thp_persisted]\nx = 1\n",
     "params.thp_persisted.x", "unknown param (thp_persisted takes: nothing)"),
    ("param_wrong_type", '[params.swappiness]\nmax = "10"\n', "params.swappiness.max",
     "expected an integer, got a string '10'"),
    ("param_bool_for_int", "[params.swappiness]\nmax = true\n", "params.swappiness.max",
     "expected an integer, got a boolean"),
    ("param_float_for_int", "[params.swappiness]\nmax = 1.5\n", "params.swappiness.max",
     "expected an integer, got a float"),
    ("param_list_wrong", "[params.thp_enabled]\nallowed = [1]\n", "params.thp_enabled.allowed",
     "expected a list of strings"),
    ("severity_bad", '[severity]\nswappiness = "severe"\n', "severity.swappiness",
     "expected one of critical, high, medium, low, got 'severe'"),
    ("severity_unknown_check", '[severity]\nswapiness = "low"\n', "severity.swapiness",
     "unknown check id"),
    ("extends_missing_builtin", '[profile]\nextends = ["nosuch"]\n', "profile.extends",
     "no built-in profile 'nosuch' (available: "),
    ("extends_missing_file", '[profile]\nextends = ["gone.toml"]\n', "profile.extends",
     "no such profile file"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_config_errors_are_one_line_naming_file_and_key(
    tmp_path: Path, checks: dict[str, Check], text: str, key: str | None, problem: str
) -> None:
    spec = write(tmp_path, "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_profiles([spec], checks)
    message = str(err.value)
    assert "\n" not in message
    assert err.value.where == spec
    assert err.value.key == key
    prefix = f"{spec}: {key}: " if key else f"{spec}: "
    assert message.startswith(prefix)
    assert problem in message


def test_error_in_a_parent_names_the_parent(tmp_path: Path, checks: dict[str, Check]) -> None:
    parent = write(tmp_path, "parent.toml", "[params.swappiness]\nmx = 1\n")
    child = write(tmp_path, "child.toml", '[profile]\nextends = ["parent.toml"]\n')
    with pytest.raises(ConfigError) as err:
        load_profiles([child], checks)
    assert str(err.value) == (
        f"{parent}: params.swappiness.mx: unknown param (swappiness takes: max, min)"
    )


def test_missing_builtin_lists_available(checks: dict[str, Check]) -> None:
    with pytest.raises(ConfigError) as err:
        load_profiles(["datbase"], checks)
    message = str(err.value)
    assert message.startswith("datbase: no built-in profile 'datbase' (available: ")
    assert "database" in message and "default" in message
    assert "\n" not in message


def test_missing_user_file(tmp_path: Path, checks: dict[str, Check]) -> None:
    spec = str(tmp_path / "absent.toml")
    with pytest.raises(ConfigError) as err:
        load_profiles([spec], checks)
    assert str(err.value) == f"{spec}: no such profile file"


def test_not_utf8(tmp_path: Path, checks: dict[str, Check]) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[profile]\ndescription = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_profiles([str(path)], checks)


def test_extends_cycle(tmp_path: Path, checks: dict[str, Check]) -> None:
    a = write(tmp_path, "a.toml", '[profile]\nextends = ["b.toml"]\n')
    b = write(tmp_path, "b.toml", '[profile]\nextends = ["a.toml"]\n')
    with pytest.raises(ConfigError) as err:
        load_profiles([a], checks)
    assert str(err.value) == f"{b}: profile.extends: extends cycle: {a} -> {b} -> {a}"


def test_extends_itself(tmp_path: Path, checks: dict[str, Check]) -> None:
    a = write(tmp_path, "self.toml", '[profile]\nextends = ["self.toml"]\n')
    with pytest.raises(ConfigError) as err:
        load_profiles([a], checks)
    assert err.value.key == "profile.extends"
    assert "extends cycle" in str(err.value)


def test_unknown_ids_follow_the_registry_passed_in(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    """A check that joins the registry later becomes valid without touching the loader."""
    spec = write(tmp_path, "psi.toml", '[checks]\ninclude = ["psi_memory"]\n')
    with pytest.raises(ConfigError, match="unknown check id 'psi_memory'"):
        load_profiles([spec], checks)
    grown = {**checks, "psi_memory": _fake("psi_memory", {})}
    assert load_profiles([spec], grown).selected == ["psi_memory"]


def test_builtin_profile_with_missing_check_is_an_error(checks: dict[str, Check]) -> None:
    smaller = {k: v for k, v in checks.items() if k != "oom_kills"}
    with pytest.raises(ConfigError) as err:
        load_profiles(["default"], smaller)
    assert str(err.value).startswith("profiles/default.toml: ")
    assert "oom_kills" in str(err.value)


def test_with_fail_on(checks: dict[str, Check]) -> None:
    eff = load_profiles(["default"], checks)
    assert eff.with_fail_on("high").fail_on == "high"
    assert eff.fail_on == "low"
    with pytest.raises(ConfigError) as err:
        eff.with_fail_on("severe")
    assert str(err.value) == (
        "--fail-on: expected one of critical, high, medium, low, got 'severe'"
    )


def test_as_dict(checks: dict[str, Check]) -> None:
    data = load_profiles(["database"], checks).as_dict()
    assert data["names"] == ["database"]
    assert [c["path"] for c in data["chain"]] == ["profiles/default.toml", "profiles/database.toml"]
    assert data["params"]["swappiness"] == {"min": 1, "max": 10}
    assert data["fail_on"] == "low"
    assert data["conflicts"] == []
