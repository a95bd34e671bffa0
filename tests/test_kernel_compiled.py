"""The kernel's shortcuts give the bytes of its NumPy reference path, and CHANMIX_KERNEL.

The shortcuts: plans that are copies, the terms with zero weights left out between integer
types, and the C loops of ``chanmix._mixloops`` (skipped where chanmix was installed without
them, except in CI, which must build them). Outputs are compared byte for byte, so that NaN,
-0.0 and inf count too.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chanmix.kernel
from chanmix import Mix, apply
from chanmix.errors import MatrixError, UsageError
from chanmix.kernel import KERNEL_ENV, compile_plan, compiled_kernel, mix_block, mix_numpy
from subprocesses import command, environment

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf * 0 on the NumPy path

INT_TYPES = ["uint8", "uint16", "int16", "uint32", "int32"]
ALL_TYPES = INT_TYPES + ["float32", "float64"]
PAIRS = list(itertools.product(ALL_TYPES, ALL_TYPES))


@pytest.fixture(scope="module")
def compiled():
    if chanmix.kernel._mixloops is None:
        pytest.skip("chanmix was installed without its C kernel")
    return chanmix.kernel._mixloops


def test_the_c_kernel_is_built():
    """CI installs with a C compiler: there, a missing kernel is a failed build, not a skip.
    Elsewhere chanmix may be installed without one: then this test is skipped."""
    if chanmix.kernel._mixloops is None:
        if os.environ.get("CI") != "true":
            pytest.skip("chanmix was installed without its C kernel (outside CI, where it must be built)")
        pytest.fail("CI must build the C kernel (chanmix._mixloops): was a C compiler missing?")
    assert chanmix.kernel._mixloops.__name__ == "chanmix._mixloops"


def test_a_chanmix_process_runs_the_package_and_the_kernel_under_test(tmp_path):
    """The processes the tests start (tests/subprocesses.py) run the chanmix package that the
    tests imported, installed or not, with its C kernel when it has one: a test of a command
    line in a new process tests the same code as the tests run in this one."""
    kernel = chanmix.kernel._mixloops
    code = (
        "import chanmix, chanmix.kernel as k\n"
        "print(chanmix.__file__)\n"
        "print(k._mixloops.__file__ if k._mixloops else None)"
    )
    env = environment()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    package, loops = done.stdout.splitlines()
    assert Path(package).resolve() == Path(chanmix.__file__).resolve()
    assert (loops if loops == "None" else Path(loops).resolve()) == (
        Path(kernel.__file__).resolve() if kernel else "None"
    )

    # the command line itself, told to take the C kernel: it does, from the same file
    image = np.random.default_rng(5).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    np.save(tmp_path / "in.npy", image)
    base, env = command()
    env[KERNEL_ENV] = "compiled"
    weights = "0.5,0.5,0; 0,1,0; 0,0.2,0.8"
    done = subprocess.run(
        [base[0], "-v", *base[1:], "apply", "in.npy", "-c", weights, "-o", "out.npy"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if kernel is None:  # (-v writes the imports to stderr too)
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
        assert done.returncode == 2 and len(errors) == 1 and "without its C kernel" in errors[0]
        return
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = re.findall(r"extension module 'chanmix\._mixloops' loaded from '([^']+)'", done.stderr)
    assert [Path(p).resolve() for p in loaded] == [Path(kernel.__file__).resolve()]
    mix = Mix([[0.5, 0.5, 0], [0, 1, 0], [0, 0.2, 0.8]])
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), apply(image, mix))


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
    everything = dataclasses.replace(plan, copies=None, terms=(tuple(range(plan.n_inputs)),) * plan.n_outputs)
    out = np.empty((block.shape[0], plan.n_outputs), dtype=plan.out_dtype)
    mix_numpy(block, out, everything)
    return out


def compiled_mix(kernel, block: np.ndarray, plan, layout: str = "interleaved") -> np.ndarray:
    """The C kernel's output for ``block`` (P, N), read from and written to the given layout:
    interleaved, beside an alpha channel (a pixel stride of N + 1), or planar (band-major)."""
    n, m = plan.n_inputs, plan.n_outputs
    if layout == "interleaved":
        src, out = block, np.empty((block.shape[0], m), dtype=plan.out_dtype)
        dst = out
    elif layout == "alpha":
        src = np.concatenate([block, block[:, :1]], axis=1)[:, :n]
        wide = np.zeros((block.shape[0], m + 1), dtype=plan.out_dtype)
        dst = wide[:, :m]
    else:
        src = np.ascontiguousarray(block.T).T
        dst = np.empty((m, block.shape[0]), dtype=plan.out_dtype).T
    kernel.mix(src, dst, plan.weights, plan.bias, plan.bounded)
    return np.ascontiguousarray(dst)


# -- the compiled kernel ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["interleaved", "alpha", "planar"])
@pytest.mark.parametrize("index, pair", list(enumerate(PAIRS)), ids=[f"{a}-{b}" for a, b in PAIRS])
def test_compiled_loops_give_the_numpy_bytes_for_every_type_pair(compiled, layout, index, pair):
    in_dt, out_dt = pair
    n, m = 1 + index % 8, 1 + (index * 3 + index // 8) % 8  # every N and M, over the pairs
    rng = np.random.default_rng(index)
    plan = compile_plan(random_mix(n, m, rng), in_dt, out_dt)
    assert plan.fusable
    block = samples(in_dt, (1500, n), rng)  # 1500: more than the planar loop's chunk, not a multiple
    assert same_bytes(compiled_mix(compiled, block, plan, layout), reference(block, plan))


CHANNELS = [(n, m) for n, m in itertools.product(range(1, 12), repeat=2) if n * m <= 64]


@pytest.mark.parametrize(
    "pair",
    [
        ("uint8", "uint8"),
        ("uint16", "uint8"),
        ("float32", "uint16"),
        ("uint8", "float32"),
        ("int16", "int16"),
    ],
)
@pytest.mark.parametrize("n, m", CHANNELS)
def test_compiled_kernel_gives_the_numpy_bytes_for_1_to_11_channels(compiled, pair, n, m):
    """1 to 4 channels take the fused loop for the common types; 1 to 8 the planar loop's
    vectorized layouts, more its strided one."""
    rng = np.random.default_rng(100 + 12 * n + m)
    plan = compile_plan(random_mix(n, m, rng), *pair)
    assert plan.fusable
    block = samples(pair[0], (777, n), rng)
    for layout in ("interleaved", "alpha"):
        assert same_bytes(compiled_mix(compiled, block, plan, layout), reference(block, plan))


@pytest.mark.parametrize("pixels", [0, 1, 63, 64, 65, 127, 128, 191, 192, 1000, 4096 + 7])
def test_3_to_3_uint8_at_every_length(compiled, pixels):
    """The RGB photograph's mix, which has a loop of its own on CPUs with AVX-512 VBMI (64
    pixels at a time, the rest by the fused loop): saturation at both ends and exact ties."""
    rng = np.random.default_rng(pixels)
    block = rng.integers(0, 256, size=(pixels, 3), dtype=np.uint8)
    block[: min(pixels, 8)] = [[0, 0, 0], [255, 255, 255], [1, 3, 5], [255, 0, 255]] * 2 if pixels >= 8 else 0
    for mix in (
        Mix(rng.uniform(-1, 2, (3, 3)), rng.uniform(-0.3, 0.3, 3)),
        Mix(np.diag([0.5, 1.5, -0.5]), [0.0, 0.0, 0.5]),
    ):  # x / 2: ties to even
        plan = compile_plan(mix, "uint8", "uint8")
        assert plan.bounded and plan.fusable
        assert same_bytes(compiled_mix(compiled, block, plan), reference(block, plan))


@pytest.mark.parametrize("pair", [("uint8", "uint8"), ("uint16", "int16"), ("int32", "uint32")])
def test_bounded_and_unbounded_finishes_agree(compiled, pair):
    """Rounding in integers (bounded) and saturating in floats first give the same samples."""
    rng = np.random.default_rng(11)
    plan = compile_plan(Mix(rng.uniform(-3, 3, (3, 3)), rng.uniform(-1, 1, 3)), *pair)
    assert plan.bounded
    block = samples(pair[0], (2000, 3), rng)
    unbounded = dataclasses.replace(plan, bounded=False)
    assert same_bytes(compiled_mix(compiled, block, plan), compiled_mix(compiled, block, unbounded))
    assert same_bytes(compiled_mix(compiled, block, plan), reference(block, plan))


def test_bounded_means_no_pixel_can_leave_the_integer_range():
    assert compile_plan(Mix(np.full((3, 3), 5.0)), "uint16", "uint16").bounded
    assert not compile_plan(Mix(np.full((3, 3), 5e5)), "uint16", "uint16").bounded  # 1e11 > 2^30
    assert compile_plan(Mix(np.full((3, 3), 5e5)), "uint32", "uint32").bounded  # float64: 2^62
    assert not compile_plan(Mix(np.eye(3)), "float32", "uint8").bounded
    assert not compile_plan(Mix(np.eye(3)), "uint8", "float32").bounded


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


@pytest.mark.parametrize("alpha", [None, 3])
def test_mix_block_takes_the_compiled_kernel_and_apply_gives_the_same_image(compiled, monkeypatch, alpha):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(300, 500, 3 + (alpha is not None)), dtype=np.uint8)
    mix = Mix(rng.uniform(-0.6, 1.4, size=(3, 3)), rng.uniform(-0.2, 0.2, size=3))
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    expected = apply(image, mix, alpha=alpha)
    monkeypatch.setenv(KERNEL_ENV, "compiled")
    calls = []
    original = compiled.mix
    monkeypatch.setattr(compiled, "mix", lambda *a: (calls.append(a[0].shape[0]), original(*a)))
    assert same_bytes(apply(image, mix, alpha=alpha, jobs=2), expected)
    assert sum(calls) == image.shape[0] * image.shape[1]  # the alpha channel is a copy


def test_linear_mixes_big_matrices_and_foreign_byte_orders_take_the_numpy_path(compiled, monkeypatch):
    rng = np.random.default_rng(8)
    monkeypatch.setenv(KERNEL_ENV, "compiled")
    monkeypatch.setattr(compiled, "mix", lambda *a: pytest.fail("compiled kernel used"))
    block = rng.integers(0, 65536, size=(40, 50, 3), dtype=np.uint16)
    linear = compile_plan(random_mix(3, 2, rng), "uint16", "uint16", linear=True)
    assert not linear.fusable
    mix_block(block, linear)
    big = compile_plan(Mix(rng.uniform(0, 0.1, (9, 8))), "uint16", "uint16")
    assert not big.fusable
    mix_block(rng.integers(0, 65536, size=(40, 50, 8), dtype=np.uint16), big)
    swapped = compile_plan(random_mix(3, 2, rng), ">u2", "uint16")
    assert not swapped.fusable
    mix_block(block.astype(">u2"), swapped)


def test_weights_that_could_overflow_integer_sums_stay_on_the_numpy_path():
    assert compile_plan(Mix([[1.0, -1.0]]), "uint16", "uint8").fusable
    assert not compile_plan(Mix([[6e35, -6e35]]), "uint16", "uint8").fusable  # 3.06e38 < float32 max
    with pytest.raises(MatrixError, match="beyond what float32"):
        compile_plan(Mix([[1e36, -1e36]]), "uint16", "uint8")  # 5.1e38: overflows, refused
    assert compile_plan(Mix([[6e35, -6e35]]), "float32", "uint8").fusable  # NaN -> 0 on both paths
    assert not compile_plan(Mix(np.ones((9, 8))), "uint8", "uint8").fusable  # a matrix product


# -- the copy shortcut and the zero terms (pure NumPy) ---------------------------------------


@pytest.mark.parametrize("dtype", INT_TYPES)
@pytest.mark.parametrize(
    "weights",
    [np.eye(3), np.eye(3)[[2, 1, 0]], np.eye(4)[[1, 2, 3, 0]], [[0, 1, 0], [0, 1, 0]], [[1.0]] * 3],
    ids=["identity", "bgr", "rotate4", "pick-twice", "gray-to-rgb"],
)
def test_copies_give_the_bytes_of_the_general_path(dtype, weights):
    mix = Mix(weights)
    rng = np.random.default_rng(9)
    block = samples(dtype, (70, 90, mix.n_inputs), rng)[:, 5:85]  # a strided view as well
    plan = compile_plan(mix, dtype, dtype)
    assert plan.copies is not None
    assert same_bytes(mix_block(block, plan), mix_block(block, dataclasses.replace(plan, copies=None)))
    assert same_bytes(
        mix_block(block, plan).reshape(-1, mix.n_outputs), reference(block.reshape(-1, mix.n_inputs), plan)
    )


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


def test_numpy_mode_never_uses_the_c_kernel(compiled, monkeypatch):
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    assert compiled_kernel() is None
    monkeypatch.setattr(compiled, "mix", lambda *a: pytest.fail("compiled kernel used"))
    mix_block(np.zeros((4, 3), np.uint8), compile_plan(Mix(np.eye(3) * 0.5), "uint8", "uint8"))
    monkeypatch.setenv(KERNEL_ENV, "auto")
    assert compiled_kernel() is compiled


def test_without_the_c_kernel_auto_takes_numpy_and_compiled_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(chanmix.kernel, "_mixloops", None)
    monkeypatch.setenv(KERNEL_ENV, "auto")
    assert compiled_kernel() is None
    plan = compile_plan(Mix(np.eye(3) * 0.5), "uint8", "uint8")
    assert mix_block(np.full((4, 3), 9, np.uint8), plan).tolist() == [[4, 4, 4]] * 4  # 4.5 -> 4
    monkeypatch.setenv(KERNEL_ENV, "compiled")
    with pytest.raises(UsageError, match="without its C kernel"):
        compiled_kernel()
