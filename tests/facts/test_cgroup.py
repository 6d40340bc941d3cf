"""Memory cgroups as they are found on v2, v1, hybrid, Docker and Kubernetes hosts."""

from __future__ import annotations

import pytest

from memcheck.errors import Unavailable
from memcheck.facts.cgroup import classify
from tests.cgroups import (
    CG,
    CONTAINER_ID,
    EVENTS_ZERO,
    K8S_CONTAINER,
    K8S_POD,
    MIB,
    MOUNTS_HYBRID,
    MOUNTS_V2,
    POD_UID,
    UNLIMITED_V1,
    V1,
    events,
    stat_v1,
    stat_v2,
    v1_cgroup,
    v1_host,
    v2_cgroup,
    v2_host,
)
from tests.snapshots import facts_from

DOCKER_ID = "9c1b7c2f0e5d4a3b8f6e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a"


def test_v2_systemd_host() -> None:
    files = {
        **v2_host(),
        **v2_cgroup(
            "/system.slice/nginx.service",
            700 * MIB,
            max_=str(1024 * MIB),
            high=str(900 * MIB),
            stat=stat_v2(500 * MIB, 150 * MIB, 100 * MIB, kernel=50 * MIB, slab=40 * MIB),
        ),
    }
    facts = facts_from(files)
    hierarchy = facts.memory_hierarchy
    assert (hierarchy.version, hierarchy.root, hierarchy.mode) == ("v2", CG, "v2")
    assert hierarchy.problem is None
    paths = [c.path for c in facts.cgroups]
    assert paths[0] == "/" and "/system.slice/nginx.service" in paths
    nginx = facts.cgroup_by_path("/system.slice/nginx.service")
    assert nginx is not None
    assert nginx.kind.label == "systemd service" and nginx.kind.unit == "nginx.service"
    assert nginx.limit is not None and nginx.limit.limit_bytes == 1024 * MIB
    assert nginx.high is not None and nginx.high.limit_bytes == 900 * MIB
    assert nginx.usage_bytes == 700 * MIB
    assert nginx.working_set_bytes == 600 * MIB  # usage less inactive_file
    assert (nginx.anon_bytes, nginx.file_bytes, nginx.kernel_bytes) == (
        500 * MIB,
        150 * MIB,
        50 * MIB,
    )
    assert facts.unit_cgroups["nginx.service"] is nginx
    assert facts.unit_cgroups["system.slice"].kind.label == "systemd slice"
    init = facts.cgroup_by_path("/init.scope")
    assert init is not None and init.kind.label == "systemd scope"


def test_root_cgroup_usage_comes_from_meminfo() -> None:
    facts = facts_from(v2_host())
    root = facts.cgroup_by_path("/")
    assert root is not None and root.is_root
    assert root.limit is None  # the root has no memory.max
    # MemTotal 16 GiB - MemFree 2 GiB, minus the root memory.stat's inactive_file (2 GiB)
    assert root.usage_bytes == 14 << 30 and root.usage_source == "/proc/meminfo"
    assert root.working_set_bytes == 12 << 30
    assert root.kind.label == "root"


def test_root_without_memory_stat_uses_meminfo_inactive_file() -> None:
    files = v2_host()
    del files[CG + "/memory.stat"]
    facts = facts_from(files)
    root = facts.cgroup_by_path("/")
    assert root is not None and root.is_root
    assert root.working_set_bytes == (14 << 30) - 524288 * 1024


def test_v1_docker_host() -> None:
    files = {
        **v1_host(release="3.10.0-1160.el7.x86_64"),
        **v1_cgroup(f"/docker/{DOCKER_ID}", 400 * MIB, limit=str(512 * MIB), kmem=30 * MIB),
    }
    facts = facts_from(files)
    hierarchy = facts.memory_hierarchy
    assert (hierarchy.version, hierarchy.root, hierarchy.mode) == ("v1", V1, "v1")
    root = facts.cgroup_by_path("/")
    assert root is not None and root.is_root and root.limit is not None
    assert root.limit.unlimited and root.limit.raw == UNLIMITED_V1
    container = facts.cgroup_by_path(f"/docker/{DOCKER_ID}")
    assert container is not None
    assert container.kind.label == "docker container"
    assert container.kind.container_id == DOCKER_ID
    assert container.limit is not None and container.limit.limit_bytes == 512 * MIB
    assert container.kernel_bytes == 30 * MIB  # v1: memory.kmem.usage_in_bytes
    assert container.oom_control is not None and container.oom_control.oom_kill == 0


def test_hybrid_host_reads_memory_from_the_v1_hierarchy() -> None:
    files = {
        **v1_host(mounts=MOUNTS_HYBRID),
        # the unified mount of a hybrid host has no memory controller, only PSI files
        f"{CG}/unified/system.slice/memory.pressure": "some avg10=0.00\n",
    }
    facts = facts_from(files)
    assert facts.cgroup_mode == "hybrid"
    assert facts.memory_hierarchy.version == "v1"
    assert facts.memory_hierarchy.root == V1
    assert {c.path for c in facts.cgroups} == {"/", "/system.slice", "/user.slice"}


def test_kubernetes_v2_node_with_systemd_driver() -> None:
    guaranteed = "/kubepods.slice/kubepods-pod1a2b3c4d_0000_1111_2222_333344445555.slice"
    besteffort = (
        "/kubepods.slice/kubepods-besteffort.slice/"
        "kubepods-besteffort-pod9f8e7d6c_5b4a_3928_1706_f5e4d3c2b1a0.slice"
    )
    files = {
        **v2_host(),
        **v2_cgroup("/kubepods.slice", 3 << 30, max_=str(14 << 30)),
        **v2_cgroup("/kubepods.slice/kubepods-burstable.slice", 2 << 30),
        **v2_cgroup(K8S_POD, 300 * MIB, max_=str(512 * MIB)),
        **v2_cgroup(K8S_CONTAINER, 290 * MIB, max_=str(512 * MIB)),
        **v2_cgroup(guaranteed, 100 * MIB, max_=str(256 * MIB)),
        **v2_cgroup(besteffort, 10 * MIB),
        **v2_cgroup("/system.slice/containerd.service", 80 * MIB),
    }
    facts = facts_from(files)
    kinds = {c.path: c.kind for c in facts.cgroups}
    assert kinds["/kubepods.slice"].label == "kubernetes pods (node allocatable)"
    tier = kinds["/kubepods.slice/kubepods-burstable.slice"]
    assert (tier.label, tier.qos) == ("kubernetes QoS class", "burstable")
    pod = kinds[K8S_POD]
    assert (pod.label, pod.qos, pod.pod_uid) == ("kubernetes pod", "burstable", POD_UID)
    container = kinds[K8S_CONTAINER]
    assert container.label == "kubernetes container"
    assert (container.qos, container.pod_uid) == ("burstable", POD_UID)
    assert (container.container_id, container.runtime) == (CONTAINER_ID, "containerd")
    assert "pod " + POD_UID in container.describe()
    assert kinds[guaranteed].qos == "guaranteed"
    assert kinds[guaranteed].pod_uid == "1a2b3c4d-0000-1111-2222-333344445555"
    assert kinds[besteffort].qos == "besteffort"
    assert kinds["/system.slice/containerd.service"].label == "systemd service"


def test_kubernetes_v1_node_with_cgroupfs_driver() -> None:
    uid = "5e6f7a8b-1c2d-4e3f-9a0b-1c2d3e4f5a6b"
    files = {
        **v1_host(release="5.4.0-1103-aws"),
        **v1_cgroup("/kubepods", 2 << 30, limit=str(7 << 30)),
        **v1_cgroup("/kubepods/burstable", 1 << 30),
        **v1_cgroup(f"/kubepods/burstable/pod{uid}", 200 * MIB, limit=str(256 * MIB)),
        **v1_cgroup(f"/kubepods/burstable/pod{uid}/{CONTAINER_ID}", 199 * MIB, str(256 * MIB)),
        **v1_cgroup(f"/kubepods/pod{uid}", 50 * MIB, limit=str(64 * MIB)),
    }
    facts = facts_from(files)
    kinds = {c.path: c.kind for c in facts.cgroups}
    assert kinds["/kubepods"].label == "kubernetes pods (node allocatable)"
    assert kinds["/kubepods/burstable"].qos == "burstable"
    pod = kinds[f"/kubepods/burstable/pod{uid}"]
    assert (pod.label, pod.qos, pod.pod_uid) == ("kubernetes pod", "burstable", uid)
    container = kinds[f"/kubepods/burstable/pod{uid}/{CONTAINER_ID}"]
    assert (container.label, container.container_id) == ("kubernetes container", CONTAINER_ID)
    assert kinds[f"/kubepods/pod{uid}"].qos == "guaranteed"


@pytest.mark.parametrize(
    ("path", "label", "extra"),
    [
        ("/", "root", {}),
        ("/system.slice/docker-" + DOCKER_ID + ".scope", "docker container", {"runtime": "docker"}),
        ("/machine.slice/libpod-" + DOCKER_ID + ".scope", "podman container", {}),
        ("/system.slice/crio-" + DOCKER_ID + ".scope", "container", {"runtime": "cri-o"}),
        ("/docker/" + DOCKER_ID, "docker container", {"container_id": DOCKER_ID}),
        ("/lxc/web01", "lxc container", {}),
        ("/lxc.payload.web01", "lxc container", {}),
        ("/user.slice/user-1000.slice/user@1000.service", "systemd service", {}),
        ("/system.slice/system-getty.slice", "systemd slice", {}),
        ("/custom/group", "cgroup", {}),
        (
            "/kubepods/besteffort/podd41d8cd98f00b204e9800998ecf8427e",
            "kubernetes pod",
            {"qos": "besteffort", "pod_uid": "d41d8cd98f00b204e9800998ecf8427e"},
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
            + POD_UID.replace("-", "_")
            + ".slice/crio-conmon-"
            + CONTAINER_ID
            + ".scope",
            "kubernetes container",
            {"runtime": "cri-o (conmon)"},
        ),
    ],
)
def test_classify(path: str, label: str, extra: dict[str, str]) -> None:
    kind = classify(path)
    assert kind.label == label
    for key, value in extra.items():
        assert getattr(kind, key) == value


def test_one_odd_cgroup_does_not_hide_the_others() -> None:
    files = {
        **v2_host(),
        **v2_cgroup("/system.slice/good.service", 10 * MIB, max_=str(100 * MIB)),
        **v2_cgroup("/system.slice/bad.service", 10 * MIB, max_="lots"),
    }
    files[CG + "/system.slice/bad.service/memory.stat"] = "anon 12\nfile"
    errors = {CG + "/system.slice/locked.service/memory.current": "permission denied"}
    facts = facts_from(files, errors=errors)
    bad = facts.cgroup_by_path("/system.slice/bad.service")
    assert bad is not None and bad.limit is None and bad.stat is None
    assert bad.problems[CG + "/system.slice/bad.service/memory.max"] == (
        "expected a non-negative number, got 'lots'"
    )
    assert CG + "/system.slice/bad.service/memory.stat" in bad.problems
    locked = facts.cgroup_by_path("/system.slice/locked.service")
    assert locked is not None and locked.usage_bytes is None
    assert locked.problems == {
        CG + "/system.slice/locked.service/memory.current": "permission denied"
    }
    good = facts.cgroup_by_path("/system.slice/good.service")
    assert good is not None and good.limit is not None and good.limit.limit_bytes == 100 * MIB


def test_unlistable_directory_is_a_cgroup_with_a_problem() -> None:
    errors = {CG + "/system.slice/secret.slice": "permission denied (cannot list the directory)"}
    facts = facts_from(v2_host(), errors=errors)
    secret = facts.cgroup_by_path("/system.slice/secret.slice")
    assert secret is not None and secret.limit is None
    assert secret.problems[CG + "/system.slice/secret.slice"].startswith("permission denied")


def test_memory_controller_not_enabled_on_v2() -> None:
    files = {
        "/proc/mounts": MOUNTS_V2,
        f"{CG}/cgroup.controllers": "cpuset cpu io pids\n",
        f"{CG}/system.slice/memory.pressure": "some avg10=0.00\n",
    }
    facts = facts_from(files)
    assert facts.cgroups == []
    assert "memory controller is not available" in str(facts.memory_hierarchy.problem)


def test_unreadable_mounts_fall_back_to_the_files_else_raise() -> None:
    files = v2_host()
    del files["/proc/mounts"]
    facts = facts_from(files, errors={"/proc/mounts": "permission denied"})
    assert facts.memory_hierarchy.version == "v2"
    assert "unreadable" in facts.memory_hierarchy.basis
    bare = facts_from({}, errors={"/proc/mounts": "permission denied"})
    with pytest.raises(Unavailable):
        _ = bare.memory_hierarchy


def test_container_namespace_root_is_an_ordinary_cgroup() -> None:
    files = {
        "/proc/mounts": "cgroup2 /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n",
        "/.dockerenv": "",
        f"{CG}/memory.current": f"{200 * MIB}\n",
        f"{CG}/memory.max": f"{256 * MIB}\n",
        f"{CG}/memory.high": "max\n",
        f"{CG}/memory.stat": stat_v2(180 * MIB, 20 * MIB, 10 * MIB),
        f"{CG}/memory.events": EVENTS_ZERO,
    }
    facts = facts_from(files)
    own = facts.cgroup_by_path("/")
    assert own is not None and not own.is_root
    assert own.kind.label.startswith("container's own cgroup")
    assert own.working_set_bytes == 190 * MIB


# -- events ----------------------------------------------------------------------------------


def _counts(facts: object) -> dict[str, tuple[int | None, int | None]]:
    return {e.cgroup.path: (e.oom_kill, e.max) for e in facts.memory_event_counts}  # type: ignore[attr-defined]


def test_hierarchical_events_are_attributed_to_the_deepest_cgroup() -> None:
    # 5.15 without memory.events.local collected: parents hold their children's counts.
    files = {
        **v2_host(release="5.15.0-105-generic"),
        **v2_cgroup("/kubepods.slice", 1 << 30, events_text=events(max_=9, oom=2, oom_kill=2)),
        **v2_cgroup(K8S_POD, 1 << 29, events_text=events(max_=9, oom=2, oom_kill=2)),
        **v2_cgroup(K8S_CONTAINER, 1 << 29, events_text=events(max_=7, oom=2, oom_kill=2)),
    }
    counts = _counts(facts_from(files))
    assert counts[K8S_CONTAINER] == (2, 7)
    assert counts[K8S_POD] == (0, 2)  # two limit hits at the pod's own limit
    assert counts["/kubepods.slice"] == (0, 0)


def test_local_events_file_wins_when_present() -> None:
    files = {
        **v2_host(),
        **v2_cgroup(
            "/system.slice/app.service",
            10 * MIB,
            events_text=events(oom_kill=5),
            local=events(oom_kill=1),
        ),
    }
    facts = facts_from(files)
    counted = {e.cgroup.path: e for e in facts.memory_event_counts}
    app = counted["/system.slice/app.service"]
    assert app.oom_kill == 1 and app.source.endswith("memory.events.local")


def test_events_before_5_2_count_the_cgroup_alone() -> None:
    files = {
        **v2_host(release="4.19.0-27-amd64"),
        **v2_cgroup("/system.slice", 1 << 30, events_text=events(oom_kill=1)),
        **v2_cgroup("/system.slice/app.service", 10 * MIB, events_text=events(oom_kill=1)),
    }
    counts = _counts(facts_from(files))
    assert counts["/system.slice"] == (1, 0) and counts["/system.slice/app.service"] == (1, 0)


def test_memory_localevents_mount_option_means_local_counts() -> None:
    files = {
        **v2_host(release="6.1.0-18-amd64"),
        "/proc/mounts": MOUNTS_V2.replace("nsdelegate", "nsdelegate,memory_localevents"),
        **v2_cgroup("/system.slice", 1 << 30, events_text=events(oom_kill=3)),
        **v2_cgroup("/system.slice/app.service", 10 * MIB, events_text=events(oom_kill=1)),
    }
    assert _counts(facts_from(files))["/system.slice"] == (3, 0)


def test_unknown_kernel_infers_hierarchy_from_the_counts() -> None:
    files = {
        **v2_host(),
        **v2_cgroup("/system.slice", 1 << 30, events_text=events(oom_kill=3)),
        **v2_cgroup("/system.slice/app.service", 10 * MIB, events_text=events(oom_kill=3)),
    }
    del files["/proc/sys/kernel/osrelease"]
    assert _counts(facts_from(files))["/system.slice"] == (0, 0)
    files[CG + "/system.slice/memory.events"] = events(oom_kill=1)  # below its child: local
    assert _counts(facts_from(files))["/system.slice"] == (1, 0)


def test_v1_events_come_from_oom_control_and_failcnt() -> None:
    files = {
        **v1_host(release="3.10.0-1160.el7.x86_64"),
        **v1_cgroup(f"/docker/{DOCKER_ID}", 500 * MIB, str(512 * MIB), oom_kill=None, failcnt=42),
    }
    facts = facts_from(files)
    counted = {e.cgroup.path: e for e in facts.memory_event_counts}
    docker = counted[f"/docker/{DOCKER_ID}"]
    assert docker.oom_kill is None and docker.failcnt == 42  # 3.10: no oom_kill line


# -- processes and units ---------------------------------------------------------------------


def _proc(pid: int, comm: str, cgroup: str) -> dict[str, str]:
    return {
        f"/proc/{pid}/comm": comm + "\n",
        f"/proc/{pid}/status": f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t1\nVmRSS:\t  1000 kB\n",
        f"/proc/{pid}/cmdline": f"/usr/sbin/{comm}\0",
        f"/proc/{pid}/cgroup": cgroup,
    }


def test_process_cgroup_on_v1_uses_the_memory_line() -> None:
    files = {
        **v1_host(),
        **v1_cgroup("/system.slice/mysqld.service", 300 * MIB, limit=str(1 << 30)),
        **_proc(
            900,
            "mysqld",
            "11:memory:/system.slice/mysqld.service\n4:cpu,cpuacct:/system.slice\n"
            "1:name=systemd:/system.slice/mysqld.service\n",
        ),
        **_proc(
            901, "crond", "11:memory:/system.slice\n1:name=systemd:/system.slice/crond.service\n"
        ),
    }
    facts = facts_from(files)
    by_pid = {p.pid: p for p in facts.processes}
    mysqld = facts.cgroup_of_process(by_pid[900])
    assert mysqld is not None and mysqld.path == "/system.slice/mysqld.service"
    crond = facts.cgroup_of_process(by_pid[901])
    assert crond is not None and crond.path == "/system.slice"  # no memory cgroup of its own


def test_unit_memory_settings_follow_systemd_precedence() -> None:
    files = {
        "/usr/lib/systemd/system/app.service": "[Service]\nExecStart=/usr/bin/app\nMemoryMax=1G\n",
        "/etc/systemd/system/app.service.d/10-limits.conf": "[Service]\nMemoryHigh=800M\n",
        "/etc/systemd/system/app.service.d/50-MemoryMax.conf": "[Service]\nMemoryMax=4G\n",
        "/etc/systemd/system.control/app.service.d/50-MemoryMax.conf": (
            '# This is a drop-in unit file extension, created via "systemctl set-property"\n'
            "# or an equivalent operation. Do not edit.\n[Service]\nMemoryMax=2G\n"
        ),
        "/run/systemd/system.control/app.service.d/50-MemoryHigh.conf": (
            "[Service]\nMemoryHigh=1800M\n"
        ),
    }
    settings = facts_from(files).unit_memory_settings("app.service")
    assert settings.problem is None
    high, top = settings.settings["MemoryHigh"], settings.settings["MemoryMax"]
    assert (top.value, top.source) == (
        "2G",
        "/etc/systemd/system.control/app.service.d/50-MemoryMax.conf",
    )
    assert (high.value, high.source.startswith("/run/systemd/system.control/")) == (
        "1800M",
        True,
    )
    assert "MemoryLimit" not in settings.settings


def test_v1_stat_helper_matches_parser_expectations() -> None:
    # the builders' own shape: a leaf group where total_* equals the group's counters
    facts = facts_from({**v1_host(), **v1_cgroup("/a", 100, stat=stat_v1(60, 40, 10))})
    group = facts.cgroup_by_path("/a")
    assert group is not None and group.working_set_bytes == 90


def test_local_files_anywhere_mean_hierarchical_counts_even_on_an_old_release() -> None:
    # RHEL 8's 4.18 carries the 5.2 memory.events work: trust the files over the version.
    files = {
        **v2_host(release="4.18.0-513.el8.x86_64"),
        **v2_cgroup("/system.slice", 1 << 30, events_text=events(oom_kill=1)),
        **v2_cgroup(
            "/system.slice/app.service",
            10 * MIB,
            events_text=events(oom_kill=1),
            local=events(oom_kill=1),
        ),
    }
    assert _counts(facts_from(files))["/system.slice"] == (0, 0)


def test_hierarchy_behind_a_link_in_the_snapshot() -> None:
    files = {
        "/proc/mounts": v1_host()["/proc/mounts"],
        **{
            k.replace(V1, CG + "/memory,cpu"): v
            for k, v in v1_cgroup("/app", 10 * MIB, limit=str(64 * MIB)).items()
        },
    }
    facts = facts_from(files, links={V1: "memory,cpu"})
    app = facts.cgroup_by_path("/app")
    assert app is not None and app.limit is not None and app.limit.limit_bytes == 64 * MIB


def test_kernel_version_from_proc_version_when_osrelease_is_missing() -> None:
    files = {
        **v2_host(),
        "/proc/version": "Linux version 4.19.0-27-amd64 (debian-kernel@lists.debian.org) "
        "(gcc version 8.3.0 (Debian 8.3.0-6)) #1 SMP Debian 4.19.316-1 (2024-06-25)\n",
        **v2_cgroup("/system.slice", 1 << 30, events_text=events(oom_kill=1)),
        **v2_cgroup("/system.slice/app.service", 10 * MIB, events_text=events(oom_kill=1)),
    }
    del files["/proc/sys/kernel/osrelease"]
    assert _counts(facts_from(files))["/system.slice"] == (1, 0)  # 4.19: counts are local
