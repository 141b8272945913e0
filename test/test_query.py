"""The query/dataframe API and CLI, with the official reader (rerun-sdk 0.41) as the oracle."""
from __future__ import annotations

import csv
import io
import json

import pytest

import rerun_ros
from conftest import FIELD, SENSORS, nan_safe, run_cli
from rerun_ros.convert import convert


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("q")
    out = {}
    for name, bag in (("sensors", SENSORS), ("field", FIELD)):
        convert(bag, d / f"{name}.rrd")
        out[name] = d / f"{name}.rrd"
    return out


@pytest.mark.parametrize("name, globs", [
    ("sensors", ["/imu", "/rosout", "/battery_state", "/joint_state", "/nav_sat_fix/**", "/point_cloud2", "/image",
                 "/camera_info"]),
    ("field", ["/tf", "/tf_static", "/coug2/depth_data", "/coug2/odom/**", "/coug2/battery/data"]),
])
def test_dataframe_equals_official_reader(files, name, globs):
    from rerun.chunk import RrdReader
    rec = rerun_ros.open(files[name])
    off = RrdReader(str(files[name])).store().stream().collect()
    for glob in globs:
        for tl in ("ros_time", "log_time"):
            a = rec.dataframe(tl, entities=glob)
            b = off.reader(index=tl, contents=glob).to_arrow_table()
            assert a.column_names == b.column_names, (glob, tl)
            assert a.num_rows == b.num_rows, (glob, tl)
            for col in b.column_names:
                assert nan_safe(a.column(col).to_pylist()) == nan_safe(b.column(col).to_pylist()), (glob, tl, col)



def test_latest_at_range_and_exports(files, tmp_path):
    rec = rerun_ros.open(files["sensors"])
    assert set(rec.timelines()) == {"ros_time", "log_time", "publish_time"}
    lo, hi = rec.time_range("log_time")
    la = rec.latest_at("log_time", hi, entities="/battery_state")
    assert la["/battery_state"]["Scalars:scalars"].to_numpy()[0] == pytest.approx(10.2)
    r = rec.range("log_time", lo, lo + 2 * 10**9, entities="/rosout")
    assert 0 < r.num_rows < 117 and r.column("log_time").cast("int64").to_numpy().max() <= lo + 2 * 10**9
    pdf = rec.to_pandas("log_time", entities="/battery_state")
    assert len(pdf) == 10 and "/battery_state:Scalars:scalars" in pdf.columns
    pl = rec.to_polars("log_time", entities="/battery_state")
    assert pl.height == 10
    rec.to_parquet(tmp_path / "b.parquet", "log_time", entities="/battery_state")
    import pyarrow.parquet as pq
    assert pq.read_table(tmp_path / "b.parquet").num_rows == 10
    # filled latest-at: every row carries the latest value
    f = rec.dataframe("log_time", entities="/**", fill_latest_at=True)
    assert f.column("/camera_info:Pinhole:resolution").to_pylist()[-1] == [[640.0, 480.0]]
    with pytest.raises(KeyError, match="unknown timeline"):
        rec.dataframe("nope")
    # a bag opens the same way (converted in memory)
    bag = rerun_ros.open(SENSORS)
    assert bag.dataframe("log_time", entities="/battery_state").num_rows == 10


def test_query_cli_formats(files, tmp_path):
    f = files["sensors"]
    p = run_cli("query", f, "--entity", "/battery_state", "--timeline", "log_time", "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0][:3] == ["log_time", "publish_time", "ros_time"] and len(rows) == 11
    assert json.loads(rows[1][rows[0].index("/battery_state:Scalars:scalars")])[0] == pytest.approx(12.0)
    p = run_cli("query", f, "--entity", "/imu", "--at", "5", "--format", "json")
    (row,) = json.loads(p.stdout)
    # accel x, y, z, gyro x, y, z, then roll, pitch, yaw of the identity orientation
    assert row["/imu:Scalars:scalars"] == pytest.approx([0.0, 0.0, 9.81, 0.1, 0.2, 0.3, 0.0, 0.0, 0.0])
    p = run_cli("query", f, "--entity", "/rosout", "--format", "parquet", "-o", tmp_path / "r.parquet")
    assert p.returncode == 0
    p = run_cli("query", f, "--entity", "/rosout", "--start", "0", "--end", "1")
    assert p.returncode == 0 and "/rosout:TextLog:text" in p.stdout
    p = run_cli("query", f, "--timeline", "nope")
    assert p.returncode == 1 and "unknown timeline" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("query", f, "--format", "parquet")
    assert p.returncode == 1 and "needs -o" in p.stderr


def test_filter_keeps_window_and_state(files, tmp_path):
    from conftest import rerun_verify
    src = files["field"]
    out = tmp_path / "cut.rrd"
    p = run_cli("filter", src, "-o", out, "--start", "8", "--end", "12")
    assert p.returncode == 0, p.stderr
    assert rerun_verify(out).returncode == 0
    a, b = rerun_ros.open(src), rerun_ros.open(out)
    lo = a.time_range("ros_time")[0]
    t0, t1 = lo + 8 * 10**9, lo + 12 * 10**9
    for e in a.entities():
        for t in (t0, (t0 + t1) // 2, t1):  # same latest-at state at the start and inside the window
            la, lb = a.store.latest_at(e, "ros_time", t), b.store.latest_at(e, "ros_time", t)
            assert {k: (v.time, v.values.to_pylist()) for k, v in la.items()} == \
                   {k: (v.time, v.values.to_pylist()) for k, v in lb.items()}, (e, t)
    # nothing after the window; before it only the latest-at rows (at most one per entity and column)
    for c in b.store.chunks():
        if "ros_time" in c.timelines and not c.is_static:
            times = c.timelines["ros_time"][1]
            assert times.max() <= t1
    df_in = a.dataframe("ros_time", entities="/coug2/battery/data", start=t0, end=t1)
    df_out = b.dataframe("ros_time", entities="/coug2/battery/data", start=t0, end=t1)
    assert df_in.to_pylist() == df_out.to_pylist()
    # entity selection
    out2 = tmp_path / "tf.rrd"
    assert run_cli("filter", src, "-o", out2, "--entity", "/tf*/**").returncode == 0
    assert set(rerun_ros.open(out2).entities()) == {"/tf/coug2.modem", "/tf_static/coug2.robot", "/tf_static/ned"}


def test_filter_copies_whole_chunks_verbatim(tmp_path):
    from rerun_ros.model import archetypes as A
    from rerun_ros.model.chunk import Timeline
    from rerun_ros.stream.recording import BatcherConfig, RecordingStream
    from rerun_ros.rrd.reader import RrdReader
    from rerun_ros.rrd.writer import RrdWriter
    from rerun_ros.query.filter import filter_rrd
    src = tmp_path / "big.rrd"
    w = RrdWriter(src)
    rec = RecordingStream(batcher=BatcherConfig(max_rows=10, max_age=0), sinks=[w])
    T = Timeline("frame", "sequence")
    for i in range(100):
        rec.log("/s", A.Scalars([float(i)]), timepoints={T: i})
    rec.close()
    rep = filter_rrd(src, tmp_path / "cut.rrd", timeline="frame", start=20, end=49)
    assert (rep.copied, rep.cut) == (3, 0) and rep.state_rows == 1
    with RrdReader(src) as a, RrdReader(tmp_path / "cut.rrd") as b:
        ids_in = set(a.manifest.column("chunk_id").to_pylist())
        ids_out = b.manifest.column("chunk_id").to_pylist()
        assert sum(i in ids_in for i in ids_out) == 3  # the same chunks, not re-made
    r = rerun_ros.open(tmp_path / "cut.rrd")
    vals = r.dataframe("frame").column("/s:Scalars:scalars").to_pylist()
    assert [v[0] for v in vals] == [19.0] + [float(i) for i in range(20, 50)]


def test_open_and_query_never_import_pandas(files):
    """pyarrow imports pandas (~0.3 s) on its first ``Array.to_numpy`` or ``pa.array(numpy)`` in a
    process; opening a recording, its dataframes, latest-at and the report must not pay it."""
    import subprocess
    import sys
    code = (
        "import sys, rerun_ros\n"
        f"rec = rerun_ros.open({str(files['field'])!r})\n"
        "lo, hi = rec.time_range('ros_time')\n"
        "t = rec.dataframe('ros_time', entities='/coug2/**')\n"
        "f = rec.dataframe('ros_time', entities='/tf/**', fill_latest_at=True)\n"
        "rec.store.latest_at('/coug2/odom', 'ros_time', (lo + hi) // 2)\n"
        "assert t.num_rows > 100 and f.num_rows > 10, (t.num_rows, f.num_rows)\n"
        "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
