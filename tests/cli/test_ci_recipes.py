"""The README's CI recipes are run as written: every `run:` step of its GitHub Actions workflow, in
bash with `set -eo pipefail` as the runner does, against the local server, as a scenario of pushes,
a pull request and a nightly cleanup."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.constants import PYTHON, REPO_ROOT, TEST_KEY
from tests.support.emulator import Emulators, FakeClock
from tests.support.processes import xai_subprocess_env
from tests.support.stored import stored_by_name


def workflow_steps() -> dict[str, str]:
    """{step name: run script} of the workflow in the README's "CI recipes" section."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## CI recipes\n", 1)[1].split("\n## ", 1)[0]
    (workflow,) = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    steps: dict[str, str] = {}
    name = None
    lines = workflow.splitlines()
    for number, line in enumerate(lines):
        if match := re.match(r"\s*- name: (.+)", line):
            name = match.group(1)
        elif re.match(r"\s*run: \|$", line) and name is not None:
            indent = len(line) - len(line.lstrip()) + 2
            body = []
            for following in lines[number + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) < indent:
                    break
                body.append(following[indent:])
            steps[name] = "\n".join(body).strip() + "\n"
    return steps


class Runner:
    """Runs workflow steps in a checkout (`work`) with `xai` on PATH, pointed at a local server."""

    def __init__(self, work: Path, target: str) -> None:
        self.work = work
        bin_dir = work.parent / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "xai"
        shim.write_text(f'#!/bin/sh\nexec "{PYTHON}" -m xai_files_cli "$@"\n')
        shim.chmod(0o755)
        self.env = xai_subprocess_env(
            {
                "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                "XAI_API_HOST": target,
                "XAI_API_KEY": TEST_KEY,
                "XAI_STATE_DIR": str(work / ".xai-state"),
                "GITHUB_ACTIONS": "true",
            }
        )

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def manifest(self) -> list[dict]:
        return [json.loads(line) for line in (self.work / "uploads.jsonl").read_text().splitlines()]


def _step(steps: dict[str, str], start: str) -> str:
    (script,) = [script for name, script in steps.items() if name.startswith(start)]
    return script


def test_the_readme_workflow_uploads_idempotently_plans_and_cleans_up(
    emulators: Emulators, tmp_path: Path
) -> None:
    steps = workflow_steps()
    upload, plan, cleanup = _step(steps, "Upload docs"), _step(steps, "Plan"), _step(steps, "Delete files")
    # The server's clock runs 40 days behind: what it stores now is "older than 30d" for the client.
    server = emulators.start(point_cli=False, clock=FakeClock(int(time.time()) - 40 * 86400))
    work = tmp_path / "checkout"
    (work / "docs" / "sub").mkdir(parents=True)
    (work / "docs" / "guide.md").write_text("# Guide\n")
    (work / "docs" / "sub" / "api.md").write_text("# API\n")
    (work / "docs" / ".env").write_text("TOKEN=x\n")  # hidden: never uploaded
    runner = Runner(work, server.target)

    first = runner.run(upload)  # a push
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[:3] == [
        "xai: skipped 1 hidden path (--hidden includes it)",
        "::group::xai files batch-upload: 2 files",
        "::endgroup::",
    ]
    assert sorted(stored_by_name(server)) == ["guide.md", "sub/api.md"]

    again = runner.run(upload)  # the same job re-run: nothing is sent twice
    assert again.returncode == 0, again.stderr
    assert [line["status"] for line in runner.manifest()] == ["uploaded"] * 2 + ["skipped"] * 2
    assert all(len(copies) == 1 for copies in stored_by_name(server).values())

    (work / "docs" / "new.md").write_text("# New\n")
    review = runner.run(plan)  # a pull request: the plans, nothing changed
    assert review.returncode == 0, review.stderr
    upload_plan = {
        entry["name"]: entry["action"] for entry in json.loads((work / "upload-plan.json").read_text())
    }
    assert upload_plan == {"guide.md": "skip", "new.md": "upload", "sub/api.md": "skip"}
    cleanup_plan = json.loads((work / "cleanup-plan.json").read_text())
    assert sorted(entry["name"] for entry in cleanup_plan) == ["guide.md", "sub/api.md"]
    assert {entry["action"] for entry in cleanup_plan} == {"delete"}
    assert sorted(stored_by_name(server)) == ["guide.md", "sub/api.md"]

    nightly = runner.run(cleanup)
    assert nightly.returncode == 0, nightly.stderr
    assert stored_by_name(server) == {}

    after = runner.run(upload)  # deleted files are uploaded again, not skipped
    assert after.returncode == 0, after.stderr
    assert [line["status"] for line in runner.manifest()[4:]] == ["uploaded"] * 3
    assert sorted(stored_by_name(server)) == ["guide.md", "new.md", "sub/api.md"]


def test_the_workflow_has_the_three_recipes() -> None:
    steps = workflow_steps()
    assert [name.split(" ")[0] for name in steps] == ["Plan", "Upload", "Delete"]
    if "--older-than" not in _step(steps, "Delete files"):
        pytest.fail("the cleanup recipe lost its --older-than filter")
