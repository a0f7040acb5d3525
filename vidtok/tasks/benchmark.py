"""``vidtok eval --benchmark NAME --data DIR`` (or ``FILE``): a published benchmark run as
lmms-eval runs it.

``DIR`` is the dataset's folder as ``hf download <dataset> --repo-type dataset`` and
lmms-eval's cache leave it (``Benchmark.files`` finds its file there); ``FILE`` the file itself
(``.parquet``, ``.json`` or ``.jsonl`` rows with the fields lmms-eval reads). Its videos are
found where lmms-eval's cache keeps them, under ``--videos`` (default: the dataset folder, or
the file's folder and the one above). Every doc and every video is checked before the model loads. Each item is
asked with the benchmark's own prompt (``vidtok.evals``), answered with its ``max_new_tokens``,
and scored by its rules; rows go to ``--out`` as they are scored (resumable), and the metrics
are the benchmark's own."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Optional

from ..compress.request import Compression
from ..errors import InputError, UsageError
from .evaluate import record_id


def read_docs(path: Path) -> list[dict]:
    """The rows of a benchmark file: parquet (pyarrow, the ``evals`` extra), a JSON list, or
    JSON lines. A row read from MVBench's ``json/<task>.json`` carries ``_task``."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError as e:
                from ..errors import import_failure

                raise import_failure(e, "parquet files need pip install 'vidtok[evals]'") from None
            rows = pq.read_table(path).to_pylist()
        elif suffix == ".jsonl":
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        elif suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
        else:
            raise UsageError("a benchmark file is .parquet, .json or .jsonl", path)
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read the benchmark file: {str(e).splitlines()[0]}", path) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError("a benchmark file holds a list of rows (objects)", path)
    return [{**r, "_task": path.stem} for r in rows]


def find_files(bench, data: Path) -> list[Path]:
    """The benchmark's files in its dataset folder ``data`` (``Benchmark.files``)."""
    if not data.is_dir():
        raise InputError("not a folder (--data is the benchmark's dataset folder)", data)
    for pattern in bench.files:
        found = sorted(p for p in data.glob(pattern) if p.is_file())
        if found:
            return found
    raise InputError(f"no {bench.name} file here: looked for {', '.join(bench.files) or 'nothing'}", data)


def load_docs(bench, paths, roots: list[Path], decode, limit: Optional[int] = None) -> list[dict]:
    """The items to run from the benchmark's file(s) ``paths``, checked whole before a model
    loads: each row prompted (a missing field is one line naming the row), each video found
    under ``roots`` and probed."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    docs = [(p, n, d) for p in paths for n, d in enumerate(read_docs(p), 1)][:limit]  # rows numbered per file
    if not docs:
        raise UsageError("no rows to evaluate", paths[0])
    items, opened = [], {}
    for path, n, doc in docs:
        try:
            text = bench.prompt(doc)
            wanted = bench.videos(doc)
        except (KeyError, TypeError, ValueError) as e:
            raise UsageError(f"row {n}: not a {bench.name} row ({type(e).__name__}: {e})", path) from None
        found, base = _locate(wanted, roots)
        if found is None:
            raise InputError(f"row {n}: no video at {wanted[0]} under " + ", ".join(str(r) for r in roots), path)
        if found not in opened:
            opened[found] = decode.open(found)
        if bench.subtitles is not None:
            doc = {**doc, "_subtitles": bench.subtitles(doc, base, opened[found])}
            text = bench.prompt(doc)
        items.append({"row": n, "doc": doc, "prompt": text, "video": opened[found]})
    return items


def _locate(wanted: list[str], roots: list[Path]):
    """(the video file, the dataset folder it was found under): each wanted path under each
    root, else the file's bare name in a root; (None, None) when neither is there."""
    for w in wanted:
        for root in roots:
            if (root / w).is_file():
                return root / w, root
    for w in wanted:
        for root in roots:
            if (root / Path(w).name).is_file():
                return root / Path(w).name, root
    return None, None


def _item_id(bench, item: dict, setting: dict) -> str:
    doc = {k: v for k, v in item["doc"].items() if isinstance(v, (str, int, float, bool, list, type(None)))}
    return record_id({"benchmark": bench.name, "row": item["row"], "doc": doc, "setting": setting})


def ask_one(video, prompt: str, model, compression: Compression, max_new_tokens: int, use_cache: bool = True,
            subtitles=None) -> dict:
    """One (item, setting): the raw answer and what it cost; ``subtitles``: a
    ``decode.subtitles.reader``, whose cues for this video go before the prompt (``tasks.ask``)."""
    from .ask import ask

    t = time.perf_counter()
    r = ask(video, prompt, model, compression=compression, use_cache=use_cache, max_new_tokens=max_new_tokens,
            subtitles=subtitles(video.path) if subtitles else None)
    return {"raw_answer": r["answer"], "visual_tokens": r["visual_tokens_after"],
            "ttft": round(r["seconds"]["total"] - r["seconds"].get("generate", 0.0), 4),
            "seconds": round(time.perf_counter() - t, 4)}


def local_asker(model, use_cache: bool = True, subtitles: Optional[str] = None):
    """Jobs (video, prompt, compression, max_new_tokens) answered one by one in this process,
    each result yielded as it comes (so ``--out`` grows as the run goes); ``subtitles``: a
    ``--subtitles`` spec."""
    from ..decode.subtitles import reader

    cues = reader(subtitles) if subtitles else None

    def run(jobs):
        for video, prompt, comp, tokens in jobs:
            yield ask_one(video, prompt, model, comp, tokens, use_cache, cues)

    return run


def run_benchmark(bench, items: list[dict], model=None, *, settings: Optional[list[Compression]] = None,
                  seed: int = 0, max_new_tokens: Optional[int] = None, use_cache: bool = True, asker=None,
                  spec: Optional[str] = None, sampling: Optional[dict] = None, done: Optional[dict] = None,
                  record=None, progress=None) -> dict:
    """Ask and score ``items`` (from ``load_docs``) under each compression of ``settings``
    (default: none), item by item, so a video's visual tokens are computed once and every
    later setting reads them from the token cache. ``asker(jobs)`` answers the jobs still to
    do, in order (default: ``local_asker(model)``; ``batch.ray_engine.ray_asker`` shards them
    over a Ray cluster). Answers are scored here, in item order: random fallbacks draw, per
    setting, from ``random.Random(seed)`` (lmms-eval seeds Python's ``random`` with 0).
    ``done``/``record``: as ``tasks.evaluate.evaluate`` (resume from ``--out``). The result's
    ``settings`` has one entry per setting (its metrics, mean visual tokens, time to first
    token, seconds per item, and the headline metric relative to the first setting's); its
    top-level metrics are the first setting's."""
    settings = settings or [Compression()]
    done = done or {}
    tokens = max_new_tokens or bench.max_new_tokens
    described = [{"model": spec or model.spec, **c.describe(), "options": c.options, "seed": seed,
                  "max_new_tokens": tokens, **(sampling or {})} for c in settings]
    keys = [[_item_id(bench, it, setting) for setting in described] for it in items]
    todo = [(it["video"], it["prompt"], comp, tokens) for it, row_keys in zip(items, keys)
            for comp, key in zip(settings, row_keys) if key not in done]
    answers = (asker or local_asker(model, use_cache))(todo)
    rngs = [random.Random(seed) for _ in settings]
    rows: list[list[dict]] = [[] for _ in settings]
    for it, row_keys in zip(items, keys):
        for k, (setting, key) in enumerate(zip(described, row_keys)):
            if key in done:
                row = {**done[key]["row"], **bench.score(it["doc"], done[key]["row"]["raw_answer"], rngs[k])}
            else:
                got = next(answers)
                doc = it["doc"]
                row = {"row": it["row"], "question_id": doc.get("question_id", doc.get("id")), "setting": k,
                       "video": Path(it["video"].path).name, **got,
                       **bench.score(it["doc"], got["raw_answer"], rngs[k])}
                if record is not None:
                    record({"id": key, "status": "ok", "benchmark": bench.name, "setting": setting, "row": row})
            rows[k].append(row)
        if progress:
            progress()
    table = []
    for setting, part in zip(described, rows):
        n = len(part)
        table.append({"setting": setting, "metrics": bench.aggregate(part),
                      "mean_visual_tokens": sum(r["visual_tokens"] for r in part) / n,
                      "mean_ttft": sum(r["ttft"] for r in part) / n, "seconds_per_item": sum(r["seconds"] for r in part) / n})
    first = table[0]["metrics"][bench.headline]
    for entry in table:
        entry["relative"] = entry["metrics"][bench.headline] / first if first else None
    return {"benchmark": bench.name, "items": len(items), "headline": bench.headline, "metrics": table[0]["metrics"],
            "seconds_per_item": table[0]["seconds_per_item"], "settings": table,
            "rows": [r for part in rows for r in part]}
