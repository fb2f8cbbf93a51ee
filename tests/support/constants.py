"""Values every test package uses."""

from __future__ import annotations

import sys
from pathlib import Path

TEST_KEY = "xai-testkey0123456789abcdefghijklmnopqrstuv"
REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
MIB = 1024 * 1024
