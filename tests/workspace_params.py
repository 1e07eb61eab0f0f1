"""params.yaml and the problem's own pipelines/<problem>/params.yaml in a test workspace, as the stages read them.

Both come from git's index (tests/workspaces.py: HEAD in a fresh clone), never from the live working tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.workspaces import committed_text

REPO = Path(__file__).resolve().parent.parent


def copy_params(workspace: Path, problem: str | None = None) -> None:
    """params.yaml (with `problem` set, if given) and that problem's own params file, copied into `workspace`."""
    (workspace / "params.yaml").write_text(committed_text("params.yaml"))
    if problem is not None:
        root = yaml.safe_load((workspace / "params.yaml").read_text())
        root["problem"] = problem
        (workspace / "params.yaml").write_text(yaml.safe_dump(root, sort_keys=False))
    name = yaml.safe_load((workspace / "params.yaml").read_text())["problem"]
    own = workspace / "pipelines" / name / "params.yaml"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text(committed_text(f"pipelines/{name}/params.yaml"))


def set_params(workspace: Path, values: dict[str, Any]) -> None:
    """Set dotted keys where the stages take them from: the problem's file when it names the key's section entry,
    else params.yaml."""
    root_path = workspace / "params.yaml"
    root = yaml.safe_load(root_path.read_text())
    own_path = workspace / "pipelines" / root["problem"] / "params.yaml"
    own = yaml.safe_load(own_path.read_text()) if own_path.exists() else {}
    for key, value in values.items():
        *parents, last = key.split(".")
        section = own.get(parents[0]) if parents else None
        target = own if isinstance(section, dict) and key.split(".")[1] in section else root
        node = target
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    root_path.write_text(yaml.safe_dump(root, sort_keys=False))
    if own_path.exists():
        own_path.write_text(yaml.safe_dump(own, sort_keys=False))


def effective_params(problem: str | None = None) -> dict[str, Any]:
    """The params the stages see for `problem` (default: params.yaml's), as one mapping."""
    from tasks.core.params import apply_problem_overrides

    root = yaml.safe_load(committed_text("params.yaml"))
    if problem is not None:
        root["problem"] = problem
    own_path = REPO / "pipelines" / root["problem"] / "params.yaml"
    own = yaml.safe_load(committed_text(f"pipelines/{root['problem']}/params.yaml")) or {}
    return apply_problem_overrides(root, own, own_path)
