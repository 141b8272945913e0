"""URDF robot models (``/robot_description``): parsing, link geometry and joint transforms.

Follows the URDF XML specification (wiki.ros.org/urdf/XML): ``<link>`` with ``<visual>``
(``<origin xyz rpy>``, ``<geometry>`` box/cylinder/sphere/mesh, ``<material>`` colour inline or
by name), ``<joint type>`` with ``<parent link>``, ``<child link>``, ``<origin>``, ``<axis>``
(default 1 0 0). ``rpy`` are fixed-axis roll, pitch, yaw: R = Rz(yaw) · Ry(pitch) · Rx(roll).
Revolute/continuous joints rotate about the axis by the joint position (rad), prismatic ones
translate along it (m). No ROS needed.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from ..model.rotations import axis_angle_quat, quat_multiply, quat_rotate, rpy_to_quat

__all__ = ["RobotModel", "Joint", "Visual", "parse_urdf", "rpy_to_quat", "UrdfError"]


class UrdfError(ValueError):
    """A robot description that cannot be parsed (message says where)."""


@dataclass
class Visual:
    """One visual of a link: ``kind`` box|cylinder|sphere|mesh, its size parameters, the origin
    pose in the link frame, and an RGBA colour (0..1) or None."""

    kind: str
    xyz: np.ndarray
    quat: np.ndarray
    size: np.ndarray | None = None
    radius: float = 0.0
    length: float = 0.0
    filename: str = ""
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))
    rgba: tuple | None = None


@dataclass
class Joint:
    name: str
    type: str
    parent: str
    child: str
    xyz: np.ndarray
    quat: np.ndarray
    axis: np.ndarray

    @property
    def movable(self) -> bool:
        return self.type in ("revolute", "continuous", "prismatic")

    def transform(self, position: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(translation, quaternion) of the child link in the parent link at a joint position."""
        if self.type in ("revolute", "continuous"):
            return self.xyz, quat_multiply(self.quat, axis_angle_quat(self.axis, position))
        if self.type == "prismatic":
            return self.xyz + quat_rotate(self.quat, self.axis * position), self.quat
        return self.xyz, self.quat


@dataclass
class RobotModel:
    name: str
    visuals: dict[str, list[Visual]]
    joints: list[Joint]

    def joint(self, name: str) -> Joint | None:
        return next((j for j in self.joints if j.name == name), None)


def _vec(text: str | None, n: int, default: float, what: str) -> np.ndarray:
    if text is None:
        return np.full(n, default, float)
    try:
        v = np.array([float(x) for x in text.split()], float)
    except ValueError:
        raise UrdfError(f"URDF: {what}: cannot read numbers from {text!r}") from None
    if len(v) != n:
        raise UrdfError(f"URDF: {what}: expected {n} numbers, got {text!r}")
    return v


def _origin(el, what: str) -> tuple[np.ndarray, np.ndarray]:
    o = el.find("origin") if el is not None else None
    if o is None:
        return np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0])
    return _vec(o.get("xyz"), 3, 0.0, what + " origin xyz"), rpy_to_quat(_vec(o.get("rpy"), 3, 0.0, what + " origin rpy"))


def parse_urdf(text: str) -> RobotModel:
    """Parse a URDF document.

    Raises:
        UrdfError: not XML, no ``<robot>``, malformed numbers, joints without parent/child.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise UrdfError(f"URDF: not valid XML: {e}") from None
    if root.tag != "robot":
        raise UrdfError(f"URDF: root element is <{root.tag}>, expected <robot>")
    materials = {}
    for m in root.findall("material"):
        c = m.find("color")
        if m.get("name") and c is not None:
            materials[m.get("name")] = tuple(_vec(c.get("rgba"), 4, 1.0, f"material {m.get('name')}"))
    visuals: dict[str, list[Visual]] = {}
    for link in root.findall("link"):
        name = link.get("name")
        if not name:
            raise UrdfError("URDF: a <link> without a name")
        out = visuals.setdefault(name, [])
        for i, vis in enumerate(link.findall("visual")):
            what = f"link {name} visual {i}"
            xyz, q = _origin(vis, what)
            geo = vis.find("geometry")
            if geo is None or len(geo) == 0:
                raise UrdfError(f"URDF: {what}: no <geometry>")
            g = geo[0]
            rgba = None
            mat = vis.find("material")
            if mat is not None:
                c = mat.find("color")
                rgba = tuple(_vec(c.get("rgba"), 4, 1.0, what + " color")) if c is not None else materials.get(mat.get("name"))
            if g.tag == "box":
                out.append(Visual("box", xyz, q, size=_vec(g.get("size"), 3, 0.0, what + " box size"), rgba=rgba))
            elif g.tag == "cylinder":
                out.append(Visual("cylinder", xyz, q, radius=float(g.get("radius", 0)), length=float(g.get("length", 0)), rgba=rgba))
            elif g.tag == "sphere":
                out.append(Visual("sphere", xyz, q, radius=float(g.get("radius", 0)), rgba=rgba))
            elif g.tag == "mesh":
                out.append(Visual("mesh", xyz, q, filename=g.get("filename", ""),
                                  scale=_vec(g.get("scale"), 3, 1.0, what + " mesh scale"), rgba=rgba))
    joints = []
    for j in root.findall("joint"):
        name = j.get("name") or "?"
        p, c = j.find("parent"), j.find("child")
        if p is None or c is None or not p.get("link") or not c.get("link"):
            raise UrdfError(f"URDF: joint {name} needs <parent link> and <child link>")
        xyz, q = _origin(j, f"joint {name}")
        ax = j.find("axis")
        axis = _vec(ax.get("xyz") if ax is not None else None, 3, 0.0, f"joint {name} axis") if ax is not None else np.array([1.0, 0, 0])
        joints.append(Joint(name, j.get("type", "fixed"), p.get("link"), c.get("link"), xyz, q, axis))
    return RobotModel(root.get("name", "robot"), visuals, joints)
