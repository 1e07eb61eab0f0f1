"""How a table source is read: the options a problem's config gives under `collect.read` (and, for its given test
file, `collect.test_read`, which overrides `collect.read` key by key).

    collect:
      read:
        names: [age, workclass, income]   # column names of a headerless file, in order (header: none)
        header: none                      # none, or the 0-based line holding the column names (default 0)
        sep: ","                          # CSV field separator
        skipinitialspace: true            # drop the spaces after a separator (`a, b` reads as `a`, `b`)
        na_values: ["?"]                  # markers that mean "missing" (every format), besides an empty field
        comment: "|"                      # a line starting with it is skipped (CSV)
        skip_rows: 1                      # preamble lines skipped before the header or the first row (CSV)
        encoding: latin-1                 # the file's text encoding (CSV, JSON lines); default utf-8
        value_map: {income: {">50K.": ">50K"}}   # per column (names as in the source): value -> value

The CSV-only keys (`names`, `header`, `sep`, `skipinitialspace`, `comment`, `skip_rows`) on a Parquet or JSON lines
source are refused; `na_values` and `value_map` apply to every format. A bad option raises one PipelineError naming
the key (`collect.read.sep`) and what is expected.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasks.core.errors import PipelineError

CSV_ONLY = ("names", "header", "sep", "skipinitialspace", "comment", "skip_rows")
KEYS = (*CSV_ONLY, "na_values", "encoding", "value_map")


@dataclass(frozen=True)
class ReadOptions:
    names: tuple[str, ...] | None = None
    header: int | None = 0
    sep: str = ","
    skipinitialspace: bool = False
    na_values: tuple[str, ...] = ()
    comment: str | None = None
    skip_rows: int = 0
    encoding: str = "utf-8"
    value_map: dict[str, dict[Any, Any]] = field(default_factory=dict)
    given: frozenset[str] = frozenset()  # the keys the config set (a CSV-only one on another format is refused)
    key: str = "collect.read"  # where they came from, for messages

    @classmethod
    def from_mapping(cls, mapping: Any, key: str = "collect.read") -> ReadOptions:
        """Options from a config mapping (None: the defaults); a PipelineError naming `key.<option>` otherwise."""
        if mapping is None:
            return cls(key=key)
        if not isinstance(mapping, Mapping):
            raise PipelineError(f"'{key}' must be a mapping of source options ({', '.join(KEYS)}), got {mapping!r}")
        unknown = sorted(str(k) for k in mapping if k not in KEYS)
        if unknown:
            raise PipelineError(f"'{key}.{unknown[0]}' is not a source option; expected one of {list(KEYS)}")
        got: dict[str, Any] = {}
        for name, value in mapping.items():
            got[name] = _checked(f"{key}.{name}", name, value)
        header = got.get("header", None if "names" in got else 0)
        if "names" in got and header is not None:
            raise PipelineError(
                f"'{key}.names' names the columns of a headerless file: set '{key}.header: none' too "
                f"(header is {header!r}: the file's own names would be replaced)"
            )
        return cls(
            names=got.get("names"),
            header=header,
            sep=got.get("sep", ","),
            skipinitialspace=got.get("skipinitialspace", False),
            na_values=got.get("na_values", ()),
            comment=got.get("comment"),
            skip_rows=got.get("skip_rows", 0),
            encoding=got.get("encoding", "utf-8"),
            value_map=got.get("value_map", {}),
            given=frozenset(mapping),
            key=key,
        )

    def overridden(self, mapping: Any, key: str) -> ReadOptions:
        """These options with `mapping`'s keys replacing theirs (a test file's own options)."""
        if mapping is None:
            return self
        if not isinstance(mapping, Mapping):
            raise PipelineError(f"'{key}' must be a mapping of source options ({', '.join(KEYS)}), got {mapping!r}")
        base = {name: _as_config(getattr(self, name)) for name in self.given}
        if "names" in mapping and "header" not in mapping:
            base.pop("header", None)
        return ReadOptions.from_mapping({**base, **mapping}, key)

    def check_format(self, uri: str, fmt: str) -> None:
        if fmt == "csv":
            return
        wrong = sorted(self.given & set(CSV_ONLY))
        if wrong:
            raise PipelineError(f"'{self.key}.{wrong[0]}' applies to CSV sources only; {uri} is read as {fmt}")

    def csv_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "sep": self.sep,
            "header": self.header,
            "skipinitialspace": self.skipinitialspace,
            "comment": self.comment,
            "skiprows": self.skip_rows or None,
        }
        if self.names is not None:
            kwargs["names"] = list(self.names)
        if self.na_values:
            kwargs["na_values"] = list(self.na_values)
        return kwargs

    def row_lines(self, data: bytes, rows: int) -> list[int] | None:
        """The 1-based line of `data` (a CSV file's UTF-8 bytes) each of the `rows` rows read from it came from: the
        skipped lines, blank lines, lines that start with the comment character and the header are no rows. None
        when the count differs from `rows` (a quoted field across lines): then only the order is known."""
        comment = self.comment.encode("utf-8") if self.comment else None
        numbers = []
        for number, line in enumerate(data.split(b"\n"), start=1):
            text = line.rstrip(b"\r")
            if number <= self.skip_rows or not text or (comment is not None and text.startswith(comment)):
                continue
            numbers.append(number)
        numbers = numbers[self.header + 1 :] if self.header is not None else numbers
        return numbers if len(numbers) == rows else None

    def apply_values(self, frame: pd.DataFrame, uri: str) -> pd.DataFrame:
        """NA markers (for formats pandas does not mark them in) and the value map, column by column."""
        if not self.na_values and not self.value_map:
            return frame
        frame = frame.copy()
        if self.na_values:
            markers = set(self.na_values)
            for column in frame.columns:
                if frame[column].dtype == object:
                    frame[column] = frame[column].where(~frame[column].isin(markers), None)
        missing = [c for c in self.value_map if c not in frame.columns]
        if missing:
            raise PipelineError(
                f"'{self.key}.value_map.{missing[0]}': {uri} has no column {missing[0]!r}; "
                f"its columns are {[str(c) for c in frame.columns]}"
            )
        for column, mapping in self.value_map.items():
            values = frame[column]
            hit = values.isin(list(mapping))
            if hit.any():  # mapped to numbers (`"1975-01-01": 1975`), the column becomes numeric, not object
                frame[column] = values.where(~hit, values.map(mapping)).infer_objects()
        return frame


def _checked(key: str, name: str, value: Any) -> Any:
    def fail(expected: str) -> PipelineError:
        return PipelineError(f"'{key}' must be {expected}, got {value!r}")

    if name == "names":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise fail("a list of column names (strings)")
        if len(set(value)) != len(value):
            twice = sorted({v for v in value if value.count(v) > 1})
            raise fail(f"distinct names ({twice} appear twice)")
        return tuple(value)
    if name == "header":
        if value is None or value is False or value == "none":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail("none (a headerless file) or the 0-based line number of the header")
        return value
    if name in ("sep", "comment"):
        if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
            raise fail("one character (not a line break)")
        return value
    if name == "skipinitialspace":
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if name == "skip_rows":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail("a number of lines >= 0")
        return value
    if name == "na_values":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail('a list of marker strings such as ["?", "NA"]')
        return tuple(value)
    if name == "encoding":
        try:
            return codecs.lookup(str(value)).name
        except LookupError:
            raise fail("a text encoding Python knows (utf-8, latin-1, cp1252 ...)") from None
    if name == "value_map":
        if not isinstance(value, Mapping) or not all(isinstance(m, Mapping) for m in value.values()):
            raise fail('a mapping of column -> {value: new value}, e.g. {income: {">50K.": ">50K"}}')
        return {str(c): dict(m) for c, m in value.items()}
    raise AssertionError(name)


def _as_config(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return "none" if value is None else value
