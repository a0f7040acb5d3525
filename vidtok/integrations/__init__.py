"""vidtok inside other tools (their own plugin interfaces)."""
