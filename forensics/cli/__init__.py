"""The ``forensics`` command: thin glue over the Python API.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func``.  Bad
input (``DataError``) and outputs that cannot be written (``OutputError``, a
full disk or stdout, a size limit, a read-only folder) are printed as one
paragraph and exit with status 2, without a traceback; an interrupt (Ctrl-C)
exits with 130 and leaves no half-written output folder.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import DataError, OutputError

#: sub-command modules, in the order ``--help`` lists them
COMMANDS = ("load", "profiles", "profile", "simulate", "reconcile", "audit", "scan", "scan_many", "demo", "entry")


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


def add_raw_csv_option(parser) -> None:
    """``--raw-csv``: leave formula-like CSV cells as they are (see ``forensics.output``)."""
    parser.add_argument("--raw-csv", action="store_true",
                        help="write CSV cells exactly as they are; by default a cell starting with =, +, -, @, "
                             "tab or CR that is not a number gets a leading apostrophe, so a spreadsheet does "
                             "not run it as a formula")


def _say(message: str) -> None:
    """One line per message: a file path or "row 2" is never split, so it can be copied or searched."""
    print(f"forensics: error: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of what could not be written raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout already closed or not a file
        pass


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

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
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a full disk or a closed pipe surfaces here, not after main returns
        return code
    except DataError as exc:
        _say(str(exc))
        return 2
    except OutputError as exc:
        _say(str(exc))
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        _silence_stdout()
        return 0
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        _say(f"{exc.strerror}: {exc.filename}. Check the path and try again.")
        return 2
    except OSError as exc:
        if exc.filename:  # a file the command read or wrote
            _say(f"{exc.strerror or exc}: {exc.filename}. Check the path, the permissions and the free space.")
        else:  # writing to stdout failed (e.g. redirected to a full disk)
            _silence_stdout()
            _say(f"cannot write the output: {exc.strerror or exc}. Check that the disk has room and try again.")
        return 2
    except KeyboardInterrupt:
        print("forensics: interrupted; no output folder was left half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
