"""A local server of the same gRPC API (Files, Chat, Models) backed by SQLite and files on disk."""
