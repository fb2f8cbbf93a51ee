"""`xai chat` for a person at a terminal: citations naming file and page, the answer rendered as
Markdown on a real terminal (tmux) but plain on a pipe, line editing with history in `-i`, and the
`/file` and `/quit` session commands."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.emulator import ChatServer
from tests.support.processes import xai_command, xai_subprocess_env
from tests.support.samples import make_pages_pdf
from tests.support.tmux import TmuxSession
from xai_files_cli.output.chat import CitationMarkers, MarkdownPrinter, split_finished_blocks
from xai_files_cli.output.io import IOStreams

PAGES = [
    ["Quarterly report for the Falcon project.", "Revenue grew by 12 percent in the third quarter."],
    ["Budget: a reserve of 40,000 euros is kept for testing.", "The main risk is the late sensor firmware."],
]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pages_pdf(PAGES))
    return path


def client_env(srv: ChatServer) -> dict[str, str]:
    return xai_subprocess_env({"XAI_API_HOST": srv.running.target, "XAI_API_KEY": TEST_KEY})


# -- citations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "page"), [("How did revenue grow?", 1), ("What is the budget reserve?", 2)]
)
def test_citations_name_the_file_and_page_of_a_two_page_pdf(
    chat_server, report: Path, notes: Path, question: str, page: int
) -> None:
    chat_server()
    data = json.loads(run_xai("chat", question, "-f", str(notes), "-f", str(report), "--json").stdout)
    pdf_citations = [c for c in data["citations"] if c["name"] == "report.pdf"]
    assert [c["page"] for c in pdf_citations] == [page]
    report_id = next(f["id"] for f in data["files"] if f["name"] == "report.pdf")
    for citation in data["citations"]:  # each marker follows a passage of the file (and page) it names
        quoted = data["content"][: citation["start_index"]].rsplit("\n", 1)[-1]
        if citation["name"] == "report.pdf":
            assert citation["file_id"] == report_id
            assert any(line in quoted for line in PAGES[citation["page"] - 1]), quoted
        else:
            assert (citation["name"], citation["page"]) == ("notes.txt", None) and quoted.startswith("> ")

    shown = run_xai("chat", question, "-f", str(report), "--raw", stderr_tty=True)
    assert shown.code == 0, shown
    assert re.search(r"\.\s\[1\]\n", shown.stdout)  # the marker is shown as its number
    assert f"Sources:\n  [1] report.pdf, page {page}\n" in shown.stderr


def test_no_sources_and_no_markers_for_a_pipe(chat_server, report: Path) -> None:
    chat_server()
    piped = run_xai("chat", "What is the budget reserve?", "-f", str(report))
    assert "[1]" not in piped.stdout and "Sources" not in piped.stderr


@pytest.mark.parametrize("pieces", [1, 2, 3, 5, 7])
def test_markers_split_anywhere_in_a_stream_still_become_numbers(pieces: int) -> None:
    text = "A quote. [[1]](file://file_x/report%20a.pdf#page=2)\n[x] [[ and [[2]](file://f/b.txt) end ["
    size = max(1, len(text) // pieces)
    for start in range(size):
        markers = CitationMarkers()
        parts = [text[:start]] + [text[i : i + size] for i in range(start, len(text), size)]
        shown = "".join(markers.feed(part) for part in parts) + markers.flush()
        assert shown == "A quote. [1]\n[x] [[ and [2] end ["


def test_markdown_blocks_end_at_blank_lines_outside_code_fences() -> None:
    assert split_finished_blocks("a\n\nb\n```\nx\n\ny\n```\n\nc") == ("a\n\nb\n```\nx\n\ny\n```\n\n", "c")
    assert split_finished_blocks("a\n\n```\nopen\n\n") == ("a\n\n", "```\nopen\n\n")
    assert split_finished_blocks("no blank line yet\n") == ("", "no blank line yet\n")


def test_finished_blocks_are_printed_once_and_the_open_one_redrawn_at_most_ten_times_a_second() -> None:
    io = IOStreams.for_test(stdout_tty=True)
    printer = MarkdownPrinter(io, show_reasoning=False)
    started = time.monotonic()
    printer("First paragraph.\n\n", "")
    for n in range(400):  # a fast stream: one word at a time
        printer(f"w{n} ", "")
    elapsed = time.monotonic() - started
    printer.finish()
    out = io.stdout_text()
    assert out.count("First paragraph.") == 1  # printed for good, never redrawn
    # Every drawing of the open block: at most 10 a second, the first at once, one more as the live
    # display stops, and the final print of the block.
    drawings = out.count("w0 w1 ")
    assert 3 <= drawings <= 10 * elapsed + 4, (drawings, elapsed)
    assert "w0 w1 w2" in out and out.rstrip().endswith("w399")


# -- a real terminal ------------------------------------------------------------------------------


def test_markdown_on_a_terminal_and_plain_text_on_a_pipe(chat_server, report: Path) -> None:
    srv: ChatServer = chat_server()
    argv = xai_command("chat", "How did revenue grow and what is the budget?", "-f", str(report))
    session = TmuxSession.start(argv, client_env(srv))
    try:
        code, screen = session.wait_exit()
    finally:
        session.close()
    assert code == 0, screen
    assert screen[0] == "From report.pdf:"
    assert screen[2].startswith("▌ Quarterly report for the Falcon project. Revenue grew by 12 percent")
    assert any(line.startswith("▌ Budget: a reserve of 40,000 euros") for line in screen)
    assert not any(line.startswith("> ") for line in screen)  # the quotes were rendered, not printed
    assert screen.index("Sources:") < screen.index("  [2] report.pdf, page 2")
    assert "  [1] report.pdf, page 1" in screen
    assert re.match(r"grok-4 · .* · conversation [0-9a-f]{8}$", screen[-1]), screen

    piped = subprocess.run(
        argv, env=client_env(srv), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("From report.pdf:\n> Quarterly report for the Falcon project.\n> Revenue")
    assert "\x1b" not in piped.stdout and "▌" not in piped.stdout and piped.stderr == ""


def test_up_arrow_recalls_the_previous_line_in_interactive_mode(
    chat_server, report: Path, isolation: Path
) -> None:
    srv: ChatServer = chat_server()
    session = TmuxSession.start(xai_command("chat", "-i", "-f", str(report)), client_env(srv))
    try:
        session.wait_for_screen(lambda lines: lines[-1] == ">", "the first prompt")
        session.keys("What is the budget reserve?", "Enter")
        session.wait_for_screen(
            lambda lines: lines[-1] == ">" and any("conversation" in line for line in lines), "the answer"
        )
        session.keys("Up")
        session.wait_for_screen(
            lambda lines: lines[-1] == "> What is the budget reserve?", "the recalled line"
        )
        session.keys("C-a", "Right", "Right", "X")  # Ctrl-A and the arrows edit the line in place
        session.wait_for_screen(
            lambda lines: lines[-1] == "> WhXat is the budget reserve?", "the edited line"
        )
        session.keys("C-e", "C-u", "/quit", "Enter")  # end of line, erase it, leave
        code, _ = session.wait_exit()
    finally:
        session.close()
    assert code == 0
    history = (isolation / "state" / "chat_history").read_text().splitlines()
    assert history[-2:] == ["What is the budget reserve?", "/quit"]
    assert srv.calls("GetCompletionChunk") == 1


# -- session commands -----------------------------------------------------------------------------


def test_file_and_quit_inside_a_session(chat_server, report: Path, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    lines = [
        f"/file {report}",
        "What is the budget reserve?",
        "/file nope.txt",
        "/bogus",
        "/quit",
        "never sent",
    ]
    result = run_xai("chat", "-i", "--json", stdin="\n".join(lines).encode() + b"\n")
    assert result.code == 0, result
    [answer] = [json.loads(line) for line in result.stdout.splitlines()]
    assert "Budget: a reserve of 40,000 euros" in answer["content"]
    assert [f["name"] for f in answer["files"]] == ["report.pdf"]
    assert result.stderr == (
        "xai: attached report.pdf to the next question\n"
        "xai: no such file: nope.txt (neither a local path nor a file id)\n"
        "xai: unknown command /bogus; /file PATH|ID attaches a file · /quit (or Ctrl-D) leaves · /help\n"
    )
    assert srv.calls("UploadFile") == 1 and srv.calls("GetCompletionChunk") == 1
    assert srv.stored() == ["report.pdf"]  # attached to the recorded conversation until it expires


def test_a_session_goes_on_with_the_latest_conversation(chat_server, report: Path) -> None:
    srv: ChatServer = chat_server()
    first = json.loads(run_xai("chat", "How did revenue grow?", "-f", str(report), "--json").stdout)
    result = run_xai("chat", "-i", "-c", "--json", stdin=b"What is the budget reserve?\n")
    assert result.code == 0, result
    answer = json.loads(result.stdout)
    assert (answer["conversation"], answer["turn"]) == (first["conversation"], 2)
    assert "Budget: a reserve" in answer["content"] and srv.calls("UploadFile") == 1
