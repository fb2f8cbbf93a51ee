"""On-disk profiles: `config.toml` (no secrets) and `credentials` (API keys), kept private and atomic.

Layout, in `XAI_CONFIG_DIR` or else `platformdirs.user_config_dir("xai")`, a directory of mode 0700:

    config.toml   default_profile = "work"
                  [profiles.work]  api_host = "…", model = "…", ca_cert = "/path/ca.pem"
    credentials   [work]  api_key = "xai-…"          (mode 0600)

Rules:
- A new file is 0600 from its first byte: `os.open(O_CREAT | O_EXCL, 0o600)` on a temp file.
- Every write is temp file + fsync + rename in the same directory, holding an exclusive lock on
  `.lock`, so concurrent writers serialise their read-modify-write and each leaves a complete file.
- A rewrite keeps the existing file's mode; permissions are never widened. A file readable by
  group or others gets a one-line warning with a `chmod 600` hint.
- A symlinked or foreign-owned path is refused (exit 2): reading keys through it, or writing at all.
- A file that does not parse is reported with its path and the parser's message, and is never
  overwritten.
- A transaction writes both files or neither: every target is checked and its new content written
  to a temp file before the first rename, so a refused target (a symlink) leaves the other alone.
- Keys and tables of `config.toml` that this version does not know (at the top level or in a
  profile), and a `credentials` profile's keys other than `api_key`, are kept as they were on every
  rewrite; only comments are lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from xai_files_cli.errors import UsageError
from xai_files_cli.record import Record, field

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; writes are still atomic renames
    fcntl = None  # type: ignore[assignment]

CONFIG_FILE = "config.toml"
CREDENTIALS_FILE = "credentials"
LOCK_FILE = ".lock"
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PROFILE_KEYS = ("api_host", "model", "ca_cert")

_CONFIG_HEADER = "# xai configuration. No secrets here: API keys live in `credentials` (`xai auth login`).\n"
_CREDENTIALS_HEADER = "# xai API keys, one table per profile. Keep this file private (mode 0600).\n"

Warn = Callable[[str], None]


def default_config_dir() -> Path:
    """`XAI_CONFIG_DIR` if set, else the platform's user config dir for `xai`."""
    override = os.environ.get("XAI_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("xai", appauthor=False))


def check_profile_name(name: str) -> str:
    """Return `name` if it is a valid profile name, else raise UsageError (exit 2)."""
    if not PROFILE_NAME.fullmatch(name):
        raise UsageError(
            f"invalid profile name {name!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)",
        )
    return name


class ConfigData(Record, frozen=False):
    """The parsed `config.toml`: the default profile and each profile's plain settings.

    `extra` holds the top-level keys and tables this version does not know, and `profile_extra`
    each profile's unknown keys; both are written back as they were read (a deleted profile's go
    with it).
    """

    default_profile: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    profile_extra: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.extra)  # tomli_w puts plain keys before tables itself
        if self.default_profile:
            doc["default_profile"] = self.default_profile
        doc["profiles"] = {
            name: {**self.profile_extra.get(name, {}), **values}
            for name, values in sorted(self.profiles.items())
        }
        return doc


class Credentials(Record, frozen=False):
    """The parsed `credentials` file: API key per profile.

    `extra` holds each profile's keys this version does not know (a newer version's, or the user's),
    written back as they were read: forgetting a profile's key keeps them, deleting the profile
    (`forget_profile`) removes them too.
    """

    keys: dict[str, str] = field(default_factory=dict, repr=False)  # never show keys in a repr
    extra: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # may hold secrets too

    def has_profile(self, name: str) -> bool:
        """Whether anything is stored for profile `name`."""
        return name in self.keys or name in self.extra

    def forget_profile(self, name: str) -> None:
        """Remove everything stored for profile `name`."""
        self.keys.pop(name, None)
        self.extra.pop(name, None)

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for name in sorted(self.keys.keys() | self.extra.keys()):
            table = dict(self.extra.get(name, {}))
            if name in self.keys:
                table["api_key"] = self.keys[name]
            if table:
                doc[name] = table
        return doc


class ConfigStore:
    """Reads and atomically rewrites the two files of one config directory."""

    def __init__(self, directory: Path | None = None, *, warn: Warn | None = None) -> None:
        self.directory = directory if directory is not None else default_config_dir()
        self._warn = warn
        self._warned: set[Path] = set()

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def credentials_path(self) -> Path:
        return self.directory / CREDENTIALS_FILE

    # -- reading -----------------------------------------------------------------------------
    def load_config(self) -> ConfigData:
        """Parse `config.toml`; a missing file is an empty config."""
        doc = self._read_toml(self.config_path, secret=False)
        return _config_from_toml(doc, self.config_path) if doc is not None else ConfigData()

    def load_credentials(self) -> Credentials:
        """Parse `credentials`; a missing file holds no keys."""
        doc = self._read_toml(self.credentials_path, secret=True)
        return _credentials_from_toml(doc, self.credentials_path) if doc is not None else Credentials()

    def _read_toml(self, path: Path, *, secret: bool) -> dict[str, Any] | None:
        st = _lstat_if_present(path, "read")
        if st is None:
            return None
        if stat.S_ISLNK(st.st_mode):
            if secret:
                raise UsageError(
                    f"refusing to read API keys through a symlink: {path}",
                    hint="replace the link with a regular file of mode 0600",
                    path=str(path),
                )
            st = _stat_or_usage(path)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{path} is not a regular file", path=str(path))
        _check_owner(path, st)
        self._warn_if_permissive(path, st)
        raw = _read_bytes(path)
        # Imported here: most commands find no config file, and then never parse one.
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on 3.10 only
            import tomli as tomllib
        try:
            return tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _corrupt(path, "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as error:
            raise _corrupt(path, str(error)) from None

    def _warn_if_permissive(self, path: Path, st: os.stat_result) -> None:
        if st.st_mode & 0o077 and path not in self._warned and self._warn is not None:
            self._warned.add(path)
            mode = stat.S_IMODE(st.st_mode)
            self._warn(f"{path} is readable by other users (mode {mode:04o}); run `chmod 600 {path}`")

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[tuple[ConfigData, Credentials]]:
        """Lock the directory, load both files, let the caller change them, then save what changed.

        The lock serialises concurrent `xai auth login` runs, so none of them loses another's
        update; each file is replaced by one rename, so readers see the old or the new version.
        Nothing is written if the body raises, or if either file is unreadable or corrupt.
        """
        self.ensure_directory()
        with self._lock():
            config = self.load_config()
            credentials = self.load_credentials()
            before = (config.to_toml(), credentials.to_toml())
            yield config, credentials
            import tomli_w  # only writing commands need it

            changed: list[tuple[Path, str]] = []
            if credentials.to_toml() != before[1]:
                changed.append(
                    (self.credentials_path, _CREDENTIALS_HEADER + tomli_w.dumps(credentials.to_toml()))
                )
            if config.to_toml() != before[0]:
                changed.append((self.config_path, _CONFIG_HEADER + tomli_w.dumps(config.to_toml())))
            self._write_all(changed)

    def ensure_directory(self) -> None:
        """Create the directory with mode 0700, or check that an existing one is safe to write in."""
        path = self.directory
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)  # an unusual umask must not leave it wider or narrower
            return
        except FileExistsError:
            pass
        except OSError as error:
            raise _cannot("create", path, error) from None
        st = _stat_or_usage(path)
        if not stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{path} is not a directory", path=str(path))
        _check_owner(path, st)
        if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            raise UsageError(
                f"refusing to store credentials in world-writable directory {path}",
                hint=f"run `chmod 700 {path}`",
                path=str(path),
            )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.directory / LOCK_FILE
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as error:
            raise UsageError(f"cannot lock {lock_path}: {error.strerror}", path=str(lock_path)) from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _write_all(self, changes: list[tuple[Path, str]]) -> None:
        """Replace every file in `changes` or none of them.

        Each target is checked and its new text written to a fsynced temp file before the first
        rename; should a later rename still fail, the files already replaced get their old bytes back.
        """
        staged: list[tuple[Path, Path, bytes | None]] = []  # (temp, target, the target's old bytes)
        replaced: list[tuple[Path, bytes | None]] = []
        try:
            for path, text in changes:
                old = self._check_target(path)
                staged.append((self._stage(path, text.encode("utf-8")), path, old))
            for temp, path, old in staged:
                _replace(temp, path)
                replaced.append((path, old))
        except BaseException:
            for temp, _, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            for path, old in reversed(replaced):
                self._restore(path, old)
            raise
        if staged:
            _fsync_directory(self.directory)

    def _check_target(self, path: Path) -> bytes | None:
        """Refuse a symlinked or foreign-owned target; return its current bytes (None if absent)."""
        st = _lstat_if_present(path, "write")
        if st is None:
            return None
        if stat.S_ISLNK(st.st_mode):
            raise UsageError(
                f"refusing to write through a symlink: {path}",
                hint="edit the link's target yourself, or replace the link with a regular file",
                path=str(path),
            )
        _check_owner(path, st)
        return _read_bytes(path)

    def _stage(self, path: Path, data: bytes) -> Path:
        """A fully written, fsynced temp file next to `path`, with `path`'s mode (0600 when new)."""
        st = _lstat_if_present(path, "write")
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o600  # keep the user's choice; never widen it
        tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise _cannot("write", path, error) from None
        return tmp

    def _restore(self, path: Path, old: bytes | None) -> None:
        """Best effort: put back what `path` held before this transaction replaced it."""
        with contextlib.suppress(OSError, UsageError):
            if old is None:
                os.unlink(path)
            else:
                _replace(self._stage(path, old), path)


def _replace(temp: Path, path: Path) -> None:
    try:
        os.replace(temp, path)
    except OSError as error:
        raise _cannot("write", path, error) from None


def _config_from_toml(doc: dict[str, Any], path: Path) -> ConfigData:
    default = doc.get("default_profile")
    if default is not None and (not isinstance(default, str) or not PROFILE_NAME.fullmatch(default)):
        raise _corrupt(path, "default_profile must be a profile name")
    profiles_doc = doc.get("profiles", {})
    if not isinstance(profiles_doc, dict):
        raise _corrupt(path, "[profiles] must be a table")
    profiles: dict[str, dict[str, str]] = {}
    profile_extra: dict[str, dict[str, Any]] = {}
    for name, values in profiles_doc.items():
        if not PROFILE_NAME.fullmatch(name) or not isinstance(values, dict):
            raise _corrupt(path, f"[profiles.{name}] is not a valid profile table")
        profile: dict[str, str] = {}
        for key in PROFILE_KEYS:
            if key in values:
                if not isinstance(values[key], str):
                    raise _corrupt(path, f"profiles.{name}.{key} must be a string")
                profile[key] = values[key]
        profiles[name] = profile
        unknown = {key: value for key, value in values.items() if key not in PROFILE_KEYS}
        if unknown:
            profile_extra[name] = unknown
    extra = {key: value for key, value in doc.items() if key not in ("default_profile", "profiles")}
    return ConfigData(default_profile=default, profiles=profiles, extra=extra, profile_extra=profile_extra)


def _credentials_from_toml(doc: dict[str, Any], path: Path) -> Credentials:
    keys: dict[str, str] = {}
    extra: dict[str, dict[str, Any]] = {}
    for name, values in doc.items():
        # Never quote a value from this file in an error: it may be a key.
        if not PROFILE_NAME.fullmatch(name) or not isinstance(values, dict):
            raise _corrupt(path, 'each profile must be a table like [name] with api_key = "…"')
        unknown = {field_name: value for field_name, value in values.items() if field_name != "api_key"}
        if unknown:
            extra[name] = unknown
        key = values.get("api_key")
        if key is None:
            continue
        if not isinstance(key, str):
            raise _corrupt(path, f"{name}.api_key must be a string")
        keys[name] = key
    return Credentials(keys=keys, extra=extra)


def _corrupt(path: Path, detail: str) -> UsageError:
    return UsageError(
        f"cannot parse {path}: {detail}",
        hint="fix or remove the file; xai will not overwrite it",
        path=str(path),
    )


def _cannot(verb: str, path: Path, error: OSError) -> UsageError:
    """`cannot read PATH: No such file or directory`: an OSError as the user's error."""
    return UsageError(f"cannot {verb} {path}: {error.strerror}", path=str(path))


def _stat_or_usage(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as error:
        raise _cannot("read", path, error) from None


def _lstat_if_present(path: Path, verb: str) -> os.stat_result | None:
    """`os.lstat(path)`, or None when nothing is there; any other failure is `cannot VERB PATH`."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _cannot(verb, path, error) from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _cannot("read", path, error) from None


def _check_owner(path: Path, st: os.stat_result) -> None:
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and st.st_uid != geteuid():
        raise UsageError(
            f"refusing to use {path}: it is owned by another user (uid {st.st_uid})",
            hint="use a config directory of your own, e.g. set XAI_CONFIG_DIR",
            path=str(path),
        )


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
