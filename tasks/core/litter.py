"""Temporary files and folders that a killed run left behind are swept away by the next run.

Every temporary name written beside an output carries the writer's process id (`tasks.core.atomic`:
`.<target>.<pid>.<random>.tmp`; the model store's `.incoming.<pid>.<random>`), so a later run can tell a
temporary of a live writer (leave it) from one whose writer is gone (a kill -9, a lost machine: remove it).
Names of the older form without a process id are removed once they are older than `LEGACY_MAX_AGE_S`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

LEGACY_MAX_AGE_S = 3600.0
log = logging.getLogger(__name__)


def writer_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(name: str, prefix: str) -> int | None:
    """The process id right after `prefix` in `name`, or None for a name of the older form."""
    head = name[len(prefix) :].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def sweep(parent: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Remove the entries of `parent` named `<prefix><pid>.…<suffix>` whose writer is gone (and those of the
    older form without a pid that are older than LEGACY_MAX_AGE_S); returns what was removed."""
    if not parent.is_dir():
        return []
    removed = []
    now = time.time()
    for entry in parent.iterdir():
        name = entry.name
        if not name.startswith(prefix) or not name.endswith(suffix):
            continue
        owner = _owner(name, prefix)
        if owner == os.getpid() or (owner is not None and writer_alive(owner)):
            continue
        if owner is None:
            try:
                if now - entry.lstat().st_mtime < LEGACY_MAX_AGE_S:
                    continue
            except FileNotFoundError:
                continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        log.info("removed %s, left by an interrupted run (process %s)", entry, owner if owner else "unknown")
        removed.append(entry)
    return removed
