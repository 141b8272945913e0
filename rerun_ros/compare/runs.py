"""``rerun-ros diff A B``: what changed between two runs of a robot, where and when.

The runs (bags or recordings) are put on one time axis (:mod:`rerun_ros.compare.align`) and
compared over the window both cover:

- per topic: messages and rate in the window, the longest gap and where it is; topics gone/new;
- per signal (every numeric scalar field of every message, :func:`scalar_signals`): B at A's
  times (linear interpolation; integer-valued signals latest-at; not inside a gap of B longer than
  five of its median periods), the largest difference, where it is, and the first time it
  exceeds its tolerance;
- per trajectory (the base frame in the fixed frame through TF, each pose topic): APE and RPE as
  evo computes them (:mod:`rerun_ros.compare.trajectory`);
- per log (``rcl_interfaces/Log``): messages new or gone by level (numbers in the text ignored).

A difference over its tolerance is a *finding*; ``--fail-on`` rules on findings give exit status 4.
Times in the output are seconds from the alignment anchor of each run ("aligned s").
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..mappers.base import struct_field
from .align import anchor
from .series import scalar_signals, topic_series
from .trajectory import Trajectory, ape, associate, rpe, run_trajectories, stats

__all__ = ["diff_runs", "load_tolerance", "parse_rules", "FINDING_KINDS", "DEFAULT_TOLERANCE", "EXIT_DIFFERENCES"]

EXIT_DIFFERENCES = 4
FINDING_KINDS = ("topic_gone", "topic_new", "count", "rate", "gap", "signal", "trajectory", "log_new", "log_gone")
LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARN", 40: "ERROR", 50: "FATAL"}

#: what differs without a finding (see docs/cli.md, `diff`); a tolerance file overrides any of it
DEFAULT_TOLERANCE = {
    "signals": {"*": 1e-6},          # absolute, per signal glob ("/imu:linear_acceleration.*"), first match
    "topics": {"count": 0.01,        # relative difference of messages in the window
               "rate": 0.05,         # relative difference of messages/s in the window
               "gap": 0.5},          # s: a longest gap this much longer than the other run's
    "trajectory": {"ape": 0.01,      # m, largest translation APE
                   "ape_rot": 0.01,  # rad, largest rotation-angle APE
                   "rpe": 0.01},     # m, largest translation RPE (1 frame)
    "logs": {"levels": ["WARN", "ERROR", "FATAL"]},  # levels whose new/gone messages are findings
    "max_diff": 0.01,                # s: trajectory stamps further apart than this are not paired
}


@dataclass
class Finding:
    """A difference over its tolerance: ``kind`` (one of FINDING_KINDS), ``name`` (topic,
    signal, trajectory or log text), ``time_s`` (aligned s where it shows, or None), ``message``."""

    kind: str
    name: str
    time_s: float | None
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "time_s": self.time_s, "message": self.message}


@dataclass
class Run:
    path: str
    store: object
    warnings: list
    series: dict
    anchor: int = 0
    trajectories: dict = field(default_factory=dict)


def load_tolerance(path: str | None) -> dict:
    """The tolerances: :data:`DEFAULT_TOLERANCE` with the YAML file's keys over it.

    Raises:
        FileNotFoundError: no such file. ValueError: not YAML, or a key/value of the wrong kind.
    """
    tol = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_TOLERANCE.items()}
    if not path:
        return tol
    from ..safe_yaml import load
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such tolerance file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read the tolerance file ({e})") from None
    try:
        data = load(text) or {}
    except Exception as e:  # noqa: BLE001 - yaml errors, limits
        raise ValueError(f"{path}: not a YAML tolerance file ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a tolerance file is a mapping (signals:, topics:, trajectory:, logs:, max_diff:)")
    for key, val in data.items():
        if key not in DEFAULT_TOLERANCE:
            raise ValueError(f"{path}: unknown key {key!r} (known: {', '.join(DEFAULT_TOLERANCE)})")
        if key == "max_diff":
            tol[key] = _number(path, key, val)
        elif not isinstance(val, dict):
            raise ValueError(f"{path}: {key}: expected a mapping")
        elif key == "signals":
            tol[key] = {str(k): _number(path, f"signals.{k}", v) for k, v in val.items()}
            tol[key].setdefault("*", DEFAULT_TOLERANCE["signals"]["*"])
        elif key == "logs":
            levels = val.get("levels", tol["logs"]["levels"])
            if not isinstance(levels, list) or any(str(x).upper() not in LEVELS.values() for x in levels):
                raise ValueError(f"{path}: logs.levels: a list of {', '.join(LEVELS.values())}")
            tol[key] = {"levels": [str(x).upper() for x in levels]}
        else:
            for k, v in val.items():
                if k not in DEFAULT_TOLERANCE[key]:
                    raise ValueError(f"{path}: {key}: unknown key {k!r} (known: {', '.join(DEFAULT_TOLERANCE[key])})")
                tol[key][k] = _number(path, f"{key}.{k}", v)
    return tol


def _number(path, key, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
        raise ValueError(f"{path}: {key}: expected a number >= 0, got {v!r}")
    return float(v)


def parse_rules(text: str | None) -> list[str]:
    """``"signal,trajectory"`` or ``"any"`` → finding kinds whose findings fire.

    Raises:
        ValueError: an unknown kind.
    """
    out = []
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        if part == "any":
            out += list(FINDING_KINDS)
        elif part in FINDING_KINDS:
            out.append(part)
        else:
            raise ValueError(f"unknown rule {part!r}; known: any, {', '.join(FINDING_KINDS)}")
    return list(dict.fromkeys(out))


def _open(path: str) -> Run:
    from ..query.recording import open as open_recording
    rec = open_recording(path)
    return Run(str(path), rec.store, list(rec.warnings), topic_series(rec.store))


def _span(run: Run) -> tuple[float, float] | None:
    ts = [s.times for s in run.series.values() if len(s.times)]
    if not ts:
        return None
    return (min(int(t[0]) for t in ts) - run.anchor) / 1e9, (max(int(t[-1]) for t in ts) - run.anchor) / 1e9


def _rel(times: np.ndarray, anchor_ns: int) -> np.ndarray:
    return (np.asarray(times, np.int64) - anchor_ns) / 1e9


def _longest_gap(t: np.ndarray) -> tuple[float, float | None]:
    if len(t) < 2:
        return 0.0, None
    d = np.diff(t)
    i = int(np.argmax(d))
    return float(d[i]), float(t[i])


def _topics(a: Run, b: Run, lo: float, hi: float, tol: dict, findings: list) -> list[dict]:
    rows = []
    for topic in sorted(set(a.series) | set(b.series)):
        sa, sb = a.series.get(topic), b.series.get(topic)
        ta = _rel(sa.times, a.anchor) if sa is not None else np.zeros(0)
        tb = _rel(sb.times, b.anchor) if sb is not None else np.zeros(0)
        wa, wb = ta[(ta >= lo) & (ta <= hi)], tb[(tb >= lo) & (tb <= hi)]
        span = hi - lo
        ga, ga_at = _longest_gap(wa)
        gb, gb_at = _longest_gap(wb)
        row = {"topic": topic, "type": (sa or sb).type_name, "messages_a": len(ta), "messages_b": len(tb),
               "window_a": len(wa), "window_b": len(wb),
               "rate_a": len(wa) / span if span > 0 else 0.0, "rate_b": len(wb) / span if span > 0 else 0.0,
               "max_gap_a": ga, "max_gap_a_at": ga_at, "max_gap_b": gb, "max_gap_b_at": gb_at}
        rows.append(row)
        if len(wa) and not len(tb):
            findings.append(Finding("topic_gone", topic, float(wa[0]), f"{topic}: {len(wa)} messages in A, none in B"))
            continue
        if len(wb) and not len(ta):
            findings.append(Finding("topic_new", topic, float(wb[0]), f"{topic}: {len(wb)} messages in B, none in A"))
            continue
        t = tol["topics"]
        if max(len(wa), len(wb)) and abs(len(wa) - len(wb)) > t["count"] * max(len(wa), len(wb)):
            findings.append(Finding("count", topic, None, f"{topic}: {len(wa)} messages in A, {len(wb)} in B "
                                                          f"over the common {span:.2f} s"))
        ra, rb = row["rate_a"], row["rate_b"]
        if max(ra, rb) > 0 and abs(ra - rb) > t["rate"] * max(ra, rb):
            findings.append(Finding("rate", topic, None, f"{topic}: {ra:.2f} msg/s in A, {rb:.2f} in B"))
        if gb > ga + t["gap"]:
            findings.append(Finding("gap", topic, gb_at, f"{topic}: B has no message for {gb:.2f} s from "
                                                         f"{gb_at:.2f} s (A's longest gap: {ga:.2f} s)"))
        elif ga > gb + t["gap"]:
            findings.append(Finding("gap", topic, ga_at, f"{topic}: A has no message for {ga:.2f} s from "
                                                         f"{ga_at:.2f} s (B's longest gap: {gb:.2f} s)"))
    return rows


def _signal_tolerance(tol: dict, name: str) -> float:
    for pat, v in tol["signals"].items():
        if pat != "*" and fnmatch.fnmatchcase(name, pat):
            return v
    return tol["signals"]["*"]


def _values_at(tb: np.ndarray, vb: np.ndarray, t: np.ndarray, step: bool) -> np.ndarray:
    if step:
        i = np.clip(np.searchsorted(tb, t, side="right") - 1, 0, len(tb) - 1)
        return vb[i]
    ok = np.isfinite(vb)
    if not ok.all():
        tb, vb = tb[ok], vb[ok]
        if not len(tb):
            return np.full(len(t), np.nan)
    return np.interp(t, tb, vb)


def _signals(a: Run, b: Run, lo: float, hi: float, tol: dict, findings: list) -> tuple[list[dict], dict]:
    rows, curves = [], {}
    for topic in sorted(set(a.series) & set(b.series)):
        sa, sb = a.series[topic], b.series[topic]
        ta, tb = _rel(sa.times, a.anchor), _rel(sb.times, b.anchor)
        sel = (ta >= max(lo, tb[0] if len(tb) else hi)) & (ta <= min(hi, tb[-1] if len(tb) else lo))
        if not sel.any():
            continue
        if len(tb) > 2:
            # A's samples in a gap of B (B lost messages there) are not compared: the gap is the
            # topic's finding, not an interpolation across it
            near = np.minimum(np.abs(ta - tb[np.clip(np.searchsorted(tb, ta), 0, len(tb) - 1)]),
                              np.abs(ta - tb[np.clip(np.searchsorted(tb, ta) - 1, 0, len(tb) - 1)]))
            period = float(np.median(np.diff(tb)))
            if period > 0:
                sel &= near <= 5 * period
            if not sel.any():
                continue
        siga, sigb = scalar_signals(sa), scalar_signals(sb)
        for name in sorted(set(siga) & set(sigb)):
            va, vb = siga[name][sel], sigb[name]
            t = ta[sel]
            step = bool(np.all(np.mod(va[np.isfinite(va)], 1) == 0) and np.all(np.mod(vb[np.isfinite(vb)], 1) == 0))
            vbt = _values_at(tb, vb, t, step)
            both_nan = np.isnan(va) & np.isnan(vbt)
            d = np.where(both_nan, 0.0, np.abs(va - vbt))
            d = np.where(np.isnan(d), np.inf, d)
            i = int(np.argmax(d))
            full = f"{topic}:{name}"
            limit = _signal_tolerance(tol, full)
            over = np.flatnonzero(d > limit)
            rng = float(np.nanmax(va) - np.nanmin(va)) if np.isfinite(va).any() else 0.0
            row = {"signal": full, "max_diff": float(d[i]), "at_s": float(t[i]), "a": float(va[i]), "b": float(vbt[i]),
                   "mean_diff": float(np.mean(d[np.isfinite(d)])) if np.isfinite(d).any() else float("inf"),
                   "first_over_s": float(t[over[0]]) if len(over) else None, "tolerance": limit, "range_a": rng,
                   "samples": int(len(t))}
            rows.append(row)
            if len(over):
                findings.append(Finding("signal", full, row["first_over_s"],
                                        f"{full}: differs by up to {row['max_diff']:.6g} at {row['at_s']:.3f} s "
                                        f"(A {row['a']:.6g}, B {row['b']:.6g}); over {limit:g} from "
                                        f"{row['first_over_s']:.3f} s"))
                curves[full] = (t, va, vbt)
    # largest first, relative to the signal's own range (a 0.1 m/s change matters more than 0.1 Pa)
    rows.sort(key=lambda r: -(r["max_diff"] / (r["range_a"] or 1.0)))
    return rows, curves


def _trajectories(a: Run, b: Run, tol: dict, findings: list) -> tuple[list[dict], dict]:
    rows, curves = [], {}
    md = int(tol["max_diff"] * 1e9)
    for name in sorted(set(a.trajectories) & set(b.trajectories)):
        ra, rb = a.trajectories[name], b.trajectories[name]
        # on the aligned axis: B's stamps shifted onto A's clock
        i, j = associate(ra.times, rb.times - b.anchor + a.anchor, md)
        if len(i) < 2:
            rows.append({"trajectory": name, "pairs": int(len(i))})
            continue
        ref = Trajectory(name, ra.times[i], ra.positions[i], ra.quats[i])
        est = Trajectory(name, rb.times[j], rb.positions[j], rb.quats[j])
        et, er = ape(ref, est)
        ep = rpe(ref, est)
        t = _rel(ref.times, a.anchor)
        k = int(np.argmax(et))
        row = {"trajectory": name, "pairs": int(len(i)), "ape_m": stats(et), "ape_rad": stats(er), "rpe_m": stats(ep),
               "ape_max_at_s": float(t[k])}
        rows.append(row)
        curves[name] = (t, ref.positions, est.positions, et)
        lim = tol["trajectory"]
        for key, err, unit in (("ape", et, "m"), ("ape_rot", er, "rad")):
            over = np.flatnonzero(err > lim[key])
            if len(over):
                findings.append(Finding("trajectory", name, float(t[over[0]]),
                                        f"{name}: {key.upper().replace('_ROT', ' rotation')} up to {err.max():.4g} {unit} "
                                        f"(rmse {np.sqrt(np.mean(err ** 2)):.4g}) at {t[int(np.argmax(err))]:.3f} s; "
                                        f"over {lim[key]:g} {unit} from {t[over[0]]:.3f} s"))
        over = np.flatnonzero(ep > lim["rpe"])
        if len(over):
            findings.append(Finding("trajectory", name, float(t[over[0]]),
                                    f"{name}: RPE up to {ep.max():.4g} m per step at {t[int(np.argmax(ep))]:.3f} s"))
    return rows, curves


_NUM = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _log_keys(run: Run, lo: float, hi: float) -> dict[tuple, tuple[int, float]]:
    out: dict[tuple, tuple[int, float]] = {}
    for s in run.series.values():
        if s.type_name != "rcl_interfaces/msg/Log" or s.messages is None:
            continue
        t = _rel(s.times, run.anchor)
        levels = struct_field(s.messages, "level").to_pylist()
        names = struct_field(s.messages, "name").to_pylist()
        msgs = struct_field(s.messages, "msg").to_pylist()
        for k in np.flatnonzero((t >= lo) & (t <= hi)):
            key = (LEVELS.get(levels[k], str(levels[k])), names[k] or "", _NUM.sub("#", msgs[k] or ""))
            n, first = out.get(key, (0, float(t[k])))
            out[key] = (n + 1, first)
    return out


def _logs(a: Run, b: Run, lo: float, hi: float, tol: dict, findings: list) -> dict:
    ka, kb = _log_keys(a, lo, hi), _log_keys(b, lo, hi)
    new = [{"level": k[0], "node": k[1], "text": k[2], "count": kb[k][0], "first_s": kb[k][1]} for k in kb if k not in ka]
    gone = [{"level": k[0], "node": k[1], "text": k[2], "count": ka[k][0], "first_s": ka[k][1]} for k in ka if k not in kb]
    levels = set(tol["logs"]["levels"])
    for kind, items, where in (("log_new", new, "B"), ("log_gone", gone, "A")):
        for it in sorted(items, key=lambda x: x["first_s"]):
            if it["level"] in levels:
                findings.append(Finding(kind, it["text"], it["first_s"],
                                        f"[{it['level']}] {it['node']}: {it['text']!r} only in {where} "
                                        f"({it['count']}x, first at {it['first_s']:.3f} s)"))
    return {"new": sorted(new, key=lambda x: x["first_s"]), "gone": sorted(gone, key=lambda x: x["first_s"])}


def diff_runs(path_a: str, path_b: str, *, align: str = "start", tolerance: dict | None = None,
              fail_on: str | None = None) -> tuple[dict, dict]:
    """Compare run B against run A (module doc).

    Args:
        path_a, path_b: bags (MCAP, rosbag2 directory, ``.db3``) or ``.rrd`` recordings.
        align: ``start``, ``ros_time``, a topic or ``log:TEXT`` (:mod:`rerun_ros.compare.align`).
        tolerance: from :func:`load_tolerance` (default :data:`DEFAULT_TOLERANCE`).
        fail_on: rules (:func:`parse_rules`).

    Returns:
        (summary, curves): the JSON-able summary (``findings``, ``fired``, ``topics``, ``signals``,
        ``trajectories``, ``logs``, ``window_s``, ``anchors_ns``, ``warnings``), and the data of
        the plots (signal name → (t s, A values, B values at those times); trajectory name →
        (t s, A positions (n, 3), B positions (n, 3), APE (n,) m)).

    Raises:
        FileNotFoundError, RrdError, BagError: unreadable input. ValueError (AlignError): a bad
        rule, an alignment event missing in a run.
    """
    tol = tolerance or load_tolerance(None)
    rules = parse_rules(fail_on)
    a, b = _open(path_a), _open(path_b)
    a.anchor = anchor(a.store, a.series, align, f"A ({path_a})")
    b.anchor = anchor(b.store, b.series, align, f"B ({path_b})")
    a.trajectories = run_trajectories(a.store, a.series)
    b.trajectories = run_trajectories(b.store, b.series)
    sa, sb = _span(a), _span(b)
    findings: list[Finding] = []
    if sa is None or sb is None or max(sa[0], sb[0]) > min(sa[1], sb[1]):
        lo = hi = 0.0
        findings.append(Finding("count", "*", None, f"the runs do not overlap once aligned by {align!r} "
                                                    f"(A {sa}, B {sb} s)"))
    else:
        lo, hi = max(sa[0], sb[0]), min(sa[1], sb[1])
    topics = _topics(a, b, lo, hi, tol, findings)
    signals, sig_curves = _signals(a, b, lo, hi, tol, findings)
    trajs, traj_curves = _trajectories(a, b, tol, findings)
    logs = _logs(a, b, lo, hi, tol, findings)
    fired = [f.message for f in findings if f.kind in rules]
    summary = {"a": str(path_a), "b": str(path_b), "align": align, "anchors_ns": [a.anchor, b.anchor],
               "window_s": [lo, hi], "span_a_s": sa, "span_b_s": sb, "tolerance": tol,
               "findings": [f.to_dict() for f in findings], "rules": fail_on or "", "fired": fired,
               "topics": topics, "signals": signals, "trajectories": trajs, "logs": logs,
               "warnings": [f"A: {w}" for w in a.warnings] + [f"B: {w}" for w in b.warnings]}
    return summary, {"signals": sig_curves, "trajectories": traj_curves}
