from __future__ import annotations

from collections.abc import Mapping

import pytest

from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.model import ParamValue
from memcheck.registry import builtin_checks
from memcheck.results import CheckResult
from tests.snapshots import snapshot_from

CHECK = builtin_checks()["thp_persisted"]
THP = "/sys/kernel/mm/transparent_hugepage"
ETC = "/etc/systemd/system"
USR = "/usr/lib/systemd/system"
RUNTIME = {
    f"{THP}/enabled": "always madvise [never]\n",
    f"{THP}/defrag": "always defer defer+madvise madvise [never]\n",
    "/proc/sys/kernel/osrelease": "6.8.0-31-generic\n",
    "/proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz-6.8.0-31-generic root=UUID=1 ro quiet\n",
    "/proc/1/comm": "systemd\n",
}
KCONFIG_ALWAYS = "CONFIG_TRANSPARENT_HUGEPAGE=y\nCONFIG_TRANSPARENT_HUGEPAGE_ALWAYS=y\n# CONFIG_TRANSPARENT_HUGEPAGE_MADVISE is not set\n"
KCONFIG_MADVISE = "CONFIG_TRANSPARENT_HUGEPAGE=y\n# CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS is not set\nCONFIG_TRANSPARENT_HUGEPAGE_MADVISE=y\n"
DISABLE_THP = """[Unit]
Description=Disable Transparent Huge Pages (THP)
DefaultDependencies=no
After=sysinit.target local-fs.target
Before=mongod.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo never | tee /sys/kernel/mm/transparent_hugepage/enabled > /dev/null'
ExecStart=/bin/sh -c 'echo never | tee /sys/kernel/mm/transparent_hugepage/defrag > /dev/null'

[Install]
WantedBy=basic.target
"""
WANTS_LINK = {f"{ETC}/basic.target.wants/disable-thp.service": f"{ETC}/disable-thp.service"}


def run(
    files: Mapping[str, str],
    links: Mapping[str, str] | None = None,
    selection: Mapping[str, Mapping[str, ParamValue]] | None = None,
    errors: Mapping[str, str] | None = None,
) -> CheckResult:
    facts = Facts(snapshot_from({**RUNTIME, **files}, links=links, errors=errors), selection)
    return evaluate(CHECK, facts, {})


def texts(result: CheckResult) -> str:
    return "\n".join(str(e["text"]) for e in result.evidence)


def test_enabled_disable_thp_unit_passes() -> None:
    result = run(
        {
            f"{ETC}/disable-thp.service": DISABLE_THP,
            "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS,
        },
        links=WANTS_LINK,
    )
    assert result.outcome == "pass", result.message
    assert "systemd unit disable-thp.service" in result.message
    assert result.observed == (
        "enabled=never (systemd unit disable-thp.service); defrag=never (systemd unit disable-thp.service)"
    )
    lines = {(e.get("source"), e.get("line")) for e in result.evidence}
    assert (f"{ETC}/disable-thp.service", 9) in lines
    assert (f"{ETC}/disable-thp.service", 10) in lines


def test_disable_thp_unit_present_but_not_enabled_fails() -> None:
    result = run(
        {f"{ETC}/disable-thp.service": DISABLE_THP, "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS}
    )
    assert result.outcome == "fail"
    assert "enabled would be always (kernel built-in default)" in result.message
    assert "ignored, does not run at boot" in texts(result)
    assert "disable-thp.service is not enabled" in texts(result)
    # defrag falls back to the 4.6+ built-in default, madvise, which is allowed
    assert "defrag" not in result.message


def test_masked_unit_does_not_count() -> None:
    result = run(
        {
            f"{USR}/disable-thp.service": DISABLE_THP,
            "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS,
        },
        links={
            f"{ETC}/disable-thp.service": "/dev/null",
            f"{ETC}/basic.target.wants/disable-thp.service": f"{USR}/disable-thp.service",
        },
    )
    assert result.outcome == "fail"
    assert "disable-thp" not in texts(result)


def test_unit_running_a_script_in_the_snapshot() -> None:
    unit = "[Service]\nType=oneshot\nExecStart=/etc/thp/disable.sh\n[Install]\nWantedBy=multi-user.target\n"
    script = "#!/bin/sh\nfor f in enabled defrag; do :; done\necho never > /sys/kernel/mm/transparent_hugepage/enabled\n"
    result = run(
        {
            f"{ETC}/thp.service": unit,
            "/etc/thp/disable.sh": script,
            "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS,
        },
        links={f"{ETC}/multi-user.target.wants/thp.service": f"{ETC}/thp.service"},
    )
    assert result.outcome == "pass", result.message
    assert "systemd unit thp.service via /etc/thp/disable.sh" in result.message


def test_grub_cmdline_passes_and_defrag_uses_kernel_default() -> None:
    grub = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\nGRUB_CMDLINE_LINUX="transparent_hugepage=never"\n'
    result = run({"/etc/default/grub": grub, "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS})
    assert result.outcome == "pass", result.message
    assert "enabled=never (kernel command line)" in str(result.observed)
    assert "defrag=madvise (kernel built-in default)" in str(result.observed)
    cmdline = next(e for e in result.evidence if "kernel command line" in str(e["text"]))
    assert (cmdline["source"], cmdline["line"]) == ("/etc/default/grub", 3)
    assert "running kernel was booted with transparent_hugepage=(unset)" in str(cmdline["text"])


def test_grub_cfg_not_regenerated_is_what_boots() -> None:
    grub = 'GRUB_CMDLINE_LINUX="transparent_hugepage=never"\n'
    cfg = "menuentry 'Ubuntu' {\n\tlinux\t/boot/vmlinuz-6.8.0-31-generic root=UUID=1 ro quiet\n}\n"
    result = run(
        {
            "/etc/default/grub": grub,
            "/boot/grub/grub.cfg": cfg,
            "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS,
        }
    )
    assert result.outcome == "fail"
    assert "always (kernel built-in default)" in result.message


def test_bls_entry_on_rhel9() -> None:
    entry = (
        "title RHEL\nversion 5.14.0-427.el9.x86_64\nlinux /vmlinuz-5.14.0-427.el9.x86_64\n"
        "options root=/dev/mapper/rhel-root ro transparent_hugepage=never\n"
    )
    result = run(
        {
            "/proc/sys/kernel/osrelease": "5.14.0-427.el9.x86_64\n",
            "/boot/loader/entries/abc-5.14.0-427.el9.x86_64.conf": entry,
            "/boot/config-5.14.0-427.el9.x86_64": KCONFIG_ALWAYS,
        }
    )
    assert result.outcome == "pass", result.message
    cmdline = next(e for e in result.evidence if "kernel command line" in str(e["text"]))
    assert cmdline["source"] == "/boot/loader/entries/abc-5.14.0-427.el9.x86_64.conf"
    assert cmdline["line"] == 4


def test_running_cmdline_only_when_no_loader_config() -> None:
    result = run({"/proc/cmdline": "ro transparent_hugepage=madvise\n"})
    assert result.outcome == "pass", result.message
    assert "assuming the running command line is used again" in texts(result)


TUNED_PARENT = "[main]\nsummary=parent\n[vm]\ntransparent_hugepages=always\n"
TUNED_CHILD = "[main]\ninclude=throughput-performance\n[vm]\ntransparent_hugepages=never\ntransparent_hugepage.defrag=never\n"
TUNED_FILES = {
    "/etc/tuned/active_profile": "no-thp\n",
    "/etc/tuned/no-thp/tuned.conf": TUNED_CHILD,
    "/usr/lib/tuned/throughput-performance/tuned.conf": TUNED_PARENT,
    f"{USR}/tuned.service": "[Service]\nExecStart=/usr/sbin/tuned -l -P\n[Install]\nWantedBy=multi-user.target\n",
    "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS,
}
TUNED_LINK = {f"{ETC}/multi-user.target.wants/tuned.service": f"{USR}/tuned.service"}


def test_tuned_profile_with_include() -> None:
    result = run(TUNED_FILES, links=TUNED_LINK)
    assert result.outcome == "pass", result.message
    assert "tuned profile no-thp" in result.message
    sources = {e.get("source") for e in result.evidence}
    assert "/etc/tuned/no-thp/tuned.conf" in sources


def test_tuned_parent_only_sets_always() -> None:
    files = {**TUNED_FILES, "/etc/tuned/active_profile": "throughput-performance\n"}
    result = run(files, links=TUNED_LINK)
    assert result.outcome == "fail"
    assert "enabled would be always (tuned profile throughput-performance)" in result.message


def test_tuned_not_enabled_is_ignored() -> None:
    result = run(TUNED_FILES)
    assert result.outcome == "fail"
    assert "tuned.service is not enabled" in texts(result)


def test_conflicting_writers_fail() -> None:
    files = {
        **TUNED_FILES,
        "/etc/tuned/active_profile": "throughput-performance\n",
        f"{ETC}/disable-thp.service": DISABLE_THP,
    }
    result = run(files, links={**TUNED_LINK, **WANTS_LINK})
    assert result.outcome == "fail"
    assert "enabled would be always/never" in result.message


def test_tmpfiles_w_line() -> None:
    conf = (
        "w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise\n"
        "w /sys/kernel/mm/transparent_hugepage/defrag - - - - defer+madvise\n"
    )
    result = run(
        {"/etc/tmpfiles.d/thp.conf": conf, "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS}
    )
    assert result.outcome == "fail"  # defer+madvise is not in the default never|madvise
    assert "defrag would be defer+madvise (tmpfiles.d thp.conf)" in result.message
    mongo = run(
        {"/etc/tmpfiles.d/thp.conf": conf},
        selection={
            "thp_enabled": {"allowed": ["always", "madvise"]},
            "thp_defrag": {"allowed": ["defer+madvise"]},
        },
    )
    assert mongo.outcome == "pass", mongo.message


def test_rc_local_enabled_by_generator() -> None:
    rc = "#!/bin/sh -e\necho never > /sys/kernel/mm/transparent_hugepage/enabled\nexit 0\n"
    result = run(
        {
            "/etc/rc.local": rc,
            f"{USR}/rc-local.service": "[Service]\nExecStart=/etc/rc.local start\n",
            "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS,
        },
        links={
            "/run/systemd/generator/multi-user.target.wants/rc-local.service": f"{USR}/rc-local.service"
        },
    )
    assert result.outcome == "pass", result.message
    assert "rc.local" in result.message


def test_rc_local_not_executable_is_ignored() -> None:
    rc = "#!/bin/sh -e\necho never > /sys/kernel/mm/transparent_hugepage/enabled\nexit 0\n"
    result = run({"/etc/rc.local": rc, "/boot/config-6.8.0-31-generic": KCONFIG_ALWAYS})
    assert result.outcome == "fail"
    assert "rc-local.service is not enabled" in texts(result)


def test_kernel_default_from_boot_config() -> None:
    result = run({"/boot/config-6.8.0-31-generic": KCONFIG_MADVISE})
    assert result.outcome == "pass", result.message
    default = next(e for e in result.evidence if e.get("control") == "enabled")
    assert default["source"] == "/boot/config-6.8.0-31-generic"
    assert "CONFIG_TRANSPARENT_HUGEPAGE_MADVISE=y" in str(default["text"])


def test_selection_narrows_what_is_required() -> None:
    result = run(
        {"/boot/config-6.8.0-31-generic": KCONFIG_MADVISE},
        selection={"thp_enabled": {"allowed": ["never"]}},
    )
    assert result.outcome == "fail"
    assert "enabled would be madvise (kernel built-in default), not never" in result.message


def test_old_kernel_defrag_default_is_always() -> None:
    result = run(
        {
            "/proc/sys/kernel/osrelease": "3.10.0-1160.el7.x86_64\n",
            "/etc/default/grub": 'GRUB_CMDLINE_LINUX="transparent_hugepage=never"\n',
        }
    )
    assert result.outcome == "fail"
    assert "defrag would be always (kernel built-in default)" in result.message


def test_nothing_found_fails_as_unknown() -> None:
    result = run(
        {"/proc/sys/kernel/osrelease": ""}, errors={"/proc/sys/kernel/osrelease": "no such file"}
    )
    assert result.outcome == "fail"
    assert "enabled: unknown after reboot" in result.message
    assert "defrag: unknown after reboot" in result.message


def test_boot_config_missing_is_said() -> None:
    result = run({})
    assert result.outcome == "fail"
    assert "/boot/config-6.8.0-31-generic is not in the snapshot" in texts(result)


def test_compiled_out_skips() -> None:
    facts = Facts(snapshot_from({"/proc/cmdline": "ro\n"}))
    result = evaluate(CHECK, facts, {})
    assert result.outcome == "skip"


def test_malformed_grub_defaults_errors() -> None:
    result = run({"/etc/default/grub": 'GRUB_CMDLINE_LINUX="never closed\n'})
    assert result.outcome == "error"
    assert "/etc/default/grub" in result.message


def test_units_are_parsed_for_thp_writes_only_when_some_file_names_thp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memcheck.facts.systemd import SystemdFacts

    parsed: list[str] = []
    real = SystemdFacts.unit

    def counting(self: SystemdFacts, name: str) -> object:
        parsed.append(name)
        return real(self, name)

    monkeypatch.setattr(SystemdFacts, "unit", counting)
    plain = "[Service]\nExecStart=/usr/bin/true\n"
    # /proc/vmstat's nr_anon_transparent_hugepages and memcheck's records do not count.
    quiet = {
        f"{USR}/a.service": plain,
        f"{USR}/b.service": plain,
        "/proc/vmstat": "nr_anon_transparent_hugepages 0\n",
        "/.memcheck/vmstat.after": "nr_anon_transparent_hugepages 0\n",
    }
    facts = Facts(snapshot_from({**RUNTIME, **quiet}), None)
    assert facts._unit_thp_writes == []
    assert parsed == []
    # A script anywhere else that names THP makes every unit worth reading.
    script = "#!/bin/sh\necho never > /sys/kernel/mm/transparent_hugepage/enabled\n"
    unit = "[Service]\nExecStart=/opt/thp/off.sh\n"
    facts = Facts(
        snapshot_from({**RUNTIME, **quiet, f"{USR}/c.service": unit, "/opt/thp/off.sh": script}),
        None,
    )
    assert [s.mechanism for s in facts._unit_thp_writes] == [
        "systemd unit c.service via /opt/thp/off.sh"
    ]
    assert {"a.service", "b.service", "c.service"} <= set(parsed)


def test_each_unit_command_is_read_once_for_both_controls(monkeypatch: pytest.MonkeyPatch) -> None:
    from memcheck.parse import shell_writes

    texts_read: list[str] = []
    real = shell_writes.writes_to

    def counting(text: str, paths: tuple[str, ...] | list[str]) -> list[shell_writes.FileWrite]:
        texts_read.append(text)
        return real(text, paths)

    monkeypatch.setattr(shell_writes, "writes_to", counting)
    script = (
        "#!/bin/sh\necho never > /sys/kernel/mm/transparent_hugepage/enabled\n"
        "echo madvise > /sys/kernel/mm/transparent_hugepage/defrag\n"
    )
    unit = "[Service]\nExecStart=/opt/thp/off.sh\n"
    facts = Facts(
        snapshot_from({**RUNTIME, f"{USR}/c.service": unit, "/opt/thp/off.sh": script}), None
    )
    setters = facts._unit_thp_writes
    assert [(s.control, s.mode) for s in setters] == [("enabled", "never"), ("defrag", "madvise")]
    assert texts_read.count(script) == 1
