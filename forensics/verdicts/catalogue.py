"""The headlines, described as data (``Check``): question, statistic, null, what is and is not ruled out."""
from __future__ import annotations

from ..i18n import N_
from .result import Check

__all__ = ["CHECKS", "SMALL_STATION", "CLUSTER_TURNOUT", "CLUSTER_SHARE", "INSTITUTION_RATE"]

#: stations with fewer voters on the list can reach 100% turnout or a unanimous vote honestly
SMALL_STATION = 100
#: a station is in the 100% cluster at this turnout (rounds to 100%) ...
CLUSTER_TURNOUT = 0.995
#: ... and at least this share of the ballots cast for the party
CLUSTER_SHARE = 0.95
#: closed institutions (military units, hospitals, ships) allowed to sit in the cluster honestly, per station
INSTITUTION_RATE = 0.001

CHECKS = {
    "integer": Check(
        code="integer", title=N_("Whole-number percentages"), kind="fraud pattern",
        question="Do more stations than chance report a turnout or a party result that is a whole percentage "
                 "(within 0.05 points)?",
        statistic="stations with a whole-number turnout (ballots issued / voters on the list) or result "
                  "(votes / ballots found), stations of 100+ voters, values up to 99% (Kobak et al. 2016)",
        null="each station's figures come from honest counting: ballots issued ~ Bin(voters, its turnout), "
             "votes ~ Bin(ballots, its result); the count of whole percentages is then a sum of independent "
             "events with known probabilities, and its upper tail is exact (saddlepoint)",
        ruled_out=(N_("small stations, where 1/2 or 1/3 are whole percentages by arithmetic (the null keeps every "
                      "station's size)"),
                   N_("any demography or regional pattern: the null is each station's own figures")),
        not_ruled_out=(N_("a commission that rounds honestly counted figures when it writes the protocol"),),
        effect_units="stations"),
    "stuffing": Check(
        code="stuffing", title=N_("Extra ballots that go to one party only"), kind="fraud pattern",
        question="Inside neighbourhoods (runs of consecutive stations of a TEC), do stations with higher turnout "
                 "than their neighbours give the other parties far less than their share of the extra ballots?",
        statistic="kappa: the others' part of each extra ballot relative to their part of all ballots (1 when "
                  "voters vote as their neighbours do, 0 when every extra ballot goes to the party)",
        null="kappa is at least 0.5: demography inside a neighbourhood lowers it, but clean elections (0.7-1.2 "
             "by region) and realistic simulations stay above 0.5; TEC-clustered standard errors",
        ruled_out=(N_("turnout and support differing between regions, districts and neighbourhoods (each station is "
                      "compared with its neighbours only)"),
                   N_("the party's voters turning out more inside a neighbourhood, up to the strongest coupling seen "
                      "in clean elections"),
                   N_("single closed institutions (stations far from their neighbours are left to the station "
                      "evidence)")),
        not_ruled_out=(N_("stronger local demographic coupling than in any clean election checked"),
                       N_("stuffing applied evenly to every station of a district, which looks like a district that "
                          "votes more and is not detected here")),
        effect_units="votes"),
    "turnout_100": Check(
        code="turnout_100", title=N_("A cluster of stations at 100% turnout and a near-unanimous vote"),
        kind="fraud pattern",
        question="Do more stations than closed institutions can explain report 100% turnout with at least 95% "
                 "of the ballots for the party?",
        statistic="stations of 100+ voters with turnout (ballots issued / voters on the list) of 99.5-100% and "
                  "the party's share of the ballots cast at least 95%",
        null="at most 1 station in 1,000 is a closed institution (military unit, hospital, ship) that votes "
             "this way honestly; binomial tail",
        ruled_out=(N_("small electorates (stations under 100 voters are not counted)"),
                   N_("ill-defined lists (turnout above 100%: voters added on the day) are not counted"),
                   N_("closed institutions up to 1 station in 1,000")),
        not_ruled_out=(N_("a country with far more closed institutions than 1 station in 1,000"),),
        effect_units="stations"),
    "digits": Check(
        code="digits", title=N_("Last digits of the vote counts"), kind="fraud pattern",
        question="Are the last digits of the party counts (10 votes or more) spread as honest counts are?",
        statistic="chi-square of the last digits against the shares implied by the smoothed distribution of the "
                  "counts (Beber & Scacco, with the small-count correction)",
        null="honest counts: last digits follow the smooth histogram of the counts (uniform where counts spread "
             "evenly, more low digits where small counts dominate)",
        ruled_out=(N_("many small counts, which honestly favour low last digits"),),
        not_ruled_out=(N_("a rounding habit of honest commissions"),),
        effect_units="points"),
    "arithmetic": Check(
        code="arithmetic", title=N_("Protocols whose arithmetic does not add up"), kind="protocol",
        question="Do any protocols break the control relations of the protocol form (errors, not warnings)?",
        statistic="stations with at least one error of the reconciliation rules",
        null="an honest, carefully filled protocol satisfies every control relation",
        ruled_out=(N_("stations without a voter list (advance and postal votes): rules about the list are not "
                      "applied there"),),
        not_ruled_out=(N_("honest clerical mistakes, which clean elections also have (typically under 1% of "
                          "stations)"),),
        effect_units="stations"),
}
