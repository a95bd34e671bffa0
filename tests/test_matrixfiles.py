"""Matrix files in every format of the contract give the same mix; bad files one clear error."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from chanmix import MatrixError, Mix, load_matrix, matrix_json, parse_coeffs, read_matrix

W = np.array([[0.25, 0.5, 0.25], [1.0, -0.5, 0.0]])
B = np.array([0.1, -0.2])


def write_all_formats(folder):
    """The same 2 x 3 matrix with bias, in each format; returns the paths."""
    paths = []
    p = folder / "m.json"
    p.write_text(json.dumps({"weights": W.tolist(), "bias": B.tolist()}))
    paths.append(p)
    p = folder / "m.csv"
    p.write_text("# weights then bias\n0.25, 0.5, 0.25, 0.1\n\n1,-0.5,0,-0.2  # second row\n")
    paths.append(p)
    p = folder / "m.tsv"
    p.write_text("0.25\t0.5\t0.25\t0.1\n1\t-0.5\t0\t-0.2\n")
    paths.append(p)
    p = folder / "m.txt"
    p.write_text("  0.25 0.5   0.25 0.1\n1 -0.5 0 -0.2\n")
    paths.append(p)
    p = folder / "m.npy"
    np.save(p, np.hstack([W, B[:, None]]))
    paths.append(p)
    p = folder / "m.npz"
    np.savez(p, weight=W[:, :, None, None], bias=B)
    paths.append(p)
    p = folder / "state.npz"
    np.savez(p, **{"mixer.weight": W[:, :, None, None], "mixer.bias": B})
    paths.append(p)
    return paths


def test_every_format_gives_the_same_mix(tmp_path):
    for path in write_all_formats(tmp_path):
        mix = load_matrix(path, n_inputs=3)
        np.testing.assert_array_equal(mix.weights, W, err_msg=str(path))
        np.testing.assert_array_equal(mix.bias, B, err_msg=str(path))


def test_conv2d_weight_without_bias(tmp_path):
    np.save(tmp_path / "conv.npy", W[:, :, None, None].astype(np.float32))
    mix = load_matrix(tmp_path / "conv.npy", n_inputs=3)
    np.testing.assert_allclose(mix.weights, W)
    assert not mix.has_bias


def test_the_bias_column_is_decided_by_the_band_count(tmp_path):
    path = tmp_path / "square.csv"
    path.write_text("1,0,0\n0,1,0\n0,0,1\n")
    src = read_matrix(path)
    assert src.mix_for(3).n_inputs == 3
    with_bias = src.mix_for(2)
    np.testing.assert_array_equal(with_bias.bias, [0, 0, 1])
    with pytest.raises(
        MatrixError,
        match=r"square.csv: rows have 3 numbers; the input has 5 "
        r"channels \(expected 5, or 6 with a bias last\)",
    ):
        src.mix_for(5)


def test_json_round_trip_keeps_provenance_and_names(tmp_path):
    mix = Mix(W, B, names=["a", "b"], provenance={"name": "pca", "explained_variance_ratio": [0.9, 0.1]})
    path = tmp_path / "out.json"
    path.write_text(matrix_json(mix))
    back = load_matrix(path)
    assert back == mix
    assert back.provenance["explained_variance_ratio"] == [0.9, 0.1]
    data = json.loads(path.read_text())
    assert list(data)[:2] == ["name", "explained_variance_ratio"] and data["names"] == ["a", "b"]
    assert matrix_json(mix) == matrix_json(back.with_info(provenance=mix.provenance))


def test_json_numbers_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    mix = Mix(rng.normal(size=(4, 5)), rng.normal(size=4))
    path = tmp_path / "r.json"
    path.write_text(matrix_json(mix))
    assert load_matrix(path) == mix


def test_inline_coeffs():
    assert parse_coeffs("0.25,0.5,0.25; 1 -0.5 0").mix_for(3) == Mix([[0.25, 0.5, 0.25], [1, -0.5, 0]])
    mix = parse_coeffs("1,1,1,-1").mix_for(3)
    np.testing.assert_array_equal(mix.bias, [-1])
    with pytest.raises(MatrixError, match="^coefficients: row 2 has 2 numbers, the first row has 3"):
        parse_coeffs("1,2,3;4,5")
    with pytest.raises(MatrixError, match="^coefficients: row 1: 'x' is not a number"):
        parse_coeffs("1,x,3")
    with pytest.raises(MatrixError, match="^coefficients: no numbers"):
        parse_coeffs(" ; ")
    with pytest.raises(MatrixError, match="^coefficients: .*NaN"):
        parse_coeffs("1,nan,0").mix_for(3)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("ragged.csv", "1,2,3\n4,5\n", "line 2 has 2 numbers, the first row has 3"),
        ("nan.csv", "1,nan,0\n", "NaN or infinite"),
        ("inf.json", '{"weights": [[1, Infinity, 0]]}', "NaN or infinite"),
        ("empty.csv", "", "empty"),
        ("comments.csv", "# nothing\n\n", "no numbers"),
        ("words.txt", "a b c\n", "'a' is not a number"),
        ("bad.json", "{weights: 1}", "not valid JSON"),
        ("noweights.json", '{"w": [[1]]}', 'with a "weights" key'),
        ("flat.json", '{"weights": [1, 2, 3]}', "M x N"),
        ("badbias.json", '{"weights": [[1, 2, 3]], "bias": [1, 2]}', "bias has 2 values"),
        ("matrix.yaml", "weights: []", "unknown matrix format"),
    ],
)
def test_bad_matrix_files_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(MatrixError, match=message) as info:
        load_matrix(path, n_inputs=3)
    assert name in str(info.value)


def test_missing_matrix_file(tmp_path):
    with pytest.raises(MatrixError, match="nope.json: no such matrix file"):
        read_matrix(tmp_path / "nope.json")


def test_pickles_are_never_loaded(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    path = tmp_path / "evil.npy"
    np.save(path, np.array([Evil()], dtype=object), allow_pickle=True)
    with pytest.raises(MatrixError, match="never unpickles"):
        read_matrix(path)
    npz = tmp_path / "evil.npz"
    np.savez(npz, weight=np.array([Evil()], dtype=object))
    with pytest.raises(MatrixError, match="never unpickles"):
        read_matrix(npz)
    raw = tmp_path / "raw.npy"
    raw.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(MatrixError, match="raw.npy"):
        read_matrix(raw)
    assert not marker.exists()


def test_npz_without_weights(tmp_path):
    np.savez(tmp_path / "x.npz", kernel=np.ones((2, 2)))
    with pytest.raises(MatrixError, match='x.npz: no "weight" or "weights" array .found: kernel.'):
        read_matrix(tmp_path / "x.npz")


def test_npy_of_the_wrong_shape(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((2, 3, 3, 3)))
    with pytest.raises(MatrixError, match=r"w.npy: expected an M x N matrix.*\(2, 3, 3, 3\)"):
        read_matrix(tmp_path / "w.npy")
