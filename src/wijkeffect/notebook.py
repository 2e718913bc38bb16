"""Execute a papermill notebook template: `python -m wijkeffect.notebook IN OUT -p JSON`.

Same semantics as `papermill IN OUT -k python3`, run from the project root, with parameters as
one JSON object. It exists because papermill's CLI imports jsonschema's optional IRI checker,
which costs about 1.3 s per notebook; with ~25 notebooks per run that is a third of the budget.
A reviewer can run the same template with plain papermill and the parameters shown in its
provenance cell.

The cells run in this process's own IPython shell (`wijkeffect.inprocess`, a papermill engine),
which writes the notebook a kernel would write, without a kernel's start-up; `--engine kernel`
runs them on a python3 kernel as plain papermill does.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from wijkeffect.paths import ROOT, skip_unused_optional_imports


_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)", re.IGNORECASE)
_FOCUSABLE = re.compile(r'<div class="(?=[^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b)')
NO_ALT = "No description has been provided for this image"


class _Accessible:
    """Stands in for the BeautifulSoup pass at the end of nbconvert's HTMLExporter.from_notebook_node.

    That pass only gives images without alt text a placeholder and makes input and output areas
    focusable, but it re-parses the whole page in pure Python: 2/3 of the conversion time of an
    estimate notebook (many table and code spans). The same two edits are made with regular
    expressions on the exporter's own output (tests/test_notebook_html.py compares with nbconvert).
    """

    def __init__(self, html: str, features: str = "") -> None:
        html = _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', html)
        self._html = _FOCUSABLE.sub('<div tabindex="0" class="', html)

    def select(self, _selector: str) -> list:
        return []

    def __str__(self) -> str:
        return self._html


#: bump when html_copies changes what it writes: copies stamped with another version are made again
HTML_FORMAT = 1


def _stamp(notebook: Path) -> str:
    """The last line of an HTML copy: which executed notebook (by content) it was made from, and by which
    renderer (nbconvert's version, HTML_FORMAT)."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
    return f"<!-- executed notebook sha256 {digest}; nbconvert {version('nbconvert')}; format {HTML_FORMAT} -->\n"


def copies_current(notebook: Path) -> bool:
    """True when both HTML copies exist and were made from this notebook's current content (a content
    check: Snakemake resets a job's output times after it ends, so times cannot tell)."""
    stamp = _stamp(notebook).encode()
    for path in (notebook.with_suffix(".html"), notebook.with_suffix(".noinput.html")):
        try:
            with open(path, "rb") as fh:
                fh.seek(max(path.stat().st_size - len(stamp), 0))
                if fh.read() != stamp:
                    return False
        except OSError:
            return False
    return True


def html_copies(notebook: Path, fast: bool = True) -> list[Path]:
    """NAME.html (everything) and NAME.noinput.html (outputs only) beside an executed notebook, each ending
    with the notebook's content hash (`copies_current`)."""
    import contextlib
    from unittest import mock

    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.exporters import html as nbconvert_html

    nb = nbformat.read(notebook, as_version=4)
    stamp = _stamp(notebook)
    paths = [notebook.with_suffix(".html"), notebook.with_suffix(".noinput.html")]
    patch = mock.patch.object(nbconvert_html, "BeautifulSoup", _Accessible) \
        if fast and hasattr(nbconvert_html, "BeautifulSoup") else contextlib.nullcontext()
    with patch:
        for path, exporter in zip(paths, (HTMLExporter(), HTMLExporter(exclude_input=True))):
            page = exporter.from_notebook_node(nb)[0]
            path.write_text(page + ("" if page.endswith("\n") else "\n") + stamp, encoding="utf-8")
    return paths


#: how the cells run: in this process's IPython shell (wijkeffect.inprocess), or on a kernel as papermill does
ENGINES = ("inprocess", "kernel")


def execute(template: Path, output: Path, parameters: dict, kernel: str = "python3", html: bool = False,
            engine: str = "inprocess") -> None:
    """Run template with parameters; writes the executed notebook (and HTML copies) even when a cell fails."""
    skip_unused_optional_imports()
    # papermill imports pyarrow (0.2 s) only for its HDFS handler; this process reads no data (the kernel does)
    sys.modules.setdefault("pyarrow", None)  # type: ignore[arg-type]
    import papermill as pm

    check_parameters(template, parameters)
    if engine not in ENGINES:
        from wijkeffect.errors import WijkeffectError

        raise WijkeffectError(f"notebook engine {engine!r} is not known; expected one of {list(ENGINES)}")
    if engine == "inprocess":
        from wijkeffect.inprocess import ENGINE as engine_name
    else:
        engine_name = None  # papermill's own: nbclient and a kernel
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            _run(pm, template, output, parameters, kernel, engine_name)
        except Exception as exc:  # noqa: BLE001 (re-raised unless the kernel never ran a cell)
            if engine_name is not None or not no_cell_ran(output):
                raise
            # kernels started at the same moment can draw the same TCP port (jupyter_client picks ports,
            # then the kernel binds them: snakemake/snakemake#3689, nteract/papermill#511); one retry
            # with fresh ports, said in the log
            print(f"wijkeffect: the kernel for {output.name} did not start ({error_summary(exc)}); "
                  "retrying once", file=sys.stderr)
            _run(pm, template, output, parameters, kernel, engine_name)
    finally:
        if html and output.exists():
            try:
                html_copies(output)
            except Exception as exc:  # noqa: BLE001 (the notebook is the output; notebooks_html makes them again)
                print(f"wijkeffect: no HTML copies of {output.name}: {error_summary(exc)}", file=sys.stderr)


def declared_parameters(template: Path) -> list[str]:
    """Names assigned in the template's cell tagged `parameters` (papermill's defaults)."""
    import ast

    nb = json.loads(Path(template).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            return [t.id for node in ast.parse(src).body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)]
    return []


def check_parameters(template: Path, parameters: dict) -> None:
    """Refuse parameters the template does not declare: papermill only warns, and the value is then
    silently unused by the template's code (a default would run instead)."""
    from wijkeffect.errors import WijkeffectError
    from wijkeffect.paths import relative

    declared = declared_parameters(template)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise WijkeffectError(f"{relative(Path(template))}: parameters {unknown} are not declared in its "
                              f"`parameters` cell; expected some of {declared}")


def no_cell_ran(output: Path) -> bool:
    """True when the executed notebook is missing or none of its code cells has run (kernel start failed)."""
    if not output.exists():
        return True
    try:
        cells = json.loads(output.read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError):
        return True
    return all(c.get("execution_count") is None for c in cells if c.get("cell_type") == "code")


def failed_copy(output: Path, log: Path | None) -> Path | None:
    """Keep the executed notebook of a failed job (Snakemake deletes a failed job's outputs) beside its log,
    under logs/.../failed/, with an HTML copy, so a reviewer sees the cell that failed."""
    import shutil

    if not output.exists():
        return None
    base = (log.parent if log else ROOT / "logs") / "failed"
    base.mkdir(parents=True, exist_ok=True)
    kept = base / output.name
    shutil.copyfile(output, kept)
    try:
        html_copies(kept)
    except Exception:  # the notebook itself is what matters
        pass
    return kept


def error_summary(exc: BaseException) -> str:
    """One readable line for the console: the exception a cell raised, without the traceback."""
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    where = f" (cell [{cell}])" if cell else ""
    return f"{ename}{where}: {evalue}"


def _run(pm, template: Path, output: Path, parameters: dict, kernel: str, engine_name: str | None) -> None:
    # shutdown_kernel="immediate": every output is collected by then; a graceful stop only adds 0.3 s
    pm.execute_notebook(str(template), str(output), parameters=parameters, kernel_name=kernel, cwd=str(ROOT),
                        progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                        shutdown_kernel="immediate", engine_name=engine_name)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(prog="python -m wijkeffect.notebook", description=__doc__.splitlines()[0])
    ap.add_argument("template", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("-p", "--parameters", default="{}", help="JSON object of parameters")
    ap.add_argument("-k", "--kernel", default="python3")
    ap.add_argument("--engine", choices=ENGINES, default="inprocess",
                    help="run the cells in this process (default) or on a kernel, as plain papermill does")
    ap.add_argument("--html", action="store_true", help="also write the HTML copies")
    ap.add_argument("--log", type=Path, help="write the run's messages here; a failure is also printed on stderr")
    args = ap.parse_args(argv)
    if args.engine == "inprocess":  # a warm fork server's child can run it (wijkeffect.forkserver)
        from wijkeffect import forkserver

        if not forkserver.IN_CHILD and forkserver.enabled():
            code = forkserver.run_remote("wijkeffect.notebook", argv)
            if code is not None:
                raise SystemExit(code)
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
    try:
        if args.log:
            import contextlib

            with open(args.log, "w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh), \
                    contextlib.redirect_stderr(fh):
                execute(args.template, args.output, json.loads(args.parameters), args.kernel, args.html,
                        args.engine)
        else:
            execute(args.template, args.output, json.loads(args.parameters), args.kernel, args.html,
                        args.engine)
    except Exception as exc:
        from wijkeffect.paths import relative

        kept = failed_copy(args.output, args.log)
        msg = f"wijkeffect: {relative(args.template)} failed: {error_summary(exc)}"
        if kept:
            msg += f"\n  the executed notebook, with the failing cell, is kept at {relative(kept)}"
        if args.log:
            msg += f"\n  full log: {relative(args.log)}"
            with open(args.log, "a", encoding="utf-8") as fh:
                fh.write(msg + "\n")
        print(msg, file=sys.stderr)
        raise SystemExit(1) from None


def html_index(notebooks: list[Path], out: Path) -> Path:
    """HTML copies of every executed notebook and an index page linking them; copies made from the
    notebook's current content (by its job's `--html`, or an earlier index run) are reused."""
    rows = []
    for nb in sorted(notebooks):
        full, bare = nb.with_suffix(".html"), nb.with_suffix(".noinput.html")
        if not copies_current(nb):
            full, bare = html_copies(nb)
        rows.append(f'<tr><td>{nb.relative_to(out.parent)}</td><td><a href="{full.relative_to(out.parent)}">'
                    f'with code</a></td><td><a href="{bare.relative_to(out.parent)}">outputs only</a></td></tr>')
    out.write_text("<!doctype html><meta charset='utf-8'><title>Executed notebooks</title>"
                   "<h1>Executed notebooks</h1><p>Re-execute and check them with <code>make review</code>.</p>"
                   "<table>" + "".join(rows) + "</table>\n", encoding="utf-8")
    return out


def index_main(argv: list[str] | None = None) -> None:
    """`python -m wijkeffect.notebook index OUT STAGE_INDEX...`: one page linking the stage pages."""
    ap = argparse.ArgumentParser(prog="python -m wijkeffect.notebook index")
    ap.add_argument("index", type=Path)
    ap.add_argument("stages", type=Path, nargs="+")
    args = ap.parse_args(argv)
    links = "".join(f'<li><a href="{p.relative_to(args.index.parent)}">{p.parent.name}</a></li>' for p in args.stages)
    args.index.write_text("<!doctype html><meta charset='utf-8'><title>Executed notebooks</title>"
                          "<h1>Executed notebooks by stage</h1><p>Re-execute and check them with "
                          "<code>make review</code>.</p><ul>" + links + "</ul>\n", encoding="utf-8")


def html_main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m wijkeffect.notebook html")
    ap.add_argument("index", type=Path)
    ap.add_argument("notebooks", type=Path, nargs="+")
    args = ap.parse_args(argv)
    skip_unused_optional_imports()
    html_index(args.notebooks, args.index)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "html":
        html_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "index":
        index_main(sys.argv[2:])
    else:
        main()
