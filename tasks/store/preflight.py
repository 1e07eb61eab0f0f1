"""Cheap checks before `dvc repro` runs the DAG (about a second, no TensorFlow): what lives outside DVC and would
otherwise only fail a stage half-way through the run. Today: the model store's production pointer (see
tasks.store.pointer). `make run` calls it first; `python -m tasks.store.preflight` runs it alone.
"""

from __future__ import annotations

import logging

from tasks.core.errors import run_stage
from tasks.kinds.selection import model_name, select
from tasks.store.location import store_from_params
from tasks.store.pointer import checked_production, pointer_location

log = logging.getLogger(__name__)


def main() -> None:
    selection = select()
    # the store deploy.store names: an s3:// store is read on S3 (deploy.s3), never made a local folder
    store = store_from_params(selection.params, model_name=model_name(selection))
    pointer = checked_production(store)
    if pointer is None:
        log.info("%s: nothing in production yet", pointer_location(store))
    else:
        log.info("%s: production is version %s", pointer_location(store), pointer["version"])


if __name__ == "__main__":
    run_stage("preflight", main)
