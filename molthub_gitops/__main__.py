"""`python -m molthub_gitops` runs the `molthub` command line."""

from molthub_gitops.cli import main

main()
