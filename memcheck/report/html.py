"""report.html: one self-contained page (no network, no script needed) rendered from results.json.

Everything from a host is first made visible (`safe_text`), then escaped by Jinja2's
autoescaping; no host text is ever marked safe. The page carries a Content-Security-Policy that
allows only its own inline style and script, by hash, so even a mistake here could not load or
run anything else.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from memcheck.model import OUTCOMES, SEVERITIES, SEVERITY_RANK
from memcheck.report.guard import render_guarded
from memcheck.report.json_report import PathLike, parse_instant, write_atomically
from memcheck.report.partial import host_partial_text, partial_line
from memcheck.report.profiles import (
    conflict_groups,
    detected_line,
    detected_notes,
    host_profiles,
)
from memcheck.report.safe_text import deep_visible, show_value, visible
from memcheck.results import RunResult

OUTCOME_LABELS = {
    "fail": "FAIL",
    "error": "ERROR",
    "waived": "WAIVED",
    "skip": "SKIP",
    "pass": "PASS",
}
OUTCOME_RANK = {name: rank for rank, name in enumerate(OUTCOMES)}  # fail first
_LINKABLE = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_EVIDENCE_KEYS = ("text", "source", "line")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("memcheck.report", "templates"),
    autoescape=True,  # on for every template, whatever its file name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def csp_hash(text: str) -> str:
    """The CSP source expression ('sha256-…') that allows exactly this inline text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def link_target(url: str) -> str | None:
    """`url` when it may be a link (http or https only), else None: shown as text."""
    return url if _LINKABLE.match(url) else None


def _location(item: Mapping[str, Any]) -> str:
    source = str(item.get("source") or "")
    if source and item.get("line") is not None:
        return f"{source}:{item['line']}"
    return source


def _evidence(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Evidence as lines (`source:line text`) plus a table of the structured fields."""
    lines = [{"where": _location(i), "text": str(i.get("text", ""))} for i in items]
    columns: list[str] = []
    for item in items:
        for key in item:
            if key not in _EVIDENCE_KEYS and key not in columns:
                columns.append(key)
    rows = [
        {"where": _location(i), "cells": [show_value(i[c]) if c in i else "" for c in columns]}
        for i in items
        if any(c in i for c in columns)
    ]
    return {"lines": lines, "columns": columns, "rows": rows}


def _waiver_text(waiver: Mapping[str, Any] | None) -> str:
    if not waiver:
        return ""
    parts = [str(waiver.get("reason") or "no reason given")]
    if waiver.get("approved_by"):
        parts.append(f"approved by {waiver['approved_by']}")
    if waiver.get("expires"):
        parts.append(f"expires {waiver['expires']}")
    return "; ".join(parts)


def _duration(started: str, finished: str) -> str:
    start, end = parse_instant(started), parse_instant(finished)
    if start is None or end is None:
        return ""
    total = max((end - start).total_seconds(), 0.0)
    return f"{total:.1f} s" if total < 120 else f"{total / 60:.1f} min"


def _exit_meaning(code: int, fail_on: str) -> str:
    return {
        0: f"no failure at or above {fail_on}",
        1: f"at least one failure at or above {fail_on}",
        2: "usage or configuration error",
        3: f"no failure at or above {fail_on}, but some checks could not be evaluated",
    }.get(code, "unknown")


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _mib_text(value: Any) -> str:
    """A byte count for people: `512.0 MiB`, `3.2 GiB`; `?` when unknown."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "?"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value >= 0 else None


def _share(part: float, whole: float) -> float:
    """`part` as a share of the 1000-unit width of a bar, clamped to it."""
    return round(min(max(part / whole, 0.0), 1.0) * 1000, 1) if whole > 0 else 0.0


def memory_bar(memory: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Segments of the host's memory bar (used, page cache, other available) and swap bar.

    Widths are in a 1000-unit viewBox. Page cache is drawn inside what is available, since the
    kernel counts the reclaimable part of it as available; a cache larger than that is clamped.
    """
    if not isinstance(memory, Mapping):
        return None
    total = _number(memory.get("total_bytes"))
    available = _number(memory.get("available_bytes"))
    if not total or available is None:
        return None
    available = min(available, total)
    used = total - available
    cache = min(_number(memory.get("cache_bytes")) or 0.0, available)
    free = available - cache
    segments = []
    x = 0.0
    for name, label, value in (
        ("used", "used", used),
        ("cache", "page cache", cache),
        ("free", "other available", free),
    ):
        width = _share(value, total)
        segments.append(
            {
                "name": name,
                "label": label,
                "x": x,
                "width": width,
                "text": f"{_mib_text(value)} ({value / total * 100:.1f}%)",
            }
        )
        x = round(x + width, 1)
    swap_total = _number(memory.get("swap_total_bytes"))
    swap_used = _number(memory.get("swap_used_bytes"))
    swap = None
    if swap_total:
        swap_used = min(swap_used or 0.0, swap_total)
        swap = {
            "width": _share(swap_used, swap_total),
            "text": f"{_mib_text(swap_used)} of {_mib_text(swap_total)} "
            f"({swap_used / swap_total * 100:.1f}%)",
        }
    return {
        "total": _mib_text(total),
        "segments": segments,
        "swap": swap,
        "swap_none": swap_total is not None and not swap_total,
    }


def cgroup_bars(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Working set against limit for each limited cgroup cgroup_memory_headroom looked at."""
    bars = []
    for res in results:
        if res.get("check") != "cgroup_memory_headroom":
            continue
        for item in res.get("evidence") or []:
            if not isinstance(item, Mapping):
                continue
            limit = _number(item.get("limit_bytes"))
            working = _number(item.get("working_set_bytes"))
            if not limit or working is None:
                continue
            kernel = min(_number(item.get("kernel_bytes")) or 0.0, working)
            high = _number(item.get("high_bytes"))
            percent = working / limit * 100
            scale = max(limit, working)  # a working set above its limit still shows whole
            bars.append(
                {
                    "path": str(item.get("path") or item.get("source") or "?"),
                    "kind": str(item.get("kind") or ""),
                    "width": _share(working, scale),
                    "kernel_x": _share(working - kernel, scale),
                    "kernel_width": round(
                        _share(working, scale) - _share(working - kernel, scale), 1
                    ),
                    "high_x": _share(high, scale) if high is not None and high < limit else None,
                    "limit_x": _share(limit, scale) if working > limit else None,
                    "over": percent > 100,
                    "percent": f"{percent:.1f}%",
                    "text": f"working set {_mib_text(working)} of limit {_mib_text(limit)}"
                    + (f", kernel {_mib_text(kernel)}" if kernel else "")
                    + (f", memory.high {_mib_text(high)}" if high is not None else ""),
                    "outcome": res.get("outcome", ""),
                }
            )
    bars.sort(key=lambda b: -float(b["percent"].rstrip("%")))
    return bars


def oom_kills(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The OOM kills the oom_kills check found, one row each."""
    rows = []
    for res in results:
        if not str(res.get("check", "")).startswith("oom_kills"):
            continue
        for item in res.get("evidence") or []:
            if not isinstance(item, Mapping) or "pid" not in item or "name" not in item:
                continue
            trigger = str(item.get("trigger") or "")
            if trigger and item.get("trigger_pid") is not None:
                trigger += f" ({item['trigger_pid']})"
            rows.append(
                {
                    "time": str(item.get("time") or "unknown"),
                    "victim": f"{item.get('name')} ({item.get('pid')})",
                    "rss": _mib_text(item["anon_rss_bytes"])
                    if item.get("anon_rss_bytes") is not None
                    else "unknown",
                    "trigger": trigger or "unknown",
                    "constraint": str(item.get("constraint") or ""),
                    "memcg": str(item.get("memcg") or item.get("task_memcg") or ""),
                    "in_window": item.get("in_window"),
                    "where": _location(item),
                }
            )
    return rows


def build_context(run: RunResult, form: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template shows, from the run's JSON form with host text made visible
    (`form`: `run.to_json()` when the caller has it; it is not changed)."""
    data: dict[str, Any] = deep_visible(run.to_json() if form is None else form)
    host_objects = list(run.hosts)
    hosts: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    check_order: list[str] = []
    check_info: dict[str, dict[str, Any]] = {}
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    areas: list[str] = []
    kills: list[dict[str, Any]] = []

    for h_index, host in enumerate(data["hosts"]):
        counts = {name: 0 for name in OUTCOMES}
        for c_index, res in enumerate(host["results"]):
            outcome = res["outcome"]
            counts[outcome] = counts.get(outcome, 0) + 1
            check_id = res["check"]
            if res["area"] not in areas:
                areas.append(res["area"])
            if check_id not in check_info:
                check_order.append(check_id)
                check_info[check_id] = {
                    "id": check_id,
                    "title": res["title"],
                    "area": res["area"],
                    "area_index": areas.index(res["area"]),
                    "outcomes": set(),
                    "severities": set(),
                    "worst": (len(OUTCOMES), 0),
                }
            info = check_info[check_id]
            info["outcomes"].add(outcome)
            info["severities"].add(res["severity"])
            rank = (
                OUTCOME_RANK.get(outcome, len(OUTCOMES)),
                -SEVERITY_RANK.get(res["severity"], 0),
            )
            info["worst"] = min(info["worst"], rank)
            anchor = f"f-{h_index}-{c_index}" if outcome != "pass" else None
            cells[(check_id, h_index)] = {
                "outcome": outcome,
                "label": OUTCOME_LABELS.get(outcome, outcome.upper()),
                "anchor": anchor,
                "severity": res["severity"],
                "message": res["message"],
            }
            if outcome == "pass":
                continue
            findings.append(
                {
                    "anchor": anchor,
                    "sort": (
                        OUTCOME_RANK.get(outcome, len(OUTCOMES)),
                        -SEVERITY_RANK.get(res["severity"], 0),
                        h_index,
                        check_id,
                    ),
                    "host_index": h_index,
                    "host": host["name"],
                    "check": check_id,
                    "title": res["title"],
                    "area": res["area"],
                    "area_index": areas.index(res["area"]),
                    "outcome": outcome,
                    "label": OUTCOME_LABELS.get(outcome, outcome.upper()),
                    "severity": res["severity"],
                    "change": res.get("change"),
                    "message": res["message"],
                    "observed": show_value(res.get("observed")),
                    "expected": show_value(res.get("expected")),
                    "has_values": res.get("observed") is not None
                    or res.get("expected") is not None,
                    "rationale": res.get("rationale", ""),
                    "remediation": res.get("remediation", ""),
                    "references": [
                        {"text": r, "href": link_target(r)} for r in res.get("references", [])
                    ],
                    "evidence": _evidence(res.get("evidence", [])),
                    "params": [
                        f"{k}={show_value(v)}" for k, v in sorted(res.get("params", {}).items())
                    ],
                    "waiver": _waiver_text(res.get("waiver")),
                }
            )
        for kill in oom_kills(host["results"]):
            kills.append({**kill, "host": host["name"], "host_index": h_index})
        hosts.append(
            {
                "index": h_index,
                "memory": memory_bar(host.get("memory")),
                "cgroups": cgroup_bars(host["results"]),
                "name": host["name"],
                "source": host["source"],
                "kernel": host.get("kernel") or "unknown",
                "distribution": host.get("distribution") or "unknown",
                "cgroup_mode": host.get("cgroup_mode") or "unknown",
                "in_container": _yes_no(host.get("in_container")),
                "collected_at": host.get("collected_at") or "",
                "collection_seconds": host.get("collection_seconds"),
                "unreachable": host.get("unreachable"),
                "collection_errors": sorted(host.get("collection_errors", {}).items()),
                "notes": list(host.get("notes", [])),
                "partial": visible(host_partial_text(host_objects[h_index])),
                "counts": counts,
                "profiles": visible(" + ".join(host_profiles(run, host_objects[h_index]))),
                "auto": host.get("detected") is not None,
                "detected": visible(detected_line(host_objects[h_index])),
                "detected_notes": [visible(n) for n in detected_notes(host_objects[h_index])],
                "detected_evidence": [
                    {"workload": item.get("workload", "?"), "text": e.get("text", "")}
                    for item in host.get("detected") or []
                    for e in item.get("evidence") or []
                    if isinstance(e, dict)
                ],
            }
        )

    rows = []
    for check_id in sorted(check_order, key=lambda c: (check_info[c]["worst"], c)):
        info = check_info[check_id]
        classes = [f"has-{o}" for o in sorted(info["outcomes"])]
        classes += [f"sv-{s}" for s in sorted(info["severities"])]
        row_cells = []
        for h in hosts:
            cell = cells.get((check_id, h["index"]))
            if cell is None:
                missing = "not collected" if h["unreachable"] else "not run"
                cell = {
                    "outcome": "none",
                    "label": missing,
                    "anchor": None,
                    "severity": "",
                    "message": missing,
                }
            row_cells.append(cell)
        rows.append({**info, "classes": " ".join(classes), "cells": row_cells})

    findings.sort(key=lambda f: f["sort"])
    fail_by_severity = {s: 0 for s in SEVERITIES}
    for f in findings:
        if f["outcome"] == "fail":
            fail_by_severity[f["severity"]] = fail_by_severity.get(f["severity"], 0) + 1
    targets = []
    for h in hosts:
        if h["source"] not in targets:
            targets.append(h["source"])

    return {
        "run": data,
        "command": shlex.join(data.get("command", [])),
        "duration": _duration(data["started_at"], data["finished_at"]),
        "exit_code": run.compute_exit_code(),
        "exit_meaning": _exit_meaning(run.compute_exit_code(), run.fail_on),
        "targets": targets,
        "summary": data["summary"],
        "fail_by_severity": fail_by_severity,
        "hosts": hosts,
        "rows": rows,
        "findings": findings,
        "outcomes": list(OUTCOMES),
        "severities": list(SEVERITIES),
        "labels": OUTCOME_LABELS,
        "areas": areas,
        "oom_kills": kills,
        "profile_hashes": sorted(data.get("profile_hashes", {}).items()),
        "conflicts": _conflict_rows(run, hosts),
        "changes": _changes(data.get("changes")),
        "waivers_expired": [_waiver_line(w) for w in data.get("waivers_expired", [])],
        "waivers_unused": [_waiver_line(w) for w in data.get("waivers_unused", [])],
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "partial": visible(partial_line(run)),
    }


def _conflict_rows(run: RunResult, hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per conflict, naming the hosts it concerns (all hosts sharing it together)."""
    index = {id(h): i for i, h in enumerate(run.hosts)}
    rows = []
    for members, conflicts in conflict_groups(run):
        names = [hosts[index[id(h)]] for h in members]
        every = len(members) == len(run.hosts) and len(members) > 1
        for conflict in conflicts:
            values = conflict.get("values")
            asked = []
            for item in values if isinstance(values, list) else []:
                if isinstance(item, Mapping) and "profile" in item:
                    asked.append(
                        {"profile": str(item["profile"]), "value": show_value(item.get("value"))}
                    )
                else:
                    asked.append({"profile": "", "value": show_value(item)})
            rows.append(
                deep_visible(
                    {
                        "check": str(conflict.get("check", "?")),
                        "param": str(conflict.get("param", "?")),
                        "values": asked,
                        "winner": str(conflict.get("winner", "")),
                    }
                )
                | {"hosts": names, "every_host": every}
            )
    return rows


def _changes(changes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What changed since the baseline run, for the block that leads the report."""
    if not changes:
        return None
    baseline = changes.get("baseline") or {}

    def finding(item: Mapping[str, Any]) -> str:
        text = f"{item.get('check')} on {item.get('host')} [{item.get('severity')}]"
        if item.get("observed") is not None:
            text += f": observed {show_value(item.get('observed'))}"
        if item.get("was"):
            text += f" (was {item.get('was')})"
        return text

    return {
        "since": baseline.get("started_at") or "the baseline run",
        "path": baseline.get("path") or "",
        "new": [finding(i) for i in changes.get("new", [])],
        "fixed": [finding(i) for i in changes.get("fixed", [])],
        "still_failing": len(changes.get("still_failing", [])),
        "kills": [
            f"{k.get('name')} (pid {k.get('pid')}) on {k.get('host')} at {k.get('time') or 'an unknown time'}"
            for k in changes.get("new_oom_kills", [])
        ],
    }


def _waiver_line(waiver: Mapping[str, Any]) -> str:
    scope = str(waiver.get("check", "?"))
    if waiver.get("hosts"):
        scope += f" on {waiver['hosts']}"
    return f"{scope}: {_waiver_text(waiver)}"


def render_html(run: RunResult, data: dict[str, Any] | None = None) -> str:
    """The text of report.html for `run` (`data`: its `to_json()`, when already made). A host
    whose values the page cannot be made from is shown without their details
    (memcheck.report.guard)."""
    if data is not None:
        try:
            return _render_html(run, data)
        except Exception:  # the guard finds the host, from the run itself
            pass
    return render_guarded(run, _render_html, "HTML report")


def _render_html(run: RunResult, data: dict[str, Any] | None = None) -> str:
    context = build_context(run, data)
    style = _ENV.get_template("report.css.j2").render(
        outcomes=context["outcomes"],
        severities=context["severities"],
        host_count=len(context["hosts"]),
        area_count=len(context["areas"]),
    )
    script = _ENV.get_template("report.js.j2").render()
    csp = (
        "default-src 'none'; "
        f"style-src {csp_hash(style)}; script-src {csp_hash(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    # The style and script are memcheck's own static text, never host text.
    return _ENV.get_template("report.html.j2").render(
        **context, style=Markup(style), script=Markup(script), csp=csp
    )


def write_html(run: RunResult, path: PathLike, data: dict[str, Any] | None = None) -> Path:
    """Write `run` as report.html at `path` and return the path."""
    return write_atomically(path, render_html(run, data).encode("utf-8"))
