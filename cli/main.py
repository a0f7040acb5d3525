"""The ``vidtok`` command. Thin: parse options, call the library, print.

Errors the library raises on purpose (``VidtokError``) print as one line naming the file
and the problem, with a documented exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vidtok import __version__
from vidtok.defaults import DEFAULT_METHOD, DEFAULT_MODEL, DEFAULT_TEXT_ENCODER
from vidtok.errors import EXIT_CODES, UsageError, VidtokError

app = typer.Typer(
    name="vidtok",
    help=(
        "Video understanding with fewer tokens: decode videos with exact timestamps, pick the "
        "frames that matter, compress visual tokens, ask video LLMs.\n\n"
        "Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items())
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        out.print(f"vidtok {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["debug"] = debug


# -- shared options ---------------------------------------------------------------------------
BackendOpt = typer.Option(None, "--backend", "-b", help="Decoder: pyav (default), torchcodec, decord, opencv.")
StreamOpt = typer.Option(None, "--stream", help="FFmpeg index of the video stream (default: the best one).")
TimeoutOpt = typer.Option(60.0, "--timeout", help="Seconds a decoder may stall before failing.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
TruncOpt = typer.Option(False, "--allow-truncated", help="Use the frames a truncated file has instead of failing.")
StrictOpt = typer.Option(False, "--strict", help="Fail (exit 4) when FFmpeg reports damaged data, instead of warning.")


ReportOpt = typer.Option(None, "--report", help="Also write a self-contained HTML report here.")


def _shows(as_json: bool) -> bool:
    """Progress and spinners go to stderr when it is a terminal, and never with --json."""
    return not as_json and sys.stderr.isatty()


def _status(quiet: bool = False):
    """``status(message)`` for slow steps (model loading, generation): a spinner on stderr."""
    import contextlib

    return err.status if _shows(quiet) else (lambda message: contextlib.nullcontext())


def _warn_damage(result: dict) -> None:
    """One line on stderr when decoding met damaged data (``--strict`` made it an error)."""
    d = result.get("damage") or {}
    if d.get("decode_errors") or d.get("damaged_frames"):
        from vidtok.decode.base import Damage

        dmg = Damage()
        dmg.merge(d)
        err.print(f"vidtok: warning: {result.get('video')}: {dmg.summary()} (--strict makes this an error)",
                  highlight=False, markup=False, soft_wrap=True)


def _decode(backend, stream, timeout, allow_truncated, strict=False):
    """The common decode options, checked (a bad value is a usage error, exit 2)."""
    from vidtok.config import DecodeOptions

    return DecodeOptions.of(backend=backend, stream=stream, timeout=timeout, allow_truncated=allow_truncated,
                            strict=strict)


@app.command()
def info(
    video: str = typer.Argument(..., help="Video file.", show_default=False),
    as_json: bool = JsonOpt,
    frames: bool = typer.Option(False, "--frames", help="Include every frame's exact time and the keyframes."),
    stream: Optional[int] = StreamOpt,
    allow_truncated: bool = TruncOpt,
) -> None:
    """Describe a video: duration, fps, exact frame count, size, codec, streams, VFR.

    Example: [bold]vidtok info clip.mp4 --json[/bold]
    """
    from vidtok import commands

    data = commands.info(video, stream=stream, allow_truncated=allow_truncated, frames=frames)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    out.print(f"[bold]{escape(str(video))}[/bold]", soft_wrap=True)
    t = Table(show_header=False, box=None)
    streams = data["video_streams"]
    rows = [
        ("duration", f"{data['duration']:.3f} s  (start {data['start_time']:.3f} s)"),
        ("frames", f"{data['num_frames']}  ({_n(data['num_keyframes'], 'keyframe')})"),
        ("fps", f"{data['fps']:.3f}" + ("  variable frame rate" if data["is_vfr"] else "")),
        ("size", f"{data['width']}x{data['height']}" + (f"  rotated {data['rotation']}°" if data["rotation"] else "")),
        ("codec", f"{data['codec']} {data['profile'] or ''} {data['pix_fmt'] or ''}".strip()),
        ("container", f"{data['container']}, {_n(data['num_streams'], 'stream')} ({len(streams)} video, "
                      f"{data['num_streams'] - len(streams)} other)"),
        ("video streams", ", ".join(f"#{s['index']} {s['codec']} {s['width']}x{s['height']}"
                                    + (" (chosen)" if s["index"] == data["stream_index"] else "") for s in streams)),
    ]
    for k, v in rows:
        t.add_row(f"[bold]{k}[/bold]", v)
    out.print(t)
    if frames:
        out.print("frame times: " + ", ".join(f"{x:.3f}" for x in data["frame_times"][:20])
                  + (" ..." if len(data["frame_times"]) > 20 else ""))


@app.command()
def sample(
    video: str = typer.Argument(..., help="Video file.", show_default=False),
    n: Optional[int] = typer.Option(None, "-n", "--num-frames", help="Number of evenly spaced frames (default 16)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Sample at this rate (frames per second) instead."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", help="Cap for --fps sampling."),
    sampler: Optional[str] = typer.Option(
        None, "--sampler", "-s",
        help="uniform, fps, or a model's default: qwen2_5_vl, qwen3_vl, llava_onevision, smolvlm2."),
    seek: str = typer.Option("exact", "--seek", help="exact (default) or keyframe: snap to keyframes, much faster."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write frames as images and frames.json here."),
    image_format: str = typer.Option("jpg", "--format", help="jpg or png."),
    size: Optional[str] = typer.Option(None, "--size", help="Resize frames to WIDTHxHEIGHT (default: the sampler's)."),
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
    strict: bool = StrictOpt,
) -> None:
    """Pick frames from a video and (with --out) write them with their exact times.

    Examples:
      [bold]vidtok sample clip.mp4 -n 16 --out frames/[/bold]
      [bold]vidtok sample clip.mp4 --fps 1 --max-frames 64 --json[/bold]
      [bold]vidtok sample clip.mp4 --sampler qwen2_5_vl --out frames/[/bold]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vidtok import commands

    dec = _decode(backend, stream, timeout, allow_truncated, strict)
    with Progress(TextColumn("[bold]decoding[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, disable=not _shows(as_json), transient=True) as bar:
        def progress(total):
            task = bar.add_task("decode", total=total)
            return lambda: bar.advance(task)

        result = commands.sample(video, decode=dec, n=n, fps=fps, max_frames=max_frames, sampler=sampler, seek=seek,
                                 size=size, out_dir=out_dir, image_format=image_format, progress=progress)
    _warn_damage(result)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    records = result["frames"]
    out.print(f"{_n(len(records), 'frame')} ({result['sampler']}, {seek} seek, {result['backend']}) at "
              + ", ".join(f"{r['time']:.2f}s" for r in records[:12]) + (" ..." if len(records) > 12 else ""))
    if out_dir is not None:
        out.print(f"wrote {_n(len(records), 'image')} and frames.json to {out_dir}")


@app.command()
def compress(
    video: str = typer.Argument(..., help="Video file.", show_default=False),
    method: str = typer.Option(DEFAULT_METHOD, "--method", "-m",
                               help="Compressor or comma-separated chain, e.g. dtd,holitom (see `vidtok methods`)."),
    budget: str = typer.Option("0.1", "--budget", "-B",
                               help="Tokens to keep: 500 (tokens), 0.1 or 10% (of the input), 64/frame."),
    encoder: str = typer.Option("pixels", "--encoder", help="Token encoder (pixels: raw patches, no weights)."),
    n: int = typer.Option(16, "-n", "--num-frames", help="Frames sampled uniformly."),
    size: int = typer.Option(224, "--size", help="Frames are resized to SIZE x SIZE."),
    patch: int = typer.Option(16, "--patch", help="Patch side in pixels (pixels encoder)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write merge maps of a few frames here."),
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
    strict: bool = StrictOpt,
) -> None:
    """Compress a video's visual tokens and measure what survives (PSNR, pixels encoder).

    Examples:
      [bold]vidtok compress clip.mp4 --method holitom --budget 0.1[/bold]
      [bold]vidtok compress clip.mp4 -m dtd,tome -B 64/frame --out maps/ --json[/bold]
    """
    from vidtok import commands

    result = commands.compress(video, decode=_decode(backend, stream, timeout, allow_truncated, strict), method=method,
                               budget=budget, n=n, size=size, patch=patch, encoder=encoder, out_dir=out_dir,
                               status=_status(as_json))
    _warn_damage(result)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    out.print(f"{escape(video)}: {'+'.join(result['methods'])} kept {result['tokens_out']} of {result['tokens_in']} "
              f"tokens ({result['ratio']:.1%}) in {result['seconds']['compress'] * 1000:.0f} ms; "
              f"PSNR {result['psnr_db']:.2f} dB (pixels)", soft_wrap=True)
    if out_dir is not None:
        out.print(f"wrote {_n(len(result['images']), 'merge map')} to {out_dir}")


@app.command()
def keyframes(
    video: str = typer.Argument(..., help="Video file.", show_default=False),
    method: str = typer.Option("scenes", "--method", "-m",
                               help="uniform, fps, scenes, redundancy, query, diverse, clips, search."),
    query: Optional[str] = typer.Option(None, "--query", "-q", help="Text the frames should match (query, diverse, clips, search)."),
    k: Optional[int] = typer.Option(None, "-k", min=1, help="Number of frames (clips: number of clips)."),
    budget: Optional[int] = typer.Option(None, "--budget", min=1, help="clips: visual-token budget; search: frames to score."),
    encoder: Optional[str] = typer.Option(None, "--encoder",
                                          help="open_clip:MODEL/PRETRAINED, siglip:HUB_ID, random:clip-tiny, pixels."),
    detector: Optional[str] = typer.Option(None, "--detector", help="scenes: content (default), adaptive, fade, all."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="scenes: content threshold (default 27)."),
    min_scene_len: Optional[int] = typer.Option(None, "--min-scene-len", help="scenes: minimum frames per scene (15)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the chosen frames and a contact sheet here."),
    report: Optional[Path] = ReportOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the selection cache."),
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
    strict: bool = StrictOpt,
) -> None:
    """Pick the frames (or clips) that matter, with exact times.

    query, diverse, clips and search embed frames with an image-text encoder: with a
    query and no --encoder, open_clip ViT-B-32 (~600 MB, downloaded from the Hugging Face
    hub on first use; offline and not cached: exit 8 at once).

    Examples:
      [bold]vidtok keyframes film.mp4 --method scenes --json[/bold]          cuts + one frame per scene
      [bold]vidtok keyframes film.mp4 -m redundancy -k 8 --out kf/[/bold]     where content changes most
      [bold]vidtok keyframes clip.mp4 -m query -q "a dog jumps" -k 16[/bold]  query-aware (needs open_clip weights)
      [bold]vidtok keyframes clip.mp4 -m clips -q "goal" -k 4 --budget 4096[/bold]   F2C key clips
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from vidtok import commands

    dec = _decode(backend, stream, timeout, allow_truncated, strict)
    with Progress(TextColumn(f"[bold]{method}[/bold]"), BarColumn(), TimeElapsedColumn(), console=err,
                  disable=not _shows(as_json), transient=True) as bar:
        task = bar.add_task(method, total=None)
        result = commands.keyframes(video, decode=dec, method=method, use_cache=not no_cache, out_dir=out_dir,
                                    report=report, progress=lambda: bar.advance(task), k=k, query=query,
                                    encoder=encoder, budget=budget, detector=detector, threshold=threshold,
                                    min_scene_len=min_scene_len)
    _warn_damage(result)
    if report is not None:
        err.print(f"report: {report}", highlight=False, markup=False)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    if result["cuts"]:
        out.print(f"{_n(len(result['cuts']), 'cut')} at " + ", ".join(f"{c['time']:.3f}s (#{c['index']})"
                                                                      for c in result["cuts"]))
    for c in result["clips"]:
        out.print(f"clip {c['start']:.2f}-{c['end']:.2f}s  {_n(len(c['frames']), 'frame')} at {c['size']}px  "
                  f"{_n(c['tokens'], 'token')}  score {c['score']:.3f}")
    frames = result["frames"]
    out.print(f"{_n(len(frames), 'frame')}: " + ", ".join(f"{f['time']:.2f}s" for f in frames[:16])
              + (" ..." if len(frames) > 16 else ""))
    if out_dir is not None:
        out.print(f"wrote {_n(len(result['files']), 'frame')} and contact_sheet.jpg to {out_dir}")


PreKeepOpt = typer.Option(
    None, "--pre-keep", min=0.01, max=1.0,
    help="Run the vision tower on only this fraction of the sampled frames, the most distinct ones "
         "(near-duplicates dropped before the tower: much faster on CPU). --budget stays a share of all frames.")
ModelOpt = typer.Option(None, "--model", "-m",
                        help=f"Hub id or local checkpoint directory (default {DEFAULT_MODEL}; a hub id not yet in the "
                             "Hugging Face cache is downloaded first, and offline that is exit 8 at once), "
                             "or random:<family>-tiny (no weights).")


@app.command()
def ask(
    video: str = typer.Argument(..., help="Video file.", show_default=False),
    question: str = typer.Argument(..., help="The question.", show_default=False),
    model: Optional[str] = ModelOpt,
    method: Optional[str] = typer.Option(None, "--method", help="Compressor or chain (default holitom when --budget is given)."),
    budget: Optional[str] = typer.Option(None, "--budget", "-B", help="Visual tokens to keep: 0.1, 10%, 500, 64/frame."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1, help="Longest answer in tokens."),
    pre_keep: Optional[float] = PreKeepOpt,
    proportional: bool = typer.Option(
        False, "--proportional", help="Proportional attention: a merged token gets log(tokens it stands for) "
                                      "added to its attention logits (ToMe), so merging near-duplicates keeps their weight."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the visual-token cache."),
    device: Optional[str] = typer.Option(None, "--device", help="cuda, mps or cpu (default: best available)."),
    report: Optional[Path] = ReportOpt,
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
    strict: bool = StrictOpt,
) -> None:
    """Ask a video LLM a question about a video, optionally with compressed visual tokens.

    The file and every option are checked before the model loads.

    Examples:
      [bold]vidtok ask clip.mp4 "What is the person doing?"[/bold]
      [bold]vidtok ask clip.mp4 "What happens?" --budget 0.1 --method dtd,holitom --json[/bold]
      [bold]vidtok ask clip.mp4 "What happens?" --budget 0.1 --pre-keep 0.5[/bold]   (half the frames through the tower)
      [bold]vidtok ask clip.mp4 "What happens?" -m random:qwen2_5_vl-tiny --json[/bold]   (no weights: a test model)
    """
    from vidtok import commands

    r = commands.ask(video, question, decode=_decode(backend, stream, timeout, allow_truncated, strict), model=model,
                     device=device, method=method, budget=budget, max_new_tokens=max_new_tokens, pre_keep=pre_keep,
                     proportional=proportional, use_cache=not no_cache, report=report, status=_status(as_json))
    _warn_damage(r)
    if report is not None:
        err.print(f"report: {report}", highlight=False, markup=False)
    if as_json:
        print(json.dumps(r, indent=2))
        return
    out.print(r["answer"] or "(empty answer)", soft_wrap=True, markup=False)
    err.print(f"{r['frames_used']} of {_n(r['frames_sampled'], 'frame')}, visual tokens {r['visual_tokens_before']} -> "
              f"{r['visual_tokens_after']}{' (cached)' if r['cached_tokens'] else ''}, {r['seconds']['total']:.2f}s",
              highlight=False)


@app.command()
def ground(
    video: str = typer.Argument(..., help="Video file.", show_default=False),
    query: str = typer.Argument(..., help="What to find, e.g. 'person opens the door'.", show_default=False),
    model: Optional[str] = ModelOpt,
    via: str = typer.Option("llm", "--via", help="llm (ask the video LLM) or embed (image-text similarity, no LLM)."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="--via embed: open_clip:MODEL/PRETRAINED, siglip:ID, random:clip-tiny."),
    method: Optional[str] = typer.Option(None, "--method", help="Compressor or chain for the LLM path."),
    budget: Optional[str] = typer.Option(None, "--budget", "-B", help="Visual-token budget for the LLM path."),
    chunk_seconds: float = typer.Option(600.0, "--chunk-seconds", min=1.0, help="Longer videos are asked in chunks of this length."),
    pre_keep: Optional[float] = PreKeepOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the visual-token cache."),
    report: Optional[Path] = ReportOpt,
    srt: bool = typer.Option(False, "--srt", help="Print the intervals as SRT subtitles."),
    vtt: bool = typer.Option(False, "--vtt", help="Print the intervals as WebVTT."),
    device: Optional[str] = typer.Option(None, "--device", help="cuda, mps or cpu."),
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
    strict: bool = StrictOpt,
) -> None:
    """Find when something happens: intervals in seconds with scores.

    --via embed needs an image-text encoder: without --encoder, open_clip ViT-B-32 (~600 MB,
    downloaded from the Hugging Face hub on first use; offline and not cached: exit 8 at once).

    Examples:
      [bold]vidtok ground clip.mp4 "person opens the door" --json[/bold]
      [bold]vidtok ground clip.mp4 "a goal" --via embed --srt > goals.srt[/bold]
    """
    from vidtok import commands
    from vidtok.tasks.ground import to_srt, to_vtt

    quiet = as_json or srt or vtt
    r = commands.ground(video, query, decode=_decode(backend, stream, timeout, allow_truncated, strict), via=via,
                        model=model, device=device, encoder=encoder, method=method, budget=budget,
                        chunk_seconds=chunk_seconds, pre_keep=pre_keep, use_cache=not no_cache, report=report,
                        status=_status(quiet))
    _warn_damage(r)
    if report is not None:
        err.print(f"report: {report}", highlight=False, markup=False)
    if srt or vtt:
        print((to_vtt if vtt else to_srt)(r["intervals"], query))
        return
    if as_json:
        print(json.dumps(r, indent=2))
        return
    if not r["intervals"]:
        out.print("no interval found" + (f" (model said: {r['answers'][0]!r})" if r.get("answers") else ""))
    for iv in r["intervals"]:
        out.print(f"{iv['start']:.2f}s - {iv['end']:.2f}s  score {iv['score']:.3f}")


@app.command(name="eval")
def evaluate(
    annotations: str = typer.Argument(..., help="Charades-STA .txt (ground) or QA .jsonl file.", show_default=False),
    task: str = typer.Option("ground", "--task", help="ground or qa."),
    videos: Optional[Path] = typer.Option(None, "--videos", help="Folder with the videos (default: near the annotations)."),
    model: Optional[str] = ModelOpt,
    via: str = typer.Option("llm", "--via", help="ground: llm or embed."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="--via embed encoder."),
    method: Optional[str] = typer.Option(None, "--method", help="Compressor or chain."),
    budget: Optional[str] = typer.Option(None, "--budget", "-B", help="Visual-token budget."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N items."),
    pre_keep: Optional[float] = PreKeepOpt,
    device: Optional[str] = typer.Option(None, "--device", help="cuda, mps or cpu."),
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
) -> None:
    """Measure accuracy against token budget on grounding (R1@IoU, mIoU) or multiple-choice QA.

    Example: [bold]vidtok eval charades_sta_test.txt --task ground -m random:qwen2_5_vl-tiny --budget 0.1[/bold]
    """
    from vidtok import commands

    r = commands.evaluate(annotations, decode=_decode(backend, stream, timeout, allow_truncated), task=task,
                          videos=videos, model=model, device=device, via=via, encoder=encoder, method=method,
                          budget=budget, limit=limit, pre_keep=pre_keep, status=_status(as_json))
    if as_json:
        print(json.dumps(r, indent=2))
        return
    t = Table("metric", "value")
    for k, v in r["metrics"].items():
        t.add_row(k, f"{v:.3f}")
    t.add_row("items", str(r["items"]))
    t.add_row("seconds/item", f"{r['seconds_per_item']:.2f}")
    out.print(t)


@app.command()
def models(as_json: bool = JsonOpt) -> None:
    """List the supported model families and the random test models (no model is loaded)."""
    from vidtok.models import MODELS

    rows = [{"family": name, "description": MODELS.describe(name),
             "random": [f"random:{name}-{size}" for size in MODELS.module_dict_keys(name, "SIZES")]}
            for name in MODELS.names()]
    if as_json:
        print(json.dumps({"default": DEFAULT_MODEL, "families": rows}, indent=2))
        return
    t = Table("family", "random test models", "description")
    for r in rows:
        t.add_row(r["family"], ", ".join(r["random"]), r["description"])
    out.print(t)
    out.print(f"default model: {DEFAULT_MODEL}")


@app.command()
def batch(
    folder: str = typer.Argument(..., help="Folder of videos (or one video).", show_default=False),
    task: str = typer.Option("keyframes", "--task", "-t", help="ask, ground, keyframes or compress."),
    query: Optional[str] = typer.Option(None, "--query", "-q", help="One query for every video."),
    queries: Optional[Path] = typer.Option(None, "--queries", help="File with one query per line."),
    out_path: Path = typer.Option(Path("results.jsonl"), "--out", "-o", help="Results, one JSON line per (video, query)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Look into subfolders."),
    glob: Optional[str] = typer.Option(None, "--glob", help="Only files matching this pattern, e.g. '*.mp4'."),
    workers: int = typer.Option(2, "--workers", "-w", help="Threads that decode ahead of model work."),
    engine: str = typer.Option("local", "--engine", help="local (threads) or ray (a Ray cluster or a local Ray)."),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="A preset from recipes/ (see `vidtok recipes`)."),
    model: Optional[str] = ModelOpt,
    method: Optional[str] = typer.Option(None, "--method", help="Compressor or chain."),
    budget: Optional[str] = typer.Option(None, "--budget", "-B", help="Visual-token budget."),
    selector: Optional[str] = typer.Option(None, "--selector", help="keyframes task: selector (default scenes)."),
    k: Optional[int] = typer.Option(None, "-k", help="keyframes task: frames to select."),
    via: Optional[str] = typer.Option(None, "--via", help="ground task: llm or embed."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Image-text encoder for query-aware steps."),
    pre_keep: Optional[float] = PreKeepOpt,
    proportional: Optional[bool] = typer.Option(None, "--proportional/--no-proportional",
                                                help="ask/ground: proportional attention for merged tokens."),
    restart: bool = typer.Option(False, "--restart", help="Start over instead of resuming an existing --out."),
    wait: bool = typer.Option(False, "--wait", help="If another batch is writing --out, wait for it instead of failing (exit 2)."),
    report: Optional[Path] = ReportOpt,
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
    strict: bool = StrictOpt,
) -> None:
    """Run a task over a folder: one JSON line per (video, query), resumable.

    Rerunning the same command skips what is done; a killed run resumes where it stopped.
    Items are keyed by each file's real path and content, so a rerun that spells the folder
    differently still skips them; a second batch on the same --out refuses (exit 2) or,
    with --wait, queues behind the first. A broken video gets an error record and the rest
    go on. Exit code 0 when every item succeeded, 7 when any failed (all others are written).

    Examples:
      [bold]vidtok batch videos/ --task keyframes --out kf.jsonl[/bold]
      [bold]vidtok batch videos/ --task ground --query "a goal" --recipe grounding --out goals.jsonl[/bold]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vidtok import commands
    from vidtok.config import resolve

    dec = _decode(backend, stream, timeout, allow_truncated, strict)
    cfg = resolve(recipe, model=model, method=method, budget=budget, selector=selector, k=k, via=via, encoder=encoder,
                  pre_keep=pre_keep, proportional=proportional)
    qs: list[Optional[str]] = [query] if query else [None]
    if queries is not None:
        if not queries.is_file():
            raise UsageError("--queries file not found", queries)
        qs = [line.strip() for line in queries.read_text().splitlines() if line.strip()]
    with Progress(TextColumn("[bold]{task.description}[/bold]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed"), TimeRemainingColumn(), console=err,
                  disable=not _shows(as_json)) as bar:
        def progress(total):
            t = bar.add_task(task, total=total, failed=0)
            return lambda rec: bar.update(t, advance=1, failed=bar.tasks[0].fields["failed"] + (rec["status"] == "error"))

        result = commands.batch(folder, decode=dec, cfg=cfg, task=task, queries=qs, out=out_path, recursive=recursive,
                                glob=glob, workers=workers, engine=engine, restart=restart, wait=wait, report=report,
                                progress=progress)
    if report is not None:
        err.print(f"report: {report}", highlight=False, markup=False)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        tbl = Table("total", "already done", "ok", "failed", "seconds", title=f"batch {task} -> {out_path}")
        tbl.add_row(*(str(result[k]) for k in ("total", "skipped_done", "ok", "failed")), f"{result['seconds']:.1f}")
        out.print(tbl)
        for e in result["errors"][:10]:
            err.print(f"failed: {e}", markup=False, highlight=False)
    if result["failed"]:
        raise typer.Exit(7)


@app.command()
def search(
    folder: str = typer.Argument(..., help="Folder of videos.", show_default=False),
    query: str = typer.Argument(..., help="What to find.", show_default=False),
    k: int = typer.Option(10, "-k", help="Moments to return."),
    encoder: str = typer.Option(DEFAULT_TEXT_ENCODER, "--encoder",
                                help="Image-text encoder (random:clip-tiny for a weight-free try)."),
    fps: float = typer.Option(1.0, "--fps", help="Frames per second embedded into the index."),
    index: Optional[Path] = typer.Option(None, "--index", help="SQLite index file (default: in the user cache)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Look into subfolders."),
    as_json: bool = JsonOpt,
    backend: Optional[str] = BackendOpt,
    stream: Optional[int] = StreamOpt,
    timeout: float = TimeoutOpt,
    allow_truncated: bool = TruncOpt,
) -> None:
    """Find moments across a whole collection: top-k (video, start, end, score).

    The first search embeds every video into an index; later searches embed only new or
    changed videos. The default encoder's weights (~600 MB) are downloaded from the Hugging
    Face hub on first use; offline and not cached, that is exit 8 at once. Example: [bold]vidtok search videos/ "a dog catches a frisbee" -k 5[/bold]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vidtok import commands

    dec = _decode(backend, stream, timeout, allow_truncated)
    with Progress(TextColumn("[bold]indexing[/bold]"), BarColumn(), MofNCompleteColumn(), console=err,
                  disable=not _shows(as_json), transient=True) as bar:
        def progress(total):
            t = bar.add_task("index", total=total)
            return lambda: bar.advance(t)

        result = commands.search(folder, query, decode=dec, k=k, encoder=encoder, fps=fps, index=index,
                                 recursive=recursive, progress=progress)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for h in result["moments"]:
        out.print(f"{h['score']:.3f}  {h['start']:8.2f}s - {h['end']:8.2f}s  {escape(h['video'])}", soft_wrap=True)
    for f in result["index"]["failed"]:
        err.print(f"skipped: {f}", markup=False, highlight=False)


@app.command()
def recipes(as_json: bool = JsonOpt) -> None:
    """List the named presets usable with --recipe."""
    from vidtok.config import list_recipes, load_recipe

    rows = [{"name": n, **load_recipe(n).model_dump(exclude_defaults=True)} for n in list_recipes()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table("recipe", "model", "method", "budget", "description")
    for r in rows:
        t.add_row(r["name"], r.get("model", ""), r.get("method", ""), str(r.get("budget", "")), r.get("description", ""))
    out.print(t)


cache_app = typer.Typer(help="The visual-token cache (a second question on a video skips decoding).")
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info(as_json: bool = JsonOpt) -> None:
    """Where the cache is and how big."""
    from vidtok import cache as c

    d = c.info()
    print(json.dumps(d, indent=2)) if as_json else out.print(f"{d['dir']}: {_n(d['entries'], 'entry', 'entries')}, {d['bytes'] / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached entry."""
    from vidtok import cache as c

    out.print(f"removed {_n(c.clear(), 'entry', 'entries')}")


def _n(count: int, one: str, many: str | None = None) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _first_line(obj) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


@app.command()
def methods(as_json: bool = JsonOpt) -> None:
    """List every registered component: decoders, samplers, selectors, compressors, encoders.

    Read from the registries and the components' sources: nothing is imported or built, so
    "available" means installed (decoders: their library is found; compressors: torch is).
    """
    import importlib.util

    from vidtok.compress import COMPRESSORS
    from vidtok.decode import DECODERS
    from vidtok.encode import ENCODERS
    from vidtok.select import SAMPLERS, SELECTORS

    has_torch = importlib.util.find_spec("torch") is not None
    rows = [{"kind": "decoder", "name": n, "available": cls.installed(), "description": DECODERS.describe(n)}
            for n, cls in DECODERS.items()]
    for kind, reg, available in (("sampler", SAMPLERS, True), ("selector", SELECTORS, True),
                                 ("compressor", COMPRESSORS, has_torch), ("encoder", ENCODERS, has_torch)):
        rows += [{"kind": kind, "name": n, "available": available, "description": reg.describe(n)}
                 for n in reg.names()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table("kind", "name", "available", "description")
    for r in rows:
        t.add_row(r["kind"], r["name"], "yes" if r["available"] else "no", r["description"])
    out.print(t)
    if not has_torch:
        out.print("compressors and encoders need torch: pip install 'vidtok[torch]'")


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: run the app and turn errors into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        # not standalone: the parser's own errors come here, to print as one line like ours
        rv = app(args=argv, prog_name="vidtok", standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except typer.Abort:
        err.print("vidtok: interrupted")
        sys.exit(130)
    except typer.TyperException as e:  # click's errors: an unknown option, a value out of range (exit 2)
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help(), end="")
            sys.exit(0)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print(f"vidtok: error: {e.format_message()}{where}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(getattr(e, "exit_code", 2))
    except VidtokError as e:
        if debug:
            raise
        err.print(f"[red]vidtok: error:[/red] {escape(e.one_line())}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("vidtok: interrupted")
        sys.exit(130)
    except Exception as e:  # a bug: still one line unless --debug
        if debug:
            raise
        err.print(f"vidtok: internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)",
                  highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
