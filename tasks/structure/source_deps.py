"""The collect stage's source deps: every registered problem's local source files, so that a file edited in place
re-runs the DAG whichever problem is selected.

dvc.yaml can only interpolate params.yaml, whose `collect.source` is the default problem's (`${collect.source}`);
a problem's own `collect.source`/`collect.test_source` (pipelines/<problem>/params.yaml) cannot be named there. So
`python -m tasks.structure.stage_deps --write` (make structure) lists them, after one marker comment, in collect's
deps: each registered problem's local files and folders (globs expanded), except params.yaml's own source (already
`${collect.source}`) and files under pipelines/ (the selected problem's folder is a dep already). An edit to another
problem's file re-runs collect too; collect then finds its data unchanged and leaves data/raw as it was, so nothing
downstream re-runs. URLs and s3:// prefixes are DVC's to hash (a params change names them).
"""

from __future__ import annotations

import glob
from pathlib import Path

from tasks.core.params import Params

MARKER = "      # sources: written by `python -m tasks.structure.stage_deps --write`: every problem's local source"
COLLECT_CMD = "    cmd: python -m tasks.data.collect"


def problem_sources(root: Path = Path(".")) -> list[str]:
    """Local source paths of every registered problem, relative to `root`, sorted."""
    from pipelines import PROBLEMS

    base = Params.load(root / "params.yaml")
    tracked = base.raw("collect.source", None)
    found: set[str] = set()
    for name in PROBLEMS:
        params = Params.load(root / "params.yaml", problem=name)
        for key in ("collect.source", "collect.test_source"):
            source = params.raw(key, None)
            if not isinstance(source, str) or "://" in source or source == tracked:
                continue
            pattern = str(root / source)
            paths = sorted(glob.glob(pattern)) if any(c in source for c in "*?[") else [pattern]
            for path in paths:
                relative = Path(path).resolve().relative_to(root.resolve()).as_posix()
                if Path(path).exists() and not relative.startswith("pipelines/"):
                    found.add(relative)
    return sorted(found)


def rewrite_sources(text: str, sources: list[str]) -> str:
    """dvc.yaml's text with the collect stage's source block (after its code deps) listing `sources`."""
    lines = text.split("\n")
    out: list[str] = []
    i, in_collect, done = 0, False, False
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if line == COLLECT_CMD:
            in_collect = True
        if not (in_collect and not done and line.startswith("      # code: written by")):
            continue
        while i < len(lines) and lines[i].startswith("      - ") and ("tasks/" in lines[i] or "pipelines/" in lines[i]):
            out.append(lines[i])  # the code deps, as stage_deps wrote them
            i += 1
        if i < len(lines) and lines[i] == MARKER:
            i += 1
            while i < len(lines) and lines[i].startswith("      - ") and "${" not in lines[i]:
                i += 1  # the old source block: replaced below
        out.append(MARKER)
        out.extend(f"      - {source}" for source in sources)
        done = True
    return "\n".join(out)
