"""Chunks over TCP: the bridge serves, viewers connect (localhost by default).

The wire format is an RRD stream (``docs/rrd-format.md``): a 12-byte stream header, a
SetStoreInfo message, then one ArrowMsg per chunk, each framed by the 16-byte message header.
On connect, a viewer first receives the server's history — every static chunk and the recent
temporal chunks it still holds (bounded by ``history_bytes``) — then live chunks. A viewer
that drops and reconnects therefore loses nothing the server keeps; :class:`StreamClient`
de-duplicates by chunk id. A client that cannot keep up (more than ``client_queue_bytes``
waiting) is disconnected rather than slowing the bridge; it reconnects and resyncs.
"""
from __future__ import annotations

import logging
import queue
import socket
import struct
import threading
from collections import deque
from typing import Callable

from ..rrd import proto as P
from ..model.chunk import Chunk
from ..rrd.reader import decode_arrow_msg
from ..rrd.writer import MSG_HEADER, encode_arrow_msg, make_store_id, store_info_msg, stream_header

__all__ = ["StreamServer", "StreamClient", "parse_address", "DEFAULT_PORT"]

DEFAULT_PORT = 9877
log = logging.getLogger("rerun_ros.stream")


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"host:port"``, ``"port"`` or ``"host"`` → (host, port); port 0 means "any free port".

    Raises:
        ValueError: a port that is not an integer in 0..65535.
    """
    text = text.strip()
    if text.isdigit():
        host, port = default_host, text
    elif ":" in text:
        host, port = text.rsplit(":", 1)
    else:
        host, port = text, ""
    host = host.strip("[]") or default_host
    try:
        p = int(port) if port else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"bad stream address {text!r}: port must be a number") from None
    if not 0 <= p < 65536:
        raise ValueError(f"bad stream address {text!r}: port {p} out of range")
    return host, p


def _size(p) -> int:
    return p.size if hasattr(p, "size") and not isinstance(p, (bytes, bytearray)) else len(p)


class _Client:
    def __init__(self, sock: socket.socket, addr, limit: int):
        self.sock = sock
        self.addr = addr
        self.limit = limit
        self.q: queue.Queue = queue.Queue()
        self.queued = 0
        self.lock = threading.Lock()
        self.alive = True
        self.thread = threading.Thread(target=self._run, name=f"stream-client-{addr}", daemon=True)

    def send(self, parts: list) -> bool:
        n = sum(_size(p) for p in parts)
        with self.lock:
            if not self.alive:
                return False
            if self.queued + n > self.limit:
                self.alive = False
                self.q.put(None)
                return False
            self.queued += n
        self.q.put((parts, n))
        return True

    def _run(self) -> None:
        try:
            while True:
                item = self.q.get()
                if item is None:
                    break
                parts, n = item
                for p in parts:
                    self.sock.sendall(p)
                with self.lock:
                    self.queued -= n
        except OSError:
            pass
        finally:
            self.alive = False
            try:
                self.sock.close()
            except OSError:
                pass

    def close(self) -> None:
        with self.lock:
            self.alive = False
        self.q.put(None)


class StreamServer:
    """A chunk sink serving connected viewers over TCP.

    Args:
        address: ``host:port`` to bind (default ``127.0.0.1:9877``; port 0 picks a free one,
            see :attr:`port`).
        application_id / recording_id: the store announced to viewers.
        history_bytes: how much recent temporal data to replay to new viewers (static data is
            always replayed).
        client_queue_bytes: per-viewer backlog before that viewer is dropped.

    Raises:
        OSError: the address cannot be bound (e.g. port in use), with the address in the message.
    """

    def __init__(self, address: str = f"127.0.0.1:{DEFAULT_PORT}", *, application_id: str = "rerun_ros",
                 recording_id: str | None = None, history_bytes: int = 256 << 20,
                 client_queue_bytes: int = 64 << 20, compress: bool = False):
        host, port = parse_address(address)
        self.store_id = make_store_id(application_id, recording_id)
        self.compress = compress
        self._hello = [stream_header(compress) + store_info_msg(self.store_id)]
        # history as chunks: encoded only when a viewer connects (nothing to do without viewers)
        self._static: list[Chunk] = []
        self._history: deque[Chunk] = deque()
        self._history_bytes = 0
        self.history_limit = history_bytes
        self.client_queue_bytes = client_queue_bytes
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self.stats = {"connections": 0, "dropped_clients": 0, "chunks": 0}
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as e:
            self._sock.close()
            raise OSError(f"cannot serve the viewer stream on {host}:{port}: {e.strerror or e}") from None
        self._sock.listen(8)
        self.host, self.port = self._sock.getsockname()[:2]
        self._closed = False
        self._accept_thread = threading.Thread(target=self._accept, name="stream-accept", daemon=True)
        self._accept_thread.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, addr = self._sock.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = _Client(sock, addr, 1 << 62)
            with self._lock:
                backlog = [*self._static, *self._history]
                c.thread.start()
                c.send(self._hello)
                self._clients.append(c)  # live chunks from now on queue behind the backlog
                self.stats["connections"] += 1
                for chunk in backlog:
                    c.send(encode_arrow_msg(chunk, self.store_id, self.compress))
                c.limit = self.client_queue_bytes + c.queued
            log.info("viewer connected from %s", addr)

    # -- sink interface ---------------------------------------------------------------------

    def write_chunk(self, chunk: Chunk) -> None:
        with self._lock:
            self.stats["chunks"] += 1
            if chunk.is_static:
                self._static.append(chunk)
            else:
                self._history.append(chunk)
                self._history_bytes += chunk.nbytes
                while self._history_bytes > self.history_limit and len(self._history) > 1:
                    self._history_bytes -= self._history.popleft().nbytes
            if not self._clients:
                return
            parts = encode_arrow_msg(chunk, self.store_id, self.compress)
            keep = []
            for c in self._clients:
                if c.send(parts):
                    keep.append(c)
                elif c.alive is False:
                    self.stats["dropped_clients"] += 1
                    log.warning("viewer %s could not keep up and was disconnected", c.addr)
            self._clients = [c for c in keep if c.alive]

    def flush(self) -> None:
        pass

    @property
    def num_clients(self) -> int:
        with self._lock:
            return sum(1 for c in self._clients if c.alive)

    def close(self) -> None:
        """Stop serving: send End to viewers, close every connection."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass
        end = MSG_HEADER.pack(P.KIND_END, 0)
        with self._lock:
            for c in self._clients:
                c.send([end])
                c.close()
            self._clients = []


class StreamClient:
    """Receives chunks from a :class:`StreamServer`, reconnecting until closed.

    Args:
        address: ``host:port`` of the server.
        on_chunk: called with each new chunk (never twice for one chunk id).
        reconnect_delay: seconds between connection attempts.
    """

    def __init__(self, address: str, on_chunk: Callable[[Chunk], None], *, reconnect_delay: float = 0.5):
        self.host, self.port = parse_address(address)
        self.on_chunk = on_chunk
        self.reconnect_delay = reconnect_delay
        self.seen: set = set()
        self.connected = threading.Event()
        self.connections = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="stream-client", daemon=True)
        self._thread.start()

    def _read_exact(self, sock: socket.socket, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            part = sock.recv(min(n - len(buf), 1 << 20))
            if not part:
                raise ConnectionError("server closed the connection")
            buf += part
        return bytes(buf)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError:
                self._stop.wait(self.reconnect_delay)
                continue
            sock.settimeout(None)
            self._sock = sock
            self.connections += 1
            self.connected.set()
            try:
                head = self._read_exact(sock, 12)
                if head[:4] != b"RRF2":
                    raise ConnectionError(f"not an RRD stream (got {head[:4]!r})")
                while not self._stop.is_set():
                    kind, length = struct.unpack("<QQ", self._read_exact(sock, 16))
                    body = self._read_exact(sock, length) if length else b""
                    if kind == P.KIND_END:
                        break
                    if kind != P.KIND_ARROW_MSG:
                        continue
                    _, chunk = decode_arrow_msg(body)
                    if chunk.id in self.seen:
                        continue
                    self.seen.add(chunk.id)
                    self.on_chunk(chunk)
            except (OSError, ConnectionError) as e:
                if not self._stop.is_set():
                    self.errors.append(str(e))
            finally:
                self.connected.clear()
                try:
                    sock.close()
                except OSError:
                    pass
            self._stop.wait(self.reconnect_delay)

    def disconnect(self) -> None:
        """Drop the current connection (the client reconnects by itself)."""
        s = self._sock
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self.disconnect()
        self._thread.join(timeout=5)
