"""Every default a user meets, in one place (no heavy imports: the CLI reads these at start).

Change a default here and every command, task, batch runner and help text follows."""

#: the video LLM ``ask``, ``ground``, ``eval`` and ``batch`` load without ``-m``
DEFAULT_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"
#: the compressor used when a budget is given without ``--method``
DEFAULT_METHOD = "holitom"
#: the budget used when a method is given without ``--budget``
DEFAULT_BUDGET = "0.1"
#: the image-text encoder of query-aware selection, ``ground --via embed`` and ``search``
#: (open_clip's ViT-B-32 on LAION-2B, downloaded from the Hugging Face hub once)
DEFAULT_TEXT_ENCODER = "open_clip:ViT-B-32/laion2b_s34b_b79k"
