"""The listing commands: what vidtok can use (``methods``, ``models``, ``recipes``) and the
cache. Each reads registries and sources only, so none imports torch or builds a model."""

from __future__ import annotations

import typer

from vidtok import commands

from . import render
from .app import JsonOpt, app

@app.command()
def models(as_json: bool = JsonOpt) -> None:
    """List the supported model families and the random test models (no model is loaded)."""
    result = commands.models()
    render.json_or(result, as_json) or render.models(result)


@app.command()
def recipes(as_json: bool = JsonOpt) -> None:
    """List the named presets usable with --recipe."""
    rows = commands.recipes()
    render.json_or(rows, as_json) or render.recipes(rows)


cache_app = typer.Typer(help="The visual-token cache (a second question on a video skips decoding).")
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info(as_json: bool = JsonOpt) -> None:
    """Where the cache is and how big."""
    from vidtok import cache as c

    d = c.info()
    render.json_or(d, as_json) or render.out.print(f"{d['dir']}: {render.n(d['entries'], 'entry', 'entries')}, "
                                                   f"{d['bytes'] / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached entry."""
    from vidtok import cache as c

    render.out.print(f"removed {render.n(c.clear(), 'entry', 'entries')}")


@app.command()
def methods(as_json: bool = JsonOpt) -> None:
    """List every registered component: decoders, samplers, selectors, compressors, encoders.

    Read from the registries and the components' sources: nothing is imported or built, so
    "available" means installed (decoders: their library is found; compressors: torch is).
    """
    rows = commands.methods()
    render.json_or(rows, as_json) or render.methods(rows)
