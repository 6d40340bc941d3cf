"""Ansible inventories read without Ansible: INI and YAML, variables, ranges, --limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from memcheck.errors import ConfigError
from memcheck.inventory import (
    Inventory,
    expand_range,
    load_inventory,
    parse_ini,
    parse_yaml,
    resolve_connection_vars,
)

# The example of Ansible's "How to build your inventory", with variables and ranges.
INI = """
# comments and blank lines are ignored
mail.example.com ansible_user=postmaster

[webservers]
foo.example.com ansible_port=2222
bar.example.com:5309
www[01:03].example.com

[dbservers]
one.example.com ansible_host=192.0.2.10 ansible_user='db admin'
two.example.com ansible_ssh_private_key_file=~/.ssh/db_key  # the key
db-[a:b].example.com

[prod:children]
webservers
dbservers

[prod:vars]
ansible_user=deploy
ansible_port=22

[all:vars]
ansible_user=nobody
ansible_connection=ssh
"""

YAML = """
all:
  hosts:
    mail.example.com:
      ansible_user: postmaster
  children:
    prod:
      vars:
        ansible_user: deploy
        ansible_port: 22
      children:
        webservers:
          hosts:
            foo.example.com:
              ansible_port: 2222
            bar.example.com:5309:
            www[01:03].example.com:
        dbservers:
          hosts:
            one.example.com:
              ansible_host: 192.0.2.10
              ansible_user: db admin
            two.example.com:
              ansible_ssh_private_key_file: ~/.ssh/db_key
            db-[a:b].example.com:
  vars:
    ansible_user: nobody
    ansible_connection: ssh
"""

ORDER = [
    "mail.example.com",
    "foo.example.com",
    "bar.example.com",
    "www01.example.com",
    "www02.example.com",
    "www03.example.com",
    "one.example.com",
    "two.example.com",
    "db-a.example.com",
    "db-b.example.com",
]


@pytest.fixture(params=["ini", "yaml"])
def inventory(request: pytest.FixtureRequest) -> Inventory:
    if request.param == "ini":
        return parse_ini(INI, "staging.ini")
    return parse_yaml(YAML, "staging.yml")


def test_hosts_come_in_inventory_order_with_ranges_expanded(inventory: Inventory) -> None:
    assert inventory.host_names() == ORDER


def test_connection_variables_merge_as_ansible_merges_them(inventory: Inventory) -> None:
    mail = inventory.host("mail.example.com")
    assert (mail.user, mail.port, mail.address) == ("postmaster", None, "mail.example.com")
    foo = inventory.host("foo.example.com")
    # the host's own port beats its group's; the child group's user beats `all`'s
    assert (foo.user, foo.port) == ("deploy", 2222)
    assert inventory.host("bar.example.com").port == 5309
    one = inventory.host("one.example.com")
    assert (one.address, one.user, one.port) == ("192.0.2.10", "db admin", 22)
    two = inventory.host("two.example.com")
    assert two.key_file == str(Path("~/.ssh/db_key").expanduser())
    assert two.connection == "ssh"
    assert set(one.groups) == {"dbservers", "prod"}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (None, ORDER),
        ("all", ORDER),
        ("*", ORDER),
        ("dbservers", ORDER[6:]),
        ("webservers,mail.example.com", ORDER[:6]),
        ("prod:!dbservers", ORDER[1:6]),
        ("prod:&webservers", ORDER[1:6]),
        ("www*", ORDER[3:6]),
        ("~db-[ab]", ORDER[8:]),
        ("two.example.com", ["two.example.com"]),
        ("*.example.com:!www0[12]*", [h for h in ORDER if h not in ORDER[3:5]]),
    ],
)
def test_limit_patterns(inventory: Inventory, pattern: str | None, expected: list[str]) -> None:
    assert [h.name for h in inventory.select(pattern)] == expected


def test_a_limit_that_matches_nothing_is_an_error(inventory: Inventory) -> None:
    with pytest.raises(ConfigError, match="matches no host"):
        inventory.select("nosuchgroup")


def test_limit_from_a_file(inventory: Inventory, tmp_path: Path) -> None:
    retry = tmp_path / "retry"
    retry.write_text("one.example.com\nfoo.example.com\n")
    assert [h.name for h in inventory.select(f"@{retry}")] == [
        "foo.example.com",
        "one.example.com",
    ]


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[08:10].x", ["web08.x", "web09.x", "web10.x"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("n[0:10:5]", ["n0", "n5", "n10"]),
        ("r[1:2]c[1:2]", ["r1c1", "r1c2", "r2c1", "r2c2"]),
        ("plain", ["plain"]),
    ],
)
def test_ranges(pattern: str, names: list[str]) -> None:
    assert expand_range(pattern) == names


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[web\nfoo\n", "bad section header"),
        ("[web:nonsense]\nfoo\n", "unknown section kind"),
        ("[web:vars]\nnot a pair\n", "expected key=value"),
        ("[web]\nfoo port\n", "expected key=value"),
        ("[web]\nfoo:bar\n", "numeric port"),
        ("[web]\nweb[3:1]\n", "empty"),
        ("[web]\nweb[a:10]\n", "neither numeric"),
        ("[web]\nfoo 'unclosed\n", "cannot split"),
    ],
)
def test_bad_ini_is_a_config_error_naming_the_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as err:
        parse_ini(text, "bad.ini")
    assert "bad.ini" in str(err.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("all: [1, 2]\n", "a group must be a mapping"),
        ("- a\n- b\n", "mapping of group names"),
        ("all:\n  hosts: [a, b]\n", "mapping of host names"),
        ("all:\n  hostz: {}\n", "unknown group keys"),
        ("all:\n  hosts:\n    a: 3\n", "host variables must be a mapping"),
        ("all:\n  hosts: {a: [\n", "not valid YAML"),
    ],
)
def test_bad_yaml_is_a_config_error(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_yaml(text, "bad.yml")


def test_empty_inventories_have_no_hosts() -> None:
    assert parse_ini("", "x").host_names() == []
    assert parse_yaml("", "x").host_names() == []
    assert parse_ini("# only a comment\n[empty]\n", "x").host_names() == []


def test_ini_inline_values_are_python_literals_and_vars_values_strings() -> None:
    inv = parse_ini('[g]\nh a=1 b=True c="x y"\n[g:vars]\nd=1\ne="quoted"\n', "x")
    host = inv.host("h")
    assert host.vars["a"] == 1 and host.vars["b"] is True and host.vars["c"] == "x y"
    assert host.vars["d"] == "1" and host.vars["e"] == "quoted"


def test_group_and_host_var_folders_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[db]\ndb1\ndb2\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("ansible_user: ops\nansible_port: 2200\n")
    (tmp_path / "group_vars" / "db").mkdir()
    (tmp_path / "group_vars" / "db" / "main.yaml").write_text("ansible_port: 2222\n")
    (tmp_path / "group_vars" / "db" / "vault.yml").write_text(
        "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n"
    )
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "db2.yml").write_text(
        "ansible_host: 192.0.2.7\nansible_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  61\n"
    )
    inv = load_inventory(tmp_path / "hosts")
    db1, db2 = inv.hosts()
    assert (db1.user, db1.port, db1.address) == ("ops", 2222, "db1")
    assert (db2.user, db2.port, db2.address) == ("ops", 2222, "192.0.2.7")
    assert db2.vars["ansible_password"] == "<vaulted>"  # never decrypted


def test_yaml_is_recognised_by_content_too(tmp_path: Path) -> None:
    path = tmp_path / "inventory"
    path.write_text("all:\n  hosts:\n    a:\n    b:\n")
    assert load_inventory(path).host_names() == ["a", "b"]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.mkdir(), "not a folder"),
        (lambda p: None, "cannot read"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00"), "not a text file"),
    ],
)
def test_unreadable_inventories(tmp_path: Path, make: object, problem: str) -> None:
    path = tmp_path / "inv"
    make(path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=problem):
        load_inventory(path)


def test_dynamic_inventory_scripts_need_ansible(tmp_path: Path) -> None:
    script = tmp_path / "ec2.py"
    script.write_text("#!/usr/bin/env python3\nprint('{}')\n")
    script.chmod(0o755)
    with pytest.raises(ConfigError, match="dynamic inventory scripts need Ansible"):
        load_inventory(script)


def test_templated_connection_variables_are_rendered() -> None:
    inv = parse_yaml(
        "all:\n  hosts:\n    web1:\n      ansible_host: '{{ inventory_hostname }}.internal'\n"
        "      ansible_user: '{{ admin }}'\n  vars:\n    admin: ops\n",
        "x",
    )
    host = resolve_connection_vars(inv.host("web1"))
    assert (host.address, host.user) == ("web1.internal", "ops")
    broken = parse_ini("[g]\nh ansible_host='{{ lookup(\"x\") }}'\n", "x")
    with pytest.raises(ConfigError, match="without Ansible"):
        resolve_connection_vars(broken.host("h"))


def test_bad_ports_are_config_errors() -> None:
    inv = parse_ini("[g]\na ansible_port=ssh\nb ansible_port=70000\n", "x")
    with pytest.raises(ConfigError, match="expected a number"):
        _ = inv.host("a").port
    with pytest.raises(ConfigError, match="not a TCP port"):
        _ = inv.host("b").port


def test_a_group_cannot_contain_itself() -> None:
    inv = parse_ini("[a:children]\nb\n[b:children]\na\n[a]\nh\n", "x")
    with pytest.raises(ConfigError, match="its own ancestor"):
        inv.host("h")


def test_group_priority_orders_groups_of_the_same_depth() -> None:
    text = (
        "[a]\nh\n[b]\nh\n[a:vars]\nansible_user=from_a\nansible_group_priority=5\n"
        "[b:vars]\nansible_user=from_b\n"
    )
    # same depth: the higher priority applies last and wins, whatever the names say
    assert parse_ini(text, "x").host("h").user == "from_a"
    assert parse_ini(text.replace("=5", "=0"), "x").host("h").user == "from_b"
    # a child group beats its parent whatever the priorities
    nested = (
        "[parent:children]\nchild\n[child]\nh\n[parent:vars]\nansible_user=parent\n"
        "ansible_group_priority=99\n[child:vars]\nansible_user=child\n"
    )
    assert parse_ini(nested, "x").host("h").user == "child"


def test_groups_of_and_members_keep_inventory_order(inventory: Inventory) -> None:
    assert inventory.members("prod") == ORDER[1:]
    assert inventory.groups_of("www02.example.com")[0] == "all"
    assert set(inventory.groups_of("www02.example.com")) == {"all", "webservers", "prod"}
    assert inventory.groups_of("mail.example.com") == ["all", "ungrouped"]
