"""What compression does to the answers of a model that has learned to see.

The organism (``tests/organism/<family>``, trained by ``tests/organism/train.py`` on the
synthetic world of :mod:`vidtok.world`) answers held-out world items through vidtok's own
``eval`` path (``vidtok.tasks.evaluate``: the same sampling, tower, compression, prompt and
scoring a user's ``vidtok eval`` runs), at full tokens, under each compressor and budget, with
``--pre-keep``, with fewer pixels a frame (plan ``pixels=``, Qwen2.5-VL), and under three
controls that must fail:

* ``other video``: each question is answered from another held-out video's visual tokens
  (accuracy should fall to chance);
* ``shuffled time``: each video's frame pairs go through the tower in a shuffled order while
  their times stay put, so every token sits at the wrong time (the time questions, order,
  blinks, turn and grounding, should fall);
* ``reversed motion``: the two frames of each pair (one temporal patch) swapped, so each token
  is at its time but what moves in it moves backwards (direction should fall below chance:
  the opposite answer).

Each question is asked twice: open-ended as a user types it (``qa_open.jsonl``: the answer a
word, scored by exact match; the columns named by question kind and ``open``) and multiple
choice in ``vidtok eval``'s prompt (``qa.jsonl``: ``mc``, and ``mc_<kind>`` in the JSON).
Prints one JSON line per setting (with grounding mIoU and R1@0.5 and mean visual tokens) and a
Markdown table::

    python benchmarks/organism.py --family qwen2_5_vl --videos 80   # or --family qwen3_vl
    python benchmarks/organism.py --family qwen2_5_vl --ci   # the CI subset; --record writes expected.json
    python benchmarks/organism.py --plans --videos 80      # where the budget is spent (compress.plan)

The figures are the organism's, a 1.9 or 2.3 M-parameter model on a toy world: they show which kinds
of answer a method loses on this world, and say nothing of a real model's accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELD_OUT_SEED = 1000  # tests/organism/train.py trains on seeds below this one
CI_VIDEOS = 24  # the CI subset: the first held-out videos
METHODS = ("holitom", "fastvid", "vidcom2", "dtd", "divprune", "visionzip", "tome", "vq", "traj", "fastv",
           "uniform", "pool", "dtd,holitom")
BUDGETS = ("0.5", "0.25", "0.1")
PRE_KEEPS = (0.5, 0.25)
# plan pixels=P (Qwen2.5-VL only): each frame through the tower under that share of its pixels,
# which its processor sizes to 28-px multiples: 112x112 frames become 84x84 (9 of 16 tokens) and 56x56 (4)
PIXELS = (0.6, 0.3)
PLAN_FACTORS = (1, 2, 3, 4)  # --plans: frames through the tower = factor x budget (compress.plan)
TOWER_SHARES = (0.5, 0.25)  # --plans: units carried through the tower's later blocks (plan tower=T), alone and with frames


def held_out(out: Path, videos: int) -> Path:
    from vidtok import world

    if not all((out / n).is_file() for n in ("qa_open.jsonl", "items.json")):  # items.json is written last
        world.write(out, videos, seed=HELD_OUT_SEED)
    return out


class Controls:
    """The controls, by wrapping ``vidtok.tasks.ask.visual_tokens`` (the one place every
    answer takes its tokens from)."""

    def __init__(self, paths: list[str]):
        import vidtok.tasks.ask as ask_mod

        self.mod, self.original = ask_mod, ask_mod.visual_tokens
        self.other = {p: paths[(k + 1) % len(paths)] for k, p in enumerate(paths)}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.mod.visual_tokens = self.original

    def other_video(self):
        original, other = self.original, self.other

        def swapped(video, model, **kw):
            return original(other[str(video.path)], model, **kw)

        self.mod.visual_tokens = swapped

    def _reorder(self, order_of):
        """Every answer's frames go through the tower in ``order_of(n)``'s order while their
        times stay put (never cached: these tokens are wrong on purpose)."""
        original = self.original

        def reordered(video, model, **kw):
            encode = model.encode

            def encode_reordered(frames, times, ends, fps):
                return encode(frames[order_of(len(frames))], times, ends, fps)

            model.encode = encode_reordered
            try:
                return original(video, model, **{**kw, "use_cache": False})
            finally:
                del model.encode

        self.mod.visual_tokens = reordered

    def shuffled_time(self, seed: int = 0):
        """Whole frame pairs (temporal patches) in a shuffled order: every token at a wrong time."""

        def order(n):
            pairs = np.arange(0, n - n % 2, 2)
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(pairs))
            while len(perm) > 1 and (perm == np.arange(len(perm))).any():  # every pair moves
                perm = rng.permutation(len(pairs))
            return np.concatenate([np.r_[pairs[p], pairs[p] + 1] for p in perm] + [np.arange(len(pairs) * 2, n)])

        self._reorder(order)

    def reversed_motion(self):
        """The two frames of each temporal patch swapped: every pair at its own time, but what
        moves within it moves backwards (a direction question should get the opposite answer)."""

        def order(n):
            idx = np.arange(n)
            idx[: n - n % 2] = idx[: n - n % 2].reshape(-1, 2)[:, ::-1].ravel()
            return idx

        self._reorder(order)


def blind_grounding(g_items) -> dict:
    """What grounding scores without looking: the whole video as the answer for every item."""
    from vidtok.tasks.evaluate import iou

    ious = [iou((0.0, it["video"].info.duration), (it["start"], it["end"])) for it in g_items]
    return {"setting": "no model: whole video", "miou": round(float(np.mean(ious)), 3),
            "r1_05": round(float(np.mean([x >= 0.5 for x in ious])), 3)}


def per_kind(rows, kinds: dict[int, str], prefix: str = "") -> dict:
    per: dict[str, list[int]] = {}
    for r in rows:
        per.setdefault(prefix + kinds[r["line"]], []).append(int(r["correct"]))
    return {k: sum(v) / len(v) for k, v in sorted(per.items())}


def score(world_dir: Path, model, kinds: dict[int, str], items: dict, **setting) -> dict:
    """One setting over the three item files: open-ended answers per question kind (the
    columns named by kind), multiple-choice accuracy (``mc``, and ``mc_<kind>``), grounding."""
    from vidtok.compress.request import Compression
    from vidtok.tasks.evaluate import evaluate

    t0 = time.perf_counter()
    # a method's row measures the method (every frame through the tower) unless it names a plan
    plan = setting.get("plan", "after" if setting.get("pre_keep") is None else None)
    c = Compression.of(setting.get("method"), setting.get("budget"), pre_keep=setting.get("pre_keep"), plan=plan)
    op = evaluate(world_dir / "qa_open.jsonl", "qa", items["open"], model, compression=c)
    mc = evaluate(world_dir / "qa.jsonl", "qa", items["mc"], model, compression=c)
    g = evaluate(world_dir / "charades_sta_test.txt", "ground", items["ground"], model, compression=c)
    out = per_kind(op["rows"], kinds)
    out.update(open=op["metrics"]["accuracy"], mc=mc["metrics"]["accuracy"], miou=g["metrics"]["mIoU"],
               r1_05=g["metrics"]["R1@0.5"], tokens=op["mean_visual_tokens"])
    out.update(per_kind(mc["rows"], kinds, "mc_"))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def load(world_dir: Path):
    """The held-out items as ``vidtok eval`` opens them, and each QA line's question kind."""
    from vidtok.config import DecodeOptions
    from vidtok.tasks.evaluate import load_items

    decode = DecodeOptions()
    items = {"open": load_items(world_dir / "qa_open.jsonl", "qa", [world_dir], decode),
             "mc": load_items(world_dir / "qa.jsonl", "qa", [world_dir], decode),
             "ground": load_items(world_dir / "charades_sta_test.txt", "ground", [world_dir / "data"], decode)}
    kinds = {n: json.loads(line)["task_type"]
             for n, line in enumerate((world_dir / "qa.jsonl").read_text().splitlines(), 1)}
    paths = list(dict.fromkeys(str(it["video"].path) for its in items.values() for it in its))
    return items, kinds, paths


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="qwen2_5_vl")
    ap.add_argument("--videos", type=int, default=80, help="held-out world videos")
    ap.add_argument("--world", type=Path, help="held-out world folder (written there when missing)")
    ap.add_argument("--methods", default=";".join(METHODS), help="compressors or chains, separated by ';'")
    ap.add_argument("--budgets", default=",".join(BUDGETS))
    ap.add_argument("--plans", action="store_true",
                    help="where the budget is spent: the default method at each budget under plan after, frames="
                         "factor x budget for each factor, and tower=T alone and with the default plan's frames "
                         "(compress.plan), instead of the compressor table")
    ap.add_argument("--ci", action="store_true", help=f"the CI subset: first {CI_VIDEOS} videos, full and 25 %% holitom")
    ap.add_argument("--record", action="store_true", help="with --ci: write expected.json beside the checkpoint")
    a = ap.parse_args(argv)

    from vidtok.models.loading import load_model

    ckpt = ROOT / "tests" / "organism" / a.family
    videos = CI_VIDEOS if a.ci else a.videos
    tmp = tempfile.TemporaryDirectory()
    world_dir = held_out(a.world or Path(tmp.name) / "world", videos)
    model = load_model(str(ckpt), device="cpu")
    items, kinds, paths = load(world_dir)
    settings = [("full tokens", {})]
    if a.ci:
        settings.append(("holitom 25%", {"method": "holitom", "budget": "0.25"}))
    elif a.plans:
        from vidtok.compress.plan import frames_share
        from vidtok.defaults import DEFAULT_METHOD

        for b in a.budgets.split(","):
            settings.append((f"{DEFAULT_METHOD} {float(b):.0%} plan after", {"method": DEFAULT_METHOD, "budget": b,
                                                                             "plan": "after"}))
            for f in PLAN_FACTORS:
                if f * float(b) < 1:
                    plan = f"frames={f * float(b):g}"
                    settings.append((f"{DEFAULT_METHOD} {float(b):.0%} plan {plan}",
                                     {"method": DEFAULT_METHOD, "budget": b, "plan": plan}))
            frames = frames_share("auto", float(b)) or 1.0  # the default plan's frames, with merging in the tower
            for t in TOWER_SHARES if model.merges_in_tower else ():  # tower=: Qwen2.5-VL only
                if t > float(b):
                    for plan in (f"tower={t:g}",) + ((f"frames={frames:g},tower={t:g}",) if frames * t > float(b) else ()):
                        settings.append((f"{DEFAULT_METHOD} {float(b):.0%} plan {plan}",
                                         {"method": DEFAULT_METHOD, "budget": b, "plan": plan}))
    else:
        settings += [("control: other video", "other"), ("control: shuffled time", "shuffle"),
                     ("control: reversed motion", "reverse")]
        for m in a.methods.split(";"):
            settings += [(f"{m} {float(b):.0%}", {"method": m, "budget": b}) for b in a.budgets.split(",")]
        settings += [(f"pre-keep {p:.0%}", {"pre_keep": p}) for p in PRE_KEEPS]
        settings += [(f"plan pixels={p:g}", {"plan": f"pixels={p:g}"}) for p in PIXELS if model.limits_pixels]
    results = [blind_grounding(items["ground"])]
    print(json.dumps(results[0]), flush=True)
    for name, setting in settings:
        with Controls(paths) as c:
            if setting == "other":
                c.other_video()
            elif setting == "shuffle":
                c.shuffled_time()
            elif setting == "reverse":
                c.reversed_motion()
            r = score(world_dir, model, kinds, items, **(setting if isinstance(setting, dict) else {}))
        results.append({"setting": name, **{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}})
        print(json.dumps(results[-1]), flush=True)
    full = results[1]
    cols = [k for k in full if k not in ("setting", "seconds") and not k.startswith("mc_")]
    print("\n| setting | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for r in results:
        print(f"| {r['setting']} | " + " | ".join("-" if k not in r else f"{r[k]:.0f}" if k == "tokens" else f"{r[k]:.2f}"
                                                 for k in cols) + " |")
    print(f"\n{len(items['mc'])} questions (each open-ended and multiple-choice), {len(items['ground'])} grounding "
          f"items, {videos} held-out videos (seed {HELD_OUT_SEED}); "
          f"checkpoint {ckpt.relative_to(ROOT)}")
    if a.ci and a.record:
        (ckpt / "expected.json").write_text(json.dumps({"videos": CI_VIDEOS, "seed": HELD_OUT_SEED,
                                                         "settings": results[1:]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
