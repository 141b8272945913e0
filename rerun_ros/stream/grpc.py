"""Rerun 0.41's gRPC message proxy, both ways: a sink that streams chunks to a proxy (the official
``rerun`` viewer, ``rerun --serve-grpc``, or ours: ``rerun-ros serve``, :mod:`.proxy`) and a
reader that follows a proxy (our viewer on ``rerun+http://host:port/proxy``).

The protocol is ``rerun.sdk_comms.v1alpha1.MessageProxyService`` (``sdk_comms.proto`` in the
Rerun repository, ``crates/store/re_protos/proto/rerun/v1alpha1/``): SDKs call the client-streaming
``WriteMessages(stream WriteMessagesRequest)``, viewers the server-streaming
``ReadMessages(ReadMessagesRequest) -> stream ReadMessagesResponse``; both messages hold one
field, ``rerun.log_msg.v1alpha1.LogMsg log_msg = 1``, whose ``oneof msg`` is ``SetStoreInfo``
(1), ``ArrowMsg`` (2) or ``BlueprintActivationCommand`` (3) — the same bodies as the messages of
an ``.rrd`` file (:mod:`rerun_ros.rrd.proto`). The two wrappers are framed here by hand: a chunk's
Arrow payload is never copied into a protobuf object, and a proxy passes what it received
through as it is (a ``WriteMessagesRequest`` and a ``ReadMessagesResponse`` have the same bytes).

Everything received from the network is checked before use: field structure and lengths
(:func:`split_log_msg`), then each chunk as :func:`rerun_ros.rrd.reader.decode_arrow_msg` does for
files. gRPC itself runs on ``grpcio`` (plain HTTP/2, as ``rerun+http`` URLs are).
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid as _uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator

# grpc's C core logs fork() notices at INFO when a viewer starts its Xvfb; a user needs errors only
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
import grpc  # noqa: E402

from ..model.chunk import Chunk  # noqa: E402
from ..rrd import proto as P  # noqa: E402
from ..rrd.reader import decode_arrow_msg  # noqa: E402
from ..rrd.writer import (MSG_HEADER, _varint, activation_msg, encode_arrow_msg,  # noqa: E402
                          make_store_id, store_info_msg)

__all__ = ["DEFAULT_URL", "parse_url", "GrpcSink", "GrpcReader", "log_msg_request",
           "split_log_msg", "GrpcStats"]

DEFAULT_PORT = 9876
DEFAULT_URL = f"rerun+http://127.0.0.1:{DEFAULT_PORT}/proxy"
_SERVICE = "/rerun.sdk_comms.v1alpha1.MessageProxyService/"
MAX_MESSAGE = (1 << 31) - 1  # bytes of one gRPC message we send or accept (a big image or cloud)
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]
log = logging.getLogger("rerun_ros.grpc")

KIND_STORE_INFO, KIND_ARROW, KIND_ACTIVATION = 1, 2, 3


def parse_url(url: str) -> tuple[str, int]:
    """``rerun+http://host:port/proxy`` (Rerun's form), ``http://host:port``, ``host:port`` or a
    port → (host, port). Rerun's default port is 9876.

    Raises:
        ValueError: another scheme (``https``/``rerun+https`` need TLS, not supported here), or a
            port outside 1..65535.
    """
    text = url.strip()
    for scheme in ("rerun+http://", "http://", "grpc://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
            break
    else:
        if "://" in text:
            raise ValueError(f"{url}: only rerun+http:// (plain gRPC) URLs are supported")
    text = text.split("/", 1)[0]
    if text.isdigit():
        host, port = "127.0.0.1", text
    elif text.startswith("["):  # [ipv6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or str(DEFAULT_PORT)
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", str(DEFAULT_PORT))
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{url}: port must be 1..65535")
    return host or "127.0.0.1", int(port)


# -- framing ----------------------------------------------------------------------------------

def log_msg_request(kind: int, body) -> bytes:
    """The bytes of a ``WriteMessagesRequest`` (= a ``ReadMessagesResponse``) holding a LogMsg of
    ``kind`` (1 SetStoreInfo, 2 ArrowMsg, 3 BlueprintActivationCommand) with protobuf ``body``
    (bytes or a list of byte buffers, joined once)."""
    parts = body if isinstance(body, list) else [body]
    size = sum(len(memoryview(p)) for p in parts)
    inner = bytes([(kind << 3) | 2]) + _varint(size)
    outer = b"\x0a" + _varint(len(inner) + size)
    return b"".join([outer, inner, *parts])


def _read_varint(buf, pos: int, end: int) -> tuple[int, int]:
    out, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, pos
        shift += 7


def _fields(buf, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value start, value end) of a protobuf message, checked against
    its bounds (varints: the value itself in ``start``)."""
    pos = start
    while pos < end:
        tag, pos = _read_varint(buf, pos, end)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, pos = _read_varint(buf, pos, end)
            yield num, wt, v, pos
        elif wt == 2:
            n, pos = _read_varint(buf, pos, end)
            if pos + n > end:
                raise ValueError(f"field {num} of {n} bytes runs past its message")
            yield num, wt, pos, pos + n
            pos += n
        elif wt in (1, 5):
            w = 8 if wt == 1 else 4
            if pos + w > end:
                raise ValueError(f"field {num} runs past its message")
            yield num, wt, pos, pos + w
            pos += w
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")


def split_log_msg(data) -> tuple[int, memoryview]:
    """(kind, body) of the LogMsg inside a ``WriteMessagesRequest``/``ReadMessagesResponse``.

    Raises:
        ValueError: not such a message (lengths that do not fit, no LogMsg, an unknown kind).
    """
    mv = memoryview(data)
    for num, wt, a, b in _fields(mv, 0, len(mv)):
        if num == 1 and wt == 2:
            for k, wt2, c, d in _fields(mv, a, b):
                if wt2 == 2 and k in (KIND_STORE_INFO, KIND_ARROW, KIND_ACTIVATION):
                    return k, mv[c:d]
                raise ValueError(f"LogMsg field {k} is not a known message")
            raise ValueError("empty LogMsg")
    raise ValueError("no log_msg in the message")


def _arrow_is_static(body: memoryview) -> bool:
    """ArrowMsg.is_static (field 7) without parsing the payload into an object."""
    for num, wt, v, _ in _fields(body, 0, len(body)):
        if num == 7 and wt == 0:
            return bool(v)
    return False


def _store_kind(body: memoryview, kind: int) -> int:
    """The StoreId.kind of a SetStoreInfo (info.store_id), an ArrowMsg (store_id) or a
    BlueprintActivationCommand (blueprint_id); 0 if absent."""
    sid = None
    for num, wt, a, b in _fields(body, 0, len(body)):
        if kind == KIND_STORE_INFO and num == 2 and wt == 2:
            for n2, w2, c, d in _fields(body, a, b):
                if n2 == 2 and w2 == 2:
                    sid = (c, d)
        elif kind in (KIND_ARROW, KIND_ACTIVATION) and num == 1 and wt == 2:
            sid = (a, b)
    if sid is None:
        return 0
    for num, wt, v, _ in _fields(body, *sid):
        if num == 1 and wt == 0:
            return v
    return 0


def _strip_header(msg: bytes) -> bytes:
    """The protobuf body of an RRD-framed message (16-byte header + body)."""
    return msg[MSG_HEADER.size:]


# -- the sink ---------------------------------------------------------------------------------

@dataclass
class GrpcStats:
    """What a :class:`GrpcSink` did: messages and bytes handed to gRPC, chunks (and their rows)
    dropped because the queue was full, reconnects, the last error."""
    messages_sent: int = 0
    bytes_sent: int = 0
    chunks_dropped: int = 0
    rows_dropped: int = 0
    reconnects: int = 0
    resent: int = 0
    last_error: str = ""
    rows_dropped_per_entity: dict = field(default_factory=dict)


class GrpcSink:
    """Streams a recording to a Rerun message proxy (``WriteMessages``), as the official SDK's
    ``connect_grpc`` does: the store info first, then the blueprint store (if given) with its
    activation, then one ArrowMsg per chunk.

    Never blocks the caller: chunks wait in a queue of at most ``queue_bytes``; when it is full
    the oldest temporal chunk is dropped and counted (:attr:`stats`; static chunks are never
    dropped). While the proxy is unreachable the queue holds what arrives (up to the bound) and
    the sink reconnects with backoff (``reconnect_delay`` doubling up to ``max_reconnect_delay``
    seconds). A new connection starts again with the store info, the blueprint and every static
    chunk, then re-sends the last ``resend_bytes`` of messages of the broken call (a proxy that
    restarted lost them; one that did not ignores chunk ids it has — Rerun's store and ours do).

    Args:
        url: the proxy (``rerun+http://127.0.0.1:9876/proxy`` by default).
        application_id, recording_id: the recording's store id (as the ``.rrd`` writer's).
        blueprint: a :class:`rerun_ros.blueprint.model.Blueprint` sent as a blueprint store.
        compress: LZ4 chunk payloads (as in files).

    Raises:
        ValueError: a URL that is not ``rerun+http``.
    """

    def __init__(self, url: str = DEFAULT_URL, *, application_id: str = "rerun_ros", recording_id: str | None = None,
                 blueprint=None, queue_bytes: int = 256 << 20, compress: bool = True, reconnect_delay: float = 0.2,
                 max_reconnect_delay: float = 5.0, resend_bytes: int = 16 << 20):
        self.url = url
        self.host, self.port = parse_url(url)
        self.store_id = make_store_id(application_id, recording_id)
        self.compress = compress
        self.queue_bytes = queue_bytes
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.resend_bytes = resend_bytes
        self.stats = GrpcStats()
        self.connected = threading.Event()
        self._prelude: list[bytes] = [log_msg_request(KIND_STORE_INFO, _strip_header(store_info_msg(self.store_id)))]
        self._static: list[bytes] = []
        self._queue: deque = deque()  # (chunk or its request bytes, rows, entity, static, bytes counted)
        self._queued = 0
        self._cv = threading.Condition()
        self._closing = False
        self._live = False  # a WriteMessages call is open (set under the lock with the prelude taken)
        self._stop = threading.Event()
        self._channel = None
        if blueprint is not None:
            self.send_blueprint(blueprint)
        self._thread = threading.Thread(target=self._run, name="grpc-sink", daemon=True)
        self._thread.start()

    # -- what to send --------------------------------------------------------------------------

    def send_blueprint(self, blueprint, *, make_active: bool = True, make_default: bool = True) -> None:
        """Send ``blueprint`` (our YAML model) as a blueprint store of this application, now and
        on every reconnect."""
        from ..blueprint.rerun import blueprint_chunks
        bid = make_store_id(self.store_id.application_id, f"rec_{_uuid.uuid4().hex}", P.STORE_KIND_BLUEPRINT)
        msgs = [log_msg_request(KIND_STORE_INFO, _strip_header(store_info_msg(bid)))]
        for c in blueprint_chunks(blueprint):
            msgs.append(log_msg_request(KIND_ARROW, _strip_header_list(encode_arrow_msg(c, bid, self.compress))))
        msgs.append(log_msg_request(KIND_ACTIVATION, activation_msg(bid, make_active, make_default)))
        with self._cv:
            self._prelude = self._prelude[:1] + msgs
            if self._live:  # a call is open: these go next; later calls start with the prelude
                for m in msgs:
                    self._queue.append((m, 0, "", True, len(m)))
                    self._queued += len(m)
            self._cv.notify_all()

    def _encode(self, chunk: Chunk) -> bytes:
        return log_msg_request(KIND_ARROW, _strip_header_list(encode_arrow_msg(chunk, self.store_id, self.compress)))

    def write_chunk(self, chunk: Chunk) -> None:
        """Queue a chunk (never blocks: encoding happens on the sending thread, static chunks
        at once since every reconnect sends them again)."""
        item = self._encode(chunk) if chunk.is_static else chunk
        size = len(item) if chunk.is_static else chunk.nbytes
        with self._cv:
            if self._closing:
                raise ValueError("GrpcSink is closed")
            if chunk.is_static:
                self._static.append(item)
            self._queue.append((item, len(chunk), chunk.entity_path, chunk.is_static, size))
            self._queued += size
            while self._queued > self.queue_bytes:
                if not self._drop_oldest_temporal():
                    break
            self._cv.notify_all()

    def _drop_oldest_temporal(self) -> bool:
        for i, (req, rows, ent, static, size) in enumerate(self._queue):
            if not static:
                del self._queue[i]
                self._queued -= size
                self.stats.chunks_dropped += 1
                self.stats.rows_dropped += rows
                d = self.stats.rows_dropped_per_entity
                d[ent] = d.get(ent, 0) + rows
                return True
        return False

    # -- sending -------------------------------------------------------------------------------

    def _requests(self, first: list[bytes], sent: deque, call: dict) -> Iterator[bytes]:
        """The messages of one WriteMessages call. gRPC pulls them from its own thread, which may
        ask for one more after the call broke: a message leaves the queue (and enters ``sent``,
        the re-send window) only while ``call["alive"]``, both under the lock."""
        from .threads import name_os_thread
        name_os_thread("rr-grpc-send")
        total = 0
        for m in first:
            yield m
        while True:
            with self._cv:
                while not self._queue and not self._closing and not self._stop.is_set() and call["alive"]:
                    self._cv.wait(0.5)
                if not self._queue or not call["alive"]:
                    return  # closing, stopped, or the call is over: nothing more leaves the queue
                entry = self._queue.popleft()
                self._queued -= entry[4]
                self._cv.notify_all()
            req = entry[0] if isinstance(entry[0], bytes) else self._encode(entry[0])  # outside the lock
            with self._cv:
                if not call["alive"]:  # broke while encoding: back to the front of the queue
                    self._queue.appendleft((req, *entry[1:4], len(req)))
                    self._queued += len(req)
                    return
                sent.append(req)
                if not entry[3]:  # a temporal chunk on this call: unconfirmed until the call ends well
                    call["chunks"] += 1
                    call["rows"] += entry[1]
                    call["entities"][entry[2]] = call["entities"].get(entry[2], 0) + entry[1]
                total += len(req)
                while total > self.resend_bytes and len(sent) > 1:
                    total -= len(sent.popleft())
                self.stats.messages_sent += 1
                self.stats.bytes_sent += len(req)
                self._cv.notify_all()
            yield req

    def _run(self) -> None:
        delay = self.reconnect_delay
        resend: list[bytes] = []
        first_call = True
        while not self._stop.is_set():
            ch = grpc.insecure_channel(f"{self.host}:{self.port}", options=_CHANNEL_OPTIONS)
            self._channel = ch
            try:
                grpc.channel_ready_future(ch).result(timeout=max(delay, 1.0))
            except grpc.FutureTimeoutError:
                ch.close()
                if self._closing and not self._queue:
                    return
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_reconnect_delay)
                continue
            if not self._owner_trusted():
                ch.close()
                if self._closing:
                    return
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_reconnect_delay)
                continue
            with self._cv:
                prelude = list(self._prelude) + ([] if first_call else list(self._static))
                self._live = True
            known = set(prelude)
            first = prelude + [m for m in resend if m not in known]
            self.stats.resent += len(resend)
            sent: deque = deque()
            state = {"alive": True, "chunks": 0, "rows": 0, "entities": {}}
            call = ch.stream_unary(_SERVICE + "WriteMessages", request_serializer=_identity,
                                   response_deserializer=_identity)
            self.connected.set()
            try:
                call(self._requests(first, sent, state), timeout=None, wait_for_ready=False)
                resend = []
                delay = self.reconnect_delay
                first_call = False
                if self._closing or self._stop.is_set():
                    ch.close()
                    return
            except grpc.RpcError as e:
                with self._cv:  # from now on the broken call takes nothing more from the queue
                    state["alive"] = False
                    self._cv.notify_all()
                    window = list(sent)
                self.stats.last_error = f"{e.code().name}: {e.details()}"
                known = set(self._prelude)
                resend = [m for m in window if m not in known]
                first_call = False
                if self._closing or self._stop.is_set():
                    # no reconnect: nothing this call carried was confirmed (a proxy that never
                    # read, or one that failed): counted, never reported as streamed
                    self._count_unconfirmed(state)
                    resend = []
                    ch.close()
                    return
                self.stats.reconnects += 1
                log.warning("rerun proxy %s: %s; reconnecting", self.url, self.stats.last_error)
            finally:
                with self._cv:
                    self._live = False
                self.connected.clear()
                ch.close()
            if self._closing and not self._queue and not resend:
                return
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_reconnect_delay)

    def _count_unconfirmed(self, state: dict) -> None:
        """Count the temporal chunks of a call that ended in error as not streamed."""
        with self._cv:
            self.stats.chunks_dropped += state["chunks"]
            self.stats.rows_dropped += state["rows"]
            d = self.stats.rows_dropped_per_entity
            for ent, rows in state["entities"].items():
                d[ent] = d.get(ent, 0) + rows

    def _owner_trusted(self) -> bool:
        """A loopback proxy must be run by this user (or root): another local user who took the
        port first would otherwise receive the recording (the protocol has no authentication)."""
        from .peers import listener_owner, trusted_uid
        from .tcp import _is_loopback
        if not _is_loopback(self.host):
            return True
        uid = listener_owner(self.port)
        if uid is None or trusted_uid(uid):
            return True
        msg = f"{self.host}:{self.port} is served by uid {uid}, another user: not streaming to it"
        if self.stats.last_error != msg:
            self.stats.last_error = msg
            log.warning("rerun proxy %s: %s", self.url, msg)
        return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued message was handed to gRPC (False if not within ``timeout``)."""
        end = time.monotonic() + timeout
        with self._cv:
            while self._queue and time.monotonic() < end:
                self._cv.wait(0.05)
            return not self._queue

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (within ``timeout`` s), end the call, close the channel."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            with self._cv:
                self._cv.notify_all()
            ch = self._channel
            if ch is not None:
                ch.close()
            self._thread.join(2.0)
        with self._cv:
            for req, rows, ent, static, _ in self._queue:  # what never left is lost: counted
                if not static:
                    self.stats.chunks_dropped += 1
                    self.stats.rows_dropped += rows
                    d = self.stats.rows_dropped_per_entity
                    d[ent] = d.get(ent, 0) + rows
            self._queue.clear()
            self._queued = 0


def _identity(b):
    return b


def _strip_header_list(parts: list) -> list:
    """``encode_arrow_msg``'s [header + fields, payload] without the 16-byte RRD header."""
    return [parts[0][MSG_HEADER.size:], *parts[1:]]


# -- the reader (viewers) ---------------------------------------------------------------------

class GrpcReader:
    """Follows a proxy's ``ReadMessages`` stream and hands each new chunk of the first recording
    it announces to ``on_chunk`` (never twice for one chunk id; blueprint stores are passed to
    ``on_blueprint_chunk`` if given). Reconnects until closed. A damaged message is skipped and
    named in :attr:`errors`.

    Raises:
        ValueError: a URL that is not ``rerun+http``.
    """

    def __init__(self, url: str, on_chunk: Callable[[Chunk], None], *, reconnect_delay: float = 0.5,
                 on_blueprint_chunk: Callable[[Chunk], None] | None = None, application_id: str | None = None):
        self.url = url
        self.host, self.port = parse_url(url)
        self.on_chunk = on_chunk
        self.on_blueprint_chunk = on_blueprint_chunk
        self.application_id = application_id
        self.reconnect_delay = reconnect_delay
        self.seen: set = set()
        self.errors: list[str] = []
        self.recording: tuple[str, str] | None = None  # (application id, recording id) followed
        self.connected = threading.Event()
        self.connections = 0
        self._stop = threading.Event()
        self._call = None
        self._thread = threading.Thread(target=self._run, name="grpc-reader", daemon=True)
        self._thread.start()

    def _error(self, msg: str) -> None:
        if len(self.errors) < 100:
            self.errors.append(msg)

    def _handle(self, data: bytes) -> None:
        kind, body = split_log_msg(data)
        if kind == KIND_STORE_INFO:
            info = P.SetStoreInfo.FromString(body)
            sid = info.info.store_id
            if sid.kind == P.STORE_KIND_RECORDING and self.recording is None and (
                    self.application_id is None or sid.application_id.id == self.application_id):
                self.recording = (sid.application_id.id, sid.recording_id)
            return
        if kind != KIND_ARROW:
            return
        m, chunk = decode_arrow_msg(bytes(body))  # validated before use
        sid = m.store_id
        if chunk.id in self.seen:
            return
        if sid.kind == P.STORE_KIND_BLUEPRINT:
            if self.on_blueprint_chunk is not None:
                self.seen.add(chunk.id)
                self.on_blueprint_chunk(chunk)
            return
        if self.recording is None:
            if self.application_id is not None and sid.application_id.id != self.application_id:
                return
            self.recording = (sid.application_id.id, sid.recording_id)
        if (sid.application_id.id, sid.recording_id) != self.recording:
            return
        self.seen.add(chunk.id)
        self.on_chunk(chunk)

    def _run(self) -> None:
        while not self._stop.is_set():
            ch = grpc.insecure_channel(f"{self.host}:{self.port}", options=_CHANNEL_OPTIONS)
            try:
                grpc.channel_ready_future(ch).result(timeout=2.0)
                read = ch.unary_stream(_SERVICE + "ReadMessages", request_serializer=_identity,
                                       response_deserializer=_identity)
                self._call = read(b"")
                self.connections += 1
                self.connected.set()
                for data in self._call:
                    try:
                        self._handle(data)
                    except Exception as e:  # a stranger's message: skipped, named, never fatal
                        self._error(f"{self.url}: damaged message skipped: {e}")
            except grpc.FutureTimeoutError:
                pass
            except grpc.RpcError as e:
                if not self._stop.is_set() and e.code() != grpc.StatusCode.CANCELLED:
                    self._error(f"{self.url}: {e.code().name}: {e.details()}")
            finally:
                self.connected.clear()
                ch.close()
            self._stop.wait(self.reconnect_delay)

    def close(self) -> None:
        self._stop.set()
        call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout=5)
