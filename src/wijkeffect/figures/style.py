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


@contextmanager
def style() -> Iterator[None]:
    """Apply the project style for the figures drawn inside the block."""
    with plt.style.context(str(STYLE)):
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
