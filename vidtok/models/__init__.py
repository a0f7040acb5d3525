"""Video-LLM adapters, one file per family. The registry lives here, apart from ``base.py``
(torch, transformers), so listing families and checking ``-m`` import neither."""

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

#: hub model_type -> family
MODEL_TYPES = {"qwen2_5_vl": "qwen2_5_vl", "llava_onevision": "llava_onevision", "qwen3_vl": "qwen3_vl",
               "smolvlm": "smolvlm2"}

__all__ = ["MODELS", "MODEL_TYPES"]
