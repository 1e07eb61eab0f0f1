"""Evaluation: the evaluate stage scores the candidate, the champion (the store's production model) and the
baselines on the test split and on the champion's trusted holdout (holdout.py); the gate decides the blessing;
slices, the HTML report and the headline summary the flows publish.

May import: tasks.core, tasks.kinds, tasks.objectives, tasks.reports, tasks.training, tasks.store.
"""
