"""A Files server in front of an emulator that changes how ListFiles behaves, for listing tests.

`ListingProxy(upstream_target)` serves `xai_api.Files` on 127.0.0.1:<free port> over real gRPC
and forwards ListFiles, RetrieveFile and DeleteFile to the emulator (with the caller's
`authorization`), except that it can:

- `filters="reject"`: answer any ListFiles that carries a filter with INVALID_ARGUMENT, as a
  server without the filter expression would;
- `filters="ignore"`: drop the filter and answer as if none was sent (a server predating it);
- `fail_after=N`: answer the first N ListFiles calls, then fail every later one with UNAVAILABLE
  (a server failing in the middle of a listing);
- record every ListFiles request it received (`requests`), to see what the client asked for.
"""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc


class ListingProxy(files_pb2_grpc.FilesServicer):
    """See the module docstring; use as a context manager or call `stop()`."""

    def __init__(self, upstream_target: str, *, filters: str = "pass", fail_after: int | None = None) -> None:
        if filters not in ("pass", "reject", "ignore"):
            raise ValueError(f"unknown filters mode {filters!r}")
        self.filters = filters
        self.fail_after = fail_after
        self.requests: list[files_pb2.ListFilesRequest] = []
        self._lock = threading.Lock()
        self._channel = grpc.insecure_channel(upstream_target)
        self._upstream = files_pb2_grpc.FilesStub(self._channel)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        files_pb2_grpc.add_FilesServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def filters_sent(self) -> list[str]:
        """The filter of every ListFiles request received (empty string for none), in order."""
        with self._lock:
            return [r.filter if r.HasField("filter") else "" for r in self.requests]

    def stop(self) -> None:
        self._server.stop(grace=0)
        self._channel.close()

    def __enter__(self) -> ListingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- Files ------------------------------------------------------------------------------------
    def ListFiles(self, request: files_pb2.ListFilesRequest, context: grpc.ServicerContext) -> Any:
        with self._lock:
            self.requests.append(files_pb2.ListFilesRequest.FromString(request.SerializeToString()))
            calls = len(self.requests)
        if self.fail_after is not None and calls > self.fail_after:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the listing proxy stopped answering")
        if request.HasField("filter") and request.filter:
            if self.filters == "reject":
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "filter is not supported")
            if self.filters == "ignore":
                request.ClearField("filter")
        return self._forward(self._upstream.ListFiles, request, context)

    def RetrieveFile(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._forward(self._upstream.RetrieveFile, request, context)

    def DeleteFile(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._forward(self._upstream.DeleteFile, request, context)

    def _forward(self, method: Any, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = [(k, v) for k, v in context.invocation_metadata() if k == "authorization"]
        try:
            return method(request, metadata=metadata, timeout=30)
        except grpc.RpcError as error:
            context.abort(error.code(), error.details() or "")
