"""Snapshots are faithful: every scenario host gives byte-identical results.json whether it is
read as a folder, as a tarball made by `tar`, as a tarball `memcheck collect` writes, as a
folder `memcheck collect` writes, or collected live by the real script under `sh`.

Only what a run is expected to vary is set aside: when it ran, how long it took, where the
snapshot came from and who ran it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from memcheck.collect import build_script, parse_output
from memcheck.errors import MISSING
from memcheck.profile import load_profiles
from memcheck.registry import builtin_checks
from memcheck.report.json_report import dumps_json
from memcheck.runner import Audit, ProfilePlan, Target, reads_for
from memcheck.snapshot import META_DIR, Snapshot
from tests.collect.shells import NONCE, run_script

HOSTS = Path(__file__).parent / "hosts"
SCENARIOS = sorted(p.name for p in HOSTS.iterdir() if (p / "expected.json").is_file())
VARIES = {"started_at", "finished_at", "collection_seconds", "duration_seconds", "source"}
VARIES_RUN = {"command", "user", "controller"}


# Where a live collection cannot see what a saved folder holds. cron-drop-caches: a crontab
# calls /usr/local/bin/free-memory.sh, which the folder holds but the collector never reads
# (its reads are fixed before the host is seen, and scripts named by schedules are not among
# them), so live, the script's drop_caches write is not found. Listed so that the test says
# when the gap closes.
KNOWN_GAPS = {("cron-drop-caches", "live collection under sh")}


def profiles_of(scenario: str) -> list[str]:
    expected = json.loads((HOSTS / scenario / "expected.json").read_text())
    runs = expected.get("runs") or [expected]
    return list(runs[0]["profiles"])


def results_json(snapshot: Snapshot, profiles: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    checks = builtin_checks()
    # The audit loads its one target through Snapshot.load: hand it this snapshot instead
    # (the runner's name for the class is replaced, not the class's own method).
    monkeypatch.setattr("memcheck.runner.Snapshot", SimpleNamespace(load=lambda spec: snapshot))
    target = Target("snapshot", "root", "snapshot")
    if "auto" in profiles:
        plan = ProfilePlan(profiles, checks)
        audit = Audit(plan.candidates()[0], checks, [target], plan=plan)
    else:
        audit = Audit(load_profiles(profiles, checks), checks, [target])
    audit.evaluate_all()
    data = json.loads(dumps_json(audit.run_result()))
    for key in VARIES_RUN:
        data.pop(key, None)
    return json.dumps(_without(data, VARIES), sort_keys=True, indent=1)


def _without(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def reads(profiles: list[str]) -> list[str]:
    checks = builtin_checks()
    plan = ProfilePlan(profiles, checks)
    if plan.auto:
        return plan.reads()
    return reads_for([checks[c] for c in load_profiles(profiles, checks).selected])


def collected_live(folder: Path, profiles: list[str]) -> Snapshot:
    """The scenario read by the real collection script under sh, as from a host whose `/`
    is the scenario folder; what is not a file on a host (`.memcheck/`) is the scenario's."""
    script = build_script(tuple(reads(profiles)), NONCE, sample_interval=0, prefix=str(folder))
    proc = run_script(script, "sh")
    assert proc.returncode == 0, proc.stderr
    live = parse_output(proc.stdout, NONCE, "test://live", "test")
    saved = Snapshot.load(folder)
    files = {p: b for p, b in live.files.items() if not p.startswith(META_DIR + "/")}
    files.update({p: b for p, b in saved.files.items() if p.startswith(META_DIR + "/")})
    # What the scenario's own collection could not read stays recorded (a re-collection of
    # the folder finds those paths missing); a live collection also records each path it
    # found missing, which a hand-made folder does not list: those are set aside.
    errors = dict(saved.errors)
    errors.update(
        {p: r for p, r in live.errors.items() if r != MISSING and not p.startswith(META_DIR)}
    )
    saved.info.errors = errors
    return Snapshot(saved.info, files, live.links, live.dirs)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("faithful")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_form_of_a_snapshot_gives_the_same_results(
    scenario: str, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = HOSTS / scenario
    profiles = profiles_of(scenario)
    expected = results_json(Snapshot.load(folder), profiles, monkeypatch)

    by_tar = scratch / f"{scenario}.tar.gz"
    subprocess.run(["tar", "-czf", str(by_tar), "-C", str(folder), "."], check=True)
    by_tar_top = scratch / f"{scenario}-top.tar.gz"
    subprocess.run(["tar", "-czf", str(by_tar_top), "-C", str(HOSTS), scenario], check=True)
    written_tar = scratch / f"{scenario}-written.tar.gz"
    Snapshot.load(folder).write(written_tar)
    written_dir = scratch / f"{scenario}-written"
    Snapshot.load(folder).write(written_dir)

    forms = {
        "tar -czf of the folder": Snapshot.load(by_tar),
        "tar -czf with a top folder": Snapshot.load(by_tar_top),
        "memcheck's own .tar.gz": Snapshot.load(written_tar),
        "memcheck's own folder": Snapshot.load(written_dir),
        "live collection under sh": collected_live(folder, profiles),
    }
    for form, snapshot in forms.items():
        got = results_json(snapshot, profiles, monkeypatch)
        if (scenario, form) in KNOWN_GAPS:
            assert got != expected, f"{scenario}: {form} now agrees: remove it from KNOWN_GAPS"
            continue
        assert got == expected, f"{scenario}: {form} differs from the folder"
