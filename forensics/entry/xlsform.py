"""The protocol form as an XLSForm, for field collection with ODK Collect or KoboToolbox.

The same lines as the web form (numbered, in the profile's wording), a photo
question, and the same rules of ``forensics.reconcile`` written as XPath:
each rule becomes a ``calculate`` that is 1 when the figures break it (0
while a line it needs is blank).  A broken error rule asks the observer to
confirm that the protocol itself says so (a constraint only "yes" passes,
so the relation holds or is confirmed as written, never silently kept);
a broken warning shows a note.  ``forensics entry import`` reads the
submissions back.
"""
from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook

from ..reconcile.rules import DERIVED, parse_formula, parse_side
from .protocol import ProtocolForm

SURVEY = ["type", "name", "label", "hint", "required", "constraint", "constraint_message", "relevant",
          "calculation", "appearance", "parameters"]


def question_names(form: ProtocolForm) -> dict[str, str]:
    """Line key -> XLSForm question name (fields keep their canonical name; parties are party_1, ...)."""
    return {line.key: (f"party_{line.number - len(form.fields)}" if line.party else line.key) for line in form.lines}


def _short(code: str) -> str:
    return re.sub(r"\W", "_", code.split("-", 1)[0])


class _XPath:
    """Rule formulas as XPath over the form's questions (the same derived quantities as the web form)."""

    def __init__(self, form: ProtocolForm):
        self.names = question_names(form)
        self.parties = [self.names[p] for p in form.parties]
        self.derived = {}
        for name, alternatives in DERIVED.items():
            for alternative in alternatives:
                terms = parse_side(alternative)
                if all(t.optional or t.name is None or t.name in self.names for t in terms):
                    self.derived[name] = terms
                    break

    def value(self, name: str, optional: bool, needed: list) -> str | None:
        if name in self.names:
            ref = "${%s}" % self.names[name]
            if optional:
                return f"coalesce({ref}, 0)"
            needed.append(ref)
            return ref
        if name == "party_votes" and self.parties:
            needed += ["${%s}" % p for p in self.parties]
            return "(" + " + ".join("${%s}" % p for p in self.parties) + ")"
        if name in self.derived:
            return self.side(self.derived[name], needed)
        return None

    def side(self, terms, needed: list) -> str | None:
        parts = []
        for t in terms:
            if t.name is None:
                text = f"{t.constant:g}"
            else:
                text = self.value(t.name, t.optional, needed)
                if text is None:
                    if t.optional:
                        continue
                    return None
            parts.append(("- " if t.sign < 0 else "+ ") + text)
        joined = " ".join(parts)
        return "(" + (joined[2:] if joined.startswith("+ ") else "0 " + joined) + ")"

    def broken(self, rule) -> str:
        """XPath that is 1 when the rule is broken, 0 otherwise or while a line it needs is blank."""
        needed: list[str] = []
        lhs_t, op, rhs_t = parse_formula(rule.formula)
        lhs, rhs = self.side(lhs_t, needed), self.side(rhs_t, needed)
        d = f"({lhs} - {rhs})"
        tol = rule.tolerance.resolve(rule.params)
        if op == "!=":
            bad = f"{d} = 0"
        else:
            gap = {"==": f"abs{d}", "<=": d, ">=": f"(0 - {d})"}[op]
            reach = []
            if tol.absolute is not None:
                reach.append(f"{gap} >= {tol.absolute:g}")
            if tol.relative is not None:
                reach.append(f"{gap} >= {tol.relative:g} * {self.value(tol.base, False, needed)}")
            bad = f"{gap} > 0" + (" and (" + " or ".join(reach) + ")" if reach else "")
        if rule.when:
            wl, wop, wr = parse_formula(rule.when)
            wd = f"({self.side(wl, needed)} - {self.side(wr, needed)})"
            bad += f" and {wd} {'=' if wop == '==' else wop} 0"
        filled = " and ".join(f"string-length({r}) > 0" for r in dict.fromkeys(needed)) or "true()"
        return f"if({filled} and {bad}, 1, 0)"


def survey_rows(form: ProtocolForm) -> list[dict]:
    """The rows of the survey sheet."""
    rows = [
        {"type": "begin_group", "name": "station", "label": "Polling station"},
        {"type": "text", "name": "region", "label": form.profile.header("region")},
        {"type": "text", "name": "tec", "label": form.profile.header("tec")},
        {"type": "text", "name": "pec", "label": form.profile.header("pec"), "required": "yes"},
        {"type": "end_group", "name": "station"},
        {"type": "text", "name": "observer", "label": "Observer code (not your name)", "required": "yes"},
        {"type": "image", "name": "protocol_photo", "label": "Photo of the whole results protocol, readable",
         "required": "yes", "parameters": "max-pixels=3000"},
        {"type": "dateTime", "name": "taken_at", "label": "When the photo was taken or the copy handed over"},
        {"type": "begin_group", "name": "protocol", "label": "The protocol, line by line, exactly as written"},
    ]
    names = question_names(form)
    for line in form.lines:
        rows.append({"type": "integer", "name": names[line.key], "label": f"{line.number}. {line.label}",
                     "hint": "Leave empty only if the figure cannot be read.", "constraint": ". >= 0",
                     "constraint_message": "A figure on the protocol is a whole number, 0 or more."})
    rows.append({"type": "end_group", "name": "protocol"})
    xp = _XPath(form)
    for rule in form.rules:
        short = _short(rule.code)
        rows.append({"type": "calculate", "name": f"broken_{short}", "calculation": xp.broken(rule)})
        text = f"{rule.code}: {rule.title}. {rule.explanation}"
        if rule.severity == "error":
            rows.append({"type": "select_one yes_no", "name": f"confirm_{short}", "required": "yes",
                         "label": f"{text} The figures entered break this control relation. "
                                  "Are they exactly as written on the protocol?",
                         "relevant": f"${{broken_{short}}} = 1", "constraint": ". = 'yes'",
                         "constraint_message": "Go back and correct the figure you mistyped; answer yes only if "
                                               "the protocol itself says so."})
        else:
            rows.append({"type": "note", "name": f"warn_{short}", "label": f"Check: {text}",
                         "relevant": f"${{broken_{short}}} = 1"})
    return rows


def write_xlsform(form: ProtocolForm, path, title: str = "Protocol of the polling station", form_id: str = "protocol"):
    """Write the XLSForm (survey, choices, settings sheets) to ``path``."""
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(SURVEY)
    for row in survey_rows(form):
        survey.append([row.get(c, "") for c in SURVEY])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["yes_no", "yes", "Yes, the protocol says so"])
    choices.append(["yes_no", "no", "No, I will correct it"])
    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "instance_name"])
    settings.append([title, form_id, "1", "concat(${pec}, ' ', ${observer})"])
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
