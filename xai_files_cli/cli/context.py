"""AppContext: what every command needs (streams, settings, clients), built lazily (gh's Factory)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from xai_files_cli.cli.messages import Messages
from xai_files_cli.cli.prompter import Prompter
from xai_files_cli.errors import AuthError
from xai_files_cli.output.io import IOStreams
from xai_files_cli.record import Record, field
from xai_files_cli.settings import resolution
from xai_files_cli.settings.config_store import ConfigStore

if TYPE_CHECKING:
    import grpc

    from xai_files_cli.core.chat import ChatClient
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.model_catalog import ModelsClient

NO_KEY_HINT = "run `xai auth login`, set XAI_API_KEY, or use --local for the embedded local server"


def ca_cert_of(settings: resolution.Settings) -> bytes | None:
    """The PEM roots the settings ask for (`--ca-cert`, XAI_CA_CERT, profile `ca_cert`), checked.

    Raises UsageError (exit 2, before any connection) for a missing or invalid bundle.
    """
    if settings.local or not settings.ca_cert:
        return None
    from xai_files_cli.settings.ca import load_ca_cert

    return load_ca_cert(settings.ca_cert, settings.ca_cert_source)


class GlobalOptions(Record, frozen=False):
    """Options given before the subcommand (`xai --local files ls`)."""

    api_host: str | None = None
    profile: str | None = None
    local: bool = False
    ca_cert: str | None = None
    timeout: float | None = None
    quiet: bool = False
    verbose: int = 0
    color: str = "auto"
    error_format: str = "text"


class AppContext(Record, frozen=False):
    """Per-invocation state; tests build one with `IOStreams.for_test()` and pass it to `run`."""

    io: IOStreams
    options: GlobalOptions = field(default_factory=GlobalOptions)
    json_errors: bool = False
    _settings: resolution.Settings | None = None
    _store: ConfigStore | None = None
    _channel: grpc.Channel | None = None
    _embedded: Any = None

    @classmethod
    def for_completion(cls, root_params: Mapping[str, Any]) -> AppContext:
        """A context for shell completion: the global options parsed so far, nothing ever written to
        the terminal (no warnings about config files either)."""
        options = GlobalOptions(
            api_host=root_params.get("api_host"),
            profile=root_params.get("profile"),
            local=bool(root_params.get("local")),
            ca_cert=root_params.get("ca_cert"),
        )
        return cls(io=IOStreams.detached(), options=options, _store=ConfigStore(warn=None))

    @property
    def say(self) -> Messages:
        """Human messages on stderr (`xai: ...`), escaped, `info` lines silenced by --quiet."""
        return Messages(self.io, quiet=self.options.quiet)

    @property
    def prompter(self) -> Prompter:
        """Questions on stderr, answers from stdin: confirm, read a line, read a secret."""
        return Prompter(self.io)

    def store(self) -> ConfigStore:
        """The config directory's files; warnings (e.g. a group-readable file) go to stderr once."""
        if self._store is None:
            self._store = ConfigStore(warn=self.say.warn)
        return self._store

    def settings(self) -> resolution.Settings:
        if self._settings is None:
            settings = resolution.resolve(
                api_host_flag=self.options.api_host,
                profile_flag=self.options.profile,
                local_flag=self.options.local,
                ca_cert_flag=self.options.ca_cert,
                store=self.store(),
            )
            resolution.refuse_remote_flags(
                settings, api_host_flag=self.options.api_host, ca_cert_flag=self.options.ca_cert
            )
            self._settings = settings
        return self._settings

    def resolved_settings(self) -> resolution.Settings | None:
        """The settings if this invocation has resolved them already (never resolves: for error reports)."""
        return self._settings

    def settings_for(self, profile: str | None) -> resolution.Settings:
        """The effective settings of `profile` when given, else of the invocation's selected profile."""
        if profile is None:
            return self.settings()
        return resolution.resolve(
            api_host_flag=self.options.api_host,
            profile_flag=profile,
            ca_cert_flag=self.options.ca_cert,
            store=self.store(),
        )

    def target_profile(self, profile: str | None) -> str:
        """The profile a command changes: its own `--profile`, else the invocation's; name checked."""
        return resolution.check_profile_name(profile or self.settings().profile)

    def channel(self) -> grpc.Channel:
        """The one channel of this invocation; starts the embedded server for `--local`."""
        if self._channel is None:
            # Every check that needs no network comes first: no key means exit 3, no I/O at all.
            settings = self.settings()
            resolution.require_defined_profile(settings, self.store())
            from xai_files_cli.core.channel import connect

            ca_cert: bytes | None = None
            if settings.local:
                from xai_files_cli.emulator.embedded import start_embedded

                self._embedded = start_embedded()
                target, key = self._embedded.target, self._embedded.api_key
            else:
                if not settings.api_key:
                    message = f"no API key configured for profile '{settings.profile}'"
                    raise AuthError(message, hint=NO_KEY_HINT)
                ca_cert = ca_cert_of(settings)
                target, key = settings.api_host, settings.api_key
            self._channel = connect(target, key, ca_cert=ca_cert, call_timeout=self.options.timeout)
        return self._channel

    def unreached_target(self) -> str | None:
        """The server this invocation's channel dials when it has no connection to it now, else None."""
        if self._channel is None or self._embedded is not None:
            return None
        from xai_files_cli.core.channel import is_connected

        return None if is_connected(self._channel) else getattr(self._channel, "target", None)

    def files(self) -> FilesClient:
        from xai_files_cli.core.files import FilesClient

        return FilesClient(self.channel(), timeout=self.options.timeout)

    def chat(self) -> ChatClient:
        from xai_files_cli.core.chat import ChatClient

        return ChatClient(self.channel(), timeout=self.options.timeout)

    def models(self) -> ModelsClient:
        from xai_files_cli.core.model_catalog import ModelsClient

        return ModelsClient(self.channel(), timeout=self.options.timeout)

    @contextmanager
    def files_at(
        self,
        target: str,
        api_key: str,
        *,
        timeout: float,
        ca_cert: bytes | None = None,
        connect_within_deadline: bool = True,
    ) -> Iterator[FilesClient]:
        """A FilesClient on a channel of its own to `target`, closed on leaving: for a key that is
        not (yet) this invocation's, e.g. `auth login`/`auth status` checks, and for completion.

        Connecting gets at most half of `timeout`, as with `--timeout`, unless
        `connect_within_deadline` is False (completion: a slow handshake may use the whole second).
        """
        from xai_files_cli.core.channel import connect
        from xai_files_cli.core.files import FilesClient

        call_timeout = timeout if connect_within_deadline else None
        channel = connect(target, api_key, ca_cert=ca_cert, call_timeout=call_timeout)
        try:
            yield FilesClient(channel, timeout=timeout)
        finally:
            channel.close()

    def close(self) -> None:
        """Close the channel and stop the embedded server, if any."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None
