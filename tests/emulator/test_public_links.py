"""Public links of the local server open over HTTP: bytes, headers, ranges, 404s, limits, ports.

`xai serve` serves each data dir's links on its own loopback HTTP port (recorded in the data dir);
`xai --local` makes links on that same port, which open once `xai serve` runs on the data dir.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import tracemalloc
import urllib.error
import urllib.request

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import FakeClock, ServeProcess, run_serve
from xai_files_cli.emulator.public_http import PublicLinks, PublicLinkServer, byte_range, public_base
from xai_files_cli.emulator.storage import Storage

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400  # 102,408 bytes
PDF = b"%PDF-1.7\n" + b"0123456789" * 50


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.fixture
def linked(make_server):
    """A server serving its public links on a free port, with a fake clock."""
    clock = FakeClock()
    running, client = make_server(clock=clock, serve_public_links=True, public_port=0)
    return running, client, clock


def test_a_shared_file_downloads_with_its_type_length_and_name(linked):
    running, client, _ = linked
    created = client.upload("chart é.png", PNG)
    url = client.create_url(created.id).public_url
    assert url.startswith(running.public_links.base_url)
    assert running.public_links.port != running.port  # not the gRPC port
    status, headers, body = fetch(url)
    assert (status, body) == (200, PNG)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Length"] == str(len(PNG))
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Disposition"] == "inline; filename*=UTF-8''chart%20%C3%A9.png"
    assert headers["Cache-Control"] == "no-store"
    status, head_headers, head_body = fetch(url, method="HEAD")
    assert (status, head_body) == (200, b"")
    assert head_headers["Content-Length"] == str(len(PNG))
    assert head_headers["Content-Type"] == "image/png"


END = len(PNG) - 1


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=102400-", 102400, END),
        ("bytes=-8", END - 7, END),
        ("bytes=100-999999", 100, END),
    ],
)
def test_a_single_range_gets_206_with_its_bytes(linked, header, first, last):
    _, client, _ = linked
    url = client.create_url(client.upload("pic.png", PNG).id).public_url
    status, headers, body = fetch(url, Range=header)
    assert status == 206
    assert body == PNG[first : last + 1]
    assert headers["Content-Range"] == f"bytes {first}-{last}/{len(PNG)}"
    assert headers["Content-Length"] == str(last - first + 1)


def test_an_unsatisfiable_range_is_416_and_odd_ranges_get_the_whole_file(linked):
    _, client, _ = linked
    url = client.create_url(client.upload("doc.pdf", PDF).id).public_url
    status, headers, body = fetch(url, Range=f"bytes={len(PDF)}-")
    assert (status, body) == (416, b"")
    assert headers["Content-Range"] == f"bytes */{len(PDF)}"
    for ignored in ("bytes=0-1,5-9", "bytes=9-2", "lines=1-2", "bytes=abc"):
        status, headers, body = fetch(url, Range=ignored)
        assert (status, body, headers["Content-Type"]) == (200, PDF, "application/pdf"), ignored


def test_a_link_is_404_after_unshare_expiry_or_delete_and_for_unknown_tokens(linked):
    running, client, clock = linked
    ids = {name: client.upload(f"{name}.png", PNG).id for name in ("revoked", "expiring", "deleted")}
    urls = {
        name: client.create_url(file_id, expires_after=60 if name == "expiring" else None).public_url
        for name, file_id in ids.items()
    }
    assert all(fetch(url)[0] == 200 for url in urls.values())

    assert client.revoke_url(ids["revoked"]).revoked
    client.delete(ids["deleted"])
    clock.advance(61)
    base = running.public_links.base_url
    for url in (*urls.values(), base + "A" * 32, base + "x/y"):
        status, _, body = fetch(url)
        assert status == 404, url
        assert body.startswith(b"no such public link") or body == b"not found\n"
        assert fetch(url, method="HEAD")[0] == 404
    assert fetch(base.replace("/public/", "/elsewhere"))[0] == 404


def test_a_large_file_streams_without_buffering(linked):
    running, client, _ = linked
    size = 24 * 1024 * 1024
    record = running.storage.begin_upload("clip.mp4", None)
    chunk = b"\0\0\0\x18ftypmp42" + b"v" * (1024 * 1024 - 12)
    for _ in range(size // len(chunk)):
        record.write(chunk)
    file_id = record.commit().id
    url = client.create_url(file_id).public_url
    tracemalloc.start()
    try:
        received = 0
        with urllib.request.urlopen(url, timeout=30) as response:
            while block := response.read(256 * 1024):
                received += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 4 * 1024 * 1024  # the reader's blocks plus small change: the server holds no copy


def test_connections_beyond_the_limit_get_503_at_once(tmp_path):
    store = Storage(tmp_path / "d")
    links = PublicLinks(PublicLinkServer(store, 0, max_connections=2), moved_from=None)
    idle = [socket.create_connection(("127.0.0.1", links.port), timeout=5) for _ in range(2)]
    try:
        # Both slots are taken once their handler threads wait for a request line.
        with socket.create_connection(("127.0.0.1", links.port), timeout=5) as extra:
            assert extra.recv(200).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        for sock in idle:
            sock.close()
        idle.clear()
        assert _status_when_free(links.base_url + "A" * 32) == 404
    finally:
        for sock in idle:
            sock.close()
        links.stop()
        store.close()


def _status_when_free(url: str, attempts: int = 50) -> int:
    """The status of `url` once a connection slot is free again (closed sockets free theirs as
    their handler threads notice the close)."""
    for _ in range(attempts):
        status = fetch(url)[0]
        if status != 503:
            return status
    return 503


def test_the_public_port_is_kept_for_the_data_dir_and_moves_when_taken(make_server, tmp_path):
    data_dir = tmp_path / "data"
    first, _ = make_server(data_dir, serve_public_links=True)
    port = first.public_links.port
    first.stop(grace=0)
    again, client = make_server(data_dir, serve_public_links=True)
    assert again.public_links.port == port and again.public_links.moved_from is None
    url = client.create_url(client.upload("pic.png", PNG).id).public_url
    assert url.startswith(public_base(port))
    again.stop(grace=0)

    with socket.socket() as squatter:  # someone else takes the port meanwhile
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        moved, client = make_server(data_dir, serve_public_links=True)
        assert moved.public_links.moved_from == port
        assert moved.public_links.port != port
        [listed] = client.list().data
        assert listed.public_url == url.replace(f":{port}/", f":{moved.public_links.port}/")
        assert fetch(listed.public_url)[1]["Content-Length"] == str(len(PNG))


def test_a_server_without_http_makes_links_on_the_data_dir_port(make_server, tmp_path):
    """In-process servers (and `--local`) do not serve links but make them on the recorded port."""
    plain, client = make_server(tmp_path / "data")
    url = client.create_url(client.upload("pic.png", PNG).id).public_url
    port = plain.storage.public_port()
    assert port is not None and url.startswith(public_base(port))
    plain.stop(grace=0)
    serving, _ = make_server(tmp_path / "data", serve_public_links=True)
    assert serving.public_links.port == port
    assert fetch(url)[2] == PNG


def test_byte_range_parsing_follows_http_rules():
    assert byte_range(None, 10) is None
    assert byte_range("bytes=0-0", 10) == (0, 0)
    assert byte_range("bytes=-20", 10) == (0, 9)
    assert byte_range(" bytes=3- ", 10) == (3, 9)
    for ignored in ("bytes=-", "bytes=5-2", "bytes=1-2,4-5", "items=1-2", ""):
        assert byte_range(ignored, 10) is None, ignored


def test_the_url_from_files_share_opens_while_xai_serve_runs(tmp_path, monkeypatch):
    """The issue as reported: `curl "$(xai files share ID)"` against the local server. The link is
    made with `--local` (which says when it opens), then opened through `xai serve`."""
    data_dir = tmp_path / "data"
    picture = tmp_path / "pic.png"
    picture.write_bytes(PNG)
    monkeypatch.setenv("XAI_DATA_DIR", str(data_dir))
    uploaded = run_xai("--local", "files", "upload", str(picture), "--json")
    assert uploaded.code == 0, uploaded.stderr
    shared = run_xai("--local", "files", "share", json.loads(uploaded.stdout)["id"])
    assert shared.code == 0, shared.stderr
    url = shared.stdout.strip()
    assert f"the link opens while `xai serve` runs on the same data dir ({data_dir})" in shared.stderr

    serve = ServeProcess(data_dir)
    try:
        assert serve.public_line == f"xai serve: public links on {serve.public_base}\n"
        assert url.startswith(serve.public_base)
        assert _curl(url) == PNG
        monkeypatch.setenv("XAI_API_HOST", serve.target)
        monkeypatch.setenv("XAI_API_KEY", serve.key)
        file_id = json.loads(uploaded.stdout)["id"]
        again = run_xai("files", "share", file_id)
        assert (again.code, again.stdout.strip(), again.stderr) == (0, url, "")
    finally:
        serve.proc.send_signal(signal.SIGTERM)
    assert serve.finish()[0] == 0


def test_xai_serve_takes_a_public_port_flag(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    serve = ServeProcess(tmp_path / "d", "--public-port", str(wanted))
    try:
        assert serve.public_base == public_base(wanted)
        client = serve.client()
        url = client.create_url(client.upload("doc.pdf", PDF).id).public_url
        client.close()
        assert url.startswith(public_base(wanted)) and fetch(url)[2] == PDF
    finally:
        serve.proc.send_signal(signal.SIGTERM)
    assert serve.finish()[0] == 0


def test_a_taken_public_port_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        args = ("--port", "0", "--public-port", str(taken), "--data-dir", str(tmp_path))
        result = run_serve(*args, key="k" * 20)
    assert result.returncode == 1
    assert result.stderr == f"xai: cannot serve public links on 127.0.0.1:{taken}: Address already in use\n"


def _curl(url: str) -> bytes:
    """The body curl fetches (urllib when curl is not installed)."""
    curl = shutil.which("curl")
    if curl is None:
        return fetch(url)[2]
    done = subprocess.run([curl, "-sS", "--fail", url], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout
