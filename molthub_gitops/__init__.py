"""molthub-gitops: GitOps for fleets of OpenClaw bots (render, validate, sync)."""

__version__ = "0.1.0"
