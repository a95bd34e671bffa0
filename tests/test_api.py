"""The public Python API: what `import chanmix` offers, and the README's Python examples."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import chanmix

ROOT = Path(__file__).resolve().parents[1]


def test_dir_lists_the_public_api_and_nothing_else():
    assert dir(chanmix) == sorted(chanmix.__all__)
    assert not [name for name in dir(chanmix) if name.startswith("_") and name != "__version__"]
    for leaked in ("annotations", "importlib", "Any"):
        assert leaked not in dir(chanmix)


@pytest.mark.parametrize("name", [n for n in chanmix.__all__ if n != "__version__"])
def test_every_public_name_resolves_and_is_documented(name):
    value = getattr(chanmix, name)
    if callable(value):
        assert (value.__doc__ or "").strip(), f"chanmix.{name} has no docstring"


@pytest.mark.parametrize("internal", ["Plan", "compile_plan", "mix_block", "Mixer", "band_selection"])
def test_kernel_internals_stay_in_submodules(internal):
    assert internal not in chanmix.__all__
    with pytest.raises(AttributeError, match=internal):
        getattr(chanmix, internal)


def _python_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_has_python_examples():
    assert len(_python_examples()) >= 2


@pytest.mark.parametrize("number", range(len(_python_examples())))
def test_readme_python_example_runs(number, tmp_path, monkeypatch, capsys):
    example = _python_examples()[number]
    if re.search(r"^import chanmix\.(dask|xarray)$", example, re.M):  # the dask extra's examples
        for module in ("dask", "xarray", *re.findall(r"^import (rioxarray)\b", example, re.M)):
            pytest.importorskip(module)
    shutil.copytree(ROOT / "sample_images", tmp_path / "sample_images")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, f"README.md Python example {number + 1}", "exec"), {})
