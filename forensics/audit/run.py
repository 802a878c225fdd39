"""The whole audit from files to an output folder (what ``forensics audit`` runs).

Writes ``discrepancies.csv`` (one row per station whose copy differs),
``stations.csv`` (every compared station), ``differences.csv`` (one row per
differing line), ``excluded.csv``, ``impact_nation.csv`` /
``impact_region.csv`` / ``impact_tec.csv``, ``recomputed.csv``,
``pvt.csv``, ``observer_effect.csv``, with a second entry
``entry_status.csv`` and ``disputes.csv``, with photos ``photos.csv`` and
``photo_issues.csv``, the evidence sheets in ``evidence/`` and
``summary.json`` / ``summary.txt``.  Sheets and ``summary.txt`` are written
in ``lang`` (en, ru, kk); ``summary.json`` holds the same facts as data.  The
folder is written completely or not at all (``forensics.output.OutputFolder``),
after every computation.
"""
from __future__ import annotations

import pandas as pd

from .._version import __version__
from ..errors import DataError
from ..i18n import N_, Formats, Message, check_lang, say, translations
from ..ingest import load
from ..output import OutputFolder, check_folder
from .compare import CLASSES, compare
from .entry import double_entry
from .evidence import CLASS_NAMES, ENTRY_DOUBLE, ENTRY_SINGLE, ElectionInfo, write_evidence
from .impact import LEVELS, impact, recomputed
from .photos import check_photos, manifest
from .sample import observer_effect, pvt
from .stations import protocol_lines
from .transcription import read_transcriptions


def run_audit(official, observed, out, profile=None, second=None, photos=None, design: str = "convenience",
              fe: str = "region", cluster: str = "tec", lang: str = "en", title: str | None = None,
              date=None, raw_csv: bool = False) -> dict:
    """Audit the transcription file ``observed`` against the results file ``official``.

    ``profile`` names the layout of both files; ``second`` is a second,
    independent transcription (only agreed stations go forward); ``photos``
    the folder of protocol photos; ``design`` how the observed stations were
    chosen (see ``pvt``); ``lang`` the language of the sheets and summary;
    ``title`` and ``date`` (YYYY-MM-DD) name the election (default: the
    profile's ``meta["election"]``); ``raw_csv`` leaves formula-like cells as
    they are (``forensics.output``).  Returns the summary it writes to
    summary.json.
    """
    check_lang(lang)
    check_folder(out)
    off = load(official, profile=profile)
    election = ElectionInfo.of(off, title, date)
    first = read_transcriptions(observed, profile or off.profile)
    summary = {"version": __version__, "official": str(official), "observed": str(observed),
               "profile": off.profile, "sources": {**off.sources, **first.sources}, "design": design,
               "lang": lang, "election": {"title": election.title,
                                          "date": election.date.isoformat() if election.date else None}}
    tables = {}
    table, entry = first.table, ENTRY_SINGLE
    if second is not None:
        sec = read_transcriptions(second, profile or off.profile)
        summary["sources"].update(sec.sources)
        summary["second_entry"] = str(second)
        de = double_entry(first, sec, lines=protocol_lines(off))
        tables.update({"entry_status.csv": de.status, "disputes.csv": de.disputes})
        summary["double_entry"] = de.counts
        table, entry = de.agreed, ENTRY_DOUBLE
    hashes, shots = None, None
    if photos is not None:
        shots = manifest(photos)
        hashes, issues = check_photos(table, photos, shots)
        tables.update({"photos.csv": shots, "photo_issues.csv": issues})
        odd = shots[shots["note"].ne("") & ~shots["note"].eq("same content as another file")]
        summary["photos"] = {"files": len(shots), "issues": int(len(issues)),
                             "oddities": dict(zip(odd["file"], odd["note"]))}

    comp = compare(off, table, photo_hashes=hashes)
    tables.update({"discrepancies.csv": comp.discrepant, "stations.csv": comp.stations,
                   "differences.csv": comp.differences, "excluded.csv": comp.excluded})
    tables.update({f"impact_{level}.csv": impact(comp, level) for level in LEVELS})
    rec = recomputed(comp, off)
    tables["recomputed.csv"] = rec
    summary.update(compared=len(comp.stations), excluded=comp.excluded["reason"].value_counts().to_dict(),
                   classifications=comp.counts)

    notes = []
    try:
        est = pvt(off, table, design=design)
        tables["pvt.csv"] = est.table
        summary["pvt"] = est.table.to_dict(orient="records")
        notes += est.warnings
    except DataError as exc:
        notes.append(_no_estimate(N_NO_PVT, exc))
    try:
        effects = pd.DataFrame([r.to_row() for r in observer_effect(off, comp.stations, fe=fe, cluster=cluster)])
        tables["observer_effect.csv"] = effects
        summary["observer_effect"] = effects.to_dict(orient="records")
    except DataError as exc:
        notes.append(_no_estimate(N_NO_EFFECT, exc))
    summary["notes"] = notes

    with OutputFolder(out, raw_csv=raw_csv) as folder:
        for name, frame in tables.items():
            folder.csv(name, frame)
        sheets = write_evidence(comp, folder.path("evidence"), photos=shots, photo_dir=photos, entry=entry,
                                lang=lang, election=election, source_file=str(observed), official_file=str(official),
                                official_sha=next(iter(off.sources.values()), ""))
        summary.update(evidence_sheets=len(sheets), sheets_without_photo=sheets.without_photo)
        folder.json("summary.json", summary)
        folder.text("summary.txt", summary_text(summary, rec, lang))
    return summary


N_NO_PVT = N_("No sample estimate: %(reason)s")
N_NO_EFFECT = N_("No observer-effect estimate: %(reason)s")


def _no_estimate(msgid: str, exc: DataError) -> Message:
    """A note that an estimate could not be made, with the reason in words (translated when it can be)."""
    return Message(msgid, reason=lambda f: say(exc.problem, f.lang))


def summary_text(summary: dict, rec: pd.DataFrame, lang: str = "en") -> str:
    """The summary in plain words, in ``lang``."""
    t, f = translations(lang), Formats(lang)
    c = summary["classifications"]
    differ = sum(v for k, v in c.items() if k != "identical")
    lines = [t.gettext("Observer audit of %(official)s against %(observed)s") % {
        "official": summary["official"], "observed": summary["observed"]}]
    election = summary.get("election") or {}
    if election.get("title"):
        lines.append(election["title"] + (", " + f.date(election["date"]) if election.get("date") else ""))
    lines.append(t.ngettext("%(num)s station compared; %(n)s differ.", "%(num)s stations compared; %(n)s differ.",
                            summary["compared"]) % {"num": f.number(summary["compared"]), "n": f.number(differ)})
    for k, v in c.items():
        if v:
            lines.append(f"  {t.gettext(CLASS_NAMES[k])}: {f.number(v)}  ({t.gettext(CLASSES[k])})")
    for reason, n in summary["excluded"].items():
        lines.append("  " + t.gettext("not compared (%(reason)s): %(n)s") % {"reason": t.gettext(reason),
                                                                            "n": f.number(n)})
    if "double_entry" in summary:
        de = summary["double_entry"]
        lines.append(t.gettext("Double entry: %(agreed)s agreed, %(pending)s pending, %(disputed)s disputed (only "
                               "agreed stations were compared; see entry_status.csv and disputes.csv)") % {
            k: f.number(de.get(k, 0)) for k in ("agreed", "pending", "disputed")})
    if summary.get("evidence_sheets"):
        lines.append(t.ngettext("%(num)s evidence sheet written.", "%(num)s evidence sheets written.",
                                summary["evidence_sheets"]) % {"num": f.number(summary["evidence_sheets"])})
    if summary.get("sheets_without_photo"):
        lines.append("  " + t.ngettext(
            "%(num)s of them cites no photo (no photo folder given, or the photo is missing or does not open): "
            "find the photo or the certified copy before filing it.",
            "%(num)s of them cite no photo (no photo folder given, or the photo is missing or does not open): "
            "find the photos or the certified copies before filing them.", summary["sheets_without_photo"]) % {
            "num": f.number(summary["sheets_without_photo"])})
    lines.append(t.gettext("National result with the observers' figures where they have them:"))
    for r in rec.itertuples():
        what = t.gettext("turnout") if r.party == "turnout" else r.party
        lines.append("  " + t.gettext("%(what)s: official %(official)s, recomputed %(recomputed)s (%(change)s "
                                      "points)") % {
            "what": what, "official": f.percent(r.official_share), "recomputed": f.percent(r.recomputed_share),
            "change": f.points(r.change_points)})
    for r in summary.get("pvt", []):
        what = t.gettext("turnout") if r["quantity"] == "turnout" else r["party"]
        if not r["informative"]:
            lines.append(t.gettext("Sample estimate, %(what)s: not informative (too few observed stations; see "
                                   "below); official %(official)s") % {"what": what,
                                                                      "official": f.percent(r["official"])})
            continue
        verdict = (t.gettext("inside the interval") if r["inside"] else t.gettext("OUTSIDE the interval"))
        lines.append(t.gettext("Sample estimate, %(what)s: %(estimate)s (%(low)s to %(high)s); official %(official)s, "
                               "%(verdict)s") % {
            "what": what, "estimate": f.percent(r["estimate"]), "low": f.percent(r["ci_low"]),
            "high": f.percent(r["ci_high"]), "official": f.percent(r["official"]), "verdict": verdict})
    odd = summary.get("photos", {}).get("oddities", {})
    if odd:
        lines.append(t.ngettext("Photo folder: %(num)s file not taken as a photo (see photos.csv):",
                                "Photo folder: %(num)s files not taken as photos (see photos.csv):", len(odd))
                     % {"num": f.number(len(odd))})
        lines += [f"  {name}: {note}" for name, note in list(odd.items())[:20]]
        if len(odd) > 20:
            lines.append("  " + t.gettext("... and %(num)s more") % {"num": f.number(len(odd) - 20)})
    lines += [say(note, lang) for note in summary["notes"]]
    lines.append(t.gettext("A discrepancy is a reason to ask for the original protocol; a transcription slip must be "
                           "re-checked against the photo before anything is alleged."))
    return "\n".join(lines) + "\n"
