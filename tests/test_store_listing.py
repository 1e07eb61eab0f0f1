"""`store_cli list` fills every column from what the store keeps, for every kind of problem (tables, images, text,
series), from real cards (tests/real_cards.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tasks.store.cli import format_versions
from tasks.store.cli import main as store_cli
from tasks.store.listing import life_stage
from tasks.store.model_store import ModelStore
from tests.real_cards import SCORES, SPECS, deploy_three
from tests.tiny_export import write_tiny_export

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("problem", "headline"),
    [
        ("bike_demand", "rmse"),
        ("breast_cancer", "accuracy"),
        ("fashion_mnist", "accuracy"),
        ("movie_reviews", "accuracy"),
        ("weather_forecast", "mae"),  # its gate's primary metric, not the regression default
    ],
)
def test_every_column_is_filled_for_every_problem(
    problem: str, headline: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ModelStore(tmp_path / "store", problem)
    hashes = deploy_three(store, tmp_path, monkeypatch, problem)
    store.set_shadow(1, "compare the first one again")

    rows = {row["version"]: row for row in store.describe()}

    assert {v: row["stage"] for v, row in rows.items()} == {1: "shadow", 2: "previous", 3: "production"}
    task = SPECS[problem]["task"]
    for version, row in rows.items():
        deployed = json.loads((tmp_path / f"store/{problem}/{version}/assets.extra/deployment.json").read_text())
        assert row["created_at"] == deployed["deployed_at"] and datetime.fromisoformat(row["created_at"])
        assert row["data_sha256"] == hashes[version - 1][:12]
        expected = round(SCORES[task][0][headline] + version / 1000, 4)
        assert row["headline"] == {"metric": headline, "value": pytest.approx(expected)}
        assert set(row["metrics"]) == set(SCORES[task][0])
        assert row["blessed"]

    table = format_versions(list(rows.values())).splitlines()
    assert table[0].split() == ["version", "stage", "blessed", "created_at", "data", "headline", "metrics"]
    line = table[3].split()
    assert line[:6] == [
        "3",
        "production",
        "yes",
        rows[3]["created_at"],
        hashes[2][:12],
        f"{headline}={expected:.4g}",
    ]
    assert len(line) > 6  # the other scores follow


def test_a_rollback_makes_the_rolled_back_version_archived_and_its_predecessor_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ModelStore(tmp_path / "store", "bike_demand")
    deploy_three(store, tmp_path, monkeypatch, "bike_demand")
    store.rollback("v3 misbehaves")  # production 2; rollback would now put 1 back
    extra = write_tiny_export(tmp_path / "e4", b"w4")
    store.add_version(extra / "savedmodel", {"model_card.json": extra / "model_card.json"})  # never promoted

    stages = {row["version"]: row["stage"] for row in store.describe()}

    assert stages == {1: "previous", 2: "production", 3: "archived", 4: "unpromoted"}
    assert store.rollback_target() == 1
    assert store_cli(["--store", str(tmp_path / "store"), "--model", "bike_demand", "list"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[2].split()[:3] == ["2", "production", "yes"] and "rmse=" in printed[2]
    assert printed[4].split()[:3] == ["4", "unpromoted", "NO"]


def test_life_stage_follows_the_pointer_model() -> None:
    pointer = {
        "version": 5,
        "action": "promote",
        "history": [{"version": 1, "action": "promote"}, {"version": 2, "action": "promote"}],
    }
    assert [life_stage(v, pointer, {"version": 4}) for v in (1, 2, 3, 4, 5)] == [
        "archived",
        "previous",
        "unpromoted",
        "shadow",
        "production",
    ]
    assert life_stage(1, None, None) == "unpromoted"
