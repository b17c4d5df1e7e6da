"""Deployment targets: where bots run (existing, simulated, and later the clouds)."""
