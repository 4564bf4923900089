# Two entry points (see README): `make test` and `make demo`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: test demo lint pytest lit install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lit: $(STAMP)
	$(BIN)/lit -sv --order=lexical lit_tests

test: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/ruff check . && \
	$(BIN)/lit -s --order=lexical lit_tests && \
	$(BIN)/python -m pytest -q -p no:cacheprovider && \
	echo "make test: done in $$(( $$(date +%s) - start )) s"

demo: $(STAMP)
	$(BIN)/python -m axc.demo

clean:
	rm -rf $(VENV) build *.egg-info lit_tests/**/Output
