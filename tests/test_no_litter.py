"""A run killed with SIGKILL half-way through writing an output or a store version leaves temporaries; the next
write of the same output (or the next version added) removes them, while a live writer's are left alone, and git
never shows them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tasks.core.atomic import atomic_dir, write_text
from tasks.store.model_store import ModelStore
from tests.tiny_export import write_tiny_export
from tests.workspaces import export_files

REPO = Path(__file__).resolve().parent.parent


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def killed_inside(body: str, cwd: Path) -> None:
    """Run `body` in a fresh interpreter that SIGKILLs itself at its end (no clean-up handler runs)."""
    done = run_python(f"import os, signal\n{textwrap.dedent(body)}\nos.kill(os.getpid(), signal.SIGKILL)\n", cwd)
    assert done.returncode == -9, done.stderr


@pytest.mark.timeout(120)
def test_a_killed_writers_temporary_folder_is_removed_by_the_next_write(tmp_path: Path) -> None:
    (tmp_path / "data/export").mkdir(parents=True)
    (tmp_path / "data/export/old.txt").write_text("last good")
    killed_inside(
        """
        from tasks.core.atomic import atomic_dir
        with atomic_dir("data/export") as tmp:
            (tmp / "half.txt").write_text("half written")
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        tmp_path,
    )
    left = [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".export.")]
    assert len(left) == 1 and left[0].endswith(".tmp")
    assert (tmp_path / "data/export/old.txt").read_text() == "last good"  # the kill lost nothing

    with atomic_dir(tmp_path / "data/export") as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["export"]
    assert [p.name for p in (tmp_path / "data/export").iterdir()] == ["new.txt"]


@pytest.mark.timeout(120)
def test_a_live_writers_temporary_is_left_alone(tmp_path: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", "from tasks.core.atomic import atomic_dir\nwith atomic_dir('out') as t:\n input()"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            live = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
            if live:
                break
            time.sleep(0.05)
        assert live, "the writer never made its temporary folder"
        write_text(tmp_path / "out.json", "{}")  # another output beside it: sweeps only its own name
        with atomic_dir(tmp_path / "other") as tmp:
            (tmp / "x").write_text("x")
        assert live[0].is_dir()
    finally:
        writer.communicate("\n", timeout=60)
    assert writer.returncode == 0
    assert (tmp_path / "out").is_dir()


@pytest.mark.timeout(120)
def test_a_store_version_killed_while_copied_leaves_no_trace_after_the_next_one(tmp_path: Path) -> None:
    savedmodel = write_tiny_export(tmp_path / "first", b"weights one") / "savedmodel"
    killed_inside(
        f"""
        from tasks.store import model_store
        real_copytree = model_store.shutil.copytree
        def copy_then_die(*args, **kwargs):
            real_copytree(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        model_store.shutil.copytree = copy_then_die
        model_store.ModelStore("store", "bike").add_version(__import__("pathlib").Path({str(savedmodel)!r}), {{}})
        """,
        tmp_path,
    )
    store = ModelStore(tmp_path / "store", "bike")
    assert [p.name.startswith(".incoming.") for p in store.model_dir.iterdir()] == [True]
    assert store.versions() == []

    second = write_tiny_export(tmp_path / "second", b"weights two") / "savedmodel"
    assert store.add_version(second, {}) == (1, True)
    assert sorted(p.name for p in store.model_dir.iterdir()) == ["1"]


@pytest.mark.timeout(60)
def test_git_status_never_shows_a_temporary_of_a_killed_run(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is required")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    export_files(tmp_path, [".gitignore"])  # as committed
    (tmp_path / "data").mkdir()
    (tmp_path / "data/.gitignore").write_text("/export\n/model\n")  # as DVC writes it for its outputs
    for leftover in ("data/.export.4242.ab12cd34.tmp", "data/.model.4242.ab12cd34.tmp", "reports/.training.1.x.tmp"):
        (tmp_path / leftover).mkdir(parents=True)
        (tmp_path / leftover / "saved_model.pb").write_bytes(b"x")
    (tmp_path / "data/.metrics.json.4242.k2j3.tmp").write_text("{}")
    (tmp_path / "data/.export.old").mkdir()
    (tmp_path / "data/.export.old/x").write_text("x")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path, capture_output=True, text=True
    )
    assert status.stdout.split() == ["??", ".gitignore", "??", "data/.gitignore"]
