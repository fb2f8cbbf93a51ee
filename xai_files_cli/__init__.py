"""xai: xAI's Files API and file-backed chat from the terminal."""

__version__ = "0.1.0"
