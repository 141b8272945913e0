"""The map view (Rerun's map view, Foxglove's Map panel, offline first): each GeoPoints entity's
track (``sensor_msgs/NavSatFix``) up to the cursor on a local east-north plane, metres from the
first fix, with its latest fix marked, GeoLineStrings (routes, geofences) in their colours, east/north axes and a scale bar. With a blueprint
``tile_url`` (``https://…/{z}/{x}/{y}.png`` or ``file:///…/{z}/{x}/{y}.png``) map tiles are
drawn under the track; nothing is fetched without one."""
from __future__ import annotations

import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PyQt6 import QtCore

from .. import geo as G
from .base import CanvasView, scene
from .fonts import share_fonts
from .timeseries import PALETTE

__all__ = ["MapView", "TILE_BYTES_MAX"]

#: a tile larger than this is refused (tile servers send ~10-50 KB PNGs)
TILE_BYTES_MAX = 4 << 20
TILE_TIMEOUT_S = 10.0
TILES_MAX = 16


def _fetch_tile(url: str) -> np.ndarray:
    """A tile image as (h, w, 4) uint8 RGBA. Raises OSError/ValueError on any failure."""
    from io import BytesIO

    from PIL import Image
    req = urllib.request.Request(url, headers={"User-Agent": "rerun_ros viewer"})
    with urllib.request.urlopen(req, timeout=TILE_TIMEOUT_S) as r:  # noqa: S310 - the user's own tile_url
        data = r.read(TILE_BYTES_MAX + 1)
    if len(data) > TILE_BYTES_MAX:
        raise ValueError(f"tile larger than {TILE_BYTES_MAX} bytes")
    with Image.open(BytesIO(data)) as im:
        if im.width * im.height > 4096 * 4096:
            raise ValueError("tile image too large")
        return np.asarray(im.convert("RGBA"))


class MapView(CanvasView):
    """``tracks``: the :class:`~rerun_ros.viewer.geo.GeoTrack` drawn; ``reference``: the (lat, lon)
    of the plane's origin; ``scale_m``: the scale bar's length; ``tiles``: tiles drawn."""

    def __init__(self, view, window):
        super().__init__(view, window, grid=True)
        grid = self.canvas.central_widget.add_grid(spacing=0)
        style = dict(axis_font_size=7, text_color="#c8c8c8", axis_color=(0.53, 0.53, 0.53, 1.0),
                     tick_color=(0.53, 0.53, 0.53, 1.0))
        self.yaxis = scene.AxisWidget(orientation="left", axis_label="north [m]", axis_label_margin=40,
                                      tick_label_margin=4, **style)
        self.yaxis.width_max = 64
        self.xaxis = scene.AxisWidget(orientation="bottom", axis_label="east [m]", axis_label_margin=24,
                                      tick_label_margin=12, **style)
        self.xaxis.height_max = 40
        share_fonts(self.fonts, self.xaxis, self.yaxis)
        grid.add_widget(self.yaxis, row=0, col=0)
        grid.add_widget(self.xaxis, row=1, col=1)
        self.viewbox = grid.add_view(row=0, col=1, border_color=(0.27, 0.27, 0.27, 1.0))
        self.viewbox.camera = scene.cameras.PanZoomCamera(aspect=1)
        self.xaxis.link_view(self.viewbox)
        self.yaxis.link_view(self.viewbox)
        vs = self.viewbox.scene
        self.track_lines = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=vs, connect="segments", width=2)
        self.track_lines.visible = False
        self.route_lines = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=vs, connect="segments", width=3)
        self.route_lines.visible = False
        self.routes: list[G.GeoLines] = []
        self.fixes = scene.visuals.Markers(pos=np.zeros((1, 2), np.float32), parent=vs, antialias=0)
        self.fixes.visible = False
        self.latest = scene.visuals.Markers(pos=np.zeros((1, 2), np.float32), parent=vs, antialias=0)
        self.latest.visible = False
        self.scale_line = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=vs, width=3, color=(1.0, 1.0, 1.0, 1.0))
        self.scale_text = scene.visuals.Text("", parent=vs, color=(1.0, 1.0, 1.0, 1.0), font_manager=self.fonts, font_size=8,
                                             anchor_x="left", anchor_y="bottom")
        self.scale_line.visible = self.scale_text.visible = False
        for v in (self.scale_line, self.scale_text):
            v.order = 5
        self.tracks: list[G.GeoTrack] = []
        self.reference: tuple[float, float] | None = None
        self.scale_m: float | None = None
        self.tiles: dict = {}  # (z, x, y) -> Image visual
        self.tile_errors: list[str] = []
        self._tile_jobs: dict = {}
        self._pool = None
        self._lock = threading.Lock()
        self._framed = False
        self._user_moved = False
        self.canvas.events.mouse_press.connect(lambda ev: setattr(self, "_user_moved", True))
        self.canvas.events.mouse_wheel.connect(lambda ev: setattr(self, "_user_moved", True))
        self.viewbox.camera.transform.changed.connect(lambda ev: self._draw_scale())
        self._tile_timer = QtCore.QTimer(self)
        self._tile_timer.timeout.connect(self._collect_tiles)

    def update_at(self, timeline: str, t: int) -> None:
        ents = [e for e in self.entities() if G.is_geo(self.win.store.columns(e))]
        self.tracks = G.geo_tracks(self.win.store, ents, timeline, t)
        self.routes = G.geo_lines(self.win.store, ents, timeline, t)
        if self.reference is None:  # the plane's origin: the first fix of the whole recording
            first = [tr.latlon[0] for tr in G.geo_tracks(self.win.store, ents, timeline, 2**62) if len(tr.latlon)]
            first += [s[0] for r in self.routes for s in r.strings if len(s)]
            if first:
                self.reference = (float(first[0][0]), float(first[0][1]))
        rsegs, rcols = [], []
        for r in self.routes:  # GeoLineStrings (routes, geofences) in their own colours
            for s, c in zip(r.strings, r.colors):
                if len(s) >= 2 and self.reference is not None:
                    en = G.to_local(s, self.reference)
                    rsegs.append(np.stack([en[:-1], en[1:]], 1).reshape(-1, 2))
                    rcols.append(np.tile(c / 255.0, (2 * (len(en) - 1), 1)))
        if rsegs:
            self.route_lines.set_data(np.concatenate(rsegs).astype(np.float32), color=np.concatenate(rcols))
        self.route_lines.visible = bool(rsegs)
        segs, scol, pts, pcol, last, lcol = [], [], [], [], [], []
        problems = {}
        for k, tr in enumerate(self.tracks):
            if not len(tr.latlon) and any(r.entity == tr.entity for r in self.routes):
                continue
            if not len(tr.latlon):
                problems[tr.entity] = "no fix yet" if self.win.store.num_rows(tr.entity) else "no fixes"
                continue
            en = G.to_local(tr.latlon, self.reference)
            col = np.append(PALETTE[k % len(PALETTE)], 1.0)
            if len(en) >= 2:
                segs.append(np.stack([en[:-1], en[1:]], 1).reshape(-1, 2))
                scol.append(np.tile(col, (2 * (len(en) - 1), 1)))
            pts.append(en)
            pcol.append(np.tile(col * [1, 1, 1, 0.7], (len(en), 1)))
            last.append(en[-1])
            lcol.append(col)
        if segs:
            self.track_lines.set_data(np.concatenate(segs).astype(np.float32), color=np.concatenate(scol))
        self.track_lines.visible = bool(segs)
        if pts:
            self.fixes.set_data(np.concatenate(pts).astype(np.float32), face_color=np.concatenate(pcol), edge_width=0,
                                size=5)
            self.latest.set_data(np.asarray(last, np.float32), face_color=np.asarray(lcol), edge_color=(1.0, 1.0, 1.0, 1.0),
                                 edge_width=2, size=12)
        self.fixes.visible = self.latest.visible = bool(pts)
        if not self._framed and (pts or rsegs):
            self._frame()
        self.set_problems(problems)
        ref = self.reference
        self.title.setText(f"<b>{self.view_spec.name}</b>  <span style='color:#888'>(map · "
                           + (f"east/north m from {ref[0]:.6f}, {ref[1]:.6f}" if ref else "no fix") + ")</span>")
        self._draw_scale()
        if self.view_spec.tile_url and ref is not None:
            self._request_tiles()
        self.drawn_time = t
        self.canvas.update()

    def _frame(self) -> None:
        """Show every fix of the recording (not just those up to the cursor), metres square."""
        ents = [tr.entity for tr in self.tracks]
        allp = [G.to_local(tr.latlon, self.reference) for tr in G.geo_tracks(self.win.store, ents, self.win.timeline,
                                                                             2**62) if len(tr.latlon)]
        allp += [G.to_local(s, self.reference) for r in self.routes for s in r.strings if len(s)]
        if not allp:
            return
        p = np.concatenate(allp)
        lo, hi = p.min(axis=0), p.max(axis=0)
        pad = max(float((hi - lo).max()) * 0.1, 1.0)
        self.viewbox.camera.set_range(x=(lo[0] - pad, hi[0] + pad), y=(lo[1] - pad, hi[1] + pad), margin=0)
        self._framed = True

    def reset_view(self) -> None:
        self._framed = False
        self._user_moved = False
        self.update_at(self.win.timeline, self.win.t)

    def _draw_scale(self) -> None:
        """A scale bar of a round length in the lower left of the visible area."""
        rect = self.viewbox.camera.rect
        if self.reference is None or rect.width <= 0:
            self.scale_line.visible = self.scale_text.visible = False
            return
        length = G.scale_bar_length(rect.width)
        x0, y0 = rect.left + rect.width * 0.05, rect.bottom + rect.height * 0.06
        self.scale_line.set_data(np.array([[x0, y0], [x0 + length, y0]], np.float32))
        label = f"{length:g} m" if length >= 1 else f"{length * 100:g} cm"
        self.scale_text.text = label
        self.scale_text.pos = (x0, y0 + rect.height * 0.01)
        self.scale_line.visible = self.scale_text.visible = True
        self.scale_m = length

    # -- tiles (only with a tile_url) -------------------------------------------------------

    def _request_tiles(self) -> None:
        allp = [tr.latlon for tr in self.tracks if len(tr.latlon)]
        if not allp:
            return
        ll = np.concatenate(allp)
        (s, w), (n, e) = ll.min(axis=0), ll.max(axis=0)
        pad_lat, pad_lon = max((n - s) * 0.2, 2e-4), max((e - w) * 0.2, 2e-4)
        want = G.tiles_covering(s - pad_lat, w - pad_lon, n + pad_lat, e + pad_lon, max_tiles=TILES_MAX)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="map-tiles")
        for key in want:
            if key in self.tiles or key in self._tile_jobs:
                continue
            z, x, y = key
            url = self.view_spec.tile_url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
            self._tile_jobs[key] = (url, self._pool.submit(_fetch_tile, url))
        if self._tile_jobs and not self._tile_timer.isActive():
            self._tile_timer.start(100)

    def _collect_tiles(self) -> None:
        done = [k for k, (_u, f) in self._tile_jobs.items() if f.done()]
        for key in done:
            url, fut = self._tile_jobs.pop(key)
            try:
                rgba = fut.result()
            except Exception as e:  # noqa: BLE001 - a tile that cannot be had is said, the track stays
                self.tile_errors.append(f"{url}: {e}")
                self.tiles[key] = None
                self.win.status(f"{self.view_spec.name}: tile {url}: {e}")
                continue
            self._place_tile(key, rgba)
        if not self._tile_jobs:
            self._tile_timer.stop()
        if done:
            self.canvas.update()

    def _place_tile(self, key, rgba: np.ndarray) -> None:
        s, w, n, e = G.tile_bounds(*key)
        (x0, y0), (x1, y1) = G.to_local(np.array([[s, w], [n, e]]), self.reference)
        img = scene.visuals.Image(np.ascontiguousarray(rgba[::-1]), parent=self.viewbox.scene, interpolation="linear")
        h, wpx = rgba.shape[:2]
        img.transform = scene.transforms.STTransform(scale=((x1 - x0) / wpx, (y1 - y0) / h, 1), translate=(x0, y0, 0))
        img.set_gl_state(depth_test=False)
        img.order = -10  # drawn first: under the track
        self.tiles[key] = img

    def wait_for_tiles(self, timeout_s: float = 10.0) -> None:
        """Block until the requested tiles are in (or failed): screenshots and tests."""
        import time
        end = time.monotonic() + timeout_s
        while self._tile_jobs and time.monotonic() < end:
            for _u, f in list(self._tile_jobs.values()):
                try:
                    f.exception(timeout=max(end - time.monotonic(), 0))
                except Exception:  # noqa: BLE001 - a timeout: the loop ends at the deadline
                    pass
            self._collect_tiles()
        self._collect_tiles()

    def closeEvent(self, ev) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        super().closeEvent(ev)
