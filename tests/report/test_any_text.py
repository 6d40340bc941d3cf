"""Every report stays well-formed whatever characters a host sends (seeded random text)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import junitparser
import lxml.html
from lxml import etree

from memcheck.model import ev
from memcheck.report import load_results, render_console, write_reports
from memcheck.results import HostResult
from tests.report.conftest import SCHEMAS
from tests.report.sample_runs import result, sample_run

# Every C0/C1 control, surrogates, non-characters, bidi controls, markup and ordinary text.
POOL = (
    [chr(c) for c in range(0x00, 0xA0)]
    + [chr(c) for c in (0xD800, 0xDBFF, 0xDC80, 0xDFFF, 0xFDD0, 0xFDEF, 0xFFFE, 0xFFFF)]
    + [chr(c) for c in (0x202A, 0x202E, 0x2066, 0x2069, 0xFFFD, 0x1FFFE, 0x10FFFF)]
    + list("<>&\"'/]]>!-") + ["é", "日", "🙂", "<script>", "]]>", "&amp;", "<!--"]
)  # fmt: skip
RAW_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202e]")


def noise(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice(POOL) for _ in range(n))


def test_random_host_text_never_breaks_a_report(tmp_path: Path) -> None:
    rng = random.Random(20261120)
    hosts = []
    for i in range(12):
        text = noise(rng)
        hosts.append(
            HostResult(
                name=noise(rng, 12),
                source=noise(rng, 8),
                kernel=noise(rng, 8),
                collection_errors={noise(rng, 6): noise(rng, 6)},
                unreachable=noise(rng, 10) if i % 5 == 4 else None,
                results=[
                    result(
                        f"c{j}",
                        outcome,
                        message=text,
                        observed=noise(rng, 5),
                        evidence=[ev(noise(rng), source=noise(rng, 5), line=j, comm=noise(rng))],
                        references=[noise(rng, 10), "https://docs.kernel.org/" + noise(rng, 5)],
                        waiver={"reason": noise(rng, 5)} if outcome == "waived" else None,
                    )
                    for j, outcome in enumerate(("fail", "error", "skip", "waived", "pass"))
                ],
            )
        )
    run = sample_run(hosts)
    written = write_reports(run, report_dir=tmp_path)

    doc = etree.parse(str(written["junit"]))
    for name in ("junit-10.xsd", "junit-ant.xsd"):
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
        assert schema.validate(doc), schema.error_log
    suites = list(junitparser.JUnitXml.fromfile(str(written["junit"])))
    assert sum(s.tests for s in suites) == 12 * 5

    html = written["html"].read_text(encoding="utf-8")
    assert not RAW_UNSAFE.search(html)
    page = lxml.html.document_fromstring(html)
    assert len(page.findall(".//script")) == 1
    assert not page.xpath("//img|//iframe|//object|//embed|//link|//base|//form")

    assert not RAW_UNSAFE.search(render_console(run, color=False, verbose=True))
    assert load_results([written["json"]]) == run
