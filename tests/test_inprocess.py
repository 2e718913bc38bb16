"""The in-process engine writes the notebook a kernel would: each output type, compared with papermill on a
real python3 kernel (nbclient), and failures raise as papermill's own do."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

CELLS = [
    "import sys, warnings\nimport pandas as pd\nfrom IPython.display import display, Markdown, HTML",
    "print('to stdout'); print('more', 2)\nprint('to stderr', file=sys.stderr)",
    "frame = pd.DataFrame({'wijk': [f'WK{i:04d}' for i in range(30)], **{f'col_{j}': range(30) for j in range(12)}})\n"
    "frame",  # wide: pandas formats it as for a notebook (20 columns, 80 characters), not a terminal
    "display(Markdown('**bold** text'))\ndisplay(HTML('<b>x</b>'), frame.head(2))\n1 + 1",
    "x = 3;",  # a trailing semicolon: no execute_result
    "warnings.warn('careful', UserWarning)",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1))\nax.plot([0, 1], [1, 0])",
    "h = display(Markdown('first'), display_id=True)\nh.update(Markdown('second'))",
    "",
    "{'k': [1, 2]}",
    "h.update(Markdown('third'))",  # a display made in an earlier cell changes there; this cell shows nothing
]


def _template(path: Path, cells: list[str]) -> Path:
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# A template")] +
                         [v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]})] +
                         [v4.new_code_cell(c) for c in cells],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    nbformat.write(nb, path)
    return path


def _run(template: Path, out: Path, engine: str) -> subprocess.CompletedProcess:
    """Each engine in a process of its own, as a pipeline job runs it."""
    return subprocess.run([sys.executable, "-m", "wijkeffect.notebook", str(template), str(out), "-p",
                           json.dumps({"n": 2}), "--engine", engine, "--log", str(out.parent / "logs" / "run.log")],
                          capture_output=True, text=True)


def _outputs(path: Path) -> list:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        outs = []
        for o in cell["outputs"]:
            o = dict(o)
            if "data" in o:  # reprs name objects by memory address
                o["data"] = {k: re.sub(r" at 0x[0-9a-f]+", " at 0x...", "".join(v)) for k, v in o["data"].items()}
            if o["output_type"] == "stream":
                o["text"] = "".join(o["text"])
                if o["name"] == "stderr":  # the warning's line
                    o["text"] = o["text"].split(":", 2)[-1] if "Warning" in o["text"] else o["text"]
            outs.append(o)
        out.append((cell["execution_count"], outs))
    return out, nb["metadata"]["language_info"]["name"], nb["metadata"]["papermill"]["parameters"]


def test_outputs_equal_a_kernels(tmp_path):
    template = _template(tmp_path / "t.ipynb", CELLS)
    for engine in ("inprocess", "kernel"):
        done = _run(template, tmp_path / f"{engine}.ipynb", engine)
        assert done.returncode == 0, done.stderr
    mine, theirs = _outputs(tmp_path / "inprocess.ipynb"), _outputs(tmp_path / "kernel.ipynb")
    assert mine == theirs
    cells, _, params = mine
    assert params == {"n": 2}
    kinds = [o["output_type"] for _, outs in cells for o in outs]
    assert {"stream", "execute_result", "display_data"} <= set(kinds)
    wide = cells[4][1][0]["data"]["text/plain"]
    assert "\\" in "".join(wide)  # wrapped at 80 characters, every column shown, as in a notebook
    assert any("image/png" in o.get("data", {}) for o in cells[8][1])  # an open figure is shown inline
    assert cells[9][1][0]["data"]["text/markdown"] == "third"  # a display updated in place, from a later cell
    assert cells[12][1] == []


@pytest.mark.parametrize("engine", ["inprocess", "kernel"])
def test_a_failing_cell_names_the_error_and_keeps_the_notebook(tmp_path, engine):
    template = _template(tmp_path / "t.ipynb", ["y = 1", "raise KeyError('wijk_code')", "z = 2"])
    out = tmp_path / "o.ipynb"
    done = _run(template, out, engine)
    assert done.returncode == 1
    assert "KeyError (cell [4]): 'wijk_code'" in done.stderr
    nb = json.loads(out.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    err = [o for o in code[-2]["outputs"] if o["output_type"] == "error"]
    assert err and err[0]["ename"] == "KeyError" and any("wijk_code" in line for line in err[0]["traceback"])
    assert code[-1]["execution_count"] is None  # the cells after the failure did not run
    assert nb["metadata"]["papermill"]["exception"] is True


def test_input_fails_as_on_a_kernel(tmp_path):
    template = _template(tmp_path / "t.ipynb", ["input('wijk? ')"])
    done = _run(template, tmp_path / "o.ipynb", "inprocess")
    assert done.returncode == 1 and "StdinNotImplementedError" in done.stderr


def test_a_syntax_error_is_a_failed_cell(tmp_path):
    template = _template(tmp_path / "t.ipynb", ["def broken(:"])
    done = _run(template, tmp_path / "o.ipynb", "inprocess")
    assert done.returncode == 1 and "SyntaxError" in done.stderr
