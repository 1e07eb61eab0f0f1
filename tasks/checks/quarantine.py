"""Setting a rejected batch aside, with its report, under `data/quarantine/<id>/`.

The id is the UTC time of the run plus the first 12 hex digits of the batch's sha256, so ids sort by time and the
same batch rejected twice is recognisable. The folder holds `batch/` (the collected files exactly as validate read
them), `report/` (Data Docs and summaries of the run that rejected it) and `reason.txt` (the failure message).

The folder is git-ignored and not a DVC output: DVC keeps no outputs of a failed stage, and a quarantined batch is
evidence for a person to inspect (or to re-run with `python -m tasks.checks.validate` after fixing the data or the
suite),
not an input of any stage. Delete old ids when they have been dealt with.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path

from tasks.core.artifacts import QUARANTINE_DIR
from tasks.core.atomic import atomic_dir


def batch_digest(batch_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in batch_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(batch_dir).as_posix().encode())
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def quarantine(batch_dir: Path, report_dir: Path, reason: str, when: datetime, root: Path = QUARANTINE_DIR) -> Path:
    """Copy the rejected batch and its report into `root/<id>/`; return that folder."""
    batch_id = f"{when:%Y%m%dT%H%M%SZ}-{batch_digest(batch_dir)[:12]}"
    target = root / batch_id
    with atomic_dir(target) as tmp:
        shutil.copytree(batch_dir, tmp / "batch")
        if report_dir.exists():
            shutil.copytree(report_dir, tmp / "report")
        (tmp / "reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target
