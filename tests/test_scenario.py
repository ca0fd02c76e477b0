"""Scenario YAML: the bundled scenarios load, and a broken file is reported by file and key."""

from __future__ import annotations

import pytest
import yaml

from ingestion.contracts import STAGE_KEYS
from ingestion.simulator.scenario import SCENARIO_DIR, ScenarioError, load_scenario


def test_demo_scenario_is_the_issue_default():
    sc = load_scenario("demo")
    assert (sc.pool, sc.nodes, sc.gpus_per_node, sc.gpu_count) == ("demo", 8, 8, 64)
    assert sc.gpu_model == "NVIDIA H100 80GB HBM3"
    assert [s.key for s in sc.stages] == list(STAGE_KEYS)
    assert sc.stage_days == 3 and sc.days == 21


def _broken(tmp_path, edit) -> str:
    data = yaml.safe_load((SCENARIO_DIR / "tiny.yaml").read_text())
    edit(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_missing_key_names_file_and_key(tmp_path):
    path = _broken(tmp_path, lambda d: d["cluster"].pop("gpus_per_node"))
    with pytest.raises(ScenarioError, match=r"broken\.yaml: missing key 'cluster\.gpus_per_node'"):
        load_scenario(path)


def test_wrong_type_names_the_key(tmp_path):
    path = _broken(tmp_path, lambda d: d["stages"][2]["inference"].update(max_batch="eight"))
    with pytest.raises(ScenarioError, match=r"'stages\[2\]\.inference\.max_batch' must be"):
        load_scenario(path)


def test_stages_must_be_the_seven_in_order(tmp_path):
    path = _broken(tmp_path, lambda d: d["stages"].reverse())
    with pytest.raises(ScenarioError, match="seven stages in order"):
        load_scenario(path)


def test_unknown_scenario_lists_the_bundled_ones():
    with pytest.raises(ScenarioError, match="bundled: .*demo.*tiny"):
        load_scenario("nonexistent")
