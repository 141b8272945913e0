"""Finding and loading mesh files named by ROS resources (Marker MESH_RESOURCE, URDF meshes).

URIs: ``package://<pkg>/<path>`` is looked up as ``<prefix>/share/<pkg>/<path>`` for every
prefix in ``AMENT_PREFIX_PATH`` (the ament resource layout), then as ``<dir>/<pkg>/<path>`` and
``<dir>/<path>`` for every dir in ``RERUN_ROS_MESH_PATH`` / ``ROS_PACKAGE_PATH`` and the extra
search paths given; ``file:///abs/path`` and plain paths only inside those configured roots
(a stranger's bag must not embed files from elsewhere on this machine). Meshes (STL, OBJ,
DAE, glTF/GLB, PLY) are read with ``trimesh`` (DAE through ``pycollada``) and cached.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["resolve_uri", "load_mesh", "mesh_roots", "MeshData", "MeshError"]


class MeshError(ValueError):
    """A mesh that cannot be found or read (message names the URI and the reason)."""


@dataclass
class MeshData:
    """Triangles of a mesh in its own units (metres for ROS meshes): ``vertices`` (V, 3)
    float32, ``faces`` (T, 3) uint32, ``normals`` (V, 3) float32 or None, ``colors`` (V,) packed
    RGBA uint32 or None."""

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None


def _env_dirs(name: str) -> list[Path]:
    return [Path(p) for p in os.environ.get(name, "").split(os.pathsep) if p]


def _inside(p: Path, root: Path) -> bool:
    try:
        return p.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def mesh_roots(search_paths: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Directories the user allows meshes from beyond package shares: ``search_paths`` and
    ``RERUN_ROS_MESH_PATH``."""
    return [*map(Path, search_paths), *_env_dirs("RERUN_ROS_MESH_PATH")]


def resolve_uri(uri: str, search_paths: Sequence[str | os.PathLike] = ()) -> Path | None:
    """The local file a mesh URI names, or None if it cannot be found.

    A bag or URDF comes from anyone: ``package://pkg/...`` resolves only inside that package's
    share directory (or a configured root), after ``..`` and symlinks; ``file://`` URIs and
    plain paths only inside a configured root (``search_paths``, ``RERUN_ROS_MESH_PATH``).

    Raises:
        MeshError: the URI names a file outside every allowed directory.
    """
    roots = mesh_roots(search_paths)
    if uri.startswith("package://"):
        rest = uri[len("package://"):]
        pkg, _, rel = rest.partition("/")
        if not pkg or "/" in pkg or pkg in (".", ".."):
            raise MeshError(f"mesh {uri!r}: not a package URI")
        bases = [pre / "share" / pkg for pre in _env_dirs("AMENT_PREFIX_PATH")]
        for d in [*roots, *_env_dirs("ROS_PACKAGE_PATH")]:
            bases += [d / pkg, d]
        for base in bases:
            c = base / rel
            if c.is_file():
                if not _inside(c, base):
                    raise MeshError(f"mesh {uri!r}: refused, it leaves the package directory {base}")
                return c
        return None
    p = Path(uri[len("file://"):]) if uri.startswith("file://") else Path(uri)
    cands = [p] if p.is_absolute() else [d / p for d in roots]
    for c in cands:
        if c.is_file():
            if not any(_inside(c, r) for r in roots):
                raise MeshError(f"mesh {uri!r}: refused, outside the package share directories and mesh roots "
                                "(allow a directory with RERUN_ROS_MESH_PATH)")
            return c
    return None


@lru_cache(maxsize=64)
def _load(path: str, mtime: float) -> MeshData:
    import trimesh

    try:
        scene_or_mesh = trimesh.load(path, force="mesh", process=False)
    except Exception as e:
        raise MeshError(f"{path}: cannot read mesh: {type(e).__name__}: {e}") from None
    m = scene_or_mesh
    if not hasattr(m, "vertices") or len(m.vertices) == 0:
        raise MeshError(f"{path}: mesh has no triangles")
    v = np.asarray(m.vertices, dtype=np.float32)
    f = np.asarray(m.faces, dtype=np.uint32)
    normals = None
    try:
        normals = np.asarray(m.vertex_normals, dtype=np.float32)
    except Exception:
        pass
    colors = None
    vc = getattr(getattr(m, "visual", None), "vertex_colors", None)
    if getattr(m.visual, "kind", None) == "vertex" and vc is not None and len(vc) == len(v):
        c = np.asarray(vc, dtype=np.uint32)
        colors = (c[:, 0] << 24) | (c[:, 1] << 16) | (c[:, 2] << 8) | c[:, 3]
    return MeshData(v, f, normals, colors)


def load_mesh(uri: str, search_paths: Sequence[str | os.PathLike] = ()) -> MeshData:
    """Resolve and read a mesh (cached by path and modification time).

    Raises:
        MeshError: not found, or unreadable.
    """
    p = resolve_uri(uri, search_paths)
    if p is None:
        raise MeshError(f"mesh {uri!r} not found (searched AMENT_PREFIX_PATH, RERUN_ROS_MESH_PATH, ROS_PACKAGE_PATH)")
    return _load(str(p), p.stat().st_mtime)
