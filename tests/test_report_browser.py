"""The report opened in a real headless browser (Debian's chromium driven by selenium).

Skipped with a reason only when chromium is absent and CI is not set; under
CI=true a missing browser fails the test.  A screenshot is kept in
``test-artifacts/report.png``.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import forensics
from forensics.report import write_report
from forensics.scan import scan

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
EVIL = "<script>alert(1)</script>"
TITLE = "Presidential election & <test>"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,2200")


def _need_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def scanned():
    e = forensics.simulate(n_pec=600, n_regions=4, fraud={"drawn": {"fraction": 0.03}, "rounding": {"fraction": 0.05}},
                           rng=21)
    table = e.table.rename(columns={e.parties[0]: EVIL})
    e = replace(e, table=table, parties=(EVIL, *e.parties[1:]))
    s = scan(e, tests=("fingerprint", "cumulative_votes", "integer_percentages", "last_digit_test"), rng=1,
             progress=False, integer_percentages={"n_sim": 200})
    return s, s.verdicts


@pytest.fixture(scope="module")
def report(scanned, tmp_path_factory):
    s, v = scanned
    return write_report(s, tmp_path_factory.mktemp("browser"), title=TITLE, progress=False)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield drv
    drv.quit()


def test_report_in_headless_chromium(report, driver):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver.get(report.as_uri())
    assert "Election forensics report" in driver.title
    for section in ("summary", "arithmetic", "fingerprints", "digits", "regions", "stations", "excluded", "methods"):
        assert driver.find_element(By.ID, section).is_displayed()

    # figures are decoded and visible
    images = driver.find_elements(By.CSS_SELECTOR, "figure img")
    assert len(images) >= 3
    for img in images:
        driver.execute_script("arguments[0].scrollIntoView();", img)
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth;", img) > 0
        assert img.is_displayed()

    # the party named like a script is shown as text and never runs
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert EVIL in driver.find_element(By.TAG_NAME, "body").text

    # the station table sorts on a header click (turnout column, numeric)
    table = driver.find_element(By.ID, "station-table")
    header = table.find_elements(By.CSS_SELECTOR, "thead th")[7]
    assert header.text.startswith("Turnout")

    def column():
        return [float(v) for v in driver.execute_script(
            "return Array.from(arguments[0].tBodies[0].rows).map(r => r.cells[7].getAttribute('data-value'))"
            ".filter(v => v !== '');", table)]

    before = column()
    assert len(before) > 5 and before != sorted(before)
    driver.execute_script("arguments[0].scrollIntoView();", header)
    header.click()
    assert column() == sorted(before)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column() == sorted(before, reverse=True)

    # the filter box hides rows that do not match
    box = driver.find_element(By.CSS_SELECTOR, 'input[data-table="station-table"]')
    first_station = driver.execute_script("return arguments[0].tBodies[0].rows[0].cells[4].textContent;", table)
    box.send_keys(first_station)
    shown = driver.execute_script(
        "return Array.from(arguments[0].tBodies[0].rows).filter(r => r.style.display !== 'none').length;", table)
    assert 0 < shown < len(before)

    errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []

    ARTIFACTS.mkdir(exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0);")
    assert driver.save_screenshot(str(ARTIFACTS / "report.png"))
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    shutil.copy(report, ARTIFACTS / "report.html")


def test_first_screen_answers_in_plain_words(scanned, report, driver):
    """At 1400x900 the first section shows the title, a sentence per verdict, one figure; no code, no raw p-value."""
    from selenium.webdriver.common.by import By

    s, v = scanned
    driver.set_window_size(1400, 900)
    driver.get(report.as_uri())
    first = driver.find_element(By.ID, "summary")
    assert driver.find_element(By.CSS_SELECTOR, "#summary h1").text == TITLE
    fired = [x for x in v.headlines if x.check.kind == "fraud pattern"]
    sentences = first.find_elements(By.CSS_SELECTOR, "li.verdict")
    assert fired and len(sentences) == len(fired)
    assert [e.get_attribute("data-code") for e in sentences] == [x.code for x in fired]
    images = first.find_elements(By.TAG_NAME, "img")
    assert len(images) == 1 and driver.execute_script("return arguments[0].naturalWidth;", images[0]) > 0
    assert images[0].location["y"] < 900  # the key figure is on the first screen
    text = first.text
    assert not re.search(r"e-\d", text)
    assert not re.search(r"\b([a-z]+_[a-z_0-9]+|R\d\d-[A-Z-]+|2BL|p-value)\b", text)
    assert "not proof of fraud" in text

    # the station table holds every station stations.csv flags, paged
    flagged = pd.read_csv(report.with_name("stations.csv"))
    n = int((flagged["n_flags"] > 0).sum())
    table = driver.find_element(By.ID, "station-table")
    assert int(table.get_attribute("data-count")) == n
    assert driver.execute_script("return JSON.parse(document.getElementById('station-data').textContent).n;") == n
    shown = driver.execute_script("return arguments[0].tBodies[0].rows.length;", table)
    assert shown == min(n, 200)
    assert f"{n:,}" in driver.find_element(By.ID, "station-range").text
    errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
