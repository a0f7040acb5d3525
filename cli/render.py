"""What the ``vidtok`` commands print for people (``--json`` prints the result dicts as
they are): one function per command, each reading only the result dict it is given, and
the progress bars and spinners on stderr."""

from __future__ import annotations

import contextlib
import json
import sys


class _Console:
    """rich's ``Console``, made on first use: importing rich is start-up time that
    ``vidtok info --json`` and every other ``--json`` run never need (docs/benchmarks.md,
    Start-up)."""

    def __init__(self, **kw):
        self._kw, self._real = kw, None

    def real(self):
        if self._real is None:
            from rich.console import Console

            self._real = Console(**self._kw)
        return self._real

    def __getattr__(self, name):
        return getattr(self.real(), name)


out = _Console()
err = _Console(stderr=True)


def escape(text: str) -> str:
    """``text`` with rich markup characters escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def n(count: int, one: str, many: str | None = None) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def shows(quiet: bool) -> bool:
    """Progress and spinners go to stderr when it is a terminal, and never with --json."""
    return not quiet and sys.stderr.isatty()


_spinners: list = []  # the spinner showing now, if any (an answer streaming in ends it)


def status(quiet: bool = False):
    """``status(message)`` for slow steps (model loading, generation): a spinner on stderr."""
    if not shows(quiet):
        return lambda message: contextlib.nullcontext()

    @contextlib.contextmanager
    def spin(message: str):
        with err.status(message) as s:
            _spinners.append(s)
            try:
                yield s
            finally:
                _spinners.remove(s)

    return spin


def streaming(quiet: bool):
    """A callback that prints an answer on stdout as it is generated, when stdout is a
    terminal and not with --json (None otherwise: the answer is printed whole at the end)."""
    if quiet or not sys.stdout.isatty():
        return None

    def on_text(delta: str) -> None:
        for s in _spinners:
            s.stop()
        out.print(delta, end="", markup=False, highlight=False, soft_wrap=True)
        out.file.flush()

    return on_text


def bar(label: str, quiet: bool, *, count: bool = True, failed: bool = False, transient: bool = True):
    """A progress bar on stderr (disabled when ``quiet`` or not a terminal)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    cols = [TextColumn(f"[bold]{escape(label)}[/bold]"), BarColumn()]
    # without a count: the time so far, and the time left once a total is known
    cols += [MofNCompleteColumn()] if count else [TimeElapsedColumn(), TimeRemainingColumn()]
    cols += [TextColumn("{task.fields[failed]} failed")] if failed else []
    return Progress(*cols, console=err.real(), disable=not shows(quiet), transient=transient)


def json_or(result, as_json: bool) -> bool:
    """Print ``result`` as JSON when asked; True when that is all there is to print."""
    if as_json:
        print(json.dumps(result, indent=2))
    return as_json


def line(text: str) -> None:
    err.print(text, highlight=False, markup=False, soft_wrap=True)


def after(result: dict, report) -> None:
    """What every decoding command says on stderr after its work: damage, the report's path."""
    damage(result)
    short_of_budget(result)
    if report is not None:
        line(f"report: {report}")


def damage(result: dict) -> None:
    """One line on stderr when decoding met damaged data (``--strict`` made it an error)."""
    d = result.get("damage") or {}
    if d.get("decode_errors") or d.get("damaged_frames"):
        from vidtok.decode.base import Damage

        dmg = Damage()
        dmg.merge(d)
        line(f"vidtok: warning: {result.get('video')}: {dmg.summary()} (--strict makes this an error)")


def short_of_budget(result: dict) -> None:
    """One line on stderr when the plan left fewer tokens before the method than the budget
    asks for, though the whole video had them (``--plan frames=0.3,pixels=0.3`` at 10 %)."""
    want, got = result.get("visual_tokens_budget"), result.get("visual_tokens_encoded")
    if want is None or got is None or got >= want or result.get("visual_tokens_before", 0) < want:
        return
    comp = result.get("compression") or {}
    line(f"vidtok: warning: --plan {comp.get('plan')} left {got} visual tokens before {comp.get('method')}, fewer than "
         f"--budget {comp.get('budget')} asks for ({want}): the model saw {result.get('visual_tokens_after')}")


def table(headers, rows, **kw) -> None:
    from rich.table import Table

    t = Table(**kw)
    for h in headers:  # long values (hub ids, paths) wrap rather than lose their ends
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(*(str(x) for x in r))
    out.print(t)


def info(video: str, d: dict) -> None:
    out.print(f"[bold]{escape(str(video))}[/bold]", soft_wrap=True)
    streams = d["video_streams"]
    rows = [
        ("duration", f"{d['duration']:.3f} s  (start {d['start_time']:.3f} s)"),
        ("frames", f"{d['num_frames']}  ({n(d['num_keyframes'], 'keyframe')})"),
        ("fps", f"{d['fps']:.3f}" + ("  variable frame rate" if d["is_vfr"] else "")),
        ("size", f"{d['width']}x{d['height']}" + (f"  rotated {d['rotation']}°" if d["rotation"] else "")),
        ("codec", f"{d['codec']} {d['profile'] or ''} {d['pix_fmt'] or ''}".strip()),
        ("container", f"{d['container']}, {n(d['num_streams'], 'stream')} ({len(streams)} video, "
                      f"{d['num_streams'] - len(streams)} other)"),
        ("video streams", ", ".join(f"#{s['index']} {s['codec']} {s['width']}x{s['height']}"
                                    + (" (chosen)" if s["index"] == d["stream_index"] else "") for s in streams)),
    ]
    table([], [(f"[bold]{k}[/bold]", v) for k, v in rows], show_header=False, box=None)
    if "frame_times" in d:
        out.print("frame times: " + ", ".join(f"{x:.3f}" for x in d["frame_times"][:20])
                  + (" ..." if len(d["frame_times"]) > 20 else ""))


def sample(r: dict, out_dir) -> None:
    records = r["frames"]
    out.print(f"{n(len(records), 'frame')} ({r['sampler']}, {r['seek']} seek, {r['backend']}) at "
              + ", ".join(f"{x['time']:.2f}s" for x in records[:12]) + (" ..." if len(records) > 12 else ""))
    if out_dir is not None:
        out.print(f"wrote {n(len(records), 'image')} and frames.json to {out_dir}")


def compress(video: str, r: dict, out_dir) -> None:
    out.print(f"{escape(video)}: {'+'.join(r['methods'])} kept {r['tokens_out']} of {r['tokens_in']} "
              f"tokens ({r['ratio']:.1%}) in {r['seconds']['compress'] * 1000:.0f} ms; "
              f"PSNR {r['psnr_db']:.2f} dB (pixels)", soft_wrap=True)
    if out_dir is not None:
        out.print(f"wrote {n(len(r['images']), 'merge map')} to {out_dir}")


def keyframes(r: dict, out_dir) -> None:
    if r["cuts"]:
        out.print(f"{n(len(r['cuts']), 'cut')} at " + ", ".join(f"{c['time']:.3f}s (#{c['index']})" for c in r["cuts"]))
    for c in r["clips"]:
        out.print(f"clip {c['start']:.2f}-{c['end']:.2f}s  {n(len(c['frames']), 'frame')} at {c['size']}px  "
                  f"{n(c['tokens'], 'token')}  score {c['score']:.3f}")
    frames = r["frames"]
    out.print(f"{n(len(frames), 'frame')}: " + ", ".join(f"{f['time']:.2f}s" for f in frames[:16])
              + (" ..." if len(frames) > 16 else ""))
    if out_dir is not None:
        out.print(f"wrote {n(len(r['files']), 'frame')} and contact_sheet.jpg to {out_dir}")


def answer(text: str, streamed: bool = False) -> None:
    """An answer on stdout, or the end of its line when it streamed in already."""
    if streamed:
        out.print()
    else:
        out.print(text or "(empty answer)", soft_wrap=True, markup=False)


def ask(r: dict, streamed: bool = False) -> None:
    answer(r["answer"], streamed)
    line(f"{r['frames_used']} of {n(r['frames_sampled'], 'frame')}, visual tokens {r['visual_tokens_before']} -> "
         f"{r['visual_tokens_after']}{' (cached)' if r['cached_tokens'] else ''}, {r['seconds']['total']:.2f}s")


def ground(r: dict) -> None:
    if not r["intervals"]:
        out.print("no interval found" + (f" (model said: {r['answers'][0]!r})" if r.get("answers") else ""))
    for iv in r["intervals"]:
        out.print(f"{iv['start']:.2f}s - {iv['end']:.2f}s  score {iv['score']:.3f}")


def evaluate(r: dict) -> None:
    if len(r.get("settings", ())) > 1:  # a method x budget table: one row per setting
        head = r["headline"]
        table(["method", "budget", head, "relative", "visual tokens", "TTFT s", "s/item"],
              [(e["setting"]["method"] or "-", e["setting"]["budget"] or "all", f"{e['metrics'][head]:.3f}",
                "-" if e["relative"] is None else f"{e['relative']:.2f}", f"{e['mean_visual_tokens']:.0f}",
                f"{e['mean_ttft']:.2f}", f"{e['seconds_per_item']:.2f}") for e in r["settings"]],
              title=f"{r['benchmark']}, {r['items']} items")
        return
    rows = [(k, f"{v:.3f}") for k, v in r["metrics"].items()]
    table(["metric", "value"], rows + [("items", r["items"]), ("seconds/item", f"{r['seconds_per_item']:.2f}")])


def batch(r: dict, task: str) -> None:
    table(["total", "already done", "ok", "failed", "seconds"],
          [(r["total"], r["skipped_done"], r["ok"], r["failed"], f"{r['seconds']:.1f}")], title=f"batch {task} -> {r['out']}")
    for e in r["errors"][:10]:
        line(f"failed: {e}")


def search(r: dict) -> None:
    for h in r["moments"]:
        out.print(f"{h['score']:.3f}  {h['start']:8.2f}s - {h['end']:8.2f}s  {escape(h['video'])}", soft_wrap=True)
    for f in r["index"]["failed"]:
        line(f"skipped: {f}")


def models(r: dict) -> None:
    rows = [(f["family"], h["id"], h["params"], "yes" if h["cached"] else "no") for f in r["families"] for h in f["hub"]]
    table(["family", "hub id", "parameters", "in local cache"], rows)
    table(["family", "random test models (no weights)", "description"],
          [(f["family"], ", ".join(f["random"]), f["description"]) for f in r["families"]])
    out.print(f"default model: {r['default']} (fetch one with: hf download <hub id>)")


def recipes(rows: list) -> None:
    table(["recipe", "model", "method", "budget", "description"],
          [(r["name"], r.get("model", ""), r.get("method", ""), r.get("budget", ""), r.get("description", ""))
           for r in rows])


def methods(rows: list) -> None:
    table(["kind", "name", "available", "description"],
          [(r["kind"], r["name"], "yes" if r["available"] else "no", r["description"]) for r in rows])
    if not all(r["available"] for r in rows if r["kind"] == "compressor"):
        out.print("compressors and encoders need torch: pip install 'vidtok[torch]'", markup=False)
