"""Shared fixtures: the real-file corpus beside the checkout, sample images, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The folder of real third-party TIFFs (../shared/corpus); skips the test when absent."""
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.skip("the shared corpus (../shared/corpus) is not beside this checkout")
    return CORPUS


@pytest.fixture(scope="session")
def samples() -> Path:
    """The project's own sample images."""
    return SAMPLES


@pytest.fixture
def run():
    """The chanmix command line through Click's CliRunner: ``run("apply", path, ...)``."""
    from chanmix.cli.main import cli

    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
