"""Page tokens the server issued are taken back without being parsed again, and only so many are kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xai_files_cli.emulator import pagination
from xai_files_cli.emulator.pagination import Cursor, TokenError, decode, filter_digest, issue

FILE_ID = "file_48da23fe-0379-473b-819a-7917d845bd0b"
FILTER = 'created_at >= "2026-11-29T22:33:53Z"'


class _NoParsing:
    """Stands in for the base64 module: any token that reaches the parser fails the test."""

    def urlsafe_b64decode(self, data: object) -> bytes:
        raise AssertionError("the token was parsed")


@pytest.fixture(autouse=True)
def _no_tokens_kept_from_other_tests() -> Iterator[None]:
    pagination._issued.clear()
    yield
    pagination._issued.clear()


def _cursor(value: int) -> Cursor:
    return Cursor("created_at", False, value, FILE_ID, filter_digest(FILTER))


def test_an_issued_token_is_taken_back_without_parsing_for_the_query_it_was_issued_for(monkeypatch):
    cursor = _cursor(1_795_991_634_386_800_126)
    token = issue(cursor)
    monkeypatch.setattr(pagination, "base64", _NoParsing())
    assert decode(token, sort="created_at", descending=False, filter_text=FILTER) == cursor
    with pytest.raises(AssertionError, match="parsed"):  # another query: checked the long way
        decode(token, sort="created_at", descending=False, filter_text=None)


def test_only_the_latest_issued_tokens_are_kept_and_older_ones_are_parsed_again():
    tokens = [issue(_cursor(value)) for value in range(pagination.ISSUED_TOKENS_KEPT + 5)]
    assert len(pagination._issued) == pagination.ISSUED_TOKENS_KEPT
    assert tokens[0] not in pagination._issued and tokens[-1] in pagination._issued
    assert decode(tokens[0], sort="created_at", descending=False, filter_text=FILTER) == _cursor(0)
    with pytest.raises(TokenError, match="different filter"):
        decode(tokens[-1], sort="created_at", descending=False, filter_text=None)
