"""The windows a --skip-existing re-run reads the server's files in: about WINDOW creation times
each, cut only between different times, and never reaching into each other."""

from __future__ import annotations

from xai_files_cli.core import upload_plan
from xai_files_cli.core.upload_plan import EDGE_NS, _windows

US = 1_000


def test_neighbouring_windows_meet_halfway_and_distant_ones_keep_their_edge(monkeypatch) -> None:
    monkeypatch.setattr(upload_plan, "WINDOW", 2)
    times = [0, 10 * US, 20 * US, 30 * US, 10 * EDGE_NS, 10 * EDGE_NS + US]
    spans = [(since, until) for since, until, _ in _windows(times)]
    assert spans == [
        (-EDGE_NS, 15 * US),  # halfway to the next window's first time
        (15 * US + 1, 30 * US + EDGE_NS),  # the next window is far: the full edge
        (9 * EDGE_NS, 11 * EDGE_NS + US),
    ]


def test_files_created_at_the_same_time_share_a_window(monkeypatch) -> None:
    monkeypatch.setattr(upload_plan, "WINDOW", 2)
    spans = _windows([5, 5, 5, 5, 9])
    assert [(since, until) for since, until, _ in spans] == [(5 - EDGE_NS, 7), (8, 9 + EDGE_NS)]
    assert [pages for _, _, pages in spans] == [upload_plan._budget(4), upload_plan._budget(1)]
