"""Fashion-MNIST (Zalando, MIT): 28x28 greyscale images of clothing, 10 balanced classes.

Frame: tell which of ten kinds of garment a small product photo shows. The source is the four IDX files of the
original release (train and t10k); the bundled default is a 2,000-image sample of them
(`data/sources/fashion-mnist-sample/`), the full set a configurable folder, URL or S3 prefix.
"""

from __future__ import annotations

from pipelines.image_cnn import build_cnn_classifier
from pipelines.problem import ImageProblem

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

PROBLEM = ImageProblem(
    name="fashion_mnist",
    classes=CLASSES,
    image_shape=(28, 28),
    source_files={
        "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    },
    build_model=build_cnn_classifier,
    description="Zalando Fashion-MNIST product images, 10 classes (MIT licence).",
)
