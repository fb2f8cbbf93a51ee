"""Helpers shared by the test packages (never test modules themselves):

- `constants`: the test key, the repository root, the interpreter, MIB;
- `cli`: `run_xai`, the whole CLI in this process with injected streams, and failing streams;
- `processes`: `xai` and other Python programs in a subprocess (default Ctrl-C handling restored);
- `emulator`: the one way tests start emulators, in this process (`Emulators`) or as an
  `xai serve` subprocess (`ServeProcess`), and `seed`;
- `raw_grpc`: a raw-stub Files client, chat request builders and status helpers, for emulator tests;
- `samples`: sample documents (notes, a minimal PDF);
- `tls`: a throw-away CA and server certificates made with `openssl`;
- `timing`: retry and back-off waits shrunk for tests that meet a dead or busy server;
- `latency_proxy`: a loopback relay that makes a local server look far away.
"""
