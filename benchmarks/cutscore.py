"""Scoring detected shot boundaries against true transitions, shared by the scene-cut
benchmarks. A transition is (first frame, last frame): a hard cut at frame c is (c, c), a
dissolve or fade the frames it spans. A detected cut matches an unused transition when it falls
inside it, ``tol`` frames either side; each transition matches once, so two detections inside
one dissolve are one hit and one false detection."""

from __future__ import annotations


def score(pred, transitions, tol: int) -> tuple[float, float, float]:
    """(precision, recall, F1) of the detected cuts ``pred``."""
    used, tp = set(), 0
    for p in sorted(pred):
        for j, (a, b) in enumerate(transitions):
            if j not in used and a - tol <= p <= b + tol:
                used.add(j)
                tp += 1
                break
    prec = tp / len(pred) if pred else (1.0 if not transitions else 0.0)
    rec = tp / len(transitions) if transitions else 1.0
    return prec, rec, 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
