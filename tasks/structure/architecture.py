"""README.md's "How it is built", written from the code: the DAG as `dvc dag --mermaid` draws it, each stage with the
module it runs, and the packages of tasks/ by layer (tasks/__init__.py `LAYERS`) with what each owns and may import
(the package's own docstring).

    python -m tasks.structure.architecture           # exit 1 when README.md's section differs from the code
    python -m tasks.structure.architecture --write   # rewrite the section

tests/test_structure.py fails when the section is stale, so the picture in the README is the code's.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tasks import LAYERS

README = Path("README.md")
BEGIN = "<!-- how-it-is-built: written by `python -m tasks.structure.architecture --write` from the code -->"
END = "<!-- /how-it-is-built -->"


def dvc_dag(root: Path) -> str:
    """`dvc dag --mermaid` of the DAG in `root` (the dvc next to this interpreter, else the one on PATH)."""
    beside = Path(sys.executable).parent / "dvc"
    dvc = str(beside) if beside.is_file() else shutil.which("dvc") or "dvc"
    done = subprocess.run([dvc, "dag", "--mermaid"], cwd=root, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def labelled(dag: str, entries: dict[str, str]) -> str:
    """The mermaid DAG with each stage's node naming the module its command runs; tabs as two spaces."""
    text = re.sub(r'\["([\w-]+)"\]', lambda m: f'["{m.group(1)}<br/>{entries.get(m.group(1), "")}"]', dag)
    return text.replace("\t", "  ")


def stage_entries(root: Path) -> dict[str, str]:
    """Stage name -> the module its `python -m` runs, from dvc.yaml."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: str(stage["cmd"]).removeprefix("python -m ").split()[0] for name, stage in stages.items()}


def package_text(root: Path, package: str) -> tuple[str, str]:
    """(what the package owns: its docstring's first paragraph, what it may import: its "May import:" paragraph)."""
    doc = ast.get_docstring(ast.parse((root / "tasks" / package / "__init__.py").read_text(encoding="utf-8"))) or ""
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    may = next((p.removeprefix("May import:").strip() for p in paragraphs if p.startswith("May import:")), "")
    return (paragraphs[0] if paragraphs else ""), may


def section(root: Path, dag: str) -> str:
    """The README section's body, between BEGIN and END."""
    rows = []
    for number, layer in enumerate(LAYERS):
        for package in layer:
            modules = sorted(p.stem for p in (root / "tasks" / package).glob("*.py") if p.stem != "__init__")
            owns, may = package_text(root, package)
            rows.append(f"| {number} | `{package}/` | {owns} | {may} | {', '.join(modules)} |")
    return "\n".join(
        [
            BEGIN,
            "The DAG of `dvc.yaml` (`dvc dag --mermaid`), each stage with the module it runs:",
            "",
            "```mermaid",
            labelled(dag, stage_entries(root)),
            "```",
            "",
            "The packages of `tasks/`, bottom layer first. A module imports its own package and lower layers only; a",
            "stage (an entry module, run with `python -m`) may use any package, and no module imports a stage.",
            "`tests/test_structure.py` enforces it; `python -m tasks.structure.stage_deps --write` writes each",
            "stage's code deps in `dvc.yaml` (the package folders its imports reach); `make structure` rewrites those",
            "deps and this section.",
            "",
            "| layer | package | owns | may import | modules |",
            "|---|---|---|---|---|",
            *rows,
            END,
        ]
    )


def rewrite(readme: str, body: str) -> str:
    """README text with the section between BEGIN and END replaced by `body` (which carries both markers)."""
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + body + readme[end:]


def main() -> None:
    root = Path.cwd()
    current = (root / README).read_text(encoding="utf-8")
    wanted = rewrite(current, section(root, dvc_dag(root)))
    if wanted == current:
        print("README.md: 'How it is built' matches the code")
    elif "--write" in sys.argv[1:]:
        (root / README).write_text(wanted, encoding="utf-8")
        print("README.md: 'How it is built' rewritten from the code")
    else:
        print(
            "README.md's 'How it is built' is stale: run python -m tasks.structure.architecture --write",
            file=sys.stderr,
        )
        raise SystemExit(1)


if __name__ == "__main__":
    main()
