"""Training: the seeded fit loop (fit.py) with per-epoch resume (train_state.py, random_state.py), the hardware plan
(strategy, mixed precision), the tune and train stages, and the export stage, which writes the SavedModel with the
preprocessing inside and its model card.

May import: tasks.core, tasks.kinds, tasks.objectives and the layers below them (export, an entry module, also the
evaluation's holdout card).
"""
