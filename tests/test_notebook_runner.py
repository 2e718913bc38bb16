"""The notebook runner's own checks: HTML copies (fast path against nbconvert's) and parameter checking."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from wijkeffect.errors import WijkeffectError
from wijkeffect.notebook import NO_ALT, check_parameters, declared_parameters, html_copies

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f000001010000ff2d0f0b0e0000000049454e44ae426082")).decode()


def _notebook(path: Path) -> Path:
    """A notebook with what the pipeline's notebooks hold: markdown, code, a table, images with and without alt."""
    v4 = nbformat.v4
    table = "<table border='1' class='dataframe'><tr><th>wijk</th><th>n</th></tr>" + \
        "".join(f"<tr><td>WK{i:04d}</td><td>{i}</td></tr>" for i in range(50)) + "</table>"
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Estimates\nA *table* and `code`, with <b>html</b> & an ampersand."),
        v4.new_code_cell("x = [i ** 2 for i in range(3)]  # a comment\nx", execution_count=1, outputs=[
            v4.new_output("execute_result", {"text/plain": "[0, 1, 4]", "text/html": table}, execution_count=1)]),
        v4.new_code_cell("show()", execution_count=2, outputs=[
            v4.new_output("display_data", {"image/png": PNG, "text/plain": "<Image>"}),
            v4.new_output("display_data", {"text/markdown": f"![the trend]({'data:image/png;base64,' + PNG})"}),
            v4.new_output("stream", name="stdout", text="done\n")]),
    ], metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("kind", [".html", ".noinput.html"])
def test_fast_html_copies_equal_nbconvert(tmp_path, kind):
    """The fast path's page parses to the same document as nbconvert's own (alt text and tabindex included)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _notebook(tmp_path / "a" / "nb.ipynb"), tmp_path / "b" / "nb.ipynb"
    shutil.copy(a, b)
    html_copies(a, fast=False)
    html_copies(b, fast=True)
    slow = BeautifulSoup(a.with_suffix(kind).read_text(encoding="utf-8"), "html.parser")
    fast = BeautifulSoup(b.with_suffix(kind).read_text(encoding="utf-8"), "html.parser")
    assert str(fast) == str(slow)
    imgs = fast.select("img")
    assert imgs and all(i.get("alt") for i in imgs)
    assert any(i["alt"] == NO_ALT for i in imgs) and any(i["alt"] == "the trend" for i in imgs)
    assert fast.select("div.jp-OutputArea-output[tabindex='0']")
    if kind == ".html":
        assert fast.select("div.jp-Cell-inputWrapper[tabindex='0']")


def test_undeclared_parameter_is_refused(tmp_path):
    """papermill only warns about a parameter the template lacks, and its default then runs silently."""
    v4 = nbformat.v4
    cell = v4.new_code_cell("inputs = []\nfigures_dir: str = ''\nseed = 1")
    cell.metadata["tags"] = ["parameters"]
    path = tmp_path / "t.ipynb"
    nbformat.write(v4.new_notebook(cells=[cell]), path)
    assert declared_parameters(path) == ["inputs", "figures_dir", "seed"]
    check_parameters(path, {"inputs": [1], "seed": 2})
    with pytest.raises(WijkeffectError, match=r"\['figure_indexes'\] are not declared.*expected some of"):
        check_parameters(path, {"inputs": [], "figure_indexes": ["a.csv"]})


def test_every_template_declares_parameters():
    """Each template in notebooks/ has a parameters cell the runner can read."""
    root = Path(__file__).resolve().parents[1] / "notebooks"
    for nb in sorted(root.glob("*.ipynb")):
        tags = [c.get("metadata", {}).get("tags", []) for c in json.loads(nb.read_text())["cells"]]
        assert any("parameters" in t for t in tags), nb.name
        assert declared_parameters(nb), nb.name


def _template(path: Path, body: str) -> Path:
    v4 = nbformat.v4
    params = v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb = v4.new_notebook(cells=[params, v4.new_code_cell(body)],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    return path


def test_a_kernel_that_did_not_start_is_retried_once(tmp_path, monkeypatch, capsys):
    """A kernel start that fails before any cell ran (two kernels drew the same port) is retried once."""
    import wijkeffect.notebook as runner

    real, calls = runner._run, []

    def flaky(pm, template, output, parameters, kernel, engine_name):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        real(pm, template, output, parameters, kernel, engine_name)

    monkeypatch.setattr(runner, "_run", flaky)
    out = tmp_path / "out.ipynb"
    runner.execute(_template(tmp_path / "t.ipynb", "y = x * 2\ny"), out, {"x": 21}, engine="kernel")
    assert len(calls) == 2
    assert "retrying once" in capsys.readouterr().err
    cells = json.loads(out.read_text())["cells"]
    assert any("42" in json.dumps(c.get("outputs", [])) for c in cells)


@pytest.mark.parametrize("engine", ["inprocess", "kernel"])
def test_a_failing_cell_is_not_retried(tmp_path, monkeypatch, engine):
    """An error raised by the notebook's own code is the notebook's failure: no second run."""
    import wijkeffect.notebook as runner

    real, calls = runner._run, []
    monkeypatch.setattr(runner, "_run", lambda *a: (calls.append(1), real(*a)))
    with pytest.raises(Exception, match="boom"):
        runner.execute(_template(tmp_path / "t.ipynb", "raise ValueError('boom')"), tmp_path / "o.ipynb", {},
                       engine=engine)
    assert len(calls) == 1
    assert not runner.no_cell_ran(tmp_path / "o.ipynb")


def test_html_index_reuses_copies_by_content_not_time(tmp_path):
    """A job's own copies are reused; a notebook whose content changed gets new ones even when its copies
    look newer (Snakemake resets output times after a job, so times cannot tell)."""
    import os

    from wijkeffect.notebook import copies_current, html_index

    nb = _notebook(tmp_path / "nb.ipynb")
    full, bare = html_copies(nb)
    assert copies_current(nb)
    before = full.read_bytes()
    html_index([nb], tmp_path / "index.html")
    assert full.read_bytes() == before  # reused
    assert 'href="nb.html"' in (tmp_path / "index.html").read_text()
    changed = nbformat.read(nb, as_version=4)
    changed.cells[0].source = "# Estimates, rerun"
    nbformat.write(changed, nb)
    future = nb.stat().st_mtime + 60
    os.utime(full, (future, future))
    os.utime(bare, (future, future))
    assert not copies_current(nb)
    html_index([nb], tmp_path / "index.html")
    assert "Estimates, rerun" in full.read_text() and "Estimates, rerun" in bare.read_text()
    assert copies_current(nb)
    bare.unlink()
    assert not copies_current(nb)
