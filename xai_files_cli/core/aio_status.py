"""A grpc.aio workaround: the status the server sent, where grpc.aio reports its own instead.

grpc.aio (grpc/grpc#36066, open in 1.85) replaces the status the server sent with INTERNAL
"Internal error from Core" when one of our writes was in flight as the call ended, which is how
a mid-upload UNAVAILABLE or a rejected name usually ends. Delete this module once grpc is fixed.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc
import grpc.aio

from xai_files_cli.core import rpc

T = TypeVar("T")


class FirstStatus:
    """The status a grpc.aio call settled with first: the server's, even when grpc masks it later.

    The status set first (seen by a done callback) is the server's; the one set last wins when the
    masking came first.
    """

    MASKED = "Internal error from Core"

    def __init__(self, call: grpc.aio.Call) -> None:
        self._first: tuple[grpc.StatusCode, str, Any] | None = None
        call.add_done_callback(self._record)

    def _record(self, call: grpc.aio.Call) -> None:
        if self._first is None:
            code = _settled(call.code())
            if code is grpc.StatusCode.OK:  # an OK is never given back as an error: nothing more to keep
                self._first = (code, "", None)
            elif code is not None:
                self._first = (code, _settled(call.details()) or "", _settled(call.trailing_metadata()))

    def true_error(self, error: grpc.RpcError) -> grpc.RpcError:
        """`error`, or the server's status (and trailers, a pushback among them) it masked."""
        if self._first is None or rpc.details_of(error) != self.MASKED:
            return error
        code, details, trailers = self._first
        if code is grpc.StatusCode.OK or (code == rpc.status_of(error) and details == self.MASKED):
            return error
        return grpc.aio.AioRpcError(code, trailing_metadata=trailers, details=details)


def _settled(coroutine: Coroutine[Any, Any, T]) -> T | None:
    """The result of a coroutine that finishes without waiting (a done call's `code()`), else None."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        value: T = stop.value
        return value
    except Exception:
        return None
    coroutine.close()
    return None
