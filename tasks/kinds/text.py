"""The text kind: short texts (one text column) with a class label, read from CSV, JSON lines or Parquet.

- collect: the source's text and label columns (named by the problem), rows of `drop_labels` dropped and counted;
  data/raw/data.parquet holds `text` and `label` (the source's label values).
- validate: non-empty texts, length bounds (`validate.min_chars`/`max_chars`), encoding (no U+FFFD replacement
  characters or control characters: signs of a file decoded with the wrong codec), the label set, exact duplicate
  texts (dropped, keeping the first; more than `validate.max_duplicate_share` fails) and class balance
  (`validate.min_class_ratio`). A failed batch is quarantined as for tables; data/validated keeps the last good data.
- featurize: a stratified, seeded split (`featurize.val_fraction`, `featurize.test_fraction`); the vocabulary and
  the IDF weights of Keras' `TextVectorization` are adapted on the training split alone and written to the spec, so
  the model's vectorisation layer (inside the model) sees nothing of validation or test. Each split also gets
  `chars` and `words` columns (for slices by review length).
- serving: one input `text` (tf.string, one text per row); the SavedModel vectorises it itself.
- baselines: TF-IDF (word 1-2-grams) + logistic regression (scikit-learn), the strong linear baseline of text books;
  the objective adds the majority class.
- importance: the score lost when one of the training split's most label-revealing words is removed from every text.
- drift: per-text length (characters, words), out-of-vocabulary rate and share of the training split's top tokens,
  plus the label, between the training split and the current batch (the test split stands in for new data).

Its hooks live in modules beside this one: `text_source` (collect, validate) and `text_split` (featurize); this module
gathers them and adds what a text model needs: the vectorisation layer built from the spec, the one string input and
its signature, the TF-IDF baseline, word-removal importance and the drift profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TextProblem
from tasks.core.artifacts import read_split
from tasks.core.params import Params
from tasks.kinds import text_source, text_split
from tasks.kinds.contract import DriftResult, MeasureDrift, Predictor
from tasks.kinds.text_split import words
from tasks.objectives.baselines import aligned_probabilities

DRIFT_COLUMNS = ("chars", "words", "oov_rate", "top_token_share")


# ------------------------------------------------------------------------------------------ model and serving


def vectorizer(spec: dict[str, Any]) -> Any:
    """The TextVectorization layer of the spec: its vocabulary and IDF weights as featurize fitted them."""
    import keras

    layer = keras.layers.TextVectorization(
        max_tokens=int(spec["max_tokens"]), ngrams=int(spec["ngrams"]), output_mode="tf_idf", name="tfidf"
    )
    layer.set_vocabulary(spec["vocabulary"], idf_weights=spec["idf_weights"])
    return layer


def tfidf_logistic_baseline(train: pd.DataFrame, spec: dict[str, Any], c: float) -> Predictor:
    """scikit-learn TF-IDF over word 1..ngrams-grams (at most max_tokens, as the model) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, int(spec["ngrams"])), max_features=int(spec["max_tokens"]), sublinear_tf=True),
        LogisticRegression(max_iter=1000, C=c),
    ).fit(train["text"].astype(str), train["label"])
    classes = list(range(len(spec["classes"])))
    return lambda frame: aligned_probabilities(model.predict_proba(frame["text"].astype(str)), model.classes_, classes)


def without_word(frame: pd.DataFrame, word: str) -> pd.DataFrame:
    pattern = re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", re.IGNORECASE)
    return frame.assign(text=frame["text"].astype(str).map(lambda t: pattern.sub("", t)))


def text_statistics(frame: pd.DataFrame, vocabulary: set[str], top: set[str]) -> pd.DataFrame:
    """One row per text: characters, words, share of words outside the vocabulary, share among the top tokens."""
    tokens = frame["text"].astype(str).map(words)
    counts = tokens.map(len)
    safe = counts.where(counts > 0, 1)
    return pd.DataFrame(
        {
            "chars": frame["text"].astype(str).str.len().astype("float64"),
            "words": counts.astype("float64"),
            "oov_rate": tokens.map(lambda ws: sum(w not in vocabulary for w in ws)) / safe,
            "top_token_share": tokens.map(lambda ws: sum(w in top for w in ws)) / safe,
        }
    )


def drift(
    problem: TextProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
) -> DriftResult:
    """The text profile of the current batch against held-out texts of the training period.

    The reference is the validation split, not the training split: the training texts made the vocabulary, so
    their out-of-vocabulary rate is near zero by construction and any new text would look drifted against it.
    """
    vocabulary = {t for t in spec["vocabulary"] if " " not in t}
    top = set(spec["top_tokens"][:20])
    names = np.asarray(spec["classes"], dtype=object)

    def profile_of(rows: pd.DataFrame) -> pd.DataFrame:
        return text_statistics(rows, vocabulary, top).assign(label=names[rows["label"].to_numpy(dtype="int64")])

    reference, current = profile_of(read_split("val")), profile_of(read_split("test"))
    result, snapshot = measure(reference, current, DRIFT_COLUMNS, ("label",), None)
    profile: dict[str, Any] = {
        column: {"reference_mean": float(reference[column].mean()), "current_mean": float(current[column].mean())}
        for column in DRIFT_COLUMNS
    }
    profile["label_share"] = {
        "train": {
            str(k): float(v)
            for k, v in pd.Series(names[train["label"].to_numpy()]).value_counts(normalize=True).items()
        },
        "reference": {str(k): float(v) for k, v in reference["label"].value_counts(normalize=True).items()},
        "current": {str(k): float(v) for k, v in current["label"].value_counts(normalize=True).items()},
    }

    def write(target: Path) -> None:
        snapshot.save_html(str(target))

    return DriftResult(
        {
            "status": "measured",
            "current": "test split (stand-in for a new batch)",
            "reference": "validation split",
            **result,
            "profile": profile,
        },
        write,
    )


class TextKind:
    name = "text"
    param_keys: Mapping[str, frozenset[str]] = {
        "collect": frozenset(),
        "validate": frozenset({"min_chars", "max_chars", "max_duplicate_share", "min_class_ratio"}),
        "featurize": frozenset({"test_fraction", "max_tokens", "ngrams"}),
        "train": frozenset({"dense_units"}),
        "evaluate": frozenset({"slices", "logistic_c"}),
        "monitor": frozenset(),
    }

    def collect(self, problem: TextProblem, params: Params) -> None:
        text_source.collect(problem, params)

    def validate(self, problem: TextProblem, params: Params) -> None:
        text_source.validate(problem, params)

    def featurize(self, problem: TextProblem, params: Params) -> dict[str, Any]:
        return text_split.featurize(problem, params)

    def model_inputs(self, frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        """The one input `text`: raw strings shaped (n,)."""
        import tensorflow as tf

        return {"text": tf.constant(frame["text"].astype(str).tolist(), dtype=tf.string)}

    def signature_inputs(self, spec: dict[str, Any], train: pd.DataFrame) -> list[dict[str, Any]]:
        # a string input has no numeric range: `range` here is the training texts' length in characters
        return [{"name": "text", "dtype": "string", "shape": [], "range": dict(spec["chars"]), "range_of": "length"}]

    def card_inputs(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "text": {
                "dtype": "string",
                "shape": [None],
                "values": f"raw text; TF-IDF over word 1..{spec['ngrams']}-grams inside the model "
                f"({len(spec['vocabulary'])} tokens fitted on the training split)",
            }
        }

    def write_savedmodel(self, model: Any, target: Path, spec: dict[str, Any]) -> None:
        """A SavedModel whose `serving_default` takes raw strings as `text` and runs the model with
        `training=False` (no dropout)."""
        import keras
        import tensorflow as tf

        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            name="serve",
            fn=lambda text: model(text, training=False),
            input_signature=[tf.TensorSpec(shape=(None,), dtype=tf.string, name="text")],
        )
        archive.write_out(str(target), verbose=False)

    def baselines(
        self, problem: TextProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any]
    ) -> dict[str, tuple[Predictor, str]]:
        c = params.get("evaluate.logistic_c", float, 1.0, minimum=1e-6)
        return {
            "tfidf_logistic": (
                tfidf_logistic_baseline(train, spec, c),
                f"scikit-learn TF-IDF over word 1-{spec['ngrams']}-grams (at most {spec['max_tokens']}) + logistic "
                f"regression (C={c:g})",
            )
        }

    def importance(
        self,
        predict: Predictor,
        test: pd.DataFrame,
        actual: np.ndarray,
        score: Callable[[np.ndarray, np.ndarray], float],
        lower_is_better: bool,
        repeats: int,
        seed: int,
        spec: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """The score lost when one of the training split's most label-revealing words is removed from every text."""
        reference = score(actual, predict(test))
        rows = []
        for word in spec.get("salient_words", []):
            value = score(actual, predict(without_word(test, word)))
            loss = value - reference if lower_is_better else reference - value
            rows.append(
                {
                    "feature": f"word '{word}'",
                    "score_loss_mean": float(loss),
                    "score_loss_std": 0.0,
                    "reference_score": float(reference),
                }
            )
        return sorted(rows, key=lambda row: row["score_loss_mean"], reverse=True)

    def drift(
        self, problem: TextProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
    ) -> DriftResult:
        return drift(problem, params, train, spec, measure)

    def prediction_ids(self, test: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
        """The row and its text (so the report and predictions.csv show what each error was about)."""
        return pd.DataFrame({"index": np.arange(len(test)), "text": test["text"].astype(str).to_numpy()})


TEXT = TextKind()
