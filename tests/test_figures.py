"""Figures: byte-identical reruns, suppression of small cells, shared map breaks."""

from __future__ import annotations

import hashlib

import matplotlib.pyplot as plt
import pandas as pd

from wijkeffect.disclosure import suppress
from wijkeffect.figures.style import save_figure, style


def _draw(stem):
    with style():
        fig, ax = plt.subplots()
        ax.plot([2005, 2007, 2009], [20.0, 22.5, 18.0], "o-", label="wijk")
        ax.legend()
        return save_figure(fig, stem)


def test_figures_are_byte_identical_on_rerun(tmp_path):
    a = _draw(tmp_path / "a" / "fig")
    b = _draw(tmp_path / "b" / "fig")
    assert [p.suffix for p in a] == [".pdf", ".svg", ".png"]
    for x, y in zip(a, b):
        assert hashlib.sha256(x.read_bytes()).digest() == hashlib.sha256(y.read_bytes()).digest(), x.suffix


def test_suppress_blanks_small_cells_and_keeps_rows():
    df = pd.DataFrame({"n": [4, 10, 25], "mean": [0.5, 0.2, 0.3], "se": [0.2, 0.1, 0.05]})
    out = suppress(df, 10)
    assert len(out) == 3 and out["suppressed"].tolist() == [True, False, False]
    assert out["mean"].isna().tolist() == [True, False, False]


def test_wijk_trend_and_city_map_on_the_demo(tmp_path, demo_panel, root):
    import geopandas as gpd

    from wijkeffect.figures.maps import city_map, wijk_change
    from wijkeffect.figures.trends import wijk_trend

    _, _, cells = demo_panel
    paths = wijk_trend(cells, "WK990106", ["smoker", "walking"], 10, "t", tmp_path / "w" / "trends")
    assert all(p.stat().st_size > 1000 for p in paths)
    geo = gpd.read_file(root / "data/raw/demo/wijken.gpkg")
    paths = city_map(geo, cells, "GM9901", ["smoker"], [-0.05, 0, 0.05], 10, "t", tmp_path / "map")
    assert all(p.stat().st_size > 1000 for p in paths)
    ch = wijk_change(cells, "GM9901", "smoker", 10**6)
    assert ch["suppressed"].all() and ch["change"].isna().all()  # every wijk under an absurd threshold


def test_single_column_layouts_are_89_mm_wide(tmp_path, demo_panel, root):
    import geopandas as gpd
    from PIL import Image

    from wijkeffect.figures.maps import city_map
    from wijkeffect.figures.trends import wijk_trend

    _, _, cells = demo_panel
    for paths in (wijk_trend(cells, "WK990106", ["smoker", "walking"], 10, "t", tmp_path / "t", width="single"),
                  city_map(gpd.read_file(root / "data/raw/demo/wijken.gpkg"), cells, "GM9901", ["smoker"],
                           [-0.05, 0, 0.05], 10, "t", tmp_path / "m", width="single")):
        png = next(p for p in paths if p.suffix == ".png")
        assert Image.open(png).size[0] == round(89 / 25.4 * 300)  # exactly one column at 300 dpi


def test_trend_figure_text_does_not_overlap(demo_panel, monkeypatch):
    """The n note, the titles, the legend and every axis label of a trend figure are drawn apart (the note
    once sat on the last panel's x label), in both layouts."""
    from wijkeffect.figures import trends

    drawn = {}
    monkeypatch.setattr(trends, "save_figure", lambda fig, stem: drawn.setdefault(stem, fig) and [])
    _, _, cells = demo_panel
    for width in ("double", "single"):
        trends.wijk_trend(cells, "WK990106", ["smoker", "psych_distress", "walking"], 10, "Title", width,
                          width=width)
        fig = drawn[width]
        fig.canvas.draw()  # label positions are set at draw time
        renderer = fig.canvas.get_renderer()
        texts = [t for t in fig.texts if t.get_text()]  # the suptitle and the n note
        for ax in fig.axes:
            texts += [t for t in (ax.xaxis.label, ax.yaxis.label, ax.title) if t.get_text()]
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
        boxes += [("legend", lg.get_window_extent(renderer)) for lg in fig.legends]
        for i, (a, box_a) in enumerate(boxes):
            for b, box_b in boxes[i + 1:]:
                assert not box_a.overlaps(box_b), (width, a, b)
        plt.close(fig)


def test_png_writer_gives_matplotlibs_pixels(tmp_path):
    """save_figure's own PNG encoder decodes (PIL) to the pixels of matplotlib's PNG of the same figure, with its
    300 dpi and metadata; RGB when opaque, RGBA (same pixels) when something is transparent."""
    import numpy as np
    from PIL import Image

    for transparent in (False, True):
        with style():
            fig, ax = plt.subplots()
            ax.plot([2005, 2007, 2009], [20.0, 22.5, 18.0], "o-", label="wijk ≥ 30")
            ax.fill_between([2005, 2009], [10, 12], [25, 30], alpha=0.15)
            ax.legend()
            if transparent:
                fig.patch.set_alpha(0.0)
            ref = tmp_path / f"ref{transparent}.png"
            fig.savefig(ref, format="png", metadata={"Software": "wijkeffect"})
            ours = save_figure(fig, tmp_path / f"ours{transparent}", formats=("png",))[0]
        a, b = Image.open(ref), Image.open(ours)
        assert b.mode == ("RGBA" if transparent else "RGB") and a.size == b.size
        assert np.array_equal(np.asarray(a.convert(b.mode)), np.asarray(b))
        assert b.info["Software"] == "wijkeffect" and b.info["dpi"] == a.info["dpi"]
        assert round(b.info["dpi"][0]) == 300


def _digests(paths):
    return {p.suffix: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_trend_figures_drawn_in_one_batch_are_those_drawn_alone(tmp_path, demo_panel):
    """wijk_trends draws a city's wijken on one reused figure: each file has the bytes of that wijk drawn alone
    (nothing of the wijk before it is left), in both layouts."""
    from wijkeffect.figures.trends import wijk_trend, wijk_trends

    _, _, cells = demo_panel
    wijken = ["WK990106", "WK990103"]
    for width in ("double", "single"):
        batch = wijk_trends(cells, [(w, f"{w} t", tmp_path / width / "batch" / w) for w in wijken],
                            ["smoker", "walking"], 10, width=width)
        for w, paths in zip(wijken, batch):
            alone = wijk_trend(cells, w, ["smoker", "walking"], 10, f"{w} t", tmp_path / width / "alone" / w,
                               width=width)
            assert _digests(paths) == _digests(alone), (width, w)


def test_shared_text_measurements_do_not_change_bytes(tmp_path, demo_panel):
    """style() measures each text and subsets each PDF font once per process (see style._shared_text): the files
    are those matplotlib writes with its own per-renderer caches."""
    from wijkeffect.figures.style import shared_text
    from wijkeffect.figures.trends import wijk_trend

    _, _, cells = demo_panel
    out = {}
    for shared in (False, True):
        with shared_text(shared):
            out[shared] = [_digests(wijk_trend(cells, w, ["smoker", "walking"], 10, "Wijk ≥ −1",
                                               tmp_path / f"{shared}{w}")) for w in ("WK990106", "WK990103")]
            out[shared] += [_digests(_draw(tmp_path / f"d{shared}{i}" / "fig")) for i in range(2)]  # 2nd: subset reused
    assert out[False] == out[True]


def test_pdf_embeds_one_type42_subset(tmp_path):
    """Characters past U+00FF (≥, the minus sign) share the one embedded subset of the font (ps.fonttype 42):
    matplotlib's default split them into a second subset, fontTools' work twice per file."""
    with style():
        fig, ax = plt.subplots()
        ax.plot([-1, 1], [-1, 1])
        ax.set_title("walking ≥ 30 min/week")
        pdf = save_figure(fig, tmp_path / "f", formats=("pdf",))[0].read_bytes()
    assert pdf.count(b"/FontFile2") == 1 and pdf.count(b"/CIDFontType2") == 1
