"""The viewer's blueprints: the YAML model (:mod:`rerun_ros.blueprint.model`, shared with the
bridge and the official viewer's blueprint) and :func:`default_blueprint`, the layout made from
what a store holds."""
from __future__ import annotations

from ..blueprint.model import (CONTAINER_KINDS, VIEW_KINDS, Blueprint, BlueprintError, Container, View,  # noqa: F401
                               dump, load)
from .spatial import is_spatial

__all__ = ["View", "Container", "Blueprint", "load", "dump", "default_blueprint", "BlueprintError", "VIEW_KINDS"]


def default_blueprint(store, fixed_frame: str | None = None) -> Blueprint:
    """A layout for what the store holds: one 3D view of all spatial data, a 2D view per image
    entity, a map of the GeoPoints (NavSatFix) tracks, one time series view per scalar entity
    group, and a text log."""
    spatial, images, scalars, logs, diags, geo = [], [], [], [], [], []
    for e in store.entities():
        cols = set(store.columns(e))
        if cols & {"Image:buffer", "EncodedImage:blob", "DepthImage:buffer", "SegmentationImage:buffer"}:
            images.append(e)
        if "Scalars:scalars" in cols:
            scalars.append(e)
        if "TextLog:text" in cols:
            logs.append(e)
        if "diagnostic_msgs.msg.DiagnosticArray:message" in cols:
            diags.append(e)
        if is_spatial(cols):
            spatial.append(e)
        if "GeoPoints:positions" in cols:
            geo.append(e)
    views = []
    if spatial:
        views.append(View("spatial3d", "3D", "/", ["/**"], [], fixed_frame))
    cameras = any("Pinhole:image_from_camera" in store.columns(e) for e in store.entities())
    side = [View("spatial2d", e.rsplit("/", 1)[-1] or e, e, [e], project=["/**"] if cameras else [])
            for e in images]
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
    children = views + ([Container("tabs", side)] if len(side) > 2 else side)
    return Blueprint(Container("horizontal", children or [View("textlog", "log")]))
