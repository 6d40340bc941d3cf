"""Scheduled jobs: cron tables, anacron, cron.{hourly,daily,weekly,monthly} scripts and systemd
timers, and the files their commands write to.

A job's command is followed one level into a script it runs when that script lies in the
snapshot (`/etc/cron.daily/x` itself, or `sh /etc/scripts/x.sh` from a crontab line).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from memcheck.errors import MISSING, ParseError, Unavailable
from memcheck.facts.base import LISTING_DENIED, cached
from memcheck.facts.systemd import SystemdFacts
from memcheck.parse import shell_writes
from memcheck.parse.crontab import CronTable, parse_anacrontab, parse_crontab
from memcheck.parse.shell_writes import FileWrite
from memcheck.secrets import mask_command_file

CRON_SCRIPT_DIRS = ("/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly")
SCHEDULE_READS = (
    "/etc/crontab",
    "/etc/cron.d/*",
    *(d + "/*" for d in CRON_SCRIPT_DIRS),
    "/etc/anacrontab",
    "/var/spool/cron/**",
)
_CRON_PREFIXES = ("/etc/crontab", "/etc/cron.", "/etc/anacrontab", "/var/spool/cron")
# Left behind by editors and package managers; cron and run-parts skip them.
_IGNORED_SUFFIXES = (
    "~",
    ".rpmsave",
    ".rpmorig",
    ".rpmnew",
    ".dpkg-old",
    ".dpkg-dist",
    ".dpkg-new",
    ".swp",
    ".bak",
)
# /var/spool/cron also holds at(1)'s queue on Debian.
_NOT_CRONTABS = ("/var/spool/cron/atjobs/", "/var/spool/cron/atspool/")
_EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost")
_TIMER_KEYS = (
    "OnCalendar",
    "OnBootSec",
    "OnStartupSec",
    "OnActiveSec",
    "OnUnitActiveSec",
    "OnUnitInactiveSec",
)


@dataclass(frozen=True)
class Schedule:
    """Something that runs `command` repeatedly (or at every boot)."""

    kind: str  # crontab, anacrontab, cron script, systemd timer
    schedule: str
    user: str | None
    command: str
    source: str
    line: int | None
    active: bool = True
    note: str | None = None


@dataclass(frozen=True)
class ScheduledWrite:
    """A write a schedule makes; `script` is the script it went through, if any."""

    schedule: Schedule
    write: FileWrite
    script: str | None
    source: str
    line: int | None


def _ignored(path: str) -> bool:
    name = posixpath.basename(path)
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


class ScheduleFacts(SystemdFacts):
    """`facts.schedules`, `facts.schedule_problems`, `facts.scheduled_writes(paths)`."""

    def _cron_table(self, path: str, system: bool, problems: dict[str, str]) -> CronTable | None:
        try:
            text = self.optional_text(path)
        except Unavailable as exc:
            problems[path] = exc.reason
            return None
        if text is None:
            return None
        try:
            if path == "/etc/anacrontab":
                return parse_anacrontab(text, path)
            return parse_crontab(text, path, system)
        except ParseError as exc:
            problems[path] = exc.problem
            return None

    @property
    @cached
    def _schedules_and_problems(self) -> tuple[list[Schedule], dict[str, str]]:
        problems: dict[str, str] = {}
        found: list[Schedule] = []
        tables: list[tuple[str, bool, str]] = [("/etc/crontab", True, "crontab")]
        tables += [(p, True, "crontab") for p in self.glob("/etc/cron.d/*") if not _ignored(p)]
        tables.append(("/etc/anacrontab", False, "anacrontab"))
        for path in self.glob("/var/spool/cron/**"):
            if not path.startswith(_NOT_CRONTABS) and not _ignored(path):
                tables.append((path, False, "crontab"))
        for path, system, kind in tables:
            if self.snapshot.is_dir(path):
                continue
            table = self._cron_table(path, system, problems)
            if table is None:
                continue
            user = None if system or kind == "anacrontab" else posixpath.basename(path)
            for job in table.jobs:
                found.append(
                    Schedule(kind, job.schedule, job.user or user, job.command, path, job.line)
                )
        for directory in CRON_SCRIPT_DIRS:
            for path in self.glob(directory + "/*"):
                if _ignored(path) or self.snapshot.is_dir(path):
                    continue
                try:
                    text = self.text(path)
                except Unavailable as exc:
                    problems[path] = exc.reason
                    continue
                period = directory.rsplit(".", 1)[-1]
                found.append(
                    Schedule("cron script", f"{period} (run-parts)", "root", text, path, None)
                )
        found.extend(self._timers(problems))
        for schedule in found:
            for script in shell_writes.invoked_scripts(schedule.command):
                try:
                    self.optional_text(script)
                except Unavailable as exc:  # what it writes is unknown
                    problems.setdefault(script, exc.reason)
        for path, reason in self.snapshot.errors.items():
            if path.startswith(_CRON_PREFIXES) and reason != MISSING:
                problems.setdefault(path, reason)
        for folder in ("/etc/cron.d", *CRON_SCRIPT_DIRS, "/var/spool/cron"):
            hidden = self.unlisted(folder)  # /etc or /var/spool itself not listed
            if hidden is not None:
                problems.setdefault(*hidden)
        return found, problems

    def _timer_problems(self, problems: dict[str, str]) -> None:
        """Unit files and folders that could not be read and may hold a timer: a timer file
        or its drop-in, or a folder (its `.timer` files and `.wants/` links are unknown).
        A service a timer starts is checked when that timer is read."""
        for path, reason in self.unit_problems.items():
            name = posixpath.basename(path)
            folder = posixpath.basename(posixpath.dirname(path))
            if (
                LISTING_DENIED in reason
                or name.endswith(".timer")
                or folder.endswith(".timer.d")
                or folder.endswith((".wants", ".requires"))
            ):
                problems.setdefault(path, reason)

    def _timers(self, problems: dict[str, str]) -> list[Schedule]:
        self._timer_problems(problems)
        found = []
        for name in self.unit_names(".timer"):
            try:
                timer = self.unit(name)
                if timer is None or timer.masked:
                    continue
                target = timer.get("Timer", "Unit")
                service_name = target.value if target else name[: -len(".timer")] + ".service"
                service = self.unit(service_name)
            except (ParseError, Unavailable) as exc:
                problems[exc.source if isinstance(exc, ParseError) else exc.path] = str(exc)
                continue
            if service is None or service.masked:
                continue
            when = "; ".join(
                f"{a.key}={a.value}" for key in _TIMER_KEYS for a in timer.assignments("Timer", key)
            )
            enablement = self.unit_enablement(name)
            note = None if enablement.enabled else f"{name} is not enabled"
            for key in _EXEC_KEYS:
                for assignment in service.assignments("Service", key):
                    found.append(
                        Schedule(
                            "systemd timer",
                            f"{name}: {when or 'no trigger'}",
                            None,
                            assignment.value.lstrip("@-:+!|"),
                            assignment.source,
                            assignment.line,
                            enablement.enabled,
                            note,
                        )
                    )
        return found

    @property
    def schedules(self) -> list[Schedule]:
        """Every scheduled command found (cron, anacron, cron scripts, timers)."""
        return self._schedules_and_problems[0]

    @property
    def schedule_problems(self) -> dict[str, str]:
        """Files that hold schedules but could not be read or parsed: path -> reason."""
        return self._schedules_and_problems[1]

    def scheduled_writes(self, paths: tuple[str, ...]) -> list[ScheduledWrite]:
        """Writes to any of `paths` made by a schedule or by a script it runs (one level)."""
        found: list[ScheduledWrite] = []
        for schedule in self.schedules:
            whole_file = schedule.line is None  # a cron script: line numbers are its own
            for write in shell_writes.writes_to(schedule.command, paths):
                line = write.line if whole_file else schedule.line
                found.append(ScheduledWrite(schedule, write, None, schedule.source, line))
            for script in shell_writes.invoked_scripts(schedule.command):
                try:
                    text = self.optional_text(script)
                except Unavailable:
                    continue  # in `schedule_problems`
                if text is None:
                    continue
                # A script a job runs may lie anywhere (/usr/local/bin) and was not masked
                # with the files of commands: its lines are shown as evidence.
                text = mask_command_file(text)
                for write in shell_writes.writes_to(text, paths):
                    found.append(ScheduledWrite(schedule, write, script, script, write.line))
        return found
