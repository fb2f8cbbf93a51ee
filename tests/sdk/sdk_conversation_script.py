"""A conversation through the official xai-sdk, unchanged; run in a subprocess by test_sdk_conversation.py.

Usage: python sdk_conversation_script.py PORT API_KEY PDF_PATH
Stores a first answer about the PDF (`store_messages=True`), continues it without the file
(`previous_response_id=`), branches a streamed second follow-up off it, reads and deletes it
(`client.chat.get_stored_completion`, `delete_stored_completion`), asks `client.auth.get_api_key_info()`
and fills a pydantic model with `chat.parse`. Prints one JSON object with what it saw.
(xai_sdk is imported only here, never in the test process: two copies of the xai_api protos in one
process collide.)
"""

from __future__ import annotations

import datetime
import json
import sys

import grpc
from pydantic import BaseModel
from xai_sdk import Client
from xai_sdk.chat import file, user


class Figures(BaseModel):
    revenue_growth: int
    reserve: float
    due: datetime.date | None = None


def main(port: str, api_key: str, path: str) -> None:
    client = Client(api_key=api_key, api_host=f"localhost:{port}")
    uploaded = client.files.upload(path)
    try:
        first_chat = client.chat.create(model="grok-4", store_messages=True, include=["inline_citations"])
        first_chat.append(user("How did revenue grow?", file(uploaded.id)))
        first = first_chat.sample()

        follow_up = client.chat.create(model="grok-4", previous_response_id=first.id, store_messages=True)
        follow_up.append(user("What is the budget reserve?"))
        second = follow_up.sample()

        branch = client.chat.create(
            model="grok-4", previous_response_id=first.id, include=["inline_citations"]
        )
        branch.append(user("What is the main risk?"))
        streamed = None
        for response, _chunk in branch.stream():
            streamed = response
        assert streamed is not None

        stored = client.chat.get_stored_completion(first.id)
        deleted = client.chat.delete_stored_completion(first.id)
        try:
            client.chat.get_stored_completion(first.id)
            after_delete = "still there"
        except grpc.RpcError as error:
            after_delete = error.code().name

        info = client.auth.get_api_key_info()

        parse_chat = client.chat.create(model="grok-4")
        parse_chat.append(user("Key figures of the report", file(uploaded.id)))
        _, figures = parse_chat.parse(Figures)
        print(
            json.dumps(
                {
                    "file_id": uploaded.id,
                    "first": {
                        "id": first.id,
                        "content": first.content,
                        "citations": list(first.citations),
                        "inline": [
                            [c.id, c.collections_citation.file_id, c.collections_citation.chunk_id]
                            for c in first.inline_citations
                        ],
                    },
                    "second": {"content": second.content, "id": second.id},
                    "branch": {
                        "content": streamed.content,
                        "chunk_ids": [c.collections_citation.chunk_id for c in streamed.inline_citations],
                    },
                    "stored": [response.content for response in stored],
                    "deleted": deleted,
                    "after_delete": after_delete,
                    "key": {
                        "redacted": info.redacted_api_key,
                        "name": info.name,
                        "team_id": info.team_id,
                        "created": info.create_time.seconds,
                    },
                    "figures": figures.model_dump(mode="json"),
                }
            )
        )
    finally:
        client.files.delete(uploaded.id)


if __name__ == "__main__":
    main(*sys.argv[1:4])
