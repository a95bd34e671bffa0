"""``chanmix info``: what an image holds, band by band."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from ..errors import ChanmixError
from ..io import GeoInfo, open_image
from ..io.envi_geo import projection_name
from ..nodata import Nodata
from ..pipeline import effective_nodata
from ..progress import Progress, counted
from ..stats import band_stats
from . import options as opt
from .flags import flag_message
from .progress import progress_bar, say


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _per_band(values: tuple[float, ...] | None, bands: int) -> list[float | None]:
    return [_finite(v) for v in values] if values else [None] * bands


def _crs_note(geo: GeoInfo | None) -> str | None:
    """What an ENVI map info's (or a WKT's) CRS comes to, when chanmix does not identify it."""
    if geo is None or geo.crs is not None:
        return None
    if geo.envi_map is None:
        kept = "TIFF outputs keep only the pixel grid, Zarr outputs the WKT"
        return None if geo.wkt is None else f"not carried: its WKT names no EPSG code; {kept}"
    name = projection_name(geo.envi_map[0])
    if name.lower() == "arbitrary":
        return "ENVI map info 'Arbitrary': a pixel grid without a CRS"
    return f"not carried: ENVI map info {name!r} is not identified; TIFF outputs keep only the pixel grid"


def _nodata_value(value: float | None) -> float | str | None:
    return None if value is None else ("nan" if math.isnan(value) else value)


def _nodata_json(nodata: Nodata | None) -> float | str | list[float | str | None] | None:
    """A nodata value as JSON: a number, "nan" or null; one per band for a stack whose files
    have different values."""
    if isinstance(nodata, tuple):
        return [_nodata_value(v) for v in nodata]
    return _nodata_value(nodata)


def describe(
    path: str | tuple[str, ...],
    page: int,
    series: int | None,
    nodata_choice: Any,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Everything ``info`` reports about one image (a file, or a tuple of files stacked as
    one), as JSON-ready values; its rows, as they are read, told to `progress`."""
    with open_image(path, page=page, series=series) as reader:
        info = reader.info
        nodata = effective_nodata(nodata_choice, info)
        bands = (band for _, band in reader.row_bands())
        stats = band_stats(
            bands if progress is None else counted(bands, progress, "reading", info.height), nodata
        )
    names = info.band_names or (None,) * info.bands
    wavelengths, fwhm = _per_band(info.wavelengths, info.bands), _per_band(info.fwhm, info.bands)
    geo = info.geo
    return {
        **({"path": info.path, "inputs": list(path)} if isinstance(path, tuple) else {"path": str(path)}),
        "format": info.format,
        "width": info.width,
        "height": info.height,
        "bands": info.bands,
        "dtype": info.dtype.name,
        "layout": info.layout,
        "tile": list(info.tile) if info.tile else None,
        "compression": info.compression,
        "photometric": info.photometric,
        "page": info.page,
        "pages": info.pages,
        "alpha": None if info.alpha is None else info.alpha + 1,
        "nodata": _nodata_json(nodata),
        "resolution": list(info.resolution) if info.resolution else None,
        "resolution_unit": info.resolution_unit,
        "icc_profile_bytes": len(info.icc_profile) if info.icc_profile else None,
        "crs": geo.crs if geo else None,
        "crs_note": _crs_note(geo),
        "transform": list(geo.transform) if geo and geo.transform else None,
        "map_info": geo.envi_map[0] if geo and geo.envi_map else None,
        "description": info.description,
        "streamed": not info.loads_whole,
        "band_stats": [
            {
                "band": b + 1,
                "name": names[b],
                "wavelength_nm": wavelengths[b],
                "fwhm_nm": fwhm[b],
                "valid": s.valid,
                "min": _finite(s.min),
                "max": _finite(s.max),
                "mean": _finite(s.mean),
                "std": _finite(s.std),
            }
            for b, s in enumerate(stats)
        ],
    }


def _text(d: dict[str, Any]) -> str:
    lines = [d["path"]]
    add = lines.append
    add(
        f"  {d['format']}, {d['width']} x {d['height']} pixels, {d['bands']} band"
        f"{'s' * (d['bands'] != 1)}, {d['dtype']}"
    )
    storage = f"tiles {d['tile'][0]}x{d['tile'][1]}" if d["tile"] else "strips/rows"
    add(
        f"  layout: {d['layout']}, {storage}, compression {d['compression']}"
        + (f", photometric {d['photometric']}" if d["photometric"] else "")
    )
    if d["description"]:
        add(f"  description: {d['description']}")
    if d["pages"] > 1:
        add(f"  image {d['page']} of {d['pages']} (0-based; choose with --page)")
    if d["alpha"]:
        add(f"  alpha: band {d['alpha']}")
    if isinstance(d["nodata"], list):
        add("  nodata per band: " + ", ".join("none" if v is None else str(v) for v in d["nodata"]))
    elif d["nodata"] is not None:
        add(f"  nodata: {d['nodata']}")
    if d["resolution"]:
        unit = d["resolution_unit"] or "unit"
        add(f"  resolution: {d['resolution'][0]:g} x {d['resolution'][1]:g} pixels per {unit}")
    if d["icc_profile_bytes"]:
        add(f"  ICC profile: {d['icc_profile_bytes']} bytes")
    if d["crs"] or d["transform"] or d["map_info"]:
        add(f"  CRS: {d['crs_note'] or d['crs'] or 'none'}")
        if d["transform"]:
            add("  transform: " + ", ".join(f"{v:.10g}" for v in d["transform"]))
        if d["map_info"]:
            add(f"  ENVI map info: {{{d['map_info']}}}")
    add("  reading: " + ("by blocks" if d["streamed"] else "the whole image at once (not readable in parts)"))
    # wavelength and fwhm columns when the file records any, written as --bands takes them (865nm)
    spectral = [k for k in ("wavelength_nm", "fwhm_nm") if any(s[k] is not None for s in d["band_stats"])]
    labels = [{"wavelength_nm": "wavelength", "fwhm_nm": "fwhm"}[k] for k in spectral]
    rows: list[tuple[str, ...]] = [("band", "name", *labels, "min", "max", "mean", "std", "valid")]
    for s in d["band_stats"]:
        nanometres = ("-" if s[k] is None else f"{s[k]:g}nm" for k in spectral)
        stats = ("-" if s[k] is None else f"{s[k]:.6g}" for k in ("min", "max", "mean", "std"))
        rows.append((str(s["band"]), s["name"] or "", *nanometres, *stats, str(s["valid"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        add("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


@click.command("info")
@opt.inputs_arg
@opt.stack_opt
@opt.page_opt
@opt.series_opt
@opt.nodata_opt
@opt.max_memory_opt
@opt.json_opt
@opt.quiet_opt
def info_cmd(
    inputs: tuple[str, ...],
    stack: bool,
    page: int,
    series: int | None,
    nodata: Any,
    as_json: bool,
    quiet: bool,
) -> None:
    """Size, bands, sample type, layout, per-band statistics, nodata and georeferencing.

    Bands are listed with their names, centre wavelengths and FWHM (nanometres, when the file
    records them), as --bands takes them (B8A, 865nm). ENVI rasters (the .hdr header or its data
    file) also show their map info; Zarr stores (their folder) their dimensions and chunks.
    Statistics leave out nodata and non-finite samples. With --json, one JSON object per input,
    one per line. With --stack, the INPUTs are described as the one image they make (bands
    named by each file's band descriptions, else its name). On a terminal, a progress bar
    shows on stderr while the statistics are read (not with -q).

    \b
    Examples:
      chanmix info sample_images/multispectral.tif
      chanmix info sample_images/hyperspectral/cube.hdr
      chanmix info scene.tif --json | jq '.band_stats[].mean'
      chanmix info --stack sample_images/landsat/l8_B*.tif
    """
    failures = 0
    images: list[str | tuple[str, ...]] = [inputs] if stack else list(inputs)
    with progress_bar(quiet, files=len(images)) as bar:
        for index, path in enumerate(images):
            try:
                d = describe(path, page, series, nodata, None if bar is None else bar.file(index))
            except ChanmixError as exc:
                if len(images) == 1:
                    raise
                failures += 1
                say("Error: " + flag_message(exc, "info"))
                continue
            finally:
                if bar is not None:
                    bar.file_done(index)
            say(json.dumps(d) if as_json else _text(d), err=False)
    if failures:
        raise click.exceptions.Exit(1)
