# Two commands on a fresh machine: `make demo` and `make test` (`.ci/run` runs `make lint test`).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# the versions the tests passed with (regenerate with `make constraints` after changing dependencies)
CONSTRAINTS = constraints.txt

.PHONY: demo test lint install clean eval constraints messages

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev,postgres,console,test,lint]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mailorder demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# ruff (lint + format) and mypy; mypy finds the package `mailorder` through .lint/mailorder -> ..
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p .lint && ln -sfn .. .lint/mailorder
	$(BIN)/mypy -p mailorder

eval: $(STAMP)
	$(BIN)/mailorder eval --dataset ../shared/eval/dev --out results/dev.jsonl

# the mail catalogs: extract the template's messages, then write nl/de from mail/locale/translations.py
messages: $(STAMP)
	$(BIN)/pybabel extract -F mail/locale/babel.cfg -k N_ -k _ -k tr:2 --no-location --sort-output \
		--omit-header -o mail/locale/mailorder.pot .
	$(BIN)/python mail/locale/translations.py

constraints: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^mailorder' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) build *.egg-info .lint
