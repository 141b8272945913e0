"""Decoding ``sensor_msgs/PointCloud2`` buffers with numpy structured dtypes (zero-copy views).

PointField datatypes (sensor_msgs/PointField): 1 INT8, 2 UINT8, 3 INT16, 4 UINT16, 5 INT32,
6 UINT32, 7 FLOAT32, 8 FLOAT64; ``count`` > 1 makes a sub-array. Packed colours follow the PCL
convention: ``rgb`` is 0x00RRGGBB (often stored in a float32 field), ``rgba`` 0xAARRGGBB.
"""
from __future__ import annotations

import numpy as np

from .base import MappingError

__all__ = ["cloud_dtype", "cloud_points", "xyz_and_colors", "POINTFIELD_DTYPES"]

POINTFIELD_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}


def cloud_dtype(fields, point_step: int, big_endian: bool) -> np.dtype:
    """Structured dtype of one point (itemsize ``point_step``) from the message's PointFields.

    Raises:
        MappingError: unknown datatype, a field overflowing ``point_step``, bad point_step.
    """
    if point_step <= 0:
        raise MappingError(f"PointCloud2: point_step must be positive, got {point_step}")
    order = ">" if big_endian else "<"
    names, formats, offsets = [], [], []
    for f in fields:
        name = getattr(f, "name", "")
        if not name or name in names:
            continue
        code = POINTFIELD_DTYPES.get(int(f.datatype))
        if code is None:
            raise MappingError(f"PointCloud2: field {name!r} has unknown datatype {f.datatype}")
        count = max(int(getattr(f, "count", 1) or 1), 1)
        dt = np.dtype(order + code)
        end = int(f.offset) + dt.itemsize * count
        if int(f.offset) < 0 or end > point_step:
            raise MappingError(f"PointCloud2: field {name!r} (offset {f.offset}, {dt.itemsize * count} "
                               f"bytes) overflows point_step {point_step}")
        names.append(name)
        formats.append(dt if count == 1 else (dt, (count,)))
        offsets.append(int(f.offset))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step})


def cloud_points(msg) -> np.ndarray:
    """The points of a PointCloud2 as a structured array of shape (height * width,), a view of
    ``msg.data`` when rows are not padded.

    Raises:
        MappingError: data shorter than ``row_step * height``, or ``row_step < width * point_step``.
    """
    width, height = int(msg.width), int(msg.height)
    step, row_step = int(msg.point_step), int(msg.row_step)
    dt = cloud_dtype(msg.fields, step, bool(msg.is_bigendian))
    try:  # any buffer, including rclpy's array.array, is viewed without a copy
        raw = np.frombuffer(msg.data, dtype=np.uint8)
    except TypeError:  # a plain list of ints
        raw = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if row_step < width * step:
        raise MappingError(f"PointCloud2: row_step {row_step} < width {width} x point_step {step}")
    need = row_step * (height - 1) + width * step if height else 0
    if raw.size < need:
        raise MappingError(f"PointCloud2: data has {raw.size} bytes, expected {row_step * height} "
                           f"(row_step {row_step} x height {height})")
    n = width * height
    if n == 0:
        return np.zeros(0, dtype=dt)
    if row_step == width * step:
        return raw[: n * step].view(dt)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(height, width * step), strides=(row_step, 1))
    return np.ascontiguousarray(rows).reshape(-1).view(dt)


def _turbo_lut() -> np.ndarray:
    x = np.linspace(0.0, 1.0, 256)
    # Polynomial fit of the Turbo colormap (public-domain approximation by A. Mikhailov, 2019).
    r = 0.13572138 + x * (4.61539260 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))))
    g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))))
    b = 0.10667330 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))))
    rgb = np.clip(np.stack([r, g, b], 1) * 255.0, 0, 255).astype(np.uint32)
    return (rgb[:, 0] << 24) | (rgb[:, 1] << 16) | (rgb[:, 2] << 8) | np.uint32(255)


TURBO = _turbo_lut()


def colormap(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map values (n,) to packed RGBA uint32 (n,) through Turbo over [lo, hi] (default min..max).
    Values that are all the same (a simulator's zero intensities) carry no contrast: they get
    Turbo's middle colour, not its darkest (which is nearly invisible on a dark background)."""
    v = np.asarray(values, dtype=np.float32)
    if v.size == 0:
        return np.zeros(0, np.uint32)
    if lo is None or hi is None:
        vmin, vmax = float(v.min()), float(v.max())  # NaN-propagating but fast
        if vmin != vmin or vmax != vmax:
            vmin, vmax = float(np.nanmin(v)), float(np.nanmax(v))
        lo = vmin if lo is None else lo
        hi = vmax if hi is None else hi
    if not hi > lo:
        return np.full(v.shape, TURBO[128], np.uint32)
    scale = 255.0 / (hi - lo)
    idx = np.clip((v - lo) * scale, 0, 255)
    if np.isnan(idx.sum()):
        idx = np.nan_to_num(idx, nan=0.0)
    idx = idx.astype(np.uint8)
    return TURBO[idx]


def xyz_and_colors(msg) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions (n, 3) float32 in metres and packed RGBA colours (n,) uint32 or None.

    Colours come from an ``rgb``/``rgba`` field, else from ``intensity`` through Turbo.
    Points with a non-finite coordinate are dropped (non-dense clouds mark missing points NaN).

    Raises:
        MappingError: no x/y/z fields, or a malformed buffer (see :func:`cloud_points`).
    """
    pts = cloud_points(msg)
    names = pts.dtype.names or ()
    for c in "xyz":
        if c not in names:
            raise MappingError(f"PointCloud2: no {c!r} field (fields: {', '.join(names) or 'none'})")
    f = pts.dtype.fields
    if (f["x"][0] == np.dtype("<f4") and f["y"][0] == f["x"][0] and f["z"][0] == f["x"][0]
            and f["y"][1] == f["x"][1] + 4 and f["z"][1] == f["x"][1] + 8 and np.little_endian):
        # x, y, z are three adjacent float32: one strided copy of a (n, 3) view
        step = pts.dtype.itemsize
        base = np.ndarray((len(pts), 3), dtype=np.float32, buffer=pts, offset=f["x"][1], strides=(step, 4))
        pos = np.ascontiguousarray(base)
    else:
        pos = np.empty((len(pts), 3), dtype=np.float32)
        pos[:, 0] = pts["x"]
        pos[:, 1] = pts["y"]
        pos[:, 2] = pts["z"]
    colors = None
    if "rgb" in names or "rgba" in names:
        name = "rgb" if "rgb" in names else "rgba"
        col = pts[name]
        if col.dtype.itemsize == 4:
            raw = col.view(np.dtype(col.dtype.byteorder.replace("|", "=") + "u4")).astype(np.uint32)
            if name == "rgba":
                alpha = raw >> 24
                if not alpha.any():
                    alpha = np.uint32(255)
                colors = ((raw & 0xFFFFFF) << 8) | alpha
            else:
                colors = ((raw & 0xFFFFFF) << 8) | np.uint32(255)
    elif "intensity" in names:
        colors = colormap(pts["intensity"])
    if not np.isfinite(pos.sum()):  # one pass; only then find which points are not finite
        finite = np.isfinite(pos).all(axis=1)
        pos = pos[finite]
        if colors is not None:
            colors = colors[finite]
    return pos, colors
