from __future__ import annotations

import pytest

from memcheck.errors import ParseError
from memcheck.parse.grub import (
    expand_grubenv,
    grub_cmdline,
    parse_bls_entry,
    parse_grub_cfg,
    parse_grub_defaults,
    parse_grubenv,
)

DEBIAN = """# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet transparent_hugepage=never"
GRUB_CMDLINE_LINUX=""
"""
RHEL = """GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release)"
GRUB_DEFAULT=saved
GRUB_CMDLINE_LINUX="crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rhgb quiet transparent_hugepage=madvise"
GRUB_DISABLE_RECOVERY="true"
GRUB_ENABLE_BLSCFG=true
"""


@pytest.mark.parametrize(
    ("text", "value", "line"),
    [
        (DEBIAN, "never", 7),
        (RHEL, "madvise", 4),
        ("GRUB_CMDLINE_LINUX='ro transparent_hugepage=always'\n", "always", 1),
        ("export GRUB_CMDLINE_LINUX=transparent_hugepage=never\n", "never", 1),
        # a later assignment replaces an earlier one
        ('GRUB_CMDLINE_LINUX="transparent_hugepage=always"\nGRUB_CMDLINE_LINUX=""\n', None, None),
        # a quoted value over two lines
        ('GRUB_CMDLINE_LINUX="quiet\n transparent_hugepage=never"\n', "never", 1),
        ('GRUB_CMDLINE_LINUX="x" # trailing comment\n', None, None),
        ("", None, None),
    ],
)
def test_grub_defaults(text: str, value: str | None, line: int | None) -> None:
    from memcheck.parse.kernel_cmdline import parse_cmdline

    variables = parse_grub_defaults(text, "/etc/default/grub")
    cmdline, used = grub_cmdline(variables)
    assert parse_cmdline(cmdline).get("transparent_hugepage") == value
    if line is not None:
        assert any(v.line == line for v in used)


def test_grub_d_appends_with_variable_expansion() -> None:
    base = parse_grub_defaults(DEBIAN, "/etc/default/grub")
    merged = parse_grub_defaults(
        'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT console=ttyS0"\n',
        "/etc/default/grub.d/50-cloudimg-settings.cfg",
        base,
    )
    var = merged["GRUB_CMDLINE_LINUX_DEFAULT"]
    assert var.value == "quiet transparent_hugepage=never console=ttyS0"
    assert var.source.endswith("50-cloudimg-settings.cfg") and var.line == 1
    assert base["GRUB_CMDLINE_LINUX_DEFAULT"].value == "quiet transparent_hugepage=never"


@pytest.mark.parametrize("text", ['GRUB_CMDLINE_LINUX="never closed\n', "GRUB_X='a\n"])
def test_grub_defaults_unterminated_quote(text: str) -> None:
    with pytest.raises(ParseError):
        parse_grub_defaults(text, "/etc/default/grub")


BLS = """title Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4 (Plow)
version 5.14.0-427.el9.x86_64
linux /vmlinuz-5.14.0-427.el9.x86_64
initrd /initramfs-5.14.0-427.el9.x86_64.img $tuned_initrd
options root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M rhgb quiet transparent_hugepage=never $tuned_params
grub_users $grub_users
grub_arg --unrestricted
grub_class rhel
"""


def test_bls_entry() -> None:
    entry = parse_bls_entry(BLS, "/boot/loader/entries/abc-5.14.0-427.el9.x86_64.conf")
    assert entry.version == "5.14.0-427.el9.x86_64"
    assert entry.options_line == 5
    assert "transparent_hugepage=never" in entry.options
    assert entry.linux == "/vmlinuz-5.14.0-427.el9.x86_64"


def test_bls_rhel8_kernelopts_from_grubenv() -> None:
    entry = parse_bls_entry(
        "title x\nversion 4.18.0\noptions $kernelopts $tuned_params\n", "e.conf"
    )
    env = parse_grubenv(
        "# GRUB Environment Block\nsaved_entry=abc\nkernelopts=root=/dev/sda1 ro "
        "transparent_hugepage=never\n" + "#" * 200,
        "/boot/grub2/grubenv",
    )
    assert expand_grubenv(entry.options, env).split() == [
        "root=/dev/sda1",
        "ro",
        "transparent_hugepage=never",
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "Title=Bad entry\n"])
def test_bls_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_bls_entry(text, "e.conf")


GRUB_CFG = """### BEGIN /etc/grub.d/10_linux ###
menuentry 'Ubuntu' --class ubuntu {
	recordfail
	linux	/boot/vmlinuz-6.8.0-31-generic root=UUID=1 ro  quiet splash transparent_hugepage=madvise $vt_handoff
	initrd	/boot/initrd.img-6.8.0-31-generic
}
submenu 'Advanced options for Ubuntu' {
	menuentry 'Ubuntu, with Linux 6.8.0-31-generic (recovery mode)' {
		linux	/boot/vmlinuz-6.8.0-31-generic root=UUID=1 ro recovery nomodeset
	}
}
"""


def test_grub_cfg_linux_lines() -> None:
    entries = parse_grub_cfg(GRUB_CFG, "/boot/grub/grub.cfg")
    assert [e.line for e in entries] == [4, 9]
    assert entries[0].kernel == "/boot/vmlinuz-6.8.0-31-generic"
    assert "transparent_hugepage=madvise" in entries[0].cmdline
    assert parse_grub_cfg("insmod blscfg\nblscfg\n", "g") == ()
