"""Rotations as unit quaternions, xyzw (ROS ``geometry_msgs/Quaternion`` order; Rerun's
``RotationQuat`` too): the Hamilton product, rotating vectors, spherical interpolation. numpy,
any leading shape."""
from __future__ import annotations

import numpy as np

__all__ = ["quat_multiply", "quat_rotate", "quat_slerp"]


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of xyzw quaternions (..., 4)."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, float), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, float), -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz], axis=-1)


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4) (xyzw)."""
    q = np.asarray(q, float)
    v = np.asarray(v, float)
    u, w = q[..., :3], q[..., 3:4]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_slerp(q0: np.ndarray, q1: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation of unit quaternions (..., 4) at fraction ``a`` in [0, 1]."""
    q0 = np.asarray(q0, float)
    q1 = np.asarray(q1, float)
    a = np.asarray(a, float)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    close = dot > 0.9995
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    s = np.sin(theta)
    s = np.where(s == 0, 1.0, s)
    w0 = np.where(close, 1.0 - a, np.sin((1.0 - a) * theta) / s)
    w1 = np.where(close, a, np.sin(a * theta) / s)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)
