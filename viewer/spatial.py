"""The 3D view's content at a time: every entity's latest-at data placed in the view's fixed
frame through the frame graph, the TF frames as named axes, and trails of where poses and
moving frames were over the view's time range. Pure numpy (no GL).

Conventions: an entity's ``CoordinateFrame:frame`` is the frame its data is expressed in (its
``header.frame_id``); frames are looked up at the cursor with latest-at semantics (the last
transform of an edge holds after its last stamp, as in Rerun's viewer); REP 105 names (``map``,
``odom``) are preferred for the default fixed frame, as rviz does.
"""
from __future__ import annotations

import numpy as np

from ..model.components import as_numpy, list_offsets
from ..model.rotations import axis_angles_to_quats, quat_multiply
from ..query.frames import FrameGraph, FrameGraphError, Transform
from ..store.chunk_store import ChunkStore
from .geometry import Geometry3D, SceneBuilder, colors
from .visualizers import SPATIAL_ARCHETYPES, VISUALIZERS_3D

__all__ = ["frame_graph", "scene_3d", "instance_poses", "default_fixed_frame", "default_target_frame", "default_follow_entity",
           "entity_position", "entity_frame", "is_spatial", "frame_depths"]

PREFERRED_ROOTS = ("map", "odom", "world", "earth")
#: a robot's base frame names (REP 105 ``base_link``, ``base_footprint``; common others), best first
BASE_FRAMES = ("base_footprint", "base_link", "base", "base_frame", "body", "base_stabilized", "chassis")
TRAIL_FRAMES_MAX = 8
TRAIL_SAMPLES_MAX = 240


#: visualizers that draw a copy per instance pose (the others use the first pose)
_INSTANCING = frozenset({"Mesh3D", "Asset3D"})


def instance_poses(la) -> list[np.ndarray]:
    """An entity's InstancePoses3D as 4x4 matrices (the entity's content in its frame: applied
    first scale/``mat3x3``, then rotation, then translation, as Rerun composes them); [] when it
    has none. Components broadcast to the longest (one value for all poses)."""
    from ..model.rotations import axis_angle_quat
    from ..query.frames import Transform as _T
    from .geometry import values as _v
    keys = ("translations", "quaternions", "rotation_axis_angles", "scales", "mat3x3")
    got = {k: la.get(f"InstancePoses3D:{k}") for k in keys}
    n = max((len(c.values) for c in got.values() if c is not None), default=0)
    if n == 0:
        return []
    tr = _v(got["translations"]) if got["translations"] is not None and len(got["translations"].values) else None
    q = _v(got["quaternions"]) if got["quaternions"] is not None and len(got["quaternions"].values) else None
    if q is None and got["rotation_axis_angles"] is not None and len(got["rotation_axis_angles"].values):
        q = np.array([axis_angle_quat(**r) for r in got["rotation_axis_angles"].values.to_pylist()])
    sc = _v(got["scales"]) if got["scales"] is not None and len(got["scales"].values) else None
    m3 = _v(got["mat3x3"]) if got["mat3x3"] is not None and len(got["mat3x3"].values) else None
    out = []
    for i in range(n):
        m = np.eye(4)
        lin = np.eye(3)
        if m3 is not None:  # (column-major, as Rerun's Mat3x3)
            lin = np.asarray(m3[min(i, len(m3) - 1)], float).reshape(3, 3).T @ lin
        if sc is not None:
            lin = np.diag(np.asarray(sc[min(i, len(sc) - 1)], float)) @ lin
        rot = _T(np.zeros(3), np.asarray(q[min(i, len(q) - 1)], float)).matrix()[:3, :3] if q is not None else np.eye(3)
        m[:3, :3] = rot @ lin
        if tr is not None:
            m[:3, 3] = np.asarray(tr[min(i, len(tr) - 1)], float)
        out.append(m)
    return out


class _Posed:
    """An entity's transform after one of its instance poses (``apply`` as Transform's)."""

    def __init__(self, tf: Transform, pose: np.ndarray):
        self.tf, self.pose = tf, pose
        self.translation = tf.apply(pose[:3, 3][None])[0]

    def apply(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, float)
        return self.tf.apply(p @ self.pose[:3, :3].T + self.pose[:3, 3])


def frame_graph(store: ChunkStore, timeline: str) -> FrameGraph:
    """The frame graph of every Transform3D row with parent and child frames in the store (only
    the chunks holding transforms are read), with latest-at hold after an edge's last stamp."""
    return FrameGraph.from_chunks(store.chunks_with("Transform3D:child_frame"), timeline=timeline,
                                  tolerance_ns=0, hold_latest=True)


def is_spatial(columns) -> bool:
    """Whether an entity with these ``Archetype:field`` columns draws in a 3D view."""
    return any(c.split(":", 1)[0] in SPATIAL_ARCHETYPES for c in columns)


def entity_frame(store: ChunkStore, entity: str, timeline: str, t: int | None = None) -> str | None:
    """The entity's frame id (``CoordinateFrame:frame``) latest-at ``t`` (the end if None)."""
    if t is None:
        rng = store.time_range(timeline)
        t = rng[1] if rng else 2**62
    fr = store.latest_at(entity, timeline, t).get("CoordinateFrame:frame")
    if fr is None or not len(fr.values):
        return None
    return fr.values[0].as_py() or None


def _root(g: FrameGraph, frame: str) -> str:
    seen = {frame}
    while True:
        p = g.parent(frame)
        if p is None or p in seen:
            return frame
        seen.add(p)
        frame = p


def default_fixed_frame(store: ChunkStore, timeline: str, graph: FrameGraph | None = None) -> str | None:
    """The fixed frame a 3D view should start in: the TF root (or frame outside TF) that the most
    spatial rows resolve to; a REP 105 name (``map``, then ``odom``, ``world``, ``earth``) wins
    over other names when it holds at least a tenth of the best's rows (a fixed depth sensor's
    frame does not beat the robot's odometry); the TF root with the most frames when no data
    names a frame; None when nothing names a frame."""
    g = graph or frame_graph(store, timeline)
    weight: dict[str, int] = {}
    for e in store.entities():
        cols = store.columns(e)
        if "Transform3D:child_frame" in cols or not is_spatial(cols):
            continue
        f = entity_frame(store, e, timeline)
        if f is None:
            continue
        r = _root(g, f) if f in g.frames() else f
        weight[r] = weight.get(r, 0) + store.num_rows(e)
    if not weight:
        for r in g.roots():
            weight[r] = sum(1 for f in g.frames() if _root(g, f) == r)
    if not weight:
        return None
    best = max(weight.values())
    for pref in PREFERRED_ROOTS:
        if weight.get(pref, 0) * 10 >= best:
            return pref
    tied = sorted(r for r, w in weight.items() if w == best)
    # a preferred name inside the winning tree (map -> odom -> base_link: "map")
    return tied[0]


def odometry_child_frames(store: ChunkStore, timeline: str) -> list[str]:
    """The ``child_frame_id`` of every ``nav_msgs/Odometry`` topic's last message (the frame a
    robot's odometry moves: its base), most messages first."""
    found = []
    for e in store.entities():
        col = next((c for c in store.columns(e) if c == "nav_msgs.msg.Odometry:message"), None)
        if col is None:
            continue
        la = store.latest_at(e, timeline, 2**62, [col]).get(col)
        if la is None or not len(la.values):
            continue
        try:
            child = la.values[0]["child_frame_id"].as_py()
        except (KeyError, TypeError, IndexError):
            continue
        if child:
            found.append((-store.num_rows(e), child.lstrip("/")))
    return [c for _, c in sorted(found)]


def frame_depths(g: FrameGraph) -> dict[str, int]:
    """Each frame's depth below its TF root (roots 0)."""
    out: dict[str, int] = {}
    for f in g.frames():
        d, x, seen = 0, f, {f}
        while (p := g.parent(x)) is not None and p not in seen:
            seen.add(p)
            x, d = p, d + 1
        out[f] = d
    return out


def default_target_frame(store: ChunkStore, timeline: str, fixed_frame: str | None,
                         graph: FrameGraph | None = None) -> str | None:
    """The frame a 3D view's camera should follow (rviz's orbit view "Target Frame"): the robot's
    base frame in the fixed frame's TF tree — an odometry topic's child frame, else a frame with a
    base name (:data:`BASE_FRAMES`, also under a namespace: ``robot1/base_link``), else the
    highest frame whose own transform moves — and the fixed frame itself when none is found (or
    the fixed frame is not in TF)."""
    g = graph or frame_graph(store, timeline)
    frames = g.frames()
    if not fixed_frame or fixed_frame not in frames or fixed_frame.rsplit("/", 1)[-1] in BASE_FRAMES:
        return fixed_frame  # (a fixed frame that is the robot's base: the robot is where the camera is)
    root = _root(g, fixed_frame)
    tree = {f for f in frames if _root(g, f) == root}
    for f in odometry_child_frames(store, timeline):
        if f in tree and f != fixed_frame:
            return f
    rank = {n: i for i, n in enumerate(BASE_FRAMES)}
    named = sorted((rank[f.rsplit("/", 1)[-1]], f.count("/"), f) for f in tree
                   if f.rsplit("/", 1)[-1] in rank and f != fixed_frame)
    if named:
        return named[0][2]
    depth = frame_depths(g)
    moving = sorted((depth[f], f) for f in tree if f != fixed_frame and not g.is_static(f) and g.time_range(f))
    return moving[0][1] if moving else fixed_frame


POSE_TYPES = ("nav_msgs.msg.Odometry", "geometry_msgs.msg.PoseWithCovarianceStamped", "geometry_msgs.msg.PoseStamped")


def default_follow_entity(store: ChunkStore, timeline: str, fixed_frame: str | None) -> str | None:
    """When TF names no robot frame: the pose topic the camera should follow instead — the
    ``Odometry``/``PoseWithCovarianceStamped``/``PoseStamped`` entity expressed in the fixed frame
    whose position moves the most (an underwater vehicle's dead reckoning), or None."""
    if not fixed_frame:
        return None
    best, best_span = None, 0.0
    for e in store.entities():
        cols = store.columns(e)
        if "Arrows3D:origins" not in cols or not any(c.split(":")[0] in POSE_TYPES for c in cols):
            continue
        if entity_frame(store, e, timeline) != fixed_frame:
            continue
        r = store.range(e, timeline, -2**62, 2**62, "Arrows3D:origins", include_latest_at=False)
        if len(r) < 2:
            continue
        p = as_numpy(r.values.flatten().flatten()).reshape(-1, 3).astype(float)
        p = p[np.isfinite(p).all(axis=1)]
        span = float(np.ptp(p, axis=0).max()) if len(p) > 1 else 0.0
        if span > best_span:
            best, best_span = e, span
    return best


def entity_position(store: ChunkStore, entity: str, timeline: str, t: int) -> np.ndarray | None:
    """(3,) m: the first ``Arrows3D:origins`` of ``entity`` latest-at ``t`` (a pose's position in
    its frame), None before its first row."""
    la = store.latest_at(entity, timeline, t, ["Arrows3D:origins"]).get("Arrows3D:origins")
    if la is None or not len(la.values):
        return None
    p = as_numpy(la.values.flatten()).reshape(-1, 3) if hasattr(la.values, "flatten") else None
    if p is None or not len(p) or not np.isfinite(p[0]).all():
        return None
    return p[0].astype(float)


def scene_3d(store: ChunkStore, entities: list[str], timeline: str, t: int, fixed_frame: str | None,
             graph: FrameGraph | None = None, axis_length: float | None = None,
             trail_ns: int = 0, hidden_frames=frozenset(), tints: dict | None = None) -> Geometry3D:
    """Latest-at geometry of ``entities`` at ``t`` (ns), in ``fixed_frame``.

    Entities without a CoordinateFrame are drawn as they are; frames the graph cannot resolve at
    ``t`` (unknown, disconnected, before their first transform) are reported in ``problems``.
    TF frames connected to ``fixed_frame`` (but those in ``hidden_frames``) are drawn as axes of
    ``axis_length`` m (None: 4 % of the scene's size, 0.1-5 m) with their names. With ``trail_ns`` > 0, where each pose entity
    (Arrows3D origins) and each moving frame was over [t - trail_ns, t] is drawn as a trail;
    ``tints`` (frame namespace ``"B/"`` -> RGBA, an overlay of runs) colours the trails of the
    frames under a namespace.
    """
    g = graph or frame_graph(store, timeline)
    out = SceneBuilder()
    for ent in entities:
        la = store.latest_at(ent, timeline, t)
        if not la:
            continue
        tf = _entity_transform(ent, la, g, fixed_frame, t, out.problems, store, timeline)
        if tf is None:
            continue
        poses = instance_poses(la)
        for arch, visualize in VISUALIZERS_3D.items():
            if any(k.startswith(arch + ":") for k in la):
                # InstancePoses3D: meshes and assets are drawn once per pose ("instancing"), the
                # others under the first pose only (Rerun 0.41's rule)
                each = ([_Posed(tf, p) for p in (poses if arch in _INSTANCING else poses[:1])]
                        if poses else [tf])
                try:
                    for tfi in each:
                        visualize(la, tfi, out)
                except (ValueError, TypeError, IndexError) as e:  # malformed data: say so, draw the rest
                    out.problems[ent] = f"{arch}: {e}"
        if trail_ns > 0 and "Arrows3D:origins" in la:
            _pose_trail(store, ent, timeline, t, trail_ns, tf, la, out)
    frames = []
    if fixed_frame and fixed_frame not in g.frames():
        if fixed_frame not in hidden_frames:
            frames.append((fixed_frame, Transform.identity()))  # the fixed frame's origin, even outside TF
    elif fixed_frame:
        for f in sorted(g.frames() - set(hidden_frames)):
            try:
                frames.append((f, g.lookup(fixed_frame, f, t)))
            except FrameGraphError:
                continue
    geo = None
    if axis_length is None:
        geo = out.build()
        pts = np.concatenate([geo.extent_points()] + [tf.apply(np.zeros((1, 3))) for _, tf in frames])
        size = float(np.linalg.norm(np.percentile(pts, 98, axis=0) - np.percentile(pts, 2, axis=0))) if len(pts) > 1 else 1.0
        axis_length = float(np.clip(0.04 * size, 0.1, 5.0))
    for f, tf in frames:
        out.axes.append([tf.apply(np.zeros(3)), *tf.apply(np.eye(3) * axis_length)])
        out.axis_names.append(f)
    if trail_ns > 0 and fixed_frame in g.frames():
        _frame_trails(g, fixed_frame, t, trail_ns, out, tints or {})
    return out.build()


def _first_vector(la: dict, column: str, n: int):
    v = la.get(column)
    if v is None or not len(v.values):
        return None
    flat = np.asarray(as_numpy(v.values.flatten()) if hasattr(v.values, "flatten") else v.values, float).ravel()
    return flat[:n] if len(flat) >= n and np.isfinite(flat[:n]).all() else None


def hierarchy_transform(store: ChunkStore, ent: str, timeline: str, t: int) -> Transform:
    """Rerun's entity-path transforms: a ``Transform3D`` logged on an entity without TF frames
    (no ``child_frame``) places that entity and everything under it in its parent's space
    (``/dna/structure``'s rotation turns ``/dna/structure/left``). The chain from the root to
    ``ent`` at ``t`` (latest-at), translation and rotation (quaternion xyzw); identity if none."""
    tf = Transform.identity()
    parts = [p for p in ent.split("/") if p]
    have = store.entities_set() if hasattr(store, "entities_set") else set(store.entities())
    for i in range(1, len(parts) + 1):
        path = "/" + "/".join(parts[:i])
        if path not in have:
            continue
        la = store.latest_at(path, timeline, t, ["Transform3D:translation", "Transform3D:quaternion",
                                                 "Transform3D:rotation_axis_angle", "Transform3D:child_frame",
                                                 "Transform3D:relation"])
        if not la or "Transform3D:child_frame" in la:
            continue
        tr = _first_vector(la, "Transform3D:translation", 3)
        q = _first_vector(la, "Transform3D:quaternion", 4)
        aa = la.get("Transform3D:rotation_axis_angle")
        inst = aa.values if aa is not None else None
        while inst is not None and hasattr(inst.type, "value_type"):
            inst = inst.flatten()  # (list rows) -> the instances: structs of axis and angle
        first = inst[0].as_py() if inst is not None and len(inst) else None
        if isinstance(first, dict) and first.get("axis") is not None and first.get("angle") is not None:
            qa = axis_angles_to_quats([first["axis"]], [first["angle"]])[0]  # applied before the quaternion
            if np.isfinite(qa).all():
                q = qa if q is None else quat_multiply(qa, q)
        if tr is None and q is None:
            continue
        step = Transform(np.zeros(3) if tr is None else tr,
                         np.array([0.0, 0.0, 0.0, 1.0]) if q is None else q / (np.linalg.norm(q) or 1.0))
        rel = la.get("Transform3D:relation")
        if rel is not None and len(rel.values) and rel.values[0].as_py() == 2:  # ChildFromParent
            step = step.inverse()
        tf = tf * step
    return tf


def _entity_transform(ent, la, g: FrameGraph, fixed_frame, t, problems, store=None, timeline=None) -> Transform | None:
    frame = la.get("CoordinateFrame:frame")
    if frame is None or not fixed_frame or not len(frame.values):
        if store is not None and frame is None:  # no ROS frame: Rerun's entity-path transforms
            return hierarchy_transform(store, ent, timeline, t)
        return Transform.identity()
    name = frame.values[0].as_py()
    if not name or name == fixed_frame:
        return Transform.identity()
    # a Marker with frame_locked false stays where it was drawn (the transform at its own stamp,
    # as rviz); everything else follows its frame at the cursor time
    lock = la.get("Marker:frame_locked")
    at = frame.time if (lock is not None and len(lock.values) and not lock.values[0].as_py()
                        and frame.time is not None) else t
    known = g.frames()
    if name not in known or fixed_frame not in known:
        missing = [f for f in (name, fixed_frame) if f not in known]
        problems[ent] = (f"no transform from {name!r} to the fixed frame {fixed_frame!r}: "
                         f"{' and '.join(repr(m) for m in missing)} {'is' if len(missing) == 1 else 'are'} not in TF")
        return None
    try:
        return g.lookup(fixed_frame, name, at)
    except FrameGraphError as e:
        problems[ent] = str(e)
        return None


def _fade(col: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) uint8: ``col`` from 15 % to 90 % opacity, oldest first."""
    c = np.tile(np.asarray(col, np.uint8)[:3], (n, 1))
    a = np.linspace(40, 230, n).astype(np.uint8)[:, None]
    return np.concatenate([c, a], 1)


def _pose_trail(store, ent, timeline, t, trail_ns, tf, la, out) -> None:
    r = store.range(ent, timeline, t - trail_ns, t, "Arrows3D:origins", include_latest_at=False)
    if len(r) < 2:
        return
    off = list_offsets(r.values)
    has = off[1:] > off[:-1]
    if not has.any():
        return
    flat = as_numpy(r.values.values.flatten()).reshape(-1, 3).astype(float)
    p = flat[off[:-1][has]]
    p = p[np.isfinite(p).all(axis=1)]
    if len(p) < 2 or np.ptp(p, axis=0).max() <= 1e-3:  # arrows that stay put (a twist at its origin): no trail
        return
    if len(p) > 4 * TRAIL_SAMPLES_MAX:
        p = p[np.linspace(0, len(p) - 1, 4 * TRAIL_SAMPLES_MAX).astype(np.int64)]
    col = colors(la.get("Arrows3D:colors"), 1)[0]
    out.add_polyline(tf.apply(p), _fade(col, max(len(p) - 1, 1)), trail=True)


TRAIL_COLOR = (120, 200, 255, 255)


def _frame_trails(g: FrameGraph, fixed_frame: str, t: int, trail_ns: int, out, tints: dict) -> None:
    """Trails of the frames whose own edge moves, near the top of the fixed frame's tree (odom,
    base_link: the robot; not every wheel joint)."""
    root = _root(g, fixed_frame)
    picked = []
    for f in sorted(g.frames()):
        if f == fixed_frame or g.is_static(f) or g.time_range(f) is None:
            continue
        depth, x = 0, f
        while g.parent(x) is not None and depth < 4:
            x, depth = g.parent(x), depth + 1
        if x != root or depth > 2:
            continue
        picked.append(f)
    for f in picked[:TRAIL_FRAMES_MAX]:
        times = g.sample_times(f)
        lo, hi = np.searchsorted(times, t - trail_ns, "left"), np.searchsorted(times, t, "right")
        ts = times[lo:hi]
        if len(ts) < 2:
            continue
        if len(ts) > TRAIL_SAMPLES_MAX:
            ts = ts[np.linspace(0, len(ts) - 1, TRAIL_SAMPLES_MAX).astype(np.int64)]
        try:
            tf, ok = g.lookup_many(fixed_frame, f, ts)
        except FrameGraphError:
            continue
        pts = tf.translation[ok]
        if len(pts) >= 2 and np.ptp(np.asarray(pts), axis=0).max() > 1e-3:
            col = next((c for p, c in tints.items() if f.startswith(p)), TRAIL_COLOR)
            out.add_polyline(np.asarray(pts), _fade(col, len(pts) - 1), trail=True)
