"""Examples at the end of every command's `--help`, as gh shows them: two to four real uses each.

`attach(app)` puts them into the epilogs once every command is registered. Each one runs as
written in tests/cli/test_help_examples.py against the local server, with `file_abc123` and
`file_def456` standing for ids of files that exist, `3f2a` for a logged conversation and
`api.x.ai:443` for the server's address; a command without examples fails that test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xai_files_cli.record import Record

if TYPE_CHECKING:
    import typer


class Example(Record):
    """One command line and what it does (shown as a `#` comment above it)."""

    does: str
    command: str


EXAMPLES: dict[str, tuple[Example, ...]] = {
    "": (
        Example(
            "Try any command against the embedded local server: no account needed", "xai --local files ls"
        ),
        Example("Log every call (method, status, time) to stderr", "xai -v files get file_abc123"),
        Example("Errors as one JSON object on stderr, for scripts", "xai --error-format json files ls"),
    ),
    "files upload": (
        Example("Upload a file; a script gets its id on stdout", "xai files upload report.pdf"),
        Example(
            "Store it under another name, deleted by the server after two days",
            'xai files upload scan.pdf --name "Q3 report.pdf" --expires-after 2d',
        ),
        Example("Upload what a command writes", "date | xai files upload - --name today.txt"),
        Example(
            "Keep the id for later commands; run again, it reuses the stored file instead of resending it",
            "ID=$(xai files upload notes.txt --skip-existing) && xai files get $ID",
        ),
    ),
    "files batch-upload": (
        Example("Upload everything under a folder, 50 at a time", "xai files batch-upload docs/"),
        Example(
            "Only the PDFs, expiring in 12 hours, 8 at a time",
            "xai files batch-upload 'docs/**/*.pdf' --expires-after 12h --concurrency 8",
        ),
        Example(
            "One JSON line per file, for a script", "xai files batch-upload docs/ --json > results.jsonl"
        ),
        Example(
            "Send only files not uploaded before (a re-run skips them), and record each in a manifest",
            "xai files batch-upload docs/ --skip-existing --manifest uploads.jsonl",
        ),
    ),
    "files ls": (
        Example("A table on a terminal, a JSON array when piped", "xai files ls"),
        Example("The ten largest files", "xai files ls --sort size --desc --limit 10"),
        Example("Every file's id, one per line", "xai files ls --all --ids"),
        Example(
            "Names of the files over 1 MB",
            "xai files ls --all --json | jq -r '.[] | select(.size > 1e6) | .filename'",
        ),
    ),
    "files get": (
        Example("Details of one file", "xai files get file_abc123"),
        Example("Several files as one JSON array", "xai files get file_abc123 file_def456 --json"),
    ),
    "files cat": (
        Example(
            "Save a file (replaced only once the download is complete)",
            "xai files cat file_abc123 -o report.pdf",
        ),
        Example("The text the server extracted from it", "xai files cat file_abc123 --text | head -20"),
        Example("Content to stdout, for a pipe", "xai files cat file_abc123 > copy.pdf"),
    ),
    "files rm": (
        Example("Delete a file (a terminal asks first)", "xai files rm file_abc123"),
        Example("Delete several without asking", "xai files rm file_abc123 file_def456 --yes"),
        Example(
            "What deleting the files older than 30 days would remove",
            "xai files rm --older-than 30d --dry-run",
        ),
    ),
    "files share": (
        Example("A public link anyone can open", "xai files share file_abc123"),
        Example(
            "A link that stops working after an hour, as JSON",
            "xai files share file_abc123 --expires-after 1h --json",
        ),
    ),
    "files unshare": (
        Example("Revoke a file's public link", "xai files unshare file_abc123"),
        Example("Revoke it and say so as JSON", "xai files unshare file_abc123 --json"),
    ),
    "chat": (
        Example(
            "Ask about a local file (uploaded for the question)",
            'xai chat "What are the main risks?" -f report.pdf',
        ),
        Example(
            "Ask about a file already uploaded, as JSON",
            'xai chat -f file_abc123 "List the deadlines" --json',
        ),
        Example("Ask about what a command prints", 'cat notes.txt | xai chat - "Summarise these notes"'),
    ),
    "models": (
        Example("The models this key can use, with prices", "xai models"),
        Example("Just their names", "xai models --json | jq -r '.[].name'"),
    ),
    "serve": (
        Example("An emulator on localhost:50051; clients send this key", "XAI_API_KEY=test-key xai serve"),
        Example(
            "On a free port, its data in ./emulator-data, any caller",
            "xai serve --port 0 --data-dir ./emulator-data --no-auth",
        ),
        Example(
            "Then, in another terminal", "XAI_API_HOST=localhost:50051 XAI_API_KEY=test-key xai files ls"
        ),
    ),
    "auth login": (
        Example(
            "Store the key from a file for the default profile (checked first)", "xai auth login < key.txt"
        ),
        Example(
            "A second profile with its own endpoint",
            "xai auth login --profile work --api-host api.x.ai:443 < key.txt",
        ),
        Example(
            "Store it without checking (offline)",
            'echo "$XAI_API_KEY" | xai auth login --profile ci --no-verify',
        ),
    ),
    "auth status": (
        Example("Whether each profile's key works", "xai auth status"),
        Example("Without calling the server, as JSON", "xai auth status --offline --json"),
    ),
    "auth logout": (
        Example("Forget the key of a profile", "xai auth logout --profile work"),
        Example("Forget every stored key", "xai auth logout --all"),
    ),
    "auth token": (
        Example("Hand the stored key to another tool", "export XAI_API_KEY=$(xai auth token)"),
        Example("The key of another profile", "xai auth token --profile work"),
    ),
    "config list": (
        Example("Every setting, where it comes from (flag, env, profile, default)", "xai config list"),
        Example("One profile's settings as JSON", "xai config list --profile work --json"),
    ),
    "config get": (
        Example("The model chat uses", "xai config get model"),
        Example("A profile's endpoint", "xai config get api_host --profile work"),
    ),
    "config set": (
        Example("Chat with another model by default", "xai config set model grok-4"),
        Example("Point a profile at a local server", "xai config set api_host localhost:50051 --profile dev"),
    ),
    "config unset": (
        Example("Back to the built-in model", "xai config unset model"),
        Example("Back to the default endpoint for a profile", "xai config unset api_host --profile work"),
    ),
    "config use": (
        Example("Make a profile the default", "xai config use work"),
        Example("Use the embedded local server from now on", "xai config use local"),
    ),
    "config delete": (
        Example("Remove a profile, its settings and its key", "xai config delete old-profile"),
        Example("Then check what is left", "xai config delete work && xai config list"),
    ),
    "config path": (
        Example("The config directory", "xai config path"),
        Example("The file that holds the keys", "xai config path credentials"),
    ),
    "completion show": (
        Example(
            "The bash script, where bash-completion looks",
            "xai completion show bash > ~/.local/share/bash-completion/completions/xai",
        ),
        Example("The zsh script, into a directory in fpath", "xai completion show zsh > ~/.zfunc/_xai"),
    ),
    "completion install": (
        Example("Install for the shell in $SHELL", "xai completion install"),
        Example("Install for fish", "xai completion install fish"),
    ),
    "conversations ls": (
        Example("The conversations chat logged, newest first", "xai conversations ls"),
        Example("The last five as JSON", "xai conversations ls --limit 5 --json"),
    ),
    "conversations show": (
        Example("The latest conversation", "xai conversations show"),
        Example("One conversation by an id prefix, as JSON", "xai conversations show 3f2a --json"),
    ),
    "conversations rm": (
        Example("Delete a conversation and the files it uploaded", "xai conversations rm 3f2a --yes"),
        Example("Delete them all", "xai conversations rm --all --yes"),
    ),
    "conversations path": (
        Example("Where the conversation log lives", "xai conversations path"),
        Example("Its size", 'du -h "$(xai conversations path)"'),
    ),
}


def epilog(path: str) -> str | None:
    """The `Examples:` block for the command at `path` (`files ls`; "" for `xai` itself)."""
    examples = EXAMPLES.get(path)
    if not examples:
        return None
    lines = ["Examples:", "", "\b"]
    for example in examples:
        lines += [f"  # {example.does}", f"  $ {example.command}"]
    return "\n".join(lines)


def attach(app: typer.Typer, prefix: str = "") -> None:
    """Append each registered command's examples to its epilog (recursively through the groups)."""
    if not prefix:
        app.info.epilog = _joined(app.info.epilog, epilog(""))
    for info in app.registered_commands:
        callback_name = info.callback.__name__ if info.callback is not None else ""
        name = info.name or callback_name.replace("_", "-")
        info.epilog = _joined(info.epilog, epilog(f"{prefix}{name}"))
    for group in app.registered_groups:
        instance = group.typer_instance
        if instance is None:
            continue
        name = group.name or instance.info.name or ""
        attach(instance, f"{prefix}{name} ")


def _joined(first: object, second: str | None) -> str | None:
    text = first if isinstance(first, str) else None
    if not second:
        return text
    return f"{text}\n\n{second}" if text else second
