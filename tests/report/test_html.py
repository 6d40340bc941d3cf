from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import lxml.html
import pytest

from memcheck.report.html import link_target, memory_bar, render_html, write_html
from memcheck.report.safe_text import visible
from memcheck.results import RunResult
from tests.report import browser_runs
from tests.report.browser_runs import browser_run
from tests.report.sample_runs import (
    ATTR_BREAK,
    CDATA_END,
    JS_URL,
    KERNEL_DOC,
    SCRIPT,
    db_host,
    hostile_host,
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


# -- filters by area and host, profile hashes, OOM kills and pictures -------------------------

SVG_TAGS = {"svg", "rect", "title", "figure", "figcaption", "wbr"}


@pytest.fixture
def rich_page(tmp_path: Path) -> tuple[str, lxml.html.HtmlElement]:
    text = write_html(browser_run(), tmp_path / "report.html").read_text(encoding="utf-8")
    return text, lxml.html.document_fromstring(text)


def test_rich_page_has_only_own_elements(rich_page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = rich_page
    assert {el.tag for el in doc.iter() if isinstance(el.tag, str)} <= OWN_TAGS | SVG_TAGS
    assert doc.xpath("//img") == [] and len(doc.xpath("//script")) == 1
    assert not [a for el in doc.iter() for a in el.attrib if a.lower().startswith("on")]


def test_area_and_host_filters_work_without_script(
    rich_page: tuple[str, lxml.html.HtmlElement],
) -> None:
    _, doc = rich_page
    run = browser_run()
    ids = {r.get("id") for r in doc.xpath("//input[@type='radio']")}
    areas = ["sysctl", "oom", "cgroup", "thp"]
    assert ids >= {"fa-all", "fh-all"} | {f"fh-{i}" for i in range(len(run.hosts))}
    assert ids >= {f"fa-{i}" for i in range(len(areas))}
    labels = {lab.get("for"): lab.text_content() for lab in doc.xpath("//label")}
    assert [labels[f"fa-{i}"] for i in range(len(areas))] == areas
    assert labels["fh-1"] == visible(run.hosts[1].name)
    style = doc.find(".//style").text
    for i in range(len(run.hosts)):
        assert f"#fh-{i}:checked ~ main .hx:not(.hx-{i}) {{ display: none; }}" in style
    assert "#fa-2:checked ~ main .ax:not(.ax-2) { display: none; }" in style
    # Each filtered element names its host and area by index, never by host text.
    for finding in doc.find_class("finding"):
        classes = finding.get("class").split()
        assert sum(c.startswith("hx-") for c in classes) == 1
        assert sum(c.startswith("ax-") for c in classes) == 1
    web_cells = doc.xpath("//td[contains(@class, 'cell')]")
    assert all(re.search(r"\bhx-\d+\b", c.get("class")) for c in web_cells)
    assert doc.get_element_by_id("h-2").get("class") == "host hx hx-2"


def test_one_host_one_area_shows_no_such_filter() -> None:
    text = render_html(sample_run([db_host()]))
    doc = lxml.html.document_fromstring(text)
    ids = {r.get("id") for r in doc.xpath("//input[@type='radio']")}
    assert "fh-all" not in ids and "fa-all" in ids  # db1 has several areas


def test_header_names_profile_hashes(rich_page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = rich_page
    meta = doc.find(".//header/dl")
    terms = [dt.text_content() for dt in meta.findall("dt")]
    hashes = meta.findall("dd")[terms.index("Profile hashes")].text_content()
    assert "default: sha256:" + "a" * 64 in hashes
    assert "web: sha256:" + "b" * 64 in hashes


def test_oom_kills_table(rich_page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = rich_page
    table = doc.get_element_by_id("oom-kills")
    head = [th.text_content() for th in table.xpath(".//thead//th")]
    assert head[:7] == [
        "Host", "Time", "Victim (pid)", "Anon RSS", "Trigger (pid)", "Constraint", "cgroup",
    ]  # fmt: skip
    rows = [[td.text_content() for td in tr.findall("td")] for tr in table.xpath(".//tbody/tr")]
    assert rows[0][:7] == [
        "web1.example.net", "2026-11-20T10:01:02+00:00", "java (4242)", "1.9 GiB",
        "java (4242)", "CONSTRAINT_MEMCG", "/app",
    ]  # fmt: skip
    assert rows[1][2] == visible(f"{browser_runs.SCRIPT}{browser_runs.CONTROL}") + " (977)"
    assert rows[0][7] == ".memcheck/kernel.log:17"


def test_no_oom_section_without_kills() -> None:
    text = render_html(sample_run([hostile_host()]))
    assert 'id="oom-kills"' not in text


def test_memory_bar(rich_page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = rich_page
    web = doc.get_element_by_id("h-0")
    bar = web.xpath(".//svg[contains(@class, 'mem')]")[0]
    widths = {r.get("class"): float(r.get("width")) for r in bar.findall("rect")}
    # 16 GiB: 11 used, 4 page cache (inside the 5 available), 1 other available
    assert widths == {"m-used": 687.5, "m-cache": 250.0, "m-free": 62.5}
    assert [float(r.get("x")) for r in bar.findall("rect")] == [0.0, 687.5, 937.5]
    legend = web.find_class("legend")[0].text_content()
    assert "used 11.0 GiB (68.8%)" in legend and "page cache 4.0 GiB (25.0%)" in legend
    swap = web.xpath(".//svg[contains(@class, 'mem')]")[1]
    assert swap.xpath("rect[@class='m-swap']")[0].get("width") == "250.0"
    hostile = doc.get_element_by_id("h-1")
    assert "No swap configured." in hostile.text_content()
    assert doc.get_element_by_id("h-2").xpath(".//svg") == []  # unreachable: no memory


@pytest.mark.parametrize(
    ("memory", "shown"),
    [
        (None, False),
        ({"total_bytes": 0, "available_bytes": 0}, False),
        ({"total_bytes": 100, "available_bytes": None}, False),
        ({"total_bytes": "100", "available_bytes": 50}, False),
        ({"total_bytes": 100, "available_bytes": 400, "cache_bytes": 900}, True),
    ],
)
def test_memory_bar_tolerates_odd_numbers(memory: dict[str, object] | None, shown: bool) -> None:
    bar = memory_bar(memory)
    assert (bar is not None) is shown
    if bar:
        assert sum(s["width"] for s in bar["segments"]) == 1000.0
        assert bar["segments"][0]["width"] == 0.0  # available clamped to total


def test_cgroup_bars(rich_page: tuple[str, lxml.html.HtmlElement]) -> None:
    _, doc = rich_page
    table = doc.get_element_by_id("h-0").find_class("cgroups")[0]
    rows = table.xpath("tbody/tr")
    paths = [r.findall("td")[0].text_content() for r in rows]
    assert paths[0].startswith("/system.slice/<img src=x")  # 117.2% first, shown as text
    assert paths[1:] == [
        "/system.slice/app.service (service)",
        "/system.slice/nginx.service (service)",
    ]
    over, app, _ = (r.xpath(".//svg")[0] for r in rows)
    assert over.xpath("rect[@class='cg-over']") and over.xpath("rect[@class='cg-limit']")
    # app: 1.9 GiB of 2 GiB, 300 MiB of it kernel memory, memory.high at 1.8 GiB
    ws = float(app.xpath("rect[@class='cg-ws']")[0].get("width"))
    kernel = app.xpath("rect[@class='cg-kernel']")[0]
    assert ws == 950.0
    assert float(kernel.get("x")) + float(kernel.get("width")) == pytest.approx(ws, abs=0.2)
    assert float(kernel.get("width")) == pytest.approx(300 / 2048 * 1000, abs=0.2)
    assert float(app.xpath("rect[@class='cg-high']")[0].get("x")) == 900.0
    assert [r.findall("td")[2].text_content() for r in rows] == ["117.2%", "95.0%", "23.4%"]
