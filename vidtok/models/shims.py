"""transformers' KV-cache naming across the 5.x releases vidtok supports (``llm`` extra)."""

from __future__ import annotations


def cache_arg(forward, cache) -> dict:
    """The KV cache as ``forward`` takes it: transformers renamed ``past_key_values`` to
    ``cache`` (the old name warns, and goes in 5.40); older 5.x releases know only the old one."""
    import inspect

    return {"cache" if "cache" in inspect.signature(forward).parameters else "past_key_values": cache}


def cache_of(out):
    """The KV cache of a model (or ``generate``) output, under whichever name this
    transformers gives it."""
    return out["cache"] if "cache" in out else out.get("past_key_values")
