"""Chunks over TCP: the bridge serves, viewers connect (localhost by default).

The wire format is an RRD stream (``docs/rrd-format.md``): a 12-byte stream header, a
SetStoreInfo message, then one ArrowMsg per chunk, each framed by the 16-byte message header.
A viewer first presents the stream's token (one line, ``TOKEN <hex>``); without the right one
the connection is closed before anything is sent. It then receives the server's history —
every static chunk and the recent temporal chunks it still holds (bounded by
``history_bytes``) — then live chunks. A viewer that drops and reconnects therefore loses
nothing the server keeps; :class:`StreamClient` de-duplicates by chunk id.

Costs stay bounded whatever viewers do: each chunk is encoded once, when the first viewer needs
it, and shared by all; accepting a viewer takes no more than a snapshot of the history under the
lock (the viewer's own thread encodes and sends); a viewer more than ``client_queue_bytes``
behind, or whose socket does not take data for ``send_timeout`` seconds, is disconnected (it
reconnects and resyncs); at most ``max_clients`` at once; running out of file descriptors
(EMFILE) pauses accepting, it does not end it.

The token (a shared secret, default generated per run) is written to a file only the user can
read (``token_path``: ``$XDG_RUNTIME_DIR/rerun_ros/stream-<port>.token``, else
``~/.cache/rerun_ros/...``, mode 0600), where local viewers find it; remote viewers pass it
(``RERUN_ROS_STREAM_TOKEN`` or the ``token`` argument). Binding to a non-loopback address needs
an explicit token.
"""
from __future__ import annotations

import errno
import hmac
import ipaddress
import logging
import os
import stat
import secrets
import select
import socket
import struct
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

from ..rrd import proto as P
from ..model.chunk import Chunk
from ..rrd.reader import decode_arrow_msg
from ..rrd.writer import MSG_HEADER, encode_arrow_msg, make_store_id, store_info_msg, stream_header
from .raw import KIND_ROS_BATCH, KIND_ROS_SCHEMA

__all__ = ["StreamServer", "StreamClient", "parse_address", "token_path", "read_token", "read_token_file",
           "DEFAULT_PORT"]

DEFAULT_PORT = 9877
MAX_MESSAGE = 2 << 30  # bytes a viewer accepts for one message
TOKEN_ENV = "RERUN_ROS_STREAM_TOKEN"
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


#: a latched topic's raw batches kept for late viewers (the newest, per topic)
KEPT_BATCHES = 256
KEPT_BYTES = 64 << 20

#: seconds a new connection has to present its token, and how many may be doing so at once
HANDSHAKE_S = 3.0
MAX_HANDSHAKES = 64


def token_path(port: int) -> Path:
    """Where the server on ``port`` writes its token for local viewers."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    root = Path(base) / "rerun_ros" if base else Path.home() / ".cache" / "rerun_ros"
    return root / f"stream-{port}.token"


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Entry:
    """A chunk of the history with its encoding, made once on first use and shared."""

    __slots__ = ("chunk", "parts", "size", "lock")

    def __init__(self, chunk: Chunk):
        self.chunk = chunk
        self.parts = None
        self.size = chunk.nbytes
        self.lock = threading.Lock()

    def encoded(self, store_id, compress: bool) -> list:
        if self.parts is None:
            with self.lock:
                if self.parts is None:
                    self.parts = encode_arrow_msg(self.chunk, store_id, compress)
        return self.parts


class _RawEntry:
    """A message of the raw stream (a message definition or a batch), framed once."""

    __slots__ = ("parts", "size")

    def __init__(self, parts: list):
        self.parts = parts
        self.size = sum(len(p) for p in parts)

    def encoded(self, store_id, compress: bool) -> list:
        return self.parts


class _Client:
    """One viewer: its thread checks the token, then sends the backlog and the live entries."""

    def __init__(self, server: "StreamServer", sock: socket.socket, addr):
        self.server = server
        self.sock = sock
        self.addr = addr
        self.q: deque = deque()
        self.cv = threading.Condition()
        self.queued = 0
        self.alive = True
        self.thread = threading.Thread(target=self._run, name=f"stream-client-{addr}", daemon=True)

    def push(self, entries, backlog: bool = False) -> bool:
        """Queue entries (no copy, no encoding here); False when the viewer is too far behind.
        The ``backlog`` (the history at connect time) does not count toward the limit."""
        with self.cv:
            if not self.alive:
                return False
            for e in entries:
                n = 0 if backlog else e.size
                self.q.append((e, n))
                self.queued += n
            if self.queued > self.server.client_queue_bytes:
                self.alive = False
                self.cv.notify()
                return False
            self.cv.notify()
        return True

    def _check_token(self) -> bool:
        """The token line, within ``HANDSHAKE_S`` seconds in all (a client that drips a byte at a
        time is cut at the deadline, not kept for ever)."""
        want = self.server.token
        deadline = time.monotonic() + HANDSHAKE_S
        line = b""
        while not line.endswith(b"\n") and len(line) < 200:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                part = self.sock.recv(200 - len(line))
            except OSError:  # (socket.timeout included: the deadline passed)
                return False
            if not part:
                return False
            line += part
        got = line.strip()
        return got.startswith(b"TOKEN ") and hmac.compare_digest(got[6:], want.encode())

    def _run(self) -> None:
        srv = self.server
        try:
            try:
                ok = self._check_token()
            finally:
                srv._handshake_done()
            if not ok:
                srv._refused(self.addr)
                return
            if not srv._admit(self):  # only viewers with the token count toward max_clients
                return
            self.sock.settimeout(srv.send_timeout)
            self.sock.sendall(srv._hello)
            while True:
                with self.cv:
                    while self.alive and not self.q:
                        self.cv.wait(1.0)
                    if not self.alive:
                        return
                    e, n = self.q.popleft()
                    self.queued -= n
                for part in e.encoded(srv.store_id, srv.compress):
                    self.sock.sendall(part)
        except (OSError, socket.timeout):
            pass
        finally:
            with self.cv:
                self.alive = False
                self.q.clear()
                self.queued = 0
            try:
                self.sock.close()
            except OSError:
                pass

    def close(self, end: bool = False) -> None:
        with self.cv:
            self.alive = False
            self.cv.notify()
        if end:
            try:
                self.sock.settimeout(1.0)
                self.sock.sendall(MSG_HEADER.pack(P.KIND_END, 0))
            except OSError:
                pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class StreamServer:
    """A chunk sink serving connected viewers over TCP (see the module doc).

    Args:
        address: ``host:port`` to bind (default ``127.0.0.1:9877``; port 0 picks a free one,
            see :attr:`port`).
        application_id / recording_id: the store announced to viewers.
        history_bytes: how much recent temporal data to replay to new viewers (static data is
            always replayed).
        client_queue_bytes: per-viewer backlog before that viewer is dropped.
        token: the shared secret viewers must present (None: generated, and written to
            :func:`token_path`).
        send_timeout: seconds a viewer's socket may refuse data before it is dropped.
        max_clients: viewers at once (more are refused).

    Raises:
        OSError: the address cannot be bound (e.g. port in use), with the address in the message.
        ValueError: a non-loopback address without an explicit token.
    """

    def __init__(self, address: str = f"127.0.0.1:{DEFAULT_PORT}", *, application_id: str = "rerun_ros",
                 recording_id: str | None = None, history_bytes: int = 256 << 20,
                 client_queue_bytes: int = 64 << 20, compress: bool = False, token: str | None = None,
                 send_timeout: float = 10.0, max_clients: int = 16):
        host, port = parse_address(address)
        token = token or os.environ.get(TOKEN_ENV) or None
        if not _is_loopback(host) and not token:
            raise ValueError(f"stream address {host}:{port} is reachable from other machines: give a token "
                             f"({TOKEN_ENV} or the stream_token parameter), or bind 127.0.0.1")
        self.store_id = make_store_id(application_id, recording_id)
        self.compress = compress
        self._hello = stream_header(compress) + store_info_msg(self.store_id)
        self._static: list[_Entry] = []
        # a latched topic's raw batches, per topic, the newest KEPT_BATCHES / KEPT_BYTES of each
        # (a /map re-sent every second must not grow the history for ever)
        self._kept: dict[str, deque] = {}
        self._history: deque[_Entry] = deque()
        self._history_bytes = 0
        self.history_limit = history_bytes
        self.client_queue_bytes = client_queue_bytes
        self.send_timeout = send_timeout
        self.max_clients = max_clients
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._refused_logged: set = set()
        self.stats = {"connections": 0, "dropped_clients": 0, "chunks": 0, "refused": 0}
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as e:
            self._sock.close()
            raise OSError(f"cannot serve the viewer stream on {host}:{port}: {e.strerror or e}") from None
        self._sock.listen(64)
        self.host, self.port = self._sock.getsockname()[:2]
        self.token = token or secrets.token_hex(16)
        self.token_file: Path | None = None
        if token is None:
            try:
                self.token_file = _write_token(token_path(self.port), self.token)
            except OSError as e:  # viewers of this machine then need RERUN_ROS_STREAM_TOKEN
                log.warning("viewer stream: %s", e)
        self._closed = False
        self._pending = 0  # connections still presenting their token
        self._accept_thread = threading.Thread(target=self._accept, name="stream-accept", daemon=True)
        self._accept_thread.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _refused(self, addr) -> None:
        self.stats["refused"] += 1
        if addr[0] not in self._refused_logged:
            self._refused_logged.add(addr[0])
            log.warning("viewer from %s refused: wrong or missing stream token", addr[0])

    def _accept(self) -> None:
        backoff = 0.05
        emfile_logged = False
        while not self._closed:
            try:
                sock, addr = self._sock.accept()
            except OSError as e:
                if self._closed:
                    return
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    if not emfile_logged:  # out of descriptors: wait for some, keep serving
                        log.error("viewer stream: cannot accept (%s); retrying", e.strerror)
                        emfile_logged = True
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                if e.errno in (errno.ECONNABORTED, errno.EINTR, errno.EPROTO):
                    continue
                return
            backoff, emfile_logged = 0.05, False
            with self._lock:
                busy = self._pending >= MAX_HANDSHAKES
                if not busy:
                    self._pending += 1
            if busy:  # (each handshake ends within HANDSHAKE_S: room comes back soon)
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _Client(self, sock, addr).thread.start()

    def _handshake_done(self) -> None:
        with self._lock:
            self._pending -= 1

    def _admit(self, c: "_Client") -> bool:
        """A viewer that presented the token: its backlog queued, unless ``max_clients`` are
        connected already (then closed, said)."""
        with self._lock:
            self._clients = [x for x in self._clients if x.alive]
            if len(self._clients) >= self.max_clients or self._closed:
                refuse = True
            else:
                refuse = False
                backlog = [*self._static, *(e for q in self._kept.values() for e in q), *self._history]
                c.push(backlog, backlog=True)  # (it is the history: counted in history_bytes)
                self._clients.append(c)
                self.stats["connections"] += 1
        if refuse:
            log.warning("viewer from %s refused: %d viewers already connected", c.addr[0], self.max_clients)
            return False
        log.info("viewer connected from %s", c.addr)
        return True

    # -- sink interface ---------------------------------------------------------------------

    def write_chunk(self, chunk: Chunk) -> None:
        self._publish(_Entry(chunk), chunk.is_static)

    def write_raw_schema(self, schema_id: int, topic: str, type_name: str, text: str, clock: str,
                         entity: str | None = None) -> None:
        """Announce a topic's message definition on the raw stream (:mod:`rerun_ros.stream.raw`);
        kept for every viewer that connects later."""
        from .raw import encode_schema
        self._publish(_RawEntry([encode_schema(schema_id, topic, type_name, text, clock, entity)]), True)

    def write_raw(self, batch) -> None:
        """Send a :class:`rerun_ros.stream.raw.RawBatch` to the viewers (each decodes it); kept in
        the history like a chunk, or, when ``batch.kept`` (a latched topic's messages), among the
        newest :data:`KEPT_BATCHES` (at most :data:`KEPT_BYTES`) of its topic, replayed first."""
        from .raw import encode_batch
        self._publish(_RawEntry(encode_batch(batch)), False, batch.topic if batch.kept else None)

    def _publish(self, e, static: bool, kept_topic: str | None = None) -> None:
        with self._lock:
            self.stats["chunks"] += 1
            if kept_topic is not None:
                q = self._kept.setdefault(kept_topic, deque())
                q.append(e)
                while len(q) > 1 and (len(q) > KEPT_BATCHES or sum(x.size for x in q) > KEPT_BYTES):
                    q.popleft()
            elif static:
                self._static.append(e)
            else:
                self._history.append(e)
                self._history_bytes += e.size
                while self._history_bytes > self.history_limit and len(self._history) > 1:
                    self._history_bytes -= self._history.popleft().size
            if not self._clients:
                return
            keep = []
            for c in self._clients:
                if c.push([e]):
                    keep.append(c)
                elif c.alive is False and c.thread.is_alive():
                    self.stats["dropped_clients"] += 1
                    log.warning("viewer %s could not keep up and was disconnected", c.addr)
                    c.close()
            self._clients = keep

    def flush(self) -> None:
        pass

    @property
    def num_clients(self) -> int:
        with self._lock:
            return sum(1 for c in self._clients if c.alive)

    def close(self) -> None:
        """Stop serving: send End to viewers, close every connection, remove the token file."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            c.close(end=True)
        if self.token_file is not None:
            try:
                self.token_file.unlink()
            except OSError:
                pass


def _write_token(path: Path, token: str) -> Path:
    """Write the token readable by this user only (directory 0700, file 0600).

    The directory must be this user's own (not a symlink, not another user's: a shared runtime
    directory could hold one planted by someone else), and the file is never opened through a
    symlink (``O_NOFOLLOW``): a planted link cannot make us overwrite or chmod another file.

    Raises:
        OSError: the directory or file is not ours (the message says which).
    """
    d = path.parent
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(d)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise OSError(f"{d}: not a directory of this user's (a symlink or another user's): no token file written")
    os.chmod(d, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise OSError(f"{path}: cannot write the token file ({e.strerror or e}; a symlink?)") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode() + b"\n")
    finally:
        os.close(fd)
    return path


def read_token_file(path: str | os.PathLike) -> str:
    """A token from a file: a regular file of this user's that no one else can read (mode
    0600 or stricter), first line.

    Raises:
        OSError: missing, not a regular file, another user's or readable by others, or empty.
    """
    p = Path(path)
    st = os.stat(p)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{p}: not a regular file")
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(f"{p}: the token file must be yours and readable by you only (chmod 600)")
    with open(p, "rb") as f:
        token = f.read(4096).decode("utf-8", "replace").strip().splitlines()
    if not token or not token[0].strip():
        raise OSError(f"{p}: empty token file")
    return token[0].strip()


def read_token(port: int) -> str | None:
    """The token a viewer presents to the server on ``port`` of this machine: the
    ``RERUN_ROS_STREAM_TOKEN`` environment variable, else the server's token file."""
    t = os.environ.get(TOKEN_ENV)
    if t:
        return t.strip()
    try:
        return token_path(port).read_text().strip() or None
    except OSError:
        return None


class StreamClient:
    """Receives chunks from a :class:`StreamServer`, reconnecting until closed. A bridge's
    serialized messages (:mod:`rerun_ros.stream.raw`) are decoded here into chunks.

    Args:
        address: ``host:port`` of the server.
        on_chunk: called with each new chunk (never twice for one chunk id).
        reconnect_delay: seconds between connection attempts.
        token: the stream's token (default: ``RERUN_ROS_STREAM_TOKEN``, else the token file a
            server on this machine wrote, see :func:`token_path`).
    """

    def __init__(self, address: str, on_chunk: Callable[[Chunk], None], *, reconnect_delay: float = 0.5,
                 token: str | None = None):
        self.host, self.port = parse_address(address)
        self.token = token
        self.on_chunk = on_chunk
        self.reconnect_delay = reconnect_delay
        self.seen: set = set()
        self.connected = threading.Event()
        self._raw = None            # the RawDecoder, made by the first message definition
        self._raw_last = -1         # the last batch decoded (batches come in order, but kept ones)
        self._raw_kept: set = set()
        self._raw_pending: list = []
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
        from .threads import name_os_thread
        name_os_thread("rr-stream-in")
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError:
                self._stop.wait(self.reconnect_delay)
                continue
            self._sock = sock
            try:
                token = self.token or read_token(self.port) or ""
                sock.sendall(b"TOKEN " + token.encode() + b"\n")
                sock.settimeout(None)
                self.connections += 1
                self.connected.set()
                head = self._read_exact(sock, 12)
                if head[:4] != b"RRF2":
                    raise ConnectionError(f"not an RRD stream (got {head[:4]!r})")
                while not self._stop.is_set():
                    kind, length = struct.unpack("<QQ", self._read_exact(sock, 16))
                    if length > MAX_MESSAGE:
                        raise ConnectionError(f"message of {length} bytes announced (a stream from a stranger?)")
                    body = self._read_exact(sock, length) if length else b""
                    if kind == P.KIND_END:
                        break
                    if kind in (KIND_ROS_SCHEMA, KIND_ROS_BATCH):
                        self._on_raw(kind, body)
                        # batches that arrived together are decoded together
                        if len(self._raw_pending) >= 256 or not select.select([sock], [], [], 0)[0]:
                            self._flush_raw()
                        continue
                    self._flush_raw()
                    if kind != P.KIND_ARROW_MSG:
                        continue
                    try:
                        _, chunk = decode_arrow_msg(body)  # validated before use
                    except Exception as e:
                        self.errors.append(f"damaged chunk from {self.host}:{self.port} skipped: {e}")
                        continue
                    if chunk.id in self.seen:
                        continue
                    self.seen.add(chunk.id)
                    self.on_chunk(chunk)
            except (OSError, ConnectionError) as e:
                if not self._stop.is_set():
                    self.errors.append(str(e))
            finally:
                self._flush_raw()
                self.connected.clear()
                try:
                    sock.close()
                except OSError:
                    pass
            self._stop.wait(self.reconnect_delay)

    def _on_raw(self, kind: int, body: bytes) -> None:
        """A message definition or a batch of serialized messages: decoded into chunks (each
        batch once, across reconnections)."""
        from .raw import RawDecoder, RawFormatError, decode_batch, decode_schema
        try:
            if kind == KIND_ROS_SCHEMA:
                d = decode_schema(body)
                self._flush_raw()
                if self._raw is None:
                    self._raw = RawDecoder(self.on_chunk, warn=self.errors.append)
                self._raw.schema(d)
                return
            b = decode_batch(body)
        except RawFormatError as e:
            self.errors.append(f"damaged message from {self.host}:{self.port} skipped: {e}")
            return
        if b.kept:
            if b.seq in self._raw_kept:
                return
            self._raw_kept.add(b.seq)
        else:
            if b.seq <= self._raw_last:
                return
            self._raw_last = b.seq
        if self._raw is None:
            self._raw = RawDecoder(self.on_chunk, warn=self.errors.append)
        self._raw_pending.append(b)

    def _flush_raw(self) -> None:
        if self._raw_pending:
            pending, self._raw_pending = self._raw_pending, []
            try:
                self._raw.batches(pending)
            except Exception as e:  # noqa: BLE001 - a stranger's messages must not end the client
                self.errors.append(f"messages from {self.host}:{self.port} not decoded: {type(e).__name__}: {e}")

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
