"""Loading: a model string (``-m``) to an adapter.

A hub id or local path: the family from its config's ``model_type`` (built-in or a plugin's);
``random:<family>-tiny`` / ``random:<family>-<size>``: randomly initialised models built
from real configs (tests; speed at real dimensions). ``trust_remote_code`` is never on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..defaults import DEFAULT_MODEL
from ..errors import UsageError, import_failure
from . import MODELS

if TYPE_CHECKING:
    from .base import VideoLLM


def parse_spec(spec: str) -> tuple[str, Optional[str]]:
    """('random', 'qwen2_5_vl-tiny') or ('hub', 'Qwen/...')."""
    if spec.startswith("random:"):
        return "random", spec[len("random:"):]
    return "hub", spec


def family_for(model_type: str, where: str = "") -> type:
    """The adapter class that declares ``model_type`` (``VideoLLM.model_types``), among the
    built-in families and those plugins register under the ``vidtok.models`` entry points."""
    for name in MODELS.names():
        cls = MODELS.get(name)
        if model_type in getattr(cls, "model_types", ()):
            return cls
    raise UsageError(f"model type '{model_type}'{f' of {where}' if where else ''} is not supported; "
                     f"families: {', '.join(MODELS.names())}")


def load_model(spec: str = DEFAULT_MODEL, device: str | None = None, dtype: str | None = None) -> VideoLLM:
    """Build an adapter from a model string (see the module docstring). ``dtype``:
    float32 / bfloat16 / float16 (default: the checkpoint's own, but see ``cpu_needs_float32``; float32
    for ``random:``)."""
    from ..encode.base import pick_device
    from .cpu_dtype import DTYPES

    device = pick_device(device)
    if dtype is not None and dtype not in DTYPES:
        raise UsageError(f"dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")
    td = DTYPES.get(dtype) if dtype else None
    kind, rest = parse_spec(spec)
    try:
        if kind == "random":
            family, _, size = rest.rpartition("-")
            if family not in MODELS:
                raise UsageError(f"unknown model family '{family}' in '{spec}'; families: {', '.join(MODELS.names())}")
            return MODELS.get(family).random(size, device=device, spec=spec, dtype=td)
        from transformers import PretrainedConfig

        # the raw config.json: a plugin family's model_type need not be one transformers knows
        cfg, _ = PretrainedConfig.get_config_dict(rest)
        return family_for(cfg.get("model_type", ""), rest).pretrained(rest, device=device, spec=spec, dtype=td)
    except ImportError as e:
        raise import_failure(e, "models need pip install 'vidtok[llm]'") from None
    except OSError as e:
        raise UsageError(f"cannot load model '{spec}': {str(e).splitlines()[0]}") from None


def load_configured(cfg, device: str | None = None, spec: str | None = None) -> VideoLLM:
    """The model a ``PipelineConfig`` names (``spec`` over ``cfg.model_id``) on ``device`` (else ``cfg.device``) in ``cfg.dtype``, with the
    config's model settings (``VideoLLM.configure``)."""
    return load_model(spec or cfg.model_id, device=device or cfg.device, dtype=cfg.dtype).configure(cfg)
