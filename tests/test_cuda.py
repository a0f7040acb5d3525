"""The same checks on a real CUDA GPU: kernels against their references on fresh random
inputs, and every model family's full path on the GPU against its CPU result.

CI has no GPU, so these skip there (with that reason); they run wherever CUDA is
available (see docs/benchmarks.md for the machine they last ran on)."""

import numpy as np
import pytest
import torch

DEVICES = ("cpu", "cuda")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_kernels_match_references_on_gpu(dtype):
    pytest.importorskip("triton")
    from vidtok.kernels import dispatch as K
    from vidtok.kernels import reference as R

    g = torch.Generator(device="cuda").manual_seed(int(torch.randint(1 << 30, (1,))))

    def unit(n, d):
        return torch.nn.functional.normalize(torch.randn(n, d, device="cuda", generator=g), dim=-1).to(dtype)

    for m, n, d in [(1, 1, 3), (37, 65, 17), (333, 1025, 1152), (2000, 3001, 130)]:
        a, b = unit(m, d), unit(n, d)
        bias = torch.randn(n, device="cuda", generator=g)
        for bb in (None, bias):
            v1, i1 = R.rowmax(a, b, bb)
            v2, i2 = K.rowmax(a, b, bb, backend="triton")
            assert torch.allclose(v1, v2, atol=1e-4), (m, n, d)
            # the column Triton picked is a maximum of the reference's similarities
            full = a.float() @ b.float().T + (0 if bb is None else bb)
            assert torch.allclose(full.gather(1, i2[:, None]).squeeze(1), v1, atol=1e-4)
            if dtype == torch.float32 and not torch.backends.cuda.matmul.allow_tf32:
                assert (i1 == i2).float().mean() > 0.999
    for n, d, k in [(1, 5, 1), (45, 70, 7), (5000, 1152, 500)]:
        x = torch.randn(n, d, device="cuda", generator=g).to(dtype)
        w = torch.rand(n, device="cuda", generator=g) + 0.5
        idx = torch.randint(0, k, (n,), device="cuda", generator=g)
        o1, t1 = R.scatter_mean(x, w, idx, k)
        o2, t2 = K.scatter_mean(x, w, idx, k, backend="triton")
        assert torch.allclose(o1, o2, atol=1e-4) and torch.allclose(t1, t2, rtol=1e-5)
    for t, p, d in [(2, 1, 3), (5, 37, 20), (16, 729, 1152)]:
        x = torch.randn(t, p, d, device="cuda", generator=g).to(dtype)
        x[1:, ::3] = x[:-1, ::3]
        s1, m1 = R.consecutive_sim(x, 0.9)
        s2, m2 = K.consecutive_sim(x, 0.9, backend="triton")
        assert torch.allclose(s1, s2, atol=1e-4)
        assert (m1 != m2).sum() <= int(((s1 - 0.9).abs() < 1e-4).sum())  # only at the threshold
    for n, d, k in [(1, 4, 1), (200, 16, 12), (20000, 1152, 64)]:
        x = unit(n, d)
        c1, c2 = R.maxmin(x, k, 0), K.maxmin(x, k, 0, backend="triton")
        assert len(set(c2.tolist())) == len(c2) == min(k, n)
        if dtype == torch.float32:
            assert torch.equal(c1, c2)


@cuda
@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm2"])
def test_model_path_on_gpu_matches_cpu(family):
    pytest.importorskip("transformers")
    from vidtok.compress import compress
    from vidtok.models.loading import load_model

    rng = np.random.default_rng(0)
    outs, frames = [], None
    for dev in DEVICES:
        m = load_model(f"random:{family}-tiny", device=dev)
        size = getattr(m, "frame_size", None) or (224, 224)
        if frames is None:
            frames = rng.integers(0, 255, (4, *size, 3), dtype=np.uint8)
        times = np.arange(4) * 0.5
        ts = m.encode(frames, times, times + 0.5, 2.0)
        small = compress(ts, "holitom", 0.5)
        logits = m.prefill(m.build_inputs(small, "What happens?")).logits
        text = m.generate(m.build_inputs(small, "What happens?"), max_new_tokens=3).text
        outs.append((ts.feats, logits.float().cpu()))
    (f0, l0), (f1, l1) = outs
    assert torch.allclose(f0, f1.cpu(), atol=2e-3)
    assert torch.allclose(l0, l1, atol=2e-2)


@cuda
def test_every_compressor_runs_on_cuda_tokens():
    """Tokens on the GPU stay there through every compressor (tests/test_device.py finds the
    host tensors that would break this without a GPU; this is the real thing)."""
    from vidtok.compress import COMPRESSORS, compress
    from .test_host_sync import tokens

    ts = tokens(16).to("cuda")
    for method in COMPRESSORS.names():
        out = compress(ts, method, len(ts) // 10)
        assert len(out) == len(ts) // 10, method
        for name in ("feats", "pos", "span", "size", "source", "frame_times"):
            assert getattr(out, name).device.type == "cuda", (method, name)
        assert int(out.size.sum()) == ts.num_original, method


@cuda
def test_ask_with_a_budget_on_cuda_twice(capsys):
    """The command path on the GPU: encode, compress on the device, answer; the second run
    loads the cached tokens onto the device and answers the same."""
    import json

    from .conftest import SAMPLES, run_cli

    argv = ["ask", str(SAMPLES / "synthetic_cuts.mp4"), "What happens?", "-m", "random:qwen2_5_vl-tiny",
            "--device", "cuda", "--budget", "0.3", "--method", "holitom", "--max-new-tokens", "4", "--json"]
    runs = []
    for _ in range(2):
        code, out, err = run_cli(argv, capsys)
        assert code == 0, err
        runs.append(json.loads(out))
    first, second = runs
    assert second["cached_tokens"] and not first["cached_tokens"]
    assert first["answer"] == second["answer"]
    assert first["visual_tokens_after"] == second["visual_tokens_after"] < first["visual_tokens_before"]
