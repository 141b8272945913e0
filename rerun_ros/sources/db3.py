"""Reading rosbag2 sqlite3 bags (``.db3``, the default storage before Iron) as raw batches.

The rosbag2 sqlite3 storage holds tables ``topics(id, name, type, serialization_format,
offered_qos_profiles, ...)`` and ``messages(id, topic_id, timestamp, data)`` (timestamp = receive
time, ns); newer bags add ``message_definitions(topic_type, encoding,
encoded_message_definition, ...)``. Messages are read a page of rows at a time (in timestamp
order) and grouped per topic into :class:`~rerun_ros.sources.base.RawBatch` es; definitions come
from ``message_definitions`` when the bag has them, else the decoder uses the standard types of
the bag's ROS distribution (see :mod:`rerun_ros.ingest`). Accepts a ``.db3`` file or a rosbag2
directory whose ``metadata.yaml`` names ``sqlite3`` storage (split files in order; zstd FILE and
MESSAGE compression).
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .base import BagError, Channel, RawBatch, SourceStats
from .rosbag2 import db3_files  # noqa: F401  (re-exported: where it was)

__all__ = ["Db3Source", "db3_files"]

PAGE = 8192  # rows fetched at a time


class Db3Source:
    """Batches of raw messages from a sqlite3 rosbag2 (the interface of
    :class:`~rerun_ros.sources.mcap.McapSource`).

    Raises:
        FileNotFoundError: no such path. BagError: not a readable rosbag2 sqlite3 database.
    """

    def __init__(self, path: str | os.PathLike, warn: Callable[[str], None] | None = None):
        from .rosbag2 import bag_metadata, open_member

        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or directory")
        files = db3_files(path)
        if not files:
            raise BagError(f"{self.path}: not a sqlite3 rosbag2 (.db3) bag")
        missing = [f for f in files if not f.exists()]
        if missing:
            raise BagError(f"{self.path}: metadata.yaml lists missing files: {', '.join(m.name for m in missing)}")
        for f in files:
            if not f.is_file():
                raise BagError(f"{f}: not a regular file")
        self.files = files
        self.meta = bag_metadata(self.path) if self.path.is_dir() else None
        self.distro = self.meta.ros_distro if self.meta is not None else None
        self._open_member = open_member
        self.warn = warn or (lambda s: None)
        self.stats = SourceStats()
        self.profile = "ros2"
        self.total_messages = 0
        self.start_time = self.end_time = None
        self.channels: dict[int, Channel] = {}
        self._keys: dict[tuple, int] = {}
        self._plain: dict[Path, Path] = {}
        self._local: dict[Path, dict[int, int]] = {}
        for f in files:
            try:
                with self._connect(f) as c:
                    self._local[f] = self._topics(c)
                    for tid, n in c.execute("select topic_id, count(*) from messages group by topic_id"):
                        g = self._local[f].get(tid)
                        if g is not None:
                            self.stats.expected[g] = self.stats.expected.get(g, 0) + n
                    n, lo, hi = c.execute("select count(*), min(timestamp), max(timestamp) from messages").fetchone()
            except sqlite3.DatabaseError as e:
                raise BagError(f"{f}: not a readable rosbag2 sqlite3 database ({e})") from None
            self.total_messages += n
            if n:
                self.start_time = lo if self.start_time is None else min(self.start_time, lo)
                self.end_time = hi if self.end_time is None else max(self.end_time, hi)

    @property
    def damaged(self) -> bool:
        return self.stats.damaged

    def _connect(self, f: Path) -> sqlite3.Connection:
        p = self._plain.get(f)
        if p is None:
            p = self._plain[f] = _readable_uri(self._open_member(f))
        return sqlite3.connect(p, uri=True)

    def _topics(self, c: sqlite3.Connection) -> dict[int, int]:
        defs = {}
        try:
            for typ, enc, text in c.execute(
                    "select topic_type, encoding, encoded_message_definition from message_definitions"):
                if text:
                    defs[typ] = (enc or "ros2msg", text)
        except sqlite3.DatabaseError:
            pass
        cols = [r[1] for r in c.execute("pragma table_info(topics)")]
        qcol = "offered_qos_profiles" if "offered_qos_profiles" in cols else "''"
        local = {}
        for tid, name, typ, fmt, qos in c.execute(f"select id, name, type, serialization_format, {qcol} from topics"):
            enc, text = defs.get(typ, ("", ""))
            key = (name, typ, text, fmt)
            g = self._keys.get(key)
            if g is None:
                g = self._keys[key] = len(self._keys) + 1
                self.channels[g] = Channel(g, name, typ, fmt or "cdr", enc, text,
                                           {"offered_qos_profiles": qos or ""})
            local[tid] = g
        return local

    def segments(self, target_bytes: int) -> list[tuple]:
        """The bag cut into segments of about ``target_bytes`` of message data, for reading in
        parallel: ``(file number, first timestamp or None, end timestamp or None)`` (a segment
        holds the messages with ``first <= timestamp < end``; cut at equal message counts)."""
        out = []
        for i, f in enumerate(self.files):
            try:
                with self._connect(f) as c:
                    n, size = c.execute("select count(*), coalesce(sum(length(data)), 0) from messages").fetchone()
                    k = max(1, min(-(-int(size) // max(int(target_bytes), 1)), n))
                    cuts = []
                    for j in range(1, k):
                        row = c.execute("select timestamp from messages order by timestamp, id limit 1 offset ?",
                                        (j * n // k,)).fetchone()
                        if row is not None and (not cuts or row[0] > cuts[-1]):
                            cuts.append(int(row[0]))
            except sqlite3.DatabaseError:
                cuts = []
            bounds = [None, *cuts, None]
            out.extend((i, bounds[j], bounds[j + 1]) for j in range(len(bounds) - 1))
        return out

    def batches(self, *, topic_filter=None, start_ns: int | None = None,
                end_ns: int | None = None, merge: bool = True, segment: tuple | None = None) -> Iterator[RawBatch]:
        """Every message, a page at a time, grouped per topic (timestamp order within a page);
        ``merge`` is accepted for the sources' common signature (a page is the unit here);
        ``segment``: only that part of the bag (one of :meth:`segments`)."""
        from .rosbag2 import decompress_messages

        self._bad_rows_said = False  # (said once per reading of the bag)
        per_message = self.meta is not None and self.meta.compression_mode == "MESSAGE"
        files = self.files if segment is None else [self.files[segment[0]]]
        for f in files:
            local = self._local[f]
            wanted = {tid for tid, g in local.items()
                      if topic_filter is None or topic_filter(self.channels[g].topic)}
            q = "select topic_id, timestamp, data from messages"
            cond, args = [], []
            if start_ns is not None:
                cond.append("timestamp >= ?")
                args.append(start_ns)
            if end_ns is not None:
                cond.append("timestamp <= ?")
                args.append(end_ns)
            if segment is not None and segment[1] is not None:
                cond.append("timestamp >= ?")
                args.append(segment[1])
            if segment is not None and segment[2] is not None:
                cond.append("timestamp < ?")
                args.append(segment[2])
            if cond:
                q += " where " + " and ".join(cond)
            q += " order by timestamp, id"
            with self._connect(f) as c:
                try:
                    cur = c.execute(q, args)
                    while True:
                        rows = cur.fetchmany(PAGE)
                        if not rows:
                            break
                        for b in self._page(rows, local, wanted):
                            if per_message:
                                b = decompress_messages(b, self.meta.compression_format, self.warn, self.stats)
                            if b is not None:
                                yield b
                except sqlite3.DatabaseError as e:
                    self.stats.damaged = True
                    self.warn(f"{f}: database damaged ({e}); everything before it was converted")

    def _page(self, rows: list, local: dict, wanted: set) -> list[RawBatch]:
        """A page of ``(topic_id, timestamp, data)`` rows as one batch per wanted topic.
        A damaged database can hold rows whose columns are NULL or of another type, whatever
        its schema says: when the page does not convert as it is, those rows are left out,
        said once per reading, and the bag counted damaged."""
        try:
            return self._batches_of(rows, local, wanted)
        except (TypeError, ValueError, OverflowError):
            good = [r for r in rows if type(r[0]) is int and type(r[1]) is int and isinstance(r[2], bytes)]
            if not self._bad_rows_said:
                self.warn(f"{self.path}: {len(rows) - len(good)} message rows with a NULL or mistyped topic id, "
                          "timestamp or data were left out (a damaged database)")
                self._bad_rows_said = True
            self.stats.damaged = True
            return self._batches_of(good, local, wanted) if good else []

    def _batches_of(self, rows: list, local: dict, wanted: set) -> list[RawBatch]:
        out, counts = [], []
        tids = np.fromiter((r[0] for r in rows), np.int64, count=len(rows))
        for tid in np.unique(tids).tolist():
            g = local.get(tid)
            idx = np.nonzero(tids == tid)[0]
            if g is None:
                continue
            counts.append((g, len(idx)))
            if tid not in wanted:
                continue
            datas = [rows[i][2] for i in idx.tolist()]
            lens = np.fromiter((len(d) for d in datas), np.int64, count=len(datas))
            offs = np.zeros(len(datas), np.int64)
            np.cumsum(lens[:-1], out=offs[1:])
            ts = np.fromiter((rows[i][1] for i in idx.tolist()), np.int64, count=len(idx))
            out.append(RawBatch(self.channels[g], np.frombuffer(b"".join(datas), np.uint8), offs, lens, ts, ts))
        for g, n in counts:  # (counted once the whole page converted)
            self.stats.read[g] += n
        return out


def _readable_uri(path: Path) -> str:
    """The SQLite URI that opens ``path`` read-only, or where SQLite cannot open it read-only in place, a file it can: rosbag2 writes
    its databases in WAL journal mode, and a WAL database needs its ``-shm`` file beside it, which
    cannot be made on read-only media (a mounted drive, a shared dataset). Without a ``-wal`` file
    holding data the database is opened as immutable; with one (a recorder that was killed before
    its checkpoint) the database and its WAL are copied to a temporary directory so that none of
    the messages still in the WAL are lost. See https://www.sqlite.org/wal.html (read-only databases).
    """
    from urllib.parse import quote

    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        c = sqlite3.connect(uri, uri=True)
        try:
            c.execute("select count(*) from sqlite_master").fetchone()
            return uri
        finally:
            c.close()
    except sqlite3.OperationalError:
        pass
    wal = Path(f"{path}-wal")
    if not (wal.exists() and wal.stat().st_size > 0):
        return uri + "&immutable=1"
    import shutil
    import tempfile

    from .rosbag2 import _TEMP
    d = tempfile.mkdtemp(prefix="rerun_ros_bag_")
    _TEMP.append(d)
    out = Path(d) / path.name
    shutil.copyfile(path, out)
    shutil.copyfile(wal, Path(f"{out}-wal"))
    return f"file:{quote(str(out))}?mode=ro"

