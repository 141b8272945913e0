"""Writing Rerun ``.rrd`` files (format as read by Rerun 0.41; see ``docs/rrd-format.md``).

Layout: a 12-byte stream header (``RRF2``, version 0.41.0, compression + protobuf options), a
SetStoreInfo message, one ArrowMsg per chunk (an Arrow IPC stream: LZ4 block-compressed as a
whole, or with its buffers zstd-compressed inside the stream, Arrow's own IPC body compression;
see :data:`CODECS`; small chunks are LZ4 blocks in both), and on
:meth:`RrdWriter.close` an End message holding the footer (chunk manifest) followed by a 32-byte
trailer. Written append-only and flushed chunk by chunk, so a writer that dies leaves a file that
loads up to its last whole chunk (``rerun-ros`` and the official viewer read files without footer;
``rerun rrd optimize`` or :func:`rerun_ros.rrd.reader.rebuild_footer` adds one).
"""
from __future__ import annotations

import errno
import os
import re
import struct
import threading
import queue
from pathlib import Path
from typing import BinaryIO

import lz4.block
import pyarrow as pa
import xxhash

from . import wire as P
from ..model import tuid
from ..model.chunk import Chunk
from .manifest import ManifestBuilder

__all__ = ["RrdWriter", "RRD_VERSION", "CODECS", "codec_of", "encode_chunk_payload"]

#: How chunk payloads are compressed (``RrdWriter(compress=...)``, ``rerun-ros convert --compression``):
#:
#: - ``"lz4"``: the whole IPC stream LZ4 block-compressed, the ArrowMsg saying ``COMPRESSION_LZ4``
#:   (what Rerun's SDKs write; the cheapest to encode: live streams and recordings use it).
#: - ``"zstd"``: each Arrow buffer zstd-compressed (level :data:`ZSTD_LEVEL`) inside the IPC
#:   stream (Arrow IPC ``BodyCompression``, format 1.0+), the ArrowMsg ``COMPRESSION_NONE``;
#:   chunks under :data:`ZSTD_MIN_BYTES` are LZ4 blocks as with ``"lz4"``.
#:   Read by Rerun 0.41 (``rerun rrd verify``, ``RrdReader``, the viewer) and by pyarrow. The
#:   default of conversions: the 10x mix of bench/convert.py 218 MB with LZ4 -> 134 MB (the
#:   official converter's 157 MB) for ~10 % more CPU.
#: - ``None``: uncompressed.
CODECS = ("zstd", "lz4", None)
#: zstd level of the ``"zstd"`` codec: on the 10x mix level 1 gave 157.5 MB at +7 % CPU over
#: LZ4, level 2 134.0 MB at +11 %, level 3 134.8 MB at +12-17 % (bench/convert.py, docs/parallel.md)
ZSTD_LEVEL = 2


def codec_of(compress) -> str | None:
    """The codec a ``compress`` argument asks for: ``True`` → ``"lz4"`` (the historical
    meaning), ``False``/``None``/``"none"`` → ``None``, ``"lz4"``/``"zstd"`` as they are
    (``"zstd"`` → ``"lz4"`` where this pyarrow lacks the zstd codec).

    Raises:
        ValueError: any other value.
    """
    if compress is True:
        return "lz4"
    if compress is False or compress is None or compress == "none":
        return None
    if compress == "zstd":  # (a pyarrow built without zstd, e.g. some system packages: LZ4)
        return "zstd" if pa.Codec.is_available("zstd") else "lz4"
    if compress == "lz4":
        return compress
    raise ValueError(f"unknown compression {compress!r} (zstd, lz4 or none)")

RRD_VERSION = (0, 41, 0, 0)
MAGIC = b"RRF2"
FOOTER_MAGIC = b"RRF2FOOT"
FOOTER_XXH32_SEED = 7850921
MSG_HEADER = struct.Struct("<QQ")
TRAILER = struct.Struct("<QQI8sI")


def _version_bits() -> int:
    return int.from_bytes(bytes(RRD_VERSION), "little")


def stream_header(compress: bool) -> bytes:
    return MAGIC + bytes(RRD_VERSION) + bytes([1 if compress else 0, 2, 0, 0])


def encode_chunk_payload(chunk: Chunk, compress: bool) -> tuple[bytes | pa.Buffer, int]:
    """Serialize a chunk to an Arrow IPC stream, LZ4-block-compressed if asked.

    Returns (payload, uncompressed size in bytes). Releases the GIL for the heavy parts, so
    several chunks can be encoded in parallel threads. For a chunk under ``CACHE_BYTES`` the
    IPC stream and its LZ4 form are kept on the chunk (:attr:`Chunk.encoded`, with the chunk id
    that the stream's schema metadata holds), so the sinks of a recording (the bridge's file,
    viewer stream and gRPC proxy) serialize and compress it once: per-chunk costs dominate
    small chunks.
    """
    if chunk.nbytes >= CACHE_BYTES:
        return _compressed(_ipc_stream(chunk), compress)
    # sinks' threads are woken by the same chunk at once: the second waits for the first's work
    with _ENCODE_LOCKS[hash(chunk.id) % len(_ENCODE_LOCKS)]:
        got = chunk.encoded
        if got is None or got[0] != chunk.id:
            got = chunk.encoded = [chunk.id, _ipc_stream(chunk), None]
        if not compress:
            return got[1], got[1].size
        if got[2] is None:
            got[2] = _compressed(got[1], True)
        return got[2]


CACHE_BYTES = 1 << 20  # chunks smaller than this keep their payloads for the other sinks
_ENCODE_LOCKS = [threading.Lock() for _ in range(16)]


def _ipc_stream(chunk: Chunk) -> pa.Buffer:
    return chunk.ipc_stream()


def _compressed(buf: pa.Buffer, compress: bool) -> tuple[bytes | pa.Buffer, int]:
    if compress and _worth_compressing(buf):
        return lz4.block.compress(buf, store_size=False), buf.size
    return buf, buf.size


class DirectPayload:
    """A chunk's uncompressed IPC stream, written straight from the chunk's Arrow buffers to
    the file (no intermediate copy): for big payloads that LZ4 would not shrink (camera
    images, float point clouds). ``size`` is the stream's exact length."""

    __slots__ = ("batch", "size")

    def __init__(self, batch: pa.RecordBatch):
        self.batch = batch
        mock = pa.MockOutputStream()
        with pa.ipc.new_stream(mock, batch.schema) as w:
            w.write_batch(batch)
        self.size = mock.size()

    def write_to(self, f) -> None:
        sink = pa.PythonFile(f, mode="w")
        with pa.ipc.new_stream(sink, self.batch.schema) as w:
            w.write_batch(self.batch)


DIRECT_BYTES = 1 << 20  # payloads at least this big that do not compress are written directly


def plan_chunk_payload(chunk: Chunk, codec: str | None):
    """(payload, size at the RRD level) for the file writer, ``codec`` one of :data:`CODECS`: a
    :class:`DirectPayload` for a big chunk that would not shrink by 10 % (estimated with LZ4,
    :func:`_batch_worth_compressing`), an IPC stream with zstd-compressed buffers for
    ``"zstd"``, else as :func:`encode_chunk_payload`."""
    if chunk.nbytes >= DIRECT_BYTES:
        batch = chunk.to_record_batch()
        if codec is None or not _batch_worth_compressing(batch):
            d = DirectPayload(batch)
            return d, d.size
        if codec == "zstd":
            return _zstd_stream(batch)
    elif codec == "zstd" and chunk.nbytes >= ZSTD_MIN_BYTES:
        return _zstd_stream(chunk.to_record_batch())
    return encode_chunk_payload(chunk, codec is not None)


#: chunks smaller than this are LZ4 blocks under the ``"zstd"`` codec too: LZ4 over the whole
#: stream finds what columns repeat of each other (a joint state's names in its message struct and
#: in its series names) and compresses the schema message, which zstd per buffer cannot: a
#: 128 KB chunk of 590 joint states is 42 KB as one LZ4 block, 50 KB with zstd buffers (at any
#: level); a static chunk of 2.6 KB 1.4 KB vs 2.7 KB. From 256 KiB on, zstd wins (the 5-minute
#: mix: 13.2 MB at 64 KiB or 256 KiB, 15.0 MB at 1 MiB, 21.8 MB all LZ4)
ZSTD_MIN_BYTES = 256 << 10
_ZSTD_OPTIONS: list = []


def _zstd_stream(batch: pa.RecordBatch) -> tuple[pa.Buffer, int]:
    """The batch as an IPC stream whose buffers are zstd-compressed (in this thread: the
    conversion's workers are the parallelism)."""
    if not _ZSTD_OPTIONS:
        _ZSTD_OPTIONS.append(pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", ZSTD_LEVEL), use_threads=False))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=_ZSTD_OPTIONS[0]) as w:
        w.write_batch(batch)
    buf = sink.getvalue()
    return buf, buf.size


def _batch_worth_compressing(batch: pa.RecordBatch) -> bool:
    """Whether LZ4 would shrink a big chunk by at least 10%, estimated buffer by buffer: each
    buffer of 64 KiB or more by a sample from its middle, the small ones (offsets, validity,
    times) counted as halving. A chunk of three camera images beside small columns is not worth
    it (samples spread over the whole payload said it was: 0.35 s of LZ4 on the big bag for a
    0.3 % larger file)."""
    total = saved = 0.0
    seen = set()
    for col in batch.columns:
        for b in _buffers(col):
            key = (b.address, b.size)
            if key in seen:
                continue
            seen.add(key)
            total += b.size
            if b.size < SAMPLE_BYTES:
                saved += b.size * 0.5
                continue
            mid = (b.size - SAMPLE_BYTES // 4) // 2
            sample = memoryview(b)[mid:mid + SAMPLE_BYTES // 4]
            saved += b.size * max(0.0, 1.0 - len(lz4.block.compress(sample, store_size=False)) / len(sample))
    return total > 0 and saved >= MIN_SAVING * total


def _buffers(arr: pa.Array):
    for b in arr.buffers():
        if b is not None:
            yield b


SAMPLE_BYTES = 64 << 10
MIN_SAVING = 0.10


def _worth_compressing(buf: pa.Buffer) -> bool:
    """True unless samples spread over the payload shrink by less than 10% together under LZ4
    (raw sensor data such as camera images and float point clouds barely compresses; skipping
    it halves conversion time and the file grows only by those few percent). Four samples, not
    one: a chunk of small messages mixes columns that compress 5x (names, times, structs) with
    noisy float columns, and one sample from its middle stored 1 MB chunks uncompressed that
    LZ4 shrinks 3.5x."""
    if buf.size <= 4 * SAMPLE_BYTES:
        return True
    view = memoryview(buf)
    k = SAMPLE_BYTES // 4
    step = (buf.size - k) // 3
    sample = b"".join(view[i * step:i * step + k] for i in range(4))
    return len(lz4.block.compress(sample, store_size=False)) < (1.0 - MIN_SAVING) * len(sample)


def encode_arrow_msg(chunk: Chunk, store_id: "P.StoreId", compress: bool = True) -> list:
    """One whole ArrowMsg message for a chunk as it appears in an RRD stream, as a list of
    byte buffers to send in order (16-byte header, protobuf fields, then the payload framed by
    hand so its bytes are never copied into a protobuf string). Used for network streams."""
    payload, raw = encode_chunk_payload(chunk, compress)
    compressed = compress and not (isinstance(payload, pa.Buffer) and payload.size == raw)
    head = P.arrow_msg_head(store_id, P.COMPRESSION_LZ4 if compressed else P.COMPRESSION_NONE, raw, chunk.id,
                            chunk.is_static)
    size = payload.size if isinstance(payload, pa.Buffer) else len(payload)
    field5 = b"\x2a" + _varint(size)
    return [MSG_HEADER.pack(P.KIND_ARROW_MSG, len(head) + len(field5) + size) + head + field5, payload]


def store_info_msg(store_id: "P.StoreId") -> bytes:
    """The SetStoreInfo message (header + body) announcing a store written by rerun_ros."""
    body = P.set_store_info(store_id, tuid.new_tuid(), b"rerun_ros", _version_bits())
    return MSG_HEADER.pack(P.KIND_SET_STORE_INFO, len(body)) + body


def activation_msg(blueprint_id: "P.StoreId", make_active: bool = True, make_default: bool = True) -> bytes:
    """The body of a BlueprintActivationCommand: the blueprint store ``blueprint_id``, fully sent,
    becomes the viewer's active (and default) layout for its application."""
    return P.activation(blueprint_id, make_active, make_default)


def make_store_id(application_id: str, recording_id: str | None = None,
                  kind: int = P.STORE_KIND_RECORDING) -> "P.StoreId":
    """A store id (:class:`rerun_ros.rrd.wire.StoreId`): a random recording id when None; the
    application id made valid for Rerun 0.41 (:func:`sanitize_application_id`)."""
    return P.StoreId(kind, recording_id or tuid.tuid_bytes(*tuid.new_tuid()).hex(),
                     sanitize_application_id(application_id))


class RrdWriter:
    """Append-only writer of one recording store to an ``.rrd`` file (or a binary stream).

    Args:
        path: output file (``str``/``Path``) or an open binary file object.
        application_id: Rerun application id (shown in the viewer).
        recording_id: recording id; a random one if None.
        compress: how chunk payloads are compressed (:data:`CODECS`; see :func:`codec_of`):
            ``True``/``"lz4"`` (default) LZ4 blocks, ``"zstd"`` zstd inside the Arrow IPC stream,
            ``False`` none. Payloads that would shrink by less than 10% (see
            ``_worth_compressing``) are stored uncompressed.
        threads: 0 encodes and writes in the caller's thread; 1 hands chunks to a background
            thread that encodes, compresses and writes them (those steps release the GIL, so
            they overlap with the caller's work); more: that many threads encode and compress
            chunks side by side, one writes them. Output order always equals the order of
            :meth:`write_chunk` calls; at most ``queue_bytes`` of chunks wait (then
            ``write_chunk`` blocks), so memory stays bounded.
        sync_bytes: for long live recordings: after each ``sync_bytes`` written, a
            background thread waits for the data to reach the disk (``fdatasync``) and tells
            the kernel it will not read those pages again (``POSIX_FADV_DONTNEED``), while
            writing goes on. The recording then does not fill the page cache (which evicts
            the robot's own cached files), the same few MiB of cache are reused, and a crash
            of the machine loses at most about ``sync_bytes``. 0 (default) leaves caching to
            the kernel. Only with a path (not a file object); ignored where the OS lacks the
            calls.
        direct_io: write the file with ``O_DIRECT`` through an aligned buffer
            (:class:`~rerun_ros.rrd.direct.DirectFile`): no copy into the page cache, for live
            recordings nobody reads back while they run; falls back to ordinary writes where the
            filesystem refuses it. Only with a path.

    Raises:
        FileNotFoundError / PermissionError: the output cannot be created (message names it).
    """

    def __init__(self, path: str | os.PathLike | BinaryIO, *, application_id: str = "rerun_ros",
                 recording_id: str | None = None, compress: bool | str = True, threads: int = 0,
                 store_kind: int = P.STORE_KIND_RECORDING, queue_bytes: int = 64 << 20,
                 sync_bytes: int = 0, direct_io: bool = False):
        self.direct_io = False
        if isinstance(path, (str, os.PathLike)):
            p = Path(path)
            if not p.parent.exists():
                raise FileNotFoundError(f"{p}: output directory {p.parent} does not exist")
            self._f: BinaryIO | None = None
            if direct_io:
                from .direct import DirectFile
                try:
                    self._f = DirectFile(p)
                    self.direct_io = True
                except OSError as e:
                    if e.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOSPC):
                        raise
                    self._f = None  # (a filesystem without O_DIRECT, e.g. tmpfs: ordinary writes)
            if self._f is None:
                self._f = open(p, "wb")
            self._own = True
            self.path: Path | None = p
        else:
            self._f = path
            self._own = False
            self.path = None
        self.codec = codec_of(compress)
        #: some payloads are LZ4 blocks (the stream header's flag; each ArrowMsg says which)
        self.compress = self.codec is not None
        self.store_id = make_store_id(application_id, recording_id, store_kind)
        self.manifest = ManifestBuilder()
        self._offset = 0
        self._lock = threading.Lock()
        self._closed = False
        self._queue: queue.Queue | None = None
        self._queued_bytes = 0
        self._queue_bytes = queue_bytes
        self._cv = threading.Condition()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.num_chunks = 0
        self.bytes_written = 0
        #: called with a one-line message when writing fails (the error is also raised)
        self.on_error = None
        self.footer_written = False
        self._good: int | None = None  # file offset after the last whole chunk
        self._sync_bytes = sync_bytes if (self._own and hasattr(os, "posix_fadvise")) else 0
        self._synced = 0
        self._sync_asked = 0
        self._syncer: threading.Thread | None = None
        self._sync_cv = threading.Condition()
        self._sync_stop = False
        self._write(stream_header(self.compress))
        self._write(store_info_msg(self.store_id))
        self._f.flush()
        self._good = self._offset
        self._pool = None
        if threads > 1:  # chunks encoded (IPC + LZ4, both release the GIL) side by side, written in order
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rrd-encode")
        if threads > 0:
            self.start_thread()

    def start_thread(self) -> None:
        """From now on encode, compress and write chunks in a background thread, as with
        ``threads=1`` (the chunks written so far stay first). A conversion that runs in one
        process on a machine with more cores calls it: zstd then runs beside the decoding and
        mapping (the 5-minute mix of bench/convert.py 0.46-0.52 -> 0.40-0.44 s wall)."""
        with self._lock:
            if self._queue is not None or self._closed:
                return
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._run, name="rrd-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            item = self._queue.get()
            chunk, fut = item if isinstance(item, tuple) else (item, None)
            try:
                if chunk is None:
                    return
                if self._error is None:
                    payload, raw = fut.result() if fut is not None else plan_chunk_payload(chunk, self.codec)
                    self._emit_safely(chunk, payload, raw)
                    self._maybe_sync()
            except BaseException as e:  # reported to the caller on its next call
                if self._error is None:
                    self._error = e
            finally:
                if chunk is not None:
                    with self._cv:
                        self._queued_bytes -= chunk.nbytes
                        self._cv.notify_all()
                self._queue.task_done()

    def _maybe_sync(self) -> None:
        """Ask the sync thread to sync what was written, every ``sync_bytes``."""
        if not self._sync_bytes or self._offset - self._sync_asked < self._sync_bytes:
            return
        try:
            self._f.flush()  # (to the kernel: what the sync covers)
        except OSError:
            return  # (the next write meets the error and handles it)
        with self._sync_cv:
            self._sync_asked = self._offset
            if self._syncer is None:
                self._syncer = threading.Thread(target=self._sync_loop, name="rrd-sync", daemon=True)
                self._syncer.start()
            self._sync_cv.notify()

    def _sync_loop(self) -> None:
        fd = self._f.fileno()
        while True:
            with self._sync_cv:
                while not self._sync_stop and self._synced >= self._sync_asked:
                    self._sync_cv.wait()
                if self._sync_stop:
                    return
                end = self._sync_asked
            try:
                self._drop_written_pages(fd, end)
            except OSError as e:  # reported to the writer on its next call
                if self._error is None:
                    self._error = e
                return

    def _stop_syncer(self) -> None:
        if self._syncer is not None:
            with self._sync_cv:
                self._sync_stop = True
                self._sync_cv.notify()
            self._syncer.join()
            self._syncer = None

    def _drop_written_pages(self, fd: int, end: int) -> None:
        """fdatasync, then drop the written (now clean) pages up to ``end`` from the page cache."""
        os.fdatasync(fd)
        start = self._synced & ~0xFFF
        os.posix_fadvise(fd, start, (end & ~0xFFF) - start, os.POSIX_FADV_DONTNEED)
        self._synced = end

    def _raise_error(self) -> None:
        if getattr(self, "_salvaged", False):  # the file was closed after a failed write: for good
            e = self._first_error
            raise OSError(f"{self.path or 'rrd stream'}: writing failed: {e.strerror if isinstance(e, OSError) and e.strerror else e}")
        if self._error is not None:
            e, self._error = self._error, None
            raise OSError(f"{self.path or 'rrd stream'}: writing failed: {e}") from e

    # -- low level --------------------------------------------------------------------------

    def _write(self, data) -> None:
        self._f.write(data)
        n = len(data) if not isinstance(data, pa.Buffer) else data.size
        self._offset += n
        self.bytes_written = self._offset

    def _write_msg(self, kind: int, body) -> int:
        """Write a message; returns the offset of its body."""
        size = body.size if isinstance(body, pa.Buffer) else len(body)
        self._write(MSG_HEADER.pack(kind, size))
        off = self._offset
        self._write(body)
        return off

    # -- chunks -----------------------------------------------------------------------------

    def write_chunk(self, chunk: Chunk) -> None:
        """Append one chunk (encoded now, or in a worker thread when ``threads`` > 0).

        Raises:
            ValueError: the writer is closed.
        """
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path or 'rrd stream'}: writer is closed")
            self._raise_error()
            if self._queue is None:
                payload, raw = plan_chunk_payload(chunk, self.codec)
                self._emit_safely(chunk, payload, raw)
                self._maybe_sync()
                return
            with self._cv:
                while self._queued_bytes > self._queue_bytes and self._error is None:
                    self._cv.wait(0.5)
                self._queued_bytes += chunk.nbytes
            fut = None
            if self._pool is not None:
                try:
                    fut = self._pool.submit(plan_chunk_payload, chunk, self.codec)
                except RuntimeError:  # (interpreter exit: the pool takes no more; the writer thread encodes)
                    fut = None
            self._queue.put((chunk, fut) if fut is not None else chunk)

    def _emit_safely(self, chunk: Chunk, payload, raw_size: int) -> None:
        """Write one chunk; when the write fails (disk full, the file or its directory gone),
        cut the file back to its last whole chunk, try to end it with a footer, and fail every
        later write (raising, so the caller counts what was not written)."""
        try:
            self._emit(chunk, payload, raw_size)
            self._f.flush()
            if self._own and os.fstat(self._f.fileno()).st_nlink == 0:
                # writes to an unlinked file succeed and vanish at close: say it now
                raise OSError(errno.ENOENT, "the file was removed (its directory deleted?)")
            self._good = self._offset
        except OSError as e:
            self._error = e
            self._first_error = e
            # the chunk being written (its manifest entry may already be there) did not make it
            ents = self.manifest.entries
            while ents and ents[-1].byte_offset + ents[-1].byte_size > self._good:
                ents.pop()
                self.num_chunks -= 1
            self._salvage()
            if self.on_error is not None:
                self.on_error(f"{self.path or 'rrd stream'}: writing failed ({e.strerror or e}); the file keeps "
                              f"the {self.num_chunks} whole chunks written before")
            raise

    def _salvage(self) -> None:
        """After a failed write: the file cut to its last whole chunk, then the footer if it fits."""
        self._stop_syncer()
        if not self._own:
            return
        try:  # first the broken buffered file: its pending bytes must not land after the footer
            self._f.close()
        except OSError:
            pass
        self._f = open(os.devnull, "wb")
        self._salvaged = True
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError:
            return  # the file is gone (its directory removed): nothing left to keep
        try:
            os.ftruncate(fd, self._good)
            with os.fdopen(fd, "r+b", closefd=False) as f:
                saved, self._f = self._f, f
                end = self._good
                try:
                    # the footer where there is room for it: when the disk is full, the last
                    # chunks give way to it (a file with a footer opens everywhere)
                    while True:
                        f.seek(end)
                        self._offset = end
                        try:
                            self._write_footer()
                            f.flush()
                            self.footer_written = True
                            break
                        except OSError:
                            os.ftruncate(fd, end)
                            if not self.manifest.entries:
                                break
                            last = self.manifest.entries.pop()
                            end = last.byte_offset - MSG_HEADER.size
                            os.ftruncate(fd, end)
                            self.num_chunks -= 1
                finally:
                    self._f = saved
        finally:
            os.close(fd)

    def _emit(self, chunk: Chunk, payload, raw_size: int) -> None:
        cid = tuid.tuid_bytes(*chunk.id)
        direct = isinstance(payload, DirectPayload)
        size = payload.size if isinstance(payload, (pa.Buffer, DirectPayload)) else len(payload)
        compressed = self.compress and not direct and not (isinstance(payload, pa.Buffer) and size == raw_size)
        # The payload is the largest field: encode the rest, then append field 5 by hand so the
        # payload bytes are written once, not copied into a protobuf string.
        head = P.arrow_msg_head(self.store_id, P.COMPRESSION_LZ4 if compressed else P.COMPRESSION_NONE,
                                raw_size, chunk.id, chunk.is_static)
        field5 = b"\x2a" + _varint(size)
        body_len = len(head) + len(field5) + size
        self._write(MSG_HEADER.pack(P.KIND_ARROW_MSG, body_len))
        off = self._offset
        self._write(head)
        self._write(field5)
        if direct:
            self._f.flush()
            payload.write_to(self._f)
            self._offset += size
            self.bytes_written = self._offset
        else:
            self._write(payload)
        self.manifest.add(chunk, off, body_len, raw_size, cid)
        self.num_chunks += 1

    def write_encoded(self, chunk: Chunk, body: bytes) -> None:
        """Append an ArrowMsg body taken verbatim from another ``.rrd`` (same store info is
        written; the payload is not re-encoded). ``chunk`` is its decoded form, for the manifest."""
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path or 'rrd stream'}: writer is closed")
            self._drain()
            from . import proto  # (reading a message: google.protobuf)
            m = proto.ArrowMsg.FromString(body)
            m.store_id.ParseFromString(self.store_id.encode())
            new_body = m.SerializeToString()
            self._write(MSG_HEADER.pack(P.KIND_ARROW_MSG, len(new_body)))
            off = self._offset
            self._write(new_body)
            self.manifest.add(chunk, off, len(new_body), m.uncompressed_size, tuid.tuid_bytes(*chunk.id))
            self.num_chunks += 1

    def reserve(self) -> int:
        """Flush, and return the offset where the next chunk goes: other processes may then
        write chunks there (see :meth:`adopt`, then :meth:`resume`).

        Raises:
            OSError: an earlier write failed. ValueError: the writer is closed or not a file.
        """
        with self._lock:
            if self._closed or self.path is None:
                raise ValueError(f"{self.path or 'rrd stream'}: writer is closed or not a file")
            self._drain()
            self._raise_error()
            self._f.flush()
            return self._offset

    def adopt(self, manifest: ManifestBuilder, shift: int, num_chunks: int, end: int) -> None:
        """Take into the footer chunks another process wrote into this file (their manifest,
        offsets moved by ``shift``), the file now whole up to ``end``."""
        with self._lock:
            self.manifest.extend(manifest, shift)
            self.num_chunks += num_chunks
            self._good = max(self._good or 0, end)

    def resume(self, end: int) -> None:
        """Write on from ``end`` after other processes wrote up to there (the file is cut at
        ``end``: nothing half-written stays after it)."""
        with self._lock:
            if self._closed or self.path is None:
                return
            try:
                self._f.flush()
                os.ftruncate(self._f.fileno(), end)
                self._f.seek(end)
            except OSError as e:
                self._error = self._error or e
            self._offset = end
            self.bytes_written = end
            self._good = end

    def flush(self) -> None:
        """Write every chunk still queued and flush the file.

        Raises:
            OSError: an earlier background write failed (e.g. disk full).
        """
        with self._lock:
            self._drain()
            self._f.flush()
            self._raise_error()

    def _drain(self) -> None:
        if self._queue is not None:
            self._queue.join()

    # -- close ------------------------------------------------------------------------------

    def write_activation(self, make_active: bool = True, make_default: bool = True) -> None:
        """Append a BlueprintActivationCommand for this (blueprint) store, after its chunks."""
        with self._lock:
            self._drain()
            self._write_msg(P.KIND_BLUEPRINT_ACTIVATION, activation_msg(self.store_id, make_active, make_default))

    def close(self, write_footer: bool = True) -> None:
        """Write pending chunks, then (by default) the footer with the chunk manifest; close.

        Calling it twice is harmless.
        """
        with self._lock:
            if self._closed:
                return
            self._drain()
            self._closed = True
            if self._queue is not None:
                self._queue.put(None)
                self._thread.join()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._stop_syncer()
            if getattr(self, "_salvaged", False):
                self._f.close()
                self._raise_error()
                return
            try:
                if write_footer:
                    self._write_footer()
                self._f.flush()
                self.footer_written = write_footer
                if self._sync_bytes and self._error is None:  # the tail too: nothing left cached
                    self._drop_written_pages(self._f.fileno(), self._offset)
            except OSError as e:
                self._error = self._error or e
                self._first_error = e
                self._salvage()
            if self._own:
                self._f.close()
            self._raise_error()

    def _write_footer(self) -> None:
        table = self.manifest.to_table()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as w:
            # always one record batch, even with no chunks (the 0.41 reader needs one)
            w.write_batch(table.combine_chunks().to_batches()[0] if table.num_rows else
                          pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in table.schema],
                                                     schema=table.schema))
        raw = sink.getvalue().to_pybytes()
        schema_raw, sha = ManifestBuilder.schema_bytes(self.manifest.sorbet_schema())
        if self.codec is not None:
            payload, compression = lz4.block.compress(raw, store_size=False), P.COMPRESSION_LZ4
        else:
            payload, compression = raw, P.COMPRESSION_NONE
        body = P.footer(self.store_id, schema_raw, sha, payload, compression, len(raw))
        off = self._write_msg(P.KIND_END, body)
        self._write(TRAILER.pack(off, len(body), xxhash.xxh32_intdigest(body, seed=FOOTER_XXH32_SEED),
                                 FOOTER_MAGIC, 1))

    def __enter__(self) -> "RrdWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sanitize_application_id(name: str) -> str:
    """Rerun 0.41 application ids are entry names: letters, digits, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "rerun_ros"


_varint = P.varint  # (protobuf varint; the gRPC sink frames its messages with it too)
