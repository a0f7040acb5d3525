"""Tasks: ask (question answering) and ground (when does it happen), end to end."""
