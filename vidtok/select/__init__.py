"""Select stage: which frames (or clips) reach the model."""

from .base import Clip, Cut, SelectedFrame, Selection
from .samplers import SAMPLERS, Sampling, sample, smart_resize, uniform_indices
from .selectors import SELECTORS, select

__all__ = ["SAMPLERS", "SELECTORS", "Clip", "Cut", "SelectedFrame", "Selection", "Sampling", "sample",
           "select", "smart_resize", "uniform_indices"]
