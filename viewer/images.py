"""What a 2D view draws: an entity's image at a time as RGBA pixels (every Rerun image archetype,
ROS encodings through them; segmentation ids coloured by the annotation context), Points2D
overlays and the 2D primitives (boxes, line strips, arrows, ellipses) in pixel coordinates.
Pure numpy + Pillow."""
from __future__ import annotations

import io

import numpy as np

from ..model.components import CHANNEL_DATATYPE_NUMPY, as_numpy, unpack_colors
from ..store.chunk_store import ChunkStore
from .geometry import colors as _colors, values as _vals

__all__ = ["image_rgba", "overlays_2d", "shapes_2d", "annotation_context"]

#: segments per ellipse outline
ELLIPSE_SEGMENTS = 48


def annotation_context(store: ChunkStore, entity: str, timeline: str, t: int) -> dict:
    """The AnnotationContext that applies to ``entity`` (its own or its nearest ancestor's, as in
    Rerun): class id → ((4,) uint8 RGBA or None, label or None)."""
    from ..model import entity_path as EP
    parts = EP.parse(entity)
    known = set(store.entities())
    for k in range(len(parts), -1, -1):
        ent = EP.format_parts(parts[:k])
        if ent not in known:
            continue
        ctx = store.latest_at(ent, timeline, t).get("AnnotationContext:context")
        if ctx is None or not len(ctx.values):
            continue
        out = {}
        for elems in ctx.values.to_pylist():
            for el in elems or []:
                info = el["class_description"]["info"]
                rgba = None if info.get("color") is None else unpack_colors(np.array([info["color"]], np.uint32))[0]
                out[int(el["class_id"])] = (rgba, info.get("label"))
        return out
    return {}


def _instance_colors(store, ent: str, la, arch: str, n: int, timeline: str, t: int) -> np.ndarray:
    """Colours of n instances: given colours, else their class ids' colours in the annotation
    context, else the default."""
    if la.get(f"{arch}:colors") is not None and len(la[f"{arch}:colors"].values):
        return _colors(la.get(f"{arch}:colors"), n)
    out = _colors(None, n)
    ids = _vals(la.get(f"{arch}:class_ids"))
    if ids is not None and len(ids):
        ctx = annotation_context(store, ent, timeline, t)
        ids = np.resize(ids.astype(np.int64), n)
        for i, cid in enumerate(ids.tolist()):
            c = ctx.get(cid, (None, None))[0]
            if c is not None:
                out[i] = c
    return out


def overlays_2d(store: ChunkStore, entities: list[str], timeline: str, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Points2D of the given entities at ``t`` (pixel coordinates, for drawing over an image):
    positions (n, 2) float32 and colours (n, 4) uint8 (class ids coloured by the annotation
    context)."""
    pos, col = [], []
    for ent in entities:
        la = store.latest_at(ent, timeline, t)
        p = _vals(la.get("Points2D:positions"))
        if p is not None and len(p):
            pos.append(p.astype(np.float32))
            col.append(_instance_colors(store, ent, la, "Points2D", len(p), timeline, t))
    if not pos:
        return np.zeros((0, 2), np.float32), np.zeros((0, 4), np.uint8)
    return np.concatenate(pos), np.concatenate(col)


def _broadcast(v, n: int, k: int, default) -> np.ndarray:
    if v is None or not len(v):
        return np.tile(np.asarray(default, np.float32), (n, 1))
    v = np.asarray(v, np.float32).reshape(-1, k)
    return np.tile(v[:1], (n, 1)) if len(v) == 1 else np.resize(v, (n, k))


def shapes_2d(store: ChunkStore, entities: list[str], timeline: str, t: int) -> tuple[np.ndarray, np.ndarray]:
    """The 2D primitives of the given entities at ``t`` as line segments in pixel coordinates
    (x right, y down, as images): Boxes2D outlines, LineStrips2D, Arrows2D (shaft and head),
    Ellipses2D outlines (:data:`ELLIPSE_SEGMENTS` each). Returns segments (m, 2, 2) float32 and
    their colours (m, 4) uint8 (class ids coloured by the annotation context)."""
    segs, cols = [], []

    def add(s: np.ndarray, c: np.ndarray) -> None:
        if len(s):
            segs.append(s.astype(np.float32))
            cols.append(c)

    for ent in entities:
        la = store.latest_at(ent, timeline, t)
        hs = _vals(la.get("Boxes2D:half_sizes"))
        if hs is not None and len(hs):
            n = len(hs)
            c = _broadcast(_vals(la.get("Boxes2D:centers")), n, 2, [0, 0])
            lo, hi = c - hs, c + hs
            corners = np.stack([lo, np.c_[hi[:, 0], lo[:, 1]], hi, np.c_[lo[:, 0], hi[:, 1]]], axis=1)  # (n, 4, 2)
            s = np.stack([corners, np.roll(corners, -1, axis=1)], axis=2).reshape(-1, 2, 2)
            add(s, np.repeat(_instance_colors(store, ent, la, "Boxes2D", n, timeline, t), 4, axis=0))
        strips = la.get("LineStrips2D:strips")
        if strips is not None and len(strips.values):
            v = strips.values
            off = as_numpy(v.offsets)
            pts = as_numpy(v.values.flatten()).reshape(-1, 2)
            n = len(v)
            col = _instance_colors(store, ent, la, "LineStrips2D", n, timeline, t)
            for i in range(n):
                p = pts[off[i]:off[i + 1]]
                if len(p) >= 2:
                    add(np.stack([p[:-1], p[1:]], axis=1), np.tile(col[i], (len(p) - 1, 1)))
        vec = _vals(la.get("Arrows2D:vectors"))
        if vec is not None and len(vec):
            n = len(vec)
            o = _broadcast(_vals(la.get("Arrows2D:origins")), n, 2, [0, 0])
            tip = o + vec
            ln = np.linalg.norm(vec, axis=1, keepdims=True)
            u = np.divide(vec, ln, out=np.zeros_like(vec, dtype=np.float64), where=ln > 0)
            head = np.minimum(ln * 0.25, 12.0)
            perp = np.c_[-u[:, 1], u[:, 0]]
            left, right = tip - u * head + perp * head * 0.5, tip - u * head - perp * head * 0.5
            s = np.concatenate([np.stack([o, tip], 1), np.stack([tip, left], 1), np.stack([tip, right], 1)])
            add(s, np.tile(_instance_colors(store, ent, la, "Arrows2D", n, timeline, t), (3, 1)))
        eh = _vals(la.get("Ellipses2D:half_sizes"))
        if eh is not None and len(eh):
            n = len(eh)
            c = _broadcast(_vals(la.get("Ellipses2D:centers")), n, 2, [0, 0])
            a = np.linspace(0, 2 * np.pi, ELLIPSE_SEGMENTS + 1)
            ring = np.stack([np.cos(a), np.sin(a)], axis=1)  # (k+1, 2)
            pts = c[:, None, :] + eh[:, None, :] * ring[None]  # (n, k+1, 2)
            s = np.stack([pts[:, :-1], pts[:, 1:]], axis=2).reshape(-1, 2, 2)
            add(s, np.repeat(_instance_colors(store, ent, la, "Ellipses2D", n, timeline, t), ELLIPSE_SEGMENTS, axis=0))
    if not segs:
        return np.zeros((0, 2, 2), np.float32), np.zeros((0, 4), np.uint8)
    return np.concatenate(segs), np.concatenate(cols)


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
        raw = as_numpy(buf.values[0].values)
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
            lut = np.random.default_rng(0).integers(40, 255, size=(65536, 3), dtype=np.uint8)
            lut[0] = 0
            for cid, (rgba, _label) in annotation_context(store, entity, timeline, t).items():
                if rgba is not None and 0 <= cid < 65536:  # the annotation context's colours (as Rerun)
                    lut[cid] = rgba[:3]
            rgb = lut[ids % 65536]
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
    tensor = la.get("Tensor:data")
    if tensor is not None and len(tensor.values):
        from .tensors import tensor_array, tensor_rgba
        return tensor_rgba(tensor_array(tensor.values[0]))
    blob = la.get("EncodedImage:blob")
    if blob is not None:
        from PIL import Image as PILImage
        data = bytes(as_numpy(blob.values[0].values))
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


