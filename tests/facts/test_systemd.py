from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from tests.snapshots import facts_from

USR = "/usr/lib/systemd/system"
ETC = "/etc/systemd/system"
SSHD_USR = (
    "[Unit]\nDescription=OpenSSH\n[Service]\nExecStart=/usr/sbin/sshd -D\nOOMScoreAdjust=-500\n"
)


def test_etc_overrides_usr_lib() -> None:
    facts = facts_from(
        {
            f"{USR}/sshd.service": SSHD_USR,
            f"{ETC}/sshd.service": "[Service]\nExecStart=/usr/local/sbin/sshd -D\n",
        }
    )
    unit = facts.unit("sshd.service")
    assert unit is not None and unit.path == f"{ETC}/sshd.service"
    exec_start = unit.get("Service", "ExecStart")
    assert exec_start is not None and exec_start.value == "/usr/local/sbin/sshd -D"
    # the whole /usr/lib file is replaced, not merged
    assert unit.get("Service", "OOMScoreAdjust") is None


def test_lib_systemd_on_older_debian() -> None:
    facts = facts_from({"/lib/systemd/system/ssh.service": SSHD_USR})
    unit = facts.unit("ssh.service")
    assert unit is not None and unit.path == "/lib/systemd/system/ssh.service"
    assert facts.unit("missing.service") is None


def test_dropins_sorted_by_name_across_directories() -> None:
    facts = facts_from(
        {
            f"{USR}/sshd.service": SSHD_USR,
            f"{USR}/sshd.service.d/10-oom.conf": "[Service]\nOOMScoreAdjust=-800\n",
            f"{ETC}/sshd.service.d/20-oom.conf": "[Service]\nOOMScoreAdjust=-1000\n",
            "/run/systemd/system/sshd.service.d/05-early.conf": "[Service]\nOOMScoreAdjust=0\n",
            f"{ETC}/sshd.service.d/README": "not a drop-in",
        }
    )
    unit = facts.unit("sshd.service")
    assert unit is not None
    setting = unit.get("Service", "OOMScoreAdjust")
    assert setting is not None
    assert (setting.value, setting.source, setting.line) == (
        "-1000",
        f"{ETC}/sshd.service.d/20-oom.conf",
        2,
    )
    assert [f.source.rsplit("/", 1)[-1] for f in unit.files] == [
        "sshd.service",
        "05-early.conf",
        "10-oom.conf",
        "20-oom.conf",
    ]


def test_same_named_dropin_in_etc_hides_lower_one() -> None:
    facts = facts_from(
        {
            f"{USR}/sshd.service": SSHD_USR,
            f"{USR}/sshd.service.d/oom.conf": "[Service]\nOOMScoreAdjust=-1000\n",
            f"{ETC}/sshd.service.d/oom.conf": "[Service]\nNice=5\n",
        }
    )
    unit = facts.unit("sshd.service")
    assert unit is not None
    setting = unit.get("Service", "OOMScoreAdjust")
    assert setting is not None and setting.source == f"{USR}/sshd.service"  # -500 from main file


def test_dropin_linked_to_dev_null_masks_it() -> None:
    facts = facts_from(
        {
            f"{USR}/sshd.service": SSHD_USR,
            f"{USR}/sshd.service.d/oom.conf": "[Service]\nOOMScoreAdjust=-1000\n",
        },
        links={f"{ETC}/sshd.service.d/oom.conf": "/dev/null"},
    )
    unit = facts.unit("sshd.service")
    assert unit is not None
    setting = unit.get("Service", "OOMScoreAdjust")
    assert setting is not None and setting.value == "-500"


def test_empty_assignment_resets_list() -> None:
    facts = facts_from(
        {
            f"{USR}/x.service": "[Service]\nExecStartPre=/bin/a\nExecStart=/bin/x\n",
            f"{ETC}/x.service.d/override.conf": "[Service]\nExecStartPre=\nExecStartPre=/bin/b\n",
        }
    )
    unit = facts.unit("x.service")
    assert unit is not None
    assert [a.value for a in unit.assignments("Service", "ExecStartPre")] == ["/bin/b"]


@pytest.mark.parametrize(
    ("files", "links"),
    [
        (
            {f"{USR}/disable-thp.service": "[Service]\nExecStart=/bin/true\n"},
            {f"{ETC}/disable-thp.service": "/dev/null"},
        ),
        # an empty unit file masks too (systemd.unit(5))
        (
            {
                f"{USR}/disable-thp.service": "[Service]\nExecStart=/bin/true\n",
                f"{ETC}/disable-thp.service": "",
            },
            {},
        ),
    ],
)
def test_masked_unit(files: dict[str, str], links: dict[str, str]) -> None:
    unit = facts_from(files, links=links).unit("disable-thp.service")
    assert unit is not None and unit.masked
    assert unit.files == ()
    assert unit.get("Service", "ExecStart") is None


def test_template_instance_falls_back_to_template() -> None:
    facts = facts_from({f"{USR}/postgresql@.service": "[Service]\nOOMScoreAdjust=-900\n"})
    unit = facts.unit("postgresql@16-main.service")
    assert unit is not None and unit.path == f"{USR}/postgresql@.service"


def test_malformed_unit_raises_parse_error() -> None:
    facts = facts_from({f"{USR}/bad.service": "ExecStart=/bin/true\n"})
    with pytest.raises(ParseError):
        facts.unit("bad.service")


def test_enablement_via_wants_links() -> None:
    facts = facts_from(
        {
            f"{ETC}/disable-thp.service": "[Service]\nExecStart=/bin/true\n",
            f"{USR}/tuned.service": "[Service]\nExecStart=/usr/sbin/tuned\n",
            f"{USR}/helper.service": "[Service]\nExecStart=/bin/true\n",
            f"{USR}/mongod.service": "[Service]\nExecStart=/usr/bin/mongod\n",
            f"{USR}/rescue-only.service": "[Service]\nExecStart=/bin/true\n",
        },
        links={
            f"{ETC}/multi-user.target.wants/disable-thp.service": f"{ETC}/disable-thp.service",
            f"{ETC}/multi-user.target.wants/mongod.service": f"{USR}/mongod.service",
            f"{ETC}/mongod.service.wants/helper.service": f"{USR}/helper.service",
            f"{ETC}/rescue.target.wants/rescue-only.service": f"{USR}/rescue-only.service",
        },
    )
    enabled = facts.unit_enablement("disable-thp.service")
    assert enabled.enabled and enabled.at_boot
    assert enabled.links == (
        ("multi-user.target", f"{ETC}/multi-user.target.wants/disable-thp.service"),
    )
    assert not facts.unit_enablement("tuned.service").enabled
    assert not facts.unit_enablement("tuned.service").at_boot
    # wanted by a service that itself starts at boot
    assert facts.unit_enablement("helper.service").at_boot
    rescue = facts.unit_enablement("rescue-only.service")
    assert rescue.enabled and not rescue.at_boot


def test_enablement_cycle_terminates() -> None:
    facts = facts_from(
        {f"{USR}/a.service": "[Service]\n", f"{USR}/b.service": "[Service]\n"},
        links={
            f"{ETC}/a.service.wants/b.service": f"{USR}/b.service",
            f"{ETC}/b.service.wants/a.service": f"{USR}/a.service",
        },
    )
    assert not facts.unit_enablement("a.service").at_boot


def test_unit_names_and_has_systemd() -> None:
    facts = facts_from(
        {
            f"{USR}/a.timer": "[Timer]\n",
            f"{ETC}/b.service": "[Service]\n",
            "/proc/1/comm": "systemd\n",
        },
        links={f"{ETC}/timers.target.wants/a.timer": f"{USR}/a.timer"},
    )
    assert facts.unit_names(".timer") == ["a.timer"]
    assert "timers.target.wants" not in facts.unit_names()
    assert facts.has_systemd
    assert not facts_from({"/proc/1/comm": "init\n"}).has_systemd
