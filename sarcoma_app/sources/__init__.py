"""Data sources: the bundled DuckDB file (read-only), the simulated registries and an uploaded cohort;
which one is active, and the parameterised filter SQL that reads patients from it."""
