"""`--profile auto` detection: process lists in, workloads and profiles out."""

from __future__ import annotations

from typing import Optional

import pytest

from memcheck.detect import (
    DETECT_READS,
    MAX_EVIDENCE,
    PROFILE_ORDER,
    describe,
    detect,
    mongodb_major,
    shown_cmdline,
)
from memcheck.facts.processes import Process
from memcheck.parse.proc_pid import parse_status
from tests.snapshots import facts_from

# pid, comm, cmdline (arguments separated by spaces), ppid; Optional: this runs on Python 3.9.
P = tuple[int, Optional[str], Optional[str], int]


def procs(*rows: P) -> list[Process]:
    """Processes as facts give them; a cmdline of "" is empty (kernel thread), None unread."""
    out = []
    for pid, comm, cmdline, ppid in rows:
        argv = None if cmdline is None else tuple(cmdline.split(" ")) if cmdline else ()
        status = parse_status(f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t{ppid}\n")
        out.append(Process(pid, comm=comm, status=status, cmdline=argv))
    return out


def profiles(*rows: P) -> tuple[str, ...]:
    return detect(procs(*rows)).profiles


SYSTEM = [
    (1, "systemd", "/sbin/init splash", 0),
    (2, "kthreadd", "", 0),
    (812, "sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 1),
    (900, "bash", "-bash", 812),
]

CASES: list[tuple[str, list[P], tuple[str, ...]]] = [
    ("nothing", SYSTEM, ()),
    (
        "postgres-debian",
        [
            (1201, "postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf", 1),
            (1202, "postgres", "postgres: 15/main: checkpointer", 1201),
            (1203, "postgres", "postgres: 15/main: walwriter", 1201),
        ],
        ("postgres",),
    ),
    ("postgres-rhel-postmaster", [(700, "postmaster", "/usr/bin/postmaster -D /var/lib/pgsql/data", 1)], ("postgres",)),
    ("mysql", [(500, "mysqld", "/usr/sbin/mysqld", 1)], ("mysql",)),
    ("mariadb-10.11", [(501, "mariadbd", "/usr/sbin/mariadbd", 1)], ("mysql",)),
    ("redis", [(600, "redis-server", "/usr/bin/redis-server 127.0.0.1:6379", 1)], ("redis",)),
    ("valkey", [(601, "valkey-server", "/usr/bin/valkey-server *:6379", 1)], ("redis",)),
    ("mongod-package", [(400, "mongod", "/usr/bin/mongod --config /etc/mongod.conf", 1)], ("mongodb",)),
    (
        "mongod-8-tarball",
        [(401, "mongod", "/opt/mongodb-linux-x86_64-ubuntu2204-8.0.4/bin/mongod --dbpath /data/db", 1)],
        ("mongodb8",),
    ),
    (
        "mongod-7-versioned-datadir",
        [(402, "mongod", "/usr/bin/mongod --dbpath=/var/lib/mongodb-7.0 --port 27017", 1)],
        ("mongodb",),
    ),
    (
        "elasticsearch-8",
        [
            (300, "java", "/usr/share/elasticsearch/jdk/bin/java -Xms4g -cp /usr/share/elasticsearch/lib/* org.elasticsearch.launcher.CliToolLauncher", 1),
            (301, "java", "/usr/share/elasticsearch/jdk/bin/java -Des.path.home=/usr/share/elasticsearch --module-path /usr/share/elasticsearch/lib -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch", 300),
        ],
        ("elasticsearch",),
    ),
    (
        "elasticsearch-7",
        [(302, "java", "/usr/share/elasticsearch/jdk/bin/java -Xms1g -Des.path.home=/usr/share/elasticsearch -cp /usr/share/elasticsearch/lib/* org.elasticsearch.bootstrap.Elasticsearch -p /var/run/elasticsearch/elasticsearch.pid", 1)],
        ("elasticsearch",),
    ),
    (
        "opensearch",
        [(303, "java", "/usr/share/opensearch/jdk/bin/java -Xms1g -Dopensearch.path.home=/usr/share/opensearch -cp /usr/share/opensearch/lib/* org.opensearch.bootstrap.OpenSearch -d", 1)],
        ("elasticsearch",),
    ),
    (
        "cassandra",
        [(200, "java", "/usr/bin/java -ea -Xms8G -Dcassandra.storagedir=/var/lib/cassandra -cp /etc/cassandra:/usr/share/cassandra/lib/* org.apache.cassandra.service.CassandraDaemon", 1)],
        ("cassandra",),
    ),
    ("scylladb", [(201, "scylla", "/usr/bin/scylla --log-to-syslog 1 --network-stack posix", 1)], ("cassandra",)),
    (
        "kubernetes-node-containerd",
        [
            (100, "containerd", "/usr/bin/containerd", 1),
            (101, "kubelet", "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --container-runtime-endpoint=unix:///run/containerd/containerd.sock", 1),
            (102, "containerd-shim", "/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id abc", 1),
        ],
        ("kubernetes-node",),
    ),
    (
        "docker-host",
        [
            (110, "containerd", "/usr/bin/containerd", 1),
            (111, "dockerd", "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock", 1),
        ],
        ("container-host",),
    ),
    ("podman-conmon", [(120, "conmon", "/usr/bin/conmon --api-version 1 -c 1a2b", 1)], ("container-host",)),
    ("cri-o-without-kubelet", [(121, "crio", "/usr/bin/crio", 1)], ("container-host",)),
    (
        "redis-and-postgres",
        [
            (600, "redis-server", "/usr/bin/redis-server 127.0.0.1:6379", 1),
            (1201, "postgres", "/usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main", 1),
        ],
        ("postgres", "redis"),
    ),
    (
        "kubelet-with-a-database-pod",
        [
            (101, "kubelet", "/usr/bin/kubelet", 1),
            (100, "containerd", "/usr/bin/containerd", 1),
            (130, "mongod", "mongod --bind_ip_all", 129),
        ],
        ("kubernetes-node", "mongodb"),
    ),
    (
        "two-mongod-versions",
        [
            (401, "mongod", "/opt/mongodb/8.0.3/bin/mongod --port 27018", 1),
            (402, "mongod", "/opt/mongodb/7.0.12/bin/mongod --port 27017", 1),
        ],
        ("mongodb", "mongodb8"),
    ),
]  # fmt: skip

HOSTILE: list[tuple[str, list[P]]] = [
    # Names that contain a workload's name but are not it.
    ("exporters", [
        (1, "postgres_export", "/usr/bin/postgres_exporter --web.listen-address=:9187", 0),
        (2, "redis_exporter", "/usr/bin/redis_exporter", 0),
        (3, "mongodb_exporte", "/usr/bin/mongodb_exporter", 0),
        (4, "mysqld_exporter", "/usr/bin/mysqld_exporter", 0),
    ]),
    ("clients-and-wrappers", [
        (5, "psql", "psql -U postgres", 0),
        (6, "redis-cli", "redis-cli -h localhost", 0),
        (7, "mongosh", "mongosh mongodb://localhost/", 0),
        (8, "mongos", "/usr/bin/mongos --configdb cfg/a:27019", 0),
        (9, "mysqld_safe", "/bin/sh /usr/bin/mysqld_safe", 0),
        (10, "redis-sentinel", "/usr/bin/redis-sentinel *:26379", 0),
        (11, "kubectl", "kubectl get pods", 0),
        (12, "docker", "docker ps", 0),
        (13, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", 0),
    ]),
    ("names-on-other-command-lines", [
        (20, "vim", "vim /etc/redis/redis-server.conf", 0),
        (21, "grep", "grep org.elasticsearch.bootstrap.Elasticsearch", 0),
        (22, "less", "less postgres mongod kubelet", 0),
        (23, "python3", "python3 -m org.apache.cassandra.service.CassandraDaemon", 0),
    ]),
    ("odd-bytes-and-spaces", [
        (30, "postgres ", "postgres", 0),
        (31, "(sd-pam)", "(sd-pam)", 0),
        (32, "redis\x1b[31m", "/usr/bin/redis-server", 0),
        (33, "\u202emongod", "mongod", 0),
        (34, "", "", 0),
    ]),
    ("kernel-threads-and-zombies", [
        (40, "kworker/0:1", "", 0),
        (41, "kubelet", "", 0),  # a zombie: no command line left
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detection_table(rows: list[P], expected: tuple[str, ...]) -> None:
    assert profiles(*SYSTEM, *rows) == expected


@pytest.mark.parametrize("rows", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_names_are_not_workloads(rows: list[P]) -> None:
    assert profiles(*rows) == ()


def test_elasticsearch_8_main_class_after_its_module() -> None:
    # ES 8 starts the server as `java ... -m org.elasticsearch.server/<main class>`; the CLI
    # launcher that starts it is a java process too, but not the server.
    launcher = (300, "java", "java -cp lib/* org.elasticsearch.launcher.CliToolLauncher", 1)
    server = (301, "java", "java -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch", 300)  # fmt: skip
    assert profiles(launcher) == ()
    found = detect(procs(launcher, server))
    assert [(w.name, w.pids) for w in found.workloads] == [("Elasticsearch", (301,))]


def test_workloads_carry_their_processes_as_evidence() -> None:
    rows: list[P] = [
        (1201, "postgres", "/usr/lib/postgresql/15/bin/postgres -D /srv/pg", 1),
        *[(1202 + i, "postgres", f"postgres: 15/main: backend {i}", 1201) for i in range(6)],
    ]
    found = detect(procs(*rows))
    (workload,) = found.workloads
    assert workload.name == "PostgreSQL"
    assert workload.profile == "postgres"
    assert workload.pids == tuple(range(1201, 1208))
    assert len(workload.evidence) == MAX_EVIDENCE
    first = workload.evidence[0]
    assert first == {
        "text": "pid 1201 postgres: /usr/lib/postgresql/15/bin/postgres -D /srv/pg",
        "source": "/proc/1201/cmdline",
        "pid": 1201,
        "comm": "postgres",
    }
    data = workload.as_dict()
    assert data["processes"] == 7
    assert "note" not in data


def test_evidence_prefers_the_process_whose_parent_is_not_of_its_kind() -> None:
    rows: list[P] = [
        (50, "postgres", "postgres: checkpointer", 1201),
        (1201, "postgres", "/usr/bin/postgres -D /srv/pg", 1),
    ]
    workload = detect(procs(*rows)).workloads[0]
    assert [e["pid"] for e in workload.evidence] == [1201, 50]


def test_mariadb_under_the_mysqld_name() -> None:
    found = detect(procs((9, "mysqld", "/opt/mariadb-10.4/bin/mysqld --user=mysql", 1)))
    assert [w.name for w in found.workloads] == ["MariaDB"]
    assert found.profiles == ("mysql",)


def test_unknown_mongodb_version_is_said() -> None:
    found = detect(procs((400, "mongod", "/usr/bin/mongod --config /etc/mongod.conf", 1)))
    (workload,) = found.workloads
    assert workload.profile == "mongodb"
    assert workload.note is not None
    assert "version not shown" in workload.note and "mongodb8" in workload.note
    assert workload.as_dict()["note"] == workload.note


def test_known_mongodb_version_is_named() -> None:
    found = detect(procs((401, "mongod", "/opt/mongodb/8.2.1/bin/mongod", 1)))
    assert [(w.name, w.profile, w.note) for w in found.workloads] == [
        ("MongoDB 8", "mongodb8", None)
    ]


@pytest.mark.parametrize(
    ("cmdline", "major"),
    [
        ("/opt/mongodb-linux-x86_64-ubuntu2204-8.0.4/bin/mongod", 8),
        ("/opt/mongodb-linux-x86_64-rhel80-7.0.12/bin/mongod --fork", 7),
        ("/opt/mongodb/8.0.3/bin/mongod", 8),
        ("/opt/mongodb/v6.0/bin/mongod", 6),
        ("/usr/local/mongodb-5.0/bin/mongod", 5),
        ("mongod --dbpath /var/lib/mongodb-8.0", 8),
        ("mongod --dbpath=/var/lib/mongodb-8.0 --logpath /var/log/mongodb-8.0/mongod.log", 8),
        ("/usr/bin/mongod --config /etc/mongod.conf", None),
        ("mongod --port 27017 --bind_ip 10.0.8.15", None),
        ("mongod --replSet rs0 --bind_ip mongodb-0.mongodb-svc.default.svc.cluster.local", None),
        ("/opt/mongodb/8.0.3/bin/mongod --dbpath /data/mongodb-7.0", None),  # contradicts
        ("/opt/mongo/1.2.3.4/bin/mongod", None),
        ("", None),
    ],
)
def test_mongodb_major(cmdline: str, major: int | None) -> None:
    assert mongodb_major(tuple(cmdline.split(" ")) if cmdline else None) == major


def test_runtime_beside_kubelet_is_noted_not_a_second_profile() -> None:
    found = detect(
        procs(
            (100, "containerd", "/usr/bin/containerd", 1), (101, "kubelet", "/usr/bin/kubelet", 1)
        )
    )
    (workload,) = found.workloads
    assert workload.profile == "kubernetes-node"
    assert workload.note == (
        "container runtime containerd runs beside the kubelet; kubernetes-node covers it"
    )


def test_profiles_follow_the_fixed_order_whatever_the_pids() -> None:
    rows: list[P] = [
        (5, "redis-server", "redis-server", 1),
        (6, "kubelet", "kubelet", 1),
        (7, "postgres", "postgres", 1),
        (8, "scylla", "scylla", 1),
        (9, "mysqld", "mysqld", 1),
    ]
    found = detect(procs(*rows))
    assert found.profiles == ("kubernetes-node", "cassandra", "mysql", "postgres", "redis")
    assert list(found.profiles) == [p for p in PROFILE_ORDER if p in found.profiles]
    assert detect(procs(*reversed(rows))).profiles == found.profiles


def test_comm_missing_falls_back_to_argv0() -> None:
    assert profiles((5, None, "/usr/bin/redis-server *:6379", 1)) == ("redis",)
    assert profiles((6, None, None, 1)) == ()


def test_secrets_on_command_lines_are_masked() -> None:
    assert shown_cmdline(
        ("redis-server", "--requirepass", "hunter2", "--port", "6379", "--masterauth=s3cret")
    ) == ("redis-server --requirepass *** --port 6379 --masterauth=***")
    assert shown_cmdline(("mysqld", "--password=x", "--api-key=y", "--user=mysql")) == (
        "mysqld --password=*** --api-key=*** --user=mysql"
    )
    long = shown_cmdline(("java", "-cp", "x" * 500))
    assert long is not None and len(long) == 200 and long.endswith("…")
    assert shown_cmdline(()) is None


def test_evidence_uses_the_shared_masking_policy() -> None:
    # The forms the old masker missed: -pPASS, user:pass@ URLs, curl -u, env assignments.
    found = detect(
        procs(
            (500, "mysqld", "/usr/sbin/mysqld --user=mysql -phunter2", 1),
            (600, "redis-server", "redis-server --masterauth hunter2 redis://:hunter2@h", 1),
            (
                700,
                "java",
                "java -Djavax.net.ssl.keyStorePassword=hunter2 -cp /opt/es/lib/* "
                "org.elasticsearch.bootstrap.Elasticsearch",
                1,
            ),
        )
    )
    shown = [e["text"] for w in found.workloads for e in w.evidence]
    assert not any("hunter2" in str(t) for t in shown), shown
    assert "pid 500 mysqld: /usr/sbin/mysqld --user=mysql -p***" in shown
    assert "pid 600 redis-server: redis-server --masterauth *** redis://:***@h" in shown
    assert found.profiles == ("elasticsearch", "mysql", "redis")  # masking kept the main class


def test_detection_from_a_snapshot_tree() -> None:
    files = {
        "/proc/1/comm": "systemd\n",
        "/proc/1/cmdline": b"/sbin/init\0",
        "/proc/600/comm": "redis-server\n",
        "/proc/600/cmdline": b"/usr/bin/redis-server 127.0.0.1:6379\0",
        "/proc/600/status": "Name:\tredis-server\nPPid:\t1\n",
        "/proc/700/comm": "postgres\n",
        "/proc/700/cmdline": b"/usr/lib/postgresql/16/bin/postgres\0-D\0/var/lib/postgresql/16/main\0",
        "/proc/701/comm": "postgres\n",
        "/proc/701/cmdline": b"postgres: 16/main: checkpointer \0",
        "/proc/2/comm": "kthreadd\n",
        "/proc/2/cmdline": b"",
    }
    facts = facts_from(files)
    found = detect(facts.processes)
    assert found.profiles == ("postgres", "redis")
    pg = found.workloads[0]
    assert pg.pids == (700, 701)
    assert pg.evidence[0]["text"] == (
        "pid 700 postgres: /usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main"
    )
    assert (
        describe(found.as_dicts()) == "PostgreSQL (pid 700) -> postgres, Redis (pid 600) -> redis"
    )


def test_describe() -> None:
    assert describe(None) == ""
    assert describe([]) == "no known workload detected (default applies)"


def test_detect_reads_are_process_files_only() -> None:
    assert DETECT_READS == ("/proc/[0-9]*/comm", "/proc/[0-9]*/cmdline", "/proc/[0-9]*/status")
