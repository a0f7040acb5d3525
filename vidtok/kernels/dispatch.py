"""Pick the Triton kernel or the torch reference: ``backend="auto"`` uses Triton for CUDA
tensors when Triton imports, torch otherwise. ``config`` (Triton only) overrides the
kernel's tile sizes; see ``triton_kernels.CONFIGS``."""

from __future__ import annotations

import torch

from . import reference

BACKENDS = ("auto", "torch", "triton")


def _use_triton(t: torch.Tensor, backend: str) -> bool:
    if backend not in BACKENDS:
        raise ValueError(f"kernel backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch":
        return False
    if backend == "triton":
        return True
    if not t.is_cuda:
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def rowmax(a, b, bias=None, backend: str = "auto", config: dict | None = None):
    """(values, indices) of max_j a_i . b_j (+ bias_j) per row of ``a``."""
    if _use_triton(a, backend):
        from . import triton_kernels

        return triton_kernels.rowmax(a.contiguous(), b.contiguous(), bias, config)
    return reference.rowmax(a, b, bias)


def scatter_mean(x, w, index, k: int, backend: str = "auto", config: dict | None = None):
    """(k, D) size-weighted group means and (k,) total weights."""
    if _use_triton(x, backend):
        from . import triton_kernels

        return triton_kernels.scatter_mean(x.contiguous(), w, index, k, config)
    return reference.scatter_mean(x, w, index, k)


def consecutive_sim(x, threshold: float, backend: str = "auto", config: dict | None = None):
    """(T-1, P) cosine similarity of each position with the next frame, and its mask."""
    if _use_triton(x, backend):
        from . import triton_kernels

        return triton_kernels.consecutive_sim(x.contiguous(), threshold, config)
    return reference.consecutive_sim(x, threshold)


def maxmin(x, k: int, first: int, backend: str = "auto", config: dict | None = None):
    """Greedy max-min diversity selection of ``k`` unit rows, starting at ``first``."""
    if _use_triton(x, backend):
        from . import triton_kernels

        return triton_kernels.maxmin(x.contiguous(), k, first, config)
    return reference.maxmin(x, k, first)
