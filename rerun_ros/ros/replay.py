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


def _db3_topics(c) -> dict:
    """topic id -> (name, type, offered QoS yaml or '') of an open sqlite3 rosbag2 file."""
    cols = [r[1] for r in c.execute("pragma table_info(topics)")]
    qcol = "offered_qos_profiles" if "offered_qos_profiles" in cols else "''"
    return {tid: (name, typ, qos) for tid, name, typ, qos in c.execute(f"select id, name, type, {qcol} from topics")}


def _raw_messages(path: Path, keep):
    """(topic, type, log_time, cdr bytes, qos yaml) in log-time order, MCAP or sqlite3 bags."""
    from ..sources.rosbag2 import db3_files
    files = db3_files(path)
    if files:
        import sqlite3
        for f in files:
            c = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
            topics = _db3_topics(c)
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


def _topics(path: Path, keep) -> dict:
    """topic -> (type name or MCAP schema, qos yaml, messages, first log time, last log time) of
    the bag's topics that ``keep`` accepts (from the MCAP summary / the sqlite3 index: no message
    is read)."""
    from ..sources.rosbag2 import db3_files
    out: dict = {}
    files = db3_files(path)
    if files:
        import sqlite3
        for f in files:
            c = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
            stats = {tid: (n, lo, hi) for tid, n, lo, hi in
                     c.execute("select topic_id, count(*), min(timestamp), max(timestamp) from messages group by topic_id")}
            for tid, (name, typ, qos) in _db3_topics(c).items():
                if not keep(name):
                    continue
                n, lo, hi = stats.get(tid, (0, 0, 0))
                old = out.get(name)
                if old is not None:
                    n, lo, hi = n + old[2], min(lo, old[3]) if old[2] else lo, max(hi, old[4])
                out[name] = (typ, qos, n, lo, hi)
            c.close()
        return out
    from mcap.reader import make_reader
    from ..sources.mcap import bag_files
    for f in bag_files(path):
        with open(f, "rb") as fh:
            summary = make_reader(fh).get_summary()
        if summary is None:
            continue
        counts = summary.statistics.channel_message_counts if summary.statistics else {}
        lo = summary.statistics.message_start_time if summary.statistics else 0
        hi = summary.statistics.message_end_time if summary.statistics else 0
        for cid, ch in summary.channels.items():
            schema = summary.schemas.get(ch.schema_id)
            if ch.message_encoding != "cdr" or schema is None or not keep(ch.topic):
                continue
            n = counts.get(cid, 0)
            old = out.get(ch.topic)
            out[ch.topic] = (schema, ch.metadata.get("offered_qos_profiles", ""), n + (old[2] if old else 0),
                             min(lo, old[3]) if old else lo, max(hi, old[4]) if old else hi)
    return out


#: a replayed topic's publisher keeps this many seconds of its messages (at the replay rate) for
#: reliable subscribers that fall behind
REPLAY_HISTORY_S = 1.0
DEPTH_MAX = 10_000


def replay_depth(messages: int, span_ns: int, rate: float) -> int:
    """History depth for a topic of ``messages`` over ``span_ns`` replayed at ``rate``: one
    second of it at that pace (10 at least, 10,000 at most)."""
    hz = messages / (span_ns / 1e9) if span_ns > 0 and messages > 1 else 0.0
    return int(min(max(10, hz * rate * REPLAY_HISTORY_S + 1), DEPTH_MAX))


def _qos(topic: str, qos_yaml: str, depth_min: int = 10) -> QoSProfile:
    profiles = []
    try:
        profiles = safe_yaml.load(qos_yaml) or [] if qos_yaml else []
    except yaml.YAMLError:
        profiles = []
    durability = {1: DurabilityPolicy.TRANSIENT_LOCAL, 2: DurabilityPolicy.VOLATILE}
    reliability = {1: ReliabilityPolicy.RELIABLE, 2: ReliabilityPolicy.BEST_EFFORT}
    latched = bool(LATCHED_TOPICS.search(topic))
    rel = ReliabilityPolicy.RELIABLE
    depth = depth_min
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
           wait_for_subscribers: float = 5.0, node_name: str = "rerun_ros_replay", log=print) -> dict:
    """Publish a bag on live topics (see module doc); returns topic → messages published.

    Every topic's publisher is made before the first message, with a history of a second of the
    topic at the replay rate (:func:`replay_depth`); then up to ``wait_for_subscribers`` s pass
    until each has a subscription matched (a recorder that discovers topics subscribes to them
    all before anything is published; topics nobody subscribes to are named).

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

    def make_publisher(topic: str, typ, qos_yaml: str, depth: int = 10):
        schema = None
        if not isinstance(typ, str):  # MCAP: the bag's own definition comes along
            schema, typ = typ, typ.name
        try:
            cls = _msg_class(typ)
            pubs[topic] = node.create_publisher(cls, topic, _qos(topic, qos_yaml, depth))
        except (ImportError, AttributeError) as e:
            skipped.add(topic)
            log(f"replay: {topic} ({typ}) not published: no Python message package ({e})")
            return None
        convert[topic] = None
        if schema is not None and _top_fields(schema.data.decode("utf-8", "replace")) != \
                list(cls.get_fields_and_field_types()):
            # recorded with another version of the type: decode with the bag's schema and
            # rebuild the installed message (raw bytes would not deserialize)
            from mcap_ros2.decoder import DecoderFactory
            convert[topic] = (DecoderFactory().decoder_for("cdr", schema), cls)
            log(f"replay: {topic} ({typ}) was recorded with a different definition; converting field by field")
        return pubs[topic]

    passes = 0
    try:
        for topic, (typ, qos_yaml, n, lo, hi) in sorted(_topics(path, keep).items()):
            make_publisher(topic, typ, qos_yaml, replay_depth(n, hi - lo, rate))
        if wait_for_subscribers > 0 and pubs:
            deadline = time.monotonic() + wait_for_subscribers
            while time.monotonic() < deadline and any(p.get_subscription_count() == 0 for p in pubs.values()):
                rclpy.spin_once(node, timeout_sec=0.01)
            alone = sorted(t for t, p in pubs.items() if p.get_subscription_count() == 0)
            if alone:
                log(f"replay: no subscriber after {wait_for_subscribers:g} s on {', '.join(alone[:10])}"
                    + (f" (+{len(alone) - 10} more)" if len(alone) > 10 else "") + "; publishing anyway")
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
                if pub is None:  # a topic the summary did not list (a bag without one)
                    pub = make_publisher(topic, schema if schema is not None else typ, qos)
                    if pub is None:
                        continue
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
        # reliable subscribers still taking the last messages get them before we go (up to 5 s)
        _wait_for_acks(pubs.values(), 5.0, log)
        return counts
    except KeyboardInterrupt:
        counts["(interrupted)"] = passes
        return counts
    finally:
        node.destroy_node()


def _wait_for_acks(publishers, timeout_s: float, log) -> None:
    """Wait up to ``timeout_s`` s in all for every reliable publisher's subscribers to acknowledge
    what it sent; say which topics still had unacknowledged messages."""
    from rclpy.duration import Duration
    deadline = time.monotonic() + timeout_s
    waiting = []
    for pub in publishers:
        left = max(0.0, deadline - time.monotonic())
        try:
            if not pub.wait_for_all_acked(Duration(nanoseconds=int(left * 1e9))):
                waiting.append(pub.topic_name)
        except Exception:  # noqa: BLE001 - an rmw without acknowledgements: a short pause instead
            time.sleep(min(0.2, left))
    if waiting:
        log(f"replay: subscribers had not acknowledged every message after {timeout_s:g} s on "
            f"{', '.join(sorted(waiting)[:10])}")


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="rerun-ros replay", description=__doc__.split("\n")[0])
    ap.add_argument("bag", help="MCAP file, rosbag2 directory or .db3")
    ap.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default 1.0)")
    ap.add_argument("--clock", action="store_true", help="publish /clock with the bag time")
    ap.add_argument("--loop", action="store_true", help="start over at the end (until interrupted)")
    ap.add_argument("--include-topic", action="append", default=[], metavar="RE")
    ap.add_argument("--exclude-topic", action="append", default=[], metavar="RE")
    ap.add_argument("--wait-for-subscribers", type=float, default=5.0, metavar="S",
                    help="before the first message, wait up to S seconds until every topic has a subscriber "
                         "(default 5; 0 = do not wait)")
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
