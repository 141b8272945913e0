"""ROS 2 nodes (need rclpy): the live bridge and the recorder. Everything else in rerun_ros
imports without rclpy."""
