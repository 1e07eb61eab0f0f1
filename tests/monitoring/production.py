"""A small production for the monitoring tests: a tiny bike-demand model trained on January to mid-February 2011,
deployed into a local store the way deploy does it (model card with its training data's hash, the training split kept
beside the version), and the bundled data's later months to send it as traffic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.store.model_store import ModelStore

REPO = Path(__file__).resolve().parents[2]
CUTOFF = pd.Timestamp("2011-02-15")


@dataclass
class TinyProduction:
    export: Path  # savedmodel/, model_card.json, training_data.parquet
    train: pd.DataFrame  # the training split (with `timestamp`, `bikers`)
    later: pd.DataFrame  # the source's rows from the cutoff on, with `timestamp`
    inputs: list[str]


def build_tiny_production(workdir: Path) -> TinyProduction:
    """Train (a few seconds on a CPU) and export; the card has what export and evaluate would put in it."""
    import keras

    from pipelines.bike_demand import PROBLEM, derive_timestamp
    from tasks.kinds import KINDS
    from tasks.kinds.table_checks import feature_view
    from tasks.kinds.table_source import select_before
    from tasks.kinds.table_split import fit_feature_spec, split_by_time
    from tasks.training.fit import as_model_input, model_targets
    from tests.serving.tiny_models import write_export

    kind = KINDS["table"]
    source = pd.read_csv(REPO / "data/sources/bikeshare-2011.csv.gz")
    parts = split_by_time(feature_view(select_before(source, PROBLEM, CUTOFF), PROBLEM), "timestamp", 0.15, 0.15)
    spec = fit_feature_spec(parts["train"], PROBLEM)
    keras.utils.set_random_seed(3)
    model = PROBLEM.build_model(spec, {"seed": 3, "hidden_units": [16], "dropout": 0.0, "learning_rate": 0.01})
    x = as_model_input(kind.model_inputs(parts["train"], spec))
    model.fit(x, model_targets(parts["train"], spec), epochs=15, batch_size=64, verbose=0)
    test = parts["test"]
    predicted = np.asarray(model.predict(as_model_input(kind.model_inputs(test, spec)), verbose=0)).ravel()
    rmse = float(np.sqrt(np.mean((predicted - test["bikers"].to_numpy()) ** 2)))
    mae = float(np.mean(np.abs(predicted - test["bikers"].to_numpy())))
    export = write_export(workdir / "export", model, spec, parts["train"])
    train_file = export / "training_data.parquet"
    parts["train"].to_parquet(train_file, index=False)
    card = json.loads((export / "model_card.json").read_text())
    categorical = {name: info["dtype"] for name, info in spec["categorical"].items()}
    card |= {
        "model": "bike_demand",
        "task": "regression",
        "inputs": {"numeric": list(spec["numeric"]), "categorical": categorical},
        "output": {"name": "output_0", "meaning": "bikers"},
        "lineage": {"data": {"train.parquet": hashlib.sha256(train_file.read_bytes()).hexdigest()}},
        "metrics": {"model": {"rmse": rmse, "mae": mae}},
    }
    (export / "model_card.json").write_text(json.dumps(card))
    later = source.assign(timestamp=derive_timestamp(source))
    later = later[later["timestamp"] >= CUTOFF].reset_index(drop=True)
    return TinyProduction(export, parts["train"], later, [*spec["numeric"], *spec["categorical"]])


def deploy_tiny(production: TinyProduction, store_root: Path) -> ModelStore:
    """Store the version as deploy does (card, blessing, training data) and promote it."""
    store = ModelStore(store_root, "bike_demand")
    version, _ = store.add_version(
        production.export / "savedmodel",
        {
            "model_card.json": production.export / "model_card.json",
            "blessing.json": json.dumps({"blessed": True}).encode(),
            "training_data.parquet": production.export / "training_data.parquet",
        },
    )
    store.promote(version, "first")
    return store


def instances(rows: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    """Rows as a TF Serving client sends them (JSON numbers and strings)."""
    return json.loads(rows[names].to_json(orient="records"))


def replay(server: Any, rows: pd.DataFrame, names: list[str], prefix: str) -> list[str]:
    """Send `rows` 50 at a time with our own request ids (the ground truth joins on them); the ids sent."""
    sent = []
    for first in range(0, len(rows), 50):
        request_id = f"{prefix}-{first:05d}"
        answer = server.predict(
            "bike_demand",
            {"instances": instances(rows.iloc[first : first + 50], names)},
            headers={"X-Request-Id": request_id},
        )
        assert answer.status == 200, answer.text
        sent.append(request_id)
    return sent


def deliver_ground_truth(folder: Path, rows: pd.DataFrame, request_ids: list[str], name: str) -> None:
    """The true counts, keyed as the log keys them: request id and the instance's index in its request."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [(rid, i) for rid in request_ids for i in range(50)][: len(rows)]
    truth = pd.DataFrame(keys, columns=["request_id", "instance"]).assign(bikers=rows["bikers"].to_numpy())
    truth.to_parquet(folder / f"{name}.parquet", index=False)


def serve_and_replay(
    store: ModelStore, tmp_path: Path, log_dir: Path, batches: dict[str, pd.DataFrame], names: list[str]
) -> dict[str, list[str]]:
    """The real server over `store` (out-of-range values answered and logged, not refused: summer is far outside the
    winter the tiny model learnt from), each batch replayed in order; the request ids sent per batch."""
    from dataclasses import replace

    from tasks.serving.request_checks import CheckPolicy
    from tests.serving.conftest import fast_settings
    from tests.serving.live_server import live_server

    settings = fast_settings(tmp_path, log_dir=str(log_dir))
    settings = replace(settings, options=replace(settings.options, policy=CheckPolicy(out_of_range="warn")))
    with live_server(store, settings) as server:
        return {name: replay(server, rows, names, name) for name, rows in batches.items()}
