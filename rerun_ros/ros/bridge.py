"""The ``bridge`` node: ROS 2 topics → the same mappers as MCAP import → chunk stream → viewer
stream (TCP) and/or ``.rrd`` file. The ``recorder`` node is the same node with recording
defaults (file rotation, split mode). See ``config/bridge.yaml`` for every parameter.

Timelines as for MCAP import: ``ros_time`` on the robot clock, here the node's clock (sim time
under ``use_sim_time``): header.stamp, else the receive time, and a publisher whose stamps are
off that clock by more than 10 s by its receive time (:mod:`rerun_ros.model.clock`);
``log_time`` (receive time on the node's clock; the wall clock before the first ``/clock``),
``publish_time``
(the publisher's source timestamp; rclpy reports it to the SingleThreadedExecutor only, so it is
there with ``executor:=single`` or where rclpy has no EventsExecutor, e.g. Humble).

Threads: the executor takes serialized messages (raw subscriptions) and queues them (never
blocking DDS); one mapping thread, every ``flush_period``, decodes what arrived as one batch per
topic (:mod:`rerun_ros.cdr`, with the installed type's definition) and maps it through the same
ingest as bags (:mod:`rerun_ros.ingest`), then hands the chunks to the sinks; the ``.rrd`` writer
encodes and writes in its own thread; the stream server sends to viewers.
"""
from __future__ import annotations

import gc
import importlib
import signal
import sys
import queue
import threading
import time
from collections import defaultdict, deque

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from ..model import components
from ..ingest import Ingestor
from ..model.clock import NODE, NODE_SIM, RobotClock
from ..stream.recording import BatcherConfig, CallbackSink, RecordingStream
from ..stream.sinks import CompactingSink, DecimatingSink, RotatingRrdSink
from ..stream.tcp import StreamServer
from ..stream.threads import name_os_thread
from .topic_config import Discovery, TopicSpec, default_qos_kind, parse_topic_spec
from ..model.names import PUBLISH_TIME_NAME, ROS_TIME_NAME

try:  # rclpy >= Iron passes the publisher's timestamps with the message
    from rclpy.subscription import MessageInfo  # noqa: F401
    HAS_MESSAGE_INFO = True
except ImportError:  # pragma: no cover - Humble
    HAS_MESSAGE_INFO = False

PARAMS = {
    "topics": ([""], "topic specs: '/topic [entity=/path] [qos=auto|sensor_data|reliable|best_effort|latched] [rate=Hz] [type=pkg/msg/T] [depth=N]'"),
    "auto_discover": (True, "also bridge every advertised topic of a supported type matching include/exclude"),
    "include": ([".*"], "regexes of topic names to auto-discover"),
    "exclude": (["^/parameter_events$", "^/rosout_agg$"], "regexes of topic names never to auto-discover"),
    "rate_limit_hz": (0.0, "default most messages per second per topic (0 = all)"),
    "discover_period": (0.05, "seconds between topic discovery passes (a read of the local graph cache, ~4 µs)"),
    "stream_address": ("127.0.0.1:9877", "viewer stream: host:port to serve on ('' = no stream)"),
    "rrd_path": ("", "write the recording to this .rrd ('' = no file)"),
    "grpc_url": ("", "also stream to a Rerun gRPC message proxy: the official viewer (`rerun`), `rerun --serve-grpc` "
                     "or `rerun-ros serve` ('default' = rerun+http://127.0.0.1:9876/proxy; '' = off); decimated like "
                     "the viewer stream in split mode"),
    "grpc_queue_bytes": (268435456, "most bytes waiting for the gRPC proxy (oldest chunks dropped, and counted, beyond)"),
    "blueprint": ("", "a blueprint YAML (file or text): sent to the gRPC proxy as the official viewer's layout"),
    "rotate_bytes": (0, "start a new .rrd file past this size (0 = never)"),
    "rotate_seconds": (0.0, "start a new .rrd file after this many seconds (0 = never)"),
    "sync_bytes": (16777216, "sync the .rrd to disk and drop it from the page cache every this many bytes (0 = leave it to the kernel)"),
    "direct_io": (True, "write the .rrd with O_DIRECT (no copy into the page cache: the big mix's bridge 0.78x -> "
                        "0.63x a bare subscriber's CPU; ordinary writes where the filesystem refuses it, e.g. tmpfs)"),
    "stream_raw": (True, "viewers on the stream decode the messages themselves: the bridge forwards them serialized "
                         "every flush_period and decodes once per file batch (the least CPU on the robot); false, or "
                         "split mode: the bridge decodes every flush_period and streams chunks"),
    "split": (False, "viewer stream gets a decimated copy (images at split_image_hz, clouds subsampled)"),
    "split_image_hz": (5.0, "split mode: most images per second per camera on the viewer stream"),
    "split_max_points": (20000, "split mode: most points per cloud on the viewer stream"),
    "stats_period": (10.0, "seconds between per-topic statistics log lines (0 = only at shutdown)"),
    "application_id": ("rerun_ros", "Rerun application id of the recording"),
    "history_bytes": (268435456, "recent data replayed to a viewer that (re)connects"),
    "flush_period": (0.02, "while a viewer is connected (stream or gRPC): seconds a message may wait to be decoded in one "
                           "batch with later messages of its topic (latency vs. per-batch cost)"),
    "file_flush_period": (1.0, "with no viewer connected: seconds messages wait to be decoded, mapped and written as one "
                               "batch (compact chunks, least CPU); with one, the longest a row waits to reach the file. "
                               "A bridge killed hard (SIGKILL, power loss) loses at most this much of the recording"),
    "executor": ("auto", "rclpy executor: 'events' (EventsExecutor, Jazzy+: about half the CPU per message, but "
                         "rclpy gives it no publisher timestamps, so no publish_time timeline), 'single' "
                         "(SingleThreadedExecutor, with publish_time), 'auto' = events where rclpy has it"),
    "queue_size": (100000, "messages waiting to be mapped before new ones are dropped (and counted)"),
    "queue_bytes": (536870912, "bytes of messages waiting to be mapped before new ones are dropped (and counted)"),
    "latency_report": ("", "write latency percentiles, publish → chunk handed to the stream and file (JSON), here at shutdown ('' = off)"),
    "stream_token": ("", "shared secret viewers must present ('' = one generated per run, written to a file only "
                         "this user can read, where local viewers find it); required for a non-loopback stream_address. "
                         "A value here is visible to every user in /proc/PID/cmdline: prefer stream_token_file"),
    "stream_token_file": ("", "a file (this user's, not readable by others) holding the stream token: a secret that "
                              "stays out of the command line"),
    "overwrite": (False, "replace an existing recording at rrd_path (default: a new name, <stem>-2.rrd, ...)"),
}

#: allowed values: (min, max) for numbers (None = unbounded), a tuple of choices for strings
RANGES = {
    "rate_limit_hz": (0.0, None), "discover_period": (0.01, 3600.0), "rotate_bytes": (0, None),
    "file_flush_period": (0.001, 60.0), "queue_bytes": (1 << 20, None),
    "rotate_seconds": (0.0, None), "sync_bytes": (0, None), "split_image_hz": (0.01, 1000.0),
    "split_max_points": (1, None), "stats_period": (0.0, None), "history_bytes": (0, None),
    "flush_period": (0.001, 10.0), "queue_size": (1, 10_000_000), "executor": ("auto", "events", "single"),
    "grpc_queue_bytes": (1 << 20, None),
}


def check_params(p: dict) -> None:
    """Every parameter within its range (see ``RANGES``).

    Raises:
        ValueError: one line naming the parameter, its value and what is allowed.
    """
    for key, rng in RANGES.items():
        v = p[key]
        if isinstance(rng[0], str):
            if v not in rng:
                raise ValueError(f"parameter {key}: {v!r} is not one of {', '.join(rng)}")
            continue
        lo, hi = rng
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            allowed = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            raise ValueError(f"parameter {key}: {v} is out of range (allowed: {allowed})")


def _coerce(key: str, v, default):
    """A parameter value as the type of its default.

    Raises:
        ValueError: a value of another kind (``rate_limit_hz:=abc``), naming the parameter.
    """
    want = type(default)
    if isinstance(default, bool):
        if isinstance(v, bool):
            return v
    elif isinstance(default, float) and isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    elif isinstance(default, int) and isinstance(v, int) and not isinstance(v, bool):
        return v
    elif isinstance(default, str) and isinstance(v, str):
        return v
    elif isinstance(default, list) and isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return list(v)
    elif isinstance(default, list) and isinstance(v, str):
        return [v]
    kind = {bool: "true or false", float: "a number", int: "an integer", str: "a string",
            list: "a list of strings"}[want]
    raise ValueError(f"parameter {key}: expected {kind}, got {v!r}")


def help_text(name: str, defaults: dict | None = None) -> str:
    """The node's usage and parameters (what ``--help`` prints)."""
    defaults = defaults or {}
    lines = [f"usage: {name} [--ros-args -p NAME:=VALUE ...]", "",
             "ROS 2 parameters (see config/bridge.yaml):"]
    for key, (value, desc) in PARAMS.items():
        lines.append(f"  {key} (default {defaults.get(key, value)!r}): {desc}")
    return "\n".join(lines)


def _message_class(type_name: str):
    pkg, _, name = type_name.replace("/msg/", "/").partition("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


# Depth of a subscription's DDS history (KEEP_LAST): what arrives while the executor is off
# the CPU waits there, and a full history silently overwrites its oldest sample (no event). 50
# lost bursts of 8-19 IMU samples of a 1.9 kHz replay on a loaded 2-core machine; 1000 lost none
# (measured). Memory is only taken by samples actually waiting.
SUBSCRIPTION_DEPTH = 1000


def make_qos(kind: str, publishers=()) -> QoSProfile:
    """QoS for a kind; ``auto`` was resolved by the caller. Reliability and durability are
    matched to the publishers so the subscription is compatible with all of them; the history
    is :data:`SUBSCRIPTION_DEPTH` deep (100 for latched topics)."""
    pubs = list(publishers)
    best_effort_pub = any(p.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for p in pubs)
    if kind == "sensor_data":
        # every publisher reliable: a reliable queue loses nothing a best-effort one would
        # (large samples over best effort drop fragments under load)
        reliable = bool(pubs) and not best_effort_pub
        return QoSProfile(depth=SUBSCRIPTION_DEPTH,
                          reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)
    if kind == "best_effort":
        return QoSProfile(depth=SUBSCRIPTION_DEPTH, reliability=ReliabilityPolicy.BEST_EFFORT)
    if kind == "latched":
        return QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST,
                          reliability=ReliabilityPolicy.BEST_EFFORT if best_effort_pub else ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL)
    return QoSProfile(depth=SUBSCRIPTION_DEPTH,
                      reliability=ReliabilityPolicy.BEST_EFFORT if best_effort_pub else ReliabilityPolicy.RELIABLE)


class TopicCounters:
    """Per topic: ``received`` by the callback, ``converted`` into rows, ``dropped`` by the bridge
    (rate limit, full queue), ``failed`` to decode or map, ``lost`` before the bridge saw them
    (the transport's message-lost events, and gaps in a publisher's sequence numbers where rclpy
    gives them: the ``single`` executor)."""

    __slots__ = ("received", "converted", "dropped", "failed", "lost")

    def __init__(self):
        self.received = self.converted = self.dropped = self.failed = self.lost = 0


class BridgeNode(Node):
    """The bridge (and recorder) node. Parameters: see ``PARAMS`` / ``config/bridge.yaml``."""

    def __init__(self, name: str = "rerun_bridge", defaults: dict | None = None, **kw):
        super().__init__(name, **kw)
        defaults = defaults or {}
        from rcl_interfaces.msg import ParameterDescriptor
        p = {}
        for key, (value, desc) in PARAMS.items():
            default = defaults.get(key, value)
            # typed by us, not by rclpy: "2" for a float is fine, "abc" is a one-line error
            v = self.declare_parameter(key, default, ParameterDescriptor(description=desc, dynamic_typing=True)).value
            p[key] = _coerce(key, v, default)
        self.params = p
        check_params(p)
        self.events_executor = p["executor"] != "single" and _events_executor_class() is not None
        self.specs: dict[str, TopicSpec] = {}
        for text in p["topics"] or []:
            if text and text.strip():
                s = parse_topic_spec(text)
                self.specs[s.name] = s
        self.discovery = Discovery(list(p["include"] or [".*"]), list(p["exclude"] or []))
        self.counters: dict[str, TopicCounters] = defaultdict(TopicCounters)
        self.subscriptions_by_topic: dict[str, object] = {}
        self._definitions: dict[str, str] = {}
        self._started = time.monotonic()
        self._no_clock_warned = False
        self._last_rx: dict[str, float] = {}
        sinks: list = []
        self.stream = None
        self.file = None
        # the stream carries serialized messages (rerun_ros.stream.raw): viewers decode them
        self.raw_stream = bool(p["stream_raw"]) and not p["split"] and bool(p["stream_address"])
        self._schema_ids: dict[str, int] = {}
        self._latched: set[str] = set()
        self._raw_seq = 0
        if p["stream_address"]:
            token = p["stream_token"] or None
            if p["stream_token_file"]:
                from ..stream.tcp import read_token_file
                token = read_token_file(p["stream_token_file"])
            self.stream = StreamServer(p["stream_address"], application_id=p["application_id"],
                                       history_bytes=int(p["history_bytes"]), token=token)
            if not self.raw_stream:
                sinks.append(DecimatingSink(self.stream, image_hz=p["split_image_hz"],
                                            max_points=int(p["split_max_points"])) if p["split"] else self.stream)
            self.get_logger().info(f"serving the viewer stream on {self.stream.address}"
                                   + (" (serialized messages, decoded by the viewers)" if self.raw_stream else ""))
        self.grpc = None
        self.file_sink = None
        if p["grpc_url"]:
            from ..blueprint.model import load as load_blueprint
            from ..stream.grpc import DEFAULT_URL, GrpcSink
            url = DEFAULT_URL if p["grpc_url"] == "default" else p["grpc_url"]
            bp = load_blueprint(p["blueprint"]) if p["blueprint"] else None
            self.grpc = GrpcSink(url, application_id=p["application_id"], blueprint=bp,
                                 queue_bytes=int(p["grpc_queue_bytes"]))
            sinks.append(DecimatingSink(self.grpc, image_hz=p["split_image_hz"], max_points=int(p["split_max_points"]))
                         if p["split"] else self.grpc)
            self.get_logger().info(f"streaming to the Rerun proxy {url}")
        if p["rrd_path"]:
            # written in the mapping thread (threads=0): handing every small chunk to a writer
            # thread cost more CPU than the writing (queue, wake-ups, GIL hand-offs: the small
            # mix's bridge 43 % -> 31.5 % CPU, bench/live.py); syncing stays in the background
            self.file = RotatingRrdSink(p["rrd_path"], max_bytes=int(p["rotate_bytes"]),
                                        max_seconds=float(p["rotate_seconds"]), application_id=p["application_id"],
                                        sync_bytes=int(p["sync_bytes"]), overwrite=bool(p["overwrite"]),
                                        direct_io=bool(p["direct_io"]),
                                        on_error=self._report_error, threads=0)
            # the file gets compact chunks (an entity's rows of up to file_flush_period in one),
            # also while viewers get a chunk every flush_period
            self.file_sink = CompactingSink(self.file, max_age=float(p["file_flush_period"]),
                                            on_failure=lambda sink, chunk, e: self.rec.sink_failed(sink, chunk, e))
            sinks.append(self.file_sink)
            self.get_logger().info(f"recording to {self.file.path}")
        batcher = BatcherConfig(max_age=max(float(p["flush_period"]), 0.001), max_bytes=4 << 20,
                                flush_row_bytes=256 << 10)
        self.rec = RecordingStream(p["application_id"], batcher=batcher, sinks=sinks, on_error=self._report_error)
        self._latencies: dict[str, list] = defaultdict(list)
        if p["latency_report"]:
            # last sink: a chunk counts once the stream and the file writer have it
            self.rec.add_sink(CallbackSink(self._measure_latency))
        # live, the robot clock is the node's clock (sim time under use_sim_time): a row without
        # a stamp of its own is placed at its receipt on it, a stamp off it by log time
        self._sim = bool(self.get_parameter("use_sim_time").value) if self.has_parameter("use_sim_time") else False
        self._held: list = []
        self.ingest = Ingestor(self.rec, warn=lambda s: self.get_logger().warning(s),
                               clock=RobotClock(NODE_SIM if self._sim else NODE))
        components.warm_up()
        self._lock = threading.Lock()
        self._closed = False
        # the callbacks append, the mapping thread takes a period's worth at a time: a deque (its
        # append is atomic) wakes no one per message — a Queue's put woke the mapping thread for
        # every message, a GIL hand-off each
        self._work: deque = deque()
        self._queue_size = int(self.params["queue_size"])
        self._stopping = threading.Event()
        # bytes of the messages in _work (a bound beside the count: images are MBs): added by the
        # callback thread, taken by the mapping thread, each counter written by one thread only
        self._bytes_in = self._bytes_out = 0
        self._queue_bytes = int(self.params["queue_bytes"])
        self._seq: dict[tuple, int] = {}  # (topic, publisher gid) -> last publication sequence number
        # two threads: one takes what the callbacks queued and forwards it to the raw stream every
        # flush_period; one decodes and maps (a second's batch of images takes ~0.2 s: the
        # forwarding must not wait for it)
        self._batches: queue.Queue = queue.Queue()
        self._decoder_idle = threading.Event()
        self._decoder_idle.set()
        self._decoder = threading.Thread(target=self._decode_loop, name="rerun_ros-map", daemon=True)
        self._decoder.start()
        self._worker = threading.Thread(target=self._map_loop, name="rerun_ros-take", daemon=True)
        self._worker.start()
        self._subscribe_explicit()
        # explicit topics not advertised yet, and (with auto_discover) new topics, appear later
        self._discover()
        # wall-clock timers: under use_sim_time, sim time stands still until /clock arrives
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(float(p["discover_period"]), self._discover, clock=steady)
        if p["stats_period"] > 0:
            self.create_timer(float(p["stats_period"]), self.log_stats, clock=steady)

    # -- subscriptions ----------------------------------------------------------------------

    def _subscribe_explicit(self) -> None:
        advertised = dict(self.get_topic_names_and_types())
        for name, spec in self.specs.items():
            typ = spec.type or next(iter(advertised.get(name, [])), None)
            if typ is not None:
                self._subscribe(spec, typ)

    def _discover(self) -> None:
        self._check_clock()
        advertised = self.get_topic_names_and_types()
        for name, types in advertised:
            if name in self.subscriptions_by_topic:
                continue
            spec = self.specs.get(name)
            if spec is not None:
                self._subscribe(spec, spec.type or types[0])
                continue
            if not (self.params["auto_discover"] or not self.specs):
                continue
            typ = self.discovery.wants(name, types)
            if typ is not None:
                self._subscribe(TopicSpec(name), typ)

    def _subscribe(self, spec: TopicSpec, type_name: str) -> None:
        from ..cdr import SchemaError, decoder_for
        from ..cdr.installed import installed_definition
        from ..mappers import normalize_type
        type_name = normalize_type(type_name)
        if spec.name in self.subscriptions_by_topic:
            return
        try:
            cls = _message_class(type_name)
        except (ImportError, AttributeError) as e:
            self.get_logger().warning(f"{spec.name}: cannot import {type_name} ({e}); not bridged")
            self.subscriptions_by_topic[spec.name] = None
            return
        # messages are taken serialized and decoded in batches with the installed definition
        definition = installed_definition(type_name) or ""
        try:
            decoder_for(type_name, "ros2msg" if definition else "", definition)
        except SchemaError as e:
            self.get_logger().warning(f"{spec.name}: {e}; not bridged")
            self.subscriptions_by_topic[spec.name] = None
            return
        self._definitions[spec.name] = definition
        kind = spec.qos if spec.qos != "auto" else default_qos_kind(spec.name, type_name)
        pubs = self.get_publishers_info_by_topic(spec.name)
        if spec.qos == "auto" and any(p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in pubs):
            kind = "latched"
        qos = make_qos(kind, pubs)
        if spec.depth:
            qos.depth = spec.depth
        rate = spec.rate or float(self.params["rate_limit_hz"])
        min_gap = 1.0 / rate if rate > 0 else 0.0
        t = self.ingest.topic(spec.name, type_name, "ros2msg" if definition else "", definition)
        if spec.entity:
            t.ctx.entity = t.stats.entity = spec.entity
        if self.raw_stream:
            if kind == "latched":
                self._latched.add(spec.name)
            sid = self._schema_ids[spec.name] = len(self._schema_ids)
            self.stream.write_raw_schema(sid, spec.name, type_name, definition,
                                         NODE_SIM if self._sim else NODE, spec.entity)

        if HAS_MESSAGE_INFO and not self.events_executor:
            seq = self._seq
            counters = self.counters[spec.name]

            def cb(msg, info, topic=spec.name, typ=type_name, gap=min_gap):
                if info:
                    n = info.get("publication_sequence_number")
                    if n:  # a gap in one publisher's numbers: messages DDS or the queue lost
                        key = (topic, bytes(info["publisher_gid"]["data"]))
                        last = seq.get(key)
                        if last is not None and n > last + 1:
                            counters.lost += n - last - 1
                        seq[key] = n if last is None or n > last else last
                self._on_message(topic, typ, msg, gap, info.get("source_timestamp") if info else None)
        else:  # the EventsExecutor gives no message info
            def cb(msg, topic=spec.name, typ=type_name, gap=min_gap):
                self._on_message(topic, typ, msg, gap, None)

        with_info = HAS_MESSAGE_INFO and not self.events_executor

        def lost(info, topic=spec.name):
            # the transport's own count (samples that never reached the subscription's history):
            # where sequence numbers come with each message their gaps count every loss, these too
            if not with_info:
                self.counters[topic].lost += int(info.total_count_change)

        kw = {}
        try:
            from rclpy.event_handler import SubscriptionEventCallbacks
            kw["event_callbacks"] = SubscriptionEventCallbacks(message_lost=lost)
        except ImportError:  # pragma: no cover - older rclpy
            pass
        try:
            sub = self.create_subscription(cls, spec.name, cb, qos, raw=True, **kw)
        except Exception:  # noqa: BLE001 - an rmw without the message-lost event: subscribe without it
            sub = self.create_subscription(cls, spec.name, cb, qos, raw=True)
        self.subscriptions_by_topic[spec.name] = sub
        self.get_logger().info(f"bridging {spec.name} ({type_name}, qos {kind}{f', {rate} Hz' if rate else ''})")

    def _report_error(self, text: str) -> None:
        """A sink failed (disk full, directory removed...): said at once, once per problem."""
        self.get_logger().error(text)

    def _log_time(self) -> tuple[int, int]:
        """(receive time, robot clock at receipt): the node's clock; under ``use_sim_time``
        before any ``/clock`` the robot clock reads 0 (as ROS's does) and the receive time falls
        back to the wall clock, with a warning after 3 s."""
        t = self.get_clock().now().nanoseconds
        return (t if t else time.time_ns()), t

    def _check_clock(self) -> None:
        """Warn once when sim time stands at 0 for 3 s (``use_sim_time`` without ``/clock``)."""
        if self._no_clock_warned or self.get_clock().now().nanoseconds:
            return
        if time.monotonic() - self._started > 3.0:
            self._no_clock_warned = True
            self.get_logger().warning("use_sim_time is set but nothing publishes /clock: log_time uses the "
                                      "wall clock until it does")

    def _on_message(self, topic: str, type_name: str, msg: bytes, min_gap: float, publish_ns) -> None:
        """DDS callback with the serialized message (a raw subscription: no Python message
        object is built): count, rate-limit, stamp and queue. Decoding and mapping happen on the
        worker thread, a batch per topic per flush period: a slow callback in the executor makes
        DDS lose messages of other topics, even reliable ones (measured with rclpy + Fast DDS)."""
        c = self.counters[topic]
        c.received += 1
        if min_gap:
            now = time.monotonic()
            last = self._last_rx.get(topic)
            if last is not None and now - last < min_gap:
                c.dropped += 1
                return
            self._last_rx[topic] = now
        log_ns, robot_ns = self._log_time()
        size = len(msg)
        if self._bytes_in - self._bytes_out + size > self._queue_bytes or len(self._work) >= self._queue_size:
            c.dropped += 1  # the mapping thread cannot keep up: drop, count, never block DDS
            return
        self._work.append((topic, type_name, msg, log_ns, publish_ns or None, robot_ns))
        self._bytes_in += size

    def live(self) -> bool:
        """Whether a viewer is connected: one on the stream, or a Rerun gRPC proxy taking ours."""
        return bool((self.stream is not None and self.stream.num_clients)
                    or (self.grpc is not None and self.grpc.connected.is_set()))

    def _live_chunks(self) -> bool:
        """Whether a viewer wants chunks now: a gRPC proxy, or the stream when it carries chunks."""
        return bool((self.grpc is not None and self.grpc.connected.is_set())
                    or (not self.raw_stream and self.stream is not None and self.stream.num_clients))

    def _live_raw(self) -> bool:
        """Whether viewers on the stream take serialized messages now."""
        return bool(self.raw_stream and self.stream.num_clients)

    def _map_loop(self) -> None:
        """Take what the callbacks queued every ``flush_period`` while a viewer is connected
        (latency), every ``file_flush_period`` while none is (one batch of each topic per
        period: the least CPU, compact chunks). Viewers on the raw stream get the period's
        messages serialized, as they came; what is decoded and mapped (one batch per topic) is
        every period's while a viewer wants chunks (gRPC, or the stream without ``stream_raw``),
        else one file batch's. A viewer connecting cuts the current long batch short."""
        name_os_thread("rr-take")
        period = max(float(self.params["flush_period"]), 0.001)
        file_period = max(float(self.params["file_flush_period"]), period)
        stop = False
        pending: list = []          # taken and forwarded, waiting for their file batch
        pending_since = 0.0
        while not stop:
            started = time.monotonic()
            chunks, raw = self._live_chunks(), self._live_raw()
            while True:
                left = started + (period if (chunks or raw) else file_period) - time.monotonic()
                if left <= 0:
                    break
                if self._stopping.wait(min(left, 0.05)):
                    stop = True
                    break
                if not (chunks or raw):
                    chunks, raw = self._live_chunks(), self._live_raw()
            n = len(self._work)  # appends happen at the right: the first n are this batch's
            items = [self._work.popleft() for _ in range(n)]
            try:
                if self._sim:
                    items = self._sim_start(items, stop)
                if raw and items:
                    self._forward(items)
            except Exception as e:  # pragma: no cover - the worker must survive anything
                self.get_logger().error(f"forwarding failed: {e}")
            if not pending:
                pending_since = started
            pending += items
            if not pending and not stop:
                continue
            if not chunks and raw and not stop and time.monotonic() - pending_since < file_period:
                continue  # viewers decode for themselves: the file's batch waits for its period
            if chunks:
                # a viewer takes chunks: decoded here, and the next period starts after it (the
                # period stretches to 20 ms + the decoding; per-batch costs dominate), after any
                # file batch still in the decoding thread (rows stay in order)
                self._decoder_idle.wait()
                try:
                    self._map_batch(pending, final=stop)
                    if self.file_sink is not None:
                        self.file_sink.tick(None)  # the file's chunks gather for file_flush_period
                except Exception as e:  # pragma: no cover - the worker must survive anything
                    self.get_logger().error(f"mapping failed: {e}")
                finally:
                    self._bytes_out += sum(len(it[2]) for it in pending)
                pending = []
                continue
            if not stop and not self._decoder_idle.is_set():
                continue  # still decoding the last batch: this one grows meanwhile
            # the file's batch (viewers on the raw stream decode for themselves, or none watches):
            # decoded in the other thread, so that forwarding goes on meanwhile, and written at once
            self._decoder_idle.clear()
            self._batches.put((pending, stop, 0.0))
            pending = []
        self._batches.put(None)

    def _decode_loop(self) -> None:
        """Decode, map and hand to the sinks the batches the taking thread hands over, in order;
        batches that waited while the previous one was decoded are decoded as one (a decoder
        behind catches up in bigger batches, as per-batch costs dominate)."""
        name_os_thread("rr-map")
        done = False
        while not done:
            jobs = [self._batches.get()]
            while True:
                try:
                    jobs.append(self._batches.get_nowait())
                except queue.Empty:
                    break
            if jobs[-1] is None:
                jobs.pop()
                done = True
            if not jobs:
                continue
            batch = [it for job in jobs for it in job[0]]
            final = done or any(job[1] for job in jobs)
            tick = 0.0 if any(job[2] is not None for job in jobs) else None
            try:
                self._map_batch(batch, final=final)
                if self.file_sink is not None:
                    self.file_sink.tick(tick)
            except Exception as e:  # pragma: no cover - the worker must survive anything
                self.get_logger().error(f"mapping failed: {e}")
            finally:  # bytes waiting count until decoded: a decoder behind makes the callbacks drop, counted
                self._bytes_out += sum(len(it[2]) for it in batch)
                self._decoder_idle.set()

    def _forward(self, items: list) -> None:
        """The period's messages to the raw stream: one batch per topic, in arrival order."""
        import numpy as np
        from ..stream.raw import RawBatch
        per: dict[tuple, list] = {}
        for it in items:
            per.setdefault((it[0], it[1]), []).append(it)
        for (topic, type_name), rows in per.items():
            sid = self._schema_ids.get(topic)
            if sid is None:
                continue
            self._raw_seq += 1
            kept = topic in self._latched
            pub = [r[4] for r in rows]
            self.stream.write_raw(RawBatch(
                self._raw_seq, topic, type_name, sid, [r[2] for r in rows],
                np.array([r[3] for r in rows], np.int64), np.array([r[5] for r in rows], np.int64),
                None if any(x is None for x in pub) else np.array(pub, np.int64), kept))

    def _sim_start(self, items: list, final: bool = False) -> list:
        """Under ``use_sim_time``, rows received before the first ``/clock`` (the robot clock
        read 0) are placed at the sim clock's first time: held back until it is known (at most
        3 s, then left at 0 with the warning of :meth:`_check_clock`)."""
        held = self._held + [it for it in items if it[5] == 0]
        if not held:
            return items
        now = self.get_clock().now().nanoseconds
        if not now and not final and time.monotonic() - self._started < 3.0:
            self._held = held
            return [it for it in items if it[5] != 0]
        self._held = []
        fixed = [(*it[:5], now) for it in held]
        return fixed + [it for it in items if it[5] != 0]

    def _map_batch(self, items: list, final: bool = False) -> None:
        import numpy as np
        per: dict[tuple, list] = {}
        for topic, type_name, data, log_ns, publish_ns, robot_ns in items:
            per.setdefault((topic, type_name), []).append((data, log_ns, publish_ns, robot_ns))
        with self._lock:
            for (topic, type_name), rows in per.items():
                t = self.ingest.topics.get((topic, type_name))
                before = (t.stats.converted, t.stats.skipped) if t is not None else (0, 0)
                pub = [r[2] for r in rows]
                self.ingest.ingest_payloads(
                    topic, type_name, [r[0] for r in rows], np.array([r[1] for r in rows], np.int64),
                    None if any(p is None for p in pub) else np.array(pub, np.int64),
                    schema_text=self._definitions.get(topic, ""),
                    robot_time=np.array([r[3] for r in rows], np.int64))
                t = self.ingest.topics[(topic, type_name)]
                c = self.counters[topic]
                c.converted += t.stats.converted - before[0]
                c.failed += t.stats.skipped - before[1]
            self.rec.flush(older_than=0.0)

    # -- reporting and shutdown -------------------------------------------------------------

    def _measure_latency(self, chunk) -> None:
        """Latency sink: wall time now minus each row's publish time (ns)."""
        # the publisher's timestamp where rclpy gives it, else header.stamp (ros_time)
        tl = PUBLISH_TIME_NAME if PUBLISH_TIME_NAME in chunk.timelines else ROS_TIME_NAME
        if tl in chunk.timelines:
            now = time.time_ns()
            self._latencies[chunk.entity_path].append(now - chunk.timelines[tl][1])

    def _write_latency_report(self) -> None:
        import json

        import numpy as np
        def summary(parts: list) -> dict:
            lat = np.concatenate(parts) / 1e6 if parts else np.zeros(0)
            rep = {"rows": int(len(lat))}
            if len(lat):
                rep.update({f"p{q}": float(np.percentile(lat, q)) for q in (50, 90, 99)})
                rep["max"] = float(lat.max())
            return rep

        rep = summary([a for parts in self._latencies.values() for a in parts])
        per_entity = {e: summary(parts) for e, parts in sorted(self._latencies.items())}
        with open(self.params["latency_report"], "w") as f:
            json.dump({"latency_ms": rep, "latency_ms_by_entity": per_entity, "topics": {t: vars(c) if hasattr(c, "__dict__") else
                                                     {k: getattr(c, k) for k in c.__slots__}
                                                     for t, c in self.counters.items()}}, f, indent=1)

    def stats_lines(self) -> list[str]:
        lines = []
        for topic in sorted(self.counters):
            c = self.counters[topic]
            lines.append(f"{topic}: received {c.received}, converted {c.converted}, dropped {c.dropped}, "
                         f"failed {c.failed}, lost {c.lost}"
                         + (" (before the bridge: the transport's count and publishers' sequence gaps)" if c.lost else ""))
        if self.rec.stats.rows_dropped:
            lines.append(f"batcher dropped {self.rec.stats.rows_dropped} rows under pressure")
        if self.stream is not None:
            lines.append(f"viewer stream: {self.stream.num_clients} connected, "
                         f"{self.stream.stats['dropped_clients']} dropped for lagging")
        if self.grpc is not None:
            g = self.grpc.stats
            lines.append(f"rerun proxy {self.grpc.url}: {g.messages_sent} messages sent, {g.chunks_dropped} chunks "
                         f"({g.rows_dropped} rows) dropped, {g.reconnects} reconnects"
                         + (f"; last error: {g.last_error}" if g.last_error else ""))
        return lines

    def log_stats(self) -> None:
        for line in self.stats_lines():
            self.get_logger().info(line)

    def close(self) -> None:
        """Flush everything, write the .rrd footer, stop the stream. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for sub in self.subscriptions_by_topic.values():  # stop taking messages, then drain
            if sub is not None:
                self.destroy_subscription(sub)
        self._stopping.set()
        self._worker.join(timeout=30)
        self._decoder.join(timeout=30)
        self.ingest.finish()
        self.rec.close()
        if self.params["latency_report"]:
            self._write_latency_report()
        for line in self.stats_lines():
            print(f"[{self.get_name()}] {line}", file=sys.stderr, flush=True)
        for ent, rows in sorted(self.rec.stats.rows_lost.items()):
            print(f"[{self.get_name()}] error: {rows} rows of {ent} were not recorded", file=sys.stderr, flush=True)
        for e in self.rec.errors:
            print(f"[{self.get_name()}] error: {e}", file=sys.stderr, flush=True)
        if self.file is not None:
            files = [str(f) for f in self.file.files if f.exists()]
            state = "recording incomplete" if self.rec.errors else "recording written"
            print(f"[{self.get_name()}] {state}: {', '.join(files) or 'no file'}", file=sys.stderr, flush=True)
        self.failed = bool(self.rec.errors)


RECORDER_DEFAULTS = {"stream_address": "127.0.0.1:9878", "rrd_path": "recording.rrd", "split": True}


def run(argv: list[str] | None = None, *, name: str = "rerun_bridge", defaults: dict | None = None) -> int:
    """Run the node until SIGINT/SIGTERM; then flush, write the footer, report counts."""
    # The executor thread must get the GIL often while the mapping thread works: with the
    # default 5 ms switch interval, Fast DDS lost messages of other topics (measured: 6 of 12
    # small images published just before 1.2 MB clouds, reliable QoS) when Python-heavy work ran.
    sys.setswitchinterval(0.0005)
    argv = list(argv or [])
    own = argv[1:argv.index("--ros-args")] if "--ros-args" in argv else argv[1:]
    if "-h" in own or "--help" in own:
        print(help_text(name, defaults))
        return 0
    try:
        rclpy.init(args=argv)
    except Exception as e:  # rcl rejects malformed --ros-args with an RCLError
        print(f"{name}: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        node = BridgeNode(name, defaults)
    except (ValueError, OSError) as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        rclpy.try_shutdown()
        return 1
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ex, events = make_executor(node.events_executor)
    # what exists now (modules, types, compiled decoders) lives as long as the process: out of
    # the cyclic collector's sight, its full collections do not walk it mid-stream
    gc.freeze()
    ex.add_node(node)
    try:
        if events:
            # The EventsExecutor's spin_once fails in the main thread here (SystemError), and
            # Python signal handlers only run in the main thread: spin in a thread, wait here.
            spinner = threading.Thread(target=_spin_until, args=(ex, stop), name="rerun_ros-spin", daemon=True)
            spinner.start()
            while not stop.wait(0.2) and rclpy.ok() and spinner.is_alive():
                pass
            stop.set()
            spinner.join(timeout=5)
        else:
            while not stop.is_set() and rclpy.ok():
                ex.spin_once(timeout_sec=0.1)
    finally:
        node.close()
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 1 if getattr(node, "failed", False) else 0


def _spin_until(ex, stop: threading.Event) -> None:
    while not stop.is_set() and rclpy.ok():
        ex.spin_once(timeout_sec=0.1)


def _events_executor_class():
    try:
        from rclpy.experimental import EventsExecutor
        return EventsExecutor
    except ImportError:  # Humble
        return None


def make_executor(events: bool):
    """(executor, is_events_executor): rclpy's EventsExecutor when ``events`` (a C++ event
    queue: less CPU per message than the SingleThreadedExecutor, which rebuilds its wait set in
    Python on every spin), else the SingleThreadedExecutor. With the EventsExecutor,
    subscriptions are created before the node is added or from the node's own callbacks (our
    discovery timer), and callbacks take the message only: its 2-argument (message, info)
    callbacks fail with a SystemError in rclpy Kilted."""
    if events:
        cls = _events_executor_class()
        if cls is not None:
            return cls(), True
    from rclpy.executors import SingleThreadedExecutor
    return SingleThreadedExecutor(), False


def main(argv: list[str] | None = None) -> int:
    return run(sys.argv if argv is None else argv)


def recorder_main(argv: list[str] | None = None) -> int:
    return run(sys.argv if argv is None else argv, name="rerun_recorder", defaults=RECORDER_DEFAULTS)


def console_bridge() -> None:
    """``ros2 run rerun_ros bridge`` / ``rerun-ros bridge``."""
    sys.exit(main())


def console_recorder() -> None:
    """``ros2 run rerun_ros recorder`` / ``rerun-ros recorder``."""
    sys.exit(recorder_main())
