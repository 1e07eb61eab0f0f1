"""Byte-reproducible outputs: the same inputs and params give the same bytes in every DVC out, on any machine.

DVC compares outputs by hash, so a wall-clock time, a host name, an absolute path or an archive's file dates inside
an out make a fresh clone's `dvc repro` rewrite `dvc.lock` although nothing that matters changed. What a person
still wants to know about a run (when it ran, how long it took, on which machine) goes through `record_run` into
`data/runs/<stage>.json`: git-ignored and outside every DVC out, like the model store.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import platform
import re
import socket
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.core.atomic import atomic_file, write_text

RUNS_DIR = Path("data/runs")
# Zip's earliest representable date: what reproducible-build tools write for every member.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# A stand-in time for libraries that insist on one inside an output (GX Data Docs' run time): fixed, so the bytes
# are; the real time of the run is in data/runs/.
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
DATA_DOCS_RUN_NAME = "latest-validation"


def record_run(stage: str, facts: dict[str, Any], runs_dir: Path = RUNS_DIR) -> Path:
    """Write the wall-clock facts of a stage's run (`facts` plus the time and host) to `<runs_dir>/<stage>.json`.

    This file is the place for what differs from run to run (durations, throughput, host, time); never a DVC out.
    """
    record = {
        "stage": stage,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "machine": platform.machine(),
        **facts,
    }
    target = runs_dir / f"{stage}.json"
    write_text(target, json.dumps(record, indent=2, default=str) + "\n")
    return target


def renumber_shared_objects(config: Any) -> Any:
    """`config` with every `shared_object_id` replaced by 1, 2, ... in order of first appearance.

    Keras uses `id(obj)`, a memory address, to mark objects shared between layers (a dtype policy, say): it differs
    in every process. The numbering only has to match within one file, so first-appearance order keeps the meaning.
    """
    numbers: dict[Any, int] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "shared_object_id":
                    out[key] = numbers.setdefault(item, len(numbers) + 1)
                else:
                    out[key] = walk(item)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(config)


def normalize_keras_archive(path: Path) -> None:
    """Rewrite a `.keras` file so that it holds nothing but the model: fixed member dates and no save time.

    Keras writes each zip member with the current local time and puts `date_saved` in `metadata.json`; both change
    the bytes of an identical model. Members keep their order, names, compression and content.
    """
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info, data in members:
            if info.filename == "metadata.json":
                metadata = json.loads(data)
                metadata.pop("date_saved", None)
                data = json.dumps(metadata).encode()
            elif info.filename == "config.json":
                data = json.dumps(renumber_shared_objects(json.loads(data))).encode()
            stable = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            stable.compress_type = info.compress_type
            stable.external_attr = 0o644 << 16
            stable.create_system = 3  # unix, whatever the machine
            target.writestr(stable, data)
    with atomic_file(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


@contextlib.contextmanager
def variables_in_name_order() -> Iterator[None]:
    """While exporting, list the SavedModel's variables by name instead of by memory address.

    Keras' exporter collects the variables an endpoint uses through sets keyed by `id()`, so the checkpoint's
    `_all_variables` (and with it `variables/` and `saved_model.pb`) comes out in a different order in every process.
    Sorting by name (Keras variable paths are unique, e.g. `dense_0/kernel`) and shape fixes the order; without
    that private function (another Keras version) the export is left as Keras writes it.
    """
    try:
        from keras.src.export import saved_model_export_archive as archive
    except ImportError:  # pragma: no cover - a Keras without this module
        yield
        return
    original = getattr(archive, "_list_variables_used_by_fns", None)
    if original is None:  # pragma: no cover
        yield
        return

    def by_name(fns: Any) -> tuple[list[Any], list[Any]]:
        trainable, non_trainable = original(fns)

        def key(v: Any) -> tuple[str, tuple[int, ...]]:
            return (v.name, tuple(v.shape))

        return sorted(trainable, key=key), sorted(non_trainable, key=key)

    archive._list_variables_used_by_fns = by_name
    try:
        yield
    finally:
        archive._list_variables_used_by_fns = original


def stable_fingerprint_uuid(savedmodel: Path) -> None:
    """Replace the random `uuid` TensorFlow writes into `fingerprint.pb` by one derived from the model's hashes.

    TensorFlow draws a fresh UUID on every export; the other fields hash the graph, signatures, object graph and
    checkpoint. A UUID made from those hashes names the same SavedModel content the same way on every machine.
    """
    path = savedmodel / "fingerprint.pb"
    if not path.exists():
        return
    from tensorflow.core.protobuf import fingerprint_pb2

    fingerprint = fingerprint_pb2.FingerprintDef()
    fingerprint.ParseFromString(path.read_bytes())
    fingerprint.uuid = ""
    digest = hashlib.sha256(fingerprint.SerializeToString(deterministic=True)).digest()
    fingerprint.uuid = str(int.from_bytes(digest[:16], "big"))
    path.write_bytes(fingerprint.SerializeToString(deterministic=True))


def write_savedmodel_reproducibly(write: Callable[[Path], None], target: Path) -> None:
    """Run `write(target)` (a Keras SavedModel export) so that the same model gives the same bytes."""
    with variables_in_name_order():
        write(target)
    stable_fingerprint_uuid(target)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<=metric_)[0-9a-f]{32}")


def stable_ids(text: str) -> str:
    """`text` with every UUID (dashed, or 32 hex digits after `metric_`) renumbered in order of first appearance.

    Evidently names each widget with a fresh uuid4/uuid7 per run; the page only needs them to be distinct and to
    match each other. The same UUID, dashed or not, keeps one number, so links inside the page still resolve.
    """
    numbers: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        number = numbers.setdefault(found.replace("-", ""), len(numbers) + 1)
        plain = f"{number:032x}"
        if "-" not in found:
            return plain
        return f"{plain[:8]}-{plain[8:12]}-{plain[12:16]}-{plain[16:20]}-{plain[20:]}"

    return _UUID.sub(replace, text)


def rounded(value: Any, digits: int = 4) -> Any:
    """`value` with every float rounded to `digits` decimals, for files people diff (`dvc metrics diff`): the last
    bits of a float are noise there, and a row reading `-0.0` hides the changes that matter."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return value
