"""Retry waits shrunk for tests whose server is down, restarting or failing on purpose.

Those tests check what happens once the retries are spent (the exit code, the message, what was
left behind), not how long production waits between attempts, so they install waits of a few
milliseconds through the one injection point, `core.rpc.UNAVAILABLE_BACKOFF` (the channel's retry
policy and FilesClient's own repeats and restarts both read it). Use the `fast_retries` fixture.

Not shorter than this: when every retry of gRPC's own policy comes within about a millisecond of
the failed connection, a call to a closed port was seen to hang until its deadline.
"""

from __future__ import annotations

import pytest

from xai_files_cli.core import rpc

FAST_UNAVAILABLE_BACKOFF = rpc.UnavailableBackoff(first=0.01, restart_first=0.01, maximum=0.05)


def install_fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after UNAVAILABLE wait milliseconds for the rest of the test (in this process)."""
    monkeypatch.setattr(rpc, "UNAVAILABLE_BACKOFF", FAST_UNAVAILABLE_BACKOFF)
