"""On-disk cache of visual tokens (a second question on the same video skips decoding and
the vision tower) and of selections (keyframes, cuts). Keyed by the file's content (size + hash of its head and tail, cheap on
big files) and everything that changes the tokens (model, sampler, frame size); stored as
safetensors in the user cache directory, written atomically (temp file + rename)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only where tokens are saved or loaded: selections need
    from .compress.tokenset import TokenSet  # none of it (importing torch takes ~1.2 s)


#: why the cache cannot be used in this process (None while it can): set by the first
#: folder or write that fails (read-only, a file where the folder should be, a full disk).
#: Commands then run without it; the CLI says so once, at the end.
problem: str | None = None


def _folder(kind: str) -> Path | None:
    """``cache_dir()/kind``, made if needed, or None when the cache cannot be used."""
    global problem
    if problem is not None:
        return None
    d = cache_dir() / kind
    try:
        d.mkdir(parents=True, exist_ok=True)
        if not os.access(d, os.W_OK | os.X_OK):
            raise PermissionError(13, "permission denied (read-only)")
    except OSError as e:
        problem = f"{cache_dir()}: {e.strerror or e}"
        return None
    return d


def _write(path: Path, data) -> Path | None:
    """``output.write_file`` (atomic, nothing left behind), or None when the write fails:
    the cache is then not used for the rest of the process (``problem``)."""
    global problem
    from .errors import VidtokError
    from .output import write_file

    try:
        return write_file(path, data)
    except VidtokError as e:
        problem = f"{cache_dir()}: {e.problem}"
        return None


def cache_dir() -> Path:
    env = os.environ.get("VIDTOK_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vidtok"))


def file_key(path) -> str:
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256(str(st.st_size).encode())
    with open(p, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > (2 << 20):
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read(1 << 20))
    return h.hexdigest()[:24]


def entry_key(path, **config) -> str:
    cfg = json.dumps(config, sort_keys=True, default=str)
    return file_key(path) + "-" + hashlib.sha256(cfg.encode()).hexdigest()[:16]


def save(key: str, ts: TokenSet, extra: dict | None = None) -> Path | None:
    """Store ``ts`` under ``key`` (None when the cache cannot be used: see ``problem``)."""
    import torch
    from safetensors.torch import save_file

    d = _folder("tokens")
    if d is None:
        return None
    tensors = {"feats": ts.feats, "pos": ts.pos, "span": ts.span, "size": ts.size,
               "frame_times": ts.frame_times, "frame_ends": ts.frame_ends}
    if ts.source is not None:
        tensors["source"] = ts.source
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    meta_scalars = {}
    for k, v in ts.meta.items():
        if isinstance(v, torch.Tensor):
            tensors["meta." + k] = v.detach().cpu().contiguous().clone()
        else:
            meta_scalars[k] = v
    info = {"grid": list(ts.grid), "meta": meta_scalars, "extra": extra or {}}
    meta = {"vidtok": json.dumps(info)}
    return _write(d / f"{key}.safetensors", lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load(key: str) -> tuple[TokenSet, dict] | None:
    from safetensors import safe_open

    from .compress.tokenset import TokenSet

    f = cache_dir() / "tokens" / f"{key}.safetensors"
    try:
        if not f.is_file():
            return None
    except OSError:  # an unreadable cache folder is a miss
        return None
    try:
        with safe_open(str(f), framework="pt") as sf:
            info = json.loads(sf.metadata()["vidtok"])
            t = {k: sf.get_tensor(k) for k in sf.keys()}
    except Exception:  # a damaged entry is a miss, never an error
        return None
    meta = dict(info["meta"])
    meta.update({k[5:]: v for k, v in t.items() if k.startswith("meta.")})
    ts = TokenSet(feats=t["feats"], pos=t["pos"], span=t["span"], size=t["size"], grid=tuple(info["grid"]),
                  frame_times=t["frame_times"], frame_ends=t["frame_ends"], source=t.get("source"), meta=meta)
    return ts, info["extra"]


KINDS = {"tokens": "*.safetensors", "selections": "*.json"}


def info() -> dict:
    d = cache_dir()
    files = [f for k, pat in KINDS.items() if (d / k).exists() for f in (d / k).glob(pat)]
    return {"dir": str(d), "entries": len(files), "bytes": sum(f.stat().st_size for f in files)}


def clear() -> int:
    d = cache_dir()
    n = 0
    for k, pat in KINDS.items():
        for f in (d / k).glob(pat) if (d / k).exists() else []:
            f.unlink()
            n += 1
    return n


def save_json(kind: str, key: str, data: dict) -> Path | None:
    """Small results (selections) as JSON, written atomically (None when the cache cannot
    be used)."""
    d = _folder(kind)
    if d is None:
        return None
    return _write(d / f"{key}.json", json.dumps(data))


def load_json(kind: str, key: str) -> dict | None:
    f = cache_dir() / kind / f"{key}.json"
    try:
        return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None
    except (OSError, ValueError):  # a damaged entry is a miss
        return None
