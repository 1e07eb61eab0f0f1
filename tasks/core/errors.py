"""User-facing failures and the CLI wrapper every stage shares.

A `PipelineError` is something a user can cause and fix (bad data, bad params, missing credentials): the CLI prints
its message alone, without a traceback, and exits non-zero so DVC and Prefect stop the DAG there. Anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable


class PipelineError(Exception):
    """An error the user can fix; its message names the file, column or key and what was expected."""


def run_stage(stage: str, main: Callable[[], None]) -> None:
    """Run a stage's `main`, turning a `PipelineError` into one clear message and exit status 1."""
    # Our stages speak at INFO; the libraries underneath (GX, TF, Prefect) only from WARNING up.
    logging.basicConfig(level=logging.WARNING, format=f"[{stage}] %(message)s")
    logging.getLogger("tasks").setLevel(logging.INFO)
    logging.getLogger("__main__").setLevel(logging.INFO)  # a stage run as `python -m tasks.<package>.<stage>`
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    try:
        main()
    except PipelineError as err:
        print(f"[{stage}] FAILED: {err}", file=sys.stderr)
        sys.exit(1)
