"""Profile loading: built-in files, merging, conflicts, narrowing and one-line config errors."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from memcheck.errors import ConfigError
from memcheck.model import ParamValue
from memcheck.profile import (
    EffectiveProfile,
    builtin_profile_names,
    check_per_profile,
    expand_auto,
    list_builtin_profiles,
    load_profiles,
    params_per_profile,
)
from memcheck.registry import Check, builtin_checks
from tests.fake_checks import FAKE_PARAMS, fake_check, fake_checks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"
ALL_PROFILES = [
    "default",
    "database",
    "postgres",
    "mysql",
    "redis",
    "mongodb",
    "mongodb8",
    "elasticsearch",
    "cassandra",
    "kubernetes-node",
    "container-host",
]

# --- what the catalogue's Profiles table says, written out by hand ---------------------------

DEFAULT_SELECTION = [
    "process_memory_growth",
    "oom_kills",
    "oom_protected_services",
    "memory_available",
    "psi_memory",
    "swap_activity",
    "swap_configured",
    "cgroup_memory_headroom",
    "cgroup_oom_events",
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
    "compaction_stalls",
    "numa_balance",
    "numa_policy",
]
DATABASE_SELECTION = DEFAULT_SELECTION + DATABASE_ADDS
DB_PROCESSES = ["postgres", "mysqld", "mariadbd", "mongod", "redis-server"]

# profile -> (checks it selects beyond default, params that must hold in the effective profile)
CATALOGUE: dict[str, tuple[list[str], dict[str, dict[str, ParamValue]]]] = {
    "default": (
        [],
        {
            "process_memory_growth": {"growth_percent": 50.0, "min_growth_mb": 256},
            "oom_protected_services": {"services": ["sshd"], "max": -900},
            "psi_memory": {"some_max": 10.0, "full_max": 1.0},
            "swap_activity": {
                "max_pages_per_second": 0.0,
                "storm_pages_per_second": 1000.0,
                "top_processes": 5,
            },
            "swap_configured": {"expect": "any"},
            "cgroup_memory_headroom": {"max_used_percent": 90.0},
            "cgroup_oom_events": {},
            "min_free_kbytes": {"min_kbytes": 1024, "max_percent": 5.0},
            "panic_on_oom": {"max": 0},
            "vfs_cache_pressure": {"max": 0},
            "sysctl_persisted": {},
        },
    ),
    "database": (
        DATABASE_ADDS,
        {
            "swappiness": {"min": 1, "max": 10},
            "vfs_cache_pressure": {"max": 50},
            "zone_reclaim_mode": {},
            "thp_enabled": {"allowed": ["never", "madvise"]},
            "thp_defrag": {"allowed": ["never", "madvise"]},
            "compaction_stalls": {"max_per_hour": 10.0},
            "numa_balance": {"max_free_spread_percent": 50.0, "max_miss_percent": 10.0},
            "numa_policy": {"processes": DB_PROCESSES},
            "swap_configured": {"expect": "present"},
        },
    ),
    "postgres": (
        [*DATABASE_ADDS, "overcommit_memory", "postmaster_oom"],
        {
            "overcommit_memory": {"allowed": [2], "max_commit_percent": 90.0},
            "postmaster_oom": {"max": -900},
            "thp_enabled": {"allowed": ["never"]},
            "thp_defrag": {"allowed": ["never", "madvise"]},
            "swappiness": {"min": 1, "max": 10},
            "swap_configured": {"expect": "present"},
        },
    ),
    "mysql": (
        DATABASE_ADDS,
        {"swappiness": {"min": 1, "max": 1}, "swap_configured": {"expect": "present"}},
    ),
    "redis": (
        ["overcommit_memory", "thp_enabled", "thp_defrag", "thp_persisted", "swappiness"],
        {
            "overcommit_memory": {"allowed": [1], "max_commit_percent": 90.0},
            "thp_enabled": {"allowed": ["never"]},
            "thp_defrag": {"allowed": ["never"]},
            "swap_configured": {"expect": "present"},
            "swappiness": {"min": 1, "max": 10},
            "vfs_cache_pressure": {"max": 0},
        },
    ),
    "mongodb": (
        [*DATABASE_ADDS, "overcommit_memory"],
        {
            "swappiness": {"min": 0, "max": 1},
            "thp_enabled": {"allowed": ["never"]},
            "thp_defrag": {"allowed": ["never"]},
            "overcommit_memory": {"allowed": [0, 1], "max_commit_percent": 90.0},
        },
    ),
    "mongodb8": (
        [*DATABASE_ADDS, "overcommit_memory"],
        {
            "thp_enabled": {"allowed": ["always"]},
            "thp_defrag": {"allowed": ["defer+madvise"]},
            "overcommit_memory": {"allowed": [1], "max_commit_percent": 90.0},
            "swappiness": {"min": 0, "max": 1},
        },
    ),
    "elasticsearch": (
        ["max_map_count", "swappiness"],
        {
            "max_map_count": {"min": 262144},
            "swap_configured": {"expect": "absent"},
            "swappiness": {"min": 0, "max": 1},
        },
    ),
    "cassandra": (
        [*DATABASE_ADDS, "max_map_count"],
        {
            "max_map_count": {"min": 1048575},
            "swap_configured": {"expect": "absent"},
            "zone_reclaim_mode": {},
            "thp_enabled": {"allowed": ["never"]},
            "thp_defrag": {"allowed": ["never"]},
        },
    ),
    "kubernetes-node": (
        ["overcommit_memory", "cgroup_v2"],
        {
            "swap_configured": {"expect": "absent"},
            "overcommit_memory": {"allowed": [1], "max_commit_percent": 90.0},
            "panic_on_oom": {"max": 0},
            "cgroup_v2": {},
            "oom_protected_services": {"services": ["sshd", "kubelet", "containerd"], "max": -900},
        },
    ),
    "container-host": (
        ["cgroup_v2", "service_memory_limits"],
        {
            "cgroup_v2": {},
            "cgroup_memory_headroom": {"max_used_percent": 85.0},
            "service_memory_limits": {"services": []},
            "swap_configured": {"expect": "any"},
        },
    ),
}
EXTENDS = {
    "default": [],
    "database": ["default"],
    "postgres": ["database"],
    "mysql": ["database"],
    "redis": ["default"],
    "mongodb": ["database"],
    "mongodb8": ["database"],
    "elasticsearch": ["default"],
    "cassandra": ["database"],
    "kubernetes-node": ["default"],
    "container-host": ["default"],
}
URL = re.compile(r"https://[^\s,;]+")


@pytest.fixture
def checks() -> dict[str, Check]:
    return fake_checks()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _toml(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = tomllib.loads((PROFILES_DIR / f"{name}.toml").read_text())
    return doc


def _chain(name: str) -> list[str]:
    out: list[str] = []
    for parent in EXTENDS[name]:
        out += [p for p in _chain(parent) if p not in out]
    return [*out, name]


# --- built-in profiles ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_builtin_files_are_toml_under_stdlib(name: str) -> None:
    doc = _toml(name)
    assert doc["profile"]["name"] == name
    assert doc["profile"]["description"]
    assert doc["profile"].get("extends", []) == EXTENDS[name]


def test_builtin_names_are_the_catalogue() -> None:
    assert builtin_profile_names() == sorted(ALL_PROFILES)


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_each_profile_selects_and_sets_what_the_catalogue_says(
    name: str, checks: dict[str, Check]
) -> None:
    adds, params = CATALOGUE[name]
    eff = load_profiles([name], checks)
    assert [s.name for s in eff.chain] == _chain(name)
    assert set(eff.selected) == set(DEFAULT_SELECTION) | set(adds)
    assert len(eff.selected) == len(set(eff.selected))
    assert eff.selected[: len(DEFAULT_SELECTION)] == DEFAULT_SELECTION
    for check_id, values in params.items():
        for key, value in values.items():
            got = eff.params[check_id][key]
            assert got == value and type(got) is type(value), (check_id, key, got)
    assert eff.fail_on == "low"
    assert eff.conflicts == []


def test_database_selection_order(checks: dict[str, Check]) -> None:
    assert load_profiles(["database"], checks).selected == DATABASE_SELECTION


def test_default_profile(checks: dict[str, Check]) -> None:
    eff = load_profiles(["default"], checks)
    assert eff.names == ["default"]
    assert eff.selected == DEFAULT_SELECTION
    assert eff.chain[0].path == "profiles/default.toml"
    assert eff.chain[0].builtin
    data = (PROFILES_DIR / "default.toml").read_bytes()
    assert eff.chain[0].sha256 == hashlib.sha256(data).hexdigest()
    assert set(eff.params) == set(DEFAULT_SELECTION)
    assert eff.severity["vfs_cache_pressure"] == "low"
    assert eff.severity["oom_kills"] == "high"


def test_no_spec_means_default(checks: dict[str, Check]) -> None:
    assert load_profiles([], checks).selected == DEFAULT_SELECTION


def test_database_inherits_default_untouched(checks: dict[str, Check]) -> None:
    eff = load_profiles(["database"], checks)
    assert eff.description.startswith("Dedicated database hosts")
    assert eff.params["oom_protected_services"]["max"] == -900
    assert eff.params["psi_memory"] == {"some_max": 10.0, "full_max": 1.0}


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_every_selected_check_names_an_authority_with_an_address(
    name: str, checks: dict[str, Check]
) -> None:
    eff = load_profiles([name], checks)
    assert set(eff.authority) == set(eff.selected)
    for check_id, text in eff.authority.items():
        assert URL.search(text), (name, check_id, text)
        assert len(text) < 500


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_a_profile_that_sets_a_threshold_names_its_authority(name: str) -> None:
    """Each file's own [authority] covers every check it adds or changes."""
    doc = _toml(name)
    own = set(doc.get("checks", {}).get("include", [])) | set(doc.get("params", {}))
    assert own <= set(doc.get("authority", {})), own - set(doc.get("authority", {}))
    text = (PROFILES_DIR / f"{name}.toml").read_text()
    for check_id in doc.get("params", {}):
        # ... and says so in a comment above the table as well.
        before = text.split(f"[params.{check_id}]")[0].rstrip().splitlines()
        assert before and before[-1].startswith("#"), (name, check_id)


def test_authorities_differ_where_vendors_disagree(checks: dict[str, Check]) -> None:
    def authority(name: str, check_id: str) -> str:
        return load_profiles([name], checks).authority[check_id]

    assert "postgresql.org" in authority("postgres", "overcommit_memory")
    assert "redis.io" in authority("redis", "overcommit_memory")
    assert "kubernetes" in authority("kubernetes-node", "overcommit_memory")
    assert "mongodb.com/docs/manual/administration/tcmalloc-performance" in authority(
        "mongodb8", "thp_enabled"
    )
    assert "mongodb.com/docs/v7.0" in authority("mongodb", "thp_enabled")
    assert "elastic.co" in authority("elasticsearch", "max_map_count")
    assert "StartupChecks" in authority("cassandra", "max_map_count")
    assert "mariadb.com" in authority("mysql", "swappiness")
    assert "docs.kernel.org" in authority("default", "vfs_cache_pressure")


def test_list_builtin_profiles() -> None:
    infos = {p.name: p for p in list_builtin_profiles()}
    assert sorted(infos) == sorted(ALL_PROFILES)
    for name, info in infos.items():
        assert info.extends == EXTENDS[name]
        assert info.description
        assert Path(info.path).is_file()


def test_params_per_profile(checks: dict[str, Check]) -> None:
    swappiness = params_per_profile("swappiness", checks)
    assert swappiness == {
        "cassandra": {"min": 1, "max": 10},
        "database": {"min": 1, "max": 10},
        "elasticsearch": {"min": 0, "max": 1},
        "mongodb": {"min": 0, "max": 1},
        "mongodb8": {"min": 0, "max": 1},
        "mysql": {"min": 1, "max": 1},
        "postgres": {"min": 1, "max": 10},
        "redis": {"min": 1, "max": 10},
    }
    assert params_per_profile("vfs_cache_pressure", checks)["default"] == {"max": 0}
    assert params_per_profile("vfs_cache_pressure", checks)["database"] == {"max": 50}
    assert set(params_per_profile("oom_kills", checks)) == set(ALL_PROFILES)
    with pytest.raises(ConfigError, match="unknown check id 'nope'"):
        params_per_profile("nope", checks)


def test_check_per_profile_gives_params_and_authority(checks: dict[str, Check]) -> None:
    views = check_per_profile("overcommit_memory", checks)
    assert sorted(views) == ["kubernetes-node", "mongodb", "mongodb8", "postgres", "redis"]
    assert views["postgres"].params == {"allowed": [2], "max_commit_percent": 90.0}
    assert views["postgres"].authority is not None
    assert "LINUX-MEMORY-OVERCOMMIT" in views["postgres"].authority
    assert views["redis"].params["allowed"] == [1]
    assert "syscheck.c" in (views["redis"].authority or "")


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_builtin_profiles_load_against_real_registry(name: str) -> None:
    real = builtin_checks()
    eff = load_profiles([name], real)
    adds, params = CATALOGUE[name]
    assert set(eff.selected) == set(DEFAULT_SELECTION) | set(adds)
    for check_id in eff.selected:
        assert eff.severity[check_id] == real[check_id].meta.severity
        assert eff.authority[check_id]
    for check_id, values in params.items():
        for key, value in values.items():
            assert eff.params[check_id][key] == value, (check_id, key)


def test_fake_registry_matches_the_real_one() -> None:
    """The stand-ins are the real checks' ids and params (names, kinds, defaults, choices)."""
    real = builtin_checks()
    assert set(FAKE_PARAMS) == set(real)
    for check_id, params in FAKE_PARAMS.items():
        declared = real[check_id].meta.params
        assert set(declared) == set(params), check_id
        for key, param in params.items():
            assert declared[key].kind == param.kind, (check_id, key)
            assert declared[key].default == param.default, (check_id, key)
            assert declared[key].choices == param.choices, (check_id, key)


# --- the [authority] table --------------------------------------------------------------------


def test_authority_merges_like_params(tmp_path: Path, checks: dict[str, Check]) -> None:
    mine = write(
        tmp_path,
        "mine.toml",
        '[profile]\nextends = ["postgres"]\n[authority]\n'
        'overcommit_memory = "  Our DBA team,\t  https://wiki.example/overcommit  "\n',
    )
    eff = load_profiles([mine], checks)
    assert eff.authority["overcommit_memory"] == "Our DBA team, https://wiki.example/overcommit"
    assert "postgresql.org" in eff.authority["postmaster_oom"]
    narrowed = eff.narrow(["swappiness"], None)
    assert set(narrowed.authority) == {"swappiness"}
    assert eff.as_dict()["authority"]["overcommit_memory"].startswith("Our DBA team")


def test_authority_for_an_unselected_check_is_kept_for_narrowing(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    mine = write(
        tmp_path, "a.toml", '[authority]\nswappiness = "Kernel, https://docs.kernel.org"\n'
    )
    eff = load_profiles([mine], checks)
    assert eff.selected == []
    assert eff.authority == {}
    assert eff.narrow(["swappiness"], None).authority == {
        "swappiness": "Kernel, https://docs.kernel.org"
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


def _conflict(eff: EffectiveProfile, check: str, param: str) -> dict[str, Any] | None:
    found = [c for c in eff.conflicts if (c["check"], c["param"]) == (check, param)]
    assert len(found) <= 1
    return found[0] if found else None


def test_redis_and_postgres_disagree_on_overcommit_and_thp(checks: dict[str, Check]) -> None:
    eff = load_profiles(["redis", "postgres"], checks)
    assert _conflict(eff, "overcommit_memory", "allowed") == {
        "check": "overcommit_memory",
        "param": "allowed",
        "values": [{"profile": "redis", "value": [1]}, {"profile": "postgres", "value": [2]}],
        "winner": "postgres",
    }
    assert eff.params["overcommit_memory"]["allowed"] == [2]
    thp = _conflict(eff, "thp_defrag", "allowed")
    assert thp is not None
    assert thp["values"] == [
        {"profile": "redis", "value": ["never"]},
        {"profile": "postgres", "value": ["never", "madvise"]},
    ]
    assert thp["winner"] == "postgres"
    # Both ask for THP enabled "never" and swappiness 1..10: no disagreement there.
    assert _conflict(eff, "thp_enabled", "allowed") is None
    assert _conflict(eff, "swappiness", "max") is None
    # redis inherits vfs_cache_pressure from default, which database (in postgres) refines:
    # the result is the same in either order, so it is not a conflict.
    assert _conflict(eff, "vfs_cache_pressure", "max") is None
    assert eff.params["vfs_cache_pressure"] == {"max": 50}
    assert {(c["check"], c["param"]) for c in eff.conflicts} == {
        ("overcommit_memory", "allowed"),
        ("thp_defrag", "allowed"),
    }


def test_later_wins_either_way_and_the_conflict_says_so(checks: dict[str, Check]) -> None:
    eff = load_profiles(["postgres", "redis"], checks)
    conflict = _conflict(eff, "overcommit_memory", "allowed")
    assert conflict is not None and conflict["winner"] == "redis"
    assert conflict["values"][0] == {"profile": "postgres", "value": [2]}
    assert eff.params["overcommit_memory"]["allowed"] == [1]
    assert eff.params["thp_defrag"]["allowed"] == ["never"]
    # Refinements do not depend on the order.
    assert eff.params["vfs_cache_pressure"] == {"max": 50}


def test_mongodb8_and_redis_disagree_on_thp_and_swappiness(checks: dict[str, Check]) -> None:
    eff = load_profiles(["mongodb8", "redis"], checks)
    enabled = _conflict(eff, "thp_enabled", "allowed")
    assert enabled is not None
    assert enabled["values"] == [
        {"profile": "mongodb8", "value": ["always"]},
        {"profile": "redis", "value": ["never"]},
    ]
    assert enabled["winner"] == "redis"
    defrag = _conflict(eff, "thp_defrag", "allowed")
    assert defrag is not None
    assert [v["value"] for v in defrag["values"]] == [["defer+madvise"], ["never"]]
    assert _conflict(eff, "swappiness", "min") is not None
    assert _conflict(eff, "swappiness", "max") is not None
    # Both want overcommit mode 1.
    assert _conflict(eff, "overcommit_memory", "allowed") is None


def test_a_refinement_of_a_shared_parent_is_not_a_conflict(checks: dict[str, Check]) -> None:
    """mongodb refines database's swappiness and THP; postgres only inherits them."""
    for order in (["mongodb", "postgres"], ["postgres", "mongodb"]):
        eff = load_profiles(order, checks)
        assert eff.params["swappiness"] == {"min": 0, "max": 1}
        assert eff.params["thp_defrag"]["allowed"] == ["never"]
        assert _conflict(eff, "swappiness", "min") is None
        assert _conflict(eff, "thp_defrag", "allowed") is None
        # ... but both set overcommit_memory themselves, to different modes.
        overcommit = _conflict(eff, "overcommit_memory", "allowed")
        assert overcommit is not None and overcommit["winner"] == order[-1]


def test_default_under_another_profile_has_no_conflicts(checks: dict[str, Check]) -> None:
    assert load_profiles(["default", "redis"], checks).conflicts == []
    assert load_profiles(["redis", "default"], checks).conflicts == []
    assert load_profiles(["database", "postgres"], checks).conflicts == []


def test_kubernetes_node_and_postgres(checks: dict[str, Check]) -> None:
    eff = load_profiles(["kubernetes-node", "postgres"], checks)
    assert {(c["check"], c["param"]) for c in eff.conflicts} == {
        ("overcommit_memory", "allowed"),
        ("swap_configured", "expect"),
    }
    assert eff.params["swap_configured"] == {"expect": "present"}
    # kubernetes-node's protected services survive: postgres does not set them.
    assert eff.params["oom_protected_services"]["services"] == ["sshd", "kubelet", "containerd"]


def test_three_profiles_list_every_value(checks: dict[str, Check]) -> None:
    eff = load_profiles(["redis", "postgres", "kubernetes-node"], checks)
    conflict = _conflict(eff, "overcommit_memory", "allowed")
    assert conflict is not None
    assert conflict["values"] == [
        {"profile": "redis", "value": [1]},
        {"profile": "postgres", "value": [2]},
        {"profile": "kubernetes-node", "value": [1]},
    ]
    assert conflict["winner"] == "kubernetes-node"


def test_a_user_file_extending_a_builtin_overrides_without_conflict(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    mine = write(
        tmp_path,
        "mine.toml",
        '[profile]\nextends = ["redis"]\n[params.overcommit_memory]\nallowed = [0, 1]\n',
    )
    for order in ([mine, "redis"], ["redis", mine]):
        eff = load_profiles(order, checks)
        assert eff.params["overcommit_memory"]["allowed"] == [0, 1]
        assert eff.conflicts == []


def test_conflicts_concern_only_the_checks_that_run(
    tmp_path: Path, checks: dict[str, Check]
) -> None:
    eff = load_profiles(["redis", "postgres"], checks)
    assert eff.narrow(None, ["thp_defrag"]).conflicts == [
        c for c in eff.conflicts if c["check"] == "overcommit_memory"
    ]
    assert eff.narrow(["swappiness"], None).conflicts == []
    # Narrowing back to a check brings its conflict back.
    assert eff.narrow(["thp_*"], None).narrow(["thp_defrag"], None).conflicts == [
        c for c in eff.conflicts if c["check"] == "thp_defrag"
    ]
    drop = write(tmp_path, "drop.toml", '[checks]\nexclude = ["overcommit_memory"]\n')
    assert {c["check"] for c in load_profiles(["redis", "postgres", drop], checks).conflicts} == {
        "thp_defrag"
    }


def test_expand_auto() -> None:
    assert expand_auto(["auto"], ["postgres", "redis"]) == ["postgres", "redis"]
    assert expand_auto(["auto"], []) == ["default"]
    assert expand_auto(["auto", "mine.toml"], ["redis"]) == ["redis", "mine.toml"]
    assert expand_auto(["mine.toml", "auto"], []) == ["mine.toml", "default"]
    assert expand_auto(["redis", "auto"], ["postgres", "redis"]) == ["redis", "postgres"]
    assert expand_auto(["database"], ["redis"]) == ["database"]


def test_auto_is_not_a_profile_file(checks: dict[str, Check]) -> None:
    with pytest.raises(ConfigError) as err:
        load_profiles(["auto"], checks)
    assert str(err.value).startswith("auto: 'auto' picks profiles per host")


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
    ("glob_matches_nothing", '[checks]\ninclude = ["ksm_*"]\n', "checks.include",
     "glob 'ksm_*' matches no known check"),
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
    ("authority_unknown_check", '[authority]\nswapiness = "x, https://a"\n',
     "authority.swapiness", "unknown check id"),
    ("authority_not_text", "[authority]\nswappiness = 1\n", "authority.swappiness",
     "expected the authority's name and address as text, got an integer"),
    ("authority_empty", '[authority]\nswappiness = "  "\n', "authority.swappiness",
     "got an empty string"),
    ("authority_not_table", 'authority = "kernel"\n', "authority", "expected a table"),
    ("param_not_a_choice", '[params.swap_configured]\nexpect = "maybe"\n',
     "params.swap_configured.expect", "expected a string from present, absent, any"),
    ("param_int_list_wrong", '[params.overcommit_memory]\nallowed = ["1"]\n',
     "params.overcommit_memory.allowed", "expected a list of integers"),
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
    spec = write(tmp_path, "ksm.toml", '[checks]\ninclude = ["ksm_enabled"]\n')
    with pytest.raises(ConfigError, match="unknown check id 'ksm_enabled'"):
        load_profiles([spec], checks)
    grown = {**checks, "ksm_enabled": fake_check("ksm_enabled", {})}
    assert load_profiles([spec], grown).selected == ["ksm_enabled"]


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
