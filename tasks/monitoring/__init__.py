"""Monitoring: the monitor stage and production monitoring (`python -m tasks.monitoring.window`): windows of the
prediction log, the drift statistics and the calibrated verdict (data_drift.py, drift_input.py, prediction_signals.py,
calibration.py, adversarial.py), the reference of the production version, history, the monitoring page, the drift
alert and the retraining window.

May import: every lower layer (tasks.store, tasks.serving for the production model and its request checks).
"""
