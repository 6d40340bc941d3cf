"""A private Docker daemon for the integration tests, and an image built without a registry.

`Dockerd(workdir).start()` runs Debian's `dockerd` on its own socket, data root and exec root
under `workdir`, with no bridge and no iptables rules, and its own containerd namespace, so it
touches neither the machine's network nor a Docker the machine may already run. `docker()`
runs the `docker` CLI against it (DOCKER_HOST), which is also how testinfra's `docker://`
backend reaches it. `stop()` removes every container it ran, stops the daemon (the one process
this helper started) and removes its folders.

No image registry is reachable from CI, so the image is imported from a root file system:
`image_root()` builds one with `debootstrap --variant=minbase` from the machine's own Debian
mirror, once, into a cache folder that later runs reuse (`MEMCHECK_TEST_IMAGE_CACHE`, default
/var/tmp/memcheck-test-image). A minbase root has what the collection script needs inside a
container: sh, tar, head, cat, nice, ionice, timeout and dmesg.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

DEFAULT_CACHE = "/var/tmp/memcheck-test-image"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SUITE = "bookworm"
CONTAINERD_NAMESPACE = "memcheck-test"
MIB = 1024 * 1024


def missing_tools() -> str | None:
    """Why a private dockerd cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "dockerd needs root"
    for tool, package in (
        ("dockerd", "docker.io"),
        ("docker", "docker.io"),
        ("containerd", "containerd, with docker.io"),
        ("runc", "runc, with docker.io"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} ({package}) is not installed"
    if _cached_root(cache_dir()) is None and shutil.which("debootstrap") is None:
        return "debootstrap is not installed (needed once, to build the test image's root)"
    return None


def cache_dir() -> Path:
    return Path(os.environ.get("MEMCHECK_TEST_IMAGE_CACHE", DEFAULT_CACHE))


def debian_source() -> tuple[str, str]:
    """(mirror, suite) for debootstrap: the mirror and release apt uses on this machine when
    it is Debian (its registry is reachable where nothing else is), else Debian's default."""
    release = _os_release()
    if release.get("ID") != "debian" or not release.get("VERSION_CODENAME"):
        return DEFAULT_MIRROR, DEFAULT_SUITE
    suite = release["VERSION_CODENAME"]
    for uri, suites in _apt_sources():
        if suite in suites and "security" not in uri:
            return uri, suite
    return DEFAULT_MIRROR, suite


def _os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def _apt_sources() -> list[tuple[str, list[str]]]:
    """(URI, suites) of the machine's apt sources, one-line and deb822 forms."""
    found: list[tuple[str, list[str]]] = []
    apt = Path("/etc/apt")
    one_line = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for path in one_line:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                found.append((words[1], [words[2]]))
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        try:
            stanzas = path.read_text().split("\n\n")
        except OSError:
            continue
        for stanza in stanzas:
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled") != "no":
                for uri in fields.get("uris", "").split():
                    found.append((uri, fields.get("suites", "").split()))
    return found


def _cached_root(cache: Path) -> Path | None:
    for root in sorted(cache.glob("*-minbase")):
        if (root / ".memcheck-complete").is_file():
            return root
    return None


def image_root(cache: Path | None = None) -> Path:
    """A debootstrap minbase root in the cache folder, built on first use.

    Building takes about half a minute and a few hundred MB of downloads, so it happens once
    per machine; a lock keeps two test runs from building it at the same time, and the root
    is built beside its final name and renamed only when complete."""
    cache = cache or cache_dir()
    mirror, suite = debian_source()
    target = cache / f"{suite}-minbase"
    done = target / ".memcheck-complete"
    if done.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return target
        building = cache / f"{suite}-minbase.building"
        if building.exists():
            shutil.rmtree(building)
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", suite, str(building), mirror],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise RuntimeError(
                f"debootstrap {suite} from {mirror} failed ({result.returncode}): "
                + " | ".join(tail)
            )
        (building / ".memcheck-complete").write_text(f"{suite} {mirror}\n")
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
    return target


# Left out of the image: documentation, translations and apt's downloads and lists (about
# 100 MB of a 206 MB minbase root), which the collector never reads.
IMAGE_EXCLUDES = (
    "./.memcheck-complete",
    "./usr/share/doc",
    "./usr/share/man",
    "./usr/share/info",
    "./usr/share/locale",
    "./var/cache/apt",
    "./var/lib/apt/lists",
)


class Dockerd:
    """A dockerd of its own: socket, exec root and containerd namespace under `workdir`.

    `workdir` should have a short path: the daemon's sockets live under it and a Unix socket
    path holds at most 107 bytes. The data root (images) is kept in the cache folder for the
    next run: removing an imported image's files takes 15 s on a disk mounted with `discard`,
    as CI's is. A lock gives it to one daemon at a time; a second test run meanwhile gets a
    data root of its own under `workdir`, removed at the end."""

    def __init__(self, workdir: Path, cache: Path | None = None) -> None:
        self.workdir = workdir
        self.socket = workdir / "docker.sock"
        self.log = workdir / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None
        self._lock: IO[str] | None = None
        self.data_root = self._claim_data_root(cache or cache_dir())

    def _claim_data_root(self, cache: Path) -> Path:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            lock = open(cache / "docker-data.lock", "w")  # held until stop()
        except OSError:
            return self.workdir / "data"
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return self.workdir / "data"
        self._lock = lock
        return cache / "docker-data"

    @property
    def env(self) -> dict[str, str]:
        """What a `docker` client (and testinfra's docker backend) needs to reach it."""
        return {"DOCKER_HOST": f"unix://{self.socket}"}

    def start(self, timeout: float = 60) -> Dockerd:
        config = self.workdir / "daemon.json"
        config.write_text("{}\n")  # never the machine's /etc/docker/daemon.json
        command = [
            "dockerd",
            f"--host=unix://{self.socket}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.workdir / 'exec'}",
            f"--pidfile={self.workdir / 'docker.pid'}",
            f"--config-file={config}",
            f"--containerd-namespace={CONTAINERD_NAMESPACE}",
            f"--containerd-plugins-namespace={CONTAINERD_NAMESPACE}-plugins",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
        ]
        began = time.monotonic()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                why = f"dockerd exited ({self.process.returncode}): {self._tail()}"
                self.stop()
                raise RuntimeError(why)
            if self.socket.exists() and self.docker("version", check=False).returncode == 0:
                self.start_seconds = time.monotonic() - began
                self._remove_containers()  # what a run that died left in the kept data root
                return self
            time.sleep(0.2)
        why = f"dockerd did not answer within {timeout:g} s: {self._tail()}"
        self.stop()
        raise RuntimeError(why)

    def _tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def docker(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["docker", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def import_image(self, root: Path, name: str) -> None:
        """`tar -C root -c . | docker import - name`, unless the daemon already has it."""
        if self.docker("image", "inspect", name, check=False).returncode == 0:
            return
        tar = subprocess.Popen(
            ["tar", "-C", str(root), *(f"--exclude={x}" for x in IMAGE_EXCLUDES), "-c", "."],
            stdout=subprocess.PIPE,
        )
        try:
            imported = subprocess.run(
                ["docker", "import", "-", name],
                stdin=tar.stdout,
                env={**os.environ, **self.env},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr.strip()}")

    def stop(self) -> None:
        """Remove its containers, stop the daemon and remove its folders."""
        if self.process is not None and self.process.poll() is None:
            self._remove_containers()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._unmount_leftovers()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()  # releases the kept data root
            self._lock = None

    def _remove_containers(self) -> None:
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)

    def _unmount_leftovers(self) -> None:
        """A daemon that died uncleanly can leave overlay and shm mounts in its folders."""
        try:
            mounts = Path("/proc/self/mounts").read_text().splitlines()
        except OSError:
            return
        prefixes = (str(self.workdir) + "/", str(self.data_root) + "/")
        points = [line.split()[1] for line in mounts if len(line.split()) > 1]
        for point in sorted((p for p in points if p.startswith(prefixes)), reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def new_workdir() -> Path:
    """A short-named private folder in /tmp (socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix="mcd-", dir="/tmp"))
