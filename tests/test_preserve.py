"""Colour-preserving mixes (--preserve, --preserve-amount): ffmpeg's colorchannelmixer pc/pa.

The reference below is written from FFmpeg 5.1's libavfilter/preserve_color.h and
vf_colorchannelmixer.c (preserve_color, preservel, lerpf) in float64, not from chanmix's code;
the real ffmpeg is the second reference, on a photograph.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

import chanmix
from chanmix import Mix
from chanmix.errors import UsageError

MODES = ("lum", "max", "avg", "sum", "nrm", "pwr")
#: A mix that leaves photographs inside [0, 1] (rows sum to at most 1, no negative weight).
SOFT = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.5]])
#: One that goes below 0 and above 1, with a bias: measures of the mix at or below 0 occur.
HARD = Mix([[1.2, -0.5, 0.1], [-0.3, 0.9, 0.6], [0.2, 0.4, -0.9]], bias=[-0.1, 0.05, 0.2])


def reference(
    x: np.ndarray,
    mix: Mix,
    mode: str,
    amount: float,
    in_max: float,
    limits: tuple[float, float] | None,
) -> np.ndarray:
    """ffmpeg's preserve in float64, on normalized (..., 3) inputs ``x``; ``in_max`` is the
    input type's maximum (1 for floats), ``limits`` the saturation of frout (None: none)."""
    y = x @ mix.weights.T + mix.bias

    def measure(v: np.ndarray) -> np.ndarray:
        # ffmpeg: raw samples (v * in_max) for lum/max/avg/sum, normalized for nrm/pwr
        raw = v * in_max
        r, g, b = raw[..., 0], raw[..., 1], raw[..., 2]
        if mode == "lum":
            return raw.max(axis=-1) + raw.min(axis=-1)
        if mode == "max":
            return raw.max(axis=-1)
        if mode == "avg":
            return (r + g + b + 1.0) / 3.0
        if mode == "sum":
            return r + g + b
        n = raw / in_max
        if mode == "nrm":
            return np.sqrt((n * n).sum(axis=-1))
        return np.cbrt((n * n * n).sum(axis=-1))

    lin, lout = measure(x), measure(y)
    lout = np.where(lout <= 0, 1.0 / (in_max * 2.0), lout)  # preservel
    frout = (y if limits is None else np.clip(y, *limits)) * (lin / lout)[..., None]
    return y + (frout - y) * amount  # lerpf


def pixels(dtype: np.dtype, shape=(37, 41)) -> np.ndarray:
    """Random samples of ``dtype`` with black, white, grey and pure colours in the first row."""
    rng = np.random.default_rng(13)
    top = 1.0 if np.dtype(dtype).kind == "f" else np.iinfo(dtype).max
    image = (rng.random(shape + (3,)) * top).astype(dtype)
    special = np.array([[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1]]) * top
    image[0, : len(special)] = special.astype(dtype)
    return image


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("amount", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_float_output_equals_the_reference(mode, amount, dtype):
    image = pixels(np.dtype(dtype))
    in_max = 1.0 if dtype == "float32" else float(np.iinfo(dtype).max)
    want = reference(image / in_max, HARD, mode, amount, in_max, None)
    got = chanmix.apply(image, HARD, dtype="float64", preserve=mode, preserve_amount=amount)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-12, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_integer_output_saturates_before_the_rescale_as_ffmpeg(mode):
    image = pixels(np.dtype("uint8"))
    want = reference(image / 255.0, HARD, mode, 0.7, 255.0, (0.0, 1.0))
    want = np.clip(np.rint(want * 255), 0, 255)
    got = chanmix.apply(image, HARD, preserve=mode, preserve_amount=0.7).astype(float)
    assert np.abs(got - want).max() <= 1  # float32 arithmetic: a tie may round the other way
    assert (got == want).mean() > 0.999


def test_the_rescale_stretches_the_preserved_values():
    image = pixels(np.dtype("uint8"))
    kept = reference(image / 255.0, HARD, "nrm", 1.0, 255.0, None)
    lo, hi = kept.reshape(-1, 3).min(axis=0), kept.reshape(-1, 3).max(axis=0)
    want = np.clip(np.rint((kept - lo) / (hi - lo) * 255), 0, 255)
    got = chanmix.apply(image, HARD, rescale="minmax", preserve="nrm").astype(float)
    assert np.abs(got - want).max() <= 1


def _decode(v: np.ndarray) -> np.ndarray:
    a = np.abs(v)
    return np.sign(v) * np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)


def _encode(v: np.ndarray) -> np.ndarray:
    a = np.abs(v)
    return np.sign(v) * np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)


def test_with_linear_the_measure_is_taken_in_linear_light():
    image = pixels(np.dtype("uint8"))
    kept = reference(_decode(image / 255.0), Mix(SOFT), "sum", 1.0, 255.0, (0.0, 1.0))
    want = np.clip(np.rint(_encode(kept) * 255), 0, 255)
    got = chanmix.apply(image, Mix(SOFT), linear=True, preserve="sum").astype(float)
    assert np.abs(got - want).max() <= 1


def test_alpha_nodata_and_block_split():
    rgba = pixels(np.dtype("uint8"), (300, 97))[:, :, [0, 1, 2, 2]].copy()
    rgba[:, :, 3] = np.arange(300 * 97).reshape(300, 97) % 256
    rgba[5, 5, :3] = 7
    out = chanmix.apply(rgba, HARD, alpha=3, nodata=7, preserve="lum", preserve_amount=0.5)
    assert (out[:, :, 3] == rgba[:, :, 3]).all()
    assert (out[5, 5, :3] == 7).all()
    threaded = chanmix.apply(rgba, HARD, alpha=3, nodata=7, preserve="lum", preserve_amount=0.5, jobs=4)
    assert threaded.tobytes() == out.tobytes()


@pytest.mark.parametrize("weights", [[[0.3, 0.6, 0.1]], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]])
def test_only_three_to_three_mixes(weights):
    with pytest.raises(UsageError, match="needs a 3 -> 3 mix") as caught:
        chanmix.apply(pixels(np.dtype("uint8")), Mix(weights), preserve="max")
    assert caught.value.parameter == "preserve"


def test_bad_mode_and_amount_name_their_parameter():
    image = pixels(np.dtype("uint8"))
    with pytest.raises(UsageError) as caught:
        chanmix.apply(image, HARD, preserve="luma")
    assert caught.value.parameter == "preserve"
    for amount in (1.5, -0.1, float("nan"), "half"):
        with pytest.raises(UsageError) as caught:
            chanmix.apply(image, HARD, preserve="lum", preserve_amount=amount)
        assert caught.value.parameter == "preserve_amount"
    numpy_amount = chanmix.apply(image, HARD, preserve="lum", preserve_amount=np.float32(0.5))
    assert numpy_amount.tobytes() == chanmix.apply(image, HARD, preserve="lum", preserve_amount=0.5).tobytes()


def test_none_is_the_plain_mix():
    image = pixels(np.dtype("uint8"))
    plain = chanmix.apply(image, HARD)
    assert chanmix.apply(image, HARD, preserve="none", preserve_amount=0.2).tobytes() == plain.tobytes()


def test_dask_gives_the_same_bytes():
    da = pytest.importorskip("dask.array")
    import chanmix.dask as cdask

    image = pixels(np.dtype("uint16"), (200, 150))
    for rescale in ("clip", "percentile"):
        want = chanmix.apply(image, HARD, rescale=rescale, preserve="pwr", preserve_amount=0.8)
        chunked = da.from_array(image, chunks=(64, 50, 3))
        lazy = cdask.apply(chunked, HARD, rescale=rescale, preserve="pwr", preserve_amount=0.8)
        assert lazy.compute().tobytes() == want.tobytes()


# The command line


def test_cli_threads_and_refusals(run, samples, tmp_path):
    outs = []
    for jobs in ("1", "3"):
        out = tmp_path / f"j{jobs}.png"
        args = ("apply", samples / "astronaut.png", "-p", "sepia", "--preserve", "max", "-j", jobs, "-o", out)
        assert run(*args, "--preserve-amount", "0.5", "-q").exit_code == 0
        outs.append(np.asarray(Image.open(out)))
    assert outs[0].tobytes() == outs[1].tobytes()
    grey = tmp_path / "grey.png"
    result = run("apply", samples / "astronaut.png", "-p", "gray-rec709", "--preserve", "lum", "-o", grey)
    assert result.exit_code == 2
    assert "Error: --preserve lum" in result.stderr and "3 -> 1" in result.stderr
    assert not grey.exists()


FFMPEG = shutil.which("ffmpeg")
NAMES = ("rr", "rg", "rb", "gr", "gg", "gb", "br", "bg", "bb")


def _both(run, samples, tmp_path, weights: np.ndarray, mode: str, amount: float) -> np.ndarray:
    """|ffmpeg - chanmix| of every sample of astronaut.png, in 8-bit steps."""
    src = samples / "astronaut.png"
    coefficients = ":".join(f"{n}={w:.6f}" for n, w in zip(NAMES, weights.ravel()))
    theirs, ours = tmp_path / "ffmpeg.png", tmp_path / "chanmix.png"
    filt = f"colorchannelmixer={coefficients}:pc={mode}:pa={amount}"
    command = [FFMPEG, "-y", "-loglevel", "error", "-i", str(src), "-vf", filt, "-pix_fmt", "rgb24"]
    subprocess.run([*command, str(theirs)], check=True)
    coeffs = ";".join(",".join(f"{w:.6f}" for w in row) for row in weights)
    args = ("apply", src, "-c", coeffs, "--preserve", mode, "--preserve-amount", amount, "-o", ours, "-q")
    assert run(*args).exit_code == 0
    return np.abs(np.asarray(Image.open(theirs), dtype=int) - np.asarray(Image.open(ours), dtype=int))


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("amount", [0.5, 1])
def test_agrees_with_ffmpeg_on_a_photograph(run, samples, tmp_path, mode, amount):
    """ffmpeg mixes in integer tables, one rounding per coefficient: within 2 in 8 bits."""
    diff = _both(run, samples, tmp_path, SOFT, mode, amount)
    assert (diff <= 2).mean() >= 0.999


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize("mode", MODES)
def test_a_saturating_sepia_stays_close_to_ffmpeg(run, samples, tmp_path, mode):
    """Sepia saturates; measured on astronaut.png at pa=1 (ffmpeg 5.1): max differs by up to 5
    on 0.37 % of samples, lum, nrm and pwr by 3 on under 0.02 %, avg and sum by at most 2."""
    diff = _both(run, samples, tmp_path, chanmix.get_preset("sepia").mix.weights, mode, 1)
    assert diff.max() <= 5
    assert (diff <= 2).mean() >= (0.995 if mode == "max" else 0.9997)


def test_cluster_gives_the_same_bytes(run, samples, tmp_path):
    pytest.importorskip("distributed")
    args = (
        "apply",
        samples / "astronaut.png",
        "-p",
        "sepia",
        "--preserve",
        "max",
        "--preserve-amount",
        "0.7",
    )
    args += ("--rescale", "percentile", "-q", "-j", "2")
    here, there = tmp_path / "here.tif", tmp_path / "there.tif"
    assert run(*args, "-o", here).exit_code == 0
    assert run(*args, "-o", there, "--scheduler", "local").exit_code == 0
    assert here.read_bytes() == there.read_bytes()


def test_preserve_refuses_layers_with_activations(run, samples, tmp_path):
    # a 3 -> 4 -> 3 network with a ReLU keeps no single mix whose colour could be kept
    network = tmp_path / "net.json"
    network.write_text(
        '{"layers": [{"weights": [[1,0,0],[0,1,0],[0,0,1],[1,1,1]], "bias": [0,0,0,-1],'
        ' "activation": "relu"}, {"weights": [[1,0,0,0],[0,1,0,0],[0,0,1,0.5]], "bias": [0,0,0]}]}'
    )
    result = run(
        "apply", samples / "astronaut.png", "-m", network, "--preserve", "lum", "-o", tmp_path / "x.png"
    )
    assert result.exit_code == 2 and not (tmp_path / "x.png").exists()
    assert result.stderr.startswith("Error: --preserve lum keeps the colour of one 3 -> 3 mix, not of layers")
