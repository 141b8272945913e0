"""Every rotation helper of the package, in one home. Unit quaternions are xyzw (ROS
``geometry_msgs/Quaternion`` order; Rerun's ``RotationQuat`` too): the Hamilton product, rotating
vectors, spherical interpolation, normalising, from rotation matrices, to and from roll-pitch-yaw
(rad), from axis-angle. numpy, any leading shape unless a function says (n, 4)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["quat_multiply", "quat_rotate", "quat_slerp", "unit_quaternions", "matrices_to_quats", "quat_to_rpy",
           "rpy_to_quat", "axis_angle_quat", "axis_angles_to_quats"]


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
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` of (..., 3) vectors without its axis bookkeeping (~15 µs a call; the 3D
    view rotates a few hundred small arrays per frame)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


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

def unit_quaternions(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normalised (n, 4), ok (n,)): finite, non-zero quaternions (others left as identity)."""
    q = np.asarray(q, np.float64)
    norm = np.linalg.norm(q, axis=1)
    ok = np.isfinite(q).all(axis=1) & (norm > 0) & np.isfinite(norm)
    out = np.zeros_like(q)
    out[:, 3] = 1.0
    out[ok] = q[ok] / norm[ok, None]
    return out, ok


def matrices_to_quats(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) → unit quaternions (n, 4) xyzw (Shepperd's method)."""
    n = len(m)
    q = np.zeros((n, 4))
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    c0 = tr > 0
    c1 = ~c0 & (m[:, 0, 0] > m[:, 1, 1]) & (m[:, 0, 0] > m[:, 2, 2])
    c2 = ~c0 & ~c1 & (m[:, 1, 1] > m[:, 2, 2])
    c3 = ~c0 & ~c1 & ~c2
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(np.maximum(tr + 1.0, 0)) * 2
        q[c0] = np.stack([(m[:, 2, 1] - m[:, 1, 2]) / s, (m[:, 0, 2] - m[:, 2, 0]) / s,
                          (m[:, 1, 0] - m[:, 0, 1]) / s, 0.25 * s], axis=1)[c0]
        s = np.sqrt(np.maximum(1.0 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2], 0)) * 2
        q[c1] = np.stack([0.25 * s, (m[:, 0, 1] + m[:, 1, 0]) / s, (m[:, 0, 2] + m[:, 2, 0]) / s,
                          (m[:, 2, 1] - m[:, 1, 2]) / s], axis=1)[c1]
        s = np.sqrt(np.maximum(1.0 + m[:, 1, 1] - m[:, 0, 0] - m[:, 2, 2], 0)) * 2
        q[c2] = np.stack([(m[:, 0, 1] + m[:, 1, 0]) / s, 0.25 * s, (m[:, 1, 2] + m[:, 2, 1]) / s,
                          (m[:, 0, 2] - m[:, 2, 0]) / s], axis=1)[c2]
        s = np.sqrt(np.maximum(1.0 + m[:, 2, 2] - m[:, 0, 0] - m[:, 1, 1], 0)) * 2
        q[c3] = np.stack([(m[:, 0, 2] + m[:, 2, 0]) / s, (m[:, 1, 2] + m[:, 2, 1]) / s, 0.25 * s,
                          (m[:, 1, 0] - m[:, 0, 1]) / s], axis=1)[c3]
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def quat_to_rpy(q: np.ndarray) -> np.ndarray:
    """(n, 4) xyzw quaternions → (n, 3) roll, pitch, yaw in rad (ZYX Tait-Bryan, as tf2's
    ``getRPY``)."""
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.stack([roll, pitch, yaw], axis=1)


def rpy_to_quat(rpy) -> np.ndarray:
    """URDF roll-pitch-yaw (rad, fixed axes X, Y, Z) → quaternion xyzw."""
    r, p, y = (float(v) for v in rpy)
    qx = np.array([math.sin(r / 2), 0, 0, math.cos(r / 2)])
    qy = np.array([0, math.sin(p / 2), 0, math.cos(p / 2)])
    qz = np.array([0, 0, math.sin(y / 2), math.cos(y / 2)])
    return quat_multiply(qz, quat_multiply(qy, qx))


def axis_angle_quat(axis, angle: float) -> np.ndarray:
    a = np.asarray(axis, float)
    n = np.linalg.norm(a)
    if n == 0:
        return np.array([0.0, 0.0, 0.0, 1.0])
    a = a / n
    return np.array([*(a * math.sin(angle / 2)), math.cos(angle / 2)])


def axis_angles_to_quats(axes: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(n, 4) xyzw of rotations by ``angles`` (n,) rad about ``axes`` (n, 3) (normalised here;
    a zero or non-finite axis gives NaN: not a rotation). Rerun's ``RotationAxisAngle``."""
    a = np.asarray(axes, float).reshape(-1, 3)
    ang = np.asarray(angles, float).reshape(-1)
    n = np.linalg.norm(a, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(n > 0, a / n, np.nan)
    return np.concatenate([u * np.sin(ang / 2)[:, None], np.cos(ang / 2)[:, None]], axis=1)
