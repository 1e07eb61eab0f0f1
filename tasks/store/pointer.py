"""The production pointer (`<store>/<model>/production.json`), read so that a corrupt or dangling one stops the run
with one message naming the file and the command that repairs it, instead of a decoding traceback or advice that
does not help.

Every stage that reads the pointer (evaluate, for the champion; deploy) reads it through `checked_production`, and
`python -m tasks.store.preflight` runs the same check in about a second before `dvc repro` (`make run` does it): the
store is not a DVC dependency, so DVC alone would not notice a broken pointer before the DAG ran.
"""

from __future__ import annotations

import json
from typing import Any

from tasks.core.errors import PipelineError

POINTER_NAME = "production.json"
LIST_COMMAND = "python -m tasks.store.cli list"
PROMOTE_COMMAND = 'python -m tasks.store.cli promote <version> --reason "repair the production pointer"'


def pointer_location(store: Any) -> str:
    """Where the pointer lives, as a person would look for it (a path, or the S3 store's location)."""
    location = getattr(store, "location", None)
    if isinstance(location, str):
        return f"{location.rstrip('/')}/{POINTER_NAME}"
    return str(store.model_dir / POINTER_NAME)


def _repair(store: Any) -> str:
    versions = store.versions()
    listed = f"stored versions: {versions}" if versions else "the store holds no version"
    return (
        f"{listed}; repair it with `{PROMOTE_COMMAND}` (`{LIST_COMMAND}` shows each version's metrics and "
        f"blessing; deleting the file instead would let the next candidate in without a champion to beat)"
    )


def checked_production(store: Any) -> dict[str, Any] | None:
    """The production pointer of `store`, None when there is none; a PipelineError naming the file and the repair
    when it cannot be read, is not a pointer, or names a version the store does not hold complete."""
    where = pointer_location(store)
    try:
        pointer = store.production()
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PipelineError(f"{where}: the production pointer is corrupt (not JSON: {err}); {_repair(store)}") from None
    if pointer is None:
        return None
    version = pointer.get("version") if isinstance(pointer, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise PipelineError(
            f"{where}: the production pointer is corrupt (expected an object with an integer 'version', got "
            f"{json.dumps(pointer)[:120]}); {_repair(store)}"
        )
    if version not in store.versions():
        raise PipelineError(
            f"{where}: the production pointer names version {version}, which the store does not hold; {_repair(store)}"
        )
    if store.fingerprint(version) is None:
        raise PipelineError(
            f"{where}: the production pointer names version {version}, which is incomplete (no content "
            f"fingerprint: an interrupted copy?); {_repair(store)}"
        )
    return pointer
