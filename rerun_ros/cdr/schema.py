"""ROS 2 message definitions as a typed tree, and their Arrow types.

A definition comes from the recording itself (an MCAP schema, a ``.db3``'s
``message_definitions`` table) in the ``ros2msg`` text format (the concatenated form rosbag2
writes: the message, then ``====`` lines and ``MSG: pkg/Type`` sections for every nested type)
or ``ros2idl``. The text is parsed with ``rosbags`` (its ``get_types_from_msg`` /
``get_types_from_idl``); nested types that the text does not define are looked up in a
``rosbags`` type store of a ROS 2 distribution (see :func:`typestore`), so a bag that refers to
``std_msgs/Header`` without embedding it still decodes.

The tree (:class:`Message`, :class:`Primitive`, :class:`Array`) is what the batch decoder
compiles (:mod:`rerun_ros.cdr.decoder`). :func:`arrow_type` gives the Arrow type of a decoded
message as the official converter (``rerun mcap convert`` 0.41) writes it: a struct of the
fields in definition order, nested messages as structs, fixed arrays and sequences as
``list<item not null>``, strings as ``utf8``; every field non-null.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

import pyarrow as pa

from ..model.names import normalize_type

__all__ = ["SchemaError", "Primitive", "Array", "Message", "FieldType", "parse_schema",
           "resolve", "arrow_type", "typestore", "normalize_type", "DISTROS"]


class SchemaError(ValueError):
    """A message definition that cannot be parsed or resolved (the message names the type and
    the problem, e.g. ``dvl_msgs/msg/DVL: nested type dvl_msgs/msg/DVLBeam is not defined``)."""


@dataclass(frozen=True)
class Primitive:
    """A ROS primitive: ``bool``, ``byte``, ``char``, ``int8`` … ``uint64``, ``float32``,
    ``float64`` or ``string`` (``bound``: the ``<=N`` of a bounded string, else 0)."""

    name: str
    bound: int = 0


@dataclass(frozen=True)
class Array:
    """``elem[N]`` (``length`` = N) or a sequence ``elem[]`` / ``elem[<=B]`` (``length`` None)."""

    elem: "FieldType"
    length: int | None = None
    bound: int = 0


@dataclass(frozen=True)
class Message:
    """A message type ``pkg/msg/Type`` with its fields (name, type) in definition order and its
    constants (name, ROS type, value)."""

    name: str
    fields: tuple[tuple[str, "FieldType"], ...]
    constants: tuple[tuple[str, str, object], ...] = ()


FieldType = Union[Primitive, Array, Message]

#: primitive → (numpy dtype code, size in bytes); strings are handled apart
PRIMITIVES: dict[str, tuple[str, int]] = {
    "bool": ("u1", 1), "byte": ("u1", 1), "char": ("u1", 1), "uint8": ("u1", 1), "int8": ("i1", 1),
    "uint16": ("u2", 2), "int16": ("i2", 2), "uint32": ("u4", 4), "int32": ("i4", 4),
    "uint64": ("u8", 8), "int64": ("i8", 8), "float32": ("f4", 4), "float64": ("f8", 8),
}

_ARROW = {"bool": pa.bool_(), "byte": pa.uint8(), "char": pa.uint8(), "uint8": pa.uint8(),
          "int8": pa.int8(), "uint16": pa.uint16(), "int16": pa.int16(), "uint32": pa.uint32(),
          "int32": pa.int32(), "uint64": pa.uint64(), "int64": pa.int64(), "float32": pa.float32(),
          "float64": pa.float64(), "string": pa.utf8()}

#: ROS 2 distributions with a rosbags type store, oldest first
DISTROS = ("foxy", "galactic", "humble", "iron", "jazzy", "kilted")


def distro_order(own: str | None) -> list[str]:
    """The distributions whose standard definitions are tried for a type recorded without one,
    in the order tried: the bag's own (``own``, e.g. rosbag2's ``ros_distro``) first, then
    newest to oldest (a newer definition is the likelier on a bag of unknown age)."""
    return ([own] if own else []) + [d for d in reversed(DISTROS) if d != own]


@lru_cache(maxsize=None)
def typestore(distro: str | None = None) -> dict:
    """The field definitions of ROS 2's standard types for ``distro`` (``humble``, ``jazzy``,
    ...; None or unknown: the newest rosbags knows), as rosbags' ``fielddefs`` mapping
    ``pkg/msg/Type -> (constants, fields)``."""
    from rosbags.typesys import Stores, get_typestore

    name = f"ROS2_{(distro or '').upper()}"
    if not hasattr(Stores, name):
        name = next(f"ROS2_{d.upper()}" for d in reversed(DISTROS) if hasattr(Stores, f"ROS2_{d.upper()}"))
    return get_typestore(getattr(Stores, name)).fielddefs


def parse_schema(type_name: str, text: str, encoding: str = "ros2msg") -> dict:
    """Parse a (concatenated) definition into rosbags' ``{type: (constants, fields)}`` form.

    Raises:
        SchemaError: the text does not parse, or the encoding is neither ros2msg nor ros2idl.
    """
    name = normalize_type(type_name)
    try:
        if encoding == "ros2msg" and "/srv/" in name and name.endswith("_Event") and _SRV_SPLIT.search(text):
            return _service_event(name, text)
        if encoding == "ros2msg":
            fast = _parse_msg(text, name)
            if fast is not None:
                return fast
            from rosbags.typesys import get_types_from_msg  # (its import costs ~15 ms: only when needed)
            return dict(get_types_from_msg(text, name))
        if encoding == "ros2idl":
            from rosbags.typesys import get_types_from_idl
            return dict(get_types_from_idl(text))
    except Exception as e:  # rosbags raises its own parse errors (TypesysError and friends)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SchemaError(f"{name}: cannot parse the message definition ({first[:160]})") from None
    raise SchemaError(f"{name}: schema encoding {encoding!r} is not supported (ros2msg, ros2idl are)")


_SRV_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SECTION = re.compile(r"^={3,}\s*$", re.MULTILINE)
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CONST_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BASE = {"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
         "int64", "uint64", "string"}


def _parse_msg(text: str, name: str) -> dict | None:
    """A fast parser of the plain ros2msg text format (lines ``TYPE name [default]``,
    ``TYPE NAME=VALUE``; ``MSG: pkg/Type`` sections), giving rosbags' form (the library's PEG
    parser costs ~6 ms a schema; a bag of 100 types would spend 0.6 s there). None for anything
    it does not handle (``wstring``, odd syntax): rosbags then parses it.

    Raises:
        SchemaError: a field name that is not a ROS field name.
    """
    out: dict = {}
    current = name
    for part in _SECTION.split(text):
        lines = part.strip().splitlines()
        if lines and lines[0].startswith("MSG:"):
            current = normalize_type(lines[0][4:].strip())
            lines = lines[1:]
        pkg = current.split("/")[0]
        consts, fields = [], []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            typ, _, rest = line.partition(" ")
            rest = rest.strip()
            if not rest:
                return None
            base, arr = typ, None
            if "[" in typ:
                base, _, dim = typ.partition("[")
                if not dim.endswith("]"):
                    return None
                arr = dim[:-1]
            bound = 0
            if base.startswith("string<="):
                base, bound = "string", base[len("string<="):]
                if not bound.isdigit():
                    return None
                bound = int(bound)
            if "=" in rest.split("#", 1)[0] and not rest.split("=", 1)[0].strip().islower():
                cname, _, value = rest.partition("=")
                cname = cname.strip()
                if arr is not None or not _CONST_NAME.match(cname):
                    return None
                value = value.strip() if base == "string" else value.split("#", 1)[0].strip()
                consts.append((cname, base, _const(base, value)))
                continue
            fname = rest.split("#", 1)[0].split()[0]
            if not _FIELD_NAME.match(fname) or "__" in fname or fname.endswith("_"):
                raise SchemaError(f"{name}: cannot parse the message definition ({fname!r} is not a field name)")
            if base in _BASE:
                node = (1, (base, bound))
            elif base == "wstring" or base.startswith("wstring<="):
                return None
            else:
                if base == "Header":
                    ref = "std_msgs/msg/Header"
                elif "/" in base:
                    ref = normalize_type(base)
                else:
                    ref = f"{pkg}/msg/{base}"
                node = (2, ref)
            if arr is not None:
                if arr == "":
                    node = (4, (node, 0))
                elif arr.startswith("<=") and arr[2:].isdigit():
                    node = (4, (node, int(arr[2:])))
                elif arr.isdigit():
                    node = (3, (node, int(arr)))
                else:
                    return None
            fields.append((fname, node))
        out[current] = (consts, fields)
    return out


def _const(base: str, value: str):
    try:
        if base == "bool":
            return value.lower() in ("true", "1")
        if base.startswith(("float",)):
            return float(value)
        if base == "string":
            return value
        return int(value, 0)
    except ValueError:
        return value


def _service_event(name: str, text: str) -> dict:
    """The definitions of a service event ``pkg/srv/Name_Event`` (what rosbag2 records for
    service introspection) from the service's ``.srv`` text (request ``---`` response): the
    event is ``service_msgs/ServiceEventInfo info``, ``Name_Request[<=1] request``,
    ``Name_Response[<=1] response`` (rosidl's generated service event message)."""
    from rosbags.typesys import get_types_from_msg

    base = name[: -len("_Event")]
    req_text, resp_text = _SRV_SPLIT.split(text, maxsplit=1)
    deps = ""
    m = re.search(r"^={3,}\s*$", resp_text, re.MULTILINE)
    if m:  # nested definitions rosbag2 appended after the response
        deps = resp_text[m.start():]
        resp_text = resp_text[:m.start()]
    defs: dict = {}
    for part, suffix in ((req_text, "_Request"), (resp_text, "_Response")):
        got = dict(get_types_from_msg(part + "\n" + deps, base + suffix))
        # rosbags files every parsed type under pkg/msg/...; the main one keeps its srv name
        main = next((k for k in got if k.endswith("/" + base.rsplit("/", 1)[1] + suffix)), None)
        if main is not None:
            defs[base + suffix] = got.pop(main)
        defs.update(got)
    defs[name] = ([], [("info", (2, "service_msgs/msg/ServiceEventInfo")),
                       ("request", (4, ((2, base + "_Request"), 1))),
                       ("response", (4, ((2, base + "_Response"), 1)))])
    return defs


def resolve(type_name: str, defs: dict, fallback=None) -> Message:
    """The typed tree of ``type_name`` from parsed definitions ``defs`` (see
    :func:`parse_schema`), nested types missing from ``defs`` taken from ``fallback`` (a
    :func:`typestore` mapping, or a callable returning one: loaded only when needed).

    Raises:
        SchemaError: an undefined nested type, a recursive definition or a ``wstring`` field.
    """
    cache: dict[str, Message] = {}

    def lookup(name: str):
        d = defs.get(name)
        if d is None and fallback is not None:
            store = fallback() if callable(fallback) else fallback
            d = store.get(name)
        return d

    def message(name: str, stack: tuple) -> Message:
        if name in cache:
            return cache[name]
        if name in stack:
            raise SchemaError(f"{normalize_type(type_name)}: recursive type {name}")
        d = lookup(name)
        if d is None:
            where = "" if name == normalize_type(type_name) else f"nested type {name} "
            raise SchemaError(f"{normalize_type(type_name)}: {where or 'type '}is not defined "
                              "(neither in the recording nor a standard ROS 2 type)")
        consts, fields = d
        out = []
        for fname, ftype in fields:
            out.append((fname, node(ftype, stack + (name,), fname)))
        msg = Message(name, tuple(out), tuple((c[0], c[1], c[2]) for c in consts))
        cache[name] = msg
        return msg

    def node(t, stack: tuple, fname: str) -> FieldType:
        kind, arg = t
        kind = int(kind)
        if kind == 1:  # BASE
            base, bound = arg
            if base not in _ARROW:
                raise SchemaError(f"{normalize_type(type_name)}: field {fname} has unsupported type {base}")
            return Primitive(base, int(bound or 0))
        if kind == 2:  # NAME
            if arg.endswith("/wstring"):
                raise SchemaError(f"{normalize_type(type_name)}: field {fname} is a wstring (not supported)")
            return message(arg, stack)
        if kind in (3, 4):  # ARRAY, SEQUENCE
            sub, n = arg
            elem = node(sub, stack, fname)
            return Array(elem, int(n)) if kind == 3 else Array(elem, None, int(n or 0))
        raise SchemaError(f"{normalize_type(type_name)}: field {fname} has an unknown node kind {kind}")

    return message(normalize_type(type_name), ())


def arrow_type(t: FieldType) -> pa.DataType:
    """The Arrow type of a decoded value of ``t`` (see the module docstring)."""
    if isinstance(t, Primitive):
        return _ARROW[t.name]
    if isinstance(t, Array):
        return pa.list_(pa.field("item", arrow_type(t.elem), nullable=False))
    return pa.struct([pa.field(n, arrow_type(ft), nullable=False) for n, ft in t.fields])
