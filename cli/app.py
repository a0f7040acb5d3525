"""The typer app every command registers on, and the options commands share."""

from __future__ import annotations

from typing import Optional

import typer

from vidtok import __version__
from vidtok.defaults import DEFAULT_MODEL
from vidtok.errors import EXIT_CODES

from . import render

app = typer.Typer(
    name="vidtok",
    help=(
        "Video understanding with fewer tokens: decode videos with exact timestamps, pick the "
        "frames that matter, compress visual tokens, ask video LLMs.\n\n"
        "Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items())
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        render.out.print(f"vidtok {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """(``--debug`` is read by ``main`` before parsing, so it also covers parse errors.)"""


# -- shared options ---------------------------------------------------------------------------
BackendOpt = typer.Option(None, "--backend", "-b", help="Decoder: pyav (default), torchcodec, decord, opencv.")
StreamOpt = typer.Option(None, "--stream", help="FFmpeg index of the video stream (default: the best one).")
TimeoutOpt = typer.Option(60.0, "--timeout", help="Seconds a decoder may stall before failing.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
TruncOpt = typer.Option(False, "--allow-truncated", help="Use the frames a truncated file has instead of failing.")
StrictOpt = typer.Option(False, "--strict", help="Fail (exit 4) when FFmpeg reports damaged data, instead of warning.")


ReportOpt = typer.Option(None, "--report", help="Also write a self-contained HTML report here.")
RecipeOpt = typer.Option(None, "--recipe", help="A preset from recipes/ or a YAML file (see `vidtok recipes`); flags override it.")
OptionsOpt = typer.Option(None, "--option", "-o", metavar="KEY=VALUE",
                          help="A compressor's (or selector's) own option, repeatable: -o tau=0.7 sets it on every "
                               "method of the chain that has it, -o holitom.tau=0.7 on one (`vidtok methods --json` lists them).")


VideoArg = typer.Argument(..., help="Video file.", show_default=False)
NoCacheOpt = typer.Option(False, "--no-cache", help="Do not read or write the cache (visual tokens, selections).")

# -- the flags of every command that loads a video LLM (ask, ground, chat, eval, batch), in
# three groups, declared once here and added by @answering: (annotation, option) by the
# PipelineConfig field each sets
MODEL_FLAGS = {
    "model": (Optional[str], typer.Option(
        None, "--model", "-m", rich_help_panel="Model",
        help=f"Hub id or local checkpoint directory (default {DEFAULT_MODEL}; a hub id not yet in the Hugging Face "
             "cache is downloaded first, and offline that is exit 8 at once), or random:<family>-tiny (no weights).")),
    "device": (Optional[str], typer.Option(None, "--device", rich_help_panel="Model",
                                           help="cuda, mps or cpu (default: the best available).")),
    "dtype": (Optional[str], typer.Option(
        None, "--dtype", rich_help_panel="Model",
        help="Model weights' dtype: float32, bfloat16 or float16 (default: the checkpoint's own, except float32 for a "
             "half-precision checkpoint on a CPU without bfloat16 units, where it runs 4-5x faster; float32 for "
             "random: models).")),
    "resize": (Optional[str], typer.Option(
        None, "--resize", rich_help_panel="Model",
        help="Who resizes frames for the model: 'model' (its own processor, from frames decoded at full size: the "
             "model's own pixels; default) or 'decoder' (FFmpeg while decoding: less memory and time, pixels differ "
             "slightly).")),
    "proportional": (Optional[bool], typer.Option(
        None, "--proportional/--no-proportional", rich_help_panel="Model",
        help="Proportional attention: a merged token gets log(tokens it stands for) added to its attention logits "
             "(ToMe), so merging near-duplicates keeps their weight.")),
}
GENERATION_FLAGS = {
    "max_new_tokens": (Optional[int], typer.Option(
        None, "--max-new-tokens", min=1, rich_help_panel="Generation",
        help="Longest answer in tokens (ask and chat 64, ground 48, eval's multiple choice 8).")),
    "temperature": (Optional[float], typer.Option(
        None, "--temperature", min=0.0, rich_help_panel="Generation",
        help="Sample with this temperature (default: greedy, the same answer every time).")),
    "top_p": (Optional[float], typer.Option(
        None, "--top-p", min=0.0, max=1.0, rich_help_panel="Generation",
        help="Sample from the smallest set of tokens holding this probability.")),
    "top_k": (Optional[int], typer.Option(None, "--top-k", min=1, rich_help_panel="Generation",
                                          help="Sample among the k likeliest tokens.")),
    "seed": (Optional[int], typer.Option(None, "--seed", rich_help_panel="Generation",
                                         help="Seed for sampling: the same seed, the same answer.")),
    "stop": (Optional[list[str]], typer.Option(None, "--stop", rich_help_panel="Generation",
                                               help="End the answer before this text (repeatable).")),
    "system": (Optional[str], typer.Option(None, "--system", rich_help_panel="Generation",
                                           help="System prompt, placed by the model's own chat template.")),
    "compile": (Optional[bool], typer.Option(
        None, "--compile/--no-compile", rich_help_panel="Generation",
        help="Decode through a static KV cache and a torch.compile'd step (CUDA graphs on a GPU): faster tokens after "
             "a one-time compile per process, so it pays in chat and batch. Default: off.")),
}
COMPRESSION_FLAGS = {
    "method": (Optional[str], typer.Option(
        None, "--method", rich_help_panel="Compression",
        help="Compressor or chain, e.g. dtd,holitom (default holitom when --budget is given; `vidtok methods`).")),
    "budget": (Optional[str], typer.Option(
        None, "--budget", "-B", rich_help_panel="Compression",
        help="Visual tokens to keep: 0.1, 10%, 500, 64/frame (default 0.1 when --method is given).")),
    "pre_keep": (Optional[float], typer.Option(
        None, "--pre-keep", min=0.01, max=1.0, rich_help_panel="Compression",
        help="Run the vision tower on only this fraction of the sampled frames, the most distinct ones "
             "(near-duplicates dropped before the tower: much faster on CPU). --budget stays a share of all frames. "
             "The same as --plan frames=F.")),
    "plan": (Optional[str], typer.Option(
        None, "--plan", rich_help_panel="Compression",
        help="Where --budget is met: auto (default: only the most distinct frames, 3x the budget's share, go through "
             "the vision tower and the method keeps the budget from them: several times sooner on a CPU), after "
             "(every frame through the tower, the method alone: the methods' own setting), frames=F (F of the "
             "frames through the tower), pixels=P (each frame at P of its pixels, Qwen2.5-VL's own resize), "
             "tower=T (Qwen2.5-VL's tower merges the least-changed units after its first full-attention block: T of "
             "them go on through its later blocks); join them: frames=F,pixels=P,tower=T.")),
}
INPUT_FLAGS = {
    "frames": (Optional[int], typer.Option(
        None, "--frames", min=1, rich_help_panel="Input",
        help="Frames the model's sampler takes (Qwen: qwen-vl-utils' nframes, rounded to pairs; LLaVA: its count; "
             "SmolVLM2: a cap). Default: the model's own rule.")),
    "max_pixels": (Optional[int], typer.Option(
        None, "--max-pixels", min=1, rich_help_panel="Input",
        help="The most pixels a frame keeps (Qwen2.5-VL: its processor's own resize to this cap, as "
             "qwen-vl-utils' max_pixels; fewer visual tokens). Default: the checkpoint's cap.")),
    "fps": (Optional[float], typer.Option(
        None, "--fps", rich_help_panel="Input",
        help="Frames per second the model's sampler takes (Qwen 2, SmolVLM2 1 by default; LLaVA counts frames).")),
    "subtitles": (Optional[str], typer.Option(
        None, "--subtitles", rich_help_panel="Input",
        help="auto (the video's own text stream, else a .srt/.vtt beside it) or a subtitle file: the lines of the "
             "frames still shown go before the question, with their times.")),
}
ANSWERING_FLAGS = {**MODEL_FLAGS, **GENERATION_FLAGS, **COMPRESSION_FLAGS, **INPUT_FLAGS}


def resolve_config(*args, **kw):
    """The recipe with the flags on top (``vidtok.config.resolve``; pydantic loads here,
    when a command runs)."""
    from vidtok.config import resolve

    return resolve(*args, **kw)


def _add_flags(fn, flags: dict, pack, passed: tuple = ()):
    """``fn`` with the options ``flags`` ({name: (annotation, option)}) added to its
    signature; when the command runs they are taken out and handed to ``fn`` by
    ``pack(values) -> {parameter: value}``. ``passed``: names of ``fn``'s own parameters
    that the wrapper fills (removed from the signature typer reads)."""
    import functools
    import inspect

    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name not in passed]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=ann)
             for name, (ann, opt) in flags.items()]

    @functools.wraps(fn)
    def command(*args, **kw):
        return fn(*args, **pack({name: kw.pop(name) for name in flags}), **kw)

    command.__signature__ = sig.replace(parameters=[*own, *extra])
    command.__annotations__ = {**{p.name: p.annotation for p in own}, **{n: a for n, (a, _) in flags.items()}}
    del command.__wrapped__  # typer reads the signature above, not the wrapped function's
    return command


def decoding(strict: bool = True, pipeline: bool = False):
    """Give a command the options every decoding command shares (``--backend``, ``--stream``,
    ``--timeout``, ``--allow-truncated``, and ``--strict`` where it hands out frames) as one
    checked ``decode: DecodeOptions`` argument, and with ``pipeline`` the ``--recipe`` and
    ``-o`` of the commands that compress or select (passed on as ``recipe``, ``option``)."""
    packed = {"backend": (Optional[str], BackendOpt), "stream": (Optional[int], StreamOpt),
              "timeout": (float, TimeoutOpt), "allow_truncated": (bool, TruncOpt)}
    if strict:
        packed["strict"] = (bool, StrictOpt)
    passed = {"recipe": (Optional[str], RecipeOpt), "option": (Optional[list[str]], OptionsOpt)} if pipeline else {}

    def pack(values: dict) -> dict:
        from vidtok.config import DecodeOptions  # pydantic: when a command runs, not at start

        return {**{n: values[n] for n in passed}, "decode": DecodeOptions.of(**{n: values[n] for n in packed})}

    return lambda fn: _add_flags(fn, {**passed, **packed}, pack, ("decode", *passed))


def answering(fn):
    """Give a command that loads a video LLM every model, generation and compression flag
    (``ANSWERING_FLAGS``), passed on as one ``flags`` dict of those given (for
    ``resolve_config``): the same flags, with one meaning, on every such command."""
    return _add_flags(fn, ANSWERING_FLAGS,
                      lambda values: {"flags": {k: v for k, v in values.items() if v not in (None, [])}}, ("flags",))
