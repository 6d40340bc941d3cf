"""report.html in a real headless Chromium, with scripts on and off.

Chromium's `--dump-dom` returns nothing once scripts are disabled (it reads the DOM with a
script), so the DOM is read over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
NUL-separated JSON on file descriptors 3 and 4) with `DOM.getOuterHTML`, which needs no script.
The screenshot is taken with `--screenshot` and left in the test's temporary directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import lxml.html
import pytest

from memcheck.report.html import write_html
from memcheck.report.safe_text import visible
from memcheck.results import RunResult
from tests.conftest import need
from tests.report.browser_runs import browser_run

CHROMIUM = "/usr/bin/chromium"
LAUNCH_SECONDS = 10
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_SCRIPTS = "--blink-settings=scriptEnabled=false"


def chromium_flags(profile: Path, scripts: bool) -> list[str]:
    return [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *([] if scripts else [NO_SCRIPTS])]


class DevTools:
    """Just enough of the DevTools protocol over Chromium's debugging pipe."""

    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.write_fd, self.read_fd, self.deadline = write_fd, read_fd, deadline
        self.buffer = b""
        self.last_id = 0

    def send(self, method: str, session: str | None = None, **params: Any) -> int:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        return self.last_id

    def wait(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message: dict[str, Any] = json.loads(raw)
                if wanted(message):
                    return message
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed the debugging pipe")
                self.buffer += chunk

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        number = self.send(method, session, **params)
        answer = self.wait(lambda m: m.get("id") == number)
        assert "error" not in answer, answer
        result: dict[str, Any] = answer["result"]
        return result


def dom_of(url: str, profile: Path, scripts: bool) -> str:
    """The page's DOM after its load event, as Chromium holds it."""
    to_chromium, from_us = os.pipe()
    to_us, from_chromium = os.pipe()

    def on_fds_3_and_4() -> None:  # runs in the child before exec
        high_in = fcntl.fcntl(to_chromium, fcntl.F_DUPFD, 10)
        high_out = fcntl.fcntl(from_chromium, fcntl.F_DUPFD, 10)
        os.dup2(high_in, 3)
        os.dup2(high_out, 4)

    args = [*chromium_flags(profile, scripts), "--remote-debugging-pipe", "about:blank"]
    browser = subprocess.Popen(
        args,
        pass_fds=(3, 4),
        preexec_fn=on_fds_3_and_4,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_chromium)
    os.close(from_chromium)
    tools = DevTools(from_us, to_us, time.monotonic() + LAUNCH_SECONDS)
    try:
        targets = tools.call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        session = tools.call("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]
        tools.call("Page.enable", session)
        tools.call("Page.navigate", session, url=url)
        tools.wait(lambda m: m.get("method") == "Page.loadEventFired")
        root = tools.call("DOM.getDocument", session, depth=0)["root"]["nodeId"]
        html: str = tools.call("DOM.getOuterHTML", session, nodeId=root)["outerHTML"]
        tools.send("Browser.close")
        return html
    finally:
        try:
            browser.wait(LAUNCH_SECONDS)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
        os.close(from_us)
        os.close(to_us)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    need(os.access(CHROMIUM, os.X_OK), f"headless Chromium at {CHROMIUM} (Debian: chromium)")
    folder = tmp_path_factory.mktemp("browser")
    run = browser_run()
    report = write_html(run, folder / "report.html")
    url = report.resolve().as_uri()
    doms = {
        scripts: dom_of(url, folder / f"profile-{scripts}", scripts) for scripts in (True, False)
    }
    screenshot = folder / "report.png"
    subprocess.run(
        [
            *chromium_flags(folder / "profile-shot", True),
            f"--screenshot={screenshot}",
            "--window-size=1400,3000",
            "--hide-scrollbars",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=LAUNCH_SECONDS,
        check=False,
    )
    print(f"report screenshot: {screenshot}")
    return {"run": run, "doms": doms, "screenshot": screenshot}


def parsed(rendered: dict[str, Any], scripts: bool) -> lxml.html.HtmlElement:
    doc: lxml.html.HtmlElement = lxml.html.document_fromstring(rendered["doms"][scripts])
    return doc


def test_the_switch_really_turns_scripts_off(rendered: dict[str, Any]) -> None:
    with_scripts, without = parsed(rendered, True), parsed(rendered, False)
    assert with_scripts.get("data-memcheck-js") == "1"
    assert without.get("data-memcheck-js") is None
    assert "findings shown" in with_scripts.get_element_by_id("fstatus").text_content()
    assert "need no JavaScript" in without.get_element_by_id("fstatus").text_content()


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts-on", "scripts-off"])
def test_every_host_and_failure_is_on_the_page(rendered: dict[str, Any], scripts: bool) -> None:
    doc = parsed(rendered, scripts)
    text = doc.text_content()
    run: RunResult = rendered["run"]
    for host in run.hosts:
        heading = doc.get_element_by_id(f"h-{run.hosts.index(host)}").find("h3")
        assert heading.text_content() == visible(host.name)
        assert visible(host.name) in text
        if host.unreachable:
            assert visible(host.unreachable) in text
        for res in host.results:
            if res.outcome in ("fail", "error"):
                assert visible(res.message) in text, res.message
    findings = doc.find_class("finding")
    assert len(findings) == sum(1 for _, r in run.all_results() if r.outcome != "pass")


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts-on", "scripts-off"])
def test_hostile_text_stays_inert(rendered: dict[str, Any], scripts: bool) -> None:
    doc = parsed(rendered, scripts)
    assert doc.xpath("//*[@data-pwned]") == []
    assert doc.xpath("//img") == []
    scripts_found = doc.xpath("//script")
    assert len(scripts_found) == 1 and scripts_found[0].text.lstrip().startswith("(function")
    assert doc.xpath("//*[@onerror or @onmouseover or @onload]") == []
    for link in doc.xpath("//a[@href]"):
        assert link.get("href").startswith(("#", "https://", "http://")), link.get("href")
    # The hostile strings are there, as text.
    text = doc.text_content()
    assert "<img src=x onerror=" in text
    assert "<script>document.documentElement" in text
    assert "javascript:document.documentElement" in text


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts-on", "scripts-off"])
def test_pictures_and_oom_table(rendered: dict[str, Any], scripts: bool) -> None:
    doc = parsed(rendered, scripts)
    web = doc.get_element_by_id("h-0")
    assert len(web.xpath(".//svg[contains(@class, 'mem')]")) == 2  # memory and swap
    assert len(web.xpath(".//svg[contains(@class, 'cg')]")) == 3
    rows = doc.get_element_by_id("oom-kills").xpath(".//tbody/tr")
    victims = [r.xpath("td")[2].text_content() for r in rows]
    assert victims[0] == "java (4242)"
    assert victims[1].startswith("<script>document") and victims[1].endswith("(977)")
    assert [r.xpath("td")[3].text_content() for r in rows] == ["1.9 GiB", "80.0 MiB"]


def test_screenshot_is_written(rendered: dict[str, Any]) -> None:
    shot: Path = rendered["screenshot"]
    assert shot.is_file(), "chromium wrote no screenshot"
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


def test_chromium_is_what_ci_installs() -> None:
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text()
    assert " chromium" in ci
