"""The contract every kind of data fulfils (tasks/kinds/contract.py), checked on each registered kind with a few
rows of its bundled sample: the hooks exist with the contract's parameters, its params keys are sections the stages
know, and the model inputs it makes are exactly the serving signature it describes, in order and dtype."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines import load_problem
from tasks.core.params import NEUTRAL_KEYS
from tasks.kinds import KINDS
from tasks.kinds.contract import DataKind

REPO = Path(__file__).resolve().parent.parent
HOOKS = [
    name
    for name, member in inspect.getmembers(DataKind, inspect.isfunction)
    if not name.startswith("_") and name not in dir(object)
]


def table_sample() -> tuple[Any, dict[str, Any], pd.DataFrame]:
    from tasks.data.sources import read_sources
    from tasks.kinds.table_source import parse_as_of, select_before
    from tasks.kinds.table_split import fit_feature_spec, split_by_time

    problem = load_problem("bike_demand")
    frame, _ = read_sources(str(REPO / "data/sources/bikeshare-2011.csv.gz"))
    frame = select_before(frame, problem, parse_as_of("2011-02-01"))[problem.model_columns]
    splits = split_by_time(frame, problem.timestamp, 0.15, 0.15)
    return problem, fit_feature_spec(splits["train"], problem), splits["train"]


def image_sample() -> tuple[Any, dict[str, Any], pd.DataFrame]:
    from tasks.kinds.image_source import read_image_source
    from tasks.kinds.image_split import fit_image_spec, split_images

    problem = load_problem("fashion_mnist")
    splits = split_images(read_image_source(str(REPO / "data/sources/fashion-mnist-sample"), problem)[0], 0.1, 0)
    return problem, fit_image_spec(splits["train"], problem), splits["train"].iloc[:50]


def text_sample() -> tuple[Any, dict[str, Any], pd.DataFrame]:
    from tasks.kinds.text_source import read_text_source
    from tasks.kinds.text_split import fit_text_spec, stratified_split, with_lengths

    problem = load_problem("movie_reviews")
    rows, _ = read_text_source(str(REPO / "data/sources/rotten-tomatoes-reviews.csv.bz2"), problem)
    rows = with_lengths(rows.iloc[:400].assign(label=(rows["label"].iloc[:400] == "fresh").astype("int64")))
    train = stratified_split(rows, 0.1, 0.1, 0)["train"]
    return problem, fit_text_spec(train, problem, max_tokens=500, ngrams=2), train.iloc[:50]


def series_sample() -> tuple[Any, dict[str, Any], pd.DataFrame]:
    from tasks.kinds.series_source import read_series_source
    from tasks.kinds.series_windows import fill, fit_station_offsets, hourly_grid, windows

    problem = load_problem("weather_forecast")
    rows, _ = read_series_source(str(REPO / "data/sources/nyc-weather-2013.csv.gz"), problem)
    rows = rows.assign(time=pd.to_datetime(rows["time"], utc=True))
    grid = hourly_grid(rows[rows["time"] < rows["time"].min() + pd.Timedelta(days=8)], problem)
    filled = fill(grid, problem, 2, fit_station_offsets(grid, problem))
    train = windows(grid, filled, problem, 2, grid.index[0], grid.index[-1])
    spec = {
        "kind": "series",
        "problem": problem.name,
        "columns": problem.columns,
        "lookback_hours": problem.lookback_hours,
        "horizon_hours": problem.horizon_hours,
        "minimum": float(filled.min().min()),
        "maximum": float(filled.max().max()),
    }
    return problem, spec, train.iloc[:50]


SAMPLES = {"table": table_sample, "image": image_sample, "text": text_sample, "series": series_sample}


def test_every_registered_kind_has_a_sample_here() -> None:
    assert set(KINDS) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_kind_has_every_hook_of_the_contract_with_its_parameters(name: str) -> None:
    kind = KINDS[name]
    assert isinstance(kind, DataKind) and kind.name == name
    for hook in HOOKS:
        wanted = list(inspect.signature(getattr(DataKind, hook)).parameters)[1:]
        assert list(inspect.signature(getattr(kind, hook)).parameters) == wanted, hook


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_kinds_params_keys_extend_known_sections_and_never_redefine_neutral_ones(name: str) -> None:
    for section, keys in KINDS[name].param_keys.items():
        assert section in NEUTRAL_KEYS, section
        assert not keys & NEUTRAL_KEYS[section], (section, keys & NEUTRAL_KEYS[section])


@pytest.mark.parametrize("name", sorted(KINDS))
def test_model_inputs_are_the_signature_it_describes(name: str) -> None:
    problem, spec, train = SAMPLES[name]()
    kind = KINDS[name]
    assert spec["kind"] == name and spec["problem"] == problem.name
    inputs = kind.model_inputs(train, spec)
    signature = kind.signature_inputs(spec, train)
    assert [entry["name"] for entry in signature] == list(inputs)
    for entry in signature:
        tensor = inputs[entry["name"]]
        assert tensor.dtype.name == entry["dtype"]
        assert int(tensor.shape[0]) == len(train)
        assert [int(d) for d in tensor.shape[1:]] in (entry["shape"], [1] if entry["shape"] == [] else None)
        assert "range" in entry or "categories" in entry
    ids = kind.prediction_ids(train, spec)
    assert len(ids) == len(train) and not set(ids.columns) & {"actual", "predicted"}
