# Two commands set everything up on a fresh machine with python3 and make:
#   make demo   -- run the main job
#   make test   -- run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDENT_VENV := .venv-student
KERNEL_VENV  := .venv-kernel
KERNEL_STAMP := $(KERNEL_VENV)/.installed
# What a student kernel (and the timing box beside it) may use; a new entry reinstalls.
KERNEL_PACKAGES := numpy sympy matplotlib ipykernel cloudpickle

.PHONY: demo test lint lab bench clean kernel-env sandbox-tools postgres-tools FORCE

# Reinstall only when pyproject.toml changed (the stamp is older than it).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

# The sandbox: bubblewrap (installed with apt when we are root on Debian/Ubuntu, as in CI)
# and a student environment with only what student kernels need.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null)); \
	  else echo "bubblewrap is missing: install it (e.g. sudo apt-get install bubblewrap)" >&2; \
	       exit 1; fi; }

# PostgreSQL for tests/test_postgres.py (a throwaway server holds the class gradebook),
# installed the same way; Debian keeps initdb and pg_ctl in /usr/lib/postgresql/*/bin.
# Elsewhere that test is skipped with a note.
postgres-tools:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    (apt-get install -y -qq postgresql >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null)); \
	  else echo "PostgreSQL is missing, tests/test_postgres.py will be skipped: install it" \
	       "(e.g. sudo apt-get install postgresql)" >&2; fi; }

$(KERNEL_STAMP): FORCE
	@test -x $(KERNEL_VENV)/bin/python || $(PYTHON) -m venv $(KERNEL_VENV)
	@test "$$(cat $@ 2>/dev/null)" = "$(KERNEL_PACKAGES)" || { \
	  $(KERNEL_VENV)/bin/python -m pip install --quiet $(KERNEL_PACKAGES) && \
	  echo "$(KERNEL_PACKAGES)" > $@; }

FORCE:

kernel-env: sandbox-tools $(KERNEL_STAMP)

demo: $(STAMP) kernel-env
	$(BIN)/rope-course demo

test: $(STAMP) kernel-env postgres-tools
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# Benchmarks (GitHub issue 8): writes bench/results.md.  The full run (7 interleaved repetitions
# of four grading modes over 20 students x 2 notebooks) takes about 2 h 20 min on 2 cores; a
# quicker look: $(BIN)/python -m bench.run --students 10 --throughput-repeats 2 (25 min).
bench: $(STAMP) kernel-env
	$(BIN)/python -m bench.run

lab: $(STUDENT_VENV)/.installed
	cd course/release && ../../$(STUDENT_VENV)/bin/jupyter lab

clean:
	rm -rf $(VENV) $(KERNEL_VENV) $(STUDENT_VENV) .pytest_cache .ruff_cache build *.egg-info

# Students: JupyterLab with only what the notebooks need.
$(STUDENT_VENV)/.installed:
	@test -x $(STUDENT_VENV)/bin/python || $(PYTHON) -m venv $(STUDENT_VENV)
	$(STUDENT_VENV)/bin/python -m pip install --quiet jupyterlab numpy sympy matplotlib ipykernel
	@touch $@
