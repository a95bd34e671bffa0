"""Make ``network.json``: a tiny per-pixel network (two layers of 1x1 convolutions, ReLU
between them) for the 8-band ``multispectral.tif``.

The weights are written by hand, not trained, so that each unit means something (values in
normalized units, uint16 reflectance-like samples divided by 65535):

hidden layer (8 -> 3, ReLU)
    ``vegetation = B8 - B4`` (near infrared above red), ``water = B3 - B8`` (green above near
    infrared), ``soil = B4 - B3`` (red above green).
output layer (3 -> 3, no activation)
    Four times each hidden unit, as red = soil, green = vegetation, blue = water, so that a
    uint8 output shows the three scores as colours, and ``--argmax`` picks the highest.

Run from the repository root::

    python sample_images/make_network.py              # sample_images/network.json
    chanmix apply sample_images/multispectral.tif -m sample_images/network.json \\
        --dtype uint8 -o scores.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B8", "B8A"]


def unit(plus: str, minus: str) -> list[float]:
    """The weights of ``plus - minus`` over the 8 bands."""
    return [1.0 if b == plus else -1.0 if b == minus else 0.0 for b in BANDS]


def network() -> dict:
    return {
        "name": "multispectral-scores",
        "description": "hand-written 8 -> 3 (ReLU) -> 3 network: soil, vegetation, water scores",
        "layers": [
            {
                "weights": [unit("B8", "B4"), unit("B3", "B8"), unit("B4", "B3")],
                "bias": [0.0, 0.0, 0.0],
                "activation": "relu",
            },
            {
                "weights": [[0.0, 0.0, 4.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0]],
                "bias": [0.0, 0.0, 0.0],
                "activation": "none",
            },
        ],
        "names": ["soil", "vegetation", "water"],
    }


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("network.json")
    target.write_text(json.dumps(network(), indent=2) + "\n")


if __name__ == "__main__":
    main()
