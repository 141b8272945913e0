"""rviz's Camera display: 3D data drawn over an image through its camera model. The camera is
the Pinhole (from ``sensor_msgs/CameraInfo``'s K, as Rerun's converter logs it) on the image's
entity, on a sibling ``camera_info`` entity, or on any entity in the image's frame; the scene is
placed in the image's frame (its ``header.frame_id``, an optical frame: x right, y down, z
forward — REP 103's ``_optical`` convention) at the image's stamp and projected with K
(pinhole model, no distortion: rectified images, as rviz's Camera display expects)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..store.chunk_store import ChunkStore
from .geometry import values
from .spatial import entity_frame, scene_3d

__all__ = ["Camera", "camera_for", "project_scene", "Projected"]

NEAR = 0.05  # m: nearer than this in front of the camera is not drawn


@dataclass
class Camera:
    """``K`` (3, 3) intrinsics (pixels), ``resolution`` (width, height) px, ``frame`` the camera's
    frame id, ``entity`` the entity whose Pinhole it is."""

    K: np.ndarray
    resolution: tuple[float, float]
    frame: str | None
    entity: str

    def project(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (n, 2) of camera-frame points (n, 3) m, and which are in front (z > NEAR) and on the image."""
        z = p[:, 2]
        front = z > NEAR
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.K[0, 0] * p[:, 0] / z + self.K[0, 2]
            v = self.K[1, 1] * p[:, 1] / z + self.K[1, 2]
        uv = np.stack([u, v], 1)
        w, h = self.resolution
        on = front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        return uv, on


@dataclass
class Projected:
    """What a 2D view draws over its image: ``points`` (n, 2) px with ``point_colors`` (n, 4) uint8,
    ``lines`` (m, 2, 2) px segments with ``line_colors`` (m, 4), ``problems`` as in Geometry3D."""

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    point_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2), np.float32))
    line_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    problems: dict = field(default_factory=dict)


def _pinhole(store: ChunkStore, entity: str, timeline: str, t: int) -> Camera | None:
    la = store.latest_at(entity, timeline, t)
    k = values(la.get("Pinhole:image_from_camera"))
    if k is None or not len(k):
        return None
    K = np.asarray(k[0], float).reshape(3, 3).T  # stored column-major (Rerun)
    res = values(la.get("Pinhole:resolution"))
    wh = (float(res[0][0]), float(res[0][1])) if res is not None and len(res) else (2 * K[0, 2], 2 * K[1, 2])
    fr = la.get("CoordinateFrame:frame")
    frame = fr.values[0].as_py() if fr is not None and len(fr.values) else None
    return Camera(K, wh, frame, entity)


def camera_for(store: ChunkStore, image_entity: str, timeline: str, t: int) -> Camera | None:
    """The camera model of an image entity at ``t``: its own Pinhole, a sibling's (``.../camera_info``
    next to ``.../image_raw``), else any Pinhole in the image's frame; None if there is none."""
    parent = image_entity.rsplit("/", 1)[0]
    frame = entity_frame(store, image_entity, timeline, t)
    ents = store.entities()
    candidates = [image_entity] + [e for e in ents if e != image_entity and e.rsplit("/", 1)[0] == parent] + \
        [e for e in ents if e.rsplit("/", 1)[0] != parent]
    for e in candidates:
        if "Pinhole:image_from_camera" not in store.columns(e):
            continue
        cam = _pinhole(store, e, timeline, t)
        if cam is None:
            continue
        if e == image_entity or e.rsplit("/", 1)[0] == parent or (frame and cam.frame == frame):
            cam.frame = frame or cam.frame
            return cam
    return None


def project_scene(store: ChunkStore, entities: list[str], timeline: str, t_image: int, camera: Camera,
                  graph=None) -> Projected:
    """``entities``' geometry (points, strips, arrows, boxes, frame axes) placed in the camera's frame
    at the image's time ``t_image`` and projected to pixels; what is behind the camera or off the
    image is left out (a segment is kept when both ends are in front and one is on the image)."""
    geo = scene_3d(store, entities, timeline, t_image, camera.frame, graph, axis_length=0.3)
    out = Projected(problems=geo.problems)
    if len(geo.points):
        uv, on = camera.project(geo.points.astype(float))
        out.points = uv[on].astype(np.float32)
        out.point_colors = geo.point_colors[on]
    segs, cols = [geo.lines], [geo.line_colors]
    if len(geo.axes):
        a = geo.axes
        segs.append(np.stack([np.repeat(a[:, :1], 3, axis=1), a[:, 1:]], axis=2).reshape(-1, 2, 3))
        cols.append(np.tile(np.array([[230, 60, 60, 255], [60, 220, 60, 255], [70, 110, 255, 255]], np.uint8),
                            (len(a), 1)))
    segs = np.concatenate([s for s in segs if len(s)] or [np.zeros((0, 2, 3))])
    cols = np.concatenate([c for c in cols if len(c)] or [np.zeros((0, 4), np.uint8)])
    if len(segs):
        flat = segs.reshape(-1, 3).astype(float)
        uv, on = camera.project(flat)
        front = (flat[:, 2] > NEAR).reshape(-1, 2).all(axis=1)
        keep = front & on.reshape(-1, 2).any(axis=1)
        out.lines = uv.reshape(-1, 2, 2)[keep].astype(np.float32)
        out.line_colors = cols[keep]
    return out
