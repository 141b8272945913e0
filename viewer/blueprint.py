"""The viewer's blueprints: the YAML model (:mod:`rerun_ros.blueprint.model`, shared with the
bridge and the official viewer's blueprint) and :func:`default_blueprint`, the layout made from
what a store holds."""
from __future__ import annotations

from ..blueprint.model import (CONTAINER_KINDS, VIEW_KINDS, Blueprint, BlueprintError, Container, View,  # noqa: F401
                               dump, load)
from .spatial import is_spatial

__all__ = ["View", "Container", "Blueprint", "load", "dump", "default_blueprint", "overlay_blueprint", "BlueprintError",
           "VIEW_KINDS"]


def default_blueprint(store, fixed_frame: str | None = None) -> Blueprint:
    """A layout for what the store holds: one 3D view of all spatial data, a 2D view per image
    (or tensor) entity, a map of the GeoPoints (NavSatFix) tracks and GeoLineStrings, one time
    series view per scalar entity group, a text log, a bar chart per BarChart entity and a text
    document view per TextDocument entity (recording properties left out)."""
    spatial, images, scalars, logs, diags, geo, docs, charts = [], [], [], [], [], [], [], []
    for e in store.entities():
        cols = set(store.columns(e))
        if cols & {"Image:buffer", "EncodedImage:blob", "DepthImage:buffer", "SegmentationImage:buffer", "Tensor:data"}:
            images.append(e)
        if "TextDocument:text" in cols and not e.startswith("/__"):
            docs.append(e)
        if "BarChart:values" in cols:
            charts.append(e)
        if "Scalars:scalars" in cols:
            scalars.append(e)
        if "TextLog:text" in cols:
            logs.append(e)
        if "diagnostic_msgs.msg.DiagnosticArray:message" in cols:
            diags.append(e)
        if is_spatial(cols):
            spatial.append(e)
        if "GeoPoints:positions" in cols or "GeoLineStrings:line_strings" in cols:
            geo.append(e)
    views = []
    if spatial:
        views.append(View("spatial3d", "3D", "/", ["/**"], [], fixed_frame))
    cameras = any("Pinhole:image_from_camera" in store.columns(e) for e in store.entities())
    # an image with what is logged under it (boxes, strips, points of its detections), as Rerun's
    # 2D view of an image's subtree
    side = [View("spatial2d", e.rsplit("/", 1)[-1] or e, e, [e, f"{e.rstrip('/')}/**"],
                 project=["/**"] if cameras else []) for e in images]
    if geo:
        side.append(View("map", "map", "/", geo))
    groups: dict[str, list[str]] = {}
    for e in scalars:
        groups.setdefault(e.rsplit("/", 1)[0] or "/", []).append(e)
    side += [View("timeseries", k if k != "/" else "scalars", "/", v, time_range=30.0) for k, v in groups.items()]
    if logs:
        side.append(View("textlog", "log", "/", logs))
    if diags:
        side.append(View("diagnostics", "diagnostics", "/", diags))
    side += [View("barchart", e.rsplit("/", 1)[-1] or e, e, [e]) for e in charts]
    side += [View("textdocument", e.rsplit("/", 1)[-1] or e, e, [e]) for e in docs]
    children = views + ([Container("tabs", side)] if len(side) > 2 else side)
    return Blueprint(Container("horizontal", children or [View("textlog", "log")]))


def _under(label: str, path: str) -> str:
    """An entity path (or glob, or ``entity:field`` series) moved under the run's group."""
    return f"/{label}" + (path if path.startswith("/") else "/" + path)


def names_runs(bp: Blueprint, labels: list) -> bool:
    """Whether a blueprint already names the runs' groups (an include, origin or series under
    ``/A``, ``/B``, ...): it is used as it is for an overlay, not repeated per run."""
    heads = {f"/{lab}" for lab in labels}
    for v in bp.views():
        for p in [v.origin, *v.include, *v.series, *v.xy, *v.project]:
            if p.split(":", 1)[0].rstrip("/") in heads or any(p.startswith(h + "/") for h in heads):
                return True
    return False


def overlay_blueprint(first_store, labels: list, fixed_frame: str | None = None, base: Blueprint | None = None) -> Blueprint:
    """The layout of runs overlaid (:func:`rerun_ros.compare.overlay.overlay_runs`): ``base``
    (a layout written for one run; default the first run's :func:`default_blueprint`) with
    each view showing the same entities of every run (a time series plots ``/A/imu`` and
    ``/B/imu`` on one axis, the 3D view draws both robots), an image view per run; the text log
    holds every run's messages. An XY curve stays the first run's."""
    base = base or default_blueprint(first_store, fixed_frame)

    def each(v: View) -> list:
        if v.kind == "spatial2d":  # one image per view: one view per run
            return [View(v.kind, f"{v.name} {lab}", _under(lab, v.origin), [_under(lab, g) for g in v.include],
                         [_under(lab, g) for g in v.exclude], v.fixed_frame, v.time_range,
                         project=[_under(lab, g) for g in v.project]) for lab in labels]
        nv = View(v.kind, v.name, v.origin, [_under(lab, g) for lab in labels for g in v.include],
                  [_under(lab, g) for lab in labels for g in v.exclude], v.fixed_frame, v.time_range,
                  series=[_under(lab, x) for lab in labels for x in v.series], project=list(v.project),
                  target_frame=v.target_frame, camera=v.camera, frame_names=v.frame_names,
                  hidden_frames=list(v.hidden_frames), xy=[_under(labels[0], x) for x in v.xy], tile_url=v.tile_url)
        return [nv]

    def walk(node):
        if isinstance(node, View):
            return each(node)
        kids = [x for ch in node.children for x in walk(ch)]
        return [Container(node.kind, kids)]

    return Blueprint(walk(base.root)[0])
