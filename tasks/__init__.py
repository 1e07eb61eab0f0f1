"""Pipeline stages: one module per stage of dvc.yaml, each a pure core plus a thin `main()` for I/O."""
