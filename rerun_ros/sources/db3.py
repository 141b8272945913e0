"""Reading rosbag2 sqlite3 bags (``.db3``, the default storage before Iron) with ``rosbags``.

The rosbag2 sqlite3 storage holds tables ``topics(id, name, type, serialization_format, ...)``
and ``messages(id, topic_id, timestamp, data)`` (timestamp = receive time, ns). Older bags
embed no message definitions, so messages are decoded with the ROS 2 standard type store of
``rosbags`` (plus the ``message_definitions`` table when a newer bag has one); a topic of a type
that neither knows is reported as unsupported. Accepts a ``.db3`` file or a rosbag2 directory
whose ``metadata.yaml`` names ``sqlite3`` storage.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable, Iterator

from .mcap import BagError, SourceMessage

__all__ = ["Db3Source", "db3_files"]


def db3_files(path: str | os.PathLike) -> list[Path] | None:
    """The ``.db3`` files of a bag path, or None if it is not a sqlite3 bag."""
    p = Path(path)
    if p.is_file():
        return [p] if p.suffix == ".db3" else None
    if p.is_dir():
        meta = p / "metadata.yaml"
        if meta.exists():
            import yaml

            info = (yaml.safe_load(meta.read_text()) or {}).get("rosbag2_bagfile_information", {})
            if info.get("storage_identifier") == "sqlite3":
                return [p / f for f in info.get("relative_file_paths", [])] or sorted(p.glob("*.db3"))
            return None
        files = sorted(p.glob("*.db3"))
        return files if files and not list(p.glob("*.mcap")) else None
    return None


def _typestore():
    from rosbags.typesys import Stores, get_typestore

    for name in ("ROS2_KILTED", "ROS2_JAZZY", "ROS2_IRON", "ROS2_HUMBLE"):
        if hasattr(Stores, name):
            return get_typestore(getattr(Stores, name))
    return get_typestore(list(Stores)[-1])


class Db3Source:
    """Streams decoded messages from a sqlite3 rosbag2 (same interface as McapSource).

    Raises:
        FileNotFoundError: no such path. BagError: not a readable rosbag2 sqlite3 database.
    """

    def __init__(self, path: str | os.PathLike, warn: Callable[[str], None] | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or directory")
        files = db3_files(path)
        if not files:
            raise BagError(f"{self.path}: not a sqlite3 rosbag2 (.db3) bag")
        self.files = files
        self.warn = warn or (lambda s: None)
        self.damaged = False
        self.profile = "ros2"
        self.total_messages = 0
        self.start_time = self.end_time = None
        self._store = _typestore()
        for f in files:
            try:
                with self._connect(f) as c:
                    n, lo, hi = c.execute("select count(*), min(timestamp), max(timestamp) from messages").fetchone()
            except sqlite3.DatabaseError as e:
                raise BagError(f"{f}: not a readable rosbag2 sqlite3 database ({e})") from None
            self.total_messages += n
            if n:
                self.start_time = lo if self.start_time is None else min(self.start_time, lo)
                self.end_time = hi if self.end_time is None else max(self.end_time, hi)

    @staticmethod
    def _connect(f: Path) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{f}?mode=ro", uri=True)

    def _register_definitions(self, c: sqlite3.Connection) -> None:
        """Types defined in a newer bag's ``message_definitions`` table (ros2msg encoding)."""
        try:
            rows = c.execute("select topic_type, encoding, encoded_message_definition from message_definitions").fetchall()
        except sqlite3.DatabaseError:
            return
        from rosbags.typesys import get_types_from_msg

        for typ, enc, text in rows:
            if enc == "ros2msg" and typ not in self._store.types and text:
                try:
                    self._store.register(get_types_from_msg(text, typ))
                except Exception as e:
                    self.warn(f"{self.path}: cannot use the definition of {typ}: {e}")

    def messages(self, *, topic_filter=None, start_ns: int | None = None,
                 end_ns: int | None = None) -> Iterator[SourceMessage]:
        for f in self.files:
            with self._connect(f) as c:
                self._register_definitions(c)
                topics = {}
                for tid, name, typ, fmt in c.execute("select id, name, type, serialization_format from topics"):
                    if topic_filter is not None and not topic_filter(name):
                        continue
                    err = None
                    if fmt != "cdr":
                        err = f"serialization format {fmt!r} is not ROS 2 CDR"
                    elif typ not in self._store.types:
                        err = "type not defined in the bag nor a standard ROS 2 type"
                    topics[tid] = (name, typ, err)
                q = "select topic_id, timestamp, data from messages"
                cond, args = [], []
                if start_ns is not None:
                    cond.append("timestamp >= ?")
                    args.append(start_ns)
                if end_ns is not None:
                    cond.append("timestamp <= ?")
                    args.append(end_ns)
                if cond:
                    q += " where " + " and ".join(cond)
                q += " order by timestamp"
                try:
                    for tid, ts, data in c.execute(q, args):
                        t = topics.get(tid)
                        if t is None:
                            continue
                        name, typ, err = t
                        if err is not None:
                            yield SourceMessage(name, typ, ts, ts, None, err)
                            continue
                        try:
                            msg = self._store.deserialize_cdr(data, typ)
                        except Exception as e:
                            yield SourceMessage(name, typ, ts, ts, None,
                                                f"message does not decode: {type(e).__name__}: {e}")
                            continue
                        yield SourceMessage(name, typ, ts, ts, msg)
                except sqlite3.DatabaseError as e:
                    self.damaged = True
                    self.warn(f"{f}: database damaged ({e}); everything before it was converted")
