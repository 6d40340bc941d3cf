"""Hostile inventories and --limit patterns: each ends in a result or a one-line ConfigError,
within bounded time and memory, and nothing outside the inventory's folders is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from memcheck import inventory as inv_module
from memcheck.errors import ConfigError
from memcheck.inventory import (
    MAX_HOSTS,
    expand_range,
    load_inventory,
    load_yaml,
    parse_ini,
    parse_yaml,
    read_text_file,
    resolve_connection_vars,
)
from tests.fuzz.bounds import bounded

SECRET = "SECRET-TOKEN-7f3a9c"


def one_line_error(call: Callable[[], object], match: str) -> ConfigError:
    with bounded(seconds=10, megabytes=128), pytest.raises(ConfigError, match=match) as err:
        call()
    assert "\n" not in str(err.value)
    return err.value


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "memcheck", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memcheck: error: "), done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0]


# -- names are never paths ---------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An inventory folder with empty host_vars/ and group_vars/, and secrets around it."""
    base = tmp_path / "inv"
    (base / "host_vars").mkdir(parents=True)
    (base / "group_vars").mkdir()
    (base / "secret.yml").write_text(f"ansible_host: {SECRET}\n")
    (tmp_path / "outside.yml").write_text(f"ansible_user: {SECRET}\n")
    return base


@pytest.mark.parametrize("name", ["../secret", "../../outside", "./../secret", "../../inv/secret"])
def test_host_names_are_not_paths_under_host_vars(folder: Path, name: str) -> None:
    (folder / "hosts.yml").write_text(f"all:\n  hosts:\n    '{name}':\n")
    host = load_inventory(folder / "hosts.yml").host(name)
    assert SECRET not in repr(host.vars)


@pytest.mark.parametrize("name", ["../secret", "../../outside", ".."])
def test_group_names_are_not_paths_under_group_vars(folder: Path, name: str) -> None:
    (folder / "hosts.yml").write_text(
        f"all:\n  children:\n    '{name}':\n      hosts:\n        h1:\n"
    )
    # `..` as a folder would be the inventory folder itself: secret.yml would be read
    (folder / "group_vars" / "web.yml").write_text("ansible_port: 2200\n")
    host = load_inventory(folder / "hosts.yml").host("h1")
    assert SECRET not in repr(host.vars)


def test_exact_names_still_find_every_form(folder: Path) -> None:
    (folder / "hosts").write_text("[web]\nw1\nw2\nw3\n")
    (folder / "host_vars" / "w1").write_text("a: plain\n")
    (folder / "host_vars" / "w1.yml").write_text("b: yml\n")
    (folder / "host_vars" / "w2.json").write_text('{"c": "json"}\n')
    (folder / "host_vars" / "w3").mkdir()
    (folder / "host_vars" / "w3" / "10-main.yaml").write_text("d: first\ne: first\n")
    (folder / "host_vars" / "w3" / "20-more.yml").write_text("e: second\n")
    (folder / "host_vars" / "w3" / "sub").mkdir()
    (folder / "host_vars" / "w3" / "sub" / "x.yml").write_text("f: nested\n")
    (folder / "host_vars" / "w3" / ".hidden.yml").write_text("g: hidden\n")
    (folder / "host_vars" / "w3" / "backup.yml~").write_text("h: backup\n")
    (folder / "host_vars" / "w3" / "notes.txt").write_text("i: text\n")
    (folder / "group_vars" / "web.yaml").write_text("ansible_user: ops\n")
    inv = load_inventory(folder / "hosts")
    w1, w2, w3 = inv.hosts()
    assert (w1.vars["a"], w1.vars["b"], w1.user) == ("plain", "yml", "ops")
    assert w2.vars["c"] == "json"
    assert {k: w3.vars.get(k) for k in "defghi"} == {
        "d": "first",
        "e": "second",
        "f": "nested",
        "g": None,
        "h": None,
        "i": None,
    }


def test_a_link_in_host_vars_is_followed_as_ansible_does(folder: Path, tmp_path: Path) -> None:
    # Whoever made the link owns the folder; the name in the inventory did not choose it.
    (folder / "hosts").write_text("[web]\nw1\n")
    (folder / "host_vars" / "w1.yml").symlink_to(tmp_path / "outside.yml")
    assert load_inventory(folder / "hosts").host("w1").user == SECRET


@pytest.mark.parametrize("kind", ["device", "fifo", "socket"])
def test_a_vars_entry_that_is_no_regular_file_is_refused(folder: Path, kind: str) -> None:
    (folder / "hosts").write_text("[web]\nw1\n")
    entry = folder / "host_vars" / "w1.yml"
    if kind == "device":
        entry.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(entry)
    else:
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(entry))
        sock.close()
    one_line_error(lambda: load_inventory(folder / "hosts"), "not a regular file")


def test_an_oversized_vars_file_is_refused(folder: Path) -> None:
    (folder / "hosts").write_text("[web]\nw1\n")
    with open(folder / "group_vars" / "all.yml", "wb") as big:
        big.truncate(inv_module.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    one_line_error(lambda: load_inventory(folder / "hosts"), "larger than")


def test_vars_files_together_are_capped(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inv_module, "MAX_VARS_BYTES", 100)
    (folder / "hosts").write_text("[web]\nw1\nw2\n")
    (folder / "host_vars" / "w1.yml").write_text("a: " + "x" * 60 + "\n")
    (folder / "host_vars" / "w2.yml").write_text("a: " + "x" * 60 + "\n")
    one_line_error(lambda: load_inventory(folder / "hosts"), "hold more than 100 bytes")


def test_cli_never_shows_a_file_a_host_name_points_at(folder: Path, tmp_path: Path) -> None:
    # Before: host_vars/../secret.yml was parsed and its YAML error quoted the line.
    (folder / "secret.yml").write_text(f"token: {SECRET}: not yaml\n")
    (folder / "hosts.yml").write_text(
        "all:\n  hosts:\n    '../secret':\n      ansible_connection: winrm\n"
    )
    reports = tmp_path / "reports"
    done = run_cli(
        "run",
        "--inventory",
        str(folder / "hosts.yml"),
        "--report-dir",
        str(reports),
        "--checks",
        "swappiness",
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert written, done.stderr  # the run went on and reported the host's error
    for path in written:
        assert SECRET not in path.read_text(errors="replace")


# -- only regular files, of bounded size ------------------------------------------------------


def test_an_inventory_that_is_a_device_fifo_or_folder_is_refused(tmp_path: Path) -> None:
    one_line_error(lambda: load_inventory("/dev/zero"), "not a regular file")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    one_line_error(lambda: load_inventory(fifo), "not a regular file")
    one_line_error(lambda: load_inventory(tmp_path), "not a folder")


def test_an_oversized_inventory_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.ini"
    with open(big, "wb") as out:
        out.truncate(inv_module.MAX_FILE_BYTES + 1)
    one_line_error(lambda: load_inventory(big), "larger than")


def test_read_text_file_stops_at_the_cap_even_if_the_size_lied(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x" * 100)
    one_line_error(lambda: read_text_file(path, limit=99), "larger than 99 bytes")
    assert read_text_file(path, limit=100) == "x" * 100


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "big", "missing"])
def test_limit_from_a_file_is_read_within_bounds(tmp_path: Path, target: str) -> None:
    inv = parse_ini("[web]\nw1\n", "x")
    path = tmp_path / target
    if target == "/dev/zero":
        path = Path(target)
    elif target == "fifo":
        os.mkfifo(path)
    elif target == "big":
        with open(path, "wb") as out:
            out.truncate(inv_module.MAX_FILE_BYTES + 1)
    err = one_line_error(lambda: inv.select(f"@{path}"), "not a regular file|larger|cannot read")
    assert err.key == "--limit"


def test_cli_inventory_dev_zero_is_one_line(tmp_path: Path) -> None:
    done = run_cli("--inventory", "/dev/zero", cwd=tmp_path)
    assert_one_line_exit_2(done, "/dev/zero", "not a regular file")


# -- YAML bombs and cycles --------------------------------------------------------------------


SELF_CHILDREN = """
all:
  children: &kids
    web:
      children: *kids
"""


def test_a_children_anchor_that_refers_to_itself(tmp_path: Path) -> None:
    one_line_error(lambda: parse_yaml(SELF_CHILDREN, "x.yml"), "refers to itself")
    path = tmp_path / "inv.yml"
    path.write_text(SELF_CHILDREN)
    assert_one_line_exit_2(run_cli("--inventory", str(path), cwd=tmp_path), "refers to itself")


def billion_laughs(levels: int) -> str:
    lines = ["all:", "  vars:", "    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused() -> None:
    one_line_error(lambda: parse_yaml(billion_laughs(9), "x.yml"), "aliases expand")


def test_a_few_shared_anchors_are_fine() -> None:
    inv = parse_yaml(billion_laughs(3), "x.yml")  # 1,000 values: a real use of anchors
    assert len(inv.groups["all"].vars["l2"]) == 10


def test_large_scalars_repeated_by_aliases_are_refused() -> None:
    text = f"a: &a '{'x' * 100_000}'\nb: &b [{', '.join(['*a'] * 30)}]\n"
    text += "".join(f"c{i}: [{', '.join(['*b'] * 30)}]\n" for i in range(30))
    one_line_error(lambda: load_yaml(text, "x.yml"), "aliases expand")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "{a: " * 50_000,
        "".join("  " * i + f"k{i}:\n" for i in range(2_000)),
        "".join("  " * i + "-\n" for i in range(2_000)),
        # aliases nest deeper than the text: each list holds the one before
        "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 300)),
    ],
    ids=["flow", "flow-map", "block-map", "block-seq", "alias-chain"],
)
def test_deep_nesting_is_one_line(text: str) -> None:
    one_line_error(lambda: parse_yaml(text, "x.yml"), "nest|not valid YAML")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("all:\n  vars:\n    d: 2099-02-30\n", "out of range"),
        ("all:\n  vars:\n    n: " + "9" * 5000 + "\n", "not valid YAML"),
        ("all:\n  vars:\n    x: !unsafe [a]\n", "unsafe"),
        ("all:\n  vars:\n    x: !python/object:os.system x\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
        ("a: *nowhere\n", "not valid YAML"),
    ],
)
def test_yaml_value_errors_are_config_errors(text: str, problem: str) -> None:
    one_line_error(lambda: parse_yaml(text, "x.yml"), problem)


@pytest.mark.parametrize(
    "text",
    [
        "[a:children]\na\n[a]\nh\n",
        "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n[c]\nh\n",
        "[top:children]\na\n[a:children]\nb\n[b:children]\na\n[top]\nh\n",
    ],
)
def test_group_cycles_end_in_an_error_not_a_loop(text: str) -> None:
    inv = parse_ini(text, "x.ini")
    one_line_error(lambda: inv.select(None), "its own ancestor")
    one_line_error(lambda: inv.select("h"), "its own ancestor")
    # what needs no ancestry still answers
    assert inv.members("a") == ["h"] or inv.members("top") == ["h"]


def test_a_yaml_group_listed_as_its_own_child() -> None:
    text = "all:\n  children:\n    a:\n      hosts: {h: }\n      children:\n        a:\n"
    inv = parse_yaml(text, "x.yml")
    one_line_error(lambda: inv.select(None), "its own ancestor")


def test_a_chain_of_many_groups_needs_no_deep_stack() -> None:
    # listed deepest first, so no parent's depth is known before its child asks for it
    chain = "[g5000]\nh\n" + "".join(f"[g{i}:children]\ng{i + 1}\n" for i in reversed(range(5_000)))
    inv = parse_ini(chain, "x.ini")
    with bounded(seconds=10, megabytes=256):
        (host,) = inv.select("g0")
    assert len(host.groups) == 5_001


def test_intertwined_groups_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # every host in a group with many parents: memberships multiply
    monkeypatch.setattr(inv_module, "MAX_RESOLVE_WORK", 50_000)
    text = "".join(f"[p{i}:children]\nleaf\n" for i in range(500))
    text += "[leaf]\n" + "".join(f"h{i}\n" for i in range(200))
    inv = parse_ini(text, "x.ini")
    one_line_error(lambda: inv.select(None), "too intertwined")


# -- host ranges ------------------------------------------------------------------------------


def test_a_huge_range_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    err = one_line_error(lambda: parse_ini("[web]\nweb[0:99999999]\n", "big.ini"), "more than")
    assert "big.ini" in str(err) and "web[0:99999999]" in str(err)
    yaml_text = "all:\n  hosts:\n    web[0:99999999]:\n"
    one_line_error(lambda: parse_yaml(yaml_text, "big.yml"), "more than")
    path = tmp_path / "big.ini"
    path.write_text("[web]\nweb1\nweb[0:99999999]\n")
    done = run_cli("--inventory", str(path), "--limit", "web1", cwd=tmp_path)
    assert_one_line_exit_2(done, "big.ini", "web[0:99999999]")


@pytest.mark.parametrize(
    "pattern",
    [
        "w[0:999]x[0:999]",  # 1,000,000 together
        "w[a:z]x[a:z]y[a:z]z[a:z]",  # letters multiply too
        "w[0:99999999:999]",  # a stride still leaves 100,101
        "w[0:" + "9" * 5_000 + "]",
        "w[0:1:" + "9" * 5_000 + "]",
    ],
)
def test_ranges_multiply_and_strides_count(pattern: str) -> None:
    with bounded(seconds=5, megabytes=64), pytest.raises(ValueError):
        expand_range(pattern)
    one_line_error(lambda: parse_ini(f"[g]\n{pattern}\n", "x.ini"), "more than|digits")


def test_a_range_at_the_bound_is_fine() -> None:
    names = expand_range(f"w[1:{MAX_HOSTS}]")
    assert len(names) == MAX_HOSTS and names[-1] == f"w{MAX_HOSTS}"
    assert len(expand_range("w[0:99999999:1000]")) == 100_000
    assert expand_range("x[a:Z:13]") == ["xa", "xn", "xA", "xN"]  # Ansible: a-z then A-Z


def test_the_inventory_holds_a_bounded_number_of_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inv_module, "MAX_HOSTS", 1_000)
    one_line_error(lambda: parse_ini("[a]\na[1:600]\n[b]\nb[1:600]\n", "x.ini"), "1000 hosts")
    monkeypatch.setattr(inv_module, "MAX_MEMBERSHIPS", 1_000)
    text = "".join(f"[g{i}]\nh[1:100]\n" for i in range(11))  # 100 hosts, 1,100 entries
    one_line_error(lambda: parse_ini(text, "x.ini"), "host entries")


def test_many_hosts_in_one_group_load_in_linear_time() -> None:
    text = "[web]\n" + "".join(
        f"host{i}.example.com ansible_host=10.0.0.1\n" for i in range(50_000)
    )
    start = time.monotonic()
    inv = parse_ini(text, "x.ini")
    assert len(inv.select("web")) == 50_000
    assert time.monotonic() - start < 10  # was quadratic: a list search per host


@pytest.mark.parametrize("port", ["²", "٣", "9" * 5000, "-1"])
def test_odd_ports_are_config_errors(port: str) -> None:
    one_line_error(lambda: parse_ini(f"[g]\nh:{port}\n", "x.ini"), "numeric port")
    inv = parse_ini(f"[g]\nh ansible_port={port}\n", "x.ini")
    one_line_error(lambda: inv.host("h").port, "expected a number")


@pytest.mark.parametrize("name", ["a\nb", "a\x1b[31mb", "a\x00b"])
def test_names_with_control_characters_are_refused(name: str) -> None:
    text = "all:\n  hosts:\n    " + repr(name).replace("'", '"') + ":\n"
    one_line_error(lambda: parse_yaml(text, "x.yml"), "control characters")


# -- --limit ----------------------------------------------------------------------------------


def test_a_backtracking_regex_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inv_module, "REGEX_SECONDS", 0.5)
    inv = parse_ini("[web]\n" + "a" * 29 + "!\nweb1\n", "x.ini")
    start = time.monotonic()
    err = one_line_error(lambda: inv.select("~(a+)+$"), "took more than 0.5 s")
    assert err.key == "--limit"
    assert time.monotonic() - start < 5


def test_cli_backtracking_limit_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "inv.ini"
    path.write_text("[web]\n" + "a" * 29 + "!\nweb1\n")
    start = time.monotonic()
    done = run_cli("--inventory", str(path), "--limit", "~(a+)+$", cwd=tmp_path)
    assert_one_line_exit_2(done, "--limit", "took more than")
    assert time.monotonic() - start < 30


def test_regexes_still_match_groups_and_hosts() -> None:
    inv = parse_ini("[web]\nweb1\nweb2\n[db]\ndb1\n[dbx:children]\ndb\n", "x.ini")
    assert [h.name for h in inv.select("~w.b2,~dbx$")] == ["web2", "db1"]
    assert [h.name for h in inv.select("~.*:!~web1")] == ["web2", "db1"]
    one_line_error(lambda: inv.select("~(("), "bad regular expression")
    one_line_error(lambda: inv.select("~a{99999999999999999999}"), "bad regular expression")


def test_overlong_patterns_are_refused() -> None:
    inv = parse_ini("[web]\nweb1\n", "x.ini")
    one_line_error(lambda: inv.select("w*" + "x" * 5000), "longer than")
    one_line_error(lambda: inv.select("~" + "x" * 5000), "longer than")


def test_many_glob_terms_against_many_hosts_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inv_module, "MAX_MATCH_WORK", 100_000)
    inv = parse_ini("[web]\nw[1:1000]\n", "x.ini")
    terms = tmp_path / "terms"
    terms.write_text("".join(f"x{i}*\n" for i in range(200)))
    one_line_error(lambda: inv.select(f"@{terms}"), "too many patterns")
    exact = tmp_path / "exact"  # exact names cost a look-up each
    exact.write_text("".join(f"w{i}\n" for i in range(1, 1001)) * 50)
    assert len(inv.select(f"@{exact}")) == 1000


def test_glob_patterns_do_not_backtrack() -> None:
    inv = parse_ini("[web]\n" + "a" * 3000 + "\n", "x.ini")
    with bounded(seconds=5, megabytes=64), pytest.raises(ConfigError, match="matches no host"):
        inv.select("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")


# -- templates --------------------------------------------------------------------------------


def render(yaml_vars: str) -> object:
    text = "all:\n  hosts:\n    web1:\n" + "".join(
        f"      {line}\n" for line in yaml_vars.splitlines()
    )
    return resolve_connection_vars(parse_yaml(text, "x.yml").host("web1"))


def test_a_variable_that_refers_to_itself() -> None:
    one_line_error(lambda: render("ansible_host: '{{ ansible_host }}'"), "refers to itself")
    one_line_error(
        lambda: render("ansible_host: '{{ a }}'\na: '{{ b }}'\nb: '{{ a }}.x'"),
        r"refers to itself \(a -> b -> a\)",
    )


def test_variables_that_refer_to_templates_are_rendered_first() -> None:
    host = render("ansible_host: '{{ name }}.internal'\nname: '{{ inventory_hostname }}-a'")
    assert host.address == "web1-a.internal"  # type: ignore[attr-defined]


def test_template_chains_are_bounded() -> None:
    chain = "ansible_host: '{{ v0 }}'\n" + "".join(
        f"v{i}: '{{{{ v{i + 1} }}}}'\n" for i in range(40)
    )
    one_line_error(lambda: render(chain + "v40: end"), "more than 20 deep")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ 9 ** 9 ** 9 }}", "pow is not supported"),
        ("{{ 'x' * 999999999999 }}", "mul is not supported"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "for",
        ),
        ("{{ lookup('env', 'HOME') }}", "call is not supported"),
        ("{{ 'a' | center(999999999) }}", "filter 'center'"),
        ("{{ " + " or ".join(["a"] * 900) + " }}", "longer than|nested more"),
        ("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", "nested"),
        ("{{ a" + "|lower" * 60 + " }}", "nested more than"),
        ("{{ a.__class__ }}", "cannot render"),
        ("{{ 1" + "0" * 5000 + " }}", "longer than"),
        ("{{ big }}", "larger than"),
        ("{{ undefined_thing }}", "undefined"),
    ],
)
def test_templates_that_could_run_without_bound_are_refused(template: str, problem: str) -> None:
    lines = f"ansible_host: {json.dumps(template)}\na: x\nbig: '{'y' * 20_000}'"
    one_line_error(lambda: render(lines), problem)
