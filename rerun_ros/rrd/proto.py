"""Protobuf messages of the RRD format (Rerun 0.41, packages rerun.log_msg.v1alpha1 and
rerun.common.v1alpha1), declared here with only the fields this project reads or writes.

The field numbers and types follow the public ``.proto`` files of the Rerun repository
(``crates/store/re_protos/proto/``); enums are declared as int32, which has the same wire
encoding. Built at import time with ``google.protobuf``'s descriptor API, so no generated code.
"""
from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_T = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _T.LABEL_OPTIONAL, _T.LABEL_REPEATED

# message name -> [(field name, number, type, type_name or None, label)]
_MESSAGES = {
    "Tuid": [("time_ns", 1, _T.TYPE_FIXED64, None, _OPT), ("inc", 2, _T.TYPE_FIXED64, None, _OPT)],
    "ApplicationId": [("id", 1, _T.TYPE_STRING, None, _OPT)],
    "StoreId": [("kind", 1, _T.TYPE_INT32, None, _OPT), ("recording_id", 2, _T.TYPE_STRING, None, _OPT),
                ("application_id", 3, _T.TYPE_MESSAGE, "ApplicationId", _OPT)],
    "StoreSourceExtra": [("payload", 1, _T.TYPE_BYTES, None, _OPT)],
    "StoreSource": [("kind", 1, _T.TYPE_INT32, None, _OPT), ("extra", 2, _T.TYPE_MESSAGE, "StoreSourceExtra", _OPT)],
    "StoreVersion": [("crate_version_bits", 1, _T.TYPE_INT32, None, _OPT)],
    "StoreInfo": [("store_id", 2, _T.TYPE_MESSAGE, "StoreId", _OPT),
                  ("store_source", 5, _T.TYPE_MESSAGE, "StoreSource", _OPT),
                  ("store_version", 6, _T.TYPE_MESSAGE, "StoreVersion", _OPT)],
    "SetStoreInfo": [("row_id", 1, _T.TYPE_MESSAGE, "Tuid", _OPT), ("info", 2, _T.TYPE_MESSAGE, "StoreInfo", _OPT)],
    "ArrowMsg": [("store_id", 1, _T.TYPE_MESSAGE, "StoreId", _OPT), ("compression", 2, _T.TYPE_INT32, None, _OPT),
                 ("uncompressed_size", 3, _T.TYPE_INT32, None, _OPT), ("encoding", 4, _T.TYPE_INT32, None, _OPT),
                 ("payload", 5, _T.TYPE_BYTES, None, _OPT), ("chunk_id", 6, _T.TYPE_MESSAGE, "Tuid", _OPT),
                 ("is_static", 7, _T.TYPE_BOOL, None, _OPT)],
    "BlueprintActivationCommand": [("blueprint_id", 1, _T.TYPE_MESSAGE, "StoreId", _OPT),
                                   ("make_active", 2, _T.TYPE_BOOL, None, _OPT),
                                   ("make_default", 3, _T.TYPE_BOOL, None, _OPT)],
    "Schema": [("arrow_schema", 1, _T.TYPE_BYTES, None, _OPT)],
    "DataframePart": [("encoder_version", 1, _T.TYPE_INT32, None, _OPT), ("payload", 2, _T.TYPE_BYTES, None, _OPT),
                      ("compression", 3, _T.TYPE_INT32, None, _OPT), ("uncompressed_size", 4, _T.TYPE_UINT64, None, _OPT)],
    "RrdManifest": [("store_id", 1, _T.TYPE_MESSAGE, "StoreId", _OPT), ("sorbet_schema", 2, _T.TYPE_MESSAGE, "Schema", _OPT),
                    ("sorbet_schema_sha256", 3, _T.TYPE_BYTES, None, _OPT),
                    ("data", 4, _T.TYPE_MESSAGE, "DataframePart", _OPT)],
    "RrdFooter": [("manifests", 1, _T.TYPE_MESSAGE, "RrdManifest", _REP)],
}

_PKG = "rerun_ros.rrd"


def _build():
    fdp = descriptor_pb2.FileDescriptorProto(name="rerun_ros_rrd.proto", package=_PKG, syntax="proto3")
    for name, fields in _MESSAGES.items():
        m = fdp.message_type.add(name=name)
        for fname, num, ftype, tname, label in fields:
            f = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                f.type_name = f".{_PKG}.{tname}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PKG}.{name}"))
            for name in _MESSAGES}


_CLASSES = _build()
Tuid = _CLASSES["Tuid"]
ApplicationId = _CLASSES["ApplicationId"]
StoreId = _CLASSES["StoreId"]
StoreSource = _CLASSES["StoreSource"]
StoreInfo = _CLASSES["StoreInfo"]
SetStoreInfo = _CLASSES["SetStoreInfo"]
ArrowMsg = _CLASSES["ArrowMsg"]
BlueprintActivationCommand = _CLASSES["BlueprintActivationCommand"]
RrdFooter = _CLASSES["RrdFooter"]
RrdManifest = _CLASSES["RrdManifest"]
DataframePart = _CLASSES["DataframePart"]

# Message kinds of the 16-byte message header and enum values on the wire (one definition,
# in the writer's encoder).
from .wire import (COMPRESSION_LZ4, COMPRESSION_NONE, ENCODING_ARROW_IPC, KIND_ARROW_MSG,  # noqa: E402,F401
                   KIND_BLUEPRINT_ACTIVATION, KIND_END, KIND_SET_STORE_INFO, STORE_KIND_BLUEPRINT,
                   STORE_KIND_RECORDING, STORE_SOURCE_OTHER)


class ArrowMsgView:
    """The fields of one ``ArrowMsg`` read in place (:func:`scan_arrow_msg`): ``payload`` is a
    memoryview into the caller's buffer (no copy of the chunk bytes), ``store_id`` the raw bytes
    of the nested ``StoreId`` message, ``chunk_id`` ``(time_ns, inc)`` or None."""

    __slots__ = ("store_id", "compression", "uncompressed_size", "encoding", "payload", "chunk_id", "is_static")

    def __init__(self):
        self.store_id = b""
        self.compression = self.uncompressed_size = self.encoding = 0
        self.payload = b""
        self.chunk_id = None
        self.is_static = False


def _varint(b, i: int, end: int) -> tuple[int, int]:
    r = s = 0
    while True:
        if i >= end or s > 63:
            raise ValueError("truncated or overlong varint")
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 128:
            return r, i


def scan_arrow_msg(buf: memoryview, start: int, end: int) -> ArrowMsgView:
    """Read the ``ArrowMsg`` protobuf message in ``buf[start:end]`` without copying its payload
    (protobuf wire format: https://protobuf.dev/programming-guides/encoding/; fields as in
    ``_MESSAGES["ArrowMsg"]``). Unknown fields are skipped; the last occurrence of a field wins,
    as in protobuf.

    Raises:
        ValueError: a truncated field, a length past ``end``, a group or an unknown wire type.
    """
    m = ArrowMsgView()
    i = start
    while i < end:
        tag = buf[i]
        i += 1
        if tag >= 128:
            tag, i = _varint(buf, i - 1, end)
        field, wt = tag >> 3, tag & 7
        if wt == 0:
            x = buf[i] if i < end else 128
            if x < 128:
                v, i = x, i + 1
            else:
                v, i = _varint(buf, i, end)
            if field == 2:
                m.compression = v
            elif field == 3:
                m.uncompressed_size = v
            elif field == 4:
                m.encoding = v
            elif field == 7:
                m.is_static = v != 0
        elif wt == 2:
            n, i = _varint(buf, i, end)
            if i + n > end:
                raise ValueError(f"field {field} of {n} bytes runs past the message end")
            if field == 5:
                m.payload = buf[i:i + n]
            elif field == 1:
                m.store_id = bytes(buf[i:i + n])
            elif field == 6:
                t = Tuid.FromString(bytes(buf[i:i + n]))
                m.chunk_id = (t.time_ns, t.inc)
            i += n
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wt} of field {field} is not supported")
    if i != end:
        raise ValueError("last field runs past the message end")
    return m
