"""``rerun-ros info``: what an ``.rrd`` holds — entities, archetypes, component columns,
timelines with min/max, rows, chunks, static flags, and the robot clock ``ros_time`` is on —
or what a bag holds and what a conversion makes of it (:func:`bag_info`: topics, types, message
counts, the entity and archetypes of each topic, log-time span; as ``ros2 bag info`` reads it).
The JSON forms are documented in ``docs/cli.md`` and stable (version field ``"info_version": 1``)."""
from __future__ import annotations

import os
from pathlib import Path

from .model.names import CLOCK_PROPERTY
from .rrd.reader import RrdReader

__all__ = ["rrd_info", "bag_info", "is_bag"]

INFO_VERSION = 1


def rrd_info(path: str | os.PathLike) -> dict:
    """Summarise an ``.rrd`` file by streaming all its chunks.

    Raises:
        FileNotFoundError, RrdError: unreadable file.
    """
    with RrdReader(path) as r:
        ents: dict[str, dict] = {}
        tls: dict[str, dict] = {}
        n_chunks = n_rows = n_static = 0
        clock = None
        for c in r.iter_chunks():
            if c.entity_path == CLOCK_PROPERTY:
                clock = _clock_of(c) or clock
            n_chunks += 1
            n_rows += len(c)
            n_static += c.is_static
            e = ents.setdefault(c.entity_path, {"chunks": 0, "rows": 0, "static_rows": 0, "archetypes": set(),
                                                "components": {}, "timelines": {}})
            e["chunks"] += 1
            e["rows"] += len(c)
            if c.is_static:
                e["static_rows"] += len(c)
            for name, (tl, _) in c.timelines.items():
                rng = c.time_range(name)
                if rng is None:
                    continue
                for target in (tls.setdefault(name, {"kind": tl.kind, "min": rng[0], "max": rng[1]}),
                               e["timelines"].setdefault(name, {"min": rng[0], "max": rng[1]})):
                    target["min"] = min(target["min"], rng[0])
                    target["max"] = max(target["max"], rng[1])
            for d, col in c.components.items():
                if d.archetype:
                    e["archetypes"].add(d.archetype)
                comp = e["components"].setdefault(d.column, {"component_type": d.component_type_full if d.component_type else "",
                                                             "arrow_type": str(col.type.value_type), "rows": 0,
                                                             "static": False})
                comp["rows"] += len(col) - col.null_count
                comp["static"] = comp["static"] or c.is_static
        store = next(iter(r.stores.values()), None)
        out = {
            "info_version": INFO_VERSION,
            "file": str(Path(path)),
            "bytes": r.size,
            "has_footer": r.has_footer,
            "application_id": store.application_id if store else None,
            "recording_id": store.recording_id if store else None,
            "rerun_version": ".".join(map(str, store.version)) if store and store.version else None,
            "chunks": n_chunks,
            "rows": n_rows,
            "static_chunks": n_static,
            "timelines": dict(sorted(tls.items())),
            "clock": clock,
            "entities": {k: {**v, "archetypes": sorted(v["archetypes"]),
                             "components": dict(sorted(v["components"].items()))}
                         for k, v in sorted(ents.items())},
            "warnings": list(r.warnings),
        }
        return out


def _clock_of(chunk) -> dict | None:
    """The robot clock a recording's ``ros_time`` is on, from its ``/__properties/ros_clock``
    row (see :mod:`rerun_ros.model.clock`): the JSON, with the one-line text as ``text``."""
    import json
    out = None
    for d, col in chunk.components.items():
        vals = [v for v in col.to_pylist() if v]
        if not vals:
            continue
        if d.field == "json":
            try:
                out = {**(out or {}), **json.loads(vals[-1][0])}
            except (ValueError, TypeError):
                continue
        elif d.column == "TextDocument:text":
            out = {**(out or {}), "text": vals[-1][0]}
    return out


def is_bag(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a bag (a directory, a ``.db3`` or ``.mcap`` file, or a file beginning
    with the MCAP magic ``\\x89MCAP``) rather than an ``.rrd`` recording."""
    import stat
    p = Path(path)
    if p.is_dir() or p.suffix in (".db3", ".mcap"):
        return True
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):  # (a FIFO or device is not opened: it could block)
            return False
        with open(p, "rb") as f:
            return f.read(5) == b"\x89MCAP"
    except OSError:
        return False


def _decoding(ch, distro: str | None) -> str:
    """How a conversion decodes a channel's messages: ``"recorded"`` (its definition),
    ``"built-in DISTRO"`` (recorded without one: the standard definition of a ROS 2
    distribution; a conversion picks the one the messages fit) or ``"cannot: why"``."""
    from .cdr import SchemaError, decoder_for
    from .cdr.schema import distro_order

    if ch.message_encoding != "cdr":
        return f"cannot: message encoding {ch.message_encoding!r} is not ROS 2 CDR"
    if not ch.type_name:
        return "cannot: the channel has no schema"
    if ch.schema_text.strip():
        try:
            decoder_for(ch.type_name, ch.schema_encoding, ch.schema_text, distro)
            return "recorded"
        except SchemaError as e:
            return f"cannot: {e}"
    for d in distro_order(distro):
        try:
            decoder_for(ch.type_name, ch.schema_encoding, "", d)
            return f"built-in {d}"
        except SchemaError:
            continue
    return "cannot: recorded without its definition, and no ROS 2 distribution defines the type"


def _clock(src, path) -> str | None:
    """The robot clock a conversion would put ``ros_time`` on, decided as it decides it (from the
    bag's first messages, :func:`rerun_ros.ingest.watch_clock`): its one-line description, or
    None when it cannot be told (no message decodes)."""
    from .ingest import Ingestor, watch_clock
    from .stream.recording import RecordingStream

    try:
        ing = Ingestor(RecordingStream("info"), source=str(path), distro=src.distro)
        watch_clock(src, ing)
        return ing.clock.describe() if ing.clock is not None else None
    except (ValueError, OSError):  # (a damaged bag: the rest of the summary still holds)
        return None


def bag_info(path: str | os.PathLike) -> dict:
    """Summarise a bag (MCAP file, rosbag2 directory or ``.db3``) from its summary section or
    ``metadata.yaml`` — no message is decoded but the first few the robot clock is decided from —
    and say what ``rerun-ros convert`` makes of each topic: its entity path and archetypes, or
    struct columns for a type without a visual mapper.
    A file without message counts (no summary: a recording cut short) is read through once to
    count them.

    Returns:
        a dict (``info_version`` 1, ``kind`` ``"bag"``; times in ns since the Unix epoch, log
        time; ``docs/cli.md``).

    Raises:
        FileNotFoundError: no such path. BagError: not a bag.
    """
    from .mappers.registry import entry
    from .model import entity_path
    from .sources import open_bag

    warnings: list[str] = []
    src = open_bag(path, warn=warnings.append)
    counted = src.total_messages is not None
    counts: dict = dict(src.stats.expected)
    start, end = src.start_time, src.end_time
    if not counted:  # (no summary: count what the file holds, reading it once)
        counts = {}
        for b in src.batches():
            counts[b.channel.id] = counts.get(b.channel.id, 0) + len(b)
            if len(b):
                lo, hi = int(b.log_time.min()), int(b.log_time.max())
                start = lo if start is None else min(start, lo)
                end = hi if end is None else max(end, hi)
    clock = _clock(src, path)
    topics: dict = {}
    for ch in src.channels.values():
        t = topics.get((ch.topic, ch.type_name))
        if t is None:
            e = entry(ch.type_name) if ch.type_name else None
            t = topics[(ch.topic, ch.type_name)] = {
                "topic": ch.topic, "type": ch.type_name, "messages": 0,
                "entity": entity_path.from_topic(ch.topic),
                "archetypes": e.archetypes if e is not None else "",
                "definition": ch.schema_encoding or "none",
                "decoding": _decoding(ch, src.distro)}
        t["messages"] += counts.get(ch.id, 0)
    files = list(getattr(src, "files", None) or [Path(path)])
    size = sum(f.stat().st_size for f in files if f.is_file())
    return {
        "info_version": INFO_VERSION,
        "kind": "bag",
        "file": str(Path(path)),
        "bytes": size,
        "storage": "sqlite3" if any(str(f).endswith(".db3") for f in files) else "mcap",
        "files": [str(f) for f in files],
        "profile": getattr(src, "profile", "") or None,
        "ros_distro": src.distro,
        "messages": sum(t["messages"] for t in topics.values()),
        "counted_by_reading": not counted,
        "start_ns": start,
        "end_ns": end,
        "clock": clock,
        "topics": sorted(topics.values(), key=lambda t: (t["topic"], t["type"])),
        "damaged": bool(src.damaged),
        "warnings": warnings,
    }
