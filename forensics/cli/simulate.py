"""``forensics simulate``: write a synthetic election and its ground truth."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DataError

_WORDS = {"true": True, "yes": True, "false": False, "no": False, "none": None}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="write a synthetic election with known, injected fraud",
        description="Simulate an election polling station by polling station, optionally with injected "
                    "fraud, and write the protocols to FILE and the per-station ground truth to "
                    "FILE_truth (same format). The demo data are made with "
                    "'forensics simulate --preset kz-demo --seed 2021 --out forensics/data/demo_kz.csv'.")
    p.add_argument("--preset", metavar="NAME", help="a named parameter set (kz-demo: the shipped demo data)")
    p.add_argument("--stations", type=int, help="number of polling stations (default 2000)")
    p.add_argument("--regions", type=int, help="number of regions (default 10)")
    p.add_argument("--tecs", type=int, help="number of territorial commissions (default: about 43 stations each)")
    p.add_argument("--parties", type=int, help="number of parties (default 5; the first is the leader)")
    p.add_argument("--turnout", type=float, help="national turnout (default 0.62)")
    p.add_argument("--fraud", action="extend", nargs="+", metavar="KIND=FRACTION[,KEY=VALUE...]",
                   help="inject fraud at a share of stations, e.g. 'stuffing=0.05,intensity=0.4,signatures=no' "
                        "or 'rounding=0.02,regions=Region 01|Region 02'; kinds: carousel, stuffing, transfer, "
                        "digits, rounding, drawn; give several after one --fraud or repeat it "
                        "(replaces a preset's fraud)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same file")
    p.add_argument("--layout", metavar="PROFILE",
                   help="write in a national layout (a profile name or TOML file), e.g. kz_cec; "
                        "default: the preset's layout, else canonical column names")
    p.add_argument("--out", required=True, metavar="FILE", help="output file: .csv, .parquet or .xlsx")
    p.add_argument("--truth", metavar="FILE", help="ground-truth file (default: FILE with '_truth' added)")
    p.set_defaults(func=run)


def parse_fraud(items) -> dict:
    """``["stuffing=0.05,intensity=0.4", ...]`` -> ``{"stuffing": {"fraction": 0.05, "intensity": 0.4}}``."""
    fraud = {}
    for item in items:
        head, *rest = item.split(",")
        kind, sep, fraction = head.partition("=")
        try:
            spec = {"fraction": float(fraction)}
        except ValueError:
            spec = None
        if not sep or spec is None:
            raise DataError(f"cannot read --fraud '{item}'", fix="write KIND=FRACTION, e.g. --fraud stuffing=0.05")
        for pair in rest:
            key, sep, value = pair.partition("=")
            if not sep:
                raise DataError(f"cannot read '{pair}' in --fraud '{item}'", fix="write KEY=VALUE after the comma")
            spec[key.strip()] = _value(key.strip(), value.strip())
        fraud[kind.strip()] = spec
    return fraud


def _value(key, text):
    if key == "regions":
        return text.split("|")
    if key == "favour":
        return tuple(int(d) for d in text.split("|"))
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    try:
        return float(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    from ..output import check_file
    from ..simulate import PRESET_FILES, PRESETS, protocol_frame, simulate, truth_frame, write_table

    if args.preset is not None and args.preset not in PRESETS:
        raise DataError(f"unknown preset '{args.preset}'", fix=f"use one of: {', '.join(sorted(PRESETS))}")
    params = dict(PRESETS.get(args.preset, {}))
    given = {"n_pec": args.stations, "n_regions": args.regions, "n_tec": args.tecs,
             "parties": args.parties, "turnout": args.turnout}
    params.update({k: v for k, v in given.items() if v is not None})
    if args.parties is not None:
        params.pop("shares", None)  # the preset's shares are for its own parties
    if args.regions is not None:  # the preset's names and fraud regions are for its own regions
        for k in ("region_names", "urban_share", "fraud"):
            params.pop(k, None)
    if args.fraud:
        params["fraud"] = parse_fraud(args.fraud)
    out = Path(args.out)
    truth = Path(args.truth) if args.truth else out.with_name(f"{out.stem}_truth{out.suffix}")
    if out.parent.is_dir():  # a missing folder is a DataError of write_table, with its fix
        check_file(out)
        check_file(truth)
    try:
        election = simulate(**params, rng=args.seed)
    except ValueError as exc:
        raise DataError(str(exc), fix="check the --stations/--regions/--tecs/--fraud values") from None

    form = PRESET_FILES.get(args.preset, {})
    layout = args.layout or form.get("layout")
    fields = form.get("fields") if layout == form.get("layout") else None
    write_table(protocol_frame(election, layout, fields), out)
    write_table(truth_frame(election), truth)

    t = election.table
    kinds = t["true_fraud"].str.split("+").explode()
    counts = kinds[kinds != ""].value_counts().sort_index()
    print(f"wrote {len(t):,} polling stations in {t['region'].nunique()} regions and "
          f"{t[['region', 'tec']].drop_duplicates().shape[0]} TECs to {out} "
          f"(layout {layout or 'canonical'}, seed {args.seed})")
    print(f"ground truth in {truth}: " + (", ".join(f"{k} at {n:,} stations" for k, n in counts.items())
                                          or "no fraud injected"))
    return 0
