"""Tests of the deployment providers that run bots themselves (``local``: real OpenClaw
gateway processes)."""
