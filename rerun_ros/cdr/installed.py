"""Message definitions of the ROS 2 types installed on this machine (for live topics).

A live topic's messages are decoded with the installed type's own definition, the
``share/<pkg>/msg/<Type>.msg`` files of the ament prefixes (``AMENT_PREFIX_PATH``, and the Python
prefix where the ROS 2 wheels put them). :func:`installed_definition` returns the definition
concatenated as rosbag2 writes it into MCAP schemas (the message, then for every nested type a
line of ``=`` and ``MSG: pkg/msg/Type`` followed by its text), so live and recorded data go
through the same decoder, and a recording made live carries the definitions it was made with.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from .schema import SchemaError, normalize_type, parse_schema

__all__ = ["installed_definition", "prefixes"]

_SEP = "=" * 80


def prefixes() -> list[Path]:
    """The ament prefixes searched, in order (``AMENT_PREFIX_PATH``, then ``sys.prefix``)."""
    out = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    out.append(Path(sys.prefix))
    return out


def _msg_file(type_name: str) -> Path | None:
    pkg, _, name = normalize_type(type_name).partition("/msg/")
    for pre in prefixes():
        f = pre / "share" / pkg / "msg" / f"{name}.msg"
        if f.is_file():
            return f
    return None


@lru_cache(maxsize=1024)
def installed_definition(type_name: str) -> str | None:
    """The concatenated ros2msg definition of an installed type, or None when its ``.msg``
    file (or one of its nested types') is not installed. ``builtin_interfaces`` types, which
    every distribution defines the same way, may be missing; the decoder knows them."""
    main = _msg_file(type_name)
    if main is None:
        return None
    texts: dict[str, str] = {}
    todo = [normalize_type(type_name)]
    while todo:
        t = todo.pop()
        if t in texts:
            continue
        f = main if t == normalize_type(type_name) else _msg_file(t)
        if f is None:
            if t.startswith("builtin_interfaces/"):
                continue
            return None
        text = f.read_text(errors="replace")
        texts[t] = text
        try:
            defs = parse_schema(t, text)
        except SchemaError:
            return None
        for _, fields in defs.values():
            for _, (kind, arg) in fields:
                while int(kind) in (3, 4):  # arrays: their element
                    kind, arg = arg[0]
                if int(kind) == 2 and arg not in texts:
                    todo.append(arg)
    first = texts.pop(normalize_type(type_name))
    parts = [first.rstrip("\n")]
    for t, text in texts.items():
        pkg, _, name = t.partition("/msg/")
        parts.append(f"{_SEP}\nMSG: {pkg}/{name}\n{text.rstrip()}")
    return "\n".join(parts) + "\n"
