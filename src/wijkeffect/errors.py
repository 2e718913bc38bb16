"""Errors that tell the user which file, column or key, which values, and what was expected."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def _relative_paths(message: str) -> str:
    """Paths inside the project written relative to its root: messages read the same on every machine."""
    from wijkeffect.paths import ROOT

    for root in {str(ROOT), str(ROOT.resolve())}:
        message = message.replace(root.rstrip("/") + "/", "")
    return message


class WijkeffectError(ValueError):
    """Bad input: the message names the file, the column or key, example values and what was expected.

    Absolute paths under the project root are shown relative to it.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(_relative_paths(str(message)))


class TooFewClusters(WijkeffectError):
    """A model refuses: fewer than 2 treated or 2 control clusters (no cluster-robust inference exists)."""


def examples(values: Iterable[object], k: int = 5) -> str:
    """Up to k distinct example values, as a readable list."""
    seen: list[object] = []
    for v in values:
        if v not in seen:
            seen.append(v)
        if len(seen) == k:
            break
    return ", ".join(repr(v) for v in seen)


def input_error(file: str | Path, where: str, bad: Iterable[object] | None, expected: str) -> WijkeffectError:
    """Build the standard error message: file, column/key, up to five bad values, expectation."""
    msg = f"{file}: {where}"
    if bad is not None:
        msg += f": bad values [{examples(bad)}]"
    msg += f"; expected {expected}"
    return WijkeffectError(msg)
