"""rerun_ros: Rerun-style, time-aware visual debugging for ROS 2 (ament_python package)."""
from glob import glob

from setuptools import find_packages, setup

package_name = "rerun_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(include=["rerun_ros", "rerun_ros.*"]) + ["rerun_ros.viewer"],
    # the viewer lives in the top-level viewer/ folder and is installed as rerun_ros.viewer
    package_dir={"rerun_ros.viewer": "viewer"},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    package_data={"rerun_ros": ["data/*.mcap", "data/LICENSE*"]},
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.23",
        "pyarrow>=14",
        "lz4>=4",
        "zlib-ng>=0.4",  # CRC-32 of MCAP chunks, 10x zlib's speed (falls back to zlib without it)
        "protobuf>=4.21",
        "grpcio>=1.60",  # Rerun's gRPC message proxy (official viewer, rerun-ros serve)
        "xxhash>=3",
        "mcap>=1.1",
        "mcap-ros2-support>=0.5",
        "rich>=13",
        "PyYAML>=6",
        "trimesh>=4",
        "scipy>=1.10",  # trimesh needs it for the mesh formats it reads (else a traceback per mesh)
        "pycollada>=0.8",
        "rosbags>=0.10",
        "Pillow>=9",
        "pandas>=2",
        "polars>=1",
        "matplotlib>=3.7",
        "vispy>=0.14",
        "PyQt6==6.11.*",
    ],
    extras_require={
        "test": ["pytest>=7", "rerun-sdk==0.41.0", "datafusion==54.*", "evo==1.38.*"],
        # fleet scale: `rerun-ros fleet convert` on Ray, the DuckDB catalog, URIs through fsspec
        # (add s3fs/gcsfs for s3:// and gs://)
        "fleet": ["ray>=2.40", "duckdb>=1.1", "fsspec>=2024.1"],
    },
    zip_safe=False,
    maintainer="rerun_ros developers",
    maintainer_email="rerun-ros@example.invalid",
    description="Rerun data model, RRD files, MCAP conversion and a viewer for ROS 2",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "rerun-ros = rerun_ros.cli:console_main",
            "bridge = rerun_ros.ros.bridge:console_bridge",
            "recorder = rerun_ros.ros.bridge:console_recorder",
            "viewer = rerun_ros.viewer.app:console_viewer",
        ],
    },
)
