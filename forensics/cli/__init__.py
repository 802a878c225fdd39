"""The ``forensics`` command: thin glue over the Python API.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func``.  Bad
input (``DataError``) is printed as one paragraph and exits with status 2,
without a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import textwrap

from ..errors import DataError

#: sub-command modules, in the order ``--help`` lists them
COMMANDS = ("load", "profiles", "profile", "simulate", "reconcile", "audit", "scan", "demo", "entry")


def add_input_options(parser) -> None:
    """The input file and how to read it, as every command that reads results takes them."""
    parser.add_argument("file", metavar="FILE", help="the results file")
    parser.add_argument("--profile", metavar="P",
                        help="a profile name (see 'forensics profiles') or a TOML file; "
                             "default: detect from the headers")
    parser.add_argument("--sheet", metavar="NAME",
                        help="the XLSX sheet to read (name, or 0-based position); default: the first visible one")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="set rows with bad cells, empty ids or a repeated station aside (each listed with "
                             "its reason) instead of refusing the file")


def load_input(args):
    """The Election named by the input options of ``add_input_options``."""
    from ..ingest import load

    return load(args.file, profile=args.profile, sheet=getattr(args, "sheet", None),
                on_bad_rows="skip" if getattr(args, "skip_bad_rows", False) else "error")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="forensics",
        description="Election results-integrity forensics on polling-station data. "
        "A flagged anomaly is a reason to look closer, not proof of fraud.",
    )
    parser.add_argument("--version", action="version", version=f"forensics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"cli.{name}"):
                continue  # sub-command not shipped in this build
            raise
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(textwrap.fill(f"forensics: error: {exc}", 100), file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"forensics: error: {exc.strerror}: {exc.filename}. Check the path and try again.", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("forensics: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
