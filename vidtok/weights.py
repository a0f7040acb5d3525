"""Weights that come from the Hugging Face hub: which repository a model string needs,
whether it is already in the local cache, and one clear line when it is not and cannot be
fetched. Checked before torch, transformers or open_clip is imported, so a command that
cannot get its weights fails at once instead of retrying for a minute.

Rules:
* ``random:...`` and ``pixels`` need no weights.
* A model string that names an existing directory is a local checkpoint: it must hold a
  ``config.json``. One that looks like a path (``./x``, ``/x``, ``~/x``, ``x\\y``) but is not
  a directory is a usage error, never sent to the hub.
* Anything else must be a hub id ``org/name``; it is used from the cache when its
  ``config.json`` (open_clip: its weights file) is there. Otherwise, offline
  (``HF_HUB_OFFLINE=1``, or the hub does not answer within ``PROBE_S``) it is a
  ``WeightsUnavailableError`` naming the command that fetches it; online, one line on
  stderr says what will be downloaded and how big before the download starts.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

from .errors import UsageError, WeightsUnavailableError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
#: seconds to wait for the hub's host to accept a connection before calling it offline
PROBE_S = 1.5


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """False when offline mode is set or the hub's host does not accept a TCP connection."""
    if _truthy("HF_HUB_OFFLINE") or _truthy("TRANSFORMERS_OFFLINE"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=PROBE_S).close()
        return True
    except OSError:
        return False


def in_cache(repo_id: str, filenames: tuple[str, ...] = ("config.json",)) -> bool:
    """Whether any of ``filenames`` of ``repo_id`` is in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # no huggingface_hub: nothing can be cached or fetched
        return False
    return any(isinstance(try_to_load_from_cache(repo_id, f), str) for f in filenames)


def _download_size(repo_id: str) -> int | None:
    try:
        from huggingface_hub import HfApi

        info = HfApi().model_info(repo_id, files_metadata=True, timeout=5)
        return sum(s.size or 0 for s in info.siblings or [])
    except Exception:  # size is a courtesy: never fail a run over it
        return None


def identity(spec: str) -> str:
    """What names the weights behind a model string, for caches of what they computed: a
    local directory's weight and config files by name, size and modification time (a
    checkpoint saved over in place is other weights), a hub id's cached snapshot (its
    commit), ``random:`` models by their string."""
    path = Path(os.path.expanduser(spec))
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin", ".json"))
        return spec + "@" + ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    if HUB_ID.match(spec):
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(spec, "config.json")
        except ImportError:
            found = None
        if isinstance(found, str):  # .../snapshots/<commit>/config.json
            return spec + "@" + Path(found).parent.name
    return spec


def looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or "\\" in spec or spec.count("/") > 1


def require_hub(repo_id: str, what: str | None = None, filenames: tuple[str, ...] = ("config.json",)) -> None:
    """Return when ``repo_id`` is cached or can be downloaded (after saying so); else raise.
    ``what`` names it for the user (default: model '<repo_id>')."""
    if in_cache(repo_id, filenames):
        return
    what = what or f"model '{repo_id}'"
    if not hub_reachable():
        raise WeightsUnavailableError(
            f"{what} is not in the local Hugging Face cache and the hub cannot be reached "
            f"({'HF_HUB_OFFLINE is set' if _truthy('HF_HUB_OFFLINE') else 'offline'}); "
            f"fetch it once with: hf download {repo_id}")
    size = _download_size(repo_id)
    try:
        from huggingface_hub.constants import HF_HUB_CACHE as where
    except ImportError:
        where = "the Hugging Face cache"
    print(f"vidtok: downloading {what}" + (f" ({size / 1e9:.2f} GB)" if size else "")
          + f" into {where} (once; later runs use the cache)", file=sys.stderr)


def check_model(spec: str) -> None:
    """A video-LLM string (``-m``) that can be loaded, or one clear error, before any import."""
    if spec.startswith("random:"):
        return
    p = Path(os.path.expanduser(spec))
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise UsageError("not a model directory (no config.json)", spec)
        return
    if looks_like_path(spec):
        raise UsageError("no such model directory", spec)
    if not HUB_ID.match(spec):
        raise UsageError(f"-m '{spec}' is neither a directory, random:<family>-<size>, nor a hub id like "
                         "Qwen/Qwen2.5-VL-3B-Instruct")
    require_hub(spec)


def check_encoder(spec: str | None) -> None:
    """An image-text encoder string (``--encoder``) whose weights are here or fetchable."""
    if not spec or spec == "pixels" or spec.startswith("random:"):
        return
    if spec.startswith("siglip:"):
        repo = spec.split(":", 1)[1]
        if not Path(os.path.expanduser(repo)).is_dir():
            if not HUB_ID.match(repo):
                raise UsageError(f"--encoder '{spec}': siglip needs a directory or a hub id like "
                                 "google/siglip-base-patch16-224")
            require_hub(repo, f"encoder '{spec}'")
        return
    if spec.startswith("open_clip:"):
        model, _, tag = spec.split(":", 1)[1].partition("/")
        if model.startswith("hf-hub:"):
            require_hub(model[len("hf-hub:"):], f"encoder '{spec}'", ("open_clip_config.json",))
            return
        hub = open_clip_hub(model, tag) if tag else None
        if hub is not None:
            repo, files = hub
            require_hub(repo, f"encoder '{spec}' (weights from {repo})", files)
        return
    from .encode import ENCODERS

    if spec.partition(":")[0] not in ENCODERS:  # a plugin encoder manages its own weights
        raise UsageError(f"unknown encoder '{spec}': use pixels, open_clip:MODEL/PRETRAINED, siglip:HUB_ID "
                         "or random:...")


def open_clip_hub(model: str, tag: str) -> tuple[str, tuple[str, ...]] | None:
    """(repo, files) where one of the files is what open_clip downloads for ``model``/``tag``, read from its pretrained table
    without importing it (the import takes seconds); a UsageError for an unknown name or tag,
    None where open_clip is missing or its table cannot be read (open_clip then decides)."""
    table = _open_clip_table()
    if table is None:
        return None
    models, tags = table
    if model not in models:
        raise UsageError(f"unknown open_clip model '{model}' (see open_clip.list_models())")
    if tag not in tags.get(model, {}):
        known = ", ".join(sorted(tags.get(model, {}))) or "none"
        raise UsageError(f"open_clip model '{model}' has no pretrained weights '{tag}'; known: {known}")
    hub = tags[model][tag]
    if not hub:
        return None  # a plain URL download: open_clip's own cache, not the hub's
    parts = hub.strip("/").split("/")
    weights = parts[2] if len(parts) > 2 else "open_clip_pytorch_model.bin"
    # open_clip takes a .safetensors twin of the file when the repository has one
    twin = weights.replace("open_clip_pytorch_model.bin", "open_clip_model.safetensors").replace(".bin", ".safetensors")
    return "/".join(parts[:2]), (twin, weights)


@functools.lru_cache(maxsize=1)
def _open_clip_table():
    """({model names}, {model: {tag: "org/repo/[file]" or ""}}) from open_clip's sources."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(spec.submodule_search_locations[0])
    models = {p.stem for p in (root / "model_configs").glob("*.json")}
    try:
        tree = ast.parse((root / "pretrained.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    groups: dict[str, dict[str, str]] = {}
    table: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict":
            tags = {}
            for kw in value.keywords:
                if kw.arg and isinstance(kw.value, ast.Call):
                    hub = next((k.value.value for k in kw.value.keywords
                                if k.arg == "hf_hub" and isinstance(k.value, ast.Constant)), "")
                    tags[kw.arg] = hub
            groups[name] = tags
        elif name == "_PRETRAINED" and isinstance(value, ast.Dict):
            for k, v in zip(value.keys, value.values):
                if isinstance(k, ast.Constant) and isinstance(v, ast.Name):
                    table[k.value] = v.id
    if not table:
        return None
    return models | set(table), {m: groups.get(g, {}) for m, g in table.items()}
