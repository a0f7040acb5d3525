"""The ``vidtok`` command. Thin: parse options, call the library, print.

Errors the library raises on purpose (``VidtokError``) print as one line naming the file
and the problem, with a documented exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from vidtok import commands
from vidtok.errors import UsageError, VidtokError

from . import render
from .app import (JsonOpt, NoCacheOpt, ReportOpt, StreamOpt, TruncOpt, VideoArg, answering, app, decoding,
                  resolve_config)

err = render.err


@app.command()
def info(
    video: str = VideoArg,
    as_json: bool = JsonOpt,
    frames: bool = typer.Option(False, "--frames", help="Include every frame's exact time and the keyframes."),
    stream: Optional[int] = StreamOpt,
    allow_truncated: bool = TruncOpt,
) -> None:
    """Describe a video: duration, fps, exact frame count, size, codec, streams, VFR.

    Example: [bold]vidtok info clip.mp4 --json[/bold]
    """
    data = commands.info(video, stream=stream, allow_truncated=allow_truncated, frames=frames)
    render.json_or(data, as_json) or render.info(video, data)


@app.command()
@decoding()
def sample(
    video: str = VideoArg,
    n: Optional[int] = typer.Option(None, "-n", "--num-frames", min=1, help="Number of evenly spaced frames (default 16)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Sample at this rate (frames per second) instead."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Cap for --fps sampling."),
    sampler: Optional[str] = typer.Option(
        None, "--sampler", "-s",
        help="uniform, fps, or a model's default: qwen2_5_vl, qwen3_vl, llava_onevision, smolvlm2."),
    seek: str = typer.Option("exact", "--seek", help="exact (default) or keyframe: snap to keyframes, much faster."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Write frames as images and frames.json here."),
    image_format: str = typer.Option("jpg", "--format", help="jpg or png."),
    size: Optional[str] = typer.Option(None, "--size", help="Resize frames to WIDTHxHEIGHT (default: the sampler's)."),
    as_json: bool = JsonOpt,
    decode=None,  # from @decoding: the shared flags, declared once
) -> None:
    """Pick frames from a video and (with --out) write them with their exact times.

    Examples:
      [bold]vidtok sample clip.mp4 -n 16 --out frames/[/bold]
      [bold]vidtok sample clip.mp4 --fps 1 --max-frames 64 --json[/bold]
      [bold]vidtok sample clip.mp4 --sampler qwen2_5_vl --out frames/[/bold]
    """
    with render.bar("decoding", as_json) as bar:
        def progress(total):
            task = bar.add_task("decode", total=total)
            return lambda: bar.advance(task)

        result = commands.sample(video, decode=decode, n=n, fps=fps, max_frames=max_frames, sampler=sampler, seek=seek,
                                 size=size, out_dir=out_dir, image_format=image_format, progress=progress)
    render.damage(result)
    render.json_or(result, as_json) or render.sample(result, out_dir)


@app.command()
@decoding(pipeline=True)
def compress(
    video: str = VideoArg,
    method: Optional[str] = typer.Option(None, "--method", "-m",
                               help="Compressor or comma-separated chain, e.g. dtd,holitom (see `vidtok methods`)."),
    budget: Optional[str] = typer.Option(None, "--budget", "-B",
                               help="Tokens to keep: 500 (tokens), 0.1 or 10% (of the input), 64/frame."),
    encoder: str = typer.Option("pixels", "--encoder", help="Token encoder (pixels: raw patches, no weights)."),
    n: int = typer.Option(16, "-n", "--num-frames", min=1, max=100_000, help="Frames sampled uniformly."),
    size: int = typer.Option(224, "--size", min=8, max=4096, help="Frames are resized to SIZE x SIZE."),
    patch: int = typer.Option(16, "--patch", min=1, max=256, help="Patch side in pixels (pixels encoder)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Write merge maps of a few frames here."),
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None,  # from @decoding: shared flags declared once
) -> None:
    """Compress a video's visual tokens and measure what survives (PSNR, pixels encoder).

    Examples:
      [bold]vidtok compress clip.mp4 --method holitom --budget 0.1[/bold]
      [bold]vidtok compress clip.mp4 -m dtd,tome -B 64/frame --out maps/ --json[/bold]
    """
    cfg = resolve_config(recipe, option, method=method, budget=budget)
    result = commands.compress(video, cfg=cfg, decode=decode, n=n,
                               size=size, patch=patch, encoder=encoder, out_dir=out_dir, status=render.status(as_json))
    render.damage(result)
    render.json_or(result, as_json) or render.compress(video, result, out_dir)


@app.command()
@decoding(pipeline=True)
def keyframes(
    video: str = VideoArg,
    method: Optional[str] = typer.Option(None, "--method", "-m",
                               help="uniform, fps, scenes, redundancy, query, diverse, clips, search."),
    query: Optional[str] = typer.Option(None, "--query", "-q", help="Text the frames should match (query, diverse, clips, search)."),
    k: Optional[int] = typer.Option(None, "-k", min=1, help="Number of frames (clips: number of clips)."),
    budget: Optional[int] = typer.Option(None, "--budget", min=1, help="clips: visual-token budget; search: frames to score."),
    encoder: Optional[str] = typer.Option(None, "--encoder",
                                          help="open_clip:MODEL/PRETRAINED, siglip:HUB_ID, random:clip-tiny, pixels."),
    detector: Optional[str] = typer.Option(
        None, "--detector", help="scenes: auto (default: combined when pip install 'vidtok\\[cuts]' is there, else "
                                 "content), content, adaptive, fade, all, transnet (learned, TransNetV2; sees "
                                 "dissolves and fades) or combined (transnet plus the hard cuts frame differences "
                                 "prove). --json says which ran (params.detector)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="scenes: content threshold (default 27); transnet: probability (default 0.5)."),
    min_scene_len: Optional[int] = typer.Option(None, "--min-scene-len", min=0,
                                                help="scenes: minimum frames per scene (15; 0: none)."),
    scene_filter: Optional[str] = typer.Option(
        None, "--filter", help="scenes: how the minimum length is kept, as PySceneDetect does: merge (default: a burst "
                               "too soon after a cut becomes one cut at its end) or suppress (cuts too soon are dropped)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Write the chosen frames and a contact sheet here."),
    report: Optional[Path] = ReportOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the selection cache."),
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None,  # from @decoding: shared flags declared once
) -> None:
    """Pick the frames (or clips) that matter, with exact times.

    query, diverse, clips and search embed frames with an image-text encoder: with a
    query and no --encoder, open_clip ViT-B-32 (downloaded from the Hugging Face
    hub on first use; offline and not cached: exit 8 at once).

    Examples:
      [bold]vidtok keyframes film.mp4 --method scenes --json[/bold]          cuts + one frame per scene
      [bold]vidtok keyframes film.mp4 -m redundancy -k 8 --out kf/[/bold]     where content changes most
      [bold]vidtok keyframes clip.mp4 -m query -q "a dog jumps" -k 16[/bold]  query-aware (needs open_clip weights)
      [bold]vidtok keyframes clip.mp4 -m clips -q "goal" -k 4 --budget 4096[/bold]   F2C key clips
    """
    flags = {"budget": budget, "detector": detector, "threshold": threshold, "min_scene_len": min_scene_len,
             "filter": scene_filter}
    cfg = resolve_config(recipe, option, for_="select", selector=method, k=k, encoder=encoder)
    own = {**{key: v for key, v in flags.items() if v is not None}, **cfg.options.get(cfg.selector, {})}
    cfg = cfg.model_copy(update={"options": {**cfg.options, cfg.selector: own}})
    with render.bar(cfg.selector, as_json, count=False) as bar:
        task = bar.add_task(cfg.selector, total=None)
        result = commands.keyframes(video, cfg=cfg, decode=decode, query=query, use_cache=not no_cache, out_dir=out_dir,
                                    report=report, progress=lambda: bar.advance(task),
                                    total=lambda n: bar.update(task, total=n))
    render.after(result, report)
    render.json_or(result, as_json) or render.keyframes(result, out_dir)


@app.command()
@decoding(pipeline=True)
@answering
def ask(
    video: str = VideoArg,
    question: str = typer.Argument(..., help="The question.", show_default=False),
    no_cache: bool = NoCacheOpt,
    report: Optional[Path] = ReportOpt,
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None, flags=None,  # from @decoding, @answering: shared flags declared once
) -> None:
    """Ask a video LLM a question about a video, optionally with compressed visual tokens.

    The file and every option are checked before the model loads.

    Examples:
      [bold]vidtok ask clip.mp4 "What is the person doing?"[/bold]
      [bold]vidtok ask clip.mp4 "What happens?" --budget 0.1 --method dtd,holitom --json[/bold]
      [bold]vidtok ask clip.mp4 "What happens?" --budget 0.1 --pre-keep 0.5[/bold]   (half the frames through the tower)
      [bold]vidtok ask clip.mp4 "What happens?" -m random:qwen2_5_vl-tiny --json[/bold]   (no weights: a test model)
    """
    cfg = resolve_config(recipe, option, **flags)
    on_text = render.streaming(as_json)
    r = commands.ask(video, question, cfg=cfg, decode=decode, use_cache=not no_cache, report=report,
                     status=render.status(as_json), on_text=on_text)
    render.json_or(r, as_json) or render.ask(r, streamed=on_text is not None)
    render.after(r, report)


@app.command()
@decoding(pipeline=True)
@answering
def ground(
    video: str = VideoArg,
    query: str = typer.Argument(..., help="What to find, e.g. 'person opens the door'.", show_default=False),
    via: Optional[str] = typer.Option(None, "--via", help="llm (ask the video LLM) or embed (image-text similarity, no LLM)."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="--via embed: open_clip:MODEL/PRETRAINED, siglip:ID, random:clip-tiny."),
    chunk_seconds: Optional[float] = typer.Option(
        None, "--chunk-seconds", min=1.0, help="A longer video is asked in windows of this length, each sampled as the "
                                               "model samples a whole video (600)."),
    no_cache: bool = NoCacheOpt,
    report: Optional[Path] = ReportOpt,
    srt: bool = typer.Option(False, "--srt", help="Print the intervals as SRT subtitles."),
    vtt: bool = typer.Option(False, "--vtt", help="Print the intervals as WebVTT."),
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None, flags=None,  # from @decoding, @answering: shared flags declared once
) -> None:
    """Find when something happens: intervals in seconds with scores.

    --via embed needs an image-text encoder: without --encoder, open_clip ViT-B-32
    (downloaded from the Hugging Face hub on first use; offline and not cached: exit 8 at once).

    Examples:
      [bold]vidtok ground clip.mp4 "person opens the door" --json[/bold]
      [bold]vidtok ground clip.mp4 "a goal" --via embed --srt > goals.srt[/bold]
    """
    from vidtok.tasks.ground import to_srt, to_vtt

    if as_json + srt + vtt > 1:
        raise UsageError("give one of --json, --srt and --vtt: each is the whole of stdout")
    cfg = resolve_config(recipe, option, via=via, encoder=encoder, chunk_seconds=chunk_seconds, **flags)
    r = commands.ground(video, query, cfg=cfg, decode=decode, use_cache=not no_cache, report=report,
                        status=render.status(as_json or srt or vtt))
    render.after(r, report)
    if srt or vtt:
        print((to_vtt if vtt else to_srt)(r["intervals"], query))
        return
    render.json_or(r, as_json) or render.ground(r)


@app.command(name="eval")
@decoding(strict=False, pipeline=True)
@answering
def evaluate(
    annotations: Optional[str] = typer.Argument(
        None, help="Charades-STA .txt (ground) or QA .jsonl file; with --benchmark the benchmark's own file.",
        show_default=False),
    task: str = typer.Option("ground", "--task", help="ground or qa."),
    benchmark: Optional[str] = typer.Option(
        None, "--benchmark", help="A published benchmark run and scored as lmms-eval does: videomme, mvbench, "
                                  "nextqa, egoschema, longvideobench, charades_sta. ANNOTATIONS is then its file as "
                                  "`hf download` leaves it (.parquet, .json, .jsonl) and --videos the folder lmms-eval "
                                  "keeps its videos in."),
    data: Optional[Path] = typer.Option(None, "--data", help="--benchmark: the dataset's folder as `hf download` and "
                                                             "lmms-eval's cache leave it (its file and its videos)."),
    videos: Optional[Path] = typer.Option(None, "--videos", help="Folder with the videos (default: near the annotations)."),
    via: Optional[str] = typer.Option(None, "--via", help="ground: llm or embed."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="--via embed encoder."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N items."),
    out_path: Optional[Path] = typer.Option(None, "--out", help="Append each item's result here as a JSON line as it "
                                                                 "is scored; rerunning resumes (each item once)."),
    no_cache: bool = NoCacheOpt,
    report: Optional[Path] = ReportOpt,
    engine: str = typer.Option("local", "--engine", help="--benchmark: local, or ray (items sharded over a Ray "
                                                         "cluster's actors, scored and written by this process)."),
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None, flags=None,  # from @decoding, @answering: shared flags declared once
) -> None:
    """Measure accuracy against token budget: grounding (R1@IoU, mIoU), multiple-choice QA, or a
    published benchmark run and scored as lmms-eval does (--benchmark).

    Every line and every video is checked before the model loads (a bad line: exit 2 with
    the file and line). With --out a killed run resumes where it stopped. With --benchmark,
    several methods (separated by ';') and budgets (by ',') make a table in one run: every
    item under every setting, each video through the vision tower once; --report writes the
    table and a plot of the metric against visual tokens.

    Examples:
      [bold]vidtok eval charades_sta_test.txt --task ground -m random:qwen2_5_vl-tiny --budget 0.1 --out r.jsonl[/bold]
      [bold]vidtok eval videomme/test-00000-of-00001.parquet --benchmark videomme --budget 100%,25%,10% --method "holitom;dtd,holitom" --out vm.jsonl --report vm.html[/bold]
    """
    cfg = resolve_config(recipe, option, via=via, encoder=encoder, **flags)
    bars = []

    def progress(total):  # started once the model has loaded: its spinner and a bar cannot share the terminal
        bars.append(render.bar("evaluating", as_json))
        bars[0].start()
        t = bars[0].add_task("eval", total=total)
        return lambda: bars[0].advance(t)

    try:
        r = commands.evaluate(annotations, cfg=cfg, decode=decode, task=task, videos=videos, limit=limit, out=out_path,
                              use_cache=not no_cache, benchmark=benchmark, report=report, engine=engine, data=data, status=render.status(as_json), progress=progress)
    finally:
        for b in bars:
            b.stop()
    render.json_or(r, as_json) or render.evaluate(r)


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: run the app and turn errors into one line and an exit code."""
    import warnings

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # OpenCV's FFmpeg prints its decoder's complaints ("non-existing PPS") on stderr: off for
    # the command (and put back after it, for a program that calls main() in-process)
    quiet_opencv = not debug and "OPENCV_FFMPEG_LOGLEVEL" not in os.environ
    if quiet_opencv:
        os.environ["OPENCV_FFMPEG_LOGLEVEL"] = "-8"
    try:
        with warnings.catch_warnings():
            if not debug:  # vidtok says what matters itself; other libraries' warnings only with --debug
                warnings.simplefilter("ignore")
            _run_app(argv, debug)
    finally:
        if quiet_opencv:
            os.environ.pop("OPENCV_FFMPEG_LOGLEVEL", None)
        cache = sys.modules.get("vidtok.cache")
        if cache is not None and cache.problem:  # said once, whatever the command did
            err.print(f"vidtok: warning: the cache cannot be used ({cache.problem}); ran without it "
                      "(VIDTOK_CACHE_DIR names another folder)", highlight=False, markup=False, soft_wrap=True)
            cache.problem = None


def _run_app(argv: list[str], debug: bool) -> None:
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
        if debug:  # the traceback, and still the documented exit code
            import traceback

            traceback.print_exc()
        err.print(f"[red]vidtok: error:[/red] {render.escape(e.one_line())}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("vidtok: interrupted")
        sys.exit(130)
    except Exception as e:  # a bug: still one line unless --debug
        if debug:
            import traceback

            traceback.print_exc()
            sys.exit(1)
        err.print(f"vidtok: internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)",
                  highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)


from . import chat, folders, lists  # noqa: E402,F401  # registers chat; batch, search; methods, models, recipes, cache

if __name__ == "__main__":  # pragma: no cover
    main()
