# Two doors: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip install --constraint constraints.txt

.PHONY: install demo test test-fast lint bench results clean browser
CHROMIUM := apt-get update -qq && apt-get install -y -qq chromium
DEMO_STAMP := $(VENV)/.installed-demo

# The demo needs the base install only (simulator, rules, report, ONNX runtime; no torch).
$(DEMO_STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(PIP) --quiet -e .
	touch $(DEMO_STAMP)

# Tests need everything: training (torch's CPU build, pinned in constraints.txt), Ray, the zoo.
$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(PIP) --quiet torch==2.13.0
	$(PIP) --quiet -e ".[learn,dev,ray,zoo]"
	touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/allocsim benchmark --scenario retail-small --episodes 20

# The report test drives Debian's chromium headless (Playwright, no browser download).
# Installed once, quietly; its log goes to .venv/chromium-install.log.
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the report test (once; log in $(VENV)/chromium-install.log)"; \
	  if [ "$$(id -u)" = 0 ]; then sh -c "$(CHROMIUM)"; else sudo sh -c "$(CHROMIUM)"; fi \
	    > $(VENV)/chromium-install.log 2>&1 || { tail -20 $(VENV)/chromium-install.log; exit 1; }; }

# Everything, slow end-to-end tests included (what CI runs). worksteal: a worker that runs out
# takes half of what the other has not started (tests/conftest.py starts the slow modules first).
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist worksteal --durations=10

# Quick local loop: the same without the tests marked slow (training, real CLI processes, Ray).
test-fast: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow"

bench: $(STAMP)
	$(PIP) --quiet -e ".[dev,bench]"
	$(BIN)/python bench/bench_env.py
	$(BIN)/python bench/bench_engine.py --ppo
	$(BIN)/python bench/bench_events.py
	$(BIN)/python bench/bench_modes.py
	$(BIN)/python bench/bench_bounds.py
	$(BIN)/python bench/bench_sweep.py
	$(BIN)/python bench/bench_inference.py
	$(BIN)/python bench/bench_rules.py
	$(BIN)/python bench/bench_soak.py

results: $(STAMP)
	$(BIN)/allocsim results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
