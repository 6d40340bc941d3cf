"""Ansible inventories (INI and YAML) read without Ansible: hosts, groups, variables, `--limit`.

Follows the formats Ansible documents (docs.ansible.com, "How to build your inventory"):
groups, `:children` and `:vars` sections, nested `children` in YAML, host ranges such as
`web[01:20].example.com`, `host:port`, inline variables, and the `group_vars/` and
`host_vars/` folders beside the inventory file. Variables merge as Ansible merges them:
`all`, then parent groups before their children (same depth: by `ansible_group_priority`,
then by name), then the host's own. memcheck uses `ansible_host`, `ansible_port`,
`ansible_user`, `ansible_ssh_private_key_file` (or `ansible_private_key_file`) and
`ansible_connection`; passwords (`ansible_password`, vaulted values) are never read into a
target. Dynamic inventory scripts and plugins need Ansible itself (`ansible://` targets).

An inventory is configuration, but it is often generated or copied from elsewhere, so it is
read as untrusted text, within bounds, and anything outside them is a one-line ConfigError:

- Files (the inventory, vars files, `--limit @FILE`) are read only if they are regular files
  (never a FIFO, device or socket, which could block or never end), of at most
  `MAX_FILE_BYTES`; vars files together at most `MAX_VARS_BYTES`.
- Host and group names never become paths. `host_vars/` and `group_vars/` are listed and
  their entries compared with `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` and a folder
  `NAME/`; a name such as `../../etc/passwd` matches no entry. An entry that is a symbolic
  link is followed, as Ansible follows it: the link was made by whoever owns the inventory
  folder (who could as well have written the values into the inventory), while a name in the
  inventory cannot choose the file. The target must still be a regular file within the caps.
- YAML: nesting (`MAX_YAML_DEPTH`, also through aliases), the size aliases expand to
  (`MAX_YAML_NODES` values, `MAX_YAML_CHARS` characters: "billion laughs") and aliases that
  contain themselves are refused before anything is built.
- Host ranges expand to at most `MAX_HOSTS` names each, the inventory holds at most
  `MAX_HOSTS` hosts and `MAX_GROUPS` groups, and group cycles are an error, never a loop.
- `--limit ~REGEX` runs in a child process with a deadline (`REGEX_SECONDS`): Python's
  regular expressions can backtrack for ever (`(a+)+$`), and a child can be killed.
- `{{ }}` in connection variables is rendered with a small subset of Jinja (names, attribute
  and item lookups, a few filters, conditions), variables that refer to other templated
  variables are rendered first, at most `MAX_TEMPLATE_DEPTH` deep, and a variable that
  refers to itself is an error.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import itertools
import json
import os
import re
import shlex
import string
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memcheck.errors import ConfigError
from memcheck.files import read_regular_file

CONNECTION_VARS = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_connection",
)

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_VARS_BYTES = 64 * 1024 * 1024
MAX_HOSTS = 100_000
MAX_GROUPS = 100_000
# Host entries counted with repeats (a host listed in several groups counts once per group).
MAX_MEMBERSHIPS = 1_000_000
MAX_YAML_DEPTH = 100
MAX_YAML_NODES = 2_000_000
MAX_YAML_CHARS = 64 * 1024 * 1024
# Steps to resolve the selected hosts: group memberships plus variables merged, per host.
MAX_RESOLVE_WORK = 20_000_000
# Names compared by the glob and regex terms of --limit: terms times names.
MAX_MATCH_WORK = 20_000_000
MAX_PATTERN_CHARS = 4096
REGEX_SECONDS = 2.0
REGEX_MEMORY = 512 * 1024 * 1024
MAX_TEMPLATE_DEPTH = 20
MAX_TEMPLATE_CHARS = 4096
MAX_TEMPLATE_NESTING = 50
MAX_TEMPLATE_VALUE = 16 * 1024

_RANGE = re.compile(r"\[([0-9A-Za-z]+):([0-9A-Za-z]+)(?::([0-9]+))?\]")
_RANGE_DIGITS = 18  # a bound beyond this is no host number, and int() of it is costly
_YAML_SUFFIXES = (".yml", ".yaml", ".json")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _show(text: str, limit: int = 80) -> str:
    """A name or value for a one-line message: quoted, escaped, and cut if long."""
    shown = repr(text[:limit])
    return shown + ("..." if len(text) > limit else "")


def _place(path: str | os.PathLike[str]) -> str:
    """A path for a one-line message (a file name may hold a newline)."""
    text = os.fspath(path)
    return repr(text) if _CONTROL.search(text) else text


# -- reading files within bounds --------------------------------------------------------------


def read_text_file(
    path: str | os.PathLike[str],
    where: str | None = None,
    key: str | None = None,
    limit: int = MAX_FILE_BYTES,
) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes, else a one-line ConfigError
    (memcheck.files: a FIFO or a device is refused without being read)."""
    where = where or _place(path)
    data = read_regular_file(path, where, limit, key)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(where, key, "not a text file (not UTF-8)") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


# -- the model ----------------------------------------------------------------------------------


@dataclass
class Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    # The lists keep inventory order; the sets keep adding a member from being quadratic.
    _host_set: set[str] = field(default_factory=set, repr=False, compare=False)
    _child_set: set[str] = field(default_factory=set, repr=False, compare=False)


@dataclass(frozen=True)
class InventoryHost:
    """One host of an inventory with its merged variables and the groups it belongs to."""

    name: str
    vars: Mapping[str, Any]
    groups: tuple[str, ...]

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host") or self.name)

    @property
    def port(self) -> int | None:
        value = self.vars.get("ansible_port")
        if value in (None, ""):
            return None
        if isinstance(value, bool) or not re.fullmatch(r"\s*[0-9]{1,10}\s*", str(value)):
            raise ConfigError(
                self.name, "ansible_port", f"expected a number, got {_show(str(value))}"
            )
        port = int(str(value))
        if not 0 < port < 65536:
            raise ConfigError(self.name, "ansible_port", f"{port} is not a TCP port")
        return port

    @property
    def user(self) -> str | None:
        value = self.vars.get("ansible_user")
        return str(value) if value not in (None, "") else None

    @property
    def key_file(self) -> str | None:
        for name in ("ansible_ssh_private_key_file", "ansible_private_key_file"):
            value = self.vars.get(name)
            if value not in (None, ""):
                return os.path.expanduser(str(value))
        return None

    @property
    def connection(self) -> str | None:
        value = self.vars.get("ansible_connection")
        return str(value) if value not in (None, "") else None


class _Budget:
    """Counts the steps of one operation and stops it with a ConfigError past `limit`."""

    def __init__(self, limit: int, where: str, key: str | None, problem: str) -> None:
        self.left = limit
        self.where, self.key, self.problem = where, key, problem

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise ConfigError(self.where, self.key, self.problem)


@dataclass
class _Index:
    """What resolving hosts needs, computed once per change of the inventory's shape."""

    parents: dict[str, list[str]]
    depths: dict[str, int]
    direct: dict[str, list[str]]


class Inventory:
    """Hosts in the order the inventory lists them, and groups with their members."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.groups: dict[str, Group] = {"all": Group("all"), "ungrouped": Group("ungrouped")}
        self.host_vars: dict[str, dict[str, Any]] = {}
        self._memberships = 0
        self._index: _Index | None = None

    # -- building -----------------------------------------------------------------------
    def group(self, name: str) -> Group:
        if name not in self.groups:
            _check_name(name, self.where, "group")
            if len(self.groups) >= MAX_GROUPS + 2:
                raise ConfigError(self.where, _show(name), f"more than {MAX_GROUPS} groups")
            self.groups[name] = Group(name)
            self._index = None
        return self.groups[name]

    def add_host(self, group: str, name: str, variables: Mapping[str, Any]) -> None:
        if not name:
            raise ConfigError(self.where, group, "empty host name")
        if name not in self.host_vars:
            _check_name(name, self.where, "host")
            if len(self.host_vars) >= MAX_HOSTS:
                raise ConfigError(self.where, _show(name), f"more than {MAX_HOSTS} hosts")
            self.host_vars[name] = {}
        self._memberships += 1
        if self._memberships > MAX_MEMBERSHIPS:
            raise ConfigError(
                self.where, _show(name), f"more than {MAX_MEMBERSHIPS} host entries in groups"
            )
        self.host_vars[name].update(variables)
        target = self.group(group)
        if name not in target._host_set:
            target._host_set.add(name)
            target.hosts.append(name)
            self._index = None

    def add_child(self, parent: str, child: str) -> None:
        if child == "all":
            raise ConfigError(self.where, parent, "'all' cannot be a child group")
        self.group(child)
        target = self.group(parent)
        if child not in target._child_set:
            target._child_set.add(child)
            target.children.append(child)
            self._index = None

    # -- reading ------------------------------------------------------------------------
    def host_names(self) -> list[str]:
        """Every host, in the order of first appearance."""
        return list(self.host_vars)

    def _parents(self) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {}
        for group in self.groups.values():
            for child in group.children:
                parents.setdefault(child, []).append(group.name)
        return parents

    def _build_index(self) -> _Index:
        """Parents, depths (longest path from `all`) and each host's own groups.

        Depths come from a topological walk, so a group that is its own ancestor is found
        (and reported) instead of being followed for ever, and no chain is deep enough to
        exhaust the stack.
        """
        if self._index is not None:
            return self._index
        parents = self._parents()
        waiting = {
            name: sum(1 for p in parents.get(name, []) if p != "all") for name in self.groups
        }
        depths: dict[str, int] = {"all": 0}
        ready = [name for name, count in waiting.items() if count == 0 and name != "all"]
        for name in ready:
            depths[name] = 1
        while ready:
            name = ready.pop()
            if name == "all":
                continue
            for child in self.groups[name].children:
                if child == "all":
                    continue
                depths[child] = max(depths.get(child, 0), depths[name] + 1)
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        stuck = [name for name in self.groups if name != "all" and waiting[name] > 0]
        if stuck:
            raise ConfigError(
                self.where, _show(_in_cycle(parents, stuck)), "group is its own ancestor"
            )
        direct: dict[str, list[str]] = {}
        for group in self.groups.values():
            for host in group.hosts:
                direct.setdefault(host, []).append(group.name)
        self._index = _Index(parents, depths, direct)
        return self._index

    def members(self, group: str) -> list[str]:
        """Hosts of `group` and of its children, in inventory order."""
        found = self._member_set(group, None)
        return [h for h in self.host_names() if h in found]

    def _member_set(self, group: str, budget: _Budget | None) -> set[str]:
        if group == "all":
            return set(self.host_vars)
        found: set[str] = set()
        stack, seen = [group], set()
        while stack:
            name = stack.pop()
            if name in seen or name not in self.groups:
                continue
            seen.add(name)
            body = self.groups[name]
            if budget is not None:
                budget.spend(1 + len(body.hosts) + len(body.children))
            found.update(body.hosts)
            stack.extend(body.children)
        return found

    def groups_of(self, host: str) -> list[str]:
        """Every group `host` belongs to, directly or through a child group, `all` first."""
        index = self._build_index()
        return self._ancestors(tuple(index.direct.get(host, ())), index, None)

    def _ancestors(
        self, direct: tuple[str, ...], index: _Index, budget: _Budget | None
    ) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        stack = list(direct or ("ungrouped",))
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            out.append(name)
            ups = index.parents.get(name, [])
            if budget is not None:
                budget.spend(1 + len(ups))
            stack.extend(ups)
        return ["all", *[g for g in out if g != "all"]]

    def _group_vars(
        self, groups: list[str], index: _Index, budget: _Budget | None
    ) -> dict[str, Any]:
        def order(group: str) -> tuple[int, int, str]:
            variables = self.groups[group].vars if group in self.groups else {}
            return (index.depths.get(group, 0), _priority(variables), group)

        merged: dict[str, Any] = {}
        for group in sorted(groups, key=order):
            if group in self.groups:
                variables = self.groups[group].vars
                if budget is not None:
                    budget.spend(1 + len(variables))
                merged.update(variables)
        return merged

    def host(self, name: str) -> InventoryHost:
        return self._resolve(name, {}, self._resolve_budget())

    def _resolve_budget(self) -> _Budget:
        return _Budget(
            MAX_RESOLVE_WORK,
            self.where,
            None,
            f"groups and variables too intertwined to resolve (over {MAX_RESOLVE_WORK} steps)",
        )

    def _resolve(
        self,
        name: str,
        cache: dict[tuple[str, ...], tuple[list[str], dict[str, Any]]],
        budget: _Budget,
    ) -> InventoryHost:
        """One host's merged variables; hosts with the same own groups share the groups' part."""
        index = self._build_index()
        direct = tuple(index.direct.get(name, ()))
        if direct not in cache:
            groups = self._ancestors(direct, index, budget)
            cache[direct] = (groups, self._group_vars(groups, index, budget))
        groups, group_vars = cache[direct]
        own = self.host_vars.get(name, {})
        budget.spend(1 + len(groups) + len(group_vars) + len(own))
        merged = dict(group_vars)
        merged.update(own)
        return InventoryHost(name, merged, tuple(g for g in groups if g != "all"))

    def hosts(self) -> list[InventoryHost]:
        cache: dict[tuple[str, ...], tuple[list[str], dict[str, Any]]] = {}
        budget = self._resolve_budget()
        return [self._resolve(name, cache, budget) for name in self.host_names()]

    # -- --limit ------------------------------------------------------------------------
    def select(self, pattern: str | None) -> list[InventoryHost]:
        """The hosts an Ansible host pattern names (`--limit`), in inventory order.

        Terms are separated by `,` (or `:`); a term is a host or group name, a glob
        (`web*`), a regular expression after `~`, or `all`/`*`; `&term` intersects and
        `!term` excludes; `@FILE` reads terms from a file, one per line.
        """
        if pattern is None or not pattern.strip():
            return self.hosts()
        terms = self._terms(pattern)
        matched = self._match_all([t[1:] if t.startswith(("&", "!")) else t for t in terms])
        chosen: set[str] = set()
        has_union = False
        for term in terms:
            if not term.startswith(("&", "!")):
                has_union = True
                chosen |= matched[term]
        if not has_union:
            chosen = set(self.host_vars)
        for term in terms:
            if term.startswith("&"):
                chosen &= matched[term[1:]]
        for term in terms:
            if term.startswith("!"):
                chosen -= matched[term[1:]]
        selected = [h for h in self.host_names() if h in chosen]
        if not selected:
            raise ConfigError(
                self.where, "--limit", f"pattern {_show(pattern)} matches no host of the inventory"
            )
        cache: dict[tuple[str, ...], tuple[list[str], dict[str, Any]]] = {}
        budget = self._resolve_budget()
        return [self._resolve(h, cache, budget) for h in selected]

    def _terms(self, pattern: str) -> list[str]:
        terms: list[str] = []
        for raw in _split_pattern(pattern):
            if raw.startswith("@"):
                text = read_text_file(raw[1:], key="--limit")
                terms += [line.strip() for line in text.splitlines() if line.strip()]
            else:
                terms.append(raw)
        return terms

    def _match_all(self, terms: list[str]) -> dict[str, set[str]]:
        """Each distinct term -> the hosts it names; globs and regexes within a budget."""
        out: dict[str, set[str]] = {}
        budget = _Budget(
            MAX_MATCH_WORK,
            self.where,
            "--limit",
            f"too many patterns for this inventory (over {MAX_MATCH_WORK} comparisons)",
        )
        names = [*self.groups, *self.host_vars]
        regexes: list[str] = []
        for term in dict.fromkeys(terms):
            if term in ("all", "*"):
                out[term] = set(self.host_vars)
            elif term in self.groups:
                out[term] = self._member_set(term, budget)
            elif term in self.host_vars:
                out[term] = {term}
            elif term.startswith("~"):
                _check_pattern(term, self.where)
                budget.spend(len(names))
                regexes.append(term)
            else:
                _check_pattern(term, self.where)
                budget.spend(len(names))
                matcher = re.compile(fnmatch.translate(term)).match
                out[term] = self._expand([n for n in names if matcher(n)], budget)
        if regexes:
            found = _match_regexes([t[1:] for t in regexes], names, self.where)
            for term, hits in zip(regexes, found):
                out[term] = self._expand([names[i] for i in hits], budget)
        return out

    def _expand(self, names: list[str], budget: _Budget) -> set[str]:
        """Matched names -> hosts: a host stands for itself, a group for its members."""
        hosts: set[str] = set()
        for name in names:
            if name in self.groups:
                hosts |= self._member_set(name, budget)
            if name in self.host_vars:
                hosts.add(name)
        return hosts


def _priority(variables: Mapping[str, Any]) -> int:
    value = variables.get("ansible_group_priority", 1)
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return int(text) if re.fullmatch(r"-?[0-9]{1,10}", text) else 1


def _in_cycle(parents: dict[str, list[str]], stuck: list[str]) -> str:
    """A group on a cycle, for the message. Not every stuck group is on one, but each has a
    stuck parent (one never resolved), so following those ends on a cycle."""
    stuck_set = set(stuck)
    name = stuck[0]
    seen: set[str] = set()
    while name not in seen:
        seen.add(name)
        name = next(p for p in parents.get(name, []) if p in stuck_set)
    return name


def _check_name(name: str, where: str, kind: str) -> None:
    # A newline or escape in a name would break one-line messages and every report.
    if _CONTROL.search(name):
        raise ConfigError(where, _show(name), f"{kind} name holds control characters")


def _check_pattern(term: str, where: str) -> None:
    if len(term) > MAX_PATTERN_CHARS:
        raise ConfigError(
            where, "--limit", f"pattern {_show(term)} is longer than {MAX_PATTERN_CHARS} characters"
        )
    if term.startswith("~"):
        try:
            re.compile(term[1:])
        except (re.error, OverflowError, RecursionError, ValueError, MemoryError) as exc:
            raise ConfigError(
                where, "--limit", f"bad regular expression {_show(term)}: {_reason(exc)}"
            ) from None


# Run by a child Python: matching cannot be interrupted from the same thread in every case,
# and a regular expression can backtrack for far longer than anyone waits.
_REGEX_CHILD = """
import json, re, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
except Exception:
    pass
job = json.load(sys.stdin)
names = job["names"]
found = []
for pattern in job["patterns"]:
    match = re.compile(pattern).match
    found.append([i for i, name in enumerate(names) if match(name)])
json.dump(found, sys.stdout)
"""


def _match_regexes(patterns: list[str], names: list[str], where: str) -> list[list[int]]:
    """For each pattern, the indices of the names it matches (`re.match`), within
    `REGEX_SECONDS` in all; past that a ConfigError naming --limit."""
    shown = ", ".join(_show("~" + p, 40) for p in patterns[:3]) + (
        ", ..." if len(patterns) > 3 else ""
    )
    if not sys.executable:
        raise ConfigError(where, "--limit", "regular expressions need a Python to run in")
    code = _REGEX_CHILD.replace("LIMIT", str(REGEX_MEMORY))
    job = json.dumps({"patterns": patterns, "names": names})
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code],
            input=job,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=REGEX_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            where,
            "--limit",
            f"matching {shown} took more than {REGEX_SECONDS:g} s "
            "(a pattern such as (a+)+ can backtrack for ever): simplify it",
        ) from None
    except OSError as exc:
        raise ConfigError(where, "--limit", f"cannot match {shown}: {_reason(exc)}") from None
    try:
        if done.returncode != 0:
            raise ValueError
        found = json.loads(done.stdout)
        if not isinstance(found, list) or len(found) != len(patterns):
            raise ValueError
        return [[int(i) for i in hits] for hits in found]
    except (ValueError, TypeError):
        last = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise ConfigError(where, "--limit", f"cannot match {shown}: {last[:200]}") from None


def _split_pattern(pattern: str) -> list[str]:
    if "," in pattern:
        parts = pattern.split(",")
    elif re.fullmatch(r"[0-9A-Fa-f:]+", pattern) and pattern.count(":") > 1:
        parts = [pattern]  # an IPv6 address
    else:
        parts = pattern.split(":")
    return [p.strip() for p in parts if p.strip()]


# -- host ranges --------------------------------------------------------------------------------


def _range_values(start: str, end: str, step_text: str | None) -> range | str:
    """A numeric range, or the letters of an alphabetic one (Ansible's order: a-z then A-Z)."""
    shown = f"[{start[:20]}:{end[:20]}]"  # letters and digits only: nothing to escape
    if max(len(start), len(end), len(step_text or "")) > _RANGE_DIGITS:
        raise ValueError(f"range {shown} has a bound or step of more than {_RANGE_DIGITS} digits")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"range {shown} needs a positive step")
    if start.isdigit() and end.isdigit():
        values: range | str = range(int(start), int(end) + 1, step)
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        letters = string.ascii_letters
        values = letters[letters.index(start) : letters.index(end) + 1 : step]
    else:
        raise ValueError(f"range {shown} is neither numeric nor single letters")
    if not values:
        raise ValueError(f"range {shown} is empty")
    return values


def count_range(pattern: str) -> int:
    """How many names `expand_range(pattern)` gives, without making them."""
    total = 1
    for match in _RANGE.finditer(pattern):
        start, end, step = match.groups()
        values = _range_values(start, end, step)
        total *= len(values)
    return total


def iter_range(pattern: str) -> Iterator[str]:
    """`web[01:03]` -> web01, web02, web03 one at a time; several ranges: every combination."""
    matches = list(_RANGE.finditer(pattern))
    if not matches:
        yield pattern
        return
    pieces: list[str] = []
    choices: list[Any] = []
    at = 0
    for match in matches:
        pieces.append(pattern[at : match.start()])
        start, end, step = match.groups()
        values = _range_values(start, end, step)
        if isinstance(values, range):
            width = len(start) if start.startswith("0") else 0
            choices.append(_padded(values, width))
        else:
            choices.append(values)
        at = match.end()
    tail = pattern[at:]
    for combination in itertools.product(*choices):
        yield "".join(p + v for p, v in zip(pieces, combination)) + tail


class _padded:
    """The numbers of a range as zero-padded text, re-iterable (for itertools.product)."""

    def __init__(self, values: range, width: int) -> None:
        self.values, self.width = values, width

    def __iter__(self) -> Iterator[str]:
        return (str(i).zfill(self.width) for i in self.values)


def expand_range(pattern: str, limit: int = MAX_HOSTS) -> list[str]:
    """`web[01:03]` -> web01, web02, web03; `db-[a:c]` -> db-a, db-b, db-c; several ranges too.

    ValueError when a range is malformed or the names would be more than `limit`.
    """
    if count_range(pattern) > limit:
        raise ValueError(f"expands to more than {limit} hosts")
    return list(iter_range(pattern))


def _split_host(text: str, where: str) -> tuple[list[str], int | None]:
    """`name`, `name:port`, `[v6]:port` or a range -> names and the port given with them."""
    bracket = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?", text)
    if bracket:
        return [bracket.group(1)], int(bracket.group(2)) if bracket.group(2) else None
    port: int | None = None
    name = text
    outside = re.sub(r"\[[^\]]*\]", "", text)  # colons inside ranges are not ports
    if outside.count(":") == 1:
        name, _, port_text = text.rpartition(":")
        if not re.fullmatch(r"[0-9]{1,5}", port_text):
            raise ConfigError(where, _show(text), "expected host:port with a numeric port")
        port = int(port_text)
    elif outside.count(":") > 1:
        name = text  # an IPv6 address without a port
    try:
        return expand_range(name), port
    except ValueError as exc:
        raise ConfigError(where, _show(text), _reason(exc)) from None


# -- INI ----------------------------------------------------------------------------------------


def _ini_value(text: str) -> Any:
    """Inline host values are Python literals in Ansible's INI format; else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, OverflowError):
        return text


_SHLEX_SPECIAL = re.compile(r"['\"\\#]")
_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")


def _words(line: str) -> list[str]:
    if not _SHLEX_SPECIAL.search(line):  # most lines: shlex's answer, far faster
        return [w for w in _SHLEX_SPACE.split(line) if w]
    return shlex.split(line, comments=True)


def parse_ini(text: str, where: str = "inventory") -> Inventory:
    inventory = Inventory(where)
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        at = f"line {number}"
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            header = re.fullmatch(r"\[([^\]\s]+)\]", line)
            if header is None:
                raise ConfigError(where, at, f"bad section header {_show(line)}")
            name, _, suffix = header.group(1).partition(":")
            if suffix not in ("", "vars", "children"):
                raise ConfigError(
                    where, at, f"unknown section kind {_show(suffix)} in {_show(line)}"
                )
            section, kind = name, suffix or "hosts"
            inventory.group(section)
            if section not in ("all", "ungrouped") and kind != "vars":
                inventory.add_child("all", section)
            continue
        try:
            words = _words(line)
        except ValueError as exc:
            raise ConfigError(where, at, f"cannot split {_show(line)}: {exc}") from None
        if not words:
            continue
        if kind == "vars":
            key, eq, value = line.partition("=")
            if not eq or not key.strip():
                raise ConfigError(where, at, f"expected key=value in [{section}:vars]")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            inventory.group(section).vars[key.strip()] = value
        elif kind == "children":
            inventory.add_child(section, words[0])
        else:
            names, port = _split_host(words[0], where)
            variables: dict[str, Any] = {}
            for word in words[1:]:
                key, eq, value = word.partition("=")
                if not eq or not key:
                    raise ConfigError(
                        where, at, f"expected key=value after the host, got {_show(word)}"
                    )
                variables[key] = _ini_value(value)
            if port is not None:
                variables.setdefault("ansible_port", port)
            for name in names:
                inventory.add_host(section, name, variables)
    _finish(inventory)
    return inventory


# -- YAML ---------------------------------------------------------------------------------------


class _TooDeep(Exception):
    pass


@functools.lru_cache(maxsize=None)  # noqa: UP033 - functools.cache is Python 3.9+ only
def _yaml_loader() -> Any:
    """A safe loader whose composer stops at `MAX_YAML_DEPTH`, before Python's stack does,
    and that reads Ansible's tags: vaulted values stay opaque, never decrypted."""
    import yaml

    parser: Any
    if yaml.__with_libyaml__:  # libyaml's parser: about seven times faster, no Python stack
        parser = yaml.cyaml.CParser
    else:  # pragma: no cover - PyYAML built without libyaml

        def parser_init(self: Any, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)

        parser = type(
            "Parser",
            (yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser),
            {"__init__": parser_init},
        )

    def init(self: Any, stream: str) -> None:
        parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.depth = 0

    def compose_node(self: Any, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _TooDeep
            return yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1

    bases = (
        yaml.composer.Composer,
        parser,
        yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    )
    Loader: Any = type("Loader", bases, {"__init__": init, "compose_node": compose_node})

    def vault(loader: Any, node: Any) -> str:
        return "<vaulted>"

    def unsafe(loader: Any, node: Any) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "!unsafe must tag a string", node.start_mark
            )
        return loader.construct_scalar(node)

    Loader.add_constructor("!vault", vault)
    Loader.add_constructor("!unsafe", unsafe)
    return Loader


def _check_graph(root: Any, where: str) -> None:
    """Refuse a YAML node graph that is cyclic, nests too deep or expands too far.

    Aliases share nodes, so a few lines can stand for billions of values ("billion
    laughs") or nest deeper than the text shows; everything that walks the loaded data
    would see the expanded tree. Each node's expanded size and depth is computed once.
    """
    import yaml

    scalar = yaml.ScalarNode
    sizes: dict[int, tuple[int, int, int]] = {}  # id -> (values, characters, depth)
    on_path: set[int] = set()
    if isinstance(root, scalar):
        return
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            values, chars, depth = 1, 0, 0
            for child in _children(node):
                if isinstance(child, scalar):  # most nodes: no need to visit them apart
                    values, chars = values + 1, chars + len(child.value)
                    continue
                v, c, d = sizes[id(child)]
                values, chars, depth = values + v, chars + c, max(depth, d)
            depth += 1
            if values > MAX_YAML_NODES or chars > MAX_YAML_CHARS:
                raise ConfigError(
                    where,
                    None,
                    f"aliases expand to more than {MAX_YAML_NODES} values or "
                    f"{MAX_YAML_CHARS} characters",
                )
            if depth >= MAX_YAML_DEPTH:
                raise ConfigError(where, None, f"nested more than {MAX_YAML_DEPTH} deep")
            sizes[key] = (values, chars, depth)
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if isinstance(child, scalar):
                continue
            child_key = id(child)
            if child_key in on_path:
                raise ConfigError(where, None, f"an alias refers to itself (line {_line(node)})")
            if child_key not in sizes:
                stack.append((child, False))


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _line(node: Any) -> int:
    mark = getattr(node, "start_mark", None)
    return int(getattr(mark, "line", -1)) + 1


def load_yaml(text: str, where: str) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        raise ConfigError(where, None, "YAML inventories need PyYAML") from None
    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, where)
        return loader.construct_document(node)
    except _TooDeep:
        raise ConfigError(where, None, f"nested more than {MAX_YAML_DEPTH} deep") from None
    except yaml.YAMLError as exc:
        raise ConfigError(where, None, f"not valid YAML: {' '.join(str(exc).split())}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # SafeConstructor's own: a timestamp such as 2099-02-30, an integer of 5,000 digits
        raise ConfigError(where, None, f"not valid YAML: {_reason(exc)}") from None
    finally:
        loader.dispose()


def parse_yaml(text: str, where: str = "inventory") -> Inventory:
    data = load_yaml(text, where)
    inventory = Inventory(where)
    if data is None:
        return inventory
    if not isinstance(data, dict):
        raise ConfigError(where, None, "expected a mapping of group names at the top level")
    for name, body in data.items():
        _yaml_group(inventory, _key(name), body, where, top=True)
    _finish(inventory)
    return inventory


def _key(value: Any) -> str:
    return "" if value is None else str(value)


def _variables(data: Mapping[Any, Any]) -> dict[str, Any]:
    return {_key(k): v for k, v in data.items()}


def _yaml_group(inventory: Inventory, name: str, body: Any, where: str, top: bool) -> None:
    # Recursion is bounded: _check_graph refused data nested deeper than MAX_YAML_DEPTH.
    inventory.group(name)
    if top and name not in ("all", "ungrouped"):
        inventory.add_child("all", name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise ConfigError(
            where, _show(name), "a group must be a mapping of hosts, vars and children"
        )
    unknown = set(map(_key, body)) - {"hosts", "vars", "children"}
    if unknown:
        shown = ", ".join(_show(k, 40) for k in sorted(unknown)[:5])
        raise ConfigError(where, _show(name), f"unknown group keys: {shown}")
    hosts = body.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise ConfigError(where, f"{_show(name)}.hosts", "expected a mapping of host names")
    for pattern, variables in hosts.items():
        pattern = _key(pattern)
        if variables is not None and not isinstance(variables, dict):
            raise ConfigError(
                where, f"{_show(name)}.hosts.{_show(pattern)}", "host variables must be a mapping"
            )
        names, port = _split_host(pattern, where)
        values = _variables(variables or {})
        if port is not None:
            values.setdefault("ansible_port", port)
        for host in names:
            inventory.add_host(name, host, values)
    variables = body.get("vars") or {}
    if not isinstance(variables, dict):
        raise ConfigError(where, f"{_show(name)}.vars", "expected a mapping")
    inventory.group(name).vars.update(_variables(variables))
    children = body.get("children") or {}
    if not isinstance(children, dict):
        raise ConfigError(where, f"{_show(name)}.children", "expected a mapping of group names")
    for child, child_body in children.items():
        inventory.add_child(name, _key(child))
        _yaml_group(inventory, _key(child), child_body, where, top=False)


def _finish(inventory: Inventory) -> None:
    """Hosts in no group but `all` belong to `ungrouped`, as in Ansible."""
    grouped: set[str] = set()
    for group in inventory.groups.values():
        if group.name not in ("all", "ungrouped"):
            grouped.update(group.hosts)
    ungrouped = inventory.groups["ungrouped"]
    for host in [*inventory.groups["all"].hosts]:
        if host not in grouped and host not in ungrouped._host_set:
            ungrouped.hosts.append(host)
            ungrouped._host_set.add(host)
    ungrouped.hosts[:] = [h for h in ungrouped.hosts if h not in grouped]
    ungrouped._host_set = set(ungrouped.hosts)
    everything = inventory.groups["all"]
    everything.hosts[:] = []
    everything._host_set = set()
    has_parent = {c for g in inventory.groups.values() if g.name != "all" for c in g.children}
    everything.children[:] = [g for g in inventory.groups if g != "all" and g not in has_parent]
    everything._child_set = set(everything.children)
    inventory._index = None


# -- files --------------------------------------------------------------------------------------


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read an INI or YAML inventory file, with `group_vars/` and `host_vars/` beside it."""
    where = _place(path)
    file = Path(path)
    try:
        if file.is_dir():
            raise ConfigError(where, None, "give the inventory file, not a folder")
    except (OSError, ValueError):
        pass  # read_text_file says why
    text = read_text_file(file, where)
    if text.startswith("#!") and os.access(file, os.X_OK):
        raise ConfigError(
            where, None, "dynamic inventory scripts need Ansible: use ansible:// targets"
        )
    if file.suffix.lower() in _YAML_SUFFIXES or _looks_like_yaml(text):
        inventory = parse_yaml(text, where)
    else:
        inventory = parse_ini(text, where)
    _load_var_folders(inventory, file.parent)
    return inventory


def _looks_like_yaml(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        return not stripped.startswith("[") and stripped.endswith(":") and " " not in stripped
    return False


class _VarsFolder:
    """One `group_vars/` or `host_vars/` folder, listed once; names are looked up among its
    entries, never joined into a path (a name may be `../../etc/passwd`)."""

    def __init__(self, folder: Path, budget: _Budget) -> None:
        self.folder = folder
        self.budget = budget
        try:
            self.entries = set(os.listdir(folder))
        except OSError as exc:
            raise ConfigError(_place(folder), None, f"cannot list: {_reason(exc)}") from None

    def files(self, name: str) -> list[Path]:
        """The vars files of `name`, in the order they apply (later ones win)."""
        files: list[Path] = []
        folders: list[Path] = []
        for suffix in ("", ".yml", ".yaml", ".json"):
            entry = name + suffix
            if entry in self.entries:
                path = self.folder / entry
                # anything but a folder is read, so a FIFO or device is refused, not skipped
                (folders if path.is_dir() else files).append(path)
        for folder in folders:
            files += _folder_files(folder, 0)
        return files

    def read(self, name: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for path in self.files(name):
            merged.update(_read_vars(path, self.budget))
        return merged


def _folder_files(folder: Path, depth: int) -> list[Path]:
    """Vars files in a `NAME/` folder and its subfolders, sorted, as Ansible reads them:
    hidden files and `~` backups skipped; linked subfolders are not entered (no loops)."""
    if depth > 8:
        return []
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise ConfigError(_place(folder), None, f"cannot list: {_reason(exc)}") from None
    found: list[Path] = []
    for name in names:
        if name.startswith(".") or name.endswith("~"):
            continue
        child = folder / name
        if child.is_dir():
            if not child.is_symlink():
                found += _folder_files(child, depth + 1)
        elif os.path.splitext(name)[1].lower() in ("", *_YAML_SUFFIXES):
            found.append(child)
    return found


def _read_vars(path: Path, budget: _Budget) -> dict[str, Any]:
    where = _place(path)
    text = read_text_file(path, where)
    budget.spend(len(text))
    if text.startswith("$ANSIBLE_VAULT"):
        return {}  # an encrypted file: its values are secrets memcheck never needs
    data = load_yaml(text, where)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(where, None, "expected a mapping of variables")
    return _variables(data)


def _load_var_folders(inventory: Inventory, base: Path) -> None:
    budget = _Budget(
        MAX_VARS_BYTES,
        _place(base),
        None,
        f"group_vars and host_vars hold more than {MAX_VARS_BYTES} bytes",
    )
    group_folder, host_folder = base / "group_vars", base / "host_vars"
    if group_folder.is_dir():
        groups = _VarsFolder(group_folder, budget)
        for name, group in inventory.groups.items():
            group.vars.update(groups.read(name))
    if host_folder.is_dir():
        hosts = _VarsFolder(host_folder, budget)
        for name in inventory.host_names():
            inventory.host_vars[name].update(hosts.read(name))


# -- templated values ---------------------------------------------------------------------------


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


_FILTERS = frozenset(
    {"default", "d", "lower", "upper", "trim", "string", "int", "first", "last", "length"}
)
_TESTS = frozenset({"defined", "undefined", "none", "string", "number", "sameas", "eq", "ne", "in"})


def _allowed(node: Any) -> str | None:
    """Why a template node is refused, or None. Only what a connection variable needs:
    loops, calls, arithmetic and the filters that grow text could run without bound."""
    from jinja2 import nodes

    plain = (
        nodes.Template,
        nodes.Output,
        nodes.TemplateData,
        nodes.Name,
        nodes.Const,
        nodes.Getattr,
        nodes.Getitem,
        nodes.Slice,
        nodes.CondExpr,
        nodes.If,
        nodes.And,
        nodes.Or,
        nodes.Not,
        nodes.Neg,
        nodes.Pos,
        nodes.Compare,
        nodes.Operand,
        nodes.Concat,
        nodes.List,
        nodes.Tuple,
        nodes.Keyword,
    )
    if isinstance(node, nodes.Filter):
        return None if node.name in _FILTERS else f"the filter {node.name!r} is not supported"
    if isinstance(node, nodes.Test):
        return None if node.name in _TESTS else f"the test {node.name!r} is not supported"
    if isinstance(node, nodes.Name) and node.ctx != "load":
        return "assignments are not supported"
    if isinstance(node, plain):
        return None
    return f"{type(node).__name__.lower()} is not supported"


def _size(value: Any, limit: int) -> int:
    """About how many characters str(value) has, counting no further than `limit`."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, Mapping):
            total += 2 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + len(item)
            stack.extend(item)
        else:
            total += 32
    return total


class _Renderer:
    """Renders one host's templated variables, each once, referenced ones first."""

    def __init__(self, host: InventoryHost) -> None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        self.host = host
        self.env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self.values: dict[str, Any] = {
            **host.vars,
            "inventory_hostname": host.name,
            "inventory_hostname_short": host.name.split(".", 1)[0],
            "group_names": list(host.groups),
        }
        self.done: dict[str, Any] = {}

    def fail(self, key: str, problem: str) -> ConfigError:
        value = str(self.host.vars.get(key, ""))
        return ConfigError(
            self.host.name, key, f"cannot render {_show(value)} without Ansible: {problem}"
        )

    def render(self, key: str, chain: tuple[str, ...] = ()) -> Any:
        if key in self.done:
            return self.done[key]
        value = self.values.get(key)
        if not _templated(value):
            if _size(value, MAX_TEMPLATE_VALUE) > MAX_TEMPLATE_VALUE:
                raise self.fail(
                    chain[-1] if chain else key,
                    f"{key} is larger than {MAX_TEMPLATE_VALUE} characters",
                )
            self.done[key] = value
            return value
        if key in chain:
            loop = " -> ".join((*chain[chain.index(key) :], key))
            raise self.fail(chain[0], f"a variable refers to itself ({loop})")
        if len(chain) >= MAX_TEMPLATE_DEPTH:
            raise self.fail(chain[0], f"templates refer on more than {MAX_TEMPLATE_DEPTH} deep")
        text = str(value)
        if len(text) > MAX_TEMPLATE_CHARS:
            raise self.fail(key, f"longer than {MAX_TEMPLATE_CHARS} characters")
        from jinja2 import TemplateError, meta

        try:
            tree = self.env.parse(text)
        except TemplateError as exc:
            raise self.fail(key, _reason(exc)) from None
        except (RecursionError, MemoryError, ValueError, OverflowError):
            raise self.fail(key, "nested too deeply or a number too long") from None
        # Walked without recursion: `a or b or ...` and `x|lower|lower...` nest one level
        # per operator, and Jinja's compiler recurses as deep as the tree goes.
        walk: list[tuple[Any, int]] = [(tree, 0)]
        while walk:
            node, depth = walk.pop()
            if depth > MAX_TEMPLATE_NESTING:
                raise self.fail(key, f"nested more than {MAX_TEMPLATE_NESTING} deep")
            problem = _allowed(node)
            if problem:
                raise self.fail(key, problem)
            walk.extend((child, depth + 1) for child in node.iter_child_nodes())
        context = {
            name: self.render(name, (*chain, key))
            for name in meta.find_undeclared_variables(tree)
            if name in self.values
        }
        try:
            rendered = self.env.from_string(tree).render(context)
        except TemplateError as exc:
            raise self.fail(key, _reason(exc)) from None
        except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
            raise self.fail(key, _reason(exc)) from None
        if len(rendered) > MAX_TEMPLATE_VALUE:
            raise self.fail(key, f"renders to more than {MAX_TEMPLATE_VALUE} characters")
        self.done[key] = rendered
        return rendered


def resolve_connection_vars(host: InventoryHost) -> InventoryHost:
    """Render `{{ ... }}` in the connection variables with the host's own variables.

    Ansible templates variables with Jinja2; memcheck does the same for the few it uses,
    with a sandbox, a subset of the language and no Ansible filters or lookups. A variable
    used by a template is rendered first when it is a template itself. What cannot be
    rendered is a ConfigError.
    """
    templated = [k for k in CONNECTION_VARS if _templated(host.vars.get(k))]
    if not templated:
        return host
    renderer = _Renderer(host)
    values = dict(host.vars)
    for key in templated:
        values[key] = renderer.render(key)
    return InventoryHost(host.name, values, host.groups)
