"""What a view draws at a time: pure numpy/pyarrow extraction from a ChunkStore, no GL.

Every view asks the store for the latest-at (or range) data of its entities at the current
time and, for 3D, places each entity's data in the view's fixed frame through the one frame
graph implementation (:class:`rerun_ros.query.frames.FrameGraph`): an entity's ``CoordinateFrame``
names the frame its data is expressed in (its ``header.frame_id``).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..model.components import CHANNEL_DATATYPE_NUMPY, unpack_colors
from ..query.frames import FrameGraph, FrameGraphError, Transform
from ..store.chunk_store import ChunkStore

__all__ = ["Geometry3D", "scene_3d", "image_rgba", "series", "text_log", "decimate_minmax", "frame_graph",
           "overlays_2d"]

DEFAULT_COLOR = np.array([200, 200, 200, 255], np.uint8)
LEVEL_ORDER = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "CRITICAL": 5}


def _vals(la, n: int | None = None) -> np.ndarray | None:
    if la is None:
        return None
    v = la.values
    if pa.types.is_fixed_size_list(v.type):
        return v.flatten().to_numpy(zero_copy_only=False).reshape(len(v), v.type.list_size)
    return v.to_numpy(zero_copy_only=False)


def _colors(la, n: int) -> np.ndarray:
    if la is None or len(la.values) == 0:
        return np.tile(DEFAULT_COLOR, (n, 1))
    c = unpack_colors(la.values.to_numpy(zero_copy_only=False))
    return np.tile(c[:1], (n, 1)) if len(c) == 1 else c[:n]


@dataclass
class Geometry3D:
    """Everything a 3D view draws, in its fixed frame: ``points`` (n, 3) with ``point_colors``
    (n, 4) uint8 and ``point_radii`` (n,) m; ``lines`` as (m, 2, 3) segments with
    ``line_colors`` (m, 4); ``axes`` frame triads as (k, 4, 3) [origin, x, y, z] tips;
    ``problems`` (entity → why it was not drawn, e.g. a transform lookup error)."""

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    point_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    #: metres; NaN = no radius given (drawn at a fixed pixel size); negative = ui points (Rerun)
    point_radii: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.float32))
    line_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    axes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 3), np.float32))
    #: triangle meshes merged: vertices (v, 3), faces (f, 3) uint32, vertex colours (v, 4) uint8
    mesh_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    mesh_faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint32))
    mesh_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    problems: dict = field(default_factory=dict)


def frame_graph(store: ChunkStore, timeline: str) -> FrameGraph:
    """The frame graph of every Transform3D row with parent and child frames in the store
    (only the chunks holding transforms are read)."""
    return FrameGraph.from_chunks(store.chunks_with("Transform3D:child_frame"), timeline=timeline, tolerance_ns=0)


def _box_segments(centers, half, quats) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    edges = [(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 3), (2, 6), (3, 7), (4, 5), (4, 6), (5, 7), (6, 7)]
    out = []
    for c, h, q in zip(centers, half, quats):
        pts = Transform(np.asarray(c, float), np.asarray(q, float)).apply(corners * h)
        out += [[pts[a], pts[b]] for a, b in edges]
    return np.array(out, np.float32).reshape(-1, 2, 3)


def scene_3d(store: ChunkStore, entities: list[str], timeline: str, t: int, fixed_frame: str | None,
             graph: FrameGraph | None = None, axis_length: float = 0.3) -> Geometry3D:
    """Latest-at geometry of ``entities`` at ``t``, transformed into ``fixed_frame``.

    Entities without a CoordinateFrame are drawn as they are. Frames the graph cannot resolve
    at ``t`` (unknown, disconnected, extrapolation) are reported in ``problems``, not drawn.
    """
    g = graph or frame_graph(store, timeline)
    pts, pcol, prad, segs, scol, problems, meshes = [], [], [], [], [], {}, []
    for ent in entities:
        la = store.latest_at(ent, timeline, t)
        if not la:
            continue
        tf = Transform.identity()
        frame = la.get("CoordinateFrame:frame")
        if frame is not None and fixed_frame:
            name = frame.values[0].as_py() if len(frame.values) else None
            # a Marker with frame_locked false is placed with the transform at its own stamp (it
            # stays where it was drawn in the fixed frame, as in rviz); everything else follows
            # its frame at the cursor time
            lock = la.get("Marker:frame_locked")
            at = frame.time if (lock is not None and len(lock.values) and not lock.values[0].as_py()
                                and frame.time is not None) else t
            if name and name != fixed_frame:
                try:
                    tf = g.lookup(fixed_frame, name, at)
                except FrameGraphError as e:
                    problems[ent] = str(e)
                    continue
        p = _vals(la.get("Points3D:positions"))
        if p is not None and len(p):
            pts.append(tf.apply(p.astype(float)))
            pcol.append(_colors(la.get("Points3D:colors"), len(p)))
            r = _vals(la.get("Points3D:radii"))
            prad.append(np.full(len(p), np.nan if r is None or len(r) == 0 else r[0], np.float32)
                        if r is None or len(r) != len(p) else r.astype(np.float32))
        strips = la.get("LineStrips3D:strips")
        if strips is not None:
            col = _colors(la.get("LineStrips3D:colors"), len(strips.values))
            for i, s in enumerate(strips.values.to_pylist()):
                s = np.asarray(s, float)
                if len(s) >= 2:
                    s = tf.apply(s)
                    segs.append(np.stack([s[:-1], s[1:]], 1))
                    scol.append(np.tile(col[min(i, len(col) - 1)], (len(s) - 1, 1)))
        vec = _vals(la.get("Arrows3D:vectors"))
        if vec is not None and len(vec):
            org = _vals(la.get("Arrows3D:origins"))
            org = np.zeros_like(vec) if org is None or len(org) != len(vec) else org
            a, b = tf.apply(org.astype(float)), tf.apply((org + vec).astype(float))
            segs.append(np.stack([a, b], 1))
            scol.append(_colors(la.get("Arrows3D:colors"), len(vec)))
        half = _vals(la.get("Boxes3D:half_sizes"))
        if half is not None and len(half):
            cen = _vals(la.get("Boxes3D:centers"))
            n = max(len(half), 0 if cen is None else len(cen))
            cen = np.zeros((n, 3)) if cen is None else np.broadcast_to(cen, (n, 3))
            half = np.broadcast_to(half, (n, 3))
            q = _vals(la.get("Boxes3D:quaternions"))
            q = np.tile([0, 0, 0, 1.0], (n, 1)) if q is None else np.broadcast_to(q, (n, 4))
            s = _box_segments(cen, half, q)
            s = tf.apply(s.reshape(-1, 3)).reshape(-1, 2, 3)
            segs.append(s)
            bc = _colors(la.get("Boxes3D:colors"), n)
            scol.append(np.repeat(bc, 12, axis=0))
        for kind in ("Ellipsoids3D", "Cylinders3D"):
            hs = _vals(la.get(f"{kind}:half_sizes")) if kind == "Ellipsoids3D" else None
            if kind == "Cylinders3D":
                ln, rd = _vals(la.get("Cylinders3D:lengths")), _vals(la.get("Cylinders3D:radii"))
                if ln is None or rd is None or not len(ln):
                    continue
                n = max(len(ln), len(rd))
                hs = np.stack([np.broadcast_to(rd, n), np.broadcast_to(rd, n), np.broadcast_to(ln, n) / 2], 1)
            if hs is None or not len(hs):
                continue
            n = len(hs)
            cen = _vals(la.get(f"{kind}:centers"))
            cen = np.zeros((n, 3)) if cen is None else np.broadcast_to(cen, (n, 3))
            q = _vals(la.get(f"{kind}:quaternions"))
            q = np.tile([0, 0, 0, 1.0], (n, 1)) if q is None else np.broadcast_to(q, (n, 4))
            unit = _unit_ellipsoid() if kind == "Ellipsoids3D" else _unit_cylinder()
            for c, h, qq in zip(cen, hs, q):
                local = Transform(np.asarray(c, float), np.asarray(qq, float)).apply(unit.reshape(-1, 3) * h)
                segs.append(tf.apply(local).reshape(-1, 2, 3))
                scol.append(np.tile(_colors(la.get(f"{kind}:colors"), 1)[0], (len(unit), 1)))
        k = _vals(la.get("Pinhole:image_from_camera"))
        if k is not None and len(k):
            K = k[0].reshape(3, 3).T  # stored column-major
            res = _vals(la.get("Pinhole:resolution"))
            w, h = (res[0] if res is not None and len(res) else (2 * K[0, 2], 2 * K[1, 2]))
            d = _vals(la.get("Pinhole:image_plane_distance"))
            d = float(d[0]) if d is not None and len(d) else 0.5
            corners = np.array([[(u - K[0, 2]) / K[0, 0] * d, (v - K[1, 2]) / K[1, 1] * d, d]
                                for u, v in ((0, 0), (w, 0), (w, h), (0, h))])  # RDF optical frame
            c = tf.apply(corners)
            o = tf.apply(np.zeros(3))
            fr = [[o, x] for x in c] + [[c[i], c[(i + 1) % 4]] for i in range(4)]
            segs.append(np.array(fr))
            scol.append(np.tile([255, 220, 60, 255], (8, 1)))
        mv = _vals(la.get("Mesh3D:vertex_positions"))
        if mv is not None and len(mv):
            tri = _vals(la.get("Mesh3D:triangle_indices"))
            tri = np.arange(len(mv) - len(mv) % 3).reshape(-1, 3) if tri is None else tri.astype(np.int64)
            vc = la.get("Mesh3D:vertex_colors")
            if vc is not None and len(vc.values) == len(mv):
                cols = _colors(vc, len(mv))
            else:
                cols = _colors(la.get("Mesh3D:albedo_factor"), len(mv))
            meshes.append((tf.apply(mv.astype(float)), tri, cols))
    # frames as axis triads
    axes = []
    if fixed_frame and fixed_frame in g.frames():
        for f in sorted(g.frames()):
            try:
                tf = g.lookup(fixed_frame, f, t)
            except FrameGraphError:
                continue
            o = tf.apply(np.zeros(3))
            axes.append([o, *tf.apply(np.eye(3) * axis_length)])
    out = Geometry3D(problems=problems)
    if pts:
        out.points = np.concatenate(pts).astype(np.float32)
        out.point_colors = np.concatenate(pcol)
        out.point_radii = np.concatenate(prad)
    if segs:
        out.lines = np.concatenate(segs).astype(np.float32)
        out.line_colors = np.concatenate(scol)
    if axes:
        out.axes = np.array(axes, np.float32)
    if meshes:
        offs = np.cumsum([0] + [len(m[0]) for m in meshes[:-1]])
        out.mesh_vertices = np.concatenate([m[0] for m in meshes]).astype(np.float32)
        out.mesh_faces = np.concatenate([m[1] + o for m, o in zip(meshes, offs)]).astype(np.uint32)
        out.mesh_colors = np.concatenate([m[2] for m in meshes])
    return out


def _unit_ellipsoid(n: int = 24) -> np.ndarray:
    """Three great circles of the unit sphere as (3n, 2, 3) segments."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    c, s_ = np.cos(a), np.sin(a)
    z = np.zeros_like(a)
    rings = [np.stack([c, s_, z], 1), np.stack([c, z, s_], 1), np.stack([z, c, s_], 1)]
    return np.concatenate([np.stack([r[:-1], r[1:]], 1) for r in rings])


def _unit_cylinder(n: int = 24) -> np.ndarray:
    """Rims at z = ±1 and four sides of the unit cylinder as segments."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    top = np.stack([np.cos(a), np.sin(a), np.ones_like(a)], 1)
    bot = top * [1, 1, -1]
    sides = [np.stack([bot[i], top[i]]) for i in range(0, n, n // 4)]
    return np.concatenate([np.stack([top[:-1], top[1:]], 1), np.stack([bot[:-1], bot[1:]], 1), np.array(sides)])


def overlays_2d(store: ChunkStore, entities: list[str], timeline: str, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Points2D of the given entities at ``t`` (pixel coordinates, for drawing over an image):
    positions (n, 2) float32 and colours (n, 4) uint8."""
    pos, col = [], []
    for ent in entities:
        la = store.latest_at(ent, timeline, t)
        p = _vals(la.get("Points2D:positions"))
        if p is not None and len(p):
            pos.append(p.astype(np.float32))
            col.append(_colors(la.get("Points2D:colors"), len(p)))
    if not pos:
        return np.zeros((0, 2), np.float32), np.zeros((0, 4), np.uint8)
    return np.concatenate(pos), np.concatenate(col)


def _turbo(v: np.ndarray) -> np.ndarray:
    from ..mappers.pointcloud import TURBO
    idx = np.clip(np.nan_to_num(v, nan=0.0) * 255, 0, 255).astype(np.uint8)
    return unpack_colors(TURBO[idx])


def image_rgba(store: ChunkStore, entity: str, timeline: str, t: int) -> np.ndarray | None:
    """The entity's image at ``t`` as (H, W, 4) uint8 RGBA: Image (L/RGB/RGBA/BGR/BGRA of any
    channel type, scaled to 8 bits), DepthImage (Turbo colormap over its range),
    SegmentationImage (class ids to colours), EncodedImage (JPEG/PNG decoded with Pillow).
    None if the entity has no image at ``t``.

    Raises:
        ValueError: a buffer whose size does not match its format.
    """
    la = store.latest_at(entity, timeline, t)
    for arch in ("Image", "DepthImage", "SegmentationImage"):
        buf = la.get(f"{arch}:buffer")
        fmt = la.get(f"{arch}:format")
        if buf is None or fmt is None:
            continue
        f = fmt.values.to_pylist()[0]
        w, h = f["width"], f["height"]
        raw = buf.values[0].values.to_numpy(zero_copy_only=False)
        if f.get("pixel_format") is not None:
            return _pixel_format_rgba(raw, w, h, f["pixel_format"])
        dt = np.dtype(CHANNEL_DATATYPE_NUMPY.get(f["channel_datatype"], np.uint8))
        px = raw.view(dt)
        model = f.get("color_model") or 1
        ch = {1: 1, 2: 3, 3: 4, 4: 3, 5: 4}.get(model, 1)
        if px.size != w * h * ch:
            raise ValueError(f"{entity}: image buffer of {px.size} values for {w}x{h}x{ch}")
        px = px.reshape(h, w, ch)
        if arch == "DepthImage":
            d = px[..., 0].astype(np.float32)
            valid = np.isfinite(d) & (d > 0)
            lo, hi = (float(d[valid].min()), float(d[valid].max())) if valid.any() else (0.0, 1.0)
            rgba = _turbo((d - lo) / (hi - lo if hi > lo else 1.0))
            rgba = rgba.reshape(h, w, 4)
            rgba[~valid] = [0, 0, 0, 255]
            return rgba
        if arch == "SegmentationImage":
            ids = px[..., 0].astype(np.uint32)
            rng = np.random.default_rng(0).integers(40, 255, size=(65536, 3), dtype=np.uint8)
            rgb = rng[ids % 65536]
            rgb[ids == 0] = 0
            return np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)
        if dt != np.uint8:
            if dt.kind == "f":
                px = np.clip(px, 0.0, 1.0) * 255.0
            else:
                px = px.astype(np.float64) * 255.0 / np.iinfo(dt).max
            px = px.astype(np.uint8)
        if model in (4, 5):
            px = px[..., [2, 1, 0] + ([3] if ch == 4 else [])]
        if ch == 1:
            px = np.repeat(px, 3, axis=2)
        if px.shape[2] == 3:
            px = np.concatenate([px, np.full((h, w, 1), 255, np.uint8)], axis=2)
        return np.ascontiguousarray(px)
    blob = la.get("EncodedImage:blob")
    if blob is not None:
        from PIL import Image as PILImage
        data = bytes(blob.values[0].values.to_numpy(zero_copy_only=False))
        try:
            return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGBA"))
        except Exception as e:
            raise ValueError(f"{entity}: encoded image does not decode: {e}") from None
    return None


def _pixel_format_rgba(raw: np.ndarray, w: int, h: int, pf: int) -> np.ndarray:
    if pf == 27:  # YUY2: Y0 U Y1 V
        yuyv = raw[: w * h * 2].reshape(h, w // 2, 4).astype(np.float32)
        y = np.stack([yuyv[..., 0], yuyv[..., 2]], axis=2).reshape(h, w)
        u = np.repeat(yuyv[..., 1], 2, axis=1) - 128
        v = np.repeat(yuyv[..., 3], 2, axis=1) - 128
        rgb = np.stack([y + 1.402 * v, y - 0.344 * u - 0.714 * v, y + 1.772 * u], axis=2)
    elif pf in (128, 129, 130, 131):  # Bayer: a 2x2 box demosaic
        m = raw[: w * h].reshape(h, w).astype(np.float32)
        pattern = {128: "RGGB", 129: "BGGR", 130: "GBRG", 131: "GRBG"}[pf]
        rgb = np.zeros((h, w, 3), np.float32)
        idx = {"R": 0, "G": 1, "B": 2}
        for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            c = idx[pattern[k]]
            rgb[dy::2, dx::2, c] += m[dy::2, dx::2] if c != 1 else m[dy::2, dx::2] / 2
        rgb = np.repeat(np.repeat(rgb[::2, ::2] + rgb[1::2, ::2] + rgb[::2, 1::2] + rgb[1::2, 1::2], 2, 0), 2, 1)[:h, :w]
    else:  # Y8 and the planar YUV formats: show luma
        y = raw[: w * h].reshape(h, w).astype(np.float32)
        rgb = np.stack([y, y, y], axis=2)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    return np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)


def series(store: ChunkStore, entity: str, timeline: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scalars of an entity in [start, end]: times (n,) int64, values (n, k) float64 (NaN where a
    row has fewer series), and the series names (SeriesLines:names, else ``entity[i]``)."""
    r = store.range(entity, timeline, start, end, "Scalars:scalars")
    if not len(r):
        return np.zeros(0, np.int64), np.zeros((0, 0)), []
    lens = r.values.value_lengths().fill_null(0).to_numpy()
    k = int(lens.max()) if len(lens) else 0
    vals = np.full((len(r), k), np.nan)
    flat = r.values.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
    rows = np.repeat(np.arange(len(r)), lens)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lens) - lens, lens)
    vals[rows, cols] = flat
    names_la = store.latest_at(entity, timeline, end).get("SeriesLines:names")
    names = names_la.values.to_pylist() if names_la is not None else []
    names = [names[i] if i < len(names) else f"{entity}[{i}]" for i in range(k)]
    return r.times, vals, names


def decimate_minmax(x: np.ndarray, y: np.ndarray, x0: float, x1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max decimation for drawing: for each of ``columns`` pixel columns over [x0, x1], the
    column's minimum and maximum at the column's first x — at most 2 points per column whatever
    the input size, so a line keeps its envelope. O(n) (``reduceat``). x sorted ascending (n,)."""
    if len(x) <= 4 * columns:
        return x, y
    col = np.clip(((x - x0) / (x1 - x0 if x1 > x0 else 1) * columns).astype(np.int64), 0, columns - 1)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(col)) + 1])
    fill = np.nanmean(y) if np.isfinite(y).any() else 0.0
    yy = np.where(np.isfinite(y), y, fill)
    lo = np.minimum.reduceat(yy, starts)
    hi = np.maximum.reduceat(yy, starts)
    xs = np.repeat(x[starts], 2)
    ys = np.empty(2 * len(starts))
    ys[0::2], ys[1::2] = lo, hi
    return xs, ys


def text_log(store: ChunkStore, entities: list[str], timeline: str, t: int, min_level: str = "TRACE",
             search: str = "") -> list[tuple[int, str, str, str]]:
    """(time, entity, level, text) of TextLog rows up to ``t``, filtered by level and a
    case-insensitive search string, sorted by time."""
    lo = LEVEL_ORDER.get(min_level, 0)
    out = []
    for ent in entities:
        texts = store.range(ent, timeline, -2**62, t, "TextLog:text", include_latest_at=False)
        if not len(texts):
            continue
        levels = store.range(ent, timeline, -2**62, t, "TextLog:level", include_latest_at=False)
        lv = {bytes(r): v[0] if v else "INFO" for r, v in zip(levels.row_ids, levels.values.to_pylist())}
        for tm, rid, v in zip(texts.times, texts.row_ids, texts.values.to_pylist()):
            level = lv.get(bytes(rid), "INFO")
            text = v[0] if v else ""
            if LEVEL_ORDER.get(level, 2) < lo or (search and search.lower() not in text.lower()):
                continue
            out.append((int(tm), ent, level, text))
    out.sort(key=lambda r: r[0])
    return out
