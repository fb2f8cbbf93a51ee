"""The official xai-sdk, unchanged and in a subprocess, keeps a conversation on the emulator:
`chat.create(store_messages=True)`, `previous_response_id=` (continuing and branching, the PDF of
the first turn answering the later ones), `client.chat.get_stored_completion`,
`delete_stored_completion`, inline citations, `client.auth.get_api_key_info()` and `chat.parse`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.constants import PYTHON, TEST_KEY
from tests.support.processes import xai_subprocess_env
from tests.support.samples import make_pages_pdf
from xai_files_cli.emulator.models_service import CREATED_SECONDS

SCRIPT = Path(__file__).with_name("sdk_conversation_script.py")
PAGES = [
    ["Quarterly report for the Falcon project.", "Revenue grew by 12 percent in the third quarter."],
    ["Budget: a reserve of 40,000 euros is kept for testing.", "The main risk is the late sensor firmware."],
]


def test_sdk_stores_continues_branches_reads_and_deletes_a_conversation(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "report.pdf"
    report.write_bytes(make_pages_pdf(PAGES))
    completed = subprocess.run(
        [PYTHON, str(SCRIPT), str(server.port), TEST_KEY, str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        env=xai_subprocess_env(),
    )
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout)
    file_id = seen["file_id"]

    first = seen["first"]
    assert "> Revenue grew by 12 percent in the third quarter." in first["content"]
    assert first["citations"] == [f"file://{file_id}/report.pdf"]
    assert first["inline"] == [["1", file_id, "page-1/passage-1"]]
    # turn 2 and the branch carry no file: the stored PDF answers them, from its second page
    assert "> Budget: a reserve of 40,000 euros is kept for testing." in seen["second"]["content"]
    assert "> The main risk is the late sensor firmware." in seen["branch"]["content"]
    assert seen["branch"]["chunk_ids"] == ["page-2/passage-2"]

    assert seen["stored"] == [first["content"]]
    assert seen["deleted"] == first["id"] and seen["after_delete"] == "NOT_FOUND"
    assert seen["key"] == {
        "redacted": "****" + TEST_KEY[-4:],
        "name": "local server key",
        "team_id": seen["key"]["team_id"],
        "created": CREATED_SECONDS,
    }
    assert seen["figures"] == {"revenue_growth": 12, "reserve": 40000.0, "due": None}
    assert server.storage.get(file_id) is None  # the script deleted its upload
