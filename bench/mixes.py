"""The benchmark bags: a nav-stack mix of small messages and a bag of big images and clouds.

``small_mix`` is what a mobile robot's nav stack records in 5 minutes (the rates of the issue):
IMU 200 Hz, TF 100 Hz (odom → base_link, map → odom), joint states 100 Hz (6 joints, position,
velocity, effort), odometry 50 Hz, cmd_vel 20 Hz and one custom type (``acme_msgs/msg/Dvl``)
10 Hz: 144k messages, written as rosbag2 writes MCAP (zstd chunks of 768 KiB, message indexes,
summary). ``SMALL_RATES`` is shared with ``bench/live.py`` (the same mix published live).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

_SEP = "\n" + "=" * 80 + "\n"
_TIME = "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec"
_HEADER = "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id" + _SEP + _TIME
_VEC3 = "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z"
_QUAT = "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1"
_POINT = "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z"
_TWIST = "MSG: geometry_msgs/Twist\nVector3 linear\nVector3 angular"

DEFS = {
    "sensor_msgs/msg/Imu": "std_msgs/Header header\ngeometry_msgs/Quaternion orientation\nfloat64[9] orientation_covariance\n"
        "geometry_msgs/Vector3 angular_velocity\nfloat64[9] angular_velocity_covariance\n"
        "geometry_msgs/Vector3 linear_acceleration\nfloat64[9] linear_acceleration_covariance"
        + _SEP + _HEADER + _SEP + _QUAT + _SEP + _VEC3,
    "tf2_msgs/msg/TFMessage": "geometry_msgs/TransformStamped[] transforms" + _SEP +
        "MSG: geometry_msgs/TransformStamped\nstd_msgs/Header header\nstring child_frame_id\n"
        "geometry_msgs/Transform transform" + _SEP + _HEADER + _SEP +
        "MSG: geometry_msgs/Transform\ngeometry_msgs/Vector3 translation\ngeometry_msgs/Quaternion rotation"
        + _SEP + _VEC3 + _SEP + _QUAT,
    "sensor_msgs/msg/JointState": "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\n"
        "float64[] effort" + _SEP + _HEADER,
    "nav_msgs/msg/Odometry": "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/PoseWithCovariance pose\n"
        "geometry_msgs/TwistWithCovariance twist" + _SEP + _HEADER + _SEP +
        "MSG: geometry_msgs/PoseWithCovariance\nPose pose\nfloat64[36] covariance" + _SEP +
        "MSG: geometry_msgs/Pose\nPoint position\nQuaternion orientation" + _SEP + _POINT + _SEP + _QUAT + _SEP +
        "MSG: geometry_msgs/TwistWithCovariance\nTwist twist\nfloat64[36] covariance" + _SEP + _TWIST + _SEP + _VEC3,
    "geometry_msgs/msg/Twist": "Vector3 linear\nVector3 angular" + _SEP + _VEC3,
    "acme_msgs/msg/Dvl": "std_msgs/Header header\nfloat64 altitude\nfloat64[] velocity\nbool valid\n"
        "int32 beams_ok\nstring status" + _SEP + _HEADER,
}

#: topic → (type, rate Hz)
SMALL_RATES = {
    "/imu/data": ("sensor_msgs/msg/Imu", 200),
    "/tf": ("tf2_msgs/msg/TFMessage", 100),
    "/joint_states": ("sensor_msgs/msg/JointState", 100),
    "/odom": ("nav_msgs/msg/Odometry", 50),
    "/cmd_vel": ("geometry_msgs/msg/Twist", 20),
    "/dvl": ("acme_msgs/msg/Dvl", 10),
}
JOINTS = ["front_left_wheel", "front_right_wheel", "rear_left_wheel", "rear_right_wheel", "lift", "arm"]


def _hdr(t: int, frame: str) -> dict:
    return {"stamp": {"sec": t // 10**9, "nanosec": t % 10**9}, "frame_id": frame}


def small_message(topic: str, t: int, i: int) -> dict:
    """The i-th message of a topic of the mix at time t (ns), as a dict for mcap_ros2 or a
    field tree for rclpy (see ``bench/live.py``)."""
    a = i * 0.01
    rng = np.random.default_rng(i)
    if topic == "/imu/data":
        cov = [0.01, 0, 0, 0, 0.01, 0, 0, 0, 0.01]
        return {"header": _hdr(t, "imu_link"),
                "orientation": {"x": 0.0, "y": 0.0, "z": float(np.sin(a / 2)), "w": float(np.cos(a / 2))},
                "orientation_covariance": cov,
                "angular_velocity": {"x": float(rng.normal() * 0.01), "y": 0.0, "z": 0.1},
                "angular_velocity_covariance": cov,
                "linear_acceleration": {"x": float(rng.normal() * 0.1), "y": 0.0, "z": 9.81},
                "linear_acceleration_covariance": cov}
    if topic == "/tf":
        return {"transforms": [
            {"header": _hdr(t, "odom"), "child_frame_id": "base_link",
             "transform": {"translation": {"x": float(np.cos(a)), "y": float(np.sin(a)), "z": 0.0},
                           "rotation": {"x": 0.0, "y": 0.0, "z": float(np.sin(a / 2)), "w": float(np.cos(a / 2))}}},
            {"header": _hdr(t, "map"), "child_frame_id": "odom",
             "transform": {"translation": {"x": 0.5, "y": 0.0, "z": 0.0},
                           "rotation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}}]}
    if topic == "/joint_states":
        pos = [float(a * (k + 1)) for k in range(len(JOINTS))]
        return {"header": _hdr(t, ""), "name": JOINTS, "position": pos,
                "velocity": [float(k + 1) for k in range(len(JOINTS))], "effort": [0.5] * len(JOINTS)}
    if topic == "/odom":
        cov = [0.0] * 36
        cov[0] = cov[7] = cov[14] = 0.05
        return {"header": _hdr(t, "odom"), "child_frame_id": "base_link",
                "pose": {"pose": {"position": {"x": float(np.cos(a)), "y": float(np.sin(a)), "z": 0.0},
                                  "orientation": {"x": 0.0, "y": 0.0, "z": float(np.sin(a / 2)),
                                                  "w": float(np.cos(a / 2))}},
                         "covariance": cov},
                "twist": {"twist": {"linear": {"x": 0.5, "y": 0.0, "z": 0.0},
                                    "angular": {"x": 0.0, "y": 0.0, "z": 0.1}}, "covariance": cov}}
    if topic == "/cmd_vel":
        return {"linear": {"x": 0.5, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": 0.1}}
    if topic == "/dvl":
        return {"header": _hdr(t, "dvl_link"), "altitude": float(2.0 + np.sin(a)),
                "velocity": [0.5, 0.01, -0.02], "valid": bool(i % 7), "beams_ok": 4, "status": "ok"}
    raise KeyError(topic)


def small_mix(path: Path, seconds: float = 300.0) -> int:
    """Write the small-message mix (``seconds`` long) to ``path``; returns the message count."""
    from mcap.writer import CompressionType
    from mcap_ros2.writer import Writer

    t0 = 1_700_000_000_000_000_000
    events = []
    for topic, (_, hz) in SMALL_RATES.items():
        n = int(seconds * hz)
        step = 10**9 // hz
        events.extend((t0 + k * step + 137_000, topic, k) for k in range(n))
    events.sort()
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=768 * 1024, compression=CompressionType.ZSTD)
        sch = {k: w.register_msgdef(k, v) for k, v in DEFS.items()}
        for t, topic, k in events:
            typ = SMALL_RATES[topic][0]
            w.write_message(topic, sch[typ], small_message(topic, t - 350_000, k), log_time=t, publish_time=t - 100_000)
        w.finish()
    return len(events)
