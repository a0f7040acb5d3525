"""``TokenSet``: the one data type between encode and answer.

A set of visual tokens that never forgets where and when each token came from: its
original (t, h, w) grid position, the seconds it covers, how many original tokens it
stands for, and (``source``) which kept token every original token went to, so any
compressed set can be unmerged back onto the original grid.

Every compressor is built on one primitive, :meth:`TokenSet.reduce`: give each current
token a group id, and groups become tokens (size-weighted mean of the members' features,
or the representative's own feature for pruning), with sizes summed, spans widened to
cover the members, and the source map composed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Optional

import torch


@dataclass
class TokenSet:
    feats: torch.Tensor  # (N, D) float
    pos: torch.Tensor  # (N, 3) long: representative original (t, h, w)
    span: torch.Tensor  # (N, 2) float64: first and last second covered
    size: torch.Tensor  # (N,) float: original tokens represented
    grid: tuple[int, int, int]  # (T, H, W) of the original tokens
    frame_times: torch.Tensor  # (T,) float64: time of each original frame
    frame_ends: torch.Tensor  # (T,) float64: end of each original frame's interval
    source: Optional[torch.Tensor] = None  # (T*H*W,) long: original -> kept token
    #: what the encoder knows that the model adapter needs back (e.g. Qwen's grid and
    #: seconds per temporal patch); carried unchanged through every compressor
    meta: dict = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_grid(
        cls,
        feats: torch.Tensor,
        frame_times=None,
        frame_ends=None,
    ) -> "TokenSet":
        """Tokens laid out on a (T, H, W, D) grid, frame ``t`` shown from
        ``frame_times[t]`` until ``frame_ends[t]`` (default: the next frame's time; the
        last frame lasts as long as the one before it)."""
        if feats.ndim != 4:
            raise ValueError(f"expected (T, H, W, D) features, got shape {tuple(feats.shape)}")
        T, H, W, D = feats.shape
        dev = feats.device  # every tensor of the set lives where the features do
        ft = torch.arange(T, dtype=torch.float64, device=dev) if frame_times is None else \
            torch.as_tensor(frame_times, dtype=torch.float64, device=dev).reshape(T)
        if frame_ends is None:
            step = (ft[1:] - ft[:-1]) if T > 1 else torch.ones(1, dtype=torch.float64, device=dev)
            last = step[-1:] if T > 1 else step
            fe = torch.cat([ft[1:], ft[-1:] + last])
        else:
            fe = torch.as_tensor(frame_ends, dtype=torch.float64, device=dev).reshape(T)
        t, h, w = torch.meshgrid(torch.arange(T, device=dev), torch.arange(H, device=dev),
                                 torch.arange(W, device=dev), indexing="ij")
        pos = torch.stack([t, h, w], -1).reshape(-1, 3)
        span = torch.stack([ft[pos[:, 0]], fe[pos[:, 0]]], -1)
        n = T * H * W
        return cls(
            feats=feats.reshape(n, D),
            pos=pos,
            span=span,
            size=torch.ones(n, dtype=feats.dtype if feats.is_floating_point() else torch.float32, device=dev),
            grid=(T, H, W),
            frame_times=ft,
            frame_ends=fe,
            source=torch.arange(n, device=dev),
        )

    # -- basic facts ----------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.feats.shape[0])

    @property
    def num_original(self) -> int:
        T, H, W = self.grid
        return T * H * W

    @property
    def dim(self) -> int:
        return int(self.feats.shape[1])

    @property
    def device(self) -> torch.device:
        return self.feats.device

    def covered_frames(self) -> torch.Tensor:
        """(T,) bool: frames still shown, i.e. holding a kept token's representative or
        inside a kept token's time span (a merged token covers every frame it absorbed)."""
        ft = self.frame_times
        cov = ((self.span[:, :1] <= ft[None]) & (ft[None] < self.span[:, 1:])).any(0)
        cov[torch.unique(self.pos[:, 0])] = True
        return cov

    def flat_pos(self) -> torch.Tensor:
        """Original flat index of each token's representative position."""
        _, H, W = self.grid
        return (self.pos[:, 0] * H + self.pos[:, 1]) * W + self.pos[:, 2]

    def position_lookup(self) -> torch.Tensor:
        """(T*H*W,) current token whose representative sits at each original position,
        -1 where none does (to find a token's neighbours in space and time)."""
        where = torch.full((self.num_original,), -1, dtype=torch.long, device=self.device)
        where[self.flat_pos()] = torch.arange(len(self), device=self.device)
        return where

    def source_map(self) -> torch.Tensor:
        """original token -> kept token (identity when nothing was merged)."""
        return self.source if self.source is not None else torch.arange(len(self), device=self.device)

    def frames_of(self) -> torch.Tensor:
        return self.pos[:, 0]

    def to(self, device) -> "TokenSet":
        """The set (and the tensors in ``meta``) on ``device``."""
        return replace(
            self,
            feats=self.feats.to(device), pos=self.pos.to(device), span=self.span.to(device),
            size=self.size.to(device), frame_times=self.frame_times.to(device),
            frame_ends=self.frame_ends.to(device),
            source=None if self.source is None else self.source.to(device),
            meta={k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.meta.items()},
        )

    # -- the one primitive ----------------------------------------------------------------
    def reduce(
        self,
        assign: torch.Tensor,
        num_groups: int | None = None,
        *,
        rep: torch.Tensor | None = None,
        how: Literal["mean", "rep"] = "mean",
    ) -> "TokenSet":
        """Collapse tokens into groups.

        assign: (N,) group id of every current token, in [0, K).
        rep: (K,) current-token index representing each group (its position; and its
          feature when ``how='rep'``). Default: the member with the largest size, ties to
          the earliest.
        how: ``mean`` (merging: size-weighted mean of features) or ``rep`` (pruning:
          the representative keeps its own feature; the others only add their size and
          span, so they can be unmerged onto it).
        """
        assign = assign.long()
        K = int(assign.max().item()) + 1 if num_groups is None else int(num_groups)
        N, D = self.feats.shape
        dev = self.device
        counts = torch.bincount(assign, minlength=K)
        if bool((counts == 0).any()):
            raise ValueError("every group must have at least one member")
        size = torch.zeros(K, dtype=self.size.dtype, device=dev).index_add_(0, assign, self.size)
        if rep is None:
            # member with the largest size; ties go to the earliest index
            key = self.size.double() * (N + 1) - torch.arange(N, dtype=torch.float64, device=dev)
            best = torch.full((K,), -float("inf"), dtype=torch.float64, device=dev).scatter_reduce(
                0, assign, key, reduce="amax")
            is_best = key == best[assign]
            cand = torch.where(is_best, torch.arange(N, device=dev), N)
            rep = torch.full((K,), N, dtype=torch.long, device=dev).scatter_reduce(0, assign, cand, reduce="amin")
        if how == "mean":
            from ..kernels import scatter_mean

            feats = scatter_mean(self.feats, self.size, assign, K)[0].to(self.feats.dtype)
        else:
            feats = self.feats[rep].clone()
        lo = torch.full((K,), float("inf"), dtype=torch.float64, device=dev).scatter_reduce(
            0, assign, self.span[:, 0], "amin")
        hi = torch.full((K,), -float("inf"), dtype=torch.float64, device=dev).scatter_reduce(
            0, assign, self.span[:, 1], "amax")
        return TokenSet(
            feats=feats,
            pos=self.pos[rep].clone(),
            span=torch.stack([lo, hi], -1),
            size=size,
            grid=self.grid,
            frame_times=self.frame_times,
            frame_ends=self.frame_ends,
            source=assign[self.source_map()],
            meta=self.meta,
        )

    def keep(self, idx: torch.Tensor, assign_rest: torch.Tensor | None = None, how="rep") -> "TokenSet":
        """Prune: keep tokens ``idx``; every other token joins ``assign_rest`` (its
        position in ``idx``), by default its most similar kept token."""
        idx = idx.long()
        if assign_rest is None:
            assign_rest = nearest(self.feats, self.feats[idx])
        assign = assign_rest.clone()
        assign[idx] = torch.arange(len(idx), device=self.device)
        return self.reduce(assign, len(idx), rep=idx, how=how)

    # -- back to the grid -----------------------------------------------------------------
    def unmerge(self) -> torch.Tensor:
        """(T, H, W, D): every original token replaced by the kept token it went to."""
        T, H, W = self.grid
        return self.feats[self.source_map()].reshape(T, H, W, self.dim)

    def sorted(self) -> "TokenSet":
        """Tokens in (t, h, w) order of their representatives (the order models read)."""
        order = torch.argsort(self.flat_pos())
        inv = torch.empty_like(order)
        inv[order] = torch.arange(len(order), device=self.device)
        return replace(
            self, feats=self.feats[order], pos=self.pos[order], span=self.span[order],
            size=self.size[order], source=inv[self.source_map()],
        )


def cosine_normalize(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), dim=-1, eps=1e-8)


def nearest(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the most cosine-similar row of ``centers`` for each row of ``x``
    (the ``rowmax`` kernel: never an N x N matrix)."""
    from ..kernels import rowmax

    return rowmax(cosine_normalize(x), cosine_normalize(centers))[1]
