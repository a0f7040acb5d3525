"""The published benchmarks as the field scores them: lmms-eval's prompts and scoring rules.

One file per benchmark; each holds a ``Benchmark``: ``prompt(doc)`` (the text lmms-eval's
task sends with its default settings), ``score(doc, answer, rng)`` (one item's row: the answer
as lmms-eval extracts it and whether it counts) and ``aggregate(rows)`` (the task's metrics,
on lmms-eval's own scale: percentages for most, a fraction where lmms-eval reports one).
A ``doc`` is one row of the benchmark's published files, with the field names lmms-eval reads.

Scoring rules follow lmms-eval 0.7.3 exactly, quirks included (they move numbers): the
multiple-choice letter extractor of 2026 (Video-MME), MVBench dropping empty answers from the
denominator, NExT-QA, EgoSchema and LongVideoBench falling back to a random letter, EgoSchema's
subset reported as a fraction, Charades-STA reading every "to" as "-" and counting identical
(video, sentence, interval) items once. Where lmms-eval draws a random letter it uses Python's
``random`` seeded 0 at start (its ``--seed`` default); vidtok draws from ``random.Random(seed)``
in item order, seed 0 by default, so the same items in the same order draw the same letters.
``tests/test_evals.py`` holds every rule against lmms-eval's own functions, item by item.
"""

from ..registry import Registry

BENCHMARKS: Registry = Registry(
    "benchmarks",
    {
        "videomme": "vidtok.evals.videomme:VIDEOMME",
        "videomme_w_subtitle": "vidtok.evals.videomme:VIDEOMME_SUBTITLES",
        "mvbench": "vidtok.evals.mvbench:MVBENCH",
        "nextqa": "vidtok.evals.nextqa:NEXTQA",
        "egoschema": "vidtok.evals.egoschema:EGOSCHEMA",
        "longvideobench": "vidtok.evals.longvideobench:LONGVIDEOBENCH",
        "charades_sta": "vidtok.evals.charades_sta:CHARADES_STA",
    },
)

__all__ = ["BENCHMARKS"]
