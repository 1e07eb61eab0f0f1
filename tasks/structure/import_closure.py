"""The project's own modules a module imports, directly or through others (a static reading of `import` lines).

Used by tests/test_structure.py to check the layering (no stage imports a stage, no cycle), by
tasks/structure/stage_deps.py
to write each stage's code deps in dvc.yaml, and by anyone who wants to know what a stage's code is made of:
`python -m tasks.structure.stage_deps --closure tasks.evaluation.evaluate`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("tasks", "pipelines", "flows")


def module_files(root: Path) -> dict[str, Path]:
    """Every module of the project's packages under `root`, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (anywhere in it, function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            known = [m for m in modules if name == m or name.startswith(m + ".")]
            if known:
                found.add(max(known, key=len))
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports. A module's own parent packages are not edges: `from tasks.kinds
    import table_source` inside tasks/kinds/ names a sibling, and the parent's `__init__` runs first anyway."""
    modules = module_files(root)
    return {
        name: {t for t in imports_of(path, modules) if t != name and not name.startswith(t + ".")}
        for name, path in modules.items()
    }


def parents(module: str, graph: dict[str, set[str]]) -> set[str]:
    """The packages whose `__init__` runs when `module` is imported (a.b.c: a and a.b)."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))} & set(graph)


def closure(graph: dict[str, set[str]], start: str) -> set[str]:
    """`start` and every project module that runs when it is imported: what it imports, directly or not, and the
    package `__init__` modules on the way."""
    seen, todo = {start}, [start]
    while todo:
        current = todo.pop()
        for target in graph.get(current, set()) | parents(current, graph):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
