# Entry points that work on a fresh machine with only Python 3.11:
#   make demo        scan the embedded demo election and write reports/demo/report.html
#   make test        run the default test suite (everything not marked slow; minutes)
#   make test-slow   run the tests marked slow: calibrations on many simulated elections,
#                    real-data reproductions, notebooks, the browser check, packaging and
#                    other end-to-end runs
# `make messages` re-extracts the translatable strings and updates the en/ru/kk catalogs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow benchmarks clean lock messages

# Versions are pinned by constraints.txt so a fresh clone gets what CI had; `make lock`
# refreshes it from the newest releases that pyproject.toml allows.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/forensics demo --out reports/demo

test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slow"

test-slow: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -m slow

benchmarks: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) reports/demo test-artifacts

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
	rm -rf .lock-venv

# Translations: extract every marked string (Python: _ gettext ngettext N_ Message plural_message;
# templates: {% trans %}, _(), ngettext()) into forensics/locale/forensics.pot, then merge it into
# each language's forensics.po. New or changed strings arrive empty or marked fuzzy: translate them
# and remove the fuzzy flag (tests/test_i18n.py fails until every msgstr of ru and kk is filled).
# A new language: $(BIN)/pybabel init -D forensics -d forensics/locale -i forensics/locale/forensics.pot -l LANG
LOCALES := en ru kk
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k Message:1 -k plural_message:1,2 --add-location=file -w 100 \
		--sort-by-file --project=election-forensics -o forensics/locale/forensics.pot forensics
	for lang in $(LOCALES); do \
		$(BIN)/pybabel update -D forensics -d forensics/locale -i forensics/locale/forensics.pot -l $$lang \
			--ignore-obsolete -w 100 || exit 1; \
	done
