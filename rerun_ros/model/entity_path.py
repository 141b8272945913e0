"""Entity paths, as Rerun defines them.

An entity path is a ``/``-separated list of parts (``/camera/image``). A part may hold any
character; ``/``, ``\\``, whitespace and other characters outside ``[A-Za-z0-9_\\-.]`` are
escaped with a backslash when the path is printed, as Rerun does (``re_log_types::EntityPath``
printing). ROS topic names map to entity paths directly: ``/camera/image_raw`` stays as it is,
``cloud_1`` (a relative topic name) becomes ``/cloud_1``.
"""
from __future__ import annotations

import re

__all__ = ["EntityPath", "parse", "join", "parent", "escape_part", "from_topic", "entity_glob"]

_PLAIN = re.compile(r"[A-Za-z0-9_\-.]+")


def escape_part(part: str) -> str:
    """Escape one path part for printing: characters outside ``[A-Za-z0-9_-.]`` get a ``\\``.

    Raises:
        ValueError: if ``part`` is empty.
    """
    if not part:
        raise ValueError("entity path part must not be empty")
    if _PLAIN.fullmatch(part):
        return part
    out = []
    for ch in part:
        if _PLAIN.fullmatch(ch):
            out.append(ch)
        elif ch == " ":
            out.append("\\ ")
        elif ch.isprintable() and not ch.isspace():
            out.append("\\" + ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return "".join(out)


def parse(path: str) -> tuple[str, ...]:
    """Split a printed entity path into its unescaped parts.

    ``"/a/b\\/c"`` gives ``("a", "b/c")``. Leading/trailing and repeated slashes are ignored;
    ``"/"`` is the root (no parts).

    Raises:
        ValueError: on a trailing lone backslash or a malformed ``\\u{...}`` escape.
    """
    parts: list[str] = []
    cur: list[str] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError(f"entity path {path!r}: trailing backslash")
            nxt = path[i + 1]
            if nxt == "u" and i + 2 < n and path[i + 2] == "{":
                end = path.find("}", i + 3)
                if end < 0:
                    raise ValueError(f"entity path {path!r}: unterminated \\u{{...}} escape")
                cur.append(chr(int(path[i + 3:end], 16)))
                i = end + 1
                continue
            cur.append(nxt)
            i += 2
            continue
        if ch == "/":
            if cur:
                parts.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        parts.append("".join(cur))
    return tuple(parts)


def format_parts(parts: tuple[str, ...] | list[str]) -> str:
    """Print parts as an entity path: ``("a", "b c")`` gives ``"/a/b\\ c"``; no parts give ``"/"``."""
    return "/" + "/".join(escape_part(p) for p in parts)


def join(*paths: str) -> str:
    """Join printed paths: ``join("/a", "b/c")`` gives ``"/a/b/c"``."""
    parts: list[str] = []
    for p in paths:
        parts.extend(parse(p))
    return format_parts(parts)


def parent(path: str) -> str | None:
    """The parent path (``"/a/b"`` gives ``"/a"``), or None for the root."""
    parts = parse(path)
    if not parts:
        return None
    return format_parts(parts[:-1])


def normalize(path: str) -> str:
    """Canonical printed form of a path (``"a//b/"`` gives ``"/a/b"``)."""
    return format_parts(parse(path))


def from_topic(topic: str) -> str:
    """Entity path of a ROS topic: the topic name with a leading slash (``cloud_1`` → ``/cloud_1``).

    ROS names only use ``[A-Za-z0-9_/~]``; a ``~`` (private name) is escaped.
    """
    return format_parts([p for p in topic.split("/") if p])


class EntityPath(str):
    """A normalized entity path string with ``parts`` and ``parent``."""

    def __new__(cls, path: str) -> "EntityPath":
        return super().__new__(cls, normalize(path))

    @property
    def parts(self) -> tuple[str, ...]:
        return parse(self)

    @property
    def parent(self) -> "EntityPath | None":
        p = parent(self)
        return None if p is None else EntityPath(p)

    def join(self, *other: str) -> "EntityPath":
        return EntityPath(join(self, *other))

    def is_descendant_of(self, other: str) -> bool:
        """True when ``other`` is a strict ancestor of this path."""
        mine, theirs = self.parts, parse(other)
        return len(mine) > len(theirs) and mine[: len(theirs)] == theirs


def entity_glob(pattern: str) -> re.Pattern:
    """Entity glob → regex: ``*`` one path part, ``**`` any depth; ``/a/**`` also matches ``/a``
    (as Rerun's entity filters); a plain path matches itself."""
    if pattern.endswith("/**"):
        base = entity_glob(pattern[:-3] or "/").pattern[1:-1]
        return re.compile("^" + (base if pattern[:-3] else "") + "(/.*)?$" if pattern[:-3] else "^/.*$|^/$")
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(parts) + "$")
