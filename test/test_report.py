"""rerun-ros report: warnings found in data made to have them, rules gate the exit status."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import FIELD, run_cli
from rerun_ros.model import archetypes as A
from rerun_ros.model.chunk import Timeline
from rerun_ros.convert import convert
from rerun_ros.stream.recording import BatcherConfig, RecordingStream
from rerun_ros.report import make_report, parse_rules
from rerun_ros.rrd.writer import RrdWriter

S = 10**9
T0 = 1_700_000_000 * S
ROS, LOG = Timeline("ros_time"), Timeline("log_time")


@pytest.fixture
def troubled(tmp_path):
    """10 s: /imu at 50 Hz with a 3 s hole, a NaN; /odom at 10 Hz in frame 'odom' that TF lacks;
    map->base updated only for the first 2 s; /cam stamps jumping back."""
    p = tmp_path / "t.rrd"
    w = RrdWriter(p)
    rec = RecordingStream(batcher=BatcherConfig(max_age=0), sinks=[w])
    for i in range(500):
        t = T0 + i * S // 50
        if 4 * S <= t - T0 < 7 * S:
            continue
        v = np.nan if i == 100 else float(i)
        rec.log("/imu", A.Scalars([v]), A.CoordinateFrame("base"), timepoints={ROS: t, LOG: t + 2_000_000})
    for i in range(100):
        t = T0 + i * S // 10
        rec.log("/odom", A.Points3D([[i, 0, 0]]), A.CoordinateFrame("odom"), timepoints={ROS: t, LOG: t})
        stamp = t - (3 * S if i == 50 else 0)
        rec.log("/cam", A.Scalars([1.0]), timepoints={ROS: stamp, LOG: t})
    for i in range(20):
        t = T0 + i * S // 10
        rec.log("/tf", A.Transform3D(translation=[i, 0, 0], quaternion=[0, 0, 0, 1], parent_frame="map",
                                     child_frame="base"), timepoints={ROS: t, LOG: t})
    rec.close()
    return p


def test_findings_and_rules(troubled, tmp_path):
    code, rep = make_report(str(troubled), str(tmp_path / "r"), snapshots=False,
                            fail_on="nan,max_gap:/imu=1.0,min_rate:/odom=5")
    kinds = {(f["kind"], f["entity"]) for f in rep["findings"]}
    assert ("nan", "/imu") in kinds
    assert ("missing_tf", "/odom") in kinds
    assert ("stale_tf", "base") in kinds
    assert ("time_jump", "/cam") in kinds
    assert ("rate_drop", "/imu") in kinds
    assert code == 4
    assert any(m.startswith("nan:") for m in rep["fired"])
    assert any(m.startswith("max_gap:/imu") and "3.0" in m for m in rep["fired"])
    assert not any(m.startswith("min_rate") for m in rep["fired"])  # /odom runs at 10 Hz
    imu = next(t for t in rep["topics"] if t["entity"] == "/imu")
    assert imu["rate_hz"] == pytest.approx(35, abs=1) and imu["latency_ms_p50"] == pytest.approx(2.0)
    html = (tmp_path / "r" / "index.html").read_text()
    assert "Rules fired" in html and "topic_imu_" in html and (tmp_path / "r" / "tf_tree.png").exists()
    assert json.loads((tmp_path / "r" / "report.json").read_text())["fired"] == rep["fired"]
    code, rep = make_report(str(troubled), str(tmp_path / "r2"), snapshots=False, fail_on="min_rate:/odom=5")
    assert code == 0 and not rep["fired"]


def test_rules_parse():
    assert parse_rules("any")[0] == ("missing_tf",)
    assert parse_rules("max_gap:/a/b=0.5") == [("max_gap", "/a/b", 0.5)]
    with pytest.raises(ValueError, match="unknown rule"):
        parse_rules("speed")
    with pytest.raises(ValueError, match="ENTITY=NUMBER"):
        parse_rules("min_rate:/x=fast")


def test_report_cli_on_a_real_bag_with_snapshots(tmp_path, xdisplay):
    rrd = tmp_path / "f.rrd"
    convert(FIELD, rrd)
    out = tmp_path / "rep"
    p = run_cli("report", rrd, "-o", out, "--time", "5", "--time", "15", "--fail-on", "missing_tf")
    assert p.returncode == 4, p.stderr
    assert "rule fired: missing_tf" in p.stderr and "is not in the TF tree" in p.stderr
    rep = json.loads((out / "report.json").read_text())
    missing = [w["message"] for w in rep["findings"] if w["kind"] == "missing_tf"]
    # the custom DVL messages are kept whole with their frame now, so their frame is checked too
    assert any("'odom' is not in the TF tree" in m for m in missing)
    assert any("'dvl_A50/velocity_link' is not in the TF tree" in m for m in missing)
    assert [s["file"] for s in rep["snapshots"]] == ["snapshot_0.png", "snapshot_1.png"]
    from PIL import Image
    a = np.asarray(Image.open(out / "snapshot_0.png").convert("RGB"))
    assert a.shape == (800, 1280, 3) and a.std() > 5
    p = run_cli("report", rrd, "-o", tmp_path / "x", "--fail-on", "nope", "--no-snapshots")
    assert p.returncode == 1 and "unknown rule" in p.stderr
