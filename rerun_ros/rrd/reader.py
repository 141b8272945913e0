"""Reading Rerun ``.rrd`` files: ours and the official SDK's (Rerun 0.41, ``docs/rrd-format.md``).

Two ways in:
- streaming (:meth:`RrdReader.iter_chunks`): message by message from the start, which also
  works on files without footer and on truncated files (a file cut mid-chunk loads up to its
  last whole chunk and records a warning);
- random access through the footer's chunk manifest (:attr:`RrdReader.manifest`,
  :meth:`RrdReader.read_chunk`), so a large file can be opened lazily.

Errors: :class:`RrdError` (a ``ValueError``) names the file and byte offset for a file that is
not RRD at all; damage after the header becomes a warning in :attr:`RrdReader.warnings`.
"""
from __future__ import annotations

import mmap
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import lz4.block
import pyarrow as pa
import xxhash

from . import proto as P
from ..model.chunk import Chunk
from .writer import FOOTER_MAGIC, FOOTER_XXH32_SEED, MAGIC, MSG_HEADER, TRAILER

__all__ = ["RrdReader", "RrdError", "StoreEntry", "read_chunks"]


# LZ4 block decompression into Arrow's memory pool (mimalloc in pyarrow's wheels): the chunk's
# buffers are then Arrow buffers, read zero-copy by the IPC reader; measured 2x faster than
# python-lz4 into new bytes objects on a whole-file open
_LZ4 = pa.Codec("lz4_raw")
PREFETCH_MIN_BYTES = 64 << 10  # payloads this large are decompressed ahead on a helper thread
PREFETCH_BYTES = 64 << 20  # chunks are read in windows of this many uncompressed bytes


class RrdError(ValueError):
    """The file is not a readable RRD file (message names the file and the problem)."""


@dataclass
class StoreEntry:
    """A store found in the file: kind ``recording``/``blueprint``, ids, and its source."""

    kind: str
    recording_id: str
    application_id: str
    version: tuple[int, int, int] | None = None
    source: str = ""


@dataclass
class _Msg:
    kind: int
    offset: int  # body offset
    length: int


def _store_key(sid) -> tuple[int, str, str]:
    return (sid.kind, sid.recording_id, sid.application_id.id)


class RrdReader:
    """Reader of one ``.rrd`` file.

    Args:
        path: the file.

    Raises:
        FileNotFoundError: no such file. PermissionError: unreadable.
        RrdError: the file does not start with an RRD stream header.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path}: no such file") from None
        if stat.S_ISDIR(mode):
            raise RrdError(f"{self.path}: is a directory, not an .rrd file")
        if not stat.S_ISREG(mode):  # a FIFO would block open() forever, a device is no recording
            raise RrdError(f"{self.path}: not a regular file (a FIFO or device cannot be read as a recording)")
        self._file = open(self.path, "rb")
        size = os.fstat(self._file.fileno()).st_size
        if size == 0:
            raise RrdError(f"{self.path}: empty file")
        self._buf = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        self.size = size
        head = self._buf[:4]
        if head != MAGIC:
            if head in (b"RRF0", b"RRF1", b"RRIS"):
                raise RrdError(f"{self.path}: RRD from an older Rerun version ({head!r}); "
                               "convert it with `rerun rrd migrate`")
            raise RrdError(f"{self.path}: not an .rrd file (starts with {bytes(head)!r}, expected b'RRF2')")
        self.warnings: list[str] = []
        self.stores: dict[tuple[int, str, str], StoreEntry] = {}
        self._manifest: pa.Table | None = None
        self._manifest_store: tuple | None = None
        self._read_footer()

    # -- footer -----------------------------------------------------------------------------

    @property
    def has_footer(self) -> bool:
        return self._manifest is not None

    @property
    def manifest(self) -> pa.Table | None:
        """The footer's chunk manifest (one row per chunk; columns as in ``rrd_manifest``), or
        None for a file without (a valid) footer."""
        return self._manifest

    def _read_footer(self) -> None:
        if self.size < 12 + TRAILER.size:
            return
        off, length, crc, magic, _n = TRAILER.unpack_from(self._buf, self.size - TRAILER.size)
        if magic != FOOTER_MAGIC:
            return
        if off + length > self.size - TRAILER.size:
            self.warnings.append(f"{self.path}: footer points outside the file; ignored")
            return
        body = self._buf[off:off + length]
        if xxhash.xxh32_intdigest(body, seed=FOOTER_XXH32_SEED) != crc:
            self.warnings.append(f"{self.path}: footer checksum mismatch; ignored (streaming instead)")
            return
        try:
            footer = P.RrdFooter.FromString(body)
            for m in footer.manifests:
                if m.store_id.kind != P.STORE_KIND_RECORDING and self._manifest is not None:
                    continue
                payload = m.data.payload
                if m.data.compression == P.COMPRESSION_LZ4:
                    payload = lz4.block.decompress(payload, uncompressed_size=m.data.uncompressed_size)
                table = pa.ipc.open_stream(payload).read_all()
                table.validate(full=True)
                missing = [c for c in ("chunk_entity_path", "chunk_is_static", "chunk_byte_offset",
                                       "chunk_byte_size", "chunk_num_rows") if c not in table.column_names]
                if missing:
                    raise ValueError(f"manifest lacks columns {', '.join(missing)}")
                if m.store_id.kind == P.STORE_KIND_RECORDING:
                    self._manifest = table
                    self._manifest_store = _store_key(m.store_id)
        except Exception as e:  # damaged footer: the stream is still readable
            self.warnings.append(f"{self.path}: unreadable footer ({e}); ignored")
            self._manifest = None

    # -- messages ---------------------------------------------------------------------------

    def _messages(self) -> Iterator[_Msg]:
        buf, size, pos = self._buf, self.size, 0
        while pos < size:
            if buf[pos:pos + 4] != MAGIC:
                if buf[pos:pos + 8] == FOOTER_MAGIC:
                    pos += 12
                    continue
                self.warnings.append(f"{self.path}: unexpected bytes at offset {pos}; stopped there")
                return
            if pos + 12 > size:
                self.warnings.append(f"{self.path}: truncated stream header at offset {pos}")
                return
            pos += 12
            while True:
                if pos + MSG_HEADER.size > size:
                    if pos < size:
                        self.warnings.append(f"{self.path}: truncated at offset {pos} (incomplete message "
                                             f"header); everything before it was read")
                    else:
                        self.warnings.append(f"{self.path}: no end-of-stream message (the writer did not "
                                             "close the file); all whole chunks were read")
                    return
                kind, length = MSG_HEADER.unpack_from(buf, pos)
                body = pos + MSG_HEADER.size
                if kind > 3 or body + length > size:
                    self.warnings.append(
                        f"{self.path}: truncated or corrupt message at offset {pos} (kind {kind}, "
                        f"{length} bytes, {size - body} left); everything before it was read")
                    return
                yield _Msg(kind, body, length)
                pos = body + length
                if kind == P.KIND_END:
                    if length and pos + TRAILER.size <= size and \
                            buf[pos + TRAILER.size - 12:pos + TRAILER.size - 4] == FOOTER_MAGIC:
                        pos += TRAILER.size
                    break

    def _decode_arrow(self, msg_offset: int, length: int) -> tuple[P.ArrowMsg, Chunk]:
        return decode_arrow_msg(self._buf[msg_offset:msg_offset + length])

    def iter_chunks(self, *, store: str | None = None, blueprints: bool = False) -> Iterator[Chunk]:
        """Stream every chunk of the recording store (first recording unless ``store`` names a
        recording id); ``blueprints=True`` streams blueprint stores instead.

        Payloads of ``PREFETCH_MIN_BYTES`` or more are LZ4-decompressed ahead on a helper thread
        (at most ``PREFETCH_BYTES`` uncompressed in flight) while this thread decodes the chunks
        before them, in file order. Damaged chunks are skipped with a warning in
        :attr:`warnings`; a truncated file ends the iteration after its last whole chunk.
        """
        chosen = None
        want = P.STORE_KIND_BLUEPRINT if blueprints else P.STORE_KIND_RECORDING
        window: list = []  # (offset, ArrowMsgView, payload) in file order, decoded together
        window_bytes = 0
        view = memoryview(self._buf)
        store_keys: dict[bytes, tuple] = {}

        def drain():
            nonlocal window_bytes
            big = [i for i, (_, m, _p) in enumerate(window)
                   if m.compression == P.COMPRESSION_LZ4 and m.uncompressed_size >= PREFETCH_MIN_BYTES]
            if len(big) > 1:  # decompress on two threads at once (the GIL is released meanwhile)
                half = big[1::2]
                fut = _pool().submit(_decompress_all, window, half)
                _decompress_all(window, big[0::2])
                fut.result()
            for off, m, payload in window:
                try:
                    yield finish_arrow_msg(m, payload, m.chunk_id)
                except Exception as e:
                    self.warnings.append(f"{self.path}: damaged chunk at offset {off} skipped: {e}")
            window.clear()
            window_bytes = 0

        for msg in self._messages():
            if msg.kind == P.KIND_SET_STORE_INFO:
                try:
                    info = P.SetStoreInfo.FromString(self._buf[msg.offset:msg.offset + msg.length]).info
                except Exception as e:
                    self.warnings.append(f"{self.path}: unreadable store info at offset {msg.offset}: {e}")
                    continue
                key = _store_key(info.store_id)
                bits = info.store_version.crate_version_bits
                ver = tuple(bits.to_bytes(4, "little")[:3]) if bits else None
                kind = "blueprint" if info.store_id.kind == P.STORE_KIND_BLUEPRINT else "recording"
                src = info.store_source.extra.payload.decode("utf-8", "replace") if info.store_source.HasField("extra") else ""
                self.stores.setdefault(key, StoreEntry(kind, key[1], key[2], ver, src))
            elif msg.kind == P.KIND_ARROW_MSG:
                try:
                    m = P.scan_arrow_msg(view, msg.offset, msg.offset + msg.length)
                    _check_sizes(m)
                    key = store_keys.get(m.store_id)
                    if key is None:
                        key = store_keys[m.store_id] = _store_key(P.StoreId.FromString(m.store_id))
                except Exception as e:
                    self.warnings.append(f"{self.path}: damaged chunk at offset {msg.offset} skipped: {e}")
                    continue
                if key[0] != want or (store is not None and key[1] != store):
                    continue
                if chosen is None:
                    chosen = key
                elif key != chosen and store is None:
                    continue
                if m.compression != P.COMPRESSION_LZ4:
                    m.payload = bytes(m.payload)  # chunks must not keep the file's mapping alive
                window.append((msg.offset, m, m.payload))
                window_bytes += m.uncompressed_size or len(m.payload)
                if window_bytes >= PREFETCH_BYTES:
                    yield from drain()
        yield from drain()
        view.release()

    def read_chunk(self, byte_offset: int, byte_size: int) -> Chunk:
        """Random access: decode the chunk whose ArrowMsg body is at ``byte_offset`` (from the
        manifest's ``chunk_byte_offset``/``chunk_byte_size``).

        Raises:
            RrdError: the range is outside the file or does not hold a chunk.
        """
        if byte_offset < 0 or byte_offset + byte_size > self.size:
            raise RrdError(f"{self.path}: chunk range {byte_offset}+{byte_size} outside the file")
        try:
            return self._decode_arrow(byte_offset, byte_size)[1]
        except Exception as e:
            raise RrdError(f"{self.path}: no chunk at offset {byte_offset}: {e}") from e

    def close(self) -> None:
        try:
            self._buf.close()
        except BufferError:
            pass  # an abandoned iteration still holds a view: the mapping goes with its last reference
        finally:
            self._file.close()

    def __enter__(self) -> "RrdReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decode_arrow_msg(body: bytes) -> tuple[P.ArrowMsg, Chunk]:
    """Decode an ArrowMsg protobuf body into the message and its chunk.

    Raises:
        Exception from protobuf/LZ4/Arrow on a damaged body (callers report it).
    """
    m = P.ArrowMsg.FromString(body)
    _check_sizes(m)
    cid = (m.chunk_id.time_ns, m.chunk_id.inc) if m.HasField("chunk_id") else None
    return m, finish_arrow_msg(m, m.payload, cid)


def _check_sizes(m) -> None:
    # LZ4 expands at most 255:1: a larger claimed size is a lie (and a huge allocation)
    if m.compression == P.COMPRESSION_LZ4 and m.uncompressed_size > 255 * len(m.payload) + 64:
        raise ValueError(f"claims {m.uncompressed_size} bytes uncompressed from {len(m.payload)}")


def _decompress(payload: bytes, size: int) -> pa.Buffer:
    return _LZ4.decompress(payload, decompressed_size=size)  # (releases the GIL)


_POOL: list = []
_POOL_LOCK = threading.Lock()


def _decompress_all(window: list, which: list) -> None:
    """Decompress the LZ4 payloads of ``window[i]`` for ``i`` in ``which``, in place; a
    payload that fails stays as it is (its chunk reports the error when decoded)."""
    for i in which:
        off, m, payload = window[i]
        try:
            window[i] = (off, m, _decompress(payload, m.uncompressed_size))
        except Exception:
            pass


def _pool() -> ThreadPoolExecutor:
    """One helper thread per process for LZ4 read-ahead (created on first use)."""
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(1, thread_name_prefix="rrd-lz4"))
        return _POOL[0]


def finish_arrow_msg(m, payload, chunk_id: tuple[int, int] | None) -> Chunk:
    """The chunk of a parsed ArrowMsg ``m`` (``P.ArrowMsg`` or ``P.ArrowMsgView``) whose payload
    is ``payload`` (already decompressed when ``m`` says LZ4 and ``payload`` is an Arrow buffer
    from :func:`_decompress`), with id ``chunk_id`` (else the one in the schema metadata).

    Raises:
        Exception from LZ4/Arrow on a damaged payload (callers report it).
    """
    if m.compression == P.COMPRESSION_LZ4 and not isinstance(payload, pa.Buffer):
        payload = _decompress(payload, m.uncompressed_size)
    src = pa.BufferReader(payload)
    reader = pa.ipc.open_stream(src)
    batches = [b for b in reader]
    if not batches:
        raise ValueError("no record batch in the chunk")
    if src.tell() != src.size():  # (Arrow's LZ4 does not say how much it wrote: a size that lies shows here)
        raise ValueError(f"the Arrow stream ends at byte {src.tell()} of {src.size()}")
    if len(batches) != 1:
        batch = pa.Table.from_batches(batches, schema=reader.schema).combine_chunks().to_batches()[0]
    else:
        batch = batches[0]
    # a stranger's file: every offset and length checked before anything reads the data
    # (a list offset past its values would otherwise crash the process)
    batch.validate(full=True)
    return Chunk.from_record_batch(batch, is_static=m.is_static, chunk_id=chunk_id)


def read_chunks(path: str | os.PathLike) -> tuple[list[Chunk], list[str]]:
    """All chunks of the first recording in ``path`` and the reader's warnings."""
    with RrdReader(path) as r:
        chunks = list(r.iter_chunks())
        return chunks, list(r.warnings)
