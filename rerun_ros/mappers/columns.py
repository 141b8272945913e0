"""Helpers of the column mappers: archetype columns for all rows of a batch from numpy arrays.

Each helper returns component columns (one list per row, see
:func:`rerun_ros.model.components.list_column`) with Rerun 0.41's component types: vectors as
``fixed_size_list<float32>[3]``, quaternions ``[4]`` xyzw, colours packed uint32 0xRRGGBBAA,
scalars float64. Rows that have nothing to draw (NaN positions, no fix) are null in that
column; they keep their row (and their lossless ``:message`` struct).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C
from ..model.rotations import matrices_to_quats, quat_rotate, unit_quaternions  # noqa: F401 (also its names)
from .base import Columns, MapContext, MessageBatch

__all__ = ["fixed", "per_row", "scalars_columns", "series_names", "pose_arrows", "covariance_ellipsoids",
           "unit_quaternions", "flat_offsets"]  # (unit_quaternions: from model.rotations)

ARROW_LENGTH = 0.5  # m, like rviz's default pose arrow


def fixed(values: np.ndarray, k: int, dtype=np.float32) -> pa.Array:
    """(m, k) numbers → ``fixed_size_list<dtype not null>[k]`` instances."""
    typ = pa.list_(pa.field("item", pa.from_numpy_dtype(np.dtype(dtype)), nullable=False), k)
    return C.values_array(np.asarray(values, dtype).reshape(-1, k), typ)


def per_row(values: pa.Array, valid: np.ndarray | None = None) -> pa.Array:
    """A column with one instance per row (row i = values[i]); rows not ``valid`` are null."""
    return C.list_column(values, valid=valid)


def flat_offsets(counts: np.ndarray) -> np.ndarray:
    """int64 (n + 1,) list offsets from per-row counts."""
    off = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return off


def series_names(ctx: MapContext, entity: str, names: list[str]) -> list[Columns]:
    """A static ``SeriesLines:names`` row for constant series names, logged again only when the
    names change (per entity)."""
    key = ("series_names", entity)
    if ctx.state.get(key) == names:
        return []
    ctx.state[key] = list(names)
    col = C.list_column(C.array(names, pa.utf8()), np.array([0, len(names)]))
    return [Columns(entity, {A.SeriesLines.column("names"): col}, static=True)]


def scalars_columns(values: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """``Scalars:scalars`` of (n, k) float64 values: k series, one list of k per row."""
    v = np.ascontiguousarray(values, np.float64)
    n, k = v.shape
    col = C.list_column(C.array(v.reshape(-1), pa.float64()), np.arange(0, n * k + 1, k, dtype=np.int64) if k
                        else np.zeros(n + 1, np.int64), valid=valid)
    return {A.Scalars.column("scalars"): col}


def pose_arrows(p: np.ndarray, q: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """``Arrows3D`` of poses (position p (n, 3), orientation q (n, 4) xyzw), one arrow per row
    along the pose's x axis (rviz's pose arrow), null where the position is not finite.

    Returns:
        (columns, drawn (n,) bool, bad_rotation (n,) bool: finite position, invalid quaternion).
    """
    qn, qok = unit_quaternions(q)
    pok = np.isfinite(p).all(axis=1)
    drawn = pok & qok
    vec = quat_rotate(qn, np.tile([[ARROW_LENGTH, 0.0, 0.0]], (len(p), 1)))
    cols = {A.Arrows3D.column("vectors"): per_row(fixed(vec, 3), drawn),
            A.Arrows3D.column("origins"): per_row(fixed(np.where(pok[:, None], p, 0.0), 3), drawn)}
    return cols, drawn, pok & ~qok


def covariance_ellipsoids(p: np.ndarray, cov6x6: np.ndarray, drawn: np.ndarray, cache: dict | None = None) -> dict:
    """``Ellipsoids3D`` (1 σ) of the position part (top-left 3x3, row-major, m²) of 6x6 pose
    covariances (n, 36); null where not ``drawn`` or the covariance is zero or not finite.
    ``cache`` (a dict the caller keeps, e.g. a topic's ``MapContext.state``): the decompositions
    of the last few distinct covariances, reused by later batches (live batches of a few
    messages repeat one covariance: no eigen-decomposition each)."""
    n = len(p)
    c = np.asarray(cov6x6, np.float64).reshape(n, 6, 6)[:, :3, :3]
    ok = drawn & np.isfinite(c).all(axis=(1, 2)) & c.any(axis=(1, 2))
    half = np.zeros((n, 3))
    quat = np.zeros((n, 4))
    quat[:, 3] = 1.0
    if ok.any():
        # covariances repeat (often one for the whole run): decompose each run of equal ones once
        flat = c[ok].reshape(-1, 9)
        starts = np.concatenate([[True], (flat[1:] != flat[:-1]).any(axis=1)])
        inv = np.cumsum(starts) - 1
        distinct = flat[starts]
        got = None
        if cache is not None and len(distinct) <= _COV_CACHE:
            keys = [r.tobytes() for r in distinct]
            hit = [cache.get(k) for k in keys]
            if all(h is not None for h in hit):
                got = (np.array([h[0] for h in hit]), np.array([h[1] for h in hit]))
        if got is None:
            cs = distinct.reshape(-1, 3, 3)
            cs = (cs + np.transpose(cs, (0, 2, 1))) / 2
            w, v = np.linalg.eigh(cs)
            w = np.clip(w, 0.0, None)
            flip = np.linalg.det(v) < 0
            v[flip, :, 2] *= -1
            got = (np.sqrt(w), matrices_to_quats(v))
            if cache is not None and len(distinct) <= _COV_CACHE:
                if len(cache) > 4 * _COV_CACHE:
                    cache.clear()
                for k, h, q in zip(keys, got[0], got[1]):
                    cache[k] = (h, q)
        half[ok] = got[0][inv.reshape(-1)]
        quat[ok] = got[1][inv.reshape(-1)]
    color = C.array(np.full(n, 0xFF00FF60, np.uint32), pa.uint32())
    return {A.Ellipsoids3D.column("half_sizes"): per_row(fixed(half, 3), ok),
            A.Ellipsoids3D.column("centers"): per_row(fixed(np.where(ok[:, None], p, 0.0), 3), ok),
            A.Ellipsoids3D.column("quaternions"): per_row(fixed(quat, 4), ok),
            A.Ellipsoids3D.column("colors"): per_row(color, ok)}


_COV_CACHE = 8  # distinct covariances of a batch looked up in the cache (more: decomposed, as a bag's are)


def vector_pair(batch: MessageBatch, ctx: MapContext, a: str, b: str, names: list[str],
                entity: str) -> list[Columns]:
    """Two vectors per row (linear/angular, force/torque) as two arrows from the frame origin
    (red, blue; null where not finite) and six scalars, on ``entity``."""
    va = batch.vectors(a)
    vb = batch.vectors(b)
    n = len(va)
    vecs = np.stack([va, vb], axis=1)  # (n, 2, 3)
    ok = np.isfinite(vecs).all(axis=(1, 2))
    off = np.arange(0, 2 * n + 1, 2, dtype=np.int64)
    colors = C.array(np.tile(np.array([0xE63C3CFF, 0x3C5AE6FF], np.uint32), n), pa.uint32())
    comps = {A.Arrows3D.column("vectors"): C.list_column(fixed(vecs.reshape(-1, 3), 3), off, ok),
             A.Arrows3D.column("origins"): C.list_column(fixed(np.zeros((2 * n, 3)), 3), off, ok),
             A.Arrows3D.column("colors"): C.list_column(colors, off, ok)}
    comps.update(scalars_columns(vecs.reshape(n, 6)))
    rows = None if entity == ctx.entity else np.arange(n, dtype=np.int64)
    return series_names(ctx, entity, names) + [Columns(entity, comps, rows=rows)]


def rows_to_columns(per_row: list, entity: str) -> dict:
    """Component columns from per-row archetype lists (None or [] = the row has none): for
    big messages mapped one at a time (images, clouds), whose payloads are views."""
    n = len(per_row)
    parts: dict = {}
    for i, archs in enumerate(per_row):
        for a in archs or ():
            for d, arr in a.component_batches():
                parts.setdefault(d, [None] * n)[i] = arr
    out = {}
    for d, lst in parts.items():
        present = [C.to_arrow(p) for p in lst if p is not None]
        typ = present[0].type
        present = [p if p.type == typ else p.cast(typ) for p in present]
        counts = np.array([0 if p is None else len(p) for p in lst], np.int64)
        valid = np.array([p is not None for p in lst], bool)
        values = (present[0] if len(present) == 1 else
                  _adjacent_blobs(present) if typ == C.BLOB else None)
        if values is None:
            values = pa.concat_arrays(present)
        out[d] = C.list_column(values, flat_offsets(counts), valid)
    return out


def _adjacent_blobs(blobs: list) -> pa.Array | None:
    """The blobs (``list<uint8>`` arrays of one row each) as one array without copying their
    bytes when they lie back to back in memory (the images of one decoded batch are views of
    one buffer), else None."""
    addr, sizes = [], []
    for b in blobs:
        if len(b) != 1 or b.null_count:
            return None
        v = b.values
        lo, hi = (int(x) for x in C.list_offsets(b)[:2])  # (no Arrow scalars: .as_py imports pandas)
        buf = v.buffers()[1]
        if buf is None:
            return None
        addr.append(buf.address + v.offset + lo)
        sizes.append(hi - lo)
    a = np.asarray(addr, np.int64)
    n = np.asarray(sizes, np.int64)
    if len(a) > 1 and not (a[1:] == a[:-1] + n[:-1]).all():
        return None
    total = int(n.sum())
    data = pa.foreign_buffer(int(a[0]), total, base=blobs)  # keeps the blobs (and their memory) alive
    inner = pa.Array.from_buffers(pa.uint8(), total, [None, data])
    offsets = np.zeros(len(n) + 1, np.int64)
    np.cumsum(n, out=offsets[1:])
    return pa.ListArray.from_arrays(C.offsets_array(offsets), inner, type=C.BLOB)


def list_values(arr) -> tuple[np.ndarray, np.ndarray]:
    """(values as numpy, int64 offsets (n + 1,)) of a list<primitive> array, zero-copy where
    Arrow allows (offset-aware)."""
    off = C.list_offsets(arr)
    vals = C.to_numpy(arr.values)
    return vals, off
