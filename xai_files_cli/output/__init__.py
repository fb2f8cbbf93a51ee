"""Everything that draws: streams, tables, JSON, progress. Never imports grpc or _pb."""
