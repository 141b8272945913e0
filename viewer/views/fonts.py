"""Text glyphs for every canvas, rendered once: VisPy draws text from signed-distance-field
(SDF) glyphs that it renders on the CPU from a 256 pt FreeType bitmap, about 5-10 ms per
character, and every text visual renders its own set. A viewer window shows some 80 glyphs in
its tick labels and frame names, so that alone costs ~0.4 s before the first frame.

:class:`GlyphFonts` is a VisPy font manager (one per canvas, as a texture belongs to one GL
context) whose fonts take each glyph's SDF bitmap from a process-wide cache, kept on disk in
``$XDG_CACHE_HOME/rerun_ros/`` (keyed by the VisPy version and the font file), like a font
or shader cache: only characters never seen before are rendered. A cache that cannot be read
or written is ignored (glyphs are then rendered as VisPy would).
"""
from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

import numpy as np

__all__ = ["GlyphFonts", "share_fonts", "save_glyph_cache"]

_LOCK = threading.Lock()
# (face, bold, italic) -> char -> (sdf (h, w, 3) uint8, offset (left, top), advance px at 256 pt)
_GLYPHS: dict[tuple, dict[str, tuple[np.ndarray, tuple[int, int], float]]] = {}
_LOADED: set[tuple] = set()
_DIRTY: set[tuple] = set()


def _cache_file(key: tuple) -> Path | None:
    try:
        import vispy
        from vispy.util.fonts._vispy_fonts import _get_vispy_font_filename, _vispy_fonts
        face, bold, italic = key
        if face in _vispy_fonts:
            src = _get_vispy_font_filename(face, bold, italic)
        else:
            from vispy.util.fonts import _freetype
            src = _freetype.find_font(face, bold, italic)
        st = os.stat(src)
    except Exception:  # noqa: BLE001 - no usable font file: no cache
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rerun_ros"
    tag = f"{Path(src).stem}-{int(st.st_size)}-{int(key[1])}{int(key[2])}-vispy{vispy.__version__}"
    return base / f"glyphs-{tag}.npz"


def _load(key: tuple) -> dict:
    """The cached glyphs of one font (read from disk the first time)."""
    with _LOCK:
        table = _GLYPHS.setdefault(key, {})
        if key in _LOADED:
            return table
        _LOADED.add(key)
        path = _cache_file(key)
        if path is None or not path.is_file():
            return table
        try:
            with np.load(path, allow_pickle=False) as z:
                chars, meta = z["chars"], z["meta"]
                for i, ch in enumerate(str(chars)):
                    sdf = z[f"g{i}"]
                    if sdf.ndim != 3 or sdf.shape[2] != 3 or sdf.dtype != np.uint8:
                        raise ValueError("bad glyph")
                    table.setdefault(ch, (sdf, (int(meta[i, 0]), int(meta[i, 1])), float(meta[i, 2])))
        except Exception:  # noqa: BLE001 - a damaged cache is re-rendered, never trusted
            table.clear()
        return table


def save_glyph_cache() -> None:
    """Write the glyphs rendered in this process to the disk cache (atomically; errors ignored)."""
    with _LOCK:
        for key in list(_DIRTY):
            path = _cache_file(key)
            table = _GLYPHS.get(key, {})
            if path is None or not table:
                continue
            chars = "".join(table)
            meta = np.array([[*table[c][1], table[c][2]] for c in chars], np.float64)
            arrays = {f"g{i}": table[c][0] for i, c in enumerate(chars)}
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                with open(tmp, "wb") as f:
                    np.savez(f, chars=np.array(chars), meta=meta, **arrays)
                os.replace(tmp, path)
            except OSError:
                pass
        _DIRTY.clear()


def _font_class():
    from vispy.util.fonts._freetype import _load_font, _load_glyph
    from vispy.visuals.text.text import TextureFont

    class CachedTextureFont(TextureFont):
        """A VisPy TextureFont whose SDF glyphs come from the process-wide cache."""

        def _load_char(self, char):
            f = self._font
            key = (f["face"], bool(f["bold"]), bool(f["italic"]))
            table = _load(key)
            hit = table.get(char)
            if hit is None:
                scratch: dict = {}
                _load_glyph(f, char, scratch)
                g = scratch[char]
                bitmap = g["bitmap"]
                data = np.zeros((bitmap.shape[0] + 2 * self._spread, bitmap.shape[1] + 2 * self._spread), np.uint8)
                data[self._spread:-self._spread, self._spread:-self._spread] = bitmap
                size = (data.shape[1] // self.ratio, data.shape[0] // self.ratio)
                sdf = np.zeros((size[1], size[0], 3), np.uint8)
                self._renderer.render_to_texture(data, sdf, (0, 0), size)
                hit = (sdf, tuple(int(v) for v in g["offset"]), float(g["advance"]))
                with _LOCK:
                    table[char] = hit
                    if not _DIRTY:
                        atexit.register(save_glyph_cache)
                    _DIRTY.add(key)
            sdf, offset, advance = hit
            h, w = sdf.shape[:2]
            region = self._atlas.get_free_region(w + 2, h + 2)
            if region is None:
                raise RuntimeError("Cannot store glyph")
            x, y = region[0] + 1, region[1] + 1
            self._atlas[y:y + h, x:x + w, :] = sdf
            face = _load_font(*key)
            face.set_char_size(f["size"] * 64)
            glyph = dict(char=char, offset=offset, advance=advance, kerning={}, size=(w, h),
                         texcoords=(x / self._atlas.shape[1], y / self._atlas.shape[0],
                                    (x + w) / self._atlas.shape[1], (y + h) / self._atlas.shape[0]))
            for other, og in self._glyphs.items():
                glyph["kerning"][other] = face.get_kerning(other, char).x / 64.0
                og["kerning"][char] = face.get_kerning(char, other).x / 64.0
            self._glyphs[char] = glyph

    return CachedTextureFont


class GlyphFonts:
    """A VisPy font manager (``get_font(face, bold, italic)``) handing out cached-glyph fonts.
    Use one per canvas: each font owns a GL texture of its canvas's context."""

    _cls = None

    def __init__(self):
        from vispy.visuals.text.text import SDFRendererCPU
        if GlyphFonts._cls is None:
            GlyphFonts._cls = _font_class()
        self._renderer = SDFRendererCPU()
        self._fonts: dict[str, object] = {}

    def get_font(self, face, bold=False, italic=False):
        key = f"{face}-{bold}-{italic}"
        if key not in self._fonts:
            self._fonts[key] = GlyphFonts._cls(dict(face=face, bold=bold, italic=italic), self._renderer)
        return self._fonts[key]


def share_fonts(fonts: GlyphFonts, *visuals) -> None:
    """Make VisPy text visuals (``TextVisual``, or ``AxisWidget``/``AxisVisual``: their tick and
    axis-label texts) draw their glyphs from ``fonts``."""
    for v in visuals:
        axis = getattr(v, "axis", v)
        texts = [t for t in (getattr(axis, "_text", None), getattr(axis, "_axis_label_vis", None)) if t is not None]
        for t in texts or [v]:
            if hasattr(t, "_font_manager"):
                t._font_manager = fonts
                t._update_font()
