"""The same operations through the official xai-sdk, run as a separate process by benchmarks/run.py.

Usage: python benchmarks/sdk_ops.py OP ARGS...   (XAI_API_KEY and SDK_API_HOST in the environment)
  upload PATH            -> prints the new id
  download ID DEST       -> writes the content to DEST (the SDK returns it whole, in memory)
  batch DIR              -> uploads every file in DIR with batch_upload (50 at once, the SDK default)
  ls                     -> lists every file, following pagination tokens, prints JSON lines
  chat PATH QUESTION     -> uploads PATH, streams an answer about it, deletes the file
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _client():
    from xai_sdk import Client

    return Client(api_key=os.environ["XAI_API_KEY"], api_host=os.environ["SDK_API_HOST"])


def main(op: str, *args: str) -> None:
    client = _client()
    if op == "upload":
        print(client.files.upload(args[0]).id)
    elif op == "download":
        Path(args[1]).write_bytes(client.files.content(args[0]))
    elif op == "batch":
        paths = sorted(str(p) for p in Path(args[0]).iterdir())
        results = client.files.batch_upload(paths)
        failed = [r for r in results.values() if isinstance(r, BaseException)]
        print(f"{len(results) - len(failed)} ok, {len(failed)} failed")
    elif op == "ls":
        token = None
        while True:
            page = client.files.list(limit=100, pagination_token=token)
            for f in page.data:
                print(json.dumps({"id": f.id, "filename": f.filename, "size": f.size}))
            if not page.HasField("pagination_token"):
                break
            token = page.pagination_token
    elif op == "chat":
        from xai_sdk.chat import file, user

        uploaded = client.files.upload(args[0])
        try:
            chat = client.chat.create(model="grok-4")
            chat.append(user(args[1], file(uploaded.id)))
            for _response, chunk in chat.stream():
                sys.stdout.write(chunk.content)
                sys.stdout.flush()
            sys.stdout.write("\n")
        finally:
            client.files.delete(uploaded.id)
    else:
        raise SystemExit(f"unknown op {op}")


if __name__ == "__main__":
    main(*sys.argv[1:])
