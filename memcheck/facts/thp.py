"""Transparent hugepage facts: the modes in effect now, and what sets them at the next boot.

Runtime: /sys/kernel/mm/transparent_hugepage (RHEL 6: redhat_transparent_hugepage); both absent
means THP is compiled out. Boot: whatever writes the sysfs files during boot (systemd units,
tmpfiles.d `w` lines, the active tuned profile, rc.local) overrides the kernel command line,
which overrides the kernel's built-in default (https://docs.kernel.org/admin-guide/mm/transhuge.html).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from memcheck.errors import MISSING, ParseError, Unavailable
from memcheck.facts.base import cached
from memcheck.facts.boot import BootFacts
from memcheck.facts.systemd import Enablement, SystemdFacts
from memcheck.parse import shell_writes
from memcheck.parse.kernel_cmdline import parse_cmdline
from memcheck.parse.systemd_unit import Assignment
from memcheck.parse.thp import ThpMode, mthp_size_bytes, parse_flag, parse_mode
from memcheck.parse.tmpfiles import TmpfilesLine, parse_tmpfiles
from memcheck.parse.tuned import TunedConf, parse_active_profile, parse_tuned_conf
from memcheck.secrets import mask_command_file
from memcheck.snapshot import META_DIR

THP_DIRS = ("/sys/kernel/mm/transparent_hugepage", "/sys/kernel/mm/redhat_transparent_hugepage")
# The modes the `database` profile and most vendors accept; the default of thp_enabled's and
# thp_defrag's `allowed` param, and what thp_persisted requires when they are not selected.
THP_DEFAULT_ALLOWED = ("never", "madvise")
CONTROLS = ("enabled", "defrag")
# In the name of every THP folder: text that writes to a THP file holds it.
_THP_MARK = b"transparent_hugepage"
TMPFILES_DIRS = (
    "/etc/tmpfiles.d",
    "/run/tmpfiles.d",
    "/usr/local/lib/tmpfiles.d",
    "/usr/lib/tmpfiles.d",
)
TUNED_PROFILE_DIRS = (
    "/etc/tuned/profiles",
    "/etc/tuned",
    "/usr/lib/tuned/profiles",
    "/usr/lib/tuned",
)
RC_LOCAL = ("/etc/rc.local", "/etc/rc.d/rc.local")
# systemd-rc-local-generator links rc-local.service here only when /etc/rc.local is executable.
RC_LOCAL_GENERATED = "/run/systemd/generator/multi-user.target.wants/rc-local.service"
THP_READS = (
    *(f"{d}/{c}" for d in THP_DIRS for c in CONTROLS),
    *(d + "/khugepaged/defrag" for d in THP_DIRS),
    THP_DIRS[0] + "/hugepages-*/enabled",
)
THP_BOOT_READS = (
    *(d + "/*.conf" for d in TMPFILES_DIRS),
    "/etc/tuned/active_profile",
    "/etc/tuned/**",
    "/usr/lib/tuned/**",
    *RC_LOCAL,
    RC_LOCAL_GENERATED,
)
_EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost")
_TUNED_KEYS = {
    "enabled": ("transparent_hugepages", "transparent_hugepage"),
    "defrag": ("transparent_hugepage.defrag",),
}


@dataclass(frozen=True)
class MthpSetting:
    """A per-size control, `hugepages-<size>kB/enabled` (kernels 6.8+)."""

    size_bytes: int
    mode: ThpMode


@dataclass(frozen=True)
class ThpSetter:
    """One thing that sets a THP control at boot. `mode` None: the value is not literal."""

    control: str
    mechanism: str
    mode: str | None
    source: str | None
    line: int | None
    text: str
    active: bool = True
    note: str | None = None


@dataclass(frozen=True)
class ThpBoot:
    """Everything found for one control. `deciding` are the setters the boot mode comes from:
    the active writers if any (in an order the snapshot cannot tell, so all must agree), else
    the kernel command line, else the built-in default; empty when nothing is known."""

    control: str
    writers: tuple[ThpSetter, ...]
    cmdline: ThpSetter | None
    default: ThpSetter | None
    inactive: tuple[ThpSetter, ...]
    notes: tuple[str, ...]
    # Inputs that exist but could not be read and may change the boot mode (path -> reason):
    # a unit, script, tmpfiles.d or tuned file could hold a writer; with no writer, a boot
    # loader file or the kernel config could change the command line or the default.
    unreadable: tuple[tuple[str, str], ...] = ()

    @property
    def deciding(self) -> tuple[ThpSetter, ...]:
        if self.writers:
            return self.writers
        if self.cmdline is not None:
            return (self.cmdline,)
        return (self.default,) if self.default is not None else ()


def _strip_exec_prefix(command: str) -> str:
    """systemd.service(5): `@`, `-`, `:`, `+`, `!`, `!!` may precede the executable."""
    return command.lstrip("@-:+!|")


def _may_name(text: str, paths: tuple[str, ...]) -> bool:
    """Whether `text` can write to one of `paths` at all: a write names its file, whose
    last folder name appears whole in the text (normalising a path only removes parts)."""
    return any(posixpath.basename(posixpath.dirname(p)) in text for p in paths)


class ThpFacts(SystemdFacts, BootFacts):
    """`facts.thp_enabled`, `facts.thp_defrag`, `facts.thp_mthp`, `facts.thp_boot(control)`."""

    @property
    @cached
    def thp_dir(self) -> str | None:
        """The THP sysfs directory; None when THP is compiled out (both directories absent)."""
        for directory in THP_DIRS:
            try:
                if self.optional_text(directory + "/enabled") is not None:
                    return directory
            except Unavailable:
                return directory  # present but unreadable: the accessors raise the reason
            if self.snapshot.is_dir(directory):
                return directory
        return None

    def _mode(self, control: str) -> ThpMode | None:
        directory = self.thp_dir
        if directory is None:
            return None
        path = f"{directory}/{control}"
        return parse_mode(self.text(path), path)

    @property
    @cached
    def thp_enabled(self) -> ThpMode | None:
        """The global `enabled` mode; None when THP is compiled out."""
        return self._mode("enabled")

    @property
    @cached
    def thp_defrag(self) -> ThpMode | None:
        """The global `defrag` mode; None when THP is compiled out."""
        return self._mode("defrag")

    @property
    @cached
    def thp_khugepaged_defrag(self) -> bool | None:
        directory = self.thp_dir
        if directory is None:
            return None
        path = directory + "/khugepaged/defrag"
        text = self.optional_text(path)
        return parse_flag(text, path) if text is not None else None

    @property
    @cached
    def thp_mthp(self) -> list[MthpSetting]:
        """Per-size `enabled` controls by size; empty before 6.8 or without THP."""
        directory = self.thp_dir
        if directory is None:
            return []
        for path, reason in sorted(self.unreadable_below(directory).items()):
            if "/hugepages-" in path or not path.startswith(directory + "/"):
                raise Unavailable(path, reason)  # a per-size control may be hidden there
        found = []
        for path in self.glob(directory + "/hugepages-*/enabled"):
            size = mthp_size_bytes(posixpath.dirname(path), path)
            found.append(MthpSetting(size, parse_mode(self.text(path), path)))
        return sorted(found, key=lambda m: m.size_bytes)

    # -- boot -------------------------------------------------------------------------------
    def _thp_paths(self, control: str) -> tuple[str, ...]:
        return tuple(f"{d}/{control}" for d in THP_DIRS)

    def _script_writes(
        self, command: str, paths: tuple[str, ...]
    ) -> list[tuple[shell_writes.FileWrite, str | None]]:
        """Writes of a command, and of scripts it runs that lie in the snapshot (one level)."""
        found: list[tuple[shell_writes.FileWrite, str | None]] = []
        if _may_name(command, paths):
            found += [(w, None) for w in shell_writes.writes_to(command, paths)]
        for script in shell_writes.invoked_scripts(command):
            try:
                text = self.optional_text(script)
            except Unavailable as exc:
                self._writer_unreadable.setdefault(script, exc.reason)
                continue
            if text is not None and _may_name(text, paths):
                # A script a job runs may lie anywhere (/usr/local/bin) and was not masked
                # with the files of commands: its lines are shown as evidence.
                text = mask_command_file(text)
                found.extend((w, script) for w in shell_writes.writes_to(text, paths))
        return found

    @property
    def _writer_unreadable(self) -> dict[str, str]:
        """Files that could hold a boot-time THP writer but could not be read."""
        found: dict[str, str] = self._cache.setdefault("thp-writer-unreadable", {})
        return found

    @property
    @cached
    def _files_name_thp(self) -> bool:
        """Whether any file that could be a unit or a script names the THP folder (files
        under /proc and /sys, and memcheck's own records, are neither; /proc/vmstat names
        `nr_anon_transparent_hugepages`). Most hosts have none: then no unit is parsed here,
        unless a file could not be read (it might name it)."""
        if any(
            reason != MISSING and not path.startswith(("/proc/", "/sys/", META_DIR + "/"))
            for path, reason in self.snapshot.errors.items()
        ):
            return True
        return any(
            _THP_MARK in data
            for path, data in self.snapshot.files.items()
            if not path.startswith(("/proc/", "/sys/", META_DIR + "/"))
        )

    @property
    @cached
    def _unit_thp_writes(self) -> list[ThpSetter]:
        setters: list[ThpSetter] = []
        if not self._files_name_thp:
            return setters  # no unit and no script it could run names a THP file
        for name in self.unit_names(".service"):
            try:
                unit = self.unit(name)
            except Unavailable as exc:
                if not exc.missing:
                    self._writer_unreadable.setdefault(exc.path, exc.reason)
                continue
            except ParseError:
                continue
            if unit is None or unit.masked:
                continue
            # Each command (and the scripts it runs) is read once for both controls; a write
            # goes to the control its file is named after.
            every = tuple(p for control in CONTROLS for p in self._thp_paths(control))
            found: dict[str, list[tuple[str, Assignment, shell_writes.FileWrite, str | None]]] = {
                control: [] for control in CONTROLS
            }
            for key in _EXEC_KEYS:
                for assignment in unit.assignments("Service", key):
                    command = _strip_exec_prefix(assignment.value)
                    for write, script in self._script_writes(command, every):
                        control = posixpath.basename(write.path)
                        found[control].append((key, assignment, write, script))
            if not any(found.values()):
                continue
            enablement = self.unit_enablement(name)
            note = None if enablement.at_boot else _not_enabled(name, enablement)
            for control in CONTROLS:
                for key, assignment, write, script in found[control]:
                    via = f" via {script}" if script else ""
                    setters.append(
                        ThpSetter(
                            control,
                            f"systemd unit {name}{via}",
                            write.value,
                            assignment.source,
                            assignment.line,
                            f"{key}={assignment.value}",
                            enablement.at_boot,
                            note,
                        )
                    )
        return setters

    @cached
    def _tmpfiles_configs(self) -> list[tuple[str, str, tuple[TmpfilesLine, ...] | str]]:
        """Every tmpfiles.d file in effect: (name, path, its lines or why it is unreadable).

        Parsed once per host; each THP control looks for its own writes in them.
        """
        files: dict[str, str] = {}
        for directory in reversed(TMPFILES_DIRS):  # a same-named file in /etc wins
            for path, reason in self.unreadable_below(directory).items():
                self._writer_unreadable.setdefault(path, reason)
            for name in self.snapshot.listdir(directory):
                if name.endswith(".conf"):
                    files[name] = f"{directory}/{name}"
        configs: list[tuple[str, str, tuple[TmpfilesLine, ...] | str]] = []
        for name in sorted(files):
            path = files[name]
            if self.snapshot.readlink(path) == "/dev/null":
                continue
            try:
                configs.append((name, path, parse_tmpfiles(self.text(path), path)))
            except Unavailable as exc:
                if not exc.missing:  # a link to a file the snapshot lacks is a note, as before
                    self._writer_unreadable.setdefault(path, exc.reason)
                configs.append((name, path, str(exc)))
            except ParseError as exc:
                configs.append((name, path, str(exc)))
        return configs

    def _tmpfiles_writes(self, control: str, notes: list[str]) -> list[ThpSetter]:
        setters = []
        paths = self._thp_paths(control)
        for name, path, lines in self._tmpfiles_configs():
            if isinstance(lines, str):
                notes.append(lines)
                continue
            for entry in lines:
                if entry.type.rstrip("+!-=") == "w" and posixpath.normpath(entry.path) in paths:
                    active = self.has_systemd or self.has_unit_files
                    setters.append(
                        ThpSetter(
                            control,
                            f"tmpfiles.d {name}",
                            (entry.argument or "").strip() or None,
                            path,
                            entry.line,
                            f"{entry.type} {entry.path} ... {entry.argument or ''}".strip(),
                            active,
                            None if active else "systemd-tmpfiles does not run on this host",
                        )
                    )
        return setters

    def _tuned_profile(self, name: str, notes: list[str], depth: int = 0) -> list[TunedConf]:
        """The profile and its includes, parents first (the order tuned merges them)."""
        if depth > 10:
            return []
        for directory in TUNED_PROFILE_DIRS:
            path = f"{directory}/{name}/tuned.conf"
            try:
                text = self.optional_text(path)
            except Unavailable as exc:
                notes.append(f"cannot read {path}: {exc.reason}")
                self._writer_unreadable.setdefault(path, exc.reason)
                return []
            if text is None:
                continue
            try:
                conf = parse_tuned_conf(text, path)
            except ParseError as exc:
                notes.append(str(exc))
                return []
            chain: list[TunedConf] = []
            for parent in conf.includes:
                chain.extend(self._tuned_profile(parent, notes, depth + 1))
            return [*chain, conf]
        notes.append(f"tuned profile {name!r} not found under {', '.join(TUNED_PROFILE_DIRS)}")
        return []

    @property
    @cached
    def tuned_profiles(self) -> tuple[str, ...]:
        """Names in /etc/tuned/active_profile; empty when absent or tuned is off."""
        text = self.optional_text("/etc/tuned/active_profile")
        return parse_active_profile(text) if text is not None else ()

    def _tuned_setting(
        self, control: str, notes: list[str]
    ) -> tuple[ThpSetter | None, ThpSetter | None]:
        """(vm plugin setter, bootloader cmdline setter) of the active tuned profiles."""
        try:
            names = self.tuned_profiles
        except Unavailable as exc:
            notes.append(f"cannot read {exc.path}: {exc.reason}")
            self._writer_unreadable.setdefault(exc.path, exc.reason)
            return None, None
        if not names:
            return None, None
        confs = [conf for name in names for conf in self._tuned_profile(name, notes)]
        enablement = self.unit_enablement("tuned.service")
        active = enablement.at_boot or not (self.has_systemd or self.has_unit_files)
        note = None if active else _not_enabled("tuned.service", enablement)
        label = "tuned profile " + "+".join(names)
        vm: ThpSetter | None = None
        boot: ThpSetter | None = None
        for conf in confs:
            for section in conf.plugin_sections("vm"):
                for key in _TUNED_KEYS[control]:
                    option = conf.get(section, key)
                    if option is not None:
                        vm = ThpSetter(
                            control,
                            label,
                            option.value,
                            option.source,
                            option.line,
                            f"[{section}] {key}={option.value}",
                            active,
                            note,
                        )
            if control == "enabled":
                for section in conf.plugin_sections("bootloader"):
                    for option in conf.options:
                        if option.section == section and option.key.startswith("cmdline"):
                            value = parse_cmdline(option.value).get("transparent_hugepage")
                            if value is not None:
                                boot = ThpSetter(
                                    control,
                                    label + " [bootloader]",
                                    value,
                                    option.source,
                                    option.line,
                                    f"{option.key}={option.value}",
                                    active,
                                    note,
                                )
        return vm, boot

    def _rc_local_writes(self, control: str) -> list[ThpSetter]:
        seen: set[str] = set()
        setters = []
        for path in RC_LOCAL:
            try:
                real = self.snapshot.resolve(path)
                text = self.optional_text(path)
            except Unavailable as exc:
                self._writer_unreadable.setdefault(path, exc.reason)
                continue
            if text is None or real in seen:
                continue
            seen.add(real)
            if self.has_systemd:
                active = (
                    self.snapshot.exists(RC_LOCAL_GENERATED)
                    or self.unit_enablement("rc-local.service").at_boot
                )
                note = (
                    None if active else "rc-local.service is not enabled (rc.local not executable?)"
                )
            else:
                active, note = True, "runs at boot only if the file is executable"
            for write, script in self._script_writes(text, self._thp_paths(control)):
                setters.append(
                    ThpSetter(
                        control,
                        "rc.local" + (f" via {script}" if script else ""),
                        write.value,
                        path,
                        None,
                        write.text,
                        active,
                        note,
                    )
                )
        return setters

    def _builtin_default(self, control: str, notes: list[str]) -> ThpSetter | None:
        release = self.kernel_release
        if control == "defrag":
            # No Kconfig choice: `madvise` since Linux 4.6 (commit 444eb2a449ef), `always`
            # before (RHEL 7's 3.10 included).
            version = self.kernel_version
            if version is None:
                return None
            mode = "madvise" if version >= (4, 6) else "always"
            return ThpSetter(
                control,
                "kernel built-in default",
                mode,
                None,
                None,
                f"kernel {release}: defrag defaults to {mode}",
            )
        try:
            config = self.kernel_config
        except Unavailable as exc:
            notes.append(str(exc))
            self._cache.setdefault("thp-default-unreadable", {})[exc.path] = exc.reason
            return None
        except ParseError as exc:
            notes.append(str(exc))
            return None
        path = self.kernel_config_path
        if config is None:
            if path:
                notes.append(f"{path} is not in the snapshot")
            return None
        for mode in ("always", "madvise", "never"):  # NEVER exists from Linux 6.8
            option = f"CONFIG_TRANSPARENT_HUGEPAGE_{mode.upper()}"
            if config.get(option) == "y":
                return ThpSetter(
                    control, "kernel built-in default", mode, path, None, f"{option}=y"
                )
        notes.append(f"{path} selects no CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS/_MADVISE/_NEVER")
        return None

    def _cmdline_setting(
        self, control: str, tuned_boot: ThpSetter | None, notes: list[str]
    ) -> ThpSetter | None:
        if control != "enabled":
            return None  # the kernel has no command-line parameter for defrag
        if tuned_boot is not None and tuned_boot.active:
            return tuned_boot
        param = self.boot_param("transparent_hugepage")
        if param is not None:
            if param.value is None:
                notes.extend(param.notes)
                return None
            return ThpSetter(
                control,
                "kernel command line",
                param.value,
                param.source,
                param.line,
                f"transparent_hugepage={param.value}",
                True,
                "; ".join(param.notes) or None,
            )
        try:
            running = self.kernel_cmdline.get("transparent_hugepage")
        except Unavailable as exc:
            if not exc.missing:  # a snapshot without it says nothing is set there
                self._cache.setdefault("thp-cmdline-unreadable", {})[exc.path] = exc.reason
            return None
        if running is None:
            return None
        return ThpSetter(
            control,
            "kernel command line",
            running,
            "/proc/cmdline",
            None,
            f"transparent_hugepage={running}",
            True,
            "no boot loader configuration in the snapshot; assuming the running command "
            "line is used again",
        )

    def thp_boot(self, control: str) -> ThpBoot:
        """What sets `enabled` or `defrag` at the next boot (see `ThpBoot.deciding`)."""
        cache_key = "thp_boot:" + control
        if cache_key not in self._cache:
            self._cache[cache_key] = self._thp_boot(control)
        boot: ThpBoot = self._cache[cache_key]
        return boot

    def _thp_boot(self, control: str) -> ThpBoot:
        notes: list[str] = []
        setters = [s for s in self._unit_thp_writes if s.control == control]
        setters += self._tmpfiles_writes(control, notes)
        tuned_vm, tuned_boot = self._tuned_setting(control, notes)
        if tuned_vm is not None:
            setters.append(tuned_vm)
        setters += self._rc_local_writes(control)
        inactive = [s for s in setters if not s.active]
        if tuned_boot is not None and not tuned_boot.active:
            inactive.append(tuned_boot)
        writers = tuple(s for s in setters if s.active)
        cmdline = self._cmdline_setting(control, tuned_boot, notes)
        default = self._builtin_default(control, notes)
        return ThpBoot(
            control,
            writers,
            cmdline,
            default,
            tuple(inactive),
            tuple(notes),
            tuple(sorted(self._boot_unreadable(control, writers, cmdline).items())),
        )

    def _boot_unreadable(
        self, control: str, writers: tuple[ThpSetter, ...], cmdline: ThpSetter | None
    ) -> dict[str, str]:
        """What could not be read and could change this control's boot mode."""
        # Any unit could run a writer (and a `.wants/` folder say whether it runs at boot).
        found = dict(self.unit_problems) if (self.has_systemd or self.has_unit_files) else {}
        found.update(self._writer_unreadable)
        if writers:
            return found  # a writer runs after the command line and the default
        if control == "enabled":
            found.update(self.boot_loader_unreadable)
            if cmdline is None:
                found.update(self._cache.get("thp-cmdline-unreadable", {}))
        if cmdline is None:
            found.update(self._cache.get("thp-default-unreadable", {}))
        return found


def _not_enabled(name: str, enablement: Enablement) -> str:
    links = enablement.links
    if links:
        targets = ", ".join(sorted({t for t, _ in links}))
        return f"{name} is enabled only for {targets}, which is not reached at boot"
    return f"{name} is not enabled (no link in a .wants/ directory)"
