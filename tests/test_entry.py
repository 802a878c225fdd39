"""``forensics entry``: the form from the profile, access control, photo intake, double entry, export, ODK."""
from __future__ import annotations

import io
import os
import re
import zipfile

import pandas as pd
import pytest
from sqlalchemy import select

from entry_support import COORDINATOR, TYPIST_PASSWORD, kz_official
from forensics.cli import main
from forensics.entry import create_app, init_election
from forensics.entry.models import Change, Entry, Photo, Station
from forensics.ingest import load

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def election(tmp_path):
    official = kz_official(tmp_path / "official.csv")
    off = load(official, profile="kz_cec")
    # the official figures of station 3 were changed after the count: 40 votes moved to the first party
    first, second = off.parties[0], off.parties[1]
    raw = pd.read_csv(official, dtype=str)
    moved = min(40, int(raw.loc[2, second]))
    raw.loc[2, first] = str(int(raw.loc[2, first]) + moved)
    raw.loc[2, second] = str(int(raw.loc[2, second]) - moved)
    raw.to_csv(official, index=False)
    init_election(tmp_path / "e", "kz_cec", official=official, password=COORDINATOR[1])
    app = create_app(tmp_path / "e")
    app.config.update(TESTING=True)
    return {"app": app, "dir": tmp_path / "e", "truth": off, "tmp": tmp_path}


def client(app, user=None, password=TYPIST_PASSWORD):
    c = app.test_client()
    if user:
        page = c.get("/login").get_data(as_text=True)
        r = c.post("/login", data={"username": user, "password": password, "csrf_token": token(page)})
        assert r.status_code == 302, f"{user} could not sign in"
    return c


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def post(c, url, data=None, **kwargs):
    page = c.get("/coordinator/" if url.startswith("/coordinator") else "/queue").get_data(as_text=True)
    if "csrf_token" not in page:
        page = c.get("/login").get_data(as_text=True)
    return c.post(url, data={**(data or {}), "csrf_token": token(page)}, **kwargs)


def setup_typists(app, names=("anna", "boris")):
    coord = client(app, *COORDINATOR)
    for name in names:
        r = post(coord, "/coordinator/users", {"action": "create", "username": name, "password": TYPIST_PASSWORD,
                                               "role": "typist"})
        assert r.status_code == 303
    r = post(coord, "/coordinator/assign", {"all_stations": "yes"}, follow_redirects=True)
    assert "80 entries assigned" in r.get_data(as_text=True)
    return coord


def figures(app, truth, station_id):
    with app.extensions["entry"]["database"].read() as s:
        st = s.get(Station, station_id)
    t = truth.table
    row = t[(t["pec"].astype(str) == st.pec) & (t["tec"] == st.tec) & (t["region"] == st.region)].iloc[0]
    return {k: int(row[k]) for k in app.extensions["entry"]["form"].keys}


def form_data(app, values):
    return {f"line_{line.number}": "" if values.get(line.key) is None else str(values[line.key])
            for line in app.extensions["entry"]["form"].lines}


def enter(c, app, station_id, values, confirm=False):
    page = c.get(f"/enter/{station_id}").get_data(as_text=True)
    data = {**form_data(app, values), "csrf_token": token(page)}
    if confirm:
        data["confirm_as_written"] = "yes"
    return c.post(f"/enter/{station_id}", data=data)


def test_form_is_the_paper_form_with_the_profiles_rules(election):
    form = election["app"].extensions["entry"]["form"]
    assert [line.number for line in form.lines] == list(range(1, 16))
    assert form.lines[0].label == "Число избирателей, включенных в списки избирателей"
    assert form.lines[9].label == "Число действительных избирательных бюллетеней"
    assert form.lines[10].party and form.lines[10].label == form.parties[0]
    codes = {r.code for r in form.rules}
    assert {"R01-ISSUED-LE-REGISTERED", "R03-FOUND-EQ-VALID-INVALID", "R04-VALID-EQ-PARTIES"} <= codes
    assert not any(r.code.startswith(("R21", "R22", "R07")) for r in form.rules)  # not one protocol's relations
    values = figures(election["app"], election["truth"], 1)
    assert form.check(values) == [] or all(f["severity"] == "warning" for f in form.check(values))
    broken = dict(values, valid=values["valid"] + 5)
    found = {f["code"]: f for f in form.check(broken)}
    assert found["R03-FOUND-EQ-VALID-INVALID"]["severity"] == "error"
    assert "5 fewer ballots in the boxes" in found["R03-FOUND-EQ-VALID-INVALID"]["message"]
    assert "R03-FOUND-EQ-VALID-INVALID" in form.needs_confirmation(broken, list(found.values()))
    parsed, problems = form.parse({"line_1": "1 234", "line_2": "", "line_3": "12a", "line_4": "٣"})
    assert parsed["registered"] == 1234 and parsed["registered_added"] is None
    assert set(problems) == {"signatures", "ballots_received"}
    rules = form.rules_data()
    assert rules["derived"]["issued_total"] == [{"name": "ballots_issued", "sign": 1, "optional": False, "constant": 0.0}]


def test_access_control(election):
    app = election["app"]
    setup_typists(app, ("anna", "boris", "carla"))
    anon = app.test_client()
    for url in ("/", "/queue", "/enter/1", "/photo/1", "/coordinator/", "/coordinator/log", "/coordinator/export"):
        r = anon.get(url)
        assert r.status_code == 302 and "/login" in r.location, url
    anna, boris, carla = (client(app, n) for n in ("anna", "boris", "carla"))
    for url in ("/coordinator/", "/coordinator/stations", "/coordinator/station/1", "/coordinator/users",
                "/coordinator/log", "/coordinator/export", "/coordinator/photos"):
        assert anna.get(url).status_code == 403, url
    assert post(anna, "/coordinator/assign").status_code == 403
    assert post(anna, "/coordinator/station/1/resolve", form_data(app, {})).status_code == 403
    # the first entry is invisible to the second typist, before and after they submit
    with app.extensions["entry"]["database"].read() as s:
        a = {e.station_id: e.slot for e in s.scalars(select(Entry))}
        shared = s.execute(select(Station.id)).scalars().first()
    secret = dict(figures(app, election["truth"], shared), registered=98765)
    assert enter(anna, app, shared, secret, confirm=True).status_code == 303
    for who in (boris, carla):
        page = who.get(f"/enter/{shared}").get_data(as_text=True)
        assert "98765" not in page
    assert a == {}
    assert enter(boris, app, shared, figures(app, election["truth"], shared)).status_code == 303
    assert "98765" not in boris.get("/queue").get_data(as_text=True)
    assert boris.get(f"/enter/{shared}").status_code == 200 and "98765" not in boris.get(f"/enter/{shared}").get_data(as_text=True)
    # a station not assigned to carla is not found for her; she cannot write to it either
    with app.extensions["entry"]["database"].read() as s:
        from forensics.entry.models import Assignment, User
        carla_id = s.scalar(select(User.id).where(User.username == "carla"))
        theirs = s.scalar(select(Assignment.station_id).where(Assignment.station_id.not_in(
            select(Assignment.station_id).where(Assignment.user_id == carla_id))))
    assert carla.get(f"/enter/{theirs}").status_code == 404
    assert enter_post_only(carla, theirs, app).status_code == 404
    # CSRF: a form posted without the token is refused
    assert anna.post(f"/enter/{shared}", data=form_data(app, secret)).status_code == 400
    # wrong password, and field accounts cannot sign in
    r = app.test_client()
    page = r.get("/login").get_data(as_text=True)
    r2 = r.post("/login", data={"username": "anna", "password": "wrong-password", "csrf_token": token(page)})
    assert r2.status_code == 200 and "Wrong user name or password" in r2.get_data(as_text=True)


def enter_post_only(c, station_id, app):
    page = c.get("/queue").get_data(as_text=True)
    return c.post(f"/enter/{station_id}", data={**form_data(app, {}), "csrf_token": token(page)})


def test_photo_intake_refuses_what_is_not_a_photo(election, tmp_path):
    app = election["app"]
    coord = setup_typists(app)
    store = election["dir"] / "photos"
    files = {"photos": [(io.BytesIO(JPEG), "Акжарская область_ТИК 1_0001.jpg"), (io.BytesIO(b"plain text"), "2.jpg"),
                        (io.BytesIO(JPEG), "copy 3.jpg"), (io.BytesIO(PNG), "../../4.png")],
             "pattern": r"(?P<region>[^_]+)_(?P<tec>[^_]+)_(?P<pec>\d+)"}
    page = coord.get("/coordinator/photos").get_data(as_text=True)
    r = coord.post("/coordinator/photos/upload", data={**files, "csrf_token": token(page)},
                   headers={"Accept": "application/json"}, content_type="multipart/form-data")
    results = {x["name"]: x for x in r.get_json()["results"]}
    first = results["Акжарская область_ТИК 1_0001.jpg"]
    assert first["status"] == "stored" and first["station"] == "Акжарская область / ТИК 1 / 1"
    assert results["2.jpg"]["status"] == "refused" and "not an image" in results["2.jpg"]["message"]
    assert results["copy 3.jpg"]["status"] == "duplicate"
    assert results["4.png"]["status"] == "stored" and results["4.png"]["message"] == "not yet assigned"
    stored = sorted(p.name for p in store.iterdir())
    assert all(re.fullmatch(r"[0-9a-f]{64}\.(jpeg|png)", n) for n in stored) and len(stored) == 2
    # a folder import: a FIFO and a symlink leading out are refused unread
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "17.png").write_bytes(PNG + b"17")
    os.mkfifo(folder / "18.jpg")
    (tmp_path / "secret.jpg").write_bytes(JPEG + b"secret")
    os.symlink(tmp_path / "secret.jpg", folder / "19.jpg")
    r = post(coord, "/coordinator/photos/import", {"folder": str(folder), "pattern": r"(?P<pec>\d+)"},
             follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "1 stored, 0 duplicates, 2 refused" in text and "named pipe" in text and "outside the photo folder" in text
    # assignment by hand, then served only to those allowed
    with app.extensions["entry"]["database"].read() as s:
        loose = s.scalar(select(Photo).where(Photo.station_id.is_(None)))
    r = post(coord, f"/coordinator/photos/{loose.id}/assign", {"pec": "1"}, follow_redirects=True)
    assert "matches PEC &#39;1&#39; (add region and TEC)" in r.get_data(as_text=True).replace("'", "&#39;")
    r = post(coord, f"/coordinator/photos/{loose.id}/assign", {"pec": "1", "tec": "ТИК 1", "region": "Акжарская область"},
             follow_redirects=True)  # PEC 1 is in both regions
    assert f"Photo {loose.id} assigned to Акжарская область / ТИК 1 / 1" in r.get_data(as_text=True)
    assert coord.get("/photo/1").headers["Content-Type"] == "image/jpeg"
    assert app.test_client().get("/photo/1").status_code == 302
    # an export file name cannot leave the exports folder
    for bad in ("../entry.toml", "..%2Fentry.toml", "x/../../secret_key"):
        assert coord.get(f"/coordinator/exports/{bad}").status_code == 404


def test_double_entry_resolution_export_and_audit(election):
    app, truth = election["app"], election["truth"]
    coord = setup_typists(app)
    anna, boris = client(app, "anna"), client(app, "boris")
    stations = [1, 2, 3]
    for sid in stations:
        assert enter(anna, app, sid, figures(app, truth, sid)).status_code == 303
    # boris mistypes station 2: the form flags the arithmetic error and saves nothing until confirmed
    slip = dict(figures(app, truth, 2), valid=figures(app, truth, 2)["valid"] + 10)
    r = enter(boris, app, 2, slip)
    assert r.status_code == 422 and 'data-code="R03-FOUND-EQ-VALID-INVALID"' in r.get_data(as_text=True)
    assert enter(boris, app, 2, slip, confirm=True).status_code == 303
    for sid in (1, 3):
        assert enter(boris, app, sid, figures(app, truth, sid)).status_code == 303
    # both entries in: the typist can no longer change it
    assert enter(boris, app, 1, figures(app, truth, 1)).status_code == 302
    page = coord.get("/coordinator/").get_data(as_text=True)
    total = re.search(r'id="progress-total">(.*?)</tr>', page, re.S)[1]
    assert re.findall(r">(\d+)</a>", total)[3:5] == ["2", "1"]  # agreed 2, disputed 1
    assert "50.0%" not in page and re.search(r"<td>boris</td>.*?33\.3%", page, re.S)
    station2 = coord.get("/coordinator/station/2").get_data(as_text=True)
    assert "disputed" in station2 and "≠" in station2
    page = coord.get("/coordinator/station/2").get_data(as_text=True)
    r = coord.post("/coordinator/station/2/resolve", data={**form_data(app, figures(app, truth, 2)),
                                                           "csrf_token": token(page), "note": "photo says so"})
    assert r.status_code == 303
    assert "resolved" in coord.get("/coordinator/station/2").get_data(as_text=True)
    assert "lines_wrong" not in page
    r = post(coord, "/coordinator/export", follow_redirects=True)
    assert "audited: 3 stations compared, 1 evidence sheet" in r.get_data(as_text=True)
    page = coord.get("/coordinator/station/3").get_data(as_text=True)
    link = re.search(r'id="evidence-link" href="([^"]+)"', page)[1]
    sheet = coord.get(link)
    assert sheet.status_code == 200 and "moved" in sheet.get_data(as_text=True)
    export = sorted((election["dir"] / "exports").iterdir())[-1]
    e1 = pd.read_csv(export / "entry1.csv", dtype=str)
    assert list(e1.columns[:3]) == ["Область, город республиканского значения", "Территориальная избирательная комиссия",
                                    "Номер избирательного участка"] and list(e1.columns[-3:]) == ["transcriber", "photos", "taken_at"]
    status = pd.read_csv(export / "audit" / "entry_status.csv")
    assert status["status"].value_counts().to_dict() == {"agreed": 3}
    assert len(pd.read_csv(export / "resolutions.csv")) == 1
    assert len(load(export / "results.csv", profile="kz_cec")) == 3
    # the change log holds who changed what, old and new
    with app.extensions["entry"]["database"].read() as s:
        rows = s.scalars(select(Change).where(Change.record == "resolution", Change.field == "values:valid")).all()
    assert rows and rows[0].username == "coordinator" and rows[0].new == str(figures(app, truth, 2)["valid"])


def test_xlsform_and_odk_import(election, tmp_path):
    from pyxform.xls2xform import convert

    app, truth = election["app"], election["truth"]
    out = tmp_path / "protocol.xlsx"
    assert main(["entry", "xlsform", "--dir", str(election["dir"]), "--out", str(out)]) == 0
    xform = convert(xlsform=str(out)).xform
    assert "R03" in xform and "jr:constraintMsg" in xform and 'type="binary"' in xform.replace("mediatype", "type")
    survey = pd.read_excel(out, sheet_name="survey")
    assert survey.loc[survey["name"] == "confirm_R03", "constraint"].item() == ". = 'yes'"
    # an ODK Central style export: grouped column names and a media folder
    names = {"registered": "protocol-registered"}
    rows = []
    for sid, pec in ((1, "1"), (2, "2"), (3, "999")):
        v = figures(app, truth, min(sid, 2))
        row = {"station-region": "Акжарская область", "station-tec": "ТИК 1", "station-pec": pec, "observer": "obs7",
               "protocol_photo": f"p{sid}.jpg", "taken_at": "2021-01-10T21:35:00.000+06:00", "meta-instanceID": f"uuid:{sid}"}
        for line in app.extensions["entry"]["form"].lines:
            q = f"party_{line.number - 10}" if line.party else line.key
            row[names.get(line.key, f"protocol-{q}")] = v[line.key]
        rows.append(row)
    rows[1]["protocol-valid"] = int(rows[1]["protocol-valid"]) + 3  # breaks R03, not confirmed
    media = tmp_path / "export" / "media"
    media.mkdir(parents=True)
    for sid in (1, 2, 3):
        (media / f"p{sid}.jpg").write_bytes(JPEG + bytes([sid]))
    pd.DataFrame(rows).to_csv(tmp_path / "export" / "protocol.csv", index=False)
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as z:
        for f in (tmp_path / "export").rglob("*"):
            z.write(f, f.relative_to(tmp_path / "export"))
    assert main(["entry", "import", "--dir", str(election["dir"]), str(tmp_path / "export.zip")]) == 0
    with app.extensions["entry"]["database"].read() as s:
        imported = s.scalars(select(Entry)).all()
        photos = s.scalars(select(Photo)).all()
    assert len(imported) == 1 and imported[0].source == "xlsform" and imported[0].taken_at == "2021-01-10 21:35"
    assert len(photos) == 1 and photos[0].station_id == imported[0].station_id


def test_cli_init_errors(tmp_path, capsys):
    official = kz_official(tmp_path / "official.csv")
    os.environ["FORENSICS_ENTRY_PASSWORD"] = COORDINATOR[1]
    try:
        assert main(["entry", "init", "--dir", str(tmp_path / "e"), "--profile", "kz_cec"]) == 2
        assert "needs the list of stations" in capsys.readouterr().err
        stations = tmp_path / "stations.csv"
        stations.write_text("Номер избирательного участка\n1\n1\n", encoding="utf-8")
        assert main(["entry", "init", "--dir", str(tmp_path / "e"), "--profile", "kz_cec", "--stations", str(stations),
                     "--lines", "registered", "valid", "--parties", "A", "B"]) == 2
        assert "listed twice" in capsys.readouterr().err
        assert main(["entry", "init", "--dir", str(tmp_path / "e2"), "--profile", "kz_cec", "--official", str(official)]) == 0
        assert main(["entry", "init", "--dir", str(tmp_path / "e2"), "--profile", "kz_cec", "--official", str(official)]) == 2
        assert "already holds an election" in " ".join(capsys.readouterr().err.split())
        assert main(["entry", "serve", "--dir", str(tmp_path / "nothing")]) == 2
    finally:
        del os.environ["FORENSICS_ENTRY_PASSWORD"]


def _xpath_to_python(expr: str) -> str:
    """The small XPath subset the XLSForm's calculations use, as a Python expression (for the test only)."""
    expr = re.sub(r"string-length\(\$\{(\w+)\}\) > 0", r"filled('\1')", expr)
    expr = re.sub(r"coalesce\(\$\{(\w+)\}, 0\)", r"zero('\1')", expr)
    expr = re.sub(r"\$\{(\w+)\}", r"val('\1')", expr)
    expr = re.sub(r"(?<![<>!=])=(?!=)", "==", expr.replace("true()", "True"))
    return expr.replace("if(", "iff(")


def test_xlsform_calculations_are_the_reconcile_rules(election):
    """Each rule's XLSForm calculation flags exactly the protocols forensics.reconcile flags."""
    import random

    from forensics.entry.xlsform import question_names, survey_rows

    app, truth = election["app"], election["truth"]
    form = app.extensions["entry"]["form"]
    names = question_names(form)
    calcs = {r["name"][len("broken_"):]: _xpath_to_python(r["calculation"]) for r in survey_rows(form)
             if r["type"] == "calculate"}
    assert len(calcs) == len(form.rules)
    rng = random.Random(11)
    t = truth.table
    flagged = 0
    for i in range(120):
        values = {k: int(t.iloc[i % len(t)][k]) for k in form.keys}
        for key in rng.sample(form.keys, rng.randint(0, 3)):
            values[key] = None if rng.random() < 0.15 else max(0, values[key] + rng.choice([-40, -3, -1, 1, 2, 25, 300]))
        answers = {names[k]: v for k, v in values.items()}
        env = {"filled": lambda q: answers[q] is not None, "zero": lambda q: answers[q] or 0,
               "val": lambda q: answers[q], "iff": lambda c, a, b: a if c else b, "abs": abs}
        from_form = sorted(short for short, expr in calcs.items() if eval(expr, env))  # noqa: S307 - test input
        from_reconcile = sorted(f["code"].split("-", 1)[0] for f in form.check(values))
        assert from_form == from_reconcile, values
        flagged += bool(from_reconcile)
    assert flagged > 35
