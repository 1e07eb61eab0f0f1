"""A small convolutional classifier for greyscale images whose preprocessing and augmentation live inside it.

The model takes raw uint8 images shaped (height, width): scaling to [0, 1], standardisation with the training
split's pixel statistics (from the feature spec) and the augmentation layers (active only while training) are
layers of the model, so the exported SavedModel serves raw images with no feature code. Under a mixed-precision
policy the convolutions run in float16 while the softmax output stays float32.
"""

from __future__ import annotations

from typing import Any


def build_cnn_classifier(spec: dict[str, Any], hp: dict[str, Any]) -> Any:
    """Build and compile a CNN from an image feature spec (see tasks.kinds.image_split) and hyper-parameters.

    spec keys: image_shape ([h, w]), classes (names), pixel_mean and pixel_variance (of the training images, 0..1).
    hp keys: filters (list[int], one conv-pool block each), convs_per_block (int), dense_units (int),
    dropout (float), learning_rate (float), augmentation ({flip: "horizontal"|"none", translate: float,
    rotate: float, zoom: float}, each optional).
    """
    import keras
    from keras import layers

    height, width = (int(v) for v in spec["image_shape"])
    augmentation = hp.get("augmentation") or {}
    inputs = keras.Input(shape=(height, width), dtype="uint8", name="image")
    x = layers.Reshape((height, width, 1), name="add_channel")(inputs)
    x = layers.Rescaling(1.0 / 255.0, name="to_unit_range")(x)
    x = layers.Normalization(
        mean=float(spec["pixel_mean"]), variance=max(float(spec["pixel_variance"]), 1e-12), name="standardise"
    )(x)
    if augmentation.get("flip", "none") != "none":
        x = layers.RandomFlip(str(augmentation["flip"]), seed=int(hp["seed"]), name="augment_flip")(x)
    if float(augmentation.get("translate", 0.0)) > 0:
        shift = float(augmentation["translate"])
        x = layers.RandomTranslation(shift, shift, fill_mode="constant", seed=int(hp["seed"]), name="augment_shift")(x)
    if float(augmentation.get("rotate", 0.0)) > 0:
        x = layers.RandomRotation(
            float(augmentation["rotate"]), fill_mode="constant", seed=int(hp["seed"]), name="augment_rotate"
        )(x)
    if float(augmentation.get("zoom", 0.0)) > 0:
        x = layers.RandomZoom(
            float(augmentation["zoom"]), fill_mode="constant", seed=int(hp["seed"]), name="augment_zoom"
        )(x)
    for block, filters in enumerate(hp["filters"]):
        for conv in range(int(hp.get("convs_per_block", 1))):
            x = layers.Conv2D(int(filters), 3, padding="same", use_bias=False, name=f"conv{block}_{conv}")(x)
            x = layers.BatchNormalization(name=f"bn{block}_{conv}")(x)
            x = layers.Activation("relu", name=f"relu{block}_{conv}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
        x = layers.Dropout(float(hp["dropout"]) / 2, name=f"dropout{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(int(hp["dense_units"]), activation="relu", name="dense")(x)
    x = layers.Dropout(float(hp["dropout"]), name="dropout_dense")(x)
    logits = layers.Dense(len(spec["classes"]), name="logits")(x)
    # float32 output whatever the policy: softmax in float16 loses the small probabilities.
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    model = keras.Model(inputs, outputs, name="cnn_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model
