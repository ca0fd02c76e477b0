# Two commands on a fresh machine (python3 with venv and pip is all it needs):
#   make demo   venv + install, run the pipeline on the simulated cluster, print the deck's path
#   make test   venv + install, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= demo

export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export GPU_EFF_SCENARIO := $(SCENARIO)

.PHONY: demo test bench install ui lint clean

# Dagster 1.13's `dagster asset ...` and `dagster job ...` do not read [tool.dagster] from pyproject.toml
# (`dagster dev` does); they read DAGSTER_MODULE_NAME. orchestration/dagster_cli_target.pth sets it for those
# two commands in this venv, so `dagster asset materialize --select deck` works from the repository root.
$(BIN)/gpu-eff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	cp orchestration/dagster_cli_target.pth "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	touch $@

install: $(BIN)/gpu-eff $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n' > $@

# One Dagster run: every landing partition of the scenario, the dbt warehouse, the deck.
demo: install
	$(BIN)/dagster job execute -m orchestration.definitions -j daily_refresh \
		--tags "$$($(BIN)/gpu-eff window --dagster-tags)"
	@echo "Deck: $$($(BIN)/python -c 'from ingestion.paths import deck_dir; print(deck_dir() / "latest.pptx")')"

test: install
	$(BIN)/pytest

# The scale benchmark (issue 6): the large scenario on this machine, figures in bench/results.json (not a test).
bench: install
	$(BIN)/python -m bench.run

ui: install
	$(BIN)/dagster dev

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs bench/.data
