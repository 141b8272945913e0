"""A logging SDK with Rerun's Python face, so a ROS node (or any script) logs its own data beside
the bridged topics: ``import rerun_ros.sdk as rr`` where a program had ``import rerun as rr``.

    import rerun_ros.sdk as rr
    rr.init("planner", spawn=True)                  # our viewer (spawn="rerun": the official one)
    rr.set_time("ros_time", timestamp=node_time_s)  # or sequence=, duration= (seconds)
    rr.log("/planner/path", rr.LineStrips3D([path_xyz]))
    rr.send_columns("/planner/cost", indexes=[rr.TimeColumn("step", sequence=steps)],
                    columns=rr.Scalars.columns(scalars=costs))
    rr.save("planner.rrd")                          # and/or rr.connect_grpc(), rr.connect_tcp()

Archetypes have Rerun 0.41's names and arguments (:mod:`rerun_ros.sdk.archetypes`); a
:class:`RecordingStream` is one recording (several at once are fine; module functions use the
global one, or ``recording=``); logging is thread-safe and never blocks on a slow viewer (the
gRPC sink drops and counts, see :class:`rerun_ros.stream.grpc.GrpcSink`). Before any sink is set,
logged data is kept in memory and handed to the first sink (as Rerun does). Sinks:

- ``save(path)``: an ``.rrd`` file (Rerun 0.41 format, footer written on ``disconnect``/exit);
- ``connect_grpc(url)``: a Rerun gRPC message proxy (``rerun+http://127.0.0.1:9876/proxy``): the
  official viewer, ``rerun --serve-grpc``, or ``rerun-ros serve`` (and our viewer on it);
- ``connect_tcp(addr)``: serves the recording on our TCP viewer stream at ``addr``
  (``rerun-ros view tcp://addr`` connects; the logging process is the server, as the bridge is).

Entity paths are Rerun's (``"dna/structure/left"`` is ``/dna/structure/left``); times are ns
inside (``duration``/``timestamp`` given in seconds, ``timedelta``/``datetime`` or numpy times).
"""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import threading
import time as _time
from pathlib import Path

import numpy as np

from ..model.archetypes import (AnyValues, Arrows3D, Boxes3D, Clear, ComponentColumn,  # noqa: F401
                                ComponentColumnList, CoordinateFrame, Cylinders3D, Ellipsoids3D,
                                GeoPoints, LineStrips3D, Mesh3D, Points2D, Points3D, Scalars,
                                SeriesLines, TextDocument, TextLog)
from ..model.chunk import Timeline
from ..rrd import writer as _writer  # noqa: F401  (what rr.save needs, loaded with the SDK as rerun loads its own)
from ..stream import recording as _core
from . import blueprint  # noqa: F401  (rr.blueprint, as rerun.blueprint)
from . import components, datatypes, encodings  # noqa: F401  (rr.components, rr.encodings, as rerun's)
from .components import MediaType, Radius, TextLogLevel  # noqa: F401
from .encodings import Angle, AnnotationInfo, ClassDescription, KeypointPair  # noqa: F401
from .archetypes import (DepthImage, EncodedImage, Image, Pinhole, Quaternion, RotationAxisAngle,  # noqa: F401
                         SegmentationImage, Boxes2D, Box2DFormat, Asset3D,
                         TimeColumn, Transform3D, ViewCoordinates, to_ns)

__all__ = [
    "init", "RecordingStream", "log", "set_time", "set_time_seconds", "set_time_sequence", "disable_timeline",
    "reset_time", "send_columns", "save", "connect_grpc", "connect_tcp", "spawn", "send_blueprint", "disconnect",
    "flush", "get_global_data_recording", "TimeColumn", "blueprint",
    "Points3D", "Points2D", "LineStrips3D", "Boxes3D", "Arrows3D", "Ellipsoids3D", "Cylinders3D", "Mesh3D",
    "Asset3D", "Transform3D", "RotationAxisAngle", "Quaternion", "Pinhole", "Image", "DepthImage",
    "SegmentationImage", "EncodedImage", "Scalars", "SeriesLines", "TextLog", "TextDocument", "Clear",
    "GeoPoints", "AnyValues", "CoordinateFrame", "ViewCoordinates", "components", "encodings", "datatypes",
    "MediaType", "Radius", "TextLogLevel", "Angle", "AnnotationInfo", "ClassDescription", "KeypointPair",
    "Boxes2D", "Box2DFormat",
]


from .lenient import RerunWarning, set_strict_mode  # noqa: E402,F401  (rr.set_strict_mode, as Rerun's)


def _wrap_archetypes() -> None:
    """Every archetype class this module exports, lenient as Rerun's SDK outside strict mode
    (:mod:`rerun_ros.sdk.lenient`): a value it cannot store warns and logs the field empty."""
    from ..model.archetypes import Archetype
    from .lenient import lenient
    g = globals()
    for name in list(__all__):
        cls = g.get(name)
        if isinstance(cls, type) and issubclass(cls, Archetype) and cls is not Archetype:
            g[name] = lenient(cls)


_wrap_archetypes()
__all__ += ["set_strict_mode", "RerunWarning"]


def _table_names() -> list[str]:
    from ..model.archetype_table import ARCHETYPES
    return [n for n in ARCHETYPES if n not in globals()]


def __getattr__(name: str):
    """Rerun 0.41's other archetypes (``rr.Boxes2D``, ``rr.BarChart``, ...), made from their
    definitions (:mod:`rerun_ros.model.table_archetypes`) on first use."""
    from ..model.archetype_table import ARCHETYPES
    if name in ARCHETYPES:
        from ..model.table_archetypes import archetype_class
        from .lenient import lenient
        cls = globals()[name] = lenient(archetype_class(name))
        return cls
    raise AttributeError(f"module 'rerun_ros.sdk' has no attribute {name!r}")


__all__ += _table_names()

DEFAULT_GRPC_PORT = 9876
_LOG_TIME = Timeline("log_time", "timestamp")


class _Buffer:
    """Holds chunks logged before any sink exists; the first sink gets them (Rerun's memory sink)."""

    def __init__(self):
        self.chunks: list = []
        self.lock = threading.Lock()

    def write_chunk(self, chunk) -> None:
        with self.lock:
            self.chunks.append(chunk)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _path(entity_path: str) -> str:
    """An entity path as given (a leading ``/`` added).

    Raises:
        ValueError: it is not valid Unicode text (a lone surrogate).
    """
    p = str(entity_path)
    try:
        p.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"entity path {p!r} is not valid Unicode text ({e.reason})") from None
    return p if p.startswith("/") else "/" + p


def _warn(msg: str) -> None:
    """Rows the stream refused or could not send: said on stderr (as the official SDK logs its
    warnings), each distinct problem once."""
    print(f"[rerun_ros.sdk] warning: {msg}", file=sys.stderr, flush=True)


class RecordingStream:
    """One recording: an application id, a recording id (random unless given), its sinks.

    Args:
        application_id: the application (the viewer groups recordings and keeps its layout by it).
        recording_id: the recording (default a new random id).
    """

    def __init__(self, application_id: str, *, recording_id: str | None = None, make_default: bool = False,
                 default_blueprint=None):
        self.application_id = application_id
        self._buffer = _Buffer()
        self._rec = _core.RecordingStream(application_id, recording_id=recording_id, sinks=[self._buffer],
                                          on_error=_warn)
        self.recording_id = self._rec.recording_id
        self._sinks: list = []
        self._grpc: list = []
        self._servers: list = []
        self._static_chunks: list = []
        self._lock = threading.Lock()
        self.default_blueprint = default_blueprint
        self._closed = False
        # the recording's properties, as Rerun 0.41's SDK writes them: when it started (ns)
        import pyarrow as pa

        from ..model.components import ComponentDescriptor, array
        # (C.array, not pa.array: pyarrow's pa.array imports pandas, 0.25 s of every program)
        self._rec.log_components("/__properties", [(ComponentDescriptor("RecordingInfo", "start_time", "Timestamp"),
                                                    array([_time.time_ns()], pa.int64()))], static=True)
        _ALL.append(self)
        if make_default:
            global _GLOBAL
            _GLOBAL = self

    # -- time --------------------------------------------------------------------------------

    def set_time(self, timeline: str, *, sequence: int | None = None, duration=None, timestamp=None) -> None:
        """This thread's time on ``timeline``: a ``sequence`` number, a ``duration`` (seconds,
        ``timedelta``, ``timedelta64``) or a ``timestamp`` (seconds since the Unix epoch,
        ``datetime``, ``datetime64``).

        Raises:
            ValueError: none or several of them.
        """
        given = [v is not None for v in (sequence, duration, timestamp)]
        if sum(given) != 1:
            raise ValueError("set_time: give exactly one of sequence, duration, timestamp")
        if sequence is not None:
            self._rec.set_time(timeline, sequence=sequence)
        elif duration is not None:
            self._rec.set_time(timeline, duration_ns=to_ns(duration, "duration"))
        else:
            self._rec.set_time(timeline, timestamp_ns=to_ns(timestamp, "timestamp"))

    def disable_timeline(self, timeline: str) -> None:
        self._rec.disable_timeline(timeline)

    def reset_time(self) -> None:
        self._rec.reset_time()

    # -- data ----------------------------------------------------------------------------------

    def log(self, entity_path: str, *entities, static: bool = False) -> None:
        """Log archetypes (or ``(descriptor, flat array)`` component batches) on ``entity_path``
        at this thread's current times and on ``log_time`` (ns since the epoch, the wall clock
        now, as Rerun's SDK) (``static``: at every time).

        Raises:
            ValueError/TypeError: nothing to log, or values an archetype refuses.
        """
        arches = [e for e in entities if hasattr(e, "component_batches")]
        comps = [c for e in arches for c in e.component_batches()]
        for e in entities:
            if not hasattr(e, "component_batches"):
                comps.extend(e if isinstance(e, list) else [e])
        if not comps:
            raise ValueError(f"log({entity_path!r}): nothing to log")
        if static:
            self._rec.log_components(_path(entity_path), comps, static=True)
            return
        # every row also on log_time, the wall clock at the log call, as Rerun 0.41's SDK writes
        tp = dict(self._rec._times())
        tp[_LOG_TIME] = _time.time_ns()
        self._rec.log_components(_path(entity_path), comps, timepoints=tp)

    def send_columns(self, entity_path: str, indexes, columns) -> None:
        """Log many rows at once: ``indexes`` a list of :class:`TimeColumn` (one time per row),
        ``columns`` component columns (``Scalars.columns(scalars=values)``, one list per
        archetype or several). No per-row Python: the columns become one chunk.

        Raises:
            ValueError: columns or indexes of different lengths, no columns.
        """
        cols = [c for group in (columns if isinstance(columns, (list, tuple)) else [columns])
                for c in (group if isinstance(group, (list, tuple)) else [group])]
        if not cols:
            raise ValueError(f"send_columns({entity_path!r}): no columns")
        n = {c.num_rows() for c in cols}
        times = {Timeline(tc.timeline, "sequence" if tc.kind == "sequence" else tc.kind): tc.times for tc in indexes}
        n |= {len(t) for t in times.values()}
        if len(n) != 1:
            raise ValueError(f"send_columns({entity_path!r}): columns and indexes of different lengths {sorted(n)}")
        self._rec.log_columns(_path(entity_path), times, {c.descriptor: c.list_array() for c in cols},
                              static=not times)

    # -- sinks ---------------------------------------------------------------------------------

    def _add_sink(self, sink) -> None:
        """Add a sink; the first one also gets what was logged before it."""
        self._rec.flush()
        with self._rec.sink_lock, self._buffer.lock:  # no chunk goes out while the sinks change
            backlog, self._buffer.chunks = self._buffer.chunks, []
            self._static_chunks += [c for c in backlog if c.is_static]
            if not self._sinks:
                replay = backlog
            else:  # a later sink: the static data it would otherwise miss
                replay = list(self._static_chunks)
            for c in replay:
                sink.write_chunk(c)
            self._rec.sinks.append(sink)
            self._sinks.append(sink)
            if self._buffer in self._rec.sinks:
                self._rec.sinks.remove(self._buffer)

    def save(self, path, default_blueprint=None) -> None:
        """Write the recording to ``path`` (``.rrd``; staged, the footer at ``disconnect``/exit).
        A blueprint (``default_blueprint`` or the recording's) is written beside it as ``.rbl``.

        Raises:
            FileNotFoundError/PermissionError: the file cannot be created.
        """
        from ..rrd.writer import RrdWriter
        w = RrdWriter(path, application_id=self.application_id, recording_id=self.recording_id, threads=2)
        self._add_sink(w)
        bp = default_blueprint or self.default_blueprint
        if bp is not None:
            from ..blueprint.rerun import save_rbl
            save_rbl(blueprint.as_model(bp), Path(path).with_suffix(".rbl"), w.store_id.application_id)

    def connect_grpc(self, url: str | None = None, *, default_blueprint=None) -> None:
        """Stream to a Rerun gRPC message proxy (default ``rerun+http://127.0.0.1:9876/proxy``: the
        official viewer, ``rerun --serve-grpc``, ``rerun-ros serve``), with a blueprint if given.

        Raises:
            ValueError: a URL that is not ``rerun+http``.
        """
        from ..stream.grpc import DEFAULT_URL, GrpcSink
        bp = default_blueprint or self.default_blueprint
        s = GrpcSink(url or DEFAULT_URL, application_id=self.application_id, recording_id=self.recording_id,
                     blueprint=None if bp is None else blueprint.as_model(bp))
        self._grpc.append(s)
        self._add_sink(s)

    def connect_tcp(self, addr: str = "127.0.0.1:9877") -> str:
        """Serve the recording on our TCP viewer stream at ``addr`` (``rerun-ros view tcp://addr``
        follows it; a viewer that connects late gets the history the server keeps). Returns the
        address served (port 0 picks a free one)."""
        from ..stream.tcp import StreamServer
        srv = StreamServer(addr, application_id=self.application_id)
        self._servers.append(srv)
        self._add_sink(srv)
        return srv.address

    def send_blueprint(self, bp, *, make_active: bool = True, make_default: bool = True) -> None:
        """Send a layout to the gRPC sinks (now, and again after a reconnect): a
        :mod:`rerun_ros.sdk.blueprint` object, our blueprint model, or blueprint YAML."""
        model = blueprint.as_model(bp)
        self.default_blueprint = model
        for s in self._grpc:
            s.send_blueprint(model, make_active=make_active, make_default=make_default)

    def spawn(self, *, port: int = DEFAULT_GRPC_PORT, connect: bool = True, viewer: str = "rerun_ros",
              timeout: float = 20.0):
        """Start a viewer hosting a gRPC proxy on ``port`` unless one already listens there, then
        (``connect``) stream to it. ``viewer``: ``"rerun_ros"`` (``rerun-ros serve --view``; needs
        a display) or ``"rerun"`` (the official viewer, if installed).

        Returns the viewer process (``subprocess.Popen``), or None when a viewer already listened.

        Raises:
            FileNotFoundError: the official viewer is not installed. TimeoutError: nothing
            listened on the port within ``timeout`` s.
        """
        proc = None
        if not _listening(port):
            if viewer == "rerun":
                exe = shutil.which("rerun") or str(Path(sys.executable).parent / "rerun")
                if not os.path.exists(exe):
                    raise FileNotFoundError("spawn(viewer='rerun'): the official viewer is not installed "
                                            "(pip install rerun-sdk)")
                cmd = [exe, "--port", str(port)]
            else:
                cmd = [sys.executable, "-m", "rerun_ros.cli", "serve", "--port", str(port), "--view"]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
            end = _time.monotonic() + timeout
            while not _listening(port):
                if proc.poll() is not None:
                    raise TimeoutError(f"spawn: the viewer exited with status {proc.returncode} before listening "
                                       f"on port {port} (no display?)")
                if _time.monotonic() > end:
                    raise TimeoutError(f"spawn: no viewer listened on port {port} within {timeout:.0f} s")
                _time.sleep(0.1)
        if connect:
            self.connect_grpc(f"rerun+http://127.0.0.1:{port}/proxy")
        return proc

    def flush(self, blocking: bool = True) -> None:
        """Turn pending rows into chunks and hand them to the sinks (gRPC: wait until sent)."""
        self._rec.flush()
        if blocking:
            for s in self._grpc:
                s.flush()

    def disconnect(self) -> None:
        """Flush and close every sink (files get their footer); later logging is kept in memory
        until a new sink is set."""
        self._rec.flush()
        with self._rec.sink_lock, self._buffer.lock:
            sinks, self._sinks = self._sinks, []
            for s in sinks:
                if s in self._rec.sinks:
                    self._rec.sinks.remove(s)
            if self._buffer not in self._rec.sinks:
                self._rec.sinks.append(self._buffer)
        for s in sinks:
            try:
                s.close()
            except Exception as e:  # noqa: BLE001 - one failing sink must not keep the others open
                print(f"rerun_ros.sdk: closing {type(s).__name__}: {e}", file=sys.stderr)
        self._grpc, self._servers = [], []

    def stats(self) -> dict:
        """Rows logged and what the gRPC sinks sent or dropped."""
        return {"rows_logged": self._rec.stats.rows_logged,
                "grpc": [vars(s.stats) for s in self._grpc]}

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.disconnect()
            self._rec.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


_GLOBAL: RecordingStream | None = None
_ALL: list[RecordingStream] = []


def _at_exit() -> None:
    for r in list(_ALL):
        try:
            r.close()
        except Exception:  # noqa: BLE001 - at exit, report nothing more than the SDK's own lines
            pass


atexit.register(_at_exit)


def init(application_id: str, *, recording_id: str | None = None, spawn: bool | str = False,
         default_blueprint=None, default_enabled: bool = True, **_ignored) -> RecordingStream:
    """Start the global recording of ``application_id``. ``spawn=True`` starts our viewer (or
    connects to a viewer already on port 9876) and streams to it; ``spawn="rerun"`` the official
    viewer. Returns the recording."""
    global _GLOBAL
    if _GLOBAL is not None and not _GLOBAL._closed:
        _GLOBAL.close()
    _GLOBAL = RecordingStream(application_id, recording_id=recording_id, default_blueprint=default_blueprint)
    if spawn:
        _GLOBAL.spawn(viewer="rerun" if spawn == "rerun" else "rerun_ros")
    return _GLOBAL


def get_global_data_recording() -> RecordingStream | None:
    return _GLOBAL


def _rec(recording: RecordingStream | None) -> RecordingStream:
    r = recording or _GLOBAL
    if r is None:
        raise RuntimeError("rerun_ros.sdk: call rr.init(application_id) first (or pass recording=)")
    return r


def log(entity_path: str, *entities, static: bool = False, recording: RecordingStream | None = None) -> None:
    """:meth:`RecordingStream.log` on the global recording (or ``recording``)."""
    _rec(recording).log(entity_path, *entities, static=static)


def set_time(timeline: str, *, sequence=None, duration=None, timestamp=None,
             recording: RecordingStream | None = None) -> None:
    """:meth:`RecordingStream.set_time` on the global recording (or ``recording``)."""
    _rec(recording).set_time(timeline, sequence=sequence, duration=duration, timestamp=timestamp)


def set_time_seconds(timeline: str, seconds: float, *, recording: RecordingStream | None = None) -> None:
    """Older Rerun's ``set_time_seconds``: the time since the start in seconds (a duration)."""
    _rec(recording).set_time(timeline, duration=seconds)


def set_time_sequence(timeline: str, sequence: int, *, recording: RecordingStream | None = None) -> None:
    """Older Rerun's ``set_time_sequence``."""
    _rec(recording).set_time(timeline, sequence=sequence)


def disable_timeline(timeline: str, *, recording: RecordingStream | None = None) -> None:
    _rec(recording).disable_timeline(timeline)


def reset_time(*, recording: RecordingStream | None = None) -> None:
    _rec(recording).reset_time()


def send_columns(entity_path: str, indexes, columns, *, recording: RecordingStream | None = None,
                 strict=None) -> None:
    """:meth:`RecordingStream.send_columns` on the global recording (or ``recording``)."""
    _rec(recording).send_columns(entity_path, indexes, columns)


def save(path, default_blueprint=None, *, recording: RecordingStream | None = None) -> None:
    _rec(recording).save(path, default_blueprint)


def connect_grpc(url: str | None = None, *, default_blueprint=None, recording: RecordingStream | None = None) -> None:
    _rec(recording).connect_grpc(url, default_blueprint=default_blueprint)


def connect_tcp(addr: str = "127.0.0.1:9877", *, recording: RecordingStream | None = None) -> str:
    return _rec(recording).connect_tcp(addr)


def spawn(*, port: int = DEFAULT_GRPC_PORT, connect: bool = True, viewer: str = "rerun_ros",
          recording: RecordingStream | None = None):
    return _rec(recording).spawn(port=port, connect=connect, viewer=viewer)


def send_blueprint(bp, *, make_active: bool = True, make_default: bool = True,
                   recording: RecordingStream | None = None) -> None:
    _rec(recording).send_blueprint(bp, make_active=make_active, make_default=make_default)


def flush(blocking: bool = True, *, recording: RecordingStream | None = None) -> None:
    _rec(recording).flush(blocking)


def disconnect(*, recording: RecordingStream | None = None) -> None:
    _rec(recording).disconnect()


_ = np  # numpy is part of the SDK's face (arrays in, arrays out)
