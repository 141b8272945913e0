"""Rerun's TensorData cells as numpy arrays, and tensors as images for the 2D view. Pure numpy."""
from __future__ import annotations

import numpy as np

__all__ = ["tensor_array", "tensor_rgba"]


def tensor_array(cell) -> np.ndarray:
    """One ``TensorData`` struct scalar (shape, names, typed buffer union) as an n-d numpy array.

    Raises:
        ValueError: a buffer whose size does not match the shape.
    """
    shape = [int(s) for s in cell["shape"].as_py()]
    buf = cell["buffer"]
    vals = buf.value.values.to_numpy(zero_copy_only=False) if hasattr(buf, "value") else np.asarray(buf.as_py())
    if int(np.prod(shape)) != len(vals):
        raise ValueError(f"tensor of shape {shape} holds {len(vals)} values")
    return np.asarray(vals).reshape(shape)


def tensor_rgba(a: np.ndarray) -> np.ndarray:
    """A tensor as (H, W, 4) uint8 RGBA, as Rerun's tensor view shows one slice: (H, W) grey,
    (H, W, 3|4) colour, any other shape its first (H, W) slice; values scaled from their range."""
    a = np.asarray(a)
    while a.ndim > 3 or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        a = a[0]
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim == 2:
        a = a[:, :, None]
    f = a.astype(np.float64)
    if a.dtype != np.uint8:
        lo, hi = float(np.nanmin(f)), float(np.nanmax(f))
        f = (f - lo) / (hi - lo if hi > lo else 1.0) * 255.0
    px = np.clip(np.round(np.nan_to_num(f)), 0, 255).astype(np.uint8)
    if px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    if px.shape[2] == 3:
        px = np.concatenate([px, np.full(px.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(px)
