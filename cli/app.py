"""The typer app every command registers on, and the options commands share."""

from __future__ import annotations

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


PreKeepOpt = typer.Option(
    None, "--pre-keep", min=0.01, max=1.0,
    help="Run the vision tower on only this fraction of the sampled frames, the most distinct ones "
         "(near-duplicates dropped before the tower: much faster on CPU). --budget stays a share of all frames.")
ModelOpt = typer.Option(None, "--model", "-m",
                        help=f"Hub id or local checkpoint directory (default {DEFAULT_MODEL}; a hub id not yet in the "
                             "Hugging Face cache is downloaded first, and offline that is exit 8 at once), "
                             "or random:<family>-tiny (no weights).")
VideoArg = typer.Argument(..., help="Video file.", show_default=False)
MethodOpt = typer.Option(None, "--method", help="Compressor or chain, e.g. dtd,holitom (default holitom when --budget "
                                                  "is given; `vidtok methods`).")
BudgetOpt = typer.Option(None, "--budget", "-B", help="Visual tokens to keep: 0.1, 10%, 500, 64/frame (default 0.1 "
                                                      "when --method is given).")
DeviceOpt = typer.Option(None, "--device", help="cuda, mps or cpu (default: the best available).")
DtypeOpt = typer.Option(None, "--dtype", help="Model weights' dtype: float32, bfloat16 or float16 (default: the "
                                              "checkpoint's own, except float32 for a half-precision checkpoint on a "
                                              "CPU without bfloat16 units, where it runs 4-5x faster; float32 for "
                                              "random: models).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Do not read or write the cache (visual tokens, selections).")
MaxNewTokensOpt = typer.Option(None, "--max-new-tokens", min=1, help="Longest answer in tokens (64).")


def resolve_config(*args, **kw):
    """The recipe with the flags on top (``vidtok.config.resolve``; pydantic loads here,
    when a command runs)."""
    from vidtok.config import resolve

    return resolve(*args, **kw)


def decoding(strict: bool = True, pipeline: bool = False):
    """Give a command the options every decoding command shares (``--backend``, ``--stream``,
    ``--timeout``, ``--allow-truncated``, and ``--strict`` where it hands out frames) as one
    checked ``decode: DecodeOptions`` argument, and with ``pipeline`` the ``--recipe`` and
    ``-o`` of the commands that compress or select (passed on as ``recipe``, ``option``):
    the flags are declared once, here."""
    import functools
    import inspect
    from typing import Optional

    packed = {"backend": (Optional[str], BackendOpt), "stream": (Optional[int], StreamOpt),
              "timeout": (float, TimeoutOpt), "allow_truncated": (bool, TruncOpt)}
    if strict:
        packed["strict"] = (bool, StrictOpt)
    passed = {"recipe": (Optional[str], RecipeOpt), "option": (Optional[list[str]], OptionsOpt)} if pipeline else {}

    def wrap(fn):
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name not in ("decode", *passed)]
        added = {**passed, **packed}
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=ann)
                 for name, (ann, opt) in added.items()]

        @functools.wraps(fn)
        def command(*args, **kw):
            from vidtok.config import DecodeOptions  # pydantic: when a command runs, not at start

            return fn(*args, decode=DecodeOptions.of(**{name: kw.pop(name) for name in packed}), **kw)

        command.__signature__ = sig.replace(parameters=[*own, *extra])
        command.__annotations__ = {**{p.name: p.annotation for p in own}, **{n: a for n, (a, _) in added.items()}}
        del command.__wrapped__  # typer reads the signature above, not the wrapped function's
        return command

    return wrap


def generating(fn):
    """Give a command that answers with a model the generation and model-input flags
    (``--temperature``, ``--top-p``, ``--top-k``, ``--seed``, ``--stop``, ``--system``,
    ``--compile``, ``--resize``), passed on as one ``gen`` dict of the flags given: declared once, here."""
    import functools
    import inspect
    from typing import Optional

    flags = {
        "temperature": (Optional[float], typer.Option(
            None, "--temperature", min=0.0, help="Sample with this temperature (default: greedy, the same answer "
                                                  "every time).", rich_help_panel="Generation")),
        "top_p": (Optional[float], typer.Option(
            None, "--top-p", min=0.0, max=1.0, help="Sample from the smallest set of tokens holding this "
                                                    "probability.", rich_help_panel="Generation")),
        "top_k": (Optional[int], typer.Option(None, "--top-k", min=1, help="Sample among the k likeliest tokens.",
                                              rich_help_panel="Generation")),
        "seed": (Optional[int], typer.Option(None, "--seed", help="Seed for sampling: the same seed, the same answer.",
                                             rich_help_panel="Generation")),
        "stop": (Optional[list[str]], typer.Option(None, "--stop", help="End the answer before this text "
                                                                          "(repeatable).", rich_help_panel="Generation")),
        "system": (Optional[str], typer.Option(None, "--system", help="System prompt, placed by the model's own chat "
                                                                       "template.", rich_help_panel="Generation")),
        "compile": (Optional[bool], typer.Option(
            None, "--compile/--no-compile", help="Decode through a static KV cache and a torch.compile'd step (CUDA "
                                                 "graphs on a GPU): faster tokens after a one-time compile per "
                                                 "process, so it pays in chat and batch. Default: off.",
            rich_help_panel="Generation")),
        "resize": (Optional[str], typer.Option(
            None, "--resize", help="Who resizes frames for the model: 'model' (its own processor, from frames "
                                   "decoded at full size: the model's own pixels; default) or 'decoder' (FFmpeg "
                                   "while decoding: less memory and time, pixels differ slightly).")),
    }

    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "gen"]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=ann)
             for name, (ann, opt) in flags.items()]

    @functools.wraps(fn)
    def command(*args, **kw):
        gen = {name: kw.pop(name) for name in flags}
        return fn(*args, gen={k: v for k, v in gen.items() if v not in (None, [])}, **kw)

    command.__signature__ = sig.replace(parameters=[*own, *extra])
    command.__annotations__ = {**{p.name: p.annotation for p in own}, **{n: a for n, (a, _) in flags.items()}}
    del command.__wrapped__
    return command
