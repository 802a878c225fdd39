"""Observer audit: protocol copies against official results.

Read the observers' transcriptions (``read_transcriptions``, layout from
``template``), reconcile two independent entries (``double_entry``), record
the photos' chain of custody (``manifest``, ``check_photos``), compare copy
and official figures station by station (``compare``), add up the impact
(``impact``, ``recomputed``), write evidence sheets in en, ru or kk
(``write_evidence``), and
estimate the result from a sample (``pvt``, ``observer_effect``).
``observer_copies`` simulates all of it with known truth; ``run_audit`` is
the whole workflow from files to an output folder.
"""
from .compare import ALLEGED, CLASSES, Comparison, classify, compare, digit_slip
from .entry import DoubleEntry, double_entry
from .evidence import ElectionInfo, complaint_paragraph, render_sheet, write_evidence
from .impact import impact, recomputed
from .photos import (PhotoInfo, check_photos, exif_datetime, image_type, inspect_photo, manifest, open_regular,
                     safe_path)
from .run import run_audit
from .sample import PVT, observer_effect, pvt, ratio_estimate
from .simulate import AuditSimulation, observer_copies
from .stations import match_stations, protocol_lines
from .transcription import PROVENANCE_COLUMNS, read_transcriptions, template

__all__ = [
    "ALLEGED", "CLASSES", "Comparison", "classify", "compare", "digit_slip",
    "DoubleEntry", "double_entry",
    "ElectionInfo", "complaint_paragraph", "render_sheet", "write_evidence",
    "impact", "recomputed",
    "PhotoInfo", "check_photos", "exif_datetime", "image_type", "inspect_photo", "manifest", "open_regular",
    "safe_path",
    "run_audit",
    "PVT", "observer_effect", "pvt", "ratio_estimate",
    "AuditSimulation", "observer_copies",
    "match_stations", "protocol_lines",
    "PROVENANCE_COLUMNS", "read_transcriptions", "template",
]
