"""Text labels that do not overlap (rviz's TF display draws every frame name on top of the
others; a TurtleBot's 30 frames become a white smear): labels are placed on the canvas in
priority order and a label whose box would overlap one already placed, or leave the canvas, is
left out (shown on hover instead). Pure numpy; boxes in canvas pixels, y down (VisPy's canvas
coordinates)."""
from __future__ import annotations

import numpy as np

__all__ = ["place_labels", "text_widths", "LABEL_PAD"]

#: pixels kept free around each label box
LABEL_PAD = 2.0


def text_widths(font, texts: list[str], font_px: float) -> np.ndarray:
    """(n,) float: the drawn width of each text in pixels at ``font_px`` pixels per em, from the
    glyph advances of ``font`` (a VisPy ``TextureFont``, whose advances are at ``font._font['size']``
    points per em)."""
    base = float(font._font["size"])
    cache: dict[str, float] = {}
    out = np.empty(len(texts), float)
    for i, s in enumerate(texts):
        w = 0.0
        for ch in s:
            a = cache.get(ch)
            if a is None:
                try:
                    a = float(font[ch]["advance"])
                except Exception:  # noqa: BLE001 - a glyph the font cannot render: an em wide
                    a = base
                cache[ch] = a
            w += a
        out[i] = w * font_px / base
    return out


def place_labels(anchors: np.ndarray, sizes: np.ndarray, order, canvas: tuple[float, float],
                 pad: float = LABEL_PAD, limit: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Greedy placement of labels anchored at their top-left corner (the text hangs right of and
    below its anchor, as VisPy draws a scene's text with ``anchor_x="left", anchor_y="bottom"``
    on the canvas: measured).

    Args:
        anchors: (n, 2) float, each label's anchor in canvas pixels (x right, y down); NaN: not
            on screen (behind the camera).
        sizes: (n, 2) float, each label's (width, height) in pixels.
        order: the label indices, most important first (labels not in it are not placed).
        canvas: (width, height) in pixels.
        pad: pixels kept free around each box.
        limit: at most this many labels are placed.

    Returns:
        ``keep`` (n,) bool, the labels placed, and ``boxes`` (n, 4) float ``x0, y0, x1, y1`` of
        every label (placed or not).
    """
    anchors = np.asarray(anchors, float).reshape(-1, 2)
    sizes = np.asarray(sizes, float).reshape(-1, 2)
    n = len(anchors)
    boxes = np.empty((n, 4))
    boxes[:, 0] = anchors[:, 0]
    boxes[:, 1] = anchors[:, 1]
    boxes[:, 2] = anchors[:, 0] + sizes[:, 0]
    boxes[:, 3] = anchors[:, 1] + sizes[:, 1]
    keep = np.zeros(n, bool)
    w, h = canvas
    on = np.isfinite(boxes).all(axis=1) & (boxes[:, 0] >= 0) & (boxes[:, 1] >= 0) & (boxes[:, 2] <= w) & (boxes[:, 3] <= h)
    placed = np.empty((min(n, limit), 4))
    k = 0
    for i in order:
        if k >= limit:
            break
        if not on[i]:
            continue
        b = boxes[i]
        if k:
            p = placed[:k]
            hit = ((p[:, 0] < b[2] + pad) & (b[0] - pad < p[:, 2]) & (p[:, 1] < b[3] + pad) & (b[1] - pad < p[:, 3]))
            if hit.any():
                continue
        placed[k] = b
        k += 1
        keep[i] = True
    return keep, boxes
