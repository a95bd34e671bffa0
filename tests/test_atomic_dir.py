"""A folder output (a Zarr store) appears complete under its name or not at all; an existing
one is replaced only when the caller's check accepts it, and never left half replaced."""

from __future__ import annotations

import os

import pytest

from chanmix.errors import DataError
from chanmix.io import atomic, atomic_dir
from chanmix.io.atomic import Outputs, abandon_outputs
from chanmix.io.atomic_dir import atomic_directory


def a_store(target) -> None:
    if not (target / "zarr.json").is_file():
        raise DataError(f"{target}: not a store")


def tree(folder) -> dict[str, bytes]:
    return {
        os.path.relpath(os.path.join(root, name), folder): open(os.path.join(root, name), "rb").read()
        for root, _, names in os.walk(folder)
        for name in names
    }


def fill(folder, text: bytes) -> None:
    os.mkdir(os.path.join(folder, "band_data"))
    with open(os.path.join(folder, "zarr.json"), "wb") as file:
        file.write(text)
    with open(os.path.join(folder, "band_data", "0"), "wb") as file:
        file.write(text * 3)


@pytest.fixture(params=["renameat2", "rename aside"])
def how(request, monkeypatch):
    """Both ways of replacing a folder: Linux's exchange, and renaming the old one aside."""
    if request.param == "rename aside":
        monkeypatch.setattr(atomic_dir, "_renameat2", lambda old, new, flags: False)
    return request.param


def test_a_new_folder_appears_complete(tmp_path, how):
    with atomic_directory(tmp_path / "out.zarr", check=a_store) as folder:
        assert os.path.basename(folder).startswith(".out.zarr.") and folder.endswith(".part")
        fill(folder, b"new")
        assert not (tmp_path / "out.zarr").exists()
    assert os.listdir(tmp_path) == ["out.zarr"]
    assert tree(tmp_path / "out.zarr") == {"zarr.json": b"new", "band_data/0": b"newnewnew"}


def test_an_existing_store_is_replaced_whole(tmp_path, how):
    (tmp_path / "out.zarr").mkdir()
    fill(tmp_path / "out.zarr", b"old")
    (tmp_path / "out.zarr" / "stale").write_bytes(b"only in the old one")
    with atomic_directory(f"{tmp_path / 'out.zarr'}/", check=a_store) as folder:
        fill(folder, b"new")
    assert os.listdir(tmp_path) == ["out.zarr"]
    assert tree(tmp_path / "out.zarr") == {"zarr.json": b"new", "band_data/0": b"newnewnew"}
    assert not atomic._REGISTRY.names


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_target_the_check_refuses_is_left_as_it_was(tmp_path, how, kind):
    target = tmp_path / "out.zarr"
    if kind == "folder":
        target.mkdir()
        (target / "notes.txt").write_bytes(b"mine")
    else:
        target.write_bytes(b"mine")
    with pytest.raises(DataError, match="not a store"):
        with atomic_directory(target, check=a_store) as folder:
            fill(folder, b"new")
    assert os.listdir(tmp_path) == ["out.zarr"]
    assert (target / "notes.txt" if kind == "folder" else target).read_bytes() == b"mine"


def test_a_failure_inside_the_block_leaves_no_folder_and_the_old_store(tmp_path):
    (tmp_path / "out.zarr").mkdir()
    fill(tmp_path / "out.zarr", b"old")
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "out.zarr", check=a_store) as folder:
            fill(folder, b"new")
            raise RuntimeError("the pixels failed")
    assert os.listdir(tmp_path) == ["out.zarr"]
    assert tree(tmp_path / "out.zarr")["zarr.json"] == b"old"


def test_outputs_commit_a_folder_with_a_file_or_neither(tmp_path):
    with Outputs() as together:
        with atomic_directory(tmp_path / "out.zarr", check=a_store, together=together) as folder:
            fill(folder, b"new")
        with atomic.atomic_output(tmp_path / "used.json", together=together) as file:
            file.write(b"{}")
        assert sorted(os.listdir(tmp_path))[-1].endswith(".part")  # still under its .part name
    assert sorted(os.listdir(tmp_path)) == ["out.zarr", "used.json"]
    with pytest.raises(RuntimeError):
        with Outputs() as together:
            with atomic_directory(tmp_path / "two.zarr", check=a_store, together=together) as folder:
                fill(folder, b"new")
            raise RuntimeError("the matrix failed")
    assert sorted(os.listdir(tmp_path)) == ["out.zarr", "used.json"]


def test_abandoning_the_run_removes_the_folder_being_written(tmp_path):
    try:
        with pytest.raises(KeyboardInterrupt):
            with atomic_directory(tmp_path / "out.zarr", check=a_store) as folder:
                fill(folder, b"new")
                abandon_outputs()  # what an interruption does, from the command line
                assert not os.path.exists(folder)
        assert os.listdir(tmp_path) == []
    finally:
        atomic._REGISTRY.abandoned = False


def test_a_failed_second_rename_puts_the_old_store_back(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic_dir, "_renameat2", lambda old, new, flags: False)
    (tmp_path / "out.zarr").mkdir()
    fill(tmp_path / "out.zarr", b"old")
    real = os.rename
    calls = []

    def rename(old, new):
        calls.append(old)
        if len(calls) == 2:  # the new store onto the target, after the old one went aside
            raise KeyboardInterrupt
        real(old, new)

    monkeypatch.setattr(atomic_dir.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(tmp_path / "out.zarr", check=a_store) as folder:
            fill(folder, b"new")
    assert os.listdir(tmp_path) == ["out.zarr"]
    assert tree(tmp_path / "out.zarr")["zarr.json"] == b"old"
