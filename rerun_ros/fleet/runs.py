"""One bag of a fleet job, as one task: fetch it (a URI), checksum it, convert it (the same
:func:`rerun_ros.convert.convert` as ``rerun-ros convert``), run the report's checks, and measure
what the catalog records. Ray-free and ROS-free: the Ray runner (:mod:`rerun_ros.fleet.ray_runner`)
calls :func:`process_bag` in its workers, tests call it directly.

What a run is measured by (the catalog's ``runs`` row): start/end and duration on log time (s),
messages and topics, the robot clock found (:mod:`rerun_ros.model.clock`), distance travelled
(m) and max speed (m/s) from the path with the most valid poses among the Odometry and pose
topics and the TF path of ``base_link``/``base_footprint`` in its TF root (NaN skipped), the
robot (the inputs' ``robot/date/run`` layout, else a tag, the bag's metadata or its topics'
namespace), the report's findings (missing/stale TF, time jumps, rate drops, NaN), a verdict
(``ok``, ``warnings``, ``damaged``), tags.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .inputs import BagInput, checksum
from ..model.names import LOG_TIME_NAME, ROS_TIME_NAME

__all__ = ["RunResult", "process_bag", "converter_version", "run_metrics", "FORMAT"]

#: bump when what a conversion writes changes: outputs of an older format are converted again
FORMAT = 1


def converter_version() -> str:
    """``rerun_ros <version> format <FORMAT>``: with the input checksum, the resume key."""
    try:
        from importlib.metadata import version
        v = version("rerun_ros")
    except Exception:  # noqa: BLE001 - not installed as a distribution (a source tree)
        v = "0"
    return f"rerun_ros {v} format {FORMAT}"


@dataclass
class RunResult:
    """What one task did. ``status``: ``ok``, ``partial`` (converted with losses: exit 3),
    ``failed`` (nothing usable; ``reason`` says why). ``run``/``topics``/``events`` are the
    catalog rows (without the driver's columns)."""

    source: str
    output: str
    status: str
    reason: str = ""
    checksum: str = ""
    seconds: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    attempts: int = 1
    run: dict = field(default_factory=dict)
    topics: list = field(default_factory=list)
    events: list = field(default_factory=list)


def _fetch(source: str, into: Path) -> Path:
    import fsspec
    fs, path = fsspec.core.url_to_fs(source)
    name = Path(path.rstrip("/")).name
    dst = into / name
    if source.endswith("/"):
        fs.get(path.rstrip("/") + "/", str(dst) + "/", recursive=True)
    else:
        fs.get(path, str(dst))
    return dst


#: message types whose pose is the robot's position in a fixed frame, and where it lies
POSE_TYPES = {"nav_msgs.msg.Odometry": ("pose.pose.position", "twist.twist.linear"),
              "geometry_msgs.msg.PoseWithCovarianceStamped": ("pose.pose.position", None),
              "geometry_msgs.msg.PoseStamped": ("pose.position", None)}


def _pose_paths(store) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(entity, times ns (n,), positions (n, 3) m, speed (n,) m/s or None) of every Odometry,
    PoseWithCovarianceStamped and PoseStamped topic stamped in a named frame, finite positions
    only, in log-time order."""
    from ..mappers.base import struct_field
    from ..model.components import as_numpy, list_offsets, validity
    out = []
    for e in store.entities():
        cols = store.columns(e)
        typ = next((t for t in POSE_TYPES if f"{t}:message" in cols), None)
        if typ is None:
            continue
        where, twist = POSE_TYPES[typ]
        ts, ps, vs = [], [], []
        for c in store.chunks(e):
            comp = c.component(f"{typ}:message")
            if comp is None or LOG_TIME_NAME not in c.timelines:
                continue
            msg = comp[1]
            ok = validity(msg)
            off = list_offsets(msg)
            rows = np.flatnonzero(ok & (off[1:] > off[:-1]))
            st = msg.values
            first = off[:-1][rows] - off[0]
            named = np.asarray([bool(x) for x in struct_field(st, "header.frame_id").to_pylist()])[first]
            rows, first = rows[named], first[named]
            pos = struct_field(st, where)
            xyz = np.stack([np.asarray(as_numpy(struct_field(pos, k)), float) for k in "xyz"], 1)
            ts.append(np.asarray(c.timelines[LOG_TIME_NAME][1], np.int64)[rows])
            ps.append(xyz[first])
            if twist is not None:
                lin = struct_field(st, twist)
                v = np.stack([np.asarray(as_numpy(struct_field(lin, k)), float) for k in "xyz"], 1)
                vs.append(np.linalg.norm(v[first], axis=1))
        if not ts:
            continue
        t, p = np.concatenate(ts), np.concatenate(ps)
        v = np.concatenate(vs) if vs else None
        order = np.argsort(t, kind="stable")
        good = np.isfinite(p[order]).all(axis=1)
        out.append((e, t[order][good], p[order][good], None if v is None else v[order][good]))
    return out


def _tf_path(store) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(times, positions, frame) of base_link (or base_footprint) in its TF root, at its own
    edge's samples."""
    from ..query.frames import FrameGraph, FrameGraphError
    chunks = store.chunks_with("Transform3D:child_frame")
    if not chunks:
        return None
    tl = ROS_TIME_NAME
    g = FrameGraph.from_chunks(chunks, timeline=tl, hold_latest=True)
    for frame in ("base_link", "base_footprint"):
        if frame not in g.frames() or g.is_static(frame) or g.time_range(frame) is None:
            continue
        root = frame
        while g.parent(root) is not None:
            root = g.parent(root)
        times = g.sample_times(frame)
        try:
            tf, ok = g.lookup_many(root, frame, times)
        except FrameGraphError:
            continue
        return times[ok], np.asarray(tf.translation)[ok], frame
    return None


SPEED_WINDOW_S = 0.5


def _max_speed(t: np.ndarray, p: np.ndarray) -> float | None:
    """The highest mean speed (m/s) over any window of at least ``SPEED_WINDOW_S`` (0.5 s)
    between samples: position jitter over a few ms would otherwise read as tens of m/s."""
    if len(t) < 2:
        return None
    j = np.searchsorted(t, t + int(SPEED_WINDOW_S * 1e9), side="left")
    ok = j < len(t)
    if not ok.any():
        j = np.full(len(t), len(t) - 1)
        ok = np.arange(len(t)) < len(t) - 1
    i = np.flatnonzero(ok)
    dt = (t[j[i]] - t[i]) / 1e9
    good = dt > 0
    if not good.any():
        return None
    return float((np.linalg.norm(p[j[i]] - p[i], axis=1)[good] / dt[good]).max())


def _moves(p: np.ndarray) -> bool:
    return len(p) > 1 and bool((np.ptp(p, axis=0) > 1e-6).any())


def run_metrics(store) -> dict:
    """Distance travelled (m) and max speed (m/s) of the robot in a recording, from the path
    with the most valid (finite) poses among the pose topics (Odometry first on a tie) and the
    TF path of the base frame in its root; a path that moves beats one that never does.
    ``motion_source`` names it (``odometry /odom``, ``pose /dvl/dead_reckoning``,
    ``tf base_link``, ``none``)."""
    cands = []
    for e, t, p, v in _pose_paths(store):
        if len(p):
            odo = v is not None
            cands.append((_moves(p), len(p), odo, f"{'odometry' if odo else 'pose'} {e}", t, p, v))
    tp = _tf_path(store)
    if tp is not None and len(tp[0]):
        cands.append((_moves(tp[1]), len(tp[0]), False, f"tf {tp[2]}", tp[0], tp[1], None))
    if not cands:
        return {"distance_m": None, "max_speed_mps": None, "motion_source": "none"}
    # a path that moves beats one that never does (a TF edge with zero translation); then the
    # most valid poses; then Odometry
    _, n, _, src, t, p, v = max(cands, key=lambda c: (c[0], c[1], c[2]))
    steps = np.linalg.norm(np.diff(p, axis=0), axis=1) if len(p) > 1 else np.zeros(0)
    vmax = None
    if v is not None:
        fin = np.isfinite(v)
        vmax = float(v[fin].max()) if fin.any() and v[fin].max() > 0 else None
    if vmax is None:  # no twist (or all zero): from the positions
        vmax = _max_speed(t, p)
    return {"distance_m": float(steps.sum()), "max_speed_mps": vmax, "motion_source": src}


GLOBAL_TOPICS = {"tf", "tf_static", "rosout", "rosout_agg", "clock", "parameter_events", "diagnostics",
                 "diagnostics_agg", "robot_description", "events", "joint_states", "cmd_vel", "odom", "map"}


def robot_name(topics: list[str], metadata: list[tuple[str, dict]] | None = None) -> str:
    """A robot's name when the inputs' layout does not give it: a ``robot``/``robot_name``/
    ``hostname`` key of the bag's metadata, else the namespace most of its topics share
    (``/coug2/dvl/data`` → ``coug2``), else ``""``."""
    for _, kv in metadata or []:
        for key in ("robot", "robot_name", "robot_id", "hostname", "host"):
            if kv.get(key):
                return str(kv[key])
    roots: dict[str, int] = {}
    nested = 0
    for t in topics:
        parts = [p for p in t.split("/") if p]
        if len(parts) >= 2 and parts[0] not in GLOBAL_TOPICS:
            nested += 1
            roots[parts[0]] = roots.get(parts[0], 0) + 1
    if roots:
        name, k = max(roots.items(), key=lambda kv: kv[1])
        if k >= 3 and 2 * k >= nested:
            return name
    return ""


def _metadata_of(path: Path) -> list:
    try:
        from ..sources import open_bag
        return getattr(open_bag(path), "metadata", None) or []
    except Exception:  # noqa: BLE001 - extras only
        return []


def _bag_tags(path: Path) -> dict:
    """Tags a rosbag2 directory carries: ``ros_distro`` and ``custom_data`` of its metadata.yaml."""
    meta = path / "metadata.yaml" if path.is_dir() else path.parent / "metadata.yaml"
    if not meta.is_file():
        return {}
    from .. import safe_yaml
    try:
        info = (safe_yaml.load(meta.read_text()) or {}).get("rosbag2_bagfile_information") or {}
    except Exception:  # noqa: BLE001 - tags are extras; a bad metadata file is reported by the conversion
        return {}
    tags = {str(k): str(v) for k, v in (info.get("custom_data") or {}).items()}
    if info.get("ros_distro"):
        tags["ros_distro"] = str(info["ros_distro"])
    return tags


def process_bag(bag: BagInput, out_dir: str, *, tags: dict | None = None, known_checksum: str | None = None,
                snapshots: bool = False) -> RunResult:
    """Convert one bag into ``out_dir`` and measure it (module doc). Never raises for a bad bag:
    the result says ``failed`` with the reason; unexpected errors propagate (the runner retries).
    The output is staged and renamed, so an interrupted task leaves no half file."""
    from ..convert import convert, exit_code
    from ..report import find_problems, topic_health
    from ..sources import BagError
    t0 = time.perf_counter()
    out = bag.output(out_dir)
    res = RunResult(bag.source, str(out), "failed")
    tmp = None
    try:
        local = Path(bag.source)
        if bag.remote:
            tmp = Path(tempfile.mkdtemp(prefix="rerun_ros_fleet_"))
            local = _fetch(bag.source, tmp)
        res.checksum = known_checksum or checksum(local)
        res.bytes_in = bag.size
        parts = Path(bag.relative).parts
        all_tags = {**_bag_tags(local), **(tags or {})}
        robot = all_tags.get("robot") or (parts[0] if len(parts) >= 3 else "")
        res.run = {"source": bag.source, "robot": robot, "tags": all_tags}
        out.parent.mkdir(parents=True, exist_ok=True)
        warnings: list[str] = []
        try:
            report = convert(local, out, warn=warnings.append, application_id=Path(bag.relative).name)
        except (BagError, FileNotFoundError, PermissionError, ValueError) as e:
            res.reason = str(e).splitlines()[0]
            return res
        code = exit_code(report)
        if code == 1:
            res.reason = (warnings[0] if warnings else "nothing converted").splitlines()[0]
            return res
        res.status = "ok" if code == 0 else "partial"
        if code:
            res.reason = (warnings[0] if warnings else "messages lost or not drawn").splitlines()[0]
        res.bytes_out = out.stat().st_size
        if not robot:
            robot = robot_name([t.topic for t in report.topics], _metadata_of(local))
        from ..query.recording import open as open_recording
        rec = open_recording(out)
        store = rec.store
        health = topic_health(store)
        findings = find_problems(store, health)
        tl = LOG_TIME_NAME if store.time_range(LOG_TIME_NAME) else ROS_TIME_NAME
        rng = store.time_range(tl)
        res.run = {
            "source": bag.source, "path": str(out), "checksum": res.checksum, "robot": robot,
            "start_ns": rng[0] if rng else None, "end_ns": rng[1] if rng else None,
            "duration_s": (rng[1] - rng[0]) / 1e9 if rng else 0.0,
            "messages": report.messages, "converted": report.converted, "topics": len(report.topics),
            "clock": report.clock.get("kind"),
            **run_metrics(store),
            "warnings": len(warnings) + len(findings),
            "verdict": "damaged" if report.damaged else ("warnings" if findings or warnings else "ok"),
            "tags": all_tags,
        }
        h_by = {h.entity: h for h in health}
        res.topics = [{"topic": t.topic, "entity": t.entity, "type": t.type_name, "messages": t.messages,
                       "converted": t.converted,
                       "rate_hz": h_by[t.entity].rate_hz if t.entity in h_by else None,
                       "max_gap_s": h_by[t.entity].max_gap_s if t.entity in h_by else None}
                      for t in report.topics]
        res.events = ([{"kind": "conversion", "entity": "", "message": w} for w in warnings] +
                      [{"kind": f.kind, "entity": f.entity, "message": f.message} for f in findings])
        return res
    finally:
        res.seconds = time.perf_counter() - t0
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
