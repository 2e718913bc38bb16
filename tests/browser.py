"""Headless Chromium for tests: a screenshot and the DOM after scripts ran, and a check that a page's links
and images resolve. Tests skip (with the apt package to install) when no Chromium is on the machine."""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars"]
APT = "apt-get install -y chromium"


def chromium() -> str | None:
    """The Chromium (or Chrome) executable, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def require_chromium() -> str:
    """The executable, or skip the test saying what to install."""
    exe = chromium()
    if exe is None:
        pytest.skip(f"headless Chromium not installed ({APT})")
    return exe


def _url(page: str | Path) -> str:
    s = str(page)
    return s if "://" in s else Path(s).resolve().as_uri()


def screenshot(page: str | Path, png: str | Path, width: int = 1200, height: int = 900,
               budget_ms: int = 5000) -> Path:
    """Render page (file or URL) to a PNG, letting scripts run for budget_ms of virtual time."""
    exe = require_chromium()
    subprocess.run([exe, *FLAGS, f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}",
                    f"--screenshot={png}", _url(page)], check=True, capture_output=True, timeout=120)
    return Path(png)


def dump_dom(page: str | Path, budget_ms: int = 5000) -> str:
    """The serialised DOM after the page's scripts ran (what a reader's browser shows)."""
    exe = require_chromium()
    out = subprocess.run([exe, *FLAGS, f"--virtual-time-budget={budget_ms}", "--dump-dom", _url(page)],
                         check=True, capture_output=True, text=True, timeout=120)
    return out.stdout


def png_size(png: str | Path) -> tuple[int, int]:
    """Width and height from a PNG header."""
    head = Path(png).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    return struct.unpack(">II", head[16:24])


def png_is_blank(png: str | Path) -> bool:
    """Whether a screenshot is one flat colour (nothing rendered)."""
    from matplotlib.image import imread

    img = imread(str(png))
    return float(img[..., :3].std()) < 1e-3


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append((tag, a[key]))


def references(html: str) -> tuple[list[tuple[str, str]], set[str]]:
    """(tag, href or src) of every link, image and script, and every element id."""
    p = _Refs()
    p.feed(html)
    return p.refs, p.ids


def broken_links(html: str, base: str | Path) -> list[str]:
    """Links and images of a page that do not resolve: local files that are missing, #anchors without
    their element. data: URIs, javascript: and remote URLs are not followed (the tests run offline)."""
    refs, ids = references(html)
    base = Path(base)
    bad = []
    for tag, ref in refs:
        u = urlparse(ref)
        if u.scheme in ("data", "javascript", "mailto", "blob", "http", "https"):
            continue
        if not u.scheme and not u.path:
            if u.fragment and u.fragment not in ids and not u.fragment.startswith("/"):
                bad.append(f"<{tag}> #{u.fragment}: no element with that id")
            continue
        path = Path(unquote(u.path)) if u.scheme == "file" else base / unquote(u.path)
        if not path.exists():
            bad.append(f"<{tag}> {ref}: {path} does not exist")
    return bad


def _js_object(html: str, name: str) -> dict:
    """The object literal assigned by `var name = {...}` in a page's script (JSON in snakemake's report)."""
    import json

    key = f"var {name} = "
    at = html.find(key + "{")
    if at < 0:
        return {}
    obj, _ = json.JSONDecoder().raw_decode(html, at + len(key))
    return obj


def report_contents(html: str) -> tuple[dict, dict]:
    """(categories, results) of a snakemake report: category -> subcategory -> [file], and file -> record
    (name, labels, caption, data URI)."""
    return _js_object(html, "categories"), _js_object(html, "results")


def check_report(report: str | Path, root: str | Path, budget_ms: int = 8000) -> tuple[str, list[str]]:
    """Load a snakemake report in headless Chromium; return its DOM and every problem found: nothing
    rendered, docutils system messages (a broken caption or description), links or images that do not
    resolve, and figures the report names that do not exist under root or are not embedded."""
    report, root = Path(report), Path(root)
    dom = dump_dom(report, budget_ms)
    problems = []
    if "<body" not in dom or len(dom) < 1000:
        problems.append(f"{report}: the DOM after loading is empty")
    if "System Message" in dom or "system-message" in dom:
        problems.append(f"{report}: a docutils system message (broken RST) is shown")
    problems += broken_links(dom, report.parent)
    categories, results = report_contents(report.read_text(errors="replace"))
    if not categories:
        problems.append(f"{report}: no result categories found")
    for cat, subs in categories.items():
        for sub, files in subs.items():
            for f in files:
                if not (root / f).exists():
                    problems.append(f"{cat}/{sub}: {f} does not exist under {root}")
                rec = results.get(f)
                if rec is None or not str(rec.get("data_uri", "")).startswith("data:"):
                    problems.append(f"{cat}/{sub}: {f} is not embedded in the report")
    return dom, problems
