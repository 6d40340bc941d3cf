"""`memcheck --baseline first/results.json`: the second run leads with what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import junitparser
from lxml import etree

from tests.integration.cli import XSD_DIR, run_memcheck

SCENARIO = Path(__file__).resolve().parents[1] / "hosts" / "tuned-postgres-debian-12"
KILL = (
    "[ 9000.000000] Out of memory: Killed process 4242 (postgres) total-vm:1000kB, "
    "anon-rss:500kB, file-rss:0kB, shmem-rss:0kB, UID:108 pgtables:100kB oom_score_adj:0\n"
)


def test_second_run_marks_what_changed(tmp_path: Path) -> None:
    tree = tmp_path / "host"
    shutil.copytree(SCENARIO, tree, symlinks=True)
    args = ("--root", str(tree), "--profile", "database")
    first = run_memcheck(*args, "--report-dir", "first", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Changes since" not in first.stdout

    (tree / "proc" / "sys" / "vm" / "swappiness").write_text("60\n")
    with open(tree / ".memcheck" / "kernel.log", "a", encoding="utf-8") as log:
        log.write(KILL)
    second = run_memcheck(
        *args, "--report-dir", "second", "--baseline", "first/results.json", cwd=tmp_path
    )
    assert second.returncode == 1, second.stdout + second.stderr
    lines = second.stdout.splitlines()
    started = json.loads((tmp_path / "first" / "results.json").read_text())["started_at"]
    assert lines[0].startswith(f"Changes since {started} (first/results.json): 1 new failure")
    assert lines[0].endswith("1 new OOM kill")
    assert lines[1].startswith("    NEW [")
    assert " pg-prod-1 swappiness: observed 60, expected " in lines[1]
    assert any(line.startswith("    NEW OOM KILL pg-prod-1: postgres (pid 4242)") for line in lines)

    data = json.loads((tmp_path / "second" / "results.json").read_text())
    results = {r["check"]: r for r in data["hosts"][0]["results"]}
    assert results["swappiness"]["change"] == "new"
    assert [(k["pid"], k["name"]) for k in data["changes"]["new_oom_kills"]] == [(4242, "postgres")]
    assert [f["check"] for f in data["changes"]["new"]] == [
        c for c, r in results.items() if r["change"] == "new"
    ]
    assert "swappiness" in [f["check"] for f in data["changes"]["new"]]

    junit = tmp_path / "second" / "junit.xml"
    doc = etree.parse(str(junit))
    for name in ("junit-10.xsd", "junit-ant.xsd"):
        schema = etree.XMLSchema(etree.parse(str(XSD_DIR / name)))
        assert schema.validate(doc), schema.error_log
    (suite,) = list(junitparser.JUnitXml.fromfile(str(junit)))
    props = {p.name: p.value for p in suite.properties()}
    assert props["changes.new"] == str(len(data["changes"]["new"]))
    assert props["changes.new_oom_kills"] == "1"
    assert props["changes.fixed"] == "0"
    assert props["changes.baseline_started_at"] == started
    assert props["changes.baseline"] == "first/results.json"

    # The HTML report leads with the change: the block comes before the findings.
    import lxml.html

    html = (tmp_path / "second" / "report.html").read_text()
    page = lxml.html.fromstring(html)
    (block,) = page.xpath('//section[@id="changes"]')
    text = block.text_content()
    assert f"Changes since {started}" in text
    assert "swappiness on" in text and "NEW" in text
    assert "new OOM kill" in text or "1 new OOM kill" in text
    assert html.index('id="changes"') < html.index("Findings (failures first)")
    badges = page.xpath('//span[contains(@class, "change")]/text()')
    assert "new" in badges
