"""``argmax`` (--argmax) and ``axis``: the index of the largest output, and any channel axis."""

from __future__ import annotations

import numpy as np
import pytest

import chanmix
from chanmix import Mix
from chanmix.errors import UsageError
from chanmix.layers import Layers
from helpers import error_line, ok
from test_layers import network, random_image, reference


def test_argmax_is_the_index_of_the_largest_output_ties_to_the_lowest():
    mix = Mix([[1, 0], [0, 1], [1, 0]])  # outputs 0 and 2 always tie
    image = np.array([[[10, 20], [20, 10], [5, 5]]], dtype=np.uint8)
    got = chanmix.apply(image, mix, argmax=True)
    assert got.dtype == np.uint8 and got.shape == (1, 3, 1)
    assert got[0, :, 0].tolist() == [1, 0, 0]


def test_argmax_of_layers_matches_the_float64_reference():
    rng = np.random.default_rng(8)
    steps = network(rng, [4, 8, 5])
    image = random_image(rng, "float64", (30, 20, 4))
    got = chanmix.apply(image, Layers(steps), argmax=True)
    want = np.argmax(reference(image, steps, np.float64), axis=-1)
    np.testing.assert_array_equal(got[..., 0], want)


def test_argmax_nodata_alpha_jobs_and_many_channels():
    rng = np.random.default_rng(9)
    image = random_image(rng, "uint16", (200, 1300, 4))
    image[3, 4, 1] = 7
    mix = Mix(rng.normal(size=(300, 3)))
    one = chanmix.apply(image, mix, argmax=True, nodata=7, alpha=3, jobs=1)
    two = chanmix.apply(image, mix, argmax=True, nodata=7, alpha=3, jobs=2)
    assert one.dtype == np.uint16 and one.shape == (200, 1300, 2)
    assert one.tobytes() == two.tobytes()
    assert one[3, 4, 0] == 65535
    np.testing.assert_array_equal(one[..., 1], image[..., 3])
    with pytest.raises(UsageError, match="dtype: an argmax of 300 channels is written as uint16"):
        chanmix.apply(image, mix, argmax=True, dtype="uint8", alpha=3)
    with pytest.raises(UsageError, match="rescale: an argmax"):
        chanmix.apply(image, mix, argmax=True, rescale="minmax", alpha=3)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_any_channel_axis_gives_the_bytes_of_channels_last(dtype):
    rng = np.random.default_rng(4)
    batch = random_image(rng, dtype, (3, 4, 9, 11))  # (N, C, H, W)
    model = Layers(network(rng, [4, 5, 2]))
    last = np.moveaxis(batch, 1, -1)
    three = Layers(network(rng, [3, 5, 2]))
    cases = [(model, {}), (model, {"argmax": True}), (model, {"rescale": "minmax"}), (three, {"alpha": 3})]
    for mixed, kwargs in cases:
        got = chanmix.apply(batch, mixed, axis=1, **kwargs)
        want = chanmix.apply(last, mixed, **kwargs)
        assert got.shape[0] == 3 and got.shape[2:] == (9, 11)
        assert np.moveaxis(got, 1, -1).tobytes() == want.tobytes()
    mix = Mix(rng.normal(size=(2, 4)))
    got = chanmix.apply(batch, mix, axis=1)
    want = np.stack([chanmix.apply(image, mix) for image in last])
    assert np.moveaxis(got, 1, -1).tobytes() == want.tobytes()
    got = chanmix.apply(batch, model, axis=-3, argmax=True)
    want = np.stack([chanmix.apply(image, model, argmax=True) for image in last])
    assert np.moveaxis(got, 1, -1).tobytes() == want.tobytes()
    pixel = chanmix.apply(batch[0, :, 0, 0], mix, axis=0)
    assert pixel.tobytes() == want_pixel(batch, mix)
    with pytest.raises(UsageError, match="axis: 4 is not an axis"):
        chanmix.apply(batch, mix, axis=4)


def want_pixel(batch, mix):
    return chanmix.apply(np.moveaxis(batch, 1, -1)[0, :1, :1], mix).tobytes()


def test_cli_argmax(run, tmp_path, samples):
    out = tmp_path / "classes.png"
    ok(run("apply", samples / "multispectral.tif", "-m", samples / "network.json", "--argmax", "-o", out))
    from PIL import Image

    with Image.open(out) as image:
        classes = np.asarray(image)
    assert classes.dtype == np.uint8 and set(np.unique(classes)) <= {0, 1, 2}
    line = error_line(
        run(
            "apply",
            samples / "astronaut.png",
            "-p",
            "sepia",
            "--argmax",
            "--rescale",
            "minmax",
            "-o",
            tmp_path / "x.png",
        ),
        2,
    )
    assert line.startswith("Error: --rescale: an argmax")
