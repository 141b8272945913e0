"""A blueprint (:mod:`rerun_ros.blueprint.model`) as the official Rerun viewer reads it: a
*blueprint store* — a recording of its own (store kind blueprint, same application id as the data)
whose entities are the layout (Rerun 0.41's blueprint archetypes, as the official SDK writes them):

- ``/viewport``: ``ViewportBlueprint:root_container`` (the root container's 16-byte id);
- ``/container/<uuid>``: ``ContainerBlueprint`` ``container_kind`` (1 tabs, 2 horizontal,
  3 vertical, 4 grid), ``contents`` (``view/<uuid>``, ``container/<uuid>``), ``col_shares`` /
  ``row_shares``;
- ``/view/<uuid>``: ``ViewBlueprint`` ``class_identifier`` (``3D``, ``2D``, ``TimeSeries``,
  ``TextLog``), ``display_name``, ``space_origin``; ``/view/<uuid>/ViewContents``: ``query``
  (entity path expressions: ``+ /a/**``, ``- /b``, ``$origin/**``);
  ``/view/<uuid>/SpatialInformation``: ``target_frame`` (a 3D view's fixed frame).

Every row is at sequence 0 of the ``blueprint`` timeline; after the chunks a
``BlueprintActivationCommand`` makes the blueprint active and the default. What has no Rerun
counterpart is left out: ``series`` of message fields, ``project`` (camera projection), a
time series' ``time_range``; a ``diagnostics`` view becomes a text log view (DiagnosticArray rows
carry TextLog). Rerun's entity path expressions know exact paths and ``/**`` subtrees: a glob with
``*`` inside a path is passed as written.
"""
from __future__ import annotations

import uuid as _uuid

import numpy as np
import pyarrow as pa

from ..model import components as C
from ..model.chunk import Chunk
from ..model.components import ComponentDescriptor
from .model import Blueprint, Container, View

__all__ = ["blueprint_chunks", "save_rbl", "VIEW_CLASS", "CONTAINER_KIND"]

VIEW_CLASS = {"spatial3d": "3D", "spatial2d": "2D", "timeseries": "TimeSeries", "textlog": "TextLog",
              "diagnostics": "TextLog", "map": "Map", "textdocument": "TextDocument", "barchart": "BarChart"}
CONTAINER_KIND = {"tabs": 1, "horizontal": 2, "vertical": 3, "grid": 4}
_BA = "rerun.blueprint.archetypes."
_BC = "rerun.blueprint.components."


def _d(archetype: str, field: str, component_type: str) -> ComponentDescriptor:
    return ComponentDescriptor(archetype, field, component_type, _BA[:-1])


VIEW_CLASS_D = _d("ViewBlueprint", "class_identifier", _BC + "ViewClass")
DISPLAY_NAME_D = _d("ViewBlueprint", "display_name", "rerun.components.Name")
SPACE_ORIGIN_D = _d("ViewBlueprint", "space_origin", _BC + "ViewOrigin")
QUERY_D = _d("ViewContents", "query", _BC + "QueryExpression")
TARGET_FRAME_D = _d("SpatialInformation", "target_frame", "rerun.components.TransformFrameId")
CONTAINER_KIND_D = _d("ContainerBlueprint", "container_kind", _BC + "ContainerKind")
CONTENTS_D = _d("ContainerBlueprint", "contents", _BC + "IncludedContent")
COL_SHARES_D = _d("ContainerBlueprint", "col_shares", _BC + "ColumnShare")
ROW_SHARES_D = _d("ContainerBlueprint", "row_shares", _BC + "RowShare")
ROOT_D = _d("ViewportBlueprint", "root_container", _BC + "RootContainer")

_UUID16 = pa.list_(pa.field("item", pa.uint8(), nullable=False), 16)


def _strings(values: list[str]) -> pa.Array:
    return C.array(values, pa.utf8())


def view_query(view: View) -> list[str]:
    """Rerun entity path expressions for a view's ``include``/``exclude`` globs (its origin is
    the view's ``space_origin``): the default ``["/**"]`` is Rerun's own default
    ``$origin/**``."""
    inc = ["$origin/**"] if list(view.include) == ["/**"] else [f"+ {g}" for g in view.include]
    return inc + [f"- {g}" for g in view.exclude]


def _shares(node: Container) -> list[float]:
    # as our viewer's splitters: 3D and image views get 3 parts, the rest 2 (rviz's main panel)
    return [3.0 if isinstance(c, View) and c.kind in ("spatial3d", "spatial2d") else 2.0 for c in node.children]


def blueprint_chunks(bp: Blueprint, *, seed: int | None = None) -> list[Chunk]:
    """The chunks of the blueprint store for ``bp`` (one row each, sequence 0 of ``blueprint``).
    ``seed`` makes the container and view ids reproducible (tests); otherwise random UUIDs."""
    rng = np.random.default_rng(seed) if seed is not None else None

    def new_id() -> _uuid.UUID:
        return _uuid.UUID(bytes=rng.bytes(16), version=4) if rng is not None else _uuid.uuid4()

    rows: list[tuple[str, list]] = []

    def add(node) -> str:
        if isinstance(node, View):
            vid = new_id()
            path = f"/view/{vid}"
            rows.append((path, [(VIEW_CLASS_D, _strings([VIEW_CLASS[node.kind]])),
                                (DISPLAY_NAME_D, _strings([node.name or node.kind])),
                                (SPACE_ORIGIN_D, _strings([node.origin or "/"]))]))
            rows.append((f"{path}/ViewContents", [(QUERY_D, _strings(view_query(node)))]))
            if node.kind == "spatial3d" and node.fixed_frame:
                rows.append((f"{path}/SpatialInformation", [(TARGET_FRAME_D, _strings([node.fixed_frame]))]))
            return f"view/{vid}"
        cid = new_id()
        kids = [add(c) for c in node.children]
        comps = [(CONTAINER_KIND_D, C.array([CONTAINER_KIND[node.kind]], pa.uint8())),
                 (CONTENTS_D, _strings(kids))]
        if node.kind in ("horizontal", "vertical") and node.children:
            comps.append((COL_SHARES_D if node.kind == "horizontal" else ROW_SHARES_D,
                          C.array(np.asarray(_shares(node), np.float32), pa.float32())))
        rows.append((f"/container/{cid}", comps))
        return f"container/{cid}"

    root = add(bp.root)
    root_uuid = _uuid.UUID(root.split("/", 1)[1])
    flat = C.array(np.frombuffer(root_uuid.bytes, np.uint8), pa.uint8())
    rows.append(("/viewport", [(ROOT_D, pa.FixedSizeListArray.from_arrays(flat, type=_UUID16))]))
    return [_one_row_chunk(path, comps) for path, comps in rows]


def _one_row_chunk(entity: str, comps: list) -> Chunk:
    from ..model import tuid
    from ..model.chunk import PendingRow, Timeline
    row = PendingRow(tuid.new_tuid(), {Timeline("blueprint", "sequence"): 0}, comps)
    return Chunk.from_rows(entity, [row])


def save_rbl(bp: Blueprint, path, application_id: str) -> None:
    """Write ``bp`` as a Rerun blueprint file (``.rbl``), which ``rerun FILE.rrd FILE.rbl`` or the
    viewer's "Open" applies to recordings of ``application_id``.

    Raises:
        FileNotFoundError / OSError: the file cannot be written.
    """
    from ..rrd import proto as P
    from ..rrd.writer import RrdWriter
    with RrdWriter(path, application_id=application_id, recording_id=f"rec_{_uuid.uuid4().hex}",
                   store_kind=P.STORE_KIND_BLUEPRINT) as w:
        for c in blueprint_chunks(bp):
            w.write_chunk(c)
        w.write_activation()
