# The README's two commands: `make lab` (set up and open the course) and `make test`
# (set up and run the test suite, within 15 minutes on 2 cores); `make test-slow` runs the suites
# that drive whole notebooks end to end (the browser, the grader's sample classes), `make test-all`
# both (what CI runs, .ci/run); `make instructor` opens the course with nbgrader's tools. Each
# installs into .venv first, on any machine with Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# Slow suites, each of them end to end: a student in a real browser (tests/browser), the grader
# grading every sample class (tests/grader/test_samples.py; test_attacks.py reads the same graded
# class), and the grader's time limits and distributed runs, which wait out their deadlines
# (test_limits.py, test_distributed.py). `make test` leaves them to `make test-slow`.
SLOW_TESTS := tests/browser tests/grader/test_samples.py tests/grader/test_attacks.py \
              tests/grader/test_limits.py tests/grader/test_distributed.py

.PHONY: lab instructor test test-slow test-all install build check-build bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (nbgrader 0.9.6): run make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@# the grader's sandbox per submission; a machine without one grades and says so at every run
	$(BIN)/grader sandbox install || echo "note: no sandbox for the grader here (see grader/README.md)"
	touch $@

install: $(STAMP)

# The student's JupyterLab on course/ (labkit/jupyter/launch.py: 127.0.0.1 only, no instructor
# tools, stops the local clouds it started when it ends). LAB_ARGS go to `labkit lab`, and through
# it to Jupyter: make lab LAB_ARGS="--port 8890 --no-browser"
lab: $(STAMP)
	$(BIN)/labkit lab $(LAB_ARGS)

# The instructor's: nbgrader's formgrader, Create Assignment and Validate, on the nbgrader course
# in .labkit-instructor/ (made with `grader init` the first time).
instructor: $(STAMP)
	$(BIN)/labkit lab --instructor $(LAB_ARGS)

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(SLOW_TESTS:%=--ignore=%) $(PYTEST_ARGS)

test-slow: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(SLOW_TESTS) $(PYTEST_ARGS)

test-all: test test-slow

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
