"""Blueprints: the layout of views, as YAML (documented in ``docs/viewer.md``) — read and written
here, drawn by our viewer (``rerun_ros.viewer``) and sent to the official Rerun viewer as a
blueprint store (:mod:`rerun_ros.blueprint.rerun`). Qt-free and ROS-free.

```yaml
root:
  container: horizontal          # vertical | horizontal | tabs | grid
  children:
    - view: spatial3d            # spatial3d | spatial2d | timeseries | textlog | diagnostics
      name: 3D
      origin: /                  # entity subtree shown
      include: ["/**"]           # entity globs (``*`` one part, ``**`` any depth)
      exclude: ["/rosout"]
      fixed_frame: map
      target_frame: base_link    # the camera orbits and follows it (default: the robot's base frame)
      camera: {eye: [-6, -6, 4], look_at: [0, 0, 0], up: +z, fov: 45}   # m, from the target frame's origin
      frame_names: true          # TF frame names (drawn where they do not overlap)
      hidden_frames: [caster_back_left_link]
    - container: vertical
      children:
        - {view: spatial2d, name: camera, origin: /camera/image, project: ["/lidar/**"]}  # 3D over the image
        - {view: timeseries, name: IMU, include: ["/imu"], time_range: 10.0}   # seconds before the cursor
        - {view: timeseries, name: DVL, include: [], series: ["/dvl/data:message.altitude"]}  # any field
        - {view: timeseries, name: track, xy: ["/odom:message.pose.pose.position.x", "/odom:message.pose.pose.position.y"]}
        - {view: textlog, name: log, include: ["/rosout"]}
        - {view: map, name: GPS, include: ["/fix"], tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png"}
```
"""
from __future__ import annotations

from dataclasses import dataclass, field
import stat
from pathlib import Path

import yaml

from .. import safe_yaml
from ..model.entity_path import entity_glob

__all__ = ["View", "Container", "Blueprint", "load", "dump", "BlueprintError", "VIEW_KINDS", "CONTAINER_KINDS"]

VIEW_KINDS = ("spatial3d", "spatial2d", "timeseries", "textlog", "diagnostics", "map", "textdocument", "barchart")
#: camera ``up`` axes (REP 103: z up); a 3D view's turntable camera orbits about one of them
CAMERA_UPS = ("+z", "-z", "+y", "-y", "+x", "-x")
MAX_HIDDEN_FRAMES = 10_000
CONTAINER_KINDS = ("vertical", "horizontal", "tabs", "grid")


class BlueprintError(ValueError):
    """A blueprint that does not validate (message says where)."""


@dataclass
class View:
    kind: str
    name: str = ""
    origin: str = "/"
    include: list = field(default_factory=lambda: ["/**"])
    exclude: list = field(default_factory=list)
    fixed_frame: str | None = None
    #: seconds before the time cursor: a time series' window, a 3D view's trails (default 30 s)
    time_range: float | None = None
    #: message fields to plot in a time series view: ``"<entity>:message.<field>[.<field>|[i]]"``
    series: list = field(default_factory=list)
    #: a 2D view draws these entities (globs) over its image through the camera model (rviz's Camera display)
    project: list = field(default_factory=list)
    #: a 3D view's camera orbits and follows this frame (rviz's orbit view "Target Frame"); None: the robot's base
    target_frame: str | None = None
    #: a 3D view's saved camera: ``{"eye": [x, y, z], "look_at": [x, y, z], "up": "+z", "fov": deg}``, eye and
    #: look_at in m from the target frame's origin along the fixed frame's axes
    camera: dict | None = None
    #: a 3D view draws TF frame names (where they do not overlap)
    frame_names: bool = True
    #: TF frames a 3D view does not draw
    hidden_frames: list = field(default_factory=list)
    #: a time series view plots the second field against the first (PlotJuggler's XY curve)
    xy: list = field(default_factory=list)
    #: a map view's tile server (``{z}/{x}/{y}`` template, http(s) or file); None: no tiles, no network
    tile_url: str | None = None

    def matches(self, entity: str) -> bool:
        """Whether an entity is shown: under ``origin``, matching an include and no exclude."""
        o = self.origin.rstrip("/")
        if o and not (entity == o or entity.startswith(o + "/")):
            return False
        if not any(entity_glob(g).match(entity) for g in self.include):
            return False
        return not any(entity_glob(g).match(entity) for g in self.exclude)

    def to_dict(self) -> dict:
        d = {"view": self.kind, "name": self.name, "origin": self.origin, "include": list(self.include)}
        if self.exclude:
            d["exclude"] = list(self.exclude)
        if self.fixed_frame:
            d["fixed_frame"] = self.fixed_frame
        if self.time_range is not None:
            d["time_range"] = self.time_range
        if self.series:
            d["series"] = list(self.series)
        if self.project:
            d["project"] = list(self.project)
        if self.target_frame:
            d["target_frame"] = self.target_frame
        if self.camera:
            d["camera"] = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in self.camera.items()}
        if not self.frame_names:
            d["frame_names"] = False
        if self.hidden_frames:
            d["hidden_frames"] = list(self.hidden_frames)
        if self.xy:
            d["xy"] = list(self.xy)
        if self.tile_url:
            d["tile_url"] = self.tile_url
        return d


@dataclass
class Container:
    kind: str
    children: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"container": self.kind, "children": [c.to_dict() for c in self.children]}

    def views(self) -> list[View]:
        out = []
        for c in self.children:
            out += c.views() if isinstance(c, Container) else [c]
        return out


@dataclass
class Blueprint:
    root: Container

    def views(self) -> list[View]:
        return self.root.views()

    def to_dict(self) -> dict:
        return {"root": self.root.to_dict()}


def _parse(node, where: str):
    if not isinstance(node, dict):
        raise BlueprintError(f"blueprint {where}: expected a mapping, got {type(node).__name__}")
    if "container" in node:
        kind = node["container"]
        if kind not in CONTAINER_KINDS:
            raise BlueprintError(f"blueprint {where}: container must be one of {', '.join(CONTAINER_KINDS)}, got {kind!r}")
        kids = node.get("children") or []
        if not isinstance(kids, list):
            raise BlueprintError(f"blueprint {where}: children must be a list")
        return Container(kind, [_parse(k, f"{where}.children[{i}]") for i, k in enumerate(kids)])
    if "view" in node:
        kind = node["view"]
        if kind not in VIEW_KINDS:
            raise BlueprintError(f"blueprint {where}: view must be one of {', '.join(VIEW_KINDS)}, got {kind!r}")
        unknown = set(node) - {"view", "name", "origin", "include", "exclude", "fixed_frame", "time_range", "series", "project",
                               "target_frame", "camera", "frame_names", "hidden_frames", "xy", "tile_url"}
        if unknown:
            raise BlueprintError(f"blueprint {where}: unknown key(s) {', '.join(sorted(unknown))}")
        inc = node.get("include", ["/**"])
        exc = node.get("exclude", [])
        for k, v in (("include", inc), ("exclude", exc)):
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise BlueprintError(f"blueprint {where}: {k} must be a list of entity globs")
        tr = node.get("time_range")
        if tr is not None and (isinstance(tr, bool) or not (isinstance(tr, (int, float)) and tr >= 0)):
            raise BlueprintError(f"blueprint {where}: time_range must be a number of seconds >= 0")
        ser = node.get("series", [])
        if not isinstance(ser, list) or not all(isinstance(x, str) and ":" in x for x in ser):
            raise BlueprintError(f"blueprint {where}: series must be a list of '<entity>:message.<field>' paths")
        if ser and kind != "timeseries":
            raise BlueprintError(f"blueprint {where}: series belongs to a timeseries view")
        proj = node.get("project", [])
        if not isinstance(proj, list) or not all(isinstance(x, str) for x in proj):
            raise BlueprintError(f"blueprint {where}: project must be a list of entity globs")
        if proj and kind != "spatial2d":
            raise BlueprintError(f"blueprint {where}: project belongs to a spatial2d view")
        for k in ("fixed_frame", "target_frame"):
            if node.get(k) is not None and not isinstance(node.get(k), str):
                raise BlueprintError(f"blueprint {where}: {k} must be a frame id (text)")
        only3d = [k for k in ("target_frame", "camera", "frame_names", "hidden_frames") if k in node]
        if only3d and kind != "spatial3d":
            raise BlueprintError(f"blueprint {where}: {', '.join(only3d)} belong(s) to a spatial3d view")
        cam = _camera(node.get("camera"), where) if node.get("camera") is not None else None
        names = node.get("frame_names", True)
        if not isinstance(names, bool):
            raise BlueprintError(f"blueprint {where}: frame_names must be true or false")
        hidden = node.get("hidden_frames", [])
        if not isinstance(hidden, list) or not all(isinstance(x, str) for x in hidden) or len(hidden) > MAX_HIDDEN_FRAMES:
            raise BlueprintError(f"blueprint {where}: hidden_frames must be a list of frame ids")
        xy = node.get("xy", [])
        if xy and (kind != "timeseries" or not isinstance(xy, list) or len(xy) != 2
                   or not all(isinstance(x, str) and ":" in x for x in xy)):
            raise BlueprintError(f"blueprint {where}: xy must be two '<entity>:message.<field>' paths (x, then y) "
                                 f"of a timeseries view")
        tiles = node.get("tile_url")
        if tiles is not None and (kind != "map" or not isinstance(tiles, str)
                                  or not all(k in tiles for k in ("{z}", "{x}", "{y}"))):
            raise BlueprintError(f"blueprint {where}: tile_url must be a URL template with {{z}}, {{x}} and {{y}} "
                                 f"of a map view")
        return View(kind, str(node.get("name", kind)), str(node.get("origin", "/")), inc, exc,
                    node.get("fixed_frame"), None if tr is None else float(tr), list(ser), list(proj),
                    node.get("target_frame"), cam, names, list(hidden), list(xy), tiles)
    raise BlueprintError(f"blueprint {where}: needs 'container' or 'view'")


def _camera(cam, where: str) -> dict:
    """A validated camera mapping: eye and look_at (3 finite numbers, m, apart), up (one of
    :data:`CAMERA_UPS`), fov (degrees, 1-170)."""
    import math
    if not isinstance(cam, dict) or set(cam) - {"eye", "look_at", "up", "fov"}:
        raise BlueprintError(f"blueprint {where}: camera must be a mapping of eye, look_at, up, fov")
    out = {}
    for k, default in (("eye", None), ("look_at", [0.0, 0.0, 0.0])):
        v = cam.get(k, default)
        if v is None or not isinstance(v, list) or len(v) != 3 or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
            raise BlueprintError(f"blueprint {where}: camera.{k} must be [x, y, z] in m")
        out[k] = [float(x) for x in v]
    if math.dist(out["eye"], out["look_at"]) < 1e-6:
        raise BlueprintError(f"blueprint {where}: camera.eye and camera.look_at are the same point")
    up = cam.get("up", "+z")
    if up not in CAMERA_UPS:
        raise BlueprintError(f"blueprint {where}: camera.up must be one of {', '.join(CAMERA_UPS)}")
    out["up"] = up
    fov = cam.get("fov", 45.0)
    if isinstance(fov, bool) or not isinstance(fov, (int, float)) or not 1 <= fov <= 170:
        raise BlueprintError(f"blueprint {where}: camera.fov must be degrees between 1 and 170")
    out["fov"] = float(fov)
    return out


#: limits for blueprints from strangers: text size, views (each a window pane with its own canvas)
MAX_BYTES = 1 << 20
MAX_VIEWS = 100


def load(path_or_text) -> Blueprint:
    """Read a blueprint from a YAML file path or YAML text.

    Raises:
        FileNotFoundError: no such file. BlueprintError: invalid YAML or structure.
    """
    raw = str(path_or_text)
    p = Path(raw)
    looks_like_path = "\n" not in raw and len(raw) < 4096
    text = None
    try:
        if looks_like_path and p.exists():
            st = p.stat()
            if not stat.S_ISREG(st.st_mode):
                raise BlueprintError(f"{raw[:200]}: not a regular file (a FIFO or device cannot be a blueprint)")
            if st.st_size > MAX_BYTES:
                raise BlueprintError(f"{raw[:200]}: blueprint of {st.st_size} bytes is larger than the {MAX_BYTES} accepted")
            with open(p, "rb") as f:
                data = f.read(MAX_BYTES + 1)
            text = data.decode("utf-8", "replace")
    except OSError as e:
        raise BlueprintError(f"{raw[:200]}: cannot read the blueprint ({e.strerror or e})") from None
    if text is None:
        if isinstance(path_or_text, Path) or (raw.endswith((".yaml", ".yml")) and looks_like_path):
            raise FileNotFoundError(f"{path_or_text}: no such blueprint file")
        text = str(path_or_text)
    try:
        data = safe_yaml.load(text)
    except safe_yaml.YamlLimitError as e:
        raise BlueprintError(f"blueprint refused: {e}") from None
    except yaml.YAMLError as e:
        raise BlueprintError(f"blueprint is not valid YAML: {e}") from None
    if not isinstance(data, dict) or "root" not in data:
        raise BlueprintError("blueprint needs a top-level 'root'")
    root = _parse(data["root"], "root")
    if isinstance(root, View):
        root = Container("horizontal", [root])
    bp = Blueprint(root)
    n = len(bp.views())
    if n > MAX_VIEWS:
        raise BlueprintError(f"blueprint has {n} views; at most {MAX_VIEWS} are accepted (each is a window pane)")
    return bp


def dump(bp: Blueprint, path=None) -> str:
    """YAML text of a blueprint (written to ``path`` when given)."""
    text = yaml.safe_dump(bp.to_dict(), sort_keys=False)
    if path is not None:
        Path(path).write_text(text)
    return text
