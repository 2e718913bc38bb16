# `make demo`: set up .venv if needed and run the whole pipeline on the embedded demo.
# `make test`: the same set-up, then the test suite (what .ci/run runs).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
SNAKEMAKE_ARGS ?=

.PHONY: demo test env bench clean demo-data review report

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,cluster]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores 1 --configfile config/config.yaml --report results/demo/report.html $(SNAKEMAKE_ARGS)

report: $(STAMP)
	$(BIN)/snakemake --cores 1 --configfile config/config.yaml --report results/demo/report.html

# Re-execute every executed notebook of the demo and check it with nbval (after `make demo`).
# Cells marked NBVAL_CHECK_OUTPUT (the estimates tables) must reproduce; the sanitize file masks times.
review: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg \
		-p no:cacheprovider results/demo/notebooks

# pytest exits 5 when it collects no test; that is reported, not treated as a failure of the set-up.
test: $(STAMP)
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_clean.py
	$(BIN)/python bench/bench_models.py
	$(BIN)/python bench/bench_recovery.py

demo-data: $(STAMP)
	$(BIN)/python -m wijkeffect.demo

clean:
	rm -rf results data/processed logs .snakemake
