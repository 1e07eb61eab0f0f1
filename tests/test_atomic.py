from pathlib import Path

import pytest

from tasks.core.atomic import atomic_dir, atomic_file, write_text


def test_a_failed_write_leaves_the_last_good_directory_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "data.txt").write_text("good")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "data.txt").write_text("half-written")
        raise RuntimeError("stage crashed")
    assert (target / "data.txt").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_successful_write_replaces_the_whole_directory(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "old.txt").write_text("1")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o700)


def test_a_failed_file_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_text(target, "{}")
    with pytest.raises(ValueError), atomic_file(target) as tmp:
        tmp.write_text("{broken")
        raise ValueError
    assert target.read_text() == "{}"
