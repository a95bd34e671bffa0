"""``chanmix info``: what an image holds, band by band."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from ..errors import ChanmixError
from ..io import GeoInfo, image_number, open_raster
from ..io.envi_geo import projection_name
from ..pipeline import effective_nodata
from ..stats import band_stats
from . import options as opt
from .flags import flag_message


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _per_band(values: tuple[float, ...] | None, bands: int) -> list[float | None]:
    return [_finite(v) for v in values] if values else [None] * bands


def _crs_note(geo: GeoInfo | None) -> str | None:
    """What an ENVI map info's CRS comes to, when chanmix does not identify it."""
    if geo is None or geo.envi_map is None or geo.crs is not None:
        return None
    name = projection_name(geo.envi_map[0])
    if name.lower() == "arbitrary":
        return "ENVI map info 'Arbitrary': a pixel grid without a CRS"
    return f"not carried: ENVI map info {name!r} is not identified; TIFF outputs keep only the pixel grid"


def describe(path: str, page: int, series: int | None, nodata_choice: Any) -> dict[str, Any]:
    """Everything ``info`` reports about one image, as JSON-ready values."""
    with open_raster(path, page=image_number(path, page, series)) as reader:
        info = reader.info
        nodata = effective_nodata(nodata_choice, info)
        stats = band_stats((band for _, band in reader.row_bands()), nodata)
    names = info.band_names or (None,) * info.bands
    wavelengths, fwhm = _per_band(info.wavelengths, info.bands), _per_band(info.fwhm, info.bands)
    geo = info.geo
    return {
        "path": str(path),
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
        "nodata": None if nodata is None else ("nan" if math.isnan(nodata) else nodata),
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
    if d["nodata"] is not None:
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
    spectral = [k for k in ("wavelength_nm", "fwhm_nm") if any(s[k] is not None for s in d["band_stats"])]
    labels = [{"wavelength_nm": "wavelength nm", "fwhm_nm": "fwhm nm"}[k] for k in spectral]
    rows: list[tuple[str, ...]] = [("band", "name", *labels, "min", "max", "mean", "std", "valid")]
    for s in d["band_stats"]:
        rows.append(
            (
                str(s["band"]),
                s["name"] or "",
                *("-" if s[k] is None else f"{s[k]:.6g}" for k in (*spectral, "min", "max", "mean", "std")),
                str(s["valid"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        add("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


@click.command("info")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@opt.page_opt
@opt.series_opt
@opt.nodata_opt
@opt.max_memory_opt
@opt.json_opt
def info_cmd(inputs: tuple[str, ...], page: int, series: int | None, nodata: Any, as_json: bool) -> None:
    """Size, bands, sample type, layout, per-band statistics, nodata and georeferencing.

    Statistics leave out nodata and non-finite samples. ENVI rasters (the .hdr header or its
    data file) also show each band's centre wavelength and FWHM in nanometres, and their map
    info. With --json, one JSON object per input, one per line.

    \b
    Examples:
      chanmix info sample_images/multispectral.tif
      chanmix info cube.hdr
      chanmix info scene.tif --json | jq '.band_stats[].mean'
    """
    failures = 0
    for path in inputs:
        try:
            d = describe(path, page, series, nodata)
        except ChanmixError as exc:
            if len(inputs) == 1:
                raise
            failures += 1
            click.echo("Error: " + flag_message(exc, "info"), err=True)
            continue
        click.echo(json.dumps(d) if as_json else _text(d))
    if failures:
        raise click.exceptions.Exit(1)
