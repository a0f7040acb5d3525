"""Self-contained HTML reports: frames used (with exact times), the relevance curve, grounded
intervals on a timeline, tokens per stage. One file, images inlined, no scripts; every
piece of user text is escaped."""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Optional, Sequence

import numpy as np
from PIL import Image

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px;color:#3a4256}
.meta{color:#5b6478;font-size:13px} .answer{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:12px 14px;white-space:pre-wrap}
.grid{display:flex;flex-wrap:wrap;gap:10px} figure{margin:0;background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:4px}
figure img{display:block;width:200px;border-radius:3px} figcaption{font-size:12px;color:#3a4256;text-align:center;padding-top:3px}
table{border-collapse:collapse;background:#fff;font-size:13px} td,th{border:1px solid #dde2ea;padding:4px 10px;text-align:left}
.ok{color:#1b7f3b} .err{color:#b3261e}
"""


def _img(rgb: np.ndarray, width: int = 320) -> str:
    im = Image.fromarray(np.ascontiguousarray(rgb))
    h = max(1, round(im.height * width / im.width))
    buf = io.BytesIO()
    im.resize((width, h)).save(buf, format="JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _fmt(t: float) -> str:
    m, s = divmod(max(0.0, t), 60)
    return f"{int(m):02d}:{s:06.3f}"


def timeline_svg(duration: float, intervals: Sequence[dict] = (), marks: Sequence[float] = (),
                 curve: Optional[tuple] = None, width: int = 900, height: int = 120) -> str:
    """Video timeline: relevance curve (line), grounded intervals (bands), frames used (ticks)."""
    d = max(duration, 1e-6)
    x = lambda t: 40 + (width - 60) * float(t) / d  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="timeline">', f'<rect x="40" y="10" width="{width - 60}" height="{height - 40}" '
             'fill="#fff" stroke="#c9d0dc"/>']
    for iv in intervals:
        parts.append(f'<rect x="{x(iv["start"]):.1f}" y="10" width="{max(1.0, x(iv["end"]) - x(iv["start"])):.1f}" '
                     f'height="{height - 40}" fill="#f4b400" fill-opacity="0.35"><title>'
                     f'{escape(_fmt(iv["start"]))} - {escape(_fmt(iv["end"]))} score {iv.get("score", 0):.3f}'
                     '</title></rect>')
    if curve is not None and len(curve[0]) > 1:
        ts, ys = np.asarray(curve[0], float), np.asarray(curve[1], float)
        lo, hi = float(ys.min()), float(ys.max())
        span = hi - lo if hi > lo else 1.0
        pts = " ".join(f"{x(t):.1f},{10 + (height - 40) * (1 - (y - lo) / span):.1f}" for t, y in zip(ts, ys))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#1a73e8" stroke-width="1.5"/>')
    for t in marks:
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{height - 30}" y2="{height - 22}" stroke="#3a4256"/>')
    for k in range(6):
        t = d * k / 5
        parts.append(f'<text x="{x(t):.1f}" y="{height - 6}" font-size="11" text-anchor="middle" fill="#5b6478">'
                     f'{escape(_fmt(t))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(title: str, video: str, *, frames: Sequence[tuple] = (), duration: float = 0.0,
           answer: Optional[str] = None, question: Optional[str] = None, intervals: Sequence[dict] = (),
           curve: Optional[tuple] = None, tokens: Optional[dict] = None, rows: Sequence[dict] = (),
           extra: Optional[dict] = None) -> str:
    """frames: (index, time, rgb) tuples. rows: batch records."""
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{CSS}</style>"
         "</head><body>", f"<h1>{escape(title)}</h1>", f"<div class='meta'>{escape(str(video))}</div>"]
    if question is not None:
        h.append(f"<h2>Question</h2><div class='answer'>{escape(question)}</div>")
    if answer is not None:
        h.append(f"<h2>Answer</h2><div class='answer'>{escape(answer)}</div>")
    if duration > 0 and (intervals or frames or curve):
        h.append("<h2>Timeline</h2>")
        h.append(timeline_svg(duration, intervals, [f[1] for f in frames], curve))
        if intervals:
            h.append("<table><tr><th>start</th><th>end</th><th>score</th></tr>" + "".join(
                f"<tr><td>{escape(_fmt(i['start']))}</td><td>{escape(_fmt(i['end']))}</td>"
                f"<td>{i.get('score', 0):.3f}</td></tr>" for i in intervals) + "</table>")
    if tokens:
        h.append("<h2>Visual tokens per stage</h2><table><tr><th>stage</th><th>tokens</th></tr>" + "".join(
            f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in tokens.items()) + "</table>")
    if frames:
        h.append(f"<h2>Frames used ({len(frames)})</h2><div class='grid'>")
        for idx, t, rgb in frames:
            h.append(f"<figure><img src='{_img(rgb)}' alt='frame {int(idx)}'><figcaption>#{int(idx)} · "
                     f"{escape(_fmt(t))}</figcaption></figure>")
        h.append("</div>")
    if rows:
        h.append(f"<h2>Results ({len(rows)})</h2><table><tr><th>video</th><th>query</th><th>status</th><th>result</th></tr>")
        for r in rows:
            ok = r.get("status") == "ok"
            summ = r.get("error", {}).get("message", "") if not ok else _summary(r.get("result", {}))
            h.append(f"<tr><td>{escape(str(r.get('video')))}</td><td>{escape(str(r.get('query') or ''))}</td>"
                     f"<td class='{'ok' if ok else 'err'}'>{escape(str(r.get('status')))}</td>"
                     f"<td>{escape(summ)}</td></tr>")
        h.append("</table>")
    if extra:
        h.append("<h2>Details</h2><table>" + "".join(
            f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in extra.items()) + "</table>")
    h.append("</body></html>")
    return "\n".join(h)


def _summary(res: dict) -> str:
    if "answer" in res:
        return str(res["answer"])[:120]
    if "intervals" in res:
        return ", ".join(f"{i['start']:.2f}-{i['end']:.2f}s" for i in res["intervals"][:3])
    if "cuts" in res and res.get("cuts"):
        return f"{len(res['cuts'])} cuts, {len(res.get('frames', []))} frames"
    if "frames" in res:
        return f"{len(res['frames'])} frames"
    if "psnr_db" in res:
        return f"{res['tokens_out']}/{res['tokens_in']} tokens, {res['psnr_db']} dB"
    return ""


def scatter_svg(points: Sequence[tuple], xlabel: str, ylabel: str, width: int = 640, height: int = 320) -> str:
    """(x, y, label) points joined in order by a line, with their labels and both axes'
    ranges (accuracy against visual tokens, one point per setting)."""
    xs = [float(p[0]) for p in points] or [0.0]
    ys = [float(p[1]) for p in points] or [0.0]
    x0, x1 = min(0.0, min(xs)), max(xs) or 1.0
    y0, y1 = min(0.0, min(ys)), max(ys) or 1.0
    px = lambda v: 60 + (width - 80) * (v - x0) / ((x1 - x0) or 1.0)  # noqa: E731
    py = lambda v: height - 40 - (height - 60) * (v - y0) / ((y1 - y0) or 1.0)  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(ylabel)} against {escape(xlabel)}">',
             f'<rect x="60" y="20" width="{width - 80}" height="{height - 60}" fill="#fff" stroke="#c9d0dc"/>']
    line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1a73e8" stroke-width="1.5"/>')
    for (x, y, label) in points:
        parts.append(f'<circle cx="{px(float(x)):.1f}" cy="{py(float(y)):.1f}" r="4" fill="#1a73e8"><title>'
                     f'{escape(str(label))}: {float(y):.3f} at {float(x):.0f}</title></circle>'
                     f'<text x="{px(float(x)) + 6:.1f}" y="{py(float(y)) - 6:.1f}" font-size="11" fill="#3a4256">'
                     f'{escape(str(label))}</text>')
    for v, anchor, xy in ((x0, "start", (60, height - 22)), (x1, "end", (width - 20, height - 22))):
        parts.append(f'<text x="{xy[0]}" y="{xy[1]}" font-size="11" text-anchor="{anchor}" fill="#5b6478">{v:g}</text>')
    parts.append(f'<text x="{width / 2:.0f}" y="{height - 6}" font-size="12" text-anchor="middle" fill="#3a4256">'
                 f'{escape(xlabel)}</text>')
    parts.append(f'<text x="8" y="{height / 2:.0f}" font-size="12" fill="#3a4256">{escape(ylabel)}</text>')
    parts.append(f'<text x="56" y="{py(y1) + 4:.1f}" font-size="11" text-anchor="end" fill="#5b6478">{y1:g}</text>'
                 f'<text x="56" y="{py(y0) + 4:.1f}" font-size="11" text-anchor="end" fill="#5b6478">{y0:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_table(title: str, subtitle: str, headers: Sequence[str], rows: Sequence[Sequence], plot: str = "") -> str:
    """A page with one table (and a plot above it): ``eval``'s method x budget results."""
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{CSS}</style>"
         "</head><body>", f"<h1>{escape(title)}</h1>", f"<div class='meta'>{escape(subtitle)}</div>", plot,
         "<table><tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in headers) + "</tr>"]
    h += ["<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
    h.append("</table></body></html>")
    return "\n".join(h)
