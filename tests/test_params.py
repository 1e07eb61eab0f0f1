from pathlib import Path

import pytest

from tasks.core.errors import PipelineError
from tasks.core.params import Params


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
    from tasks.kinds.selection import select

    selection = select(Path(__file__).resolve().parent.parent / "params.yaml")
    params = selection.params
    assert params.get("problem", str) == "bike_demand" and selection.kind.name == "table"
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


def write_problem(tmp_path: Path, root: str, own: str, problem: str = "fashion_mnist") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "params.yaml").write_text(f"problem: {problem}\n{root}")
    (tmp_path / "pipelines" / problem).mkdir(parents=True)
    (tmp_path / "pipelines" / problem / "params.yaml").write_text(own)
    return tmp_path / "params.yaml"


def test_a_typo_in_a_problems_params_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    from tasks.kinds.selection import select

    path = write_problem(tmp_path, "train: {epochs: 3}\n", "train: {epochz: 9}\n")
    with pytest.raises(PipelineError, match=r"pipelines/fashion_mnist/params.yaml: 'train.epochz' is not a known key"):
        select(path)


def test_a_key_of_another_kind_is_refused_as_such(tmp_path: Path) -> None:
    from tasks.kinds.selection import select

    path = write_problem(tmp_path, "", "evaluate:\n  slices: [{column: label}]\n")
    with pytest.raises(
        PipelineError,
        match=r"'evaluate.slices' applies to (\w+ and )*table( and \w+)* problems, not to this image problem",
    ):
        select(path)


def test_an_unknown_section_is_refused(tmp_path: Path) -> None:
    from tasks.kinds.selection import select

    path = write_problem(tmp_path, "trian: {epochs: 3}\n", "")
    with pytest.raises(PipelineError, match=r"params.yaml: unknown section 'trian'"):
        select(path)


def test_params_yaml_holds_only_kind_neutral_keys(tmp_path: Path) -> None:
    from tasks.kinds.selection import select

    path = write_problem(tmp_path, "validate: {max_gap: 2h}\n", "", problem="bike_demand")
    with pytest.raises(PipelineError, match=r"params.yaml: 'validate.max_gap' is not kind-neutral; it belongs in"):
        select(path)


def test_repository_params_pass_the_check_for_every_problem(tmp_path: Path) -> None:
    import shutil

    import yaml

    from pipelines import PROBLEMS
    from tasks.kinds.selection import select

    repo = Path(__file__).resolve().parent.parent
    for problem in PROBLEMS:
        root = yaml.safe_load((repo / "params.yaml").read_text())
        own = (repo / "pipelines" / problem / "params.yaml").read_text()
        path = write_problem(
            tmp_path / problem, yaml.safe_dump({k: v for k, v in root.items() if k != "problem"}), own, problem
        )
        assert select(path).problem.name == problem
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_fashion_mnist_inherits_nothing_of_bike_demand() -> None:
    from tests.workspace_params import effective_params

    fashion = effective_params("fashion_mnist")
    assert "slices" not in fashion["evaluate"]
    assert set(fashion["evaluate"]["gate"]["floors"]) == {"accuracy"}
    assert set(fashion["evaluate"]["gate"]["max_worse_than_champion_pct"]) == {"accuracy"}
    assert set(fashion["tune"]["space"]) == {"learning_rate", "dropout", "dense_units"}
    assert "hidden_units" not in fashion["train"] and "as_of" not in fashion["collect"]
    assert fashion["deploy"]["model_name"] == "fashion_mnist"
