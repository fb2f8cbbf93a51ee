"""CI logs of uploads: under GITHUB_ACTIONS=true (or `--log-format github`) a batch is wrapped in
`::group::`/`::endgroup::` and each failure is also an `::error title=…::` annotation; elsewhere the
log has no workflow commands at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import Emulators


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("fine\n")
    (root / 'bad"name.txt').write_text("refused\n")  # the server refuses '"' in a filename
    return root


def test_github_actions_groups_the_batch_and_annotates_each_failure(
    emulators: Emulators, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulators.start()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_xai("files", "batch-upload", str(docs))
    assert result.code == 7
    lines = result.stderr.splitlines()
    assert lines[0] == "::group::xai files batch-upload: 2 files"
    (annotation,) = [line for line in lines if line.startswith("::error")]
    assert re.fullmatch(
        r'::error title=xai batch-upload failed%3A bad"name\.txt::'
        r'upload bad"name\.txt: .*forbidden character.*\(INVALID_ARGUMENT\)',
        annotation,
    ), annotation
    assert lines.index("::endgroup::") > lines.index(annotation)
    assert lines[-1].startswith("xai: uploaded 1 of 2 files")  # the summary stays outside the group


def test_log_format_github_works_outside_github_too(emulators: Emulators, docs: Path) -> None:
    emulators.start()
    result = run_xai("files", "upload", str(docs / 'bad"name.txt'), "--log-format", "github")
    assert result.code == 5
    first, second = result.stderr.splitlines()
    assert first.startswith('::error title=xai upload failed%3A bad"name.txt::upload bad"name.txt: ')
    assert second.startswith('xai: upload bad"name.txt: ')


def test_plain_logs_have_no_workflow_commands(emulators: Emulators, docs: Path, monkeypatch) -> None:
    emulators.start()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_xai("files", "batch-upload", str(docs), "--log-format", "plain")
    assert result.code == 7 and "::" not in result.stderr
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert "::" not in run_xai("files", "batch-upload", str(docs)).stderr


def test_annotation_text_is_escaped_so_it_stays_one_command(emulators: Emulators, tmp_path: Path) -> None:
    emulators.start()
    odd = tmp_path / "50%, a:b.txt"
    odd.write_text("x")
    result = run_xai("files", "upload", str(odd), "--name", "x\ny", "--log-format", "github")
    (annotation,) = [line for line in result.stderr.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=xai upload failed%3A x%0Ay::")


def test_a_bad_log_format_is_a_usage_error(emulators: Emulators, docs: Path) -> None:
    emulators.start()
    result = run_xai("files", "batch-upload", str(docs), "--log-format", "fancy")
    assert result.code == 2 and "invalid --log-format 'fancy'" in result.stderr
