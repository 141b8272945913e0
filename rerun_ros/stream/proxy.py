"""``rerun-ros serve``: a Rerun 0.41 message proxy (``MessageProxyService``) that holds up under
strangers.

SDKs write (``WriteMessages``: official, ours, the bridge, ``convert --connect``), viewers read
(``ReadMessages``: official, ours); a reader first gets the buffer, then every new message, as
Rerun's own proxy does. What makes this one safe to leave running:

- **room for idle clients**: up to 512 calls at once (a thread each, sleeping while its client is
  silent), so a hundred idle or never-sending clients do not keep a new writer or reader waiting
  (``grpc.aio`` was measured too: no faster per message, 3.9-4.2k vs 4.4-4.6k messages per CPU
  second, ``bench/proxy.py``);
- **one user**: on loopback, a peer whose socket belongs to another local user (``/proc/net/tcp``,
  :mod:`rerun_ros.stream.peers`) is refused (``PERMISSION_DENIED``) — the protocol has no
  authentication; root is let in (it can read the recordings anyway);
- **checked messages**: every message's framing, every store info and blueprint activation as
  protobuf, every chunk as :func:`rerun_ros.rrd.reader.decode_arrow_msg` checks a file's (sizes,
  LZ4, Arrow, columns), before it is kept, relayed or saved; a bad one aborts its call
  (``INVALID_ARGUMENT``) and is counted;
- **a memory limit that holds**: the buffer and every reader's backlog count against
  ``memory_limit``; over it, the oldest temporal chunks go first, then the oldest static ones
  (O(1) each), and the reader furthest behind is disconnected (it reconnects and resyncs); the
  latest store info per store and activation per blueprint are kept once;
- ``save``: every kept message appended to an RRD stream file, created new (never over an
  existing file unless ``overwrite``; never a FIFO, a device or a symlink), and only once the
  port is ours.
"""
from __future__ import annotations

import os
import queue
import stat
import threading
from collections import deque
from concurrent import futures
from typing import Callable

import grpc  # (GRPC_VERBOSITY is set by rerun_ros.stream.grpc, imported first)

from ..rrd import proto as P
from ..rrd.reader import _check_sizes, _decompress, finish_arrow_msg
from ..rrd.writer import MSG_HEADER, stream_header
from .grpc import _CHANNEL_OPTIONS, DEFAULT_PORT, KIND_ACTIVATION, KIND_STORE_INFO, _identity, split_log_msg
from .peers import peer_owner, trusted_uid

__all__ = ["ProxyServer", "SaveError"]

#: calls served at once (each streaming call holds a thread while it lasts; an idle one costs a
#: sleeping thread, not a place in a small pool: a hundred silent clients leave room for more)
MAX_CALLS = 512


class SaveError(OSError):
    """The ``--save`` file cannot be written (exists, not a regular file, a symlink)."""


def _open_save(path: str, overwrite: bool) -> int:
    """A new RRD stream file at ``path`` (O_EXCL, O_NOFOLLOW): the descriptor.

    Raises:
        SaveError: it exists (and not ``overwrite``), or is a FIFO/device/symlink.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise SaveError(f"{path}: is a symbolic link; give the file itself")
        if not stat.S_ISREG(st.st_mode):
            raise SaveError(f"{path}: not a regular file (a FIFO or device cannot hold a recording)")
        if not overwrite:
            raise SaveError(f"{path}: exists; give another name or pass --overwrite")
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        return os.open(path, flags, 0o600)
    except FileExistsError:
        raise SaveError(f"{path}: exists; give another name or pass --overwrite") from None
    except OSError as e:
        raise SaveError(f"{path}: cannot write ({e.strerror or e})") from None


def _port_free(bind: str, port: int) -> None:
    """Raise OSError when ``bind:port`` is taken (said in one line, before grpc's C core would
    log its own failure)."""
    import socket
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (TIME_WAIT is no owner; LISTEN is)
        try:
            s.bind((bind, port))
        except OSError as e:
            raise OSError(f"cannot listen on {bind}:{port} ({e.strerror or e}: another server has it?)") from None


class _Entry:
    __slots__ = ("msg", "droppable", "static", "alive")

    def __init__(self, msg: bytes, droppable: bool, static: bool):
        self.msg, self.droppable, self.static, self.alive = msg, droppable, static, True


class _Reader:
    """One viewer's backlog."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()
        self.bytes = 0
        self.cut = False


class ProxyServer:
    """A Rerun 0.41 message proxy (module doc).

    Args:
        port: TCP port (0: any free one; see :attr:`port`).
        bind: address; loopback unless ``allow_remote`` (peers from other machines are not
            checked: the protocol has no authentication).
        memory_limit: bytes of buffer plus reader backlogs.
        save: also append every kept message to this RRD stream file (see module doc).
        overwrite: ``save`` may replace an existing regular file.
        on_message: called with each kept message (on the server's thread: be quick).
        check_chunks: decode and check every chunk before keeping it (False relays chunks as
            received after checking their framing only, as Rerun's own proxy does).

    Raises:
        ValueError: a non-loopback ``bind`` without ``allow_remote``. OSError: the port is
        taken. SaveError: ``save`` cannot be created (nothing was written to it).
    """

    def __init__(self, port: int = DEFAULT_PORT, *, bind: str = "127.0.0.1", memory_limit: int = 1 << 30,
                 allow_remote: bool = False, save: str | None = None, overwrite: bool = False,
                 on_message: Callable[[bytes], None] | None = None, check_chunks: bool = True, **_old):
        from .tcp import _is_loopback
        if not _is_loopback(bind) and not allow_remote:
            raise ValueError(f"binding the proxy to {bind} lets anyone on the network write and read "
                             f"recordings (the protocol has no authentication): pass allow_remote")
        if save is not None:  # refused before anything else happens (the port is still free)
            try:
                st = os.lstat(save)
                if not stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) or not overwrite:
                    os.close(_open_save(save, overwrite))  # raises the right SaveError
            except FileNotFoundError:
                pass
        if port:
            _port_free(bind, port)
        self.memory_limit = int(memory_limit)
        self.on_message = on_message
        self.check_chunks = check_chunks
        self.bind = bind
        self.stats = {"messages": 0, "bytes": 0, "dropped": 0, "rejected": 0, "writers": 0, "readers": 0,
                      "refused_peers": 0, "readers_cut": 0}
        self.errors: list[str] = []
        self._buf: deque[_Entry] = deque()
        self._temporal: deque[_Entry] = deque()  # droppable entries, oldest first (eviction order)
        self._static: deque[_Entry] = deque()
        self._latest: dict = {}  # (kind, store key) -> the entry of the latest store info / activation
        self._buf_bytes = 0
        self._dead = 0
        self._schemas: list = []  # chunk schemas checked whole once
        self._readers: list[_Reader] = []
        self._queued = 0
        self._lock = threading.Lock()
        self._save_fd: int | None = None
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_CALLS, thread_name_prefix="proxy"),
                                   maximum_concurrent_rpcs=MAX_CALLS,
                                   options=_CHANNEL_OPTIONS + [("grpc.so_reuseport", 0)])  # a taken port is an error
        handlers = {
            "WriteMessages": grpc.stream_unary_rpc_method_handler(self._write, request_deserializer=_identity,
                                                                  response_serializer=_identity),
            "ReadMessages": grpc.unary_stream_rpc_method_handler(self._read, request_deserializer=_identity,
                                                                 response_serializer=_identity),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("rerun.sdk_comms.v1alpha1.MessageProxyService", handlers),))
        host = f"[{bind}]" if ":" in bind else bind
        try:
            self.port = self._server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:  # grpcio >= 1.58 raises where older ones returned 0
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen on {bind}:{port} (in use?)")
        self._server.start()
        if save is not None:
            try:
                self._save_fd = _open_save(save, overwrite)
                os.write(self._save_fd, stream_header(True))
            except SaveError:
                self.stop()
                raise

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::") else self.bind
        return f"rerun+http://{host}:{self.port}/proxy"

    def _error(self, msg: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(msg)

    def _allowed(self, context) -> bool:
        """Loopback peers must be this user (or root): checked against /proc/net/tcp."""
        peer = context.peer()
        uid = peer_owner(peer, self.port)
        if uid is None:
            host = peer.partition(":")[2].rpartition(":")[0].strip("[]")
            if host.startswith("127.") or host in ("::1",) or host.startswith("::ffff:127."):
                uid = -1  # a loopback socket we cannot see: not trusted
            else:
                return True  # another machine (allow_remote): unauthenticated by the protocol
        if trusted_uid(uid):
            return True
        self.stats["refused_peers"] += 1
        self._error(f"{peer}: refused: the connection belongs to uid {uid}, not this proxy's user")
        context.abort(grpc.StatusCode.PERMISSION_DENIED,
                            "this proxy serves its own user only (the protocol has no authentication)")
        return False

    # -- checking and keeping ------------------------------------------------------------------

    def _check(self, msg: bytes) -> tuple[int, bool, bool, tuple | None]:
        """(kind, droppable, static, dedup key) of a message, checked whole.

        Raises:
            ValueError: not a LogMsg, or a body that does not decode.
        """
        kind, body = split_log_msg(msg)
        if kind == KIND_STORE_INFO:
            info = P.SetStoreInfo.FromString(bytes(body))
            sid = info.info.store_id
            if not sid.recording_id or not sid.application_id.id:
                raise ValueError("a store info without a store id")
            return kind, False, False, ("info", sid.kind, sid.application_id.id, sid.recording_id)
        if kind == KIND_ACTIVATION:
            act = P.BlueprintActivationCommand.FromString(bytes(body))
            if not act.blueprint_id.recording_id:
                raise ValueError("a blueprint activation without a blueprint id")
            return kind, False, False, ("activation", act.blueprint_id.application_id.id)
        m = P.ArrowMsg.FromString(bytes(body))  # (upb: a microsecond; the payload is not copied twice)
        if self.check_chunks:
            self._check_chunk(m)
        static = bool(m.is_static)
        blueprint = m.store_id.kind == P.STORE_KIND_BLUEPRINT
        return kind, not static and not blueprint, static or blueprint, None

    def _check_chunk(self, m) -> None:
        """An ArrowMsg's chunk checked as a file's (:func:`rerun_ros.rrd.reader.decode_arrow_msg`)
        at a fraction of the cost for schemas seen before: sizes, LZ4, the Arrow stream read and
        validated in full (every offset and length), the chunk metadata present; the column plan
        (row ids, indexes, list components) parsed once per schema (names and types).

        Raises:
            ValueError (and Arrow/LZ4 errors): a body that does not decode.
        """
        import pyarrow as pa
        _check_sizes(m)
        payload = m.payload
        if m.compression == P.COMPRESSION_LZ4:
            payload = _decompress(payload, m.uncompressed_size)
        src = pa.BufferReader(payload)
        reader = pa.ipc.open_stream(src)
        batch = reader.read_next_batch()
        try:
            reader.read_next_batch()
            raise ValueError("more than one record batch in a chunk")
        except StopIteration:
            pass
        if src.tell() != src.size():
            raise ValueError(f"the Arrow stream ends at byte {src.tell()} of {src.size()}")
        batch.validate(full=True)
        md = batch.schema.metadata or {}
        ep = md.get(b"rerun:entity_path")
        if not ep:
            raise ValueError("not a Rerun chunk: no rerun:entity_path")
        for v in md.values():
            v.decode("utf-8")  # (UnicodeDecodeError is a ValueError: refused)
        schema = batch.schema.remove_metadata()  # (field metadata stays and is compared)
        if not any(schema.equals(s, check_metadata=True) for s in self._schemas):
            cid = (m.chunk_id.time_ns, m.chunk_id.inc) if m.HasField("chunk_id") else None
            finish_arrow_msg(m, payload, cid)  # the whole check, once per new schema
            self._schemas.append(schema)
            if len(self._schemas) > 64:
                del self._schemas[0]

    def _keep(self, msg: bytes, droppable: bool, static: bool, key: tuple | None) -> None:
        """Buffer a checked message, relay it to the readers, save it (on the server's loop)."""
        e = _Entry(msg, droppable, static)
        with self._lock:
            if key is not None:  # one store info per store, one activation per blueprint
                old = self._latest.get(key)
                if old is not None and old.alive:
                    self._kill(old)
                self._latest[key] = e
            self._buf.append(e)
            self._buf_bytes += len(msg)
            (self._temporal if droppable else self._static if static else deque()).append(e)
            self._evict()
            readers = list(self._readers)
        if self._save_fd is not None:
            try:
                kind, body = split_log_msg(msg)
                os.write(self._save_fd, MSG_HEADER.pack(kind, len(body)) + bytes(body))
            except OSError as err:
                self._error(f"--save: cannot write ({err.strerror or err}); saving stopped")
                os.close(self._save_fd)
                self._save_fd = None
        for r in readers:
            self._push(r, msg)

    def _kill(self, e: _Entry) -> None:
        e.alive = False
        self._buf_bytes -= len(e.msg)
        e.msg = b""
        self._dead += 1

    def _evict(self) -> None:
        """Oldest temporal chunks first, then oldest static ones, until under the limit; the
        buffer's dead entries are swept when they outnumber the live ones."""
        budget = self.memory_limit - self._queued
        for q in (self._temporal, self._static):
            while self._buf_bytes > budget and q:
                e = q.popleft()
                if e.alive:
                    self._kill(e)
                    self.stats["dropped"] += 1
        if self._dead > 64 and self._dead * 2 > len(self._buf):
            self._buf = deque(e for e in self._buf if e.alive)
            self._temporal = deque(e for e in self._temporal if e.alive)
            self._static = deque(e for e in self._static if e.alive)
            self._dead = 0

    def _push(self, r: _Reader, msg: bytes) -> None:
        with self._lock:
            if r.cut:
                return
            r.q.put_nowait(msg)
            r.bytes += len(msg)
            self._queued += len(msg)
            over = self._buf_bytes + self._queued > self.memory_limit
            victim = max(self._readers, key=lambda x: x.bytes) if over and self._readers else None
        if victim is not None and victim.bytes > 0:
            self._cut(victim)

    def _cut(self, r: _Reader) -> None:
        """A reader too far behind: dropped (it reconnects and gets the buffer again)."""
        with self._lock:
            if r.cut:
                return
            r.cut = True
            self._queued -= r.bytes
            r.bytes = 0
            if r in self._readers:
                self._readers.remove(r)
            while True:
                try:
                    r.q.get_nowait()
                except queue.Empty:
                    break
            r.q.put_nowait(None)
        self.stats["readers_cut"] += 1

    # -- the calls -------------------------------------------------------------------------------

    def _write(self, request_iterator, context):
        if not self._allowed(context):
            return b""
        self.stats["writers"] += 1
        for msg in request_iterator:
            try:
                _kind, droppable, static, key = self._check(msg)
            except Exception as e:  # noqa: BLE001 - a stranger's bytes: refused, counted, named
                self.stats["rejected"] += 1
                self._error(f"{context.peer()}: {e}")
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a valid LogMsg: {e}")
                return b""
            self.stats["messages"] += 1
            self.stats["bytes"] += len(msg)
            self._keep(bytes(msg), droppable, static, key)
            if self.on_message is not None:
                try:
                    self.on_message(msg)
                except Exception as e:  # noqa: BLE001 - a hook must not take the proxy down
                    self._error(f"on_message: {e}")
        return b""

    def _read(self, request, context):
        if not self._allowed(context):
            return
        r = _Reader()
        with self._lock:
            history = [e.msg for e in self._buf if e.alive]
            self._readers.append(r)
            self.stats["readers"] += 1
        try:
            for m in history:
                if r.cut or not context.is_active():
                    return
                yield m
            while context.is_active():
                try:
                    m = r.q.get(timeout=0.5)
                except queue.Empty:
                    continue
                if m is None:
                    return  # too slow: cut loose
                with self._lock:
                    self._queued -= len(m)
                    r.bytes -= len(m)
                yield m
        finally:
            with self._lock:
                if r in self._readers:
                    self._readers.remove(r)
                    self._queued -= r.bytes

    # -- outside -------------------------------------------------------------------------------

    def buffered(self) -> list[bytes]:
        """The messages the proxy holds now (what a new reader gets first)."""
        with self._lock:
            return [e.msg for e in self._buf if e.alive]

    @property
    def buffered_bytes(self) -> int:
        return self._buf_bytes

    def stop(self, grace: float = 1.0) -> None:
        """Stop serving (readers get the end of their stream), close ``save``. Idempotent."""
        if self._server is not None:
            with self._lock:
                for r in list(self._readers):
                    r.q.put_nowait(None)
            self._server.stop(grace).wait(grace + 1)
        self._server = None
        if self._save_fd is not None:
            try:  # a clean end: readers of the saved stream know nothing is missing
                os.write(self._save_fd, MSG_HEADER.pack(P.KIND_END, 0))
                os.fsync(self._save_fd)
            except OSError:
                pass
            os.close(self._save_fd)
            self._save_fd = None
