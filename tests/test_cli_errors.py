"""Bad input: one line on stderr naming the file or option, exit 2 or 1, no output left behind."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def rgb(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(np.full((8, 9, 3), 100, dtype=np.uint8)).save(path)
    return path


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_missing_input(run, tmp_path):
    result = run("apply", tmp_path / "nope.png", "-p", "sepia", "-o", tmp_path / "o.png")
    assert result.exit_code == 1
    assert "nope.png" in one_line(result)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("content", [b"", b"this is text, not pixels\n", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_non_image_and_truncated_files(run, tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    result = run("apply", bad, "-p", "sepia", "-o", tmp_path / "o.png")
    assert result.exit_code == 1
    assert "bad.png" in one_line(result)
    assert not (tmp_path / "o.png").exists()


def test_truncated_tiff(run, samples, tmp_path):
    data = (samples / "multispectral.tif").read_bytes()
    bad = tmp_path / "cut.tif"
    bad.write_bytes(data[: len(data) // 3])
    result = run("apply", bad, "-c", "1,0,0,0,0,0,0,0", "-o", tmp_path / "o.tif")
    assert result.exit_code == 1
    assert "cut.tif" in one_line(result)
    assert not (tmp_path / "o.tif").exists()


def test_corrupt_real_file(run, corpus, tmp_path):
    result = run("apply", corpus / "rasterio" / "corrupt.tif", "-p", "sepia", "-o", tmp_path / "o.tif")
    assert result.exit_code == 1
    assert "corrupt.tif" in one_line(result)
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-p", "sepai"], "did you mean 'sepia'"),
        (["-c", "1,2;3"], "--coeffs"),
        (["-c", "1,nan,0"], "NaN"),
        (["-c", "1,0,0,0,0"], "rows have 5 numbers; the input has 3 channels"),
        (["-p", "landsat8-tasseled-cap"], "6 channels"),
        (["-p", "sepia", "--bands", "1,5"], "--bands"),
        (["-p", "sepia", "--bands", "0"], "--bands"),
        (["-p", "sepia", "-m", "x.json"], "one way"),
        ([], "one way"),
        (["-p", "sepia", "--percentiles", "9,1"], "--percentiles"),
        (["-p", "sepia", "--dtype", "int8"], "--dtype"),
        (["-p", "sepia", "--rescale", "stretch"], "--rescale"),
        (["-p", "sepia", "--nodata", "abc"], "--nodata"),
        (["-p", "sepia", "-j", "-5"], "--jobs"),
    ],
)
def test_usage_errors_exit_2(run, rgb, tmp_path, args, needle):
    out = tmp_path / "o.png"
    result = run("apply", rgb, *args, "-o", out)
    assert result.exit_code == 2, result.output
    assert needle in one_line(result)
    assert not out.exists()


def test_missing_and_bad_matrix_files(run, rgb, tmp_path):
    result = run("apply", rgb, "-m", tmp_path / "missing.csv", "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "missing.csv" in one_line(result)
    (tmp_path / "ragged.csv").write_text("1,0,0\n0,1\n")
    result = run("apply", rgb, "-m", tmp_path / "ragged.csv", "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "ragged.csv: line 2" in one_line(result)


@pytest.mark.parametrize(
    "output, args, needle",
    [
        ("o.png", ["--dtype", "float32"], "PNG"),
        ("o.jpg", ["-c", "1,0,0;0,1,0;0,0,1;1,1,1;0,0,0"], "JPEG"),
        ("o.jpg", ["--dtype", "uint16"], "JPEG"),
        ("o.png", ["-c", "1,0,0;0,1,0;0,0,1;1,1,1;0,0,0"], "PNG"),
        ("o.gif", [], "o.gif"),
        ("o", [], "'o'"),
    ],
)
def test_impossible_outputs_exit_2_before_anything_is_written(run, rgb, tmp_path, output, args, needle):
    if not any(a in ("-c",) for a in args):
        args = ["-p", "sepia", *args]
    out = tmp_path / output
    result = run("apply", rgb, *args, "-o", out)
    assert result.exit_code == 2, result.output
    assert needle in one_line(result)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rgb.png"]


def test_a_failed_run_leaves_an_existing_output_untouched(run, rgb, tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    result = run("apply", rgb, "-p", "landsat8-tasseled-cap", "-o", out)
    assert result.exit_code == 2
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png", "rgb.png"]


def test_several_inputs_need_a_template(run, rgb, tmp_path):
    result = run("apply", rgb, rgb, "-p", "sepia", "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and one_line(result) == (
        f"Error: -o: 2 inputs cannot all be written to '{tmp_path / 'o.png'}'; "
        "use {stem}, {name} or {index} in it, or -O OUTDIR"
    )
    result = run("apply", rgb, "-p", "sepia")
    assert result.exit_code == 2 and "-o OUTPUT or -O OUTDIR" in one_line(result)
    result = run("apply", rgb, "-p", "sepia", "-o", rgb)
    assert result.exit_code == 2 and "this run reads that file" in one_line(result)


def test_unknown_option_is_one_line(run, rgb):
    result = run("apply", rgb, "--frobnicate")
    assert result.exit_code == 2
    assert "--frobnicate" in one_line(result)


def test_an_output_folder_under_a_file_is_a_data_error(run, rgb, tmp_path):
    (tmp_path / "file").write_bytes(b"")
    result = run("apply", rgb, "-p", "sepia", "-o", tmp_path / "file" / "such" / "dir" / "o.png")
    assert result.exit_code == 1
    assert "o.png" in one_line(result)


#: Linux capabilities: the one that lets root write into any folder, and the one that lets a
#: process drop capabilities from its bounding set (prctl PR_CAPBSET_DROP).
_CAP_DAC_OVERRIDE, _CAP_SETPCAP, _PR_CAPBSET_DROP = 1, 8, 24


def _without_dac_override() -> None:
    """In the child, before exec: root no longer writes where the permission bits say no."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


def _effective_capabilities() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next((int(line.split()[1], 16) for line in status if line.startswith("CapEff:")), 0)


def test_permission_denied(rgb, tmp_path):
    """A folder the run may not write into: exit 1, one line naming the file and saying why.

    Root (as CI runs) writes anywhere through CAP_DAC_OVERRIDE: its chanmix process runs
    without that capability (dropped from the bounding set, so exec does not give it back),
    and meets the folder's permission bits as any user does."""
    import subprocess
    import sys

    from subprocesses import command

    preexec = None
    if os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("root writes anywhere, and only Linux lets this test drop that right")
        if not _effective_capabilities() >> _CAP_SETPCAP & 1:
            pytest.skip("root without CAP_SETPCAP cannot drop CAP_DAC_OVERRIDE, and writes anywhere")
        preexec = _without_dac_override
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    base, env = command()
    done = subprocess.run(
        [*base, "apply", rgb, "-p", "sepia", "-o", locked / "o.png"],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=preexec,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr.splitlines() == [f"Error: {locked / 'o.png'}: cannot write (Permission denied)"]
    assert list(locked.iterdir()) == []


def test_deeply_nested_json_matrix_is_one_line(run, rgb, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"weights": ' + "[" * 100000 + "]" * 100000 + "}")
    for args in (["apply", rgb, "-m", deep, "-o", tmp_path / "o.png"], ["matrix", "show", deep]):
        result = run(*args)
        assert result.exit_code == 2 and "deep.json" in one_line(result)
    nested = tmp_path / "nested.json"
    nested.write_text('{"weights": ' + "[" * 900 + "1" + "]" * 900 + "}")  # JSON can, NumPy cannot
    result = run("apply", rgb, "-m", nested, "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "nested.json" in one_line(result)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("weights", ["1e300,0,0", "0,0,0,1e39", "2e38,2e38,0"])
def test_weights_that_overflow_the_arithmetic_are_refused(run, rgb, tmp_path, weights):
    result = run("apply", rgb, "-c", weights, "--dtype", "float32", "-o", tmp_path / "o.tif")
    assert result.exit_code == 2 and "beyond what float32 arithmetic holds" in one_line(result)
    assert not (tmp_path / "o.tif").exists()


def test_large_weights_within_the_arithmetic_compute_finite_values(run, tmp_path):
    source = tmp_path / "f.npy"
    np.save(source, np.full((4, 5, 3), 0.5))  # float64 data: computed in float64
    result = run("apply", source, "-c", "1e300,0,0", "-o", tmp_path / "o.npy")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), 5e299)


def test_complex_matrix_is_refused(run, rgb, tmp_path):
    matrix = tmp_path / "c.npy"
    np.save(matrix, np.eye(3) * (1 + 1j))
    result = run("apply", rgb, "-m", matrix, "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "complex" in one_line(result)


@pytest.mark.parametrize("value", ["1e400", "-inf", "inf"])
def test_non_finite_nodata_is_refused(run, rgb, tmp_path, value):
    result = run("apply", rgb, "-p", "sepia", "--nodata", value, "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "--nodata" in one_line(result)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["presets"], ["apply", "-", "-p", "sepia", "-o", "-", "--format", "png"]])
def test_a_full_stdout_is_one_line(rgb, args):
    import subprocess

    from subprocesses import command

    base, env = command()
    with open(rgb, "rb") as stdin, open("/dev/full", "wb") as full:
        done = subprocess.run([*base, *args], stdin=stdin, stdout=full, stderr=subprocess.PIPE, env=env)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == ["Error: stdout: cannot write (No space left on device)"]


@pytest.mark.parametrize("kernel", ["numpy", "auto"])
def test_float_samples_that_a_mix_would_overflow_are_refused(run, tmp_path, monkeypatch, kernel):
    monkeypatch.setenv("CHANMIX_KERNEL", kernel)
    source = tmp_path / "f.tif"
    data = np.full((6, 7, 3), 0.25, np.float32)
    data[2, 3, :2] = 3e38  # finite, but 3e38 + 3e38 is not
    data[4, 4, 0] = np.inf  # not finite to begin with: mixed as it is
    import tifffile

    tifffile.imwrite(source, data, photometric="rgb")
    result = run("apply", source, "-c", "1,1,0", "-o", tmp_path / "o.tif")
    line = one_line(result)
    assert result.exit_code == 1 and "f.tif" in line and "beyond float32's range" in line
    assert not (tmp_path / "o.tif").exists()
    result = run("apply", source, "-c", "1,1,0", "--dtype", "float64", "-o", tmp_path / "o.tif")
    assert result.exit_code == 0  # float64 arithmetic holds 6e38
    assert tifffile.imread(tmp_path / "o.tif")[2, 3] == 2 * np.float64(np.float32(3e38))
    data[4, 4, 0] = 0.5
    tifffile.imwrite(source, data, photometric="rgb")
    result = run("apply", source, "-c", "0.5,0.5,0", "-o", tmp_path / "o.tif")  # no overflow possible
    assert result.exit_code == 0
    expected = 0.5 * data[..., 0].astype(np.float64) + 0.5 * data[..., 1].astype(np.float64)
    np.testing.assert_allclose(tifffile.imread(tmp_path / "o.tif"), expected.astype(np.float32), rtol=1e-6)


def npy_bytes(array: np.ndarray, shape: tuple[int, ...] | None = None) -> bytes:
    """An .npy file of `array`, its header declaring `shape` instead when given (a lie)."""
    import io

    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape or array.shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    buffer.write(array.astype("<f8").tobytes())
    return buffer.getvalue()


def test_damaged_numpy_matrices_are_one_line(run, rgb, tmp_path):
    import zipfile

    good = npy_bytes(np.eye(3))
    lying = npy_bytes(np.eye(3), shape=(99999, 99999))  # 80 GB declared, 72 bytes held
    (tmp_path / "header.npy").write_bytes(good[:20] + b"(" * 30 + good[50:])  # TokenError inside NumPy
    (tmp_path / "lying.npy").write_bytes(lying)
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04")
    np.savez(tmp_path / "crc.npz", weight=np.eye(3))
    raw = bytearray((tmp_path / "crc.npz").read_bytes())
    raw[raw.index(b"\x93NUMPY") + 130] ^= 0xFF  # a data byte: the CRC no longer matches
    (tmp_path / "crc.npz").write_bytes(bytes(raw))
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as archive:
        archive.writestr("weight.npy", lying)
    with zipfile.ZipFile(tmp_path / "bare.npz", "w") as archive:  # a member without .npy
        archive.writestr("weight", lying)
    (tmp_path / "version.npy").write_bytes(good[:6] + b"\xe7\xa1" + good[8:])  # NumPy reads 4 GB of it
    long_header = good[:6] + b"\x02\x00" + (2**32 - 16).to_bytes(4, "little") + good[10:]
    (tmp_path / "long.npy").write_bytes(long_header)
    for name in ("header.npy", "lying.npy", "cut.npz", "crc.npz", "big.npz", "version.npy", "long.npy"):
        result = run("apply", rgb, "-m", tmp_path / name, "-o", tmp_path / "o.png")
        assert result.exit_code == 2 and name in one_line(result), result.stderr
    for name in ("lying.npy", "big.npz", "bare.npz"):
        result = run("matrix", "show", tmp_path / name)
        assert result.exit_code == 2 and "more than the" in one_line(result)


def test_a_damaged_npy_image_header_is_one_line(run, tmp_path):
    image = npy_bytes(np.zeros((4, 5, 3)))
    bad = tmp_path / "bad.npy"
    bad.write_bytes(image[:20] + b"(" * 30 + image[50:])
    for args in (["info", bad], ["apply", bad, "-p", "sepia", "-o", tmp_path / "o.png"]):
        result = run(*args)
        assert result.exit_code == 1 and "bad.npy" in one_line(result)


def test_more_channels_than_tiff_holds_is_a_usage_error(run, rgb, tmp_path):
    matrix = tmp_path / "wide.npy"
    np.save(matrix, np.ones((70000, 3)) / 3)
    result = run("apply", rgb, "-m", matrix, "-o", tmp_path / "o.tif")
    assert result.exit_code == 2 and "at most 65535 channels" in one_line(result)


@pytest.mark.parametrize(
    "field",
    [(24, 4), (24, 3), (28, 7), (26, 1), (27, 1), (16, 0)],
    ids=["depth", "depth-for-rgb", "interlace", "compression", "filter", "width"],
)
def test_a_png_header_libpng_refuses_is_one_line(rgb, tmp_path, field):
    """libpng prints a 'PNG warning' line of its own for these: Pillow reads or refuses them."""
    import struct
    import subprocess
    import zlib

    from subprocesses import command

    data = bytearray(rgb.read_bytes())
    offset, value = field
    if offset == 16:
        data[16:20] = b"\x00\x00\x00\x00"
    else:
        data[offset] = value
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    base, env = command()
    done = subprocess.run([*base, "info", bad], capture_output=True, text=True, env=env)
    assert "PNG warning" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode in (0, 1) and len(done.stderr.splitlines()) == (done.returncode == 1), done.stderr


def test_an_interlaced_png_is_read_without_libpng_s_warning(tmp_path):
    """An Adam7 PNG written by hand: same pixels as Pillow reads, nothing on stderr."""
    import struct
    import subprocess
    import zlib

    from subprocesses import command

    image = np.random.default_rng(4).integers(0, 256, (13, 11, 3), dtype=np.uint8)
    raw = b""
    for top, left, down, across in (
        (0, 0, 8, 8),
        (0, 4, 8, 8),
        (4, 0, 8, 4),
        (0, 2, 4, 4),
        (2, 0, 4, 2),
        (0, 1, 2, 2),
        (1, 0, 2, 1),
    ):
        for row in image[top::down, left::across]:
            raw += b"\x00" + row.tobytes() if row.size else b""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 11, 13, 8, 2, 0, 0, 1)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
    png += chunk(b"IEND", b"")
    path = tmp_path / "adam7.png"
    path.write_bytes(png)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), image)
    base, env = command()
    done = subprocess.run(
        [*base, "apply", path, "-c", "1,0,0;0,1,0;0,0,1", "-o", tmp_path / "o.npy"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0 and done.stderr == f"1 image mixed: {path} -> {tmp_path / 'o.npy'}\n"
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), image)


def test_libpng_warnings_on_ancillary_chunks_are_not_passed_through(rgb, tmp_path):
    """imagecodecs writes libpng's 'PNG warning: sBIT: bad length' to Python's stderr."""
    import struct
    import subprocess
    import zlib

    from subprocesses import command

    data = rgb.read_bytes()
    sbit = struct.pack(">I", 1) + b"sBIT\x08" + struct.pack(">I", zlib.crc32(b"sBIT\x08"))  # RGB needs 3
    bad = tmp_path / "sbit.png"
    bad.write_bytes(data[:33] + sbit + data[33:])
    base, env = command()
    done = subprocess.run(
        [*base, "apply", bad, "-p", "sepia", "-o", tmp_path / "o.png"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0 and done.stderr == f"1 image mixed: {bad} -> {tmp_path / 'o.png'}\n"
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o.png")).shape, (8, 9, 3))


def test_a_library_message_over_several_lines_is_printed_on_one(capsys):
    from chanmix.cli.main import fail

    with pytest.raises(SystemExit) as exited:
        fail('m.npy: not a NumPy matrix (format "<f4\n\x00é" is not recognized)', 2)
    assert exited.value.code == 2
    expected = 'Error: m.npy: not a NumPy matrix (format "<f4 \x00é" is not recognized)\n'
    assert capsys.readouterr().err == expected


def test_an_npy_image_whose_shape_overflows_is_one_line_without_warnings(run, tmp_path):
    bad = tmp_path / "huge.npy"
    bad.write_bytes(npy_bytes(np.zeros((2, 2)), shape=(2**40, 2**40, 3)))
    result = run("info", bad)
    assert result.exit_code == 1 and "huge.npy" in one_line(result) and "Warning" not in result.stderr


def test_a_segment_larger_than_the_memory_budget_is_refused(run, tmp_path):
    import tifffile

    tiled = tmp_path / "tiled.tif"
    tifffile.imwrite(tiled, np.zeros((512, 512, 3), np.uint8), tile=(256, 256), photometric="rgb")
    result = run("info", tiled, "--max-memory", "100K")
    assert result.exit_code == 1 and "decoding one 256-row segment" in one_line(result)
    assert run("info", tiled, "--max-memory", "1M").exit_code == 0


def test_a_damaged_resolution_is_not_carried_to_png(run, tmp_path):
    import tifffile

    source = tmp_path / "res.tif"
    tifffile.imwrite(
        source, np.zeros((4, 5, 3), np.uint8), photometric="rgb", resolution=(4e9, 4e9), resolutionunit="INCH"
    )  # 1.6e11 pixels per metre
    result = run("apply", source, "-p", "sepia", "-o", tmp_path / "o.png")
    assert result.exit_code == 0, result.stderr
    with Image.open(tmp_path / "o.png") as back:
        assert "dpi" not in back.info


@pytest.mark.parametrize("role", ["input", "output"])
def test_a_zarr_store_without_the_zarr_package_is_a_usage_error(run, rgb, tmp_path, monkeypatch, role):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr fails, as without it
    store = tmp_path / "x.zarr"
    if role == "input":
        result, verb = run("info", store), "reading"
    else:
        result, verb = run("apply", rgb, "-p", "sepia", "-o", store), "writing"
    assert result.exit_code == 2
    assert (
        one_line(result)
        == f"Error: {store}: {verb} Zarr stores needs the zarr package: pip install 'chanmix[dask]'"
    )
    assert not store.exists()
