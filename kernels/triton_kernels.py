"""Triton kernels. Each program works on a tile and keeps its running results in
registers; nothing quadratic is ever written to memory."""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _rowmax_kernel(a_ptr, b_ptr, bias_ptr, val_ptr, idx_ptr, M, N, D,
                   sam, sad, sbn, sbd, HAS_BIAS: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid = tl.program_id(0)
    rm = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    best_v = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    best_i = tl.zeros((BLOCK_M,), tl.int32)
    for n0 in range(0, N, BLOCK_N):
        rn = n0 + tl.arange(0, BLOCK_N)
        acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        for d0 in range(0, D, BLOCK_D):
            rd = d0 + tl.arange(0, BLOCK_D)
            a = tl.load(a_ptr + rm[:, None] * sam + rd[None, :] * sad,
                        mask=(rm[:, None] < M) & (rd[None, :] < D), other=0.0)
            b = tl.load(b_ptr + rn[:, None] * sbn + rd[None, :] * sbd,
                        mask=(rn[:, None] < N) & (rd[None, :] < D), other=0.0)
            acc += tl.dot(a.to(tl.float32), tl.trans(b.to(tl.float32)), input_precision="ieee")
        if HAS_BIAS:
            bias = tl.load(bias_ptr + rn, mask=rn < N, other=0.0)
            acc += bias[None, :]
        acc = tl.where(rn[None, :] < N, acc, float("-inf"))
        tile_v = tl.max(acc, axis=1)
        tile_i = tl.argmax(acc, axis=1).to(tl.int32) + n0
        better = tile_v > best_v  # strict: ties keep the earliest column, like torch.max
        best_v = tl.where(better, tile_v, best_v)
        best_i = tl.where(better, tile_i, best_i)
    tl.store(val_ptr + rm, best_v, mask=rm < M)
    tl.store(idx_ptr + rm, best_i, mask=rm < M)


def rowmax(a, b, bias=None):
    M, D = a.shape
    N = b.shape[0]
    vals = torch.empty(M, dtype=torch.float32, device=a.device)
    idx = torch.empty(M, dtype=torch.int32, device=a.device)
    BM, BN = 32, 64
    BD = max(16, min(64, triton.next_power_of_2(D)))
    bias_t = bias.float().contiguous() if bias is not None else vals
    _rowmax_kernel[(triton.cdiv(M, BM),)](a, b, bias_t, vals, idx, M, N, D, a.stride(0), a.stride(1),
                                          b.stride(0), b.stride(1), HAS_BIAS=bias is not None,
                                          BLOCK_M=BM, BLOCK_N=BN, BLOCK_D=BD)
    return vals, idx.long()


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
                  mask=mask_n[:, None] & (rd[None, :] < D))
    if pid_d == 0:
        tl.atomic_add(tot_ptr + g, w, mask=mask_n)


def scatter_mean(x, w, index, k):
    N, D = x.shape
    out = torch.zeros(k, D, dtype=torch.float32, device=x.device)
    tot = torch.zeros(k, dtype=torch.float32, device=x.device)
    BN, BD = 32, 64
    _scatter_kernel[(triton.cdiv(N, BN), triton.cdiv(D, BD))](x, w.float().contiguous(), index.contiguous(), out, tot,
                                                               N, D, x.stride(0), x.stride(1), BLOCK_N=BN, BLOCK_D=BD)
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


def consecutive_sim(x, threshold):
    T, P, D = x.shape
    sim = torch.empty(max(T - 1, 0), P, dtype=torch.float32, device=x.device)
    mask = torch.empty(max(T - 1, 0), P, dtype=torch.int8, device=x.device)
    if T > 1:
        BP, BD = 32, max(16, min(128, triton.next_power_of_2(D)))
        _consecutive_kernel[(T - 1, triton.cdiv(P, BP))](x, sim, mask, T, P, D, x.stride(0), x.stride(1),
                                                          x.stride(2), float(threshold), BLOCK_P=BP, BLOCK_D=BD)
    return sim, mask.bool()


@triton.jit
def _maxmin_step(x_ptr, j, mind_ptr, bv_ptr, bi_ptr, N, D, sxn, sxd, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """mind = min(mind, 1 - x . x_j) for a block, then the block's max and argmax."""
    pid = tl.program_id(0)
    rn = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    dot = tl.zeros((BLOCK_N,), tl.float32)
    for d0 in range(0, D, BLOCK_D):
        rd = d0 + tl.arange(0, BLOCK_D)
        xj = tl.load(x_ptr + j * sxn + rd * sxd, mask=rd < D, other=0.0).to(tl.float32)
        xb = tl.load(x_ptr + rn[:, None] * sxn + rd[None, :] * sxd, mask=(rn[:, None] < N) & (rd[None, :] < D),
                     other=0.0).to(tl.float32)
        dot += tl.sum(xb * xj[None, :], axis=1)
    m = tl.load(mind_ptr + rn, mask=rn < N, other=float("-inf"))
    m = tl.where(m < 0, m, tl.minimum(m, 1 - dot))  # chosen rows stay at -1
    tl.store(mind_ptr + rn, m, mask=rn < N)
    m = tl.where(rn < N, m, float("-inf"))
    tl.store(bv_ptr + pid, tl.max(m, axis=0))
    tl.store(bi_ptr + pid, tl.argmax(m, axis=0).to(tl.int32) + pid * BLOCK_N)


def maxmin(x, k, first):
    N, D = x.shape
    k = min(k, N)
    BN, BD = 128, max(16, min(128, triton.next_power_of_2(D)))
    nb = triton.cdiv(N, BN)
    mind = torch.full((N,), 2.0, dtype=torch.float32, device=x.device)
    bv = torch.empty(nb, dtype=torch.float32, device=x.device)
    bi = torch.empty(nb, dtype=torch.int32, device=x.device)
    chosen = torch.empty(k, dtype=torch.long, device=x.device)
    j = int(first)
    for i in range(k):
        chosen[i] = j
        mind[j] = -1.0
        if i == k - 1:
            break
        _maxmin_step[(nb,)](x, j, mind, bv, bi, N, D, x.stride(0), x.stride(1), BLOCK_N=BN, BLOCK_D=BD)
        j = int(bi[int(bv.argmax())])
    return chosen
