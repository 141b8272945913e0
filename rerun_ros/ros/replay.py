"""``rerun-ros replay BAG``: publish a bag's messages on live ROS 2 topics, so a node under test
can be fed in CI without rosbag2.

Messages keep their recorded timing (scaled by ``--rate``) and are published as the recorded
CDR bytes (no re-encoding). Each topic gets the QoS it was recorded with (rosbag2's
``offered_qos_profiles``): transient-local topics stay latched, so late joiners get them;
``/tf_static``, ``/robot_description`` and maps are latched even without that metadata. With
``--clock``, ``/clock`` carries the bag time (before each message and at 100 Hz in between) for
nodes running with ``use_sim_time``. Types without a Python message package are reported and
skipped.
"""
from __future__ import annotations

import importlib
import re
import sys
import time
from pathlib import Path

import yaml

from .. import safe_yaml

import rclpy
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from .topic_config import LATCHED_TOPICS

__all__ = ["replay", "main"]


def _raw_messages(path: Path, keep):
    """(topic, type, log_time, cdr bytes, qos yaml) in log-time order, MCAP or sqlite3 bags."""
    from ..sources.rosbag2 import db3_files
    files = db3_files(path)
    if files:
        import sqlite3
        for f in files:
            c = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
            cols = [r[1] for r in c.execute("pragma table_info(topics)")]
            qcol = "offered_qos_profiles" if "offered_qos_profiles" in cols else "''"
            topics = {tid: (name, typ, qos) for tid, name, typ, qos in
                      c.execute(f"select id, name, type, {qcol} from topics")}
            for tid, ts, data in c.execute("select topic_id, timestamp, data from messages order by timestamp"):
                name, typ, qos = topics[tid]
                if keep(name):
                    yield name, typ, ts, bytes(data), qos
        return
    from mcap.reader import make_reader
    from ..sources.mcap import bag_files
    for f in bag_files(path):
        with open(f, "rb") as fh:
            for schema, ch, msg in make_reader(fh).iter_messages(log_time_order=True):
                if ch.message_encoding != "cdr" or schema is None or not keep(ch.topic):
                    continue
                yield ch.topic, schema, msg.log_time, msg.data, ch.metadata.get("offered_qos_profiles", "")


def _qos(topic: str, qos_yaml: str) -> QoSProfile:
    profiles = []
    try:
        profiles = safe_yaml.load(qos_yaml) or [] if qos_yaml else []
    except yaml.YAMLError:
        profiles = []
    durability = {1: DurabilityPolicy.TRANSIENT_LOCAL, 2: DurabilityPolicy.VOLATILE}
    reliability = {1: ReliabilityPolicy.RELIABLE, 2: ReliabilityPolicy.BEST_EFFORT}
    latched = bool(LATCHED_TOPICS.search(topic))
    rel = ReliabilityPolicy.RELIABLE
    depth = 10
    for p in profiles if isinstance(profiles, list) else []:
        if not isinstance(p, dict):
            continue
        latched = latched or durability.get(p.get("durability")) == DurabilityPolicy.TRANSIENT_LOCAL
        if reliability.get(p.get("reliability")) == ReliabilityPolicy.BEST_EFFORT:
            rel = ReliabilityPolicy.BEST_EFFORT
        depth = max(depth, int(p.get("depth") or 0))
    if latched:
        return QoSProfile(depth=max(depth, 10), history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL)
    return QoSProfile(depth=depth, reliability=rel)


def _top_fields(schema_text: str) -> list[str]:
    """Field names of the top-level message of a ros2msg definition (constants skipped)."""
    names = []
    for line in schema_text.split("\n=")[0].splitlines():
        line = line.split("#", 1)[0].strip()
        parts = line.split()
        if len(parts) >= 2 and "=" not in parts[1] and "=" not in parts[0]:
            names.append(parts[1])
    return names


def _fill(dst, src) -> None:
    """Copy fields present in both a decoded bag message and an rclpy message, recursively
    (fields the installed type added keep their defaults; fields it dropped are ignored)."""
    for name, typ in dst.get_fields_and_field_types().items():
        if not hasattr(src, name):
            continue
        v = getattr(src, name)
        cur = getattr(dst, name)
        if hasattr(cur, "get_fields_and_field_types"):
            _fill(cur, v)
        elif typ.startswith("sequence<") and "/" in typ:
            elem = _msg_class(typ[len("sequence<"):].split(",")[0].rstrip(">"))
            out = []
            for x in v:
                e = elem()
                _fill(e, x)
                out.append(e)
            setattr(dst, name, out)
        elif "[" in typ and "/" in typ:  # fixed arrays of messages
            for d, x in zip(cur, v):
                _fill(d, x)
        else:
            setattr(dst, name, bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else v)


def _msg_class(type_name: str):
    pkg, _, name = type_name.replace("/msg/", "/").partition("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


def replay(bag, *, rate: float = 1.0, clock: bool = False, loop: bool = False, include=(), exclude=(),
           wait_for_subscribers: float = 0.0, node_name: str = "rerun_ros_replay", log=print) -> dict:
    """Publish a bag on live topics (see module doc); returns topic → messages published.

    Raises:
        ValueError: rate ≤ 0 or a bad regex. FileNotFoundError/BagError: unreadable bag.
    """
    if rate <= 0:
        raise ValueError("--rate must be > 0")
    inc = [re.compile(p) for p in include]
    exc = [re.compile(p) for p in exclude]

    def keep(topic: str) -> bool:
        return (not inc or any(p.search(topic) for p in inc)) and not any(p.search(topic) for p in exc)

    path = Path(bag)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    node = rclpy.create_node(node_name)
    pubs: dict[str, object] = {}
    skipped: set[str] = set()
    counts: dict[str, int] = {}
    convert: dict[str, tuple | None] = {}
    clock_pub = None
    if clock:
        from rosgraph_msgs.msg import Clock
        clock_pub = node.create_publisher(Clock, "/clock", 10)
    from builtin_interfaces.msg import Time

    def publish_clock(ns: int) -> None:
        from rosgraph_msgs.msg import Clock
        clock_pub.publish(Clock(clock=Time(sec=ns // 10**9, nanosec=ns % 10**9)))

    passes = 0
    try:
        while True:
            passes += 1
            msgs = _raw_messages(path, keep)
            wall0 = bag0 = None
            last_clock = 0.0
            for topic, typ, t, data, qos in msgs:
                schema = None
                if not isinstance(typ, str):  # MCAP: the bag's own definition comes along
                    schema, typ = typ, typ.name
                if topic in skipped:
                    continue
                pub = pubs.get(topic)
                if pub is None:
                    try:
                        cls = _msg_class(typ)
                        pub = pubs[topic] = node.create_publisher(cls, topic, _qos(topic, qos))
                    except (ImportError, AttributeError) as e:
                        skipped.add(topic)
                        log(f"replay: {topic} ({typ}) not published: no Python message package ({e})")
                        continue
                    convert[topic] = None
                    if schema is not None and _top_fields(schema.data.decode("utf-8", "replace")) != \
                            list(cls.get_fields_and_field_types()):
                        # recorded with another version of the type: decode with the bag's schema and
                        # rebuild the installed message (raw bytes would not deserialize)
                        from mcap_ros2.decoder import DecoderFactory
                        convert[topic] = (DecoderFactory().decoder_for("cdr", schema), cls)
                        log(f"replay: {topic} ({typ}) was recorded with a different definition; converting field by field")
                    if wait_for_subscribers > 0:
                        deadline = time.monotonic() + wait_for_subscribers
                        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
                            rclpy.spin_once(node, timeout_sec=0.01)
                if wall0 is None:
                    wall0, bag0 = time.monotonic(), t
                target = wall0 + (t - bag0) / 1e9 / rate
                while True:
                    now = time.monotonic()
                    if clock_pub is not None and now - last_clock >= 0.01:
                        publish_clock(bag0 + int((now - wall0) * rate * 1e9))
                        last_clock = now
                    if now >= target:
                        break
                    time.sleep(min(0.01, target - now))
                if clock_pub is not None:
                    publish_clock(t)
                conv = convert.get(topic)
                if conv is not None:
                    dec, cls = conv
                    m = cls()
                    _fill(m, dec(data))
                    pub.publish(m)
                else:
                    pub.publish(data)
                counts[topic] = counts.get(topic, 0) + 1
            if not loop:
                break
        time.sleep(0.2)  # let the last messages leave
        return counts
    except KeyboardInterrupt:
        counts["(interrupted)"] = passes
        return counts
    finally:
        node.destroy_node()


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="rerun-ros replay", description=__doc__.split("\n")[0])
    ap.add_argument("bag", help="MCAP file, rosbag2 directory or .db3")
    ap.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default 1.0)")
    ap.add_argument("--clock", action="store_true", help="publish /clock with the bag time")
    ap.add_argument("--loop", action="store_true", help="start over at the end (until interrupted)")
    ap.add_argument("--include-topic", action="append", default=[], metavar="RE")
    ap.add_argument("--exclude-topic", action="append", default=[], metavar="RE")
    ap.add_argument("--wait-for-subscribers", type=float, default=0.0, metavar="S",
                    help="before a topic's first message, wait up to S seconds for a subscriber")
    a = ap.parse_args(argv)
    rclpy.init()
    try:
        counts = replay(a.bag, rate=a.rate, clock=a.clock, loop=a.loop, include=a.include_topic,
                        exclude=a.exclude_topic, wait_for_subscribers=a.wait_for_subscribers,
                        log=lambda s: print(s, file=sys.stderr))
    except (ValueError, OSError, re.error) as e:
        print(f"rerun-ros replay: error: {e}", file=sys.stderr)
        return 1
    finally:
        rclpy.try_shutdown()
    interrupted = counts.pop("(interrupted)", None)
    for topic in sorted(counts):
        print(f"{topic}: {counts[topic]} messages")
    if interrupted is not None:
        print(f"interrupted during pass {interrupted}")
        return 130
    return 0
