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
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TextProblem
from tasks.core.artifacts import (
    FEATURES_DIR,
    RAW,
    RAW_DIR,
    RAW_MANIFEST,
    VALIDATED,
    VALIDATED_DIR,
    VALIDATION_REPORT_DIR,
    read_json,
    read_parquet,
    read_split,
)
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.sources import HttpSettings, read_sources
from tasks.kinds.checks import Check, refuse_batch, summary
from tasks.kinds.contract import DriftResult, MeasureDrift, Predictor
from tasks.objectives.baselines import aligned_probabilities
from tasks.reports.html import page, table

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # words as the model's standardisation leaves them (punctuation gone)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DRIFT_COLUMNS = ("chars", "words", "oov_rate", "top_token_share")


def words(text: str) -> list[str]:
    """Lower-cased words with punctuation stripped, close to TextVectorization's `lower_and_strip_punctuation`."""
    return TOKEN.findall(text.lower())


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
    with atomic_dir(RAW_DIR) as tmp:
        rows.to_parquet(tmp / RAW.name, index=False)
        (tmp / RAW_MANIFEST.name).write_text(json.dumps(manifest, indent=2) + "\n")
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


# -------------------------------------------------------------------------------------------------- featurize


def stratified_split(
    frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, pd.DataFrame]:
    """train/val/test with each label's share kept in each part, drawn with `seed`; order within a part is kept."""
    rng = np.random.default_rng(seed)
    part = np.zeros(len(frame), dtype="int8")  # 0 train, 1 val, 2 test
    for _, positions in sorted(frame.groupby("label").indices.items()):
        shuffled = rng.permutation(positions)
        n_test, n_val = round(len(positions) * test_fraction), round(len(positions) * val_fraction)
        part[shuffled[:n_test]] = 2
        part[shuffled[n_test : n_test + n_val]] = 1
    splits = {name: frame.loc[part == i].reset_index(drop=True) for i, name in enumerate(("train", "val", "test"))}
    empty = [name for name, rows in splits.items() if rows.empty]
    if empty:
        raise PipelineError(
            f"featurize.val_fraction={val_fraction}, test_fraction={test_fraction}: {len(frame)} texts leave "
            f"{empty} empty"
        )
    return splits


def adapt_vectorizer(texts: pd.Series, max_tokens: int, ngrams: int) -> tuple[list[str], list[float]]:
    """Keras' TextVectorization (TF-IDF over word 1..`ngrams`-grams) adapted on `texts`: (vocabulary with the OOV
    token first, IDF weights aligned with it)."""
    import keras

    layer = keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=ngrams, output_mode="tf_idf")
    layer.adapt(np.asarray(texts.astype(str).tolist(), dtype=object), batch_size=1024)
    vocabulary = [str(t) for t in layer.get_vocabulary()]
    # Keras 3 has no public getter of adapted IDF weights (get_config() holds only weights passed in)
    idf = layer._lookup_layer.idf_weights_const.numpy().tolist()
    # Keras saves the vocabulary one token per line: an empty token (a punctuation-only text) or one holding a line
    # boundary (the source has U+0085, a cp1252 ellipsis decoded as Latin-1) would be read back wrong, as the mask
    # token, and the saved model would not load. Leave them out: they are out of vocabulary, in training and serving.
    kept = [i for i, token in enumerate(vocabulary) if token.splitlines() == [token]]
    return [vocabulary[i] for i in kept], [float(idf[i]) for i in kept]


def salient_words(train: pd.DataFrame, n_classes: int, top: int = 10, min_count: int = 20) -> list[str]:
    """The words whose presence says most about the label in `train` (largest spread of smoothed log shares of the
    classes among the texts holding them), each in at least `min_count` texts."""
    holding: dict[str, Counter[int]] = {}
    for text, label in zip(train["text"].astype(str), train["label"], strict=True):
        for word in set(words(text)):
            holding.setdefault(word, Counter())[int(label)] += 1
    prior = np.bincount(train["label"].to_numpy(dtype="int64"), minlength=n_classes) + 1.0
    scored = []
    for word, counts in holding.items():
        total = sum(counts.values())
        if total < min_count:
            continue
        shares = np.log((np.array([counts[i] for i in range(n_classes)]) + 1.0) / prior)
        scored.append((float(shares.max() - shares.min()), word))
    return [word for _, word in sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:top]]


def top_tokens(texts: pd.Series, top: int) -> list[str]:
    counts: Counter[str] = Counter()
    for text in texts.astype(str):
        counts.update(words(text))
    return [word for word, _ in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:top]]


def with_lengths(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame["text"].astype(str)
    return frame.assign(chars=text.str.len().astype("int64"), words=text.map(lambda t: len(words(t))).astype("int64"))


def fit_text_spec(train: pd.DataFrame, problem: TextProblem, max_tokens: int, ngrams: int) -> dict[str, Any]:
    """What the model's vectorisation and the drift profile need, from the training split alone."""
    vocabulary, idf = adapt_vectorizer(train["text"], max_tokens, ngrams)
    length = train["text"].astype(str).str.len()
    return {
        "kind": "text",
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "classes": problem.class_names,
        "max_tokens": max_tokens,
        "ngrams": ngrams,
        "chars": {"min": int(length.min()), "max": int(length.max())},
        "salient_words": salient_words(train, len(problem.classes)),
        "top_tokens": top_tokens(train["text"], 50),
        "train_rows": len(train),
        "vocabulary": vocabulary,
        "idf_weights": idf,
    }


def featurize(problem: TextProblem, params: Params) -> dict[str, Any]:
    val_fraction = params.get("featurize.val_fraction", float, minimum=0.01, maximum=0.9)
    test_fraction = params.get("featurize.test_fraction", float, 0.1, minimum=0.01, maximum=0.9)
    seed = params.get("featurize.seed", int, 0)
    max_tokens = params.get("featurize.max_tokens", int, 20000, minimum=10)
    ngrams = params.get("featurize.ngrams", int, 2, minimum=1, maximum=3)
    frame = read_parquet(VALIDATED)
    index = {str(value): i for i, (value, _) in enumerate(problem.classes)}
    frame = with_lengths(frame.assign(label=frame["label"].astype(str).map(index).astype("int64")))
    splits = stratified_split(frame, val_fraction, test_fraction, seed)
    spec = fit_text_spec(splits["train"], problem, max_tokens, ngrams)
    spec["splits"] = {
        name: {"rows": len(part), "per_class": np.bincount(part["label"], minlength=len(problem.classes)).tolist()}
        for name, part in splits.items()
    }
    with atomic_dir(FEATURES_DIR) as tmp:
        for name, part in splits.items():
            part.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
    log.info(
        "split %s; vocabulary of %d tokens", {k: v["rows"] for k, v in spec["splits"].items()}, len(spec["vocabulary"])
    )
    return spec


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
        collect(problem, params)

    def validate(self, problem: TextProblem, params: Params) -> None:
        validate(problem, params)

    def featurize(self, problem: TextProblem, params: Params) -> dict[str, Any]:
        return featurize(problem, params)

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
