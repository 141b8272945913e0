"""Entity paths, as Rerun defines them.

An entity path is a ``/``-separated list of parts (``/camera/image``). A part may hold any
character; ``/``, ``\\``, whitespace and other characters outside ``[A-Za-z0-9_\\-.]`` are
escaped with a backslash when the path is printed, as Rerun does (``re_log_types::EntityPath``
printing). ROS topic names map to entity paths directly: ``/camera/image_raw`` stays as it is,
``cloud_1`` (a relative topic name) becomes ``/cloud_1``.
"""
from __future__ import annotations

import re

__all__ = ["EntityPath", "parse", "join", "parent", "escape_part", "from_topic", "entity_glob", "match_parts"]

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


def match_parts(patterns: list[str], parts: list[str], match_one) -> bool:
    """Whether path ``parts`` match glob ``patterns`` part by part, ``**`` standing for any
    number of parts and ``match_one(pattern, part)`` deciding the others: a table over parts
    (``reach[k]``: the first k parts are matched by the patterns seen so far), no backtracking —
    O(patterns × parts) calls whatever the input."""
    reach = [True] + [False] * len(parts)
    for pat in patterns:
        nxt = [False] * (len(parts) + 1)
        if pat == "**":
            on = False
            for k in range(len(parts) + 1):
                on = on or reach[k]
                nxt[k] = on
        else:
            for k in range(len(parts)):
                if reach[k] and match_one(pat, parts[k]):
                    nxt[k + 1] = True
        reach = nxt
        if not any(reach):
            return False
    return reach[-1]


class EntityGlob:
    """A compiled entity glob (Rerun's entity filter syntax): ``*`` matches within one path part,
    ``**`` any number of parts; ``/a/**`` also matches ``/a``; a plain path matches itself.

    Matching is linear in the path's length times the pattern's (a table over parts and
    characters), never exponential: a pattern of many wildcards against a long name (a
    stranger's blueprint) answers at once, where a regular expression backtracks for minutes.
    ``match`` returns True/False (a match object's truthiness, as ``re`` patterns give)."""

    __slots__ = ("pattern", "_parts", "_cache")

    def __init__(self, pattern: str):
        self.pattern = pattern
        p = pattern.strip()
        self._parts = [x for x in p.split("/") if x != ""] if p not in ("", "/") else []
        self._cache: dict[str, bool] = {}

    @staticmethod
    def _part(pat: str, text: str) -> bool:
        """``*`` wildcard match of one part: two pointers with one backtrack point (linear in
        practice, O(len(pat) * len(text)) at worst)."""
        i = j = 0
        star, mark = -1, 0
        while j < len(text):
            if i < len(pat) and pat[i] != "*" and pat[i] == text[j]:
                i += 1
                j += 1
            elif i < len(pat) and pat[i] == "*":
                star, mark = i, j
                i += 1
            elif star >= 0:
                i = star + 1
                mark += 1
                j = mark
            else:
                return False
        while i < len(pat) and pat[i] == "*":
            i += 1
        return i == len(pat)

    def match(self, path: str) -> bool:
        hit = self._cache.get(path)
        if hit is not None:
            return hit
        parts = [x for x in path.split("/") if x != ""]
        hit = match_parts(self._parts, parts, self._part)
        if len(self._cache) < 4096:
            self._cache[path] = hit
        return hit


def entity_glob(pattern: str) -> EntityGlob:
    """Entity glob → a matcher (:class:`EntityGlob`): ``*`` one path part, ``**`` any depth;
    ``/a/**`` also matches ``/a`` (as Rerun's entity filters); a plain path matches itself."""
    return EntityGlob(pattern)
