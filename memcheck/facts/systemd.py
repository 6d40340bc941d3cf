"""systemd facts: units as systemd would load them, and whether they start at boot.

Unit search order (systemd.unit(5)): /etc over /run over /usr/local/lib over /usr/lib (and
/lib on older Debian). Drop-ins `<unit>.d/*.conf` are merged by file name across those
directories, a same-named drop-in in a higher directory hiding a lower one.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from memcheck.errors import MISSING, Unavailable
from memcheck.facts.base import FactsBase
from memcheck.parse.systemd_unit import Assignment, UnitFile, parse_unit

UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
UNIT_READS = tuple(d + "/**" for d in UNIT_DIRS)
# Targets reached at an ordinary boot; a unit wanted only by another target may not start.
BOOT_TARGETS = (
    "default.target",
    "multi-user.target",
    "graphical.target",
    "sysinit.target",
    "basic.target",
    "local-fs.target",
    "sockets.target",
    "timers.target",
)


@dataclass(frozen=True)
class Unit:
    """A unit's main file plus its drop-ins, in the order systemd applies them."""

    name: str
    path: str
    files: tuple[UnitFile, ...]
    masked: bool = False

    def assignments(self, section: str, key: str) -> list[Assignment]:
        """Every assignment of `key`, honouring empty assignments that reset the list."""
        found: list[Assignment] = []
        for unit_file in self.files:
            for a in unit_file.assignments:
                if a.section == section and a.key == key:
                    if a.value == "":
                        found = []
                    else:
                        found.append(a)
        return found

    def get(self, section: str, key: str) -> Assignment | None:
        """The effective (last) assignment of a single-valued setting."""
        found = self.assignments(section, key)
        return found[-1] if found else None


@dataclass(frozen=True)
class Enablement:
    """Where a unit is linked in: `(target, link path)` pairs from `.wants/`/`.requires/`."""

    links: tuple[tuple[str, str], ...]
    # wanted by a unit (not a target) that is itself started at boot
    via_unit_at_boot: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.links)

    @property
    def at_boot(self) -> bool:
        return self.via_unit_at_boot or any(target in BOOT_TARGETS for target, _ in self.links)


class SystemdFacts(FactsBase):
    """`facts.has_systemd`, `facts.unit(name)`, `facts.unit_enablement(name)`, `facts.unit_names()`."""

    @property
    def has_systemd(self) -> bool:
        """systemd is the running init: it creates /run/systemd/system at boot (sd_booted(3))."""
        if self.snapshot.is_dir("/run/systemd/system"):
            return True
        comm = self.optional_text("/proc/1/comm")
        return comm is not None and comm.strip() == "systemd"

    @property
    def has_unit_files(self) -> bool:
        return any(self.snapshot.is_dir(d) for d in UNIT_DIRS)

    def unit_names(self, suffix: str = "") -> list[str]:
        """Names of unit files in any unit directory (not in `.wants/` or drop-in folders),
        those that could not be read included (`unit()` then says why)."""
        names: set[str] = set()
        for directory in UNIT_DIRS:
            for name in self._entries(directory):
                if name.endswith(suffix) and not name.endswith((".wants", ".requires", ".d")):
                    names.add(name)
        return sorted(names)

    def _entries(self, directory: str) -> list[str]:
        """The names in a folder, with those recorded only as unreadable."""
        names = set(self.snapshot.listdir(directory))
        prefix = directory + "/"
        for path, reason in self.snapshot.errors.items():
            if path.startswith(prefix) and "/" not in path[len(prefix) :] and reason != MISSING:
                names.add(path[len(prefix) :])
        return sorted(names)

    @property
    def unit_problems(self) -> dict[str, str]:
        """Unit files and folders (`.wants/`, drop-in folders, the unit directories) that
        were there but could not be read or listed: path -> reason. What they hold (a timer,
        a drop-in, an enablement link) is unknown."""
        cache_key = "unit-problems"
        found: dict[str, str] | None = self._cache.get(cache_key)
        if found is None:
            found = {}
            for directory in UNIT_DIRS:
                found.update(self.unreadable_below(directory))
            self._cache[cache_key] = found
        return found

    def _hidden(self, path: str) -> None:
        """Raise `Unavailable` when `path` was there but unreadable, or may be there unseen
        because its folder could not be listed."""
        reason = self.snapshot.errors.get(path)
        if reason is not None and reason != MISSING:
            raise Unavailable(path, reason)
        hidden = self.unlisted(path)
        if hidden is not None:
            raise Unavailable(path, f"{hidden[1]} ({hidden[0]})")

    def _main_file(self, name: str) -> tuple[str, bool] | None:
        for directory in UNIT_DIRS:
            path = f"{directory}/{name}"
            self._hidden(path)  # an unreadable file here would hide the ones below
            link = self.snapshot.readlink(path)
            if link is not None and link == "/dev/null":
                return path, True
            if self.snapshot.exists(path) and not self.snapshot.is_dir(path):
                # systemd.unit(5): an empty unit file is masked, like a link to /dev/null
                real = self.snapshot.resolve(path)
                return path, self.snapshot.files.get(real) == b""
        if "@" in name:  # foo@bar.service falls back to the template foo@.service
            prefix, _, rest = name.partition("@")
            template = prefix + "@" + rest[rest.find(".") :]
            if template != name:
                return self._main_file(template)
        return None

    def unit(self, name: str) -> Unit | None:
        """The unit as systemd would load it, or None when no unit file exists."""
        cache_key = "unit:" + name
        if cache_key in self._cache:
            cached_unit: Unit | None = self._cache[cache_key]
            return cached_unit
        found = self._main_file(name)
        unit: Unit | None = None
        if found is not None:
            path, masked = found
            files: list[UnitFile] = []
            if not masked:
                files.append(self._parse(path))
                dropins: dict[str, str] = {}
                for directory in reversed(UNIT_DIRS):  # higher-priority dirs overwrite
                    self._hidden(f"{directory}/{name}.d")
                    for conf in self._entries(f"{directory}/{name}.d"):
                        if conf.endswith(".conf"):
                            dropins[conf] = f"{directory}/{name}.d/{conf}"
                # a drop-in linked to /dev/null masks the same-named one of a lower directory
                files.extend(
                    self._parse(dropins[conf])
                    for conf in sorted(dropins)
                    if self.snapshot.readlink(dropins[conf]) != "/dev/null"
                )
            unit = Unit(name, path, tuple(files), masked)
        self._cache[cache_key] = unit
        return unit

    def _parse(self, path: str) -> UnitFile:
        return parse_unit(self.text(path), path)

    def unit_enablement(self, name: str) -> Enablement:
        """The `.wants/` and `.requires/` links that pull the unit in. `at_boot` also holds
        when the unit is wanted by another unit that is itself started at boot."""
        cache_key = "enablement:" + name
        if cache_key not in self._cache:
            self._cache[cache_key] = Enablement(())  # guards against cycles while resolving
            links = self._enablement_links(name)
            reached = any(
                target not in BOOT_TARGETS and self.unit_enablement(target).at_boot
                for target, _ in links
                if "." in target
            )
            self._cache[cache_key] = Enablement(links, reached)
        found: Enablement = self._cache[cache_key]
        return found

    def _enablement_links(self, name: str) -> tuple[tuple[str, str], ...]:
        return self._wants_index().get(name, ())

    def _wants_index(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Every `.wants/`/`.requires/` entry, by unit name, read once per host."""
        index: dict[str, tuple[tuple[str, str], ...]] | None = self._cache.get("wants-index")
        if index is None:
            found: dict[str, list[tuple[str, str]]] = {}
            for directory in UNIT_DIRS:
                for entry in self.snapshot.listdir(directory):
                    if not entry.endswith((".wants", ".requires")):
                        continue
                    target = entry.rsplit(".", 1)[0]
                    for name in self.snapshot.listdir(f"{directory}/{entry}"):
                        link = f"{directory}/{entry}/{name}"
                        if self.snapshot.readlink(link) != "/dev/null":
                            found.setdefault(name, []).append((target, link))
            index = {name: tuple(links) for name, links in found.items()}
            self._cache["wants-index"] = index
        return index

    def unit_path_of_link(self, link: str) -> str:
        target = self.snapshot.readlink(link) or link
        return posixpath.basename(target)
