"""``chanmix matrix show|compose|invert``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chanmix import Mix, load_matrix, matrix_json
from helpers import error_line


@pytest.fixture
def two(tmp_path):
    rng = np.random.default_rng(5)
    a = Mix(rng.normal(size=(4, 3)), rng.normal(size=4), provenance={"name": "a", "method": "test"})
    b = Mix(rng.normal(size=(2, 4)), rng.normal(size=2), names=["u", "v"])
    (tmp_path / "a.json").write_text(matrix_json(a))
    np.savetxt(tmp_path / "b.csv", np.hstack([b.weights, b.bias[:, None]]), delimiter=",")
    return a, b


def shown_table(lines: list[str]) -> tuple[list[str], np.ndarray]:
    """The column names and the numbers of the table that 'matrix show' prints."""
    header, *rows = lines
    return header.split(), np.array([[float(x) for x in row.split()[1:]] for row in rows])


def test_show(run, two, tmp_path):
    a = two[0]
    path = tmp_path / "a.json"
    result = run("matrix", "show", path)
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.output.splitlines()
    assert lines[:4] == [f"{path}: 3 inputs -> 4 outputs", "  name: a", "  method: test", f"  source: {path}"]
    columns, numbers = shown_table(lines[4:])
    assert columns == ["in1", "in2", "in3", "bias"]
    assert [line.split()[0] for line in lines[5:]] == ["out1", "out2", "out3", "out4"]
    np.testing.assert_allclose(numbers, np.hstack([a.weights, a.bias[:, None]]), rtol=1e-5)


def test_show_text_matrix_with_a_bias_column(run, two, tmp_path):
    b = two[1]
    csv = tmp_path / "b.csv"
    result = run("matrix", "show", csv, "--inputs", "4")
    assert result.exit_code == 0 and result.stderr == ""
    title, source, *table = result.output.splitlines()
    assert (title, source) == (f"{csv}: 4 inputs -> 2 outputs", f"  source: {csv}")
    columns, numbers = shown_table(table)
    assert columns == ["in1", "in2", "in3", "in4", "bias"]  # the last column read as the bias
    np.testing.assert_allclose(numbers, np.hstack([b.weights, b.bias[:, None]]), rtol=1e-5)
    result = run("matrix", "show", csv)  # without --inputs, every column is a weight
    assert result.exit_code == 0 and result.stderr == ""
    title, source, *table = result.output.splitlines()
    assert title == f"{csv}: 5 inputs -> 2 outputs"
    columns, numbers = shown_table(table)
    assert columns == ["in1", "in2", "in3", "in4", "in5", "bias"]
    np.testing.assert_allclose(numbers, np.hstack([b.weights, b.bias[:, None], np.zeros((2, 1))]), rtol=1e-5)


def test_compose_is_the_product_in_order(run, two, tmp_path):
    a, b = two
    result = run("matrix", "compose", tmp_path / "a.json", tmp_path / "b.csv", "-o", tmp_path / "ab.json")
    assert result.exit_code == 0
    ab = load_matrix(tmp_path / "ab.json")
    x = np.random.default_rng(0).normal(size=(50, 3))
    expected = (x @ a.weights.T + a.bias) @ b.weights.T + b.bias
    np.testing.assert_allclose(x @ ab.weights.T + ab.bias, expected, rtol=1e-12, atol=1e-12)


def test_compose_refuses_what_does_not_chain(run, two, tmp_path):
    result = run(
        "matrix",
        "compose",
        tmp_path / "b.csv",
        tmp_path / "a.json",
        "--inputs",
        "4",
        "-o",
        tmp_path / "x.json",
    )
    message = f"Error: {tmp_path / 'a.json'}: the matrix reads 3 channels; the input has 2"
    assert error_line(result, 2) == message  # b gives 2 outputs, a reads 3
    assert not (tmp_path / "x.json").exists()


def test_invert_a_square_mix(run, tmp_path):
    w = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 4.0]])
    (tmp_path / "w.json").write_text(json.dumps({"weights": w.tolist(), "bias": [0.1, 0.2, 0.3]}))
    assert run("matrix", "invert", tmp_path / "w.json", "-o", tmp_path / "inv.json").exit_code == 0
    inv = load_matrix(tmp_path / "inv.json")
    np.testing.assert_allclose(inv.weights, np.linalg.inv(w), atol=1e-12)
    np.testing.assert_allclose(inv.bias, -np.linalg.inv(w) @ [0.1, 0.2, 0.3], atol=1e-12)


def test_invert_a_reduction_reconstructs_data_in_its_subspace(run, tmp_path):
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(6, 2)))
    mean = rng.uniform(0.2, 0.8, size=6)
    w = q.T
    pca = {"mean": mean.tolist(), "weights": w.tolist(), "bias": (-w @ mean).tolist()}
    (tmp_path / "pca.json").write_text(json.dumps(pca))
    assert run("matrix", "invert", tmp_path / "pca.json", "-o", tmp_path / "back.json").exit_code == 0
    back = load_matrix(tmp_path / "back.json")
    x = mean + rng.normal(size=(100, 2)) @ q.T  # data in the 2-D affine subspace
    scores = x @ w.T - w @ mean
    np.testing.assert_allclose(scores @ back.weights.T + back.bias, x, atol=1e-12)
