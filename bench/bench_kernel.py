"""Kernel section: the in-memory mix, no files, against OpenCV, libvips and NumPy.

Three arrays already in memory, each mixed to a new array of the input's type:

- (a) 6000 x 4000 RGB uint8, 3 -> 3, with rows summing above 1 and a bias, so that some
  outputs saturate at 0 and 255;
- (b) 4000 x 3000 x 8 uint16, 8 -> 3, also saturating;
- (c) 1000 x 1000 x 200 float32 (a hyperspectral cube of 10^6 pixels), 200 -> 10, unclipped.

Candidates, run alternately after one warm-up call each (whose output is compared with
chanmix's): ``chanmix.apply`` on 1 thread and on one thread per core, on the NumPy reference
path (``CHANMIX_KERNEL=numpy``) and on the C kernel (``CHANMIX_KERNEL=compiled``); OpenCV's
``cv2.transform`` (weights in raw units, ``W * out_max / in_max``, the bias ``b * out_max`` as
an extra column); libvips through pyvips (``new_from_memory``, ``recomb`` with the same raw
weights, ``linear`` for the bias, ``cast`` to the input's format, ``write_to_memory``); the
naive NumPy way (``einsum`` on a float32 copy divided by the type's maximum, then bias, scale,
``rint`` and ``clip``); and ``img.copy()``, a plain copy of the input's bytes, as the memory
bandwidth reference. A peer that cannot do a case is reported as n/a with the reason.
Bytes moved are the input's plus the output's (twice the input's for the copy).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pyvips
from run import alternate, median, table

import chanmix
from chanmix.kernel import compiled_kernel

JOBS = os.cpu_count() or 1
COPY = "memory copy (img.copy())"
REFERENCE = "chanmix.apply, NumPy path, jobs=1"
VIPS_FORMAT = {np.dtype(np.uint8): "uchar", np.dtype(np.uint16): "ushort", np.dtype(np.float32): "float"}


@dataclass(frozen=True)
class Case:
    title: str
    image: np.ndarray
    weights: np.ndarray  # (M, N), normalized units
    bias: np.ndarray  # (M,), normalized units

    @property
    def mix(self) -> chanmix.Mix:
        return chanmix.Mix(self.weights, bias=self.bias)

    @property
    def scale(self) -> float:
        """The type's maximum: raw = normalized * scale (1 for floats)."""
        dt = self.image.dtype
        return float(np.iinfo(dt).max) if dt.kind in "ui" else 1.0


class Unsupported(Exception):
    """A peer cannot do this case; the message says why."""


def cases(quick: bool) -> list[Case]:
    rng = np.random.default_rng(4)
    div = 10 if quick else 1
    rgb = rng.integers(0, 256, size=(4000 // div, 6000 // div, 3), dtype=np.uint8)
    bands = rng.integers(0, 65536, size=(3000 // div, 4000 // div, 8), dtype=np.uint16)
    cube = rng.random((1000 // div, 1000 // div, 200), dtype=np.float32)
    return [
        Case(
            "(a) {w} x {h} RGB uint8, 3 -> 3, saturating",
            rgb,
            np.array([[0.6, 0.5, 0.2], [0.2, 0.7, 0.3], [0.1, 0.2, 0.9]]),
            np.array([0.05, -0.1, 0.02]),
        ),
        Case(
            "(b) {w} x {h} x 8 uint16, 8 -> 3, saturating",
            bands,
            rng.uniform(-0.1, 0.4, (3, 8)),
            np.array([0.05, -0.1, 0.02]),
        ),
        Case(
            "(c) {w} x {h} x 200 float32 cube, 200 -> 10",
            cube,
            rng.normal(0, 0.1, (10, 200)),
            rng.normal(0, 0.1, 10),
        ),
    ]


def opencv(case: Case) -> Callable[[], np.ndarray]:
    matrix = np.hstack([case.weights, case.bias[:, None] * case.scale])  # same type: out_max / in_max = 1
    try:
        cv2.transform(case.image[:1, :1], matrix)
    except cv2.error:
        raise Unsupported(
            f"cv2.transform refuses {case.image.shape[2]} channels (OpenCV {cv2.__version__})"
        ) from None
    return lambda: cv2.transform(case.image, matrix)


def vips(case: Case) -> Callable[[], np.ndarray]:
    h, w, n = case.image.shape
    fmt = VIPS_FORMAT[case.image.dtype]
    weights, bias = case.weights.tolist(), (case.bias * case.scale).tolist()
    out_shape = (h, w, len(bias))

    def run() -> np.ndarray:
        image = pyvips.Image.new_from_memory(case.image.data, w, h, n, fmt)
        mixed = image.recomb(weights).linear([1.0] * len(bias), bias).cast(fmt)
        return np.frombuffer(mixed.write_to_memory(), dtype=case.image.dtype).reshape(out_shape)

    return run


def naive(case: Case) -> Callable[[], np.ndarray]:
    img, dt, scale = case.image, case.image.dtype, case.scale
    weights, bias = case.weights.astype(np.float32), case.bias.astype(np.float32)

    def run() -> np.ndarray:
        y = np.einsum("hwn,mn->hwm", img.astype(np.float32) / scale, weights)
        y = (y + bias) * scale
        if dt.kind in "ui":
            y = np.clip(np.rint(y), 0, scale)
        return y.astype(dt)

    return run


def kernel(mode: str, call: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    """``call`` with chanmix's kernel forced to ``mode`` (CHANMIX_KERNEL: numpy or compiled)."""

    def run() -> np.ndarray:
        saved = os.environ.get("CHANMIX_KERNEL")
        os.environ["CHANMIX_KERNEL"] = mode
        try:
            return call()
        finally:
            if saved is None:
                del os.environ["CHANMIX_KERNEL"]
            else:
                os.environ["CHANMIX_KERNEL"] = saved

    return run


def candidates(case: Case) -> dict[str, Callable[[], np.ndarray] | str]:
    """Name -> the call to time, or the reason it is n/a."""
    mix = case.mix
    found: dict[str, Callable[[], np.ndarray] | str] = {
        f"chanmix.apply, {path}, jobs={jobs}": kernel(
            mode, lambda jobs=jobs: chanmix.apply(case.image, mix, jobs=jobs)
        )
        for path, mode in (("NumPy path", "numpy"), ("C kernel", "compiled"))
        for jobs in (1, JOBS)
    }
    if compiled_kernel() is None:
        for jobs in (1, JOBS):
            found[f"chanmix.apply, C kernel, jobs={jobs}"] = "n/a: chanmix was installed without its C kernel"
    for name, peer in (
        ("OpenCV cv2.transform", opencv),
        ("libvips recomb (pyvips, in memory)", vips),
        ("NumPy einsum, naive", naive),
    ):
        try:
            found[name] = peer(case)
        except Unsupported as reason:
            found[name] = f"n/a: {reason}"
    found[COPY] = case.image.copy
    return found


def agreement(out: np.ndarray, reference: np.ndarray) -> str:
    """How an output differs from chanmix's: in units of the last place for integers."""
    if out.shape != reference.shape:
        return "-"
    diff = np.abs(out.astype(np.float64) - reference)
    share = np.count_nonzero(diff) / diff.size
    if share == 0:
        return "identical"
    return (
        f"by <= {diff.max():.1e}"
        if out.dtype.kind == "f"
        else f"{share:.1%} of samples, by <= {diff.max():.0f}"
    )


def measure(case: Case, repeats: int) -> str:
    img = case.image
    h, w, _ = img.shape
    out_bytes = h * w * len(case.bias) * img.dtype.itemsize
    found = candidates(case)
    runnable = {name: run for name, run in found.items() if callable(run)}
    reference = runnable[REFERENCE]()
    agree = {name: agreement(run(), reference) for name, run in runnable.items() if name != COPY}
    runnable[COPY]()  # every candidate is warmed up once; the runs above were the others'
    saturated = np.isin(reference, [0, case.scale]).mean() if img.dtype.kind in "ui" else 0.0
    del reference
    times = {name: median(t) for name, t in alternate(runnable, repeats).items()}
    peers = {n: t for n, t in times.items() if n.startswith(("OpenCV", "libvips"))}
    best = min(peers, key=peers.get) if peers else None
    copy = times[COPY]
    rows = []
    for name, run in found.items():
        if not callable(run):
            rows.append([name, run, "", "", "", "", ""])
            continue
        t = times[name]
        moved = 2 * img.nbytes if name == COPY else img.nbytes + out_bytes
        rows.append(
            [
                name,
                f"{t * 1e3:.1f}",
                f"{h * w / t / 1e6:.1f}",
                f"{moved / t / 1e9:.2f}",
                f"{t / peers[best]:.2f}" if best else "n/a",
                f"{t / copy:.1f}",
                agree.get(name, "-"),
            ]
        )
    header = [
        case.title.format(h=h, w=w),
        "median ms",
        "Mpx/s",
        "GB/s",
        f"time / best peer ({best.split(' (')[0] if best else 'none'})",
        "time / copy",
        "differs from chanmix's NumPy path",
    ]
    note = f"Input {img.nbytes / 1e6:.0f} MB, output {out_bytes / 1e6:.0f} MB."
    if saturated:
        note += f" {saturated:.1%} of chanmix's output samples are 0 or the maximum (saturated)."
    return f"{table(header, rows)}\n\n{note}"


def run(quick: bool = False) -> str:
    repeats = 2 if quick else 11
    parts = [measure(case, repeats) for case in cases(quick)]
    return "\n\n".join(parts) + (
        f"\n\n{repeats} runs of each candidate, alternating, after one warm-up run; medians. "
        f"libvips runs on its own pool of {pyvips.concurrency_get()} threads; cv2.transform, einsum "
        "and the copy run on one. libvips' cast truncates toward zero where the others round to "
        "nearest, hence its differences."
    )
