"""The demo election shipped inside the package, so an installed ``forensics demo`` reads the same file.

Synthetic (made by ``forensics simulate --preset kz-demo --seed 2021``); ``data/README.md`` in the
source distribution describes it and the fraud injected into it.
"""
from pathlib import Path

#: 10,000 polling-station protocols in the ``kz_cec`` layout
DEMO_FILE = Path(__file__).with_name("demo_kz.csv")
#: the per-station ground truth: which fraud was injected where, and how much
DEMO_TRUTH_FILE = Path(__file__).with_name("demo_kz_truth.csv")
