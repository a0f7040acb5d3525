"""Every file a command is asked to write goes through here.

Three rules, so that a failed command never leaves a user with half an answer:

* **Checked first.** ``check_file``/``check_dir`` run before any decoding or model loading:
  a destination that is a directory where a file is wanted (or the reverse), in a folder
  that cannot be created or written, or a file that cannot be replaced, is one line and
  exit 2 at once, not an "internal error" after the model has run.
* **Atomic.** ``write_file`` writes a temporary file beside the destination and renames it
  over the destination: a reader sees the old file or the new one, never a part.
* **Whole or nothing.** ``Staged`` collects a command's files (frames, a contact sheet, its
  JSON) in a hidden folder beside ``--out`` and moves them in only when the command has
  succeeded; on any failure the folder goes, and ``--out`` is not even created.

Append-only results (``batch``'s JSONL) and the cache have their own rules
(``batch/jsonl.py``, ``cache.py``) but check their destinations here too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Optional, Union

from .errors import UsageError, VidtokError


def _nearest_existing(p: Path) -> Path:
    for parent in (p, *p.parents):
        if parent.exists():
            return parent
    return Path(".")


def _check_folder_for(p: Path, flag: str) -> None:
    """The folder that will hold ``p`` exists or can be created, and can be written."""
    base = _nearest_existing(p.parent)
    if not base.is_dir():
        raise UsageError(f"{flag}: {base} is a file, so no folder can be made there", p)
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{flag}: cannot write in {base} (permission denied or read-only)", p)


def check_file(path: Union[str, os.PathLike, None], flag: str) -> Optional[Path]:
    """``path`` as a file this command may write (None passes through)."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} is a directory; give a file name", p)
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{flag}: the file exists and cannot be replaced (read-only)", p)
    _check_folder_for(p, flag)
    return p


def check_dir(path: Union[str, os.PathLike, None], flag: str) -> Optional[Path]:
    """``path`` as a folder this command may create or write into (None passes through)."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} exists and is not a directory", p)
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise UsageError(f"{flag}: cannot write in this folder (permission denied or read-only)", p)
    else:
        _check_folder_for(p, flag)
    return p


def write_file(path: Union[str, os.PathLike], data: Union[str, bytes, Callable[[Path], None]]) -> Path:
    """Write ``data`` (text, bytes, or a function that writes the file it is given) to
    ``path`` atomically: a temporary file in the same folder, renamed over ``path``."""
    import tempfile  # here, not at import: `vidtok info` writes nothing and need not load it

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as e:
        raise VidtokError(f"cannot write: {e.strerror or e}", p) from None
    try:
        if callable(data):
            os.close(fd)
            data(Path(tmp))
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
        if p.exists():  # keep the replaced file's permissions
            os.chmod(tmp, p.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise VidtokError(f"cannot write: {e.strerror or e}", p) from None
        raise
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Staged:
    """A command's output folder that appears whole or not at all.

    >>> with Staged(out_dir, "--out") as st:      # nothing is created yet
    ...     image.save(st / "frame_000001.jpg")
    ...     st.commit()                         # files move into out_dir here

    Leaving the block without ``commit()`` (an error, ``--strict`` damage) deletes what
    was staged. ``Staged(None)`` stages nothing: ``bool(st)`` is False.
    """

    def __init__(self, out_dir: Union[str, os.PathLike, None], flag: str = "--out"):
        self.out = check_dir(out_dir, flag)
        self.tmp: Optional[Path] = None

    def __bool__(self) -> bool:
        return self.out is not None

    def __enter__(self) -> "Staged":
        if self.out is not None:
            import tempfile

            # in the nearest folder that exists: a failure creates no folder at all
            parent = _nearest_existing(self.out.parent)
            try:
                self.tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self.out.name}.", suffix=".tmp"))
            except OSError as e:
                raise VidtokError(f"cannot write: {e.strerror or e}", self.out) from None
        return self

    def __truediv__(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> None:
        import shutil

        if self.tmp is None:
            return
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            for name in os.listdir(self.tmp):
                os.replace(self.tmp / name, self.out / name)
        except OSError as e:
            raise VidtokError(f"cannot write: {e.strerror or e}", self.out) from None
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __exit__(self, *exc) -> None:
        import shutil

        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
