# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test install clean eval

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mailorder demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

eval: $(STAMP)
	$(BIN)/mailorder eval --dataset ../shared/eval/dev --out results/dev.jsonl

clean:
	rm -rf $(VENV) build *.egg-info
