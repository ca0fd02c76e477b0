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
# What an install that failed shows: the end of pip's log.
PIP_FAILED = tail -n 30 $(VENV)/install.log; echo "pip install failed: see $(VENV)/install.log"; exit 1

.PHONY: demo rebuild test bench bench-engines install install-spark ui lint clean k8s-prometheus

# Dagster 1.13's `dagster asset ...` and `dagster job ...` do not read [tool.dagster] from pyproject.toml
# (`dagster dev` and `dg` do); they read DAGSTER_MODULE_NAME. orchestration/dagster_cli_target.pth sets it for those
# two commands in this venv, so `dagster asset materialize --select deck` works from the repository root.
$(BIN)/gpu-eff: pyproject.toml
	@echo "Installing into $(VENV) (about 4 minutes the first time; pip's log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[dev]'; } > $(VENV)/install.log 2>&1 \
		|| { $(PIP_FAILED); }
	@cp orchestration/dagster_cli_target.pth "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	@touch $@

# Every Dagster command run from the repository root (dagster dev, dg launch, dagster asset materialize, the
# schedule) uses the instance in .dagster_home: Dagster reads DAGSTER_HOME from ./.env when it is not set.
install: $(BIN)/gpu-eff $(DAGSTER_HOME)/dagster.yaml
	@grep -qs '^DAGSTER_HOME=' .env || printf 'DAGSTER_HOME=$${DAGSTER_HOME:-%s}\n' "$(CURDIR)/.dagster_home" >> .env

$(DAGSTER_HOME)/dagster.yaml: | $(BIN)/gpu-eff
	@$(BIN)/python -m orchestration.instance_config $(DAGSTER_HOME)

# The Spark engine (`warehouse: {engine: spark}` in the configuration, or GPU_EFF_WAREHOUSE_ENGINE=spark): dbt-spark and
# pyspark beside the default install (pyspark is a ~450 MB package pip builds). Spark needs Java 17 or 21 on the PATH.
install-spark: install
	@echo "Installing dbt-spark and pyspark into $(VENV) (a few minutes the first time; pip's log: $(VENV)/install.log)"
	@$(BIN)/pip install -e '.[dev,spark]' > $(VENV)/install.log 2>&1 \
		|| { $(PIP_FAILED); }

# One Dagster run over every day of the scenario (or of GPU_EFF_CONFIG): landing, the dbt warehouse, the deck.
# The terminal gets a summary; Dagster's full log goes to data/logs/.
demo: install
	@$(BIN)/python -m orchestration.launch daily_refresh

# After a change to the dbt models: the warehouse, its checks and the deck rebuilt from the landed Parquet.
rebuild: install
	@$(BIN)/python -m orchestration.launch warehouse_rebuild

test: install
	$(BIN)/pytest

# The scale benchmark (issue 6): the large scenario on this machine, figures in bench/results.json (not a test).
bench: install
	$(BIN)/python -m bench.run

# The dbt project's day on DuckDB and on Spark at fleet sizes from 12 to 8,192 GPUs (issue 21), figures in bench/engines.json.
bench-engines: install-spark
	$(BIN)/python -m bench.engines

ui: install
	$(BIN)/dagster dev

# The simulated cluster as a Kubernetes cluster's Prometheus (needs the prometheus package), for
# GPU_EFF_CONFIG=ingestion/examples/k8s-prometheus.yaml make demo in another terminal.
k8s-prometheus: install
	@$(BIN)/python -m ingestion.simulator.k8s_prometheus

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs bench/.data
