"""One pipeline config model: the single source of truth for CLI flags, YAML recipes and
defaults. A recipe (``recipes/<name>.yaml`` or any YAML path) sets fields; flags given on
the command line override them; what neither sets takes the defaults below."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import UsageError

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
if not RECIPES_DIR.exists():  # source checkout: recipes/ sits beside vidtok/
    RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


class PipelineConfig(BaseModel):
    # no NaN or infinity in any number (pydantic's float accepts "nan" otherwise)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
    frames: Optional[int] = Field(None, ge=1, le=100_000, description="frames the model's sampler takes (default: its "
                                                                       "own rule)")
    fps: Optional[float] = Field(None, gt=0, le=1000, description="the model's sampling rate (default: its own)")
    max_pixels: Optional[int] = Field(None, ge=1, description="the most pixels a frame keeps (Qwen2.5-VL's processor "
                                                              "cap; default: the checkpoint's)")
    pre_keep: Optional[float] = Field(None, gt=0, le=1, description="share of sampled frames through the vision tower")
    plan: Optional[str] = Field(None, description="where the budget is met: auto, after, frames=F (compress.plan)")
    proportional: bool = Field(False, description="proportional attention for merged tokens")
    resize: Literal["model", "decoder"] = Field(
        "model", description="who resizes frames for the model: its own processor (model) or the decoder (faster, "
                             "less memory; pixels differ slightly)")
    chunk_seconds: float = 600.0
    subtitles: Optional[str] = Field(None, description="auto (the video's text stream or a sidecar .srt/.vtt) or a "
                                                         "subtitle file: lines of the frames shown go before the question")
    # generation: greedy unless temperature, top_p or top_k is set; the checkpoint's own
    # generation config supplies everything else (eos ids, repetition penalty)
    temperature: Optional[float] = Field(None, ge=0, description="sampling temperature (0 or unset: greedy)")
    top_p: Optional[float] = Field(None, gt=0, le=1, description="nucleus sampling: smallest set of tokens with this mass")
    top_k: Optional[int] = Field(None, ge=1, description="sample among the k likeliest tokens")
    seed: Optional[int] = Field(None, description="seed for sampling (repeatable answers)")
    stop: list[str] = Field(default_factory=list, description="stop the answer before any of these strings")
    system: Optional[str] = Field(None, description="system prompt (the model's chat template places it)")
    compile: bool = Field(False, description="decode with a static KV cache and a torch.compile'd step (CUDA graphs "
                                             "on a GPU); the compile is paid once per process")
    device: Optional[str] = Field(None, description="cuda, mps or cpu (default: the best available)")
    dtype: Optional[Literal["float32", "bfloat16", "float16"]] = Field(
        None, description="model weights' dtype (default: the checkpoint's own, except float32 for a half-precision "
                          "checkpoint on a CPU without bfloat16 units; float32 for random: models)")
    options: dict[str, dict] = Field(default_factory=dict,
                                     description="per component options, e.g. {holitom: {tau: 0.7}} (-o holitom.tau=0.7)")

    @field_validator("budget", mode="before")
    @classmethod
    def _budget_as_text(cls, v):
        """A recipe's ``budget: 0.1`` (a YAML number) means what ``--budget 0.1`` means."""
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @property
    def model_id(self) -> str:
        """The model to load: ``model``, else the default one."""
        from .defaults import DEFAULT_MODEL

        return self.model or DEFAULT_MODEL

    @property
    def compressions(self) -> list:
        """Every compression these settings ask for (``compress.request.Compression.sweep``:
        several methods separated by ";", several budgets by ","): the one place ``method``,
        ``budget``, ``options``, ``plan`` and ``pre_keep`` are read and their defaults applied; a bad
        method or budget is a ``UsageError`` here."""
        from .compress.request import Compression

        return Compression.sweep(self.method, self.budget, self.options, self.pre_keep, self.plan)

    @property
    def compression(self):
        """The one compression a command that answers once runs (``compressions``' only one)."""
        settings = self.compressions
        if len(settings) > 1:
            raise UsageError(f"several methods or budgets ('{self.method}' / '{self.budget}') are a table for `vidtok "
                             "eval --benchmark`; give one here")
        return settings[0]

    def answer_tokens(self, default: int) -> int:
        """``max_new_tokens`` when a flag or the recipe set it, else the task's own default
        (a grounding answer is a few numbers: ``ground`` uses 48)."""
        return self.max_new_tokens if "max_new_tokens" in self.model_fields_set else default

    def sampling(self):
        """The generation settings as ``vidtok.models.generation.Sampling``."""
        from .models.generation import Sampling

        return Sampling(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, seed=self.seed,
                        stop=tuple(self.stop))


class DecodeOptions(BaseModel):
    """How to read each video: the options every decoding command shares (``--backend``,
    ``--stream``, ``--timeout``, ``--allow-truncated``), with one meaning everywhere."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
            raise _flag_error(e) from None

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


def _flag_error(e: ValidationError) -> UsageError:
    """A config model's first validation error as the flag it came from: ``--dtype: ...``."""
    err = e.errors()[0]
    return UsageError(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']} (got {_shown(err.get('input'))})")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: a recipe is a few lines of settings: anything larger, or with more aliases than a person
#: writes, is refused before it is parsed (nested aliases expand exponentially)
MAX_RECIPE_BYTES = 64 * 1024
MAX_RECIPE_ALIASES = 16


_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _typed(raw: str, default, where: str = "-o"):
    """``raw`` as the type of the option's default (a number or a boolean where the
    default is None; ``bool("false")`` would be True, so booleans are spelled out)."""
    if isinstance(default, bool) or (default is None and raw.lower() in ("true", "false", "yes", "no", "on", "off")):
        if raw.lower() not in _BOOLS:
            raise UsageError(f"{where}: '{raw}' is not true or false")
        return _BOOLS[raw.lower()]
    kinds = [type(default)] if default is not None else [int, float]
    for kind in kinds:
        try:
            return kind(raw)
        except ValueError:
            continue
    if default is None:
        return raw
    raise UsageError(f"{where}: '{raw}' is not {'an' if type(default) is int else 'a'} {type(default).__name__}")


def range_problem(value, low=None, high=None) -> Optional[str]:
    """What is wrong with ``value`` as a finite number within [low, high] (None: nothing;
    a bound of None: none on that side)."""
    import math

    if math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high):
        return None
    span = (f" between {low:g} and {high:g}" if low is not None and high is not None else
            f" at least {low:g}" if low is not None else f" at most {high:g}" if high is not None else "")
    return f"must be a finite number{span}"


def check_option_values(registry, name: str, opts: dict) -> None:
    """Every numeric option of component ``name`` is a finite number inside the range its
    module declares (``OPTION_RANGES``); one line naming the option and the value otherwise."""
    ranges = registry.option_ranges(name)
    for key, value in opts.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        problem = range_problem(value, *ranges.get(key, (None, None)))
        if problem:
            raise UsageError(f"{name}.{key}={value}: {problem}")


def parse_options(pairs: list[str] | None, names: list[str], registry, skip: tuple[str, ...] = ()) -> dict[str, dict]:
    """``-o key=value`` (repeatable) for the components ``names`` of ``registry`` (a
    compressor chain, a selector): ``name.key=value`` sets one component's option,
    ``key=value`` every one of them that has ``key``. Keys are checked against each
    component's own keyword options (``Registry.options``) and values take their default's
    type, so a typo is a usage error before anything runs."""
    out: dict[str, dict] = {}
    for pair in pairs or []:
        key, eq, raw = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"-o wants key=value or component.key=value, got '{pair}'")
        target, _, opt = key.rpartition(".")
        if target and target not in names:
            raise UsageError(f"-o {pair}: '{target}' is not used here ({', '.join(names)})")
        hit = False
        for name in ([target] if target else names):
            known = registry.options(name, skip)
            if opt in known:
                out.setdefault(name, {})[opt] = _typed(raw.strip(), known[opt], f"{name}.{opt}={raw.strip()}")
                hit = True
        if not hit:
            have = "; ".join(f"{n}: {', '.join(registry.options(n, skip)) or 'none'}" for n in names)
            raise UsageError(f"-o {pair}: no such option ({have})")
    for name, opts in out.items():
        check_option_values(registry, name, opts)
    return out


def list_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str) -> PipelineConfig:
    """A recipe by name (``recipes/<name>.yaml``) or path, checked: a readable, small YAML
    mapping of known settings with valid values, each problem one line naming the file, the
    key and the value."""
    import difflib

    p = Path(name_or_path)
    if not p.suffix:
        p = RECIPES_DIR / f"{name_or_path}.yaml"
    if not p.exists():
        raise UsageError(f"unknown recipe '{name_or_path}'; recipes: {', '.join(list_recipes())}")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read recipe: {e.strerror or e}", p) from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise UsageError(f"recipe is {len(raw):,} bytes; a recipe is a few lines of YAML (at most "
                         f"{MAX_RECIPE_BYTES // 1024} KiB)", p)
    try:
        text = raw.decode("utf-8")
        aliases = sum(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(text, Loader=yaml.SafeLoader))
        if aliases > MAX_RECIPE_ALIASES:
            raise UsageError(f"recipe uses {aliases} YAML aliases (at most {MAX_RECIPE_ALIASES})", p)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise UsageError("recipe is not UTF-8 text", p) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"recipe is not valid YAML{where}: {getattr(e, 'problem', None) or e}", p) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"a recipe is a mapping of settings (key: value), this one is a {type(data).__name__}", p)
    for key in data:
        if key not in PipelineConfig.model_fields:
            close = difflib.get_close_matches(str(key), list(PipelineConfig.model_fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"unknown key '{key}'{hint}; keys: {', '.join(PipelineConfig.model_fields)}", p)
    try:
        cfg = PipelineConfig(**{str(k): v for k, v in data.items()})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise UsageError(f"{field}: {err['msg']} (got {_shown(err.get('input'))})", p) from None
    try:
        check_component_options(cfg.options)
    except UsageError as e:
        raise UsageError(f"options: {e.problem}", p) from None
    return cfg


def check_component_options(options: dict[str, dict]) -> None:
    """A config's ``options`` (``{component: {key: value}}``, from a recipe): each component
    registered, each key one of its options, each number in its range."""
    from .compress import COMPRESSORS
    from .select import SELECTORS

    for name, opts in options.items():
        registry = next((r for r in (COMPRESSORS, SELECTORS) if name in r.names()), None)
        if registry is None:
            raise UsageError(f"'{name}' is no compressor or selector (vidtok methods)")
        if not isinstance(opts, dict):
            raise UsageError(f"{name}: options are a mapping (key: value), got {_shown(opts)}")
        known = registry.options(name, ("query", "progress", "encoder"))
        for key in opts:
            if key not in known:
                raise UsageError(f"{name}: no option '{key}' ({', '.join(known) or 'none'})")
        check_option_values(registry, name, opts)


def resolve(recipe: Optional[str], options: list[str] | None = None, for_: str = "compress", **flags) -> PipelineConfig:
    """Recipe values overridden by every flag that was given (not None), and ``-o`` pairs
    (``options``) parsed for the compressor chain (``for_="compress"``) or the selector
    (``for_="select"``) the config names, on top of the recipe's own ``options``."""
    base = load_recipe(recipe) if recipe else PipelineConfig()
    try:  # validated again with the flags on top: a bad value is a usage error, before anything loads
        # (exclude_unset: what neither the recipe nor a flag set stays unset, see answer_tokens)
        cfg = PipelineConfig(**{**base.model_dump(exclude_unset=True), **{k: v for k, v in flags.items() if v is not None}})
    except ValidationError as e:
        raise _flag_error(e) from None
    if options:
        if for_ == "select":
            from .select import SELECTORS

            names, registry, skip = [cfg.selector], SELECTORS, ("progress", "query", "encoder")
        else:
            from .compress import COMPRESSORS
            from .compress.request import Compression

            # the methods -o reaches: every chain named (the default one when none is), each once
            chains = [c.methods for c in Compression.sweep(cfg.method, "0.1")]
            names, registry, skip = list(dict.fromkeys(n for c in chains for n in c)), COMPRESSORS, ("query",)
        merged = {k: dict(v) for k, v in cfg.options.items()}
        for name, opts in parse_options(options, names, registry, skip).items():
            merged.setdefault(name, {}).update(opts)
        cfg = cfg.model_copy(update={"options": merged})
    if for_ == "select" and "k" in cfg.options.get(cfg.selector, {}):
        # -o k=5 (a selector option `vidtok methods` lists) is the config's k, which every
        # selector call passes: one value, not two
        own = dict(cfg.options[cfg.selector])
        k = own.pop("k")
        if flags.get("k") is not None and flags["k"] != k:
            raise UsageError(f"-k {flags['k']} and -o k={k} disagree: give one")
        cfg = cfg.model_copy(update={"k": k, "options": {**cfg.options, cfg.selector: own}})
    return cfg
