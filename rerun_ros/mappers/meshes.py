"""Finding and loading mesh files named by ROS resources (Marker MESH_RESOURCE, URDF meshes).

URIs: ``package://<pkg>/<path>`` is looked up as ``<prefix>/share/<pkg>/<path>`` for every
prefix in ``AMENT_PREFIX_PATH`` (the ament resource layout), then as ``<dir>/<pkg>/<path>`` and
``<dir>/<path>`` for every dir in ``RERUN_ROS_MESH_PATH`` / ``ROS_PACKAGE_PATH`` and the extra
search paths given; ``file:///abs/path`` and plain paths are used as they are. Meshes (STL, OBJ,
DAE, glTF/GLB, PLY) are read with ``trimesh`` (DAE through ``pycollada``) and cached.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["resolve_uri", "load_mesh", "MeshData", "MeshError"]


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


def resolve_uri(uri: str, search_paths: Sequence[str | os.PathLike] = ()) -> Path | None:
    """The local file a mesh URI names, or None if it cannot be found."""
    if uri.startswith("file://"):
        p = Path(uri[len("file://"):])
        return p if p.is_file() else None
    if uri.startswith("package://"):
        rest = uri[len("package://"):]
        pkg, _, rel = rest.partition("/")
        candidates = [pre / "share" / pkg / rel for pre in _env_dirs("AMENT_PREFIX_PATH")]
        for d in [*map(Path, search_paths), *_env_dirs("RERUN_ROS_MESH_PATH"), *_env_dirs("ROS_PACKAGE_PATH")]:
            candidates += [d / pkg / rel, d / rel]
        return next((c for c in candidates if c.is_file()), None)
    p = Path(uri)
    if p.is_file():
        return p
    for d in map(Path, search_paths):
        if (d / uri).is_file():
            return d / uri
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
