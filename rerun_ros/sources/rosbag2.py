"""rosbag2 directories: ``metadata.yaml`` and compression (as rosbag2 writes them).

A rosbag2 bag is a directory with ``metadata.yaml`` (key ``rosbag2_bagfile_information``:
``storage_identifier`` mcap or sqlite3, ``relative_file_paths`` of the split files in order,
``compression_format`` (zstd) and ``compression_mode``: ``FILE`` compresses every split file
as a whole (``bag_0.mcap.zstd``), ``MESSAGE`` every message payload on its own; ``ros_distro``
since Iron). Facts from the rosbag2 sources (``rosbag2_storage/src/.../yaml.hpp``,
``rosbag2_compression``).
"""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .base import BagError, RawBatch, SourceStats

__all__ = ["BagMetadata", "bag_metadata", "db3_files", "open_member", "decompress_messages"]


@dataclass
class BagMetadata:
    """The parts of ``metadata.yaml`` readers need."""

    storage: str = ""
    relative_file_paths: list[str] = field(default_factory=list)
    compression_format: str = ""
    compression_mode: str = ""
    ros_distro: str | None = None
    version: int = 0
    #: topic → (type, serialization format, offered_qos_profiles text)
    topics: dict = field(default_factory=dict)


def bag_metadata(directory: str | os.PathLike) -> BagMetadata | None:
    """The bag's ``metadata.yaml``, or None when the directory has none.

    Raises:
        BagError: a metadata.yaml that does not parse.
    """
    meta = Path(directory) / "metadata.yaml"
    if not meta.is_file():
        return None
    import yaml

    from .. import safe_yaml

    try:
        info = safe_yaml.load(meta.read_text(), max_bytes=64 << 20) or {}
    except (yaml.YAMLError, UnicodeDecodeError, safe_yaml.YamlLimitError) as e:
        raise BagError(f"{meta}: unreadable metadata.yaml ({str(e).splitlines()[0]})") from None
    if not isinstance(info, dict):
        raise BagError(f"{meta}: metadata.yaml is not a mapping")
    bag = info.get("rosbag2_bagfile_information", info)
    if not isinstance(bag, dict):
        raise BagError(f"{meta}: rosbag2_bagfile_information is not a mapping")
    topics = {}
    for t in bag.get("topics_with_message_count") or []:
        tm = (t or {}).get("topic_metadata") or {}
        if isinstance(tm, dict) and tm.get("name"):
            topics[tm["name"]] = (tm.get("type", ""), tm.get("serialization_format", "cdr"),
                                  tm.get("offered_qos_profiles", "") or "")
    return BagMetadata(storage=str(bag.get("storage_identifier") or ""),
                       relative_file_paths=[str(p) for p in bag.get("relative_file_paths") or []],
                       compression_format=str(bag.get("compression_format") or ""),
                       compression_mode=str(bag.get("compression_mode") or "").upper(),
                       ros_distro=(str(bag["ros_distro"]).lower() if bag.get("ros_distro") else None),
                       version=int(bag.get("version") or 0), topics=topics)


_TEMP: list[str] = []


def _cleanup() -> None:
    if _TEMP:
        import shutil  # (imported when needed: every conversion imports this module)
        for d in _TEMP:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def open_member(path: Path) -> Path:
    """The readable file for a split file of a bag: ``path`` itself, or for a FILE-compressed
    ``*.zstd`` member its content decompressed into a temporary file (removed at exit).

    Raises:
        BagError: a ``.zstd`` file that does not decompress.
    """
    if path.suffix != ".zstd":
        return path
    import tempfile

    import zstandard

    d = tempfile.mkdtemp(prefix="rerun_ros_bag_")
    _TEMP.append(d)
    out = Path(d) / path.stem
    try:
        with open(path, "rb") as src, open(out, "wb") as dst:
            zstandard.ZstdDecompressor().copy_stream(src, dst)
    except zstandard.ZstdError as e:
        raise BagError(f"{path}: zstd file compression does not decompress ({e})") from None
    return out


def decompress_messages(batch: RawBatch, fmt: str, warn: Callable[[str], None],
                        stats: SourceStats) -> RawBatch | None:
    """A MESSAGE-compressed batch with every payload decompressed (one zstd call a message);
    a payload that does not decompress is reported and left out. None when none is left.

    Raises:
        BagError: a compression format other than zstd.
    """
    if fmt not in ("zstd", ""):
        raise BagError(f"rosbag2 message compression {fmt!r} is not supported (zstd is)")
    import zstandard

    dec = zstandard.ZstdDecompressor()
    mv = memoryview(batch.buf)
    out, keep = [], []
    for i, (o, n) in enumerate(zip(batch.offsets.tolist(), batch.lengths.tolist())):
        try:
            out.append(dec.decompress(mv[o:o + n]))
            keep.append(i)
        except zstandard.ZstdError as e:
            stats.damaged = True
            warn(f"topic {batch.channel.topic}: a message at log time {int(batch.log_time[i])} does not "
                 f"decompress (zstd: {e}); skipped")
    if not out:
        return None
    lens = np.fromiter((len(b) for b in out), np.int64, count=len(out))
    offs = np.zeros(len(out), np.int64)
    np.cumsum(lens[:-1], out=offs[1:])
    idx = np.asarray(keep, np.int64)
    return RawBatch(batch.channel, np.frombuffer(b"".join(out), np.uint8), offs, lens,
                    batch.log_time[idx], batch.publish_time[idx])


def db3_files(path: str | os.PathLike) -> list[Path] | None:
    """The ``.db3`` files of a bag path, or None if it is not a sqlite3 bag."""
    p = Path(path)
    if p.is_file():
        return [p] if p.suffix == ".db3" or p.name.endswith(".db3.zstd") else None
    if p.is_dir():
        try:
            meta = bag_metadata(p)
        except BagError:
            return None
        if meta is not None:
            if meta.storage == "sqlite3":
                return [p / f for f in meta.relative_file_paths] or sorted(p.glob("*.db3"))
            return None
        files = sorted(p.glob("*.db3"))
        return files if files and not list(p.glob("*.mcap")) else None
    return None
