"""params.yaml: loading, checking every key, and typed access that names the key when a value is wrong.

`problem:` picks a definition in pipelines/; the problem's own file `pipelines/<problem>/params.yaml` (when it exists)
overrides the stage sections of params.yaml key by key, so one parameter switches the whole DAG to another problem
with the knobs that suit it. dvc.yaml lists `pipelines/${problem}/params.yaml` among each stage's params, so DVC re-runs
exactly the stages whose effective params changed.

params.yaml holds the kind-neutral knobs (`NEUTRAL_KEYS`); a problem's file may add the keys its kind takes (each kind's
`param_keys`, tasks/kinds/). `check_keys` refuses any other key (a typo such as `train.epochz`, a section that does not
apply to the kind) with one message naming the file and the key; tasks/kinds/selection.py runs it before a stage does
work.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tasks.core.errors import PipelineError

PARAMS_FILE = Path("params.yaml")
PIPELINES_DIR = Path("pipelines")  # a problem's own params: pipelines/<problem>/params.yaml
_MISSING = object()

# The keys every kind takes, by section: params.yaml may hold only these (and `problem`).
NEUTRAL_KEYS: dict[str, frozenset[str]] = {
    "collect": frozenset({"source", "s3", "http"}),
    "validate": frozenset(),
    "featurize": frozenset({"val_fraction", "seed"}),
    "train": frozenset(
        {"seed", "epochs", "batch_size", "learning_rate", "dropout", "patience", "mixed_precision", "tensorboard"}
        | {"state_dir"}
    ),
    "tune": frozenset({"enabled", "trials", "epochs", "seed", "space"}),
    "evaluate": frozenset({"gate", "permutation_repeats", "seed", "decision_threshold"}),
    "export": frozenset({"tolerance"}),
    "deploy": frozenset({"store", "model_name", "s3"}),
    "monitor": frozenset(),  # the verdict's settings are monitoring.drift's, shared with the monitoring loop
    "report": frozenset({"keep", "keep_mb"}),
    # Read by the monitoring command (python -m tasks.monitoring.window) and flow; `drift` (the calibrated engine's
    # settings) by the monitor stage too, so both judge with one rule.
    "monitoring": frozenset(
        {"window", "min_rows", "log_dir", "ground_truth", "reports", "drift", "performance_floor", "notify_block"}
        | {"performance_max_worse_pct", "min_labelled_rows", "evidently_rows"}
    ),
    # Where the data stages compute (tasks/core/compute.py): not a DVC param, it never changes what a stage writes.
    "compute": frozenset({"scheduler"}),
    # Read by the Prefect flows (flows/), not by a stage; `dvc repro` ignores it.
    "orchestrate": frozenset({"retries", "retry_delay_s", "timeout_s", "stages", "pools", "lock_wait_s"}),
    # Read by the model server (python -m tasks.serving), not by a stage; `dvc repro` ignores it.
    "serving": frozenset(
        {"host", "port", "poll_s", "max_body_bytes", "max_batch", "range_tolerance", "out_of_range", "token_env"}
        | {"log"}
    ),
}


class Params:
    """Read-only view of params.yaml with dotted, type-checked access (`p.get("train.epochs", int)`)."""

    def __init__(
        self,
        data: dict[str, Any],
        source: str | Path = PARAMS_FILE,
        layers: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        self._data = data
        self.source = str(source)
        # (file, its mapping) in the order they apply: params.yaml, then the problem's file
        self.layers = layers if layers is not None else [(str(source), data)]

    @classmethod
    def load(cls, path: str | Path = PARAMS_FILE, problem: str | None = None) -> Params:
        """params.yaml with the selected problem's own file over it; `problem` selects another than params.yaml's
        (`python -m tasks.checks.infer_schema --problem X` reads X's source and options)."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PipelineError(f"{path}: file not found; run from the repository root") from None
        except yaml.YAMLError as err:
            raise PipelineError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise PipelineError(f"{path}: expected a mapping of stage sections at the top level")
        if problem is not None:
            data = {**data, "problem": problem}
        problem = data.get("problem")
        overrides = path.parent / PIPELINES_DIR / str(problem) / "params.yaml"
        if isinstance(problem, str) and overrides.is_file():
            own = _read_mapping(overrides)
            merged = apply_problem_overrides(data, own, overrides)
            return cls(merged, f"{path} + {overrides}", [(str(path), data), (str(overrides), own)])
        return cls(data, path)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        node: Any = self._data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    return default
                raise PipelineError(f"{self.source}: missing key '{key}'")
            node = node[part]
        return node

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> Any:
        """Return `key` checked against `kind` (and bounds); raise a PipelineError naming the key otherwise."""
        value = self.raw(key, default)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if value is None and type(None) in kinds:
            return None
        # YAML ints are valid floats; bools are not numbers here.
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise PipelineError(f"{self.source}: '{key}' must be {names}, got {value!r}")
        if minimum is not None and value < minimum:
            raise PipelineError(f"{self.source}: '{key}' must be >= {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise PipelineError(f"{self.source}: '{key}' must be <= {maximum}, got {value!r}")
        return value

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw(name, {})
        if not isinstance(value, dict):
            raise PipelineError(f"{self.source}: '{name}' must be a mapping, got {value!r}")
        return value


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise PipelineError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a mapping of stage sections at the top level")
    return data


def apply_problem_overrides(base: dict[str, Any], overrides: dict[str, Any], source: Path | str) -> dict[str, Any]:
    """`base` with `overrides` merged in: mappings key by key (recursively), any other value replaced whole.

    A problem file may not change `problem` itself (that would make the selection circular).
    """
    if "problem" in overrides:
        raise PipelineError(f"{source}: may not set 'problem'; choose the problem in params.yaml")
    return _merge(base, overrides)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        both_mappings = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both_mappings else value
    return merged


def check_keys(params: Params, kind: str, kinds: Mapping[str, Mapping[str, frozenset[str]]]) -> None:
    """Refuse a key no stage reads for a problem of `kind`: params.yaml may hold the kind-neutral keys, a problem's
    file also the keys of its kind (`kinds`: every kind's keys by section). The message names the file, the key and
    what is expected there."""
    own_keys = kinds[kind]
    for index, (source, data) in enumerate(params.layers):
        is_root = index == 0
        for section, value in data.items():
            if section == "problem" and is_root:
                continue
            neutral = NEUTRAL_KEYS.get(section)
            if neutral is None:
                raise PipelineError(
                    f"{source}: unknown section '{section}'; expected one of {sorted(['problem', *NEUTRAL_KEYS])}"
                )
            if not isinstance(value, dict):
                raise PipelineError(f"{source}: '{section}' must be a mapping, got {value!r}")
            own = own_keys.get(section, frozenset())
            for key in value:
                if key in neutral or (not is_root and key in own):
                    continue
                others = sorted(name for name, keys in kinds.items() if name != kind and key in keys.get(section, ()))
                if key in own:
                    why = "is not kind-neutral; it belongs in the problem's own pipelines/<problem>/params.yaml"
                elif others:
                    why = f"applies to {' and '.join(others)} problems, not to this {kind} problem"
                else:
                    expected = sorted(neutral | (frozenset() if is_root else own))
                    why = f"is not a known key; expected one of {expected}"
                raise PipelineError(f"{source}: '{section}.{key}' {why}")
