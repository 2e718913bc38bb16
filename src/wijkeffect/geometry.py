"""Wijk and gemeente boundaries from any common format, normalised, in RD New (EPSG:28992).

CBS/PDOK boundaries come as GeoPackage, GeoJSON, shapefile or (quantized) TopoJSON; the column
names differ per source and TopoJSON carries no CRS (it is WGS84 lon/lat). Wijken without a
geometry are kept and listed, never dropped; the area-overlap crosswalk between indelingen is here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error

RD_NEW = "EPSG:28992"
COLUMNS = ["wijk_code", "wijk_name", "gemeente_code", "gemeente_name", "geometry"]
_ALIASES = {
    "wijk_code": ("wijk_code", "statcode", "WK_CODE", "wijkcode", "code"),
    "wijk_name": ("wijk_name", "statnaam", "WK_NAAM", "wijknaam", "name"),
    "gemeente_code": ("gemeente_code", "gmCode", "GM_CODE", "gemeentecode"),
    "gemeente_name": ("gemeente_name", "GM_NAAM", "gemeentenaam"),
}


@dataclass
class Boundaries:
    """Normalised boundaries plus the codes that have no geometry (empty, or absent from the file)."""

    frame: gpd.GeoDataFrame
    without_geometry: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)


def _open(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise WijkeffectError(f"{path}: boundary file not found")
    text_head = path.read_bytes()[:4096] if path.suffix.lower() in (".json", ".topojson") else b""
    is_topo = path.suffix.lower() == ".topojson" or b'"Topology"' in text_head or b'"arcs"' in text_head[:64]
    target = f"TopoJSON:{path}" if is_topo else str(path)
    try:
        g = gpd.read_file(target, layer=layer) if layer else gpd.read_file(target)
    except Exception as exc:  # pyogrio raises its own error types per driver
        raise WijkeffectError(f"{path}: not a boundary file geopandas can read ({exc}); expected GeoPackage, "
                              "GeoJSON, TopoJSON or shapefile") from exc
    if g.crs is None:
        x0, y0, x1, y1 = g.total_bounds if len(g) else (0, 0, 0, 0)
        if -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90:
            g = g.set_crs("EPSG:4326")  # TopoJSON (and some GeoJSON) carry lon/lat without saying so
        elif 0 <= x0 and x1 <= 300_000 and 290_000 <= y0 and y1 <= 630_000:
            g = g.set_crs(RD_NEW)
        else:
            raise input_error(path, "CRS", [tuple(np.round(g.total_bounds, 1))],
                              "a CRS in the file, or lon/lat (EPSG:4326) or RD New (EPSG:28992) coordinates")
    return g.to_crs(RD_NEW)


def read_boundaries(path: str | Path, layer: str | None = None, gemeenten: str | Path | None = None,
                    expected: list[str] | None = None) -> Boundaries:
    """Wijk polygons with wijk_code, wijk_name, gemeente_code, gemeente_name, geometry (EPSG:28992).

    gemeenten: an optional gemeente boundary file that supplies gemeente names; expected: codes that should
    be present (e.g. every wijk of the panel): those absent are added without geometry and listed.
    """
    path = Path(path)
    g = _open(path, layer)
    cols = {}
    for target, names in _ALIASES.items():
        hit = next((c for c in names if c in g.columns), None)
        if hit is not None:
            cols[target] = g[hit].astype("string").str.strip()
    if "wijk_code" not in cols:
        raise input_error(path, "wijk code column", None, f"one of {_ALIASES['wijk_code']}; found {list(g.columns)}")
    out = pd.DataFrame(cols, index=g.index)
    bad = ~out["wijk_code"].str.fullmatch(r"WK\d{6}").fillna(False)
    if bad.any():
        raise input_error(path, "wijk codes", out.loc[bad, "wijk_code"], "CBS wijk codes WK######")
    if "gemeente_code" not in out:
        out["gemeente_code"] = "GM" + out["wijk_code"].str[2:6]
    if "wijk_name" not in out:
        out["wijk_name"] = pd.NA
    if "gemeente_name" not in out:
        out["gemeente_name"] = pd.NA
        if gemeenten is not None:
            gm = _open(Path(gemeenten), None)
            code = next(c for c in _ALIASES["wijk_code"] + ("gemeente_code", "GM_CODE") if c in gm.columns)
            name = next(c for c in _ALIASES["wijk_name"] + ("gemeente_name", "GM_NAAM") if c in gm.columns)
            out["gemeente_name"] = out["gemeente_code"].map(dict(zip(gm[code].str.strip(), gm[name])))
    out["gemeente_name"] = out["gemeente_name"].astype("string")
    frame = gpd.GeoDataFrame(out, geometry=g.geometry, crs=RD_NEW)
    dup = frame["wijk_code"].duplicated(keep=False)
    if dup.any():
        raise input_error(path, "wijk codes listed twice", frame.loc[dup, "wijk_code"], "one feature per wijk")
    empty = frame.geometry.isna() | frame.geometry.is_empty
    absent: list[str] = []
    if expected is not None:
        absent = sorted(set(expected) - set(frame["wijk_code"]))
        if absent:
            add = gpd.GeoDataFrame({"wijk_code": absent, "wijk_name": pd.NA,
                                    "gemeente_code": ["GM" + a[2:6] for a in absent], "gemeente_name": pd.NA},
                                   geometry=[None] * len(absent), crs=RD_NEW)
            frame = pd.concat([frame, add], ignore_index=True)
    frame = frame[COLUMNS].sort_values("wijk_code").reset_index(drop=True)
    return Boundaries(frame, sorted(out.loc[empty, "wijk_code"]), absent)


def _polygonal(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Polygon parts only (quantized TopoJSON can hold degenerate rings), repaired with a zero buffer."""
    import shapely

    def parts(g):
        if g.geom_type in ("Polygon", "MultiPolygon"):
            return g
        polys = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.unary_union(polys) if polys else shapely.Polygon()

    return gpd.GeoSeries([parts(g) for g in geoms], index=geoms.index, crs=geoms.crs).buffer(0)


def build_crosswalk(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, min_share: float = 0.01, mode: str = "split"
                    ) -> tuple[pd.DataFrame, dict[str, int]]:
    """old_code -> new_code with the share of the old wijk's area in each new wijk (EPSG:28992).

    Overlaps below min_share of the old wijk's area (slivers of generalised boundaries) are dropped and the
    remaining shares renormalised to 1; the counts of dropped pieces and unmatched old wijken are returned.
    mode="dominant" assigns each old wijk wholly to the new wijk holding most of its area (for boundaries
    that are the same but generalised or quantized differently); the dominant share is counted.
    """
    if mode not in ("split", "dominant"):
        raise WijkeffectError(f"crosswalk: mode {mode!r}; expected 'split' or 'dominant'")
    o = old[["wijk_code", "geometry"]].rename(columns={"wijk_code": "old_code"})
    n = new[["wijk_code", "geometry"]].rename(columns={"wijk_code": "new_code"})
    o, n = o[~(o.geometry.isna() | o.geometry.is_empty)], n[~(n.geometry.isna() | n.geometry.is_empty)]
    o = o.set_geometry(_polygonal(o.geometry)).to_crs(RD_NEW)
    n = n.set_geometry(_polygonal(n.geometry)).to_crs(RD_NEW)
    area = o.set_index("old_code").geometry.area
    pieces = gpd.overlay(o, n, how="intersection", keep_geom_type=True)
    pieces["area"] = pieces.geometry.area
    pieces = pieces.groupby(["old_code", "new_code"], as_index=False)["area"].sum()
    pieces["share"] = pieces["area"] / pieces["old_code"].map(area)
    if mode == "dominant":
        top = pieces.sort_values(["old_code", "share"], ascending=[True, False]).groupby("old_code").head(1)
        small = ~pieces.index.isin(top.index)
        weak = int((top["share"] < 0.5).sum())
    else:
        small = (pieces["share"] < min_share).to_numpy()
        weak = 0
    kept = pieces[~small].copy()
    kept["share"] = kept["share"] / kept.groupby("old_code")["share"].transform("sum")
    unmatched = sorted(set(o["old_code"]) - set(kept["old_code"]))
    stats = {"old_wijken": int(o["old_code"].nunique()), "pairs": len(kept), "slivers_dropped": int(small.sum()),
             "old_unmatched": len(unmatched),
             "one_to_one": int((kept.groupby("old_code").size() == 1).sum()),
             "old_without_geometry": int(len(old) - len(o)), "dominant_below_half": weak}
    out = kept[["old_code", "new_code", "share"]].sort_values(["old_code", "new_code"]).reset_index(drop=True)
    out["share"] = out["share"].round(6)
    top = out.sort_values("share", ascending=False).groupby("old_code").head(1).index
    resid = 1 - out.groupby("old_code")["share"].transform("sum")
    out.loc[top, "share"] = (out.loc[top, "share"] + resid.loc[top]).round(6)  # sums exact at 6 decimals
    stats["unmatched_codes"] = unmatched  # type: ignore[assignment]
    return out, stats


def write_crosswalk(old_path: str | Path, new_path: str | Path, out: str | Path, min_share: float = 0.01,
                    mode: str = "split", old_layer: str | None = None, new_layer: str | None = None
                    ) -> dict[str, int]:
    """Read two boundary files, build the area crosswalk and write it as old_code,new_code,share."""
    cw, stats = build_crosswalk(read_boundaries(old_path, old_layer).frame, read_boundaries(new_path, new_layer).frame,
                                min_share, mode)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    cw.to_csv(out, index=False, float_format="%.6f")
    stats["unmatched_codes"] = ";".join(stats["unmatched_codes"])  # type: ignore[arg-type]
    return stats
