"""``rerun-ros report INPUT -o DIR``: a headless health report of a recording or bag for CI.

Writes ``DIR/index.html`` with: PNG snapshots of the blueprint's views at chosen times (the
viewer rendered headlessly; an Xvfb is started when no display is set), per-topic message rate
(messages/s), gaps and header-stamp-to-log-time latency plots (where both share a clock), the TF tree as a diagram, and warnings:

- ``missing_tf``: a ``CoordinateFrame`` that the TF graph cannot reach from the tree's root
- ``stale_tf``: a dynamic transform (per edge, on the robot clock) whose last update is more than
  1 s, and more than five of its own periods, before the recording ends
- ``time_jump``: header stamps (ros_time) going back in time, or jumping more than 10 s ahead
- ``rate_drop``: a one-second window with less than half a topic's median rate
- ``nan``: NaN/inf in Scalars or Points3D positions

``--fail-on`` makes the exit status 4 when rules fire: names above (``any`` = all of them), and
``max_gap:ENTITY=SECONDS``, ``min_rate:ENTITY=HZ`` (the topic's overall rate). The findings are
also written to ``DIR/report.json``.
"""
from __future__ import annotations

import html
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .mappers.base import struct_field
from .model.components import as_numpy, list_offsets, validity
from .query.frames import FrameGraph
from .model.names import LOG_TIME_NAME, ROS_TIME_NAME

__all__ = ["make_report", "Finding", "parse_rules", "EXIT_RULES_FIRED"]

EXIT_RULES_FIRED = 4
WARNING_KINDS = ("missing_tf", "stale_tf", "time_jump", "rate_drop", "nan")


@dataclass
class Finding:
    kind: str
    entity: str
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "entity": self.entity, "message": self.message}


@dataclass
class TopicHealth:
    entity: str
    rows: int
    rate_hz: float
    max_gap_s: float
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    log_times: np.ndarray = field(repr=False, default=None)
    latencies_ms: np.ndarray = field(repr=False, default=None)


def parse_rules(text: str | None) -> list[tuple]:
    """``"nan,stale_tf,max_gap:/imu=0.5,min_rate:/scan=5"`` → rule tuples.

    Raises:
        ValueError: an unknown rule or a malformed threshold.
    """
    rules = []
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        if part == "any":
            rules += [(k,) for k in WARNING_KINDS]
        elif part in WARNING_KINDS:
            rules.append((part,))
        elif part.startswith(("max_gap:", "min_rate:")):
            kind, _, rest = part.partition(":")
            ent, sep, val = rest.rpartition("=")
            try:
                rules.append((kind, ent, float(val)))
            except ValueError:
                raise ValueError(f"rule {part!r}: expected {kind}:ENTITY=NUMBER") from None
            if not sep or not ent:
                raise ValueError(f"rule {part!r}: expected {kind}:ENTITY=NUMBER")
        else:
            raise ValueError(f"unknown rule {part!r}; known: any, {', '.join(WARNING_KINDS)}, "
                             "max_gap:ENTITY=S, min_rate:ENTITY=HZ")
    return rules


def _stamp_series(store, entity: str) -> list[tuple[str, np.ndarray]]:
    """The header stamps of an entity as series that must each move forward, in log-time order:
    transforms per (parent, child) edge (``/tf`` interleaves many publishers and frames), else
    one stamp per message (the rows of its ``:message`` column; all rows for other recordings)."""
    per: dict[str, list] = {}
    for c in store.chunks(entity):
        if c.is_static or ROS_TIME_NAME not in c.timelines or LOG_TIME_NAME not in c.timelines:
            continue
        rt, lt = c.timelines[ROS_TIME_NAME][1], c.timelines[LOG_TIME_NAME][1]
        child = c.component("Transform3D:child_frame")
        if child is not None:
            parent = c.component("Transform3D:parent_frame")
            valid = validity(child[1])
            kids = child[1].values.to_pylist() if child[1].null_count == 0 else \
                [x[0] if x else None for x in child[1].to_pylist()]
            pars = parent[1].to_pylist() if parent is not None else [None] * len(c)
            for i in np.flatnonzero(valid):
                key = f"{pars[i][0] if pars[i] else '?'} -> {kids[i]}"
                per.setdefault(key, []).append((lt[i], rt[i]))
            continue
        desc, msg = next(((d, col) for d, col in c.components.items() if d.field == "message"), (None, None))
        idx = np.flatnonzero(validity(msg)) if msg is not None else np.arange(len(c))
        if desc is not None and desc.archetype == "rcl_interfaces.msg.Log":
            # /rosout gathers every node's log, each stamped by its own clock: judged per node
            names = struct_field(msg.values, "name").to_pylist()
            offs = list_offsets(msg)
            for i in idx:
                per.setdefault(f"node {names[offs[i] - offs[0]]}", []).append((int(lt[i]), int(rt[i])))
            continue
        per.setdefault("", []).extend(zip(lt[idx].tolist(), rt[idx].tolist()))
    out = []
    for key, rows in per.items():
        rows.sort()
        out.append((key, np.array([r for _, r in rows], np.int64)))
    return out


def _is_event_stream(store, entity: str) -> bool:
    """Logs and diagnostics come in bursts: no steady rate to fall below."""
    cols = store.columns(entity)
    return any(c.startswith(("TextLog:", "rcl_interfaces.msg.Log:", "diagnostic_msgs.msg.")) for c in cols)


def _message_rows(c) -> np.ndarray | None:
    """Rows of a chunk that hold a whole message (a ``<pkg>.msg.<Type>:message`` value): one per
    recorded message, whatever else the message became (TF: many transform rows). None: the
    chunk has no message column (an SDK recording: every row counts)."""
    col = next((col for d, col in c.components.items() if d.field == "message" and "." in d.archetype), None)
    if col is None:
        return None
    return np.flatnonzero(validity(col))


def _topic_of(entity: str, c) -> str:
    """The topic entity of a row's entity: ``/tf/base_link`` → ``/tf`` (TF messages ride on
    the entity of their first transform's child frame, :func:`rerun_ros.model.names.tf_entity`),
    else the entity itself."""
    msg = next((col for d, col in c.components.items() if d.field == "message"
                and d.archetype == "tf2_msgs.msg.TFMessage"), None)
    if msg is None:
        return entity
    from .model.names import tf_entity
    try:
        tfs = struct_field(msg.values, "transforms")
        first = tfs.values.field("child_frame_id")[0].as_py() if len(tfs.values) else None
    except (KeyError, IndexError):
        return entity
    if not first:
        return entity
    for k in range(1, entity.count("/")):
        root = entity.rsplit("/", k)[0]
        if tf_entity(root, first) == entity:
            return root
    return entity


def topic_health(store) -> list[TopicHealth]:
    """Rate (messages/s), gaps and stamp latency per topic entity, from the rows that hold a
    whole message (a TF message counts once, on its topic ``/tf``, not once per transform).

    Latency (log time − header stamp) only where the header stamps and the log share a clock
    (a wall-clock recording; not sim time or a robot clock off the log's), and only for rows
    placed by their own stamp. Column-wise per chunk (a row lives in one chunk, with both its
    times)."""
    clock = clock_property(store)
    shared = clock is None or clock.get("kind") in ("wall clock", "node clock")
    # a ROS recording: entities without whole messages (a message's parts: /odom/twist, a TF
    # child frame's later transforms) are not topics of their own
    ros = clock is not None or any(d.field == "message" and "." in d.archetype
                                   for c in store.chunks() for d in c.components)
    per: dict[str, tuple[list, list]] = {}
    for e in store.entities():
        for c in store.chunks(e):
            if LOG_TIME_NAME not in c.timelines or c.is_static:
                continue
            rows = _message_rows(c)
            if rows is None and ros:
                continue
            lt = np.asarray(c.timelines[LOG_TIME_NAME][1], np.int64)
            rt = np.asarray(c.timelines[ROS_TIME_NAME][1], np.int64) if ROS_TIME_NAME in c.timelines else None
            if rows is not None:
                lt = lt[rows]
                rt = None if rt is None else rt[rows]
            lts, lats = per.setdefault(_topic_of(e, c) if rows is not None else e, ([], []))
            lts.append(lt)
            if rt is not None and shared:
                d = lt - rt
                lats.append(d[d != 0] / 1e6)
    out = []
    for e, (lts, lats) in sorted(per.items()):
        times = np.sort(np.concatenate(lts))
        if not len(times):
            continue
        lat = np.concatenate(lats) if lats else np.zeros(0)
        span = (times[-1] - times[0]) / 1e9 if len(times) > 1 else 0.0
        gaps = np.diff(times) / 1e9 if len(times) > 1 else np.zeros(0)
        out.append(TopicHealth(e, len(times), (len(times) - 1) / span if span > 0 else 0.0,
                               float(gaps.max()) if len(gaps) else 0.0,
                               float(np.percentile(lat, 50)) if len(lat) else None,
                               float(np.percentile(lat, 99)) if len(lat) else None, times, lat))
    return out


def clock_property(store) -> dict | None:
    """The robot clock a recording made here was placed on (its ``/__properties/ros_clock``
    JSON: ``kind``, ``offset_s``, ``off_clock``...), or None."""
    from .info import _clock_of
    from .model.names import CLOCK_PROPERTY
    best = None  # the last logged (greatest row id) wins, as for any static data
    for c in store.chunks(CLOCK_PROPERTY):
        got = _clock_of(c)
        if got and len(c):
            key = max(bytes(r) for r in c.row_ids)
            if best is None or key > best[0]:
                best = (key, got)
    return best[1] if best else None


def find_problems(store, health: list[TopicHealth]) -> list[Finding]:
    """The warnings of the module doc."""
    found: list[Finding] = []
    g = FrameGraph.from_chunks(store.chunks_with("Transform3D:child_frame"), timeline=ROS_TIME_NAME)
    rng = store.time_range(ROS_TIME_NAME)
    for child in sorted(g.conflicts):
        found.append(Finding("missing_tf", child, f"frame {child!r} has several parents: "
                             f"{', '.join(sorted(g.conflicts[child]))}"))
    for e in store.entities():
        la = store.latest_at(e, ROS_TIME_NAME, rng[1] if rng else 0, ["CoordinateFrame:frame"]).get("CoordinateFrame:frame")
        if la is None or not len(la.values):
            continue
        frame = la.values[0].as_py()
        if frame and g.frames() and frame not in g.frames():
            found.append(Finding("missing_tf", e, f"{e}: frame {frame!r} is not in the TF tree (frames: "
                                 f"{', '.join(sorted(g.frames())[:8])})"))
    if rng:
        # per edge on the robot clock: stale when its last update is older than 1 s and than
        # five of its own usual periods (a slow edge, e.g. map -> odom, is not stale between updates)
        for child in sorted(g.frames()):
            tr = g.time_range(child)
            if not tr:
                continue
            st = g.sample_times(child)
            period = float(np.median(np.diff(st))) if len(st) > 2 else 0.0
            late = rng[1] - tr[1]
            if late > max(1e9, 5 * period):
                found.append(Finding("stale_tf", child, f"transform {g.parent(child)} -> {child} last updated "
                                     f"{late / 1e9:.1f} s before the end of the recording (on the robot clock)"))
    for h in health:
        back, worst, ahead = 0, 0, 0
        for label, stamps in _stamp_series(store, h.entity):
            if len(stamps) < 2:
                continue
            d = np.diff(stamps)
            back += int((d < 0).sum())
            worst = max(worst, int(-d.min()) if (d < 0).any() else 0)
            ahead = max(ahead, int(d.max()))
        if back:
            found.append(Finding("time_jump", h.entity, f"{h.entity}: header stamp goes back in time "
                                 f"{back} times (by up to {worst / 1e9:.3f} s)"))
        if ahead > 10e9:
            found.append(Finding("time_jump", h.entity, f"{h.entity}: header stamp jumps ahead by "
                                 f"{ahead / 1e9:.1f} s"))
        if h.rows >= 20 and h.rate_hz > 0 and not _is_event_stream(store, h.entity):
            t = (h.log_times - h.log_times[0]) / 1e9
            counts = _per_second(t)
            counts = counts[:-1] if counts is not None else np.zeros(0)  # whole seconds only
            if len(counts) >= 3:
                med = np.median(counts)
                low = np.flatnonzero(counts < med / 2)
                if len(low):
                    found.append(Finding("rate_drop", h.entity, f"{h.entity}: rate fell below half its median "
                                         f"({med:.0f}/s) in {len(low)} one-second windows, first at {low[0]} s"))
    for e in store.entities():
        cols = store.columns(e)
        if any(c.startswith("sensor_msgs.msg.NavSatFix:") for c in cols):
            continue  # NaN is NavSatFix's "no fix"/"unknown" (sensor_msgs/NavSatFix), not a fault
        for col in ("Scalars:scalars", "Points3D:positions"):
            if col not in cols:
                continue
            r = store.range(e, LOG_TIME_NAME, -2**62, 2**62, col, include_latest_at=False)
            if not len(r):
                continue
            flat = r.values.flatten()
            if hasattr(flat, "flatten"):
                flat = flat.flatten()
            v = as_numpy(flat).astype(np.float64)
            bad = ~np.isfinite(v)
            if bad.any():
                found.append(Finding("nan", e, f"{e}: {int(bad.sum())} NaN/inf values in {col}"))
    return found


def check_rules(rules: list[tuple], findings: list[Finding], health: list[TopicHealth]) -> list[str]:
    """Messages of the rules that fire."""
    fired = []
    by = {h.entity: h for h in health}
    for r in rules:
        if len(r) == 1:
            hits = [f for f in findings if f.kind == r[0]]
            if hits:
                fired.append(f"{r[0]}: {hits[0].message}" + (f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""))
        else:
            kind, ent, val = r
            h = by.get(ent)
            if h is None:
                fired.append(f"{kind}:{ent}: no such topic/entity in the recording")
            elif kind == "max_gap" and h.max_gap_s > val:
                fired.append(f"max_gap:{ent}: largest gap {h.max_gap_s:.3f} s > {val} s")
            elif kind == "min_rate" and h.rate_hz < val:
                fired.append(f"min_rate:{ent}: rate {h.rate_hz:.2f} Hz < {val} Hz")
    return fired


#: longest span (s) of log times whose per-second rate is binned (a wider span is decades of
#: clock error, not a recording: 1e6 s bins would be fine, 2^63 ns would be 68 GiB)
MAX_RATE_SPAN_S = 1e6


def _per_second(t: np.ndarray) -> np.ndarray | None:
    """Messages per whole second of ``t`` (s from the first), or None when ``t`` spans more
    than :data:`MAX_RATE_SPAN_S`."""
    if not len(t) or not np.isfinite(t).all() or t.max() - t.min() > MAX_RATE_SPAN_S:
        return None
    return np.bincount((t - t.min()).astype(np.int64))


def _plot_name(entity: str) -> str:
    """A file name for a topic's plot: readable, bounded (a 301-character topic name), and
    unique (``/a/b`` and ``/a_b`` would both be ``a_b``): a hash of the name joins it."""
    import hashlib
    import re
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", entity.strip("/"))[:80]
    return f"topic_{safe}_{hashlib.sha1(entity.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}.png"


def _plain_text() -> None:
    """Names are text, not formulas: a frame id ``$\\frac{1}{$`` must not reach matplotlib's
    math parser (which raises on it)."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False


def _plots(health: list[TopicHealth], out: Path) -> list[tuple[str, str]]:
    _plain_text()
    import matplotlib.pyplot as plt
    made = []
    for h in health:
        if h.rows < 2:
            continue
        fig, axes = plt.subplots(1, 3, figsize=(12, 2.4))
        t = (h.log_times - h.log_times[0]) / 1e9
        counts = _per_second(t)
        if counts is not None:
            axes[0].step(np.arange(len(counts)), counts, where="post")
            axes[0].set_title("rate [msg/s]")
        else:  # log times decades apart (a clock at 0 and one at the end of time): no per-second bins
            axes[0].set_title(f"rate: log times span {t[-1]:.3g} s", fontsize=8)
        axes[1].plot(t[1:], np.diff(t), ".", ms=2)
        axes[1].set_title("gap [s]")
        if h.latencies_ms is not None and len(h.latencies_ms):
            axes[2].hist(h.latencies_ms, bins=40)
        axes[2].set_title("log time - header stamp [ms]")
        for a in axes:
            a.tick_params(labelsize=7)
        fig.suptitle(h.entity if len(h.entity) < 120 else h.entity[:117] + "...", fontsize=9)
        fig.tight_layout()
        name = _plot_name(h.entity)
        fig.savefig(out / name, dpi=80)
        plt.close(fig)
        made.append((h.entity, name))
    return made


def _tf_diagram(g: FrameGraph, out: Path) -> str | None:
    if not g.frames():
        return None
    _plain_text()
    import matplotlib.pyplot as plt
    levels: dict[str, int] = {}
    order: list[str] = []
    for root in g.roots():
        stack = [(root, 0)]
        while stack:
            f, d = stack.pop()
            if f in levels:
                continue
            levels[f] = d
            order.append(f)
            stack += [(c, d + 1) for c in reversed(g.children(f))]
    depth = max(levels.values()) + 1
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * depth), max(2, 0.45 * len(order))))
    pos = {f: (levels[f], -i) for i, f in enumerate(order)}
    for f in order:
        p = g.parent(f)
        if p in pos:
            ax.plot([pos[p][0], pos[f][0]], [pos[p][1], pos[f][1]], "-", color="#888")
    for f, (x, y) in pos.items():
        static = g.is_static(f)
        ax.text(x, y, f if len(f) < 80 else f[:77] + "...", ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="#dde8ff" if not static else "#e8e8e8", ec="#557"))
    ax.set_xlim(-0.7, depth - 0.3)
    ax.set_ylim(-len(order), 1)
    ax.axis("off")
    ax.set_title("TF tree (blue: dynamic, grey: static)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "tf_tree.png", dpi=80)
    plt.close(fig)
    return "tf_tree.png"


def _snapshots(input_path: str, blueprint: str | None, times: list[str], out: Path, fixed_frame: str | None,
               timeline: str = LOG_TIME_NAME) -> list:
    """Viewer screenshots (subprocesses, so a display problem cannot take the report down)."""
    import sys
    env = dict(os.environ)
    xvfb = None
    if not env.get("DISPLAY"):
        from .viewer.display import start_xvfb
        try:
            xvfb, env["DISPLAY"] = start_xvfb()
        except (FileNotFoundError, RuntimeError) as e:
            return [("-", None, f"no display ({e}): snapshots skipped")]
    env["QT_QPA_PLATFORM"] = "xcb"
    shots = []
    try:
        for i, t in enumerate(times):
            name = f"snapshot_{i}.png"
            cmd = [sys.executable, "-m", "rerun_ros.cli", "view", input_path, "--time", t, "--screenshot",
                   str(out / name), "--size", "1280x800", "--timeline", timeline]
            if blueprint:
                cmd += ["--blueprint", blueprint]
            if fixed_frame:
                cmd += ["--fixed-frame", fixed_frame]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            shots.append((t, name if p.returncode == 0 else None,
                          "" if p.returncode == 0 else (p.stderr.strip().splitlines() or ["failed"])[-1]))
    finally:
        if xvfb is not None:
            xvfb.terminate()
    return shots


def make_report(input_path: str, out_dir: str, *, blueprint: str | None = None, fail_on: str | None = None,
                times: list[str] | None = None, fixed_frame: str | None = None, snapshots: bool = True) -> tuple[int, dict]:
    """Build the report (module doc). Returns (exit status, the JSON summary).

    Raises:
        FileNotFoundError, ValueError: unreadable input, bad rules.
    """
    from .query.recording import open as open_recording
    rules = parse_rules(fail_on)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rec = open_recording(input_path)
    store = rec.store
    health = topic_health(store)
    findings = find_problems(store, health)
    fired = check_rules(rules, findings, health)
    g = FrameGraph.from_chunks(store.chunks_with("Transform3D:child_frame"), timeline=ROS_TIME_NAME)
    plots = _plots(health, out)
    tf_png = _tf_diagram(g, out)
    # the robot clock when the recording was placed on one here; else log time (a recording from
    # elsewhere whose ros_time may be incoherent)
    tl = ROS_TIME_NAME if (clock_property(store) or not store.time_range(LOG_TIME_NAME)) else LOG_TIME_NAME
    rng = store.time_range(tl)
    dur = (rng[1] - rng[0]) / 1e9 if rng else 0.0
    times = times or [f"{dur * f:.3f}" for f in (0.1, 0.5, 0.9)]
    shots = _snapshots(str(input_path), blueprint, times, out, fixed_frame, tl) if snapshots else []
    summary = {"input": str(input_path), "duration_s": dur, "entities": len(store.entities()),
               "topics": [{"entity": h.entity, "rows": h.rows, "rate_hz": round(h.rate_hz, 3),
                           "max_gap_s": round(h.max_gap_s, 4), "latency_ms_p50": h.latency_ms_p50,
                           "latency_ms_p99": h.latency_ms_p99} for h in health],
               "tf_frames": sorted(g.frames()), "findings": [f.to_dict() for f in findings],
               "rules": fail_on or "", "fired": fired, "warnings": rec.warnings,
               "snapshots": [{"time": t, "file": f, "error": e} for t, f, e in shots]}
    (out / "report.json").write_text(json.dumps(summary, indent=2))
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(h.entity)}</td><td>{h.rows}</td><td>{h.rate_hz:.2f}</td><td>{h.max_gap_s:.3f}</td>"
                   f"<td>{'' if h.latency_ms_p50 is None else f'{h.latency_ms_p50:.1f} / {h.latency_ms_p99:.1f}'}</td></tr>"
                   for h in health)
    warn = "".join(f"<li><b>input</b> {esc(w)}</li>" for w in rec.warnings)  # a damaged/truncated input
    warn += "".join(f"<li><b>{esc(f.kind)}</b> {esc(f.message)}</li>" for f in findings)
    warn = warn or "<li>none</li>"
    fired_html = "".join(f"<li>{esc(m)}</li>" for m in fired)
    shots_html = "".join(f"<figure><img src='{esc(f)}' width='100%'><figcaption>t = {esc(t)} s</figcaption></figure>"
                         if f else f"<p>snapshot at {esc(t)} s failed: {esc(e)}</p>" for t, f, e in shots)
    plots_html = "".join(f"<img src='{esc(p)}' alt='{esc(e)}' width='100%'>" for e, p in plots)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>rerun_ros report: {esc(str(input_path))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1300px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}} .fail{{color:#b00}}</style></head><body>
<h1>rerun_ros report</h1><p>{esc(str(input_path))} — {dur:.2f} s, {len(store.entities())} entities</p>
{"<h2 class='fail'>Rules fired (exit status 4)</h2><ul>" + fired_html + "</ul>" if fired else ""}
<h2>Warnings</h2><ul>{warn}</ul>
<h2>Views</h2>{shots_html or "<p>no snapshots</p>"}
<h2>Topics</h2><table><tr><th>entity</th><th>rows</th><th>rate [Hz]</th><th>max gap [s]</th>
<th>log time − header stamp p50 / p99 [ms]</th></tr>{rows}</table>
<h2>TF tree</h2>{f"<img src='{tf_png}'>" if tf_png else "<p>no transforms</p>"}
<h2>Per-topic timing</h2>{plots_html}
</body></html>"""
    (out / "index.html").write_text(page)
    return (EXIT_RULES_FIRED if fired else 0), summary
