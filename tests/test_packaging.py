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
