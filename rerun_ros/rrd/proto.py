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

# Message kinds of the 16-byte message header.
KIND_END, KIND_SET_STORE_INFO, KIND_ARROW_MSG, KIND_BLUEPRINT_ACTIVATION = 0, 1, 2, 3
# Enum values on the wire.
STORE_KIND_RECORDING, STORE_KIND_BLUEPRINT = 1, 2
COMPRESSION_NONE, COMPRESSION_LZ4 = 1, 2
ENCODING_ARROW_IPC = 1
STORE_SOURCE_OTHER = 6
