"""Rerun's "Stream from Python" tutorial program (the DNA abacus), in Rerun 0.41's API, with only
its import changed to rerun_ros.sdk (tests run it; argv: `save PATH`, `grpc URL` or `tcp ADDR`)."""
import sys
from math import tau

import numpy as np

import rerun_ros.sdk as rr
from rerun_ros.sdk.utilities import bounce_lerp, build_color_spiral

NUM_POINTS = 100

rr.init("rerun_example_dna_abacus")
mode, target = sys.argv[1], sys.argv[2]
if mode == "save":
    rr.save(target)
elif mode == "grpc":
    rr.connect_grpc(target)
else:
    rr.connect_tcp(target)

rr.set_time("stable_time", duration=0)

points1, colors1 = build_color_spiral(NUM_POINTS)
points2, colors2 = build_color_spiral(NUM_POINTS, angular_offset=tau * 0.5)
rr.log("dna/structure/left", rr.Points3D(points1, colors=colors1, radii=0.08))
rr.log("dna/structure/right", rr.Points3D(points2, colors=colors2, radii=0.08))

rr.log("dna/structure/scaffolding", rr.LineStrips3D(np.stack((points1, points2), axis=1), colors=[128, 128, 128]))

time_offsets = np.random.default_rng(0).random(NUM_POINTS)
for i in range(400):
    time = i * 0.01
    rr.set_time("stable_time", duration=time)
    times = np.repeat(time, NUM_POINTS) + time_offsets
    beads = [bounce_lerp(points1[n], points2[n], times[n]) for n in range(NUM_POINTS)]
    colors = [[int(bounce_lerp(80, 230, times[n] * 2))] for n in range(NUM_POINTS)]
    rr.log("dna/structure/scaffolding/beads", rr.Points3D(beads, radii=0.06, colors=np.repeat(colors, 3, axis=-1)))

for i in range(400):
    time = i * 0.01
    rr.set_time("stable_time", duration=time)
    rr.log("dna/structure", rr.Transform3D(rotation=rr.RotationAxisAngle(axis=[0, 0, 1], radians=time / 4.0 * tau)))

if mode == "tcp":  # the logging process serves the stream: wait for the viewer to have it all
    import time as _t
    _t.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 5.0)
rr.disconnect()
