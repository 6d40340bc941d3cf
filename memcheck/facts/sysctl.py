"""sysctl facts: the configuration the next boot applies, and each key's value after a reboot."""

from __future__ import annotations

import importlib
import inspect
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from memcheck.errors import MISSING, Unavailable
from memcheck.facts.base import FactsBase, cached
from memcheck.model import CheckMeta, ParamValue
from memcheck.parse.sysctl_d import (
    SYSCTL_CONF,
    SYSCTL_DIRS,
    Setting,
    SysctlConfig,
    load_config,
    order_files,
)
from memcheck.parse.values import quote, to_int

# What the collector must fetch for `sysctl_config`.
SYSCTL_READS = (SYSCTL_CONF, *(d + "/**" for d in SYSCTL_DIRS))

# The kernel's built-in values (docs.kernel.org admin-guide/sysctl/vm.html). Keys without a
# fixed default (min_free_kbytes is computed from RAM at boot) are not listed.
KERNEL_DEFAULTS: dict[str, int] = {
    "vm.swappiness": 60,
    "vm.vfs_cache_pressure": 100,
    "vm.overcommit_memory": 0,
    "vm.max_map_count": 65530,
    "vm.zone_reclaim_mode": 0,
    "vm.panic_on_oom": 0,
}

CONFIG = "config"
KERNEL_DEFAULT = "kernel default"
RUNTIME = "runtime"


@dataclass(frozen=True)
class BootValue:
    """A key's value after the next reboot and where it comes from.

    `origin` is `config` (a file sets it: `setting`), `kernel default`, or `runtime` (no file
    and no fixed default: the kernel computes it at boot, so the running value stands in).
    `note` explains a configured value the kernel would reject.
    """

    key: str
    value: int
    origin: str
    setting: Setting | None = None
    note: str | None = None

    @property
    def source(self) -> str:
        """`path:line`, `kernel default` or `runtime value`."""
        if self.setting is not None and self.origin == CONFIG:
            return self.setting.where
        return "runtime value" if self.origin == RUNTIME else KERNEL_DEFAULT


@dataclass(frozen=True)
class SysctlRule:
    """A selected check that constrains a sysctl: the module exports `SYSCTL` and `complies`.

    `complies(value, params)` judges a value with the check's effective params; a rule that
    needs more of the host (min_free_kbytes: a share of RAM) takes the facts as a third
    argument.
    """

    check_id: str
    key: str
    params: Mapping[str, ParamValue]
    rule: Callable[..., Any]

    def complies(self, value: int, facts: FactsBase) -> bool:
        if len(inspect.signature(self.rule).parameters) >= 3:
            return bool(self.rule(value, self.params, facts))
        return bool(self.rule(value, self.params))


_CHECK_ID = re.compile(r"[a-z][a-z0-9_]*")


class SysctlFacts(FactsBase):
    """`facts.sysctl_config`, `facts.sysctl_boot`, `facts.sysctl_boot_value(key)`,
    `facts.sysctl_rules`."""

    @property
    def sysctl_rules(self) -> list[SysctlRule]:
        """The sysctl constraints of the checks selected for this run, by check id.

        A selected built-in check module (`memcheck.checks.<id>`) that exports `SYSCTL: str`
        and `complies()` is one; others are ignored. Params are the check's defaults updated
        with the run's effective params.
        """
        rules = []
        for check_id in sorted(self.selection):
            if not _CHECK_ID.fullmatch(check_id):
                continue
            try:
                module = importlib.import_module(f"memcheck.checks.{check_id}")
            except ImportError:
                continue
            key, rule = getattr(module, "SYSCTL", None), getattr(module, "complies", None)
            meta = getattr(module, "META", None)
            if isinstance(key, str) and callable(rule) and isinstance(meta, CheckMeta):
                params = {**meta.defaults(), **self.selection[check_id]}
                rules.append(SysctlRule(check_id, key, params, rule))
        return rules

    @property
    @cached
    def sysctl_config(self) -> SysctlConfig:
        """Every sysctl.d file and `/etc/sysctl.conf`, applied in boot order.

        Raises `Unavailable` when a directory or a file that applies cannot be read (including
        a link whose target is not in the snapshot): its settings would be unknown.
        """
        candidates: list[str] = []
        links: dict[str, str] = {}
        errors = self.snapshot.errors
        for directory in SYSCTL_DIRS:
            if directory in errors and errors[directory] != MISSING:
                raise Unavailable(directory, errors[directory])
            hidden = self.unlisted(directory)  # a folder above it could not be listed
            if hidden is not None:
                raise Unavailable(*hidden)
            # A file that could not be read is only in `errors`; it still applies at boot.
            unreadable = {
                posixpath.basename(path)
                for path, reason in errors.items()
                if posixpath.dirname(path) == directory and reason != MISSING
            }
            for name in sorted({*self.snapshot.listdir(directory), *unreadable}):
                path = f"{directory}/{name}"
                if not name.endswith(".conf") or self.snapshot.is_dir(path):
                    continue
                candidates.append(path)
                target = self.snapshot.resolve(path)
                if target != path:
                    links[path] = target
        applied, _, _ = order_files(candidates, links)
        # Only files that apply are read: an unreadable file hidden by another is harmless.
        files = {path: "" for path in candidates}
        for path in applied:
            files[path] = self.snapshot.read_text(path)
        conf = self.optional_text(SYSCTL_CONF)
        if conf is not None:
            files[SYSCTL_CONF] = conf
        return load_config(files, links)

    @property
    def sysctl_boot(self) -> dict[str, Setting]:
        """{key: setting in force after boot} for every key a file assigns explicitly."""
        return dict(self.sysctl_config.values)

    def sysctl_boot_value(self, key: str) -> BootValue:
        """The integer `key` has after a reboot: configured, else kernel default, else runtime.

        A configured value that is not an integer is rejected by the kernel at boot, which
        then keeps its default; the `note` says so. Raises `Unavailable`/`ParseError` only
        when the runtime value is needed and cannot be read.
        """
        setting = self.sysctl_config.lookup(key)
        note = None
        if setting is not None:
            words = setting.value.split()
            # The kernel takes ASCII digits only (not `٣` or `1_0`, which int() would).
            value = to_int(words[0], signed=True) if words else None
            if value is not None:
                return BootValue(key, value, CONFIG, setting)
            note = (
                f"{quote(setting.value)} at {setting.where} is not an integer; the kernel "
                "rejects the write at boot"
            )
        if key in KERNEL_DEFAULTS:
            return BootValue(key, KERNEL_DEFAULTS[key], KERNEL_DEFAULT, setting, note)
        return BootValue(key, self.sysctl_int(key), RUNTIME, setting, note)
