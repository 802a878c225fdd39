"""The whole observer flow of ``forensics entry`` in headless chromium (Debian's, driven by selenium).

A coordinator sets up a kz_cec election and uploads protocol photos; two
typists enter the same protocol, one with an arithmetic error that the form
flags as they type; the coordinator resolves the difference; the export
runs the audit and the evidence sheet of a station opens.  The rules the
page evaluates are checked against ``forensics.reconcile`` on random
protocols.  Screenshots are kept in ``test-artifacts/``.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import pandas as pd
import pytest

from entry_support import COORDINATOR, TYPIST_PASSWORD, Server, kz_official
from forensics.entry import init_election
from forensics.entry.protocol import ProtocolForm
from forensics.ingest import load
from test_report_browser import ARTIFACTS, _need_browser, driver  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def protocol_photo(path, title: str, values: dict) -> None:
    """A JPEG that looks enough like a photographed protocol: title and numbered lines."""
    from PIL import Image, ImageDraw, ImageFont

    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Cyrillic, where installed
    font = ImageFont.truetype(str(dejavu), 15) if dejavu.exists() else ImageFont.load_default()
    img = Image.new("RGB", (900, 60 + 34 * len(values)), (246, 243, 232))
    draw = ImageDraw.Draw(img)
    draw.text((30, 20), title, fill=(20, 20, 20), font=font)
    for i, (label, value) in enumerate(values.items(), start=1):
        draw.text((30, 40 + 34 * i), f"{i}. {label[:70]}", fill=(30, 30, 30), font=font)
        draw.text((780, 40 + 34 * i), str(value), fill=(10, 10, 120), font=font)
    img.save(path, "JPEG", quality=85)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    _need_browser()
    tmp = tmp_path_factory.mktemp("entry-browser")
    official = kz_official(tmp / "official.csv", n_pec=12)
    truth = load(official, profile="kz_cec")
    raw = pd.read_csv(official, dtype=str)
    first, second = truth.parties[0], truth.parties[1]
    moved = min(30, int(raw.loc[2, second]))  # the published figures of station 3 moved votes
    raw.loc[2, first] = str(int(raw.loc[2, first]) + moved)
    raw.loc[2, second] = str(int(raw.loc[2, second]) - moved)
    raw.to_csv(official, index=False)
    init_election(tmp / "e", "kz_cec", official=official, password=COORDINATOR[1])
    photos = tmp / "photos"
    photos.mkdir()
    t = truth.table
    for i in range(3):
        row = t.iloc[i]
        form = ProtocolForm("kz_cec", truth.fields, truth.parties)
        protocol_photo(photos / f"{row['region']}_{row['tec']}_{int(row['pec']):04d}.jpg",
                       f"PEC {row['pec']} {row['tec']}", {line.label: int(row[line.key]) for line in form.lines})
    server = Server(tmp / "e")
    yield {"server": server, "truth": truth, "photos": photos, "form": form}
    server.stop()


@pytest.fixture(scope="module")
def browser(driver):
    """The report test's headless chromium, with a laptop-sized window; look-ups wait for pages to load."""
    driver.set_window_size(1400, 1000)
    driver.implicitly_wait(5)
    return driver


def submit(driver, element) -> None:
    """Click a button that submits a form and wait for the next page (the old page's root has left the document)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def gone(_driver) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:  # chromium may report the swap this way while the new page loads
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    WebDriverWait(driver, 60).until(gone)


def sign_in(driver, base, user, password):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, driver.find_element(By.ID, "sign-in"))


def flashes(driver):
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".flash")]


def type_protocol(driver, values: dict, form):
    from selenium.webdriver.common.by import By

    for line in form.lines:
        box = driver.find_element(By.ID, f"line_{line.number}")
        box.clear()
        box.send_keys(str(values[line.key]))


def test_observer_flow_in_chromium(setup, browser):
    driver = browser
    from selenium.webdriver.common.by import By

    base, truth, form = setup["server"].base, setup["truth"], setup["form"]
    ARTIFACTS.mkdir(exist_ok=True)
    # the coordinator: accounts, photos, assignment
    sign_in(driver, base, *COORDINATOR)
    assert "Progress" in driver.title
    for name in ("anna", "boris"):
        driver.get(base + "/coordinator/users")
        driver.find_element(By.ID, "new-username").send_keys(name)
        driver.find_element(By.ID, "new-password").send_keys(TYPIST_PASSWORD)
        submit(driver, driver.find_element(By.ID, "create-user"))
    assert {"anna", "boris"} <= set(re.findall(r"\b(anna|boris)\b", driver.find_element(By.ID, "users").text))
    driver.get(base + "/coordinator/photos")
    pattern = driver.find_element(By.NAME, "pattern")
    pattern.clear()
    pattern.send_keys(r"(?P<region>[^_]+)_(?P<tec>[^_]+)_(?P<pec>\d+)")
    files = sorted(setup["photos"].iterdir())
    driver.find_element(By.ID, "photo-files").send_keys("\n".join(str(f) for f in files))
    submit(driver, driver.find_element(By.ID, "upload"))
    assert sum("stored — assigned to" in f for f in flashes(driver)) == 3
    driver.get(base + "/coordinator/")
    submit(driver, driver.find_element(By.ID, "auto-assign"))
    assert "6 entries assigned." in flashes(driver)

    t = truth.table
    right = {k: int(t.iloc[2][k]) for k in form.keys}
    wrong = dict(right, valid=right["valid"] + 10)
    # typist 1 enters station 3 as it is
    sign_in(driver, base, "anna", TYPIST_PASSWORD)
    link = [a for a in driver.find_elements(By.CSS_SELECTOR, "#queue a") if "/enter/3" in a.get_attribute("href")][0]
    submit(driver, link)
    viewer = driver.find_element(By.ID, "viewer")
    img = viewer.find_element(By.CSS_SELECTOR, "img.photo")
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) == 900
    viewer.find_element(By.CSS_SELECTOR, "[data-act=rotate]").click()
    viewer.find_element(By.CSS_SELECTOR, "[data-act=zoom-in]").click()
    assert viewer.get_attribute("data-rotation") == "90" and float(viewer.get_attribute("data-zoom")) > 1
    type_protocol(driver, right, form)
    assert not driver.find_elements(By.CSS_SELECTOR, "#live-checks .finding.error")
    submit(driver, driver.find_element(By.ID, "save"))
    assert any("Saved" in f for f in flashes(driver))

    # typist 2 mistypes a figure: the form flags R03 and R04 as they type, and saves only when confirmed
    sign_in(driver, base, "boris", TYPIST_PASSWORD)
    driver.get(base + "/enter/3")
    type_protocol(driver, wrong, form)
    live = {e.get_attribute("data-code") for e in driver.find_elements(By.CSS_SELECTOR, "#live-checks .finding.error")}
    assert {"R03-FOUND-EQ-VALID-INVALID", "R04-VALID-EQ-PARTIES"} <= live
    assert "Every ballot taken out of the boxes is either valid or invalid" in driver.find_element(By.ID, "live-checks").text
    assert driver.find_element(By.ID, "confirm-box").is_displayed()
    driver.save_screenshot(str(ARTIFACTS / "entry-form.png"))
    submit(driver, driver.find_element(By.ID, "save"))
    assert driver.find_element(By.ID, "needs-confirmation").is_displayed()
    driver.find_element(By.ID, "confirm_as_written").click()
    submit(driver, driver.find_element(By.ID, "save"))
    assert any("Saved" in f for f in flashes(driver))
    assert driver.execute_script("return location.pathname") == "/queue"
    driver.get(base + "/coordinator/")
    assert "Not allowed" in driver.page_source

    # the coordinator resolves the difference from the photo
    sign_in(driver, base, *COORDINATOR)
    driver.get(base + "/coordinator/station/3")
    assert driver.find_element(By.ID, "station-status").text == "disputed"
    valid_line = next(line.number for line in form.lines if line.key == "valid")
    box = driver.find_element(By.ID, f"line_{valid_line}")
    assert box.get_attribute("value") == ""  # the line the entries disagree on is left for the coordinator
    box.send_keys(str(right["valid"]))
    assert not driver.find_elements(By.CSS_SELECTOR, "#live-checks .finding.error")
    submit(driver, driver.find_element(By.ID, "save"))
    assert driver.find_element(By.ID, "station-status").text == "resolved"

    # export, audit, evidence sheet from the station's page
    driver.get(base + "/coordinator/export")
    submit(driver, driver.find_element(By.ID, "run-export"))
    assert any("audited: 1 stations compared, 1 evidence sheet" in f for f in flashes(driver))
    driver.get(base + "/coordinator/station/3")
    submit(driver, driver.find_element(By.ID, "evidence-link"))
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "moved" in body and "PEC) 3" in body
    driver.get(base + "/coordinator/")
    rates = driver.find_element(By.ID, "typist-rates").text  # both disagreed; the resolution says boris misread
    assert "anna 1 1 1 100.0% 1 0" in rates and "boris 1 1 1 100.0% 1 1" in rates
    driver.save_screenshot(str(ARTIFACTS / "entry-dashboard.png"))


def test_page_rules_agree_with_reconcile(setup, browser):
    driver = browser
    """The live check in the page and forensics.reconcile flag the same rules on random protocols."""
    base, truth, form = setup["server"].base, setup["truth"], setup["form"]
    sign_in(driver, base, "anna", TYPIST_PASSWORD)
    driver.get(base + "/enter/3")
    data = form.rules_data()
    rng = random.Random(7)
    t = truth.table
    cases = []
    for i in range(150):
        values = {k: int(t.iloc[i % len(t)][k]) for k in form.keys}
        for key in rng.sample(form.keys, rng.randint(0, 3)):
            values[key] = None if rng.random() < 0.15 else max(0, values[key] + rng.choice([-40, -3, -1, 1, 2, 25, 300]))
        cases.append(values)
    page = driver.execute_script(
        "var data = arguments[0];"
        "return arguments[1].map(function (v) { return window.forensicsRules.broken(data, v); });", data, cases)
    server = [sorted(f["code"] for f in form.check(v)) for v in cases]
    assert [sorted(p) for p in page] == server
    assert sum(bool(s) for s in server) > 50  # the cases do break rules, of both severities
