"""Build small in-memory host snapshots for parser and check tests."""

from __future__ import annotations

from collections.abc import Mapping

from memcheck.facts import Facts
from memcheck.snapshot import HostInfo, Snapshot

COLLECTED_AT = "2026-11-20T12:00:00Z"


def snapshot_from(
    files: Mapping[str, str | bytes],
    links: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    dirs: tuple[str, ...] = (),
    hostname: str = "testhost",
    collected_at: str = COLLECTED_AT,
    sample_interval_seconds: float | None = 1.0,
) -> Snapshot:
    """A snapshot holding exactly these files (text is UTF-8 encoded)."""
    data = {p: (v.encode() if isinstance(v, str) else v) for p, v in files.items()}
    info = HostInfo(
        hostname=hostname,
        collected_at=collected_at,
        memcheck_version="test",
        source="test://" + hostname,
        sample_interval_seconds=sample_interval_seconds,
        errors=dict(errors or {}),
    )
    return Snapshot(info, data, links or {}, dirs)


def facts_from(
    files: Mapping[str, str | bytes],
    links: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    dirs: tuple[str, ...] = (),
    **kwargs: object,
) -> Facts:
    """Facts over `snapshot_from(...)`."""
    return Facts(snapshot_from(files, links, errors, dirs, **kwargs))  # type: ignore[arg-type]
