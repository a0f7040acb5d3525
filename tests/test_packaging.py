"""The package installs as designed: vidtok.cli and vidtok.kernels, no top-level cli or kernels."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def listed_packages():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"packages = \[(.*?)\]", text, re.S).group(1)
    return set(re.findall(r'"([\w.]+)"', block))


def test_every_subpackage_is_listed():
    found = {"vidtok"} | {
        "vidtok." + ".".join(p.parent.relative_to(ROOT / "vidtok").parts)
        for p in (ROOT / "vidtok").rglob("__init__.py") if p.parent != ROOT / "vidtok"
    }
    found |= {"vidtok.cli", "vidtok.recipes"}
    assert found == listed_packages()


def test_wheel_maps_cli_and_kernels_under_vidtok(tmp_path):
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("setuptools not installed in this environment")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(tmp_path.glob("vidtok-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "vidtok/cli/main.py" in names and "vidtok/kernels/__init__.py" in names
    assert not any(n.startswith("cli/") or n.startswith("kernels/") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)


def test_the_checkout_shadows_no_dependency():
    """The repository root is on sys.path in tests and benchmarks: no top-level folder there
    may take the import name of a package vidtok or its dependencies import (a top-level
    `kernels/` once hid Hugging Face's `kernels`, which transformers >= 5.25 requires)."""
    import importlib.util

    top = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert "kernels" not in top
    spec = importlib.util.find_spec("kernels")
    assert spec is None or not str(spec.origin or "").startswith(str(ROOT) + "/kernels")


def _installed_top_level_names() -> set[str]:
    """Import names that installed distributions and the standard library provide."""
    import importlib.metadata

    return set(importlib.metadata.packages_distributions()) | set(sys.stdlib_module_names)


@pytest.mark.parametrize("folder", ["benchmarks", "tests", "sample_videos", "."])
def test_no_script_folder_shadows_an_installed_package(folder):
    """`python benchmarks/X.py` puts benchmarks/ first on sys.path: a module there named
    like an installed package hides it from everything the script imports (a
    benchmarks/kernels.py once hid Hugging Face's `kernels`, which transformers imports,
    and every model benchmark failed on a fresh install)."""
    d = ROOT / folder
    mine = {p.stem for p in d.glob("*.py")} | {p.name for p in d.iterdir() if (p / "__init__.py").exists()}
    # (some wheels wrongly install a top-level `tests`; nothing imports it, ours wins in pytest)
    mine -= {"__init__", "conftest", "setup", "vidtok", "tests"}
    assert not (mine & _installed_top_level_names()), f"{folder}/ shadows {sorted(mine & _installed_top_level_names())}"


def test_benchmark_scripts_import_their_dependencies_as_run():
    """Imports as `python benchmarks/e2e.py` runs them (its folder first on sys.path): the
    model stack, with every module of transformers' that reaches an optional package."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import transformers, kernels; from transformers import Qwen2_5_VLForConditionalGeneration; "
            "import vidtok.models.base; print(kernels.__file__)")
    pytest.importorskip("transformers")
    pytest.importorskip("kernels")
    r = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks")], capture_output=True, text=True,
                       cwd=ROOT / "benchmarks")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "-packages" in r.stdout, r.stdout


def test_an_import_that_fails_for_another_reason_is_named(tmp_path, monkeypatch):
    """A shadowed or broken package is reported as such (exit 1), not as "pip install it" (exit 6)."""
    from vidtok.errors import MissingDependencyError, VidtokError, import_failure

    (tmp_path / "kernels.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kernels", raising=False)
    try:
        from kernels import get_kernel  # noqa: F401
    except ImportError as e:
        err = import_failure(e, "models need pip install 'vidtok[llm]'")
    assert type(err) is VidtokError and err.exit_code == 1
    assert "shadows" in err.problem and str(tmp_path / "kernels.py") in err.problem
    try:
        import vidtok_no_such_package  # noqa: F401
    except ImportError as e:
        err = import_failure(e, "needs pip install 'vidtok[x]'")
    assert isinstance(err, MissingDependencyError) and "pip install 'vidtok[x]'" in err.problem
