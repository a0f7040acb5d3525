"""vidtok as an lmms-eval model: lmms-eval's harness (its tasks, prompts, scoring, logging)
with vidtok answering, compression included.

    lmms-eval --model vidtok --model_args pretrained=Qwen/Qwen2.5-VL-3B-Instruct,method=holitom,budget=0.1 \\
        --tasks videomme

Registered under lmms-eval's entry-point group ``lmms_eval.models`` (``manifest``), so an
installed vidtok is found without ``LMMS_EVAL_PLUGINS``. ``model_args``: ``pretrained`` (any
``-m`` model string), ``method``, ``budget``, ``plan``, ``pre_keep``, ``frames``, ``fps``, ``device``,
``dtype``, ``resize``: the CLI's meanings. Each request's video is the first path the task's
``doc_to_visual`` gives; the answer is cut at the task's ``until`` strings. Only generation is
served (lmms-eval's generative tasks: the video ones vidtok targets)."""

from __future__ import annotations

from lmms_eval.api.model import lmms


class VidtokLMM(lmms):
    def __init__(self, pretrained: str | None = None, method: str | None = None, budget=None, pre_keep=None,
                 plan: str | None = None, frames=None, fps=None, device: str | None = None, dtype: str | None = None,
                 resize: str | None = None, **unused) -> None:
        super().__init__()
        from ..config import resolve
        from ..models.loading import load_configured

        flags = {"model": pretrained, "method": method, "budget": None if budget is None else str(budget),
                 "pre_keep": None if pre_keep is None else float(pre_keep), "plan": plan,
                 "frames": None if frames is None else int(frames), "fps": None if fps is None else float(fps),
                 "device": device, "dtype": dtype, "resize": resize}
        self.cfg = resolve(None, None, **flags)
        self.compression = self.cfg.compression
        self.model = load_configured(self.cfg)

    def generate_until(self, requests) -> list[str]:
        from ..tasks.ask import ask

        answers = []
        for request in requests:
            context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            visuals = doc_to_visual(self.task_dict[task][split][doc_id])
            video = next((v for v in visuals if isinstance(v, str)), None)
            if video is None:
                raise ValueError(f"vidtok answers about a video file; task {task} gave {type(visuals[0]).__name__}")
            r = ask(video, context, self.model, compression=self.compression,
                    max_new_tokens=int(gen_kwargs.get("max_new_tokens", 16)))
            answers.append(cut(r["answer"], gen_kwargs.get("until")))
        return answers

    def loglikelihood(self, requests):
        raise NotImplementedError("vidtok answers by generation: choose a generate_until task")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("vidtok answers one round per request")


def cut(text: str, until) -> str:
    """``text`` up to the first of the ``until`` strings (lmms-eval's stop sequences)."""
    for stop in [until] if isinstance(until, str) else (until or []):
        if stop and stop in text:
            text = text.split(stop)[0]
    return text


def manifest():
    """lmms-eval's entry point: the ``vidtok`` model."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id="vidtok", simple_class_path="vidtok.integrations.lmms_eval.VidtokLMM")
