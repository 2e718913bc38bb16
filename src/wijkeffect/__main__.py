"""`python -m wijkeffect <command>`: init (a starter for a new study)."""

from __future__ import annotations

import sys

from wijkeffect.errors import WijkeffectError

COMMANDS = {"init": "wijkeffect.init:main"}


def main(argv: list[str] | None = None) -> int:
    """Dispatch a subcommand; a WijkeffectError prints its message, not a traceback."""
    import importlib

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m wijkeffect {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    module, func = COMMANDS[argv[0]].split(":")
    try:
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    except WijkeffectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
