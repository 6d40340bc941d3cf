from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import lxml.html
import pytest

from memcheck.report.html import link_target, render_html, write_html
from memcheck.results import RunResult
from tests.report.sample_runs import (
    ATTR_BREAK,
    CDATA_END,
    JS_URL,
    KERNEL_DOC,
    SCRIPT,
    db_host,
    sample_run,
)

# Every element the template itself writes; anything else would have come from a host.
OWN_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "dl", "dt",
    "dd", "code", "ul", "li", "p", "span", "input", "label", "main", "section", "div", "table",
    "thead", "tbody", "tr", "th", "td", "a", "br", "article", "pre", "footer", "script",
}  # fmt: skip
CONTROL_SHOWN = "\\x00\\x07\\x1b[31m"


@pytest.fixture
def page(run: RunResult, tmp_path: Path) -> tuple[str, lxml.html.HtmlElement]:
    text = write_html(run, tmp_path / "report.html").read_text(encoding="utf-8")
    return text, lxml.html.document_fromstring(text)


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_only_own_elements_and_no_event_handlers(page: tuple[str, lxml.html.HtmlElement]) -> None:
    raw, doc = page
    tags = {el.tag for el in doc.iter() if isinstance(el.tag, str)}
    assert tags <= OWN_TAGS, tags - OWN_TAGS
    for el in doc.iter():
        if isinstance(el.tag, str):
            assert not [a for a in el.attrib if a.lower().startswith("on")]
    assert "<img" not in raw and "<script>alert" not in raw


def test_one_script_allowed_by_csp_hash(page: tuple[str, lxml.html.HtmlElement]) -> None:
    raw, doc = page
    scripts = doc.findall(".//script")
    assert len(scripts) == 1 and not scripts[0].get("src")
    (meta,) = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]')
    csp = meta.get("content")
    assert "default-src 'none'" in csp
    script_text = re.search(r"<script>(.*?)</script>", raw, re.S).group(1)  # type: ignore[union-attr]
    style_text = re.search(r"<style>(.*?)</style>", raw, re.S).group(1)  # type: ignore[union-attr]
    assert f"script-src {sha256_source(script_text)}" in csp
    assert f"style-src {sha256_source(style_text)}" in csp
    assert "unsafe-inline" not in csp


def test_self_contained(page: tuple[str, lxml.html.HtmlElement]) -> None:
    _raw, doc = page
    assert not doc.xpath("//*[@src]") and not doc.findall(".//link")
    assert not doc.xpath("//*[@style]")  # inline style attributes would need 'unsafe-inline'
    style = doc.find(".//style").text
    assert "url(" not in style and "@import" not in style
    assert "@media print" in style


def test_links_are_anchors_or_http(page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = page
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert all(h.startswith("#") or h.startswith(("https://", "http://")) for h in hrefs)
    external = {h for h in hrefs if not h.startswith("#")}
    assert external == {KERNEL_DOC}
    assert JS_URL in doc.text_content()  # shown, as text


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://docs.kernel.org/x", True),
        ("HTTP://example.com/", True),
        ("javascript:alert(1)", False),
        (" https://x", False),
        ("data:text/html,<b>", False),
        ("https://x/ y", False),
        ("//evil.example/", False),
    ],
)
def test_link_target(url: str, linked: bool) -> None:
    assert (link_target(url) is not None) is linked


def test_every_host_and_finding_text_shown_escaped(page: tuple[str, lxml.html.HtmlElement]) -> None:
    raw, doc = page
    text = doc.text_content()
    for name in ("db1", f"{SCRIPT}{CONTROL_SHOWN}", ATTR_BREAK, "gone"):
        assert name in text
    for message in (
        "vm.swappiness is 60, outside 1..10",
        "2 OOM kills in the last 24 h",
        f"process {SCRIPT}{ATTR_BREAK}{CONTROL_SHOWN}{CDATA_END}bad\ufffdbytes\\udcff\\u202eevil",
        "cannot read /proc/pressure/memory: no such file",
        "host not collected: ssh: connect to host refused " + CONTROL_SHOWN,
        f"Debian {CDATA_END}",
        f"permission denied {SCRIPT}",
    ):
        assert message in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\u202e]", raw)


def test_html_parser_sees_only_own_tags(page: tuple[str, lxml.html.HtmlElement]) -> None:
    raw, _ = page
    seen: list[str] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            seen.append(tag)
            assert not [name for name, _ in attrs if name.startswith("on")]

    Collector().feed(raw)
    assert set(seen) <= OWN_TAGS
    assert seen.count("script") == 1


def test_findings_failures_first_by_severity(page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = page
    findings = doc.xpath('//article[contains(@class, "finding")]')
    kinds = [re.findall(r"\b[os]-(\w+)", f.get("class")) for f in findings]
    outcomes = [k[0] for k in kinds]
    assert outcomes == sorted(outcomes, key=["fail", "error", "waived", "skip"].index)
    assert [k[1] for k in kinds if k[0] == "fail"] == ["critical", "high", "medium", "low"]
    assert "pass" not in outcomes


def test_finding_details(page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = page
    oom = next(
        f for f in doc.xpath("//article") if "2 OOM kills in the last 24 h" in f.text_content()
    )
    text = oom.text_content()
    for part in ("FAIL", "critical", "rationale of oom_kills_recent", "Observed", "Expected",
                 "sysctl -w fix.oom_kills_recent=1", ".memcheck/kernel.log:17"):  # fmt: skip
        assert part in text
    (table,) = oom.findall(".//table")
    assert [th.text_content() for th in table.findall(".//th")] == ["Where", "pid", "name", "time"]
    rows = [[td.text_content() for td in tr.findall("td")] for tr in table.findall(".//tbody/tr")]
    assert rows[0] == [".memcheck/kernel.log:17", "4242", "postgres", "2026-11-20T11:00:00Z"]
    assert len(rows) == 2
    waived = next(f for f in doc.xpath("//article") if "vendor appliance" in f.text_content())
    assert "approved by alice" in waived.text_content()


def test_header_and_hosts(page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = page
    header = doc.find(".//header").text_content()
    expected = [
        "default + database",
        "0.1.0",
        "2026-11-20T11:59:58Z",
        "2026-11-20T12:00:09Z",
        "ops",
        "ci-runner-3",
        "memcheck --profile database --hosts ssh://db1",
        "ssh://10.0.0.9",
        "FAIL: 4",
        "ERROR: 4",
        "WAIVED: 2",
        "SKIP: 2",
        "PASS: 1",
    ]
    for part in expected:
        assert part in header
    host = doc.get_element_by_id("h-1").text_content()
    for part in ("v1", "In a container", "yes", f"Debian {CDATA_END}", "/proc/1/comm"):
        assert part in host
    assert "Not collected: ssh: connect" in doc.get_element_by_id("h-2").text_content()


def test_matrix_has_a_row_per_check_and_text_labels(
    page: tuple[str, lxml.html.HtmlElement],
) -> None:
    _, doc = page
    rows = doc.xpath('//tr[contains(@class, "mrow")]')
    assert len(rows) == 8
    first = rows[0]
    assert "oom_kills_recent" in first.text_content()
    cells = [td.text_content() for td in first.xpath('td[contains(@class, "cell")]')]
    assert cells == ["FAIL (critical)", "not run", "not collected", "not collected"]
    assert "has-fail" in first.get("class") and "sv-critical" in first.get("class")


def test_filters_work_without_script(page: tuple[str, lxml.html.HtmlElement]) -> None:
    _raw, doc = page
    body = doc.find("body")
    children = [el for el in body if isinstance(el.tag, str)]
    main_at = [el.tag for el in children].index("main")
    radios = [el for el in children[:main_at] if el.tag == "input"]
    assert {r.get("id") for r in radios} >= {"fo-all", "fo-fail", "fs-all", "fs-critical"}
    style = doc.find(".//style").text
    assert "#fo-fail:checked ~ main .finding:not(.o-fail)" in style
    assert "#fs-high:checked ~ main tr.mrow:not(.sv-high)" in style


def test_all_pass_run(tmp_path: Path) -> None:
    host = db_host()
    host.results = [r for r in host.results if r.outcome == "pass"]
    doc = lxml.html.document_fromstring(render_html(sample_run([host])))
    assert "every check passed" in doc.text_content()
    assert not doc.xpath("//article")
