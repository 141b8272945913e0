"""Reading ROS 2 bags: MCAP files and rosbag2 directories (``metadata.yaml`` + ``.mcap``).

Messages are decoded from the schemas embedded in the file (``mcap-ros2-support``), so no ROS
installation is needed. Reading goes chunk by chunk through the summary's chunk index (memory
stays bounded by one chunk); a chunk whose CRC does not match or that does not decompress is
skipped with a warning and reading goes on; a file without summary (e.g. truncated) is read as
a stream up to the last whole record. Problems are reported per channel, once.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mcap.data_stream import ReadDataStream
from mcap.reader import SeekingReader
from mcap.records import Channel, Chunk, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap_ros2.decoder import DecoderFactory

from ..cdr.fast import fast_decoder_for

__all__ = ["McapSource", "SourceMessage", "BagError"]


class BagError(ValueError):
    """The input is not a readable bag (message names the path and the problem)."""


@dataclass
class SourceMessage:
    """One message: its topic and type, log/publish time (ns), the decoded message, or
    ``error`` (why it could not be decoded) with ``msg`` None."""

    topic: str
    type_name: str
    log_time: int
    publish_time: int
    msg: object
    error: str | None = None


def bag_files(path: str | os.PathLike) -> list[Path]:
    """The ``.mcap`` files of a bag: the file itself, or a rosbag2 directory's files in the
    order of its ``metadata.yaml`` (all ``*.mcap`` sorted by name without one).

    Raises:
        FileNotFoundError: no such path. BagError: not an MCAP file/bag directory.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or directory")
    if p.is_dir():
        meta = p / "metadata.yaml"
        files: list[Path] = []
        if meta.exists():
            import yaml

            try:
                info = yaml.safe_load(meta.read_text()) or {}
                bag = info.get("rosbag2_bagfile_information", info)
                storage = bag.get("storage_identifier", "mcap")
                if storage and storage not in ("mcap",):
                    raise BagError(f"{p}: rosbag2 storage {storage!r} is not supported (mcap and sqlite3 are)")
                files = [p / f for f in bag.get("relative_file_paths", [])]
            except yaml.YAMLError as e:
                raise BagError(f"{meta}: unreadable metadata.yaml: {e}") from None
        if not files:
            files = sorted(p.glob("*.mcap"))
        if not files:
            raise BagError(f"{p}: directory holds no .mcap files")
        missing = [f for f in files if not f.exists()]
        if missing:
            raise BagError(f"{p}: metadata.yaml lists missing files: {', '.join(str(m.name) for m in missing)}")
        return files
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic[:5] != b"\x89MCAP":
        raise BagError(f"{p}: not an MCAP file (starts with {magic!r})")
    return [p]


class McapSource:
    """Streams decoded messages from one bag (file or rosbag2 directory).

    Args:
        path: MCAP file or rosbag2 directory.
        warn: called once per problem with a one-line message naming the file.

    Raises:
        FileNotFoundError, BagError: see :func:`bag_files`.
    """

    def __init__(self, path: str | os.PathLike, warn: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.files = bag_files(path)
        self.warn = warn or (lambda s: None)
        self.damaged = False  # a chunk or the file tail could not be read
        self._factory = DecoderFactory()
        self.profile = ""
        self.total_messages: int | None = None
        self.start_time: int | None = None
        self.end_time: int | None = None
        total = 0
        for fp in self.files:
            try:
                with open(fp, "rb") as f:
                    r = SeekingReader(f)
                    self.profile = r.get_header().profile or self.profile
                    s = r.get_summary()
                    if s is not None and s.statistics is not None:
                        total += s.statistics.message_count
                        st = s.statistics
                        if st.message_count:
                            self.start_time = st.message_start_time if self.start_time is None else min(self.start_time, st.message_start_time)
                            self.end_time = st.message_end_time if self.end_time is None else max(self.end_time, st.message_end_time)
                    else:
                        total = -1 if total >= 0 else total
            except Exception:
                total = -1
        self.total_messages = total if total >= 0 else None
        if self.profile == "ros1":
            self.warn(f"{self.path}: MCAP profile 'ros1' (a ROS 1 bag); its messages cannot be decoded as ROS 2 CDR")

    # -- decoding ---------------------------------------------------------------------------

    def _decoder(self, cache: dict, schema: Schema | None, channel: Channel):
        key = channel.id
        if key in cache:
            return cache[key]
        dec, err = None, None
        if channel.message_encoding != "cdr":
            err = f"message encoding {channel.message_encoding!r} is not ROS 2 CDR"
        elif schema is None:
            err = "channel has no schema"
        elif schema.encoding not in ("ros2msg", "ros2idl"):
            err = f"schema encoding {schema.encoding!r} is not supported (expected ros2msg)"
        else:
            try:
                with contextlib.redirect_stderr(io.StringIO()):  # the parser prints its errors too
                    dec = self._factory.decoder_for(channel.message_encoding, schema)
                fast = fast_decoder_for(schema.name, schema.data.decode("utf-8", "replace")) \
                    if dec is not None and schema.encoding == "ros2msg" else None
                if fast is not None:
                    dec = _with_fast_path(fast, dec)
                if dec is None:
                    err = f"no decoder for schema encoding {schema.encoding!r}"
            except Exception as e:
                err = f"cannot parse schema {schema.name!r}: {_short(e)}"
        cache[key] = (dec, err)
        return cache[key]

    def messages(self, *, topic_filter: Callable[[str], bool] | None = None,
                 start_ns: int | None = None, end_ns: int | None = None) -> Iterator[SourceMessage]:
        """Every message in file order (then chunk order), decoded, filtered by topic and by
        log time in ``[start_ns, end_ns]``."""
        for fp in self.files:
            yield from self._file_messages(fp, topic_filter, start_ns, end_ns)

    def _file_messages(self, fp: Path, topic_filter, start_ns, end_ns) -> Iterator[SourceMessage]:
        cache: dict = {}
        schemas: dict[int, Schema] = {}
        channels: dict[int, Channel] = {}

        def emit(rec: Message) -> SourceMessage | None:
            ch = channels.get(rec.channel_id)
            if ch is None:
                return None
            if topic_filter is not None and not topic_filter(ch.topic):
                return None
            if start_ns is not None and rec.log_time < start_ns:
                return None
            if end_ns is not None and rec.log_time > end_ns:
                return None
            schema = schemas.get(ch.schema_id)
            type_name = schema.name if schema is not None else "?"
            dec, err = self._decoder(cache, schema, ch)
            if dec is None:
                return SourceMessage(ch.topic, type_name, rec.log_time, rec.publish_time, None, err)
            try:
                msg = dec(rec.data)
            except Exception as e:
                return SourceMessage(ch.topic, type_name, rec.log_time, rec.publish_time, None,
                                     f"message does not decode: {_short(e)}")
            return SourceMessage(ch.topic, type_name, rec.log_time, rec.publish_time, msg)

        with open(fp, "rb") as f:
            summary = None
            try:
                summary = SeekingReader(f).get_summary()
            except Exception:
                summary = None
            if summary is not None and summary.chunk_indexes:
                schemas.update(summary.schemas)
                channels.update(summary.channels)
                wanted = [ci for ci in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
                          if not (start_ns is not None and ci.message_end_time < start_ns)
                          and not (end_ns is not None and ci.message_start_time > end_ns)]
                for ci, loaded in _prefetch(fp, wanted):
                    try:
                        if isinstance(loaded, BaseException):
                            raise loaded
                        records = breakup_chunk(loaded, validate_crc=False)
                    except Exception as e:
                        self.damaged = True
                        self.warn(f"{fp}: chunk at byte {ci.chunk_start_offset} (log time "
                                  f"{ci.message_start_time}..{ci.message_end_time}) is unreadable "
                                  f"({_short(e)}); its messages were skipped")
                        continue
                    for rec in records:
                        if isinstance(rec, Schema):
                            schemas.setdefault(rec.id, rec)
                        elif isinstance(rec, Channel):
                            channels.setdefault(rec.id, rec)
                        elif isinstance(rec, Message):
                            m = emit(rec)
                            if m is not None:
                                yield m
                return
            # No usable summary: read the file as a stream up to the first damaged record.
            f.seek(0)
            try:
                for rec in StreamReader(f, skip_magic=False, validate_crcs=True).records:
                    if isinstance(rec, Schema):
                        schemas[rec.id] = rec
                    elif isinstance(rec, Channel):
                        channels[rec.id] = rec
                    elif isinstance(rec, Message):
                        m = emit(rec)
                        if m is not None:
                            yield m
            except Exception as e:
                self.damaged = True
                self.warn(f"{fp}: truncated or corrupt at byte {f.tell()} ({_short(e)}); "
                          "everything before it was converted")


PREFETCH = 3  # chunks read ahead


def _load_chunk(fp: Path, offset: int) -> Chunk:
    """Read one chunk record, decompress it and check its CRC (runs in a helper thread: the
    file read, decompression and CRC release the GIL). Returns an uncompressed Chunk.

    Raises:
        McapError and friends from the mcap library, or ValueError on a CRC mismatch.
    """
    with open(fp, "rb") as f:
        f.seek(offset + 1 + 8, io.SEEK_SET)
        chunk = Chunk.read(ReadDataStream(f))
    if chunk.compression == "zstd":
        import zstandard
        data = zstandard.decompress(chunk.data, chunk.uncompressed_size)
    elif chunk.compression == "lz4":
        import lz4.frame
        data = lz4.frame.decompress(chunk.data)
    elif chunk.compression == "":
        data = chunk.data
    else:
        raise ValueError(f"unsupported chunk compression {chunk.compression!r}")
    if chunk.uncompressed_crc != 0:
        crc = zlib.crc32(data)
        if crc != chunk.uncompressed_crc:
            raise ValueError(f"CRC mismatch (expected {chunk.uncompressed_crc:#010x}, got {crc:#010x})")
    return dataclasses.replace(chunk, data=data, compression="", uncompressed_crc=0)


def _prefetch(fp: Path, indexes: list) -> Iterator:
    """(chunk index, loaded Chunk or the exception) in order, loading a few chunks ahead."""
    if not indexes:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="mcap-read") as pool:
        futures = [pool.submit(_load_chunk, fp, ci.chunk_start_offset) for ci in indexes[:PREFETCH]]
        for i, ci in enumerate(indexes):
            fut = futures[i]
            futures[i] = None
            if i + PREFETCH < len(indexes):
                futures.append(pool.submit(_load_chunk, fp, indexes[i + PREFETCH].chunk_start_offset))
            try:
                yield ci, fut.result()
            except Exception as e:
                yield ci, e


def _with_fast_path(fast, generic):
    """A decoder: the fast path (``rerun_ros.cdr.fast``), the generic decoder for what it does
    not handle."""

    def dec(data):
        msg = fast(data)
        return generic(data) if msg is None else msg

    return dec


def _short(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    text = s[0] if s else ""
    return f"{type(e).__name__}: {text}"[:200] if text else type(e).__name__
