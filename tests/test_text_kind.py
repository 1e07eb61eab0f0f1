"""The text kind (tasks/kinds/text.py, text_source.py, text_split.py): collect from CSV, JSON lines and Parquet,
the checks on texts with quarantine, the stratified seeded split, the vectorisation fitted on the training split only,
and a SavedModel that takes raw strings and serves what the Keras model predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.movie_reviews import PROBLEM, build_tfidf_classifier
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.kinds.text import TEXT
from tasks.kinds.text_source import check_texts, read_text_source
from tasks.kinds.text_split import fit_text_spec, stratified_split, with_lengths

pytestmark = pytest.mark.timeout(600)

REVIEWS = pd.DataFrame(
    {
        "category": ["fresh", "rotten", "plot", "fresh", "rotten", "fresh"],
        "text": [
            "A wonderful, touching film.",
            "Dull and badly acted.",
            "A man walks into a bar.",
            "Riveting from start to finish.",
            "Pretentious and generic.",
            "Affecting and funny.",
        ],
    }
)


@pytest.mark.parametrize("name", ["reviews.csv", "reviews.jsonl", "reviews.parquet", "reviews.csv.gz"])
def test_collect_reads_a_text_column_from_csv_jsonl_and_parquet_and_drops_plot_rows(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        REVIEWS.to_parquet(path, index=False)
    elif ".jsonl" in name:
        REVIEWS.to_json(path, orient="records", lines=True)
    else:
        REVIEWS.to_csv(path, index=False)
    rows, manifest = read_text_source(str(path), PROBLEM)
    assert list(rows.columns) == ["text", "label"]
    assert rows["label"].tolist() == ["fresh", "rotten", "fresh", "rotten", "fresh"]
    assert manifest["dropped_rows"] == {"plot": 1} and manifest["rows"] == 5
    assert len(manifest["sources"][0]["sha256"]) == 64


def test_a_source_without_the_text_column_is_refused_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    REVIEWS.rename(columns={"text": "review"}).to_csv(path, index=False)
    with pytest.raises(PipelineError, match=r"no column\(s\) \['text'\].*'text'"):
        read_text_source(str(path), PROBLEM)


def failed(frame: pd.DataFrame, **policy: float) -> dict[str, str]:
    settings = {"min_chars": 3, "max_chars": 100, "max_duplicate_share": 0.2, "min_class_ratio": 0.3} | policy
    checks = check_texts(frame, PROBLEM, **settings)  # type: ignore[arg-type]
    return {c.name: c.detail for c in checks if not c.success}


def test_clean_texts_pass_every_check() -> None:
    rows = REVIEWS[REVIEWS["category"] != "plot"].rename(columns={"category": "label"})
    assert failed(rows) == {}


def test_each_bad_text_fails_its_own_check_naming_the_rows() -> None:
    rows = pd.DataFrame(
        {
            "text": ["good film", "  ", "x" * 200, "caf\ufffd scene", "bell\x07 rings", "good film", "fine"],
            "label": ["fresh", "rotten", "fresh", "rotten", "fresh", "fresh", "meh"],
        }
    )
    problems = failed(rows, max_duplicate_share=0.0)
    assert set(problems) == {"non-empty texts", "length bounds", "encoding", "label set", "exact duplicate texts"}
    assert "rows 1" in problems["non-empty texts"]
    assert "rows 2" in problems["length bounds"] and "3..100" in problems["length bounds"]
    assert "rows 3, 4" in problems["encoding"]
    assert "'meh'" in problems["label set"]


def test_a_missing_class_fails_the_balance_check() -> None:
    rows = pd.DataFrame({"text": ["good", "great", "fine"], "label": ["fresh"] * 3})
    assert "class balance" in failed(rows)


def test_a_rejected_batch_is_quarantined_and_the_last_good_data_stays(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    params = Params({"validate": {"min_chars": 3, "max_chars": 100, "min_class_ratio": 0.3}}, "params.yaml")
    raw = Path("data/raw")
    raw.mkdir(parents=True)
    good = REVIEWS[REVIEWS["category"] != "plot"].rename(columns={"category": "label"})
    good.to_parquet(raw / "data.parquet", index=False)
    (raw / "manifest.json").write_text("{}")
    TEXT.validate(PROBLEM, params)
    kept = pd.read_parquet("data/validated/data.parquet")
    assert len(kept) == 5

    pd.concat([good, pd.DataFrame({"text": [""], "label": ["fresh"]})]).to_parquet(raw / "data.parquet", index=False)
    with pytest.raises(PipelineError, match=r"non-empty texts.*1 empty text"):
        TEXT.validate(PROBLEM, params)
    pd.testing.assert_frame_equal(pd.read_parquet("data/validated/data.parquet"), kept)
    assert len(list(Path("data/quarantine").iterdir())) == 1
    assert not json.loads(Path("reports/validation/summary.json").read_text())["success"]


def labelled(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    labels = (rng.random(n) < 0.4).astype("int64")
    return pd.DataFrame({"text": [f"review number {i}" for i in range(n)], "label": labels})


def test_the_split_is_stratified_and_seeded() -> None:
    frame = labelled(1000)
    splits = stratified_split(frame, 0.1, 0.2, seed=3)
    assert [len(s) for s in splits.values()] == [700, 100, 200]
    shares = [s["label"].mean() for s in splits.values()]
    assert max(shares) - min(shares) < 0.01
    again = stratified_split(frame, 0.1, 0.2, seed=3)
    assert all(splits[k]["text"].tolist() == again[k]["text"].tolist() for k in splits)
    assert stratified_split(frame, 0.1, 0.2, seed=4)["test"]["text"].tolist() != splits["test"]["text"].tolist()
    assert not set(splits["train"]["text"]) & set(splits["test"]["text"])


def small_spec() -> tuple[dict, pd.DataFrame]:
    train = with_lengths(
        pd.DataFrame(
            {
                "text": ["a wonderful touching film", "dull and badly acted", "riveting and wonderful", "dull mess"]
                * 10,
                "label": [1, 0, 1, 0] * 10,
            }
        )
    )
    return fit_text_spec(train, PROBLEM, max_tokens=100, ngrams=2), train


def test_the_vocabulary_comes_from_the_training_split_alone() -> None:
    spec, _ = small_spec()
    assert "wonderful" in spec["vocabulary"] and "badly acted" in spec["vocabulary"]  # uni- and bigrams
    assert spec["vocabulary"][0] == "[UNK]" and len(spec["idf_weights"]) == len(spec["vocabulary"])
    assert spec["chars"] == {"min": 9, "max": 25} and spec["classes"] == ["rotten", "fresh"]
    from tasks.kinds.text import vectorizer

    unseen = np.asarray(vectorizer(spec)(np.array(["masterpiece"], dtype=object)))
    assert unseen[0, 1:].sum() == 0  # a word never seen in training is out of vocabulary


def test_no_token_breaks_the_saved_vocabulary_and_the_model_reloads(tmp_path: Path) -> None:
    import keras

    texts = ["good film", "bad film", "!!!", "well\x85 said"]  # U+0085: a line boundary to Python
    train = with_lengths(pd.DataFrame({"text": texts * 5, "label": [1, 0, 1, 0] * 5}))
    spec = fit_text_spec(train, PROBLEM, max_tokens=50, ngrams=2)
    assert "" not in spec["vocabulary"] and not any("\x85" in token for token in spec["vocabulary"])
    model = build_tfidf_classifier(spec, {"dropout": 0.1, "dense_units": 2, "learning_rate": 0.01})
    model.save(tmp_path / "model.keras")
    texts = np.array(["good film", "!!!", "well\x85 said"], dtype=object)
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "model.keras").predict(texts, verbose=0),
                               model.predict(texts, verbose=0), atol=1e-6)  # fmt: skip


def test_the_savedmodel_takes_raw_strings_and_serves_what_keras_predicts(tmp_path: Path) -> None:
    import tensorflow as tf

    spec, train = small_spec()
    hp = {"dropout": 0.5, "dense_units": 4, "learning_rate": 0.01}
    model = build_tfidf_classifier(spec, hp)
    inputs = TEXT.model_inputs(train, spec)
    model.fit(inputs["text"], train["label"].to_numpy("int32"), epochs=3, verbose=0)
    TEXT.write_savedmodel(model, tmp_path / "savedmodel", spec)
    served = tf.saved_model.load(str(tmp_path / "savedmodel")).signatures["serving_default"]
    texts = tf.constant(["a wonderful film", "dull, badly acted!", "never seen words"])
    output = served(text=texts)["output_0"].numpy()
    np.testing.assert_allclose(output, model.predict(texts, verbose=0), atol=1e-6)
    assert output.shape == (3, 2) and np.allclose(output.sum(axis=1), 1.0, atol=1e-5)
    assert served.structured_input_signature[1]["text"].dtype == tf.string


def test_the_tfidf_logistic_baseline_returns_class_probabilities() -> None:
    spec, train = small_spec()
    params = Params({"evaluate": {"logistic_c": 1.0}}, "params.yaml")
    baselines = TEXT.baselines(PROBLEM, params, train, spec)
    predict, described = baselines["tfidf_logistic"]
    proba = predict(pd.DataFrame({"text": ["wonderful film", "dull mess"]}))
    assert proba.shape == (2, 2) and proba[0, 1] > 0.5 > proba[1, 1]
    assert "logistic regression" in described


def test_importance_removes_the_most_telling_words() -> None:
    spec, train = small_spec()
    spec["salient_words"] = ["wonderful", "dull"]

    def predict(frame: pd.DataFrame) -> np.ndarray:
        fresh = frame["text"].str.contains("wonderful").to_numpy(float)
        return np.column_stack([1 - fresh, fresh])

    def accuracy(actual: np.ndarray, proba: np.ndarray) -> float:
        return float((proba.argmax(axis=1) == actual).mean())

    rows = TEXT.importance(predict, train, train["label"].to_numpy(), accuracy, False, 1, 0, spec)
    assert rows[0]["feature"] == "word 'wonderful'" and rows[0]["score_loss_mean"] > 0
    assert rows[1]["score_loss_mean"] == 0.0
