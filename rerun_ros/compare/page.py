"""The HTML page of ``rerun-ros diff``: findings first (each with the command that opens run A
at its time in the viewer), then per-topic, per-signal, per-trajectory and log tables, and plots
of the largest differences with both runs on one axis (matplotlib, PNG)."""
from __future__ import annotations

import html
import json
import shlex
from pathlib import Path

import numpy as np

__all__ = ["write_page", "MAX_PLOTS"]

MAX_PLOTS = 8  # signal plots on the page (largest differences first)
MAX_ROWS = 60  # rows of the signal table on the page (all of them in diff.json)


def _png_name(kind: str, name: str) -> str:
    import hashlib
    import re
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip("/"))[:60]
    return f"{kind}_{safe}_{hashlib.sha1(name.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}.png"


def _plots(summary: dict, curves: dict, out: Path) -> tuple[list, list]:
    from ..report import _plain_text
    _plain_text()
    import matplotlib.pyplot as plt
    sig_pngs, traj_pngs = [], []
    ranked = [r["signal"] for r in summary["signals"] if r["signal"] in curves["signals"]][:MAX_PLOTS]
    for name in ranked:
        t, va, vb = curves["signals"][name]
        fig, (ax, ad) = plt.subplots(2, 1, figsize=(10, 3.6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        ax.plot(t, va, lw=1, label="A")
        ax.plot(t, vb, lw=1, label="B", alpha=0.8)
        ax.legend(fontsize=7, loc="upper right")
        ad.plot(t, np.abs(va - vb), lw=1, color="#b00")
        ad.set_ylabel("|A - B|", fontsize=7)
        ad.set_xlabel("aligned time [s]", fontsize=7)
        for a in (ax, ad):
            a.tick_params(labelsize=7)
        fig.suptitle(name if len(name) < 110 else name[:107] + "...", fontsize=9)
        fig.tight_layout()
        png = _png_name("signal", name)
        fig.savefig(out / png, dpi=80)
        plt.close(fig)
        sig_pngs.append((name, png))
    for name, (t, pa_, pb, err) in curves["trajectories"].items():
        fig, (ax, ae) = plt.subplots(1, 2, figsize=(10, 3.6))
        ax.plot(pa_[:, 0], pa_[:, 1], lw=1, label="A")
        ax.plot(pb[:, 0], pb[:, 1], lw=1, label="B", alpha=0.8)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x [m]", fontsize=7)
        ax.set_ylabel("y [m]", fontsize=7)
        ax.legend(fontsize=7)
        ae.plot(t, err, lw=1, color="#b00")
        ae.set_xlabel("aligned time [s]", fontsize=7)
        ae.set_ylabel("APE [m]", fontsize=7)
        for a in (ax, ae):
            a.tick_params(labelsize=7)
        fig.suptitle(name, fontsize=9)
        fig.tight_layout()
        png = _png_name("trajectory", name)
        fig.savefig(out / png, dpi=80)
        plt.close(fig)
        traj_pngs.append((name, png))
    return sig_pngs, traj_pngs


def _f(v, fmt=".4g") -> str:
    return "" if v is None else format(v, fmt)


def write_page(summary: dict, curves: dict, out_dir: str | Path) -> Path:
    """Write ``diff.json``, ``index.html`` and the PNGs into ``out_dir`` (made if missing).

    Raises:
        OSError: the directory cannot be written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "diff.json").write_text(json.dumps(summary, indent=2, default=float))
    sig_pngs, traj_pngs = _plots(summary, curves, out)
    esc = html.escape

    def view_cmd(t):
        if t is None:
            return ""
        # both runs overlaid, aligned as compared; the time on A's robot clock (@epoch s)
        at = summary["anchors_ns"][0] / 1e9 + t
        return esc(f"rerun-ros view {shlex.quote(summary['a'])} {shlex.quote(summary['b'])} "
                   f"--align {shlex.quote(summary['align'])} --time @{at:.3f}")

    fired = "".join(f"<li>{esc(m)}</li>" for m in summary["fired"])
    finds = "".join(f"<tr><td>{esc(f['kind'])}</td><td>{_f(f['time_s'], '.3f')}</td><td>{esc(f['message'])}</td>"
                    f"<td><code>{view_cmd(f['time_s'])}</code></td></tr>" for f in summary["findings"])
    topics = "".join(
        f"<tr><td>{esc(r['topic'])}</td><td>{r['window_a']}</td><td>{r['window_b']}</td><td>{r['rate_a']:.2f}</td>"
        f"<td>{r['rate_b']:.2f}</td><td>{r['max_gap_a']:.3f} @ {_f(r['max_gap_a_at'], '.2f')}</td>"
        f"<td>{r['max_gap_b']:.3f} @ {_f(r['max_gap_b_at'], '.2f')}</td></tr>" for r in summary["topics"])
    sigs = "".join(
        f"<tr><td>{esc(r['signal'])}</td><td>{_f(r['max_diff'])}</td><td>{r['at_s']:.3f}</td><td>{_f(r['a'])}</td>"
        f"<td>{_f(r['b'])}</td><td>{_f(r['first_over_s'], '.3f')}</td></tr>" for r in summary["signals"][:MAX_ROWS])
    trajs = "".join(
        f"<tr><td>{esc(r['trajectory'])}</td><td>{r['pairs']}</td>"
        + "".join(f"<td>{_f(r.get(k, {}).get(s))}</td>" for k in ("ape_m", "ape_rad", "rpe_m") for s in ("rmse", "max"))
        + f"<td>{_f(r.get('ape_max_at_s'), '.3f')}</td></tr>" for r in summary["trajectories"])
    logs = "".join(f"<tr><td>{kind}</td><td>{esc(x['level'])}</td><td>{esc(x['node'])}</td><td>{esc(x['text'])}</td>"
                   f"<td>{x['count']}</td><td>{x['first_s']:.3f}</td></tr>"
                   for kind in ("new", "gone") for x in summary["logs"][kind])
    warn = "".join(f"<li>{esc(w)}</li>" for w in summary["warnings"])
    imgs = "".join(f"<figure><img src='{esc(p)}' alt='{esc(n)}' width='100%'></figure>" for n, p in traj_pngs + sig_pngs)
    lo, hi = summary["window_s"]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>rerun_ros diff</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1300px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}} .fail{{color:#b00}} code{{font-size:11px}}</style></head><body>
<h1>rerun_ros diff</h1><p>A: {esc(summary['a'])}<br>B: {esc(summary['b'])}<br>aligned by {esc(summary['align'])};
compared over {lo:.3f} … {hi:.3f} s (aligned time)</p>
{"<h2 class='fail'>Rules fired (exit status 4)</h2><ul>" + fired + "</ul>" if fired else ""}
{"<h2>Input warnings</h2><ul>" + warn + "</ul>" if warn else ""}
<h2>Findings ({len(summary['findings'])})</h2>
<table><tr><th>kind</th><th>time [s]</th><th>what</th><th>see it</th></tr>{finds or "<tr><td colspan=4>none</td></tr>"}</table>
<h2>Plots</h2>{imgs or "<p>no differences over their tolerance</p>"}
<h2>Trajectories</h2><table><tr><th>trajectory</th><th>pairs</th><th>APE rmse [m]</th><th>APE max [m]</th>
<th>APE rot rmse [rad]</th><th>APE rot max [rad]</th><th>RPE rmse [m]</th><th>RPE max [m]</th><th>APE max at [s]</th></tr>{trajs}</table>
<h2>Topics (in the common window)</h2><table><tr><th>topic</th><th>messages A</th><th>messages B</th><th>rate A</th>
<th>rate B</th><th>longest gap A [s] @ t</th><th>longest gap B [s] @ t</th></tr>{topics}</table>
<h2>Signals (largest differences first; all in diff.json)</h2><table><tr><th>signal</th><th>max |A-B|</th>
<th>at [s]</th><th>A</th><th>B</th><th>over tolerance from [s]</th></tr>{sigs}</table>
<h2>Logs new in B / gone from A</h2><table><tr><th></th><th>level</th><th>node</th><th>text</th><th>count</th>
<th>first [s]</th></tr>{logs}</table>
</body></html>"""
    (out / "index.html").write_text(page)
    return out / "index.html"
