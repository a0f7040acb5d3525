"""``vidtok batch`` and ``vidtok search``: the commands over folders of videos."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vidtok import commands
from vidtok.defaults import DEFAULT_TEXT_ENCODER
from vidtok.errors import UsageError

from . import render
from .app import JsonOpt, NoCacheOpt, ReportOpt, answering, app, decoding, resolve_config


@app.command()
@decoding(pipeline=True)
@answering
def batch(
    folder: str = typer.Argument(..., help="Folder of videos (or one video).", show_default=False),
    task: str = typer.Option("keyframes", "--task", "-t", help="ask, ground, keyframes or compress."),
    query: Optional[str] = typer.Option(None, "--query", "-q", help="One query for every video."),
    queries: Optional[Path] = typer.Option(None, "--queries", help="File with one query per line."),
    out_path: Path = typer.Option(Path("results.jsonl"), "--out", help="Results, one JSON line per (video, query)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Look into subfolders."),
    glob: Optional[str] = typer.Option(None, "--glob", help="Only files matching this pattern, e.g. '*.mp4'."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, max=256, help="Threads that decode ahead of model work."),
    engine: str = typer.Option("local", "--engine", help="local (threads) or ray (a Ray cluster or a local Ray)."),
    selector: Optional[str] = typer.Option(None, "--selector", help="keyframes task: selector (default scenes)."),
    k: Optional[int] = typer.Option(None, "-k", min=1, help="keyframes task: frames to select."),
    via: Optional[str] = typer.Option(None, "--via", help="ground task: llm or embed."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Image-text encoder for query-aware steps."),
    no_cache: bool = NoCacheOpt,
    restart: bool = typer.Option(False, "--restart", help="Start over instead of resuming an existing --out."),
    wait: bool = typer.Option(False, "--wait", help="If another batch is writing --out, wait for it instead of failing (exit 2)."),
    report: Optional[Path] = ReportOpt,
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None, flags=None,  # from @decoding, @answering: shared flags declared once
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
    cfg = resolve_config(recipe, option, for_="select" if task == "keyframes" else "compress", selector=selector, k=k,
                         via=via, encoder=encoder, **flags)
    qs: list[Optional[str]] = [query] if query else [None]
    if queries is not None:
        if not queries.is_file():
            raise UsageError("--queries file not found", queries)
        qs = [line.strip() for line in queries.read_text().splitlines() if line.strip()]
    with render.bar(task, as_json, failed=True, transient=False) as bar:
        def progress(total):
            t = bar.add_task(task, total=total, failed=0)
            return lambda rec: bar.update(t, advance=1, failed=bar.tasks[0].fields["failed"] + (rec["status"] == "error"))

        result = commands.batch(folder, decode=decode, cfg=cfg, task=task, queries=qs, out=out_path, use_cache=not no_cache,
                                recursive=recursive,
                                glob=glob, workers=workers, engine=engine, restart=restart, wait=wait, report=report,
                                progress=progress)
    render.after(result, report)
    render.json_or(result, as_json) or render.batch(result, task)
    if result["failed"]:
        raise typer.Exit(7)


@app.command()
@decoding(strict=False)
def search(
    folder: str = typer.Argument(..., help="Folder of videos.", show_default=False),
    query: str = typer.Argument(..., help="What to find.", show_default=False),
    k: int = typer.Option(10, "-k", min=1, help="Moments to return."),
    encoder: str = typer.Option(DEFAULT_TEXT_ENCODER, "--encoder",
                                help="Image-text encoder (random:clip-tiny for a weight-free try)."),
    fps: float = typer.Option(1.0, "--fps", help="Frames per second embedded into the index."),
    index: Optional[Path] = typer.Option(None, "--index", help="SQLite index file (default: in the user cache)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Look into subfolders."),
    as_json: bool = JsonOpt,
    decode=None,  # from @decoding: the shared flags, declared once
) -> None:
    """Find moments across a whole collection: top-k (video, start, end, score).

    The first search embeds every video into an index; later searches embed only new or
    changed videos. The default encoder's weights are downloaded from the Hugging
    Face hub on first use; offline and not cached, that is exit 8 at once. Example: [bold]vidtok search videos/ "a dog catches a frisbee" -k 5[/bold]
    """
    with render.bar("indexing", as_json) as bar:
        def progress(total):
            t = bar.add_task("index", total=total)
            return lambda: bar.advance(t)

        result = commands.search(folder, query, decode=decode, k=k, encoder=encoder, fps=fps, index=index,
                                 recursive=recursive, progress=progress)
    render.json_or(result, as_json) or render.search(result)
