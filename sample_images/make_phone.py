"""Make ``phone/``: ``coffee.png`` stored as a phone stores a photograph taken holding the
phone upright -- the pixels lying on their side, EXIF Orientation 6 ("rotate 90 degrees
clockwise to display") -- with a phone's usual tags, as JPEG and as HEIC.

Files:

- ``IMG_0001.jpg``: the 600 x 400 photograph stored on its side (400 wide, 600 high), baseline
  JPEG, quality 90, with EXIF Make, Model, DateTime, Orientation 6 and a GPS position (a
  made-up one: 48.8584 N, 2.2945 E).
- ``IMG_0001.heic``: the same pixels and EXIF as HEIC (written only when ``pillow-heif`` is
  installed: ``pip install 'chanmix[heic]'``; the file in the repository was written by
  pillow-heif 1.8.1).

A viewer that honours the tag shows the coffee cup upright; ``chanmix apply --auto-orient``
turns the pixels so. Run from the repository root::

    python sample_images/make_phone.py              # rewrites sample_images/phone/
    python sample_images/make_phone.py OUT_FOLDER   # writes them somewhere else
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent

#: EXIF tag numbers (TIFF/EXIF 2.3): Make, Model, Orientation, DateTime, the GPS IFD pointer.
MAKE, MODEL, ORIENTATION, DATETIME, GPS_IFD = 0x010F, 0x0110, 0x0112, 0x0132, 0x8825


def exif() -> Image.Exif:
    """A phone's tags: the camera, the time, Orientation 6 and a GPS position."""
    tags = Image.Exif()
    tags[MAKE] = "chanmix"
    tags[MODEL] = "sample phone"
    tags[DATETIME] = "2026:12:03 12:00:00"
    tags[ORIENTATION] = 6
    tags[GPS_IFD] = {
        1: "N",  # GPSLatitudeRef
        2: (48.0, 51.0, 30.24),  # GPSLatitude: 48 51' 30.24"
        3: "E",  # GPSLongitudeRef
        4: (2.0, 17.0, 40.2),  # GPSLongitude: 2 17' 40.2"
    }
    return tags


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    upright = np.asarray(Image.open(HERE / "coffee.png").convert("RGB"))
    # Orientation 6: the stored pixels turned 90 degrees clockwise give the upright photograph,
    # so the stored ones are the upright ones turned 90 degrees counter-clockwise.
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1)))
    stored.save(out / "IMG_0001.jpg", quality=90, exif=exif().tobytes())
    try:
        import pillow_heif
    except ImportError:
        print("pillow-heif is not installed: IMG_0001.heic not written", file=sys.stderr)
        return
    pillow_heif.register_heif_opener()
    stored.save(out / "IMG_0001.heic", quality=90, exif=exif().tobytes())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "phone")
