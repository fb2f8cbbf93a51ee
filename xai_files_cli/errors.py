"""Domain errors and the exit codes they map to; imports nothing from the package but `redact`."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from xai_files_cli.redact import redact


class ExitCode(IntEnum):
    """Documented process exit codes (README, `xai --help`)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    REJECTED = 5
    UNAVAILABLE = 6
    PARTIAL = 7
    INTERRUPTED = 130
    TERMINATED = 143


class XaiError(Exception):
    """Base of every error the CLI reports as one line on stderr.

    Attributes:
        message: what happened, for a person.
        status: the gRPC status name when the error came from the server (e.g. "NOT_FOUND").
        hint: an optional next step ("set XAI_API_KEY or run `xai auth login`").
        retryable: whether trying again later may succeed.
    """

    exit_code: ExitCode = ExitCode.ERROR
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: str | None = None,
        hint: str | None = None,
        path: str | None = None,
        file_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.hint = hint
        self.path = path
        self.file_id = file_id

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        """The one JSON form of an error (stderr with --json, a failed batch line, a cut-off chat),
        with every secret in the message and hint masked."""
        return {
            "code": self.status or ExitCode(self.exit_code).name,
            "message": redact(self.message),
            "exit_code": int(self.exit_code),
            "retryable": self.retryable,
            "hint": redact(self.hint) if self.hint is not None else None,
            "path": self.path,
            "file_id": self.file_id,
        }


class InternalError(XaiError):
    """INTERNAL, UNKNOWN, DATA_LOSS, a size mismatch or a local I/O failure."""


class UsageError(XaiError):
    """Bad flags or local input, found before any RPC."""

    exit_code = ExitCode.USAGE


class AuthError(XaiError):
    """No key configured, UNAUTHENTICATED or PERMISSION_DENIED."""

    exit_code = ExitCode.AUTH


class NotFoundError(XaiError):
    """NOT_FOUND: an unknown or deleted id."""

    exit_code = ExitCode.NOT_FOUND


class RejectedError(XaiError):
    """The server's rules refused the request (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...)."""

    exit_code = ExitCode.REJECTED


class UnavailableError(XaiError):
    """Unreachable or too slow after retries (UNAVAILABLE, DEADLINE_EXCEEDED)."""

    exit_code = ExitCode.UNAVAILABLE
    retryable = True


class PartialFailure(XaiError):
    """Some items of a batch failed while others succeeded."""

    exit_code = ExitCode.PARTIAL


class Interrupted(XaiError):
    """SIGINT, or the user declined a prompt; SIGTERM when `terminated` (exit 143)."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, *, terminated: bool = False, **fields: str | None) -> None:
        super().__init__(message, **fields)
        if terminated:
            self.exit_code = ExitCode.TERMINATED


class AlreadyReported(XaiError):
    """Ends a command whose failures were each reported as they happened (every item of a batch
    failed): the process exits with their code and nothing more is printed."""

    def __init__(self, exit_code: ExitCode) -> None:
        super().__init__("already reported")
        self.exit_code = exit_code


class Terminated(BaseException):
    """Raised from the SIGTERM handler so cleanup runs like on Ctrl-C."""
