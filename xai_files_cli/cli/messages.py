"""Human messages on stderr: one line each, `xai: ` first, escaped, secrets masked, `--quiet` obeyed.

Commands say what happened through `AppContext.say` rather than writing to stderr themselves, so
no message can carry a control character from a server string or a key into the terminal.
"""

from __future__ import annotations

from xai_files_cli.output.io import IOStreams
from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.record import Record
from xai_files_cli.redact import redact


class Messages(Record, frozen=False):
    """Writes the CLI's one-line messages to stderr; `info` lines are dropped under `--quiet`."""

    io: IOStreams
    quiet: bool = False
    prefix: str = "xai"

    def say(self, text: str) -> None:
        """The outcome of a command whose result is this line (`logged in`, `deleted profile`)."""
        self._write(text)

    def info(self, text: str) -> None:
        """A progress note or summary that `--quiet` silences (`uploaded 3 files`)."""
        if not self.quiet:
            self._write(text)

    def plain(self, text: str) -> None:
        """A line for a person at a terminal, without the prefix (`Wrote 12 MB to out.bin`);
        `--quiet` silences it."""
        if not self.quiet:
            self.io.write_err(f"{escape_terminal(redact(text))}\n")

    def note(self, text: str) -> None:
        """Something that may surprise, e.g. an environment variable that wins over what was set."""
        self._write(f"note: {text}")

    def warn(self, text: str) -> None:
        """Something went wrong but the command carries on (a cleanup that failed)."""
        self._write(f"warning: {text}")

    def _write(self, text: str) -> None:
        self.io.write_err(f"{self.prefix}: {escape_terminal(redact(text))}\n")
