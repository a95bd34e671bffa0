"""Mutations of text matrix files for the fuzz harness: JSON structure and numbers, text tables.

Like bench/fuzz_formats.py: each mutator takes (bytes, random.Random) and returns new bytes.
"""

from __future__ import annotations

import json
import random

NUMBERS = (
    "1e308",
    "-1e308",
    "1e309",
    "-1e309",
    "1" + "0" * 400,
    "9" * 5000,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e-320",
    "-0.0",
    "3.5e38",
    "1.7976931348623157e308",
    "true",
    "null",
    '"1"',
    "[]",
    "{}",
    "0x10",
    "1_000",
    "\u22121",
    "\uff11",
    "",
    "1e",
    "--1",
    ".",
)


def json_struct(data: bytes, rng: random.Random) -> bytes:
    """A structurally odd but often valid JSON matrix: nesting tens of thousands deep, lying
    shapes, wrong types, huge or non-finite numbers (as raw text), odd encodings."""
    doc = json.loads(data)
    what = rng.randrange(6)
    if what == 0:
        depth = rng.choice((100, 1000, 100_000, 1_000_000))
        key = rng.choice(("weights", "bias", "names", "source", "layers"))
        doc[key] = "@DEEP@"
        text = json.dumps(doc).replace('"@DEEP@"', "[" * depth + "0.5" + "]" * depth)
        return text.encode()
    if what == 1:
        key = rng.choice(("weights", "weights", "bias"))
        if key == "bias" and "bias" not in doc:
            doc["bias"] = [0.0, 0.0, 0.0]
        target = doc[key]
        row = target[rng.randrange(len(target))] if key == "weights" else target
        row[rng.randrange(len(row))] = "@NUM@"
        return json.dumps(doc).replace('"@NUM@"', rng.choice(NUMBERS)).encode()
    if what == 2:
        doc["weights"] = rng.choice(
            (
                [],
                [[]],
                [[1, 2], [3]],
                [1, 2, 3],
                5,
                "abc",
                None,
                {"a": 1},
                [[0.1, 0.2, 0.3]] * 5000,
                [[0.01] * 3] * 3 + [[0.5] * 200_000],
                [[[1]]],
                [["a", "b", "c"]],
                [[True, False, True]] * 3,
                [[None] * 3] * 3,
                [[1, 2, 3], [4, 5, 6], [7, 8, 9]] * 100_000,
            )
        )
    elif what == 3:
        doc["bias"] = rng.choice(([], [1], 5, "x", [[1, 2, 3]], [None] * 3, [0.1] * 100_000, {"b": 1}))
    elif what == 4:
        doc = rng.choice(
            (
                [],
                "text",
                1,
                None,
                {"bias": [0, 0, 0]},
                {"layers": [{"weights": doc["weights"], "activation": "relu"}] * 2},
                {"layers": "x", "weights": doc["weights"]},
                dict(doc, names=[1, 2, 3]),
                dict(doc, names=["a"] * 100_000),
            )
        )
    else:
        text = json.dumps(doc)
        return rng.choice(
            (
                b"\xef\xbb\xbf" + text.encode(),
                text.encode("utf-16"),
                text.encode() + b"\x00garbage",
                b"",
                b"   \n",
                b"// comment\n" + text.encode(),
                text.replace('"weights"', '"weights": 1, "weights"', 1).encode(),
                text.encode().replace(b"x", b"\xff\xfe"),
            )
        )
    return json.dumps(doc).encode()


def text_table(data: bytes, rng: random.Random) -> bytes:
    """A text matrix with odd numbers, ragged or huge rows, odd line ends and encodings."""
    lines = data.decode().splitlines()
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    what = rng.randrange(4)
    if what == 0 and rows:
        i = rng.choice(rows)
        cells = lines[i].replace(",", " ").replace("\t", " ").split()
        cells[rng.randrange(len(cells))] = rng.choice(NUMBERS)
        lines[i] = ",".join(cells)
    elif what == 1 and rows:
        i = rng.choice(rows)
        lines[i] = rng.choice(
            (
                lines[i] + ",1",
                lines[i].rsplit(",", 1)[0],
                ",".join(["0.1"] * 100_000),
                lines[i] + ",",
                ",,",
                "1 ,\t, 2",
            )
        )
    elif what == 2:
        lines = rng.choice(([], ["# only a comment"], [""] * 5, lines * 100_000, [lines[0]] if lines else []))
    else:
        text = "\n".join(lines)
        return rng.choice(
            (
                text.replace("\n", "\r\n").encode(),
                text.replace("\n", "\r").encode(),
                b"\xef\xbb\xbf" + text.encode(),
                text.encode("utf-16"),
                text.encode() + b"\x00",
                text.encode().replace(b"0", b"\xff", 1),
            )
        )
    return ("\n".join(lines) + "\n").encode()
