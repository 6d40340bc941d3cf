"""Finds check modules: the built-in `checks/` package and any user check directories."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from memcheck.errors import ConfigError
from memcheck.model import CheckMeta, Judge


@dataclass(frozen=True)
class Check:
    """A loaded check: its metadata and its judge function."""

    meta: CheckMeta
    judge: Judge
    origin: str

    @property
    def id(self) -> str:
        return self.meta.id


def _from_module(module: ModuleType, origin: str) -> Check:
    meta = getattr(module, "META", None)
    judge = getattr(module, "judge", None)
    if not isinstance(meta, CheckMeta) or not callable(judge):
        raise ConfigError(origin, None, "a check module needs META = CheckMeta(...) and judge()")
    expected = module.__name__.rsplit(".", 1)[-1]
    if meta.id != expected:
        raise ConfigError(origin, "id", f"check id {meta.id!r} must match its module {expected!r}")
    return Check(meta, judge, origin)


def builtin_checks() -> dict[str, Check]:
    """Every check shipped in `checks/`, by id."""
    package = importlib.import_module("memcheck.checks")
    found: dict[str, Check] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"memcheck.checks.{info.name}")
        found[info.name] = _from_module(module, module.__file__ or info.name)
    return found


def user_checks(directory: str) -> dict[str, Check]:
    """Checks from a user's directory of modules with the same contract."""
    top = Path(directory)
    if not top.is_dir():
        raise ConfigError(directory, None, "no such check directory")
    found: dict[str, Check] = {}
    for path in sorted(top.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"memcheck_user_checks.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(str(path), None, "cannot import")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a user's module may fail in any way; report it as config
            raise ConfigError(
                str(path), None, f"import failed: {type(exc).__name__}: {exc}"
            ) from exc
        found[path.stem] = _from_module(module, str(path))
    return found


def all_checks(extra_dirs: list[str] | tuple[str, ...] = ()) -> dict[str, Check]:
    checks = builtin_checks()
    for directory in extra_dirs:
        for check_id, check in user_checks(directory).items():
            if check_id in checks:
                raise ConfigError(check.origin, "id", f"check id {check_id!r} already exists")
            checks[check_id] = check
    return dict(sorted(checks.items()))
