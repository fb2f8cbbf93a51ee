"""Blocking gRPC core: channels, errors, transfers, clients. Knows nothing of Typer, rich or settings.

Import the modules themselves (`core.channel.connect`, `core.files.FilesClient`, `core.records`, ...):
this package imports nothing, so `output/` can use `core.records` without loading grpc.
"""
