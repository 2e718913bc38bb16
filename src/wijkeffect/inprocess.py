"""A papermill engine that runs a notebook's cells in this process's own IPython shell, without a kernel.

Every pipeline job is a process of its own, so a kernel (a second process, its ZMQ sockets and
heartbeat, a Python start and ipykernel's imports) only adds start-up: about 0.7 s per notebook,
half of a notebook's fixed cost. Here the cells run in IPython's `InteractiveShell`, and the
outputs a kernel would send are written into the cell as nbclient writes them: streams,
display data, execute results (rich formats, `Out[n]` numbering) and errors with their
traceback. papermill itself still parameterises the notebook, keeps its metadata (times, status,
parameters) and raises on a failed cell, so the executed notebook is the same document. A
reviewer reruns it with plain `papermill` or in Jupyter, on a real kernel (`--engine kernel`
does the same here).

Registered with papermill as the engine "wijkeffect-inprocess".
"""

from __future__ import annotations

import io
import os
import platform
import sys
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from nbformat.v4 import new_output
from papermill.engines import Engine, papermill_engines
from traitlets.config import Config

ENGINE = "wijkeffect-inprocess"

#: the language_info a python3 kernel reports (nbclient copies it into the notebook's metadata)
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3", "version": platform.python_version()}


class _Sink:
    """Collects one cell's outputs in the order a kernel would send them; displays with an id are known
    across cells (by_display_id, shared), so an update reaches the cell that made them."""

    def __init__(self, by_display_id: dict[str, list] | None = None) -> None:
        self.outputs: list = []
        self.clear_pending = False
        self.by_display_id: dict[str, list] = {} if by_display_id is None else by_display_id

    def _add(self, out: Any) -> None:
        if self.clear_pending:
            self.outputs.clear()
            self.clear_pending = False
        self.outputs.append(out)

    def stream(self, name: str, text: str) -> None:
        last = self.outputs[-1] if self.outputs and not self.clear_pending else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text  # a kernel buffers writes too; one output per run of the same stream
        else:
            self._add(new_output("stream", name=name, text=text))

    def display(self, data: dict, metadata: dict, transient: dict | None, update: bool) -> None:
        display_id = (transient or {}).get("display_id")
        if update:  # as nbclient: the outputs with that id change in place, nothing is added
            for out in self.by_display_id.get(display_id, []):
                out.data, out.metadata = data, metadata
            return
        out = new_output("display_data", data=data, metadata=metadata)
        if display_id:
            self.by_display_id.setdefault(display_id, []).append(out)
        self._add(out)

    def result(self, data: dict, metadata: dict, count: int) -> None:
        self._add(new_output("execute_result", data=data, metadata=metadata, execution_count=count))

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self._add(new_output("error", ename=ename, evalue=evalue, traceback=traceback))

    def clear(self, wait: bool) -> None:
        if wait:
            self.clear_pending = True
        else:
            self.outputs.clear()


class _Stream(io.TextIOBase):
    """sys.stdout / sys.stderr while a cell runs: text becomes a stream output."""

    def __init__(self, shell: "ZMQInteractiveShell", name: str) -> None:
        self.shell, self.name = shell, name

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if text:
            self.shell.sink.stream(self.name, text)
        return len(text)


class _Publisher(DisplayPublisher):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
        self.shell.sink.display(data, metadata or {}, transient, update)

    def clear_output(self, wait: bool = False) -> None:
        self.shell.sink.clear(wait)


class _Hook(DisplayHook):
    """The value of a cell's last expression: an execute_result with every format the formatter gives."""

    def start_displayhook(self) -> None:
        pass

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict, md_dict=None) -> None:
        self.shell.sink.result(format_dict, md_dict or {}, self.prompt_count)

    def finish_displayhook(self) -> None:
        pass


class ZMQInteractiveShell(InteractiveShell):
    """IPython's shell with the outputs collected for the notebook. Named as ipykernel's shell on purpose:
    libraries tell a notebook from a terminal by that name (pandas' repr width checks for "zmq" in
    the shell's type), and these outputs go to a notebook, so they must format as for one."""

    displayhook_class = _Hook
    display_pub_class = _Publisher
    sink = _Sink()
    #: pandas sets its display defaults at import by `hasattr(get_ipython(), "kernel")` (a kernel: 20 columns,
    #: wrapped to 80 characters; a terminal: fitted to the terminal's size); there is no kernel to talk to
    kernel = None

    def _showtraceback(self, etype, evalue, stb) -> None:
        self.sink.error(etype.__name__, str(evalue), list(stb))


def shell() -> ZMQInteractiveShell:
    """The process's shell (created once, as a kernel creates its own), with history off: parallel jobs
    would otherwise contend for IPython's history database."""
    if ZMQInteractiveShell.initialized():
        return ZMQInteractiveShell.instance()
    # what ipykernel does: figures a cell leaves open are shown inline, as PNG
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    config = Config()
    config.HistoryManager.enabled = False
    return ZMQInteractiveShell.instance(config=config)


class _NoStdin(io.TextIOBase):
    """sys.stdin while a cell runs: as on papermill's kernel, a notebook job cannot ask for input."""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        from IPython.core.error import StdinNotImplementedError

        raise StdinNotImplementedError("input was requested, but a notebook job has no one to answer it")

    readline = read


def run_cell(sh: ZMQInteractiveShell, source: str) -> tuple[list, int, bool]:
    """(outputs, execution count, success) of one cell run in the shell."""
    sh.sink = _Sink(sh.sink.by_display_id)
    count = sh.execution_count
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = _Stream(sh, "stdout"), _Stream(sh, "stderr"), _NoStdin()
    try:
        result = sh.run_cell(source, store_history=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr, sys.stdin = saved
    return sh.sink.outputs, count, result.success


class InProcessEngine(Engine):
    """papermill engine: the cells run in this process (see the module's docstring)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs) -> None:
        # the runner keeps papermill from importing pyarrow (it only needs it for HDFS); the cells do need it
        for name in ("pyarrow",):
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
        import builtins

        main, had_ipython = sys.modules.get("__main__"), hasattr(builtins, "__IPYTHON__")
        sh = shell()
        nb = nb_man.nb
        try:
            for index, cell in enumerate(nb.cells):
                nb_man.cell_start(cell, index)
                try:
                    if cell.cell_type == "code" and cell.source.strip():
                        cell.outputs, cell.execution_count, ok = run_cell(sh, cell.source)
                        if not ok:
                            nb_man.cell_exception(cell, cell_index=index)
                            break
                finally:
                    nb_man.cell_complete(cell, cell_index=index)
        finally:
            # as a kernel's end: the next notebook in this process gets a fresh shell (In [1] again), and the
            # process its own __main__ and builtins back (the shell installs the notebook's namespace as
            # __main__ and sets __IPYTHON__, which pandas, for one, reads as "interactive session")
            ZMQInteractiveShell.clear_instance()
            if main is not None:
                sys.modules["__main__"] = main
            if not had_ipython:
                builtins.__dict__.pop("__IPYTHON__", None)  # set by the shell's start, read by pandas too
        nb.metadata["language_info"] = dict(LANGUAGE_INFO)


papermill_engines.register(ENGINE, InProcessEngine)
