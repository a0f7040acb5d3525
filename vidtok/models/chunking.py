"""The vision tower's input in chunks: frames go through the model's own processor and
tower a few at a time, so memory follows the chunk, not the video; the tokens equal one
pass's (tests hold it). How a family's frames are sized lives here too: square towers read
their configured size, Qwen's processors size frames from the video's total frame count."""

from __future__ import annotations

import numpy as np
import torch


#: frames through a vision tower at once: its activations (and, for the per-frame SigLIP
#: towers of LLaVA-OneVision and SmolVLM2, the processor's float copy of full-size frames)
#: scale with this, not with the video (64 frames at once held ~12 GB for SmolVLM2-256M at
#: 512 px)
TOWER_FRAMES = 8


def processor_chunks(vp, frames: np.ndarray, chunk: int, pinned):
    """Qwen's video processor ``vp`` over ``frames`` (T, H, W, 3), ``chunk`` frames a call:
    (patch rows, (1, 3) grid) pairs, each the tower's input for its frames (Qwen's towers
    attend within one temporal patch, full and windowed attention alike, so chunked passes
    give one pass's tokens). The processor sizes frames from their total number, so each
    call is pinned by ``pinned(T, n, H, W)``: the adapter's size dict under which the
    processor gives n frames the size it picks for all T. Rows equal one call's (a test
    holds it) while the processor's float copies hold a chunk, not the whole video. Where ``pinned`` answers None, one call takes every frame."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # a view: chunks copy one by one
    T = len(x) + len(x) % 2  # the temporal patch takes frames in pairs: the last one repeats
    H, W = x.shape[-2:]
    step = max(2, chunk - chunk % 2)
    starts = range(0, len(x), step)
    sizes = [pinned(T, min(step, T - s), H, W) for s in starts]
    if len(starts) == 1 or None in sizes:
        calls = [(x, {"cap_pixels_per_frame": True})]
    else:
        calls = [(x[s:s + step], {"cap_pixels_per_frame": False, "size": size}) for s, size in zip(starts, sizes)]
    for part, kw in calls:
        if len(part) % 2:
            part = torch.cat([part, part[-1:]])
        out = vp(videos=[part], return_tensors="pt", do_sample_frames=False, **kw)
        yield out["pixel_values_videos"], out["video_grid_thw"]


def joined_grid(grids) -> torch.Tensor:
    """The (1, 3) grid of consecutive chunks of one video, as one call gives it."""
    grid = grids[0].clone()
    grid[0, 0] = sum(int(g[0, 0]) for g in grids)
    return grid


def joined(chunks) -> tuple[torch.Tensor, torch.Tensor]:
    """``processor_chunks``' pairs as one call's (rows, grid)."""
    rows, grids = zip(*chunks)
    return torch.cat(rows), joined_grid(grids)


class SquareFrameInput:
    """For towers that read square frames at their configured image size."""

    @property
    def frame_size(self) -> tuple[int, int]:
        s = self.model.config.vision_config.image_size
        return s, s


class PinnedChunkInput:
    """For Qwen's video processors, which size frames from their total number: the
    processor runs ``TOWER_FRAMES`` frames a call (``processor_chunks``), each call pinned by
    the family's ``pinned_size(vp, total, n, height, width)`` to the size it picks for the
    whole video. Families give ``video_processor()`` and ``pinned_size``."""

    def pixel_chunks(self, frames: np.ndarray):
        """The model's own video processor on decoded frames, ``TOWER_FRAMES`` at a time: it
        resizes them by its own rule (a no-op on frames the decoder already sized,
        ``--resize decoder``), with the per-frame pixel cap of qwen-vl-utils that
        transformers makes its default."""
        vp = self.video_processor()
        return processor_chunks(vp, frames, TOWER_FRAMES, lambda *size: self.pinned_size(vp, *size))

    def pixel_inputs(self, frames: np.ndarray):
        """The processor's (rows, grid) for all frames, as one call gives them."""
        return joined(self.pixel_chunks(frames))
