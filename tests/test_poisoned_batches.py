"""A corpus of poisoned batches through the real collect and validate stages: each one stops the pipeline with a
message naming the columns, and leaves the production pointer, the production model and the last good validated
data byte-identical.

The workspace holds a production model in its store (a tiny real SavedModel with its trusted holdout) and the last
good validated data of a clean Jan-Aug 2011 batch. Each case writes a poisoned source (the August rows changed),
then runs `tasks.data.collect` and `tasks.checks.validate` in-process (no TensorFlow, no DVC): the DAG stops at the
first stage
that fails, so nothing downstream (train, evaluate, deploy) can touch production. Candidates trained on poisoned
rows that got past validation are refused by the gate on the trusted holdout (tests/test_trusted_holdout.py,
tests/test_gate_pipeline.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tasks.core.errors import PipelineError
from tests.workspace_params import copy_params, set_params

pytestmark = [pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parent.parent
STORE = Path("data/model_store/bike_demand")
VALIDATED = Path("data/validated/data.parquet")


def run_collect_and_validate() -> None:
    import tasks.checks.validate
    import tasks.data.collect

    tasks.data.collect.main()
    tasks.checks.validate.main()


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under the store and of the last validated data."""
    files = [*sorted((root / STORE).rglob("*")), root / VALIDATED]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, bike_source: pd.DataFrame) -> Iterator[Path]:
    from tasks.evaluation.holdout import HOLDOUT_FILE, holdout_card
    from tasks.store.deploy import deploy
    from tasks.store.model_store import ModelStore
    from tests.tiny_export import write_tiny_export

    root = tmp_path_factory.mktemp("poisoned")
    copy_params(root)
    set_params(
        root,
        {"collect.source": "source.csv", "collect.as_of": "2011-09-01", "validate.data_docs": False},
    )
    export = root / "export"
    export.mkdir()
    bike_source.iloc[:100].to_parquet(export / HOLDOUT_FILE, index=False)
    write_tiny_export(export, b"production", json.dumps({"holdout": holdout_card(export / HOLDOUT_FILE)}))
    with contextlib.chdir(root):
        receipt = deploy(ModelStore("data/model_store", "bike_demand"), export, {"blessed": True, "champion": None})
        assert receipt["deployed"]
        bike_source.to_csv("source.csv", index=False)
        run_collect_and_validate()  # the clean batch: the last good validated data
    yield root


def poisoned(source: pd.DataFrame, change: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """`source` with its August rows replaced by `change(august rows)`."""
    august = source["mnth"] == "Aug"
    changed = source.copy()
    changed.loc[august] = change(source.loc[august].copy())
    return changed


def swap(a: str, b: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda rows: rows.assign(**{a: rows[b].to_numpy(), b: rows[a].to_numpy()})


def foreign(source: pd.DataFrame, header: str) -> pd.DataFrame:
    """The NYC weather table of 2013: another data set with the same 15 columns count."""
    weather = pd.read_csv(REPO / "data/sources/nyc-weather-2013.csv.gz").iloc[: len(source)]
    return weather.set_axis(source.columns, axis=1) if header == "bike" else weather


CASES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str, list[str]]] = {
    # case: (poison, stage that stops it, what the message must name)
    "temp and hum swapped": (
        lambda s: poisoned(s, swap("temp", "hum")),
        "validate",
        ["column 'temp, atemp'", "2011-08: "],
    ),
    "hum and windspeed swapped": (
        lambda s: poisoned(s, swap("hum", "windspeed")),
        "validate",
        ["column 'hum'", "column 'windspeed'"],
    ),
    "hum rescaled x0.6 (inside 0..1)": (
        lambda s: poisoned(s, lambda r: r.assign(hum=(r["hum"] * 0.6).round(2))),
        "validate",
        ["q95_to_be_between_reference_months on column 'hum'", "2011-08: 0."],
    ),
    "label shift: bikers x1.5": (
        lambda s: poisoned(s, lambda r: r.assign(bikers=(r["bikers"] * 1.5).round().astype("int64"))),
        "validate",
        ["column 'casual + registered == bikers'", "2011-08: holds in 0.0% of the rows"],
    ),
    "foreign data set, same column count, bike header": (
        lambda s: foreign(s, "bike"),
        "validate",
        ["in_set on column 'season'", "between on column 'temp'"],
    ),
    "foreign data set, same column count, own header": (
        lambda s: foreign(s, "own"),
        "collect",
        ["source.csv", "season"],
    ),
    "a missing month (July)": (
        lambda s: s.loc[s["mnth"] != "July"],
        "validate",
        ["no_gaps_longer_than on column 'timestamp'", "2011-06-30T23:00:00 -> 2011-08-01T00:00:00"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_poisoned_batch_stops_the_pipeline_naming_the_columns_and_production_stays_byte_identical(
    workspace: Path, bike_source: pd.DataFrame, case: str
) -> None:
    poison, stage, named = CASES[case]
    before = snapshot(workspace)
    assert any(name.endswith("production.json") for name in before) and str(VALIDATED) in before
    with contextlib.chdir(workspace):
        poison(bike_source).to_csv("source.csv", index=False)
        import tasks.data.collect

        with pytest.raises(PipelineError) as stopped:
            if stage == "collect":
                tasks.data.collect.main()
            else:
                tasks.data.collect.main()  # collect must pass: the poison is in the values, not the form
                import tasks.checks.validate

                tasks.checks.validate.main()
    message = str(stopped.value)
    for text in named:
        assert text in message, f"{case}: {text!r} not in:\n{message}"
    assert snapshot(workspace) == before
