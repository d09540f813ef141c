"""World map choropleths drawn server-side as SVG, from the world-atlas TopoJSON shipped in static/vendor.

The geometry (world-atlas@2.0.2 ``countries-110m.json``, Natural Earth 1:110m, fetched by
``scripts/vendor-assets.sh``) is decoded once — quantised, delta-encoded arcs stitched into rings —
projected with the Natural Earth projection and kept in memory as SVG path data keyed by ISO 3166-1
alpha-2 code. Colours come from CSS classes (the CSP forbids style attributes), so a map is just
markup: one ``<path class="...">`` with a ``<title>`` per country.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycountry

GEOMETRY = Path(__file__).parent / "static" / "vendor" / "countries-110m.json"
WIDTH = 960
_SKIP = {"010"}  # Antarctica: no state, and it would take a fifth of the height
_BY_NAME = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}  # features without an ISO numeric id


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str
    path: str  # SVG path data in map coordinates


@dataclass(frozen=True)
class WorldMap:
    width: int
    height: int
    countries: tuple[Country, ...]


def natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """The Natural Earth I projection (Šavrič et al. 2011; d3-geo's polynomial), in radians out."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))
    return x, y


def decode_arcs(topology: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    """Absolute (lon, lat) points of every arc: undo the delta encoding, then the quantisation."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indexes: Iterable[int]) -> list[tuple[float, float]]:
    """Stitch arcs into one ring; a negative index ``~i`` means arc ``i`` reversed."""
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def polygons(geometry: Mapping[str, Any]) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    return []


def split_at_antimeridian(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Cut a ring where it jumps across ±180° (e.g. Fiji, Chukotka), so no stroke spans the whole map.

    The pieces on one side are closed separately; the first and last pieces are the same side and join.
    """
    pieces = [[points[0]]] if points else []
    for prev, cur in zip(points, points[1:], strict=False):
        if abs(cur[0] - prev[0]) > 180:
            pieces.append([])
        pieces[-1].append(cur)
    if len(pieces) > 1:
        pieces[0] = pieces.pop() + pieces[0]
    return [p for p in pieces if len(p) > 2]


def alpha2(geometry: Mapping[str, Any]) -> str | None:
    name = geometry.get("properties", {}).get("name", "")
    if name in _BY_NAME:
        return _BY_NAME[name]
    numeric = geometry.get("id")
    country = pycountry.countries.get(numeric=numeric) if numeric else None
    return country.alpha_2 if country else None


def _bounds(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _path(rings: list[list[tuple[float, float]]], fit: Any) -> str:
    parts = []
    for r in rings:
        coords = [fit(p) for p in r]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in coords) + "Z")
    return "".join(parts)


@lru_cache(maxsize=1)
def world() -> WorldMap:
    """Decode, project and fit the shipped geometry once per process."""
    topology = json.loads(GEOMETRY.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = alpha2(geometry)
        if code is None or geometry.get("id") in _SKIP:
            continue
        pieces = [piece for poly in polygons(geometry) for r in poly for piece in split_at_antimeridian(ring(arcs, r))]
        rings = [[natural_earth(*p) for p in piece] for piece in pieces]
        features.append((code, geometry["properties"]["name"], rings))
    x0, y0, x1, y1 = _bounds(p for _, _, rings in features for r in rings for p in r)
    scale = (WIDTH - 4) / (x1 - x0)
    height = round((y1 - y0) * scale) + 4

    def fit(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] - x0) * scale + 2, (y1 - p[1]) * scale + 2  # SVG's y axis points down

    countries = tuple(Country(code, name, _path(rings, fit)) for code, name, rings in features)
    return WorldMap(WIDTH, height, countries)


def choropleth(
    status_of: Mapping[str, str], labels: Mapping[str, str], names: Mapping[str, str]
) -> list[dict[str, str]]:
    """One entry per drawn country: its path, CSS class (``st-<status>``) and accessible title.

    ``status_of`` maps alpha-2 codes to a status key; countries without one get ``st-none``.
    ``labels`` turns status keys into words; ``names`` prefers the node's own state names.
    """
    out = []
    for c in world().countries:
        status = status_of.get(c.code, "none")
        name = names.get(c.code, c.name)
        out.append({"code": c.code, "path": c.path, "cls": f"st-{status}", "title": f"{name}: {labels[status]}"})
    return out
