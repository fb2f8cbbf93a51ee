"""Helpers shared by the test packages; test modules import these, never each other.

The core of it:
- `constants`: the test key, the repository root, the interpreter, MIB;
- `cli`: `run_xai`, the whole CLI in this process with injected streams, and failing streams;
- `processes`: `xai` and other Python programs in a subprocess (default Ctrl-C handling restored);
- `emulator`: the one way tests start emulators, in this process (`Emulators`, behind the
  `emulators`, `server`, `chat_server` and `make_server` fixtures) or as an `xai serve`
  subprocess (`ServeProcess`), and `seed`/`seed_many`;
- `raw_grpc`: raw-stub clients, chat request builders and status helpers, for emulator tests;
- `samples`: sample documents (notes, minimal PDFs) and what the local engine answers about them;
- `tls`: a throw-away CA and server certificates made with `openssl`;
- `timing`: retry waits shrunk for tests that meet a dead server (the `fast_retries` fixture).
Each further module (network shims, real terminals, ...) says in its docstring what it is for.
"""
