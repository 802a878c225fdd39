"""Ingest: read a results file, map it with a profile, validate, return an Election."""
from .load import load, source_rows
from .profiles import Profile, available_profiles, detect_profile, load_profile, to_layout

__all__ = ["load", "available_profiles", "load_profile", "to_layout", "detect_profile", "Profile", "source_rows"]
