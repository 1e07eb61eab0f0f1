"""The layering the project promises (tasks/__init__.py), checked with its own code: every module in a package of a
layer, imports only downwards, no import cycle, no stage importing a stage, no stage branching on the kind of data, no
module over 400 lines, and dvc.yaml's code deps exactly what the stages import (tasks/structure/stage_deps.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipelines import PROBLEMS
from tasks import LAYERS
from tasks.structure import architecture
from tasks.structure.import_closure import closure, import_graph, module_files
from tasks.structure.stage_deps import code_deps, rewrite

REPO = Path(__file__).resolve().parent.parent
STAGE_MODULES = [
    stage["cmd"].removeprefix("python -m ").split()[0]
    for stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].values()
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


def entry_modules() -> set[str]:
    """The stages and command lines: modules run with `python -m` (a `__main__` guard, or a package's `__main__`)."""
    return {
        m
        for m, path in FILES.items()
        if m.startswith("tasks.")
        and (path.name == "__main__.py" or 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"))
    }


def package_of(module: str) -> str:
    return module.split(".")[1] if module.startswith("tasks.") else module.split(".")[0]


LAYER_OF = {package: n for n, layer in enumerate(LAYERS) for package in layer}


def layer_violations(graph: dict[str, set[str]], entries: set[str]) -> list[str]:
    """Imports that break tasks/__init__.py's rules: a library module importing a package of its own layer or above
    (other than its own), any module importing an entry module."""
    found = []
    for module, targets in graph.items():
        if not module.startswith("tasks."):
            continue
        for target in targets:
            if not target.startswith("tasks.") or target == "tasks":
                continue
            if target in entries:
                found.append(f"{module} imports the entry module {target}")
            elif (
                module not in entries
                and package_of(target) != package_of(module)
                and LAYER_OF[package_of(target)] >= LAYER_OF[package_of(module)]
            ):
                found.append(f"{module} ({package_of(module)}) imports {target} ({package_of(target)})")
    return sorted(found)


def test_every_module_of_tasks_lives_in_a_package_of_a_layer() -> None:
    top_level = sorted(p.name for p in (REPO / "tasks").glob("*.py") if p.name != "__init__.py")
    packages = sorted(p.name for p in (REPO / "tasks").iterdir() if (p / "__init__.py").is_file())
    assert top_level == []
    assert sorted(LAYER_OF) == packages
    assert len(set(packages) - {"kinds", "serving"}) <= 12


def test_imports_follow_the_layers_and_no_module_imports_a_stage() -> None:
    assert layer_violations(GRAPH, entry_modules()) == []


def test_the_layer_check_fails_on_an_upward_import_and_on_a_stage_importing_a_stage() -> None:
    entries = entry_modules()
    assert {"tasks.data.collect", "tasks.store.deploy", "tasks.serving.__main__"} <= entries
    upward = {**GRAPH, "tasks.core.params": GRAPH["tasks.core.params"] | {"tasks.kinds.table"}}
    sideways = {**GRAPH, "tasks.training.fit": GRAPH["tasks.training.fit"] | {"tasks.store.pointer"}}
    stage = {**GRAPH, "tasks.store.deploy": GRAPH["tasks.store.deploy"] | {"tasks.training.export"}}
    assert layer_violations(upward, entries) == ["tasks.core.params (core) imports tasks.kinds.table (kinds)"]
    assert layer_violations(sideways, entries) == ["tasks.training.fit (training) imports tasks.store.pointer (store)"]
    assert layer_violations(stage, entries) == ["tasks.store.deploy imports the entry module tasks.training.export"]


def test_no_module_is_over_400_lines() -> None:
    lengths = {str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines()) for p in FILES.values()}
    assert {path: n for path, n in lengths.items() if n > 400} == {}


def test_dvc_yaml_code_deps_are_the_stages_imports() -> None:
    """dvc.yaml's code deps are what `python -m tasks.structure.stage_deps --write` writes from the imports: none
    missing,
    none extra, no hand-kept list of module files."""
    text = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    assert rewrite(text, GRAPH, REPO) == text, "dvc.yaml is stale: run python -m tasks.structure.stage_deps --write"


def test_the_dep_check_fails_when_a_stage_imports_a_package_it_does_not_depend_on() -> None:
    text = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    assert "tasks/store" not in code_deps("tasks.features.featurize", GRAPH, REPO)
    grown = {**GRAPH, "tasks.features.featurize": GRAPH["tasks.features.featurize"] | {"tasks.store.pointer"}}
    assert "tasks/store" in code_deps("tasks.features.featurize", grown, REPO)
    assert rewrite(text, grown, REPO) != text


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


def covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def test_the_readme_draws_the_dag_and_the_packages_as_the_code_has_them() -> None:
    """README.md's "How it is built" is what `python -m tasks.structure.architecture --write` writes from dvc.yaml
    (through
    a real `dvc dag --mermaid`), tasks/__init__.py's layers and each package's docstring."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    dag = architecture.dvc_dag(REPO)
    assert 'node1["collect"]' in dag
    body = architecture.section(REPO, dag)
    assert architecture.rewrite(readme, body) == readme, "stale: run python -m tasks.structure.architecture --write"
    assert "| 0 | `core/` |" in body and "collect<br/>tasks.data.collect" in body
    moved = architecture.section(REPO, dag.replace('"collect"', '"gather"'))
    assert architecture.rewrite(readme, moved) != readme
