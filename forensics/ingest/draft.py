"""``forensics profile draft FILE``: guess a profile from a file's header and a sample of its rows.

Header words in English, Russian, Kazakh, Ukrainian, Spanish, Portuguese,
French, German and Polish suggest the canonical fields; the values confirm or
decide: ids identify the rows, registered is the largest count, the parties
add up to the valid votes, a column holding only 0/1 is a flag, a column
named like another plus a prefix or suffix ('BSP_paper', 'voice_reg_lukashenko')
is a part or a copy of it, not a party.  The draft is a commented TOML file
saying what was guessed, how sure, and what could not be decided: read it,
edit it, load with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .cells import parse_counts
from .profiles import LongLayout, Profile
from .read import Source
from .rows import column_text
from .words import plain

#: rows read for the values
SAMPLE = 20_000
#: header words (prefixes of a header's words, lower case) per field, in the nine languages
KEYWORDS = {
    "region": ["region", "rik", "province", "provincia", "prefecture", "state", "oblast", "voivodeship", "regiao",
               "região", "estado", "departamento", "département", "bundesland", "land", "województwo",
               "wojewodztwo", "регион", "област", "субъект", "край", "облыс", "облас", "регіон"],
    "tec": ["tec", "tik", "district", "constituency", "municipality", "municipio", "município", "commune",
            "circonscription", "circunscripción", "gemeinde", "kreis", "wahlkreis", "gmina", "powiat", "okręg",
            "okreg", "centre", "center", "centro", "тик", "тік", "твк", "район", "территориальн", "округ",
            "аудан", "окружн", "rayon", "zona", "ed", "county", "ward", "parish", "borough"],
    "pec": ["pec", "uik", "station", "polling", "precinct", "poll", "section", "sección", "seccion", "seção",
            "secao", "mesa", "bureau", "wahlbezirk", "stimmbezirk", "obwód", "obwod", "уик", "участ", "учаске",
            "дільниц", "дiльниц"],
    "registered": ["registered", "electors", "electorate", "eligible", "enrolled", "inscritos", "electores",
                   "eleitores", "aptos", "inscrits", "wahlberechtigt", "uprawnion", "включенн", "внесенн", "список",
                   "тізім", "включених", "виборців"],
    "valid": ["valid", "válid", "valables", "exprimés", "gültig", "ważn", "wazn", "действительн", "жарамды",
              "дійсн"],
    "invalid": ["invalid", "rejected", "spoilt", "corrupted", "null", "nulos", "nulo", "nuls", "nul",
                "ungültig", "nieważn", "niewazn", "недействительн", "жарамсыз", "недійсн", "inválid"],
    "ballots_received": ["received", "distributed", "recibid", "recebid", "reçus", "erhalten", "otrzyman",
                         "полученн", "алынған", "отриман"],
    "ballots_issued": ["issued", "entregad", "emitid", "délivrés", "ausgegeben", "wydan", "выданн", "берілген",
                       "виданих"],
    "ballots_cancelled": ["unused", "cancelled", "canceled", "sobrantes", "inutilizad", "погашенн", "неиспользованн",
                          "niewykorzystan", "unbenutzt"],
    "ballots_found": ["urn", "box", "found", "urna", "urne", "wahlurne", "ящик", "урн", "жәшік"],
    "signatures": ["voted", "votantes", "votaram", "votants", "głosując", "signatures", "подпис"],
    "registered_added": ["onsite", "added", "additional", "дополнительн", "adicional", "supplémentaire",
                         "zusätzlich", "dopisan"],
    "against_all": ["against", "против", "none", "noone", "ninguno", "contra", "contre", "gegen", "przeciw",
                    "проти"],
    "ballots_spoiled": ["spoiled", "destroyed", "испорченн", "deteriorad", "zniszczon"],
}
ORDER = ("invalid", "valid", "registered", "registered_added", "ballots_received", "ballots_issued",
         "ballots_cancelled", "ballots_spoiled", "ballots_found", "signatures", "against_all")
#: header words of columns that are neither fields nor parties
NOT_PARTY = ["total", "sum", "turnout", "percent", "share", "lat", "lon", "latitude", "longitude", "url", "link",
             "code", "kod", "код", "id", "flag", "is", "has", "count", "number", "nr", "no", "observers", "machines",
             "явка", "итого", "всего", "proxy", "certificate", "postal", "envelope", "packages", "declaration",
             # the words protocol lines start with ('number of ...') and ballots: a line, never a party
             "число", "количество", "кількість", "саны", "liczba", "anzahl", "nombre", "número", "numero",
             "ballot", "бюллетен", "бюлетен", "бюллетень", "karty", "kart", "stimmzettel", "papeletas", "boletas",
             "cédulas", "bulletins", "votes_valid", "voted", "votantes"]
#: fields whose several candidate columns are told apart by the values; for the others, several candidates
#: are listed for the user instead of guessed
CORE = ("registered", "valid", "invalid")
LINE_WORDS = [w for f in ("registered", "registered_added", "valid", "invalid") for w in KEYWORDS[f]]
FLAG_WORDS = ["is", "has", "flag", "void", "held", "abroad", "mobile", "ship", "official", "in", "postal",
              "special", "merged", "failed"]
ID_WORDS = ["id", "code", "kod", "код", "number", "nr", "no", "num", "номер", "№"]
#: header words of a long layout's option column (the party, candidate or line of the row) and of its count
OPTION_WORDS = ["party", "candidate", "option", "choice", "list", "partido", "candidato", "opción", "parti",
                "candidat", "partei", "kandidat", "партия", "кандидат", "партія", "partia", "komitet"]
COUNT_WORDS = ["votes", "vote", "count", "votos", "voix", "stimmen", "głos", "glos", "голос", "дауыс", "total"]


@dataclass
class Column:
    """What the sample shows about one column."""

    header: str
    words: list
    numeric: bool = False  # mostly whole numbers
    flag: bool = False  # only 0 and 1
    unique: bool = False
    filled: float = 0.0
    median: float = 0.0
    values: np.ndarray = field(default=None, repr=False)
    text: object = field(default=None, repr=False)  # the cells as text


@dataclass
class Guess:
    field: str
    header: str
    how: str  # the reason in words
    sure: str  # "sure", "likely", "guess"
    others: list = field(default_factory=list)  # other columns that fit the header words


def _words(header) -> list:
    return [w for w in re.split(r"[^\w№]+|_", plain(header)) if w]


def _has(words, keys, min_prefix: int = 4) -> str | None:
    """The first keyword that is one of the words, or (if at least ``min_prefix`` long) starts one."""
    for w in words:
        for k in keys:
            if w == k or (len(k) >= min_prefix and w.startswith(k)):
                return k
    return None


def _columns(src: Source, rows: int) -> tuple:
    cells = src.cells()
    n = min(len(cells), rows)
    out = []
    for h in src.headers:
        arr = cells.columns[h].slice(0, n)
        col = Column(h, _words(h))
        text = col.text = column_text(arr)
        filled = text[text != ""]
        col.filled = len(filled) / max(n, 1)
        col.unique = len(filled) == n and filled.nunique() == n
        values, problems = parse_counts(arr, cells.rows[:n], h)
        if len(filled) and (len(filled) - len(problems)) > 0.9 * len(filled) and not pa.types.is_boolean(arr.type):
            col.numeric, col.values = True, values
            finite = values[~np.isnan(values)]
            col.flag = (bool(len(finite)) and set(np.unique(finite)) <= {0.0, 1.0}
                        and _has(col.words, FLAG_WORDS) is not None)
            col.median = float(np.median(finite)) if len(finite) else 0.0
            # a code with leading zeros ('007') is an id, not a count
            if filled.str.match(r"0\d").mean() > 0.2:
                col.numeric, col.values = False, None
        out.append(col)
    return out, n


def draft(path, rows: int = SAMPLE, name: str | None = None) -> tuple[str, dict]:
    """(the commented TOML draft, the guesses {field: header, "parties": [...], "key": [...]})."""
    src = Source(path, duplicate_headers="number")
    cols, n = _columns(src, rows)
    notes, guesses = [], {}
    ids = _guess_ids(cols, notes)
    long = _long_layout(cols, ids, notes)
    raw = set(src.headers)
    if long is not None:  # one row per station and option: guess the rest on the widened file
        src.widen(Profile("draft", fields={g.field: (g.header,) for g in ids}, key=tuple(g.field for g in ids),
                          long=long), skip=True)
        cols, n = _columns(src, rows)
        if src.skipped:
            notes.append(f"long: {len(src.skipped):,} rows set aside while widening (first: row {src.skipped[0].row}, "
                         f"{src.skipped[0].message}); loading with this profile will name them all")
    by = {c.header: c for c in cols}
    guesses.update({g.field: g for g in ids})
    taken = {g.header for g in ids}
    counts = [c for c in cols if c.numeric and not c.flag and c.header not in taken]
    _guess_fields(counts, taken, guesses, notes)
    parties, how = _guess_parties(cols, counts, taken, guesses, by, notes)
    key = _guess_key(cols, guesses, by, n, notes)
    if long is not None and long.absent == "missing":
        _check_absent([c.header for c in cols if c.header not in raw], by, notes)
    text = _write(path, name, src, guesses, parties, how, key, notes, n, long)
    return text, {**{f: g.header for f, g in guesses.items()}, "parties": parties, "key": key}


def _guess_ids(cols, notes) -> list:
    out, taken = [], set()
    for f in ("pec", "tec", "region"):
        hits = [c for c in cols if c.header not in taken and _has(c.words, KEYWORDS[f]) and len(c.words) <= 4
                and not _has(c.words, KEYWORDS["registered"] + KEYWORDS["valid"] + KEYWORDS["invalid"])
                and not c.flag]
        if f == "pec" and not hits:
            hits = [c for c in cols if c.unique and _has(c.words, ID_WORDS)]
        if not hits:
            notes.append(f"{f}: no column looks like it; add it (or leave it out of the key)")
            continue
        # prefer a name over a code for region, a number for pec; then the one with more distinct values
        best = sorted(hits, key=lambda c: (f == "region" and c.numeric, -c.unique if f == "pec" else 0))[0]
        kind = "header word '" + (_has(best.words, KEYWORDS[f]) or "id") + "'"
        if len(hits) > 1:
            notes.append(f"{f}: also possible: {', '.join(repr(c.header) for c in hits if c is not best)}")
        out.append(Guess(f, best.header, kind, "likely"))
        taken.add(best.header)
    return out


def _long_layout(cols, ids, notes) -> LongLayout | None:
    """One row per station and option: the ids repeat, and one column (the option: a name, else a code) tells a
    station's rows apart while a count changes with it; the other columns that change with it describe the
    option (ignored)."""
    import pandas as pd

    if not ids:
        return None
    by = {c.header: c for c in cols}
    id_headers = [g.header for g in ids]
    frame = pd.DataFrame({h: by[h].text for h in id_headers})
    if not frame.duplicated().any():
        return None
    station = frame.groupby(id_headers, sort=False).ngroup().to_numpy()
    stations = int(station.max()) + 1
    if np.mean(np.bincount(station)[station] > 1) < 0.8:  # a few repeated ids are a key problem, not a layout
        return None
    varies = [c for c in cols if c.header not in id_headers
              and (pd.DataFrame({"s": station, "v": c.text}).groupby("s")["v"].nunique() > 1).any()]
    counts = [c for c in varies if c.numeric]
    if not counts:
        return None
    count = sorted(counts, key=lambda c: (not _has(c.words, COUNT_WORDS), -float(np.nansum(c.values))))[0]
    # the option names each of a station's rows once and repeats across stations (a row id or a count does
    # not); a name before a code
    options = [c for c in varies if c is not count and c.text.nunique() <= stations / 2
               and not pd.DataFrame({"s": station, "v": c.text}).duplicated().any()]
    if not options:
        return None
    option = sorted(options, key=lambda c: (c.numeric, not _has(c.words, OPTION_WORDS), c.text.nunique()))[0]
    ignore = [c.header for c in varies if c is not option and c is not count]
    also = ""
    if ignore:
        one = len(ignore) == 1
        also = (f"; {', '.join(repr(h) for h in ignore)} {'changes' if one else 'change'} with it and "
                f"{'is' if one else 'are'} ignored")
    notes.append(f"long: the ids repeat, one row per station and '{option.header}' ({option.text.nunique():,} "
                 f"values), its count in '{count.header}'{also}")
    # stations without a row for some option, in a file that never writes a 0: it leaves out options with no votes
    short = int(np.sum(np.bincount(station) < option.text.nunique()))
    absent = "zero" if short and not np.any(count.values == 0) else "missing"
    if absent == "zero":
        notes.append(f"long: {short:,} stations have no row for some options and '{count.header}' holds no 0: the "
                     "file leaves out options with no votes (absent = \"zero\"); if a missing row means a figure "
                     "that was not published, write absent = \"missing\"")
    return LongLayout(option.header, count.header, tuple(ignore), absent)


def _check_absent(options, by, notes) -> None:
    """A long file may leave out the rows of options with no votes: say so where stations lack some."""
    gaps = [h for h in options if by[h].values is not None and np.isnan(by[h].values).any()]
    if gaps:
        notes.append(f"long: {len(gaps)} of the options have no row at some stations "
                     f"({', '.join(repr(h) for h in gaps[:3])}): such a count loads as missing, and a party missing "
                     "at stations is left out of the parties above; if the file leaves out options with no votes, "
                     "set [long] absent = \"zero\"")


def _guess_fields(counts, taken, guesses, notes) -> None:
    for f in ORDER:
        hits = [c for c in counts if c.header not in taken and _has(c.words, KEYWORDS[f])]
        if f == "valid":
            hits = [c for c in hits if not _has(c.words, KEYWORDS["invalid"])]
        if not hits:
            continue
        if len(hits) > 1 and f not in CORE:
            notes.append(f"{f}: several columns fit ({', '.join(repr(c.header) for c in hits)}): map the one that "
                         "holds this line, if any (docs/profiles.md lists what each field means)")
            continue
        if f == "registered":  # registered is the largest count
            hits.sort(key=lambda c: -c.median)
        best = hits[0]
        sure = "likely"
        how = f"header word '{_has(best.words, KEYWORDS[f])}'"
        if f == "registered":
            others = [c for c in counts if c is not best]
            larger = np.mean([np.nanmean(best.values >= c.values) for c in others]) if others else 1.0
            if larger > 0.95:
                sure, how = "sure", how + f"; the largest count in {larger:.0%} of rows"
        if len(hits) > 1:
            notes.append(f"{f}: several columns fit ({', '.join(repr(c.header) for c in hits)}); took "
                         f"'{best.header}'" + (" (the largest)" if f == "registered" else
                                              " (see the parties' check below)" if f == "valid" else ""))
        guesses[f] = Guess(f, best.header, how, sure, [c.header for c in hits[1:]])
        taken.add(best.header)
    if "registered" not in guesses and counts:
        best = max(counts, key=lambda c: c.median)
        if best.header not in taken:
            guesses["registered"] = Guess("registered", best.header, "no header word; the largest counts", "guess")
            taken.add(best.header)


def _guess_parties(cols, counts, taken, guesses, by, notes):
    """The party columns and how they are chosen ('columns', or a common prefix)."""
    names = {plain(c.header) for c in cols}
    cand = []
    for c in counts:
        if c.header in taken:
            continue
        base = [x for x in names if x != plain(c.header) and len(x) >= 2
                and (plain(c.header).startswith(x + "_") or plain(c.header).endswith("_" + x))]
        if base:  # 'BSP_paper', 'voice_reg_lukashenko': a part or copy of another column
            continue
        if _has(c.words, LINE_WORDS):  # a protocol line's words: never a party
            continue
        cand.append(c)
    ref = guesses.get("registered")
    if ref is not None:  # published together with the protocol: filled where the protocol is
        mask = ~np.isnan(by[ref.header].values)
        cand = [c for c in cand if np.mean(~np.isnan(c.values) == mask) > 0.95]
    prefix = _common_prefix([c.header for c in cand])
    how = {}
    if prefix:
        cand, how = [c for c in cand if c.header.startswith(prefix)], {"prefix": prefix}
    else:
        # a one-word header ('KOD', 'No') is more likely a party's name than an id word
        cand = [c for c in cand if not _has(c.words, [k for k in NOT_PARTY if len(c.words) > 1 or len(k) >= 5], 5)]
    valid = guesses.get("valid")
    if valid is not None and cand:
        options = [valid.header, *valid.others]
        fits = {h: _closest([c for c in cand if c.header != h], by[h].values) for h in options}
        best = max(options, key=lambda h: _sum_share(fits[h], by[h].values))
        if best != valid.header:  # the valid column is the one the parties add up to
            guesses["valid"] = Guess("valid", best, valid.how + "; the parties add up to it", "sure")
            valid = guesses["valid"]
        cand = [c for c in cand if c.header != best]
        target = by[valid.header].values
        against = guesses.get("against_all")
        if against is not None and _sum_share(cand + [by[against.header]], target) > _sum_share(cand, target):
            target = target - np.nan_to_num(by[against.header].values)  # valid holds 'against all' too
            notes.append(f"valid: '{valid.header}' holds the votes for parties and '{against.header}'; the "
                         "canonical valid is the party votes alone: write valid = { difference = [...] } or "
                         "valid = { sum = \"parties\" } (docs/profiles.md)")
        cand = _closest(cand, target)
        share = _sum_share(cand, target)
        if share > 0.95:
            how["check"] = f"the parties add up to '{valid.header}' in {share:.1%} of rows"
            how["sure"] = "sure"
            guesses["valid"].sure = "sure"
        else:
            how["check"] = f"the parties add up to '{valid.header}' in only {share:.1%} of rows: check the list"
            notes.append("parties: " + how["check"])
    return [c.header for c in cand], how


def _closest(cand, target) -> list:
    """Drop, one at a time, the column whose removal brings the parties' sum closest to the valid votes."""
    ok = ~np.isnan(target)
    if not cand or not ok.any():
        return cand
    m = np.column_stack([np.nan_to_num(c.values[ok]) for c in cand])
    keep = np.ones(m.shape[1], bool)
    gap = m.sum(axis=1) - target[ok]
    best = float(np.mean(np.abs(gap)))
    while keep.sum() > 1 and best > 0:
        errors = np.mean(np.abs(gap[:, None] - m), axis=0)
        errors[~keep] = np.inf
        i = int(np.argmin(errors))
        if errors[i] >= best:
            break
        best, keep[i], gap = float(errors[i]), False, gap - m[:, i]
    return [c for c, k in zip(cand, keep) if k]


def _sum_share(cols, target) -> float:
    total = np.sum([np.nan_to_num(c.values) for c in cols], axis=0)
    ok = ~np.isnan(target)
    return float(np.mean(total[ok] == target[ok])) if ok.any() else 0.0


def _common_prefix(headers) -> str:
    """A prefix ending in '_' shared by three or more columns, most of them: 'votes_'."""
    counts = {}
    for h in headers:
        m = re.match(r"^([^_]+_)", h)
        if m:
            counts[m[1]] = counts.get(m[1], 0) + 1
    best = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
    return best[0] if best[1] >= 3 and best[1] >= 0.6 * len(headers) else ""


def _guess_key(cols, guesses, by, n, notes) -> list:
    ids = [f for f in ("region", "tec", "pec") if f in guesses]
    if not ids:
        return ["source_row"]
    import pandas as pd

    frame = pd.DataFrame({f: by[guesses[f].header].text for f in ids})
    if not frame.duplicated(ids).any():
        return ids
    notes.append("key: the ids repeat in the sample; the source row number is added to tell the rows apart "
                 "(check whether these are really different stations)")
    return [*ids, "source_row"]


def _write(path, name, src, guesses, parties, how, key, notes, n, long=None) -> str:
    from pathlib import Path

    stem = re.sub(r"\W+", "_", Path(str(path)).name.split(".")[0]).strip("_").lower() or "draft"
    lines = [f"# Draft profile for {Path(str(path)).name}, guessed from its header and {n:,} rows.",
             "# Check every line marked 'likely' or 'guess', and the notes at the end; then load with",
             f"#   forensics load {path} --profile {stem}.toml",
             "# (docs/profiles.md explains every key).",
             f'name = "{name or stem}"',
             f'description = "Draft for {Path(str(path)).name}"']
    if key != ["region", "tec", "pec"]:
        lines.append(f"key = {_toml_list(key)}")
    read = []
    if src.info.get("delimiter") not in (None, ","):
        read.append(f"delimiter = {_toml_str(src.info['delimiter'])}")
    if src.info.get("numbered_headers"):
        read.append('duplicate_headers = "number"   # the file repeats headers: '
                    + ", ".join(repr(h) for h in src.info["numbered_headers"]) + " are the copies")
    if read:
        lines += ["", "[read]", *read]
    if long is not None:
        lines += ["", "[long]   # likely: one row per station and option (see the notes at the end)",
                  f"option = {_toml_str(long.option)}", f"count = {_toml_str(long.count)}"]
        if long.ignore:
            lines.append(f"ignore = {_toml_list(long.ignore)}")
        if long.absent == "zero":
            lines.append('absent = "zero"   # likely: the file writes no 0 and leaves some options out')
    lines.append("\n[fields]")
    for f in ("region", "tec", "pec", *ORDER):
        g = guesses.get(f)
        if g is not None:
            lines.append(f"{f} = {_toml_str(g.header)}   # {g.sure}: {g.how}")
    lines.append("\n[parties]")
    if how.get("prefix"):
        lines.append(f"prefix = {_toml_str(how['prefix'])}   # {len(parties)} columns start with it")
    else:
        lines.append("columns = [" + ", ".join(_toml_str(p) for p in parties) + "]")
    if how.get("check"):
        lines.append(f"# {how.get('sure', 'guess')}: {how['check']}")
    lines.append("\n[meta]\npercent_base = \"valid\"   # what the authority divides party votes by: valid or cast")
    if notes:
        lines.append("\n# Not decided, or worth a look:")
        lines += [f"#  - {x}" for x in notes]
    return "\n".join(lines) + "\n"


def _toml_str(s) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(items) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"
