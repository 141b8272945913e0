"""sensor_msgs mappers: Image, CompressedImage, CameraInfo, PointCloud2, LaserScan, Imu,
NavSatFix, JointState and the scalar sensors.

Conventions: sensor_msgs/Image encodings as in ``sensor_msgs/image_encodings.hpp``; depth
images ``16UC1`` are millimetres (DepthMeter 1000), ``32FC1`` metres (DepthMeter 1) per REP 118;
camera optical frames are RDF (REP 103); LaserScan angles in radians, counter-clockwise from x.
"""
from __future__ import annotations

import itertools
import re

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C
from ..model import entity_path
from . import pointcloud  # the module, not its names: pointcloud imports mappers.base (no cycle)
from .base import Columns, MapContext, MappedRow, MappingError, MessageBatch, xyz
from ..model.rotations import quat_to_rpy  # noqa: F401 (also this module's name)
from .columns import rows_to_columns
from .registry import register
from .rows import per_message

# encoding -> (kind, color model or pixel format, numpy dtype, channels)
IMAGE_ENCODINGS: dict[str, tuple[str, str | None, str, int]] = {
    "rgb8": ("image", "RGB", "u1", 3), "bgr8": ("image", "BGR", "u1", 3),
    "rgba8": ("image", "RGBA", "u1", 4), "bgra8": ("image", "BGRA", "u1", 4),
    "rgb16": ("image", "RGB", "u2", 3), "bgr16": ("image", "BGR", "u2", 3),
    "rgba16": ("image", "RGBA", "u2", 4), "bgra16": ("image", "BGRA", "u2", 4),
    "mono8": ("image", "L", "u1", 1), "mono16": ("image", "L", "u2", 1),
    "8uc1": ("image", "L", "u1", 1), "8uc3": ("image", "BGR", "u1", 3), "8uc4": ("image", "BGRA", "u1", 4),
    "8sc1": ("image", "L", "i1", 1),
    "16uc1": ("depth", None, "u2", 1), "32fc1": ("depth", None, "f4", 1),
    "16sc1": ("image", "L", "i2", 1), "32sc1": ("image", "L", "i4", 1), "64fc1": ("depth", None, "f8", 1),
    "bayer_rggb8": ("pixel", "BayerRGGB8", "u1", 1), "bayer_bggr8": ("pixel", "BayerBGGR8", "u1", 1),
    "bayer_gbrg8": ("pixel", "BayerGBRG8", "u1", 1), "bayer_grbg8": ("pixel", "BayerGRBG8", "u1", 1),
    "yuv422_yuy2": ("pixel", "YUY2", "u1", 2), "yuyv": ("pixel", "YUY2", "u1", 2),
    "nv12": ("pixel", "NV12", "u1", 1),
    "yuv422": ("pixel", "UYVY", "u1", 2), "uyvy": ("pixel", "UYVY", "u1", 2),
    "bayer_rggb16": ("pixel", "BayerRGGB16", "u2", 1), "bayer_bggr16": ("pixel", "BayerBGGR16", "u2", 1),
    "bayer_gbrg16": ("pixel", "BayerGBRG16", "u2", 1), "bayer_grbg16": ("pixel", "BayerGRBG16", "u2", 1),
}


def _packed_rows(data, height: int, step: int, row_bytes: int, what: str) -> np.ndarray | memoryview:
    """The image bytes without row padding: a zero-copy view when ``step == row_bytes``."""
    n = len(data)
    if step < row_bytes:
        raise MappingError(f"{what}: step {step} is less than width x bytes per pixel = {row_bytes}")
    if n < step * (height - 1) + row_bytes:
        raise MappingError(f"{what}: data has {n} bytes, expected step x height = {step * height}")
    if step == row_bytes:
        return memoryview(data)[: row_bytes * height] if not isinstance(data, np.ndarray) else data[: row_bytes * height]
    raw = np.frombuffer(data, dtype=np.uint8)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(height, row_bytes), strides=(step, 1))
    return np.ascontiguousarray(rows)


_TYPED = re.compile(r"(8|16|32|64)(u|s|f)c([1-4])")
_TYPED_DTYPE = {("8", "u"): "u1", ("8", "s"): "i1", ("16", "u"): "u2", ("16", "s"): "i2", ("32", "s"): "i4",
                ("32", "f"): "f4", ("64", "f"): "f8", ("32", "u"): "u4"}


def _encoding_spec(enc: str):
    """(kind, model, numpy code, channels) of an encoding; OpenCV-style ``<bits><U|S|F>C<n>``
    types follow cv_bridge: 3 channels BGR, 4 BGRA, 2 shown as RGB with a zero blue channel."""
    spec = IMAGE_ENCODINGS.get(enc)
    if spec is not None:
        return spec
    m = _TYPED.fullmatch(enc)
    if m and (m.group(1), m.group(2)) in _TYPED_DTYPE:
        code = _TYPED_DTYPE[(m.group(1), m.group(2))]
        n = int(m.group(3))
        return ("image", {1: "L", 2: "RG", 3: "BGR", 4: "BGRA"}[n], code, n)
    return None


def image(msg, ctx: MapContext) -> list[MappedRow]:
    enc = str(msg.encoding).lower()
    spec = _encoding_spec(enc)
    if spec is None:
        raise MappingError(f"Image: unsupported encoding {msg.encoding!r}")
    kind, model, code, channels = spec
    w, h, step = int(msg.width), int(msg.height), int(msg.step)
    if w <= 0 or h <= 0:
        raise MappingError(f"Image: empty image {w}x{h}")
    dt = np.dtype(code)
    if kind == "pixel":
        row_bytes = w * channels * dt.itemsize if model != "NV12" else w
        rows = h if model != "NV12" else h * 3 // 2
        buf = _packed_rows(msg.data, rows, step, row_bytes, "Image")
        if model == "UYVY":  # Rerun has YUY2 (Y0 U Y1 V); UYVY (U Y0 V Y1) swaps each byte pair
            buf = np.frombuffer(buf, np.uint8).reshape(-1, 2)[:, ::-1].copy()
            model = "YUY2"
        elif model.startswith("Bayer") and dt.itemsize == 2:  # Rerun's Bayer formats are 8-bit
            v = np.frombuffer(buf, dtype=dt.newbyteorder(">" if msg.is_bigendian else "<"))
            buf = (v >> 8).astype(np.uint8)
            model = model[:-2] + "8"
        return [MappedRow(ctx.entity, [A.Image(buf, w, h, pixel_format=model)])]
    row_bytes = w * channels * dt.itemsize
    buf = _packed_rows(msg.data, h, step, row_bytes, "Image")
    if dt.itemsize > 1 and bool(msg.is_bigendian) != (np.little_endian is False):
        buf = np.frombuffer(buf, dtype=dt.newbyteorder(">" if msg.is_bigendian else "<")).astype(dt)
    if model == "RG":  # two channels (e.g. optical flow): shown as RGB with zero blue
        two = np.frombuffer(buf, dtype=dt).reshape(h, w, 2)
        buf = np.concatenate([two, np.zeros((h, w, 1), dt)], axis=2)
        model = "RGB"
    if kind == "depth":
        meter = 1000.0 if enc == "16uc1" else 1.0
        return [MappedRow(ctx.entity, [A.DepthImage(buf, w, h, datatype=dt, meter=meter)])]
    return [MappedRow(ctx.entity, [A.Image(buf, w, h, color_model=model, datatype=dt)])]


def compressed_image(msg, ctx: MapContext) -> list[MappedRow]:
    fmt = str(msg.format).lower()
    data = msg.data
    if "compresseddepth" in fmt:
        return [MappedRow(ctx.entity, [compressed_depth(msg)])]
    head = bytes(data[:8])
    if head.startswith(b"\xff\xd8"):
        media = "image/jpeg"
    elif head.startswith(b"\x89PNG"):
        media = "image/png"
    elif "jpeg" in fmt or "jpg" in fmt:
        media = "image/jpeg"
    elif "png" in fmt:
        media = "image/png"
    else:
        raise MappingError(f"CompressedImage: unknown format {msg.format!r}")
    if len(data) == 0:
        raise MappingError("CompressedImage: empty data")
    return [MappedRow(ctx.entity, [A.EncodedImage(data, media_type=media)])]


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def compressed_depth(msg) -> A.DepthImage:
    """``compressedDepth`` images (compressed_depth_image_transport): a 12-byte header
    (int32 format, float32 depthQuantA, depthQuantB) then a PNG. 16UC1 PNGs hold millimetres;
    32FC1 PNGs hold quantised inverse depth: ``depth = A / (v - B)`` metres, 0 = no reading.

    Raises:
        MappingError: no PNG inside, or a PNG that does not decode.
    """
    import io
    import struct

    from PIL import Image as PILImage

    data = bytes(msg.data)
    at = data.find(PNG_MAGIC, 0, 64)
    if at < 0:
        raise MappingError(f"CompressedImage: compressedDepth data without a PNG (format {msg.format!r})")
    try:
        png = np.asarray(PILImage.open(io.BytesIO(data[at:])))
    except Exception as e:
        raise MappingError(f"CompressedImage: compressedDepth PNG does not decode: {e}") from None
    if png.ndim != 2:
        raise MappingError(f"CompressedImage: compressedDepth PNG has shape {png.shape}, expected one channel")
    h, w = png.shape
    if str(msg.format).lower().startswith("32fc1"):
        if at < 12:
            raise MappingError("CompressedImage: 32FC1 compressedDepth without its quantisation header")
        qa, qb = struct.unpack_from("<ff", data, at - 8)
        v = png.astype(np.float32)
        with np.errstate(divide="ignore"):
            depth = np.where(v > 0, qa / (v - qb), np.nan).astype(np.float32)
        return A.DepthImage(depth, w, h, datatype=np.float32, meter=1.0)
    return A.DepthImage(png.astype(np.uint16), w, h, datatype=np.uint16, meter=1000.0)


@register("sensor_msgs/msg/CameraInfo", archetypes="Pinhole")
@per_message
def camera_info(msg, ctx: MapContext) -> list[MappedRow]:
    """K and resolution as a Pinhole (RDF optical frame); distortion model and coefficients,
    rectification and projection matrices kept as ``CameraInfo:*`` columns."""
    k = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    w, h = int(msg.width), int(msg.height)
    if not np.isfinite(k).all() or k[0, 0] == 0 or k[1, 1] == 0:
        raise MappingError(f"CameraInfo: invalid intrinsics K={k.reshape(-1).tolist()}")
    extra = A.AnyValues("CameraInfo", distortion_model=str(msg.distortion_model),
                        d=C.array(np.asarray(msg.d, dtype=np.float64), pa.float64()),
                        r=C.array(np.asarray(msg.r, dtype=np.float64), pa.float64()),
                        p=C.array(np.asarray(msg.p, dtype=np.float64), pa.float64()))
    return [MappedRow(ctx.entity, [A.Pinhole(k, resolution=[w, h], camera_xyz="RDF"), extra])]


def point_cloud2(msg, ctx: MapContext) -> list[MappedRow]:
    pos, colors = pointcloud.xyz_and_colors(msg)
    return [MappedRow(ctx.entity, [A.Points3D(pos, colors=colors)])]


@register("sensor_msgs/msg/MultiEchoLaserScan", archetypes="Points3D")
@per_message
def multi_echo_laser_scan(msg, ctx: MapContext) -> list[MappedRow]:
    """Every echo of every beam as a point in the scan frame (colours by intensity if given)."""
    echoes = [list(e.echoes) for e in msg.ranges]
    lengths = np.fromiter((len(e) for e in echoes), dtype=np.int64, count=len(echoes))
    r = np.fromiter(itertools.chain.from_iterable(echoes), dtype=np.float32, count=int(lengths.sum()))
    beam = np.repeat(np.arange(len(echoes)), lengths)
    ang = np.float32(msg.angle_min) + beam.astype(np.float32) * np.float32(msg.angle_increment)
    ok = np.isfinite(r) & (r >= msg.range_min) & (r <= msg.range_max)
    pos = np.zeros((int(ok.sum()), 3), np.float32)
    pos[:, 0] = r[ok] * np.cos(ang[ok])
    pos[:, 1] = r[ok] * np.sin(ang[ok])
    colors = None
    inten = [list(e.echoes) for e in msg.intensities]
    if len(inten) == len(echoes) and [len(e) for e in inten] == lengths.tolist() and len(r):
        iv = np.fromiter(itertools.chain.from_iterable(inten), dtype=np.float32, count=len(r))
        colors = pointcloud.colormap(iv[ok])
    return [MappedRow(ctx.entity, [A.Points3D(pos, colors=colors)])]


def range_cone(rng: float, fov: float, segments: int = 24) -> list[np.ndarray]:
    """Line strips outlining a sensor cone along +x: the rim circle at ``rng`` m and four
    edges from the apex (``fov`` the full opening angle in rad)."""
    rad = rng * np.tan(fov / 2.0)
    a = np.linspace(0, 2 * np.pi, segments + 1)
    rim = np.stack([np.full_like(a, rng), rad * np.cos(a), rad * np.sin(a)], axis=1)
    edges = [np.array([[0.0, 0.0, 0.0], rim[i]]) for i in range(0, segments, segments // 4)]
    return [rim] + edges


@register("sensor_msgs/msg/Range", archetypes="LineStrips3D + Scalars")
@per_message
def range_msg(msg, ctx: MapContext) -> list[MappedRow]:
    """The measured range as a scalar and as a cone (opening ``field_of_view``, length the
    range clamped to [min_range, max_range]) in the sensor frame."""
    r = float(msg.range)
    shown = min(max(r, float(msg.min_range)), float(msg.max_range)) if np.isfinite(r) else float(msg.max_range)
    rows = _series_names(ctx, ["range [m]"])
    archs = [A.Scalars([r])]
    if shown > 0 and float(msg.field_of_view) > 0:
        archs.append(A.LineStrips3D(range_cone(shown, float(msg.field_of_view))))
    return rows + [MappedRow(ctx.entity, archs)]


def _series_names(ctx: MapContext, names: list[str]) -> list[MappedRow]:
    """A static SeriesLines with the series names, logged again only when they change."""
    if ctx.state.get("series_names") == names:
        return []
    ctx.state["series_names"] = names
    return [MappedRow(ctx.entity, [A.SeriesLines(names=names)], static=True)]


@register("sensor_msgs/msg/Joy", archetypes="Scalars")
@per_message
def joy(msg, ctx: MapContext) -> list[MappedRow]:
    """Axes then buttons as one series each (``axis i``, ``button j``)."""
    axes = [float(a) for a in msg.axes]
    buttons = [float(b) for b in msg.buttons]
    names = [f"axis {i}" for i in range(len(axes))] + [f"button {j}" for j in range(len(buttons))]
    if not names:
        return []
    return _series_names(ctx, names) + [MappedRow(ctx.entity, [A.Scalars(axes + buttons)])]


@register("sensor_msgs/msg/JoyFeedback", archetypes="Scalars")
@per_message
def joy_feedback(msg, ctx: MapContext) -> list[MappedRow]:
    return _series_names(ctx, [f"type {msg.type} id {msg.id}"]) + [
        MappedRow(ctx.entity, [A.Scalars([float(msg.intensity)])])]


@register("sensor_msgs/msg/JoyFeedbackArray", archetypes="Scalars")
@per_message
def joy_feedback_array(msg, ctx: MapContext) -> list[MappedRow]:
    fb = list(msg.array)
    if not fb:
        return []
    return _series_names(ctx, [f"type {f.type} id {f.id}" for f in fb]) + [
        MappedRow(ctx.entity, [A.Scalars([float(f.intensity) for f in fb])])]


@register("sensor_msgs/msg/TimeReference", archetypes="Scalars + TextLog")
@per_message
def time_reference(msg, ctx: MapContext) -> list[MappedRow]:
    """The offset of the reference clock from the header stamp (s), and its source."""
    from .base import stamp_ns
    offset = (stamp_ns(msg.time_ref) - stamp_ns(msg.header.stamp)) / 1e9
    return _series_names(ctx, [f"time_ref - stamp [s] ({msg.source})"]) + [
        MappedRow(ctx.entity, [A.Scalars([offset])])]


@register("sensor_msgs/msg/PointCloud", archetypes="Points3D")
@per_message
def point_cloud(msg, ctx: MapContext) -> list[MappedRow]:
    """The legacy PointCloud: geometry_msgs/Point32 points, coloured by an ``intensity`` channel
    or an ``rgb`` channel (packed float) when present."""
    pos = np.array([[p.x, p.y, p.z] for p in msg.points], dtype=np.float32).reshape(-1, 3)
    colors = None
    chans = {c.name: np.asarray(c.values, dtype=np.float32) for c in msg.channels}
    if "rgb" in chans and len(chans["rgb"]) == len(pos):
        colors = ((chans["rgb"].view(np.uint32) & 0xFFFFFF) << 8) | np.uint32(255)
    elif "intensity" in chans and len(chans["intensity"]) == len(pos):
        colors = pointcloud.colormap(chans["intensity"])
    ok = np.isfinite(pos).all(axis=1)
    return [MappedRow(ctx.entity, [A.Points3D(pos[ok], colors=None if colors is None else colors[ok])])]


@register("sensor_msgs/msg/ChannelFloat32", archetypes="Scalars")
@per_message
def channel_float32(msg, ctx: MapContext) -> list[MappedRow]:
    vals = np.asarray(msg.values, dtype=np.float64)
    if not len(vals):
        return []
    return _series_names(ctx, [f"{msg.name}[{i}]" for i in range(len(vals))]) + [
        MappedRow(ctx.entity, [A.Scalars(vals)])]


@register("sensor_msgs/msg/LaserEcho", archetypes="Scalars")
@per_message
def laser_echo(msg, ctx: MapContext) -> list[MappedRow]:
    vals = np.asarray(msg.echoes, dtype=np.float64)
    if not len(vals):
        return []
    return _series_names(ctx, [f"echo {i} [m]" for i in range(len(vals))]) + [MappedRow(ctx.entity, [A.Scalars(vals)])]


@register("sensor_msgs/msg/RegionOfInterest", archetypes="Scalars")
@per_message
def region_of_interest(msg, ctx: MapContext) -> list[MappedRow]:
    """The ROI (pixels) as scalars x_offset, y_offset, width, height, do_rectify: a bare ROI has
    no image to be drawn on (a CameraInfo's roi travels with its camera)."""
    vals = [float(msg.x_offset), float(msg.y_offset), float(msg.width), float(msg.height), float(bool(msg.do_rectify))]
    return _series_names(ctx, ["x_offset [px]", "y_offset [px]", "width [px]", "height [px]", "do_rectify"]) + [
        MappedRow(ctx.entity, [A.Scalars(vals)])]


@register("sensor_msgs/msg/MultiDOFJointState", archetypes="Transform3D")
@per_message
def multi_dof_joint_state(msg, ctx: MapContext) -> list[MappedRow]:
    """Each joint's transform (header.frame_id → joint name) as a Transform3D row."""
    from .base import xyzw
    parent = msg.header.frame_id or "world"
    rows = []
    for name, tf in zip(msg.joint_names, msg.transforms):
        rows.append(MappedRow(ctx.entity, [A.Transform3D(translation=xyz(tf.translation), quaternion=xyzw(tf.rotation),
                                                         parent_frame=parent, child_frame=str(name))]))
    return rows


# ---- column mappers (whole batches at once) ---------------------------------------------------

IMU_NAMES = ["accel x [m/s²]", "accel y [m/s²]", "accel z [m/s²]", "gyro x [rad/s]", "gyro y [rad/s]",
             "gyro z [rad/s]", "roll [rad]", "pitch [rad]", "yaw [rad]"]


@register("sensor_msgs/msg/Imu", archetypes="Scalars")
def imu_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Acceleration (m/s²), angular velocity (rad/s) and orientation as roll/pitch/yaw (rad; NaN
    when the IMU gives none: orientation_covariance[0] == -1, REP 145) as nine series. The
    quaternion and the covariances stay in the message's struct column."""
    from .columns import list_values, scalars_columns, series_names, unit_quaternions
    acc = batch.vectors("linear_acceleration")
    gyr = batch.vectors("angular_velocity")
    q = batch.vectors("orientation", "xyzw")
    cov, off = list_values(batch.field("orientation_covariance"))
    no_orientation = np.zeros(len(batch), bool)
    has = np.diff(off) > 0
    no_orientation[has] = cov[off[:-1][has]] == -1
    qn, ok = unit_quaternions(q)
    rpy = quat_to_rpy(qn)
    rpy[~ok | no_orientation] = np.nan
    comps = scalars_columns(np.concatenate([acc, gyr, rpy], axis=1))
    return series_names(ctx, ctx.entity, IMU_NAMES) + [Columns(ctx.entity, comps)]


def _scalar_fields(fields: list[str], names: list[str]):
    def fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
        from .columns import scalars_columns, series_names
        vals = np.stack([batch.numbers(f) for f in fields], axis=1)
        return series_names(ctx, ctx.entity, names) + [Columns(ctx.entity, scalars_columns(vals))]
    return fn


register("sensor_msgs/msg/Temperature", archetypes="Scalars")(
    _scalar_fields(["temperature", "variance"], ["temperature [°C]", "variance [°C²]"]))
register("sensor_msgs/msg/FluidPressure", archetypes="Scalars")(
    _scalar_fields(["fluid_pressure", "variance"], ["pressure [Pa]", "variance [Pa²]"]))
register("sensor_msgs/msg/RelativeHumidity", archetypes="Scalars")(
    _scalar_fields(["relative_humidity", "variance"], ["relative humidity [0-1]", "variance"]))
register("sensor_msgs/msg/Illuminance", archetypes="Scalars")(
    _scalar_fields(["illuminance", "variance"], ["illuminance [lx]", "variance [lx²]"]))
register("sensor_msgs/msg/MagneticField", archetypes="Scalars")(
    _scalar_fields(["magnetic_field.x", "magnetic_field.y", "magnetic_field.z"], ["x [T]", "y [T]", "z [T]"]))
register("sensor_msgs/msg/BatteryState", archetypes="Scalars")(
    _scalar_fields(["voltage", "current", "charge", "percentage"],
                   ["voltage [V]", "current [A]", "charge [Ah]", "percentage [0-1]"]))


@register("sensor_msgs/msg/JointState", archetypes="Scalars")
def joint_state_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Positions as scalars named by the message's own joint names (``SeriesLines:names`` on
    every row: two publishers on one topic keep their labels); velocities and efforts the same
    on ``<topic>/velocity`` and ``<topic>/effort``; with a robot model, the movable joints'
    transforms (see :mod:`.robot`)."""
    from .columns import list_values
    names = batch.field("name")
    name_col = C.list_column(names.values, C.list_offsets(names), _names_changed(names, ctx))
    out = []
    for f, ent in (("position", ctx.entity), ("velocity", entity_path.join(ctx.entity, "velocity")),
                   ("effort", entity_path.join(ctx.entity, "effort"))):
        col = batch.field(f)
        _, off = list_values(col)
        present = np.diff(off) > 0
        if not present.any():
            continue
        comps = {A.Scalars.column("scalars"): C.list_column(col.values, off, present),
                 A.SeriesLines.column("names"): name_col}
        out.append(Columns(ent, comps, rows=None if ent == ctx.entity else np.arange(len(batch), dtype=np.int64)))
    if ctx.shared.robot_model is not None:
        from .robot import joint_transforms
        from .rows import rows_of
        for i, m in enumerate(rows_of(batch.messages)):
            pos = np.asarray(m.position, np.float64)
            rows = joint_transforms([str(n) for n in m.name][:len(pos)], pos, ctx)
            for r in rows:
                out.append(Columns(r.entity, rows_to_columns([r.archetypes], r.entity),
                                   rows=np.array([i], np.int64)))
    return out


def _names_changed(names, ctx: MapContext) -> np.ndarray:
    """bool (n,): rows whose joint names differ from the row before (the first row of a topic
    always): the rows that carry ``SeriesLines:names``; rows in between are labelled by them
    (latest-at), so two publishers with different joints on one topic keep their own labels."""
    off = C.list_offsets(names)
    n = len(off) - 1
    flat = names.values
    soff = C.list_offsets(flat)
    data = np.frombuffer(flat.buffers()[2], np.uint8) if len(flat) and flat.buffers()[2] is not None \
        else np.zeros(0, np.uint8)
    lens = np.diff(soff)  # byte length of every name
    rb = soff[off]  # byte range of each row's names
    blen, cnt = np.diff(rb), np.diff(off)
    equal = np.zeros(n, bool)
    if n > 1 and (blen == blen[0]).all() and (cnt == cnt[0]).all():
        # the common case: every row has as many names of as many bytes: compare rows as blocks
        b0, c0 = int(blen[0]), int(cnt[0])
        same = data[rb[0]:rb[-1]].reshape(n, b0)
        ls = lens[off[0]:off[-1]].reshape(n, c0)
        equal[1:] = (same[1:] == same[:-1]).all(axis=1) & (ls[1:] == ls[:-1]).all(axis=1)
        idx = np.zeros(0, np.int64)
    else:
        equal[1:] = (blen[1:] == blen[:-1]) & (cnt[1:] == cnt[:-1])
        idx = np.nonzero(equal)[0]
    if len(idx):
        L = blen[idx]
        rel = np.arange(int(L.sum()), dtype=np.int64) - np.repeat(np.cumsum(L) - L, L)
        differs = data[np.repeat(rb[idx], L) + rel] != data[np.repeat(rb[idx - 1], L) + rel]
        k = cnt[idx]
        nrel = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
        ldiff = lens[np.repeat(off[idx], k) + nrel] != lens[np.repeat(off[idx - 1], k) + nrel]
        bad = np.bincount(np.repeat(np.arange(len(idx)), L)[differs], minlength=len(idx)) > 0
        bad |= np.bincount(np.repeat(np.arange(len(idx)), k)[ldiff], minlength=len(idx)) > 0
        equal[idx] = ~bad
    if n:
        first = (data[rb[0]:rb[1]].tobytes(), lens[off[0]:off[1]].tobytes())
        equal[0] = ctx.state.get("joint_names") == first
        ctx.state["joint_names"] = (data[rb[-2]:rb[-1]].tobytes(), lens[off[-2]:off[-1]].tobytes())
    return ~equal


NAVSAT_NAMES = ["altitude [m]", "status", "σ east [m]", "σ north [m]", "σ up [m]"]


@register("sensor_msgs/msg/NavSatFix", archetypes="GeoPoints + Scalars")
def nav_sat_fix_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Fixes as GeoPoints (WGS-84 degrees); altitude, status and σ (m) as scalars on every row.
    A message without a fix (NaN latitude, status NO_FIX) keeps its row and scalars; only its
    point is absent."""
    from .columns import list_values, scalars_columns, series_names
    lat, lon = batch.numbers("latitude"), batch.numbers("longitude")
    fix = np.isfinite(lat) & np.isfinite(lon)
    bad = fix & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    if bad.any():
        ctx.reject(int(bad.sum()), "NavSatFix: latitude/longitude out of range")
    fix &= ~bad
    cov, off = list_values(batch.field("position_covariance"))
    sig = np.full((len(batch), 3), np.nan)
    nine = np.diff(off) == 9
    if nine.any():
        base = off[:-1][nine]
        sig[nine] = np.sqrt(np.clip(np.stack([cov[base], cov[base + 4], cov[base + 8]], axis=1), 0, None))
    vals = np.concatenate([batch.numbers("altitude")[:, None], batch.numbers("status.status")[:, None], sig], axis=1)
    comps = scalars_columns(vals)
    ll = np.stack([np.where(fix, lat, 0.0), np.where(fix, lon, 0.0)], axis=1)
    typ = pa.list_(pa.field("item", pa.float64(), nullable=False), 2)
    comps[A.GeoPoints.column("positions")] = C.list_column(C.values_array(ll, typ), valid=fix)
    comps[A.GeoPoints.column("radii")] = C.list_column(C.array(np.full(len(batch), -5.0, np.float32), pa.float32()),
                                                      valid=fix)
    return series_names(ctx, ctx.entity, NAVSAT_NAMES) + [Columns(ctx.entity, comps)]


@register("sensor_msgs/msg/LaserScan", archetypes="Points3D")
def laser_scan_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Every valid range (finite, within [range_min, range_max]) as a point in the scan frame
    (angle_min + i·angle_increment, counter-clockwise from x), coloured by intensity when each
    range has one; all scans of the batch at once."""
    from .columns import fixed, flat_offsets, list_values
    r, off = list_values(batch.field("ranges"))
    counts = np.diff(off)
    n = len(batch)
    row = np.repeat(np.arange(n), counts)
    k = np.arange(off[-1] - off[0], dtype=np.float32) - np.repeat(off[:-1] - off[0], counts).astype(np.float32)
    r = np.asarray(r[off[0]:off[-1]], np.float32)
    amin = batch.numbers("angle_min", np.float32)
    ainc = batch.numbers("angle_increment", np.float32)
    ang = amin[row] + k * ainc[row]
    ok = np.isfinite(r) & (r >= batch.numbers("range_min", np.float32)[row]) & (r <= batch.numbers("range_max", np.float32)[row])
    pos = np.zeros((int(ok.sum()), 3), np.float32)
    pos[:, 0] = r[ok] * np.cos(ang[ok])
    pos[:, 1] = r[ok] * np.sin(ang[ok])
    new_off = flat_offsets(np.bincount(row[ok], minlength=n))
    comps = {A.Points3D.column("positions"): C.list_column(fixed(pos, 3), new_off)}
    inten, ioff = list_values(batch.field("intensities"))
    if len(inten) and (np.diff(ioff) == counts).all():
        iv = np.asarray(inten[ioff[0]:ioff[-1]], np.float32)[ok]
        has = np.repeat(np.diff(ioff) > 0, np.bincount(row[ok], minlength=n))
        colors = pointcloud.colormap(iv) if len(iv) else np.zeros(0, np.uint32)
        packed = C.colors_array(colors, "Points3D:colors").to_arrow() if len(iv) else C.array(np.zeros(0, np.uint32), pa.uint32())
        if has.all():
            comps[A.Points3D.column("colors")] = C.list_column(packed, new_off)
    return [Columns(ctx.entity, comps)]


class _Msg:
    """A row of a batch as attributes, with byte blobs as numpy views (for the big-message
    mappers that work one message at a time)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _blob_rows(batch: MessageBatch, field: str = "data") -> list:
    from .columns import list_values
    vals, off = list_values(batch.field(field))
    return [vals[off[i]:off[i + 1]] for i in range(len(batch))]


def _per_message(batch: MessageBatch, ctx: MapContext, fn, scalars: list[str], blob: str = "data") -> list[Columns]:
    """Map big messages one at a time with ``fn(msg, ctx)`` (a row mapper), their blob a view."""
    from .columns import rows_to_columns
    from .rows import rows_of
    blobs = _blob_rows(batch, blob)
    per_row = []
    for i, m in enumerate(rows_of(batch.messages)):
        fields = {s: getattr(m, s) for s in scalars}
        fields[blob] = blobs[i]
        try:
            rows = fn(_Msg(**fields), ctx)
            per_row.append([a for r in rows for a in r.archetypes])
        except MappingError as e:
            ctx.reject(1, str(e))
            per_row.append(None)
    return [Columns(ctx.entity, rows_to_columns(per_row, ctx.entity))]


@register("sensor_msgs/msg/Image", archetypes="Image / DepthImage", blobs=("data",))
def image_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    return _per_message(batch, ctx, image, ["encoding", "width", "height", "step", "is_bigendian"])


@register("sensor_msgs/msg/CompressedImage", archetypes="EncodedImage", blobs=("data",))
def compressed_image_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    return _per_message(batch, ctx, compressed_image, ["format"])


@register("sensor_msgs/msg/PointCloud2", archetypes="Points3D", blobs=("data",))
def point_cloud2_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    return _per_message(batch, ctx, point_cloud2, ["height", "width", "fields", "is_bigendian", "point_step",
                                                  "row_step", "is_dense"])
