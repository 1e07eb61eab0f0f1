"""The models the server answers with: the production version (and a shadow), following the store's pointers.

A poller reads `production.json` and `shadow.json` every `poll_s`. A new version is downloaded (S3) or opened (local),
loaded, and warmed up with an instance built from its signature before it replaces the old one; the swap is one
reference assignment, so a request in flight finishes on the model it started with and no request fails. A version
that fails to load or warm up never takes traffic: the old one keeps serving, the failure is counted and shown in
the model status, and it is retried after `retry_s`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tasks.serving.request_checks import NUMPY_DTYPES
from tasks.store.model_store import StoreBase

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """One loaded SavedModel version with its serving signature."""

    version: int
    signature: dict[str, Any]
    loaded: Any  # the tf.saved_model object (kept: its variables live as long as it does)
    function: Any  # its serving_default concrete function
    input_shapes: dict[str, tuple[int | None, ...]]  # per instance, as the SavedModel takes them
    output_name: str
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def predict(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """The model's output for a checked batch (first axis = instance)."""
        import tensorflow as tf

        feeds = {}
        for name, array in arrays.items():
            shape = self.input_shapes.get(name)
            if shape is not None and None not in shape and array.shape[1:] != shape:
                array = array.reshape((array.shape[0], *shape))  # e.g. one value per row -> (n, 1)
            feeds[name] = tf.constant(array)
        return np.asarray(self.function(**feeds)[self.output_name].numpy())


def signature_from_tensorflow(function: Any) -> dict[str, Any]:
    """A signature block from the SavedModel alone (names, dtypes, shapes; no ranges), for cards without one."""
    inputs = []
    for name, spec in sorted(function.structured_input_signature[1].items()):
        shape = [int(d) if d is not None else -1 for d in spec.shape.as_list()[1:]]
        inputs.append({"name": name, "dtype": spec.dtype.name, "shape": shape})
    output_name, output = next(iter(function.structured_outputs.items()))
    return {
        "name": "serving_default",
        "kind": "unknown",
        "objective": "unknown",
        "inputs": inputs,
        "output": {"name": output_name, "dtype": output.dtype.name, "shape": output.shape.as_list()[1:]},
    }


def warmup_batch(signature: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """`n` plausible instances from the signature: mid-range numbers, the first known category, zero images."""
    arrays = {}
    for spec in signature["inputs"]:
        shape = (n, *[max(int(d), 1) for d in spec.get("shape", [])])
        if spec["dtype"] == "string":
            arrays[spec["name"]] = np.full(shape, str((spec.get("categories") or [""])[0]), dtype=object)
            continue
        if spec.get("categories"):
            value: float = spec["categories"][0]
        elif spec.get("range"):
            value = (float(spec["range"]["min"]) + float(spec["range"]["max"])) / 2
        else:
            value = 0
        arrays[spec["name"]] = np.full(shape, value).astype(NUMPY_DTYPES.get(spec["dtype"], "float32"))
    return arrays


def load_version(store: StoreBase, version: int) -> LoadedModel:
    """Load, check and warm up one version; raises on any failure (the caller keeps serving the old one)."""
    import tensorflow as tf

    path = store.version_dir(version)
    loaded = tf.saved_model.load(str(path))
    function = loaded.signatures["serving_default"]
    specs = function.structured_input_signature[1]
    signature = (store.card(version) or {}).get("signature") or signature_from_tensorflow(function)
    names = {spec["name"] for spec in signature["inputs"]}
    if names != set(specs):
        raise ValueError(f"the card's signature names inputs {sorted(names)}, the SavedModel takes {sorted(specs)}")
    output_name = signature["output"]["name"]
    if output_name not in function.structured_outputs:
        raise ValueError(f"the SavedModel has no output {output_name!r}")
    model = LoadedModel(
        version=version,
        signature=signature,
        loaded=loaded,
        function=function,
        input_shapes={name: tuple(d for d in spec.shape.as_list()[1:]) for name, spec in specs.items()},
        output_name=output_name,
    )
    for n in (1, 8):  # warm up single rows and batches before the version takes traffic
        output = model.predict(warmup_batch(signature, n))
        if output.shape[0] != n or not np.isfinite(output).all():
            raise ValueError(f"warm-up on {n} instance(s) gave {output.shape} / non-finite outputs")
    return model


class ModelHolder:
    """The production and shadow models, swapped as the store's pointers change."""

    def __init__(
        self,
        store: StoreBase,
        poll_s: float = 5.0,
        retry_s: float = 60.0,
        loader: Callable[[StoreBase, int], LoadedModel] = load_version,
        on_event: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self.model_name = store.model_name
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.loader = loader
        self.on_event = on_event or (lambda event, version: None)
        self.production: LoadedModel | None = None
        self.shadow: LoadedModel | None = None
        self.failures: dict[int, tuple[float, str]] = {}  # version -> (when, why)
        self.last_poll_error: str | None = None
        self._loaded: dict[int, LoadedModel] = {}
        self._previous_version: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()

    def serving(self) -> list[tuple[str, LoadedModel]]:
        """(label, model) of what takes requests now."""
        return [(label, m) for label, m in (("production", self.production), ("shadow", self.shadow)) if m is not None]

    def _get(self, version: int) -> LoadedModel | None:
        if version in self._loaded:
            return self._loaded[version]
        failed = self.failures.get(version)
        if failed and time.monotonic() - failed[0] < self.retry_s:
            return None
        try:
            model = self.loader(self.store, version)
        except Exception as err:  # any failure to load keeps the old version serving
            message = f"{type(err).__name__}: {err}"
            self.failures[version] = (time.monotonic(), message)
            log.error(
                "version %s of %s failed to load and does not take traffic: %s", version, self.model_name, message
            )
            self.on_event("load_failure", version)
            return None
        self.failures.pop(version, None)
        self._loaded[version] = model
        self.on_event("loaded", version)
        return model

    def refresh(self) -> None:
        """Read the pointers once and swap in what they name (loaded and warmed up first)."""
        with self._refresh_lock:
            try:
                pointer, shadow = self.store.production(), self.store.shadow()
                self.last_poll_error = None
            except Exception as err:  # the store is unreachable: keep serving what is loaded
                self.last_poll_error = f"{type(err).__name__}: {err}"
                log.warning("could not read the model store's pointers: %s", self.last_poll_error)
                return
            if pointer is not None:
                wanted = int(pointer["version"])
                if self.production is None or self.production.version != wanted:
                    model = self._get(wanted)
                    if model is not None:
                        previous, self.production = self.production, model
                        self._previous_version = previous.version if previous else None
                        log.info("production is now version %s (was %s)", wanted, previous and previous.version)
            wanted_shadow = int(shadow["version"]) if shadow else None
            if wanted_shadow is None:
                self.shadow = None
            elif self.shadow is None or self.shadow.version != wanted_shadow:
                self.shadow = self._get(wanted_shadow)
            keep: set[int | None] = {m.version for m in (self.production, self.shadow) if m is not None}
            keep.add(self._previous_version)  # kept loaded too: a rollback is then instant
            for version in set(self._loaded) - keep:
                del self._loaded[version]

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def resolve(self, version: int | None = None, label: str | None = None) -> LoadedModel | None:
        """The model a request names: the production one, a label (production, shadow) or a loaded version."""
        if label is not None:
            return {"production": self.production, "shadow": self.shadow}.get(label)
        if version is not None:
            return next((m for m in (self.production, self.shadow) if m is not None and m.version == version), None)
        return self.production
