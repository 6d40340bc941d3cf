"""Targets of a run: URLs, snapshots, inventory hosts, and stable shards of them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from memcheck.errors import ConfigError
from memcheck.runner import Target, parse_shard, parse_targets, shard_targets


def specs(targets: list[Target]) -> list[str]:
    return [t.spec for t in targets]


def test_urls_bare_names_and_the_local_host() -> None:
    targets = parse_targets(["db1,ssh://u@db2:2222", "paramiko://db3", "local"], [])
    assert specs(targets) == ["ssh://db1", "ssh://u@db2:2222", "paramiko://db3", "local://"]
    assert [t.label for t in targets] == ["db1", "ssh://u@db2:2222", "paramiko://db3", "local"]
    assert specs(parse_targets([], [])) == ["local://"]


def test_bare_names_follow_the_connection_option() -> None:
    assert specs(parse_targets(["db1"], [], connection="paramiko")) == ["paramiko://db1"]


def test_targets_keep_the_order_given() -> None:
    # A target given twice is audited twice (the user asked for it); labels tell them apart.
    assert specs(parse_targets(["a,b", "a"], [])) == ["ssh://a", "ssh://b", "ssh://a"]


def test_passwords_never_reach_labels() -> None:
    (target,) = parse_targets(["ssh://admin:hunter2@db1"], [])
    assert target.label == "ssh://admin:***@db1"
    assert target.spec == "ssh://admin:hunter2@db1"  # the transport needs it


def test_one_kind_of_target_per_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="one kind of target"):
        parse_targets(["db1"], [str(tmp_path)])
    with pytest.raises(ConfigError, match="one kind of target"):
        parse_targets(["db1"], [], inventory=str(tmp_path / "inv"))
    with pytest.raises(ConfigError, match="--limit selects hosts of an --inventory"):
        parse_targets(["db1"], [], limit="db*")


@pytest.mark.skipif(importlib.util.find_spec("ansible") is not None, reason="Ansible is here")
def test_ansible_urls_need_ansible_and_say_so() -> None:
    with pytest.raises(ConfigError, match=r"needs Ansible.*memcheck\[ansible\]"):
        parse_targets(["ansible://webservers"], [])


@pytest.mark.parametrize(
    ("text", "shard"),
    [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3))],
)
def test_shard_syntax(text: str, shard: tuple[int, int]) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "2", "1/2/3", "-1/2"])
def test_bad_shards_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(text)


def test_shards_split_a_fleet_evenly_and_exactly_once() -> None:
    fleet = [f"h{i:02}" for i in range(23)]
    shards = [shard_targets(fleet, (k, 4)) for k in range(1, 5)]
    assert sorted(h for shard in shards for h in shard) == fleet
    assert [len(s) for s in shards] == [6, 6, 6, 5]
    # The same list gives the same slice on every machine and every run.
    assert shard_targets(fleet, (2, 4)) == shard_targets(list(fleet), (2, 4))
    assert shard_targets(fleet, None) == fleet
    # More shards than hosts: some shards are empty, none fails.
    assert shard_targets(["a", "b"], (3, 3)) == []


def test_shards_apply_to_every_kind_of_target(tmp_path: Path) -> None:
    roots = [str(tmp_path / f"snap{i}") for i in range(4)]
    assert specs(parse_targets([], roots, shard=(2, 2))) == [roots[1], roots[3]]
    assert specs(parse_targets(["a,b,c"], [], shard=(1, 2))) == ["ssh://a", "ssh://c"]


def write_inventory(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hosts.ini"
    path.write_text(text)
    return str(path)


def test_inventory_hosts_become_urls_with_their_key_file(tmp_path: Path) -> None:
    inventory = write_inventory(
        tmp_path,
        "[db]\n"
        "db1 ansible_host=192.0.2.1 ansible_port=2222 ansible_user=ops "
        "ansible_ssh_private_key_file=/keys/db\n"
        "db2 ansible_user='dom@corp'\n"
        "v6 ansible_host=2001:db8::7\n"
        "[local]\n"
        "here ansible_connection=local\n"
        "box ansible_connection=docker ansible_host=ctr1\n"
        "win ansible_connection=winrm\n",
    )
    targets = parse_targets([], [], inventory=inventory)
    assert [t.label for t in targets] == ["db1", "db2", "v6", "here", "box", "win"]
    assert specs(targets)[:5] == [
        "ssh://ops@192.0.2.1:2222",
        "ssh://dom%40corp@db2",
        "ssh://[2001:db8::7]",
        "local://",
        "docker://ctr1",
    ]
    assert dict(targets[0].options) == {"ssh_identity_file": "/keys/db"}
    assert targets[5].error is not None and "ansible_connection=winrm" in targets[5].error
    paramiko = parse_targets([], [], inventory=inventory, limit="db1", connection="paramiko")
    assert specs(paramiko) == ["paramiko://ops@192.0.2.1:2222"]


@pytest.mark.parametrize(
    "line",
    [
        "evil ansible_host=-oProxyCommand=touch_pwned",
        "evil ansible_host='a;touch pwned'",
        "evil ansible_user='-oProxyCommand=x'",
        "evil ansible_user='$(touch pwned)'",
        "evil ansible_host='host/path?x'",
    ],
)
def test_hostile_inventory_values_are_refused_per_host(tmp_path: Path, line: str) -> None:
    inventory = write_inventory(tmp_path, f"[g]\ngood\n{line}\n")
    good, evil = parse_targets([], [], inventory=inventory)
    assert good.error is None and good.spec == "ssh://good"
    assert evil.error is not None and evil.error.startswith("refusing")


def test_a_hosts_bad_template_costs_only_that_host(tmp_path: Path) -> None:
    inventory = write_inventory(
        tmp_path, "[g]\ngood\nevil ansible_host='{{ a }}' a='{{ b }}' b='{{ a }}'\n"
    )
    good, evil = parse_targets([], [], inventory=inventory)
    assert good.error is None and good.spec == "ssh://good"
    assert evil.error is not None and "a -> b -> a" in evil.error
