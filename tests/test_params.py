from pathlib import Path

import pytest

from tasks.errors import PipelineError
from tasks.params import Params


def test_reads_nested_keys_with_their_types() -> None:
    params = Params({"train": {"epochs": 3, "learning_rate": 1}})
    assert params.get("train.epochs", int) == 3
    assert params.get("train.learning_rate", float) == 1.0


def test_names_the_missing_key() -> None:
    with pytest.raises(PipelineError, match=r"missing key 'train\.epochs'"):
        Params({"train": {}}).get("train.epochs", int)


def test_names_the_key_and_the_expected_type() -> None:
    with pytest.raises(PipelineError, match=r"'train.epochs' must be int, got 'ten'"):
        Params({"train": {"epochs": "ten"}}).get("train.epochs", int)


def test_a_boolean_is_not_a_number() -> None:
    with pytest.raises(PipelineError, match="must be int"):
        Params({"train": {"epochs": True}}).get("train.epochs", int)


def test_enforces_bounds() -> None:
    with pytest.raises(PipelineError, match=r"'train.epochs' must be >= 1, got 0"):
        Params({"train": {"epochs": 0}}).get("train.epochs", int, minimum=1)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(PipelineError, match=r"params.yaml: not valid YAML"):
        Params.load(path)


def test_repository_params_are_valid() -> None:
    params = Params.load(Path(__file__).resolve().parent.parent / "params.yaml")
    assert params.get("problem", str) == "bike_demand"
    for section in ("collect", "validate", "featurize", "train", "evaluate", "export", "deploy", "monitor"):
        assert isinstance(params.section(section), dict)


def test_problem_file_overrides_stage_sections_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("problem: images\ntrain: {epochs: 3, seed: 1}\ncollect: {source: a.csv}\n")
    (tmp_path / "pipelines/images").mkdir(parents=True)
    (tmp_path / "pipelines/images/params.yaml").write_text("train: {epochs: 9, filters: [8, 16]}\n")
    params = Params.load(tmp_path / "params.yaml")
    assert params.get("train.epochs", int) == 9
    assert params.get("train.seed", int) == 1  # not overridden: params.yaml's value stays
    assert params.get("train.filters", list) == [8, 16]
    assert params.get("collect.source", str) == "a.csv"
    assert "pipelines/images/params.yaml" in params.source


def test_problem_without_a_file_uses_params_yaml_alone(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("problem: plain\ntrain: {epochs: 3}\n")
    assert Params.load(tmp_path / "params.yaml").get("train.epochs", int) == 3


def test_problem_file_may_not_switch_the_problem(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("problem: images\n")
    (tmp_path / "pipelines/images").mkdir(parents=True)
    (tmp_path / "pipelines/images/params.yaml").write_text("problem: other\n")
    with pytest.raises(PipelineError, match=r"pipelines/images/params.yaml: may not set 'problem'"):
        Params.load(tmp_path / "params.yaml")
