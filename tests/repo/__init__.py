"""Tests of the repo layer pipelines (validate, diff)."""
