"""Hostile snapshots and hostile output folders: memcheck reads and writes only inside its
bounds, and one bad snapshot costs only its own host."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from memcheck import snapshot as snapshot_module
from memcheck.errors import ConfigError
from memcheck.snapshot import HOST_JSON, KERNEL_LOG, HostInfo, Limits, Snapshot

HOSTS = Path(__file__).parent / "hosts"
GOOD = HOSTS / "stock-debian-12-redis"


def memcheck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memcheck", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def copy_of(scenario: Path, where: Path) -> Path:
    shutil.copytree(scenario, where, symlinks=True)
    return where


# -- writing: never through a link, never over something else -----------------------------


def test_an_earlier_snapshots_links_are_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("controller file\n")
    out = tmp_path / "snap"
    (out / ".memcheck").mkdir(parents=True)
    (out / ".memcheck" / "host.json").write_text("{}")
    (out / "etc").mkdir()
    # Last night /etc/os-release was an absolute link on the host; tonight it is a file.
    os.symlink(str(victim), out / "etc" / "os-release")
    os.symlink(str(tmp_path), out / "proc")
    snap = Snapshot(
        HostInfo("h", "", "", ""),
        {"/etc/os-release": b"ID=hostile\n", "/proc/meminfo": b"MemTotal: 1 kB\n"},
    )
    snap.write(out)
    assert victim.read_text() == "controller file\n"
    assert not (tmp_path / "meminfo").exists()
    assert not (out / "etc" / "os-release").is_symlink()
    assert (out / "etc" / "os-release").read_bytes() == b"ID=hostile\n"
    assert (out / "proc").is_dir() and not (out / "proc").is_symlink()


def test_a_recorded_link_stays_a_link_and_nothing_is_written_below_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    snap = Snapshot(
        HostInfo("h", "", "", ""),
        {"/etc/sub/x": b"data\n"},
        links={"/etc/os-release": str(outside / "f"), "/etc/sub": str(outside)},
    )
    snap.write(tmp_path / "snap")
    assert list(outside.iterdir()) == []
    assert os.readlink(tmp_path / "snap" / "etc" / "os-release") == str(outside / "f")
    assert (tmp_path / "snap" / "etc" / "sub" / "x").read_bytes() == b"data\n"


def test_collect_into_a_folder_of_an_earlier_snapshot_with_hostile_links(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("controller file\n")
    out = tmp_path / "snap"
    (out / ".memcheck").mkdir(parents=True)
    (out / ".memcheck" / "host.json").write_text("{}")
    (out / "proc").mkdir()
    os.symlink(str(victim), out / "proc" / "meminfo")
    done = memcheck("collect", "--profile", "default", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "controller file\n"
    assert not (out / "proc" / "meminfo").is_symlink()
    assert (out / "proc" / "meminfo").read_bytes().startswith(b"MemTotal:")


@pytest.mark.parametrize("kind", ["file", "other-folder", "link"])
def test_write_refuses_what_is_not_a_snapshot_folder(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("keep me\n")
    elif kind == "other-folder":
        out.mkdir()
        (out / "thesis.tex").write_text("keep me\n")
    else:
        (tmp_path / "real").mkdir()
        os.symlink(tmp_path / "real", out)
    with pytest.raises(ConfigError):
        Snapshot(HostInfo("h", "", "", ""), {"/proc/meminfo": b"x"}).write(out)
    if kind == "file":
        assert out.read_text() == "keep me\n"
    elif kind == "other-folder":
        assert (out / "thesis.tex").read_text() == "keep me\n"
    else:
        assert list((tmp_path / "real").iterdir()) == []


def test_a_tarball_never_replaces_a_device_or_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("controller file\n")
    link = tmp_path / "x.tar.gz"
    os.symlink(victim, link)
    snap = Snapshot(HostInfo("h", "", "", ""), {"/proc/meminfo": b"x"})
    with pytest.raises(ConfigError, match="symbolic link"):
        snap.write(link)
    assert victim.read_text() == "controller file\n" and link.is_symlink()
    with pytest.raises(ConfigError, match="character device"):
        snap.write("/dev/null.tar.gz" if os.path.exists("/dev/null.tar.gz") else _devnull(tmp_path))
    snap.write(tmp_path / "ok.tar.gz")
    assert Snapshot.load(tmp_path / "ok.tar.gz").files["/proc/meminfo"] == b"x"


def _devnull(tmp_path: Path) -> str:
    # A character device named like a tarball: the same device as /dev/null, made here.
    path = tmp_path / "null.tar.gz"
    try:
        os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    return str(path)


# -- reading: special files, sizes, tarballs ----------------------------------------------


def test_fifos_and_sockets_in_a_snapshot_are_recorded_not_opened(tmp_path: Path) -> None:
    root = copy_of(GOOD, tmp_path / "snap")
    os.mkfifo(root / "proc" / "swaps.fifo")
    os.remove(root / "proc" / "swaps")
    os.mkfifo(root / "proc" / "swaps")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "etc" / "sock"))
    try:
        started = time.monotonic()
        snap = Snapshot.load(root)
        assert time.monotonic() - started < 10
    finally:
        server.close()
    assert snap.errors["/proc/swaps"] == "not a regular file (FIFO); not read"
    assert snap.errors["/etc/sock"] == "not a regular file (socket); not read"
    assert "/proc/swaps" not in snap.files
    out = tmp_path / "r.json"
    done = memcheck("--root", str(root), "--checks", "swap_configured", "--json", str(out))
    assert "Traceback" not in done.stderr
    host = json.loads(out.read_text())["hosts"][0]
    assert host["collection_errors"]["/proc/swaps"] == "not a regular file (FIFO); not read"
    assert [r["check"] for r in host["results"]] == ["swap_configured"]


def test_big_files_are_truncated_and_say_so(tmp_path: Path) -> None:
    root = copy_of(GOOD, tmp_path / "snap")
    big = snapshot_module.LIMITS.file_bytes + 10
    with open(root / "proc" / "meminfo", "ab") as fh:
        fh.write(b"X" * big)
    log = b"".join(b"[%10d.000000] line %d\n" % (i, i) for i in range(600_000))
    (root / ".memcheck" / "kernel.log").write_bytes(log)
    snap = Snapshot.load(root)
    assert len(snap.files["/proc/meminfo"]) == snapshot_module.LIMITS.file_bytes
    kept = snap.files[KERNEL_LOG]
    if len(log) > snapshot_module.LIMITS.kernel_log_bytes:
        assert log.endswith(kept) and kept.startswith(b"[")  # the newest lines, whole
        assert any(n.startswith(KERNEL_LOG + ":") for n in snap.info.notes)
    assert any(n.startswith("/proc/meminfo:") and "truncated" in n for n in snap.info.notes)


def test_a_live_snapshot_gets_the_same_limits() -> None:
    limit = snapshot_module.LIMITS.file_bytes
    snap = Snapshot(HostInfo("h", "", "", ""), {"/proc/meminfo": b"A" * (limit + 1)})
    assert len(snap.files["/proc/meminfo"]) == limit
    assert "truncated" in snap.info.notes[0]


def test_a_snapshot_over_the_entry_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_module, "LIMITS", Limits(entries=50))
    with pytest.raises(ConfigError, match="more than 50 entries"):
        Snapshot.load(GOOD)


def test_a_snapshot_over_the_byte_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_module, "LIMITS", Limits(total_bytes=1000))
    with pytest.raises(ConfigError, match="of files"):
        Snapshot.load(GOOD)


def _tar_of(folder: Path, out: Path, *options: str) -> Path:
    subprocess.run(["tar", *options, "-czf", str(out), "-C", str(folder), "."], check=True)
    return out


def test_tarballs_keep_dot_memcheck(tmp_path: Path) -> None:
    # `tar -C snap .` names members `./.memcheck/host.json`: only `./` may be stripped.
    folder = Snapshot.load(HOSTS / "recent-oom-kill")
    packed = Snapshot.load(_tar_of(HOSTS / "recent-oom-kill", tmp_path / "s.tar.gz"))
    assert packed.files == folder.files
    assert packed.links == folder.links
    assert packed.info == folder.info
    assert KERNEL_LOG in packed.files
    written = tmp_path / "w.tar.gz"
    folder.write(written)
    assert Snapshot.load(written).files == folder.files


def test_a_sparse_ten_gigabyte_member_is_read_within_the_limit(tmp_path: Path) -> None:
    root = tmp_path / "snap"
    (root / "proc").mkdir(parents=True)
    with open(root / "proc" / "meminfo", "wb") as fh:
        fh.truncate(10 << 30)
    archive = _tar_of(root, tmp_path / "sparse.tar.gz", "--sparse")
    assert archive.stat().st_size < 1 << 20
    started = time.monotonic()
    snap = Snapshot.load(archive)
    assert time.monotonic() - started < 30
    assert len(snap.files["/proc/meminfo"]) == snapshot_module.LIMITS.file_bytes
    assert any("10737418240 bytes" in n for n in snap.info.notes)


def test_a_tarball_over_the_stream_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _tar_of(GOOD, tmp_path / "s.tar.gz")
    monkeypatch.setattr(snapshot_module, "LIMITS", Limits(tar_stream_bytes=4096))
    with pytest.raises(ConfigError, match="archive data"):
        Snapshot.load(archive)


def test_tar_members_that_climb_out_or_are_special_are_not_taken(tmp_path: Path) -> None:
    archive = tmp_path / "h.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, kind in (
            ("../../etc/evil", tarfile.REGTYPE),
            ("proc/meminfo", tarfile.REGTYPE),
            ("proc/fifo", tarfile.FIFOTYPE),
            ("proc/dev", tarfile.CHRTYPE),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            data = b"MemTotal: 1 kB\n" if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, __import__("io").BytesIO(data))
    snap = Snapshot.load(archive)
    assert set(snap.files) == {"/proc/meminfo"}
    assert "FIFO" not in snap.errors["/proc/fifo"] and "special" in snap.errors["/proc/fifo"]
    assert "/proc/dev" in snap.errors


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps({"collected_at": "0001-01-01T00:00:00+14:00"}), "collected_at"),
        (json.dumps({"collected_at": "yesterday"}), "collected_at"),
        (json.dumps({"hostname": {"a": 1}}), "hostname"),
        (json.dumps({"sample_interval_seconds": 10**400}), "sample_interval_seconds"),
        (json.dumps({"errors": {"/x": ["a"]}}), "errors"),
        ("{" + '"a":' * 3 + "1}", "not valid JSON"),
    ],
)
def test_malformed_host_json_is_that_snapshots_error(
    tmp_path: Path, content: str, key: str
) -> None:
    root = copy_of(GOOD, tmp_path / "snap")
    (root / HOST_JSON.lstrip("/")).write_text(content)
    with pytest.raises(ConfigError, match=key):
        Snapshot.load(root)


def test_one_bad_snapshot_costs_only_its_own_host(tmp_path: Path) -> None:
    bad = copy_of(GOOD, tmp_path / "bad")
    (bad / ".memcheck" / "host.json").write_text("[" * 100_000)
    fifo_host = copy_of(GOOD, tmp_path / "fifo")
    os.remove(fifo_host / "proc" / "meminfo")
    os.mkfifo(fifo_host / "proc" / "meminfo")
    good = copy_of(HOSTS / "recent-oom-kill", tmp_path / "good")
    reports = tmp_path / "reports"
    done = memcheck(
        "--root", str(bad), "--root", str(fifo_host), "--root", str(good),
        "--report-dir", str(reports),
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    results = json.loads((reports / "results.json").read_text())
    bad_host, fifo, good_host = results["hosts"]  # in the order given
    assert "nested too deeply" in bad_host["unreachable"]
    assert {r["outcome"] for r in bad_host["results"]} == {"error"}
    assert fifo["unreachable"] is None
    assert "/proc/meminfo" in fifo["collection_errors"]
    assert any(r["outcome"] == "fail" for r in good_host["results"])
    assert done.returncode == 1
    assert (reports / "junit.xml").stat().st_size > 0
    assert (reports / "report.html").stat().st_size > 0


def test_a_file_below_a_folder_that_could_not_be_listed_is_unreadable_not_missing() -> None:
    from memcheck.errors import Unavailable

    snap = Snapshot(
        HostInfo("h", "", "", "", errors={"/var/spool/cron/crontabs": "permission denied"}),
        {"/etc/crontab": b"# nothing\n"},
    )
    with pytest.raises(Unavailable) as caught:
        snap.read("/var/spool/cron/crontabs/root")
    assert not caught.value.missing and caught.value.denied
    assert "/var/spool/cron/crontabs" in caught.value.reason
    with pytest.raises(Unavailable) as missing:
        snap.read("/etc/cron.d/nothing")
    assert missing.value.missing


def test_secrets_in_a_saved_snapshot_never_reach_a_report(tmp_path: Path) -> None:
    # A snapshot made by hand or by an older memcheck, with clear secrets in it.
    root = copy_of(GOOD, tmp_path / "snap")
    (root / "proc" / "4242").mkdir()
    (root / "proc" / "4242" / "comm").write_text("redis-server\n")
    (root / "proc" / "4242" / "cmdline").write_bytes(
        b"redis-server\0*:6379\0--requirepass\0hunter2\0--masterauth=hunter3\0"
    )
    (root / "proc" / "4242" / "environ").write_bytes(b"HOME=/\0DB_PASSWORD=hunter4\0")
    archive = _tar_of(root, tmp_path / "snap.tar.gz")
    for given in (root, archive):
        snap = Snapshot.load(given)
        assert snap.files["/proc/4242/cmdline"].split(b"\0")[2:4] == [b"--requirepass", b"***"]
        reports = tmp_path / ("r-" + given.name)
        done = memcheck(
            "--profile", "redis", "--root", str(given), "--report-dir", str(reports),
            "--", "-p", "no:cacheprovider",
        )  # fmt: skip
        assert "Traceback" not in done.stderr
        written = b"".join(p.read_bytes() for p in reports.iterdir())
        for secret in (b"hunter2", b"hunter3", b"hunter4"):
            assert secret not in written + done.stdout.encode() + done.stderr.encode()


def test_secrets_in_memchecks_own_command_line_are_masked() -> None:
    from memcheck.runner import redact_command

    shown = " ".join(
        redact_command(["memcheck", "--hosts", "ssh://u:pw1@h,ssh://v:pw2@k", "--db-password=pw3"])
    )
    assert "pw1" not in shown and "pw2" not in shown and "pw3" not in shown
    assert "ssh://u:***@h" in shown and "--db-password=***" in shown


def test_entries_that_cannot_sit_on_disk_are_left_out_and_noted(tmp_path: Path) -> None:
    # A hostile host's output may record a path both as a file and as a folder, or a name
    # longer than the file system allows: the rest of the snapshot is still written.
    long_name = "/etc/" + "n" * 300
    snap = Snapshot(
        HostInfo("h", "", "", ""),
        {
            "/proc/meminfo": b"MemTotal: 1 kB\n",
            "/proc/meminfo/x": b"below a file\n",
            long_name: b"too long\n",
            "/proc/swaps": b"Filename\n",
        },
        links={"/proc/swaps": "/etc", "/proc/version": "/etc"},
    )
    snap.write(tmp_path / "out")
    back = Snapshot.load(tmp_path / "out")
    assert back.files["/proc/swaps"] == b"Filename\n"  # the file stays, its twin link not
    assert back.links["/proc/version"] == "/etc"
    assert back.files["/proc/meminfo/x"] == b"below a file\n"
    notes = "\n".join(back.info.notes)
    assert "/proc/meminfo: not written" in notes
    assert long_name + ": not written" in notes
    assert "/proc/swaps: not written" in notes
