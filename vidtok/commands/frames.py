"""The commands that work on frames and their tokens without a language model: ``info``,
``sample``, ``compress``, ``keyframes``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from ..checks import check_number, check_selection
from ..errors import UsageError
from ..output import Staged, check_file
from .common import Status, quiet, thumbs, write_report

if TYPE_CHECKING:  # pydantic models: imported where a command runs, not to list --help
    from ..config import DecodeOptions, PipelineConfig


def parse_size(size: Optional[str]) -> Optional[tuple[int, int]]:
    """``640x360`` -> (640, 360)."""
    if not size:
        return None
    try:
        w, h = (int(x) for x in size.lower().split("x"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--size must look like 640x360, got '{size}'") from None
    if max(w, h) > MAX_SIDE:
        raise UsageError(f"--size {size}: each side at most {MAX_SIDE} pixels")
    return w, h


#: the largest frame side a command resizes to (8K is 7680; beyond it a typo, not a wish)
MAX_SIDE = 16384


def info(video, *, stream: Optional[int] = None, allow_truncated: bool = False, frames: bool = False) -> dict:
    """``VideoInfo`` as a dict; with ``frames`` every frame's exact time and the keyframes."""
    from ..decode import probe

    vinfo, index = probe(video, stream=stream, allow_truncated=allow_truncated)
    data = vinfo.to_dict()
    if frames:
        data["frame_times"] = [round(float(t), 9) for t in index.times]
        data["keyframes"] = index.keyframe_indices.tolist()
    return data


def sample(video, *, decode: DecodeOptions, n: Optional[int] = None, fps: Optional[float] = None,
           max_frames: Optional[int] = None, sampler: Optional[str] = None, seek: str = "exact",
           size: Optional[str] = None, out_dir: Optional[Path] = None, image_format: str = "jpg",
           progress: Optional[Callable[[int], Callable[[], None]]] = None) -> dict:
    """Frames with exact times; with ``out_dir`` written as images beside ``frames.json``.
    ``progress(total)`` returns the function to call once per decoded frame."""
    from ..select import sample as run_sampler

    if seek not in ("exact", "keyframe"):
        raise UsageError(f"--seek must be exact or keyframe, got '{seek}'")
    if image_format not in ("jpg", "png"):
        raise UsageError(f"--format must be jpg or png, got '{image_format}'")
    if n is not None and fps is not None:
        raise UsageError("give -n or --fps, not both")
    check_number("--fps", fps, 1e-3, 1000)
    frame_size = parse_size(size)
    staged = Staged(out_dir)  # checked before any decoding
    v = decode.open(video)
    sampler = sampler or ("fps" if fps is not None else "uniform")
    s = run_sampler(v, sampler, n=n if (n is not None or sampler != "uniform") else 16, fps=fps, max_frames=max_frames)
    frame_size = frame_size or (tuple(s.frame_size) if s.frame_size else None)
    # decoders resize before rotation
    decode_size = None if frame_size is None else (
        frame_size if v.info.rotation % 180 == 0 else (frame_size[1], frame_size[0]))
    want = v.snap_to_keyframes(s.indices) if seek == "keyframe" else v.clamp(s.indices)
    tick = progress(len(set(want.tolist()))) if progress else None
    records = []
    with staged:  # the images and frames.json appear together, or nothing does
        for i, t, rgb in v.iter_frames(want, size=decode_size, seek=seek):
            rec = {"index": i, "time": round(t, 6)}
            if staged:
                from PIL import Image

                rec["file"] = f"frame_{i:06d}.{image_format}"
                Image.fromarray(rgb).save(staged / rec["file"], **({"quality": 92} if image_format == "jpg" else {}))
            records.append(rec)
            if tick:
                tick()
        for rec in records:
            rec["damaged"] = rec["index"] in v.damage.frames
        result = {"video": str(video), "sampler": s.sampler, "seek": seek, "backend": v.backend,
                  "num_frames": len(records), "fps": s.fps, "duration": s.duration,
                  "frame_size": list(frame_size) if frame_size else None, "frames": records,
                  "damage": decode.damage(v)}
        if staged:
            (staged / "frames.json").write_text(json.dumps(result, indent=2))
            staged.commit()
    return result


def compress(video, *, cfg: PipelineConfig, decode: DecodeOptions, n: int = 16, size: int = 224,
             patch: int = 16, encoder: str = "pixels", out_dir: Optional[Path] = None,
             status: Status = quiet) -> dict:
    """Tokens in and out, PSNR (pixels encoder) for ``cfg.compression`` (the default method
    and budget where it names none); with ``out_dir`` merge maps of a few frames."""
    staged = Staged(out_dir)
    v = decode.open(video)
    cfg.compression  # noqa: B018  (reading it checks the method and the budget)
    try:
        import torch  # noqa: F401
    except ImportError as e:
        from ..errors import import_failure

        raise import_failure(e, "compression needs torch: pip install 'vidtok[torch]'") from None
    from ..tasks.steps import compress_pixels

    with status("decoding and compressing"):
        r = compress_pixels(v, cfg, num_frames=n, size=size, patch=patch, encoder=encoder)
    result = {**r.summary(), "damage": decode.damage(v)}
    with staged:
        if staged:
            from ..encode.pixels import PixelsEncoder
            from ..report.merge_map import merge_map

            T = r.grid[0]
            picks = sorted({0, T // 3, (2 * T) // 3, T - 1})
            recon = PixelsEncoder(patch).decode(r.compressed.unmerge())
            files = []
            for t, img in zip(picks, merge_map(r.frames, r.original, r.compressed, patch, picks, recon)):
                files.append(f"merge_t{t:03d}_{r.frame_times[t]:.2f}s.png")
                img.save(staged / files[-1])
            result["images"] = files
            (staged / "compress.json").write_text(json.dumps(result, indent=2))
            staged.commit()
    return result


def keyframes(video, *, cfg: PipelineConfig, decode: DecodeOptions, query: Optional[str] = None,
              use_cache: bool = True, out_dir: Optional[Path] = None, report: Optional[Path] = None,
              progress: Optional[Callable[[], None]] = None,
              total: Optional[Callable[[int], None]] = None) -> dict:
    """The frames (or clips, cuts) that matter, by selector ``cfg.selector`` with ``cfg.k``,
    ``cfg.encoder`` and its own options (``cfg.options[selector]``: budget, detector,
    threshold, ...); with ``out_dir`` the frames and a contact sheet; with ``report`` a page.
    ``progress()`` is called per frame the selector works through; ``total(n)`` is told how
    many that will be where it is known (scenes: every frame)."""
    from ..tasks.steps import pick_frames

    method = cfg.selector
    staged, report = Staged(out_dir), check_file(report, "--report")
    v = decode.open(video)
    check_selection(method, query=query, encoder=cfg.encoder, options=cfg.options.get(method))
    if total is not None and method == "scenes":
        total(len(v))
    sel = pick_frames(v, cfg, query=query, use_cache=use_cache, progress=progress)
    result = {"video": str(video), **sel.model_dump(), "damage": decode.damage(v)}
    if report is not None:
        relevance = method in ("query", "search", "diverse", "redundancy")
        curve = ([f.time for f in sel.frames], [f.score for f in sel.frames]) if relevance and len(sel.frames) > 1 else None
        write_report(report, f"vidtok keyframes ({method})", str(video), frames=thumbs(v, sel.indices),
                     duration=v.info.end_time, intervals=[{"start": c.start, "end": c.end, "score": c.score}
                                                          for c in sel.clips], curve=curve,
                     extra={"cuts": ", ".join(f"{c.time:.3f}s" for c in sel.cuts) or "-", **sel.params})
    with staged:
        if staged:
            from PIL import Image

            from ..report.contact_sheet import contact_sheet, fmt_time

            files = []
            if sel.indices:
                fr = v.get_frames(sel.indices)
                for i, t, rgb in zip(fr.indices, fr.times, fr.data):
                    files.append(f"frame_{int(i):06d}_{t:.3f}s.jpg")
                    Image.fromarray(rgb).save(staged / files[-1], quality=90)
                sheet = contact_sheet(list(fr.data), [f"#{int(i)}  {fmt_time(float(t))}"
                                                      for i, t in zip(fr.indices, fr.times)])
                sheet.save(staged / "contact_sheet.jpg", quality=88)
            result["files"] = files
            (staged / "keyframes.json").write_text(json.dumps(result, indent=2))
            staged.commit()
    return result
