"""AppContext: what every command needs (streams, settings, clients), built lazily (gh's Factory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xai_files_cli.errors import AuthError
from xai_files_cli.output.io import IOStreams
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


@dataclass
class GlobalOptions:
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


@dataclass
class AppContext:
    """Per-invocation state; tests build one with `IOStreams.for_test()` and pass it to `run`."""

    io: IOStreams
    options: GlobalOptions = field(default_factory=GlobalOptions)
    json_errors: bool = False
    _settings: resolution.Settings | None = None
    _store: ConfigStore | None = None
    _channel: grpc.Channel | None = None
    _embedded: Any = None
    _closers: list[Any] = field(default_factory=list)

    def store(self) -> ConfigStore:
        """The config directory's files; warnings (e.g. a group-readable file) go to stderr once."""
        if self._store is None:
            self._store = ConfigStore(warn=lambda text: self.io.write_err(f"xai: warning: {text}\n"))
        return self._store

    def settings(self) -> resolution.Settings:
        if self._settings is None:
            self._settings = resolution.resolve(
                api_host_flag=self.options.api_host,
                profile_flag=self.options.profile,
                local_flag=self.options.local,
                ca_cert_flag=self.options.ca_cert,
                store=self.store(),
            )
        return self._settings

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

    def files(self) -> FilesClient:
        from xai_files_cli.core.files import FilesClient

        return FilesClient(self.channel(), timeout=self.options.timeout)

    def chat(self) -> ChatClient:
        from xai_files_cli.core.chat import ChatClient

        return ChatClient(self.channel(), timeout=self.options.timeout)

    def models(self) -> ModelsClient:
        from xai_files_cli.core.model_catalog import ModelsClient

        return ModelsClient(self.channel(), timeout=self.options.timeout)

    def close(self) -> None:
        """Close the channel and stop the embedded server, if any."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
