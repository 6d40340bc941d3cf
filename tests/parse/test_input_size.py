"""Hostile sizes: inputs that cost the old parsers their length squared (or exponential), and
megabyte lines quoted whole in error messages. Each must finish within the fuzz bound and
keep its message short."""

from __future__ import annotations

from typing import Callable

import pytest

from memcheck.errors import ParseError
from memcheck.parse import (
    cgroup,
    crontab,
    grub,
    kconfig,
    meminfo,
    mounts,
    numa,
    proc_pid,
    psi,
    smaps,
    swaps,
    sysctl_d,
    systemd_unit,
    thp,
    tmpfiles,
    tuned,
    uptime,
    vmstat,
)
from tests.fuzz.bounds import call_bounded

SECONDS = 5.0


def test_grub_unterminated_quote_over_many_lines_is_read_once() -> None:
    text = 'GRUB_CMDLINE_LINUX="quiet\n' + "more words here\n" * 20_000
    with pytest.raises(ParseError, match="unterminated quote"):
        call_bounded(lambda: grub.parse_grub_defaults(text, "/etc/default/grub"), SECONDS)


def test_grub_quote_closing_after_many_lines() -> None:
    text = 'GRUB_CMDLINE_LINUX="quiet\n' + "x\n" * 20_000 + 'transparent_hugepage=never"\n'
    found = call_bounded(lambda: grub.parse_grub_defaults(text, "g"), SECONDS)
    assert found["GRUB_CMDLINE_LINUX"].value.endswith("transparent_hugepage=never")
    assert found["GRUB_CMDLINE_LINUX"].line == 1


def test_grub_doubling_expansion_is_refused() -> None:
    text = "A=xxxxxxxx\n" + 'A="$A$A"\n' * 64
    with pytest.raises(ParseError, match="line 15: A: expands to more than 65536"):
        call_bounded(lambda: grub.parse_grub_defaults(text, "g"), SECONDS)


def test_grub_expansion_within_the_bound_is_kept() -> None:
    text = "A=xxxxxxxx\n" + 'A="$A$A"\n' * 12
    assert len(grub.parse_grub_defaults(text, "g")["A"].value) == 8 * 2**12


def test_grubenv_expansion_is_bounded() -> None:
    env = {"kernelopts": "x" * 100_000}
    with pytest.raises(ParseError, match="expands to more than"):
        call_bounded(lambda: grub.expand_grubenv("$kernelopts " * 100_000, env), SECONDS)
    assert grub.expand_grubenv("root=/dev/sda $kernelopts", {"kernelopts": "ro"}) == (
        "root=/dev/sda ro"
    )


def test_sysctl_key_assigned_many_times_keeps_every_earlier_setting() -> None:
    text = "".join(f"vm.swappiness = {i % 100}\n" for i in range(50_000))
    config = call_bounded(lambda: sysctl_d.load_config({"/etc/sysctl.d/10-x.conf": text}), SECONDS)
    setting = config.values["vm.swappiness"]
    assert (setting.value, setting.line) == ("99", 50_000)
    assert len(setting.overridden) == 49_999
    assert setting.overridden[0].line == 1 and setting.overridden[0].overridden == ()


def test_sysctl_many_globs_last_assignment_moves_to_the_end() -> None:
    text = "".join(f"net.ipv4.conf.eth{i}*.rp_filter = 1\n" for i in range(20_000))
    text += "net.ipv4.conf.eth1*.rp_filter = 2\n"
    config = call_bounded(lambda: sysctl_d.load_config({"/etc/sysctl.conf": text}), SECONDS)
    assert len(config.patterns) == 20_000
    assert config.patterns[-1].key == "net.ipv4.conf.eth1*.rp_filter"
    assert config.lookup("net.ipv4.conf.eth1.rp_filter").value == "2"  # type: ignore[union-attr]


def test_node_list_repeating_the_largest_range_costs_its_length() -> None:
    text = ",".join(["0-65535"] * 20_000)
    nodes = call_bounded(lambda: numa.parse_node_list(text), SECONDS)
    assert nodes == tuple(range(65536))
    assert numa.parse_node_list("5,0-3,2-6,9") == (0, 1, 2, 3, 4, 5, 6, 9)


@pytest.mark.parametrize("text", ["65536", "0-65536", "0-999999999"])
def test_node_numbers_beyond_any_kernel_are_refused(text: str) -> None:
    with pytest.raises(ParseError, match="larger than any node count"):
        numa.parse_node_list(text)


def test_tuned_many_sections_are_looked_up_once() -> None:
    text = "".join(f"[s{i}]\ntype=vm\nx=1\n" for i in range(20_000))
    conf = tuned.parse_tuned_conf(text, "tuned.conf")
    sections = call_bounded(lambda: conf.plugin_sections("vm"), SECONDS)
    assert len(sections) == 20_000
    assert conf.get("s7", "x") is not None and conf.get("s7", "nope") is None


def test_tuned_get_returns_the_last_assignment() -> None:
    conf = tuned.parse_tuned_conf("[vm]\nx=1\nx=2\n", "t")
    assert conf.get("vm", "x").value == "2"  # type: ignore[union-attr]


def test_unit_file_long_continuation() -> None:
    text = "[Service]\nExecStart=/bin/echo \\\n" + "word \\\n" * 50_000 + "end\n"
    unit = call_bounded(lambda: systemd_unit.parse_unit(text, "x.service"), SECONDS)
    (assignment,) = unit.assignments
    assert assignment.value.endswith("word  end") and assignment.line == 2


MEGABYTE = "x" * 1_000_000


def _raising() -> list[tuple[str, Callable[[str], object]]]:
    """(name, call that raises ParseError quoting the megabyte of text it is given)."""
    return [
        ("meminfo", lambda t: meminfo.parse_meminfo(f"MemTotal: {t} kB\n")),
        ("meminfo key", lambda t: meminfo.parse_meminfo(f"{t}: 1 kB 2\n")),
        ("meminfo line", lambda t: meminfo.parse_meminfo(f"{t}\n")),
        ("vmstat", lambda t: vmstat.parse_vmstat(f"{t}\n")),
        ("vmstat value", lambda t: vmstat.parse_vmstat(f"{t} {t}\n")),
        ("psi", lambda t: psi.parse_pressure(f"some {t}= avg10=0\n")),
        ("psi avg10", lambda t: psi.parse_pressure(f"some avg10={t}\n")),
        ("node meminfo", lambda t: numa.parse_node_meminfo(f"{t}\n")),
        ("numastat", lambda t: numa.parse_numastat(f"{t} 1\n")),
        ("numa_maps", lambda t: numa.parse_numa_maps(f"{t} default\n")),
        ("numa_maps item", lambda t: numa.parse_numa_maps(f"7f00 default {t}=x\n")),
        ("numa policy", lambda t: numa.parse_policy(t)),
        ("node list", lambda t: numa.parse_node_list(t)),
        ("cgroup stat", lambda t: cgroup.parse_memory_stat(f"{t} x\n", "s")),
        ("cgroup limit", lambda t: cgroup.parse_limit(t, "s")),
        ("mounts", lambda t: mounts.parse_mounts(f"{t}\n")),
        ("status", lambda t: proc_pid.parse_status(f"Name:\tx\nPid:\t{t}\n")),
        ("status VmRSS", lambda t: proc_pid.parse_status(f"Name:\tx\nPid:\t1\nVmRSS:\t{t}\n")),
        ("proc cgroup", lambda t: proc_pid.parse_cgroup(f"{t}\n")),
        ("proc cgroup id", lambda t: proc_pid.parse_cgroup(f"{t}::/\n")),
        ("oom_score_adj", lambda t: proc_pid.parse_oom_score_adj(t)),
        ("smaps", lambda t: smaps.parse_smaps_rollup(f"Rss: {t} kB\n")),
        ("smaps key", lambda t: smaps.parse_smaps_rollup(f"{t}: x kB\n")),
        ("swaps", lambda t: swaps.parse_swaps(f"{t}\n")),
        ("swaps line", lambda t: swaps.parse_swaps(f"Filename\n{t}\n")),
        ("uptime", lambda t: uptime.parse_uptime(f"{t}\n")),
        ("thp", lambda t: thp.parse_mode(f"[{t}\n", "enabled")),
        ("thp word", lambda t: thp.parse_mode(f"[a] {t}!\n", "enabled")),
        ("thp flag", lambda t: thp.parse_flag(f"{t}\n", "defrag")),
        ("thp dir", lambda t: thp.mthp_size_bytes(t, "x")),
        ("crontab", lambda t: crontab.parse_crontab(f"{t}!\n", "c", system=False)),
        ("crontab special", lambda t: crontab.parse_crontab(f"@{t} x\n", "c", system=False)),
        ("anacrontab", lambda t: crontab.parse_anacrontab(f"{t} x y z\n")),
        ("bls", lambda t: grub.parse_bls_entry(f"{t.upper()} x\n", "e.conf")),
        ("kconfig", lambda t: kconfig.parse_kconfig(f"{t}\n", "config")),
        ("unit", lambda t: systemd_unit.parse_unit(f"[S]\n{t}\n", "u")),
        ("tmpfiles", lambda t: tmpfiles.parse_tmpfiles(f'"{t}\n', "t")),
        ("tuned", lambda t: tuned.parse_tuned_conf(f"[main]\n{t}\n", "t")),
    ]


RAISING = _raising()


@pytest.mark.parametrize(("name", "call"), RAISING, ids=[name for name, _ in RAISING])
def test_a_megabyte_line_gives_a_short_error(name: str, call: Callable[[str], object]) -> None:
    with pytest.raises(ParseError) as info:
        call_bounded(lambda: call(MEGABYTE), SECONDS)
    assert len(str(info.value)) < 500, str(info.value)[:200]
