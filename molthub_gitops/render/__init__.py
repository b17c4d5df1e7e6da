"""Rendering: layering, merge strategies, selectors, templating, provenance -> rendered bots."""
