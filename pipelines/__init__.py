"""Problem definitions, chosen by `problem:` in params.yaml.

A problem says which data, which schema, which features, which model and which baseline; the stages in `tasks/`
are the plumbing that every problem shares. A new problem is a new package here and one line in `PROBLEMS`.
"""

from __future__ import annotations

import importlib

from pipelines.problem import ImageProblem, SeriesProblem, TabularProblem, TextProblem
from tasks.core.errors import PipelineError

PROBLEMS: dict[str, str] = {
    "bike_demand": "pipelines.bike_demand",
    "fashion_mnist": "pipelines.fashion_mnist",
    "breast_cancer": "pipelines.breast_cancer",
    "movie_reviews": "pipelines.movie_reviews",
    "weather_forecast": "pipelines.weather_forecast",
    "penguins": "pipelines.penguins",
    "car_mpg": "pipelines.car_mpg",
    "penguins_census": "pipelines.penguins_census",
}


def load_problem(name: str) -> TabularProblem | ImageProblem | TextProblem | SeriesProblem:
    """Return the definition registered under `name`, or a PipelineError listing the known ones."""
    if name not in PROBLEMS:
        raise PipelineError(f"params.yaml: 'problem' is {name!r}; expected one of {sorted(PROBLEMS)}")
    return importlib.import_module(PROBLEMS[name]).PROBLEM
