from __future__ import annotations

import pytest

from memcheck.parse.shell_writes import find_writes, invoked_scripts, writes_to

DROP = "/proc/sys/vm/drop_caches"
THP = "/sys/kernel/mm/transparent_hugepage/enabled"


@pytest.mark.parametrize(
    ("command", "path", "value"),
    [
        ("echo 3 > /proc/sys/vm/drop_caches", DROP, "3"),
        ("sync; echo 3 >/proc/sys/vm/drop_caches", DROP, "3"),
        ("sync && echo 1 > '/proc/sys/vm/drop_caches' 2>/dev/null", DROP, "1"),
        ("echo 3 | tee /proc/sys/vm/drop_caches", DROP, "3"),
        ("echo 2 | sudo tee -a /proc/sys/vm/drop_caches > /dev/null", DROP, "2"),
        ("/sbin/sysctl -w vm.drop_caches=3", DROP, "3"),
        ("sysctl vm.drop_caches=1", DROP, "1"),
        ("sysctl -q -w vm/drop_caches=2", DROP, "2"),
        ("bash -c 'sync; echo 3 > /proc/sys/vm/drop_caches'", DROP, "3"),
        (
            "/bin/sh -c \"/bin/echo 'never' > /sys/kernel/mm/transparent_hugepage/enabled\"",
            THP,
            "never",
        ),
        ("printf '%s\\n' madvise > /sys/kernel/mm/transparent_hugepage/enabled", THP, "madvise"),
        ("echo -n never > /sys/kernel/mm/transparent_hugepage/enabled", THP, "never"),
        (
            "if test -f /sys/kernel/mm/transparent_hugepage/enabled; then\n"
            "  echo never > /sys/kernel/mm/transparent_hugepage/enabled\nfi",
            THP,
            "never",
        ),
        ("echo never > \\\n  /sys/kernel/mm/transparent_hugepage/enabled", THP, "never"),
        ("cat /etc/thp > /sys/kernel/mm/transparent_hugepage/enabled", THP, None),
        # unbalanced quotes: still found by path, value unknown
        ('echo "3 > /proc/sys/vm/drop_caches', DROP, None),
    ],
)
def test_writes(command: str, path: str, value: str | None) -> None:
    found = writes_to(command, (path,))
    assert [w.value for w in found] == [value]
    assert found[0].path == path


@pytest.mark.parametrize(
    "command",
    [
        "cat /proc/sys/vm/drop_caches",
        "# echo 3 > /proc/sys/vm/drop_caches",
        "echo hello # > /proc/sys/vm/drop_caches",
        "grep drop_caches /var/log/syslog",
        "sysctl vm.drop_caches",  # a read
        "echo 3 > /proc/sys/vm/drop_caches_not",
        "",
    ],
)
def test_not_writes(command: str) -> None:
    assert writes_to(command, (DROP,)) == []


def test_line_numbers_in_scripts() -> None:
    script = "#!/bin/sh\n# nightly\nsync\n\necho 3 > /proc/sys/vm/drop_caches\n"
    (write,) = writes_to(script, (DROP,))
    assert write.line == 5
    assert write.text == "echo 3 > /proc/sys/vm/drop_caches"


@pytest.mark.parametrize(
    ("command", "scripts"),
    [
        ("/usr/local/bin/clear-cache.sh >/dev/null 2>&1", ["/usr/local/bin/clear-cache.sh"]),
        ("sh /etc/scripts/x.sh", ["/etc/scripts/x.sh"]),
        ("bash -x /opt/y", ["/opt/y"]),
        (". /etc/profile.d/z.sh; run", ["/etc/profile.d/z.sh"]),
        ("cd / && sudo /srv/a.sh && /srv/b.sh", ["/srv/a.sh", "/srv/b.sh"]),
        ("bash -c 'echo hi'", []),
        ("run-parts /etc/cron.daily", []),
    ],
)
def test_invoked_scripts(command: str, scripts: list[str]) -> None:
    assert invoked_scripts(command) == scripts


def test_find_writes_reports_every_target() -> None:
    paths = {w.path for w in find_writes("echo never > /a; echo never | tee /b /c")}
    assert paths == {"/a", "/b", "/c"}
