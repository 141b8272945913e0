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

import glob as _glob
import os
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
    if p.is_dir():
        return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
    return p.stat().st_size


def _rel_name(p: Path, root: Path) -> str:
    rel = p.relative_to(root) if p != root else Path(p.name)
    s = rel.as_posix()
    for suffix in BAG_SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    return s or p.stem


def _walk_local(root: Path) -> list[Path]:
    """Bags under a directory: rosbag2 directories (whole) and loose .mcap/.db3 files."""
    if _is_rosbag2_dir(root):
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if (d / "metadata.yaml").is_file():
            found.append(d)
            dirnames[:] = []
            continue
        dirnames.sort()
        found += [d / f for f in sorted(filenames) if f.endswith(BAG_SUFFIXES)]
    return found


def _expand_local(text: str) -> list[BagInput]:
    p = Path(text)
    if any(ch in text for ch in "*?["):
        matches = [Path(m) for m in sorted(_glob.glob(text, recursive=True))]
        base = Path(text.split("*")[0].split("?")[0].split("[")[0] or ".")
        base = base if base.is_dir() else base.parent
        out = []
        for m in matches:
            for b in (_walk_local(m) if m.is_dir() else [m] if m.suffix in BAG_SUFFIXES else []):
                out.append(BagInput(str(b), _rel_name(b, base), _bag_size(b)))
        if not out:
            raise InputError(f"{text}: the pattern matches no bag")
        return out
    if not p.exists():
        raise InputError(f"{text}: no such file or directory")
    if p.is_file():
        if p.suffix not in BAG_SUFFIXES:
            raise InputError(f"{text}: not a bag (.mcap, .db3 or a rosbag2 directory)")
        return [BagInput(str(p), _rel_name(p, p.parent), _bag_size(p))]
    bags = _walk_local(p)
    if not bags:
        raise InputError(f"{text}: no bag in this directory")
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

    Raises:
        InputError: an input that names no bag (one line naming it).
    """
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
        if p.is_dir():
            h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            while True:
                block = fh.read(4 << 20)
                if not block:
                    break
                h.update(block)
    return h.hexdigest()
