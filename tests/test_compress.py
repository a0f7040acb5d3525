"""TokenSet and every compressor: exact budgets and bookkeeping invariants (property
tests), lossless merging of exact duplicates, budgets, chains and pixel fidelity."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidtok.compress import COMPRESSORS, Budget, TokenSet, compress
from vidtok.encode.pixels import PixelsEncoder, fidelity, psnr
from vidtok.errors import UsageError

from .conftest import needs_shared as needs_shared_videos

from vidtok.compress import NEEDS_MODEL  # noqa: E402

METHODS = [m for m in COMPRESSORS.names() if m not in NEEDS_MODEL]  # fastv: tests/test_models.py


def random_tokens(T, H, W, D, seed, kind="random"):
    g = torch.Generator().manual_seed(seed)
    if kind == "random":
        x = torch.randn(T, H, W, D, generator=g)
    else:  # smooth, video-like: a few shared patterns plus small noise
        base = torch.randn(1, H, W, D, generator=g)
        drift = torch.cumsum(torch.randn(T, 1, 1, D, generator=g) * 0.3, 0)
        x = base + drift + 0.05 * torch.randn(T, H, W, D, generator=g)
    times = torch.cumsum(torch.rand(T, generator=g, dtype=torch.float64) + 0.1, 0)
    return TokenSet.from_grid(x, times)


def check_invariants(ts: TokenSet, out: TokenSet, k: int):
    T, H, W = ts.grid
    N = ts.num_original
    # budget met exactly
    assert len(out) == k
    assert out.feats.shape == (k, ts.dim) and out.pos.shape == (k, 3) and out.span.shape == (k, 2)
    # sizes sum to the input count
    assert float(out.size.sum()) == pytest.approx(N)
    # every original token maps to exactly one kept token, and every kept token to >= 1 original
    src = out.source_map()
    assert src.shape == (N,) and int(src.min()) >= 0 and int(src.max()) < k
    members = torch.bincount(src, minlength=k)
    assert bool((members > 0).all())
    assert torch.equal(members.to(out.size.dtype), out.size)
    # positions valid, and each token's position is one of its own members
    assert bool((out.pos >= 0).all())
    assert bool((out.pos < torch.tensor([T, H, W])).all())
    assert torch.equal(src[out.flat_pos()], torch.arange(k))
    # spans within the video, and covering every member's frame
    assert bool((out.span[:, 0] <= out.span[:, 1]).all())
    assert float(out.span.min()) >= float(ts.frame_times[0]) - 1e-9
    assert float(out.span.max()) <= float(ts.frame_ends[-1]) + 1e-9
    t_of = torch.arange(N) // (H * W)
    assert bool((out.span[src, 0] <= ts.frame_times[t_of] + 1e-9).all())
    assert bool((out.span[src, 1] >= ts.frame_ends[t_of] - 1e-9).all())


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    T=st.integers(1, 5), H=st.integers(1, 5), W=st.integers(1, 5), D=st.sampled_from([3, 8]),
    seed=st.integers(0, 10_000), frac=st.floats(0.0, 1.0), kind=st.sampled_from(["random", "smooth"]),
)
def test_invariants(method, T, H, W, D, seed, frac, kind):
    ts = random_tokens(T, H, W, D, seed, kind)
    k = max(1, int(round(frac * len(ts))))
    out = compress(ts, method, k)
    check_invariants(ts, out, k)


@pytest.mark.parametrize("chain", ["dtd,holitom", "pool,tome", "traj,vq", "dtd,divprune", "vidcom2,fastvid"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), frac=st.floats(0.05, 0.9))
def test_chains_meet_the_final_budget(chain, seed, frac):
    ts = random_tokens(4, 4, 4, 8, seed, "smooth")
    k = max(1, int(round(frac * len(ts))))
    check_invariants(ts, compress(ts, chain, k), k)


def duplicated_frames(T=6, H=4, W=4, D=8, seed=0):
    """Frames come in identical pairs: half the tokens are exact duplicates."""
    x = torch.randn(T // 2, H, W, D, generator=torch.Generator().manual_seed(seed))
    return TokenSet.from_grid(x.repeat_interleave(2, 0))


def duplicated_columns(T=3, H=4, W=6, D=8, seed=0):
    """Inside every frame, columns come in identical pairs."""
    x = torch.randn(T, H, W // 2, D, generator=torch.Generator().manual_seed(seed))
    return TokenSet.from_grid(x.repeat_interleave(2, 2))


@pytest.mark.parametrize("method", ["holitom", "dtd", "traj", "vq", "tome", "fastvid", "divprune"])
def test_merging_exact_duplicates_is_lossless(method):
    ts = duplicated_columns() if method == "tome" else duplicated_frames()
    # fastvid cuts at its `segments - 1` weakest transitions whatever they are (DySeg): with
    # six frames, at most three segments keep the identical pairs together
    options = {"fastvid": {"segments": 3}}
    out = compress(ts, method, len(ts) // 2, options=options)
    assert len(out) == len(ts) // 2
    torch.testing.assert_close(out.unmerge(), ts.unmerge(), rtol=0, atol=1e-6)


def test_reduce_is_size_weighted():
    ts = TokenSet.from_grid(torch.tensor([[[[0.0], [3.0], [6.0]]]]))  # 1x1x3, D=1
    a = ts.reduce(torch.tensor([0, 0, 1]))
    assert a.feats.squeeze(1).tolist() == [1.5, 6.0]
    b = a.reduce(torch.tensor([0, 0]))
    assert b.feats.item() == pytest.approx(3.0)  # (1.5*2 + 6*1) / 3, not (1.5+6)/2
    assert b.size.item() == 3 and b.source.tolist() == [0, 0, 0]


def test_sorted_keeps_bookkeeping():
    ts = random_tokens(3, 3, 3, 4, 1, "smooth")
    out = compress(ts, "vq", 7).sorted()
    check_invariants(ts, out, 7)
    assert bool((out.flat_pos()[1:] > out.flat_pos()[:-1]).all())


def test_budget_parsing():
    assert Budget.parse("500").resolve(1000, 10, 1000) == 500
    assert Budget.parse("0.1").resolve(3136, 16, 3136) == 314
    assert Budget.parse("10%").resolve(3136, 16, 3136) == 314
    assert Budget.parse("64/frame").resolve(3136, 16, 3136) == 1024
    assert Budget.parse(0.25).resolve(100, 1, 100) == 25
    assert Budget.parse("5000").resolve(100, 1, 100) == 100  # never more than there is
    for bad in ["abc", "0", "1.5", "-3", "0%"]:
        with pytest.raises(UsageError):
            Budget.parse(bad)


def test_unknown_method_is_a_usage_error():
    with pytest.raises(UsageError, match="choose one of"):
        compress(random_tokens(2, 2, 2, 2, 0), "nope", 3)


def test_pixels_roundtrip_and_psnr():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 40, 50, 3), dtype=np.uint8)
    enc = PixelsEncoder(16)
    ts = enc.encode(frames)
    assert ts.grid == (2, 2, 3)
    np.testing.assert_array_equal(enc.decode(ts.unmerge()), frames[:, :32, :48])
    assert psnr(ts.unmerge(), ts.unmerge()) == float("inf")
    assert fidelity(ts, compress(ts, "pool", 3)) < 40


def test_static_video_compresses_almost_losslessly(samples):
    from vidtok.compress.request import Compression
    from vidtok.pipeline import compress_video

    r = compress_video(samples / "synthetic_static.mp4", Compression.of("holitom", "0.1"))
    assert r.tokens_out == round(0.1 * r.tokens_in)
    # every frame is the same image: merging across time loses (almost) nothing
    assert r.psnr > 35
    u = compress_video(samples / "synthetic_static.mp4", Compression.of("pool", "0.1"))
    assert r.psnr > u.psnr + 10


def test_keep_top_hook_for_attention_scores():
    from vidtok.compress import keep_top

    ts = random_tokens(2, 3, 3, 4, 0)
    scores = torch.arange(len(ts), dtype=torch.float32)
    out = keep_top(ts, 4, scores=scores)
    check_invariants(ts, out, 4)
    assert sorted(out.flat_pos().tolist()) == list(range(len(ts) - 4, len(ts)))


@needs_shared_videos
def test_every_method_runs_on_every_shared_video(shared):
    from vidtok import open_video
    from vidtok.select import sample

    enc = PixelsEncoder(16)
    names = sorted(p for p in shared.iterdir() if p.is_file() and p.suffix != ".md")
    assert len(names) == 15
    for path in names:
        v = open_video(path)
        fr = v.get_frames(sample(v, "uniform", n=8).indices, size=(112, 112))
        ts = enc.encode(fr.data, fr.times)
        for m in METHODS:
            out = compress(ts, m, "0.1")
            assert len(out) == round(0.1 * len(ts)), (path.name, m)
            assert fidelity(ts, out) > 0


def test_compress_cli_json_and_merge_maps(tmp_path, capsys, samples):
    import json

    from vidtok.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["compress", str(samples / "synthetic_cuts.mp4"), "--method", "dtd,tome", "--budget", "64/frame",
              "--out", str(tmp_path), "--json"])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert (e.value.code or 0) == 0
    d = json.loads(out)
    assert d["tokens_in"] == 16 * 196 and d["tokens_out"] == 16 * 64 and d["psnr_db"] > 10
    assert len(d["images"]) == 4 and all((tmp_path / f).exists() for f in d["images"])


def test_fastvid_splits_a_static_video_into_at_least_its_segments():
    """DySeg as FastVID has it: the `segments - 1` weakest transitions are cuts even where
    every frame looks alike (no transition below tau), plus every transition below tau."""
    from vidtok.compress._ops import frame_cuts

    g = torch.Generator().manual_seed(0)
    still = TokenSet.from_grid(torch.randn(1, 3, 3, 8, generator=g).repeat(20, 1, 1, 1)
                               + 0.01 * torch.randn(20, 3, 3, 8, generator=g))
    assert int(frame_cuts(still, threshold=0.9, num_segments=8).max()) + 1 == 8
    assert int(frame_cuts(still, threshold=0.9).max()) + 1 == 1
    x = torch.randn(4, 1, 3, 3, 8, generator=g).repeat_interleave(5, 0).reshape(20, 3, 3, 8)  # 4 scenes
    scenes = TokenSet.from_grid(x)
    assert int(frame_cuts(scenes, threshold=0.9, num_segments=2).max()) + 1 == 4  # tau adds the others
