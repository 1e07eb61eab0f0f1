"""The pipeline's code, in packages named after what they do; each package's `__init__` says what it owns.

The layers, bottom to top (`LAYERS`): a module imports its own package and packages of lower layers only, so plumbing
(`core`) imports nothing above it, the kinds of data (`kinds`, plug-ins behind one contract) import no stage, and no
two packages import each other. The stages are the entry modules: the `python -m` of a dvc.yaml stage or a command
line (a module with `if __name__ == "__main__":`). An entry module may use any package, but no module imports an entry
module, so no stage imports another stage. tests/test_structure.py enforces all of this, and
`python -m tasks.structure.stage_deps` writes each stage's code deps in dvc.yaml (the package folders its imports
reach).
"""

LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),  # plumbing: params, errors, atomic writes, artefact paths, lineage, progress, reproducible outputs
    ("data", "reports", "scale"),  # reading sources; offline HTML; partitioned tables and reductions on Dask
    ("checks", "objectives"),  # expectation suites and their evaluators; what a model is scored by
    ("kinds",),  # tables, images, text, series: one contract, the selected problem (with pipelines/)
    ("features", "training", "store"),  # featurize; fit, tune, export; the model store and its pointer
    ("evaluation", "serving"),  # the gate against baselines and champion; TF Serving's REST API
    ("monitoring",),  # the prediction log's windows against the reference, the calibrated verdict, the alert
    ("structure",),  # the code read as text: import graph, stage deps, README's picture (tools; no stage uses them)
)
