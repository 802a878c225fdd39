"""The package version, in one place (the CLI, provenance records and evidence sheets read it here)."""
__version__ = "0.1.0"
