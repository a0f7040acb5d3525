"""Errors users see. Each carries the file it is about and maps to a documented exit code.

The CLI prints ``vidtok: error: <path>: <problem>`` on one line and exits with
``exit_code``; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations


class VidtokError(Exception):
    """Base of every error vidtok raises on purpose (exit code 1)."""

    exit_code = 1

    def __init__(self, problem: str, path: object | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class UsageError(VidtokError):
    """A bad option value or combination (exit code 2, like a CLI usage error)."""

    exit_code = 2


class InputError(VidtokError):
    """The path cannot be read: missing, a directory, no permission (exit code 3)."""

    exit_code = 3


class NotAVideoError(VidtokError):
    """The file opens but holds no decodable video: empty, text, audio-only,
    truncated before any frame, zero decodable frames (exit code 4)."""

    exit_code = 4


class DamagedVideoError(NotAVideoError):
    """FFmpeg reported damaged data and ``--strict`` was given (exit code 4)."""


class DecodeTimeoutError(VidtokError):
    """A decoder made no progress for longer than the timeout (exit code 5)."""

    exit_code = 5


class MissingDependencyError(VidtokError):
    """An optional component is not installed; the message names the extra (exit code 6)."""

    exit_code = 6


class WeightsUnavailableError(VidtokError):
    """Model weights are neither in the local cache nor downloadable now (offline); the
    message names the model and the command that fetches it (exit code 8)."""

    exit_code = 8


EXIT_CODES = {
    0: "success",
    1: "other failure (see message)",
    2: "bad usage or option value",
    3: "input path missing, a directory or unreadable",
    4: "not a decodable video (empty, not a video, audio only, truncated, no frames; damaged data with --strict)",
    5: "decoder timed out (made no progress)",
    6: "an optional dependency is missing",
    7: "batch: some items failed (their error records are in the output; the rest succeeded)",
    8: "model weights not in the local cache and the hub cannot be reached (offline)",
}


def import_failure(e: ImportError, install: str) -> VidtokError:
    """An ``ImportError`` as what it is. A package that is not installed: exit 6 with
    ``install`` (what to run). One that is installed but fails to import (a module of the
    same name earlier on ``sys.path`` shadowing it, a broken install): exit 1 naming the real
    cause, never "install it", which would hide that cause."""
    import importlib.util

    name = (e.name or "").partition(".")[0]
    try:
        found = bool(name) and importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if isinstance(e, ModuleNotFoundError) and not found:
        return MissingDependencyError(f"{install} ({e})")
    where = getattr(e, "path", None)
    shadow = (f"; {where} shadows the installed '{name}' (rename it or run from another folder)"
              if where and "-packages" not in str(where) else "")
    return VidtokError(f"'{name or e}' is installed but fails to import: {e}{shadow}")
