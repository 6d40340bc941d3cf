"""Parser for `/etc/os-release` (see os-release(5)): shell-style `KEY=value` assignments."""

from __future__ import annotations

import shlex


def parse_os_release(text: str) -> dict[str, str]:
    """The assignments as a dict; lines that are not `KEY=value` are ignored, as os-release(5) says."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = " ".join(parts)
    return values
