"""Regenerate the committed protobuf/gRPC Python code from protos/.

Usage: python protos/generate.py [OUT_ROOT]

OUT_ROOT defaults to the repository root, so the code lands in xai_files_cli/_pb/.
The sync test calls this with a temporary OUT_ROOT and diffs the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PROTO_ROOT.parent
PACKAGE_DIR = Path("xai_files_cli") / "_pb"


def generate(out_root: Path = REPO_ROOT) -> list[Path]:
    """Compile every .proto under protos/xai_files_cli/_pb into out_root; return the written files."""
    sources = sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    (out_root / PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    include = str(Path(protoc.__file__).parent / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(s.relative_to(PROTO_ROOT)) for s in sources),
    ]
    import os

    cwd = os.getcwd()
    os.chdir(PROTO_ROOT)  # protoc resolves relative source names against -I roots
    try:
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
    finally:
        os.chdir(cwd)
    return sorted((out_root / PACKAGE_DIR).glob("*_pb2*.py*"))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT
    for path in generate(target):
        print(path)
