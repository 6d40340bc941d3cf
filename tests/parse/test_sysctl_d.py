"""sysctl.d(5) lines, the systemd-sysctl / `sysctl --system` order, and the boot value facts."""

from __future__ import annotations

import pytest

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.sysctl import KERNEL_DEFAULTS
from memcheck.parse.sysctl_d import (
    Assignment,
    boot_values,
    load_config,
    normalize_key,
    order_files,
    parse_sysctl_file,
)
from tests.snapshots import facts_from

ETC, RUN, LOCAL, USR, LIB = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)

# -- one line at a time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key", "value", "ignore_errors"),
    [
        ("vm.swappiness = 10", "vm.swappiness", "10", False),
        ("vm.swappiness=10", "vm.swappiness", "10", False),
        ("  vm.swappiness\t=\t10  ", "vm.swappiness", "10", False),
        ("vm/swappiness = 10", "vm.swappiness", "10", False),
        ("/vm/swappiness = 10", "vm.swappiness", "10", False),
        ("-vm.swappiness = 10", "vm.swappiness", "10", True),
        ("- vm.swappiness = 10", "vm.swappiness", "10", True),
        ("vm.swappiness =", "vm.swappiness", "", False),
        ("kernel.domainname = example.com", "kernel.domainname", "example.com", False),
        (
            "net.ipv4.tcp_rmem = 4096 87380 6291456",
            "net.ipv4.tcp_rmem",
            "4096 87380 6291456",
            False,
        ),
        (
            "kernel.core_pattern = |/bin/x --opt=1 %p",
            "kernel.core_pattern",
            "|/bin/x --opt=1 %p",
            False,
        ),
        # sysctl.d(5): a slash first swaps slashes and dots; a dot first keeps them as they are
        (
            "net/ipv4/conf/enp3s0.200/forwarding = 1",
            "net.ipv4.conf.enp3s0/200.forwarding",
            "1",
            False,
        ),
        (
            "net.ipv4.conf.enp3s0/200.forwarding = 1",
            "net.ipv4.conf.enp3s0/200.forwarding",
            "1",
            False,
        ),
    ],
)
def test_assignment_lines(line: str, key: str, value: str, ignore_errors: bool) -> None:
    parsed = parse_sysctl_file(line + "\n", "/etc/sysctl.d/x.conf")
    assert parsed.assignments == (Assignment(key, value, "/etc/sysctl.d/x.conf", 1, ignore_errors),)
    assert parsed.problems == ()


@pytest.mark.parametrize(
    "line", ["# vm.swappiness = 1", "; vm.swappiness = 1", "   # indented", "", "   ", "\t;x"]
)
def test_comments_and_blank_lines_are_nothing(line: str) -> None:
    parsed = parse_sysctl_file(line + "\n", "f")
    assert parsed.assignments == () and parsed.problems == () and parsed.exclusions == ()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("vm.swappiness 10", "not a 'key = value' line"),
        ("garbage", "not a 'key = value' line"),
        ("= 10", "no valid key"),
        ("vm swappiness = 10", "no valid key"),
        ("\x00\x01 junk", "not a 'key = value' line"),
    ],
)
def test_bad_lines_are_recorded_not_raised(line: str, reason: str) -> None:
    parsed = parse_sysctl_file(
        f"vm.panic_on_oom = 0\n{line}\nvm.swappiness = 5\n", "/etc/sysctl.conf"
    )
    assert [a.key for a in parsed.assignments] == ["vm.panic_on_oom", "vm.swappiness"]
    (problem,) = parsed.problems
    assert (problem.source, problem.line, problem.text) == ("/etc/sysctl.conf", 2, line)
    assert reason in problem.reason


def test_glob_keys_and_exclusions() -> None:
    parsed = parse_sysctl_file(
        "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.lo.rp_filter\n",
        "/usr/lib/sysctl.d/50-default.conf",
    )
    (glob,) = parsed.assignments
    assert glob.is_glob and glob.key == "net.ipv4.conf.*.rp_filter"
    assert parsed.exclusions == ("net.ipv4.conf.lo.rp_filter",)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("vm.swappiness", "vm.swappiness"),
        ("vm/swappiness", "vm.swappiness"),
        (" kernel/domainname ", "kernel.domainname"),
        ("net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter"),
        ("swappiness", "swappiness"),
    ],
)
def test_normalize_key(raw: str, normal: str) -> None:
    assert normalize_key(raw) == normal


# -- the order files apply in ---------------------------------------------------------------

# (files {path: text}, links {path: target}, expected (value, source, line) of vm.swappiness)
PRECEDENCE = {
    "same name: /etc hides /usr/lib": (
        {f"{USR}/50-x.conf": "vm.swappiness = 60\n", f"{ETC}/50-x.conf": "vm.swappiness = 10\n"},
        {},
        ("10", f"{ETC}/50-x.conf", 1),
    ),
    "same name: /etc hides /run": (
        {f"{RUN}/50-x.conf": "vm.swappiness = 30\n", f"{ETC}/50-x.conf": "vm.swappiness = 10\n"},
        {},
        ("10", f"{ETC}/50-x.conf", 1),
    ),
    "same name: /run hides /usr/lib": (
        {f"{RUN}/50-x.conf": "vm.swappiness = 30\n", f"{USR}/50-x.conf": "vm.swappiness = 60\n"},
        {},
        ("30", f"{RUN}/50-x.conf", 1),
    ),
    "same name: /usr/local/lib hides /usr/lib": (
        {f"{LOCAL}/50-x.conf": "vm.swappiness = 5\n", f"{USR}/50-x.conf": "vm.swappiness = 60\n"},
        {},
        ("5", f"{LOCAL}/50-x.conf", 1),
    ),
    "same name: /usr/lib hides /lib": (
        {f"{LIB}/50-x.conf": "vm.swappiness = 7\n", f"{USR}/50-x.conf": "vm.swappiness = 60\n"},
        {},
        ("60", f"{USR}/50-x.conf", 1),
    ),
    "file name order across directories, not directory order": (
        {
            f"{USR}/50-default.conf": "vm.swappiness = 60\n",
            f"{ETC}/10-x.conf": "vm.swappiness = 10\n",
            f"{RUN}/60-y.conf": "vm.swappiness = 30\n",
        },
        {},
        ("30", f"{RUN}/60-y.conf", 1),
    ),
    "a vendor file sorting after the admin's wins": (
        {
            f"{ETC}/10-tuning.conf": "vm.swappiness = 1\n",
            f"{USR}/99-vendor.conf": "vm.swappiness = 60\n",
        },
        {},
        ("60", f"{USR}/99-vendor.conf", 1),
    ),
    "names sort as strings: 100- before 20-": (
        {f"{ETC}/100-a.conf": "vm.swappiness = 100\n", f"{ETC}/20-b.conf": "vm.swappiness = 20\n"},
        {},
        ("20", f"{ETC}/20-b.conf", 1),
    ),
    "later assignment in one file wins": (
        {f"{ETC}/90-x.conf": "vm.swappiness = 1\n# change of mind\nvm.swappiness=5\n"},
        {},
        ("5", f"{ETC}/90-x.conf", 3),
    ),
    "/etc/sysctl.conf comes last, after every drop-in": (
        {"/etc/sysctl.conf": "vm.swappiness = 10\n", f"{ETC}/zz-late.conf": "vm.swappiness = 99\n"},
        {},
        ("10", "/etc/sysctl.conf", 1),
    ),
    "99-sysctl.conf link is /etc/sysctl.conf, applied once at the end": (
        {
            "/etc/sysctl.conf": "vm.swappiness = 10\n",
            f"{ETC}/99-sysctl.conf": "vm.swappiness = 10\n",
        },
        {f"{ETC}/99-sysctl.conf": "/etc/sysctl.conf"},
        ("10", "/etc/sysctl.conf", 1),
    ),
    "masked by a /dev/null link in /etc": (
        {f"{USR}/50-x.conf": "vm.swappiness = 60\n", f"{ETC}/10-a.conf": "vm.swappiness = 10\n"},
        {f"{ETC}/50-x.conf": "/dev/null"},
        ("10", f"{ETC}/10-a.conf", 1),
    ),
    "masked by an empty file in /etc": (
        {
            f"{USR}/50-x.conf": "vm.swappiness = 60\n",
            f"{ETC}/50-x.conf": "",
            f"{ETC}/10-a.conf": "vm.swappiness = 10\n",
        },
        {},
        ("10", f"{ETC}/10-a.conf", 1),
    ),
    "slash separators name the same key": (
        {f"{ETC}/10-a.conf": "vm.swappiness = 10\n", f"{ETC}/20-b.conf": "vm/swappiness = 20\n"},
        {},
        ("20", f"{ETC}/20-b.conf", 1),
    ),
    "a '-' key still sets the value": (
        {f"{ETC}/10-a.conf": "-vm.swappiness = 3\n"},
        {},
        ("3", f"{ETC}/10-a.conf", 1),
    ),
    "not *.conf, subfolders and other places are ignored": (
        {
            f"{ETC}/10-a.conf": "vm.swappiness = 10\n",
            f"{ETC}/README": "vm.swappiness = 1\n",
            f"{ETC}/99-x.conf.rpmsave": "vm.swappiness = 2\n",
            f"{ETC}/sub/99-y.conf": "vm.swappiness = 3\n",
            "/etc/sysctl.conf.d/99-z.conf": "vm.swappiness = 4\n",
        },
        {},
        ("10", f"{ETC}/10-a.conf", 1),
    ),
}


@pytest.mark.parametrize("case", list(PRECEDENCE), ids=list(PRECEDENCE))
def test_precedence(case: str) -> None:
    files, links, (value, source, line) = PRECEDENCE[case]
    setting = load_config(files, links).lookup("vm.swappiness")
    assert setting is not None
    assert (setting.value, setting.source, setting.line) == (value, source, line)
    assert boot_values(files, links)["vm.swappiness"] == setting


def test_overridden_settings_are_listed_in_order() -> None:
    config = load_config(
        {
            f"{USR}/50-default.conf": "vm.swappiness = 60\n",
            f"{ETC}/10-x.conf": "vm.swappiness = 10\n",
            f"{RUN}/60-y.conf": "vm.swappiness = 30\nvm.swappiness = 31\n",
        }
    )
    setting = config.values["vm.swappiness"]
    assert setting.where == f"{RUN}/60-y.conf:2"
    assert [(o.value, o.where) for o in setting.overridden] == [
        ("10", f"{ETC}/10-x.conf:1"),
        ("60", f"{USR}/50-default.conf:1"),
        ("30", f"{RUN}/60-y.conf:1"),
    ]
    assert all(o.overridden == () for o in setting.overridden)
    assert config.applied == (f"{ETC}/10-x.conf", f"{USR}/50-default.conf", f"{RUN}/60-y.conf")


def test_sysctl_conf_link_is_not_reported_twice() -> None:
    config = load_config(
        {
            "/etc/sysctl.conf": "vm.swappiness = 10\n",
            f"{ETC}/99-sysctl.conf": "vm.swappiness = 10\n",
        },
        {f"{ETC}/99-sysctl.conf": "/etc/sysctl.conf"},
    )
    assert config.applied == ("/etc/sysctl.conf",)
    assert config.values["vm.swappiness"].overridden == ()


def test_hidden_and_masked_files_are_recorded() -> None:
    applied, hidden, masked = order_files(
        [
            f"{USR}/50-x.conf",
            f"{ETC}/50-x.conf",
            f"{RUN}/50-x.conf",
            f"{USR}/60-y.conf",
            f"{LIB}/70-z.conf",
        ],
        {f"{ETC}/50-x.conf": "/dev/null"},
    )
    assert applied == [f"{USR}/60-y.conf", f"{LIB}/70-z.conf"]
    assert masked == [f"{ETC}/50-x.conf"]
    assert hidden == {
        f"{RUN}/50-x.conf": f"{ETC}/50-x.conf",
        f"{USR}/50-x.conf": f"{ETC}/50-x.conf",
    }


def test_garbage_line_is_a_problem_and_the_rest_applies() -> None:
    config = load_config(
        {"/etc/sysctl.conf": "vm.swappiness = 10\nthis is not sysctl\nvm.panic_on_oom=0\n"}
    )
    assert config.values["vm.swappiness"].value == "10"
    assert config.values["vm.panic_on_oom"].value == "0"
    (problem,) = config.problems
    assert (problem.source, problem.line) == ("/etc/sysctl.conf", 2)


def test_globs_do_not_crash_and_do_not_touch_explicit_keys() -> None:
    config = load_config(
        {
            f"{USR}/50-default.conf": "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.lo.rp_filter\n",
            f"{ETC}/10-x.conf": "net.ipv4.conf.eth1.rp_filter = 0\n",
            f"{ETC}/90-vm.conf": "vm.* = 1\nvm.swappiness = 10\n",
        }
    )
    assert config.lookup("vm.swappiness").value == "10"  # type: ignore[union-attr]
    eth0 = config.lookup("net.ipv4.conf.eth0.rp_filter")
    assert eth0 is not None and (eth0.value, eth0.key) == ("2", "net.ipv4.conf.*.rp_filter")
    # an explicit assignment beats a glob even when the glob's file sorts later
    assert config.lookup("net.ipv4.conf.eth1.rp_filter").value == "0"  # type: ignore[union-attr]
    assert config.lookup("net.ipv4.conf.lo.rp_filter") is None  # excluded with '-key'
    assert config.lookup("vm.overcommit_memory").value == "1"  # type: ignore[union-attr]
    assert "vm.*" not in config.values


def test_nothing_configured() -> None:
    config = load_config({})
    assert config.values == {} and config.applied == () and config.lookup("vm.swappiness") is None


# -- through a snapshot (SysctlFacts) --------------------------------------------------------


def test_snapshot_links_resolve_inside_the_snapshot() -> None:
    facts = facts_from(
        {
            "/etc/sysctl.conf": "vm.swappiness = 10\n",
            f"{USR}/50-x.conf": "vm.swappiness = 60\n",
            f"{USR}/70-db.conf": "vm.panic_on_oom = 0\n",
            "/opt/tuning/db.conf": "vm.max_map_count = 262144\n",
        },
        links={
            f"{ETC}/99-sysctl.conf": "../sysctl.conf",
            f"{ETC}/50-x.conf": "/dev/null",
            f"{ETC}/60-db.conf": "/opt/tuning/db.conf",
        },
    )
    config = facts.sysctl_config
    assert config.applied == (f"{ETC}/60-db.conf", f"{USR}/70-db.conf", "/etc/sysctl.conf")
    assert config.masked == (f"{ETC}/50-x.conf",)
    assert config.hidden == {f"{USR}/50-x.conf": f"{ETC}/50-x.conf"}
    assert facts.sysctl_boot["vm.max_map_count"].source == f"{ETC}/60-db.conf"
    assert facts.sysctl_boot["vm.swappiness"].where == "/etc/sysctl.conf:1"


def test_lib_symlinked_to_usr_lib_counts_once() -> None:
    facts = facts_from({f"{USR}/50-x.conf": "vm.swappiness = 60\n"}, links={"/lib": "usr/lib"})
    assert facts.sysctl_config.applied == (f"{USR}/50-x.conf",)


def test_unreadable_file_that_applies_is_an_error() -> None:
    facts = facts_from(
        {f"{ETC}/10-a.conf": "vm.swappiness = 1\n"},
        errors={f"{ETC}/90-secret.conf": "permission denied"},
    )
    with pytest.raises(Unavailable) as caught:
        facts.sysctl_config  # noqa: B018
    assert caught.value.path == f"{ETC}/90-secret.conf"


def test_unreadable_file_hidden_by_another_is_harmless() -> None:
    facts = facts_from(
        {f"{ETC}/90-x.conf": "vm.swappiness = 1\n"},
        errors={f"{USR}/90-x.conf": "permission denied"},
    )
    assert facts.sysctl_boot["vm.swappiness"].value == "1"


def test_unreadable_directory_is_an_error() -> None:
    facts = facts_from({}, errors={ETC: "permission denied"})
    with pytest.raises(Unavailable):
        facts.sysctl_config  # noqa: B018


def test_link_to_a_file_outside_the_snapshot_is_an_error() -> None:
    facts = facts_from({}, links={f"{ETC}/60-db.conf": "/opt/missing.conf"})
    with pytest.raises(Unavailable) as caught:
        facts.sysctl_config  # noqa: B018
    assert caught.value.path == f"{ETC}/60-db.conf"


# -- the value after a reboot ---------------------------------------------------------------


def test_boot_value_from_config() -> None:
    facts = facts_from(
        {f"{ETC}/90-db.conf": "vm.swappiness = 1\n", "/proc/sys/vm/swappiness": "60\n"}
    )
    boot = facts.sysctl_boot_value("vm.swappiness")
    assert (boot.value, boot.origin, boot.source) == (1, "config", f"{ETC}/90-db.conf:1")


@pytest.mark.parametrize("key", sorted(KERNEL_DEFAULTS))
def test_boot_value_kernel_default(key: str) -> None:
    facts = facts_from({"/proc/sys/" + key.replace(".", "/"): "12345\n"})
    boot = facts.sysctl_boot_value(key)
    assert (boot.value, boot.origin, boot.source) == (
        KERNEL_DEFAULTS[key],
        "kernel default",
        "kernel default",
    )


def test_boot_value_without_default_is_the_runtime_value() -> None:
    facts = facts_from({"/proc/sys/vm/min_free_kbytes": "67584\n"})
    boot = facts.sysctl_boot_value("vm.min_free_kbytes")
    assert (boot.value, boot.origin, boot.source) == (67584, "runtime", "runtime value")


def test_boot_value_runtime_unreadable_raises() -> None:
    facts = facts_from({"/proc/sys/vm/min_free_kbytes": "lots\n"})
    with pytest.raises(ParseError):
        facts.sysctl_boot_value("vm.min_free_kbytes")


def test_non_integer_config_value_leaves_the_kernel_default() -> None:
    facts = facts_from({f"{ETC}/90-db.conf": "vm.swappiness = low\n"})
    boot = facts.sysctl_boot_value("vm.swappiness")
    assert (boot.value, boot.origin) == (60, "kernel default")
    assert boot.note is not None and "not an integer" in boot.note and "90-db.conf:1" in boot.note


def test_facts_without_selection_have_no_rules() -> None:
    assert facts_from({}).sysctl_rules == []


def test_rules_come_from_selected_checks_that_export_sysctl() -> None:
    from tests.snapshots import snapshot_from

    facts = Facts(
        snapshot_from({}),
        selection={
            "swappiness": {"min": 1, "max": 10},
            "memory_available": {},
            "no_such_check": {},
        },
    )
    (rule,) = facts.sysctl_rules
    assert (rule.check_id, rule.key) == ("swappiness", "vm.swappiness")
    assert rule.complies(5, facts) and not rule.complies(60, facts)
