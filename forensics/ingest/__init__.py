"""Ingest: read a results file, map it with a profile, validate, return an Election."""
from .detect import detect_profile
from .load import MARKED, excluded_rows, load, source_rows
from .profile_toml import available_profiles, load_profile
from .profiles import Profile, to_layout

__all__ = ["load", "available_profiles", "load_profile", "to_layout", "detect_profile", "Profile", "source_rows",
           "excluded_rows", "MARKED"]
