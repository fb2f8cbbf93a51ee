"""Blocking gRPC core: channels, errors, transfers, clients. Knows nothing of Typer, rich or config.

Public surface (imported lazily, so `output/` can use `core.records` without loading grpc):
`connect`, `FilesClient`, `FileInfo`, `Page`, `Progress`, `NullProgress`, `ChatClient`, `ChatReply`,
`ModelsClient`.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "connect": "xai_files_cli.core.channel",
    "FilesClient": "xai_files_cli.core.files",
    "ChatClient": "xai_files_cli.core.chat",
    "ChatReply": "xai_files_cli.core.chat",
    "ModelsClient": "xai_files_cli.core.model_catalog",
    "FileInfo": "xai_files_cli.core.records",
    "Page": "xai_files_cli.core.records",
    "Progress": "xai_files_cli.core.transfer",
    "NullProgress": "xai_files_cli.core.transfer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
