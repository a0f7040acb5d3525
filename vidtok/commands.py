"""What each ``vidtok`` subcommand does, as library calls: options in, the result dict that
``--json`` prints out. The CLI only parses flags into these calls, draws progress, renders
the results and maps errors to exit codes; Python users call the same functions.

Every command that decodes opens its video once (``DecodeOptions.open``: a bad file fails
there), checks its options (``vidtok.checks``) before anything heavy loads, hands the opened
``Video`` to its task, and reports damaged data in ``result["damage"]`` (an error with
``strict``). Files a command writes (frames, ``frames.json``, contact sheets, merge maps,
HTML reports) are written here, not in the CLI.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ContextManager, Optional

from .checks import check_answering, check_compression, check_number, check_selection
from .defaults import DEFAULT_BUDGET, DEFAULT_METHOD, DEFAULT_MODEL, DEFAULT_TEXT_ENCODER
from .errors import UsageError
from .output import Staged, check_file

if TYPE_CHECKING:  # pydantic models: imported where a command runs, not to list --help
    from .config import DecodeOptions, PipelineConfig

#: ``status(message)``: a context manager the caller shows while a slow step runs
Status = Callable[[str], ContextManager]


def _quiet(message: str) -> ContextManager:
    return contextlib.nullcontext()


def thumbs(video, indices) -> list:
    """(index, time, small RGB) of frames of the opened ``video``, for a report."""
    if not indices:
        return []
    w, h = video.info.display_size
    size = (320, max(2, round(h * 320 / w) // 2 * 2))
    f = video.get_frames(sorted(set(int(i) for i in indices)), size=size)
    return list(zip(f.indices.tolist(), f.times.tolist(), f.data))


def write_report(path: Path, title: str, video: str, **kw) -> Path:
    from .output import write_file
    from .report.html import render

    return write_file(path, render(title, video, **kw))


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
    from .decode import probe

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
    from .select import sample as run_sampler

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
             status: Status = _quiet) -> dict:
    """Tokens in and out, PSNR (pixels encoder) for ``cfg.method`` at ``cfg.budget`` with
    ``cfg.options``; with ``out_dir`` merge maps of a few frames."""
    method, budget = cfg.method or DEFAULT_METHOD, cfg.budget or DEFAULT_BUDGET
    staged = Staged(out_dir)
    v = decode.open(video)
    check_compression(method, budget)
    try:
        import torch  # noqa: F401
    except ImportError as e:
        from .errors import import_failure

        raise import_failure(e, "compression needs torch: pip install 'vidtok[torch]'") from None
    from .pipeline import compress_video

    with status("decoding and compressing"):
        r = compress_video(v, method, budget, num_frames=n, size=size, patch=patch, encoder=encoder,
                           options=cfg.options)
    result = {**r.summary(), "damage": decode.damage(v)}
    with staged:
        if staged:
            from .encode.pixels import PixelsEncoder
            from .report.merge_map import merge_map

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
    from .select import select

    method = cfg.selector
    staged, report = Staged(out_dir), check_file(report, "--report")
    v = decode.open(video)
    check_selection(method, query=query, encoder=cfg.encoder, options=cfg.options.get(method))
    if total is not None and method == "scenes":
        total(len(v))
    sel = select(v, method, use_cache=use_cache, progress=progress, k=cfg.k, query=query, encoder=cfg.encoder,
                 **cfg.options.get(method, {}))
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

            from .report.contact_sheet import contact_sheet, fmt_time

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


def load_model(cfg: PipelineConfig, device: Optional[str] = None, status: Status = _quiet, spec: Optional[str] = None):
    """``cfg.model`` (or ``spec``) loaded on ``device`` (else ``cfg.device``) in ``cfg.dtype``,
    with the config's model settings (``VideoLLM.configure``)."""
    from .models.base import load_model as load

    spec = spec or cfg.model or DEFAULT_MODEL
    with status(f"loading {spec}"):
        model = load(spec, device=device or cfg.device, dtype=cfg.dtype)
    return model.configure(cfg)


def ask(video, question: str, *, cfg: PipelineConfig, decode: DecodeOptions, device: Optional[str] = None,
        use_cache: bool = True, report: Optional[Path] = None, status: Status = _quiet, on_text=None) -> dict:
    """The answer of ``cfg.model`` (compressed by ``cfg.method`` at ``cfg.budget`` when
    either is set), with frames used, tokens before and after, stage timings;
    ``on_text(delta)`` receives the answer as it is generated."""
    from .tasks.ask import ask as run_ask

    report = check_file(report, "--report")
    v = decode.open(video)
    check_answering(model=cfg.model, method=cfg.method, budget=cfg.budget, device=device or cfg.device)
    m = load_model(cfg, device, status)
    with status("decoding, encoding and answering"):
        r = run_ask(v, question, m, method=cfg.method, budget=cfg.budget, max_new_tokens=cfg.max_new_tokens,
                    use_cache=use_cache, pre_keep=cfg.pre_keep, options=cfg.options, on_text=on_text)
    r["damage"] = decode.damage(v)
    r["device"], r["dtype"] = m.device, str(next(m.model.parameters()).dtype).removeprefix("torch.")
    if report is not None:
        write_report(report, "vidtok ask", str(video), question=question, answer=r["answer"],
                     frames=thumbs(v, r["frame_indices"]), duration=v.info.end_time,
                     tokens={"vision tower": r["visual_tokens_before"], "after compression": r["visual_tokens_after"],
                             "text": r["text_tokens"]},
                     extra={"model": r["model"], "seconds": r["seconds"]})
    return r


def chat(video, *, cfg: PipelineConfig, decode: DecodeOptions, device: Optional[str] = None, use_cache: bool = True,
         status: Status = _quiet):
    """A ``Conversation`` about ``video``: decoded, encoded and compressed once (the file
    and options checked before the model loads)."""
    from .tasks.chat import Conversation

    v = decode.open(video)
    check_answering(model=cfg.model, method=cfg.method, budget=cfg.budget, device=device or cfg.device)
    if cfg.method and "fastv" in cfg.method.split(","):
        raise UsageError("--method fastv ranks tokens by the LLM's attention to one question; chat compresses the "
                         "video once for every question: choose another method (vidtok methods)")
    m = load_model(cfg, device, status)
    with status("decoding and encoding the video"):
        c = Conversation(v, m, method=cfg.method, budget=cfg.budget, options=cfg.options, pre_keep=cfg.pre_keep,
                         use_cache=use_cache, max_new_tokens=cfg.max_new_tokens)
    c.damage = decode.damage(v)
    return c


def ground(video, query: str, *, cfg: PipelineConfig, decode: DecodeOptions, device: Optional[str] = None,
           use_cache: bool = True, report: Optional[Path] = None, status: Status = _quiet) -> dict:
    """Intervals (start, end, score) where ``query`` happens: by the LLM (``cfg.via="llm"``)
    or by image-text similarity (``"embed"``)."""
    from .tasks.ground import ground_embed, ground_llm

    report = check_file(report, "--report")
    v = decode.open(video)
    check_answering(task="ground", model=cfg.model, method=cfg.method, budget=cfg.budget, via=cfg.via,
                    encoder=cfg.encoder, device=device or cfg.device)
    if cfg.via == "embed":
        with status("scoring frames against the query"):
            r = ground_embed(v, query, encoder=cfg.encoder or DEFAULT_TEXT_ENCODER)
    else:
        m = load_model(cfg, device, status)
        with status("asking the model"):
            r = ground_llm(v, query, m, method=cfg.method, budget=cfg.budget, chunk_seconds=cfg.chunk_seconds,
                           pre_keep=cfg.pre_keep, use_cache=use_cache, options=cfg.options,
                           max_new_tokens=cfg.answer_tokens(48))
    r["damage"] = decode.damage(v)
    if report is not None:
        curve = (r["curve"]["times"], r["curve"]["similarity"]) if "curve" in r else None
        mids = v.indices_at([(i["start"] + i["end"]) / 2 for i in r["intervals"][:8]]).tolist()
        write_report(report, f"vidtok ground: {query}", str(video), question=query,
                     answer="; ".join(r.get("answers", [])) or None, intervals=r["intervals"], curve=curve,
                     duration=v.info.end_time, frames=thumbs(v, mids))
    return r


def evaluate(annotations, *, cfg: PipelineConfig, decode: DecodeOptions, task: str = "ground",
             videos: Optional[Path] = None, device: Optional[str] = None, limit: Optional[int] = None,
             out: Optional[Path] = None, status: Status = _quiet, progress=None) -> dict:
    """Accuracy at a token budget: grounding (R1@IoU, mIoU) or multiple-choice QA. The whole
    input (every line, every video) is checked before the model loads; with ``out`` each
    item's result is appended as it is scored and a rerun resumes."""
    from .decode.probe import check_path
    from .errors import NotAVideoError
    from .tasks.evaluate import evaluate as run_eval
    from .tasks.evaluate import load_items

    try:
        ann = check_path(annotations)
    except NotAVideoError:  # an empty file: no items (said below), not "not a video"
        ann = Path(annotations)
    if task not in ("ground", "qa"):
        raise UsageError(f"--task must be ground or qa, got '{task}'")
    out = check_file(out, "--out")
    check_answering(task=task, model=cfg.model, method=cfg.method, budget=cfg.budget, via=cfg.via,
                    encoder=cfg.encoder, device=device or cfg.device)
    roots = [Path(videos)] if videos else [ann.parent, ann.parent.parent, ann.parent.parent.parent]
    with status("checking the annotations and videos"):
        items = load_items(ann, task, roots, decode, limit=limit)
    m = None if (task == "ground" and cfg.via == "embed") else load_model(cfg, device, status)
    tick = progress(len(items)) if progress else None
    kw = dict(method=cfg.method, budget=cfg.budget, via=cfg.via, encoder=cfg.encoder, pre_keep=cfg.pre_keep,
              options=cfg.options, progress=tick)
    if out is None:
        return run_eval(ann, task, items, m, **kw)
    from .batch.jsonl import BatchLock, JsonlWriter

    with BatchLock(out):  # one writer; a rerun takes what is done and scores the rest
        writer = JsonlWriter(out, resume=True)
        try:
            r = run_eval(ann, task, items, m, done=writer.done, record=writer.write, **kw)
        finally:
            writer.close()
    return {**r, "out": str(out)}


BATCH_TASKS = ("ask", "ground", "keyframes", "compress")


def batch(folder, *, cfg: PipelineConfig, decode: DecodeOptions, task: str = "keyframes", queries: list[Optional[str]] = (None,),
          out: Path = Path("results.jsonl"), recursive: bool = False, glob: Optional[str] = None, workers: int = 2,
          engine: str = "local", restart: bool = False, wait: bool = False, report: Optional[Path] = None,
          progress: Optional[Callable[[int], Callable[[dict], None]]] = None) -> dict:
    """Run ``task`` over a folder with the ``PipelineConfig`` ``cfg``: one JSON line per
    (video, query) in ``out``, resumable, each item exactly once (``BatchLock``).
    ``progress(total)`` returns the function to call with each record written."""
    from .batch.jsonl import BatchLock, read_done
    from .batch.runner import find_videos, make_jobs

    if task not in BATCH_TASKS:
        raise UsageError(f"--task must be {', '.join(BATCH_TASKS[:-1])} or {BATCH_TASKS[-1]}, got '{task}'")
    if engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got '{engine}'")
    queries = list(queries) or [None]
    out, report = check_file(out, "--out"), check_file(report, "--report")
    if task in ("ask", "ground"):
        if queries == [None]:
            raise UsageError(f"--task {task} needs --query or --queries")
        check_answering(task=task, model=cfg.model, method=cfg.method, budget=cfg.budget, via=cfg.via,
                        encoder=cfg.encoder, device=cfg.device)
    elif task == "keyframes":
        check_selection(cfg.selector, query=queries[0], encoder=cfg.encoder, options=cfg.options.get(cfg.selector))
    else:
        check_compression(cfg.method or DEFAULT_METHOD, cfg.budget or DEFAULT_BUDGET)
    videos = find_videos(Path(folder), recursive=recursive, pattern=glob)
    if not videos:
        raise UsageError("no video files found", folder)
    jobs = make_jobs(videos, queries, task, cfg.model_dump())
    on_done = progress(len(jobs)) if progress else None
    with BatchLock(out, wait=wait):  # before the model loads: a refused run costs nothing
        if engine == "ray":
            from .batch.ray_engine import run_batch_ray

            summary = run_batch_ray(jobs, task, cfg, out, resume=not restart, progress=on_done and
                                    (lambda job, rec: on_done(rec)), decode=decode)
        else:
            from .batch.runner import run_batch
            from .batch.tasks import build_task

            prepare, run_fn = build_task(task, cfg, lambda spec: load_model(cfg, spec=spec), decode)
            summary = run_batch(jobs, task, prepare, run_fn, out, workers=workers, resume=not restart,
                                progress=on_done and (lambda job, rec: on_done(rec)))
    if report is not None:
        write_report(report, f"vidtok batch {task}", str(folder), rows=list(read_done(Path(out))[0].values()),
                     extra={"total": summary.total, "ok": summary.ok + summary.skipped, "failed": summary.failed})
    return {"out": str(out), "total": summary.total, "skipped_done": summary.skipped, "ok": summary.ok,
            "failed": summary.failed, "seconds": round(summary.seconds, 3), "errors": summary.errors[:20]}


def search(folder, query: str, *, decode: DecodeOptions, k: int = 10, encoder: str = DEFAULT_TEXT_ENCODER,
           fps: float = 1.0, index: Optional[Path] = None, recursive: bool = False,
           progress: Optional[Callable[[int], Callable[[], None]]] = None) -> dict:
    """Top-``k`` moments for ``query`` across a folder, from an incremental SQLite index."""
    from .batch.runner import find_videos
    from .weights import check_encoder

    check_number("--fps", fps, 1e-3, 1000)
    index = check_file(index, "--index")
    videos = find_videos(Path(folder), recursive=recursive)
    check_encoder(encoder)
    from .encode.base import load_encoder  # torch: only once the options are good
    from .tasks.search import SearchIndex, default_index

    idx = SearchIndex(index or default_index(Path(folder)))
    enc = load_encoder(encoder)
    tick = progress(len(videos)) if progress else None
    st = idx.update(videos, enc, encoder, fps, progress=tick and (lambda p, s: tick()), decode=decode)
    hits = idx.search(enc.encode_text([query]).numpy()[0], k=k)
    return {"query": query, "moments": hits, "index": {**idx.stats(), **st}}


def models() -> dict:
    """The model families with their hub checkpoints (and whether each is in the local
    Hugging Face cache already) and random test models; read from the registry and the
    adapters' sources, so nothing is imported or downloaded."""
    from .models import MODELS
    from .weights import in_cache

    return {"default": DEFAULT_MODEL,
            "families": [{"family": name, "description": MODELS.describe(name),
                          "hub": [{"id": repo, "params": params, "cached": in_cache(repo)}
                                  for repo, params in MODELS.module_dict(name, "HUB_IDS").items()],
                          "random": [f"random:{name}-{size}" for size in MODELS.module_dict(name, "SIZES")]}
                         for name in MODELS.names()]}


def recipes() -> list[dict]:
    from .config import list_recipes, load_recipe

    return [{"name": n, **load_recipe(n).model_dump(exclude_defaults=True)} for n in list_recipes()]


def methods() -> list[dict]:
    """Every registered component with its description and (compressors, selectors) the
    options ``-o`` can set; read from the registries and sources, so nothing is imported:
    "available" means installed (decoders: their library is found; compressors: torch is)."""
    import importlib.util

    from .compress import COMPRESSORS
    from .decode import DECODERS
    from .encode import ENCODERS
    from .select import SAMPLERS, SELECTORS

    has_torch = importlib.util.find_spec("torch") is not None
    rows = [{"kind": "decoder", "name": n, "available": cls.installed(), "description": DECODERS.describe(n)}
            for n, cls in DECODERS.items()]
    for kind, reg, available in (("sampler", SAMPLERS, True), ("selector", SELECTORS, True),
                                 ("compressor", COMPRESSORS, has_torch), ("encoder", ENCODERS, has_torch)):
        skip = ("query", "progress", "encoder")
        rows += [{"kind": kind, "name": n, "available": available, "description": reg.describe(n),
                  **({"options": reg.options(n, skip)} if kind in ("compressor", "selector") else {})}
                 for n in reg.names()]
    return rows
