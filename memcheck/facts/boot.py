"""Boot facts: the running kernel command line, the next boot's, and the kernel build config.

The next boot's command line is read from the most authoritative place the snapshot holds:
Boot Loader Specification entries (RHEL 8+, Fedora; what grubby edits), else the generated
grub.cfg, else `/etc/default/grub` (what the next grub-mkconfig/update-grub will write).
"""

from __future__ import annotations

from dataclasses import dataclass

from memcheck.errors import ParseError, Unavailable
from memcheck.facts.base import FactsBase, cached
from memcheck.parse.grub import (
    expand_grubenv,
    grub_cmdline,
    parse_bls_entry,
    parse_grub_cfg,
    parse_grub_defaults,
    parse_grubenv,
)
from memcheck.parse.kconfig import parse_kconfig
from memcheck.parse.kernel_cmdline import KernelCmdline, parse_cmdline

BOOT_READS = (
    "/proc/cmdline",
    "/proc/sys/kernel/osrelease",
    "/etc/default/grub",
    "/etc/default/grub.d/*.cfg",
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/boot/grub2/grubenv",
    "/boot/loader/entries/*.conf",
    "/boot/config-*",
)
GRUB_CFGS = ("/boot/grub2/grub.cfg", "/boot/grub/grub.cfg")
GRUBENVS = ("/boot/grub2/grubenv", "/boot/grub/grubenv")


@dataclass(frozen=True)
class BootParam:
    """A kernel parameter as the next boot will have it; `value` None means not set."""

    key: str
    value: str | None
    source: str
    line: int | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _LoaderLine:
    cmdline: KernelCmdline
    # (text, source, line) pieces the command line is made of, to say where a key is set
    pieces: tuple[tuple[str, str, int | None], ...]
    source: str

    def param(self, key: str, notes: tuple[str, ...] = ()) -> BootParam:
        value = self.cmdline.get(key)
        source, line = self.source, None
        for text, piece_source, piece_line in self.pieces:
            if parse_cmdline(text).has(key):
                source, line = piece_source, piece_line
        return BootParam(key, value, source, line, notes)


class BootFacts(FactsBase):
    """`facts.kernel_cmdline`, `facts.boot_param(key)`, `facts.kernel_config`."""

    @property
    @cached
    def kernel_cmdline(self) -> KernelCmdline:
        """The running kernel's command line; raises `Unavailable`."""
        return parse_cmdline(self.text("/proc/cmdline"))

    def _optional(self, path: str, notes: list[str]) -> str | None:
        try:
            return self.optional_text(path)
        except Unavailable as exc:
            notes.append(f"cannot read {path}: {exc.reason}")
            self._loader_unreadable[path] = exc.reason
            return None

    @property
    def _loader_unreadable(self) -> dict[str, str]:
        found: dict[str, str] = self._cache.setdefault("loader-unreadable", {})
        return found

    @property
    def boot_loader_unreadable(self) -> dict[str, str]:
        """Boot loader files (and folders of them) that exist but could not be read: the next
        boot's command line may differ from what `boot_param` found. Path -> reason."""
        if "loader-read" not in self._cache:
            self._cache["loader-read"] = True
            for loader in (self._bls, self._grub_cfg, self._grub_defaults):
                try:
                    loader([])
                except ParseError:
                    pass  # a malformed file is read; `boot_param` reports it
        found = dict(self._loader_unreadable)
        for folder in ("/boot/loader/entries", "/etc/default/grub.d"):
            hidden = self.unlisted(folder)
            if hidden is not None:
                found.setdefault(*hidden)
        return found

    def _bls(self, notes: list[str]) -> _LoaderLine | None:
        entries = []
        for path in self.glob("/boot/loader/entries/*.conf"):
            text = self._optional(path, notes)
            if text is None:
                continue
            try:
                entries.append(parse_bls_entry(text, path))
            except ParseError as exc:
                notes.append(str(exc))
        if not entries:
            return None
        release = self.kernel_release
        running = [
            e
            for e in entries
            if release and (e.version == release or (e.linux or "").endswith("-" + release))
        ]
        entry = running[0] if running else sorted(entries, key=lambda e: e.source)[-1]
        if not running:
            notes.append(f"no boot entry for the running kernel; using {entry.source}")
        options = entry.options
        if "$" in options:
            for env_path in GRUBENVS:
                env_text = self._optional(env_path, notes)
                if env_text is not None:
                    options = expand_grubenv(options, parse_grubenv(env_text, env_path))
                    break
        return _LoaderLine(
            parse_cmdline(options, entry.source),
            ((options, entry.source, entry.options_line),),
            entry.source,
        )

    def _grub_cfg(self, notes: list[str]) -> _LoaderLine | None:
        for path in GRUB_CFGS:
            text = self._optional(path, notes)
            if text is None:
                continue
            entries = parse_grub_cfg(text, path)
            if entries:
                first = entries[0]
                return _LoaderLine(
                    parse_cmdline(first.cmdline, path),
                    ((first.cmdline, path, first.line),),
                    path,
                )
        return None

    def _grub_defaults(self, notes: list[str]) -> _LoaderLine | None:
        paths = ["/etc/default/grub", *self.glob("/etc/default/grub.d/*.cfg")]
        variables = None
        for path in paths:
            text = self._optional(path, notes)
            if text is None:
                continue
            variables = parse_grub_defaults(text, path, variables)
        if variables is None:
            return None
        line, used = grub_cmdline(variables)
        pieces = tuple((v.value, v.source, v.line) for v in used)
        return _LoaderLine(parse_cmdline(line, "/etc/default/grub"), pieces, "/etc/default/grub")

    def boot_param(self, key: str) -> BootParam | None:
        """`key` as the next boot will have it, or None when no boot loader configuration is
        readable. Notes say when the sources disagree (a grub.cfg not regenerated, a running
        command line that differs). Raises `ParseError` for a malformed /etc/default/grub."""
        cache_key = "boot_param:" + key
        if cache_key not in self._cache:
            self._cache[cache_key] = self._boot_param(key)
        result: BootParam | None = self._cache[cache_key]
        return result

    def _boot_param(self, key: str) -> BootParam | None:
        notes: list[str] = []
        loaders = [self._bls(notes), self._grub_cfg(notes), self._grub_defaults(notes)]
        found = [loader for loader in loaders if loader is not None]
        if not found:
            return None
        chosen = found[0]
        for other in found[1:]:
            theirs = other.cmdline.get(key)
            if theirs != chosen.cmdline.get(key):
                where = other.param(key)
                notes.append(
                    f"{where.source} has {key}={theirs or '(unset)'}; regenerate the boot "
                    "loader configuration if that is the intended setting"
                )
        try:
            running = self.kernel_cmdline.get(key)
        except Unavailable:
            running = None
        if running != chosen.cmdline.get(key):
            notes.append(f"the running kernel was booted with {key}={running or '(unset)'}")
        return chosen.param(key, tuple(notes))

    @property
    def kernel_config_path(self) -> str | None:
        release = self.kernel_release
        return f"/boot/config-{release}" if release else None

    @property
    @cached
    def kernel_config(self) -> dict[str, str] | None:
        """Options of `/boot/config-<release>`; None when the file or the release is unknown."""
        path = self.kernel_config_path
        if path is None:
            return None
        text = self.optional_text(path)
        return parse_kconfig(text, path) if text is not None else None
