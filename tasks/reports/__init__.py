"""What people read, offline: HTML pages with inlined figures (html.py), the report banner, the vendored scripts and
styles (assets/, vega_offline.py), and the report stage (index.py), which writes reports/index.html from every stage's
outputs.

May import: tasks.core (the report stage, an entry module, reads monitoring's page too).
"""
