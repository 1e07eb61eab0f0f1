"""Each dvc.yaml stage's code deps, from its imports: the packages its entry module needs, never a list kept by hand.

    python -m tasks.structure.stage_deps            # exit 1 and say which stage differs when dvc.yaml is stale
    python -m tasks.structure.stage_deps --write    # rewrite the code deps of every stage in dvc.yaml
    python -m tasks.structure.stage_deps --closure tasks.evaluation.evaluate   # the files a module's import runs

A stage's entry module is the `python -m` of its `cmd`. Its code deps are the folders of the `tasks/` packages that
run when it is imported (tasks/structure/import_closure.py, directly or not), `tasks/__init__.py`, and, when it loads
the
selected problem, the shared modules of `pipelines/` with `pipelines/${problem}` (the closure of every registered
problem, so that switching the problem never needs a new dep). DVC then re-runs a stage when any file of a package it
uses changes; a new import of another package makes this command (and tests/test_structure.py) report it as stale.

The block is written between the stage's `deps:` line and its first non-code dep, after one marker comment; the rest of
dvc.yaml (data deps, comments, params, outs) is left as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tasks.structure.import_closure import closure, import_graph, module_files
from tasks.structure.source_deps import problem_sources, rewrite_sources

DVC_YAML = Path("dvc.yaml")
MARKER = "      # code: written by `python -m tasks.structure.stage_deps --write` from the stage's imports"
_STAGE = re.compile(r"^  ([A-Za-z_][\w-]*):\s*$")
_CMD = re.compile(r"^    cmd:\s*python -m ([\w.]+)")
_CODE_DEP = re.compile(r"^      - (tasks|pipelines)/\S*(\s+#.*)?$")


def problem_modules(graph: dict[str, set[str]], root: Path) -> list[str]:
    """Every problem package of pipelines/ (a sub-package of it), by dotted name."""
    return sorted(
        m for m in graph if m.startswith("pipelines.") and m.count(".") == 1 and (root / Path(*m.split("."))).is_dir()
    )


def code_deps(entry: str, graph: dict[str, set[str]], root: Path = Path(".")) -> list[str]:
    """The code deps of a stage whose entry module is `entry`: package folders, then single modules."""
    needed = closure(graph, entry)
    if "pipelines" in needed:  # it loads the selected problem (pipelines.load_problem imports it by name)
        for problem in problem_modules(graph, root):
            needed |= closure(graph, problem)
    folders, files = set(), set()
    for module in needed:
        parts = module.split(".")
        if len(parts) > 1 and (root / parts[0] / parts[1]).is_dir():
            if parts[0] == "tasks":
                folders.add(f"tasks/{parts[1]}")
            else:
                folders.add(f"{parts[0]}/${{problem}}")
        elif (root / Path(*parts)).is_dir():
            files.add("/".join(parts) + "/__init__.py")
        else:
            files.add("/".join(parts) + ".py")
    order = sorted(folders - {"pipelines/${problem}"}) + sorted(files - {"tasks/__init__.py"})
    return ["tasks/__init__.py", *order, *sorted(folders & {"pipelines/${problem}"})]


def rewrite(text: str, graph: dict[str, set[str]], root: Path = Path(".")) -> str:
    """dvc.yaml's text with every stage's code deps as `code_deps` gives them."""
    out: list[str] = []
    lines = text.split("\n")
    entry: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _STAGE.match(line):
            entry = None
        if match := _CMD.match(line):
            entry = match.group(1)
        out.append(line)
        i += 1
        if line.strip() == "deps:" and line.startswith("    ") and entry:
            while i < len(lines) and (lines[i] == MARKER or _CODE_DEP.match(lines[i])):
                i += 1  # the old code block: replaced below
            out.append(MARKER)
            out.extend(f"      - {dep}" for dep in code_deps(entry, graph, root))
    return "\n".join(out)


def main() -> None:
    if sys.argv[1:2] == ["--closure"]:
        modules, graph = module_files(Path.cwd()), import_graph(Path.cwd())
        for name in sys.argv[2:]:
            print("\n".join(sorted(str(modules[m]) for m in closure(graph, name))))
        return
    write = "--write" in sys.argv[1:]
    current = DVC_YAML.read_text(encoding="utf-8")
    wanted = rewrite_sources(rewrite(current, import_graph(Path.cwd())), problem_sources(Path.cwd()))
    if wanted == current:
        print("dvc.yaml: every stage's code deps match its imports")
        return
    if write:
        DVC_YAML.write_text(wanted, encoding="utf-8")
        print("dvc.yaml: code deps rewritten from the stages' imports")
        return
    stale = sorted(set(wanted.split("\n")) ^ set(current.split("\n")))
    print(
        "dvc.yaml is stale (run python -m tasks.structure.stage_deps --write):\n  " + "\n  ".join(stale),
        file=sys.stderr,
    )
    raise SystemExit(1)


if __name__ == "__main__":
    main()
