"""Evidence sheets: one printable A4 page per discrepant station, and an index, in en, ru or kk.

Each page names the election and the commission, puts the official and
observed figures side by side (protocol lines worded as on the form) with
the differences highlighted, embeds a downscaled copy of the protocol photo
with the original's SHA-256, lists the arithmetic checks each version
breaks, and gives a plain-language statement to attach to a complaint,
followed by the blanks complaints have been dismissed for leaving empty.
The statement cites a photo only when the file is in the photo folder and
opens as an image; otherwise it cites the observers' copy and the page says
why.  A one-digit difference gets a page headed "to re-check", never a
complaint.  Pages are rendered by jinja2 with every value escaped and no
remote resources (the photo is a data URI); print them from a browser.
"""
from __future__ import annotations

import base64
import io
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
from PIL import Image, ImageOps

from .._version import __version__
from ..election_info import ElectionInfo
from ..i18n import N_, Formats, translations
from ..model import FIELDS
from ..output import OutputFolder
from ..reconcile import RULES
from ..templating import environment
from .compare import CLASSES, Comparison, digit_slip
from .photos import manifest as photo_manifest
from .photos import safe_path, split_names

#: classification -> its name on the sheet
CLASS_NAMES = {
    "identical": N_("Identical"),
    "slip": N_("Possible transcription slip"),
    "moved": N_("Votes moved between parties"),
    "added": N_("Ballots added after the count"),
    "redrawn": N_("Protocol redrawn after signing"),
    "other": N_("Other difference"),
}
SLIP_KINDS = {
    "one digit": N_("one digit"),
    "swapped digits": N_("two swapped digits"),
    "digit missing or extra": N_("a missing or extra digit"),
}
#: how the copies were entered (``run_audit`` passes one of these)
ENTRY_SINGLE = N_("single entry (not double-checked)")
ENTRY_DOUBLE = N_("agreed by two independent transcribers")
#: longest side of the embedded copy of a photo, in pixels (legible on A4 at ~300 dpi)
PHOTO_PIXELS = 1400
#: photos embedded per sheet (a protocol rarely takes more than two pictures)
PHOTOS_SHOWN = 2
_RULE_TITLES = {r.code: r.title for r in RULES}
_SEVERITY = {"error": N_("error"), "warning": N_("warning")}


@lru_cache(maxsize=None)
def _env(lang: str):
    return environment("forensics.audit", lang)


def line_labels(election) -> dict:
    """Protocol line -> its wording on the form: ``meta["labels"]``, else the header text the file used.

    Lines without a wording of their own (a canonical English header such as
    ``valid``) are left out; the sheet then describes them in its language.
    """
    given = election.meta.get("labels") or {}
    mapping = election.meta.get("mapping") or {}
    out = {}
    for line in (*FIELDS, *election.parties):
        text = given.get(line) or mapping.get(line)
        if text and text != line and not str(text).startswith("derived from"):
            out[line] = str(text)
    return out


def _label(line: str, labels: dict, t) -> str:
    if line in labels:
        return labels[line]
    return t.gettext(FIELDS[line]) if line in FIELDS else line


def commission(row, lang: str = "en") -> str:
    """The commission of a station in words: PEC, TEC and region."""
    t = translations(lang)
    parts = [t.gettext("precinct election commission (PEC) %(pec)s") % {"pec": row["pec"]}]
    if "tec" in row and row["tec"]:
        parts.append(t.gettext("territorial election commission (TEC) %(tec)s") % {"tec": row["tec"]})
    if "region" in row and row["region"]:
        parts.append(t.gettext("region %(region)s") % {"region": row["region"]})
    return ", ".join(parts)


# -- photos ----------------------------------------------------------------------------
def thumbnail(path: Path, pixels: int = PHOTO_PIXELS) -> dict | None:
    """A downscaled copy of an image: ``uri`` (a JPEG data URI, PNG when transparent), ``width``, ``height``.

    None when the file does not open as an image.
    """
    try:
        with Image.open(path) as im:
            im.draft("RGB", (pixels, pixels))  # JPEG: decode at a reduced scale
            im = ImageOps.exif_transpose(im)
            im.thumbnail((pixels, pixels))
            out = io.BytesIO()
            if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
                im.save(out, format="PNG", optimize=True)
                kind = "png"
            else:
                im.convert("RGB").save(out, format="JPEG", quality=80, optimize=True)
                kind = "jpeg"
            size = im.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return {"uri": f"data:image/{kind};base64," + base64.b64encode(out.getvalue()).decode("ascii"),
            "width": size[0], "height": size[1]}


def photo_status(names: list, folder, table: pd.DataFrame | None) -> list[dict]:
    """Each cited photo with its status: available (with SHA-256 and the embedded copy) or why not.

    ``status`` is "available", "not checked" (no photo folder), "refused"
    (the path leaves the folder), "missing" (not in the folder) or
    "unreadable" (the file does not open as an image).
    """
    out = []
    by_name = table.set_index("file") if table is not None and len(table) else None
    for name in names:
        item = {"file": name, "sha256": "", "bytes": "", "exif_datetime": "", "image": None}
        if folder is None:
            out.append({**item, "status": "not checked"})
            continue
        root = Path(folder)
        try:
            path = safe_path(root, name)
        except ValueError:
            out.append({**item, "status": "refused"})
            continue
        rel = path.relative_to(root.resolve()).as_posix()
        if by_name is None or rel not in by_name.index or not by_name.at[rel, "sha256"]:
            out.append({**item, "status": "missing"})
            continue
        info = by_name.loc[rel]
        item.update(sha256=info["sha256"], bytes=int(info["bytes"]),
                    exif_datetime="" if pd.isna(info["exif_datetime"]) else str(info["exif_datetime"]))
        image = thumbnail(path)
        out.append({**item, "image": image, "status": "available" if image else "unreadable"})
    return out


_PHOTO_PROBLEMS = {
    "not checked": N_("not checked: the audit was run without the photo folder"),
    "refused": N_("refused: the name leads outside the photo folder"),
    "missing": N_("missing from the photo folder"),
    "unreadable": N_("in the folder, but it does not open as an image"),
}


# -- words ---------------------------------------------------------------------------
def _parties_list(values: dict, formats: Formats) -> str:
    return ", ".join(f"{p} ({formats.signed(v)})" for p, v in values.items())


def describe(row, differences: pd.DataFrame, labels: dict, parties, lang: str = "en") -> str:
    """The difference of one station in a few words (the localised ``detail``)."""
    t, f = translations(lang), Formats(lang)
    cls = row["classification"]
    d = {r.line: int(r.difference) for r in differences.itertuples()}
    party = {p: v for p, v in d.items() if p in parties}
    if cls == "slip":
        r = next(differences.itertuples())
        kind = digit_slip(r.official, r.observed)
        return t.gettext("%(line)s: published %(official)s, transcribed %(observed)s (%(kind)s)") % {
            "line": _label(r.line, labels, t), "official": f.number(r.official), "observed": f.number(r.observed),
            "kind": t.gettext(SLIP_KINDS.get(kind, kind or ""))}
    if cls == "moved":
        n = sum(v for v in party.values() if v > 0)
        return t.ngettext("%(n)s vote moved: %(lost)s → %(gained)s", "%(n)s votes moved: %(lost)s → %(gained)s",
                          n) % {"n": f.number(n), "lost": _parties_list({p: v for p, v in party.items() if v < 0}, f),
                                "gained": _parties_list({p: v for p, v in party.items() if v > 0}, f)}
    if cls == "added":
        n = sum(party.values())
        return t.ngettext("%(n)s ballot added: %(gained)s", "%(n)s ballots added: %(gained)s", n) % {
            "n": f.number(n), "gained": _parties_list({p: v for p, v in party.items() if v > 0}, f)}
    return t.gettext("lines changed: %(lines)s") % {
        "lines": "; ".join(f"{_label(k, labels, t)} {f.signed(v)}" for k, v in d.items())}


def _source(photos: list, taken_at, lang: str) -> str:
    """What the statement relies on: the photos that are there, else the observers' copy."""
    t = translations(lang)
    shown = [p for p in photos if p["status"] == "available"]
    if not shown:
        return t.gettext("the copy of the results protocol obtained by observers")
    text = t.ngettext("the photograph of the results protocol (file %(files)s, SHA-256 %(hashes)s)",
                      "the photographs of the results protocol (files %(files)s, SHA-256 %(hashes)s)",
                      len(shown)) % {"files": ", ".join(p["file"] for p in shown),
                                     "hashes": ", ".join(p["sha256"][:16] + "…" for p in shown)}
    if taken_at:
        text = t.gettext("%(source)s, taken at %(time)s") % {"source": text, "time": taken_at}
    return text


def complaint_paragraph(row, differences: pd.DataFrame, labels: dict, parties=(), lang: str = "en",
                        photos: list | None = None, election: ElectionInfo | None = None) -> str:
    """The plain-language statement for one station (row of ``Comparison.stations``).

    ``photos`` is ``photo_status`` of the station's photos: only available
    ones are cited.  A slip gets a note to re-check, not a complaint.
    """
    t, f = translations(lang), Formats(lang)
    cls = row["classification"]
    lines = "; ".join(t.gettext("%(line)s: published %(official)s, signed %(observed)s") % {
        "line": _label(r.line, labels, t), "official": f.number(r.official), "observed": f.number(r.observed)}
        for r in differences.itertuples())
    text = ""
    if election is not None and election.title and cls != "slip":
        text = (t.gettext("This statement concerns the %(election)s held on %(date)s.") % {
            "election": election.title, "date": f.date(election.date)} if election.date
            else t.gettext("This statement concerns the %(election)s.") % {"election": election.title})
        text = text.replace("..", ".") + " "  # a date written with a final full stop ("2021 г.")
    where = commission(row, lang)
    if cls == "slip":  # a note to re-check, not a statement: the election is named at the top of the sheet
        r = next(differences.itertuples())
        kind = digit_slip(r.official, r.observed)
        return t.gettext(
            "Commission: %(commission)s. The observers' transcription of this commission's protocol differs from "
            "the official results on one line: %(lines)s. This is what a typing mistake looks like (%(kind)s): "
            "re-check the transcription against %(source)s before anything is alleged.") % {
            "commission": where, "lines": lines, "kind": t.gettext(SLIP_KINDS.get(kind, kind or "")),
            "source": _source(photos or [], row.get("taken_at"), lang)}
    n = len(differences)
    text += t.ngettext(
        "Commission: %(commission)s. According to %(source)s, the figures this commission signed differ from the "
        "official results published for this station on %(n)s line: %(lines)s.",
        "Commission: %(commission)s. According to %(source)s, the figures this commission signed differ from the "
        "official results published for this station on %(n)s lines: %(lines)s.", n) % {
        "source": _source(photos or [], row.get("taken_at"), lang), "commission": where, "n": f.number(n),
        "lines": lines}
    party = {r.line: int(r.difference) for r in differences.itertuples() if r.line in parties}
    if cls == "moved":
        moved = sum(v for v in party.values() if v > 0)
        text += " " + t.ngettext(
            "The published figures take %(n)s vote from %(lost)s and give exactly as many to %(gained)s, with every "
            "total unchanged.",
            "The published figures take %(n)s votes from %(lost)s and give exactly as many to %(gained)s, with every "
            "total unchanged.", moved) % {
            "n": f.number(moved), "lost": ", ".join(p for p, v in party.items() if v < 0),
            "gained": ", ".join(p for p, v in party.items() if v > 0)}
    elif cls == "added":
        added = sum(party.values())
        text += " " + t.ngettext(
            "The published figures add %(n)s ballot for %(gained)s, with matching increases in the ballots issued "
            "and found and fewer unused ballots, as if a ballot had been put in the box after the count.",
            "The published figures add %(n)s ballots for %(gained)s, with matching increases in the ballots issued "
            "and found and fewer unused ballots, as if ballots had been put in the box after the count.", added) % {
            "n": f.number(added), "gained": ", ".join(p for p, v in party.items() if v > 0)}
    elif cls == "redrawn":
        text += " " + t.gettext(
            "Both versions satisfy the arithmetic checks of the protocol, yet they differ: the published figures "
            "come from a different protocol than the one signed at the count.")
    else:
        text += " " + t.gettext(
            "The published figures differ from the signed copy in a way no simple correction explains.")
    return text + " " + t.gettext(
        "We ask that the published figures be compared with the original protocol signed by the members of the "
        "precinct election commission, that the published result be corrected to match it, and that the reasons "
        "for the change be established.")


# -- pages -----------------------------------------------------------------------------
def _slug(row, i: int) -> str:
    raw = "_".join(str(row[k]) for k in ("region", "tec", "pec") if k in row)
    return f"{i:04d}_" + (re.sub(r"[^A-Za-z0-9]+", "-", raw).strip("-")[:60] or "station") + ".html"


def _station_differences(comparison: Comparison, row) -> pd.DataFrame:
    diffs = comparison.differences
    keys = [k for k in ("region", "tec", "pec") if k in diffs]
    return diffs[(diffs[keys] == row[keys].to_numpy()).all(axis=1)]


def _findings(comparison: Comparison, label, t) -> list[dict]:
    out = []
    sides = ((N_("official"), comparison.findings_official), (N_("observers' copy"), comparison.findings_observed))
    for side, table in sides:
        if len(table):
            for f in table[table["_row"] == label].itertuples():
                title = _RULE_TITLES.get(f.code)
                out.append({"side": t.gettext(side), "code": f.code, "severity": t.gettext(_SEVERITY[f.severity]),
                            "title": t.gettext(title) if title else f.message, "observed": f.observed,
                            "expected": f.expected})
    return out


def render_sheet(comparison: Comparison, label, photos: pd.DataFrame | None = None, entry: str = ENTRY_SINGLE,
                 source_file: str = "", official_file: str = "", official_sha: str = "", lang: str = "en",
                 photo_dir=None, election: ElectionInfo | None = None) -> str:
    """The HTML evidence sheet of the station with index label ``label``.

    ``photos`` is the photo manifest (``audit.manifest``) of ``photo_dir``;
    without ``photo_dir`` no photo is checked, shown or cited.
    """
    return _render(comparison, label, photos, entry, source_file, official_file, official_sha, lang, photo_dir,
                   election)[0]


def _render(comparison, label, photos, entry=ENTRY_SINGLE, source_file="", official_file="", official_sha="",
            lang="en", photo_dir=None, election=None) -> tuple[str, list]:
    """The sheet's HTML and the status of its photos."""
    t = translations(lang)
    row = comparison.stations.loc[label]
    labels = line_labels(comparison.official)
    parties = comparison.official.parties
    off, obs = comparison.official.table.loc[label], comparison.observed.loc[label]
    lines = [{"label": _label(c, labels, t), "official": int(off[c]), "observed": int(obs[c]),
              "difference": int(off[c]) - int(obs[c])} for c in comparison.lines]
    cited = photo_status(split_names(row.get("photos", "")), photo_dir, photos)
    for p in cited:
        p["problem"] = t.gettext(_PHOTO_PROBLEMS[p["status"]]) if p["status"] in _PHOTO_PROBLEMS else ""
    mine = _station_differences(comparison, row)
    cls = row["classification"]
    election = election or ElectionInfo()
    html = _env(lang).get_template("evidence.html.j2").render(
        commission=commission(row, lang), station=row, classification=cls,
        class_name=t.gettext(CLASS_NAMES[cls]), meaning=t.gettext(CLASSES[cls]), lines=lines,
        findings=_findings(comparison, label, t), transcriber=row.get("transcriber", ""),
        taken_at=row.get("taken_at", ""), entry=t.gettext(entry), source_file=source_file,
        source_row="" if pd.isna(row.get("source_row")) else int(row["source_row"]),
        photos=cited, shown=[p for p in cited if p["status"] == "available"][:PHOTOS_SHOWN],
        unavailable=[p for p in cited if p["status"] != "available"],
        paragraph=complaint_paragraph(row, mine, labels, parties, lang, cited, election),
        version=__version__, official_file=official_file, official_sha=official_sha, election=election)
    return html, cited


class Sheets(list):
    """The paths of the sheets written; ``without_photo`` counts those whose statement cites no photo."""

    without_photo: int = 0


def write_evidence(comparison: Comparison, out_dir, photos: pd.DataFrame | None = None, entry: str = ENTRY_SINGLE,
                   lang: str = "en", photo_dir=None, election: ElectionInfo | None = None,
                   **provenance) -> Sheets:
    """Write one sheet per discrepant station and ``index.html`` into ``out_dir``; return the sheet paths.

    ``entry`` says how the copies were entered (``ENTRY_SINGLE`` or
    ``ENTRY_DOUBLE``, or your own words); ``photo_dir`` is the folder of
    protocol photos (its ``manifest`` is computed unless ``photos`` gives
    it); ``election`` names the election; ``provenance`` passes
    ``source_file``, ``official_file``, ``official_sha``.  The folder is written
    completely or not at all (``forensics.output.OutputFolder``).
    """
    if photo_dir is not None and photos is None:
        photos = photo_manifest(photo_dir)
    t = translations(lang)
    labels, parties = line_labels(comparison.official), comparison.official.parties
    listed, paths = [], Sheets()
    with OutputFolder(out_dir) as out:
        for i, (label, row) in enumerate(comparison.discrepant.iterrows(), start=1):
            name = _slug(row, i)
            html, cited = _render(comparison, label, photos, entry, lang=lang, photo_dir=photo_dir,
                                  election=election, **provenance)
            paths.append(out.text(name, html))
            has_photo = any(p["status"] == "available" for p in cited)
            paths.without_photo += not has_photo
            listed.append({**{k: row.get(k, "") for k in ("region", "tec", "pec")},
                           "class_name": t.gettext(CLASS_NAMES[row["classification"]]), "photo": has_photo,
                           "detail": describe(row, _station_differences(comparison, row), labels, parties, lang),
                           "href": name})
        counts = {t.gettext(CLASS_NAMES[k]): v for k, v in comparison.counts.items() if k != "identical"}
        out.text("index.html", _env(lang).get_template("index.html.j2").render(
            stations=listed, n_compared=len(comparison.stations), n_discrepant=len(listed), counts=counts,
            election=election or ElectionInfo()))
    return paths
