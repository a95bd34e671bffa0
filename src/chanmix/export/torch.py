"""A PyTorch ``Conv2d(N, M, kernel_size=1)`` state_dict: ``weight`` (M, N, 1, 1) and ``bias`` (M).

Written in float64, so that chanmix reads the file back to exactly the same mix;
``Conv2d.load_state_dict`` casts it to the layer's own dtype. Two containers, chosen by the
file's extension: NumPy's ``.npz`` (``torch.from_numpy`` on each array) and ``.safetensors``
(written with the safetensors package).
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import UsageError
from ..mix import Mix

__all__ = ["TORCH_EXTENSIONS", "torch_state_dict"]

#: File extensions of the state_dict containers, as ``torch_state_dict`` takes them.
TORCH_EXTENSIONS = (".npz", ".safetensors")


def torch_state_dict(mix: Mix, extension: str) -> bytes:
    """The bytes of a file holding `mix` as a Conv2d 1x1 state_dict.

    Parameters
    ----------
    mix : Mix
        M x N weights and M biases (in normalized units, as chanmix applies them).
    extension : str
        ``".npz"`` or ``".safetensors"``.

    Raises
    ------
    UsageError
        Naming ``to``: another extension, or ``.safetensors`` without the safetensors package.
    """
    weight = np.ascontiguousarray(mix.weights.reshape(mix.n_outputs, mix.n_inputs, 1, 1))
    bias = np.ascontiguousarray(mix.bias)
    if extension == ".npz":
        buffer = io.BytesIO()
        np.savez(buffer, weight=weight, bias=bias)
        return buffer.getvalue()
    if extension == ".safetensors":
        try:
            from safetensors.numpy import save
        except ImportError as exc:
            raise UsageError(
                "to torch: writing .safetensors needs the safetensors package "
                "(pip install safetensors); .npz needs nothing more",
                parameter="to",
            ) from exc
        return save({"weight": weight, "bias": bias})
    raise UsageError(
        f"to torch: the file name chooses the container, {' or '.join(TORCH_EXTENSIONS)}, "
        f"not {extension or 'no extension'}",
        parameter="to",
    )
