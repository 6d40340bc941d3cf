"""Files read many at a time: one `head` for kernel globs, one `tar` for trees on disk.

A batch saves a process per file on the host; these tests hold it to the same standard as
reading file by file: every byte exact, nothing misattributed, every failure named.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.collect.script import AMBIGUOUS, TRUNCATED, _header_spots, tar_members
from memcheck.snapshot import Snapshot
from tests.collect.shells import NONCE, as_nobody, need, run_script
from tests.collect.test_parse_output import HEAD, frame

# -- head: kernel files under /proc and /sys ------------------------------------------------


def head_output(paths: list[str], body: bytes, stderr: bytes = b"", done: bool = True) -> bytes:
    """What the script prints for a glob whose files went through one head (prefix /p)."""
    records: list[tuple[str, bytes | str]] = [
        *HEAD,
        ("read", "/proc/[0-9]*/cmdline"),
        ("list", "/p\n" + "".join(f"/p{p}\n" for p in paths)),
        ("head", body),
    ]
    if stderr:
        records.append(("error", stderr))
    if done:
        records += [("done", ""), ("end", "")]
    return frame(*records)


def header(path: str, first: bool = False) -> bytes:
    return (b"" if first else b"\n") + f"==> /p{path} <==\n".encode()


def parse(stdout: bytes) -> Snapshot:
    return parse_output(stdout, NONCE, "test", "t")


A, B, C = "/proc/1/cmdline", "/proc/2/cmdline", "/proc/3/cmdline"


def test_head_output_splits_back_into_exact_files() -> None:
    body = (
        header(A, first=True)
        + b"init\x00--x\x00"
        + header(B)
        + b"two\nlines\n"
        + header(C)
        + b"no newline"
    )
    snap = parse(head_output([A, B, C], body))
    assert snap.files[A] == b"init\x00--x\x00"
    assert snap.files[B] == b"two\nlines\n"
    assert snap.files[C] == b"no newline"
    assert not snap.errors


def test_empty_files_stay_empty() -> None:
    body = header(A, first=True) + header(B) + header(C) + b"\n"
    snap = parse(head_output([A, B, C], body))
    assert (snap.files[A], snap.files[B], snap.files[C]) == (b"", b"", b"\n")


def test_a_forged_header_makes_the_files_around_it_unreadable_not_wrong() -> None:
    # Process 1 set its command line to look like the end of its file and process 2's start.
    forged = b"evil\x00" + header(B) + b"fake args"
    body = header(A, first=True) + forged + header(B) + b"real\x00" + header(C) + b"three"
    snap = parse(head_output([A, B, C], body))
    assert snap.errors[A] == AMBIGUOUS
    assert snap.errors[B] == AMBIGUOUS
    assert A not in snap.files and B not in snap.files
    assert snap.files[C] == b"three"


def test_a_header_of_a_file_not_listed_is_just_content() -> None:
    content = b"x" + header("/proc/99/cmdline") + b"y"
    body = header(A, first=True) + content + header(B) + b"b"
    snap = parse(head_output([A, B], body))
    assert snap.files[A] == content
    assert snap.files[B] == b"b"


def test_a_forged_first_header_later_on_is_caught() -> None:
    content = b"b" + b"\n==> /p" + A.encode() + b" <==\n" + b"again"
    body = header(A, first=True) + b"a" + header(B) + content + header(C) + b"c"
    snap = parse(head_output([A, B, C], body))
    assert snap.errors[A] == AMBIGUOUS and snap.errors[B] == AMBIGUOUS
    assert snap.files[C] == b"c"


def test_files_head_could_not_open_are_errors_or_gone() -> None:
    body = header(A, first=True) + b"a"
    stderr = (
        f"head: cannot open '/p{B}' for reading: Permission denied\n"
        f"head: cannot open '/p{C}' for reading: No such file or directory\n"
    ).encode()
    snap = parse(head_output([A, B, C], body, stderr))
    assert snap.files[A] == b"a"
    assert snap.errors[B] == "permission denied"
    # Vanished between the glob and head: gone, as when files are read one by one.
    assert C not in snap.errors and C not in snap.files


def test_a_forged_header_for_a_file_head_could_not_open_is_content() -> None:
    content = b"a" + header(B) + b"pretend"
    body = header(A, first=True) + content + header(C) + b"c"
    stderr = f"head: cannot open '/p{B}' for reading: Permission denied\n".encode()
    snap = parse(head_output([A, B, C], body, stderr))
    assert snap.files[A] == content
    assert snap.errors[B] == "permission denied"
    assert snap.files[C] == b"c"


def test_a_read_error_after_the_header_spoils_only_that_file() -> None:
    body = header(A, first=True) + b"a" + header(B) + header(C) + b"c"
    stderr = f"head: error reading '/p{B}': Invalid argument\n".encode()
    snap = parse(head_output([A, B, C], body, stderr))
    assert snap.files[A] == b"a"
    assert snap.errors[B] == "Invalid argument"
    assert snap.files[C] == b"c"


def test_output_cut_short_keeps_whole_files_only() -> None:
    body = header(A, first=True) + b"a" + header(B) + b"partial"
    snap = parse(head_output([A, B, C], body, done=False))
    assert snap.files[A] == b"a"
    assert snap.errors[B] == TRUNCATED
    assert snap.errors[C] == TRUNCATED


def _naive_spots(data: bytes, path: str) -> list[int]:
    """Every occurrence of the header, found the slow obvious way (the reference)."""
    mark = f"\n==> {path} <==\n".encode()
    spots = [-1] if data.startswith(mark[1:]) else []
    spots += [i for i in range(len(data)) if data.startswith(mark, i)]
    return spots


def test_header_positions_match_the_obvious_search() -> None:
    paths = ["/p/a", "/p/b <== x", "/p/c", "/p/a/b"]
    data = (
        b"==> /p/a <==\nA\n==> /p/b <== x <==\n==> /p/c <==\n"  # adjacent headers
        b"==> /p/a <==\n"  # a forged repeat at the start of a line
        b"x==> /p/c <==\n"  # not at a line start: content
        b"\n==> /p/a/b <==\n\n==> /p/zz <==\n\n==> /p/c <=="  # unlisted; unterminated
    )
    header = {p: f"\n==> {p} <==\n".encode() for p in paths}
    found = _header_spots(data, header)
    for path in paths:
        assert found.get(path, []) == _naive_spots(data, path), path
    assert found["/p/a"] == [-1, data.index(b"\n==> /p/a <==\n", 1)]


def test_a_host_with_thousands_of_processes_is_parsed_in_linear_time() -> None:
    # 20,000 listed files: searching the output once per file took minutes; one pass
    # takes well under a second even on a slow machine (no timing asserted: the bound
    # below is on the work, by counting the searches of the data).
    paths = [f"/proc/{pid}/status" for pid in range(1, 20001)]
    body = b"".join(header(p, first=(i == 0)) + b"Name:\tx\n" for i, p in enumerate(paths))
    calls = 0
    real_find = bytes.find

    class Counting(bytes):
        def find(self, *args: object) -> int:  # type: ignore[override]
            nonlocal calls
            calls += 1
            return real_find(self, *args)  # type: ignore[arg-type]

    header_of = {f"/p{p}": f"\n==> /p{p} <==\n".encode() for p in paths}
    spots = _header_spots(Counting(body), header_of)
    assert len(spots) == len(paths)
    assert calls <= 2 * len(paths) + 2
    snap = parse(head_output(paths, body))
    assert snap.files["/proc/20000/status"] == b"Name:\tx\n"


def test_real_head_over_a_tree_with_hostile_content(tmp_path: Path) -> None:
    root = tmp_path / "r"
    files = {
        "/proc/1/cmdline": b"a\x00b\x00",
        "/proc/2/cmdline": b"two\n\n==> " + str(root).encode() + b"/proc/9/cmdline <==\n",
        "/proc/3/cmdline": b"",
        "/proc/4/status": b"Name:\tx\n",
    }
    for path, data in files.items():
        (root / path[1:]).parent.mkdir(parents=True, exist_ok=True)
        (root / path[1:]).write_bytes(data)
    script = build_script(["/proc/[0-9]*/cmdline"], NONCE, 0, prefix=str(root))
    for shell in ("dash", "busybox"):
        need(shell)
        proc = run_script(script, shell)
        assert proc.returncode == 0 and proc.stderr == b""
        assert b":MEMCHECK:" + NONCE.encode() + b":head\n" in proc.stdout
        snap = parse(proc.stdout)
        for path in ("/proc/1/cmdline", "/proc/2/cmdline", "/proc/3/cmdline"):
            assert snap.files[path] == files[path], (shell, path)


def test_unreadable_kernel_files_in_a_glob_say_why() -> None:
    prefix = as_nobody()
    # pytest's own tmp_path sits below a root-only folder; nobody needs one it can enter.
    root = Path(tempfile.mkdtemp(prefix="memcheck-batch-", dir="/tmp"))
    try:
        root.chmod(0o755)
        for pid in (1, 2, 3):
            path = root / f"proc/{pid}/environ"
            path.parent.mkdir(parents=True)
            path.write_bytes(f"K{pid}=v\x00".encode())
            path.parent.chmod(0o755)
        (root / "proc").chmod(0o755)
        (root / "proc/2/environ").chmod(0o000)
        script = build_script(["/proc/[0-9]*/environ"], NONCE, 0, prefix=str(root))
        snap = parse(run_script(script, "sh", prefix=prefix).stdout)
    finally:
        shutil.rmtree(root)
    assert snap.files["/proc/1/environ"] == b"K1=v\x00"
    assert snap.errors["/proc/2/environ"] == "permission denied"
    assert snap.files["/proc/3/environ"] == b"K3=v\x00"


# -- tar: trees and globs on disk -----------------------------------------------------------

LONG = "d" * 60 + "/" + "e" * 60 + "/" + "f" * 80  # longer than ustar's 100-byte name


def make_tree(top: Path) -> dict[str, bytes]:
    files = {
        "a.conf": b"x=1\n",
        "empty": b"",
        "binary": bytes(range(256)) * 4,
        LONG: b"long name\n",
        "sub/b.conf": b"nested\n",
    }
    for name, data in files.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(data)
    os.link(top / "a.conf", top / "hard")
    (top / "link").symlink_to("a.conf")
    (top / "long-link").symlink_to("x" * 150)
    os.mkfifo(top / "fifo")
    return files


def tar_with(argv: list[str], top: Path) -> bytes:
    proc = subprocess.run(
        [*argv, "-cf", "-", "-C", str(top.parent), "--", top.name],
        capture_output=True,
        check=True,
    )
    return proc.stdout


@pytest.mark.parametrize("tool", ["tar", "busybox"])
def test_tar_streams_from_gnu_and_busybox_tar(tmp_path: Path, tool: str) -> None:
    argv = [need("tar")] if tool == "tar" else [need("busybox"), "tar"]
    top = tmp_path / "tree"
    files = make_tree(top)
    entries = tar_members(tar_with(argv, top))
    for name, data in files.items():
        entry = entries[f"/tree/{name}"]
        assert (entry.kind, entry.data) == ("file", data), name
    assert entries["/tree/hard"].data == b"x=1\n"
    assert (entries["/tree/link"].kind, entries["/tree/link"].target) == ("link", "a.conf")
    assert entries["/tree/long-link"].target == "x" * 150
    assert entries["/tree/sub"].kind == "dir"
    assert entries["/tree/fifo"].kind == "special"


@pytest.mark.parametrize("form", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_tar_formats(tmp_path: Path, form: int) -> None:
    top = tmp_path / "tree"
    top.mkdir()
    (top / "x").write_bytes(b"data")
    (top / ("n" * 90)).mkdir()
    (top / ("n" * 90) / ("m" * 90)).write_bytes(b"deep")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=form) as archive:
        archive.add(top, arcname="tree")
    entries = tar_members(buffer.getvalue())
    assert entries["/tree/x"].data == b"data"
    assert entries["/tree/" + "n" * 90 + "/" + "m" * 90].data == b"deep"


def test_a_tar_stream_cut_short_keeps_whole_members(tmp_path: Path) -> None:
    top = tmp_path / "tree"
    top.mkdir()
    (top / "1-first").write_bytes(b"a" * 100)
    (top / "2-big").write_bytes(b"b" * 100_000)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        archive.add(top / "1-first", arcname="tree/1-first")
        archive.add(top / "2-big", arcname="tree/2-big")
    data = buffer.getvalue()
    cut = data.index(b"tree/2-big") + 5000
    entries = tar_members(data[:cut])
    assert entries["/tree/1-first"].data == b"a" * 100
    assert entries["/tree/2-big"].kind == ""  # settles as not collected
    # A damaged header (bad checksum) ends the stream: nothing after it is believed.
    damaged = bytearray(data)
    damaged[data.index(b"tree/2-big")] ^= 0xFF
    assert set(tar_members(bytes(damaged))) == {"/tree/1-first"}


def test_globs_on_disk_go_through_one_tar_and_links_are_still_followed(tmp_path: Path) -> None:
    root = tmp_path / "r"
    conf = root / "etc/tmpfiles.d"
    conf.mkdir(parents=True)
    (conf / "a.conf").write_bytes(b"w /sys/x - - - - never\n")
    (conf / "b.conf").write_bytes(b"# none\n")
    (conf / "masked.conf").symlink_to("/dev/null")
    (conf / "c.conf").symlink_to("a.conf")
    script = build_script(["/etc/tmpfiles.d/*.conf"], NONCE, 0, prefix=str(root))
    proc = run_script(script, "sh")
    assert b":tar\n" in proc.stdout
    snap = parse(proc.stdout)
    assert snap.files["/etc/tmpfiles.d/a.conf"] == b"w /sys/x - - - - never\n"
    assert snap.files["/etc/tmpfiles.d/b.conf"] == b"# none\n"
    assert snap.links["/etc/tmpfiles.d/masked.conf"] == "/dev/null"
    assert snap.read("/etc/tmpfiles.d/c.conf") == b"w /sys/x - - - - never\n"


def test_without_tar_or_head_files_are_read_one_by_one(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "etc/x.d").mkdir(parents=True)
    (root / "etc/x.d/a").write_bytes(b"a\n")
    (root / "etc/x.d/b").write_bytes(b"b\n")
    (root / "proc/1").mkdir(parents=True)
    (root / "proc/2").mkdir(parents=True)
    (root / "proc/1/comm").write_bytes(b"one\n")
    (root / "proc/2/comm").write_bytes(b"two\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cat", "readlink", "date", "sh"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    script = build_script(
        ["/etc/x.d/**", "/etc/x.d/*", "/proc/[0-9]*/comm"], NONCE, 0, prefix=str(root)
    )
    proc = subprocess.run(
        [str(bin_dir / "sh"), "-c", script, "sh"],
        capture_output=True,
        env={"PATH": str(bin_dir)},
        check=True,
    )
    assert b":tar\n" not in proc.stdout and b":head\n" not in proc.stdout
    snap = parse(proc.stdout)
    assert snap.files["/etc/x.d/a"] == b"a\n" and snap.files["/etc/x.d/b"] == b"b\n"
    assert snap.files["/proc/1/comm"] == b"one\n" and snap.files["/proc/2/comm"] == b"two\n"


# -- merged /usr: /lib/X is read once, through the link --------------------------------------


def units_tree(root: Path, merged: bool) -> None:
    units = root / "usr/lib/systemd/system"
    (units / "multi-user.target.wants").mkdir(parents=True)
    (units / "a.service").write_bytes(b"[Service]\nExecStart=/bin/true\n")
    (units / "masked.service").symlink_to("/dev/null")
    (units / "multi-user.target.wants/a.service").symlink_to("../a.service")
    if merged:
        (root / "lib").symlink_to("usr/lib")
    else:
        (root / "lib/systemd/system").mkdir(parents=True)
        (root / "lib/systemd/system/old.service").write_bytes(b"[Unit]\n")


@pytest.mark.parametrize("shell", ["sh", "bash", "busybox"])
def test_a_merged_usr_tree_is_read_once_and_resolves_through_the_link(
    tmp_path: Path, shell: str
) -> None:
    root = tmp_path / "r"
    units_tree(root, merged=True)
    reads = ["/usr/lib/systemd/system/**", "/lib/systemd/system/**"]
    proc = run_script(build_script(reads, NONCE, 0, prefix=str(root)), shell)
    assert proc.stderr == b""
    assert proc.stdout.count(b"a.service") < 4  # once in the tar (header + wants link)
    snap = parse(proc.stdout)
    assert snap.links["/lib"] == "usr/lib"
    assert not any(p.startswith("/lib/") for p in (*snap.files, *snap.links))
    assert snap.read("/lib/systemd/system/a.service") == b"[Service]\nExecStart=/bin/true\n"
    assert snap.listdir("/lib/systemd/system") == snap.listdir("/usr/lib/systemd/system")
    # Links below the linked folder read as they would on the host.
    assert snap.readlink("/lib/systemd/system/masked.service") == "/dev/null"
    assert snap.readlink("/lib/systemd/system/multi-user.target.wants/a.service") == (
        "../a.service"
    )
    assert not any(why.startswith("not collected") for why in snap.errors.values())


def test_a_separate_lib_tree_is_read_as_usual(tmp_path: Path) -> None:
    root = tmp_path / "r"
    units_tree(root, merged=False)
    reads = ["/usr/lib/systemd/system/**", "/lib/systemd/system/**"]
    snap = parse(run_script(build_script(reads, NONCE, 0, prefix=str(root)), "sh").stdout)
    assert "/lib" not in snap.links
    assert snap.files["/lib/systemd/system/old.service"] == b"[Unit]\n"
    assert snap.read("/usr/lib/systemd/system/a.service").startswith(b"[Service]")
