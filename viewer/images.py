"""What a 2D view draws: an entity's image at a time as RGBA pixels (every Rerun image archetype,
ROS encodings through them), and Points2D overlays in pixel coordinates. Pure numpy + Pillow."""
from __future__ import annotations

import io

import numpy as np

from ..model.components import CHANNEL_DATATYPE_NUMPY, as_numpy, unpack_colors
from ..store.chunk_store import ChunkStore
from .geometry import colors as _colors, values as _vals

__all__ = ["image_rgba", "overlays_2d"]


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


