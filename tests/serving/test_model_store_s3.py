"""The S3 model store against a real S3 server (SeaweedFS on loopback), and the store commands on both kinds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tasks.core.errors import PipelineError
from tasks.store.cli import main as store_cli
from tasks.store.deploy import deploy
from tasks.store.location import open_store
from tasks.store.model_store import ModelStore, StoreBase, content_fingerprint
from tests.serving.conftest import S3Server, fake_export

pytestmark = pytest.mark.timeout(180)
# as the gate blesses a first model: it records the production model it was measured against (none yet)
FIRST = {"blessed": True, "reasons": ["beats every baseline"], "champion": None}


def blessed_over(store: StoreBase) -> dict[str, object]:
    """A blessing measured against the store's current production version, as the evaluate stage records it."""
    current = store.production()
    return {**FIRST, "champion": {"version": current["version"]} if current else None}


def s3_store(server: S3Server, bucket: str, model: str = "bikes") -> StoreBase:
    return open_store(f"s3://{bucket}/models", model, endpoint_url=server.endpoint_url, region="us-east-1")


def test_deploy_to_s3_lays_out_versions_as_tf_serving_reads_them(
    aws_env: S3Server, bucket: str, tmp_path: Path
) -> None:
    store = s3_store(aws_env, bucket)
    receipt = deploy(store, fake_export(tmp_path / "e1", b"w1"), blessed_over(store))

    assert receipt["deployed"] and receipt["production_version"] == 1
    keys = {o["Key"] for o in aws_env.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        "models/bikes/1/saved_model.pb",
        "models/bikes/1/variables/variables.index",
        "models/bikes/1/variables/variables.data-00000-of-00001",
        "models/bikes/1/assets.extra/model_card.json",
        "models/bikes/1/assets.extra/blessing.json",
        "models/bikes/1/assets.extra/manifest.json",
        "models/bikes/production.json",
        "models/bikes/model.config",
    } <= keys
    assert store.production()["version"] == 1
    config = store.model_config()
    assert f'base_path: "s3://{bucket}/models/bikes"' in config
    assert 'key: "production"\n      value: 1' in config and "versions: 1" in config
    local = store.version_dir(1)  # a verified download for loading
    assert (local / "saved_model.pb").read_bytes() == (tmp_path / "e1/savedmodel/saved_model.pb").read_bytes()


def test_a_cached_download_of_another_store_at_the_same_address_is_never_served(
    aws_env: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The download cache is keyed by bucket, prefix and version: a bucket emptied and filled again (another store
    at the same address) must not be answered from the copy of the old version 1."""
    store = s3_store(aws_env, bucket)
    deploy(store, fake_export(tmp_path / "e1", b"w1"), blessed_over(store))
    old = store.version_dir(1)
    client = aws_env.client()
    keys = [{"Key": o["Key"]} for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    deploy(store, fake_export(tmp_path / "e2", b"w2"), blessed_over(store))

    local = store.version_dir(1)

    assert store.fingerprint(1) == content_fingerprint(tmp_path / "e2/savedmodel")
    assert content_fingerprint(local) == content_fingerprint(tmp_path / "e2/savedmodel") and local == old


def test_s3_store_lists_promotes_and_rolls_back_keeping_history(aws_env: S3Server, bucket: str, tmp_path: Path) -> None:
    store = s3_store(aws_env, bucket)
    for n in (1, 2, 3):
        deploy(store, fake_export(tmp_path / f"e{n}", f"w{n}".encode()), blessed_over(store))
    assert store.versions() == [1, 2, 3] and store.production()["version"] == 3

    assert store.rollback("v3 misbehaves")["version"] == 2
    assert store.rollback("v2 too")["version"] == 1
    pointer = store.promote(3, "fixed upstream", require_blessing=True)

    assert pointer["version"] == 3
    assert [(h["action"], h["version"]) for h in pointer["history"]] == [
        ("promote", 1),
        ("promote", 2),
        ("promote", 3),
        ("rollback", 2),
        ("rollback", 1),
    ]
    rows = {row["version"]: row for row in store.describe()}
    assert rows[3]["roles"] == ["production"] and rows[3]["blessed"] and rows[1]["metrics"] == {"rmse": 50.5}


def test_an_upload_killed_midway_never_becomes_production(aws_env: S3Server, bucket: str, tmp_path: Path) -> None:
    store = s3_store(aws_env, bucket)
    deploy(store, fake_export(tmp_path / "e1", b"w1"), blessed_over(store))
    export = fake_export(tmp_path / "e2", b"w2")
    started = tmp_path / "first-object-uploaded"
    # The deploy runs in its own process, which is killed (SIGKILL) after its first object reached the store.
    script = f"""
import time
from tasks.store.deploy import deploy
from tasks.store.location import open_store
from tasks.store.model_store_s3 import S3ModelStore
upload = S3ModelStore.upload_verified
def slow_upload(self, name, path):
    entry = upload(self, name, path)
    open({str(started)!r}, "w").close()
    time.sleep(120)
    return entry
S3ModelStore.upload_verified = slow_upload
store = open_store("s3://{bucket}/models", "bikes", endpoint_url={aws_env.endpoint_url!r}, region="us-east-1")
deploy(store, __import__("pathlib").Path({str(export)!r}), {{"blessed": True, "champion": {{"version": 1}}}})
"""
    process = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert process.poll() is None, "the deploy process ended before it uploaded anything"
            assert time.monotonic() < deadline, "the deploy process never uploaded its first object"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    keys = {o["Key"] for o in aws_env.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert any(k.startswith("models/bikes/2/") for k in keys)  # the half-uploaded version is there ...
    assert store.versions() == [1]  # ... but is not a version
    assert store.production()["version"] == 1
    with pytest.raises(ValueError, match="no version 2"):
        store.promote(2, "try the half one")
    assert store.clean_incomplete(timedelta(hours=1)) == []  # young: may still be uploading
    assert store.clean_incomplete(timedelta(0)) == [f"s3://{bucket}/models/bikes/2/"]
    assert not any(
        o["Key"].startswith("models/bikes/2/") for o in aws_env.client().list_objects_v2(Bucket=bucket)["Contents"]
    )
    # the next deploy gets a fresh, complete version
    assert deploy(store, export, blessed_over(store))["production_version"] == 2 and store.versions() == [1, 2]


def test_wrong_credentials_name_the_cause(
    aws_env: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = s3_store(aws_env, bucket)
    with pytest.raises(PipelineError, match=r"access refused \(SignatureDoesNotMatch\).*AWS_SECRET_ACCESS_KEY"):
        deploy(store, fake_export(tmp_path / "e1", b"w1"), FIRST)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(PipelineError, match=r"InvalidAccessKeyId.*AWS_ACCESS_KEY_ID"):
        s3_store(aws_env, bucket).versions()


def test_a_stored_object_that_does_not_match_the_export_stops_the_upload(
    aws_env: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = s3_store(aws_env, bucket)
    deploy(store, fake_export(tmp_path / "e1", b"w1"), blessed_over(store))
    real_put = store._put  # type: ignore[attr-defined]

    def corrupting_put(name: str, body: bytes, metadata: dict[str, str] | None = None) -> dict[str, object]:
        if name.endswith("saved_model.pb"):
            metadata = {"sha256": "0" * 64}  # what a silently corrupted copy would report
        return real_put(name, body, metadata)

    monkeypatch.setattr(store, "_put", corrupting_put)
    with pytest.raises(PipelineError, match="does not match"):
        deploy(store, fake_export(tmp_path / "e2", b"w2"), blessed_over(store))
    assert store.versions() == [1] and store.production()["version"] == 1


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_store_commands_refuse_unblessed_versions_unless_told_why(
    kind: str,
    aws_env: S3Server,
    bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    location = str(tmp_path / "store") if kind == "local" else f"s3://{bucket}/models"
    store = open_store(location, "bikes", endpoint_url=aws_env.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.endpoint_url)  # the CLI takes the endpoint from the environment
    deploy(store, fake_export(tmp_path / "e1", b"w1"), blessed_over(store))
    unblessed, _ = store.add_version(
        fake_export(tmp_path / "e2", b"w2") / "savedmodel",
        {"blessing.json": json.dumps({"blessed": False, "failed": ["RMSE 95 above the max 90"]}).encode()},
    )
    cli = ["--store", location, "--model", "bikes", "--params", str(tmp_path / "none.yaml")]

    assert store_cli([*cli, "promote", str(unblessed), "--reason", "try"]) == 1
    assert "not blessed (RMSE 95 above the max 90)" in capsys.readouterr().err
    assert store.production()["version"] == 1

    assert store_cli([*cli, "promote", "2", "--reason", "try", "--unblessed-reason", "hotfix, gate is stale"]) == 0
    assert store.production()["unblessed_reason"] == "hotfix, gate is stale"
    assert store_cli([*cli, "list"]) == 0
    listing = capsys.readouterr().out
    assert "production" in listing and "NO" in listing and "rmse=50.5" in listing
    assert store_cli([*cli, "rollback", "--reason", "back"]) == 0
    assert store.production()["version"] == 1
    assert store_cli([*cli, "shadow", "2"]) == 0 and store.shadow()["version"] == 2
    assert 'key: "shadow"\n      value: 2' in store.model_config()
    assert store_cli([*cli, "show"]) == 0
    assert '"version": 1' in capsys.readouterr().out


def test_local_store_keeps_the_default_layout(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"), "bikes")
    assert isinstance(store, ModelStore)
    deploy(store, fake_export(tmp_path / "e1", b"w1"), blessed_over(store))
    assert (tmp_path / "store/bikes/1/saved_model.pb").is_file()
    assert "value: 1" in (tmp_path / "store/bikes/model.config").read_text()
    with pytest.raises(PipelineError, match="neither a local folder nor an s3"):
        open_store("gs://bucket/x", "bikes")
