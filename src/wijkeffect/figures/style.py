"""One style and one save helper, so PDF, SVG and PNG bytes repeat on every rerun."""

from __future__ import annotations

from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = Path(__file__).with_name("wijkeffect.mplstyle")
MM = 1 / 25.4
SINGLE_COLUMN = 89 * MM
DOUBLE_COLUMN = 183 * MM
TREATED, CONTROL = "#D55E00", "#0072B2"
FORMATS = ("pdf", "svg", "png")
_formats: tuple[str, ...] = FORMATS  # what save_figure writes unless told otherwise (config figure_formats)
# metadata without dates or versions that change between runs
_METADATA = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": "wijkeffect", "Creator": "wijkeffect"},
    "svg": {"Date": None, "Creator": "wijkeffect"},
    "png": {"Software": "wijkeffect"},
}


FAMILY = "DejaVu Sans"
LEAN_FAMILY = "DejaVu Sans WE"  # the same glyphs without the layout tables PDF subsetting spends its time on
_LEAN_DROP = ("GSUB", "GPOS", "GDEF", "MATH", "FFTM")
_lean: str | None = None


def _lean_fonts() -> str:
    """Register a lean DejaVu Sans (all four styles; see _write_lean); returns the family to use.

    Embedding a font in a PDF subsets it with fontTools, which decompiles every table; DejaVu's GSUB and
    GPOS tables (hundreds of scripts we never print) made that most of a figure's PDF time (0.12 s of
    0.13 s per font and file); so did its 6,000 glyphs. Outlines, metrics, hinting and the `kern` table
    are kept, so the text is the same (kerning from `kern`; no ligatures); characters outside the subset
    fall back to the full DejaVu Sans. Written once per matplotlib/fontTools version
    into matplotlib's cache directory; falls back to plain DejaVu Sans if that is not writable.
    """
    global _lean
    if _lean is not None:
        return _lean
    import hashlib

    import fontTools
    from matplotlib import font_manager

    _lean = FAMILY
    try:
        src_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        spec = f"{matplotlib.__version__} {fontTools.version} {_LEAN_DROP} {_LEAN_RANGES}"
        tag = hashlib.sha256(spec.encode()).hexdigest()[:12]
        out_dir = Path(matplotlib.get_cachedir()) / f"wijkeffect-fonts-{tag}"
        paths = []
        for style in ("", "-Bold", "-Oblique", "-BoldOblique"):
            out = out_dir / f"DejaVuSansWE{style}.ttf"
            if not out.exists():
                _write_lean(src_dir / f"DejaVuSans{style}.ttf", out)
            paths.append(out)
        for path in paths:
            font_manager.fontManager.addfont(str(path))
        _lean = LEAN_FAMILY
    except OSError:
        pass
    return _lean


# Latin (with Extended-A/B), Greek, Cyrillic, punctuation, super/subscripts, currency, letterlike
# symbols, arrows, mathematical operators, geometric shapes: any other character falls back to DejaVu Sans
_LEAN_RANGES = ((0x20, 0x24F), (0x2B0, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x2000, 0x209F),
                (0x20A0, 0x20CF), (0x2100, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF))


def _write_lean(src: Path, out: Path) -> None:
    """src subset to _LEAN_RANGES without layout tables, family renamed (hinting, metrics and kern kept)."""
    import os

    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(src)
    opts = subset.Options(glyph_names=True, hinting=True, legacy_kern=True, notdef_outline=True,
                          name_IDs=["*"], name_languages=["*"], layout_features=[], drop_tables=list(_LEAN_DROP))
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[u for lo, hi in _LEAN_RANGES for u in range(lo, hi + 1)])
    sub.subset(font)
    for table in _LEAN_DROP:
        if table in font:
            del font[table]
    for rec in font["name"].names:
        if rec.nameID in (1, 3, 4, 16):
            rec.string = rec.toUnicode().replace(FAMILY, LEAN_FAMILY)
        elif rec.nameID == 6:
            rec.string = rec.toUnicode().replace("DejaVuSans", "DejaVuSansWE")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    font.save(tmp)
    os.replace(tmp, out)


@contextmanager
def style() -> Iterator[None]:
    """Apply the project style to the figures drawn inside the block (text measured once, see _shared_text)."""
    with plt.style.context(str(STYLE)), plt.rc_context({"font.family": [_lean_fonts(), FAMILY]}), _shared_text():
        yield


_active = False
_shared = True  # whether style() shares text measurements across renderers (off: matplotlib's own caches only)


@contextmanager
def shared_text(enabled: bool) -> Iterator[None]:
    """Turn _shared_text on or off inside the block (to check that the bytes do not depend on it)."""
    global _shared
    before, _shared = _shared, enabled
    try:
        yield
    finally:
        _shared = before


_FONT_RC = ("font.family", "font.style", "font.variant", "font.weight", "font.stretch", "font.size", "font.serif",
            "font.sans-serif", "font.cursive", "font.fantasy", "font.monospace")
_TEXT_RC = ("text.hinting", "text.hinting_factor", "text.kerning_factor", "pdf.use14corefonts", "ps.useafm")
_RENDERERS = ("RendererAgg", "RendererPdf", "RendererSVG")  # whose text size is a function of the key below
_METRICS: dict[tuple, tuple[float, float, float]] = {}  # (renderer class, dpi, text, font, rc) -> w, h, d
_FONTS: dict[tuple, list] = {}  # (font properties, findfont's arguments, rc, fonts known) -> font files
_TABLES: dict[tuple, dict] = {}  # font files -> their sfnt tables
_SUBSETS: dict[tuple, tuple[bytes, dict]] = {}  # (font file, face, glyphs) -> the subset font's bytes, glyph map


def _rc_state() -> tuple:
    """The rc settings that decide which font a text gets and how it is measured."""
    rc, get = matplotlib.rcParams, dict.__getitem__  # rcParams._get without the call
    return (*[tuple(v) if type(v) is list else v for v in [get(rc, k) for k in _FONT_RC]],
            *[get(rc, k) for k in _TEXT_RC])


@contextmanager
def _shared_text() -> Iterator[None]:
    """Inside the block, find each font, read its tables and measure each text once per process, not per file.

    matplotlib caches text sizes per renderer, and every savefig (each figure, each format) makes a new
    renderer, so every tick label was measured again in every file; each text's layout also looked up its
    font (findfont once per family) and decoded two of its sfnt tables again: together a quarter of a
    figure's drawing time. They are pure functions of what is in the keys here (the text, its font properties, the
    renderer's class and dpi, the font and text rc settings, the fonts registered), so the bytes do not change;
    math and TeX text, and other renderers, take matplotlib's own path. A PDF's font subset (fontTools) is also
    made once per font and set of glyphs (figures of one city and outcome share theirs).
    """
    global _active
    from matplotlib import font_manager
    from matplotlib import text as mtext
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    hooks = [(mtext, "_get_text_metrics_with_cache"), (mtext, "get_font"), (pdf_ps, "get_glyphs_subset"),
             (font_manager.fontManager, "_find_fonts_by_props"), (pdf_ps, "font_as_file"), (pdf_ps, "SubsetResults")]
    if not _shared or _active or not all(hasattr(m, name) for m, name in hooks):  # off, on already, other matplotlib
        yield
        return

    manager = font_manager.fontManager
    metrics_before, get_font_before = mtext._get_text_metrics_with_cache, mtext.get_font
    find_before = manager._find_fonts_by_props

    def find_fonts(prop, fontext="ttf", directory=None, fallback_to_default=True, rebuild_if_missing=True):
        if not isinstance(prop, font_manager.FontProperties):
            return find_before(prop, fontext, directory, fallback_to_default, rebuild_if_missing)
        key = (prop.copy(), fontext, directory, fallback_to_default, rebuild_if_missing, _rc_state(),
               len(manager.ttflist), len(manager.afmlist))
        found = _FONTS.get(key)
        if found is None:
            found = _FONTS[key] = find_before(prop, fontext, directory, fallback_to_default, rebuild_if_missing)
        return list(found)

    def metrics(renderer, text, fontprop, ismath, dpi):
        kind = type(renderer).__name__
        if ismath or kind not in _RENDERERS:
            return metrics_before(renderer, text, fontprop, ismath, dpi)
        key = (kind, getattr(renderer, "dpi", None), dpi, text, fontprop.copy(), _rc_state(), len(manager.ttflist))
        size = _METRICS.get(key)
        if size is None:
            if len(_METRICS) > 100_000:
                _METRICS.clear()
            size = _METRICS[key] = renderer.get_text_width_height_descent(text, fontprop, ismath)
        return size

    def get_font(paths, *args, **kwargs):  # text.py reads only a font's sfnt tables with it
        return _Tables(get_font_before, tuple(paths), args, kwargs)

    subset_before, as_file_before = pdf_ps.get_glyphs_subset, pdf_ps.font_as_file

    @contextmanager
    def glyphs_subset(fontfile, glyphs):
        key = (str(fontfile), getattr(fontfile, "face_index", 0), frozenset(glyphs))
        if key not in _SUBSETS:
            if len(_SUBSETS) > 2000:  # ~20 KB each
                _SUBSETS.clear()
            with subset_before(fontfile, set(glyphs)) as sub:
                _SUBSETS[key] = (as_file_before(sub.font).getvalue(), dict(sub.glyph_index_map))
        data, glyph_map = _SUBSETS[key]
        yield pdf_ps.SubsetResults(_SubsetFont(data), dict(glyph_map))

    def font_as_file(font):
        return BytesIO(font.data) if isinstance(font, _SubsetFont) else as_file_before(font)

    mtext._get_text_metrics_with_cache, mtext.get_font = metrics, get_font
    pdf_ps.get_glyphs_subset, pdf_ps.font_as_file = glyphs_subset, font_as_file
    manager._find_fonts_by_props = find_fonts
    _active = True
    try:
        yield
    finally:
        _active = False
        mtext._get_text_metrics_with_cache, mtext.get_font = metrics_before, get_font_before
        pdf_ps.get_glyphs_subset, pdf_ps.font_as_file = subset_before, as_file_before
        del manager._find_fonts_by_props  # the instance attribute: the class's method is seen again


class _SubsetFont:
    """A subset font as its saved bytes (what the PDF writer embeds); any other use opens it with fontTools."""

    def __init__(self, data: bytes):
        self.data = data

    def __getattr__(self, name: str):
        from fontTools.ttLib import TTFont

        return getattr(TTFont(BytesIO(self.data)), name)


class _Tables:
    """A font as text.py uses it (sfnt tables only), its tables read once per process; anything else, the font."""

    def __init__(self, get_font, paths: tuple, args: tuple, kwargs: dict):
        self._open = lambda: get_font(list(paths), *args, **kwargs)
        self._tables = _TABLES.setdefault(paths, {})

    def get_sfnt_table(self, name: str):
        if name not in self._tables:
            self._tables[name] = self._open().get_sfnt_table(name)
        return self._tables[name]

    def __getattr__(self, name: str):
        return getattr(self._open(), name)


@contextmanager
def use_formats(formats: list[str] | tuple[str, ...] | None) -> Iterator[None]:
    """Write only these formats inside the block (e.g. PNG alone for a sweep); None keeps the current ones."""
    global _formats
    before = _formats
    if formats:
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise ValueError(f"figure_formats: {bad}; expected a subset of {list(FORMATS)}")
        _formats = tuple(f for f in FORMATS if f in formats)
    try:
        yield
    finally:
        _formats = before


def save_figure(fig: plt.Figure, stem: str | Path, formats: tuple[str, ...] | None = None) -> list[Path]:
    """Save fig as stem.pdf/.svg/.png with fixed metadata; returns the paths and closes the figure."""
    formats = formats or _formats
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        if fmt == "png":
            _save_png(fig, path)
        else:
            fig.savefig(path, format=fmt, metadata=_METADATA[fmt])
        paths.append(path)
    plt.close(fig)
    return paths


PNG_COMPRESS_LEVEL = 3  # zlib level: files about the size matplotlib's were (level 6, adaptive filters)


def _save_png(fig: plt.Figure, path: Path) -> None:
    """fig rendered by Agg (as savefig would), written by _write_png: the same pixels, a fifth of the encoding time."""
    path.write_bytes(png_bytes(fig))


def png_bytes(fig: plt.Figure, dpi: float | None = None) -> bytes:
    """fig as PNG bytes (Agg pixels, _write_png), at dpi or the style's savefig.dpi; e.g. for a notebook image."""
    if dpi is None:
        dpi = matplotlib.rcParams["savefig.dpi"]
        dpi = fig.dpi if dpi == "figure" else float(dpi)
    sink = _Sink()
    fig.savefig(sink, format="rgba", dpi=dpi)
    width, height = (int(v) for v in fig.get_size_inches() * dpi)  # as FigureCanvasAgg sizes its renderer
    return _write_png(sink.data, width, height, dpi, _METADATA["png"])


class _Sink:
    """A file for savefig's raw RGBA output that keeps the renderer's buffer instead of copying it."""

    data = memoryview(b"")

    def write(self, data) -> None:
        self.data = memoryview(data)

    def seek(self, *args) -> int:  # matplotlib takes objects with seek for files
        return 0


def _write_png(rgba: memoryview, width: int, height: int, dpi: float, text: dict[str, str]) -> bytes:
    """A PNG of 8-bit RGBA pixels: RGB when all are opaque (as our figures are), rows unfiltered, zlib level
    PNG_COMPRESS_LEVEL; pHYs and tEXt chunks as PIL writes them for matplotlib.

    PIL (behind savefig) tries all five PNG row filters on every row; on flat-coloured figures that was most
    of the time of a PNG and made larger files than no filter at all.
    """
    import struct
    import zlib

    import numpy as np

    from PIL import Image

    if rgba.nbytes != width * height * 4:
        raise ValueError(f"{rgba.nbytes} bytes of pixels for a {width}x{height} RGBA image")
    opaque = bool(np.frombuffer(rgba, np.uint8)[3::4].min() == 255)
    channels = 3 if opaque else 4
    px = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB").tobytes() if opaque \
        else rgba
    rows = np.zeros((height, 1 + width * channels), np.uint8)  # leading 0 in each row: filter type None
    rows[:, 1:] = np.frombuffer(px, np.uint8).reshape(height, -1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ppm = int(dpi / 0.0254 + 0.5)  # pixels per metre
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)),
        chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
        *(chunk(b"tEXt", f"{k}\0{v}".encode("latin-1")) for k, v in text.items()),
        chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESS_LEVEL)),
        chunk(b"IEND", b""),
    ])
