from __future__ import annotations

import pytest

from memcheck.errors import ParseError, Unavailable
from tests.snapshots import facts_from

THP = "/sys/kernel/mm/transparent_hugepage"
RH6 = "/sys/kernel/mm/redhat_transparent_hugepage"


def test_runtime_modes_and_mthp_sizes() -> None:
    facts = facts_from(
        {
            f"{THP}/enabled": "always [madvise] never\n",
            f"{THP}/defrag": "always defer defer+madvise [madvise] never\n",
            f"{THP}/khugepaged/defrag": "1\n",
            f"{THP}/hugepages-2048kB/enabled": "always [inherit] madvise never\n",
            f"{THP}/hugepages-64kB/enabled": "always inherit madvise [never]\n",
            f"{THP}/hugepages-1048576kB/enabled": "always inherit madvise [never]\n",
        }
    )
    assert facts.thp_dir == THP
    assert facts.thp_enabled is not None and facts.thp_enabled.selected == "madvise"
    assert facts.thp_defrag is not None and len(facts.thp_defrag.choices) == 5
    assert facts.thp_khugepaged_defrag is True
    assert [m.size_bytes for m in facts.thp_mthp] == [64 * 1024, 2 * 1024 * 1024, 1024**3]
    assert facts.thp_mthp[1].mode.selected == "inherit"


def test_rhel6_directory() -> None:
    facts = facts_from(
        {
            f"{RH6}/enabled": "[always] madvise never\n",
            f"{RH6}/defrag": "[always] madvise never\n",
            f"{RH6}/khugepaged/defrag": "[yes] no\n",
        }
    )
    assert facts.thp_dir == RH6
    assert facts.thp_enabled is not None and facts.thp_enabled.source == f"{RH6}/enabled"
    assert facts.thp_khugepaged_defrag is True
    assert facts.thp_mthp == []


def test_compiled_out() -> None:
    facts = facts_from({"/proc/meminfo": "MemTotal: 1 kB\n"})
    assert facts.thp_dir is None
    assert facts.thp_enabled is None and facts.thp_defrag is None
    assert facts.thp_khugepaged_defrag is None and facts.thp_mthp == []


def test_unreadable_is_not_compiled_out() -> None:
    facts = facts_from({}, errors={f"{THP}/enabled": "permission denied"})
    assert facts.thp_dir == THP
    with pytest.raises(Unavailable):
        _ = facts.thp_enabled


def test_malformed_mode_raises_once_cached() -> None:
    facts = facts_from({f"{THP}/enabled": "always madvise never\n"})
    for _ in range(2):
        with pytest.raises(ParseError):
            _ = facts.thp_enabled


def test_bls_entry_of_running_kernel_is_chosen() -> None:
    facts = facts_from(
        {
            "/proc/sys/kernel/osrelease": "5.14.0-427.el9.x86_64\n",
            "/proc/cmdline": "ro transparent_hugepage=never\n",
            "/boot/loader/entries/a-5.14.0-427.el9.x86_64.conf": "version 5.14.0-427.el9.x86_64\n"
            "options ro transparent_hugepage=never\n",
            "/boot/loader/entries/a-5.14.0-503.el9.x86_64.conf": "version 5.14.0-503.el9.x86_64\n"
            "options ro\n",
            "/boot/loader/entries/a-0-rescue.conf": "version 0-rescue\noptions ro\n",
        }
    )
    param = facts.boot_param("transparent_hugepage")
    assert param is not None
    assert param.value == "never"
    assert param.source == "/boot/loader/entries/a-5.14.0-427.el9.x86_64.conf"
    assert param.notes == ()


def test_no_loader_config() -> None:
    assert facts_from({"/proc/cmdline": "ro\n"}).boot_param("transparent_hugepage") is None


def test_tuned_bootloader_cmdline_and_multiple_profiles() -> None:
    facts = facts_from(
        {
            "/etc/tuned/active_profile": "virtual-guest thp-off\n",
            "/usr/lib/tuned/virtual-guest/tuned.conf": "[vm]\ntransparent_hugepages=always\n",
            "/etc/tuned/thp-off/tuned.conf": "[bootloader]\ncmdline=transparent_hugepage=never\n",
        }
    )
    boot = facts.thp_boot("enabled")
    # no systemd here, so tuned is taken to run; the later profile adds the boot parameter
    assert [s.mode for s in boot.writers] == ["always"]
    assert boot.cmdline is not None and boot.cmdline.mode == "never"
    assert boot.cmdline.mechanism == "tuned profile virtual-guest+thp-off [bootloader]"
    # writers run after the command line is applied, so they decide
    assert [s.mode for s in boot.deciding] == ["always"]


def test_missing_tuned_profile_is_noted() -> None:
    facts = facts_from({"/etc/tuned/active_profile": "gone\n"})
    assert any("tuned profile 'gone' not found" in n for n in facts.thp_boot("enabled").notes)
