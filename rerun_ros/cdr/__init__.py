"""ROS 2 CDR → Arrow: message definitions (:mod:`.schema`) and compiled batch decoders
(:mod:`.decoder`). :func:`decoder_for` gives the (cached) decoder of a recorded type."""
from __future__ import annotations

from .decoder import BatchDecoder, Decoded
from .schema import SchemaError, normalize_type, parse_schema, resolve, typestore

__all__ = ["BatchDecoder", "Decoded", "SchemaError", "decoder_for"]

_CACHE: dict[tuple, BatchDecoder | SchemaError] = {}


def decoder_for(type_name: str, schema_encoding: str = "", schema_text: str = "",
                distro: str | None = None) -> BatchDecoder:
    """The batch decoder of ``type_name``, from the recorded definition when there is one
    (``schema_encoding`` ros2msg/ros2idl + ``schema_text``), nested types it lacks and
    types recorded without definition taken from the standard types of ``distro`` (None: the
    newest rosbags knows). Compiled once per (type, definition, distro).

    Raises:
        SchemaError: a definition that does not parse or resolve, or an unknown type.
    """
    key = (normalize_type(type_name), schema_encoding, schema_text, distro)
    d = _CACHE.get(key)
    if d is None:
        try:
            # a recorded definition, even an empty one (std_msgs/Empty), is the definition
            defs = parse_schema(type_name, schema_text, schema_encoding) if (schema_text.strip() or schema_encoding) else {}
            d = BatchDecoder(resolve(type_name, defs, lambda: typestore(distro)))
        except SchemaError as e:
            d = e
        if len(_CACHE) > 4096:
            _CACHE.clear()
        _CACHE[key] = d
    if isinstance(d, SchemaError):
        raise d
    return d
