"""A dense network for tabular problems whose preprocessing lives inside the model.

The exported SavedModel therefore takes raw feature values (strings and integers for categories, raw floats for
numbers): no training/serving skew. A column that had missing values in training carries its policy inside the
model (the spec's `missing`): a number arrives as NaN and is imputed with the training mean beside a missing
indicator; a category arrives as its missing marker, a category of the vocabulary like any other.
Normalisation statistics and vocabularies come from the feature spec, which
featurize fits on the training split only.
"""

from __future__ import annotations

from typing import Any


def _encoded_inputs(spec: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """One Keras input per raw feature (named as the feature) and their concatenated encoding: numbers normalised
    with the training statistics, categories one-hot through a lookup of the training vocabulary."""
    import keras
    from keras import layers

    inputs: dict[str, Any] = {}
    encoded = []
    for name, stats in spec["numeric"].items():
        inputs[name] = keras.Input(shape=(1,), dtype="float32", name=name)
        value = inputs[name]
        if "missing" in stats:  # NaN is missing: the training mean in its place, and an indicator beside it
            absent = keras.ops.isnan(value)
            value = keras.ops.where(absent, keras.ops.full_like(value, stats["mean"]), value)
            encoded.append(keras.ops.cast(absent, "float32"))
        encoded.append(
            layers.Normalization(mean=stats["mean"], variance=max(stats["variance"], 1e-12), name=f"norm_{name}")(value)
        )
    for name, info in spec["categorical"].items():
        if info["dtype"] == "string":
            inputs[name] = keras.Input(shape=(1,), dtype="string", name=name)
            lookup = layers.StringLookup(vocabulary=info["vocabulary"], output_mode="one_hot", name=f"lookup_{name}")
        else:
            inputs[name] = keras.Input(shape=(1,), dtype="int64", name=name)
            lookup = layers.IntegerLookup(
                vocabulary=[int(v) for v in info["vocabulary"]], output_mode="one_hot", name=f"lookup_{name}"
            )
        encoded.append(lookup(inputs[name]))
    return inputs, layers.Concatenate(name="features")(encoded)


def build_dense_regressor(spec: dict[str, Any], hp: dict[str, Any]) -> Any:
    """Build and compile a Keras regressor from a feature spec (see tasks.features.featurize) and hyper-parameters.

    hp keys: hidden_units (list[int]), dropout (float), learning_rate (float).
    """
    import keras
    from keras import layers

    inputs, x = _encoded_inputs(spec)
    for i, units in enumerate(hp["hidden_units"]):
        x = layers.Dense(int(units), activation="relu", name=f"dense_{i}")(x)
        if hp.get("dropout", 0.0) > 0:
            x = layers.Dropout(float(hp["dropout"]), name=f"dropout_{i}")(x)
    out = layers.Dense(1, name="prediction", dtype="float32")(x)  # float32 under mixed precision
    model = keras.Model(inputs, out, name="dense_regressor")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
        loss="mse",
        metrics=[
            keras.metrics.RootMeanSquaredError(name="rmse"),
            keras.metrics.MeanAbsoluteError(name="mae"),
        ],
    )
    return model


def build_dense_classifier(spec: dict[str, Any], hp: dict[str, Any]) -> Any:
    """Build and compile a Keras classifier from a feature spec (see tasks.kinds.table_split) and hyper-parameters.

    The output is one probability per class of `spec["classes"]` (softmax, float32 under mixed precision), for two
    classes as for many; targets are class indices. hp keys: hidden_units, dropout, learning_rate.
    """
    import keras

    inputs, x = _encoded_inputs(spec)
    for i, units in enumerate(hp["hidden_units"]):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense_{i}")(x)
        if hp.get("dropout", 0.0) > 0:
            x = keras.layers.Dropout(float(hp["dropout"]), name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(len(spec["classes"]), name="logits")(x)
    out = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    model = keras.Model(inputs, out, name="dense_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model
