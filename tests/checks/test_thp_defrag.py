from __future__ import annotations

import pytest

from memcheck.engine import evaluate
from memcheck.registry import builtin_checks
from tests.snapshots import facts_from

CHECK = builtin_checks()["thp_defrag"]
DIR = "/sys/kernel/mm/transparent_hugepage"


@pytest.mark.parametrize(
    ("text", "allowed", "outcome"),
    [
        ("always defer defer+madvise [madvise] never\n", ["never", "madvise"], "pass"),
        ("always defer defer+madvise madvise [never]\n", ["never", "madvise"], "pass"),
        ("[always] defer defer+madvise madvise never\n", ["never", "madvise"], "fail"),
        ("[always] madvise never\n", ["never", "madvise"], "fail"),  # RHEL 7, pre-4.6 default
        ("always defer [defer+madvise] madvise never\n", ["defer+madvise"], "pass"),  # MongoDB 8
        ("always defer [defer+madvise] madvise never\n", ["never"], "fail"),
    ],
)
def test_defrag(text: str, allowed: list[str], outcome: str) -> None:
    facts = facts_from(
        {
            f"{DIR}/defrag": text,
            f"{DIR}/enabled": "[always] madvise never\n",
            f"{DIR}/khugepaged/defrag": "1\n",
        }
    )
    result = evaluate(CHECK, facts, {"allowed": allowed})
    assert result.outcome == outcome
    assert result.expected == "|".join(allowed)
    assert any("khugepaged defrag is on" in str(e["text"]) for e in result.evidence)


def test_compiled_out_skips() -> None:
    result = evaluate(CHECK, facts_from({}), {"allowed": ["never"]})
    assert result.outcome == "skip"


def test_missing_defrag_file_errors() -> None:
    facts = facts_from({f"{DIR}/enabled": "[always] madvise never\n"})
    result = evaluate(CHECK, facts, {"allowed": ["never"]})
    assert result.outcome == "error"
    assert f"{DIR}/defrag" in result.message


def test_bad_khugepaged_value_does_not_hide_the_verdict() -> None:
    facts = facts_from(
        {
            f"{DIR}/enabled": "[never]\n",
            f"{DIR}/defrag": "madvise [never]\n",
            f"{DIR}/khugepaged/defrag": "maybe\n",
        }
    )
    assert evaluate(CHECK, facts, {"allowed": ["never"]}).outcome == "pass"
