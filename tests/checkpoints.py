"""Hub-layout checkpoint directories written offline, one per model family: what
``hf download <repo>`` leaves on disk, at tiny dimensions with random weights.

Each directory holds ``config.json`` (the family's real config class), ``generation_config.json``
(the family's eos ids), the processor's own ``save_pretrained`` output (image and video
processor configs, chat template), a real fast tokenizer (``tokenizer.json``: a small
byte-level BPE trained here with the ``tokenizers`` library, the family's special tokens
added after it and the config pointing at their ids) and random weights as sharded
safetensors with an index. ``-m that/dir`` then takes exactly the code path of a hub id.

The chat templates are written here to produce the text each family's published template
produces for one user turn with a video (and system / assistant turns); they are not
copied from the hub.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    "What is happening in this video? Describe the scene, the people and what they do.",
    "A man is cooking in a kitchen; a dog runs across the street; the camera pans left.",
    "When does the person open the door? Answer with start and end times in seconds.",
    "The video shows a talk with slides, a whiteboard and a speaker who points at charts.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 15 20 30 45 60 seconds minutes frames from to and the",
] * 4

QWEN_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' and default_system %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

LLAVA_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }} "
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}<image>\n{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}<video>\n{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}\n{{ content['text'] }}"
    "{% endfor %}{% endif %}<|im_end|>{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'] is string %}: {{ message['content'] }}{% else %}"
    "{% if message['content'][0]['type'] in ('image', 'video') %}:{% else %}: {% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}<image>{% elif line['type'] == 'video' %}<video>{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]

FAMILIES = {
    "qwen2_5_vl": {"specials": QWEN_SPECIALS, "template": QWEN_TEMPLATE.replace("default_system", "true")},
    "qwen3_vl": {"specials": QWEN_SPECIALS, "template": QWEN_TEMPLATE.replace("default_system", "false")},
    "llava_onevision": {"specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"],
                        "template": LLAVA_TEMPLATE},
    "smolvlm2": {"specials": ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>",
                              "<global-img>", "<image>", "<video>"],
                 "template": SMOLVLM_TEMPLATE},
}


def train_tokenizer(specials: list[str], vocab_size: int = 384, texts=None, split_digits: bool = False):
    """A real fast tokenizer: byte-level BPE trained on ``texts`` (a few sentences by default),
    with ``specials`` added after the learned vocabulary (ids vocab, vocab + 1, ...);
    ``split_digits``: digits split first, as Qwen's tokenizer does (``vidtok``'s own recipe,
    ``models.prompting.train_bpe``)."""
    from vidtok.models.prompting import train_bpe

    return train_bpe(CORPUS if texts is None else texts, vocab_size, specials, split_digits=split_digits)


def _fast(tok, family: str):
    from transformers import PreTrainedTokenizerFast

    s = FAMILIES[family]["specials"]
    kw = {"eos_token": s[2] if family != "llava_onevision" else "<|im_end|>", "pad_token": "<|endoftext|>"}
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kw)


def write_checkpoint(family: str, path, shards: int = 2, seed: int = 0, dtype=None) -> Path:
    """Write a tiny random ``family`` checkpoint at ``path`` laid out as the hub lays it out
    (stored in ``dtype``, a torch dtype; float32 by default)."""
    import torch
    import transformers
    from transformers import GenerationConfig

    from vidtok.models import MODELS

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    spec = FAMILIES[family]
    raw = train_tokenizer(spec["specials"])
    tok = _fast(raw, family)
    ids = {t: tok.convert_tokens_to_ids(t) for t in spec["specials"]}
    vocab = len(tok)

    cls = MODELS.get(family)
    cfg_kw = json.loads(json.dumps(cls.sizes["tiny"]))  # a deep copy
    cfg_kw["text_config"]["vocab_size"] = vocab
    if family in ("qwen2_5_vl", "qwen3_vl"):
        cfg_kw.update(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                      vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
        cfg_kw["text_config"].update(bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"])
        eos = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    elif family == "llava_onevision":
        cfg_kw.update(image_token_id=ids["<image>"], video_token_id=ids["<video>"])
        eos = [ids["<|im_end|>"]]
    else:
        cfg_kw.update(image_token_id=ids["<image>"])
        cfg_kw["text_config"].update(bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<end_of_utterance>"],
                                     pad_token_id=ids["<|endoftext|>"])
        eos = [ids["<end_of_utterance>"]]
    cfg = getattr(transformers, cls.hf_config)(**cfg_kw)
    torch.manual_seed(seed)
    model = getattr(transformers, cls.hf_model)(cfg).eval()
    if dtype is not None:
        model = model.to(dtype)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=ids["<|endoftext|>"],
                                               bos_token_id=cfg_kw["text_config"].get("bos_token_id"))
    # sharded safetensors with an index, as large checkpoints are published
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    model.save_pretrained(path, max_shard_size=max(1, total // shards + 1))
    _processor(family, tok, cfg).save_pretrained(path)
    return path


def _processor(family: str, tok, cfg):
    import transformers

    template = FAMILIES[family]["template"]
    if family == "qwen2_5_vl":
        from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        return Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tok,
                                   video_processor=Qwen2VLVideoProcessor(), chat_template=template)
    if family == "qwen3_vl":
        from transformers import Qwen3VLProcessor, Qwen2VLImageProcessor
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

        return Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(patch_size=16),
                                tokenizer=tok, video_processor=Qwen3VLVideoProcessor(), chat_template=template)
    if family == "llava_onevision":
        s = cfg.vision_config.image_size
        ip = transformers.LlavaOnevisionImageProcessor(size={"height": s, "width": s})
        vp = transformers.LlavaOnevisionVideoProcessor(size={"height": s, "width": s})
        return transformers.LlavaOnevisionProcessor(image_processor=ip, tokenizer=tok, video_processor=vp,
                                                    chat_template=template,
                                                    num_image_tokens=(s // cfg.vision_config.patch_size) ** 2,
                                                    vision_feature_select_strategy=cfg.vision_feature_select_strategy)
    s = cfg.vision_config.image_size
    seq = (s // cfg.vision_config.patch_size) ** 2 // cfg.scale_factor ** 2
    ip = transformers.SmolVLMImageProcessor(size={"longest_edge": s}, max_image_size={"longest_edge": s})
    vp = transformers.SmolVLMVideoProcessor(size={"longest_edge": s}, max_image_size={"longest_edge": s})
    return transformers.SmolVLMProcessor(image_processor=ip, tokenizer=tok, video_processor=vp,
                                         chat_template=template, image_seq_len=seq)
