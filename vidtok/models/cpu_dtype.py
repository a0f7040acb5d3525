"""The dtype a model runs in on a CPU: half precision only where the CPU computes in it."""

from __future__ import annotations

import os

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively, as oneDNN (torch's CPU kernels) reports
    it: AVX512-BF16 or AMX; it honours ``ONEDNN_MAX_CPU_ISA``."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without oneDNN: assume not
        return False


def cpu_needs_float32(dtype: torch.dtype, params: int) -> bool:
    """Whether weights stored in ``dtype`` should run in float32 on this CPU. Rule: half
    precision only where the CPU computes in it (bfloat16 with bfloat16 units); elsewhere it
    is emulated, 4-5x slower than float32 (float16 gains nothing on a CPU, even with those
    units), so float32, as long as float32 weights take at most half the machine's memory
    (the rest is for frames and activations; a model too big for that stays as stored: slow
    beats killed). Measured by ``benchmarks/cpu_dtype.py``."""
    if dtype not in (torch.bfloat16, torch.float16) or (dtype == torch.bfloat16 and cpu_has_bfloat16()):
        return False
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): keep the stored dtype
        return False
    return params * 4 <= memory // 2
