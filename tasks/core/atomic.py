"""Write-then-rename, so a stage that fails half-way leaves the last good output untouched."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tasks.core.litter import sweep


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside `target`; on success it replaces `target` as a whole.

    On an exception the temporary directory is removed and `target` is left exactly as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(target), suffix=".tmp", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; outputs get the usual permissions
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_path(tmp, target)


@contextlib.contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Yield a temporary file path beside `target`; on success it is renamed over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(target)
    fd, name = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def _temporary_prefix(target: Path) -> str:
    # The writer's pid in the name lets a later run tell a killed writer's leftovers from a live one's.
    return f".{target.name}.{os.getpid()}."


def sweep_leftovers(target: str | Path) -> None:
    """Remove what killed writers of `target` left beside it: their temporaries, and a `.old` copy that a
    directory swap left while `target` itself is complete (the swap's second rename is done: the copy is no
    longer needed by anyone)."""
    target = Path(target)
    sweep(target.parent, f".{target.name}.", ".tmp")
    old = target.with_name(f".{target.name}.old")
    if old.is_dir() and target.is_dir():
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | Path, text: str) -> None:
    """Atomically write `text` to `target`."""
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def replace_path(new: Path, target: Path) -> None:
    """Put `new` at `target`. A directory swap is two renames; the old one is kept aside until the second succeeds."""
    if not target.exists() and not target.is_symlink():
        os.replace(new, target)
        return
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        try:
            os.replace(new, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)
