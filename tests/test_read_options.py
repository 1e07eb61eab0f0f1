"""Source options (collect.read, collect.test_read): a headerless comma-plus-space file with `?` markers, a test
file with its own preamble and dotted labels, other encodings, and one message naming the key for a bad option."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from pipelines.breast_cancer import PROBLEM as CANCER
from tasks.core.errors import PipelineError
from tasks.data.read_options import ReadOptions
from tasks.data.source_file import SourceFile
from tasks.data.sources import parse_table
from tasks.kinds.table_source import GIVEN_TEST, CollectSettings, collect_files

pytestmark = pytest.mark.timeout(60)
NAMES = ["age", "work class", "income"]
CENSUS = dataclasses.replace(
    CANCER, name="census", target="income", numeric_features=("age",), categorical_features=("work_class",),
    source_columns=tuple(NAMES), classes=None, positive_class=">50K",
)  # fmt: skip
OPTIONS = {"names": NAMES, "header": "none", "skipinitialspace": True, "na_values": ["?"]}


def test_a_headerless_comma_space_file_with_markers_reads_as_named_columns_with_missing_values() -> None:
    payload = b"39, State-gov, <=50K\n50, ?, >50K\n"
    frame = parse_table(SourceFile("adult.data.csv", payload), options=ReadOptions.from_mapping(OPTIONS))
    assert list(frame.columns) == NAMES
    assert frame["work class"].tolist()[0] == "State-gov" and pd.isna(frame["work class"][1])
    assert frame["age"].dtype.kind == "i"


def test_the_test_file_gets_its_own_preamble_and_label_map_on_top_of_the_shared_options(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("39, State-gov, <=50K\n50, ?, >50K\n")
    (tmp_path / "test.csv").write_text("|1x3 Cross validator\n25, Private, <=50K.\n38, ?, >50K.\n")
    read = ReadOptions.from_mapping(OPTIONS)
    test_read = read.overridden({"skip_rows": 1, "value_map": {"income": {">50K.": ">50K", "<=50K.": "<=50K"}}}, "t")
    settings = CollectSettings(
        source=str(tmp_path / "train.csv"), test_source=str(tmp_path / "test.csv"), as_of=None,
        read=read, test_read=test_read,
    )  # fmt: skip
    frame, manifest = collect_files(settings, CENSUS)
    assert frame["income"].tolist() == ["<=50K", ">50K", "<=50K", ">50K"]
    assert frame[GIVEN_TEST].tolist() == [False, False, True, True]
    assert frame["work_class"].isna().tolist() == [False, True, False, True]
    assert len(manifest["sources"]) == 2


def test_an_encoding_other_than_utf8_is_decoded_and_markers_apply_to_json_lines() -> None:
    latin = "age;name\n3;Zoë\n".encode("latin-1")
    frame = parse_table(
        SourceFile("x.csv", latin), options=ReadOptions.from_mapping({"sep": ";", "encoding": "latin-1"})
    )
    assert frame["name"].tolist() == ["Zoë"]
    jsonl = b'{"a": "?", "b": 1}\n{"a": "x", "b": 2}\n'
    frame = parse_table(SourceFile("x.jsonl", jsonl), options=ReadOptions.from_mapping({"na_values": ["?"]}))
    assert frame["a"].isna().tolist() == [True, False]


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"sep": ";;"}, "'collect.read.sep' must be one character"),
        ({"separator": ","}, "'collect.read.separator' is not a source option"),
        ({"names": ["a", "a"]}, "'collect.read.names' must be distinct names"),
        ({"names": ["a", "b"], "header": 0}, "'collect.read.names' names the columns of a headerless file"),
        ({"encoding": "klingon"}, "'collect.read.encoding' must be a text encoding"),
        ({"header": -1}, "'collect.read.header' must be none"),
        ({"value_map": {"income": ">50K"}}, "'collect.read.value_map' must be a mapping of column"),
    ],
)
def test_a_bad_source_option_is_refused_naming_its_key(mapping: dict, named: str) -> None:
    with pytest.raises(PipelineError, match=named.replace(".", r"\.").replace("(", r"\(")):
        ReadOptions.from_mapping(mapping)


def test_csv_only_options_on_parquet_and_an_unknown_value_map_column_are_named(tmp_path: Path) -> None:
    buffer = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(buffer)
    with pytest.raises(PipelineError, match=r"'collect\.read\.sep' applies to CSV sources only"):
        parse_table(SourceFile("x.parquet", buffer.read_bytes()), options=ReadOptions.from_mapping({"sep": ";"}))
    options = ReadOptions.from_mapping({"value_map": {"incme": {"a": "b"}}})
    with pytest.raises(PipelineError, match=r"'collect\.read\.value_map\.incme': x\.csv has no column 'incme'"):
        parse_table(SourceFile("x.csv", b"income\na\n"), options=options)


def test_rows_with_more_fields_than_names_are_refused() -> None:
    options = ReadOptions.from_mapping({"names": ["a", "b"], "header": "none"})
    with pytest.raises(PipelineError, match=r"more fields than the 2 names in collect\.read\.names"):
        parse_table(SourceFile("x.csv", b"1,2,3\n4,5,6\n"), options=options)


def test_a_value_map_to_numbers_gives_a_numeric_column() -> None:
    options = ReadOptions.from_mapping({"value_map": {"Year": {"1970-01-01": 1970, "1971-01-01": 1971}}})
    frame = parse_table(SourceFile("cars.csv", b"Year,mpg\n1970-01-01,18\n1971-01-01,21\n"), options=options)
    assert frame["Year"].tolist() == [1970, 1971] and pd.api.types.is_integer_dtype(frame["Year"])
