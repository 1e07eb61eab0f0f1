"""Data validation: GX expectation suites and their evaluators (expectations.py over expectation_types.py and
expectation_check.py, data_checks.py), findings in words, Data Docs made to open offline, the quarantine of rejected
batches, the validate stage, and `python -m tasks.checks.infer_schema`, which proposes suites from reference data.

May import: tasks.core, tasks.data, tasks.reports.
"""
