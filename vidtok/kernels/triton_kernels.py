"""Triton kernels. Each program works on a tile and keeps its running results in
registers; nothing quadratic is ever written to memory.

Tile sizes are module-level defaults (``CONFIGS``) chosen on an H100 with
``benchmarks/kernels.py --tune``; every wrapper also takes ``config=`` to try others.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

#: default tiles per kernel (BLOCK_* sizes, warps, pipeline stages); see benchmarks/kernels.py --tune
CONFIGS = {
    "rowmax": dict(BLOCK_M=128, BLOCK_N=128, BLOCK_D=64, num_warps=8, num_stages=3),
    "scatter_mean": dict(BLOCK_N=32, BLOCK_D=128, num_warps=4),
    "consecutive_sim": dict(BLOCK_P=32, BLOCK_D=128, num_warps=4),
    "maxmin": dict(BLOCK_N=32, BLOCK_D=128, num_warps=4),
}


def _cfg(name: str, config: dict | None) -> dict:
    return {**CONFIGS[name], **(config or {})}


def _dot_precision(a: torch.Tensor) -> str:
    """float32 inputs: three TF32 passes (about float32 accuracy, on tensor cores) unless
    the user allowed plain TF32 in torch itself; bf16/fp16 inputs: tensor cores, products
    exact in the float32 accumulator."""
    if a.dtype == torch.float32:
        return "tf32" if torch.backends.cuda.matmul.allow_tf32 else "tf32x3"
    return "ieee"  # ignored by Triton for 16-bit operands


@triton.jit
def _rowmax_kernel(a_ptr, b_ptr, bias_ptr, val_ptr, idx_ptr, M, N, D, N_PER,
                   sam, sad, sbn, sbd, HAS_BIAS: tl.constexpr, PRECISION: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """Program (i, s): rows block i against columns [s * N_PER, (s + 1) * N_PER)."""
    pid = tl.program_id(0)
    split = tl.program_id(1)
    rm = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    best_v = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    best_i = tl.zeros((BLOCK_M,), tl.int32)
    n_start = split * N_PER
    for n0 in range(n_start, tl.minimum(n_start + N_PER, N), BLOCK_N):
        rn = n0 + tl.arange(0, BLOCK_N)
        acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        for d0 in range(0, D, BLOCK_D):
            rd = d0 + tl.arange(0, BLOCK_D)
            a = tl.load(a_ptr + rm[:, None] * sam + rd[None, :] * sad,
                        mask=(rm[:, None] < M) & (rd[None, :] < D), other=0.0)
            b = tl.load(b_ptr + rn[:, None] * sbn + rd[None, :] * sbd,
                        mask=(rn[:, None] < N) & (rd[None, :] < D), other=0.0)
            acc += tl.dot(a, tl.trans(b), input_precision=PRECISION)
        if HAS_BIAS:
            bias = tl.load(bias_ptr + rn, mask=rn < N, other=0.0)
            acc += bias[None, :]
        acc = tl.where(rn[None, :] < N, acc, float("-inf"))
        tile_v = tl.max(acc, axis=1)
        tile_i = tl.argmax(acc, axis=1).to(tl.int32) + n0
        better = tile_v > best_v  # strict: ties keep the earliest column, like torch.max
        best_v = tl.where(better, tile_v, best_v)
        best_i = tl.where(better, tile_i, best_i)
    tl.store(val_ptr + split * M + rm, best_v, mask=rm < M)
    tl.store(idx_ptr + split * M + rm, best_i, mask=rm < M)


def rowmax(a, b, bias=None, config: dict | None = None):
    M, D = a.shape
    N = b.shape[0]
    if b.dtype != a.dtype:
        b = b.to(a.dtype)
    c = _cfg("rowmax", config)
    BM, BN = c["BLOCK_M"], c["BLOCK_N"]
    BD = max(16, min(c["BLOCK_D"], triton.next_power_of_2(D)))
    # few row blocks (short videos) would leave most of the GPU idle: split the columns
    # too, so that there are at least two programs per multiprocessor, and reduce after
    grid_m = triton.cdiv(M, BM)
    n_sm = torch.cuda.get_device_properties(a.device).multi_processor_count if a.is_cuda else 1
    splits = max(1, min(triton.cdiv(N, BN), (2 * n_sm) // grid_m))
    n_per = triton.cdiv(triton.cdiv(N, splits), BN) * BN
    splits = triton.cdiv(N, n_per)
    vals = torch.empty(splits, M, dtype=torch.float32, device=a.device)
    idx = torch.empty(splits, M, dtype=torch.int32, device=a.device)
    bias_t = bias.float().contiguous() if bias is not None else vals
    _rowmax_kernel[(grid_m, splits)](
        a, b, bias_t, vals, idx, M, N, D, n_per, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
        HAS_BIAS=bias is not None, PRECISION=_dot_precision(a), BLOCK_M=BM, BLOCK_N=BN,
        BLOCK_D=BD, num_warps=c["num_warps"], num_stages=c.get("num_stages", 3))
    if splits == 1:
        return vals[0], idx[0].long()
    best = vals.max(0).values
    first = (vals == best).int().argmax(0)  # the earliest split holding the max: the earliest column
    return best, idx.gather(0, first[None]).squeeze(0).long()


@triton.jit
def _scatter_kernel(x_ptr, w_ptr, idx_ptr, out_ptr, tot_ptr, N, D, sxn, sxd,
                    BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid_n = tl.program_id(0)
    pid_d = tl.program_id(1)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rd = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_n = rn < N
    w = tl.load(w_ptr + rn, mask=mask_n, other=0.0).to(tl.float32)
    g = tl.load(idx_ptr + rn, mask=mask_n, other=0)
    x = tl.load(x_ptr + rn[:, None] * sxn + rd[None, :] * sxd, mask=mask_n[:, None] & (rd[None, :] < D), other=0.0)
    tl.atomic_add(out_ptr + g[:, None] * D + rd[None, :], x.to(tl.float32) * w[:, None],
                  mask=mask_n[:, None] & (rd[None, :] < D), sem="relaxed")
    if pid_d == 0:
        tl.atomic_add(tot_ptr + g, w, mask=mask_n, sem="relaxed")


def scatter_mean(x, w, index, k, config: dict | None = None):
    N, D = x.shape
    c = _cfg("scatter_mean", config)
    out = torch.zeros(k, D, dtype=torch.float32, device=x.device)
    tot = torch.zeros(k, dtype=torch.float32, device=x.device)
    BN, BD = c["BLOCK_N"], max(16, min(c["BLOCK_D"], triton.next_power_of_2(D)))
    _scatter_kernel[(triton.cdiv(N, BN), triton.cdiv(D, BD))](
        x, w.float().contiguous(), index.contiguous(), out, tot, N, D, x.stride(0), x.stride(1),
        BLOCK_N=BN, BLOCK_D=BD, num_warps=c["num_warps"])
    return out / tot.clamp_min(1e-12)[:, None], tot


@triton.jit
def _consecutive_kernel(x_ptr, sim_ptr, mask_ptr, T, P, D, st, sp, sd, thr,
                        BLOCK_P: tl.constexpr, BLOCK_D: tl.constexpr):
    t = tl.program_id(0)  # pair (t, t+1)
    rp = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    dot = tl.zeros((BLOCK_P,), tl.float32)
    na = tl.zeros((BLOCK_P,), tl.float32)
    nb = tl.zeros((BLOCK_P,), tl.float32)
    for d0 in range(0, D, BLOCK_D):
        rd = d0 + tl.arange(0, BLOCK_D)
        m = (rp[:, None] < P) & (rd[None, :] < D)
        a = tl.load(x_ptr + t * st + rp[:, None] * sp + rd[None, :] * sd, mask=m, other=0.0).to(tl.float32)
        b = tl.load(x_ptr + (t + 1) * st + rp[:, None] * sp + rd[None, :] * sd, mask=m, other=0.0).to(tl.float32)
        dot += tl.sum(a * b, axis=1)
        na += tl.sum(a * a, axis=1)
        nb += tl.sum(b * b, axis=1)
    sim = dot / (tl.maximum(tl.sqrt(na), 1e-8) * tl.maximum(tl.sqrt(nb), 1e-8))
    tl.store(sim_ptr + t * P + rp, sim, mask=rp < P)
    tl.store(mask_ptr + t * P + rp, (sim > thr).to(tl.int8), mask=rp < P)


def consecutive_sim(x, threshold, config: dict | None = None):
    T, P, D = x.shape
    c = _cfg("consecutive_sim", config)
    sim = torch.empty(max(T - 1, 0), P, dtype=torch.float32, device=x.device)
    mask = torch.empty(max(T - 1, 0), P, dtype=torch.int8, device=x.device)
    if T > 1:
        BP, BD = c["BLOCK_P"], max(16, min(c["BLOCK_D"], triton.next_power_of_2(D)))
        _consecutive_kernel[(T - 1, triton.cdiv(P, BP))](
            x, sim, mask, T, P, D, x.stride(0), x.stride(1), x.stride(2), float(threshold),
            BLOCK_P=BP, BLOCK_D=BD, num_warps=c["num_warps"])
    return sim, mask.bool()


@triton.jit
def _maxmin_step(x_ptr, chosen_ptr, i, mind_ptr, bv_ptr, bi_ptr, N, D, NB, sxn, sxd,
                 BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_B: tl.constexpr):
    """Step ``i`` of greedy max-min, with no trip to the host: every program first
    reduces the previous step's per-block (max, argmax) to the chosen row j (the same
    answer in every program), records it, then updates its block's running minimum
    distance min(mind, 1 - x . x_j) and writes its block's new max and argmax."""
    pid = tl.program_id(0)
    if i == 0:
        j = tl.load(chosen_ptr).to(tl.int32)
    else:
        rb = tl.arange(0, BLOCK_B)
        best = float("-inf")
        j = 0
        for b0 in range(0, NB, BLOCK_B):
            v = tl.load(bv_ptr + (i - 1) % 2 * NB + b0 + rb, mask=b0 + rb < NB, other=float("-inf"))
            ix = tl.load(bi_ptr + (i - 1) % 2 * NB + b0 + rb, mask=b0 + rb < NB, other=0)
            m = tl.max(v, axis=0)
            a = tl.sum(tl.where(rb == tl.argmax(v, axis=0), ix, 0), axis=0)
            take = m > best  # strict: the earliest block wins ties, like torch.argmax
            j = tl.where(take, a, j)
            best = tl.where(take, m, best)
        if pid == 0:
            tl.store(chosen_ptr + i, j.to(tl.int64))
    rn = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    dot = tl.zeros((BLOCK_N,), tl.float32)
    for d0 in range(0, D, BLOCK_D):
        rd = d0 + tl.arange(0, BLOCK_D)
        xj = tl.load(x_ptr + j * sxn + rd * sxd, mask=rd < D, other=0.0).to(tl.float32)
        xb = tl.load(x_ptr + rn[:, None] * sxn + rd[None, :] * sxd, mask=(rn[:, None] < N) & (rd[None, :] < D),
                     other=0.0).to(tl.float32)
        dot += tl.sum(xb * xj[None, :], axis=1)
    m = tl.load(mind_ptr + rn, mask=rn < N, other=float("-inf"))
    m = tl.where(rn == j, -1.0, m)  # every chosen row stays at -1
    m = tl.where(m < 0, m, tl.minimum(m, 1 - dot))
    tl.store(mind_ptr + rn, m, mask=rn < N)
    m = tl.where(rn < N, m, float("-inf"))
    # double-buffered block results: step i+1 reads slot i % 2 while nothing writes it
    tl.store(bv_ptr + i % 2 * NB + pid, tl.max(m, axis=0))
    tl.store(bi_ptr + i % 2 * NB + pid, tl.argmax(m, axis=0).to(tl.int32) + pid * BLOCK_N)


def maxmin(x, k, first, config: dict | None = None):
    N, D = x.shape
    k = min(k, N)
    c = _cfg("maxmin", config)
    BN, BD = c["BLOCK_N"], max(16, min(c["BLOCK_D"], triton.next_power_of_2(D)))
    nb = triton.cdiv(N, BN)
    mind = torch.full((N,), 2.0, dtype=torch.float32, device=x.device)
    bv = torch.empty(2 * nb, dtype=torch.float32, device=x.device)
    bi = torch.empty(2 * nb, dtype=torch.int32, device=x.device)
    chosen = torch.empty(k + 1, dtype=torch.long, device=x.device)
    chosen[0] = int(first)
    BB = min(1024, triton.next_power_of_2(nb))
    for i in range(k):  # step i picks row i (i > 0) and updates distances; no host sync
        _maxmin_step[(nb,)](x, chosen, i, mind, bv, bi, N, D, nb, x.stride(0), x.stride(1),
                            BLOCK_N=BN, BLOCK_D=BD, BLOCK_B=BB, num_warps=c["num_warps"])
    return chosen[:k]
