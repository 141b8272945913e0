"""Small helpers of Rerun's examples (``rerun.utilities``), with the same names and arguments."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["build_color_spiral", "bounce_lerp", "ColorSpiral"]


class ColorSpiral(NamedTuple):
    """Points on a helix (N, 3) float32 m and their colours (N, 3) uint8."""
    positions: np.ndarray
    colors: np.ndarray


def build_color_spiral(num_points: int = 100, *, radius: float = 2, angular_step: float = 0.02,
                       angular_offset: float = 0, z_step: float = 0.1) -> ColorSpiral:
    """``num_points`` on a helix about the z axis: point i at angle ``2π·angular_step·i +
    angular_offset`` (rad) on a circle of ``radius`` (m), ``z_step·i`` high (m), centred on z;
    coloured along the helix by the Turbo colormap."""
    i = np.arange(num_points, dtype=np.float64)
    a = math.tau * angular_step * i + angular_offset
    z = z_step * (i - (num_points - 1) / 2.0)
    pos = np.stack([radius * np.cos(a), radius * np.sin(a), z], axis=1).astype(np.float32)
    from ..mappers.pointcloud import colormap
    from ..model.components import unpack_colors
    col = unpack_colors(colormap(i, 0.0, max(num_points - 1, 1)))[:, :3]
    return ColorSpiral(pos, col)


def bounce_lerp(a, b, t):
    """Linear interpolation from ``a`` to ``b`` whose ``t`` goes 0→1 then back 1→0 (period 2)."""
    if np.ndim(t) == 0:  # the common call (once per point in a loop): plain float arithmetic
        f = float(t) % 2.0
        if f > 1.0:
            f = 2.0 - f
        return (1.0 - f) * a + f * b
    tt = np.asarray(t, dtype=float) % 2.0
    f = np.where(tt > 1.0, 2.0 - tt, tt)
    return (1.0 - f) * np.asarray(a, dtype=float) + f * np.asarray(b, dtype=float)
