"""Token merging inside Qwen2.5-VL's vision tower (``vidtok.models.tower_merging``, the plan's
``tower=T``): nothing merged is the tower's own result exactly; merged units are the ones that
changed least since the same place one temporal patch before, and the TokenSet remembers them
(same place, the members' times), so timestamps and after-tower methods read it as any other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidtok.models import tower_merging


@pytest.fixture(scope="module")
def qwen():
    from vidtok.models.loading import load_model

    return load_model("random:qwen2_5_vl-tiny")


def _frames(still: bool, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` frames of 224x336 noise; with ``still`` the left half stays as in the first frame
    while the right half changes on every frame."""
    rng = np.random.default_rng(seed)
    f = rng.integers(0, 255, (n, 224, 336, 3), np.uint8)
    if still:
        f[:, :, :168] = f[0, :, :168]
    return f


def test_keeping_every_unit_is_the_towers_own_result(qwen):
    (p, g), = list(qwen.pixel_chunks(_frames(True)))
    ref = qwen.model.model.get_video_features(p, g).pooler_output[0]
    out, assign, rep = tower_merging.forward(qwen.model.model.visual, p, g, 1.0)
    assert torch.equal(out, ref)
    assert torch.equal(assign, torch.arange(len(ref))) and torch.equal(rep, torch.arange(len(ref)))


def test_the_units_that_did_not_change_merge_into_the_same_place_before(qwen):
    frames = _frames(True)  # left half still throughout
    (p, g), = list(qwen.pixel_chunks(frames))
    T, H, W = int(g[0, 0]), int(g[0, 1]) // 2, int(g[0, 2]) // 2
    assert W % 2 == 0  # the still half is whole columns of units
    out, assign, rep = tower_merging.forward(qwen.model.model.visual, p, g, 0.7)
    U = T * H * W
    assert len(out) == round(0.7 * U) and len(rep) == len(out) and assign.max() == len(out) - 1
    t, h, w = np.unravel_index(np.arange(U), (T, H, W))
    r = rep[assign].numpy()  # each unit's group's earliest member
    rt, rh, rw = np.unravel_index(r, (T, H, W))
    assert (rh == h).all() and (rw == w).all() and (rt <= t).all()  # same place, earlier or itself
    merged = r != np.arange(U)
    assert merged.sum() == U - len(out)
    # 30 % of the units merge, fewer than the still left half's later units (3/8): only still ones
    assert (w[merged] < W // 2).all()
    # with every frame moving, the same share merges, spread over the picture
    (p2, g2), = list(qwen.pixel_chunks(_frames(False)))
    out2, _, _ = tower_merging.forward(qwen.model.model.visual, p2, g2, 0.7)
    assert len(out2) == len(out)


def test_the_encoded_token_set_remembers_each_merge(qwen):
    frames = _frames(True)
    times = np.arange(8) * 0.5
    with qwen.tower_merging(0.6):
        ts = qwen.encode(frames, times, times + 0.5, 2.0)
    full = qwen.encode(frames, times, times + 0.5, 2.0)
    assert ts.grid == full.grid and len(ts) < len(full) and ts.size.sum() == len(full)
    src = ts.source_map()
    assert torch.equal(ts.pos[src][:, 1:], full.pos[:, 1:])  # every unit went to a token at its own place
    assert (ts.span[src][:, 0] <= full.span[:, 0]).all() and (ts.span[src][:, 1] >= full.span[:, 1]).all()
    assert (ts.size > 1).any() and bool(((ts.span[:, 1] - ts.span[:, 0]) > 1.0 + 1e-9).any())  # spans over pairs
    # the first temporal patch is never merged away: nothing earlier to merge into
    assert torch.equal(ts.pos[ts.pos[:, 0] == 0], full.pos[full.pos[:, 0] == 0])
    assert qwen.tower_keep is None  # the context restores the model
