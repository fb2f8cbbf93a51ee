"""The official xai-sdk, unchanged and in a subprocess, chats with a file against the emulator:
upload, `chat.create`, `append(user(q, file(id)))`, then `sample()` and `stream()`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.constants import TEST_KEY
from tests.support.processes import run_python
from tests.support.samples import NOTES

SCRIPT = Path(__file__).with_name("sdk_chat_script.py")


def test_sdk_sample_and_stream_answer_from_the_file(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES)
    question = "What are the risks?"
    completed = run_python(str(SCRIPT), str(server.port), TEST_KEY, str(notes), question, timeout=120)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    expected_quote = "> The main risk is that the vendor misses the March deadline for the sensor firmware."
    for mode in ("sample", "stream"):
        answer = result[mode]
        assert expected_quote in answer["content"], mode
        assert answer["finish_reason"] == "REASON_STOP"
        usage = answer["usage"]
        assert usage["prompt_tokens"] > len(NOTES) // 4 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert usage["server_side_tools_used"] == 1 and usage["cost_in_usd_ticks"] > 0
    assert result["sample"]["content"] == result["stream"]["content"]
    assert len(result["stream"]["chunks"]) > 3  # it really streamed, piece by piece
    assert "".join(result["stream"]["chunks"]) == result["stream"]["content"]
    assert result["stream"]["usage"]["cached_prompt_text_tokens"] > 0  # the file was read once
    assert result["sample"]["model"] == "grok-4"
    assert result["sample"]["system_fingerprint"] == "xai-local-retrieval-v1"
    assert server.storage.get(result["file_id"]) is None  # the script deleted its upload
