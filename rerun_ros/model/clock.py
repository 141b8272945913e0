"""The robot clock of a recording: one rule that puts every row on one coherent time axis.

A row's ``ros_time`` is its ``header.stamp`` (each ``TransformStamped``'s own stamp for TF). A
row without a stamp (no header, or a stamp left at 0) is placed at its *log time mapped onto the
robot clock*:

1. through ``/clock`` (``rosgraph_msgs/msg/Clock``) when it was recorded and the header stamps
   agree with it (interpolated between the clock messages; before the first and after the
   last one, at the pace of the log);
2. else through the offset between header stamps and log times that most of the recording's
   publishers agree on (tracked over time in windows, so a simulation running slower or faster
   than real time stays on its clock);
3. else the log time itself (the wall clock).

A publisher whose stamp disagrees with that clock by more than ``bound_ns`` (default 10 s) is
named once (:attr:`RobotClock.off_clock`: source, offset) and its rows are placed by log time
on the robot clock; its raw stamp stays in the message's struct column. Live, the bridge
places rows with the node's clock (``use_sim_time``): its log time *is* the robot clock.

Everything here is numpy over int64 ns since the Unix epoch (ROS ``builtin_interfaces/Time``:
``sec * 1e9 + nanosec``). ROS-free.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RobotClock", "ClockEstimator", "OffClock", "BOUND_NS", "SIM_CLOCK", "SIM_OFFSET", "OFFSET",
           "WALL", "NODE", "NODE_SIM"]

#: how far (ns) a stamp may stray from the robot clock before its publisher is "off the clock"
BOUND_NS = 10_000_000_000
#: window (ns of log time) over which the stamp-to-log offset is tracked
WINDOW_NS = 5_000_000_000
#: samples kept per window and observation (evenly strided)
_PER_WINDOW = 64
#: robot times before this (2001-09-09) are simulation time counted from the simulator's start
_SIM_EPOCH_NS = 1_000_000_000 * 1_000_000_000

SIM_CLOCK = "sim time from /clock"
SIM_OFFSET = "sim time, offset from header stamps"
OFFSET = "robot clock, offset from header stamps"
WALL = "wall clock"
NODE = "node clock"
NODE_SIM = "node clock (sim time from /clock)"


@dataclass
class OffClock:
    """A source (topic, or ``/tf/<child>`` entity) whose rows were placed by log time.

    Attributes:
        source: topic or entity. offset_s: median of stamp - robot clock, s (nan when every
        stamp was unset). rows: rows placed by log time. unset: rows whose stamp was 0.
    """

    source: str
    offset_s: float = float("nan")
    rows: int = 0
    unset: int = 0

    def describe(self) -> str:
        if self.rows == self.unset:
            return f"{self.source} (stamps unset)"
        return f"{self.source} ({'+' if self.offset_s >= 0 else '-'}{_human(self.offset_s)})"


class RobotClock:
    """Maps log times (ns) onto the robot clock and places rows on it.

    Args:
        kind: one of :data:`SIM_CLOCK`, :data:`SIM_OFFSET`, :data:`OFFSET`, :data:`WALL`,
            :data:`NODE`, :data:`NODE_SIM` (what the summary prints).
        bound_ns: tolerance of a stamp against the robot clock (ns).
        offset_ns: the initial offset robot - log (ns) for the offset kinds.

    Attributes:
        off_clock: source -> :class:`OffClock`, the publishers placed by log time.
        note: one line on how the clock was chosen (e.g. "/clock disagrees with ...").
    """

    def __init__(self, kind: str = WALL, bound_ns: int = BOUND_NS, offset_ns: int = 0):
        self.kind = kind
        self.bound_ns = int(bound_ns)
        self.offset_ns = int(offset_ns)
        self.note = ""
        self.off_clock: dict[str, OffClock] = {}
        # /clock knots (log ns, clock ns), appended as observed; sorted lazily
        self._clk_parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._clk: tuple[np.ndarray, np.ndarray] | None = None
        # offset windows: index -> list of int64 arrays of (stamp - log) samples
        self._win: dict[int, list] = {}
        self._win_dirty: set = set()
        self._knots: dict[int, int] = {}  # window index -> offset ns
        self._knot_arr: tuple[np.ndarray, np.ndarray] | None = None

    # -- what the clock is ------------------------------------------------------------------

    @property
    def identity(self) -> bool:
        """Log time is the robot clock (wall clock; live on the node clock)."""
        return self.kind in (WALL, NODE, NODE_SIM)

    @property
    def tracked(self) -> bool:
        """The clock is followed through the recording (the ``/clock`` values, or the offset of
        the header stamps from log time, per window): what is read ahead of a message can move it.
        Every clock whose robot time is not its log time is."""
        return not self.identity

    def describe(self) -> str:
        """One line for summaries: the kind, the offset, and the publishers off the clock."""
        text = self.kind
        if self.kind in (SIM_OFFSET, OFFSET):
            off = self.offset_ns / 1e9
            text += f" ({_human(off)} {'behind' if off < 0 else 'ahead of'} log time)"
        if self.off_clock:
            text += "; placed by log time: " + ", ".join(o.describe() for o in self.off_clock.values())
        return text

    def to_dict(self) -> dict:
        return {"kind": self.kind, "offset_s": self.offset_ns / 1e9, "bound_s": self.bound_ns / 1e9,
                "note": self.note,
                "off_clock": [{"source": o.source, "offset_s": None if np.isnan(o.offset_s) else o.offset_s,
                               "rows": o.rows, "unset": o.unset} for o in self.off_clock.values()]}

    # -- observing (tracking the clock while a recording streams) ---------------------------

    def add_clock(self, log_ns: np.ndarray, clock_ns: np.ndarray) -> None:
        """``/clock`` messages: their log times and clock values (int64 (n,) ns)."""
        ok = np.asarray(clock_ns) != 0
        if ok.any():
            self._clk_parts.append((np.asarray(log_ns, np.int64)[ok], np.asarray(clock_ns, np.int64)[ok]))
            self._clk = None

    def add_stamps(self, log_ns: np.ndarray, stamp_ns: np.ndarray) -> None:
        """Header stamps and log times (int64 (n,) ns) of publishers on the clock, for the
        offset kinds (others ignore them)."""
        if self.kind not in (SIM_OFFSET, OFFSET) or not len(log_ns):
            return
        log_ns = np.asarray(log_ns, np.int64)
        stamp_ns = np.asarray(stamp_ns, np.int64)
        ok = stamp_ns != 0
        if not ok.all():
            log_ns, stamp_ns = log_ns[ok], stamp_ns[ok]
        if not len(log_ns):
            return
        w = log_ns // WINDOW_NS
        d = stamp_ns - log_ns
        order = np.argsort(w, kind="stable")
        w, d = w[order], d[order]
        starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
        ends = np.r_[starts[1:], len(w)]
        for a, b in zip(starts, ends):
            seg = d[a:b]
            if len(seg) > _PER_WINDOW:
                seg = seg[:: -(-len(seg) // _PER_WINDOW)]
            k = int(w[a])
            self._win.setdefault(k, []).append(seg)
            self._win_dirty.add(k)

    # -- mapping ----------------------------------------------------------------------------

    def _clock_knots(self) -> tuple[np.ndarray, np.ndarray]:
        if self._clk is None:
            if self._clk_parts:
                lg = np.concatenate([p[0] for p in self._clk_parts])
                ck = np.concatenate([p[1] for p in self._clk_parts])
                lg, idx = np.unique(lg, return_index=True)
                ck = ck[idx]
                self._clk_parts = [(lg, ck)]
            else:
                lg = ck = np.zeros(0, np.int64)
            self._clk = (lg, ck)
        return self._clk

    def _offset_knots(self) -> tuple[np.ndarray, np.ndarray]:
        if self._win_dirty:
            for k in sorted(self._win_dirty):
                d = np.concatenate(self._win[k])
                prev = [self._knots[j] for j in (k - 1, k - 2) if j in self._knots]
                ref = prev[0] if prev else self.offset_ns
                d = d[np.abs(d - ref) <= self.bound_ns]
                if len(d):
                    self._knots[k] = int(np.median(d))
                if len(self._win[k]) > 8:  # keep the windows small
                    self._win[k] = [np.concatenate(self._win[k])[:: max(1, len(d) // _PER_WINDOW)]]
            self._win_dirty.clear()
            self._knot_arr = None
        if self._knot_arr is None:
            ks = sorted(self._knots)
            self._knot_arr = (np.asarray([k * WINDOW_NS + WINDOW_NS // 2 for k in ks], np.int64),
                              np.asarray([self._knots[k] for k in ks], np.int64))
        return self._knot_arr

    def to_robot(self, log_ns) -> np.ndarray:
        """Log times int64 (n,) ns → the robot clock's time at those moments, int64 (n,) ns."""
        log_ns = np.asarray(log_ns, np.int64)
        if self.identity or not len(log_ns):
            return log_ns
        if self.kind == SIM_CLOCK:
            lg, ck = self._clock_knots()
            if not len(lg):
                return log_ns + self.offset_ns
            x = (log_ns - lg[0]).astype(np.float64)
            y = np.interp(x, (lg - lg[0]).astype(np.float64), (ck - ck[0]).astype(np.float64))
            out = ck[0] + np.round(y).astype(np.int64)
            # before the first and after the last clock message it runs at the log's pace
            early = log_ns < lg[0]
            if early.any():
                out[early] = ck[0] - (lg[0] - log_ns[early])
            late = log_ns > lg[-1]
            if late.any():
                out[late] = ck[-1] + (log_ns[late] - lg[-1])
            return out
        xs, offs = self._offset_knots()
        if not len(xs):
            return log_ns + self.offset_ns
        if len(xs) == 1:
            return log_ns + offs[0]
        o = np.interp((log_ns - xs[0]).astype(np.float64), (xs - xs[0]).astype(np.float64),
                      (offs - offs[0]).astype(np.float64))
        return log_ns + offs[0] + np.round(o).astype(np.int64)

    def place(self, source: str, stamp_ns, log_ns, robot_ns=None, count: bool = True) -> np.ndarray:
        """``ros_time`` of rows: the stamp where it is set and agrees with the robot clock,
        else the log time on the robot clock (counted in :attr:`off_clock` under ``source``).

        Args:
            source: the topic or entity the rows belong to (named in the summary).
            stamp_ns: int64 (n,) header stamps (0: unset), or None (no header: all by log time,
                not counted as off the clock).
            log_ns: int64 (n,) log times. robot_ns: int64 (n,) the robot clock at the log times
                when the caller knows it (live: the node clock), else computed.
            count: record the rows placed by log time in :attr:`off_clock`.

        Returns:
            int64 (n,) ns.
        """
        log_ns = np.asarray(log_ns, np.int64)
        robot = self.to_robot(log_ns) if robot_ns is None else np.asarray(robot_ns, np.int64)
        if stamp_ns is None:
            return robot
        stamp = np.asarray(stamp_ns, np.int64)
        unset = stamp == 0
        off = np.abs(stamp - robot) > self.bound_ns
        bad = unset | off
        if not bad.any():
            return stamp
        if not count:
            return np.where(bad, robot, stamp)
        o = self.off_clock.get(source)
        if o is None:
            o = self.off_clock[source] = OffClock(source)
        o.rows += int(bad.sum())
        o.unset += int(unset.sum())
        set_off = off & ~unset
        if set_off.any():
            o.offset_s = float(np.median(stamp[set_off] - robot[set_off])) / 1e9
        return np.where(bad, robot, stamp)


class ClockEstimator:
    """Finds the robot clock of a recording from a prefix of its messages.

    Feed it header stamps per source (:meth:`add_stamps`) and ``/clock`` messages
    (:meth:`add_clock`), then :meth:`decide`. The returned :class:`RobotClock` keeps tracking
    (its ``add_*``) as the rest of the recording streams.

    Args:
        bound_ns: tolerance of a stamp against the clock (ns), see :data:`BOUND_NS`.
    """

    def __init__(self, bound_ns: int = BOUND_NS):
        self.bound_ns = int(bound_ns)
        self._stamps: dict[str, list] = {}
        self._clock: list = []
        self.first_log: int | None = None

    def add_stamps(self, source: str, log_ns: np.ndarray, stamp_ns: np.ndarray) -> None:
        """int64 (n,) log times and stamps (0 = unset, ignored) of one source."""
        log_ns = np.asarray(log_ns, np.int64)
        if len(log_ns):
            lo = int(log_ns.min())
            self.first_log = lo if self.first_log is None else min(self.first_log, lo)
        ok = np.asarray(stamp_ns) != 0
        if ok.any():
            self._stamps.setdefault(source, []).append((log_ns[ok], np.asarray(stamp_ns, np.int64)[ok]))

    def add_log_times(self, log_ns: np.ndarray) -> None:
        """Log times of messages without a stamp (they only tell where the recording starts)."""
        if len(log_ns):
            lo = int(np.min(log_ns))
            self.first_log = lo if self.first_log is None else min(self.first_log, lo)

    def add_clock(self, log_ns: np.ndarray, clock_ns: np.ndarray) -> None:
        self.add_log_times(log_ns)
        if len(log_ns):
            self._clock.append((np.asarray(log_ns, np.int64), np.asarray(clock_ns, np.int64)))

    def decide(self) -> RobotClock:
        """The clock (module docstring's rule), seeded with what was observed."""
        b = self.bound_ns
        per = {s: (np.concatenate([p[0] for p in v]), np.concatenate([p[1] for p in v]))
               for s, v in self._stamps.items()}
        offsets = {s: int(np.median(st - lg)) for s, (lg, st) in per.items()}
        if self._clock:
            clk = RobotClock(SIM_CLOCK, b)
            for lg, ck in self._clock:
                clk.add_clock(lg, ck)
            if len(clk._clock_knots()[0]):
                agree = sum(1 for s, (lg, st) in per.items()
                            if abs(int(np.median(st - clk.to_robot(lg)))) <= b)
                if not per or 2 * agree >= len(per):
                    return clk
                note = (f"/clock disagrees with the header stamps of {len(per) - agree} of {len(per)} "
                        "publishers; the stamps' clock is used")
            else:
                note = "/clock was recorded without a time"
        else:
            note = ""
        if not offsets:
            c = RobotClock(WALL, b)
            c.note = note or "no header stamps: log time"
            return c
        # the offset most publishers agree on: group sources whose offsets lie within the bound
        items = sorted(offsets.items(), key=lambda kv: kv[1])
        groups: list[list[str]] = []
        for s, d in items:
            if groups and d - offsets[groups[-1][0]] <= b:
                groups[-1].append(s)
            else:
                groups.append([s])
        best = max(groups, key=lambda g: (len(g), sum(len(per[s][0]) for s in g)))
        d_all = np.concatenate([per[s][1] - per[s][0] for s in best])
        off = int(np.median(d_all))
        if abs(off) <= b:
            c = RobotClock(WALL, b)
        else:
            robot_start = (self.first_log or 0) + off
            c = RobotClock(SIM_OFFSET if robot_start < _SIM_EPOCH_NS else OFFSET, b, off)
            for s in best:
                c.add_stamps(*per[s])
        c.note = note
        return c


def _human(seconds: float) -> str:
    a = abs(seconds)
    if a >= 86400 * 365:
        return f"{a / (86400 * 365.25):.1f} years"
    if a >= 86400:
        return f"{a / 86400:.1f} days"
    if a >= 3600:
        return f"{a / 3600:.1f} h"
    if a >= 60:
        return f"{a / 60:.1f} min"
    return f"{a:.3f} s"
