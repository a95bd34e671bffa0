"""The kernel's shortcuts give the bytes of its NumPy reference path, and CHANMIX_KERNEL.

The shortcuts: plans that are copies, the terms with zero weights left out between integer
types, and the numba loops of ``chanmix.kernel_compiled`` (skipped when numba is absent).
Outputs are compared byte for byte, so that NaN, -0.0 and inf count too.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys

import numpy as np
import pytest

import chanmix
import chanmix.kernel
from chanmix import Mix, apply
from chanmix.errors import UsageError
from chanmix.kernel import (
    COMPILED_AFTER,
    KERNEL_ENV,
    _CompiledKernel,
    compile_plan,
    mix_block,
    mix_numpy,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf * 0 on the NumPy path

INT_TYPES = ["uint8", "uint16", "int16", "uint32", "int32"]
ALL_TYPES = INT_TYPES + ["float32", "float64"]
PAIRS = list(itertools.product(ALL_TYPES, ALL_TYPES))


@pytest.fixture(scope="module")
def compiled():
    pytest.importorskip("numba")
    from chanmix import kernel_compiled

    return kernel_compiled


@pytest.fixture(autouse=True)
def fresh_loader(monkeypatch):
    """Each test starts from a process that has not loaded the compiled kernel."""
    monkeypatch.setattr(chanmix.kernel, "_COMPILED", _CompiledKernel())


def samples(dtype: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Random samples with the type's extremes, and for floats NaN, +-inf, -0.0, subnormals
    and values beyond the other float type's range."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        block = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)
        special = [info.min, info.max, 0, 1, info.max // 2, info.max // 2 + 1]
    else:
        block = (rng.normal(0.5, 1.0, size=shape) * rng.choice([1, 1e3], size=shape)).astype(dt)
        tiny = np.finfo(dt).smallest_subnormal
        special = [np.nan, np.inf, -np.inf, -0.0, 0.0, tiny, 0.5, 1.0, 1e30, -1e30]
        if dt == np.float64:
            special += [1e300, -1e300]
    flat = block.reshape(-1)
    where = rng.choice(flat.size, size=min(flat.size, 4 * len(special)), replace=False)
    flat[where] = np.resize(np.array(special, dtype=dt), where.size)
    return block


def random_mix(n: int, m: int, rng: np.random.Generator) -> Mix:
    """Weights in [-2, 2] with about a quarter of exact zeros, a bias in [-0.5, 0.5]."""
    weights = rng.uniform(-2, 2, size=(m, n)) * (rng.random((m, n)) > 0.25)
    return Mix(weights, rng.uniform(-0.5, 0.5, size=m))


def same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def reference(block: np.ndarray, plan) -> np.ndarray:
    """The NumPy path, with every term and no copy shortcut."""
    everything = dataclasses.replace(
        plan, copies=None, terms=(tuple(range(plan.n_inputs)),) * plan.n_outputs
    )
    out = np.empty((block.shape[0], plan.n_outputs), dtype=plan.out_dtype)
    mix_numpy(block, out, everything)
    return out


def compiled_mix(kernel, block: np.ndarray, plan) -> np.ndarray:
    out = np.empty((block.shape[0], plan.n_outputs), dtype=plan.out_dtype)
    kernel.mix_contiguous(block.reshape(-1), out.reshape(-1), plan.weights, plan.bias)
    return out


# -- the compiled kernel ---------------------------------------------------------------------


@pytest.mark.parametrize("loop", ["fused", "planar"])
@pytest.mark.parametrize("index, pair", list(enumerate(PAIRS)), ids=[f"{a}-{b}" for a, b in PAIRS])
def test_compiled_loops_give_the_numpy_bytes_for_every_type_pair(compiled, monkeypatch, loop, index, pair):
    in_dt, out_dt = pair
    n, m = 1 + index % 8, 1 + (index * 3 + index // 8) % 8  # every N and M, over the pairs
    rng = np.random.default_rng(index)
    plan = compile_plan(random_mix(n, m, rng), in_dt, out_dt)
    assert plan.fusable
    block = samples(in_dt, (1500, n), rng)  # 1500: more than the planar loop's chunk, not a multiple
    monkeypatch.setattr(compiled, "_fused_pays", lambda *args: loop == "fused")
    assert same_bytes(compiled_mix(compiled, block, plan), reference(block, plan))


@pytest.mark.parametrize("n, m", list(itertools.product(range(1, 9), range(1, 9))))
def test_compiled_kernel_gives_the_numpy_bytes_for_1_to_8_channels(compiled, n, m):
    rng = np.random.default_rng(100 + 8 * n + m)
    plan = compile_plan(random_mix(n, m, rng), "uint8", "uint8")
    block = samples("uint8", (777, n), rng)
    assert same_bytes(compiled_mix(compiled, block, plan), reference(block, plan))


@pytest.mark.parametrize(
    "in_dt, out_dt, values, weight",
    [
        ("uint8", "uint8", np.arange(256), 0.5),
        ("uint16", "uint16", np.arange(0, 65536, 7), 0.5),
        ("int16", "int16", np.arange(-32768, 32768, 7), 0.5),
        ("float32", "uint8", np.arange(-40, 600) / 2, 1 / 255),
        ("float64", "int16", np.arange(-40, 600) / 2, 1 / 32767),
    ],
)
@pytest.mark.parametrize("bias", [0.0, 0.5])  # in raw units of the output
def test_compiled_kernel_rounds_exact_ties_to_even(compiled, in_dt, out_dt, values, weight, bias):
    plan = compile_plan(Mix([[weight]], [bias / np.iinfo(out_dt).max]), in_dt, out_dt)
    block = values.astype(in_dt).reshape(-1, 1)
    raw = block[:, 0].astype(plan.compute) * plan.weights[0, 0] + plan.bias[0]
    assert np.any(raw - np.floor(raw) == 0.5)  # the exact ties are there
    assert same_bytes(compiled_mix(compiled, block, plan), reference(block, plan))


def test_mix_block_takes_the_compiled_kernel_and_apply_gives_the_same_image(compiled, monkeypatch):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(300, 500, 3), dtype=np.uint8)
    mix = Mix(rng.uniform(-0.6, 1.4, size=(3, 3)), rng.uniform(-0.2, 0.2, size=3))
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    expected = apply(image, mix)
    monkeypatch.setenv(KERNEL_ENV, "numba")
    calls = []
    original = compiled.mix_contiguous
    monkeypatch.setattr(compiled, "mix_contiguous", lambda *a: (calls.append(a[0].size), original(*a)))
    assert same_bytes(apply(image, mix, jobs=2), expected)
    assert sum(calls) == image.size


def test_non_contiguous_blocks_and_linear_mixes_take_the_numpy_path(compiled, monkeypatch):
    rng = np.random.default_rng(8)
    monkeypatch.setenv(KERNEL_ENV, "numba")
    monkeypatch.setattr(compiled, "mix_contiguous", lambda *a: pytest.fail("compiled kernel used"))
    planar = rng.integers(0, 65536, size=(3, 40, 50), dtype=np.uint16).transpose(1, 2, 0)
    plan = compile_plan(random_mix(3, 2, rng), "uint16", "uint16")
    assert same_bytes(mix_block(planar, plan).reshape(-1, 2), reference(planar.reshape(-1, 3), plan))
    linear = compile_plan(random_mix(3, 2, rng), "uint16", "uint16", linear=True)
    assert not linear.fusable
    mix_block(np.ascontiguousarray(planar), linear)


def test_weights_that_could_overflow_integer_sums_stay_on_the_numpy_path():
    assert compile_plan(Mix([[1.0, -1.0]]), "uint16", "uint8").fusable
    assert not compile_plan(Mix([[1e36, -1e36]]), "uint16", "uint8").fusable
    assert compile_plan(Mix([[1e36, -1e36]]), "float32", "uint8").fusable  # NaN -> 0 on both paths
    assert not compile_plan(Mix(np.ones((9, 8))), "uint8", "uint8").fusable  # a matrix product


# -- the copy shortcut and the zero terms (pure NumPy) ---------------------------------------


@pytest.mark.parametrize("dtype", INT_TYPES)
@pytest.mark.parametrize("weights", [np.eye(3), np.eye(3)[[2, 1, 0]], np.eye(4)[[1, 2, 3, 0]],
                                     [[0, 1, 0], [0, 1, 0]], [[1.0]] * 3],
                         ids=["identity", "bgr", "rotate4", "pick-twice", "gray-to-rgb"])
def test_copies_give_the_bytes_of_the_general_path(dtype, weights):
    mix = Mix(weights)
    rng = np.random.default_rng(9)
    block = samples(dtype, (70, 90, mix.n_inputs), rng)[:, 5:85]  # a strided view as well
    plan = compile_plan(mix, dtype, dtype)
    assert plan.copies is not None
    assert same_bytes(mix_block(block, plan), mix_block(block, dataclasses.replace(plan, copies=None)))
    assert same_bytes(mix_block(block, plan).reshape(-1, mix.n_outputs),
                      reference(block.reshape(-1, mix.n_inputs), plan))


@pytest.mark.parametrize(
    "in_dt, out_dt, mix, scale",
    [
        ("float32", "float32", Mix.identity(3), None),  # -0.0 becomes 0.0, inf * 0 gives NaN
        ("uint8", "uint16", Mix.identity(3), None),
        ("uint8", "uint8", Mix(np.eye(3), [0, 0, 1e-9]), None),
        ("uint8", "uint8", Mix(np.eye(3) * 0.999), None),
        ("uint8", "uint8", Mix.identity(3), np.array([1.0, 2.0, 1.0])),
    ],
)
def test_plans_that_are_not_exact_copies_are_computed(in_dt, out_dt, mix, scale):
    assert compile_plan(mix, in_dt, out_dt, scale=scale).copies is None


@pytest.mark.parametrize("in_dt, out_dt", [("int16", "uint8"), ("uint16", "int32"), ("int32", "int16")])
def test_leaving_out_zero_terms_between_integer_types_is_exact(in_dt, out_dt):
    rng = np.random.default_rng(10)
    mix = Mix([[0.0, 0.7, 0.0, -0.3], [0.0, 0.0, 0.0, 0.0], [1.5, 0.0, 0.0, 0.0]], [0.1, 0.2, 0.0])
    plan = compile_plan(mix, in_dt, out_dt)
    assert plan.terms == ((1, 3), (), (0,))
    block = samples(in_dt, (5000, 4), rng)
    block[:, 2] = 0  # an unread band may even hold anything
    ours = np.empty((5000, 3), dtype=out_dt)
    mix_numpy(block, ours, plan)
    assert same_bytes(ours, reference(block, plan))


def test_float_types_keep_every_term():
    plan = compile_plan(Mix([[0.0, 1.0]]), "float32", "uint8")
    assert plan.terms == ((0, 1),)  # inf * 0 is NaN: a zero weight still counts


# -- CHANMIX_KERNEL --------------------------------------------------------------------------


def test_an_unknown_kernel_is_a_usage_error(monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, "fortran")
    plan = compile_plan(Mix(np.eye(3) * 0.5), "uint8", "uint8")
    with pytest.raises(UsageError, match="CHANMIX_KERNEL"):
        mix_block(np.zeros((4, 3), np.uint8), plan)


def test_numpy_never_loads_numba_and_auto_waits_for_enough_work(monkeypatch):
    lazy = _CompiledKernel()
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    lazy.spent(10 * COMPILED_AFTER)
    assert lazy.module() is None
    monkeypatch.setenv(KERNEL_ENV, "auto")
    early = _CompiledKernel()
    early.spent(COMPILED_AFTER / 2)
    assert early.module() is None
    pytest.importorskip("numba")
    assert lazy.module() is not None


def test_numba_without_numba_is_a_usage_error_and_auto_falls_back(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now raises ImportError
    monkeypatch.delitem(sys.modules, "chanmix.kernel_compiled", raising=False)
    monkeypatch.delattr(chanmix, "kernel_compiled", raising=False)
    lazy = _CompiledKernel()
    lazy.spent(COMPILED_AFTER)
    monkeypatch.setenv(KERNEL_ENV, "auto")
    assert lazy.module() is None
    monkeypatch.setenv(KERNEL_ENV, "numba")
    with pytest.raises(UsageError, match="numba cannot be loaded"):
        lazy.module()
