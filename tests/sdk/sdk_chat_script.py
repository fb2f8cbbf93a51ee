"""Chat with a file through the official xai-sdk, unchanged; run in a subprocess by test_sdk_chat.py.

Usage: python sdk_chat_script.py PORT API_KEY PATH QUESTION
Prints one JSON object: the answers of sample() and stream(), their usage, and the stream's chunks.
(xai_sdk is imported only here, never in the test process: two copies of the xai_api protos in one
process collide.)
"""

from __future__ import annotations

import json
import sys

from xai_sdk import Client
from xai_sdk.chat import file, user


def usage_dict(usage) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_prompt_text_tokens": usage.cached_prompt_text_tokens,
        "server_side_tools_used": len(usage.server_side_tools_used),
        "cost_in_usd_ticks": usage.cost_in_usd_ticks,
    }


def main(port: str, api_key: str, path: str, question: str) -> None:
    client = Client(api_key=api_key, api_host=f"localhost:{port}")
    uploaded = client.files.upload(path)
    try:
        chat = client.chat.create(model="grok-4")
        chat.append(user(question, file(uploaded.id)))
        sampled = chat.sample()
        pieces = []
        streamed = None
        for response, chunk in chat.stream():
            if chunk.content:
                pieces.append(chunk.content)
            streamed = response
        assert streamed is not None
        print(
            json.dumps(
                {
                    "file_id": uploaded.id,
                    "sample": {
                        "content": sampled.content,
                        "model": sampled.proto.model,
                        "finish_reason": sampled.finish_reason,
                        "system_fingerprint": sampled.system_fingerprint,
                        "usage": usage_dict(sampled.usage),
                    },
                    "stream": {
                        "content": streamed.content,
                        "chunks": pieces,
                        "finish_reason": streamed.finish_reason,
                        "usage": usage_dict(streamed.usage),
                    },
                }
            )
        )
    finally:
        client.files.delete(uploaded.id)


if __name__ == "__main__":
    main(*sys.argv[1:5])
