"""sysctl_persisted: boot values (config, else kernel default, else runtime) judged by the
selected checks' own rules."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import snapshot_from

CHECKS = builtin_checks()
CHECK = CHECKS["sysctl_persisted"]
ETC, USR = "/etc/sysctl.d", "/usr/lib/sysctl.d"
SWAPPINESS = "/proc/sys/vm/swappiness"


def selected(*ids: str, **overrides: Mapping[str, ParamValue]) -> dict[str, dict[str, ParamValue]]:
    chosen = {i: dict(CHECKS[i].meta.defaults()) for i in ids}
    for check_id, params in overrides.items():
        chosen.setdefault(check_id, {}).update(params)
    return chosen


def run(
    files: Mapping[str, str],
    selection: Mapping[str, Mapping[str, ParamValue]],
    links: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    facts = Facts(snapshot_from(files, links, errors), selection={**selection, CHECK.id: {}})
    return evaluate(CHECK, facts, {})


def by_key(result: CheckResult, key: str) -> list[dict[str, object]]:
    return [e for e in result.evidence if e.get("key") == key]


def test_meta() -> None:
    assert CHECK.meta.params == {}
    assert set(CHECK.meta.reads) == {
        "/etc/sysctl.conf",
        "/etc/sysctl.d/**",
        "/run/sysctl.d/**",
        "/usr/local/lib/sysctl.d/**",
        "/usr/lib/sysctl.d/**",
        "/lib/sysctl.d/**",
    }


def test_nothing_selected_skips() -> None:
    result = run({SWAPPINESS: "60\n"}, {})
    assert result.outcome == "skip"
    assert "no selected check constrains a sysctl" in result.message


def test_only_non_sysctl_checks_selected_skips() -> None:
    result = run({SWAPPINESS: "60\n"}, {"memory_available": {}, "not_a_check": {}, "../evil": {}})
    assert result.outcome == "skip"


def test_configured_value_passes_and_names_its_source() -> None:
    result = run(
        {SWAPPINESS: "10\n", f"{ETC}/90-db.conf": "# database\nvm.swappiness = 10\n"},
        selected("swappiness"),
    )
    assert result.outcome == "pass"
    assert "vm.swappiness = 10 (/etc/sysctl.d/90-db.conf:2)" in result.message
    (item,) = by_key(result, "vm.swappiness")
    assert (item["source"], item["line"], item["origin"]) == (f"{ETC}/90-db.conf", 2, "config")
    assert (item["boot_value"], item["runtime_value"], item["complies"]) == (10, 10, True)


def test_later_sorting_vendor_file_resets_it_so_it_reverts_at_reboot() -> None:
    result = run(
        {
            SWAPPINESS: "10\n",
            f"{ETC}/10-db.conf": "vm.swappiness = 10\n",
            f"{USR}/50-vendor.conf": "vm.swappiness = 60\n",
        },
        selected("swappiness"),
    )
    assert result.outcome == "fail"
    assert "/usr/lib/sysctl.d/50-vendor.conf:1" in result.message
    assert "reverts at reboot" in result.message
    assert result.observed == "vm.swappiness = 60 (/usr/lib/sysctl.d/50-vendor.conf:1)"
    main, overridden = by_key(result, "vm.swappiness")
    assert (main["source"], main["complies"]) == (f"{USR}/50-vendor.conf", False)
    assert (overridden["source"], overridden["line"]) == (f"{ETC}/10-db.conf", 1)
    assert overridden["overridden_by"] == f"{USR}/50-vendor.conf:1"


def test_set_only_at_runtime_reverts_to_the_kernel_default() -> None:
    result = run({SWAPPINESS: "10\n"}, selected("swappiness"))
    assert result.outcome == "fail"
    assert "vm.swappiness = 60 (kernel default)" in result.message
    assert "reverts at reboot" in result.message
    (item,) = by_key(result, "vm.swappiness")
    assert item["origin"] == "kernel default" and "source" not in item


def test_kernel_defaults_that_comply_pass() -> None:
    result = run(
        {"/proc/sys/vm/panic_on_oom": "0\n", "/proc/sys/vm/vfs_cache_pressure": "100\n"},
        selected("panic_on_oom", "vfs_cache_pressure"),
    )
    assert result.outcome == "pass"
    assert "vm.panic_on_oom = 0 (kernel default)" in result.message
    assert "vm.vfs_cache_pressure = 100 (kernel default)" in result.message


def test_etc_sysctl_conf_is_applied_last() -> None:
    result = run(
        {
            SWAPPINESS: "10\n",
            f"{ETC}/99-zz-late.conf": "vm.swappiness = 60\n",
            "/etc/sysctl.conf": "vm.swappiness = 10\n",
        },
        selected("swappiness"),
    )
    assert result.outcome == "pass"
    assert "(/etc/sysctl.conf:1)" in result.message


def test_99_sysctl_conf_link_is_reported_once() -> None:
    result = run(
        {SWAPPINESS: "10\n", "/etc/sysctl.conf": "vm.swappiness = 10\n"},
        selected("swappiness"),
        links={f"{ETC}/99-sysctl.conf": "../sysctl.conf"},
    )
    assert result.outcome == "pass"
    assert len(by_key(result, "vm.swappiness")) == 1
    assert result.evidence[0]["files"] == ["/etc/sysctl.conf"]


def test_masked_vendor_file_does_not_count() -> None:
    result = run(
        {
            SWAPPINESS: "10\n",
            f"{USR}/99-vendor.conf": "vm.swappiness = 60\n",
            f"{ETC}/10-db.conf": "vm.swappiness = 10\n",
        },
        selected("swappiness"),
        links={f"{ETC}/99-vendor.conf": "/dev/null"},
    )
    assert result.outcome == "pass"
    assert any("masked" in str(e["text"]) for e in result.evidence)


def test_wrong_now_and_after_reboot() -> None:
    result = run(
        {SWAPPINESS: "30\n", f"{ETC}/90-x.conf": "vm.swappiness = 40\n"}, selected("swappiness")
    )
    assert result.outcome == "fail"
    assert "and so does the runtime value 30" in result.message
    assert "reverts" not in result.message


def test_boot_value_complies_while_runtime_does_not() -> None:
    result = run(
        {SWAPPINESS: "60\n", f"{ETC}/90-db.conf": "vm.swappiness = 5\n"}, selected("swappiness")
    )
    assert result.outcome == "pass"
    assert "now 60" in result.message


def test_each_check_judges_with_its_effective_params() -> None:
    files = {SWAPPINESS: "60\n"}
    assert run(files, selected("swappiness")).outcome == "fail"
    assert run(files, selected("swappiness", swappiness={"min": 0, "max": 100})).outcome == "pass"
    # params missing from the selection fall back to the check's defaults
    assert run(files, {"swappiness": {"max": 100}}).outcome == "pass"


def test_several_keys_one_failing() -> None:
    result = run(
        {
            SWAPPINESS: "10\n",
            "/proc/sys/vm/panic_on_oom": "0\n",
            f"{ETC}/90-db.conf": "vm.swappiness = 10\n",
            "/etc/sysctl.conf": "vm.panic_on_oom = 1\n",
        },
        selected("swappiness", "panic_on_oom"),
    )
    assert result.outcome == "fail"
    assert "vm.panic_on_oom = 1 (/etc/sysctl.conf:1) fails panic_on_oom" in result.message
    assert "swappiness" not in result.message
    assert result.expected == "boot values that panic_on_oom, swappiness accept"


def test_non_integer_configured_value_leaves_the_default() -> None:
    result = run(
        {SWAPPINESS: "10\n", f"{ETC}/90-db.conf": "vm.swappiness = low\n"}, selected("swappiness")
    )
    assert result.outcome == "fail"
    assert "not an integer" in result.message
    assert "60" in result.message


def test_missing_zone_reclaim_mode_is_not_judged() -> None:
    only = run({}, selected("zone_reclaim_mode"))
    assert only.outcome == "skip"
    assert "none of the constrained sysctls exists" in only.message
    mixed = run(
        {SWAPPINESS: "10\n", f"{ETC}/90-db.conf": "vm.swappiness = 10\n"},
        selected("zone_reclaim_mode", "swappiness"),
    )
    assert mixed.outcome == "pass"
    assert any("vm.zone_reclaim_mode does not exist" in str(e["text"]) for e in mixed.evidence)


def test_zone_reclaim_mode_on_numa_is_judged() -> None:
    result = run(
        {
            "/proc/sys/vm/zone_reclaim_mode": "0\n",
            f"{USR}/50-numa.conf": "vm.zone_reclaim_mode = 1\n",
        },
        selected("zone_reclaim_mode"),
    )
    assert result.outcome == "fail"
    assert "reverts at reboot" in result.message


MEMINFO = "MemTotal: 16000000 kB\n"


def test_min_free_kbytes_without_config_uses_the_runtime_value() -> None:
    result = run(
        {"/proc/sys/vm/min_free_kbytes": "67584\n", "/proc/meminfo": MEMINFO},
        selected("min_free_kbytes"),
    )
    assert result.outcome == "pass"
    assert "vm.min_free_kbytes = 67584 (runtime value)" in result.message


def test_min_free_kbytes_config_judged_against_ram() -> None:
    result = run(
        {
            "/proc/sys/vm/min_free_kbytes": "67584\n",
            "/proc/meminfo": MEMINFO,
            f"{ETC}/90-x.conf": "vm.min_free_kbytes = 2000000\n",
        },
        selected("min_free_kbytes"),
    )
    assert result.outcome == "fail"
    assert "reverts at reboot" in result.message


@pytest.mark.parametrize(
    ("files", "errors", "fragment"),
    [
        ({SWAPPINESS: "10\n"}, {f"{ETC}/90-db.conf": "permission denied"}, "90-db.conf"),
        ({SWAPPINESS: "10\n"}, {ETC: "permission denied"}, "/etc/sysctl.d"),
    ],
)
def test_unreadable_configuration_is_an_error(
    files: dict[str, str], errors: dict[str, str], fragment: str
) -> None:
    result = run(files, selected("swappiness"), errors=errors)
    assert result.outcome == "error"
    assert fragment in result.message


def test_unknown_boot_value_is_an_error() -> None:
    result = run(
        {"/proc/meminfo": MEMINFO},
        selected("min_free_kbytes"),
        errors={"/proc/sys/vm/min_free_kbytes": "permission denied"},
    )
    assert result.outcome == "error"
    assert "cannot tell the boot value of vm.min_free_kbytes" in result.message


def test_ignored_lines_are_evidence() -> None:
    result = run(
        {SWAPPINESS: "10\n", "/etc/sysctl.conf": "vm.swappiness = 10\nnot a setting\n"},
        selected("swappiness"),
    )
    assert result.outcome == "pass"
    (ignored,) = [e for e in result.evidence if str(e["text"]).startswith("ignored line")]
    assert (ignored["source"], ignored["line"]) == ("/etc/sysctl.conf", 2)
