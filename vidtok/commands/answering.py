"""The commands that load a video LLM (or an image-text encoder): ``ask``, ``chat``,
``ground``, ``eval``. Each checks the file and every option, then loads the model, then runs
the per-video step ``tasks.steps`` holds (``batch`` runs the same steps)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..checks import check_answering
from ..errors import UsageError
from ..output import check_file
from .common import Status, quiet, thumbs, write_report

if TYPE_CHECKING:
    from ..config import DecodeOptions, PipelineConfig


def load_model(cfg: PipelineConfig, status: Status = quiet, spec: Optional[str] = None):
    """The model ``cfg`` names (or ``spec``), configured (``models.loading.load_configured``),
    while ``status`` says so."""
    from ..models import loading

    with status(f"loading {spec or cfg.model_id}"):
        return loading.load_configured(cfg, spec=spec)


def ask(video, question: str, *, cfg: PipelineConfig, decode: DecodeOptions, use_cache: bool = True,
        report: Optional[Path] = None, status: Status = quiet, on_text=None) -> dict:
    """The answer of ``cfg.model`` (its visual tokens compressed as ``cfg.compression``
    asks), with frames used, tokens before and after, stage timings; ``on_text(delta)``
    receives the answer as it is generated."""
    from ..tasks.steps import answer

    from ..decode.subtitles import read_subtitles

    report = check_file(report, "--report")
    v = decode.open(video)
    check_answering(cfg)
    cues = read_subtitles(cfg.subtitles, v.path)  # a missing or broken file fails here, before the model
    m = load_model(cfg, status)
    with status("decoding, encoding and answering"):
        r = answer(v, question, m, cfg, use_cache=use_cache, on_text=on_text, subtitles=cues)
    r["damage"] = decode.damage(v)
    r["device"], r["dtype"] = m.device, str(next(m.model.parameters()).dtype).removeprefix("torch.")
    if report is not None:
        write_report(report, "vidtok ask", str(video), question=question, answer=r["answer"],
                     frames=thumbs(v, r["frame_indices"]), duration=v.info.end_time,
                     tokens={"vision tower": r["visual_tokens_before"], "after compression": r["visual_tokens_after"],
                             "text": r["text_tokens"]},
                     extra={"model": r["model"], "seconds": r["seconds"]})
    return r


def chat(video, *, cfg: PipelineConfig, decode: DecodeOptions, use_cache: bool = True, status: Status = quiet):
    """A ``Conversation`` about ``video``: decoded, encoded and compressed once (the file
    and options checked before the model loads)."""
    from ..decode.subtitles import read_subtitles
    from ..tasks.chat import Conversation

    v = decode.open(video)
    check_answering(cfg)
    cues = read_subtitles(cfg.subtitles, v.path)
    if "fastv" in cfg.compression.methods:
        raise UsageError("--method fastv ranks tokens by the LLM's attention to one question; chat compresses the "
                         "video once for every question: choose another method (vidtok methods)")
    m = load_model(cfg, status)
    with status("decoding and encoding the video"):
        c = Conversation(v, m, compression=cfg.compression, use_cache=use_cache, max_new_tokens=cfg.max_new_tokens,
                         subtitles=cues)
    c.damage = decode.damage(v)
    return c


def ground(video, query: str, *, cfg: PipelineConfig, decode: DecodeOptions, use_cache: bool = True,
           report: Optional[Path] = None, status: Status = quiet) -> dict:
    """Intervals (start, end, score) where ``query`` happens: by the LLM (``cfg.via="llm"``)
    or by image-text similarity (``"embed"``)."""
    from ..tasks.steps import locate

    report = check_file(report, "--report")
    v = decode.open(video)
    check_answering(cfg, task="ground")
    m = None if cfg.via == "embed" else load_model(cfg, status)
    with status("scoring frames against the query" if m is None else "asking the model"):
        r = locate(v, query, m, cfg, use_cache=use_cache)
    r["damage"] = decode.damage(v)
    if report is not None:
        curve = (r["curve"]["times"], r["curve"]["similarity"]) if "curve" in r else None
        mids = v.indices_at([(i["start"] + i["end"]) / 2 for i in r["intervals"][:8]]).tolist()
        write_report(report, f"vidtok ground: {query}", str(video), question=query,
                     answer="; ".join(r.get("answers", [])) or None, intervals=r["intervals"], curve=curve,
                     duration=v.info.end_time, frames=thumbs(v, mids))
    return r


def evaluate(annotations, *, cfg: PipelineConfig, decode: DecodeOptions, task: str = "ground",
             videos: Optional[Path] = None, limit: Optional[int] = None, out: Optional[Path] = None,
             use_cache: bool = True, benchmark: Optional[str] = None, report: Optional[Path] = None,
             engine: str = "local", data: Optional[Path] = None, status: Status = quiet, progress=None) -> dict:
    """Accuracy at a token budget: grounding (R1@IoU, mIoU), multiple-choice QA, or a
    published ``benchmark`` run and scored as lmms-eval does (``tasks.benchmark``). The whole
    input (every line, every video) is checked before the model loads; with ``out`` each
    item's result is appended as it is scored and a rerun resumes."""
    from ..decode.probe import check_path
    from ..errors import NotAVideoError
    from ..tasks.evaluate import evaluate as run_eval
    from ..tasks.evaluate import load_items

    if annotations is None and benchmark is None:
        raise UsageError("give the annotations file (or --benchmark NAME --data DIR)")
    try:
        ann = check_path(annotations) if annotations is not None else None
    except NotAVideoError:  # an empty file: no items (said below), not "not a video"
        ann = Path(annotations)
    out = check_file(out, "--out")
    report = check_file(report, "--report")
    if engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got '{engine}'")
    if benchmark is not None:
        return _run_benchmark(benchmark, ann, cfg=cfg, decode=decode, videos=videos, limit=limit, out=out,
                              use_cache=use_cache, status=status, progress=progress, report=report, engine=engine,
                              data=data)
    if report is not None or engine != "local":
        raise UsageError("--report and --engine ray are for --benchmark runs")
    if task not in ("ground", "qa"):
        raise UsageError(f"--task must be ground or qa, got '{task}'")
    check_answering(cfg, task=task)
    roots = [Path(videos)] if videos else [ann.parent, ann.parent.parent, ann.parent.parent.parent]
    with status("checking the annotations and videos"):
        items = load_items(ann, task, roots, decode, limit=limit)
    m = None if (task == "ground" and cfg.via == "embed") else load_model(cfg, status)
    tick = progress(len(items)) if progress else None
    kw = dict(compression=cfg.compression, via=cfg.via, encoder=cfg.encoder, use_cache=use_cache, progress=tick,
              subtitles=cfg.subtitles,
              max_new_tokens=cfg.max_new_tokens if "max_new_tokens" in cfg.model_fields_set else None)
    if out is None:
        return run_eval(ann, task, items, m, **kw)
    from ..batch.jsonl import BatchLock, JsonlWriter

    with BatchLock(out):  # one writer; a rerun takes what is done and scores the rest
        writer = JsonlWriter(out, resume=True)
        try:
            r = run_eval(ann, task, items, m, done=writer.done, record=writer.write, **kw)
        finally:
            writer.close()
    return {**r, "out": str(out)}


def _run_benchmark(name: str, docs: Optional[Path], *, cfg, decode, videos, limit, out, use_cache, status, progress,
                   report: Optional[Path] = None, engine: str = "local", data: Optional[Path] = None) -> dict:
    """``eval --benchmark``: the docs and videos checked, the model loaded, each item asked
    and scored by the benchmark's own rules (``tasks.benchmark``)."""
    from ..evals import BENCHMARKS
    from ..tasks.benchmark import load_docs, run_benchmark

    from ..tasks.benchmark import find_files

    bench = BENCHMARKS.get(BENCHMARKS.check(name))
    check_answering(cfg, several=True)
    if data is not None:
        files, roots = find_files(bench, Path(data)), [Path(videos) if videos else Path(data)]
    elif docs is None:
        raise UsageError("--benchmark reads the benchmark's file (FILE) or its dataset folder (--data DIR)")
    else:
        files, roots = [docs], [Path(videos)] if videos else [docs.parent, docs.parent.parent]
    with status("checking the benchmark file and its videos"):
        items = load_docs(bench, files, roots, decode, limit=limit)
    if engine == "ray":  # the actors load the model; the driver scores and writes
        from ..batch.ray_engine import ray_asker

        m, extra = None, dict(asker=ray_asker(cfg, decode, use_cache), spec=cfg.model_id)
    else:
        from ..tasks.benchmark import local_asker

        m = load_model(cfg, status)
        extra = dict(asker=local_asker(m, use_cache, cfg.subtitles))
    tick = progress(len(items)) if progress else None
    kw = dict(settings=cfg.compressions, use_cache=use_cache, progress=tick, **extra,
              seed=cfg.seed if cfg.seed is not None else 0,  # the random fallbacks' (lmms-eval's default: 0)
              sampling={"frames": cfg.frames, "fps": cfg.fps, "max_pixels": cfg.max_pixels, "resize": cfg.resize},
              max_new_tokens=cfg.max_new_tokens if "max_new_tokens" in cfg.model_fields_set else None)
    if out is None:
        r = run_benchmark(bench, items, m, **kw)
    else:
        from ..batch.jsonl import BatchLock, JsonlWriter

        with BatchLock(out):
            writer = JsonlWriter(out, resume=True)
            try:
                r = {**run_benchmark(bench, items, m, done=writer.done, record=writer.write, **kw), "out": str(out)}
            finally:
                writer.close()
    if report is not None:
        _benchmark_report(report, r, docs or data)
    return r


def _benchmark_report(path: Path, r: dict, docs: Path) -> None:
    """The settings table and the headline metric against visual tokens, as one page."""
    from ..output import write_file
    from ..report.html import render_table, scatter_svg

    head = r["headline"]
    rows = [(e["setting"]["method"] or "-", e["setting"]["budget"] or "all", f"{e['metrics'][head]:.4g}",
             "-" if e["relative"] is None else f"{e['relative']:.3f}", f"{e['mean_visual_tokens']:.0f}",
             f"{e['mean_ttft']:.2f}", f"{e['seconds_per_item']:.2f}") for e in r["settings"]]
    points = [(e["mean_visual_tokens"], e["metrics"][head], f"{e['setting']['method'] or '-'} {e['setting']['budget']}")
              for e in r["settings"]]
    write_file(path, render_table(f"vidtok eval: {r['benchmark']}", f"{docs} - {r['items']} items, model "
                                  f"{r['settings'][0]['setting']['model']}",
                                  ["method", "budget", head, "relative", "visual tokens", "TTFT s", "s/item"], rows,
                                  scatter_svg(points, "visual tokens", head)))
