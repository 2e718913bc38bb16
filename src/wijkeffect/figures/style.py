"""One style and one save helper, so PDF, SVG and PNG bytes repeat on every rerun."""

from __future__ import annotations

from contextlib import contextmanager
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
    """Apply the project style for the figures drawn inside the block."""
    with plt.style.context(str(STYLE)), plt.rc_context({"font.family": [_lean_fonts(), FAMILY]}):
        yield


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
        fig.savefig(path, format=fmt, metadata=_METADATA[fmt])
        paths.append(path)
    plt.close(fig)
    return paths
