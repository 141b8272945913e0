"""Fast decoding of the most frequent ROS 2 messages from little-endian CDR.

TF is the most frequent small message in a robot log (hundreds per second); the generic,
schema-driven decoder of ``mcap-ros2-support`` spends ~100 µs on each. Camera images and point
clouds are the largest; the generic decoder copies their ``data`` arrays out of the message.
These decoders handle exactly the standard layouts of ``tf2_msgs/msg/TFMessage``,
``sensor_msgs/msg/Image`` and ``sensor_msgs/msg/PointCloud2`` (XCDR1, encapsulation ``00 01``)
with ``struct`` and return objects with the same field names; Image and PointCloud2 ``data`` is
a ``memoryview`` into the message buffer (no copy). Anything else (big-endian, other layouts)
is left to the generic decoder. Layout per the OMG CDR rules: primitives aligned to their size,
relative to the end of the 4-byte encapsulation header; strings are a uint32 length
(including the NUL) followed by the bytes.
"""
from __future__ import annotations

import struct

__all__ = ["decode_tf_message", "is_standard_tf_schema", "decode_image", "decode_point_cloud2",
           "fast_decoder_for"]

_U32 = struct.Struct("<I")
_STAMP = struct.Struct("<iI")
_TRANSFORM = struct.Struct("<7d")


class _Obj:
    """A plain record with named fields (what the generic decoder's classes look like)."""

    __slots__ = ("__dict__",)

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


_EXPECTED = {
    "": [("TransformStamped[]", "transforms")],
    "TransformStamped": [("Header", "header"), ("string", "child_frame_id"), ("Transform", "transform")],
    "Header": [("Time", "stamp"), ("string", "frame_id")],
    "Time": [("int32", "sec"), ("uint32", "nanosec")],
    "Transform": [("Vector3", "translation"), ("Quaternion", "rotation")],
    "Vector3": [("float64", "x"), ("float64", "y"), ("float64", "z")],
    "Quaternion": [("float64", "x"), ("float64", "y"), ("float64", "z"), ("float64", "w")],
}


def _fields(section: str) -> tuple[str, list[tuple[str, str]]]:
    name, fields = "", []
    for line in section.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("MSG:"):
            name = line[4:].strip().rsplit("/", 1)[-1]
            continue
        parts = line.split()
        if len(parts) < 2 or "=" in parts[1] or (len(parts) > 2 and parts[2].startswith("=")):
            continue  # a constant: "TYPE NAME=VALUE" or "TYPE NAME = VALUE"
        fields.append((parts[0].rsplit("/", 1)[-1], parts[1]))
    return name, fields


def _matches(schema_text: str, expected: dict) -> bool:
    sections = [s for s in schema_text.split("\n=") if s.strip()]
    found = {}
    for sec in sections:
        sec = sec.lstrip("=\n")
        name, fields = _fields(sec)
        found.setdefault(name, fields)
    return all(found.get(k) == v for k, v in expected.items())


def is_standard_tf_schema(schema_text: str) -> bool:
    """True if the ``ros2msg`` definition is the standard tf2_msgs/TFMessage: the same field
    types and names in every nested message (comments and default values ignored)."""
    return _matches(schema_text, _EXPECTED)


_HEADER = {"Header": [("Time", "stamp"), ("string", "frame_id")], "Time": [("int32", "sec"), ("uint32", "nanosec")]}
_EXPECTED_IMAGE = {
    "": [("Header", "header"), ("uint32", "height"), ("uint32", "width"), ("string", "encoding"),
         ("uint8", "is_bigendian"), ("uint32", "step"), ("uint8[]", "data")], **_HEADER}
_EXPECTED_CLOUD = {
    "": [("Header", "header"), ("uint32", "height"), ("uint32", "width"), ("PointField[]", "fields"),
         ("bool", "is_bigendian"), ("uint32", "point_step"), ("uint32", "row_step"), ("uint8[]", "data"),
         ("bool", "is_dense")],
    "PointField": [("string", "name"), ("uint32", "offset"), ("uint8", "datatype"), ("uint32", "count")],
    **_HEADER}


def fast_decoder_for(schema_name: str, schema_text: str):
    """The fast decoder for a schema (by name, then checked field by field), or None."""
    name = schema_name.replace("/msg/", "/")
    if name == "tf2_msgs/TFMessage" and _matches(schema_text, _EXPECTED):
        return decode_tf_message
    if name == "sensor_msgs/Image" and _matches(schema_text, _EXPECTED_IMAGE):
        return decode_image
    if name == "sensor_msgs/PointCloud2" and _matches(schema_text, _EXPECTED_CLOUD):
        return decode_point_cloud2
    return None


class _Reader:
    """Sequential little-endian CDR reads; alignment relative to the payload start (offset 4)."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: memoryview):
        self.buf, self.pos = buf, 4

    def u32(self) -> int:
        self.pos += (-(self.pos - 4)) % 4
        (v,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def u8(self) -> int:
        if self.pos >= len(self.buf):
            raise ValueError("truncated buffer")
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def string(self) -> str:
        n = self.u32()
        if self.pos + n > len(self.buf):
            raise ValueError("truncated string")
        v = bytes(self.buf[self.pos:self.pos + n - 1]).decode() if n else ""
        self.pos += n
        return v

    def header(self):
        self.pos += (-(self.pos - 4)) % 4
        sec, nsec = _STAMP.unpack_from(self.buf, self.pos)
        self.pos += 8
        return _Obj(stamp=_Obj(sec=sec, nanosec=nsec), frame_id=self.string())

    def bytes_view(self) -> memoryview:
        n = self.u32()
        if self.pos + n > len(self.buf):
            raise ValueError(f"data of {n} bytes does not fit in the {len(self.buf)}-byte message")
        v = self.buf[self.pos:self.pos + n]
        self.pos += n
        return v


def _little_endian_cdr(data) -> memoryview | None:
    buf = memoryview(data)
    if buf.ndim != 1 or buf.itemsize != 1:
        buf = buf.cast("B")
    if len(buf) < 8 or buf[0] != 0 or buf[1] != 1:
        return None
    return buf


def decode_image(data: bytes | memoryview):
    """Decode one sensor_msgs/Image: ``header``, ``height``, ``width`` (px), ``encoding``,
    ``is_bigendian``, ``step`` (bytes per row), ``data`` (a memoryview into ``data``: keep the
    buffer alive while it is used); None when the buffer is not little-endian CDR.

    Raises:
        ValueError: a truncated or inconsistent buffer.
    """
    return _decode(data, "Image", _read_image)


def _read_image(r: "_Reader"):
    header = r.header()
    height, width = r.u32(), r.u32()
    encoding = r.string()
    big = r.u8()
    step = r.u32()
    return _Obj(header=header, height=height, width=width, encoding=encoding, is_bigendian=big, step=step,
                data=r.bytes_view())


def _decode(data, what: str, read):
    """``read(reader)`` on little-endian CDR ``data``; None for other encodings."""
    buf = _little_endian_cdr(data)
    if buf is None:
        return None
    try:
        return read(_Reader(buf))
    except struct.error as e:
        raise ValueError(f"{what}: truncated buffer ({e})") from None


def decode_point_cloud2(data: bytes | memoryview):
    """Decode one sensor_msgs/PointCloud2: ``header``, ``height``, ``width``, ``fields`` (each
    ``name``, ``offset`` (bytes), ``datatype`` (PointField code), ``count``), ``is_bigendian``,
    ``point_step``, ``row_step`` (bytes), ``data`` (a memoryview into ``data``), ``is_dense``;
    None when the buffer is not little-endian CDR.

    Raises:
        ValueError: a truncated or inconsistent buffer.
    """
    return _decode(data, "PointCloud2", _read_point_cloud2)


def _read_point_cloud2(r: "_Reader"):
    header = r.header()
    height, width = r.u32(), r.u32()
    n = r.u32()
    if n > len(r.buf) // 13:
        raise ValueError(f"PointCloud2: {n} fields cannot fit in {len(r.buf)} bytes")
    fields = []
    for _ in range(n):
        name = r.string()
        offset = r.u32()
        datatype = r.u8()
        fields.append(_Obj(name=name, offset=offset, datatype=datatype, count=r.u32()))
    big = bool(r.u8())
    point_step, row_step = r.u32(), r.u32()
    points = r.bytes_view()
    return _Obj(header=header, height=height, width=width, fields=fields, is_bigendian=big,
                point_step=point_step, row_step=row_step, data=points, is_dense=bool(r.u8()))


def decode_tf_message(data: bytes | memoryview):
    """Decode one TFMessage; returns an object with ``transforms`` (each with ``header.stamp.sec``,
    ``header.stamp.nanosec``, ``header.frame_id``, ``child_frame_id``, ``transform.translation.x/y/z``,
    ``transform.rotation.x/y/z/w``), or None when the buffer is not little-endian CDR.

    Raises:
        ValueError: a truncated or inconsistent buffer.
    """
    buf = memoryview(data)
    if len(buf) < 8 or buf[0] != 0 or buf[1] != 1:
        return None
    base = 4  # alignment is relative to the start of the payload
    pos = base
    try:
        (n,) = _U32.unpack_from(buf, pos)
        pos += 4
        if n > (len(buf) - pos) // 40:
            raise ValueError(f"TFMessage: {n} transforms cannot fit in {len(buf)} bytes")
        out = []
        for _ in range(n):
            pos += (-(pos - base)) % 4
            sec, nsec = _STAMP.unpack_from(buf, pos)
            pos += 8
            (ln,) = _U32.unpack_from(buf, pos)
            pos += 4
            frame = bytes(buf[pos:pos + ln - 1]).decode() if ln else ""
            pos += ln
            pos += (-(pos - base)) % 4
            (ln,) = _U32.unpack_from(buf, pos)
            pos += 4
            child = bytes(buf[pos:pos + ln - 1]).decode() if ln else ""
            pos += ln
            pos += (-(pos - base)) % 8
            tx, ty, tz, qx, qy, qz, qw = _TRANSFORM.unpack_from(buf, pos)
            pos += 56
            out.append(_Obj(header=_Obj(stamp=_Obj(sec=sec, nanosec=nsec), frame_id=frame),
                            child_frame_id=child,
                            transform=_Obj(translation=_Obj(x=tx, y=ty, z=tz),
                                           rotation=_Obj(x=qx, y=qy, z=qz, w=qw))))
    except struct.error as e:
        raise ValueError(f"TFMessage: truncated buffer ({e})") from None
    return _Obj(transforms=out)
