"""The seams of the core: one test contract, the layers, the scan's keywords, streams, the station key."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forensics
from forensics.model import Election
from forensics.stats import TestResult
from forensics.stats.registry import RETIRED, TESTS, VOCABULARY, get_test, registered_tests

PACKAGE = Path(forensics.__file__).parent

#: settings that keep the slowest tests quick here (their own parameters, not the vocabulary)
QUICK = {"klimek_fit": {"grid": {"f_i": [0, 0.5], "f_e": [0, 0.05], "alpha": [1.0]}, "iterations": 1, "n_sim_ci": 2}}
SMALL = {"n_sim": 20, "confidence_level": 0.9}


@pytest.fixture(scope="module")
def election():
    return forensics.simulate(n_pec=400, n_regions=3, rng=5)


# -- one contract for every registered test -----------------------------------------------------
def test_the_registry_holds_every_public_test():
    assert len(registered_tests()) >= 18
    assert set(registered_tests()) == set(TESTS)
    for name in ("fingerprint", "integer_percentages", "coarse_shares", "turnout_regression", "dip_test",
                 "last_digit_test", "digit_pairs_test", "klimek_fit", "excess_votes"):
        assert getattr(forensics.stats, name) is get_test(name)
    with pytest.raises(LookupError, match="not available"):
        get_test("no_such_test")


@pytest.mark.parametrize("name", registered_tests())
def test_contract(name, election):
    test = get_test(name)
    # one vocabulary: no retired synonym is a parameter
    assert not set(test.parameters) & set(RETIRED), test.parameters
    # it accepts every vocabulary name it takes, a SeedSequence included, and returns one TestResult
    given = {k: v for k, v in {"party": election.leader, **SMALL}.items() if k in test.parameters}
    if "rng" in test.parameters:
        given["rng"] = np.random.SeedSequence(7)
    result = test(election, **given, **QUICK.get(name, {}))
    assert isinstance(result, TestResult)
    statistic, pvalue = result  # unpacks like a scipy result
    assert statistic == result.statistic or (np.isnan(statistic) and np.isnan(result.statistic))
    assert pvalue is result.pvalue
    assert result.n_used > 0 and result.explanation
    if result.ci is not None and "confidence_level" in test.parameters:
        assert result.confidence_level == 0.9
    if result.pvalue is not None and np.isfinite(result.pvalue):
        assert result.alternative in ("two-sided", "greater", "less") and result.method
    # the same data as a tidy frame gives the same result
    frame = test(election.table, **given, **QUICK.get(name, {})) if "rng" not in given else None
    if frame is not None:
        assert frame.statistic == pytest.approx(result.statistic, nan_ok=True)
    # an unknown keyword is an error that names the test and the keyword
    with pytest.raises(TypeError, match=rf"{name}\(\) does not take 'n_bootstraps'"):
        test(election, n_bootstraps=5)


def test_vocabulary_is_documented():
    assert set(VOCABULARY) == {"party", "n_sim", "confidence_level", "rng"}


def test_seed_sequences_and_generators_give_the_same_stream(election):
    test = get_test("integer_percentages")
    a = test(election, n_sim=50, rng=np.random.SeedSequence(3)).pvalue
    b = test(election, n_sim=50, rng=np.random.default_rng(np.random.SeedSequence(3))).pvalue
    assert a == b


# -- layers ------------------------------------------------------------------------------------
LOWER = ("stats", "reconcile", "ingest", "verdicts")
UPPER = ("forensics.scan", "forensics.report", "forensics.plots", "forensics.cli")


def _imports(path: Path) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            names.append(module)
            names += [f"{module}.{a.name}" for a in node.names]
    return names


def _lower_files():
    for part in LOWER:
        folder = PACKAGE / part
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))
    yield PACKAGE / "model.py"


def test_layers_point_one_way():
    """stats, reconcile, ingest, verdicts and model.py import nothing above them, nor the package face."""
    offences = []
    for path in _lower_files():
        for name in _imports(path):
            if name == "forensics" or name.startswith(UPPER) or name in ("forensics.__version__",):
                offences.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offences, offences


def test_the_scan_imports_no_report_plots_or_cli():
    """The scan sits below the report and the command line (many elections, which write reports, sit above)."""
    above = ("forensics.report", "forensics.plots", "forensics.cli", "forensics.many")
    offences = [f"{path.relative_to(PACKAGE)} imports {name}" for path in sorted((PACKAGE / "scan").rglob("*.py"))
                for name in _imports(path) if name.startswith(above)]
    assert not offences, offences


def test_import_forensics_loads_no_heavy_library():
    import subprocess
    import sys

    heavy = "('pandas', 'numpy', 'statsmodels', 'scipy', 'matplotlib', 'babel', 'jinja2', 'dask', 'distributed')"
    for setup in ("import forensics", "import forensics.cli; forensics.cli.build_parser()"):
        # the package face and the CLI's option parser (what `forensics --help` builds)
        code = f"import sys; {setup}; print(','.join(m for m in {heavy} if m in sys.modules))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        assert out == "", (setup, out)


def test_functions_named_like_modules_stay_callable():
    import subprocess
    import sys

    code = ("import forensics.simulate, forensics.scan, forensics.reconcile, forensics\n"
            "e = forensics.simulate(n_pec=200, n_regions=2, rng=1)\n"
            "assert len(forensics.reconcile(e).table) >= 0\n"
            "s = forensics.scan(e, tests=['fingerprint'], levels=('nation',), progress=False, rng=1)\n"
            "from forensics.scan import Scan, scan, Check, DEFAULT_BATTERY\n"
            "assert isinstance(s, Scan) and DEFAULT_BATTERY and Check and scan\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the scan never drops a keyword silently ---------------------------------------------------------
def test_scan_rejects_a_keyword_its_test_does_not_take(election):
    with pytest.raises(TypeError, match=r"fingerprint\(\) does not take 'n_sim'"):
        forensics.scan(election, tests=["fingerprint"], fingerprint={"n_sim": 5}, progress=False)
    with pytest.raises(TypeError, match="'n_boot_typo'.*no test"):
        forensics.scan(election, tests=["fingerprint"], n_boot_typo=5, progress=False)
    with pytest.raises(TypeError, match="klimek_fit.*not in this scan"):
        forensics.scan(election, tests=["fingerprint"], klimek_fit={"n_sim": 5}, progress=False)
    # a shared keyword goes to every test that takes it
    s = forensics.scan(election, tests=["fingerprint", "integer_percentages"], levels=("nation",), n_sim=30,
                       progress=False, rng=1)
    assert s.results[("integer_percentages", "nation")]["National"].details["n_sim"] == 30


def test_scan_runs_the_eftoolkit_battery(election):
    from forensics.scan import EFTOOLKIT

    s = forensics.scan(election, tests=[EFTOOLKIT], levels=("nation",), basic_battery={"n_sim": 50},
                       progress=False, rng=1)
    rows = s.tests
    assert set(rows["measure"]) >= {"EFToolkit 2BL", "EFToolkit DipT"} and (rows["note"] == "").all()


# -- streams: a group's result does not depend on the other groups ------------------------------------
def test_a_group_result_does_not_depend_on_other_groups_or_their_order(election):
    checks = ["integer_percentages", "last_digit_test"]
    full = forensics.scan(election, tests=checks, rng=11, progress=False, n_sim=40)
    region = sorted(election.table["region"].unique())[-1]
    alone = forensics.scan(election.subset(election.table["region"] == region), tests=checks[::-1], rng=11,
                           progress=False, n_sim=40)
    for name in checks:
        a = full.results[(name, "region")][region]
        b = alone.results[(name, "region")][region]
        assert (a.statistic, a.pvalue) == (b.statistic, b.pvalue)


def test_by_level_gives_each_group_its_own_stream(election):
    from forensics.levels import by_level

    test = get_test("integer_percentages")
    both = by_level(election, test, "region", rng=4, n_sim=30)
    region = sorted(both)[-1]
    alone = by_level(election.subset(election.table["region"] == region), test, "region", rng=4, n_sim=30)
    assert both[region].pvalue == alone[region].pvalue
    assert by_level(election, test, "nation", rng=4, n_sim=30)["National"].pvalue == test(election, rng=4,
                                                                                           n_sim=30).pvalue


# -- the station key and missing components -------------------------------------------------------------
def test_key_comes_from_the_profile_or_the_id_columns(election):
    assert election.key == ("region", "tec", "pec")
    assert Election(election.table, election.parties, meta={"key": ["region", "pec", "row_id"]}).key == (
        "region", "pec", "row_id")
    assert Election(election.table.drop(columns="tec"), election.parties).key == ("region", "pec")


def test_a_table_without_tec_scans(election):
    table = election.table.drop(columns="tec")
    e = Election(table, election.parties, meta={"key": ["region", "pec"]})
    s = forensics.scan(e, rng=1, progress=False, klimek_fit=QUICK["klimek_fit"], coarse_shares={"n_sim": 20})
    assert len(s.stations) == len(table) and (s.stations["tec"] == "").all()
    assert not s.tests["note"].str.startswith("could not run").any()
    named = s.findings[s.findings["station"] >= 0]
    errors = named[named["severity"] == "error"]
    assert s.stations.loc[errors["station"], "flag_codes"].str.contains("ARITHMETIC").all()
    warned = named[named["severity"] == "warning"]
    assert all(code in s.stations.loc[pos, "warnings"] for pos, code in zip(warned["station"], warned["code"]))


def test_a_table_without_region_scans_nationally_and_says_so(election):
    e = Election(election.table.drop(columns=["region", "tec"]), election.parties)
    s = forensics.scan(e, tests=["fingerprint", "integer_percentages"], rng=1, progress=False, n_sim=20)
    assert set(s.tests["level"]) == {"nation"} and "no region column" in s.summary()
    with pytest.raises(forensics.DataError, match="'region'"):
        forensics.scan(e, levels=("nation", "region"), tests=["fingerprint"], progress=False)


def test_a_missing_component_is_never_counted_as_zero():
    table = pd.DataFrame({"region": "r", "tec": "t", "pec": ["1", "2"], "registered": [100, 100],
                          "ballots_issued_inside": [50, 50], "ballots_issued_outside": [5, np.nan],
                          "valid": [50, 50], "invalid": [2, np.nan], "A": [30, 30], "B": [20, 20]})
    e = Election(table, ("A", "B"))
    assert e.ballots("issued").tolist()[0] == 55 and np.isnan(e.ballots("issued").iloc[1])
    assert np.isnan(e.ballots("cast").iloc[1]) and np.isnan(e.turnout().iloc[1])
    assert e.share("A", base="cast").iloc[0] == pytest.approx(30 / 52)
    r = get_test("integer_percentages")(e, n_sim=5, rng=1, min_registered=1)
    assert r.excluded == {"missing counts": 1}


def test_one_multiple_testing_module():
    """Benjamini-Hochberg is computed in forensics.multitest only."""
    users = [p for p in PACKAGE.rglob("*.py") if "multipletests" in p.read_text(encoding="utf-8")]
    assert [p.name for p in users] == ["multitest.py"]
