"""Blocking gRPC core: channels, errors, transfers, clients. Knows nothing of Typer, rich or config."""
