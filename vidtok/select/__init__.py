"""Select stage: which frames (or clips) reach the model."""

from .samplers import SAMPLERS, Sampling, sample, smart_resize, uniform_indices

__all__ = ["SAMPLERS", "Sampling", "sample", "smart_resize", "uniform_indices"]
