"""A real ROS 2 publisher process for the bridge tests: publishes a deterministic set of messages
of every supported type once the bridge subscribes. Usage: ros_publisher.py N [--clock]
[--late-static] [--hz F] [--t0 SEC] [--skew TOPIC=SEC]. Message i is stamped T0 + i / 10 s
(T0: now, as a live publisher on a synced clock; ``--t0`` sets it, e.g. to the sim clock's
start); ``--skew`` stamps one topic SEC off that (a publisher off the clock). With ``--clock`` it
also publishes /clock = 5000 + i s. Prints 'published' when done."""
from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from rclpy.duration import Duration
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import Log
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, LaserScan, PointCloud2, PointField
from std_msgs.msg import Float64, Int32
from tf2_msgs.msg import TFMessage

T0 = 1_700_000_000


def stamp(i: int, t0: int | None = None) -> Time:
    return Time(sec=(T0 if t0 is None else t0) + i // 10, nanosec=(i % 10) * 100_000_000)


def messages(i: int, n_points: int, t0: int | None = None, skew: dict | None = None):
    """The messages of step i, stamped ``t0 + i / 10`` s (plus ``skew[topic]`` s)."""
    out = _messages(i, n_points, T0 if t0 is None else t0)
    for topic, sec in (skew or {}).items():
        m = out[topic]
        hdr = m.transforms[0].header if topic == "/tf" else (m if topic == "/app_log" else m.header)
        st = hdr.stamp
        hdr.stamp = Time(sec=st.sec + int(sec), nanosec=st.nanosec)
    return out


def _messages(i: int, n_points: int, t0: int):
    def stamp(i: int) -> Time:  # noqa: F811 - this step's stamps
        return Time(sec=t0 + i // 10, nanosec=(i % 10) * 100_000_000)
    rng = np.random.default_rng(i)
    tf = TFMessage()
    t = TransformStamped()
    t.header.stamp = stamp(i)
    t.header.frame_id = "odom"
    t.child_frame_id = "base_link"
    t.transform.translation.x = float(i)
    t.transform.rotation.w = 1.0
    tf.transforms = [t]
    img = Image()
    img.header.stamp, img.header.frame_id = stamp(i), "camera"
    img.height, img.width, img.encoding, img.step = 4, 5, "rgb8", 15
    img.data = bytes(((np.arange(60) + i) % 256).astype(np.uint8))
    cim = CompressedImage()
    cim.header.stamp, cim.header.frame_id = stamp(i), "camera"
    cim.format = "jpeg"
    cim.data = b"\xff\xd8\xff\xe0" + bytes([i % 256]) * 32 + b"\xff\xd9"
    cinfo = CameraInfo()
    cinfo.header.stamp, cinfo.header.frame_id = stamp(i), "camera"
    cinfo.width, cinfo.height = 5, 4
    cinfo.k = [100.0 + i, 0.0, 2.5, 0.0, 100.0, 2.0, 0.0, 0.0, 1.0]
    pc = PointCloud2()
    pc.header.stamp, pc.header.frame_id = stamp(i), "lidar"
    pc.height, pc.width = 1, n_points
    pc.fields = [PointField(name=n, offset=4 * k, datatype=PointField.FLOAT32, count=1) for k, n in enumerate("xyz")]
    pc.point_step, pc.row_step, pc.is_dense = 12, 12 * n_points, True
    pts = (rng.standard_normal((n_points, 3)) + i).astype(np.float32)
    pc.data = pts.tobytes()
    scan = LaserScan()
    scan.header.stamp, scan.header.frame_id = stamp(i), "laser"
    scan.angle_min, scan.angle_increment, scan.range_min, scan.range_max = 0.0, 0.1, 0.0, 100.0
    scan.ranges = [1.0 + i, 2.0, 3.0]
    odo = Odometry()
    odo.header.stamp, odo.header.frame_id, odo.child_frame_id = stamp(i), "odom", "base_link"
    odo.pose.pose.position.x = float(i)
    odo.pose.pose.orientation.w = 1.0
    odo.twist.twist.linear.x = 0.5
    log = Log(stamp=stamp(i), level=Log.WARN, name="pub", msg=f"message {i}")
    return {"/tf": tf, "/camera/image": img, "/camera/compressed": cim, "/camera/info": cinfo,
            "/lidar/points": pc, "/scan": scan, "/odom": odo, "/app_log": log,
            "/value": Float64(data=i * 0.25), "/count": Int32(data=i)}


TYPES = {"/tf": TFMessage, "/camera/image": Image, "/camera/compressed": CompressedImage, "/camera/info": CameraInfo,
         "/lidar/points": PointCloud2, "/scan": LaserScan, "/odom": Odometry, "/app_log": Log, "/value": Float64,
         "/count": Int32}


def main() -> int:
    n = int(sys.argv[1])
    clock = "--clock" in sys.argv
    t0 = int(sys.argv[sys.argv.index("--t0") + 1]) if "--t0" in sys.argv else int(time.time())
    skew = {}
    if "--skew" in sys.argv:
        topic, _, sec = sys.argv[sys.argv.index("--skew") + 1].partition("=")
        skew[topic] = float(sec)
    hz = float(sys.argv[sys.argv.index("--hz") + 1]) if "--hz" in sys.argv else 20.0
    n_points = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else 100_000
    rclpy.init()
    node = rclpy.create_node("test_publisher")
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    st = node.create_publisher(TFMessage, "/tf_static", latched)
    s = TransformStamped()
    s.header.stamp = stamp(0, t0)
    s.header.frame_id, s.child_frame_id = "base_link", "lidar"
    s.transform.translation.z = 1.5
    s.transform.rotation.w = 1.0
    st.publish(TFMessage(transforms=[s]))  # published before anyone listens: a late joiner must get it
    pubs = {t: node.create_publisher(cls, t, reliable) for t, cls in TYPES.items()}
    clock_pub = node.create_publisher(Clock, "/clock", 10) if clock else None
    deadline = time.time() + 60
    while time.time() < deadline and not all(p.get_subscription_count() > 0 for p in pubs.values()):
        rclpy.spin_once(node, timeout_sec=0.05)
    if not all(p.get_subscription_count() > 0 for p in pubs.values()):
        print("no subscriber", file=sys.stderr)
        return 1
    print("matched", flush=True)
    time.sleep(0.5)
    for i in range(n):
        if clock_pub is not None:
            clock_pub.publish(Clock(clock=Time(sec=5000 + i, nanosec=0)))
            time.sleep(0.02)
        for t, m in messages(i, n_points, t0, skew).items():
            pubs[t].publish(m)
            time.sleep(0.003)  # topics a few ms apart, as from independent nodes
        rclpy.spin_once(node, timeout_sec=0)
        time.sleep(1.0 / hz)
    # Reliable delivery holds only while the writer lives: samples lost on the wire (1 MB clouds
    # overflow Fast DDS's default shared-memory segment) are re-sent after the next heartbeat,
    # which can be a second later. Wait until every subscriber has acknowledged everything.
    for t, p in pubs.items():
        if not p.wait_for_all_acked(Duration(seconds=30)):
            print(f"{t}: not acknowledged within 30 s", file=sys.stderr)
            return 1
    time.sleep(0.2)
    print("published", flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
