"""Drive the Files API through the official xai-sdk, unchanged; run in a subprocess by test_sdk_files.py.

Usage: python sdk_files_script.py PORT API_KEY WORKDIR
Prints one JSON object with what each SDK call returned (or the status name it failed with).
(xai_sdk is imported only here, never in the test process: two copies of the xai_api protos in one
process collide.)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import grpc
from xai_sdk import Client

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def status(call) -> str:  # type: ignore[no-untyped-def]
    """The gRPC status name a call failed with, or "OK"."""
    try:
        call()
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.filename for f in response.data]


def main(port: str, api_key: str, workdir: str) -> None:
    client = Client(api_key=api_key, api_host=f"localhost:{port}")
    out: dict[str, object] = {}

    path = os.path.join(workdir, "from-path.txt")
    big = os.urandom(7 * 1024 * 1024 + 3)  # three SDK chunks
    with open(path, "wb") as handle:
        handle.write(big)
    from_path = client.files.upload(path)
    from_bytes = client.files.upload(b"bytes content", filename="b-bytes.txt")
    with_ttl = client.files.upload(b"short-lived", filename="ttl.txt", expires_after=3600)
    empty = client.files.upload(b"", filename="empty.txt")
    image = client.files.upload(PNG, filename="Image.png")
    out["uploads"] = {
        "from_path": [from_path.filename, from_path.size, from_path.id.startswith("file_")],
        "from_bytes": [from_bytes.filename, from_bytes.size],
        "ttl_seconds": with_ttl.expires_at.seconds - with_ttl.created_at.seconds,
        "ttl_has_expiry": with_ttl.HasField("expires_at"),
        "plain_has_expiry": from_bytes.HasField("expires_at"),
        "empty_size": empty.size,
    }
    out["lists"] = {
        f"{sort}/{order}": names(client.files.list(sort_by=sort, order=order))
        for sort in ("created_at", "filename", "size")
        for order in ("asc", "desc")
    }
    paged, token, pages = [], None, 0
    while True:
        page = client.files.list(limit=1, sort_by="size", order="desc", pagination_token=token)
        pages += 1
        paged.extend(names(page))
        if not page.HasField("pagination_token"):
            break
        token = page.pagination_token
    out["paged"] = {"names": paged, "pages": pages}
    out["filtered"] = names(client.files.list(filter="size_bytes > 12 AND size_bytes < 100"))
    got = client.files.get(from_bytes.id)
    out["get"] = [got.id == from_bytes.id, got.filename, got.size]
    out["content"] = {
        "path_sha_equal": hashlib.sha256(client.files.content(from_path.id)).digest()
        == hashlib.sha256(big).digest(),
        "bytes": client.files.content(from_bytes.id).decode(),
        "empty": client.files.content(empty.id).decode(),
    }
    url = client.files.create_public_url(image.id)
    again = client.files.create_public_url(image.id, expires_after=600)
    revoked = client.files.revoke_public_url(image.id)
    out["public_url"] = {
        "url": url.public_url,
        "stable": again.public_url == url.public_url,
        "expiry_seconds_set": again.HasField("expires_at"),
        "revoked": [revoked.revoked, revoked.public_url == url.public_url],
        "text_refused": status(lambda: client.files.create_public_url(from_bytes.id)),
    }
    deleted = client.files.delete(from_bytes.id)
    out["delete"] = [deleted.id == from_bytes.id, deleted.deleted]
    unknown = "file_00000000-0000-4000-8000-000000000000"
    out["errors"] = {
        "get_deleted": status(lambda: client.files.get(from_bytes.id)),
        "delete_twice": status(lambda: client.files.delete(from_bytes.id)),
        "get_unknown": status(lambda: client.files.get(unknown)),
        "content_unknown": status(lambda: client.files.content(unknown)),
        "bad_filename": status(lambda: client.files.upload(b"x", filename='bad"name.txt')),
        "bad_ttl": status(lambda: client.files.upload(b"x", filename="t.txt", expires_after=60)),
        "bad_filter": status(lambda: client.files.list(filter="size_bytes >")),
        "wrong_key_list": status(
            lambda: Client(api_key="wrong-key", api_host=f"localhost:{port}").files.list()
        ),
        "wrong_key_upload": status(
            lambda: Client(api_key="wrong-key", api_host=f"localhost:{port}").files.upload(
                b"x", filename="x.txt"
            )
        ),
    }
    out["final_names"] = sorted(names(client.files.list()))
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
