"""The machine-readable outputs: CSV tables and summary.json, byte-identical for the same input and seed.

Column names are stable (documented in the README).  Floats are written with
10 significant digits, rows in a fixed order, JSON with sorted keys; the
scan's time is left out of these files (it is only in report.html), so two
runs with the same input and seed give identical files.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

FLOAT_FORMAT = "%.10g"

#: file name -> Scan attribute
CSV_FILES = {"tests.csv": "tests", "findings.csv": "findings", "stations.csv": "stations", "excluded.csv": "excluded"}


def _plain(value):
    """JSON-safe value: numpy scalars to Python, NaN/inf/NA to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n", encoding="utf-8")
    return path


def write_summary_json(scan, path: Path) -> Path:
    text = json.dumps(_plain(scan.summary_dict()), sort_keys=True, indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_tables(scan, out_dir) -> dict:
    """Write tests.csv, findings.csv, stations.csv, excluded.csv and summary.json; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: write_csv(getattr(scan, attr), out / name) for name, attr in CSV_FILES.items()}
    paths["summary.json"] = write_summary_json(scan, out / "summary.json")
    return paths
