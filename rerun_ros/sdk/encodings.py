"""``rerun.encodings`` (and its older name ``rerun.datatypes``) with Rerun 0.41's names: the value
types archetype arguments are made of. Angles in radians; colours as Rerun takes them (RGB(A)
uint8, floats 0-1, packed 0xRRGGBBAA)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .archetypes import Quaternion, RotationAxisAngle

__all__ = ["Angle", "AnnotationInfo", "ClassDescription", "KeypointPair", "RotationAxisAngle", "Quaternion"]


class Angle:
    """An angle given in radians (``rad=``) or degrees (``deg=``); ``radians`` holds it in radians.

    Raises:
        ValueError: both or neither given.
    """

    def __init__(self, rad: float | None = None, deg: float | None = None):
        if (rad is None) == (deg is None):
            raise ValueError("Angle: give rad or deg")
        self.radians = float(rad) if rad is not None else math.radians(float(deg))

    def __float__(self) -> float:
        return self.radians

    def __repr__(self) -> str:
        return f"Angle(rad={self.radians})"


@dataclass
class AnnotationInfo:
    """A class or keypoint id with its label and colour (``rerun.AnnotationInfo``)."""

    id: int
    label: str | None = None
    color: object = None


@dataclass
class KeypointPair:
    """Two keypoint ids joined by a line in the viewer."""

    keypoint0: int
    keypoint1: int

    def __iter__(self):
        return iter((self.keypoint0, self.keypoint1))


@dataclass
class ClassDescription:
    """A class of an AnnotationContext: its ``info`` (an AnnotationInfo or ``(id, label, color)``),
    the labels and colours of its keypoints, and which keypoints are connected."""

    info: object
    keypoint_annotations: list = field(default_factory=list)
    keypoint_connections: list = field(default_factory=list)
