from __future__ import annotations

import pytest

from memcheck.report.safe_text import deep_visible, one_line, show_value, visible


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("tab\tand\nnewline kept", "tab\tand\nnewline kept"),
        ("\x00\x07\x1b[31m", "\\x00\\x07\\x1b[31m"),
        ("cr\r", "cr\\x0d"),
        ("del\x7f c1\x85\x9b", "del\\x7f c1\\x85\\x9b"),
        ("surrogate\udcff", "surrogate\\udcff"),
        ("nonchar\ufdd0\ufffe\U0001fffe", "nonchar\\ufdd0\\ufffe\\U0001fffe"),
        ("\u202eevil\u2066", "\\u202eevil\\u2066"),
        ("replacement \ufffd stays", "replacement \ufffd stays"),
        ("<script>]]>&", "<script>]]>&"),
        ("ünïcødé 日本 🙂", "ünïcødé 日本 🙂"),
        ("", ""),
    ],
)
def test_visible_escapes_only_unsafe_characters(text: str, expected: str) -> None:
    assert visible(text) == expected


def test_one_line_escapes_newlines_and_tabs() -> None:
    assert one_line("a\nb\tc\x1b") == "a\\x0ab\\x09c\\x1b"


def test_deep_visible_walks_keys_lists_and_leaves_numbers() -> None:
    value = {"k\x1b": ["v\x00", 3, None, {"n": 1.5, "b": True}]}
    assert deep_visible(value) == {"k\\x1b": ["v\\x00", 3, None, {"n": 1.5, "b": True}]}


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "(none)"), ("always", "always"), (60, "60"), ([1, "a"], '[1, "a"]'), (True, "true")],
)
def test_show_value(value: object, shown: str) -> None:
    assert show_value(value) == shown
