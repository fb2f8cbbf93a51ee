"""What reaches a terminal from the server is escaped: controls, C1, bidi; plain text as it is."""

from __future__ import annotations

import pytest

from xai_files_cli.output.sanitize import escape_terminal


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("file_0123abcd", "file_0123abcd"),
        ("report 2026 (final).pdf", "report 2026 (final).pdf"),
        ("naïve résumé.txt", "naïve résumé.txt"),
        ("bell\x07", "bell\\x07"),
        ("esc\x1b[31mred", "esc\\x1b[31mred"),
        ("del\x7f", "del\\x7f"),
        ("c1\x9b", "c1\\x9b"),
        ("bidi\u202eexe.txt", "bidi\\u202eexe.txt"),
        ("two\nlines\tand tab", "two\\nlines\\tand tab"),
        ("", ""),
    ],
)
def test_unsafe_characters_are_escaped_and_the_rest_kept(text: str, shown: str) -> None:
    assert escape_terminal(text) == shown


def test_newlines_may_be_kept() -> None:
    assert escape_terminal("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"
