"""A hand-made host tree full of hostile names and content, for running the script over."""

from __future__ import annotations

import os
import random
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.collect.shells import NONCE

# Frame look-alikes: another run's markers, this run's nonce halves apart, a bare marker.
MARKERS = (
    b"\n:MEMCHECK:ffffffffffffffffffffffffffffffff:end\n"
    b"\n:MEMCHECK:" + NONCE[:16].encode() + b":path\n/etc/passwd"
    b"\n:MEMCHECK:%s%s:file\n" + NONCE[16:].encode() + b"\n:MEMCHECK:\n:MEMCHECK:"
)

HOSTILE_NAMES = (
    "sp ace",
    "quo'te",
    'dq"uote',
    "$(touch PWNED)",
    "`touch PWNED`",
    "*",
    "[a]",
    "?",
    "new\nline",
    "-n",
    "--",
    ".hidden",
    "..dots",
    "tab\there",
    "back\\slash",
    "semi;colon&amp",
)


@dataclass
class Tree:
    """What was written, by recorded (host) path."""

    root: str
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    fifos: set[str] = field(default_factory=set)

    def write(self, path: str, data: bytes, mode: int = 0o644) -> None:
        full = self.root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
        os.chmod(full, mode)
        self.files[path] = data

    def link(self, path: str, target: str) -> None:
        full = self.root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        os.symlink(target, full)
        self.links[path] = target

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        os.makedirs(self.root + path, exist_ok=True)
        os.chmod(self.root + path, mode)
        self.dirs.add(path)

    def fifo(self, path: str) -> None:
        os.mkfifo(self.root + path)
        self.fifos.add(path)


HOSTILE_READS = (
    "/proc/meminfo",
    "/proc/[0-9]*/comm",
    "/proc/[0-9]*/cmdline",
    "/etc/hostile/**",
    "/etc/hostile/secret",
    "/etc/hostile/nul",
    "/etc/hostile/lnk",
    "/etc/hostile/dir-link",
    "/etc/hostile/locked/inner",
    "/sys/kernel/mm/transparent_hugepage/hugepages-*/enabled",
    "/proc/sys/vm/no_such_knob",
    "/.memcheck/vmstat.after",
)


@contextmanager
def hostile_tree() -> Iterator[Tree]:
    """A world-traversable tree (so `nobody` can walk it) whose own name needs quoting."""
    top = tempfile.mkdtemp(prefix="mc tree '$(touch PWNED)' [a]* ", dir="/tmp")
    os.chmod(top, 0o755)
    tree = Tree(top)
    try:
        rng = random.Random(1234)
        tree.write("/proc/meminfo", b"MemTotal:        1024 kB\nMemAvailable:     512 kB\n")
        tree.write("/proc/uptime", b"100.25 50.00\n")
        tree.write("/proc/vmstat", b"pswpin 1\npswpout 2\n")
        tree.write("/proc/sys/kernel/hostname", b"treehost\n")
        tree.write("/proc/123/comm", b"bash\n")
        tree.write("/proc/456/comm", b"we\rird\tcomm")  # comm is a C string: never a NUL
        tree.write("/proc/456/cmdline", b"we\rird\x00arg \x00\x00")
        tree.write("/proc/abc/comm", b"not a pid\n")
        tree.write("/usr/lib/os-release", b'ID=test\nPRETTY_NAME="Test"\n')
        tree.link("/etc/os-release", "../usr/lib/os-release")
        thp = "/sys/kernel/mm/transparent_hugepage"
        tree.write(thp + "/hugepages-2048kB/enabled", b"always [inherit] madvise never\n")
        tree.write(thp + "/hugepages-64kB/enabled", b"always inherit madvise [never]\n")
        h = "/etc/hostile"
        tree.mkdir(h)
        tree.write(h + "/nul", b"a\x00b\x00\x00")
        tree.write(h + "/cr", b"line\r\n\r")
        tree.write(h + "/nonl", b"no newline")
        tree.write(h + "/empty", b"")
        tree.write(h + "/newlines", b"\n\n\n")
        tree.write(h + "/marker", MARKERS)
        tree.write(h + "/big", bytes(rng.getrandbits(8) for _ in range(1 << 20)))
        tree.write(h + "/latin1", b"caf\xe9 \xff\xfe\x80 end\n")
        for i, name in enumerate(HOSTILE_NAMES):
            tree.write(f"{h}/{name}", f"content {i}: {name}\n".encode())
        tree.mkdir(h + "/sub/deeper")
        tree.dirs.add(h + "/sub")
        tree.write(h + "/sub/deeper/file", b"deep\n")
        tree.write(h + "/sub/.dot", b"dot\n")
        tree.mkdir(h + "/empty-dir")
        tree.mkdir(h + "/new\ndir")
        tree.write(h + "/new\ndir/x y", b"in a dir with a newline\n")
        tree.link(h + "/lnk", "nul")
        tree.link(h + "/dangling", "nowhere")
        tree.link(h + "/abs", "/etc/hostname")
        tree.link(h + "/loop", "loop")
        tree.link(h + "/dir-link", "sub")
        tree.link(h + "/sp ace link", "sp ace")
        tree.fifo(h + "/pipe")
        tree.write(h + "/secret", b"top secret\n", mode=0o000)
        tree.mkdir(h + "/locked")
        tree.write(h + "/locked/inner", b"hidden\n")
        os.chmod(top + h + "/locked", 0o000)
        yield tree
    finally:
        os.chmod(top + "/etc/hostile/locked", stat.S_IRWXU)
        for dirpath, dirnames, _ in os.walk(top):
            for name in dirnames:
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    os.chmod(full, stat.S_IRWXU)
        shutil.rmtree(top)
