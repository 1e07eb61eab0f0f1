"""The featurize stage: the kind fits its feature spec on the training split and writes the splits (by time where
the data has time) to data/features.

May import: tasks.core, tasks.kinds and the layers below them.
"""
