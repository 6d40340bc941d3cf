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
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memcheck.errors import ConfigError

CONNECTION_VARS = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_connection",
)

_RANGE = re.compile(r"\[([0-9A-Za-z]+):([0-9A-Za-z]+)(?::([0-9]+))?\]")
_YAML_SUFFIXES = (".yml", ".yaml", ".json")


@dataclass
class Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


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
        try:
            port = int(str(value))
        except ValueError:
            raise ConfigError(
                self.name, "ansible_port", f"expected a number, got {value!r}"
            ) from None
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


class Inventory:
    """Hosts in the order the inventory lists them, and groups with their members."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.groups: dict[str, Group] = {"all": Group("all"), "ungrouped": Group("ungrouped")}
        self.host_vars: dict[str, dict[str, Any]] = {}

    # -- building -----------------------------------------------------------------------
    def group(self, name: str) -> Group:
        if name not in self.groups:
            self.groups[name] = Group(name)
        return self.groups[name]

    def add_host(self, group: str, name: str, variables: Mapping[str, Any]) -> None:
        if not name:
            raise ConfigError(self.where, group, "empty host name")
        self.host_vars.setdefault(name, {}).update(variables)
        members = self.group(group).hosts
        if name not in members:
            members.append(name)

    def add_child(self, parent: str, child: str) -> None:
        if child == "all":
            raise ConfigError(self.where, parent, "'all' cannot be a child group")
        self.group(child)
        children = self.group(parent).children
        if child not in children:
            children.append(child)

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

    def _depths(self) -> dict[str, int]:
        parents = self._parents()
        depths: dict[str, int] = {}

        def depth(name: str, seen: tuple[str, ...]) -> int:
            if name in depths:
                return depths[name]
            if name in seen:
                raise ConfigError(self.where, name, "group is its own ancestor")
            ups = [p for p in parents.get(name, []) if p != "all"]
            value = 1 + max((depth(p, (*seen, name)) for p in ups), default=0)
            depths[name] = value
            return value

        for name in self.groups:
            depths[name] = 0 if name == "all" else depth(name, ())
        return depths

    def members(self, group: str) -> list[str]:
        """Hosts of `group` and of its children, in inventory order."""
        if group == "all":
            return self.host_names()
        found: set[str] = set()
        stack, seen = [group], set()
        while stack:
            name = stack.pop()
            if name in seen or name not in self.groups:
                continue
            seen.add(name)
            found.update(self.groups[name].hosts)
            stack.extend(self.groups[name].children)
        return [h for h in self.host_names() if h in found]

    def groups_of(self, host: str) -> list[str]:
        """Every group `host` belongs to, directly or through a child group, `all` first."""
        parents = self._parents()
        direct = [g.name for g in self.groups.values() if host in g.hosts]
        if not direct:
            direct = ["ungrouped"]
        out: list[str] = []
        stack = list(direct)
        while stack:
            name = stack.pop()
            if name in out:
                continue
            out.append(name)
            stack.extend(parents.get(name, []))
        return ["all", *[g for g in out if g != "all"]]

    def host(self, name: str) -> InventoryHost:
        depths = self._depths()
        groups = self.groups_of(name)

        def order(group: str) -> tuple[int, int, str]:
            variables = self.groups[group].vars if group in self.groups else {}
            try:
                priority = int(variables.get("ansible_group_priority", 1))
            except (TypeError, ValueError):
                priority = 1
            return (depths.get(group, 0), priority, group)

        merged: dict[str, Any] = {}
        for group in sorted(groups, key=order):
            if group in self.groups:
                merged.update(self.groups[group].vars)
        merged.update(self.host_vars.get(name, {}))
        return InventoryHost(name, merged, tuple(g for g in groups if g != "all"))

    def hosts(self) -> list[InventoryHost]:
        return [self.host(name) for name in self.host_names()]

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
        chosen: set[str] = set()
        has_union = False
        for term in terms:
            if not term.startswith(("&", "!")):
                has_union = True
                chosen |= self._match(term)
        if not has_union:
            chosen = set(self.host_names())
        for term in terms:
            if term.startswith("&"):
                chosen &= self._match(term[1:])
        for term in terms:
            if term.startswith("!"):
                chosen -= self._match(term[1:])
        selected = [h for h in self.host_names() if h in chosen]
        if not selected:
            raise ConfigError(
                self.where, "--limit", f"pattern {pattern!r} matches no host of the inventory"
            )
        return [self.host(h) for h in selected]

    def _terms(self, pattern: str) -> list[str]:
        terms: list[str] = []
        for raw in _split_pattern(pattern):
            if raw.startswith("@"):
                try:
                    text = Path(raw[1:]).read_text(encoding="utf-8")
                except OSError as exc:
                    raise ConfigError(raw[1:], "--limit", f"cannot read: {exc.strerror}") from None
                terms += [line.strip() for line in text.splitlines() if line.strip()]
            else:
                terms.append(raw)
        return terms

    def _match(self, term: str) -> set[str]:
        names = self.host_names()
        if term in ("all", "*"):
            return set(names)
        if term in self.groups:
            return set(self.members(term))
        if term in self.host_vars:
            return {term}
        if term.startswith("~"):
            try:
                regex = re.compile(term[1:])
            except re.error as exc:
                raise ConfigError(self.where, "--limit", f"bad regular expression: {exc}") from None
            groups = [g for g in self.groups if regex.match(g)]
            hosts = {h for h in names if regex.match(h)}
        else:
            groups = [g for g in self.groups if fnmatch.fnmatchcase(g, term)]
            hosts = {h for h in names if fnmatch.fnmatchcase(h, term)}
        for group in groups:
            hosts.update(self.members(group))
        return hosts


def _split_pattern(pattern: str) -> list[str]:
    if "," in pattern:
        parts = pattern.split(",")
    elif re.fullmatch(r"[0-9A-Fa-f:]+", pattern) and pattern.count(":") > 1:
        parts = [pattern]  # an IPv6 address
    else:
        parts = pattern.split(":")
    return [p.strip() for p in parts if p.strip()]


def expand_range(pattern: str) -> list[str]:
    """`web[01:03]` -> web01, web02, web03; `db-[a:c]` -> db-a, db-b, db-c; nested ranges too."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, step_text = match.groups()
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"range step must be positive in {pattern!r}")
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise ValueError(f"range [{start}:{end}] is neither numeric nor single letters")
    if not values:
        raise ValueError(f"range [{start}:{end}] is empty in {pattern!r}")
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [name for v in values for name in expand_range(head + v + tail)]


def _split_host(text: str, where: str) -> tuple[list[str], int | None]:
    """`name`, `name:port`, `[v6]:port` or a range -> names and the port given with them."""
    bracket = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?", text)
    if bracket:
        return [bracket.group(1)], int(bracket.group(2)) if bracket.group(2) else None
    port: int | None = None
    name = text
    outside = re.sub(r"\[[^\]]*\]", "", text)  # colons inside ranges are not ports
    if outside.count(":") == 1:
        name, _, port_text = text.rpartition(":")
        if not port_text.isdigit():
            raise ConfigError(where, text, "expected host:port with a numeric port")
        port = int(port_text)
    elif outside.count(":") > 1:
        name = text  # an IPv6 address without a port
    try:
        return expand_range(name), port
    except ValueError as exc:
        raise ConfigError(where, text, str(exc)) from None


# -- INI ----------------------------------------------------------------------------------------


def _ini_value(text: str) -> Any:
    """Inline host values are Python literals in Ansible's INI format; else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


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
                raise ConfigError(where, at, f"bad section header {line!r}")
            name, _, suffix = header.group(1).partition(":")
            if suffix not in ("", "vars", "children"):
                raise ConfigError(where, at, f"unknown section kind ':{suffix}' in {line!r}")
            section, kind = name, suffix or "hosts"
            inventory.group(section)
            if section not in ("all", "ungrouped") and kind != "vars":
                inventory.add_child("all", section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise ConfigError(where, at, f"cannot split {line!r}: {exc}") from None
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
                    raise ConfigError(where, at, f"expected key=value after the host, got {word!r}")
                variables[key] = _ini_value(value)
            if port is not None:
                variables.setdefault("ansible_port", port)
            for name in names:
                inventory.add_host(section, name, variables)
    _finish(inventory)
    return inventory


# -- YAML ---------------------------------------------------------------------------------------


def _yaml_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        """SafeLoader that reads Ansible's tags: vaulted values stay opaque, never decrypted."""

    def vault(loader: Any, node: Any) -> str:
        return "<vaulted>"

    def unsafe(loader: Any, node: Any) -> Any:
        return loader.construct_scalar(node)

    Loader.add_constructor("!vault", vault)
    Loader.add_constructor("!unsafe", unsafe)
    return Loader


def load_yaml(text: str, where: str) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        raise ConfigError(where, None, "YAML inventories need PyYAML") from None
    try:
        return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(where, None, f"not valid YAML: {' '.join(str(exc).split())}") from None


def parse_yaml(text: str, where: str = "inventory") -> Inventory:
    data = load_yaml(text, where)
    inventory = Inventory(where)
    if data is None:
        return inventory
    if not isinstance(data, dict):
        raise ConfigError(where, None, "expected a mapping of group names at the top level")
    for name, body in data.items():
        _yaml_group(inventory, str(name), body, where, top=True)
    _finish(inventory)
    return inventory


def _yaml_group(inventory: Inventory, name: str, body: Any, where: str, top: bool) -> None:
    inventory.group(name)
    if top and name not in ("all", "ungrouped"):
        inventory.add_child("all", name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise ConfigError(where, name, "a group must be a mapping of hosts, vars and children")
    unknown = set(body) - {"hosts", "vars", "children"}
    if unknown:
        raise ConfigError(
            where, name, f"unknown group keys: {', '.join(sorted(map(str, unknown)))}"
        )
    hosts = body.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise ConfigError(where, f"{name}.hosts", "expected a mapping of host names")
    for pattern, variables in hosts.items():
        if variables is not None and not isinstance(variables, dict):
            raise ConfigError(where, f"{name}.hosts.{pattern}", "host variables must be a mapping")
        names, port = _split_host(str(pattern), where)
        values = dict(variables or {})
        if port is not None:
            values.setdefault("ansible_port", port)
        for host in names:
            inventory.add_host(name, host, values)
    variables = body.get("vars") or {}
    if not isinstance(variables, dict):
        raise ConfigError(where, f"{name}.vars", "expected a mapping")
    inventory.group(name).vars.update(variables)
    children = body.get("children") or {}
    if not isinstance(children, dict):
        raise ConfigError(where, f"{name}.children", "expected a mapping of group names")
    for child, child_body in children.items():
        inventory.add_child(name, str(child))
        _yaml_group(inventory, str(child), child_body, where, top=False)


def _finish(inventory: Inventory) -> None:
    """Hosts in no group but `all` belong to `ungrouped`, as in Ansible."""
    grouped: set[str] = set()
    for group in inventory.groups.values():
        if group.name not in ("all", "ungrouped"):
            grouped.update(group.hosts)
    ungrouped = inventory.groups["ungrouped"]
    for host in [*inventory.groups["all"].hosts]:
        if host not in grouped and host not in ungrouped.hosts:
            ungrouped.hosts.append(host)
    ungrouped.hosts[:] = [h for h in ungrouped.hosts if h not in grouped]
    inventory.groups["all"].hosts[:] = []
    inventory.groups["all"].children[:] = [
        g for g in inventory.groups if g != "all" and not _has_parent(inventory, g)
    ]


def _has_parent(inventory: Inventory, name: str) -> bool:
    return any(name in g.children for g in inventory.groups.values() if g.name != "all")


# -- files --------------------------------------------------------------------------------------


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read an INI or YAML inventory file, with `group_vars/` and `host_vars/` beside it."""
    where = os.fspath(path)
    file = Path(path)
    if file.is_dir():
        raise ConfigError(where, None, "give the inventory file, not a folder")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(where, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(where, None, "not a text file") from None
    if os.access(file, os.X_OK) and text.startswith("#!"):
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


def _var_files(folder: Path, name: str) -> Iterable[Path]:
    for suffix in ("", ".yml", ".yaml", ".json"):
        candidate = folder / (name + suffix)
        if candidate.is_file():
            yield candidate
    directory = folder / name
    if directory.is_dir():
        for child in sorted(directory.iterdir()):
            if child.is_file() and child.suffix.lower() in ("", *_YAML_SUFFIXES):
                yield child


def _read_vars(path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(where, None, f"cannot read: {exc}") from None
    if text.startswith("$ANSIBLE_VAULT"):
        return {}  # an encrypted file: its values are secrets memcheck never needs
    data = load_yaml(text, where)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(where, None, "expected a mapping of variables")
    return {str(k): v for k, v in data.items()}


def _load_var_folders(inventory: Inventory, base: Path) -> None:
    group_folder, host_folder = base / "group_vars", base / "host_vars"
    if group_folder.is_dir():
        for name, group in inventory.groups.items():
            for path in _var_files(group_folder, name):
                group.vars.update(_read_vars(path))
    if host_folder.is_dir():
        for name in inventory.host_names():
            for path in _var_files(host_folder, name):
                inventory.host_vars[name].update(_read_vars(path))


# -- templated values ---------------------------------------------------------------------------


def resolve_connection_vars(host: InventoryHost) -> InventoryHost:
    """Render `{{ ... }}` in the connection variables with the host's own variables.

    Ansible templates variables with Jinja2; memcheck does the same for the few it uses,
    with a sandbox and no Ansible filters. What cannot be rendered is a ConfigError.
    """
    templated = [
        k for k in CONNECTION_VARS if isinstance(host.vars.get(k), str) and "{{" in host.vars[k]
    ]
    if not templated:
        return host
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    context = {
        **host.vars,
        "inventory_hostname": host.name,
        "inventory_hostname_short": host.name.split(".", 1)[0],
        "group_names": list(host.groups),
    }
    values = dict(host.vars)
    for key in templated:
        try:
            values[key] = env.from_string(str(host.vars[key])).render(context)
        except TemplateError as exc:
            raise ConfigError(
                host.name, key, f"cannot render {host.vars[key]!r} without Ansible: {exc}"
            ) from None
    return InventoryHost(host.name, values, host.groups)
