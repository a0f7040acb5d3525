"""``vidtok chat``: the conversation loop over ``vidtok.tasks.chat.Conversation``: reads
questions (and /commands) from the terminal, or line by line from stdin when it is not
one, and renders each turn."""

from __future__ import annotations

import json
import sys

from vidtok import commands
from vidtok.errors import UsageError, VidtokError

from . import render
from .app import JsonOpt, NoCacheOpt, VideoArg, answering, app, decoding, resolve_config

HELP = ("/budget X (e.g. 0.1, 500, none)  /method M  /frames  /reset  /save FILE  /quit  "
        "(anything else is a question)")


@app.command()
@decoding(pipeline=True)
@answering
def chat(
    video: str = VideoArg,
    no_cache: bool = NoCacheOpt,
    as_json: bool = JsonOpt,
    decode=None, recipe=None, option=None, flags=None,  # from @decoding, @answering: shared flags declared once
) -> None:
    """Talk with a video LLM about one video: the video is decoded, encoded and compressed
    once, and every question after the first computes only its own tokens (the answer so
    far stays in the model's KV cache).

    Inside: /budget X, /method M, /frames, /reset, /save FILE, /quit. Questions come from
    the terminal, or one per line from stdin when it is not a terminal; with --json each
    turn is one JSON line (answer, tokens, timings).

    Examples:
      [bold]vidtok chat talk.mp4 -m Qwen/Qwen2.5-VL-3B-Instruct --budget 0.1[/bold]
      [bold]printf 'What is on the slide?\\nWho speaks?\\n' | vidtok chat talk.mp4 --json[/bold]
    """
    cfg = resolve_config(recipe, option, **flags)
    c = commands.chat(video, cfg=cfg, decode=decode, use_cache=not no_cache,
                      status=render.status(as_json))
    render.damage({"video": video, "damage": c.damage})
    interactive = sys.stdin.isatty()
    if interactive and not as_json:
        f = c.frames()
        render.line(f"{f['visual_tokens_after']} visual tokens from {render.n(len(f['frames']), 'frame')}. {HELP}")
    try:
        for line in _lines(interactive, as_json):
            text = line.strip()
            if not text:
                continue
            if text.startswith("/"):
                if not _command(c, text, as_json):
                    break
                continue
            on_text = render.streaming(as_json)
            try:
                turn = c.ask(text, on_text=on_text)
            except VidtokError as e:  # one line; the conversation goes on
                _say_error(str(e), as_json)
                continue
            _show_turn(turn, as_json, streamed=on_text is not None)
    finally:
        c.flush()  # the token cache, if no answer wrote it


def _lines(interactive: bool, as_json: bool = False):
    """Questions and /commands, one per line; a line that is not UTF-8 text is reported
    and skipped, never the end of the session."""
    if not interactive:
        source = getattr(sys.stdin, "buffer", None)  # bytes, so one bad line fails alone
        for n, raw in enumerate(sys.stdin if source is None else source, 1):
            try:
                yield raw if isinstance(raw, str) else raw.decode("utf-8")
            except UnicodeDecodeError:
                _say_error(f"line {n} is not UTF-8 text; skipped", as_json)
        return
    while True:
        try:
            yield render.out.input("[bold]you>[/bold] ")
        except UnicodeDecodeError:
            _say_error("that line is not UTF-8 text; skipped", as_json)
        except (EOFError, KeyboardInterrupt):
            render.out.print()
            return


def _say_error(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False), flush=True)
    else:
        render.line(f"vidtok: error: {message}")


def _command(c, text: str, as_json: bool) -> bool:
    """Run one /command; False ends the conversation."""
    name, _, arg = text.partition(" ")
    arg = arg.strip()
    try:
        if name in ("/quit", "/exit"):
            return False
        if name == "/budget" and arg:
            c.set_budget(arg)
            result = c.frames()
        elif name == "/method" and arg:
            c.set_method(arg)
            result = c.frames()
        elif name == "/frames":
            result = c.frames()
        elif name == "/reset":
            c.reset()
            result = {"reset": True}
        elif name == "/save" and arg:
            result = {"saved": str(c.save(arg))}
        else:
            raise UsageError(f"unknown command '{text}': {HELP}")
    except VidtokError as e:  # a bad /budget or /method: say so, keep talking
        result = {"error": str(e)}
    if as_json:
        print(json.dumps({"command": name, **result}), flush=True)
    elif "error" in result:
        render.line(f"vidtok: error: {result['error']}")
    elif "frames" in result:
        render.line(f"{result['visual_tokens_after']} of {result['visual_tokens_before']} visual tokens "
                    f"(method {result['method'] or 'none'}, budget {result['budget'] or 'none'}), "
                    f"{render.n(len(result['frames']), 'frame')}")
    else:
        render.line(", ".join(f"{k}: {v}" for k, v in result.items()))
    return True


def _show_turn(turn: dict, as_json: bool, streamed: bool) -> None:
    if as_json:
        print(json.dumps({k: v for k, v in turn.items() if k not in ("ids", "asked")}, ensure_ascii=False), flush=True)
        return
    render.answer(turn["answer"], streamed)
    render.line(f"{turn['new_tokens']} tokens, prefill {turn['prefill_tokens']} of {turn['sequence_length']} "
                f"in {turn['seconds']['prefill']:.2f}s, decode {turn['seconds']['decode']:.2f}s")
