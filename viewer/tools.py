"""rviz's interactive tools, for a viewer connected to a live robot: "2D Pose Estimate" publishes
``geometry_msgs/PoseWithCovarianceStamped`` on ``/initialpose`` (AMCL's initial pose, with
rviz's default covariance: 0.25 m² in x and y, 0.0685 rad² in yaw), "2D Goal Pose" publishes
``geometry_msgs/PoseStamped`` on ``/goal_pose`` (Nav2's goal), "Publish Point" publishes
``geometry_msgs/PointStamped`` on ``/clicked_point``; all in the 3D view's fixed frame, stamped
with the node's clock. rclpy is imported only when a tool is first used: the viewer itself needs
no ROS."""
from __future__ import annotations

import math

__all__ = ["RosTools", "ros_available", "TOPICS", "INITIAL_POSE_COVARIANCE"]

TOPICS = {"pose_estimate": "/initialpose", "goal_pose": "/goal_pose", "publish_point": "/clicked_point"}
INITIAL_POSE_COVARIANCE = [0.0] * 36
INITIAL_POSE_COVARIANCE[0] = INITIAL_POSE_COVARIANCE[7] = 0.25
INITIAL_POSE_COVARIANCE[35] = 0.06853891945200942


def ros_available() -> bool:
    """Whether rclpy and geometry_msgs import here."""
    try:
        import geometry_msgs.msg  # noqa: F401
        import rclpy  # noqa: F401
    except ImportError:
        return False
    return True


class RosTools:
    """One rclpy node (own context) with the three tools' publishers (reliable, depth 10, as rviz).

    Raises:
        RuntimeError: rclpy is not available (``ros_available()`` is False).
    """

    def __init__(self, node_name: str = "rerun_viewer_tools", topics: dict | None = None):
        if not ros_available():
            raise RuntimeError("the viewer's ROS tools need rclpy and geometry_msgs (source a ROS 2 setup)")
        import rclpy
        from geometry_msgs.msg import PointStamped, PoseStamped, PoseWithCovarianceStamped
        self.topics = {**TOPICS, **(topics or {})}
        self._ctx = rclpy.Context()
        rclpy.init(context=self._ctx)
        self.node = rclpy.create_node(node_name, context=self._ctx)
        self._pubs = {"pose_estimate": self.node.create_publisher(PoseWithCovarianceStamped, self.topics["pose_estimate"], 10),
                      "goal_pose": self.node.create_publisher(PoseStamped, self.topics["goal_pose"], 10),
                      "publish_point": self.node.create_publisher(PointStamped, self.topics["publish_point"], 10)}

    def _header(self, msg, frame: str):
        msg.header.frame_id = frame
        msg.header.stamp = self.node.get_clock().now().to_msg()

    @staticmethod
    def _yaw(pose, x: float, y: float, yaw: float) -> None:
        pose.position.x, pose.position.y, pose.position.z = float(x), float(y), 0.0
        pose.orientation.z, pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)

    def pose_estimate(self, frame: str, x: float, y: float, yaw: float):
        """Publish an initial pose at (x, y) m, heading ``yaw`` rad, in ``frame``; returns the message."""
        from geometry_msgs.msg import PoseWithCovarianceStamped
        m = PoseWithCovarianceStamped()
        self._header(m, frame)
        self._yaw(m.pose.pose, x, y, yaw)
        m.pose.covariance = INITIAL_POSE_COVARIANCE
        self._pubs["pose_estimate"].publish(m)
        return m

    def goal_pose(self, frame: str, x: float, y: float, yaw: float):
        """Publish a navigation goal at (x, y) m, heading ``yaw`` rad, in ``frame``; returns the message."""
        from geometry_msgs.msg import PoseStamped
        m = PoseStamped()
        self._header(m, frame)
        self._yaw(m.pose, x, y, yaw)
        self._pubs["goal_pose"].publish(m)
        return m

    def publish_point(self, frame: str, x: float, y: float, z: float):
        """Publish a clicked point (m) in ``frame``; returns the message."""
        from geometry_msgs.msg import PointStamped
        m = PointStamped()
        self._header(m, frame)
        m.point.x, m.point.y, m.point.z = float(x), float(y), float(z)
        self._pubs["publish_point"].publish(m)
        return m

    def subscribers(self, tool: str) -> int:
        return self._pubs[tool].get_subscription_count()

    def close(self) -> None:
        try:
            self.node.destroy_node()
        finally:
            import rclpy
            rclpy.shutdown(context=self._ctx)
