"""What a hostile host sends back: `parse_output` turns any bytes into a Snapshot or a
CollectError, within the per-input bound, and the result judges without a crash."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import given
from hypothesis import strategies as st

from memcheck.collect import build_script, parse_output
from memcheck.collect.errors import CollectError
from memcheck.collect.script import separator
from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.registry import builtin_checks
from memcheck.snapshot import Snapshot
from tests.collect.shells import NONCE, run_script
from tests.fuzz.bounds import bounded

READS = (
    "/proc/meminfo",
    "/proc/mounts",
    "/proc/sys/vm/swappiness",
    "/proc/[0-9]*/comm",
    "/etc/cron.d/*",
    "/.memcheck/kernel.log",
    "/.memcheck/vmstat.after",
)
TAGS = [b"begin", b"path", b"file", b"dir", b"missing", b"link", b"tar", b"error", b"end"]


@lru_cache(maxsize=1)
def real_output() -> bytes:
    """What the script prints on this machine: the seed the mutations start from."""
    proc = run_script(build_script(READS, NONCE, sample_interval=0), "sh")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def parse(data: bytes) -> Snapshot | None:
    try:
        return parse_output(data, NONCE, "test://fuzz", "test")
    except CollectError:
        return None


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(real_output())
    for _ in range(draw(st.integers(0, 6))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "insert", "frame", "drop"]))
        if action == "cut":
            del data[where:]
        elif action == "insert":
            data[where:where] = draw(st.binary(max_size=200))
        elif action == "frame":
            tag = draw(st.sampled_from(TAGS)) + b" " + draw(st.binary(max_size=40))
            data[where:where] = separator(NONCE) + tag + b"\n" + draw(st.binary(max_size=80))
        else:
            del data[where : where + draw(st.integers(1, 500))]
    return bytes(data)


@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    with bounded():
        parse(data)


@given(mutated())
def test_mutated_real_output_parses_and_judges(data: bytes) -> None:
    checks = builtin_checks()
    with bounded():
        snapshot = parse(data)
        if snapshot is None:
            return
        facts = Facts(snapshot, {}, None)
        for check_id in ("swappiness", "memory_available", "drop_caches_scheduled", "oom_kills"):
            check = checks[check_id]
            result = evaluate(check, facts, check.meta.defaults())
            assert result.outcome in {"pass", "fail", "skip", "error"}
            assert "raised" not in result.message, result.message  # a parser or check bug
