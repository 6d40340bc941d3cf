from __future__ import annotations

import pytest

from memcheck.report.safe_text import deep_visible, escape_char, one_line, show_value, visible


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


@pytest.mark.parametrize("keep", ["\t\n", "", "\n", "\r"])
def test_every_character_is_judged_the_same_whatever_the_keep(keep: str) -> None:
    """visible() has fast paths for the usual `keep` values; each code point of plane 0,
    and the non-characters and a sample of the other planes, must come out as one rule says."""
    unsafe = {*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0xD800, 0xE000)}
    unsafe |= {*range(0xFDD0, 0xFDF0), 0xFFFE, 0xFFFF, *range(0x202A, 0x202F)}
    unsafe |= {*range(0x2066, 0x206A)}
    unsafe |= {plane * 0x10000 + low for plane in range(1, 17) for low in (0xFFFE, 0xFFFF)}
    codes = [*range(0x10000), *range(0x10000, 0x110000, 997)]
    codes += [plane * 0x10000 + low for plane in range(1, 17) for low in (0xFFFD, 0xFFFE, 0xFFFF)]
    for code in codes:
        char = chr(code)
        want = char if code not in unsafe or char in keep else escape_char(char)
        assert visible(f"a{char}b", keep) == f"a{want}b", hex(code)
