# Two commands set everything up on a fresh machine with python3 and make:
#   make demo   -- run the main job
#   make test   -- run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDENT_VENV := .venv-student

.PHONY: demo test lint lab bench clean

# Reinstall only when pyproject.toml changed (the stamp is older than it).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rope-course demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

lab: $(STUDENT_VENV)/.installed
	cd course/release && ../../$(STUDENT_VENV)/bin/jupyter lab

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info

# Students: JupyterLab with only what the notebooks need.
$(STUDENT_VENV)/.installed:
	@test -x $(STUDENT_VENV)/bin/python || $(PYTHON) -m venv $(STUDENT_VENV)
	$(STUDENT_VENV)/bin/python -m pip install --quiet jupyterlab numpy sympy matplotlib ipykernel
	@touch $@
