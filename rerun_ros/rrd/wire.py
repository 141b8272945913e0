"""The RRD messages this project writes, encoded in protobuf's wire format here, so that writing
an ``.rrd`` never imports ``google.protobuf`` (its descriptor pool and message factory take
~15 ms to import, the cost of converting a tenth of the bench's 5-minute mix; every conversion
and worker paid it before writing a byte). Reading stays with google.protobuf
(:mod:`rerun_ros.rrd.proto`, which takes its constants from here).

Messages and field numbers: Rerun 0.41's ``rerun.log_msg.v1alpha1`` and
``rerun.common.v1alpha1`` (the public ``crates/store/re_protos/proto/`` files; the same fields
as :data:`rerun_ros.rrd.proto._MESSAGES`). Encoding: https://protobuf.dev/programming-guides/encoding/
— a key ``number << 3 | wire type`` per field; varints for int32/uint64/enum/bool, 8 bytes
little-endian for fixed64, length-delimited strings, bytes and nested messages; proto3 leaves a
scalar at its default (0, false, empty) out; a nested message that is set is written even when
empty. Fields come in number order, as protobuf's serializer writes them: the bytes equal
``SerializeToString()``'s (``test/test_rrd_compat.py``). ROS-free.
"""
from __future__ import annotations

import struct

__all__ = ["StoreId", "varint", "tuid_msg", "arrow_msg_head", "set_store_info", "activation", "footer",
           "KIND_END", "KIND_SET_STORE_INFO", "KIND_ARROW_MSG", "KIND_BLUEPRINT_ACTIVATION",
           "STORE_KIND_RECORDING", "STORE_KIND_BLUEPRINT", "COMPRESSION_NONE", "COMPRESSION_LZ4",
           "ENCODING_ARROW_IPC", "STORE_SOURCE_OTHER"]

# Message kinds of the 16-byte message header.
KIND_END, KIND_SET_STORE_INFO, KIND_ARROW_MSG, KIND_BLUEPRINT_ACTIVATION = 0, 1, 2, 3
# Enum values on the wire.
STORE_KIND_RECORDING, STORE_KIND_BLUEPRINT = 1, 2
COMPRESSION_NONE, COMPRESSION_LZ4 = 1, 2
ENCODING_ARROW_IPC = 1
STORE_SOURCE_OTHER = 6

_VARINT, _FIXED64, _LEN = 0, 1, 2
_U64 = struct.Struct("<Q")


def varint(n: int) -> bytes:
    """``n`` as a protobuf varint (a negative int32/int64 as its 64-bit two's complement)."""
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _int(field: int, v: int) -> bytes:
    return varint(field << 3 | _VARINT) + varint(v) if v else b""


def _fixed64(field: int, v: int) -> bytes:
    return varint(field << 3 | _FIXED64) + _U64.pack(v) if v else b""


def _bytes(field: int, v: bytes) -> bytes:
    return varint(field << 3 | _LEN) + varint(len(v)) + v if v else b""


def _message(field: int, body: bytes) -> bytes:
    """A nested message that is set (written even when all its fields are defaults)."""
    return varint(field << 3 | _LEN) + varint(len(body)) + body


class StoreId:
    """A store's id (``rerun.common.v1alpha1.StoreId``): ``kind`` (1 recording, 2 blueprint),
    ``recording_id`` and ``application_id`` (str). :meth:`encode` gives its wire bytes."""

    __slots__ = ("kind", "recording_id", "application_id", "_wire")

    def __init__(self, kind: int, recording_id: str, application_id: str):
        self.kind, self.recording_id, self.application_id = kind, recording_id, application_id
        self._wire: bytes | None = None

    def encode(self) -> bytes:
        if self._wire is None:  # (fields: 1 kind, 2 recording_id, 3 ApplicationId{1 id})
            self._wire = (_int(1, self.kind) + _bytes(2, self.recording_id.encode())
                          + _message(3, _bytes(1, self.application_id.encode())))
        return self._wire

    def __eq__(self, other) -> bool:
        return isinstance(other, StoreId) and (self.kind, self.recording_id, self.application_id) == \
            (other.kind, other.recording_id, other.application_id)

    def __hash__(self) -> int:
        return hash((self.kind, self.recording_id, self.application_id))

    def __repr__(self) -> str:
        return f"StoreId(kind={self.kind}, recording_id={self.recording_id!r}, application_id={self.application_id!r})"


def tuid_msg(time_ns: int, inc: int) -> bytes:
    """A ``Tuid`` body: 1 time_ns, 2 inc (fixed64 each)."""
    return _fixed64(1, time_ns) + _fixed64(2, inc)


def arrow_msg_head(store_id: StoreId, compression: int, uncompressed_size: int, chunk_id: tuple[int, int],
                   is_static: bool) -> bytes:
    """An ``ArrowMsg`` body without its payload (field 5), which the caller appends framed by
    hand so the payload is never copied: 1 store_id, 2 compression, 3 uncompressed_size (bytes),
    4 encoding (Arrow IPC), 6 chunk_id, 7 is_static. (Fields out of number order are valid
    protobuf; this is the layout the writer has always used.)"""
    return (_message(1, store_id.encode()) + _int(2, compression) + _int(3, uncompressed_size)
            + _int(4, ENCODING_ARROW_IPC) + _message(6, tuid_msg(*chunk_id)) + (b"\x38\x01" if is_static else b""))


def set_store_info(store_id: StoreId, row_id: tuple[int, int], source_payload: bytes, version_bits: int) -> bytes:
    """A ``SetStoreInfo`` body: 1 row_id, 2 StoreInfo{2 store_id, 5 StoreSource{1 kind (other),
    2 extra{1 payload}}, 6 StoreVersion{1 crate_version_bits}}."""
    info = (_message(2, store_id.encode())
            + _message(5, _int(1, STORE_SOURCE_OTHER) + _message(2, _bytes(1, source_payload)))
            + _message(6, _int(1, version_bits)))
    return _message(1, tuid_msg(*row_id)) + _message(2, info)


def activation(blueprint_id: StoreId, make_active: bool, make_default: bool) -> bytes:
    """A ``BlueprintActivationCommand`` body: 1 blueprint_id, 2 make_active, 3 make_default."""
    return _message(1, blueprint_id.encode()) + _int(2, int(make_active)) + _int(3, int(make_default))


def footer(store_id: StoreId, arrow_schema: bytes, schema_sha256: bytes, payload: bytes, compression: int,
           uncompressed_size: int) -> bytes:
    """An ``RrdFooter`` body with one ``RrdManifest``: 1 store_id, 2 sorbet_schema{1 arrow_schema},
    3 sorbet_schema_sha256, 4 data: DataframePart{1 encoder_version (1), 2 payload, 3 compression,
    4 uncompressed_size}."""
    data = _int(1, 1) + _bytes(2, payload) + _int(3, compression) + _int(4, uncompressed_size)
    manifest = (_message(1, store_id.encode()) + _message(2, _bytes(1, arrow_schema)) + _bytes(3, schema_sha256)
                + _message(4, data))
    return _message(1, manifest)
