"""What a command checks before it loads a model or imports torch: option values, and
whether the weights it needs are here or can be fetched. Each failure is one line with its
exit code (``vidtok.errors``), seconds before the model would have been ready to say so."""

from __future__ import annotations

from typing import Optional

from .defaults import DEFAULT_TEXT_ENCODER
from .errors import UsageError


def check_number(flag: str, value, low=None, high=None) -> None:
    """A numeric flag is a finite number within [low, high] (click's ranges let NaN through)."""
    from .config import range_problem

    problem = None if value is None else range_problem(value, low, high)
    if problem:
        raise UsageError(f"{flag} {problem}, got {value}")


def check_device(device: Optional[str]) -> None:
    """``--device`` names a device this machine has (torch is imported only when one is
    named: it is about to be needed anyway)."""
    if device in (None, "auto"):
        return
    kind = device.partition(":")[0]
    if kind not in ("cuda", "mps", "cpu"):
        raise UsageError(f"--device must be cuda, mps or cpu (cuda:N for one GPU), got '{device}'")
    if kind == "cpu":
        return
    import torch

    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise UsageError(f"--device {device}: torch sees no CUDA GPU here (use --device cpu)")
        index = device.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= count):
            raise UsageError(f"--device {device}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    elif not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise UsageError(f"--device {device}: MPS (Apple GPU) is not available here (use --device cpu)")


def check_answering(cfg, *, task: str = "ask", device: Optional[str] = None, several: bool = False) -> None:
    """Options of ``ask``/``ground``/``chat``/``eval``/``batch`` (a ``PipelineConfig``):
    compression (``cfg.compression`` reads it; with ``several``, every setting of a table,
    ``cfg.compressions``), route, device and weights."""
    from .weights import check_encoder, check_model

    if cfg.via not in ("llm", "embed"):
        raise UsageError(f"--via must be llm or embed, got '{cfg.via}'")
    if cfg.via == "embed" and task != "ground":
        raise UsageError("--via embed applies to grounding (ground, --task ground)")
    cfg.compressions if several else cfg.compression  # noqa: B018  (reading them checks methods and budgets)
    check_device(device or cfg.device)
    if cfg.via == "embed":
        check_encoder(cfg.encoder or DEFAULT_TEXT_ENCODER)
    else:
        check_model(cfg.model_id)


def check_selection(method: str, *, query: Optional[str] = None, encoder: Optional[str] = None,
                    options: Optional[dict] = None) -> None:
    """Options of ``keyframes`` (and ``batch --task keyframes``): the selector exists, its
    numeric options (flags and ``-o``) lie in their ranges, and the encoder it will load is
    here or fetchable."""
    from .config import check_option_values
    from .select.selectors import ENCODER_SELECTORS, SELECTORS, encoder_spec
    from .weights import check_encoder

    SELECTORS.check(method)
    check_option_values(SELECTORS, method, options or {})
    if method in ENCODER_SELECTORS:
        check_encoder(encoder_spec(encoder, query))
