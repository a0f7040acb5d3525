"""The typer app every command registers on, and the options commands share."""

from __future__ import annotations

import typer

from vidtok import __version__
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
