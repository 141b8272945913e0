"""Comparing two runs of a robot (``rerun-ros diff``): what changed, where and when.

- :mod:`.series`: a run's topics as time-sorted messages and their scalar signals;
- :mod:`.align`: the anchor that puts two runs on one time axis (start, robot clock, an event);
- :mod:`.trajectory`: a run's trajectories and APE/RPE as evo defines them;
- :mod:`.runs`: the comparison, its findings and rules (exit status 4);
- :mod:`.page`: the HTML page with plots;
- :mod:`.overlay`: several runs in one store on one timeline (`rerun-ros view A B`).

ROS-free: bags are read through the converter, ``.rrd`` files through our reader.
"""
from .runs import DEFAULT_TOLERANCE, EXIT_DIFFERENCES, FINDING_KINDS, diff_runs, load_tolerance, parse_rules

__all__ = ["diff_runs", "load_tolerance", "parse_rules", "DEFAULT_TOLERANCE", "EXIT_DIFFERENCES", "FINDING_KINDS"]
