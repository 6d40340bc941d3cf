"""Parsers for cron tables: `/etc/crontab`, `/etc/cron.d/*`, user crontabs and `/etc/anacrontab`.

See crontab(5) and anacrontab(5). A system table (`/etc/crontab`, `/etc/cron.d/*`) has a user
field after the schedule; a user's table (`/var/spool/cron/crontabs/<user>` on Debian,
`/var/spool/cron/<user>` on RHEL) does not. Lines are comments (`#`), environment settings
(`NAME = value`) or jobs; there are no continuation lines. In the command an unescaped `%`
ends the command (the rest is fed to its standard input) and `\\%` is a literal `%`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memcheck.errors import ParseError
from memcheck.parse.values import is_digits, quote

SPECIALS = (
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
)
_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
# Minute/hour/day/month/weekday: numbers, names (jan, mon), `*`, ranges, lists, steps, and
# cronie's `~` (random within a range).
_FIELD = re.compile(r"^[0-9A-Za-z*,/~-]+$")


@dataclass(frozen=True)
class CronJob:
    """One job line. `command` is what the shell runs (before the first unescaped `%`)."""

    schedule: str
    user: str | None
    command: str
    source: str
    line: int
    text: str


@dataclass(frozen=True)
class CronTable:
    source: str
    jobs: tuple[CronJob, ...]
    env: tuple[tuple[str, str], ...]


def _command(raw: str) -> str:
    """Cut at the first unescaped `%`; `\\%` becomes `%` (crontab(5))."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] == "%":
            out.append("%")
            i += 2
            continue
        if ch == "%":
            break
        out.append(ch)
        i += 1
    return "".join(out).strip()


def _env_value(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_crontab(text: str, source: str, system: bool) -> CronTable:
    """Parse a cron table; `system=True` for tables with a user field. `ParseError` on a job
    line with too few fields or a bad time field (cronie then ignores the whole file)."""
    jobs: list[CronJob] = []
    env: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        env_match = _ENV.match(line)
        if env_match:
            env.append((env_match.group(1), _env_value(env_match.group(2))))
            continue
        if line.startswith("-"):
            line = line[1:]  # Debian cron: a leading `-` only silences syslog for this job
        if line.startswith("@"):
            head = line.split(None, 1)
            if head[0].lower() not in SPECIALS:
                raise ParseError(source, f"line {number}: unknown schedule {quote(head[0], 40)}")
            schedule, remainder = head[0], head[1] if len(head) > 1 else ""
        else:
            words = line.split(None, 5)
            if len(words) < 5 or not all(_FIELD.match(w) for w in words[:5]):
                raise ParseError(
                    source, f"line {number}: expected five time fields, got {quote(raw, 60)}"
                )
            schedule, remainder = " ".join(words[:5]), words[5] if len(words) > 5 else ""
        user: str | None = None
        if system:
            user_and_command = remainder.split(None, 1)
            if len(user_and_command) < 2:
                raise ParseError(source, f"line {number}: expected a user and a command")
            user, remainder = user_and_command
        command = _command(remainder)
        if not command:
            raise ParseError(source, f"line {number}: no command")
        jobs.append(CronJob(schedule, user, command, source, number, raw.strip()))
    return CronTable(source, tuple(jobs), tuple(env))


def parse_anacrontab(text: str, source: str = "/etc/anacrontab") -> CronTable:
    """Parse `/etc/anacrontab`: `period delay job-id command`; period is days or `@monthly`,
    `@weekly`, `@daily`, `@yearly`. The schedule is reported as `<period> (delay <n> min)`."""
    jobs: list[CronJob] = []
    env: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        env_match = _ENV.match(line)
        if env_match:
            env.append((env_match.group(1), _env_value(env_match.group(2))))
            continue
        words = line.split(None, 3)
        if len(words) < 4:
            raise ParseError(source, f"line {number}: expected 'period delay job-id command'")
        period, delay = words[0], words[1]
        if not (is_digits(period) or period in SPECIALS) or not is_digits(delay):
            raise ParseError(source, f"line {number}: bad period or delay in {quote(raw, 60)}")
        schedule = f"{period} (delay {delay} min)"
        jobs.append(CronJob(schedule, None, _command(words[3]), source, number, raw.strip()))
    return CronTable(source, tuple(jobs), tuple(env))
