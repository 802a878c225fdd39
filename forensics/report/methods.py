"""Plain-words descriptions of the methods and their references, for section 8 of the report.

Section names and method texts are marked for the message catalogs (``N_``)
and translated where the page is rendered; references stay as published.
"""
from __future__ import annotations

from ..i18n import N_

SECTIONS = (
    ("summary", N_("1. What the data show")),
    ("arithmetic", N_("2. Protocol arithmetic")),
    ("fingerprints", N_("3. Fingerprints and distributions")),
    ("digits", N_("4. Digit tests")),
    ("regions", N_("5. Regions")),
    ("stations", N_("6. Flagged polling stations")),
    ("excluded", N_("7. What was left out and why")),
    ("methods", N_("8. Methods, references and provenance")),
)

METHODS = {
    "fingerprint": {"text": N_("Counts stations by turnout and by the leader's share in a two-dimensional histogram. "
                            "Clean elections form one round cloud; ballot stuffing drags a tail towards 100% turnout "
                            "and 100% share."), "refs": ["klimek2012"]},
    "klimek_fit": {"text": N_("Fits Klimek's model, in which a fraction of stations gets extra ballots for the leader "
                           "(incremental fraud) and a small fraction reports nearly everything for the leader "
                           "(extreme fraud), to the fingerprint."), "refs": ["klimek2012"]},
    "excess_votes": {"text": N_("Shpilkin's estimate: assumes the leader's share among voters does not depend on "
                             "turnout above the most common turnout, and counts the leader's votes beyond that "
                             "as excess. Regional differences can bias it."), "refs": ["kobak2016"]},
    "cumulative_votes": {"text": N_("Adds up the leader's votes from the lowest-turnout stations to the highest; "
                                 "an honest curve flattens at high turnout."), "refs": ["klimek2012"]},
    "integer_percentages": {"text": N_("Counts stations whose turnout or leader share is a whole percentage and "
                                    "compares with the number expected if every station's counts varied at random "
                                    "around its own rates (each station's own chance of a whole percentage, "
                                    "added up)."), "refs": ["kobak2016"]},
    "coarse_shares": {"text": N_("Checks whether shares pile up on round fractions (halves, quarters, tenths) more "
                              "than chance would give."), "refs": ["kobak2016"]},
    "turnout_share_correlation": {"text": N_("Measures whether the leader's share rises with turnout across "
                                          "stations; in an honest election it usually does not much."),
                                  "refs": ["myagkov2009"]},
    "turnout_regression": {"text": N_("Regresses each party's votes (as a share of voters on the list) on turnout "
                                   "(Sobyanin-Sukhovolsky): a party gaining more than one extra vote per extra "
                                   "voter, or others losing votes as turnout rises, is the stuffing pattern."),
                           "refs": ["myagkov2009"]},
    "vote_rate_collapse": {"text": N_("Compares the spread of log vote rates with what clean elections show "
                                   "(kurtosis and skewness near those of a normal curve)."), "refs": ["klimek2012"]},
    "dip_test": {"text": N_("Hartigan's dip test asks whether the turnout distribution has more than one peak."),
                 "refs": ["hartigan1985"]},
    "last_digit_test": {"text": N_("The last digit of counts over a few dozen should be any of 0-9 with equal "
                                "chance; people inventing numbers favour some digits."), "refs": ["beber2012"]},
    "second_digit_test": {"text": N_("Compares the second digit of the counts with Benford's law for second "
                                  "digits (2BL); a rough screen, known to misfire on honest data too."),
                          "refs": ["mebane2006"]},
    "digit_pairs_test": {"text": N_("Counts repeated and adjacent final-digit pairs, which people inventing "
                                 "numbers avoid or favour."), "refs": ["beber2012"]},
    "basic_battery": {"text": N_("The Election Forensics Toolkit's basic digit and distribution tests."),
                      "refs": ["mebane2006"]},
}

REFERENCES = {
    "klimek2012": "Klimek, Yegorov, Hanel & Thurner (2012). Statistical detection of systematic election "
                  "irregularities. PNAS 109(41), 16469-16473.",
    "kobak2016": "Kobak, Shpilkin & Pshenichnikov (2016). Integer percentages as electoral falsification "
                 "fingerprints. Annals of Applied Statistics 10(1), 54-73.",
    "beber2012": "Beber & Scacco (2012). What the numbers say: a digit-based test for election fraud. "
                 "Political Analysis 20(2), 211-234.",
    "mebane2006": "Mebane (2006). Election forensics: vote counts and Benford's law. Political Methodology "
                  "Society meeting.",
    "myagkov2009": "Myagkov, Ordeshook & Shakin (2009). The Forensics of Election Fraud: Russia and Ukraine. "
                   "Cambridge University Press.",
    "hartigan1985": "Hartigan & Hartigan (1985). The dip test of unimodality. Annals of Statistics 13(1), 70-84.",
    "bh1995": "Benjamini & Hochberg (1995). Controlling the false discovery rate. JRSS B 57(1), 289-300.",
}
