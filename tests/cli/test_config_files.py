"""The config files on disk: private from the first byte, atomic, never widened, never
overwritten when corrupt, refused when symlinked or foreign-owned, safe under concurrent writers."""

from __future__ import annotations

import fcntl
import os
import platform
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT
from tests.support.processes import xai_command, xai_subprocess_env
from xai_files_cli.settings import config_store
from xai_files_cli.settings.config_store import ConfigStore

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

KEY = "xai-filekeyDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"


def config_dir() -> Path:
    return Path(os.environ["XAI_CONFIG_DIR"])


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def login(*args: str, key: str = KEY) -> object:
    return run_xai("auth", "login", "--no-verify", *args, stdin=key.encode())


@pytest.fixture
def wide_umask() -> object:
    """umask 0: nothing but our own mode arguments can keep the files private."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_files_are_0600_from_the_first_byte_in_a_0700_dir(wide_umask: object) -> None:
    """Every file descriptor the store creates is already 0600 before a byte is written."""
    seen: list[tuple[str, int, int]] = []
    real_open, real_write = os.open, os.write

    def spy_open(path: object, flags: int, *args: object, **kw: object) -> int:
        fd = real_open(path, flags, *args, **kw)  # type: ignore[arg-type]
        if flags & os.O_CREAT:
            seen.append((str(path), stat.S_IMODE(os.fstat(fd).st_mode), os.fstat(fd).st_size))
        return fd

    def spy_write(fd: int, data: object) -> int:
        assert stat.S_IMODE(os.fstat(fd).st_mode) & 0o077 == 0, "bytes written to a non-private file"
        return real_write(fd, data)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", spy_open)
        patch.setattr(os, "write", spy_write)
        result = login("-p", "work")

    assert result.code == 0, result
    ours = [(Path(path).name, m, size) for path, m, size in seen if Path(path).parent == config_dir()]
    names = [name for name, _, _ in ours]
    assert any(n.startswith(".credentials.") and n.endswith(".tmp") for n in names), names
    assert any(n.startswith(".config.toml.") and n.endswith(".tmp") for n in names), names
    assert all(m == 0o600 and size == 0 for _, m, size in ours), ours
    assert mode(config_dir()) == 0o700
    assert mode(config_dir() / "credentials") == 0o600
    assert mode(config_dir() / "config.toml") == 0o600
    assert not [p for p in config_dir().iterdir() if p.name.endswith(".tmp")]


def test_rewrite_keeps_a_narrower_mode_and_never_widens(wide_umask: object) -> None:
    assert login("-p", "a").code == 0
    creds = config_dir() / "credentials"
    os.chmod(creds, 0o400)
    assert login("-p", "b").code == 0
    assert mode(creds) == 0o400
    assert set(tomllib.loads(creds.read_text())) == {"a", "b"}


def test_group_readable_file_is_kept_but_warned_about_once() -> None:
    assert login("-p", "a").code == 0
    creds = config_dir() / "credentials"
    os.chmod(creds, 0o644)
    result = run_xai("auth", "status", "--offline")
    assert result.code == 0, result
    warning = f"xai: warning: {creds} is readable by other users (mode 0644); run `chmod 600 {creds}`\n"
    assert result.stderr.count(warning) == 1, result.stderr
    assert login("-p", "b").code == 0
    assert mode(creds) == 0o644  # the CLI never changes the user's permissions behind their back


@pytest.mark.parametrize("which", ["config.toml", "credentials"])
@pytest.mark.parametrize(
    "content",
    [b"this is = not [toml", b"default_profile = 3\n", b"[profiles]\nwork = 'x'\n", b"\xff\xfe\x00garbage"],
    ids=["syntax", "wrong-type", "not-a-table", "not-utf8"],
)
def test_corrupt_file_is_reported_with_its_path_and_never_overwritten(
    server: object, monkeypatch: pytest.MonkeyPatch, which: str, content: bytes
) -> None:
    if which == "credentials" and content.startswith(b"default_profile"):
        content = b"[work]\napi_key = 3\n"
    if which == "credentials" and content.startswith(b"[profiles]"):
        content = b"work = 'x'\n"
    config_dir().mkdir(mode=0o700, parents=True)
    path = config_dir() / which
    path.write_bytes(content)
    os.chmod(path, 0o600)
    monkeypatch.setenv("XAI_API_HOST", server.target)  # type: ignore[attr-defined]
    monkeypatch.setenv("XAI_API_KEY", KEY)

    for argv in (
        ("auth", "login", "--no-verify"),
        ("auth", "logout"),
        ("config", "set", "model", "m"),
        ("config", "use", "local"),
        ("config", "list"),
        ("auth", "status"),
        ("files", "ls"),
    ):
        result = run_xai(*argv, stdin=KEY.encode())
        assert result.code == 2, (argv, result)
        assert f"cannot parse {path}" in result.stderr, result.stderr
        assert "will not overwrite it" in result.stderr
        assert "Traceback" not in result.stderr
        assert path.read_bytes() == content
    assert run_xai("config", "path", "config").stdout == f"{config_dir() / 'config.toml'}\n"


def test_credentials_parse_error_never_quotes_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir().mkdir(mode=0o700, parents=True)
    path = config_dir() / "credentials"
    path.write_text(f'[work]\napi_key = "{KEY}\n')  # unterminated string holding a key
    os.chmod(path, 0o600)
    result = run_xai("auth", "status", "--offline")
    assert result.code == 2
    assert KEY not in result.stderr and KEY[4:] not in result.stderr


def test_symlinked_credentials_are_refused_for_reading_and_writing(tmp_path: Path) -> None:
    """A link could make us read someone else's key, or write ours somewhere else."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text(f'[default]\napi_key = "{KEY}"\n')
    config_dir().mkdir(mode=0o700, parents=True)
    (config_dir() / "credentials").symlink_to(elsewhere)
    before = elsewhere.read_bytes()

    for argv in (("auth", "token"), ("auth", "login", "--no-verify"), ("files", "ls")):
        result = run_xai(*argv, stdin=KEY.encode())
        assert result.code == 2, (argv, result)
        assert "refusing to read API keys through a symlink" in result.stderr
        assert KEY not in result.stdout
    assert elsewhere.read_bytes() == before
    assert (config_dir() / "credentials").is_symlink()


def test_symlinked_config_is_read_but_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles-config.toml"
    target.write_text('[profiles.work]\nmodel = "from-dotfiles"\n')
    config_dir().mkdir(mode=0o700, parents=True)
    (config_dir() / "config.toml").symlink_to(target)
    assert run_xai("-p", "work", "config", "get", "model").stdout == "from-dotfiles\n"
    result = run_xai("-p", "work", "config", "set", "model", "other")
    assert result.code == 2, result
    assert "refusing to write through a symlink" in result.stderr
    assert "from-dotfiles" in target.read_text()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
@pytest.mark.parametrize("what", ["credentials", "dir"])
def test_foreign_owned_file_or_dir_is_refused(what: str) -> None:
    assert login().code == 0
    target = config_dir() if what == "dir" else config_dir() / "credentials"
    before = (config_dir() / "credentials").read_bytes()
    os.chown(target, 12345, 12345)
    for argv in (("auth", "login", "--no-verify", "-p", "x"), ("auth", "token")):
        result = run_xai(*argv, stdin=KEY.encode())
        if what == "dir" and argv[1] == "token":
            continue  # reading files we own inside a foreign dir is allowed; writing is not
        assert result.code == 2, (argv, result)
        assert "owned by another user (uid 12345)" in result.stderr
    assert (config_dir() / "credentials").read_bytes() == before


def test_world_writable_dir_is_refused_for_writing() -> None:
    config_dir().mkdir(parents=True)
    os.chmod(config_dir(), 0o777)
    result = login()
    assert result.code == 2, result
    assert "world-writable" in result.stderr
    assert not (config_dir() / "credentials").exists()


def test_failed_rename_leaves_the_old_file_and_no_temp() -> None:
    assert login("-p", "a").code == 0
    creds, cfg = config_dir() / "credentials", config_dir() / "config.toml"
    before = creds.read_bytes(), cfg.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_store.os, "replace", broken_replace)
        result = login("-p", "b")
    assert result.code == 2, result
    assert f"cannot write {creds}: No space left on device" in result.stderr
    assert (creds.read_bytes(), cfg.read_bytes()) == before
    assert sorted(p.name for p in config_dir().iterdir()) == [".lock", "config.toml", "credentials"]


def _login_subprocess(profile: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        xai_command("auth", "login", "--no-verify", "-p", profile),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=xai_subprocess_env(),
        cwd=REPO_ROOT,
    )


# flock(2) syscall numbers, to see a process waiting for the lock in /proc/PID/syscall.
FLOCK_SYSCALL = {"x86_64": "73", "aarch64": "32"}.get(platform.machine())


def waiting_in_flock(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0] == FLOCK_SYSCALL
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(
    FLOCK_SYSCALL is None or not Path("/proc/self/syscall").exists(), reason="needs Linux /proc"
)
def test_concurrent_logins_each_leave_one_complete_version() -> None:
    """Eight `auth login` processes released at the same instant; none loses another's update.

    The test holds the directory lock until every process is blocked waiting for it, so all eight
    really contend; without the lock they would never wait and this test fails.
    """
    keys = {f"p{i}": f"xai-concurrent{i}" + "E" * 30 for i in range(8)}
    store = ConfigStore(config_dir())
    store.ensure_directory()
    held = os.open(config_dir() / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    procs = {}
    try:
        for name, key in keys.items():
            procs[name] = proc = _login_subprocess(name)
            assert proc.stdin is not None
            proc.stdin.write(key.encode())
            proc.stdin.close()
        deadline = time.monotonic() + 60
        while not all(waiting_in_flock(proc.pid) for proc in procs.values()):
            assert time.monotonic() < deadline, "the logins never waited for the lock"
            assert all(proc.poll() is None for proc in procs.values()), "a login ran without the lock"
            time.sleep(0.02)
    finally:
        os.close(held)  # release: all eight race for the lock now
    for proc in procs.values():
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()  # type: ignore[union-attr]
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    creds = tomllib.loads((config_dir() / "credentials").read_text())
    assert {name: table["api_key"] for name, table in creds.items()} == keys
    cfg = tomllib.loads((config_dir() / "config.toml").read_text())
    assert set(cfg["profiles"]) == set(keys)
    assert mode(config_dir() / "credentials") == 0o600
    assert not [p for p in config_dir().iterdir() if p.name.endswith(".tmp")]


WRITER = """
import sys
from pathlib import Path
from xai_files_cli.settings.config_store import ConfigStore
store = ConfigStore(Path(sys.argv[1]))
i = 0
while True:
    with store.transaction() as (cfg, creds):
        creds.keys = {f"k{j}": "xai-" + str(i) * 40 for j in range(50)}
    i += 1
    if i == 3:
        sys.stdout.write("ready\\n")
        sys.stdout.flush()
"""


def test_sigkill_during_writes_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """kill -9 while a writer rewrites the file in a loop; the file always parses, whole."""
    directory = tmp_path / "cfg"
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory)],
            stdout=subprocess.PIPE,
            env=xai_subprocess_env(),
            cwd=REPO_ROOT,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        keys = ConfigStore(directory).load_credentials().keys
        assert len(keys) == 50
        assert len({value for value in keys.values()}) == 1  # one version, never a mix
        leftovers = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
        assert all(name.startswith(".credentials.") for name in leftovers)


def test_config_dir_defaults_to_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XAI_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = run_xai("config", "path", "dir")
    assert result.stdout == f"{tmp_path / 'xdg' / 'xai'}\n"
