"""featurize: split data/validated into train/val/test and fit the feature spec on the training split alone.

Outputs (data/features/): `train.parquet`, `val.parquet`, `test.parquet` and `spec.json`, the statistics the
model's preprocessing layers are built from, plus `kind` and, for classification, the named `classes`. How the
rows are split and what the spec holds is the kind's (tasks/kinds/table_split.py, tasks/kinds/image_split.py).
"""

from __future__ import annotations

from tasks.core.errors import run_stage
from tasks.kinds.selection import select


def main() -> None:
    run = select()
    run.kind.featurize(run.problem, run.params)


if __name__ == "__main__":
    run_stage("featurize", main)
