"""Shell completion: committed scripts are current, the shells really complete, file ids come from
the server within a short deadline, and nothing ever reaches the user's terminal on failure."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.processes import xai_subprocess_env
from xai_files_cli.cli import complete_ids
from xai_files_cli.cli.completion import SCRIPT_FILES, completion_script

COMPLETIONS = REPO_ROOT / "completions"


def test_committed_scripts_match_a_fresh_generation(tmp_path: Path) -> None:
    """Regenerate into a temp dir with the generator and diff against completions/."""
    result = subprocess.run(
        [sys.executable, str(COMPLETIONS / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        env=xai_subprocess_env(),
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    for name in SCRIPT_FILES.values():
        fresh = (tmp_path / name).read_text()
        assert fresh == (COMPLETIONS / name).read_text(), (
            f"completions/{name} is stale: run completions/generate.py"
        )


@pytest.fixture
def xai_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has an `xai` that runs this checkout, like an installed one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "xai"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m xai_files_cli "$@"\n')
    shim.chmod(0o755)
    env = xai_subprocess_env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_runtime_protocol_serves_the_committed_scripts(xai_on_path: dict[str, str]) -> None:
    """What a shell gets from `_XAI_COMPLETE=source_<shell> xai` is exactly the committed file."""
    for shell, name in SCRIPT_FILES.items():
        env = {**xai_on_path, "_XAI_COMPLETE": f"source_{shell}"}
        result = subprocess.run(["xai"], capture_output=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode() == (COMPLETIONS / name).read_text() + "\n"
        assert result.stderr == b""


def test_show_prints_the_script() -> None:
    for shell, name in SCRIPT_FILES.items():
        result = run_xai("completion", "show", shell)
        assert (result.code, result.stdout, result.stderr) == (0, (COMPLETIONS / name).read_text(), "")
    assert completion_script("zsh").startswith("#compdef xai\n")  # fpath autoload needs line 1


def test_show_detects_the_shell_and_refuses_unknown_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    assert run_xai("completion", "show").stdout == (COMPLETIONS / "xai.fish").read_text()
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    result = run_xai("completion", "show")
    assert result.code == 2 and "xai completion show bash|zsh|fish" in result.stderr
    assert run_xai("completion", "show", "powershell").code == 2


@pytest.mark.parametrize(
    ("shell", "where"),
    [
        ("bash", "data/bash-completion/completions/xai"),
        ("zsh", "home/.zfunc/_xai"),
        ("fish", "conf/fish/completions/xai.fish"),
    ],
)
def test_install_writes_where_the_shell_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: str, where: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    monkeypatch.delenv("BASH_COMPLETION_USER_DIR", raising=False)
    monkeypatch.setenv("SHELL", f"/bin/{shell}")
    result = run_xai("completion", "install")
    assert result.code == 0, result
    target = tmp_path / where
    assert target.read_text() == (COMPLETIONS / SCRIPT_FILES[shell]).read_text()
    assert result.stderr.startswith(f"xai: wrote {shell} completion to {target}\n")
    assert result.stdout == ""
    assert not stat.S_IMODE(target.stat().st_mode) & 0o022


def bash_complete(env: dict[str, str], *words: str) -> list[str]:
    """Source completions/xai.bash in a real bash and complete the last of `words`."""
    script = COMPLETIONS / "xai.bash"
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
        '_xai_completion xai; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "--norc", "-c", program], capture_output=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()
    return [line for line in result.stdout.decode().splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completes_commands_options_and_profiles(xai_on_path: dict[str, str]) -> None:
    assert "auth" in bash_complete(xai_on_path, "xai", "au")
    assert bash_complete(xai_on_path, "xai", "auth", "") == ["login", "status", "logout", "token"]
    assert bash_complete(xai_on_path, "xai", "auth", "status", "--off") == ["--offline"]
    run_xai("config", "set", "-p", "work", "model", "m")  # same XAI_CONFIG_DIR as the subprocess
    assert bash_complete(xai_on_path, "xai", "config", "use", "") == ["local", "work"]
    assert bash_complete(xai_on_path, "xai", "config", "use", "w") == ["work"]


# -- file ids ---------------------------------------------------------------------------------
def root_ctx(**params: object) -> SimpleNamespace:
    """What Typer hands a completer: a context whose root holds the global options parsed so far."""
    root = SimpleNamespace(params={"api_host": None, "profile": None, "local": False, **params})
    return SimpleNamespace(find_root=lambda: root)


def upload(xai: object, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(b"hello")
    result = xai("files", "upload", str(path))  # type: ignore[operator]
    assert result.code == 0, result
    return result.stdout.strip()


def test_file_ids_complete_from_the_server(xai: object, tmp_path: Path) -> None:
    first = upload(xai, tmp_path, "report.pdf")
    second = upload(xai, tmp_path, "notes.txt")
    got = complete_ids.complete_file_id(root_ctx(), "")
    assert got == [(second, "notes.txt"), (first, "report.pdf")]  # newest first
    assert complete_ids.complete_file_id(root_ctx(), first[:-2]) == [(first, "report.pdf")]
    assert complete_ids.complete_file_id(root_ctx(), "zzz") == []


def test_hostile_filenames_are_neutralised_for_the_shell(xai: object, tmp_path: Path) -> None:
    file_id = upload(xai, tmp_path, "a'$(touch pwned)`x`:b|c\u202e.txt")
    [(value, help_text)] = complete_ids.complete_file_id(root_ctx(), "")
    assert value == file_id
    assert help_text == "a???touch pwned??x??b?c?.txt"
    assert complete_ids._safe_help('q"\n\x1b[2J\u202eé.pdf') == "q????2J?é.pdf"


def test_file_ids_use_the_global_options(
    xai: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_id = upload(xai, tmp_path, "a.txt")
    target = os.environ["XAI_API_HOST"]
    monkeypatch.setenv("XAI_API_HOST", "127.0.0.1:9")  # wrong: the flag must win
    assert complete_ids.complete_file_id(root_ctx(api_host=target), "") == [(file_id, "a.txt")]
    assert complete_ids.complete_file_id(root_ctx(local=True), "") == []


@pytest.fixture
def blackhole() -> object:
    """A TCP listener that accepts connections (kernel backlog) but never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


def test_a_silent_server_cannot_block_the_shell(
    blackhole: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = blackhole.getsockname()
    monkeypatch.setenv("XAI_API_HOST", f"{host}:{port}")
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    started = time.monotonic()
    assert complete_ids.complete_file_id(root_ctx(), "") == []
    assert time.monotonic() - started < 5  # the deadline is ~1 s; 5 s is far from any shell's patience


def test_without_a_key_nothing_is_contacted(
    blackhole: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = blackhole.getsockname()
    monkeypatch.setenv("XAI_API_HOST", f"{host}:{port}")
    assert complete_ids.complete_file_id(root_ctx(), "") == []
    blackhole.setblocking(False)
    with pytest.raises(BlockingIOError):
        blackhole.accept()


def test_a_corrupt_config_yields_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = Path(os.environ["XAI_CONFIG_DIR"])
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text("not = [toml")
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    assert complete_ids.complete_file_id(root_ctx(), "") == []
    assert complete_ids.complete_profile("") == []


def _uses_file_id_completion(param: object) -> bool:
    """Whether Typer wrapped `complete_file_id` as this parameter's completer."""
    custom = getattr(param, "_custom_shell_complete", None)
    for cell in getattr(custom, "__closure__", None) or ():
        wrapped = getattr(cell.cell_contents, "__wrapped__", cell.cell_contents)
        if wrapped is complete_ids.complete_file_id:
            return True
    return False


def _id_argument_completers() -> dict[str, bool]:
    import typer

    from xai_files_cli.cli.app import app

    files = typer.main.get_command(app).commands["files"]  # type: ignore[attr-defined]
    return {
        name: any(_uses_file_id_completion(p) for p in command.params)
        for name, command in files.commands.items()
        if name in ("get", "cat", "rm", "share", "unshare")
    }


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
@pytest.mark.slow
def test_bash_completes_file_ids_end_to_end(
    xai: object, tmp_path: Path, xai_on_path: dict[str, str], server: object
) -> None:
    completers = _id_argument_completers()
    assert all(completers.values()), completers  # every id argument completes from the server
    wired = sorted(completers)
    file_id = upload(xai, tmp_path, "report.pdf")
    env = {**xai_on_path, "XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY}  # type: ignore[attr-defined]
    for name in wired:
        assert bash_complete(env, "xai", "files", name, file_id[:6]) == [file_id], name
    env["XAI_API_HOST"] = "127.0.0.1:9"  # nothing listens: still no output, no error
    assert bash_complete(env, "xai", "files", wired[0], "") == []


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_completes_commands_and_profiles(xai_on_path: dict[str, str]) -> None:
    run_xai("config", "set", "-p", "work", "model", "m")
    program = f"source {COMPLETIONS / 'xai.fish'}; complete -C 'xai auth '; complete -C 'xai config use w'"
    result = subprocess.run(
        ["fish", "--no-config", "-c", program], capture_output=True, env=xai_on_path, timeout=60
    )
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["login", "logout", "status", "token", "work"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_script_parses_and_its_eval_runs_no_server_text(
    xai: object, tmp_path: Path, xai_on_path: dict[str, str], server: object
) -> None:
    """zsh `eval`s what `xai` prints: a hostile filename from the server must stay inert text."""
    syntax = subprocess.run(["zsh", "-n", str(COMPLETIONS / "_xai")], capture_output=True, timeout=60)
    assert syntax.returncode == 0, syntax.stderr.decode()
    file_id = upload(xai, tmp_path, "x$(touch pwned)`touch pwned2`'a.txt")
    env = {**xai_on_path, "XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY}  # type: ignore[attr-defined]
    program = (
        "_arguments() { print -r -- \"$@\" }; words=(xai files cat ''); CURRENT=4; "
        'eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _XAI_COMPLETE=complete_zsh xai 2>/dev/null)'
    )
    result = subprocess.run(
        ["zsh", "-f", "-c", program], capture_output=True, env=env, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()
    assert f'"{file_id}":"x??touch pwned??touch pwned2??a.txt"' in result.stdout.decode()
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
