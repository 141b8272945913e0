"""Which bags a fleet job converts: the inputs a user names, expanded to one :class:`BagInput` per
recording, with a content checksum (the resume key) and the output path it gets.

An input is a bag file (``.mcap``, ``.db3``), a rosbag2 directory (with ``metadata.yaml``), a
directory holding bags at any depth, a glob (``runs/**/*.mcap``), or a URI that fsspec opens
(``s3://bucket/robot_id/date/run_id/``, ``gs://``, ``file://``; the protocol's package, such as
``s3fs``, must be installed): bags there are listed the same way and fetched by the task that
converts them. Outputs keep the inputs' layout under the output directory
(``OUT/robot_7/2026-12-01/run_3.rrd``), as the seed's object-storage tier partitions runs by
``robot_id/date/run_id``.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["BagInput", "expand_inputs", "checksum", "InputError"]

BAG_SUFFIXES = (".mcap", ".db3")


class InputError(ValueError):
    """An input that names nothing to convert (message names it)."""


@dataclass(frozen=True)
class BagInput:
    """One recording to convert: ``source`` (local path or URI), ``relative`` (its path under the
    input root, without suffix: the output's name), ``size`` bytes, ``remote`` (fetched by the task)."""

    source: str
    relative: str
    size: int
    remote: bool = False

    def output(self, out_dir: str | os.PathLike) -> Path:
        return Path(out_dir) / (self.relative + ".rrd")


def _is_rosbag2_dir(p: Path) -> bool:
    return p.is_dir() and (p / "metadata.yaml").is_file()


def _bag_size(p: Path) -> int:
    try:
        if p.is_dir():
            return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
        return p.stat().st_size
    except OSError:
        return 0


def _rel_name(p: Path, root: Path) -> str:
    rel = p.relative_to(root) if p != root else Path(p.name)
    s = rel.as_posix()
    for suffix in BAG_SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    return _text(s or p.stem)  # (the output's name: valid UTF-8 whatever the input's bytes)


#: inputs met while expanding that are not bags to convert: (path, why); said, never silent
SKIPPED: list = []


def _skip(path, why: str) -> None:
    SKIPPED.append((_text(path), why))


def _text(path) -> str:
    """A path as text for reports and the catalog: bytes that are not UTF-8 (a file name from
    another locale) kept as ``\\xNN`` escapes instead of failing later."""
    s = os.fspath(path)
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_bag_file(p: Path) -> bool:
    """A regular file (through symlinks) with a bag's suffix; anything else named ``*.mcap`` —
    a FIFO, a device, a symlink to ``/dev/zero`` or to nothing — is skipped and said."""
    if p.suffix not in BAG_SUFFIXES:
        return False
    try:
        st = p.stat()
    except OSError as e:
        _skip(p, f"cannot be read ({e.strerror or e}{': a dangling symlink' if p.is_symlink() else ''})")
        return False
    if not stat.S_ISREG(st.st_mode):
        _skip(p, "not a regular file (a FIFO or device is not a bag)")
        return False
    return True


def _walk(root: Path):
    """(directory, subdirectories, files) under ``root`` like ``os.walk``, never through a
    symlinked directory (no loops), each unreadable directory said."""
    def onerror(e: OSError) -> None:
        _skip(e.filename or root, f"directory cannot be read ({e.strerror or e}); its bags were not converted")
    yield from os.walk(root, onerror=onerror, followlinks=False)


def _walk_local(root: Path) -> list[Path]:
    """Bags under a directory: rosbag2 directories (whole) and loose .mcap/.db3 files."""
    if _is_rosbag2_dir(root):
        return [root]
    found = []
    for dirpath, dirnames, filenames in _walk(root):
        d = Path(dirpath)
        if (d / "metadata.yaml").is_file():
            found.append(d)
            dirnames[:] = []
            continue
        dirnames.sort()
        found += [d / f for f in sorted(filenames) if _is_bag_file(d / f)]
    return found


def _glob_match(parts: list[str], rel: list[str]) -> bool:
    """``rel`` (path parts) against glob ``parts`` (``*``, ``?``, ``[...]`` within a part,
    ``**`` any number of parts): a table over parts, no backtracking."""
    import fnmatch

    from ..model.entity_path import match_parts
    return match_parts(parts, rel, lambda pat, name: fnmatch.fnmatchcase(name, pat))


def _glob_local(text: str) -> tuple[list[Path], Path]:
    """Paths matching a glob, found by walking its fixed prefix directory (symlinked
    directories not followed: a loop cannot hang it), sorted; and that prefix."""
    parts = Path(text).parts
    k = next(i for i, x in enumerate(parts) if any(ch in x for ch in "*?["))
    base = Path(*parts[:k]) if k else Path(".")
    pats = list(parts[k:])
    if not base.is_dir():
        return [], base
    out = []
    for dirpath, dirnames, filenames in _walk(base):
        d = Path(dirpath)
        rel_d = list(d.relative_to(base).parts)
        if rel_d and _glob_match(pats, rel_d):
            out.append(d)
        out += [d / f for f in filenames if _glob_match(pats, rel_d + [f])]
        dirnames.sort()
    return sorted(set(out)), base


def _expand_local(text: str) -> list[BagInput]:
    p = Path(text)
    if any(ch in text for ch in "*?["):
        matches, base = _glob_local(text)
        out = []
        taken: set = set()
        for m in matches:
            if any(parent in taken for parent in m.parents):
                continue  # inside a rosbag2 directory already taken whole
            if m.is_dir() and not m.is_symlink():
                bags = _walk_local(m)
            else:
                bags = [m] if _is_bag_file(m) else []
            for b in bags:
                if b not in taken:
                    taken.add(b)
                    out.append(BagInput(str(b), _rel_name(b, base), _bag_size(b)))
        if not out:
            raise InputError(f"{_text(text)}: the pattern matches no bag")
        return out
    if not p.exists():
        raise InputError(f"{_text(text)}: no such file or directory" + (" (a dangling symlink)" if p.is_symlink() else ""))
    if not p.is_dir():
        if not _is_bag_file(p):
            why = SKIPPED.pop()[1] if SKIPPED and SKIPPED[-1][0] == _text(p) else \
                "not a bag (.mcap, .db3 or a rosbag2 directory)"
            raise InputError(f"{_text(text)}: {why}")
        return [BagInput(str(p), _rel_name(p, p.parent), _bag_size(p))]
    bags = _walk_local(p)
    if not bags:
        raise InputError(f"{_text(text)}: no bag in this directory")
    root = p if not _is_rosbag2_dir(p) else p.parent
    return [BagInput(str(b), _rel_name(b, root), _bag_size(b)) for b in bags]


def _expand_uri(uri: str) -> list[BagInput]:
    try:
        import fsspec
    except ImportError:
        raise InputError(f"{uri}: reading URIs needs fsspec (pip install 'rerun_ros[fleet]')") from None
    try:
        fs, root = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as e:
        raise InputError(f"{uri}: {e}") from None
    proto = uri.split("://", 1)[0]
    if fs.isfile(root):
        entries = [root]
        base = str(PurePosixPath(root).parent)
    else:
        entries = []
        for dirpath, dirnames, filenames in fs.walk(root):
            if "metadata.yaml" in filenames:
                entries.append(dirpath.rstrip("/") + "/")
                dirnames[:] = []
                continue
            entries += [f"{dirpath.rstrip('/')}/{f}" for f in sorted(filenames) if f.endswith(BAG_SUFFIXES)]
        base = root.rstrip("/")
    out = []
    for e in entries:
        rel = e.rstrip("/")[len(base):].lstrip("/") or PurePosixPath(e.rstrip("/")).name
        for suffix in BAG_SUFFIXES:
            if rel.endswith(suffix):
                rel = rel[: -len(suffix)]
        size = sum(fs.du(e, total=False).values()) if e.endswith("/") else fs.size(e)
        out.append(BagInput(f"{proto}://{e}", rel, int(size or 0), remote=True))
    if not out:
        raise InputError(f"{uri}: no bag there")
    return out


def expand_inputs(inputs: list[str]) -> list[BagInput]:
    """Every bag the inputs name, in order, each once; outputs that would collide get the
    input's index as a prefix (``1/run_3``).

    Inputs met on the way that are not bags to convert (a dangling symlink, a FIFO named
    ``*.mcap``, an unreadable directory) are left in :data:`SKIPPED` as (path, why).

    Raises:
        InputError: an input that names no bag (one line naming it).
    """
    SKIPPED.clear()
    out: list[BagInput] = []
    seen_src: set[str] = set()
    for text in inputs:
        items = _expand_uri(text) if "://" in text and not text.startswith("file://") else \
            _expand_local(text[len("file://"):] if text.startswith("file://") else text)
        out += [b for b in items if not (b.source in seen_src or seen_src.add(b.source))]
    names: dict[str, int] = {}
    fixed = []
    for b in out:
        n = names.get(b.relative, 0)
        names[b.relative] = n + 1
        fixed.append(b if n == 0 else BagInput(b.source, f"{n}/{b.relative}", b.size, b.remote))
    return fixed


def checksum(path: str | os.PathLike) -> str:
    """xxh3-128 of a bag's bytes (a rosbag2 directory: of its files' names and bytes, in name
    order), hex. Reads 4 MiB at a time."""
    import xxhash
    h = xxhash.xxh3_128()
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if not stat.S_ISREG(f.stat().st_mode):  # (a FIFO or device would never end)
            raise OSError(f"{_text(f)}: not a regular file")
        if p.is_dir():
            h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            while True:
                block = fh.read(4 << 20)
                if not block:
                    break
                h.update(block)
    return h.hexdigest()
