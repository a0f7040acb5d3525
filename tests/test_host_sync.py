"""Compressors wait on the device a fixed handful of times per call, never once per frame or
per token: on a GPU each wait stalls the stream. CPU tensors stand in for the device; a
torch dispatch mode counts the operations that make the host wait for a device result:
reading a scalar (``.item()``, ``int(t)``, ``bool(t)``: ``aten::_local_scalar_dense``),
data-dependent shapes (``nonzero``, ``masked_select``, ``unique``, boolean indexing, tensor
repeats), copies to the host (``.cpu()`` / ``.to("cpu")`` of a device tensor, which CPU
tensors do not dispatch, so ``Tensor.cpu``, ``.tolist`` and ``.numpy`` are counted directly)."""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vidtok.compress import COMPRESSORS, compress
from vidtok.compress.tokenset import TokenSet

aten = torch.ops.aten
SYNCING = {aten._local_scalar_dense.default, aten.nonzero.default, aten.masked_select.default,
           aten._unique2.default, aten.unique_dim.default, aten.unique_consecutive.default,
           aten.repeat_interleave.Tensor, aten.index.Tensor, aten.bincount.default}

#: every registered compressor (the test fails for a new one that waits per frame)
SYNC_FREE = COMPRESSORS.names()


class HostSyncs(TorchDispatchMode):
    """Counts host synchronisations while active (``index.Tensor`` only with a boolean index)."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.seen: dict[str, int] = {}

    def note(self, name: str) -> None:
        self.count += 1
        self.seen[name] = self.seen.get(name, 0) + 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in SYNCING:
            if func is aten.index.Tensor:
                if any(i is not None and i.dtype == torch.bool for i in args[1]):
                    self.note("boolean index")
            else:
                self.note(func.__name__)
        return func(*args, **kwargs)


@pytest.fixture
def counting(monkeypatch):
    mode = HostSyncs()
    for name in ("cpu", "tolist", "numpy"):
        orig = getattr(torch.Tensor, name)

        def counted(self, *a, _orig=orig, _name=name, **kw):
            mode.note(f"Tensor.{_name}")
            return _orig(self, *a, **kw)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return mode


def tokens(T: int, H: int = 6, W: int = 6, D: int = 32) -> TokenSet:
    g = torch.Generator().manual_seed(T)
    base = torch.randn(1, H, W, D, generator=g)
    x = base + torch.cumsum(torch.randn(T, 1, 1, D, generator=g) * 0.3, 0) + 0.05 * torch.randn(T, H, W, D, generator=g)
    ts = TokenSet.from_grid(x, torch.arange(T, dtype=torch.float64) / 2)
    ts.meta = {"attn": torch.rand(T * H * W, generator=g), "llm_attn": torch.rand(T * H * W, generator=g)}
    return ts


def syncs(method: str, T: int, counting) -> HostSyncs:
    ts = tokens(T)
    budget = len(ts) // 10
    counting.count, counting.seen = 0, {}
    with counting:
        out = compress(ts, method, budget)
    assert len(out) == budget
    return counting


def test_the_counter_sees_a_per_frame_loop(counting):
    """The harness itself: a loop that reads one scalar per frame counts once per frame."""
    for T in (8, 64):
        x = torch.randn(T, 4)
        counting.count = 0
        with counting:
            for t in range(T):
                float(x[t].max())
        assert counting.count == T


@pytest.mark.parametrize("method", SYNC_FREE)
def test_host_syncs_do_not_grow_with_the_video(method, counting):
    """From 8 to 64 to 128 frames the waits stay put: at most a merge step's few more (the
    number of merging rounds follows the budget ratio and the content), far below one per
    added frame, which is what a loop over frames costs."""
    counts = {T: sum(syncs(method, T, counting).seen.values()) for T in (8, 64, 128)}
    assert counts[64] - counts[8] < (64 - 8) / 4 and counts[128] - counts[64] < (128 - 64) / 4, counts
