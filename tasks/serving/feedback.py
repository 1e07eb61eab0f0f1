"""Label feedback: the true outcome of a prediction, sent when it is known (hours or days later), keyed by the
request id the server answered with (`X-Request-Id`) and the instance's index in that request.

    POST /v1/models/<name>/feedback   {"labels": [{"request_id": "...", "instance": 0, "label": 17.0}, ...]}

answers `{"accepted": <n>}`; a malformed body gets 400 naming the entry and the field. Each accepted body is written
at once, as one Parquet file, to `<serving.log.dir>/ground_truth/feedback-<time>-<id>.parquet` (a local folder or an
S3 prefix) with the columns `request_id`, `instance`, `label` and `received` (UTC). That folder is the monitor's
default ground truth (`monitoring.ground_truth`), where a labels file written by any other means can go too (the
columns `request_id`, `instance` and either `label` or the target's own name); files are read in name order, the last
value winning for a (request id, instance) delivered twice, so a correction is simply sent again.
"""

from __future__ import annotations

import io
import math
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.serving.request_checks import RequestError

GROUND_TRUTH_DIR = "ground_truth"  # under the prediction log's folder (tasks/monitoring/log_reader.py reads it)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_LABELS = 10_000


def checked_labels(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The body's labels as rows (request_id, instance, label); a RequestError naming the entry and field."""
    labels = payload.get("labels")
    if not isinstance(labels, list) or not labels:
        raise RequestError('feedback: expected {"labels": [{"request_id": ..., "instance": 0, "label": ...}, ...]}')
    if len(labels) > MAX_LABELS:
        raise RequestError(f"feedback: {len(labels)} labels in one request; at most {MAX_LABELS} are accepted")
    rows = []
    for i, entry in enumerate(labels):
        where = f"feedback: labels[{i}]"
        if not isinstance(entry, dict):
            raise RequestError(f"{where}: expected an object with request_id, instance and label")
        unknown = sorted(set(entry) - {"request_id", "instance", "label"})
        if unknown:
            raise RequestError(f"{where}: unknown field(s) {unknown}; expected request_id, instance, label")
        request_id = entry.get("request_id")
        if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
            raise RequestError(f"{where}.request_id: expected the X-Request-Id the prediction was answered with")
        instance = entry.get("instance", 0)
        if not isinstance(instance, int) or isinstance(instance, bool) or instance < 0:
            raise RequestError(f"{where}.instance: expected the instance's index in its request (0, 1, ...)")
        label = entry.get("label")
        if not isinstance(label, int | float) or isinstance(label, bool) or not math.isfinite(label):
            raise RequestError(f"{where}.label: expected a finite number (the true value or class index)")
        rows.append({"request_id": request_id, "instance": instance, "label": float(label)})
    return rows


class FeedbackWriter:
    """Writes each accepted feedback body as one Parquet file under `<log dir>/ground_truth/` (local or S3)."""

    def __init__(self, log_dir: str, s3_client: Any = None) -> None:
        self.destination = f"{log_dir.rstrip('/')}/{GROUND_TRUTH_DIR}"
        self._s3 = s3_client
        if self.destination.startswith("s3://") and self._s3 is None:
            from tasks.data.s3_source import S3Settings, make_client

            self._s3 = make_client(S3Settings())

    def write(self, rows: list[dict[str, Any]]) -> str:
        """The file written (its name sorts by arrival, so a later correction wins)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        now = datetime.now(UTC)
        schema = pa.schema(
            [
                ("request_id", pa.string()),
                ("instance", pa.int64()),
                ("label", pa.float64()),
                ("received", pa.timestamp("us", tz="UTC")),
            ]
        )
        table = pa.Table.from_pylist([row | {"received": now} for row in rows], schema=schema)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        name = f"feedback-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
        if self.destination.startswith("s3://"):
            bucket, _, prefix = self.destination.removeprefix("s3://").partition("/")
            key = f"{prefix}/{name}" if prefix else name
            self._s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
            return f"s3://{bucket}/{key}"
        target = Path(self.destination) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name("." + target.name + ".partial")  # readers never see half a file
        partial.write_bytes(sink.getvalue())
        partial.rename(target)
        return str(target)
