"""Video-LLM adapters, one file per family. The registry lives here, apart from ``base.py``
(torch, transformers), so listing families and checking ``-m`` import neither. Each
adapter declares the hub ``model_type`` values it loads (``VideoLLM.model_types``); a
plugin family registers under the entry-point group ``vidtok.models`` and is then loaded
from a checkpoint like a built-in one."""

from ..registry import Registry

MODELS: Registry[type] = Registry(
    "models",
    {
        "qwen2_5_vl": "vidtok.models.qwen2_5_vl:Qwen25VLAdapter",
        "llava_onevision": "vidtok.models.llava_onevision:LlavaOneVisionAdapter",
        "qwen3_vl": "vidtok.models.qwen3_vl:Qwen3VLAdapter",
        "smolvlm2": "vidtok.models.smolvlm2:SmolVLM2Adapter",
    },
)

__all__ = ["MODELS"]
