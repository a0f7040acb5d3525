"""One pipeline config model: the single source of truth for CLI flags, YAML recipes and
defaults. A recipe (``recipes/<name>.yaml`` or any YAML path) sets fields; flags given on
the command line override them; what neither sets takes the defaults below."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import UsageError

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
if not RECIPES_DIR.exists():  # source checkout: recipes/ sits beside vidtok/
    RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    model: Optional[str] = Field(None, description="hub id, local path or random:<family>-<size>")
    method: Optional[str] = Field(None, description="compressor or chain, e.g. dtd,holitom")
    budget: Optional[str] = Field(None, description="visual tokens to keep: 0.1, 10%, 500, 64/frame")
    selector: str = Field("scenes", description="keyframes method")
    k: Optional[int] = Field(None, description="frames (or clips) to select")
    encoder: Optional[str] = Field(None, description="image-text encoder for query-aware steps")
    via: str = Field("llm", description="grounding path: llm or embed")
    max_new_tokens: int = 64
    num_frames: int = Field(16, description="compress task: frames sampled")
    pre_keep: Optional[float] = Field(None, gt=0, le=1, description="share of sampled frames through the vision tower")
    proportional: bool = Field(False, description="proportional attention for merged tokens")
    chunk_seconds: float = 600.0


class DecodeOptions(BaseModel):
    """How to read each video: the options every decoding command shares (``--backend``,
    ``--stream``, ``--timeout``, ``--allow-truncated``), with one meaning everywhere."""

    model_config = ConfigDict(extra="forbid")

    backend: Optional[str] = Field(None, description="pyav (default), torchcodec, decord or opencv")
    stream: Optional[int] = Field(None, ge=0, description="FFmpeg index of the video stream (default: the best)")
    timeout: Optional[float] = Field(60.0, gt=0, description="seconds a decoder may stall; None waits forever")
    allow_truncated: bool = Field(False, description="use the frames a truncated file has")
    strict: bool = Field(False, description="damaged data FFmpeg reports fails the item (exit 4)")

    @classmethod
    def of(cls, **values) -> "DecodeOptions":
        try:
            return cls(**values)
        except ValidationError as e:
            err = e.errors()[0]
            raise UsageError(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from None

    def open(self, path):
        """The opened video (probed: missing, unreadable and non-video files fail here)."""
        from .decode import open_video

        return open_video(path, **self.model_dump(exclude={"strict"}))

    def damage(self, video) -> dict:
        """What decoding ``video`` found broken, for a result; with ``strict``, an error."""
        from .errors import DamagedVideoError

        if video.damage and self.strict:
            raise DamagedVideoError(video.damage.summary(), video.path)
        return video.damage.as_dict()


def list_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str) -> PipelineConfig:
    p = Path(name_or_path)
    if not p.suffix:
        p = RECIPES_DIR / f"{name_or_path}.yaml"
    if not p.exists():
        raise UsageError(f"unknown recipe '{name_or_path}'; recipes: {', '.join(list_recipes())}")
    try:
        return PipelineConfig(**(yaml.safe_load(p.read_text()) or {}))
    except (ValidationError, yaml.YAMLError) as e:
        raise UsageError(f"bad recipe: {str(e).splitlines()[0]}", p) from None


def resolve(recipe: Optional[str], **flags) -> PipelineConfig:
    """Recipe values overridden by every flag that was given (not None)."""
    base = load_recipe(recipe) if recipe else PipelineConfig()
    return base.model_copy(update={k: v for k, v in flags.items() if v is not None})
