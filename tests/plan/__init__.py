"""Tests of planning: rollout waves and the PR diff."""
