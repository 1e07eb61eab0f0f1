"""`dvc exp run -S key=value` rewrites params.yaml through DVC's own override code (dvc.utils.hydra.apply_overrides,
what `-S` calls): the file stays byte-identical apart from the keys set, comments kept. DVC writes a `null` back as
an empty value and a non-empty list in block style, so params.yaml holds neither (unset keys are comments)."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parent.parent


def test_setting_params_with_dvc_exp_run_changes_only_the_lines_of_the_keys_set(tmp_path: Path) -> None:
    from dvc.utils.hydra import apply_overrides

    copy = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", copy)
    before = copy.read_text()
    apply_overrides(copy, ["train.epochs=3", "problem=penguins", "collect.http.retries=5"])
    after = copy.read_text()
    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert len(diff) == 6, diff
    assert all(line[2:].lstrip().startswith(("epochs:", "problem:", "retries:")) for line in diff), diff
    assert yaml.safe_load(after)["train"]["epochs"] == 3 and "# a definition in pipelines/" in after


def test_params_yaml_holds_no_value_dvc_would_rewrite() -> None:
    def walk(node: object, key: str) -> list[str]:
        if isinstance(node, dict):
            return [bad for k, v in node.items() for bad in walk(v, f"{key}.{k}".lstrip("."))]
        return [key] if node is None or (isinstance(node, list) and node) else []

    assert walk(yaml.safe_load((REPO / "params.yaml").read_text()), "") == []
