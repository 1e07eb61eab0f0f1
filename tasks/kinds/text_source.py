"""The text kind's collect and validate: read the source's text and label columns, then check the collected texts.

collect writes data/raw/ (`data.parquet` with `text` and `label`, and `manifest.json`); validate writes the validation
report, quarantines a failed batch, and writes data/validated/ with exact duplicate texts dropped (the first kept).
What each check means is in tasks/kinds/text.py.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TextProblem
from tasks.core.artifacts import (
    RAW,
    RAW_MANIFEST,
    VALIDATED,
    VALIDATED_DIR,
    VALIDATION_REPORT_DIR,
    read_json,
    read_parquet,
    write_raw,
)
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.sources import HttpSettings, read_sources
from tasks.kinds.checks import Check, refuse_batch, summary
from tasks.reports.html import page, table

log = logging.getLogger(__name__)

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---------------------------------------------------------------------------------------------------- collect


def read_text_source(
    source: str, problem: TextProblem, http: HttpSettings | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(rows of `text` and `label`, manifest) from every file `source` names; rows of `drop_labels` dropped."""
    frame, files = read_sources(source, http)
    missing = [c for c in (problem.text_column, problem.label_column) if c not in frame.columns]
    if missing:
        raise PipelineError(
            f"collect.source {source}: no column(s) {missing}; the {problem.name} problem reads its text from "
            f"'{problem.text_column}' and its label from '{problem.label_column}' (columns: {list(frame.columns)})"
        )
    labels = frame[problem.label_column]
    dropped = labels.isin(list(problem.drop_labels))
    rows = pd.DataFrame(
        {
            "text": frame.loc[~dropped, problem.text_column].astype("string").fillna("").astype(object),
            "label": labels[~dropped].astype(str),
        }
    ).reset_index(drop=True)
    manifest = {
        "problem": problem.name,
        "sources": [{"uri": f.uri, "sha256": f.sha256, "bytes": len(f.payload)} for f in files],
        "rows": len(rows),
        "dropped_rows": {str(k): int(v) for k, v in labels[dropped].astype(str).value_counts().items()},
    }
    return rows, manifest


def collect(problem: TextProblem, params: Params) -> None:
    source = params.get("collect.source", str)
    http = HttpSettings.from_params(params)
    rows, manifest = read_text_source(source, problem, http)
    write_raw(rows, manifest)
    log.info("collected %d texts from %s (dropped %s)", len(rows), source, manifest["dropped_rows"])


# --------------------------------------------------------------------------------------------------- validate


def check_texts(
    frame: pd.DataFrame,
    problem: TextProblem,
    min_chars: int,
    max_chars: int,
    max_duplicate_share: float,
    min_class_ratio: float,
) -> list[Check]:
    """Every check on the collected texts; each names the rows (first few) that fail it."""

    def first(mask: pd.Series) -> str:
        rows = np.flatnonzero(mask.to_numpy())[:5]
        return f", rows {', '.join(str(i) for i in rows)}" if len(rows) else ""

    def check(name: str, success: Any, detail: str) -> Check:
        return Check(name, bool(success), detail)

    text = frame["text"].astype(str)
    length = text.str.len()
    span = f"{int(length.min())}..{int(length.max())}" if len(frame) else "none"
    empty = text.str.strip() == ""
    outside = ~empty & ((length < min_chars) | (length > max_chars))
    bad_encoding = text.map(lambda t: "\ufffd" in t or bool(CONTROL.search(t)))
    known = {str(value) for value, _ in problem.classes}
    unknown = sorted(set(frame["label"]) - known)
    duplicated = text.duplicated(keep="first") & ~empty
    counts = frame["label"].astype(str).value_counts().reindex(sorted(known), fill_value=0)  # known labels only
    ratio = float(counts.min() / counts.max()) if counts.max() > 0 else 0.0
    return [
        check("not empty", len(frame) > 0, f"{len(frame)} texts"),
        check("non-empty texts", not empty.any(), f"{int(empty.sum())} empty text(s){first(empty)}"),
        check(
            "length bounds",
            not outside.any(),
            f"{int(outside.sum())} text(s) outside {min_chars}..{max_chars} characters (validate.min_chars/"
            f"max_chars){first(outside)}; lengths span {span}",
        ),
        check(
            "encoding",
            not bad_encoding.any(),
            f"{int(bad_encoding.sum())} text(s) with U+FFFD or control characters (decoded with the wrong codec?)"
            f"{first(bad_encoding)}",
        ),
        check(
            "label set",
            not unknown,
            f"labels outside {sorted(known)}: {unknown[:10]}" if unknown else f"labels within {sorted(known)}",
        ),
        check(
            "exact duplicate texts",
            duplicated.sum() <= max_duplicate_share * max(len(frame), 1),
            f"{int(duplicated.sum())} repeated text(s) ({duplicated.mean() if len(frame) else 0:.2%}; at most "
            f"{max_duplicate_share:.2%} allowed, validate.max_duplicate_share): repeats are dropped, the first kept",
        ),
        check(
            "class balance",
            ratio >= min_class_ratio,
            f"rarest/commonest class = {counts.min() if len(counts) else 0}/{counts.max() if len(counts) else 0} = "
            f"{ratio:.2f} (validate.min_class_ratio {min_class_ratio}); every class needs texts",
        ),
    ]


def render_validation(checks: list[Check], problem: TextProblem, frame: pd.DataFrame) -> str:
    rows = [[c.name, "pass" if c.success else "FAIL", c.detail] for c in checks]
    verdict = all(c.success for c in checks if c.severity == "critical")
    length = frame["text"].astype(str).str.len()
    overview = [
        ["texts", len(frame)],
        *[[f"label {k}", int(v)] for k, v in sorted(frame["label"].value_counts().items())],
        ["characters (median)", int(length.median()) if len(frame) else 0],
        ["characters (max)", int(length.max()) if len(frame) else 0],
    ]
    return page(
        f"Validation: {problem.name}",
        [
            ("Verdict", f'<p class="{"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</p>'),
            ("Texts", table(["", "value"], overview)),
            ("Checks", table(["check", "result", "detail"], rows)),
        ],
        subtitle=html.escape(problem.description),
    )


def validate(problem: TextProblem, params: Params) -> None:
    min_chars = params.get("validate.min_chars", int, 1, minimum=1)
    max_chars = params.get("validate.max_chars", int, 5000, minimum=min_chars)
    max_duplicate_share = params.get("validate.max_duplicate_share", float, 0.01, minimum=0.0, maximum=1.0)
    min_class_ratio = params.get("validate.min_class_ratio", float, 0.5, minimum=0.0, maximum=1.0)
    frame = read_parquet(RAW)
    read_json(RAW_MANIFEST)
    checks = check_texts(frame, problem, min_chars, max_chars, max_duplicate_share, min_class_ratio)
    run_time = datetime.now(UTC)
    outcome = {"source": str(RAW), "run_time": run_time.isoformat(timespec="seconds")} | summary(checks)
    with atomic_dir(VALIDATION_REPORT_DIR) as docs:
        (docs / "index.html").write_text(render_validation(checks, problem, frame))
        (docs / "summary.json").write_text(json.dumps(outcome, indent=2) + "\n")
    if not outcome["success"]:
        refuse_batch(outcome, checks, run_time)
    kept_rows = frame.loc[~frame["text"].astype(str).duplicated(keep="first")].reset_index(drop=True)
    with atomic_dir(VALIDATED_DIR) as tmp:
        kept_rows.to_parquet(tmp / VALIDATED.name, index=False)
    log.info("%d texts passed %d checks (%d repeats dropped)", len(kept_rows), len(checks), len(frame) - len(kept_rows))
