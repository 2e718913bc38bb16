# `make demo`: set up .venv if needed and run the whole pipeline on the embedded demo.
# `make test`: the same set-up, then the test suite (what .ci/run runs).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
SNAKEMAKE_ARGS ?=

.PHONY: demo test env bench clean demo-data review report system-deps open-data bench-national sweep

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,cluster]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)
	@$(MAKE) --no-print-directory results/demo/report.html

# The report is rebuilt only when the workflow's last output (the audit) is newer than it.
results/demo/report.html: results/demo/audit.txt
	$(BIN)/snakemake --cores 1 --report $@ $(SNAKEMAKE_ARGS)

# Open data: the krachtwijken study on the published RIVM/CBS wijk estimates (needs ../shared/data).
open-data: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/open_data.yaml $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores 1 --configfile config/open_data.yaml --report results/krachtwijken_2012_2020/report.html

report: $(STAMP)
	$(BIN)/snakemake --cores 1 --report results/demo/report.html

# Re-execute every executed notebook of the demo and check it with nbval (after `make demo`).
# Cells marked NBVAL_CHECK_OUTPUT (the estimates tables) must reproduce; the sanitize file masks times.
review: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg \
		-p no:cacheprovider results/demo/notebooks

# pytest exits 5 when it collects no test; that is reported, not treated as a failure of the set-up.
# System packages some tests use (Chromium, pdflatex, SLURM): installed when root and missing, else those tests skip.
system-deps:
	@bash tools/system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_clean.py
	$(BIN)/python bench/bench_models.py
	$(BIN)/python bench/bench_sensitivity.py
	$(BIN)/python bench/bench_recovery.py
	$(BIN)/python bench/bench_power.py
	$(BIN)/python bench/bench_referee.py

# The whole workflow on the national-size synthetic monitor (generated once into data/national, git-ignored).
bench-national: $(STAMP)
	$(BIN)/python bench/bench_national.py

# The demo sweep: 12 specifications and their specification curves.
sweep: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/sweep.yaml $(SNAKEMAKE_ARGS)

demo-data: $(STAMP)
	$(BIN)/python -m wijkeffect.demo

clean:
	rm -rf results data/processed logs .snakemake
