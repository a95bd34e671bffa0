"""Layers of 1x1 convolutions: the model, its files (JSON, .npz, .safetensors), the kernel
against a float64 NumPy reference (and PyTorch when installed), and hostile files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chanmix
from chanmix import MatrixError, Mix, read_matrix
from chanmix.blockmix import Mixer
from chanmix.dtypes import dtype_max, value_range
from chanmix.errors import UsageError
from chanmix.layers import Layers, compose_models, single_mix
from chanmix.matrixfiles import matrix_json


def network(rng, sizes, scale=0.6):
    """Random layers (Mix, "relu") of the given channel counts, the last without activation."""
    steps = []
    for i, (n, m) in enumerate(zip(sizes, sizes[1:])):
        mix = Mix(rng.normal(0, scale, (m, n)), rng.normal(0, 0.2, m))
        steps.append((mix, "relu" if i < len(sizes) - 2 else "none"))
    return steps


def reference(image, steps, out_dtype):
    """The float64 reference: normalize, each layer and its activation, round and saturate."""
    x = image.astype(np.float64) / dtype_max(image.dtype)
    for mix, activation in steps:
        x = x @ mix.weights.T + mix.bias
        if activation == "relu":
            x = np.maximum(x, 0)
    out_dtype = np.dtype(out_dtype)
    if out_dtype.kind == "f":
        return x.astype(out_dtype)
    lo, hi = value_range(out_dtype)
    return np.clip(np.rint(x * dtype_max(out_dtype)), lo, hi).astype(out_dtype)


def random_image(rng, dtype, shape):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.random(shape).astype(dtype)
    lo, hi = value_range(dtype)
    return rng.integers(max(lo, 0), hi, shape, endpoint=True).astype(dtype)


# --- the model -----------------------------------------------------------------------------


def test_linear_neighbours_collapse():
    a, b, c = Mix(np.eye(3) * 2), Mix(np.ones((2, 3))), Mix(np.ones((1, 2)), [0.5])
    layers = Layers([(a, "none"), (b, "relu"), (c, "none")])
    assert len(layers.steps) == 2
    assert layers.steps[0][0] == a.then(b).with_info(provenance={})
    assert compose_models([a, b]) == a.then(b)
    assert isinstance(compose_models([a, Layers([(b, "relu")]), c]), Layers)


def test_layers_must_chain_and_name_known_activations():
    with pytest.raises(MatrixError, match="layer 2 reads 3 channels"):
        Layers([(Mix(np.ones((2, 3))), "relu"), (Mix(np.ones((1, 3))), "none")])
    with pytest.raises(MatrixError, match="unknown activation 'tanh'"):
        Layers([(Mix(np.ones((2, 3))), "tanh")])


def test_single_mix_says_why_it_cannot_collapse():
    layers = Layers([(Mix(np.ones((2, 3))), "relu"), (Mix(np.ones((1, 2))), "none")])
    with pytest.raises(UsageError, match="layer 1 is followed by a RELU"):
        single_mix(layers, "compose")


# --- the kernel ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "in_dtype, out_dtype",
    [
        ("uint8", "uint8"),
        ("uint16", "uint16"),
        ("uint16", "float32"),
        ("float32", "float32"),
        ("float64", "float64"),
        ("int16", "uint8"),
    ],
)
def test_layers_match_the_float64_reference(in_dtype, out_dtype):
    rng = np.random.default_rng(13)
    steps = network(rng, [4, 9, 6, 3])
    image = random_image(rng, in_dtype, (37, 41, 4))
    got = chanmix.apply(image, Layers(steps), dtype=out_dtype)
    want = reference(image, steps, out_dtype)
    assert got.dtype == want.dtype
    if np.dtype(out_dtype).kind == "f":
        rtol = 1e-12 if out_dtype == "float64" else 1e-5
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    else:  # float32 arithmetic: a value on a rounding boundary may go either way
        diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
        assert diff.max() <= 1 and np.mean(diff) < 0.01


def test_a_relu_after_the_last_layer_comes_before_rescale_and_rounding():
    steps = [(Mix([[1.0, -1.0]]), "relu")]
    image = np.array([[[10, 200], [200, 10]]], dtype=np.uint8)
    got = chanmix.apply(image, Layers(steps))
    assert got[0, :, 0].tolist() == [0, 190]


def test_a_wide_network_uses_matrix_products_and_stays_exact():
    rng = np.random.default_rng(2)
    steps = network(rng, [8, 16, 16, 2], scale=0.3)
    image = random_image(rng, "float64", (20, 30, 8))
    got = chanmix.apply(image, Layers(steps), dtype="float64")
    np.testing.assert_allclose(got, reference(image, steps, "float64"), rtol=1e-12, atol=1e-12)


def test_jobs_block_shapes_nodata_alpha_and_rescale():
    rng = np.random.default_rng(5)
    layers = Layers(network(rng, [3, 5, 2]))
    image = random_image(rng, "uint16", (300, 1100, 4))
    image[5, 7, :3] = 0
    kwargs = dict(alpha=3, nodata=0, rescale="minmax", dtype="uint8")
    one = chanmix.apply(image, layers, jobs=1, **kwargs)
    two = chanmix.apply(image, layers, jobs=3, **kwargs)
    assert one.tobytes() == two.tobytes()
    assert one.shape == (300, 1100, 3)
    assert one[5, 7, :2].tolist() == [0, 0]
    np.testing.assert_array_equal(one[..., 2], np.rint(image[..., 3] / 257).astype(np.uint8))
    mixer = Mixer.build(layers, np.uint16, np.uint8, alpha=True, nodata=0)
    halves = np.concatenate([mixer(image[:101]), mixer(image[101:])])
    plain = chanmix.apply(image, layers, alpha=3, nodata=0, dtype="uint8")
    assert halves.tobytes() == plain.tobytes()


def test_linear_light_is_refused_for_layers():
    layers = Layers([(Mix(np.ones((2, 3))), "relu")])
    with pytest.raises(UsageError, match="linear light"):
        chanmix.apply(np.zeros((2, 2, 3), np.uint8), layers, linear=True)


def test_torch_gives_the_same_values():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    steps = network(rng, [4, 6, 3])
    net = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 1), torch.nn.ReLU(), torch.nn.Conv2d(6, 3, 1)).double()
    with torch.no_grad():
        for conv, (mix, _) in zip((net[0], net[2]), steps):
            conv.weight.copy_(torch.from_numpy(mix.weights[:, :, None, None]))
            conv.bias.copy_(torch.from_numpy(mix.bias))
    image = rng.random((5, 4, 6, 7))
    with torch.no_grad():
        want = net(torch.from_numpy(image)).numpy().transpose(0, 2, 3, 1)
    got = np.stack([chanmix.apply(i.transpose(1, 2, 0), Layers(steps)) for i in image])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# --- files ---------------------------------------------------------------------------------


def write_network(folder, steps):
    """The same network as JSON, .npz and .safetensors (ReLU between layers); the paths."""
    data = {
        "layers": [
            {"weights": m.weights.tolist(), "bias": m.bias.tolist(), "activation": a} for m, a in steps
        ]
    }
    (folder / "net.json").write_text(json.dumps(data))
    state = {}
    for i, (mix, _) in enumerate(steps):
        state[f"{2 * i}.weight"] = mix.weights[:, :, None, None]
        state[f"{2 * i}.bias"] = mix.bias
    np.savez(folder / "net.npz", **state)
    paths = [folder / "net.json", folder / "net.npz"]
    try:
        from safetensors.numpy import save_file
    except ImportError:
        return paths
    save_file(state, str(folder / "net.safetensors"))
    return paths + [folder / "net.safetensors"]


def test_json_npz_and_safetensors_give_identical_outputs(tmp_path):
    rng = np.random.default_rng(11)
    steps = network(rng, [4, 7, 5, 2])
    image = random_image(rng, "uint16", (16, 18, 4))
    outputs = []
    for path in write_network(tmp_path, steps):
        model = read_matrix(path, activation="relu").mix_for(4)
        assert model == Layers(steps), path
        outputs.append(chanmix.apply(image, model).tobytes())
    assert len(set(outputs)) == 1
    # without --activation, a stack is linear: one Mix
    assert isinstance(read_matrix(tmp_path / "net.npz").mix_for(4), Mix)


def test_the_json_of_layers_reads_back(tmp_path):
    rng = np.random.default_rng(3)
    layers = Layers(network(rng, [3, 4, 2])).with_info(names=["a", "b"], provenance={"name": "net"})
    path = tmp_path / "saved.json"
    path.write_text(matrix_json(layers))
    again = read_matrix(path).mix_for(3)
    assert again == layers and again.names == ("a", "b")


def test_safetensors_bf16_and_f16(tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy")
    weights = np.array([[0.5, -0.25], [1.0, 2.0]], dtype=np.float16)
    safetensors.save_file({"0.weight": weights, "1.weight": weights}, str(tmp_path / "h.safetensors"))
    model = read_matrix(tmp_path / "h.safetensors", activation="relu").mix_for(2)
    assert isinstance(model, Layers)
    np.testing.assert_array_equal(model.steps[0][0].weights, weights.astype(np.float64))
    bf16 = (np.array([[0.5, -0.25]], np.float32).view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"0.weight": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [0, 4]}}).encode()
    (tmp_path / "b.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bf16.tobytes())
    assert read_matrix(tmp_path / "b.safetensors").mix_for(2).weights.tolist() == [[0.5, -0.25]]


def safetensors_file(path, header, data=b""):
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    return path


@pytest.mark.parametrize(
    "header, data, message",
    [
        (
            {"0.weight": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 8]}},
            b"\0" * 8,
            "bytes of data",
        ),
        (
            {"0.weight": {"dtype": "F32", "shape": [4096, 4097], "data_offsets": [0, 4096 * 4097 * 4]}},
            b"",
            "outside",
        ),
        (
            {"0.weight": {"dtype": "I64", "shape": [1, 1], "data_offsets": [0, 8]}},
            b"\0" * 8,
            "unsupported dtype",
        ),
        (
            {"0.weight": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]}},
            np.array([1, np.inf], "<f4").tobytes(),
            "NaN or infinite",
        ),
        ({"0.weight": {"dtype": "F32", "shape": [1, 1, 3, 3], "data_offsets": [0, 36]}}, b"\0" * 36, "shape"),
        (
            {"conv.running_mean": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "not a layer",
        ),
        (
            {
                "0.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                "2.weight": {"dtype": "F32", "shape": [1, 3], "data_offsets": [0, 12]},
            },
            b"\0" * 24,
            "2.weight reads 3 channels",
        ),
    ],
)
def test_hostile_safetensors_are_one_matrix_error(tmp_path, header, data, message):
    path = safetensors_file(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(MatrixError, match=message):
        read_matrix(path, activation="relu").mix_for(None)


def test_a_lying_header_length_is_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes((1 << 62).to_bytes(8, "little") + b"{}")
    with pytest.raises(MatrixError, match="a header of"):
        read_matrix(path)
    path.write_bytes(b"\1\0")
    with pytest.raises(MatrixError, match="shorter"):
        read_matrix(path)
    path.write_bytes((4).to_bytes(8, "little") + b"\xff\xfe{}")
    with pytest.raises(MatrixError, match="not JSON"):
        read_matrix(path)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"layers": []}, "non-empty list"),
        ({"layers": [{"weights": [[1, 2]], "activation": "gelu"}]}, "unknown activation 'gelu'"),
        ({"layers": [{"weights": [[1, 2]]}, {"weights": [[1, 2]]}]}, "layer 2 reads 2 channels"),
        ({"layers": [{"weights": [[1, 2]], "bias": [1, 2]}]}, "layer 1: bias has 2 values"),
        ({"layers": [{"weights": [[1, "x"]]}]}, "layer 1: weights must be numbers"),
        ({"layers": [{"weights": [[1, 1e999]]}]}, "NaN or infinite"),
        ({"layers": [[1, 2]]}, 'layer 1 must be an object with a "weights" key'),
    ],
)
def test_hostile_json_layers(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data).replace("Infinity", "1e999"))
    with pytest.raises(MatrixError, match=message):
        read_matrix(path).mix_for(None)


def test_npz_stacks_name_the_layer_that_does_not_chain(tmp_path):
    np.savez(tmp_path / "s.npz", **{"0.weight": np.ones((4, 3, 1, 1)), "2.weight": np.ones((2, 5, 1, 1))})
    with pytest.raises(MatrixError, match="2.weight reads 5 channels but the layer before writes 4"):
        read_matrix(tmp_path / "s.npz", activation="relu")


def test_dask_gives_the_bytes_of_chanmix_apply():
    da = pytest.importorskip("dask.array")
    import chanmix.dask

    rng = np.random.default_rng(0)
    layers = Layers(network(rng, [3, 5, 2]))
    image = random_image(rng, "uint16", (100, 120, 3))
    want = chanmix.apply(image, layers, rescale="minmax", nodata=3)
    got = chanmix.dask.apply(da.from_array(image, chunks=(33, 50, 3)), layers, rescale="minmax", nodata=3)
    assert got.compute().tobytes() == want.tobytes()


def test_layers_of_one_linear_step_are_a_plain_mix():
    mix = Mix([[0.5, 0.25, 0.25]], [0.1])
    image = random_image(np.random.default_rng(1), "uint8", (5, 6, 3))
    assert chanmix.apply(image, Layers([(mix, "none")])).tobytes() == chanmix.apply(image, mix).tobytes()


def test_npz_members_are_counted_together(tmp_path, monkeypatch):
    layers = {f"{i}.weight": np.zeros((64, 64)) for i in range(5)}
    np.savez_compressed(tmp_path / "big.npz", **layers)
    assert isinstance(read_matrix(tmp_path / "big.npz", activation="relu").mix_for(64), Layers)
    monkeypatch.setattr("chanmix.matrixfiles.MAX_MATRIX_VALUES", 4 * 64 * 64)  # each member fits
    with pytest.raises(MatrixError, match="declares 20480 numbers in all"):
        read_matrix(tmp_path / "big.npz", activation="relu")
