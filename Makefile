# The README's two commands: `make lab` (set up and open the course) and `make test`
# (set up and run every test). Both install into .venv first, on any machine with Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: lab test install build check-build bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (nbgrader 0.9.6): run make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(STAMP)

# Binds 127.0.0.1 only. Jupyter refuses to run as root unless told (containers, CI machines).
lab: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/course $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

# Regenerate both languages and the student versions from their sources.
build: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m coursebuild
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grader.samples.make_samples

# Are the built notebooks up to date with their sources, and every translation current?
check-build: $(STAMP)
	$(BIN)/python -m coursebuild --check --strict

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache
