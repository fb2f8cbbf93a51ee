"""`--manifest FILE` (one JSON line per item, appended as each ends) and `--dry-run` (the plan, nothing
changed on the server) of `upload` and `batch-upload`, over real gRPC."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.emulator import Emulators
from tests.support.stored import make_files, sha256_of, stored_by_name

MANIFEST_KEYS = ["path", "name", "size", "sha256", "status", "id", "error", "seconds"]


def _manifest(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batch_manifest_has_a_line_per_item_uploaded_skipped_or_failed(
    emulators: Emulators, tmp_path: Path
) -> None:
    server = emulators.start()
    docs = tmp_path / "docs"
    make_files(docs, 3)
    (docs / 'bad"name.txt').write_bytes(b"refused by the server")  # '"' is not allowed in a filename
    manifest = tmp_path / "out.jsonl"
    assert run_xai("files", "upload", str(docs / "f000.txt")).code == 0
    result = run_xai("files", "batch-upload", str(docs), "--skip-existing", "--manifest", str(manifest))
    assert result.code == 7  # partial: one failed
    lines = {Path(line["path"]).name: line for line in _manifest(manifest)}
    assert all(list(line) == MANIFEST_KEYS for line in lines.values())
    stored = {name: copies[0][0] for name, copies in stored_by_name(server).items()}
    skipped, uploaded, failed = lines["f000.txt"], lines["f001.txt"], lines['bad"name.txt']
    assert (skipped["status"], skipped["id"], skipped["error"]) == ("skipped", stored["f000.txt"], None)
    assert skipped["sha256"] == sha256_of(docs / "f000.txt") and skipped["size"] == 64
    assert (uploaded["status"], uploaded["id"], uploaded["name"]) == (
        "uploaded",
        stored["f001.txt"],
        "f001.txt",
    )
    assert uploaded["sha256"] == sha256_of(docs / "f001.txt")  # hashed while it was sent
    assert (failed["status"], failed["id"], failed["sha256"], failed["size"]) == ("failed", None, None, 21)
    assert (
        failed["error"]["code"] == "INVALID_ARGUMENT" and "forbidden character" in failed["error"]["message"]
    )
    assert all(isinstance(line["seconds"], float) and line["seconds"] >= 0 for line in lines.values())


def test_the_manifest_is_appended_to_by_each_run(emulators: Emulators, tmp_path: Path) -> None:
    emulators.start()
    sample = tmp_path / "a.txt"
    sample.write_text("alpha\n")
    manifest = tmp_path / "out.jsonl"
    run_xai("files", "upload", str(sample), "--manifest", str(manifest))
    run_xai("files", "upload", str(sample), "--manifest", str(manifest), "--skip-existing")
    first, second = _manifest(manifest)
    assert (first["status"], second["status"]) == ("uploaded", "skipped")
    assert first["id"] == second["id"] and first["sha256"] == second["sha256"] == sha256_of(sample)
    assert all(isinstance(line["seconds"], float) and line["seconds"] >= 0 for line in (first, second))


def test_an_upload_from_stdin_has_its_seconds_in_the_manifest(emulators: Emulators, tmp_path: Path) -> None:
    emulators.start()
    manifest = tmp_path / "out.jsonl"
    result = run_xai("files", "upload", "-", "--name", "in.txt", "--manifest", str(manifest), stdin=b"data")
    assert result.code == 0, result
    (line,) = _manifest(manifest)
    assert (line["status"], line["size"]) == ("uploaded", 4)
    assert isinstance(line["seconds"], float) and line["seconds"] >= 0


def test_a_manifest_that_cannot_be_written_is_exit_2_before_any_upload(
    emulators: Emulators, tmp_path: Path
) -> None:
    server = emulators.start()
    sample = tmp_path / "a.txt"
    sample.write_text("alpha\n")
    result = run_xai("files", "upload", str(sample), "--manifest", str(tmp_path / "missing" / "out.jsonl"))
    assert result.code == 2 and "cannot write manifest" in result.stderr
    assert server.faults is not None and server.faults.calls("UploadFile") == 0


def test_dry_run_piped_is_a_json_plan_and_changes_nothing(emulators: Emulators, tmp_path: Path) -> None:
    server = emulators.start()
    assert server.faults is not None
    docs = tmp_path / "docs"
    make_files(docs, 4)
    run_xai("files", "upload", str(docs / "f000.txt"))
    (docs / "f001.txt").write_bytes(b"changed")
    before = server.faults.calls("UploadFile")
    manifest = tmp_path / "m.jsonl"
    result = run_xai(
        "files", "batch-upload", str(docs), "--skip-existing", "--dry-run", "--manifest", str(manifest)
    )
    assert result.code == 0
    assert not manifest.exists()  # a dry run finishes no item
    plan = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert sorted(plan) == ["f000.txt", "f001.txt", "f002.txt", "f003.txt"]
    assert {key: plan["f000.txt"][key] for key in ("action", "path", "size")} == {
        "action": "skip",
        "path": str(docs / "f000.txt"),
        "size": 64,
    }
    assert plan["f000.txt"]["reason"].startswith("unchanged")
    assert (plan["f002.txt"]["action"], plan["f002.txt"]["reason"]) == ("upload", "not uploaded before")
    assert server.faults.calls("UploadFile") == before
    assert server.faults.calls("DeleteFile") == 0


def test_dry_run_on_a_terminal_is_a_table_and_a_total(emulators: Emulators, tmp_path: Path) -> None:
    server = emulators.start()
    docs = tmp_path / "docs"
    make_files(docs, 3)
    run_xai("files", "upload", str(docs / "f000.txt"))
    result = run_xai("files", "batch-upload", str(docs), "--skip-existing", "--dry-run", stdout_tty=True)
    assert result.code == 0
    header, *rows, total = result.stdout.splitlines()
    assert header.split() == ["ACTION", "NAME", "SIZE", "REASON"]
    assert [row.split()[:3] for row in rows] == [
        ["skip", "f000.txt", "64"],
        ["upload", "f001.txt", "64"],
        ["upload", "f002.txt", "64"],
    ]
    assert total == "2 files (128 B) to upload, 1 skipped (64 B)"
    assert server.faults is not None and server.faults.calls("UploadFile") == 1


def test_dry_run_of_one_upload_without_skip_existing_plans_an_upload(
    emulators: Emulators, tmp_path: Path
) -> None:
    server = emulators.start()
    sample = tmp_path / "a.txt"
    sample.write_text("alpha\n")
    result = run_xai("files", "upload", str(sample), "--dry-run")
    assert (result.code, json.loads(result.stdout)) == (
        0,
        [
            {
                "action": "upload",
                "path": str(sample),
                "name": "a.txt",
                "size": 6,
                "reason": "no --skip-existing",
            }
        ],
    )
    assert server.faults is not None and server.faults.calls("UploadFile") == 0
