"""Prometheus metrics of the server, written in the text exposition format (version 0.0.4) without a client library.

Counters and one latency histogram, guarded by a lock: requests by model and status code, errors by kind,
instances, out-of-range fields, model loads and load failures, prediction-log rows written and dropped, shadow
requests dropped; gauges for the version behind each label.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PREFIX = "trainline_serving"
HELP = {
    "requests_total": ("counter", "Predict and status requests by model and HTTP status code."),
    "errors_total": ("counter", "Requests answered with an error, by kind."),
    "instances_total": ("counter", "Instances predicted, by model."),
    "out_of_range_total": ("counter", "Fields far outside the training range or unseen categories (warn mode)."),
    "model_events_total": ("counter", "Model versions loaded and versions that failed to load."),
    "log_rows_total": ("counter", "Prediction-log rows written or dropped (queue full)."),
    "shadow_dropped_total": ("counter", "Requests not shadow-scored because the shadow queue was full."),
}


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    escaped = (f'{k}="{v}"'.replace("\n", " ") for k, v in pairs)
    return "{" + ",".join(escaped) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(lambda: defaultdict(float))
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = defaultdict(float)
        self._latency_count: dict[str, int] = defaultdict(int)
        self.gauges: Callable[[], dict[tuple[tuple[str, str], ...], float]] = dict

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            self._counters[name][key] += amount

    def observe_latency(self, model: str, seconds: float) -> None:
        with self._lock:
            buckets = self._latency.setdefault(model, [0] * len(LATENCY_BUCKETS))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            self._latency_sum[model] += seconds
            self._latency_count[model] += 1

    def value(self, name: str, **labels: str) -> float:
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            return self._counters[name].get(key, 0.0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (kind, text) in HELP.items():
                lines += [f"# HELP {PREFIX}_{name} {text}", f"# TYPE {PREFIX}_{name} {kind}"]
                for labels, value in sorted(self._counters.get(name, {}).items()):
                    lines.append(f"{PREFIX}_{name}{_labels(labels)} {value:g}")
            metric = f"{PREFIX}_request_seconds"
            lines += [f"# HELP {metric} Predict latency inside the server, by model.", f"# TYPE {metric} histogram"]
            for model, buckets in sorted(self._latency.items()):
                for bound, count in zip(LATENCY_BUCKETS, buckets, strict=True):
                    lines.append(f'{metric}_bucket{{model="{model}",le="{bound:g}"}} {count}')
                lines.append(f'{metric}_bucket{{model="{model}",le="+Inf"}} {self._latency_count[model]}')
                lines.append(f'{metric}_sum{{model="{model}"}} {self._latency_sum[model]:.6f}')
                lines.append(f'{metric}_count{{model="{model}"}} {self._latency_count[model]}')
        metric = f"{PREFIX}_model_version"
        lines += [f"# HELP {metric} The version serving each label (production, shadow).", f"# TYPE {metric} gauge"]
        for labels, value in sorted(self.gauges().items()):
            lines.append(f"{metric}{_labels(labels)} {value:g}")
        return "\n".join(lines) + "\n"
