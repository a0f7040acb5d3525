"""A synthetic world whose every answer is known: videos of shapes with events, and the
questions about them, for training small video LLMs here and for measuring what compression
does to their answers (``python -m vidtok.world OUT --videos N --seed S``).

The specification (anyone can make items a model never saw with another seed):

* **Videos**: 112x112 RGB at 4 fps, 4-12 s, H.264.
* **Backgrounds**: a flat grey level, a smooth gradient, low-contrast noise, or stripes.
* **Objects**: square, circle, triangle, cross; red, green, blue, yellow, white, magenta; small
  (6-8 px) or large (16-24 px). One to three per video, no two of the same shape, each with
  events: it appears at t1 and disappears at t2; it may move in a straight line (left, right,
  up, down), blink n times (1-4; off for half a second each), or change colour once.
* **Questions**, in these exact words, multiple choice with options "A. ..." to "D. ..."
  (yes/no: "A. yes", "B. no") and the Video-MME instruction: "What color is the {shape}?",
  "Which shape appears first?", "Which way does the {color} {shape} move?", "How many times
  does the {color} {shape} blink?", "What color does the {shape} turn into?", "Is there a
  small {color} {shape} in the video?"; and grounding as Charades-STA asks it, for the
  sentence "the {color} {shape} is visible", answered "start - end" in seconds.
* **No question is answerable from the picture's average**: "What color is the {shape}?"
  is asked only where another object of another colour is in the video at the same time
  (a distractor), and its wrong options are drawn first from the colours on screen.

Written out (``write``): ``data/<videoID>.mp4``; ``qa.jsonl`` (what ``vidtok eval --task qa``
reads: video, question, options, answer, plus task_type); ``qa_open.jsonl`` (the same
questions open-ended, as a user types them: no options, the answer a word);
``charades_sta_test.txt`` (what
``vidtok eval --task ground --videos data`` reads); ``items.json`` (every object and event,
the ground truth the questions came from).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

SIZE, FPS = 112, 4
SHAPES = ("square", "circle", "triangle", "cross")
COLORS = {"red": (230, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 235), "yellow": (240, 220, 30),
          "white": (245, 245, 245), "magenta": (220, 40, 220)}
DIRECTIONS = ("left", "right", "up", "down")
STEPS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}  # each direction's (dx, dy); y grows down
BACKGROUNDS = ("flat", "gradient", "noise", "stripes")
INSTRUCTION = "Answer with the option's letter from the given choices directly."
BLINK_S = 0.5  # an object is off this long in each blink


@dataclass
class Thing:
    """One object and its events (times in seconds)."""

    shape: str
    color: str
    size: int  # side in pixels
    t1: float  # appears
    t2: float  # disappears
    start: tuple[float, float]  # centre (x, y) at t1
    direction: Optional[str] = None  # moves this way from t1 to t2, when set
    distance: float = 0.0
    blinks: list[float] = field(default_factory=list)  # each blink's start
    turns_to: Optional[str] = None  # colour after ``turn_at``
    turn_at: Optional[float] = None

    @property
    def small(self) -> bool:
        return self.size <= 8

    def visible(self, t: float) -> bool:
        return self.t1 <= t < self.t2 and not any(b <= t < b + BLINK_S for b in self.blinks)

    def color_at(self, t: float) -> str:
        return self.turns_to if self.turns_to and t >= self.turn_at else self.color

    def centre(self, t: float) -> tuple[float, float]:
        if not self.direction:
            return self.start
        f = (t - self.t1) / max(self.t2 - self.t1, 1e-6)
        dx, dy = STEPS[self.direction]
        return self.start[0] + dx * f * self.distance, self.start[1] + dy * f * self.distance

    def fit_path(self, margin: float) -> None:
        """Move the start so that the whole path (``direction``, ``distance``) stays ``margin``
        pixels inside the picture."""
        dx, dy = STEPS[self.direction]
        lo, hi = margin, SIZE - margin
        self.start = (float(np.clip(self.start[0], lo + max(0, -dx) * self.distance, hi - max(0, dx) * self.distance)),
                      float(np.clip(self.start[1], lo + max(0, -dy) * self.distance, hi - max(0, dy) * self.distance)))


def _mask(shape: str, size: int, cx: float, cy: float) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    u, v, r = x - cx, y - cy, size / 2
    if shape == "square":
        return (np.abs(u) <= r) & (np.abs(v) <= r)
    if shape == "circle":
        return u * u + v * v <= r * r
    if shape == "triangle":  # apex up, base down
        return (v <= r) & (v >= -r) & (np.abs(u) <= (v + r) / 2)
    bar = max(2.0, size / 4)  # cross: a plus sign
    return ((np.abs(u) <= bar / 2) & (np.abs(v) <= r)) | ((np.abs(v) <= bar / 2) & (np.abs(u) <= r))


def _background(kind: str, rng: np.random.Generator) -> np.ndarray:
    level = float(rng.uniform(60, 150))
    if kind == "flat":
        img = np.full((SIZE, SIZE), level)
    elif kind == "gradient":
        ramp = np.linspace(level - 40, level + 40, SIZE)
        img = np.tile(ramp, (SIZE, 1)) if rng.random() < 0.5 else np.tile(ramp[:, None], (1, SIZE))
    elif kind == "noise":
        img = level + rng.normal(0, 8, (SIZE, SIZE))
    else:
        period = int(rng.integers(8, 17))
        img = level + 15 * (((np.arange(SIZE) // (period // 2)) % 2)[None, :] * 2 - 1) * np.ones((SIZE, 1))
    return np.clip(img, 0, 255)[..., None].repeat(3, 2).astype(np.uint8)


@dataclass
class Video:
    video_id: str
    duration: float
    background: str
    things: list[Thing]
    questions: list[dict] = field(default_factory=list)

    def frames(self, rng: np.random.Generator) -> np.ndarray:
        bg = _background(self.background, rng)
        n = int(round(self.duration * FPS))
        out = np.repeat(bg[None], n, 0)
        for i in range(n):
            t = i / FPS
            for th in self.things:
                if th.visible(t):
                    cx, cy = th.centre(t)
                    out[i][_mask(th.shape, th.size, cx, cy)] = COLORS[th.color_at(t)]
        return out


def _thing(rng: np.random.Generator, shape: str, color: str, duration: float) -> Thing:
    size = int(rng.integers(6, 9)) if rng.random() < 0.35 else int(rng.integers(16, 25))
    t1 = float(rng.integers(0, int(duration * FPS * 0.4))) / FPS
    t2 = float(rng.integers(int(np.ceil((t1 + 2.5) * FPS)), int(duration * FPS) + 1)) / FPS
    margin = size / 2 + 2
    th = Thing(shape, color, size, t1, t2, (float(rng.uniform(margin, SIZE - margin)),
                                           float(rng.uniform(margin, SIZE - margin))))
    event = rng.choice(["none", "move", "blink", "turn"], p=[0.25, 0.3, 0.25, 0.2])
    if event == "move":
        th.direction = str(rng.choice(DIRECTIONS))
        th.distance = float(rng.uniform(30, 50))
        th.fit_path(margin)  # start where the whole path fits in the picture
    elif event == "blink":
        n = int(rng.integers(1, 5))
        slots = np.arange(th.t1 + 0.5, th.t2 - BLINK_S - 0.5 + 1e-9, 2 * BLINK_S)  # one blink a second at most
        if len(slots) >= n:
            th.blinks = sorted(float(s) for s in rng.choice(slots, n, replace=False))
    elif event == "turn":
        th.turns_to = str(rng.choice([c for c in COLORS if c != color]))
        th.turn_at = float(round((th.t1 + th.t2) / 2 * FPS) / FPS)
    return th


def _options(right: str, pool: list[str], rng: np.random.Generator, first: list[str] = ()) -> tuple[list[str], str]:
    """Four options (the right one among them) as "A. ..." and the right letter."""
    wrong = [c for c in dict.fromkeys([*first, *rng.permutation(pool).tolist()]) if c != right][:3]
    opts = [right, *wrong]
    order = rng.permutation(len(opts))
    opts = [opts[k] for k in order]
    return [f"{'ABCD'[k]}. {o}" for k, o in enumerate(opts)], "ABCD"[opts.index(right)]


def option_texts(q: dict) -> list[str]:
    """A question's options without their letters ("A. red" -> "red")."""
    return [o.split(". ", 1)[1] for o in q["options"]]


def answer_word(q: dict) -> str:
    """The text of a question's right option: its open-ended answer."""
    return option_texts(q)["ABCD".index(q["answer"])]


def _questions(v: Video, rng: np.random.Generator) -> list[dict]:
    qs = []

    def ask(kind, text, options, answer):
        qs.append({"task_type": kind, "question": text, "options": options, "answer": answer})

    for th in v.things:
        others = [o for o in v.things if o is not th and max(o.t1, th.t1) < min(o.t2, th.t2)]
        if not th.turns_to and any(o.color != th.color for o in others):  # a distractor on screen with it
            opts, ans = _options(th.color, list(COLORS), rng, first=[o.color for o in others])
            ask("color", f"What color is the {th.shape}?", opts, ans)
        if th.direction:
            opts, ans = _options(th.direction, list(DIRECTIONS), rng)
            ask("direction", f"Which way does the {th.color} {th.shape} move?", opts, ans)
        if th.blinks:
            opts, ans = _options(str(len(th.blinks)), ["1", "2", "3", "4"], rng)
            ask("blinks", f"How many times does the {th.color} {th.shape} blink?", opts, ans)
        if th.turns_to:
            opts, ans = _options(th.turns_to, list(COLORS), rng, first=[th.color])
            ask("turn", f"What color does the {th.shape} turn into?", opts, ans)
    firsts = sorted(v.things, key=lambda o: o.t1)
    if len(firsts) > 1 and firsts[1].t1 - firsts[0].t1 >= 1.0:
        opts, ans = _options(firsts[0].shape, list(SHAPES), rng, first=[o.shape for o in firsts[1:]])
        ask("order", "Which shape appears first?", opts, ans)
    # yes/no, as often one as the other: a small one that is there, or (hard negatives) a
    # large one's colour and shape, or a present shape in another colour
    smalls = [o for o in v.things if o.small and not o.turns_to]
    if not smalls:  # asked only where a small one is there: half yes, half no
        return qs
    if rng.random() < 0.5:
        th = smalls[int(rng.integers(len(smalls)))]
        color, shape = th.color, th.shape
    else:
        th = v.things[int(rng.integers(len(v.things)))]
        color, shape = th.color, th.shape
        if th.small or th.turns_to:
            color = str(rng.choice([c for c in COLORS if c not in (th.color, th.turns_to)]))
    yes = any(o.small and o.shape == shape and o.color == color and not o.turns_to for o in v.things)
    ask("small", f"Is there a small {color} {shape} in the video?", ["A. yes", "B. no"], "A" if yes else "B")
    return qs


def make_video(video_id: str, rng: np.random.Generator, objects: Optional[int] = None) -> Video:
    """One video and its questions; ``objects`` fixes how many objects (1-3, drawn by default)."""
    duration = float(rng.integers(4 * FPS, 12 * FPS + 1)) / FPS
    k = int(rng.integers(1, 4))
    k = objects or k
    shapes = rng.choice(SHAPES, k, replace=False)
    things = [_thing(rng, str(s), str(rng.choice(list(COLORS))), duration) for s in shapes]
    v = Video(video_id, duration, str(rng.choice(BACKGROUNDS)), things)
    v.questions = _questions(v, rng)
    return v


def write_mp4(path: Path, frames: np.ndarray) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = SIZE, SIZE, "yuv444p"  # full-resolution colour for small objects
        s.codec_context.time_base = Fraction(1, FPS)
        s.options = {"crf": "12", "preset": "veryfast", "g": str(4 * FPS)}
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = i
            for pkt in s.encode(f.reformat(format="yuv444p")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def write(out: Path, videos: int, seed: int = 0) -> dict:
    """``videos`` videos from ``seed`` with their questions, in the layouts above; returns
    counts. The same seed writes the same files."""
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    qa, qa_open, ground, items = [], [], [], []
    for k in range(videos):
        rng = np.random.default_rng([seed, k])
        v = make_video(f"w{seed}_{k:05d}", rng)
        write_mp4(out / "data" / f"{v.video_id}.mp4", v.frames(rng))
        for n, q in enumerate(v.questions):
            qa.append({"question_id": f"{v.video_id}-{n}", "video": f"data/{v.video_id}.mp4",
                       "question": q["question"] + "\n" + INSTRUCTION, "task_type": q["task_type"],
                       "options": option_texts(q), "answer": q["answer"]})
            qa_open.append({"question_id": f"{v.video_id}-{n}", "video": f"data/{v.video_id}.mp4",
                            "question": q["question"], "task_type": q["task_type"], "answer": answer_word(q)})
        for th in v.things:
            if not th.blinks:  # one visible interval
                ground.append(f"{v.video_id} {th.t1:.2f} {th.t2:.2f}##the {th.color} {th.shape} is visible")
        items.append({**{k2: v2 for k2, v2 in asdict(v).items() if k2 != "questions"}, "questions": v.questions})
    (out / "qa.jsonl").write_text("".join(json.dumps(x) + "\n" for x in qa))
    (out / "qa_open.jsonl").write_text("".join(json.dumps(x) + "\n" for x in qa_open))
    (out / "charades_sta_test.txt").write_text("".join(x + "\n" for x in ground))
    (out / "items.json").write_text(json.dumps({"seed": seed, "fps": FPS, "size": SIZE, "videos": items}, indent=1))
    return {"videos": videos, "questions": len(qa), "grounding": len(ground)}


if __name__ == "__main__":  # python -m vidtok.world OUT --videos N --seed S
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(json.dumps(write(Path(a.out), a.videos, a.seed)))
