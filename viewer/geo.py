"""What a map view draws, as plain arrays (no GL): GeoPoints tracks (WGS-84 latitude/longitude,
degrees; ``sensor_msgs/NavSatFix``) on a local east-north plane in metres from a reference fix,
a round scale-bar length, and the Web Mercator (slippy map) tiles that cover an area.

Conventions: the local plane is the tangent plane at the reference (ENU, REP 103's east-north-up
with up dropped), from the WGS-84 ellipsoid's radii of curvature at the reference latitude
(accurate to centimetres over a few kilometres); tiles are numbered as OpenStreetMap's
``{z}/{x}/{y}`` (x east from 180° W, y south from 85.0511° N)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model.components import as_numpy, list_offsets
from ..store.chunk_store import ChunkStore

__all__ = ["GeoTrack", "geo_tracks", "to_local", "from_local", "scale_bar_length", "tiles_covering", "tile_bounds",
           "is_geo", "GeoLines", "geo_lines", "LINES_COLUMN"]

WGS84_A = 6378137.0
WGS84_E2 = 6.69437999014e-3
GEO_COLUMN = "GeoPoints:positions"


LINES_COLUMN = "GeoLineStrings:line_strings"


def is_geo(columns) -> bool:
    """Whether an entity with these ``Archetype:field`` columns draws in a map view (GeoPoints
    tracks, GeoLineStrings routes)."""
    return GEO_COLUMN in columns or LINES_COLUMN in columns


@dataclass
class GeoLines:
    """One entity's GeoLineStrings at a time: ``strings`` a list of (k, 2) [lat, lon] degree
    arrays, ``colors`` (n, 4) uint8 one per string."""

    entity: str
    strings: list = field(default_factory=list)
    colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))


def geo_lines(store: ChunkStore, entities: list[str], timeline: str, t: int) -> list[GeoLines]:
    """The latest GeoLineStrings (routes, geofences) of each entity at ``t``; vertices outside
    ±90°/±180° or not finite are left out."""
    from .geometry import colors as _colors
    out = []
    for e in entities:
        if LINES_COLUMN not in store.columns(e):
            continue
        la = store.latest_at(e, timeline, t)
        ls = la.get(LINES_COLUMN)
        if ls is None or not len(ls.values):
            continue
        v = ls.values
        off = list_offsets(v)
        pts = as_numpy(v.values.flatten()).reshape(-1, 2).astype(float)
        strings = []
        for i in range(len(v)):
            p = pts[off[i]:off[i + 1]]
            ok = np.isfinite(p).all(axis=1) & (np.abs(p[:, 0]) <= 90) & (np.abs(p[:, 1]) <= 180)
            strings.append(p[ok])
        out.append(GeoLines(e, strings, _colors(la.get("GeoLineStrings:colors"), len(strings))))
    return out


def _radii(lat0_deg: float) -> tuple[float, float]:
    """(meridian radius M, prime-vertical radius N) in m at a latitude (WGS-84)."""
    s = math.sin(math.radians(lat0_deg))
    w = math.sqrt(1.0 - WGS84_E2 * s * s)
    return WGS84_A * (1 - WGS84_E2) / w ** 3, WGS84_A / w


def to_local(latlon: np.ndarray, ref: tuple[float, float]) -> np.ndarray:
    """(n, 2) degrees [lat, lon] -> (n, 2) m [east, north] from ``ref`` (lat, lon degrees)."""
    ll = np.asarray(latlon, float).reshape(-1, 2)
    m, n = _radii(ref[0])
    dlat = np.radians(ll[:, 0] - ref[0])
    dlon = np.radians((ll[:, 1] - ref[1] + 180.0) % 360.0 - 180.0)
    return np.stack([n * math.cos(math.radians(ref[0])) * dlon, m * dlat], axis=1)


def from_local(en: np.ndarray, ref: tuple[float, float]) -> np.ndarray:
    """(n, 2) m [east, north] from ``ref`` -> (n, 2) degrees [lat, lon] (inverse of :func:`to_local`)."""
    p = np.asarray(en, float).reshape(-1, 2)
    m, n = _radii(ref[0])
    lat = ref[0] + np.degrees(p[:, 1] / m)
    lon = ref[1] + np.degrees(p[:, 0] / (n * max(math.cos(math.radians(ref[0])), 1e-12)))
    return np.stack([lat, lon], axis=1)


def scale_bar_length(view_width_m: float) -> float:
    """A round length (1, 2 or 5 × 10^k m) about a fifth of ``view_width_m``."""
    raw = max(view_width_m, 1e-6) / 5
    k = 10 ** math.floor(math.log10(raw))
    for s in (5, 2, 1):
        if s * k <= raw * (1 + 1e-9):
            return float(s * k)
    return float(k)


@dataclass
class GeoTrack:
    """One entity's fixes up to a time: ``times`` (n,) int64 ns, ``latlon`` (n, 2) degrees."""

    entity: str
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    latlon: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))


def geo_tracks(store: ChunkStore, entities: list[str], timeline: str, t: int) -> list[GeoTrack]:
    """Every GeoPoints entity's positions logged at or before ``t`` (ns), in time order; rows
    without a fix (null or empty) are skipped, as are positions outside ±90°/±180°."""
    out = []
    for e in entities:
        if GEO_COLUMN not in store.columns(e):
            continue
        r = store.range(e, timeline, -2**62, t, GEO_COLUMN, include_latest_at=False)
        if not len(r):
            out.append(GeoTrack(e))
            continue
        off = list_offsets(r.values)
        flat = as_numpy(r.values.flatten().flatten()).reshape(-1, 2).astype(float)
        counts = np.diff(off)
        times = np.repeat(np.asarray(r.times, np.int64), counts)
        ll = flat[off[0]:off[-1]] if len(off) else flat
        ok = np.isfinite(ll).all(axis=1) & (np.abs(ll[:, 0]) <= 90) & (np.abs(ll[:, 1]) <= 180)
        # a null row (no fix) may still hold its placeholder values: only rows the validity mask keeps
        valid = np.asarray(r.values.is_valid()) if r.values.null_count else np.ones(len(r), bool)
        ok &= np.repeat(valid, counts)
        out.append(GeoTrack(e, times[ok], ll[ok]))
    return out


def _tile_xy(lat: float, lon: float, z: int) -> tuple[float, float]:
    lat = max(min(lat, 85.05112878), -85.05112878)
    n = 2 ** z
    x = (lon + 180.0) / 360.0 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(south, west, north, east) degrees of slippy-map tile ``z/x/y``."""
    n = 2 ** z

    def lat(yy):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))
    return lat(y + 1), x / n * 360.0 - 180.0, lat(y), (x + 1) / n * 360.0 - 180.0


def tiles_covering(south: float, west: float, north: float, east: float, max_tiles: int = 16,
                   max_zoom: int = 19) -> list[tuple[int, int, int]]:
    """The tiles ``(z, x, y)`` of the deepest zoom level (<= ``max_zoom``) at which at most
    ``max_tiles`` tiles cover the box (degrees)."""
    for z in range(max_zoom, -1, -1):
        x0, y0 = _tile_xy(north, west, z)
        x1, y1 = _tile_xy(south, east, z)
        xs = range(int(math.floor(x0)), int(math.floor(x1)) + 1)
        ys = range(int(math.floor(y0)), int(math.floor(y1)) + 1)
        if len(xs) * len(ys) <= max_tiles:
            n = 2 ** z
            return [(z, x % n, y) for y in ys for x in xs if 0 <= y < n]
    return [(0, 0, 0)]
