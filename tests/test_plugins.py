"""A new model family and a new compressor are each one file, registered through an entry
point: the family is then loaded by its model_type from a checkpoint's config.json, the
compressor is listed, takes its own -o options, and runs in a chain, as built-ins do."""

import json
import os
import subprocess
import sys
import textwrap

from .conftest import SAMPLES

PLUGIN = textwrap.dedent('''
    """A vidtok plugin: one video-LLM family and one compressor."""
    from vidtok.models.base import VideoLLM


    class TinyFamily(VideoLLM):
        """A family only this test knows (checkpoints with model_type "tiny_family")."""

        family = "tiny_family"
        model_types = ("tiny_family",)

        def __init__(self, model_id, spec):
            self.model_id, self.spec = model_id, spec

        # the three things every family implements (not exercised here)
        def encode(self, frames, times, ends, fps):
            raise NotImplementedError

        def inputs(self, tokens, dialogue):
            raise NotImplementedError

        def step_positions(self, *a):
            raise NotImplementedError

        @classmethod
        def pretrained(cls, model_id, device="cpu", spec="", dtype=None):
            return cls(model_id, spec)


    def every_first(ts, budget, query=None, offset: int = 0):
        """Whole frames evenly spaced (a plugin compressor; offset is its own option)."""
        from vidtok.compress.baselines import uniform

        assert offset == 3, offset  # the -o value arrived, typed
        return uniform(ts, budget, query)
''')


def _plugin_env(tmp_path):
    site = tmp_path / "site"
    (site / "vidtok_tiny_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "vidtok_tiny_plugin.py").write_text(PLUGIN)
    dist = site / "vidtok_tiny_plugin-0.1.dist-info"
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vidtok-tiny-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[vidtok.models]\ntiny_family = vidtok_tiny_plugin:TinyFamily\n\n"
                                           "[vidtok.compressors]\nevery_first = vidtok_tiny_plugin:every_first\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def _run(code, env):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_a_plugin_family_loads_by_its_model_type(tmp_path):
    env = _plugin_env(tmp_path)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "tiny_family", "hidden_size": 8}))
    out = _run(f"from vidtok.models.loading import load_model; m = load_model({str(ckpt)!r}); "
               f"print(type(m).__name__, m.model_id == {str(ckpt)!r})", env)
    assert out == "TinyFamily True"
    out = _run("from vidtok.commands import models; print([f['family'] for f in models()['families']])", env)
    assert "tiny_family" in out
    # without the plugin the same checkpoint is a clear usage error
    code = (f"from vidtok.models.loading import load_model\ntry:\n    load_model({str(ckpt)!r})\n"
            "except Exception as e:\n    print(type(e).__name__, 'tiny_family' in str(e))")
    assert _run(code, {k: v for k, v in env.items() if k != "PYTHONPATH"}) == "UsageError True"


def test_a_plugin_compressor_is_listed_takes_options_and_chains(tmp_path):
    env = _plugin_env(tmp_path)
    video = str(SAMPLES / "synthetic_cuts.mp4")
    code = ("import json, sys; from vidtok.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n")
    r = subprocess.run([sys.executable, "-c", code, "methods", "--json"], capture_output=True, text=True, env=env,
                       timeout=300)
    rows = {(x["kind"], x["name"]): x for x in json.loads(r.stdout)}
    assert rows[("compressor", "every_first")]["options"] == {"offset": 0}
    assert "plugin compressor" in rows[("compressor", "every_first")]["description"]
    r = subprocess.run([sys.executable, "-c", code, "compress", video, "-m", "dtd,every_first", "-o", "offset=3",
                        "-n", "4", "--size", "32", "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["methods"] == ["dtd", "every_first"] and d["tokens_out"] == round(0.1 * d["tokens_in"])
