"""Reading MCAP files as batches of raw messages (:class:`~rerun_ros.sources.base.RawBatch`).

Records are walked here, not through the ``mcap`` library's per-message iterator (about 12 us a
message); the library still reads the summary (schemas, channels, chunk indexes, statistics).
MCAP layout facts used (MCAP specification, https://mcap.dev/spec): every record is an opcode
byte and a uint64 little-endian length; a Chunk (0x06) holds start/end time, uncompressed size
and CRC, a compression name and a records blob; each chunk is followed by one Message Index
(0x07) record per channel giving (log_time, offset) of every message record in the
uncompressed blob; a Message (0x05) is channel id u16, sequence u32, log time u64, publish
time u64, then the payload.

Per chunk: the blob is read and decompressed in a helper thread (zstd, lz4 and the CRC
release the GIL), the message indexes give every message's offset, and all record headers of a
channel are checked at once with numpy (opcode, channel, length within the chunk). A chunk
without usable indexes, or whose indexes do not cover it, is walked record by record. A file
without summary (a recorder that died) is walked from the start; a chunk cut short by the end
of the file keeps every whole message before the cut, compressed or not. Whatever cannot be
read is reported once, naming the file, the byte offset and the log times, and marks the
source damaged; what the file's statistics promise per channel is compared with what was read.
"""
from __future__ import annotations

import mmap
import os
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .base import BagError, Channel, RawBatch, SourceStats, merge_batches

try:  # zlib-ng's CRC-32 (SIMD): 22 GB/s here against zlib's 2.2 GB/s; the same checksum
    from zlib_ng.zlib_ng import crc32
except ImportError:  # (a system install without it: zlib's)
    from zlib import crc32

__all__ = ["McapSource", "bag_files", "BagError"]

_MAGIC = b"\x89MCAP0\r\n"
OP_HEADER, OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK, OP_MESSAGE_INDEX = 1, 2, 3, 4, 5, 6, 7
_U64 = struct.Struct("<Q")
_MSG = struct.Struct("<HIqq")  # (times signed: a damaged u64 must not overflow int64 arrays)
PREFETCH = 3  # chunks read ahead


def bag_files(path: str | os.PathLike) -> list[Path]:
    """The ``.mcap`` files of a bag: the file itself, or a rosbag2 directory's files in the
    order of its ``metadata.yaml`` (all ``*.mcap`` sorted by name without one).

    Raises:
        FileNotFoundError: no such path. BagError: not an MCAP file/bag directory.
    """
    from .rosbag2 import bag_metadata

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or directory")
    if p.is_dir():
        meta = bag_metadata(p)
        files = [p / f for f in meta.relative_file_paths] if meta is not None else []
        if meta is not None and meta.storage not in ("", "mcap"):
            raise BagError(f"{p}: rosbag2 storage {meta.storage!r} is not MCAP")
        if not files:
            files = sorted(list(p.glob("*.mcap")) + list(p.glob("*.mcap.zstd")))
        if not files:
            raise BagError(f"{p}: directory holds no .mcap files")
        missing = [f for f in files if not f.exists()]
        if missing:
            raise BagError(f"{p}: metadata.yaml lists missing files: {', '.join(str(m.name) for m in missing)}")
        return files
    if not p.is_file():
        raise BagError(f"{p}: not a regular file")
    if p.suffix == ".zstd":
        return [p]
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic[:5] != b"\x89MCAP":
        raise BagError(f"{p}: not an MCAP file (starts with {magic!r})")
    return [p]


def _string(b, pos: int) -> tuple[str, int]:
    n = struct.unpack_from("<I", b, pos)[0]
    return bytes(b[pos + 4:pos + 4 + n]).decode("utf-8", "replace"), pos + 4 + n


def _parse_schema(b) -> tuple[int, str, str, bytes]:
    sid = struct.unpack_from("<H", b, 0)[0]
    name, p = _string(b, 2)
    enc, p = _string(b, p)
    n = struct.unpack_from("<I", b, p)[0]
    return sid, name, enc, bytes(b[p + 4:p + 4 + n])


def _parse_channel(b) -> tuple[int, int, str, str, dict]:
    cid, sid = struct.unpack_from("<HH", b, 0)
    topic, p = _string(b, 4)
    enc, p = _string(b, p)
    n = struct.unpack_from("<I", b, p)[0]
    p += 4
    end = p + n
    meta = {}
    while p < end:
        k, p = _string(b, p)
        v, p = _string(b, p)
        meta[k] = v
    return cid, sid, topic, enc, meta


def _decompress(compression: str, data, size: int, partial: bool = False) -> bytes:
    """Decompress a chunk's records; ``partial``: the data was cut short, return what decodes.

    Raises:
        ValueError: unknown compression or data that does not decompress.
    """
    if compression == "":
        return bytes(data)
    if compression == "zstd":
        import zstandard
        if partial:
            return zstandard.ZstdDecompressor().decompressobj().decompress(bytes(data))
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
    if compression == "lz4":
        import lz4.frame
        if partial:
            d = lz4.frame.LZ4FrameDecompressor()
            return d.decompress(bytes(data))
        return lz4.frame.decompress(data)
    raise ValueError(f"unsupported chunk compression {compression!r}")


class _Chunk:
    """A chunk record's fields (the records blob still compressed)."""

    __slots__ = ("start", "end", "size", "crc", "compression", "data", "truncated")

    def __init__(self, b, truncated: bool = False):
        self.start, self.end, self.size, self.crc = struct.unpack_from("<QQQI", b, 0)
        self.compression, p = _string(b, 28)
        n = _U64.unpack_from(b, p)[0]
        self.data = memoryview(b)[p + 8:p + 8 + n]
        self.truncated = truncated or len(self.data) < n


def _mapped(fp: Path, offset: int, length: int) -> memoryview:
    """Bytes ``offset .. offset + length`` of a file (fewer at its end) as a read-only view of a
    memory map; the map lives as long as views of it do. Falls back to a read where a file
    cannot be mapped (an empty file, a pipe)."""
    with open(fp, "rb") as f:
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            f.seek(offset)
            return memoryview(f.read(length))
    return memoryview(mm)[offset:offset + length]


#: zstd chunks are decompressed one after the other into arenas of this size (the size of the
#: groups :func:`~rerun_ros.sources.base.merge_batches` makes, with its slack), and uncompressed
#: ones are read through windows of the mapped file of this size: the chunks of a group then lie
#: in one array and are never copied into a group buffer (the 10x mix of bench/convert.py holds
#: 506 MB of records: its main thread at -j 1 took 2.80-2.91 s of CPU with the copy, 2.61-2.69
#: s without, zstd or uncompressed; +9 MiB of peak memory: the arena read ahead into)
ARENA_BYTES = (8 << 20) + (1 << 20)


class _Arenas:
    """The memory chunks are read into during one reading of a file. Zstd chunks are
    decompressed side by side into a uint8 arena of :data:`ARENA_BYTES`, a new one when a chunk
    does not fit (one bigger than an arena is decompressed as before, into bytes); an arena
    that nothing holds any more (no view of it left: its groups were decoded) is used again, so
    its pages are not faulted in afresh; two are kept (the one a group is decoded from, the one the next is read into).
    Uncompressed chunks are views of one uint8 array over a window of the file's memory map
    (:meth:`mapped`): consecutive chunks then lie in one array too, a few record headers apart,
    and are grouped without a copy as well. Each arena or window becomes one group (a chunk
    that does not fit starts the next)."""

    KEEP = 2

    def __init__(self) -> None:
        self.pool: list[np.ndarray] = []
        self.cur: np.ndarray | None = None
        self.pos = 0
        self._win: tuple | None = None  # (file, first byte, end byte, uint8 array over its map)

    def mapped(self, fp: Path, offset: int, length: int) -> memoryview:
        """As :func:`_mapped`, a view of the file's current window: :data:`ARENA_BYTES` of the
        file mapped from the first chunk that did not fit the window before (a chunk bigger than
        a window gets a map of its own, as before). Windows, not the whole file: what the process
        has mapped and touched stays a few windows, not the bag (a sim-time bag is read in one
        unit from end to end); and a window starts where a group starts, as an arena does."""
        w = self._win
        if w is None or w[0] != fp or not (w[1] <= offset and offset + length <= w[2]):
            if length > ARENA_BYTES:
                return _mapped(fp, offset, length)
            start = offset - offset % mmap.ALLOCATIONGRANULARITY
            self._win = None
            with open(fp, "rb") as f:
                try:
                    n = min(ARENA_BYTES + (offset - start), os.fstat(f.fileno()).st_size - start)
                    m = mmap.mmap(f.fileno(), n, access=mmap.ACCESS_READ, offset=start)
                except (ValueError, OSError):
                    return _mapped(fp, offset, length)
            w = self._win = (fp, start, start + n, np.frombuffer(m, np.uint8))
        return memoryview(w[3][offset - w[1]:offset - w[1] + length])

    def take(self, n: int) -> np.ndarray:
        """A writable uint8 (n,) view for one chunk's records (n <= :data:`ARENA_BYTES`)."""
        if self.cur is None or self.pos + n > len(self.cur):
            self.cur, self.pos = None, 0
            for i in range(len(self.pool)):
                if _refs(self.pool, i) == _FREE:
                    self.cur = self.pool[i]
                    break
            if self.cur is None:
                self.cur = np.empty(ARENA_BYTES, np.uint8)
                if len(self.pool) < self.KEEP:
                    self.pool.append(self.cur)
        v = self.cur[self.pos:self.pos + n]
        self.pos += n
        return v


def _refs(pool: list, i: int) -> int:
    """The reference count of ``pool[i]`` as seen from here."""
    return sys.getrefcount(pool[i])


#: :func:`_refs` of an arena only its pool holds, on this interpreter
_FREE = _refs([np.empty(1, np.uint8)], 0)


def _zstd_into(blob, size: int, arenas: _Arenas) -> memoryview | None:
    """A zstd chunk's records decompressed into the next place of an arena; None when they are
    not exactly ``size`` bytes of one frame, or do not decompress (the caller then decompresses
    as before, and says what is wrong)."""
    import zstandard
    out = arenas.take(size)
    try:
        with zstandard.ZstdDecompressor().stream_reader(blob) as r:
            got = 0
            while got < size:
                k = r.readinto(out[got:])
                if not k:
                    break
                got += k
            if got != size or r.read(1):
                return None
    except zstandard.ZstdError:
        return None
    return memoryview(out)


def _load(fp: Path, offset: int, length: int, index_len: int,
          arenas: _Arenas | None = None) -> tuple[bytes | memoryview, memoryview]:
    """(uncompressed records, message index bytes) of the chunk at ``offset`` (runs in the
    prefetch thread); records of an uncompressed chunk are a view of the mapped file, those of
    a zstd chunk a view of an arena (with ``arenas``: see :class:`_Arenas`).

    Raises:
        ValueError: not a chunk record, CRC mismatch, bad compression; OSError.
    """
    raw = _mapped(fp, offset, length + index_len) if arenas is None else arenas.mapped(fp, offset, length + index_len)
    if len(raw) < 9 or raw[0] != OP_CHUNK:
        raise ValueError("no chunk record at this offset")
    rlen = _U64.unpack_from(raw, 1)[0]
    ch = _Chunk(raw[9:9 + rlen])
    if ch.truncated:
        raise ValueError("chunk record cut short")
    # an uncompressed chunk's records are a view of the mapped file: camera images and clouds are
    # not copied on their way to the decoder (a copy of fresh memory costs ~1 ms per MiB here)
    data = None
    if ch.compression == "zstd" and arenas is not None and 0 < ch.size <= ARENA_BYTES:
        data = _zstd_into(ch.data, ch.size, arenas)
    if data is None:
        data = ch.data if ch.compression == "" else _decompress(ch.compression, ch.data, ch.size)
    if ch.crc != 0:
        crc = crc32(data)
        if crc != ch.crc:
            raise ValueError(f"CRC mismatch (expected {ch.crc:#010x}, got {crc:#010x})")
    return data, raw[9 + rlen:]


class McapSource:
    """Batches of raw messages from one bag (an MCAP file or a rosbag2 directory of them).

    Args:
        path: MCAP file or rosbag2 directory (``metadata.yaml`` + ``.mcap`` files; zstd file or
            message compression as rosbag2 writes it, see :mod:`rerun_ros.sources.rosbag2`).
        warn: called once per problem with a one-line message naming the file.

    Attributes:
        channels: global channel id → :class:`Channel` (the same topic/type/definition in
            several split files is one channel).
        stats: :class:`SourceStats` (expected per the files' statistics, read, damaged).
        total_messages, start_time, end_time: from the statistics (None when unknown).
        profile: the MCAP profile (``ros2``; ``ros1`` bags are reported, not decoded).
        distro: the ROS distribution the bag names (rosbag2 metadata), or None.

    Raises:
        FileNotFoundError, BagError: see :func:`bag_files`.
    """

    def __init__(self, path: str | os.PathLike, warn: Callable[[str], None] | None = None):
        from .rosbag2 import bag_metadata, open_member

        self.path = Path(path)
        self.files = bag_files(path)
        self.warn = warn or (lambda s: None)
        self.meta = bag_metadata(self.path) if self.path.is_dir() else None
        self.distro = self.meta.ros_distro if self.meta is not None else None
        self._open_member = open_member
        self.channels: dict[int, Channel] = {}
        self._keys: dict[tuple, int] = {}
        self.stats = SourceStats()
        self.profile = ""
        self.total_messages: int | None = None
        self.start_time: int | None = None
        self.end_time: int | None = None
        self._summaries: dict[Path, object] = {}
        self._plain: dict[Path, Path] = {}
        total = 0
        for fp in self.files:
            s = self._summary(fp)
            if s is None or s.statistics is None:
                total = -1
                continue
            st = s.statistics
            total = total + st.message_count if total >= 0 else total
            if st.message_count:
                self.start_time = st.message_start_time if self.start_time is None else min(self.start_time, st.message_start_time)
                self.end_time = st.message_end_time if self.end_time is None else max(self.end_time, st.message_end_time)
            local = self._file_channels(fp, s.schemas, s.channels)
            for cid, n in st.channel_message_counts.items():
                g = local.get(cid)
                if g is not None:
                    self.stats.expected[g] = self.stats.expected.get(g, 0) + n
        self.total_messages = total if total >= 0 else None
        #: the files' MCAP Metadata records, (name, {key: value}) in file order (rosbag2 writes
        #: ``rosbag2`` with ``ROS_DISTRO``)
        self.metadata: list[tuple[str, dict]] = []
        for fp in self.files:
            self.metadata.extend(self._metadata(fp))
        if self.profile == "ros1":
            self.warn(f"{self.path}: MCAP profile 'ros1' (a ROS 1 bag); its messages cannot be decoded as ROS 2 CDR")

    @property
    def damaged(self) -> bool:
        return self.stats.damaged

    # -- files ------------------------------------------------------------------------------

    def _plain_file(self, fp: Path) -> Path:
        """The MCAP file to read for ``fp`` (a ``.zstd`` file of a file-compressed rosbag2 is
        decompressed to a temporary file first)."""
        p = self._plain.get(fp)
        if p is None:
            p = self._plain[fp] = self._open_member(fp)
        return p

    def _summary(self, fp: Path):
        if fp in self._summaries:
            return self._summaries[fp]
        from mcap.reader import SeekingReader

        s = None
        try:
            with open(self._plain_file(fp), "rb") as f:
                r = SeekingReader(f)
                self.profile = r.get_header().profile or self.profile
                s = r.get_summary()
        except Exception:
            s = None
        self._summaries[fp] = s
        return s

    def _metadata(self, fp: Path) -> list[tuple[str, dict]]:
        """The Metadata records of one file, through its summary's index (none when unindexed
        or unreadable: the records are extras, never a reason to fail)."""
        s = self._summary(fp)
        if s is None or not getattr(s, "metadata_indexes", None):
            return []
        from mcap.reader import SeekingReader
        try:
            with open(self._plain_file(fp), "rb") as f:
                return [(m.name, dict(m.metadata)) for m in SeekingReader(f).iter_metadata()]
        except Exception:  # noqa: BLE001 - a damaged record is skipped, the messages still convert
            return []

    def _channel(self, fp: Path, cid: int, topic: str, enc: str, meta: dict, schema) -> int:
        """The global id of a file's channel (schema: (name, encoding, text) or None)."""
        name, senc, text = schema if schema is not None else ("", "", "")
        key = (topic, name, text, enc)
        g = self._keys.get(key)
        if g is None:
            g = self._keys[key] = len(self._keys) + 1
            self.channels[g] = Channel(g, topic, name, enc, senc, text, dict(meta))
        return g

    def _file_channels(self, fp: Path, schemas: dict, channels: dict) -> dict[int, int]:
        out = {}
        for cid, ch in channels.items():
            sch = schemas.get(ch.schema_id)
            s = (sch.name, sch.encoding, sch.data.decode("utf-8", "replace")) if sch is not None else None
            out[cid] = self._channel(fp, cid, ch.topic, ch.message_encoding, ch.metadata, s)
        return out

    # -- reading ----------------------------------------------------------------------------

    def segments(self, target_bytes: int) -> list[tuple]:
        """The bag cut into segments of about ``target_bytes`` of (uncompressed) chunk data, in
        file order, for reading in parallel: ``(file number, first chunk offset, last chunk
        offset)``, or ``(file number, None, None)`` for a file without chunk index (read
        whole). The cut depends only on the files and ``target_bytes``."""
        out = []
        for i, fp in enumerate(self.files):
            s = self._summary(fp)
            if s is None or not s.chunk_indexes:
                out.append((i, None, None))
                continue
            cis = sorted(s.chunk_indexes, key=lambda c: c.chunk_start_offset)
            first, size = cis[0].chunk_start_offset, 0
            for j, ci in enumerate(cis):
                size += max(ci.uncompressed_size, ci.chunk_length)
                if size >= target_bytes or j == len(cis) - 1:
                    out.append((i, first, ci.chunk_start_offset))
                    if j + 1 < len(cis):
                        first, size = cis[j + 1].chunk_start_offset, 0
        return out

    def batches(self, *, topic_filter: Callable[[str], bool] | None = None,
                start_ns: int | None = None, end_ns: int | None = None, merge: bool = True,
                segment: tuple | None = None) -> Iterator[RawBatch]:
        """Every message as batches (per chunk and channel, in file order), filtered by topic
        and by log time in ``[start_ns, end_ns]``; ``merge`` regroups small batches into a few
        large ones (:func:`merge_batches`; off: a chunk's worth at a time, for a quick look);
        ``segment``: only that part of the bag (one of :meth:`segments`)."""
        from .rosbag2 import decompress_messages

        per_message = self.meta is not None and self.meta.compression_mode == "MESSAGE"
        files = self.files if segment is None else [self.files[segment[0]]]
        span = None if segment is None or segment[1] is None else (segment[1], segment[2])

        def raw():
            for fp in files:
                for b in self._file_batches(fp, topic_filter, start_ns, end_ns, span):
                    if per_message:
                        b = decompress_messages(b, self.meta.compression_format, self.warn, self.stats)
                        if b is None:
                            continue
                    yield b

        yield from (merge_batches(raw()) if merge else raw())

    def _file_batches(self, fp: Path, topic_filter, start_ns, end_ns, span=None) -> Iterator[RawBatch]:
        s = self._summary(fp)
        ctx = _FileCtx(self, fp, topic_filter, start_ns, end_ns)
        if s is not None and s.chunk_indexes:
            ctx.local = self._file_channels(fp, s.schemas, s.channels)
            ctx.schemas = {sid: (x.name, x.encoding, x.data.decode("utf-8", "replace")) for sid, x in s.schemas.items()}
            wanted = [ci for ci in sorted(s.chunk_indexes, key=lambda c: c.chunk_start_offset)
                      if not (start_ns is not None and ci.message_end_time < start_ns)
                      and not (end_ns is not None and ci.message_start_time > end_ns)
                      and (span is None or span[0] <= ci.chunk_start_offset <= span[1])]
            plain = self._plain_file(fp)
            for ci, loaded in _prefetch(plain, wanted):
                if isinstance(loaded, BaseException):
                    self.stats.damaged = True
                    self.warn(f"{fp}: chunk at byte {ci.chunk_start_offset} (log time {ci.message_start_time}.."
                              f"{ci.message_end_time}) is unreadable ({_short(loaded)}); its messages were skipped")
                    continue
                data, index = loaded
                yield from ctx.chunk(data, index, ci.chunk_start_offset)
            return
        yield from ctx.stream()


class _FileCtx:
    """Reading one file: its channel ids → global ids, filters, and the batch builders."""

    def __init__(self, src: McapSource, fp: Path, topic_filter, start_ns, end_ns):
        self.src, self.fp = src, fp
        self.topic_filter, self.start_ns, self.end_ns = topic_filter, start_ns, end_ns
        self.local: dict[int, int] = {}
        self.schemas: dict[int, tuple] = {}
        self._wanted: dict[int, bool] = {}
        self._unknown_warned = False

    def wanted(self, g: int) -> bool:
        w = self._wanted.get(g)
        if w is None:
            w = self._wanted[g] = self.topic_filter is None or self.topic_filter(self.src.channels[g].topic)
        return w

    def _problem(self, text: str) -> None:
        self.src.stats.damaged = True
        self.src.warn(f"{self.fp}: {text}")

    def add_schema(self, b) -> None:
        try:
            sid, name, enc, data = _parse_schema(b)
        except (struct.error, ValueError):
            self._problem(f"an unreadable Schema record ({len(b)} bytes) was skipped")
            return
        self.schemas.setdefault(sid, (name, enc, data.decode("utf-8", "replace")))

    def add_channel(self, b) -> None:
        try:
            cid, sid, topic, enc, meta = _parse_channel(b)
        except (struct.error, ValueError):
            self._problem(f"an unreadable Channel record ({len(b)} bytes) was skipped")
            return
        if cid not in self.local:
            self.local[cid] = self.src._channel(self.fp, cid, topic, enc, meta, self.schemas.get(sid))

    # -- batches ----------------------------------------------------------------------------

    def _emit(self, g: int, buf: np.ndarray, offs: np.ndarray, lens: np.ndarray,
              log: np.ndarray, pub: np.ndarray) -> RawBatch | None:
        self.src.stats.read[g] += len(offs)
        if not self.wanted(g):
            return None
        keep = None
        if self.start_ns is not None:
            keep = log >= self.start_ns
        if self.end_ns is not None:
            k2 = log <= self.end_ns
            keep = k2 if keep is None else keep & k2
        b = RawBatch(self.src.channels[g], buf, offs, lens, log, pub)
        if keep is not None and not keep.all():
            b = b.take(np.nonzero(keep)[0])
        return b if len(b) else None

    def chunk(self, data: bytes, index: bytes, at: int) -> Iterator[RawBatch]:
        """The batches of one decompressed chunk, through its message indexes when they cover
        it, else by walking its records."""
        buf = np.frombuffer(data, np.uint8)
        per = _message_index(index)
        if per:
            cids = [cid for cid, offs in per.items() if len(offs) and cid in self.local]
            if cids:
                yield from self._indexed(data, buf, per, cids, at)
                return
        yield from self.walk(data, at)

    def _indexed(self, data, buf: np.ndarray, per: dict, cids: list, at: int) -> Iterator[RawBatch]:
        """The batches of a chunk through its message indexes, all channels at once: every
        indexed record's header is read and checked (opcode, channel, length within the chunk
        and before the next record); damaged records are skipped and counted. When the good
        records do not cover the chunk and none is damaged (an incomplete index), the chunk
        is walked instead."""
        offs = np.concatenate([per[c] for c in cids]) if len(cids) > 1 else per[cids[0]]
        cid = np.repeat(np.array(cids, np.int64), [len(per[c]) for c in cids])
        order = np.argsort(offs, kind="stable")
        offs, cid = offs[order], cid[order]
        n = len(buf)
        ok = (offs >= 0) & (offs + 31 <= n)
        i64 = None
        if n >= 31:
            a = np.where(ok, offs, 0)
            i64 = np.ndarray((n - 7,), "<i8", buffer=buf, strides=(1,))  # little-endian u64 at any byte
            op = buf[a]
            rlen = i64[a + 1]
            ch = np.ndarray((n - 1,), "<u2", buffer=buf, strides=(1,))[a + 9]
            good = ok & (op == OP_MESSAGE) & (ch == cid) & (rlen >= 22) & (rlen <= n)
            good &= offs + 9 + np.where(good, rlen, 0) <= n
        else:
            good = np.zeros(len(offs), bool)
            rlen = np.zeros(len(offs), np.int64)
        # records must not overlap: each ends before the next one (of any channel) starts
        end = offs + 9 + np.where(good, rlen, 0)
        nxt = np.empty(len(offs), np.int64)
        nxt[:-1] = offs[1:]
        nxt[-1:] = n
        good &= end <= nxt
        bad = len(good) - int(np.count_nonzero(good))
        gi = np.flatnonzero(good)
        covered = int((rlen[gi] + 9).sum())
        if bad:
            self._problem(f"chunk at byte {at}: {bad} message record{'s' if bad > 1 else ''} damaged "
                          "(length past the chunk's end or into the next record, or a wrong header); "
                          "skipped, every other message of the chunk kept")
        elif covered != n:
            yield from self.walk(data, at)
            return
        if not len(gi):
            return
        gi = gi[np.argsort(cid[gi], kind="stable")]
        c = cid[gi]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        stops = np.r_[starts[1:], len(gi)]
        first = offs[gi[starts]]
        for k in np.argsort(first, kind="stable").tolist():
            sel = gi[starts[k]:stops[k]]
            o = offs[sel]
            b = self._emit(self.local[int(c[starts[k]])], buf, o + 31, rlen[sel] - 22, i64[o + 15], i64[o + 23])
            if b is not None:
                yield b

    def walk(self, data, at: int, truncated: bool = False) -> Iterator[RawBatch]:
        """Walk a records blob (a chunk's, or a chunk cut short when ``truncated``)."""
        buf = np.frombuffer(data, np.uint8)
        per: dict[int, list] = {}
        pos, end = 0, len(data)
        unpack_len, unpack_msg = _U64.unpack_from, _MSG.unpack_from
        mv = memoryview(data)
        while pos + 9 <= end:
            op = data[pos]
            rlen = unpack_len(data, pos + 1)[0]
            if pos + 9 + rlen > end:
                if truncated:
                    self._problem(f"chunk at byte {at} is cut short: its last record (at byte {pos} of the "
                                  "chunk) is incomplete; every whole message before it was kept")
                else:
                    self._problem(f"chunk at byte {at}: record at byte {pos} runs {pos + 9 + rlen - end} "
                                  "bytes past the chunk's end; the rest of the chunk was skipped")
                break
            if op == OP_MESSAGE:
                if rlen < 22:
                    self._problem(f"chunk at byte {at}: message record at byte {pos} is too short ({rlen} bytes)")
                else:
                    cid, _, lt, pt = unpack_msg(data, pos + 9)
                    lst = per.get(cid)
                    if lst is None:
                        lst = per[cid] = []
                    lst.append((pos + 31, rlen - 22, lt, pt))
            elif op == OP_SCHEMA:
                self.add_schema(mv[pos + 9:pos + 9 + rlen])
            elif op == OP_CHANNEL:
                self.add_channel(mv[pos + 9:pos + 9 + rlen])
            pos += 9 + rlen
        else:
            if pos != end and not truncated:
                self._problem(f"chunk at byte {at}: {end - pos} stray bytes at its end")
            elif pos != end:
                self._problem(f"chunk at byte {at} is cut short; every whole message before the cut was kept")
        for cid, rows in sorted(per.items(), key=lambda kv: kv[1][0][0]):
            g = self.local.get(cid)
            if g is None:
                if not self._unknown_warned:
                    self._problem(f"chunk at byte {at}: {len(rows)} messages of channel id {cid}, which has "
                                  "no Channel record; skipped")
                    self._unknown_warned = True
                continue
            a = np.array(rows, dtype=np.int64).reshape(-1, 4)
            b = self._emit(g, buf, a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy())
            if b is not None:
                yield b

    def stream(self) -> Iterator[RawBatch]:
        """Read a file without (usable) summary from its start, up to its last whole record."""
        plain = self.src._plain_file(self.fp)
        loose: dict[int, list] = {}  # top-level (unchunked) messages per channel
        size = os.path.getsize(plain)
        with open(plain, "rb") as f:
            head = f.read(8)
            if head != _MAGIC:
                self._problem("does not start with the MCAP magic")
                return
            pos = 8
            while True:
                h = f.read(9)
                if len(h) < 9:
                    if h:
                        self._problem(f"truncated at byte {pos} (a record header cut short); everything before it was read")
                    else:
                        self._problem(f"ends at byte {pos} without footer (the recorder did not finish); "
                                      "everything before it was read")
                    break
                op, rlen = h[0], _U64.unpack_from(h, 1)[0]
                left = size - pos - 9  # never read past the file, whatever a length claims
                body = f.read(min(rlen, left)) if left > 0 else b""
                cut = len(body) < rlen
                if op == OP_FOOTER:
                    break
                if op == OP_CHUNK:
                    try:
                        ch = _Chunk(body, truncated=cut)
                        data = _decompress(ch.compression, ch.data, ch.size, partial=ch.truncated)
                        if not ch.truncated and ch.crc and crc32(data) != ch.crc:
                            raise ValueError("CRC mismatch")
                    except Exception as e:
                        self._problem(f"chunk at byte {pos} is unreadable ({_short(e)}); its messages were skipped")
                        data = None
                    if data is not None:
                        yield from self._flush_loose(loose)
                        yield from self.walk(data, pos, truncated=ch.truncated)
                elif cut:
                    pass
                elif op == OP_SCHEMA:
                    self.add_schema(body)
                elif op == OP_CHANNEL:
                    self.add_channel(body)
                elif op == OP_MESSAGE and rlen >= 22:
                    cid, _, lt, pt = _MSG.unpack_from(body, 0)
                    loose.setdefault(cid, []).append((body, lt, pt))
                    if len(loose[cid]) >= 4096:
                        yield from self._flush_loose({cid: loose.pop(cid)})
                if cut:
                    self._problem(f"truncated at byte {pos} (a record of {rlen} bytes cut short); "
                                  "everything before it was read")
                    break
                pos += 9 + rlen
        yield from self._flush_loose(loose)

    def _flush_loose(self, loose: dict) -> Iterator[RawBatch]:
        for cid, rows in list(loose.items()):
            g = self.local.get(cid)
            if g is None or not rows:
                continue
            bodies = [r[0] for r in rows]
            lens = np.fromiter((len(b) - 22 for b in bodies), np.int64, count=len(bodies))
            data = b"".join(bytes(memoryview(b)[22:]) for b in bodies)
            offs = np.zeros(len(rows), np.int64)
            np.cumsum(lens[:-1], out=offs[1:])
            b = self._emit(g, np.frombuffer(data, np.uint8), offs, lens,
                           np.array([r[1] for r in rows], np.int64), np.array([r[2] for r in rows], np.int64))
            if b is not None:
                yield b
        loose.clear()


def _message_index(index: bytes) -> dict[int, np.ndarray] | None:
    """Channel id → message record offsets from the Message Index records after a chunk
    (None when there are none or they do not parse)."""
    out: dict[int, list] = {}
    pos, end = 0, len(index)
    while pos + 9 <= end:
        op = index[pos]
        rlen = _U64.unpack_from(index, pos + 1)[0]
        if op != OP_MESSAGE_INDEX:
            break
        if pos + 9 + rlen > end or rlen < 6:
            return None
        cid, n = struct.unpack_from("<HI", index, pos + 9)
        if n % 16 or 6 + n > rlen:
            return None
        pairs = np.frombuffer(index, dtype="<u8", count=n // 8, offset=pos + 15).reshape(-1, 2)
        out.setdefault(cid, []).append(pairs[:, 1].astype(np.int64))
        pos += 9 + rlen
    if not out:
        return None
    return {cid: np.concatenate(v) if len(v) > 1 else v[0] for cid, v in out.items()}


def _prefetch(fp: Path, indexes: list) -> Iterator:
    """(chunk index, (records, message index bytes) or the exception), loading a few ahead."""
    if not indexes:
        return
    arenas = _Arenas()

    def job(ci):
        return _load(fp, ci.chunk_start_offset, ci.chunk_length, ci.message_index_length, arenas)
    with ThreadPoolExecutor(1, thread_name_prefix="mcap-read") as pool:
        futures = [pool.submit(job, ci) for ci in indexes[:PREFETCH]]
        for i, ci in enumerate(indexes):
            fut = futures[i]
            futures[i] = None
            if i + PREFETCH < len(indexes):
                futures.append(pool.submit(job, indexes[i + PREFETCH]))
            try:
                yield ci, fut.result()
            except Exception as e:
                yield ci, e


def _short(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    text = s[0] if s else ""
    return f"{type(e).__name__}: {text}"[:200] if text else type(e).__name__

