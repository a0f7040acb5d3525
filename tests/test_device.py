"""Compressors run on the tokens' device: on a GPU, a tensor made without ``device=`` lands
on the CPU, and an operation mixing it with the tokens fails (or, for a 0-d tensor, copies).
No GPU is needed to find these: a torch function mode watches vidtok's own calls on CPU
tensors and reports (1) tensors made by a factory (``arange``, ``zeros``, ``tensor``, ...)
without naming a device, or from NumPy (``from_numpy`` is always the CPU), and (2)
operations mixing tensors brought to the host (``.cpu()``) with the others."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

from vidtok.compress import COMPRESSORS, compress
from .test_host_sync import tokens

VIDTOK = str(Path(__file__).resolve().parents[1] / "vidtok")
FACTORIES = {"arange", "zeros", "ones", "full", "empty", "tensor", "as_tensor", "linspace", "eye", "randperm",
             "rand", "randn", "randint", "scalar_tensor"}
TO_HOST = {"cpu", "numpy"}


def caller(root: str) -> str | None:
    """``file:line`` of the innermost frame under ``root`` calling into torch, None when the
    call comes from elsewhere (torch's own calls, the test itself)."""
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if name.startswith(root):
            return f"{Path(name).name}:{f.f_lineno}"
        if "torch" not in name:
            return None
        f = f.f_back
    return None


class DeviceDiscipline(TorchFunctionMode):
    """Records the problems above in calls made by code under ``root`` (vidtok's package)."""

    def __init__(self, root: str = VIDTOK):
        super().__init__()
        self.root = root
        self.host: dict[int, torch.Tensor] = {}  # id -> tensor (held: ids stay unique)
        self.problems: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        where = caller(self.root)
        if where is None:
            return out
        name = getattr(func, "__name__", str(func))
        if (name in FACTORIES and "device" not in kwargs) or name == "from_numpy":
            self.problems.add(f"{where}: torch.{name} without device=")
        tensors = [a for a in _flat(args, kwargs) if isinstance(a, torch.Tensor) and a.dim() > 0]
        on_host = [id(t) in self.host for t in tensors]
        if name in TO_HOST or (on_host and all(on_host)):
            for t in _flat(out, {}):
                if isinstance(t, torch.Tensor):
                    self.host[id(t)] = t
        elif any(on_host):
            self.problems.add(f"{where}: {name} mixes host (.cpu()) and device tensors")
        return out


def _flat(args, kwargs):
    for a in [*args, *kwargs.values()] if isinstance(args, (list, tuple)) else [args]:
        if isinstance(a, (list, tuple)):
            yield from _flat(a, {})
        else:
            yield a


def test_the_checker_finds_host_tensors():
    def leaky(x):
        a = x + torch.arange(len(x))  # made on the CPU whatever x's device
        b = torch.zeros(len(x), device=x.device)  # fine
        return a, b + x.cpu() * 2  # the host copy meets a device tensor

    x = torch.ones(3)
    with DeviceDiscipline() as d:
        leaky(x)
    assert d.problems == set()  # calls from this test file are not vidtok's
    with DeviceDiscipline(root=__file__) as d:
        leaky(x)
    lines = sorted(int(p.split(":")[1]) for p in d.problems)
    first = leaky.__code__.co_firstlineno
    assert lines == [first + 1, first + 3], d.problems


@pytest.mark.parametrize("method", COMPRESSORS.names())
def test_compressor_keeps_to_the_tokens_device(method):
    with DeviceDiscipline() as d:
        ts = tokens(16)  # TokenSet.from_grid too
        out = compress(ts, method, len(ts) // 10)
    assert len(out) == len(ts) // 10
    assert not d.problems, "\n".join(sorted(d.problems))
