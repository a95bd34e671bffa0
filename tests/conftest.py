"""Shared fixtures: the real-file corpus beside the checkout, sample images, a CLI runner."""

from __future__ import annotations

import warnings
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
    """The chanmix command line through Click's CliRunner: ``run("apply", path, ...)``.

    Arguments are passed as strings; keywords (``input=...``) go to ``CliRunner.invoke``.
    Exceptions propagate: a traceback fails the test instead of becoming exit code 1.
    """
    from chanmix.cli.main import cli

    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.fixture
def quiet_rasterio():
    """rasterio's NotGeoreferencedWarning ignored (plain test TIFFs have no georeferencing).

    Used by a test module with ``pytestmark = pytest.mark.usefixtures("quiet_rasterio")``.
    """
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        yield
