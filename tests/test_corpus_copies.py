"""tests/data/corpus: the subset of the real-file corpus a plain clone carries, and how the
``corpus`` fixture finds a file there first, then in ../shared/corpus."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import CORPUS, DATA_CORPUS, Corpus

#: The most the copies (with their MANIFEST and licences) may weigh: a clone stays small.
MOST_BYTES = 5_000_000


def _copies() -> list[Path]:
    files = [p for p in DATA_CORPUS.rglob("*") if p.is_file() and "LICENSES" not in p.parts]
    return sorted(p for p in files if p.name != "MANIFEST.md")


def _manifest_rows(text: str) -> dict[str, str]:
    """The file rows of a corpus MANIFEST.md by relative path (section folder + first cell)."""
    rows, section = {}, None
    for line in text.splitlines():
        heading = re.match(r"## (\S+)/ ", line)
        if heading:
            section = heading.group(1)
        elif section and line.startswith("| `"):
            rows[f"{section}/{line.split('`')[1]}"] = line
    return rows


def test_every_copy_is_listed_with_its_size_and_the_whole_is_small():
    rows = _manifest_rows((DATA_CORPUS / "MANIFEST.md").read_text(encoding="utf-8"))
    copies = {p.relative_to(DATA_CORPUS).as_posix(): p for p in _copies()}
    assert copies and sorted(copies) == sorted(rows)
    for name, path in copies.items():
        assert f"| {path.stat().st_size:,} |" in rows[name], name
    assert sum(p.stat().st_size for p in DATA_CORPUS.rglob("*") if p.is_file()) < MOST_BYTES
    assert (DATA_CORPUS / "LICENSES" / "libtiff-LICENSE.md").is_file()  # kept with libtiff's files


def test_copies_rows_and_licences_are_those_of_the_shared_corpus():
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.skip("the shared corpus (../shared/corpus) is not beside this checkout")
    shared_rows = _manifest_rows((CORPUS / "MANIFEST.md").read_text(encoding="utf-8"))
    for name, row in _manifest_rows((DATA_CORPUS / "MANIFEST.md").read_text(encoding="utf-8")).items():
        assert shared_rows[name] == row, name
    for path in [*_copies(), *(DATA_CORPUS / "LICENSES").iterdir()]:
        relative = path.relative_to(DATA_CORPUS)
        assert path.read_bytes() == (CORPUS / relative).read_bytes(), relative


@pytest.fixture
def two_corpora(tmp_path: Path) -> tuple[Path, Path]:
    """A local subset holding a/x.tif and a shared corpus holding a/x.tif and a/y.tif."""
    local, shared = tmp_path / "local", tmp_path / "shared"
    for root, names in ((local, ["x.tif"]), (shared, ["x.tif", "y.tif"])):
        (root / "a").mkdir(parents=True)
        for name in names:
            (root / "a" / name).write_text(f"{root.name} {name}")
    return local, shared


def test_the_local_copy_comes_first_then_the_shared_corpus(two_corpora):
    local, shared = two_corpora
    corpus = Corpus(local, shared)
    assert corpus / "a/x.tif" == corpus / "a" / "x.tif" == local / "a" / "x.tif"
    assert corpus / "a/y.tif" == corpus / "a" / "y.tif" == shared / "a" / "y.tif"
    assert corpus / "a/none.tif" == shared / "a" / "none.tif"  # missing: the test fails where it opens it
    assert [p.read_text() for p in corpus.rglob("*.tif")] == ["local x.tif", "shared y.tif"]
    assert os.fspath(corpus / "a") == str(corpus / "a") == str(shared / "a")


def test_without_the_shared_corpus_only_what_it_alone_holds_is_skipped(two_corpora):
    local, _ = two_corpora
    corpus = Corpus(local, None)
    assert corpus / "a" / "x.tif" == local / "a" / "x.tif"
    assert list(corpus.rglob("*")) == [local / "a", local / "a" / "x.tif"]
    with pytest.raises(pytest.skip.Exception, match="a/y.tif is not in tests/data/corpus"):
        corpus / "a" / "y.tif"
    with pytest.raises(pytest.skip.Exception, match="needs the whole shared corpus"):
        os.fspath(corpus)
