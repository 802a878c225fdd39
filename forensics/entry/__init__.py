"""``forensics entry``: observers' double entry of protocol photos, in a browser.

A small web application an observer group runs on one laptop or server
(``pip install election-forensics[entry]``): coordinators set up an election
from a profile and a station list, take in protocol photos, assign stations;
typists enter each protocol beside its photo, with the profile's control
relations checked as they type; two blind entries per protocol are compared
and a coordinator resolves differences; the result is exported in the
observer audit's transcription layout and audited.  ``xlsform`` and
``import`` do the same for field collection with ODK Collect / KoboToolbox.

Modules: ``workspace`` (the election's folder), ``database`` / ``models`` /
``migrations`` (SQLAlchemy 2 + Alembic), ``auditlog`` (the change log),
``auth`` (accounts, sessions), ``election`` (set-up), ``protocol`` (the form
and its rules), ``photos`` (intake), ``double`` (double entry), ``export``,
``xlsform``, ``odk`` (import), ``app`` / ``typist`` / ``coordinator`` (pages).
"""
from .election import init_election

__all__ = ["init_election", "create_app"]


def create_app(directory, database_url=None):
    """The Flask application of the election set up in ``directory`` (imports Flask on first use)."""
    from .app import create_app as factory

    return factory(directory, database_url)
