"""The official xai-sdk Files client, unchanged, against the emulator (`localhost:PORT`, local creds)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.constants import TEST_KEY
from tests.support.processes import run_python

SCRIPT = Path(__file__).with_name("sdk_files_script.py")


def test_sdk_files_round_trip(server, tmp_path):
    result = run_python(str(SCRIPT), str(server.port), TEST_KEY, str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["uploads"] == {
        "from_path": ["from-path.txt", 7 * 1024 * 1024 + 3, True],
        "from_bytes": ["b-bytes.txt", 13],
        "ttl_seconds": 3600,
        "ttl_has_expiry": True,
        "plain_has_expiry": False,
        "empty_size": 0,
    }
    by_time = ["from-path.txt", "b-bytes.txt", "ttl.txt", "empty.txt", "Image.png"]
    by_name = ["Image.png", "b-bytes.txt", "empty.txt", "from-path.txt", "ttl.txt"]  # case-sensitive
    by_size = ["empty.txt", "ttl.txt", "b-bytes.txt", "Image.png", "from-path.txt"]
    assert out["lists"] == {
        "created_at/asc": by_time,
        "created_at/desc": by_time[::-1],
        "filename/asc": by_name,
        "filename/desc": by_name[::-1],
        "size/asc": by_size,
        "size/desc": by_size[::-1],
    }
    assert out["paged"] == {"names": by_size[::-1], "pages": 5}
    assert out["filtered"] == ["b-bytes.txt", "Image.png"]
    assert out["get"] == [True, "b-bytes.txt", 13]
    assert out["content"] == {"path_sha_equal": True, "bytes": "bytes content", "empty": ""}
    public = out["public_url"]
    assert public["url"].startswith(f"http://127.0.0.1:{server.storage.public_port()}/public/")
    assert public == {
        "url": public["url"],
        "stable": True,
        "expiry_seconds_set": True,
        "revoked": [True, True],
        "text_refused": "INVALID_ARGUMENT",
    }
    assert out["delete"] == [True, True]
    assert out["errors"] == {
        "get_deleted": "NOT_FOUND",
        "delete_twice": "NOT_FOUND",
        "get_unknown": "NOT_FOUND",
        "content_unknown": "NOT_FOUND",
        "bad_filename": "INVALID_ARGUMENT",
        "bad_ttl": "INVALID_ARGUMENT",
        "bad_filter": "INVALID_ARGUMENT",
        "wrong_key_list": "UNAUTHENTICATED",
        "wrong_key_upload": "UNAUTHENTICATED",
    }
    assert out["final_names"] == sorted(set(by_time) - {"b-bytes.txt"})
    assert TEST_KEY not in result.stderr
