"""What each ``vidtok`` subcommand does, as library calls: options in, the result dict that
``--json`` prints out. The CLI only parses flags into these calls, draws progress, renders
the results and maps errors to exit codes; Python users call the same functions.

Every command that decodes opens its video once (``DecodeOptions.open``: a bad file fails
there), checks its options (``vidtok.checks``) before anything heavy loads, hands the opened
``Video`` to its task, and reports damaged data in ``result["damage"]`` (an error with
``strict``). Files a command writes (frames, ``frames.json``, contact sheets, merge maps,
HTML reports) are written here, not in the CLI.
"""

from .answering import ask, chat, evaluate, ground, load_model
from .folders import BATCH_TASKS, batch, search
from .frames import compress, info, keyframes, parse_size, sample
from .listing import methods, models, recipes

__all__ = ["BATCH_TASKS", "ask", "batch", "chat", "compress", "evaluate", "ground", "info", "keyframes", "load_model",
           "methods", "models", "parse_size", "recipes", "sample", "search"]
