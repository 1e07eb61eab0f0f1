"""The text kind's featurize: a stratified, seeded split, and the spec fitted on the training split alone.

The spec holds the vocabulary and IDF weights of Keras' `TextVectorization` (the model's vectorisation layer is built
from them, tasks.kinds.text.vectorizer), the most label-revealing words (for importance) and the top tokens (for
drift). Outputs (data/features/): `train.parquet`, `val.parquet`, `test.parquet` (with `chars` and `words` columns)
and `spec.json`. `words` is the tokenisation featurize and the drift profile (tasks.kinds.text) share.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TextProblem
from tasks.core.artifacts import VALIDATED, read_parquet, write_features
from tasks.core.errors import PipelineError
from tasks.core.params import Params

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # words as the model's standardisation leaves them (punctuation gone)


def words(text: str) -> list[str]:
    """Lower-cased words with punctuation stripped, close to TextVectorization's `lower_and_strip_punctuation`."""
    return TOKEN.findall(text.lower())


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
    write_features(splits, spec)
    log.info(
        "split %s; vocabulary of %d tokens", {k: v["rows"] for k, v in spec["splits"].items()}, len(spec["vocabulary"])
    )
    return spec
