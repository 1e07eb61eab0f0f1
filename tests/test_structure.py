"""The layering the project promises, checked with its own code: no import cycle, no stage importing a stage, no
stage branching on the kind of data, and dvc.yaml listing every module each stage's entry module imports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipelines import PROBLEMS
from tasks.import_closure import closure, import_graph, module_files

REPO = Path(__file__).resolve().parent.parent
STAGE_MODULES = [
    "tasks.collect",
    "tasks.validate",
    "tasks.featurize",
    "tasks.tune",
    "tasks.train",
    "tasks.evaluate",
    "tasks.export",
    "tasks.deploy",
    "tasks.monitor",
    "tasks.report_index",
]
GRAPH = import_graph(REPO)
FILES = module_files(REPO)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without edges into package roots (importing `tasks.x` runs tasks/__init__, which imports nothing)."""
    return {m: {t for t in targets if t not in ("tasks", "pipelines", "flows")} for m, targets in graph.items()}


def test_there_is_no_import_cycle() -> None:
    assert cycles(without_packages(GRAPH)) == []


def test_no_stage_imports_another_stage() -> None:
    edges = sorted((a, b) for a in STAGE_MODULES for b in GRAPH[a] if b in STAGE_MODULES)
    assert edges == []


@pytest.mark.parametrize("stage", STAGE_MODULES)
def test_no_stage_branches_on_the_kind_of_data(stage: str) -> None:
    source = FILES[stage].read_text(encoding="utf-8")
    branch = r"(problem|spec|selection|run)\.kind\s*[!=]=|\[.kind.\]\s*[!=]=|ImageProblem|TabularProblem|image_shape"
    assert not re.search(branch, source)


def covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("stage", sorted(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]))
def test_every_module_a_stage_imports_is_among_its_deps(stage: str, problem: str) -> None:
    """dvc.yaml's deps of each stage (with ${problem} as each registered problem) hold every project module the
    stage's entry module imports, directly or not, and the problem package with what it imports."""
    definition = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]
    entry = definition["cmd"].removeprefix("python -m ").split()[0]
    deps = [str(d).replace("${problem}", problem) for d in definition["deps"]]
    needed = closure(GRAPH, entry)
    if "pipelines" in needed:  # the stage loads the selected problem (pipelines.load_problem imports it by name)
        needed |= closure(GRAPH, PROBLEMS[problem])
    missing = sorted(
        str(FILES[m].relative_to(REPO)) for m in needed if not covered(str(FILES[m].relative_to(REPO)), deps)
    )
    assert missing == [], f"dvc.yaml stage '{stage}' does not depend on {missing}"


def test_the_dep_check_fails_when_a_dep_is_missing() -> None:
    needed = {str(FILES[m].relative_to(REPO)) for m in closure(GRAPH, "tasks.evaluate")}
    assert "tasks/gate.py" in needed and "tasks/kinds/table.py" in needed
    assert not covered("tasks/gate.py", ["tasks/evaluate.py", "tasks/kinds"])
    assert covered("tasks/kinds/table.py", ["tasks/kinds"])
