"""Trajectories of a run and the errors between two of them, as evo defines them.

A run's trajectories: the robot's base frame in the fixed frame through TF (REP 105: ``map``,
else ``odom``, else the tree's root; the base ``base_link``/``base_footprint``), and every pose
topic (``nav_msgs/Odometry``'s ``pose.pose``, ``geometry_msgs/PoseStamped``'s ``pose``,
``PoseWithCovarianceStamped``'s ``pose.pose``).

Errors (Grupp, evo: https://github.com/MichaelGrupp/evo, ``evo.core.metrics``), poses P = (R, t):

- association: each reference stamp with the nearest estimate stamp within ``max_diff``
  (evo's ``sync.associate_trajectories``, default 0.01 s);
- APE, translation part: ``|| t(P_ref_i^-1 P_est_i) ||`` (m); rotation angle: the angle of
  ``R_ref_i^T R_est_i`` (rad, evo's ``rotation_angle_rad``); no alignment (evo without ``-a``);
- RPE, translation part, delta 1 frame: ``|| t((P_ref_i^-1 P_ref_i+1)^-1 (P_est_i^-1 P_est_i+1)) ||``.

Statistics as evo's: rmse, mean, median, std (population), min, max.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mappers.base import struct_field
from ..model.names import ROS_TIME_NAME
from ..model.rotations import quat_multiply
from ..query.frames import FrameGraph, FrameGraphError

__all__ = ["Trajectory", "run_trajectories", "associate", "ape", "rpe", "stats", "quat_to_matrix"]

BASES = ("base_link", "base_footprint", "base")
POSE_FIELDS = {"nav_msgs/msg/Odometry": "pose.pose", "geometry_msgs/msg/PoseStamped": "pose",
               "geometry_msgs/msg/PoseWithCovarianceStamped": "pose.pose"}


@dataclass
class Trajectory:
    """Poses over time: ``times`` int64 (n,) ns, ``positions`` float64 (n, 3) m, ``quats``
    float64 (n, 4) xyzw (unit). ``name``: ``tf:<fixed> -> <base>`` or the topic."""

    name: str
    times: np.ndarray
    positions: np.ndarray
    quats: np.ndarray


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(n, 4) xyzw → (n, 3, 3) rotation matrices (normalised first)."""
    q = np.asarray(q, np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    x, y, z, w = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], 1)


def _tf_trajectory(store) -> Trajectory | None:
    chunks = store.chunks_with("Transform3D:child_frame")
    if not chunks:
        return None
    g = FrameGraph.from_chunks(chunks, timeline=ROS_TIME_NAME)
    frames = g.frames()
    base = next((b for b in BASES if b in frames and not g.is_static(b)), None)
    if base is None:
        moving = [f for f in frames if g.parent(f) is not None and not g.is_static(f)]
        base = moving[0] if len(moving) == 1 else None
    if base is None:
        return None
    fixed = next((f for f in ("map", "odom") if f in frames and f != base), None)
    if fixed is None:
        fixed = base
        while g.parent(fixed) is not None:
            fixed = g.parent(fixed)
    if fixed == base:
        return None
    # the times the base moves in its chain: its own edge's samples
    times = g.sample_times(base)
    try:
        tr, ok = g.lookup_many(fixed, base, times)
    except FrameGraphError:
        return None
    if not ok.any():
        return None
    return Trajectory(f"tf:{fixed} -> {base}", np.asarray(times, np.int64)[ok], tr.translation[ok], tr.rotation[ok])


def run_trajectories(store, series: dict) -> dict[str, Trajectory]:
    """name → Trajectory: the TF base trajectory and each pose topic (see module doc).
    ``series``: :func:`rerun_ros.compare.series.topic_series` of the same store."""
    out = {}
    t = _tf_trajectory(store)
    if t is not None:
        out[t.name] = t
    for topic, s in series.items():
        path = POSE_FIELDS.get(s.type_name)
        if path is None or s.messages is None or not len(s.messages):
            continue
        try:
            pos = np.stack([np.asarray(struct_field(s.messages, f"{path}.position.{c}").to_numpy(zero_copy_only=False),
                                       np.float64) for c in "xyz"], 1)
            q = np.stack([np.asarray(struct_field(s.messages, f"{path}.orientation.{c}").to_numpy(zero_copy_only=False),
                                     np.float64) for c in "xyzw"], 1)
        except KeyError:
            continue
        ok = np.isfinite(pos).all(1) & np.isfinite(q).all(1) & (np.linalg.norm(q, axis=1) > 0)
        if ok.sum() >= 2:
            out[topic] = Trajectory(topic, s.times[ok], pos[ok], q[ok])
    return out


def associate(ref_times: np.ndarray, est_times: np.ndarray, max_diff_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(ref indices, est indices) int64: each reference stamp with the nearest estimate stamp
    within ``max_diff_ns`` (both sorted), as evo's ``associate_trajectories``."""
    ref_times = np.asarray(ref_times, np.int64)
    est_times = np.asarray(est_times, np.int64)
    if not len(ref_times) or not len(est_times):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    j = np.clip(np.searchsorted(est_times, ref_times), 1, len(est_times) - 1) if len(est_times) > 1 \
        else np.zeros(len(ref_times), np.int64)
    if len(est_times) > 1:
        left = np.abs(ref_times - est_times[j - 1]) <= np.abs(est_times[j] - ref_times)
        j = np.where(left, j - 1, j)
    ok = np.abs(est_times[j] - ref_times) <= max_diff_ns
    return np.flatnonzero(ok).astype(np.int64), j[ok].astype(np.int64)


def _rel(r_a, t_a, r_b, t_b):
    """(R, t) of A^-1 B for stacks of poses."""
    ra_t = np.transpose(r_a, (0, 2, 1))
    return ra_t @ r_b, np.einsum("nij,nj->ni", ra_t, t_b - t_a)


def ape(ref: Trajectory, est: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """(translation error (n,) m, rotation angle error (n,) rad) of associated pose pairs
    (``ref`` and ``est`` already associated: same length)."""
    _, t = _rel(quat_to_matrix(ref.quats), ref.positions, quat_to_matrix(est.quats), est.positions)
    # the angle from the relative quaternion (atan2: exact near 0, where arccos of the trace is not)
    qa = ref.quats / np.linalg.norm(ref.quats, axis=1, keepdims=True)
    qb = est.quats / np.linalg.norm(est.quats, axis=1, keepdims=True)
    q = quat_multiply(qa * np.array([-1.0, -1.0, -1.0, 1.0]), qb)
    return np.linalg.norm(t, axis=1), 2 * np.arctan2(np.linalg.norm(q[:, :3], axis=1), np.abs(q[:, 3]))


def rpe(ref: Trajectory, est: Trajectory, delta: int = 1) -> np.ndarray:
    """Translation error (n - delta,) m of the relative motions over ``delta`` frames."""
    if len(ref.times) <= delta:
        return np.zeros(0)
    rr, re_ = quat_to_matrix(ref.quats), quat_to_matrix(est.quats)
    qr, qt = _rel(rr[:-delta], ref.positions[:-delta], rr[delta:], ref.positions[delta:])
    pr, pt = _rel(re_[:-delta], est.positions[:-delta], re_[delta:], est.positions[delta:])
    _, e = _rel(qr, qt, pr, pt)
    return np.linalg.norm(e, axis=1)


def stats(err: np.ndarray) -> dict:
    """evo's statistics of an error series: rmse, mean, median, std, min, max (empty: {})."""
    err = np.asarray(err, np.float64)
    if not len(err):
        return {}
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mean": float(np.mean(err)), "median": float(np.median(err)),
            "std": float(np.std(err)), "min": float(np.min(err)), "max": float(np.max(err))}
